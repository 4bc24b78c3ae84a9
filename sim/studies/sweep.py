"""Price sweeps: a scenario played at every point of a grid of scenario keys, with replications.

``--grid KEY=V1,V2,...`` (or ``KEY=start:stop:step``) names any dotted scenario key -- catalog
prices and limits through ``catalog.overrides.…`` included -- and the values it takes; several
grids make a full factorial. Each (point, replication) is one task (:class:`PointTask`), played
by an executor (:mod:`sim.model.executor`) with :func:`play_point`: the point's scenario (the
base scenario with ``--set`` and the point's values applied) played for that one replication
with the run's own code (:func:`sim.model.runner.play`), and its figures computed with the
headline figures of :mod:`sim.results.metrics`. Replication ``r`` of every point draws the same
random numbers (common random numbers: a tenant's streams depend on the seed, the replication
and the tenant only), so differences between points are the prices', not the draw's.

The *reference point* is every grid key at the scenario's own value; when it is not on the
grid it is played too (its rows have ``reference`` true), and :func:`deltas` are the paired
differences of each point against it, replication by replication.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.core.catalog import Catalog
from sim.errors import InputError, SimError
from sim.model.executor import LocalExecutor, Tick
from sim.model.plan import catalog_digest, code_version, plan, resolve
from sim.model.runner import Prepared, RunResult
from sim.model.runner import play as play_run
from sim.model.scenario import Scenario
from sim.results.metrics import headline, prepare
from sim.results.stats import mean_ci

MAX_TASKS = 10_000
"""A grid of more tasks than this needs ``--yes``."""

MAX_VALUES = 1_000_000
"""A range of more values than this is refused, ``--yes`` or not."""

FIGURES = (
    "revenue_total",
    "mrr_last_month",
    "paying_apps_last_month",
    "upgrades",
    "deactivations",
    "refused_share",
)
"""The figures of every (point, replication), then one ``rate_<code>`` column per error code."""

HEADLINE = {
    "revenue_total": "revenue_total",
    "mrr_last_month": "mrr_last",
    "paying_apps_last_month": "paying_apps_last",
    "upgrades": "upgrades",
    "deactivations": "deactivations",
}

CATALOG_PREFIX = "catalog.overrides."

BOOTSTRAP = 2000
"""Bootstrap resamples of the replications for the revenue-maximising point's interval."""


class SweepError(InputError):
    """A bad grid: one line naming the option, what was given and what is allowed."""


# -- the grid -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """One grid key and its values (``texts``: as given, for ``--set``; ``values``: parsed)."""

    key: str
    texts: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def numeric(self) -> bool:
        return all(is_number(v) for v in self.values)


def is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _decimal(key: str, text: str) -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise SweepError(
            f"--grid {key}: range bound {text.strip()!r} is not a number (start:stop:step)"
        ) from None
    if not d.is_finite():
        raise SweepError(f"--grid {key}: range bound {text.strip()!r} is not a finite number")
    return d


def _range(key: str, spec: str) -> list[str]:
    """``start:stop:step`` as the values' texts: start, start + step, ... up to stop included."""
    start, stop, step = (_decimal(key, t) for t in spec.split(":"))
    if step <= 0:
        raise SweepError(f"--grid {key}={spec}: step must be > 0")
    if stop < start:
        raise SweepError(f"--grid {key}={spec}: empty range (stop < start)")
    n = int((stop - start) / step) + 1
    if n > MAX_VALUES:
        raise SweepError(f"--grid {key}={spec}: {n:,} values; at most {MAX_VALUES:,}")
    return [str(start + k * step) for k in range(n)]


def parse_grid(text: str) -> Axis:
    """``KEY=V1,V2,...`` or ``KEY=start:stop:step`` (stop included when on the grid) as an
    :class:`Axis`; values are read as YAML, as ``--set`` reads them."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SweepError(f"--grid {text!r}: expected KEY=V1,V2,... or KEY=start:stop:step")
    if not spec.strip():
        raise SweepError(f"--grid {key}: no values given (KEY=V1,V2,... or KEY=start:stop:step)")
    if spec.count(":") == 2 and "," not in spec:
        texts = _range(key, spec)
    else:
        texts = [t.strip() for t in spec.split(",")]
        if any(not t for t in texts):
            raise SweepError(f"--grid {key}={spec}: an empty value in the list")
    values = []
    for t in texts:
        try:
            values.append(yaml.safe_load(t))
        except yaml.YAMLError:
            raise SweepError(f"--grid {key}: value {t!r} is not valid YAML") from None
    if len(set(map(repr, values))) < len(values):
        raise SweepError(f"--grid {key}={spec}: a value is given twice")
    return Axis(key, tuple(texts), tuple(values))


# -- the plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """One combination of the grid's values (``reference``: the scenario's own values;
    ``on_grid`` false for a reference point added because the grid does not hold it)."""

    index: int
    values: tuple[Any, ...]
    texts: tuple[str, ...]
    reference: bool = False
    on_grid: bool = True


@dataclass(frozen=True)
class PointTask:
    """Replication ``replication`` of point ``point``: its resolved scenario and catalog."""

    scenario: Scenario
    catalog: Catalog
    point: Point
    replication: int
    keys: tuple[str, ...]
    shard_tenants: int | None = None

    @property
    def size(self) -> int:
        return self.scenario.n_tenants * self.scenario.horizon_months

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 of the inputs: point scenario, catalog, seed, replication, code version."""
        text = json.dumps(
            {
                "kind": "sweep-point",
                "scenario": self.scenario.model_copy(update={"replications": 1}).digest(),
                "catalog": catalog_digest(self.catalog),
                "replication": self.replication,
                "code": code_version(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        where = ", ".join(f"{k}={t}" for k, t in zip(self.keys, self.point.texts, strict=True))
        return f"point {where}, replication {self.replication}"


@dataclass
class Sweep:
    """A planned sweep: the base scenario, the grid, its points and the tasks."""

    base: Scenario
    axes: list[Axis]
    points: list[Point]
    tasks: list[PointTask]
    reference: Point
    own: dict[str, Any]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(a.key for a in self.axes)


def _walk(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        match = [k for k in data if str(k) == part] or [
            k for k in data if str(k).lower() == part.lower()
        ]
        if not match:
            return None
        data = data[match[0]]
    return data


def own_value(scenario: Scenario, catalog: Catalog, key: str) -> Any:
    """The scenario's own value of a grid key (a catalog key: the catalog's, overrides applied);
    None when the key has no value there."""
    if key.startswith(CATALOG_PREFIX):
        data = catalog.model_dump(mode="json", by_alias=True)
        value = _walk(data, key.removeprefix(CATALOG_PREFIX).split("."))
    else:
        value = _walk(scenario.model_dump(mode="json"), key.split("."))
    if isinstance(value, str):  # money is a decimal string in the catalog's JSON
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return int(number) if number == number.to_integral_value() else float(number)
    return value


def _set(key: str, text: str) -> str:
    return f"{key}={text}"


def _point_scenario(base: Scenario, keys: Sequence[str], texts: Sequence[str]) -> Scenario:
    try:
        return resolve(base, [_set(k, t) for k, t in zip(keys, texts, strict=True)])
    except SimError as exc:
        given = ", ".join(_set(k, t) for k, t in zip(keys, texts, strict=True))
        raise SweepError(f"--grid {given}: {exc}") from None


def _text(value: Any) -> str:
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**9)
        .strip()
        .removesuffix("...")
        .strip()
    )


def plan_sweep(
    base: Scenario,
    axes: Sequence[Axis],
    yes: bool = False,
    shard_tenants: int | None = None,
) -> Sweep:
    """The points (full factorial of ``axes``, and the reference point) and their tasks, one
    per point and replication of ``base``. Every point's scenario and catalog are resolved
    here, so that a bad key or value fails before any work."""
    if not axes:
        raise SweepError("--grid: at least one KEY=V1,V2,... is needed")
    keys = [a.key for a in axes]
    if len(set(keys)) < len(keys):
        raise SweepError(f"--grid: a key is given twice ({', '.join(keys)})")
    base_catalog = base.load_catalog()
    own = {k: own_value(base, base_catalog, k) for k in keys}
    combos = list(itertools.product(*[list(zip(a.texts, a.values, strict=True)) for a in axes]))
    own_key = tuple(repr(own[k]) for k in keys)
    points = [
        Point(
            i,
            tuple(v for _, v in c),
            tuple(t for t, _ in c),
            tuple(repr(v) for _, v in c) == own_key,
        )
        for i, c in enumerate(combos)
    ]
    reference = next((p for p in points if p.reference), None)
    if reference is None and all(own[k] is not None for k in keys):
        vals = tuple(own[k] for k in keys)
        reference = Point(len(points), vals, tuple(_text(v) for v in vals), True, False)
        points.append(reference)
    if reference is None:  # the scenario has no value for a key: the first point is the reference
        reference = points[0]
    n_tasks = len(points) * base.replications
    if n_tasks > MAX_TASKS and not yes:
        raise SweepError(
            f"--grid: {len(points)} points x {base.replications} replications = {n_tasks} tasks, "
            f"more than {MAX_TASKS}; give --yes to play them"
        )
    tasks = []
    for point in points:
        sc = _point_scenario(base, keys, point.texts)
        try:
            catalog = sc.load_catalog()
        except SimError as exc:
            raise SweepError(f"--grid {', '.join(map(_set, keys, point.texts))}: {exc}") from None
        for rep in range(base.replications):
            tasks.append(PointTask(sc, catalog, point, rep, tuple(keys), shard_tenants))
    return Sweep(base, list(axes), points, tasks, reference, own)


# -- a task ---------------------------------------------------------------------------------------


def figures(result: RunResult, replication: int) -> dict[str, float]:
    """The sweep's figures of one replication of a run (:func:`sim.results.metrics.headline`):
    :data:`FIGURES`, then ``rate_<code>`` (refusals per day per 1,000 DAU; ``_dau``: refused
    user-days) for each error code. ``refused_share`` is refused group operations / attempted
    ones (0 to 1)."""
    t = result.tables()
    run = prepare(
        console_ops=t["console_ops"],
        group_ops=t["group_ops"],
        timeline=t["timeline"],
        usage=t["usage"],
        bills=t["bills"],
        summary=result.summary,
        catalog=result.catalog,
    )
    h = headline(run)
    h = h[h["replication"] == replication].set_index("metric")["value"]
    out = {name: float(h.get(metric, math.nan)) for name, metric in HEADLINE.items()}
    attempts = float(h.get("group_attempts", 0.0))
    out["refused_share"] = float(h.get("group_errors", 0.0)) / attempts if attempts else math.nan
    for metric in sorted(m for m in h.index if str(m).startswith("rate_")):
        out[str(metric)] = float(h[metric])
    return out


def play_point(task: PointTask, tick: Tick | None = None) -> dict[str, float]:
    """Play one (point, replication) in this process and return its figures."""
    sc, catalog = task.scenario, task.catalog
    tasks = plan(sc, catalog, task.shard_tenants, replications=[task.replication])
    progress = None if tick is None else (lambda done, _total: tick(done))
    result = play_run(Prepared(sc, catalog, tasks, LocalExecutor(1)), progress)
    return figures(result, task.replication)


# -- the results ----------------------------------------------------------------------------------


def table(sweep: Sweep, results: Sequence[dict[str, float]]) -> pd.DataFrame:
    """One row per (point, replication): the grid keys (named as given), ``replication``,
    ``point``, ``reference``, then the figures; error-code rates missing at a point are 0."""
    rows = []
    for task, figs in zip(sweep.tasks, results, strict=True):
        row: dict[str, Any] = dict(zip(sweep.keys, task.point.values, strict=True))
        row.update(replication=task.replication, point=task.point.index)
        row["reference"] = task.point.reference
        row["on_grid"] = task.point.on_grid
        rows.append({**row, **figs})
    df = pd.DataFrame(rows)
    for key in sweep.keys:
        if all(is_number(v) for v in df[key]):
            df[key] = pd.to_numeric(df[key])
    rates = sorted((c for c in df.columns if c.startswith("rate_")), key=_rate_order)
    head = [*sweep.keys, "replication", "point", "reference", "on_grid", *FIGURES]
    df[rates] = df[rates].fillna(0.0)
    return df[head + rates].reset_index(drop=True)


def _rate_order(col: str) -> tuple[int, str]:
    digits = "".join(ch for ch in col if ch.isdigit())
    return (int(digits) if digits else 0, col)


def figure_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c in FIGURES or c.startswith("rate_")]


def means(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """Per point and figure: mean and 95 % interval (Student t) over the replications."""
    rows = []
    for (point, *vals), grp in df.groupby(["point", *keys], sort=True, dropna=False):
        for fig in figure_columns(df):
            rows.append(
                {
                    "point": point,
                    **dict(zip(keys, vals, strict=True)),
                    "figure": fig,
                    **mean_ci(grp[fig]),
                }
            )
    return pd.DataFrame(rows)


def deltas(df: pd.DataFrame, keys: Sequence[str], reference: int) -> pd.DataFrame:
    """Per point and figure: the paired difference against the reference point (same
    replication, so same random numbers), mean and 95 % interval over the replications."""
    figs = figure_columns(df)
    ref = df[df["point"] == reference].set_index("replication")[figs]
    rows = []
    for (point, *vals), grp in df.groupby(["point", *keys], sort=True, dropna=False):
        diff = grp.set_index("replication")[figs] - ref.reindex(grp["replication"]).to_numpy()
        for fig in figs:
            rows.append(
                {
                    "point": point,
                    **dict(zip(keys, vals, strict=True)),
                    "figure": fig,
                    **mean_ci(diff[fig]),
                }
            )
    return pd.DataFrame(rows)


def best_point(df: pd.DataFrame, keys: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """The revenue-maximising point, with an interval.

    The point is the one with the highest mean ``revenue_total`` over the replications (the
    grid points only, not an added reference point). Its interval is a percentile bootstrap
    over the replications (:data:`BOOTSTRAP` resamples, with replacement, of the replication
    indices -- the same for every point, keeping the random numbers paired): the 2.5 % and
    97.5 % percentiles, for each numeric key, of the maximising point's value in the resamples;
    ``share`` is the fraction of resamples that pick the same point. ``edge`` lists the keys
    whose maximising value is the lowest or highest of the grid. ``reference_better`` is the
    mean revenue of the scenario's own values when they are not on the grid and earn more than
    the maximising point (the grid brackets the wrong region), else None."""
    grid = df[df["on_grid"]]
    wide = grid.pivot_table(index="replication", columns="point", values="revenue_total")
    wide = wide.dropna(axis=0)
    mean = wide.mean(axis=0)
    top = int(mean.idxmax())
    values = grid[grid["point"] == top].iloc[0]
    rng = np.random.default_rng(seed)
    n = len(wide)
    idx = rng.integers(0, n, size=(BOOTSTRAP, n))
    boot = wide.to_numpy()[idx].mean(axis=1).argmax(axis=1)
    picks = wide.columns.to_numpy()[boot]
    out: dict[str, Any] = {
        "point": top,
        "values": {k: values[k] for k in keys},
        "revenue": mean_ci(wide[top]),
        "share": float((picks == top).mean()) if n > 1 else math.nan,
        "replications": n,
        "interval": {},
        "edge": [],
        "reference_better": _reference_better(df, float(mean[top])),
    }
    by_point = grid.drop_duplicates("point").set_index("point")
    for k in keys:
        col = by_point[k]
        if not all(is_number(v) for v in col):
            continue
        chosen = col.loc[picks].astype(float).to_numpy()
        lo, hi = np.percentile(chosen, [2.5, 97.5]) if n > 1 else (math.nan, math.nan)
        out["interval"][k] = (float(lo), float(hi))
        if float(values[k]) in (float(col.min()), float(col.max())) and col.nunique() > 1:
            out["edge"].append(k)
    return out


def _reference_better(df: pd.DataFrame, best: float) -> float | None:
    """The mean revenue of an off-grid reference point when it beats ``best``, else None."""
    ref = df[df["reference"] & ~df["on_grid"]]
    if ref.empty:
        return None
    revenue = float(ref["revenue_total"].mean())
    return revenue if revenue > best else None
