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

A run folder (:func:`run_and_write`, :func:`write`) holds ``group_ops`` and ``usage`` as dataset
folders (``group_ops.parquet/part-00000.parquet``, ...: one part per shard, read as one table by
pandas, pyarrow and DuckDB, :mod:`sim.files.datasets`), the other tables as single files
``NAME.parquet``, ``summary.json``, and ``manifest.json`` (every table file with its rows,
bytes and SHA-256) written last.

A run flows one way: the scenario is resolved and its catalog loaded once, the plan cuts it into
shard tasks (:mod:`sim.model.plan`), an executor plays them -- here, in worker processes or on
a Dask cluster (:mod:`sim.model.executor`) -- with :func:`sim.model.shards.play_shard`, and this
module assembles the parts into tables and the summary. :func:`run` gathers the parts into
DataFrames; :func:`run_and_write` (``sim run``) has each worker write its shard's parts of the
large tables into a task store (:mod:`sim.model.store`) beside the output folder and return
only its tallies and small tables: this process links the parts into place, sorts and writes
the small tables, and the summary comes from the tallies. A run killed mid-way and started
again reuses the finished shards. The files do not depend on the executor or the number of
workers; the parts' cut (not the table read) depends on the shard size.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.catalog import Catalog
from sim.files.datasets import MANIFEST, FileInfo, manifest, part_name, write_part
from sim.model.assumptions import assumptions
from sim.model.executor import Executor, Progress, make_executor, resolve_workers
from sim.model.plan import ShardTask, catalog_digest, plan, resolve
from sim.model.scenario import Scenario
from sim.model.shards import MODES, Part, model_class, play_shard, tally
from sim.model.store import TaskStore
from sim.model.tables import order

__all__ = ["MODES", "catalog_digest", "tally"]

STORE = ".sim-tasks"
"""Suffix of the task store of ``sim run``: ``PARENT/.NAME.sim-tasks``, beside the output
folder (so a failed run leaves that folder exactly as it was) until the run is written."""


def store_path(out_dir: str | Path) -> Path:
    """Where ``sim run --out out_dir`` keeps its finished shards until the run is written."""
    out = Path(out_dir).absolute()
    return out.parent / f".{out.name}{STORE}"


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


@dataclass
class _Assembly:
    """The parts of a run as they come: their counts and tallies, for the summary."""

    sc: Scenario
    catalog: Catalog
    wall: float = field(default_factory=time.perf_counter)
    n_ops: int = 0
    tallies: list[dict[str, pd.Series]] = field(default_factory=list)

    def add(self, part: Part) -> Part:
        self.n_ops += part.n_ops
        self.tallies.append(part.tally)
        return part

    def summary(self, console: pd.DataFrame) -> dict[str, Any]:
        wall = time.perf_counter() - self.wall
        t = _combine(self.tallies)
        sc = self.sc
        return _summary(sc, self.catalog, sc.mode, t, console, wall, self.n_ops, sc.n_tenants)


@dataclass
class Prepared:
    """A run ready to play: the resolved scenario, its catalog, the tasks and the executor."""

    scenario: Scenario
    catalog: Catalog
    tasks: list[ShardTask]
    executor: Executor


def prepare_run(
    scenario: Scenario | str | Path | dict[str, Any],
    overrides: Iterable[str] = (),
    *,
    workers: int | str = 1,
    shard_tenants: int | None = None,
    cluster: str | None = None,
    oversubscribe: bool = False,
    compact: bool = False,
    **fields: Any,
) -> Prepared:
    """Resolve the scenario and its catalog once, plan the tasks and pick the executor
    (``cluster``: see :func:`sim.model.executor.make_executor`)."""
    sc = resolve(scenario, overrides, **fields)
    catalog = sc.load_catalog()
    model_class(sc.mode)  # an unknown mode fails here, before any work
    tasks = plan(sc, catalog, shard_tenants, compact)
    units = sum(t.size for t in tasks)
    n = resolve_workers(workers, units, len(tasks), oversubscribe)
    return Prepared(sc, catalog, tasks, make_executor(cluster, n))


def play(p: Prepared, progress: Progress | None = None) -> RunResult:
    """Play a prepared run's tasks on its executor and assemble the tables and the summary
    (the executor is closed after)."""
    done = _Assembly(p.scenario, p.catalog)
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    try:
        for part in p.executor.map(play_shard, p.tasks, progress):
            done.add(part)
            for name in TABLES:
                parts[name].append(part.tables[name])
    finally:
        p.executor.close()
    tables = {
        name: order(name, pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0])
        for name, dfs in parts.items()
    }
    result = RunResult(p.scenario, p.catalog, p.scenario.mode, **tables)
    result.summary = done.summary(result.console_ops)
    return result


def run(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    mode: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    progress: Progress | None = None,
    workers: int | str = 1,
    shard_tenants: int | None = None,
    cluster: str | None = None,
) -> RunResult:
    """Run a scenario (a :class:`Scenario`, a name or path, or plain data) and return its
    tables as DataFrames; ``mode``, ``seed``, ``replications`` override the scenario's.

    ``workers``: processes playing the shards (1: this one; ``"auto"``: one per CPU for a
    large run); ``shard_tenants``: tenants per shard (:data:`sim.model.plan.SHARD_TENANTS`);
    ``cluster``: a Dask scheduler's address, or ``"local"`` (:mod:`sim.model.executor`).
    ``progress(done, total)`` is called in tenant-months. For runs too large to hold in
    memory, :func:`run_and_write`.

    >>> import sim
    >>> r = sim.run("tiny", replications=1)  # doctest: +SKIP
    """
    p = prepare_run(
        scenario,
        overrides,
        workers=workers,
        shard_tenants=shard_tenants,
        cluster=cluster,
        mode=mode,
        seed=seed,
        replications=replications,
    )
    return play(p, progress)


DATASETS = ("group_ops", "usage")
"""The large tables, written as dataset folders ``NAME.parquet/part-NNNNN.parquet`` (one part
per shard, :mod:`sim.files.datasets`); the others are single files ``NAME.parquet``."""


def by_workers(mode: str) -> frozenset[str]:
    """The tables whose parts the workers write (app-first, :mod:`sim.model.tables`: a shard's
    rows are a part); exact mode's ``group_ops`` is time-first, sorted by the client."""
    return frozenset(DATASETS if mode == "fast" else ("usage",))


def run_and_write(
    scenario: Scenario | str | Path | dict[str, Any],
    out_dir: str | Path,
    *,
    mode: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    progress: Progress | None = None,
    workers: int | str = "auto",
    shard_tenants: int | None = None,
    cluster: str | None = None,
    oversubscribe: bool = False,
    resume: bool = True,
    notify: Callable[[str], None] | None = None,
) -> tuple[dict[str, Any], list[Path]]:
    """Run a scenario and write its tables into ``out_dir`` as :func:`write` lays them out,
    the large tables (:data:`DATASETS`) as one part per shard written by the worker that
    played it: this process never holds them, and never reads them (it links the parts into
    place). All or nothing (:class:`OutputDir`), ``manifest.json`` written last.

    The workers write into a task store (``PARENT/.NAME.sim-tasks`` beside ``out_dir``; on a
    cluster, a file system every worker sees), removed once the run is written. With
    ``resume``, a run killed mid-way and started again reuses the shards finished there
    (``notify`` is told ``"reused N of M tasks"``); without, the store is emptied first.
    Returns the summary and the paths written (tables, ``summary.json``, ``manifest.json``)."""
    from sim.files.outputs import OutputDir

    p = prepare_run(
        scenario,
        overrides,
        workers=workers,
        shard_tenants=shard_tenants,
        cluster=cluster,
        oversubscribe=oversubscribe,
        compact=True,
        mode=mode,
        seed=seed,
        replications=replications,
    )
    store = TaskStore(store_path(out_dir), by_workers(p.scenario.mode))
    if not resume:
        shutil.rmtree(store.root, ignore_errors=True)
    elif notify is not None:
        reused = sum(store.has(t.digest) for t in p.tasks)
        if reused:
            notify(f"reused {reused} of {len(p.tasks)} tasks")
    done = _Assembly(p.scenario, p.catalog)
    try:
        summary = _write_parts(
            OutputDir(out_dir),
            p.tasks,
            p.executor.map(play_shard, p.tasks, progress, store),
            store,
            done,
        )
    finally:
        p.executor.close()
    shutil.rmtree(store.root, ignore_errors=True)
    return summary, _paths(out_dir)


def _paths(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    return [*(out / f"{n}.parquet" for n in TABLES), out / "summary.json", out / MANIFEST]


def _write_parts(
    out_dir: Any,
    tasks: list[ShardTask],
    parts: Iterator[Part],
    store: TaskStore,
    done: _Assembly,
) -> dict[str, Any]:
    """Put the parts the workers wrote into their dataset folders (not read: linked), gather
    the small tables (and exact mode's ``group_ops``) from what the tasks returned and write
    them, then ``summary.json`` (from the tasks' tallies) and ``manifest.json`` last: all of it
    one set, swapped in whole (:class:`~sim.files.outputs.OutputDir`). Returns the summary."""
    gathered: dict[str, list[pd.DataFrame]] = {n: [] for n in TABLES if n not in store.parts}
    files: list[FileInfo] = []
    with out_dir as out:
        for task, part in zip(tasks, parts, strict=True):
            done.add(part)
            for name in sorted(store.parts):
                dest = f"{name}.parquet/{part_name(task.shard.number, len(tasks))}"
                src, info = store.part(task.digest, name)
                out.place(dest, src)
                files.append(dataclasses.replace(info, path=dest))
            for name, df in part.tables.items():
                gathered[name].append(df)
            del part
        tables = {
            name: order(name, pd.concat(dfs, ignore_index=True)) for name, dfs in gathered.items()
        }
        files += [_write_table(out, name, df) for name, df in tables.items()]
        summary = done.summary(tables["console_ops"])
        out.write("summary.json", summary)  # part of the set, swapped in with the tables
        out.write(MANIFEST, _manifest(done.sc, files))  # last
    return summary


def _write_table(out: Any, name: str, df: pd.DataFrame) -> FileInfo:
    """Write a table the client holds: a dataset's one part, or a single file."""
    dest = f"{name}.parquet/{part_name(0, 1)}" if name in DATASETS else f"{name}.parquet"
    return write_part(df, out.reserve(dest), dest)


def _manifest(sc: Scenario, files: list[FileInfo]) -> dict[str, Any]:
    return manifest(
        sorted(files, key=lambda f: f.path),
        scenario=sc.name,
        scenario_hash=sc.digest(),
        seed=sc.seed,
        replications=sc.replications,
        datasets=list(DATASETS),
    )


def write(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write the tables into ``out_dir`` as ``sim run`` lays them out (the large ones as
    dataset folders, here of one part each), ``summary.json`` and ``manifest.json``, one
    set. Returns the tables' paths, then the summary's and the manifest's."""
    from sim.files.outputs import OutputDir

    with OutputDir(out_dir) as out:
        files = [_write_table(out, name, df) for name, df in result.tables().items()]
        out.write("summary.json", result.summary)
        out.write(MANIFEST, _manifest(result.scenario, files))
    return _paths(out_dir)
