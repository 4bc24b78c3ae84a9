"""The plan of a run: the scenario resolved once, its catalog loaded once, and the tasks.

A run is a pipeline that flows one way::

    resolve (scenario + catalog)  ->  plan (tasks)  ->  executor (parts)  ->  runner (tables)

This module is the first two steps. A :class:`ShardTask` is everything one task needs -- the
resolved scenario, the catalog, the shard's tenants -- and nothing else: a task depends only on
its inputs, and the per-tenant random streams (:mod:`sim.model.rng`) make it give the same rows
wherever and whenever it is played (in this process, a worker process, a Dask worker on
another machine). Its :attr:`~ShardTask.digest` (scenario, catalog, seed, shard, code version)
names what it produced in a task store (:mod:`sim.model.executor`), so a run started again
reuses what a killed one finished.

Tenants share no state, so a replication is cut into *shards*: contiguous runs of its tenants
in app-name order (:func:`~sim.model.exact.tenant_keys`). A tenant's rows are the same whichever
shard plays it and the app-first tables of consecutive shards concatenate into the whole table
(:mod:`sim.model.tables`): the outputs depend neither on the shard size nor on where the shards
were played.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.core.catalog import Catalog
from sim.model.exact import TenantKey, tenant_keys
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict

SHARD_TENANTS = 1000
"""Tenants per shard by default: a shard of the baseline's mix over 24 months holds about
0.5 GB while it plays, and the baseline (2,000 apps) keeps two workers busy."""

MODES = ("exact", "fast")


@functools.cache
def code_version() -> str:
    """SHA-256 of the ``sim`` package's source (every ``.py`` file, by relative path): part of
    each task's digest, so that a task stored by other code is not reused."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode("utf-8"))
        h.update(path.read_bytes())
    return h.hexdigest()


def catalog_digest(catalog: Catalog) -> str:
    """SHA-256 of the catalog's canonical JSON."""
    text = json.dumps(catalog.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Shard:
    """Tenants ``keys`` (in app-name order) of replication ``replication``."""

    number: int
    replication: int
    keys: tuple[TenantKey, ...]


@dataclass(frozen=True)
class ShardTask:
    """One shard to play: the resolved scenario and catalog, the shard, and whether its tables
    use compact (categorical) columns."""

    scenario: Scenario
    catalog: Catalog
    shard: Shard
    compact: bool = False

    @property
    def size(self) -> int:
        """The task's work in tenant-months (what progress counts)."""
        return len(self.shard.keys) * self.scenario.horizon_months

    @property
    def months(self) -> int:
        return self.scenario.horizon_months

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the task's inputs: scenario, catalog, shard, table form, code version."""
        text = json.dumps(
            {
                "kind": "shard",
                "scenario": self.scenario.model_copy(update={"replications": 1}).digest(),
                "catalog": catalog_digest(self.catalog),
                "replication": self.shard.replication,
                "keys": [list(k) for k in self.shard.keys],
                "compact": self.compact,
                "code": code_version(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        return f"shard {self.shard.number} (replication {self.shard.replication})"


def resolve(
    scenario: Scenario | str | Path | dict[str, Any],
    overrides: Iterable[str] = (),
    **fields: Any,
) -> Scenario:
    """The scenario, with ``overrides`` (``--set``) and the fields given (``mode``, ``seed``,
    ``replications``; None: the scenario's), validated once."""
    overrides = list(overrides)
    if isinstance(scenario, Scenario):
        sc = scenario
        if overrides:
            data = sc.model_dump(mode="json")
            sc = scenario_from_dict(data, sc.source, sc.base_dir, overrides)
    elif isinstance(scenario, dict):
        sc = scenario_from_dict(scenario, overrides=overrides)
    else:
        sc = load_scenario(scenario, overrides)
    update = {k: v for k, v in fields.items() if v is not None}
    if update:
        sc = scenario_from_dict({**sc.model_dump(mode="json"), **update}, sc.source, sc.base_dir)
    return sc


def shards(
    scenario: Scenario, shard_tenants: int = SHARD_TENANTS, replications: Iterable[int] = ()
) -> list[Shard]:
    """The run's shards: each replication's tenants (all, or those of ``replications``), in
    app-name order, cut every ``shard_tenants``."""
    if shard_tenants < 1:
        raise ValueError(f"shard_tenants {shard_tenants}: at least 1")
    keys = [key for _, key in tenant_keys(scenario)]
    out: list[Shard] = []
    for rep in list(replications) or range(scenario.replications):
        for lo in range(0, max(len(keys), 1), shard_tenants):
            out.append(Shard(len(out), rep, tuple(keys[lo : lo + shard_tenants])))
    return out


def plan(
    scenario: Scenario,
    catalog: Catalog,
    shard_tenants: int | None = None,
    compact: bool = False,
    replications: Iterable[int] = (),
) -> list[ShardTask]:
    """The tasks of a run of ``scenario`` with ``catalog`` (loaded once by the caller)."""
    if scenario.mode not in MODES:  # pragma: no cover - the scenario model refuses it first
        raise ValueError(f"mode {scenario.mode!r}: one of {', '.join(MODES)}")
    cut = shards(scenario, shard_tenants or SHARD_TENANTS, replications)
    return [ShardTask(scenario, catalog, s, compact) for s in cut]
