"""Bills under prices that change at dates: a schedule of catalogs, with grandfathering.

A :class:`PriceChange` puts a catalog in force from a local midnight (``at``); with
``grandfather_months`` N, an app in a postpaid state at that instant keeps the prices before
the change for N more months (until the same day N months later, R11's month arithmetic).
Only prices may differ between the catalogs of a schedule (the limits and editions are the
same; the scenario loader checks it).

How: each app's timeline is cut at the instants its prices change (its own, when
grandfathered), and each period is billed by :func:`sim.billing.bill` with the catalog in force
in it -- so a month cut at a change date is prorated exactly, in integers, on each side of the
cut by the rules of its proration policy (R6), and the month has one line per period and item
(``15 day`` at the old price, ``16 day`` at the new). A prepaid purchase is charged at the
prices in force at its instant (R11). A month's overage line is billed once, at the prices in
force at the month's end. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from sim.billing.bills import BILL_COLUMNS, bill
from sim.core import calendar
from sim.core.catalog import Catalog

_SORT = ["app", "month", "kind", "item", "option"]


@dataclass(frozen=True)
class PriceChange:
    """``catalog`` in force from ``at`` (a local midnight, tz-aware); postpaid apps then keep
    the previous prices for ``grandfather_months`` months."""

    at: pd.Timestamp
    catalog: Catalog
    grandfather_months: int = 0


def _instants(
    timeline: pd.DataFrame, changes: Sequence[PriceChange], tz: str
) -> dict[str, tuple[int, ...]]:
    """Per app, the instants (ns) its prices change, one per change (grandfathered ones later)."""
    apps = pd.unique(timeline["app"]).tolist()
    out: dict[str, list[int]] = {a: [] for a in apps}
    start = pd.to_datetime(timeline["start"], utc=True)
    end = pd.to_datetime(timeline["end"], utc=True)
    postpaid = timeline["state"].astype(str).str.endswith("-postpaid")
    for ch in changes:
        at = pd.Timestamp(ch.at).tz_convert(tz)
        at_ns = int(at.value)
        kept: set[str] = set()
        if ch.grandfather_months > 0:
            live = postpaid & (start <= at) & (end.isna() | (end > at))
            kept = set(timeline.loc[live, "app"].tolist())
        later = (
            calendar.add_months_anchor(at_ns, ch.grandfather_months, ZoneInfo(tz))
            if kept
            else at_ns
        )
        for a in apps:
            out[a].append(later if a in kept else at_ns)
    return {a: tuple(v) for a, v in out.items()}


def _clip(timeline: pd.DataFrame, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.DataFrame:
    """The intervals of ``timeline`` cut to ``[lo, hi)`` (None: open)."""
    tl = timeline.copy()
    start = pd.to_datetime(tl["start"], utc=True)
    end = pd.to_datetime(tl["end"], utc=True)
    keep = pd.Series(True, index=tl.index)
    if hi is not None:
        keep &= start < hi
        end = end.where(end.notna() & (end < hi), hi)
    if lo is not None:
        keep &= end.isna() | (end > lo)
        start = start.where(start >= lo, lo)
    tl["start"], tl["end"] = start, end
    return tl[keep].reset_index(drop=True)


def _in(times: pd.Series, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> pd.Series:
    t = pd.to_datetime(times, utc=True)
    ok = pd.Series(True, index=times.index)
    if lo is not None:
        ok &= t >= lo
    if hi is not None:
        ok &= t < hi
    return ok


def _month_label(ts: pd.Timestamp) -> str:
    return f"{ts.year:04d}-{ts.month:02d}"


def _period(
    timeline: pd.DataFrame,
    purchases: pd.DataFrame | None,
    usage: pd.DataFrame | None,
    catalog: Catalog,
    bounds: tuple[pd.Timestamp | None, pd.Timestamp | None],
    until: pd.Timestamp | None,
    policy: str | None,
) -> pd.DataFrame:
    """The lines of one period ``[lo, hi)`` of some apps, at ``catalog``'s prices; overage
    lines only of the months that end in the period."""
    lo, hi = bounds
    pu = None if purchases is None else purchases[_in(purchases["time"], lo, hi)]
    stop = hi if hi is not None and (until is None or hi < until) else until
    tl = _clip(timeline, lo, hi)
    lines = bill(tl, catalog, purchases=pu, usage=usage, until=stop, policy=policy)
    over = lines["kind"].astype(str) == "overage"
    if over.any():
        month = pd.PeriodIndex(lines.loc[over, "month"].astype(str), freq="M")
        ends = month.to_timestamp(how="start") + pd.offsets.MonthBegin(1)
        ends = ends.tz_localize(catalog.timezone)
        ok = pd.Series(True, index=ends)
        if lo is not None:
            ok &= ends > lo
        if hi is not None:
            ok &= ends <= hi
        keep = over.copy()
        keep[over] = ok.to_numpy()
        lines = lines[~over | keep]
    return lines


def bill_schedule(
    timeline: pd.DataFrame,
    catalog: Catalog,
    changes: Sequence[PriceChange],
    *,
    purchases: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    until: pd.Timestamp | None = None,
    policy: str | None = None,
) -> pd.DataFrame:
    """Bill lines (:data:`~sim.billing.bills.BILL_COLUMNS`) under ``catalog`` until the first
    change and each change's catalog from its instant (per app: later when grandfathered);
    the same arguments as :func:`sim.billing.bill` otherwise (R6, R7, R11, R14). Amounts in
    the currency's minor unit, exact integers per line; lines sorted by (app, month, kind,
    item, option), the earlier period first."""
    if not changes:
        return bill(timeline, catalog, purchases=purchases, usage=usage, until=until, policy=policy)
    tz = catalog.timezone
    per_app = _instants(timeline, changes, tz)
    groups: dict[tuple[int, ...], list[str]] = {}
    for app, instants in per_app.items():
        groups.setdefault(instants, []).append(app)
    catalogs = [catalog, *(c.catalog for c in changes)]
    parts = []
    for instants, apps in groups.items():
        cuts = [
            None,
            *(pd.Timestamp(t, unit="ns", tz="UTC").tz_convert(tz) for t in instants),
            None,
        ]
        tl = timeline[timeline["app"].isin(apps)]
        pu = None if purchases is None else purchases[purchases["app"].isin(apps)]
        us = None if usage is None else usage[usage["app"].isin(apps)]
        for k, cat in enumerate(catalogs):
            parts.append(_period(tl, pu, us, cat, (cuts[k], cuts[k + 1]), until, policy))
    lines = pd.concat(parts, ignore_index=True)
    return lines.sort_values(_SORT, kind="stable", ignore_index=True)[BILL_COLUMNS]
