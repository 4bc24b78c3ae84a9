"""sim: simulation and cost analysis of IM-cloud editions, packs, limits and prorated billing.

The entry points are re-exported here lazily (``import sim`` stays cheap and has no side
effects): ``sim.replay`` (:func:`sim.replayer.replay`), ``sim.run`` (:func:`sim.model.runner.run`), ``sim.load_catalog``
(:func:`sim.files.catalogs.load_catalog`) and ``sim.Engine`` (:class:`sim.rules.engine.Engine`).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "replay": ("sim.replayer", "replay"),
    "run": ("sim.model.runner", "run"),
    "RunResult": ("sim.model.runner", "RunResult"),
    "load_scenario": ("sim.model.scenario", "load_scenario"),
    "ReplayResult": ("sim.replayer", "ReplayResult"),
    "load_catalog": ("sim.files.catalogs", "load_catalog"),
    "Engine": ("sim.rules.engine", "Engine"),
    "SimError": ("sim.errors", "SimError"),
    "metrics": ("sim.results.metrics", None),
    "charts": ("sim.reports.charts", None),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
    value = import_module(module) if attr is None else getattr(import_module(module), attr)
    globals()[name] = value
    return value
