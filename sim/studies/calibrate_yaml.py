"""The calibrated scenario: the scenario's data with the fitted values in, as YAML text with a
comment on every fitted value (its 95% interval, the scenario's value, how it was fitted).

The scenario is written out in full (every archetype parameter explicit, from
``Scenario.model_dump``), so the file is read the same whatever the archetype defaults become;
a relative catalog path is made absolute (the file is written elsewhere).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.model.population import ARCHETYPES
from sim.model.scenario import Scenario
from sim.studies.calibrate_fit import Estimate

_BOUNDS: dict[str, tuple[float, float]] = {
    "growth_per_month": (-0.5, 2.0),
    "dau_share": (0.0, 1.0),
}
_NOT_A_PARAMETER = ("count",)


def _round(x: float) -> float:
    return float(f"{x:.4g}")


def scenario_data(sc: Scenario) -> dict[str, Any]:
    """The scenario as plain data that :func:`~sim.model.scenario.scenario_from_dict` reads
    back to the same scenario."""
    data = sc.model_dump(mode="json")
    cat = data["catalog"]
    name = str(cat["name"])
    path = Path(sc.base_dir) / name
    if name.endswith((".yaml", ".yml")) and not Path(name).is_absolute() and path.is_file():
        cat["name"] = str(path.resolve())
    if not cat.get("overrides"):
        cat.pop("overrides", None)
    for pname, spec in data["population"].items():
        if pname not in ARCHETYPES:  # every parameter is given: ``like`` only names a base
            data["population"][pname] = {"like": next(iter(ARCHETYPES)), **spec}
    return data


def with_policy(data: dict[str, Any], policy: str, **values: Any) -> dict[str, Any]:
    """A copy of scenario ``data`` with ``values`` set in ``behaviour.policies.<policy>``
    (the rest shared with ``data``, which is left as it is)."""
    behaviour = dict(data.get("behaviour", {}))
    policies = dict(behaviour.get("policies", {}))
    policies[policy] = {**policies.get(policy, {}), **values}
    behaviour["policies"] = policies
    return {**data, "behaviour": behaviour}


def apply_estimates(data: dict[str, Any], estimates: Sequence[Estimate]) -> dict[str, Any]:
    """``data`` with the estimates in (rounded to 4 significant digits, within the fields'
    bounds); start-state shares renormalised."""
    pop = data["population"]
    for e in estimates:
        if math.isnan(e.estimate):  # (not identified: the scenario's value stays)
            continue
        if e.parameter.startswith("behaviour."):
            node = data
            *parents, leaf = e.parameter.split(".")[1:]
            node = node.setdefault("behaviour", {})
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = round(e.estimate) if leaf == "threshold" else _round(e.estimate)
        elif e.parameter.startswith("start_state."):
            state = e.parameter.split(".", 1)[1]
            pop[e.segment].setdefault("_fitted_states", {})[state] = e.estimate
        elif e.parameter == "count":
            pop[e.segment]["count"] = int(e.estimate)
        else:
            lo, hi = _BOUNDS.get(e.parameter, (0.0, float("inf")))
            value = min(max(e.estimate, lo), hi)
            if e.parameter == "users0_median":
                value = max(value, 1e-3)
            pop[e.segment][e.parameter] = _round(value)
    for spec in pop.values():
        states = spec.pop("_fitted_states", None)
        if states:
            total = sum(states.values()) or 1.0
            spec["start_state"] = {k: _round(v / total) for k, v in states.items() if v > 0}
    return data


def _scalar(v: Any) -> str:
    text = yaml.safe_dump(v, default_flow_style=True, width=10**9).strip()
    return text.removesuffix("...").strip()


def _comment(e: Estimate) -> str:
    if math.isnan(e.estimate):
        return f"scenario's value; {e.method}"
    return (
        f"fitted {e.estimate:.4g}, 95% CI [{e.ci_low:.4g}, {e.ci_high:.4g}]; "
        f"scenario's {e.prior:.4g}; {e.method}"
    )


def _emit(obj: dict[str, Any], pad: str, path: tuple[str, ...], notes: dict, out: list) -> None:
    for k, v in obj.items():
        key = (*path, str(k))
        if isinstance(v, dict) and v:
            out.append(f"{pad}{_scalar(k)}:")
            _emit(v, pad + "  ", key, notes, out)
        else:
            note = notes.get(key)
            out.append(f"{pad}{_scalar(k)}: {_scalar(v)}" + (f"  # {note}" if note else ""))


def _path(e: Estimate) -> tuple[str, ...]:
    if e.parameter.startswith("behaviour."):
        return tuple(e.parameter.split("."))
    return ("population", e.segment, *e.parameter.split("."))


def scenario_text(
    data: dict[str, Any], estimates: Sequence[Estimate], header: Sequence[str]
) -> str:
    """The calibrated scenario as YAML, with ``header`` comment lines on top and a comment on
    each fitted value."""
    notes = {_path(e): _comment(e) for e in estimates if e.parameter not in _NOT_A_PARAMETER}
    for e in estimates:
        if e.parameter == "count":
            notes[_path(e)] = f"apps on the first date (scenario's {e.prior:.0f})"
    lines = [f"# {h}" if h else "#" for h in header]
    _emit(data, "", (), notes, lines)
    return "\n".join(lines) + "\n"
