"""A run's results, normalised for the metrics: its tables in one :class:`Run`. Pure pandas.

:func:`prepare` takes the tables ``sim run`` writes (``console_ops``, ``group_ops``,
``timeline``, ``usage``, ``bills``; ``docs/design.md``, ``sim/runner.py``) and its
``summary.json``, any of them possibly missing, and returns them with:

- a ``replication`` column everywhere (0 when the run had one);
- times as naive wall-clock timestamps in the catalog's zone, ``date`` the day and ``month``
  ``YYYY-MM``;
- group operations as counts per (replication, app, date, op, error_code, reason) whatever the
  fidelity mode (exact: one row per operation; fast: counts per app and day);
- each group-operation count and usage day attributed to the state, edition and packs in force
  at 12:00 that day (the model takes a day's console decisions at its start);
- each bill line attributed to an edition (``edition``) and the app's ``archetype``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.core.vocab import CODE_REASONS as VOCAB_CODE_REASONS

CODE_REASONS: dict[int, str] = dict(VOCAB_CODE_REASONS)
"""Error code → short reason (docs/rules.md)."""

PACK_COLUMNS = ("live_unlimited", "groups_per_user", "members_per_group")
ACTIVITY = "activity"
"""The op of refused DAU rows (72000 on a hard DAU cap, 60020 on a lapsed prepaid package):
their count is user-days, out of the DAU demanded, not operations."""


@dataclass(frozen=True)
class Run:
    """A run's tables, normalised by :func:`prepare` (see the module docstring)."""

    console_ops: pd.DataFrame
    group_counts: pd.DataFrame  # replication, app, date, month, op, error_code, reason, n, edition
    timeline: pd.DataFrame
    usage: pd.DataFrame  # + month, edition, state, live_unlimited
    bills: pd.DataFrame  # + edition, archetype
    archetypes: pd.Series  # app -> archetype
    replications: tuple[int, ...]
    months: tuple[str, ...]
    currency: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    caps: Mapping[str, Mapping[str, int | None]] | None = None
    catalog: Any = None  # the sim.core.catalog.Catalog the run was played with, when known
    op_totals: pd.DataFrame | None = None  # group_counts summed over apps and days
    dau_totals: pd.DataFrame | None = None  # usage summed over apps and days


def _with_rep(df: pd.DataFrame | None) -> pd.DataFrame:
    df = pd.DataFrame() if df is None else df.copy()
    if "replication" not in df.columns:
        df["replication"] = 0
    df["replication"] = pd.to_numeric(df["replication"]).fillna(0).astype("int64")
    return df


def _local(values: pd.Series, tz: str | None = None) -> pd.Series:
    """Naive wall-clock timestamps (the catalog's zone) of a column of instants or text."""
    s = values
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError):  # mixed UTC offsets
            s = pd.to_datetime(s, utc=True)
    if getattr(s.dt, "tz", None) is not None:
        s = (s.dt.tz_convert(tz) if tz else s).dt.tz_localize(None)
    return s.astype("datetime64[ns]")


def month_of(dates: pd.Series) -> pd.Series:
    """'YYYY-MM' of naive timestamps (each distinct month formatted once)."""
    months = dates.to_numpy("datetime64[ns]").astype("datetime64[M]")
    uniq, inv = np.unique(months, return_inverse=True)
    labels = np.array([str(u) if not np.isnat(u) else None for u in uniq], dtype=object)
    return pd.Series(labels[inv], index=dates.index, dtype=object)


def _start_date(summary: Mapping[str, Any]) -> pd.Timestamp | None:
    for src in (summary, summary.get("scenario") or {}):
        if isinstance(src, Mapping) and src.get("start"):
            return pd.Timestamp(str(src["start"])[:10])
    return None


def group_op_counts(
    group_ops: pd.DataFrame, start: pd.Timestamp | None = None, tz: str | None = None
) -> pd.DataFrame:
    """Group operations as counts per (replication, app, date, op, error_code, reason).

    Exact mode (a ``time`` column, one row per operation) and fast mode (``day`` or ``date``
    and a count column ``n`` / ``count`` / ``attempts``) give the same table; a fast-mode
    ``day`` that is an integer is days since ``start``.
    """
    g = _with_rep(group_ops)
    cols = ["replication", "app", "date", "op", "error_code", "reason", "n"]
    if g.empty or "app" not in g.columns:
        return pd.DataFrame(columns=cols)
    if "time" in g.columns:
        g["date"] = _local(g["time"], tz).dt.floor("D")
    elif "date" in g.columns:
        g["date"] = _local(g["date"], tz).dt.floor("D")
    elif "day" in g.columns and pd.api.types.is_integer_dtype(g["day"].dtype):
        if start is None:
            raise ValueError("group_ops: integer 'day' needs the run's start date (summary.json)")
        g["date"] = start + pd.to_timedelta(g["day"], unit="D")
    else:
        g["date"] = _local(g["day"], tz).dt.floor("D")
    count = next((c for c in ("count", "n", "attempts") if c in g.columns), None)
    g["n"] = 1 if count is None else pd.to_numeric(g[count]).fillna(0).astype("int64")
    g["error_code"] = pd.to_numeric(g.get("error_code", 0)).fillna(0).astype("int64")
    if "reason" not in g.columns:
        g["reason"] = g["error_code"].map(CODE_REASONS).fillna("")
    g["reason"] = g["reason"].fillna("").astype(object)
    g.loc[g["error_code"] == 0, "reason"] = ""
    return g.groupby(cols[:-1], as_index=False, sort=True)["n"].sum()[cols]


def _attribute(keys: pd.DataFrame, timeline: pd.DataFrame) -> pd.DataFrame:
    """``keys`` (replication, app, date) with the state, edition and packs of the app at 12:00
    (rows in the same order)."""
    extra = ["state", "edition", *[c for c in PACK_COLUMNS if c in timeline.columns]]
    if keys.empty or timeline.empty:
        out = keys.copy()
        for c in extra:
            out[c] = pd.Series(dtype=object)
        return out
    left = keys.assign(_at=keys["date"] + pd.Timedelta(hours=12), _row=np.arange(len(keys)))
    left = left.sort_values("_at", kind="stable")
    right = timeline[["replication", "app", "start", *extra]].sort_values("start")
    right = right.astype({"app": left["app"].dtype}).rename(columns={"start": "_start"})
    att = pd.merge_asof(left, right, left_on="_at", right_on="_start", by=["replication", "app"])
    att["edition"] = att["edition"].where(att["state"] != "Deactivated", "Deactivated")
    att = att.sort_values("_row").drop(columns=["_at", "_start", "_row"])
    return att.set_axis(keys.index)


def _bill_editions(bills: pd.DataFrame) -> pd.Series:
    """The edition each bill line belongs to: the option of an edition or overage line; for a
    pack line, the edition line of the same app, month and kind with the largest amount."""
    is_ed = (bills["item"] == "edition") | bills["item"].astype(str).str.endswith("_overage")
    ed = bills["option"].where(is_ed)
    keys = ["replication", "app", "month", "kind"]
    lines = bills.loc[bills["item"] == "edition", [*keys, "option", "amount"]]
    best = lines.sort_values("amount", kind="stable").drop_duplicates(keys, keep="last")
    look = bills[keys].merge(best.rename(columns={"option": "_ed"}), on=keys, how="left")
    return ed.fillna(pd.Series(look["_ed"].to_numpy(), index=bills.index)).fillna("unknown")


def _months_axis(summary: Mapping[str, Any], *months: pd.Series) -> tuple[str, ...]:
    start, src = _start_date(summary), summary.get("scenario")
    horizon = summary.get("horizon_months") or (
        src.get("horizon_months") if isinstance(src, Mapping) else None
    )
    if start is not None and horizon:
        return tuple(pd.period_range(start, periods=int(horizon), freq="M").strftime("%Y-%m"))
    seen = sorted({str(m) for s in months for m in s.dropna().unique()})
    if not seen:
        return ()
    return tuple(pd.period_range(seen[0], seen[-1], freq="M").strftime("%Y-%m"))


def prepare(
    console_ops: pd.DataFrame | None = None,
    group_ops: pd.DataFrame | None = None,
    timeline: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    bills: pd.DataFrame | None = None,
    summary: Mapping[str, Any] | None = None,
    caps: Mapping[str, Mapping[str, int | None]] | None = None,
    catalog: Any = None,
) -> Run:
    """Normalise a run's tables (any may be missing) into a :class:`Run`.

    ``caps``: edition → ``{"nonlive_groups": n, "live_groups": n}`` (None: unlimited), the
    catalog's limits, for :func:`grandfathered_excess`; by default those of ``catalog`` (the
    :class:`sim.core.catalog.Catalog` the run was played with), if given.
    """
    summary = dict(summary or {})
    tz = summary.get("timezone")
    con = _with_rep(console_ops)
    if "time" in con.columns:
        con["time"] = _local(con["time"], tz)
        con["date"], con["month"] = con["time"].dt.floor("D"), month_of(con["time"])
    tl = _with_rep(timeline)
    if not tl.empty:
        tl["start"], tl["end"] = _local(tl["start"], tz), _local(tl["end"], tz)
        tl["edition"] = tl["edition"].fillna("").astype(object)
        tl = tl.sort_values(["replication", "app", "start"], kind="stable", ignore_index=True)
    counts = group_op_counts(_with_rep(group_ops), _start_date(summary), tz)
    counts = _attribute(counts, tl)
    counts["month"] = month_of(counts["date"]) if len(counts) else pd.Series(dtype=object)
    use = _with_rep(usage)
    if not use.empty:
        use["date"] = _local(use["date"], tz).dt.floor("D")
        use["month"] = month_of(use["date"])
        use = _attribute(use, tl)
    else:
        use = pd.DataFrame(columns=["replication", "app", "date", "dau", "month", "edition"])
    bl = _with_rep(bills)
    arche = pd.Series(dtype=object)
    for df in (con, tl, use):
        if {"app", "archetype"} <= set(df.columns):
            arche = df.drop_duplicates("app").set_index("app")["archetype"].astype(object)
            break
    currency = ""
    if not bl.empty:
        bl["amount"] = pd.to_numeric(bl["amount"]).astype(float)
        bl["month"] = bl["month"].astype(str)
        bl["edition"] = _bill_editions(bl).to_numpy()
        bl["archetype"] = bl["app"].map(arche).astype(object).fillna("unknown").to_numpy()
        currency = str(bl["currency"].iloc[0]) if "currency" in bl.columns else ""
    else:
        bl = pd.DataFrame(
            columns=[
                "replication",
                "app",
                "month",
                "item",
                "option",
                "kind",
                "amount",
                "quantity",
                "edition",
                "archetype",
            ]
        )
    currency = currency or str(summary.get("currency", ""))
    reps = set(tl["replication"]) | set(use["replication"]) | set(counts["replication"])
    reps |= set(range(int(summary.get("replications") or 0)))
    months = _months_axis(
        summary,
        bl["month"],
        use["month"],
        counts["month"] if len(counts) else pd.Series(dtype=object),
    )
    if caps is None and catalog is not None:
        caps = caps_from_catalog(catalog)
    keys = ["replication", "month", "edition"]
    op_totals = counts.groupby([*keys, "op", "error_code", "reason"], dropna=False, as_index=False)[
        "n"
    ].sum()
    dau_cols = [c for c in ("dau", "dau_refused") if c in use.columns]
    dau_totals = use.groupby(keys, dropna=False, as_index=False)[dau_cols].sum()
    return Run(
        con,
        counts,
        tl,
        use,
        bl,
        arche,
        tuple(sorted(int(r) for r in reps)) or (0,),
        months,
        currency,
        summary,
        caps,
        catalog,
        op_totals,
        dau_totals,
    )


def caps_from_catalog(catalog: Any) -> dict[str, dict[str, int | None]]:
    """Edition → its per-app group caps (``nonlive_groups``, ``live_groups``; None unlimited)
    from a :class:`sim.core.catalog.Catalog`, for :func:`prepare`."""
    return {
        name: {"nonlive_groups": ed.limits.nonlive_groups, "live_groups": ed.limits.live_groups}
        for name, ed in catalog.editions.items()
    }
