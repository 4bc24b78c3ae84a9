"""Bills: a timeline of app states, prepaid purchases and daily usage in, bill lines out.

Units, stated once: instants are int nanoseconds since the Unix epoch (UTC) inside this module
and tz-aware timestamps at its edges; months and days are calendar months and days in the
catalog's time zone (``catalog.timezone``); money is exact integers in the currency's minor
unit (``amount_minor``, cents for USD) and ``amount`` is the same in the major unit.

Three kinds of line (column ``kind``):

- ``postpaid`` (R6, R7): the edition package and each paid pack (``live_unlimited``,
  ``groups_per_user``, ``members_per_group``) of every interval in a ``*-postpaid`` state whose
  edition is of kind ``postpaid``, charged per calendar month by the proration policy
  (``policy`` or ``catalog.billing.proration``, found in :data:`POLICIES`):

  ``day`` (按天分摊): each calendar day costs price / days-in-month and is charged at the
  configuration in force at the end of that day; an interval ``[s, e)`` owns the days
  ``floor_day(s) .. floor_day(e) - 1``, so of several changes in one day only the last is billed
  and a change at 23:00 bills the whole day at the new configuration. When an interval is
  followed by no billed state (deactivation, R14), ``e`` is first rounded up to the next
  midnight: the day of deactivation is charged at the configuration before it (nothing if the
  deactivation is at 00:00), and nothing after it.
  ``second``: price × seconds in force / seconds in the month (instants truncated to whole
  seconds; a DST month has 1 hour more or less); deactivation ends the charge exactly.
  ``next_month`` (the 2020-2022 rule): a month is charged whole at the configuration in force
  at 00:00 on its 1st, if that is billed; a change takes price effect on the next 1st, a pack
  switched on and off inside one month costs nothing, and — the reading taken here — the month
  of a deactivation is charged whole when the app was billed at 00:00 on its 1st.

  One line per (app, month, item, option); if a catalog priced the same option differently on
  two editions used in one month, each price gets its own line. The line's amount is
  ``round_half_up(price_minor × quantity / units_in_month)`` in integers, once per line. A
  line covering the whole month says ``1 month``; otherwise ``N day`` / ``N second``;
  ``unit_price`` is then the list price per day or second (informative, unrounded) and
  ``price_per_month`` the list price the amount is computed from.
  ``bill_date`` is day ``catalog.billing.bill_day`` of the next month (R7).
- ``prepaid`` (R11): each purchase charges ``prepaid_price_per_month`` and each paid pack
  option (priced like the postpaid option) × ``months``, in full, on the purchase date
  (``bill_date`` = the purchase date, ``month`` = its month).
- ``overage``: for every month in which the app was in a billed postpaid state at any moment,
  the month's peak DAU (``dau_overage``) and peak group count (``groups_overage``) above the
  edition's free quota, per started block (``quantity`` blocks × ``price_per_block``). The
  edition whose quota and prices apply is the last billed postpaid edition in force in that
  month (the one whose interval starts last); ``option`` names it. The peak is over the usage
  rows of the month, whatever the state on that day, except the rows dated after the app's
  deactivation, which are dropped first (R14, :mod:`sim.billing.usage`). Billed like postpaid
  (R7).

Free options (a pack's default, any option priced 0) and IM, Trial and prepaid-Trial states
produce no line. Lines are sorted by (app, month, kind, item, option). Pure: no I/O.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim.billing.arrays import (
    MONTH_BITS,
    NAT,
    Months,
    date_labels,
    local_ns,
    month_of_local,
    to_ns,
)
from sim.billing.lines import (
    KINDS,
    Variants,
    Words,
    overage_lines,
    postpaid_lines,
    prepaid_lines,
    sort_order,
)
from sim.billing.policies import POLICIES
from sim.billing.usage import usage_in_service
from sim.core import calendar
from sim.core.catalog import PACKS, Catalog
from sim.errors import CatalogError, InputError

__all__ = ["BILL_COLUMNS", "POLICIES", "bill"]

BILL_COLUMNS = [
    "app",
    "month",
    "bill_date",
    "item",
    "option",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
    "kind",
    "amount_minor",
    "price_per_month",
]
"""Columns of the bills table, in order (docs/design.md; ``kind`` and the rest extend it)."""

_TIMELINE_COLUMNS = ("app", "start", "end", "state", "edition", *PACKS)
_PURCHASE_COLUMNS = ("app", "time", "edition")
_USAGE_COLUMNS = ("app", "date", "dau", "groups")

# -- inputs and output ----------------------------------------------------------------------------


def _require(df: pd.DataFrame, columns: tuple[str, ...], name: str) -> pd.DataFrame:
    """``df``, checked to have ``columns`` (an empty table may lack them: it gets them)."""
    missing = [c for c in columns if c not in df.columns]
    if missing and len(df) == 0:
        return df.reindex(columns=[*df.columns, *missing])
    if missing:
        raise InputError(
            f"{name} table: missing column(s) {', '.join(missing)}; "
            f"expected at least {', '.join(columns)} (docs/design.md)"
        )
    return df


def _app_codes(columns: list[pd.Series]) -> tuple[list[np.ndarray], np.ndarray]:
    """Codes of each table's app column into one sorted vocabulary of app names (str)."""
    parts = [pd.factorize(c) for c in columns]
    names = [np.asarray(u).astype(str) for _, u in parts]
    vocab = np.unique(np.concatenate(names)) if names else np.zeros(0, str)
    codes = [
        np.searchsorted(vocab, n)[c].astype(np.int64)
        for (c, _), n in zip(parts, names, strict=True)
    ]
    return codes, vocab


def _usage_months(dates: pd.Series, tz: str) -> np.ndarray:
    """Month index of each usage date (a date, a 'YYYY-MM-DD' string or a timestamp)."""
    d = dates if pd.api.types.is_datetime64_any_dtype(dates.dtype) else pd.to_datetime(dates)
    if d.dt.tz is not None:
        d = d.dt.tz_convert(tz).dt.tz_localize(None)
    return month_of_local(d.to_numpy("datetime64[ns]").view(np.int64))


def _billed(
    app: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    timeline: pd.DataFrame,
    catalog: Catalog,
    until: int,
) -> dict[str, np.ndarray]:
    """The intervals billed postpaid (state ``*-postpaid``, edition of kind ``postpaid``),
    sorted by (app, start), with ``end`` clipped at ``until`` and ``stops`` true where billing
    stops at ``end`` (deactivation, R14: no billed interval follows)."""
    order = np.lexsort((start, app))
    app, start, end = app[order], start[order], end[order]
    editions = timeline["edition"].to_numpy()[order]
    st_codes, st_names = pd.factorize(timeline["state"].to_numpy()[order])
    ed_codes, ed_names = pd.factorize(editions)
    is_post = np.array([str(n).endswith("-postpaid") for n in st_names] + [False])[st_codes]
    known = [catalog.editions.get(str(n)) for n in ed_names]
    unknown = np.array([k is None for k in known] + [True])[ed_codes] & is_post
    if unknown.any():
        raise InputError(
            f"timeline table: edition {editions[unknown][0]!r} of a postpaid state is not in "
            f"catalog {catalog.name!r} (known: {', '.join(catalog.editions)})"
        )
    kind_ok = np.array([k is not None and k.kind == "postpaid" for k in known] + [False])
    billed = is_post & kind_ok[ed_codes]
    next_billed = np.r_[billed[1:] & (app[1:] == app[:-1]), False]
    is_open = end == NAT
    stops = ~is_open & ~next_billed & (end <= until)
    end = np.where(is_open, until, np.minimum(end, until))
    keep = billed & (start < until)
    out = {"app": app[keep], "start": start[keep], "end": end[keep], "stops": stops[keep]}
    out["edition"] = np.asarray(ed_names, dtype=object)[ed_codes[keep]]
    for pack in PACKS:
        out[pack] = timeline[pack].to_numpy()[order][keep]
    return out


_PART = {
    "app": np.int64,
    "month": np.int64,
    "bill_day": np.int64,
    "kind": np.int64,
    "item": np.int64,
    "option": np.int64,
    "unit": np.int64,
    "quantity": np.int64,
    "unit_price": float,
    "amount_minor": np.int64,
    "price_per_month": float,
}


def _assemble(
    parts: list[dict[str, np.ndarray]], apps: np.ndarray, words: Words, catalog: Catalog
) -> pd.DataFrame:
    """The bills frame: parts concatenated, sorted by (app, month, kind, item, option)."""
    cols = {k: np.concatenate([np.zeros(0, t)] + [p[k] for p in parts]) for k, t in _PART.items()}
    labels = words.labels()
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.argsort(labels.astype(str), kind="stable")] = np.arange(len(labels))
    keys = [cols["app"], cols["month"], cols["kind"], rank[cols["item"]], rank[cols["option"]]]
    order = sort_order([*keys, cols["bill_day"]])
    cols = {k: v[order] for k, v in cols.items()}
    text = pd.array(labels.astype(str), dtype="str")
    scale = 10**catalog.currency.decimals
    frame = pd.DataFrame(
        {
            "app": pd.array(apps.astype(str), dtype="str").take(cols["app"]),
            "month": date_labels(cols["month"], "M"),
            "bill_date": date_labels(cols["bill_day"], "D"),
            "item": text.take(cols["item"]),
            "option": text.take(cols["option"]),
            "quantity": cols["quantity"],
            "unit": text.take(cols["unit"]),
            "unit_price": cols["unit_price"] / scale,
            "amount": cols["amount_minor"] / scale,
            "currency": pd.array([catalog.currency.code], dtype="str").take(
                np.zeros(len(order), int)
            ),
            "kind": pd.array(KINDS, dtype="str").take(cols["kind"]),
            "amount_minor": cols["amount_minor"],
            "price_per_month": cols["price_per_month"] / scale,
        },
        columns=BILL_COLUMNS,
    )
    return frame


def bill(
    timeline: pd.DataFrame,
    catalog: Catalog,
    *,
    purchases: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    until: pd.Timestamp | None = None,
    policy: str | None = None,
) -> pd.DataFrame:
    """Bill lines of a timeline of app states, prepaid purchases and daily usage.

    See the module docstring for the conventions (R6, R7, R11, R14; ``docs/rules.md``).

    Parameters
    ----------
    timeline : DataFrame
        One row per interval of an app's state: ``app``, ``start``, ``end`` (NaT: open),
        ``state``, ``edition``, ``live_unlimited``, ``groups_per_user``,
        ``members_per_group`` (docs/design.md). Times tz-aware, or naive wall-clock times in
        the catalog's zone.
    catalog : Catalog
        Prices (in ``catalog.currency``, per month), time zone and bill day.
    purchases : DataFrame or None
        Prepaid purchases: ``app``, ``time``, ``edition``, the three packs and ``months``
        (default 1).
    usage : DataFrame or None
        ``app``, ``date``, ``dau``, ``groups``: counts per day.
    until : Timestamp or None
        Billing stops there (exclusive); default 00:00 on the 1st of the month after the
        latest instant of the inputs, in the catalog's zone.
    policy : str or None
        A proration policy of :data:`POLICIES` (default ``catalog.billing.proration``).

    Returns
    -------
    DataFrame
        Columns :data:`BILL_COLUMNS`, one row per (app, month, kind, item, option), sorted so:
        ``amount`` and ``unit_price`` in the currency's major unit, ``amount_minor`` exact in
        its minor unit (cents for USD), ``quantity`` in ``unit`` (``month``, ``day``,
        ``second`` or ``block``), ``month`` as ``YYYY-MM``, ``bill_date`` as ``YYYY-MM-DD``.

    Raises
    ------
    InputError
        A table lacks a column, has an empty time, or names an edition the catalog lacks.
    CatalogError
        An unknown policy, or a prepaid package the catalog gives no price for.
    """
    policy = _policy(catalog, policy)
    tz = catalog.timezone
    timeline = _require(timeline, _TIMELINE_COLUMNS, "timeline")
    purchases = _require(
        pd.DataFrame() if purchases is None else purchases, _PURCHASE_COLUMNS, "purchases"
    )
    usage = _require(pd.DataFrame() if usage is None else usage, _USAGE_COLUMNS, "usage")
    usage, _ = usage_in_service(usage, timeline, tz)  # R14: none after deactivation

    codes, apps = _app_codes([timeline["app"], purchases["app"], usage["app"]])
    start, end = to_ns(timeline["start"], tz), to_ns(timeline["end"], tz)
    bought = to_ns(purchases["time"], tz)
    _require_times(("timeline", "start", start), ("purchases", "time", bought))
    used = _usage_months(usage["date"], tz)
    if until is None:
        until_ns = _default_until(np.concatenate([start, end[end != NAT], bought]), used, tz)
    else:
        until_ns = int(to_ns([until], tz)[0])

    words = Words()
    variants, parts = Variants(words), []
    tl = _billed(codes[0], start, end, timeline, catalog, until_ns)
    if len(tl["app"]):
        months = _billed_months(tl["start"], until_ns, tz)
        parts.append(postpaid_lines(tl, catalog, policy, until_ns, months, variants))
        if len(usage):
            use = _usage_arrays(usage, codes[2], used)
            parts.append(overage_lines(tl, use, catalog, months, words))
    if len(purchases):
        pu = _purchase_arrays(purchases, codes[1], bought)
        parts.append(prepaid_lines(pu, catalog, variants))
    return _assemble(parts, apps, words, catalog)


def _policy(catalog: Catalog, policy: str | None) -> str:
    """``policy``, or the catalog's when None; :class:`CatalogError` if it is unknown."""
    policy = catalog.billing.proration if policy is None else policy
    if policy not in POLICIES:
        raise CatalogError(f"billing policy {policy!r} is unknown; allowed: {', '.join(POLICIES)}")
    return policy


def _billed_months(start: np.ndarray, until_ns: int, tz: str) -> Months:
    """The months (zone ``tz``) from the earliest billed ``start`` (ns) to ``until_ns`` (excl.)."""
    first = int(month_of_local(local_ns(start[[start.argmin()]], tz))[0])
    last = int(month_of_local(local_ns(np.array([until_ns - 1]), tz))[0])
    return Months.spanning(first, last, tz)


def _require_times(*columns: tuple[str, str, np.ndarray]) -> None:
    """Raise :class:`InputError` on the first empty time of each (table, column, ns) given."""
    for name, col, values in columns:
        if (values == NAT).any():
            row = int(np.flatnonzero(values == NAT)[0]) + 1
            raise InputError(f"{name} table: row {row}: column {col!r} is empty; expected a time")


def _default_until(instants: np.ndarray, used: np.ndarray, tz: str) -> int:
    """00:00 (ns) on the 1st of the month after the latest of ``instants`` (ns) and usage
    months ``used`` in zone ``tz``; 0 when there are none."""
    seen = np.concatenate([month_of_local(local_ns(instants, tz)), used])
    return calendar.month_start(int(seen.max()) + 1, ZoneInfo(tz)) if len(seen) else 0


def _usage_arrays(usage: pd.DataFrame, app: np.ndarray, used: np.ndarray) -> dict[str, np.ndarray]:
    """The usage table as ``overage_lines`` takes it: (app code, month) ``key``, counts per day."""
    return {
        "key": (app << MONTH_BITS) | used,
        "dau": pd.to_numeric(usage["dau"]).fillna(0).to_numpy(np.int64),
        "groups": pd.to_numeric(usage["groups"]).fillna(0).to_numpy(np.int64),
    }


def _purchase_arrays(
    purchases: pd.DataFrame, app: np.ndarray, bought: np.ndarray
) -> dict[str, np.ndarray]:
    """The purchases as ``prepaid_lines`` takes them: absent pack columns as None, ``months``
    defaulting to 1."""
    pu = {"app": app, "time": bought, "edition": purchases["edition"].to_numpy()}
    for pack in PACKS:
        pu[pack] = purchases[pack].to_numpy() if pack in purchases else np.full(len(bought), None)
    n_months = purchases["months"] if "months" in purchases else pd.Series(1, index=purchases.index)
    pu["months"] = pd.to_numeric(n_months).fillna(1).to_numpy(np.int64)
    return pu
