"""Tallies of a run's two large tables (group operations and usage): what the metrics need
from them, as sums (and minima) that add up over any split of the rows by app, so that a run
too large for memory is reduced a batch of rows at a time (:func:`combine`). Pure pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.core.vocab import LIMIT_CODES as VOCAB_LIMIT_CODES

ACTIVITY = "activity"
"""The op of refused DAU rows (72000 on a hard DAU cap, 60020 on a lapsed prepaid package):
their count is user-days, out of the DAU demanded, not operations."""

LIMIT_CODES = VOCAB_LIMIT_CODES
"""The codes of an edition's limits (R13): what the upgrade funnel starts from."""


@dataclass(frozen=True)
class Tallies:
    """What the metrics need from the two large tables (group operations and usage), as sums
    (and minima) that add up over any split of the rows by app: a run too large to hold in
    memory is tallied table by table, a batch of rows at a time (:func:`combine`).

    - ``op_totals``: replication, month, edition, op, error_code, reason, n;
    - ``dau_totals``: replication, month, edition, dau, dau_refused (user-days);
    - ``app_errors``: replication, app, activity (op ``activity``), error_code, n;
    - ``first_limit``: replication, app, date, error_code: each app's first limit error;
    - ``gf_by_day``: replication, date, over_groups, excess_groups, over_live,
      excess_live_groups (apps above a group cap, R12, and their excess groups);
    - ``days``: every day with usage.
    """

    op_totals: pd.DataFrame
    dau_totals: pd.DataFrame
    app_errors: pd.DataFrame
    first_limit: pd.DataFrame
    gf_by_day: pd.DataFrame
    days: pd.DataFrame


# -- tallies -------------------------------------------------------------------------------------

GF_COLUMNS = ("over_groups", "excess_groups", "over_live", "excess_live_groups")


def tally_counts(counts: pd.DataFrame) -> Tallies:
    """The tallies of attributed group-operation counts (:func:`normalise_counts`); those of
    usage are empty."""
    keys = ["replication", "month", "edition", "op", "error_code", "reason"]
    if counts.empty:
        op = pd.DataFrame(columns=[*keys, "n"])
        app = pd.DataFrame(columns=["replication", "app", "activity", "error_code", "n"])
        first = pd.DataFrame(columns=["replication", "app", "date", "error_code"])
    else:
        op = counts.groupby(keys, dropna=False, as_index=False, observed=True)["n"].sum()
        c = counts.assign(activity=counts["op"] == ACTIVITY)
        app = c.groupby(
            ["replication", "app", "activity", "error_code"], as_index=False, observed=True
        )["n"].sum()
        lim = counts[counts["error_code"].isin(list(LIMIT_CODES))]
        first = lim.sort_values(["date", "error_code"]).drop_duplicates(["replication", "app"])
        first = first[["replication", "app", "date", "error_code"]]
        op, app, first = (_plain(df) for df in (op, app, first))
    return Tallies(op, _empty_dau(), app, first, _empty_gf(), pd.DataFrame({"date": []}))


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its categorical columns (a scan's dictionary-encoded text) as text."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: object for c in cats}) if cats else df


def _empty_dau() -> pd.DataFrame:
    return pd.DataFrame(columns=["replication", "month", "edition", "dau", "dau_refused"])


def _empty_gf() -> pd.DataFrame:
    return pd.DataFrame(columns=["replication", "date", *GF_COLUMNS])


def _may_exceed(u: pd.DataFrame, caps: Mapping[str, Mapping[str, int | None]]) -> np.ndarray:
    """Rows that could be above some edition's cap (the smallest caps): a cheap first cut,
    most app-days hold far fewer groups."""

    def smallest(key: str) -> float:
        found = [float(v) for c in caps.values() if (v := c.get(key)) is not None]
        return min(found) if found else float(np.inf)

    groups = pd.to_numeric(u["groups"]).fillna(0).to_numpy(float)
    live = (
        pd.to_numeric(u["live_groups"]).fillna(0).to_numpy(float)
        if "live_groups" in u
        else np.zeros(len(u))
    )
    return ((groups - live) > smallest("nonlive_groups")) | (live > smallest("live_groups"))


def grandfathered_excess(
    usage: pd.DataFrame, caps: Mapping[str, Mapping[str, int | None]] | None
) -> pd.DataFrame:
    """Per replication, app and day with groups above the app's current cap (R12: what exists
    is never removed): non-live groups (``groups - live_groups``; both are daily peaks, so this
    is close, not exact) above the edition's ``nonlive_groups``, and live groups above
    ``live_groups`` (no cap with ``live_unlimited``). Empty without ``caps``."""
    u = usage
    cols = [
        "replication",
        "app",
        "date",
        "month",
        "edition",
        "nonlive_groups",
        "nonlive_cap",
        "excess_groups",
        "live_groups",
        "live_cap",
        "excess_live_groups",
    ]
    if not caps or u.empty or "groups" not in u.columns:
        return pd.DataFrame(columns=cols)
    u = u[_may_exceed(u, caps) & u["edition"].isin(list(caps))].copy()
    live = pd.to_numeric(u.get("live_groups", 0)).fillna(0) if "live_groups" in u else 0
    u["live_groups"] = live
    u["nonlive_groups"] = pd.to_numeric(u["groups"]).fillna(0) - live
    cap = {
        k: pd.Series(
            {e: (c.get(k) if c.get(k) is not None else np.inf) for e, c in caps.items()},
            dtype=float,
        )
        for k in ("nonlive_groups", "live_groups")
    }
    u["nonlive_cap"] = u["edition"].map(cap["nonlive_groups"]).astype(float)
    unl = u["live_unlimited"].fillna(False).astype(bool) if "live_unlimited" in u else False
    u["live_cap"] = u["edition"].map(cap["live_groups"]).astype(float).where(~unl, np.inf)
    u["excess_groups"] = (u["nonlive_groups"] - u["nonlive_cap"]).clip(lower=0)
    u["excess_live_groups"] = (u["live_groups"] - u["live_cap"]).clip(lower=0)
    hit = u[(u["excess_groups"] > 0) | (u["excess_live_groups"] > 0)]
    return hit.sort_values(["replication", "app", "date"], ignore_index=True)[cols]


def tally_usage(use: pd.DataFrame, caps: Mapping[str, Mapping[str, int | None]] | None) -> Tallies:
    """The tallies of attributed usage days (:func:`normalise_usage`); those of group
    operations are empty."""
    keys = ["replication", "month", "edition"]
    empty = tally_counts(pd.DataFrame())
    if use.empty:
        return empty
    u = use if "dau_refused" in use.columns else use.assign(dau_refused=0)
    dau = u.groupby(keys, dropna=False, as_index=False)[["dau", "dau_refused"]].sum()
    e = grandfathered_excess(use, caps)
    e = e.assign(
        over_groups=(e["excess_groups"] > 0).astype(int),
        over_live=(e["excess_live_groups"] > 0).astype(int),
    )
    gf = e.groupby(["replication", "date"], as_index=False)[list(GF_COLUMNS)].sum()
    days = pd.DataFrame({"date": np.sort(use["date"].dropna().unique())})
    return Tallies(empty.op_totals, dau, empty.app_errors, empty.first_limit, gf, days)


def combine(parts: Sequence[Tallies]) -> Tallies:
    """The tallies of the union of the rows ``parts`` were tallied from."""

    def cat(name: str) -> pd.DataFrame:
        frames = [getattr(p, name) for p in parts if len(getattr(p, name))]
        return pd.concat(frames, ignore_index=True) if frames else getattr(parts[0], name)

    op, dau, app, first, gf, days = (
        cat(n)
        for n in ("op_totals", "dau_totals", "app_errors", "first_limit", "gf_by_day", "days")
    )
    op_keys = ["replication", "month", "edition", "op", "error_code", "reason"]
    if len(op):
        op = op.groupby(op_keys, dropna=False, as_index=False, observed=True)["n"].sum()
    if len(dau):
        dau = dau.groupby(["replication", "month", "edition"], dropna=False, as_index=False)[
            ["dau", "dau_refused"]
        ].sum()
    if len(app):
        app = app.groupby(
            ["replication", "app", "activity", "error_code"], as_index=False, observed=True
        )["n"].sum()
    if len(first):
        first = first.sort_values(["date", "error_code"]).drop_duplicates(["replication", "app"])
        first = first.sort_values(["replication", "app"], ignore_index=True)
    if len(gf):
        gf = gf.groupby(["replication", "date"], as_index=False)[list(GF_COLUMNS)].sum()
    if len(days):
        days = days.drop_duplicates().sort_values("date", ignore_index=True)
    return Tallies(op, dau, app, first, gf, days)
