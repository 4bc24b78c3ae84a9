"""Runs: a scenario in, tidy tables out (``sim.run``), and writing them as Parquet + summary.json.

Tables (every one with a ``replication`` column, 0-based):

- ``console_ops``: every console operation the tenants' decisions sent to the engine, with its
  outcome (``ok``, ``error_code``, ``reason``, ``note``) and the ``policy`` that decided it;
- ``group_ops``: ``exact`` mode, one row per group operation (``time, app, op, group_type, user,
  group, ok, error_code, reason, count`` with ``count`` 1); ``fast`` mode, counts per ``app,
  date, op, error_code, reason``. Refused DAU (72000 on the free tier's hard cap, 60020 on a
  lapsed prepaid package) appear in both as op ``activity`` with their count per app-day;
- ``timeline``: the engine's state intervals (``docs/design.md``);
- ``usage``: per app and day: registered ``users``, served ``dau``, ``dau_refused``, peak
  ``groups`` (live and non-live) and peak ``live_groups``; ``dau`` and ``groups`` are what
  :func:`sim.billing.bill` reads;
- ``purchases``: successful prepaid purchases (R11);
- ``bills``: :func:`sim.billing.bill` of each replication.

No table holds wall-clock time: the same scenario and seed give byte-identical Parquet files.
``summary.json`` has the scenario hash, seed, package versions, wall time and headline figures.

A run is played in shards (:mod:`sim.model.shards`): :func:`run` gathers them into DataFrames;
:func:`run_and_write` (``sim run``) writes each shard's rows as it comes, in ``workers``
processes, so memory is bounded by a shard, not by the run. Both give the same files.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.catalog import Catalog
from sim.core.vocab import NS_PER_DAY
from sim.model import shards as shards_mod
from sim.model.assumptions import assumptions
from sim.model.exact import ExactModel, ModelBase
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict
from sim.model.shards import Part, Shard
from sim.model.tables import ACTIVITY, frames, order

TABLES = ("console_ops", "group_ops", "timeline", "usage", "purchases", "bills")


@dataclass
class RunResult:
    """The tables of a run (DataFrames) and its summary (plain data)."""

    scenario: Scenario
    catalog: Catalog
    mode: str
    console_ops: pd.DataFrame
    group_ops: pd.DataFrame
    timeline: pd.DataFrame
    usage: pd.DataFrame
    purchases: pd.DataFrame
    bills: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


# -- the run ------------------------------------------------------------------------------------

MODES: dict[str, type[ModelBase]] = {"exact": ExactModel}
"""Fidelity mode -> model class (``fast`` is added by :mod:`sim.model.fast` on first use)."""


def _model(mode: str) -> type:
    if mode == "fast" and "fast" not in MODES:
        from sim.model.fast import FastModel

        MODES["fast"] = FastModel
    return MODES[mode]


def play_shard(
    scenario: Scenario,
    catalog: Catalog,
    shard: Shard,
    on_month: Any = None,
    compact: bool = False,
) -> Part:
    """Play one shard (:mod:`sim.model.shards`): its tables and their tallies."""
    model = _model(scenario.mode)(scenario, catalog, shard.replication, on_month, shard.keys)
    raw = model.run()
    tables = frames(raw, catalog, scenario.mode, shard.replication, compact)
    return Part(shard, tables, raw.n_ops, {"tally": tally(tables)})


# -- headline figures, summed over shards --------------------------------------------------------


_DAY_NS = NS_PER_DAY


def _months(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each date's (or instant's local date's) month as a code, and the codes' ``YYYY-MM``
    labels; in one pass, not a sort (tables have millions of rows and a few dozen months)."""
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    v = values.to_numpy()
    if not len(v):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    day = v.astype("datetime64[ns]").view(np.int64) // _DAY_NS
    d0 = int(day.min())
    seen = np.flatnonzero(np.bincount(day - d0))  # the distinct days, in order
    month_of = (seen + d0).astype("datetime64[D]").astype("datetime64[M]")
    months, code_of_seen = np.unique(month_of, return_inverse=True)
    lookup = np.zeros(int(seen[-1]) + 1, dtype=np.int64)
    lookup[seen] = code_of_seen
    return lookup[day - d0], np.datetime_as_string(months, unit="M").astype(object)


def _sums(
    keys: list[np.ndarray], values: np.ndarray, names: list[str], labels: np.ndarray
) -> pd.Series:
    """``values`` summed per distinct row of small non-negative int ``keys`` (the second of
    which is a month code, shown as ``labels``), as a Series indexed by ``names``."""
    if not len(values):
        idx = pd.MultiIndex.from_arrays([[] for _ in names], names=names)
        return pd.Series(np.zeros(0, dtype=np.int64), index=idx)
    width = [int(k.max()) + 1 for k in keys]
    flat = np.ravel_multi_index(keys, width)
    total = np.bincount(flat, weights=values, minlength=int(np.prod(width)))
    hit = np.flatnonzero(np.bincount(flat, minlength=len(total)))
    cols = list(np.unravel_index(hit, width))
    cols[1] = labels[cols[1]]
    idx = pd.MultiIndex.from_arrays(cols, names=names)
    return pd.Series(np.rint(total[hit]).astype(np.int64), index=idx)


def tally(tables: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """What the headline figures need from some tables, as sums that add up over shards:
    refusals per (replication, month, kind, error_code); group operations, DAU demand
    (user-days) and billed ``amount_minor`` per (replication, month)."""
    g, u, b = tables["group_ops"], tables["usage"], tables["bills"]
    month, labels = _months(g["date"] if "date" in g else g["time"])
    act = (g["op"] == ACTIVITY).to_numpy()
    rep = g["replication"].to_numpy()
    code = g["error_code"].to_numpy()
    count = g["count"].to_numpy()
    ref = code != 0
    codes, code_i = np.unique(code[ref], return_inverse=True)
    refused = _sums(
        [rep[ref], month[ref], act[ref].astype(np.int64), code_i],
        count[ref],
        ["replication", "month", "kind", "error_code"],
        labels,
    )
    refused.index = refused.index.set_levels(
        [
            np.array(["ops", "dau"], dtype=object)[refused.index.levels[2]],
            codes[refused.index.levels[3]],
        ],
        level=[2, 3],
    )
    u_month, u_labels = _months(u["date"])
    demand = (u["dau"] + u["dau_refused"]).to_numpy()
    return {
        "refused": refused.sort_index(),
        "ops": _sums([rep[~act], month[~act]], count[~act], ["replication", "month"], labels),
        "dau": _sums(
            [u["replication"].to_numpy(), u_month], demand, ["replication", "month"], u_labels
        ),
        "revenue": b.groupby(["replication", "month"])["amount_minor"].sum(),
    }


def _combine(tallies: list[dict[str, pd.Series]]) -> dict[str, pd.Series]:
    out = {}
    for key in ("refused", "ops", "dau", "revenue"):
        parts = [t[key] for t in tallies if len(t[key])]
        if not parts:
            out[key] = tallies[0][key].astype(np.int64)
            continue
        s = pd.concat(parts)
        out[key] = s.groupby(level=list(range(s.index.nlevels))).sum().astype(np.int64)
    return out


def _error_counts(t: dict[str, pd.Series]) -> pd.DataFrame:
    cols = ["replication", "month", "kind", "error_code", "refused", "attempts", "rate"]
    counts = t["refused"].rename("refused").reset_index()
    if counts.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    keys = ["replication", "month"]
    counts = counts.join(t["ops"].rename("ops"), on=keys).join(t["dau"].rename("dau"), on=keys)
    counts["attempts"] = np.where(counts["kind"] == "dau", counts["dau"], counts["ops"])
    counts["attempts"] = counts["attempts"].fillna(0).astype(np.int64)
    counts["rate"] = counts["refused"] / counts["attempts"].clip(lower=1)
    return counts[cols]


def error_counts(result: RunResult) -> pd.DataFrame:
    """Refusals per replication, month and error code, and the attempts they are out of:
    group operations for group codes, DAU demand (user-days) for ``activity`` codes."""
    return _error_counts(tally(result.tables()))


def revenue_by_month(result: RunResult) -> pd.Series:
    """Billed amount per replication and month (``amount_minor`` summed, in major units)."""
    b = result.bills
    scale = 10**result.catalog.currency.decimals
    return b.groupby(["replication", "month"])["amount_minor"].sum() / scale


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def catalog_digest(catalog: Catalog) -> str:
    text = json.dumps(catalog.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def population_digest(sc: Scenario) -> str:
    """SHA-256 of what determines the demand drawn (population, seed, start, horizon): equal
    for what-ifs that change only the catalog or the behaviour (common random numbers)."""
    keys = ("population", "seed", "start", "horizon_months")
    text = json.dumps(
        {k: v for k, v in sc.model_dump(mode="json").items() if k in keys}, sort_keys=True
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _summary(
    sc: Scenario,
    catalog: Catalog,
    mode: str,
    t: dict[str, pd.Series],
    console: pd.DataFrame,
    wall_s: float,
    n_ops: int,
    n_tenants: int,
) -> dict[str, Any]:
    reps = sc.replications
    scale = 10**catalog.currency.decimals
    rev = (t["revenue"] / scale).groupby(level="month").sum() / reps
    err = _error_counts(t)
    by_code = err.groupby(["kind", "error_code"])[["refused"]].sum()
    totals = {"ops": int(t["ops"].sum()), "dau": int(t["dau"].sum())}
    rates = {
        f"{code}": {
            "refused": int(row.refused),
            "rate": row.refused / max(totals[kind], 1),
            "of": "group operations" if kind == "ops" else "DAU user-days",
        }
        for (kind, code), row in by_code.iterrows()
    }
    return {
        "scenario": sc.name,
        "description": sc.description,
        "scenario_hash": sc.digest(),
        "population_hash": population_digest(sc),
        "scenario_data": sc.model_dump(mode="json"),
        "start": sc.start.isoformat(),
        "horizon_months": sc.horizon_months,
        "warmup_months": sc.warmup_months,
        "report_start": sc.report_start.strftime("%Y-%m"),
        "assumptions": assumptions(sc),
        "timezone": catalog.timezone,
        "catalog": catalog.name,
        "catalog_hash": catalog_digest(catalog),
        "seed": sc.seed,
        "replications": reps,
        "mode": mode,
        "versions": _versions(),
        "wall_time_s": round(wall_s, 3),
        "tenants": n_tenants,
        "tenant_months": n_tenants * sc.horizon_months * reps,
        "group_operations": n_ops,
        "operations_per_s": round(n_ops / wall_s, 1) if wall_s > 0 else None,
        "currency": catalog.currency.code,
        "revenue_by_month": {m: round(float(v), 2) for m, v in rev.items()},
        "revenue_total": round(float(rev.sum()), 2),
        "error_rates": rates,
        "console_ops": {
            f"{op}:{'ok' if ok else 'refused'}": int(n)
            for (op, ok), n in console.groupby(["op", "ok"]).size().items()
        },
    }


def _scenario(
    scenario: Scenario | str | Path | dict[str, Any],
    overrides: Iterable[str],
    **fields: Any,
) -> Scenario:
    """The scenario, with ``overrides`` (``--set``) and the fields given (``mode``, ``seed``,
    ``replications``; None: the scenario's)."""
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


@dataclass
class _Play:
    """A run in progress: its scenario, catalog, shards and the parts' counts."""

    sc: Scenario
    catalog: Catalog
    shards: list[Shard]
    workers: int
    wall: float = field(default_factory=time.perf_counter)
    n_ops: int = 0
    tallies: list[dict[str, pd.Series]] = field(default_factory=list)

    def parts(self, progress: Any, compact: bool) -> Iterator[Part]:
        player = functools.partial(play_shard, compact=compact) if compact else play_shard
        for part in shards_mod.play(
            player, self.sc, self.catalog, self.shards, self.workers, progress
        ):
            self.n_ops += part.n_ops
            self.tallies.append(part.extra["tally"])
            yield part

    def summary(self, console: pd.DataFrame) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        t = _combine(self.tallies)
        return _summary(
            self.sc, self.catalog, self.sc.mode, t, console, wall, self.n_ops, self.sc.n_tenants
        )


def _start(
    scenario: Any,
    overrides: Iterable[str],
    workers: int | str,
    shard_tenants: int | None,
    **fields: Any,
) -> _Play:
    sc = _scenario(scenario, overrides, **fields)
    catalog = sc.load_catalog()
    _model(sc.mode)  # an unknown mode fails here, before any work
    shards = shards_mod.plan(sc, shard_tenants or shards_mod.SHARD_TENANTS)
    return _Play(sc, catalog, shards, shards_mod.resolve_workers(workers, sc, shards))


def run(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    mode: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    progress: shards_mod.Progress | None = None,
    workers: int | str = 1,
    shard_tenants: int | None = None,
) -> RunResult:
    """Simulate a scenario's population and return its tables as DataFrames.

    The same scenario and seed give the same tables, whatever ``workers`` and
    ``shard_tenants``. For runs too large to hold in memory, :func:`run_and_write`.

    Parameters
    ----------
    scenario : Scenario, str, Path or dict
        A scenario, a scenario name (``scenarios/``), a YAML path, or plain data.
    mode : {"exact", "fast"} or None
        The fidelity mode (docs/model.md); None: the scenario's.
    seed : int or None
        The root seed of every random stream; None: the scenario's.
    replications : int or None
        Independent replications (a ``replication`` column); None: the scenario's.
    overrides : iterable of str
        ``dotted.key=value`` scenario overrides (``--set``), ``catalog.overrides...`` too.
    progress : callable or None
        ``progress(done, total)``, called with counts of tenant-months.
    workers : int or "auto"
        Processes playing the shards (1: this one; ``"auto"``: one per CPU for a large run).
    shard_tenants : int or None
        Tenants per shard (default :data:`sim.model.shards.SHARD_TENANTS`).

    Returns
    -------
    RunResult
        ``console_ops``, ``group_ops`` (counts per app, day, operation and error code),
        ``timeline``, ``usage`` (DAU and groups per app-day), ``purchases`` and ``bills``
        (amounts in the catalog's currency), times tz-aware in the catalog's zone; and the
        ``summary`` (plain data).

    Raises
    ------
    ScenarioError, CatalogError
        A scenario or catalog that cannot be read or validated (the message names the file
        and field).

    Examples
    --------
    >>> import sim
    >>> r = sim.run("tiny", replications=1)  # doctest: +SKIP
    """
    play = _start(
        scenario, overrides, workers, shard_tenants, mode=mode, seed=seed, replications=replications
    )
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    for part in play.parts(progress, compact=False):
        for name in TABLES:
            parts[name].append(part.tables[name])
    tables = {
        name: order(name, pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0])
        for name, dfs in parts.items()
    }
    result = RunResult(play.sc, play.catalog, play.sc.mode, **tables)
    result.summary = play.summary(result.console_ops)
    return result


def _streamed(mode: str) -> tuple[str, ...]:
    """Tables written shard by shard (app-first, :mod:`sim.model.tables`); the others are gathered."""
    return ("group_ops", "usage", "bills") if mode == "fast" else ("usage", "bills")


def run_and_write(
    scenario: Scenario | str | Path | dict[str, Any],
    out_dir: str | Path,
    *,
    mode: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    progress: shards_mod.Progress | None = None,
    workers: int | str = "auto",
    shard_tenants: int | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Run a scenario and write its tables into ``out_dir`` as :func:`write` does, shard by
    shard: the large tables are never whole in memory. All or nothing (:class:`OutputDir`).
    Returns the summary and the paths written."""
    from sim.files.outputs import OutputDir

    play = _start(
        scenario, overrides, workers, shard_tenants, mode=mode, seed=seed, replications=replications
    )
    streamed = _streamed(play.sc.mode)
    gathered: dict[str, list[pd.DataFrame]] = {n: [] for n in TABLES if n not in streamed}
    with OutputDir(out_dir) as out:
        sinks = {name: out.sink(f"{name}.parquet") for name in streamed}
        for part in play.parts(progress, compact=True):
            for name, df in part.tables.items():
                if name in sinks:
                    sinks[name].write(df)
                else:
                    gathered[name].append(df)
            del part
        tables = {
            name: order(name, pd.concat(dfs, ignore_index=True)) for name, dfs in gathered.items()
        }
        for name, df in tables.items():
            out.write(f"{name}.parquet", df)
        summary = play.summary(tables["console_ops"])
        out.write("summary.json", summary)  # part of the set, swapped in with the tables
    paths = [Path(out_dir) / f"{name}.parquet" for name in TABLES]
    paths.append(Path(out_dir) / "summary.json")
    return summary, paths


def write(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write the tables as ``<name>.parquet`` and ``summary.json`` into ``out_dir``."""
    from sim.files.outputs import write_tables

    files: dict[str, Any] = {f"{n}.parquet": df for n, df in result.tables().items()}
    return write_tables(out_dir, {**files, "summary.json": result.summary})
