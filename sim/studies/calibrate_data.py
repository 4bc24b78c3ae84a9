"""Observed tables for ``sim calibrate``: read, check, and assign each app to a segment.

``OBSERVED`` is a folder with, as CSV or Parquet (``usage.csv`` or ``usage.parquet``, ...):

- ``usage`` (required): ``app, date, users, dau, groups, live_groups`` and, when known,
  ``dau_refused``;
- ``console_ops`` (required): ``time, app, op, edition, live_unlimited, groups_per_user,
  members_per_group, months, ok, error_code``;
- ``group_ops`` (optional): ``app, date, op, error_code, count``.

These are the columns ``sim run`` writes; its model-only columns (``archetype``, ``policy``,
``replication``) may be there or not (only replication 0 is read when there is one). Apps in
``console_ops`` deactivated at the very instant they were created have no usage and are left
out (and counted); any other app without usage is an error.

Segments: the column ``--segments`` names (default ``segment``), in ``usage`` or
``console_ops``, gives each app an archetype of the scenario. Without one, each app goes to the
archetype under which its users on its first day are likeliest, weighted by the archetypes'
counts: ``argmax_a count_a * lognormal_pdf(users | users0_median_a, users0_sigma_a)`` (the rule
of :func:`assign_segments`); the report says how many apps went where.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError, SimError
from sim.files.datasets import read_table, table_path

USAGE_COLUMNS = ("app", "date", "users", "dau", "groups", "live_groups")
CONSOLE_COLUMNS = (
    "time",
    "app",
    "op",
    "edition",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "months",
    "ok",
    "error_code",
)
GROUP_COLUMNS = ("app", "date", "op", "error_code", "count")
MIN_APPS = 5
"""Apps a segment needs to be fitted: fewer give no sd, no interval worth printing."""
DEFAULT_SEGMENT_COLUMN = "segment"


@dataclass
class Observed:
    """The observed tables (checked) and each app's segment."""

    usage: pd.DataFrame
    console_ops: pd.DataFrame
    group_ops: pd.DataFrame | None
    segment_of: pd.Series  # app -> segment (archetype name of the scenario)
    assignment: str  # how segments were assigned (for the report)
    gone_at_creation: int = 0  # apps left out: deactivated at their creation (no usage)


def _find(folder: Path, name: str) -> Path | None:
    return table_path(folder / name)  # a Parquet file or dataset folder (sim run's), or CSV


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = read_table(path)
    except SimError as exc:
        raise InputError(str(exc)) from None  # names the file
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; required: {', '.join(required)}"
        )
    if "replication" in df.columns:
        df = df.loc[df["replication"] == df["replication"].min()]
    return df.reset_index(drop=True)


def _numeric(df: pd.DataFrame, path: Path, cols: tuple[str, ...]) -> None:
    for c in cols:
        v = pd.to_numeric(df[c], errors="coerce")
        bad = v.isna() | (v < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{path}: row {row + 2}, column {c!r}: {df[c].iloc[row]!r} is not a count >= 0"
            )
        df[c] = v.astype(np.int64)


def read_observed(folder: str | Path, segment_column: str | None = None) -> Observed:
    """Read and check ``folder``'s tables (an :class:`InputError` names the file, row or
    column); segments are assigned later (:func:`assign_segments`)."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"OBSERVED {str(folder)!r} is not a folder")
    found = {n: _find(root, n) for n in ("usage", "console_ops", "group_ops")}
    for n in ("usage", "console_ops"):
        if found[n] is None:
            raise InputError(f"{root}: no {n}.csv or {n}.parquet (required)")
    upath, cpath, gpath = found["usage"], found["console_ops"], found["group_ops"]
    assert upath is not None and cpath is not None
    usage = _read(upath, USAGE_COLUMNS)
    if "dau_refused" not in usage.columns:
        usage["dau_refused"] = np.nan  # unknown: censored DAU handled by a median
    _numeric(usage, upath, ("users", "dau", "groups", "live_groups"))
    usage["date"] = pd.to_datetime(usage["date"]).dt.tz_localize(None).dt.normalize()
    usage["app"] = usage["app"].astype(str)
    console = _read(cpath, CONSOLE_COLUMNS)
    console["app"] = console["app"].astype(str)
    console["time"] = pd.to_datetime(console["time"], utc=True)
    console["ok"] = console["ok"].astype(str).str.lower().isin(("true", "1"))
    group = None
    if gpath is not None:
        group = _read(gpath, GROUP_COLUMNS)
        group["app"] = group["app"].astype(str)
        group["date"] = pd.to_datetime(group["date"]).dt.tz_localize(None).dt.normalize()
        _numeric(group, gpath, ("count", "error_code"))
    console, gone = _without_instant_apps(console, set(usage["app"].unique()))
    _check_apps(usage, console, group, upath, cpath, gpath)
    column = segment_column or DEFAULT_SEGMENT_COLUMN
    seg = _segment_column(usage, console, column, upath, cpath)
    if seg is None and segment_column is not None:
        raise InputError(
            f"--segments {segment_column!r}: no such column in {upath.name} or {cpath.name}"
        )
    empty = pd.Series(dtype=object) if seg is None else seg
    obs = Observed(usage, console, group, empty, "" if seg is None else f"column {column!r}")
    obs.gone_at_creation = gone
    return obs


def _without_instant_apps(console: pd.DataFrame, used: set[str]) -> tuple[pd.DataFrame, int]:
    """``console`` without the apps that have no usage because they were deactivated at the
    instant they were created (a day has no usage row for them), and their number."""
    other = console.loc[~console["app"].isin(used)]
    if other.empty:
        return console, 0
    g = other.groupby("app")
    instant = g["time"].nunique() == 1
    ends = g["op"].last() == "deactivate"
    gone = instant.index[(instant & ends).to_numpy()]
    return console.loc[~console["app"].isin(gone)].reset_index(drop=True), len(gone)


def _check_apps(
    usage: pd.DataFrame,
    console: pd.DataFrame,
    group: pd.DataFrame | None,
    upath: Path,
    cpath: Path,
    gpath: Path | None,
) -> None:
    if usage.empty:
        raise InputError(f"{upath}: no rows")
    used = usage.groupby("app")["users"].max()
    idle = used.index[used.to_numpy() <= 0]
    if len(idle):
        raise InputError(
            f"{upath}: app {idle[0]!r} has no users on any day ({len(idle)} such apps); "
            "every app needs usage"
        )
    known = set(used.index)
    for df, path in ((console, cpath), (group, gpath)):
        if df is None or path is None:
            continue
        extra = sorted(set(df["app"].unique()) - known)
        if extra:
            raise InputError(
                f"{path}: app {extra[0]!r} has no usage rows in {upath.name} "
                f"({len(extra)} such apps); every app needs usage"
            )


def _segment_column(
    usage: pd.DataFrame, console: pd.DataFrame, column: str, upath: Path, cpath: Path
) -> pd.Series | None:
    for df, path in ((usage, upath), (console, cpath)):
        if column in df.columns:
            pairs = df[["app", column]].dropna().drop_duplicates()
            twice = pairs["app"].duplicated()
            if twice.any():
                app = pairs["app"][twice].iloc[0]
                raise InputError(f"{path}: column {column!r}: app {app!r} has more than one value")
            seg = pairs.set_index("app")[column].astype(str)
            missing = sorted(set(usage["app"].unique()) - set(seg.index))
            if missing:
                raise InputError(f"{path}: column {column!r}: no value for app {missing[0]!r}")
            return seg
    return None


def assign_segments(obs: Observed, population: dict[str, Any]) -> dict[str, int]:
    """Give every app a segment of ``population`` (archetype name -> ArchetypeParams): the
    segment column's, checked, or by the likelihood rule of the module docstring. Returns the
    number of apps per segment; an :class:`InputError` for a segment not in the scenario."""
    names = list(population)
    if obs.assignment:
        unknown = sorted(set(obs.segment_of.unique()) - set(names))
        if unknown:
            raise InputError(
                f"{obs.assignment}: segment {unknown[0]!r} is not an archetype of the "
                f"scenario; its archetypes: {', '.join(names)}"
            )
    else:
        first = obs.usage.loc[obs.usage["users"] > 0].groupby("app")["users"].first()
        x = np.log(first.to_numpy(dtype=float))[:, None]
        mu = np.log([population[n].users0_median for n in names])[None, :]
        sd = np.maximum([population[n].users0_sigma for n in names], 0.05)[None, :]
        weight = np.array([max(population[n].count, 1) for n in names], dtype=float)[None, :]
        loglik = -0.5 * ((x - mu) / sd) ** 2 - np.log(sd) + np.log(weight)
        obs.segment_of = pd.Series(np.array(names)[loglik.argmax(axis=1)], index=first.index)
        obs.assignment = "likelihood of first-day users under each archetype (no segment column)"
    counts = obs.segment_of.value_counts()
    for name, n in counts.items():
        if n < MIN_APPS:
            raise InputError(
                f"segment {name!r}: {n} app(s), too few to fit; at least {MIN_APPS} are needed"
            )
    return {str(k): int(v) for k, v in counts.items()}
