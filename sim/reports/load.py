"""Reading a run folder for a report: in streaming, at any run size.

A run folder (``sim run --out DIR``) holds ``console_ops``, ``group_ops``, ``timeline``,
``usage`` and ``bills`` (``.parquet``, or ``.csv``), ``summary.json`` and ``manifest.json``
(checked: a folder copied in part is refused). The two large tables (group operations and
usage: tens of millions of rows for 10,000 apps) are dataset folders of parts
(:mod:`sim.files.datasets`; single files in folders written before, or by hand), never held
whole: they are scanned part after part, a batch of rows at a time (:data:`BATCH_ROWS`, only the columns the metrics
need) and each batch is reduced to its :class:`~sim.results.prepare.Tallies`, which add up
(:func:`sim.results.prepare.combine`); a large run's row groups are tallied in worker
processes of a :class:`~sim.model.executor.LocalExecutor`. The small tables (console operations, timeline, bills)
are read whole. Peak memory is then bounded by a batch and the small tables, not by the run
(``benchmarks/bench_report.py`` measures it).

A replay folder (``sim replay --out DIR``: ``outcomes.csv``, ``timeline.csv``, ``bills.csv``)
is read too: its outcomes are split into console operations and group operations (one row per
operation, as an exact-mode run has them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.files import datasets
from sim.files.opslog import GROUP_OPS
from sim.results import prepare as prep
from sim.results.prepare import Run

RUN_TABLES = ("console_ops", "group_ops", "timeline", "usage", "bills")
"""The tables of a run directory a report reads (``<name>.parquet``, or ``.csv``)."""
REPLAY_TABLES = ("outcomes", "timeline", "bills")
"""The tables of a replay folder a report reads."""
BATCH_ROWS = 1_000_000
"""Rows of a large table reduced at a time."""
WORKERS = min(os.cpu_count() or 1, 4)
"""Processes that tally a large run's row groups (each holds one batch at a time)."""
PARALLEL_ROW_GROUPS = 8
"""Row groups (of ``group_ops`` and ``usage`` together) from which workers are worth their
start-up (a second or two each)."""
COLUMNS = {
    "group_ops": ("app", "time", "date", "day", "op", "error_code", "reason", "count", "n"),
    "usage": (
        "app",
        "date",
        "dau",
        "dau_refused",
        "groups",
        "live_groups",
        "archetype",
        "replication",
    ),
}
"""The columns of the large tables the metrics read (those present are read)."""


def table_file(path: Path) -> Path | None:
    """The table ``path`` names without its suffix: ``.parquet`` (a file, or a dataset folder
    of parts as ``sim run`` writes the large tables), else ``.csv``; None if there is none."""
    return datasets.table_path(path)


def read_table(path: Path) -> pd.DataFrame | None:
    """A table whole (``.parquet`` file or dataset folder, or ``.csv``), or None if there is
    none."""
    f = table_file(path)
    return None if f is None else datasets.read_table(f)


def scan_table(path: Path, name: str, rows: int | None = None) -> Iterator[pd.DataFrame]:
    """A large table in batches of at most ``rows`` rows (default :data:`BATCH_ROWS`), only
    the columns the metrics read (:data:`COLUMNS`) and ``replication``, part after part of a
    dataset folder."""
    f = table_file(path)
    if f is not None:
        yield from scan_file(f, name, rows)


def scan_file(
    f: Path, name: str, rows: int | None = None, row_group: tuple[Path, int] | None = None
) -> Iterator[pd.DataFrame]:
    """:func:`scan_table` of the table file (or dataset folder) ``f``; ``row_group``: only
    that one, (Parquet file, index)."""
    want = {*COLUMNS.get(name, ()), "replication"}
    try:
        if f.suffix == ".csv":
            df = pd.read_csv(f)
            yield df[[c for c in df.columns if c in want]]
            return
        text = ("app", "op", "reason")  # few distinct values: read as dictionaries
        yield from datasets.iter_batches(f, list(want), rows or BATCH_ROWS, row_group, text)
    except (OSError, ValueError) as exc:
        raise SimError(f"cannot read {str(f)!r}: {exc}") from exc


def read_summary(path: Path) -> dict[str, Any]:
    """``summary.json`` of a folder (empty if there is none)."""
    f = path / "summary.json"
    if not f.is_file():
        return {}
    try:
        data = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SimError(f"cannot read {str(f)!r}: {exc}") from exc
    if not isinstance(data, dict):
        raise SimError(f"{str(f)!r}: expected a JSON object, got {type(data).__name__}")
    return data


def catalog_of(summary: Mapping[str, Any]) -> tuple[Any | None, str]:
    """The catalog a run was played with, and a note on how it was found: rebuilt from the
    scenario in ``summary.json`` (``scenario_data``), else loaded by its ``catalog`` name
    (without the scenario's catalog overrides), else None."""
    from sim.files.catalogs import load_catalog

    data = summary.get("scenario_data")
    if isinstance(data, Mapping):
        from sim.model.scenario import scenario_from_dict

        try:
            return scenario_from_dict(data).load_catalog(), "from the run's scenario"
        except SimError:  # a catalog path relative to a scenario file no longer beside it
            pass
    name = summary.get("catalog")
    if isinstance(name, str) and name:
        try:
            return load_catalog(name), (
                f"catalog {name!r} as published: the run's scenario could not be rebuilt from "
                "summary.json, so any catalog overrides of the scenario are not applied here"
            )
        except SimError as exc:
            return None, f"catalog {name!r} could not be loaded: {exc}"
    return None, "summary.json names no catalog"


def _require(path: Path, names: tuple[str, ...], what: str) -> None:
    missing = [n for n in names if table_file(path / n) is None]
    if missing:
        raise SimError(
            f"{str(path)!r}: the {what} has no {', '.join(f'{n}.parquet' for n in missing)} "
            f"(a {what} holds {', '.join(names)}, as .parquet or .csv); the report would "
            "show its figures as zeros, so it is not written"
        )


def is_replay(path: Path) -> bool:
    """Whether ``path`` is a replay folder (``outcomes`` and no ``group_ops``)."""
    return table_file(path / "outcomes") is not None and table_file(path / "group_ops") is None


def load_run(run_dir: str | os.PathLike[str]) -> Run:
    """Read a run directory (``sim run --out DIR``) or a replay folder (``sim replay --out
    DIR``) into a :class:`~sim.results.prepare.Run`, the large tables in streaming."""
    path = Path(run_dir)
    if not path.is_dir():
        raise SimError(f"run directory {str(run_dir)!r} not found (expected `sim run --out DIR`)")
    if is_replay(path):
        return load_replay(path)
    if table_file(path / "timeline") is None:
        raise SimError(
            f"{str(run_dir)!r} is not a run directory: no timeline.parquet (a run directory "
            f"holds {', '.join(RUN_TABLES)} and summary.json, as `sim run --out DIR` writes)"
        )
    _require(path, RUN_TABLES, "run directory")
    datasets.check_manifest(path)  # a folder copied in part is refused, not reported
    summary = read_summary(path)
    catalog, note = catalog_of(summary)
    summary = {**summary, "_dir": str(path), "_catalog_note": note}
    return stream_run(path, summary, catalog)


def _months(path: Path, summary: Mapping[str, Any], bills: pd.DataFrame) -> tuple[str, ...]:
    if prep.report_months(summary):
        return prep.report_months(summary, bills["month"])
    seen = [bills["month"]]
    for batch in scan_table(path / "usage", "usage"):
        seen.append(prep.month_of(pd.to_datetime(batch["date"]).dt.tz_localize(None)))
    return prep.report_months(summary, *seen)


@dataclass(frozen=True)
class Context:
    """What tallying a batch of a large table needs besides the batch."""

    timeline: pd.DataFrame
    summary: Mapping[str, Any]
    months: tuple[str, ...]
    caps: Mapping[str, Mapping[str, int | None]] | None


def tally_batch(name: str, batch: pd.DataFrame, ctx: Context) -> prep.Tallies:
    """The tallies of one batch of ``group_ops`` or ``usage``."""
    if name == "group_ops":
        counts = prep.normalise_counts(batch, ctx.timeline, ctx.summary, aggregate=False)
        return prep.tally_counts(prep.in_months(counts, ctx.months))
    use = prep.normalise_usage(batch, ctx.timeline, ctx.summary.get("timezone"))
    return prep.tally_usage(prep.in_months(use, ctx.months), ctx.caps)


@dataclass(frozen=True)
class RowGroups:
    """A task of the report's executor: some row groups of the large tables, and the context
    to tally them (sent once per task, not per row group)."""

    groups: tuple[tuple[str, str, int], ...]  # (table name, Parquet file, row group)
    ctx: Context

    @property
    def size(self) -> int:
        return len(self.groups)

    @property
    def digest(self) -> str:  # never stored
        return ""

    @property
    def label(self) -> str:
        name, f, i = self.groups[0]
        return f"tallying {name} (row group {i} of {f})"


def tally_row_groups(task: RowGroups, tick: Any = None) -> prep.Tallies:
    """In a worker: the tallies of a task's row groups, one batch at a time."""
    parts = [prep.tally_counts(pd.DataFrame())]
    for name, f, index in task.groups:
        for batch in scan_file(Path(f), name, row_group=(Path(f), index)):
            parts = [prep.combine([*parts, tally_batch(name, batch, task.ctx)])]
    return parts[0]


def _tasks(path: Path, ctx: Context, workers: int) -> list[RowGroups]:
    """The large tables' row groups cut into tasks, a few per worker."""
    groups: list[tuple[str, str, int]] = []
    for name in ("group_ops", "usage"):
        f = table_file(path / name)
        if f is not None and f.suffix == ".parquet":
            groups += [(name, str(g), i) for g, i in datasets.row_groups(f)]
    if workers <= 1 or len(groups) < PARALLEL_ROW_GROUPS:
        return []
    per = max(1, -(-len(groups) // (4 * workers)))
    return [RowGroups(tuple(groups[i : i + per]), ctx) for i in range(0, len(groups), per)]


def _tally_tables(path: Path, ctx: Context, workers: int) -> prep.Tallies:
    """The tallies of ``group_ops`` and ``usage``: their row groups in ``workers`` processes
    of a :class:`~sim.model.executor.LocalExecutor` when there are enough of them, else here."""
    parts = [prep.tally_counts(pd.DataFrame()), prep.tally_usage(pd.DataFrame(), ctx.caps)]
    tasks = _tasks(path, ctx, workers)
    if tasks:
        from sim.model.executor import LocalExecutor

        pool = LocalExecutor(min(workers, len(tasks)))
        try:
            for part in pool.map(tally_row_groups, tasks):
                parts = [prep.combine([*parts, part])]
        finally:
            pool.close()
        return parts[0]
    for name in ("group_ops", "usage"):
        for batch in scan_table(path / name, name):
            parts = [prep.combine([*parts, tally_batch(name, batch, ctx)])]
    return prep.combine(parts)


def stream_run(
    path: Path, summary: dict[str, Any], catalog: Any = None, workers: int | None = None
) -> Run:
    """A run folder's :class:`~sim.results.prepare.Run`: the small tables whole, the large
    ones tallied batch by batch; row groups in ``workers`` processes (default
    :data:`WORKERS`) when the tables have at least :data:`PARALLEL_ROW_GROUPS` of them."""
    tz = summary.get("timezone")
    con = prep.normalise_console(read_table(path / "console_ops"), tz)
    tl = prep.normalise_timeline(read_table(path / "timeline"), tz)
    arche = prep.archetypes_of(con, tl)
    bl = prep.normalise_bills(read_table(path / "bills"), arche)
    months = _months(path, summary, bl)
    caps = prep.caps_from_catalog(catalog) if catalog is not None else None
    ctx = Context(tl, summary, months, caps)
    tallies = _tally_tables(path, ctx, WORKERS if workers is None else workers)
    return prep.assemble(con, tl, bl, arche, months, summary, caps, catalog, tallies)


def load_replay(path: Path) -> Run:
    """A replay folder's :class:`~sim.results.prepare.Run`: console and group operations
    from ``outcomes``, and its timeline and bills (no usage: no DAU figures)."""
    _require(path, REPLAY_TABLES, "replay folder")
    summary = {
        "scenario": f"replay of {path.name}",
        "description": "an operations log replayed through the rules engine (sim replay)",
        **read_summary(path),
        "_dir": str(path),
        "_catalog_note": "a replay folder states no catalog",
        "mode": "replay",
    }
    out = read_table(path / "outcomes")
    assert out is not None  # _require
    is_group = out["op"].isin(list(GROUP_OPS))
    group = out[is_group].assign(count=1)
    group["ok"] = group["ok"].astype(str).str.lower().isin(["true", "1"])
    con = out[~is_group].copy()
    con["ok"] = con["ok"].astype(str).str.lower().isin(["true", "1"])
    return prep.prepare(
        con,
        group[["time", "app", "op", "error_code", "reason", "count"]],
        read_table(path / "timeline"),
        None,
        read_table(path / "bills"),
        summary=summary,
    )


def run_from_result(result: Any) -> Run:
    """A :class:`~sim.results.prepare.Run` from a :class:`sim.model.runner.RunResult` (no
    files needed)."""
    tables = {name: getattr(result, name) for name in RUN_TABLES}
    summary = {**result.summary, "_catalog_note": "from the run"}
    return prep.prepare(**tables, summary=summary, catalog=result.catalog)
