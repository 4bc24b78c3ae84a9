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

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim.billing.usage import usage_in_service
from sim.core import calendar
from sim.core.catalog import PACKS, Catalog
from sim.errors import CatalogError, InputError

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
DAY_NS = 86_400 * calendar.NS_PER_SECOND
_NAT = np.iinfo(np.int64).min
_EPOCH_MONTH = 1970 * 12  # month index of 1970-01
_MONTH_BITS = 20  # (app code << _MONTH_BITS) | month index: one int64 key per (app, month)


# -- calendar arrays ----------------------------------------------------------------------------


def _to_ns(values: object, tz: str) -> np.ndarray:
    """Instants (int ns, UTC epoch; NaT → min int64) of a column; naive values are wall time in tz."""
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError):  # mixed UTC offsets (a DST zone written as text)
            s = pd.to_datetime(s, utc=True)
    if s.dt.tz is None:
        s = s.dt.tz_localize(tz, nonexistent="shift_forward")
    return s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)


def _local_ns(t_ns: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock time in tz of instants, as ns since 1970-01-01 00:00 on that wall clock."""
    idx = pd.DatetimeIndex(np.asarray(t_ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")
    return idx.tz_convert(tz).tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)


def _month_of_local(local_ns: np.ndarray) -> np.ndarray:
    """Month index (year × 12 + month - 1) of wall-clock times (ns), looked up in a table of the
    days spanned (much faster than numpy's calendar conversion of every value)."""
    days = local_ns // DAY_NS
    if len(days) == 0:
        return days
    ends = np.array([days.min(), days.max()]).astype("M8[D]").astype("M8[M]").astype(np.int64)
    index = np.arange(ends[0], ends[1] + 2)
    firsts = index.astype("M8[M]").astype("M8[D]").astype(np.int64)
    low = days.min()
    by_day = np.repeat(index[:-1], np.diff(np.clip(firsts, low, days.max() + 1)))
    return by_day[days - low] + _EPOCH_MONTH


def _bill_days(month: np.ndarray, bill_day: int) -> np.ndarray:
    """Day number (days since 1970-01-01) of day ``bill_day`` of the month after each month (R7)."""
    if len(month) == 0:
        return month
    low = int(month.min())
    span = np.arange(low + 1, int(month.max()) + 2) - _EPOCH_MONTH
    return (span.astype("M8[M]").astype("M8[D]").astype(np.int64) + (bill_day - 1))[month - low]


def _labels(values: np.ndarray, unit: str) -> pd.api.extensions.ExtensionArray:
    """Strings of month indices (``unit='M'``: 'YYYY-MM') or day numbers ('D': 'YYYY-MM-DD'),
    formatted once per distinct value."""
    if len(values) == 0:
        return pd.array([], dtype="str")
    low = int(values.min())
    span = np.arange(low, int(values.max()) + 1) - (_EPOCH_MONTH if unit == "M" else 0)
    return pd.array(span.astype(f"M8[{unit}]").astype(str), dtype="str").take(values - low)


@dataclass(frozen=True)
class _Months:
    """Boundaries of consecutive calendar months ``first .. first + n - 1`` in the catalog tz."""

    tz: str
    first: int
    start_ns: np.ndarray  # n + 1 instants (UTC ns) of 00:00 on the 1st
    start_day: np.ndarray  # n + 1 local day numbers (days since 1970-01-01) of the same 1sts

    @classmethod
    def spanning(cls, first: int, last: int, tz: str) -> _Months:
        idx = np.arange(first, max(first, last) + 2, dtype=np.int64)
        zone = ZoneInfo(tz)
        start_ns = np.array([calendar.month_start(int(i), zone) for i in idx], dtype=np.int64)
        start_day = (idx - _EPOCH_MONTH).astype("M8[M]").astype("M8[D]").astype(np.int64)
        return cls(tz, first, start_ns, start_day)


# -- proration policies (R6): an interval as [lo, hi) in a unit, and the month bounds in it -----

Units = tuple[np.ndarray, np.ndarray, np.ndarray]


def _day_units(s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: _Months) -> Units:
    """Local day numbers owned: ``floor_day(s) .. floor_day(e) - 1``; ``e`` rounded up to the
    next midnight where billing stops (deactivation, R14); never past ``floor_day(until)``."""
    ls, le = _local_ns(s, m.tz), _local_ns(e, m.tz)
    hi = le // DAY_NS + (stops & (le % DAY_NS != 0))
    hi = np.minimum(hi, _local_ns(np.array([until]), m.tz)[0] // DAY_NS)
    return ls // DAY_NS, hi, m.start_day


def _second_units(s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: _Months) -> Units:
    """Whole seconds since the epoch; deactivation ends the charge exactly."""
    ns = calendar.NS_PER_SECOND
    return s // ns, e // ns, m.start_ns // ns


def _next_month_units(
    s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: _Months
) -> Units:
    """Positions of the months whose 00:00 on the 1st lies in ``[s, e)``: each is one unit."""
    pos = np.arange(len(m.start_ns), dtype=np.int64)
    lo = np.searchsorted(m.start_ns, s, "left")
    return lo, np.searchsorted(m.start_ns, e, "left"), pos


POLICIES: dict[str, tuple[Callable[..., Units], str]] = {
    "day": (_day_units, "day"),
    "second": (_second_units, "second"),
    "next_month": (_next_month_units, "month"),
}
"""Proration policy name → (interval → units function, unit name)."""


def _explode(lo: np.ndarray, hi: np.ndarray, bounds: np.ndarray) -> Units:
    """Cut each ``[lo, hi)`` at the month ``bounds``: (row, month position, quantity) per piece."""
    first = np.searchsorted(bounds, lo, "right") - 1
    last = np.searchsorted(bounds, hi - 1, "right") - 1
    count = np.where(hi > lo, last - first + 1, 0)
    row = np.repeat(np.arange(len(lo)), count)
    pos = first[row] + np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    qty = np.minimum(hi[row], bounds[pos + 1]) - np.maximum(lo[row], bounds[pos])
    return row, pos, qty


# -- items: which paid items a row of configuration carries (R2, R4) ---------------------------

KINDS = ("overage", "postpaid", "prepaid")
"""Kinds of bill line, in sort order."""


class _Words:
    """The strings of the output's item, option and unit columns, each coded by a small int."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def __call__(self, word: str) -> int:
        return self.codes.setdefault(word, len(self.codes))

    def labels(self) -> np.ndarray:
        return np.array(list(self.codes), dtype=object)


class _Variants:
    """The distinct paid (item, option, price_minor) triples met, each coded by a small int."""

    def __init__(self, words: _Words) -> None:
        self.words = words
        self.keys: dict[tuple[int, int, int], int] = {}

    def code(self, item: str, option: str, price_minor: int) -> int:
        """The code of a paid item; -1 for a free one (no line)."""
        if price_minor <= 0:
            return -1
        key = (self.words(item), self.words(option), price_minor)
        return self.keys.setdefault(key, len(self.keys))

    def lines(self, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Item and option word codes and price_minor of each variant code in ``var``."""
        table = np.array([*self.keys], dtype=np.int64).reshape(-1, 3)
        return table[var, 0], table[var, 1], table[var, 2]


def _item_codes(
    catalog: Catalog,
    editions: np.ndarray,
    packs: dict[str, np.ndarray],
    edition_price: Callable[[str], Decimal],
    variants: _Variants,
) -> np.ndarray:
    """Variant codes, shape (rows, 1 + len(PACKS)): the edition package, then each pack; -1
    where the item is free (a default option or any option priced 0, R3/R4) or missing."""
    ed_codes, ed_names = pd.factorize(editions)
    out = np.full((len(editions), 1 + len(PACKS)), -1, dtype=np.int64)
    lut = [variants.code("edition", n, catalog.to_minor(edition_price(n))) for n in ed_names]
    out[:, 0] = np.array([*lut, -1], dtype=np.int64)[ed_codes]
    for col, pack in enumerate(PACKS, start=1):
        v_codes, v_names = pd.factorize(packs[pack])
        width = len(v_names) + 1
        uniq, inv = np.unique(ed_codes * width + v_codes + 1, return_inverse=True)
        lut = []
        for combo in uniq.tolist():
            ed, vi = combo // width, combo % width - 1
            if ed < 0 or vi < 0:
                lut.append(-1)
                continue
            value = bool(v_names[vi]) if pack == "live_unlimited" else int(v_names[vi])
            price = catalog.to_minor(catalog.option_price(ed_names[ed], pack, value))
            label = "unlimited" if pack == "live_unlimited" else str(value)
            lut.append(variants.code(pack, label, price))
        out[:, col] = np.array(lut, dtype=np.int64)[inv]
    return out


# -- the three kinds of line ---------------------------------------------------------------------


def _reduce(key: np.ndarray, *values: np.ndarray, ufunc: np.ufunc = np.add) -> list[np.ndarray]:
    """Distinct keys (sorted), then ``ufunc`` reduced over each of ``values`` per key."""
    if len(key) == 0:
        return [key, *values]
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    return [ks[starts], *(ufunc.reduceat(v[order], starts) for v in values)]


def _sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """Stable order by int ``keys`` (most significant first), via one mixed-radix key if it fits."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    composite, total = np.zeros(len(keys[0]), dtype=np.int64), 1
    for k in keys:
        low, span = int(k.min()), int(k.max() - k.min()) + 1
        if total * span >= 2**62:
            return np.lexsort(keys[::-1])
        composite, total = composite * span + (k - low), total * span
    return np.argsort(composite, kind="stable")


def _postpaid(
    tl: dict[str, np.ndarray],
    catalog: Catalog,
    policy: str,
    until: int,
    months: _Months,
    variants: _Variants,
) -> dict[str, np.ndarray]:
    """Postpaid lines (R6, R7) of the billed intervals ``tl`` (already clipped at ``until``)."""
    to_units, unit = POLICIES[policy]
    lo, hi, bounds = to_units(tl["start"], tl["end"], tl["stops"], until, months)
    row, pos, qty = _explode(lo, hi, bounds)
    codes = _item_codes(
        catalog, tl["edition"], tl, lambda n: catalog.editions[n].price_per_month, variants
    )
    n_var, n_months = max(len(variants.keys), 1), len(bounds) - 1
    var = codes[row].ravel()
    paid = var >= 0
    piece = np.repeat(np.arange(len(row)), codes.shape[1])[paid]
    key = (tl["app"][row][piece] * n_months + pos[piece]) * n_var + var[paid]
    key, total = _reduce(key, qty[piece])
    var, pos, app = key % n_var, key // n_var % n_months, key // (n_var * n_months)
    item, option, price = variants.lines(var)
    per_month = np.diff(bounds)[pos]
    whole = total == per_month
    month = months.first + pos
    return {
        "item": item,
        "option": option,
        "app": app,
        "month": month,
        "bill_day": _bill_days(month, catalog.billing.bill_day),
        "kind": np.full(len(app), KINDS.index("postpaid")),
        "quantity": np.where(whole, 1, total),
        "unit": np.where(whole, variants.words("month"), variants.words(unit)),
        "unit_price": np.where(whole, price, price / per_month),
        "amount_minor": (2 * price * total + per_month) // (2 * per_month),
        "price_per_month": price.astype(float),
    }


def _overage(
    tl: dict[str, np.ndarray],
    usage: dict[str, np.ndarray],
    catalog: Catalog,
    months: _Months,
    words: _Words,
) -> dict[str, np.ndarray]:
    """Overage lines: the month's peak DAU and peak groups above the free quota of the last
    billed postpaid edition in force in that month, per started block (R7 bill date)."""
    row, pos, _ = _explode(tl["start"], tl["end"], months.start_ns)
    key = (tl["app"][row] << _MONTH_BITS) | (months.first + pos)
    order = np.lexsort((tl["start"][row], key))  # by (app, month), then interval start
    ks = key[order]
    last = np.r_[ks[1:] != ks[:-1], True] if len(ks) else np.zeros(0, bool)
    month_key, ed_of = ks[last], tl["edition"][row[order][last]]
    used_key, dau, groups = _reduce(usage["key"], usage["dau"], usage["groups"], ufunc=np.maximum)
    at = np.minimum(np.searchsorted(used_key, month_key), max(len(used_key) - 1, 0))
    found = used_key[at] == month_key if len(used_key) else np.zeros(len(month_key), bool)
    month_key, ed_of, at = month_key[found], ed_of[found], at[found]
    peaks = {"dau": dau[at], "groups": groups[at]}
    ed_codes, ed_names = pd.factorize(ed_of)
    ed_word = np.array([words(str(n)) for n in ed_names] + [-1], dtype=np.int64)[ed_codes]
    parts = []
    for metric in ("dau", "groups"):
        blocks = [getattr(catalog.editions[n].overage, metric) for n in ed_names]
        free = np.array([b.free if b else 0 for b in blocks] + [0], dtype=np.int64)[ed_codes]
        size = np.array([b.block_size if b else 1 for b in blocks] + [1], dtype=np.int64)
        price = [catalog.to_minor(b.price_per_block) if b else 0 for b in blocks]
        price = np.array([*price, 0], dtype=np.int64)[ed_codes]
        n_blocks = -(-np.maximum(peaks[metric] - free, 0) // size[ed_codes])
        hit = (n_blocks > 0) & (price > 0)
        month = month_key[hit] & ((1 << _MONTH_BITS) - 1)
        n = int(hit.sum())
        parts.append(
            {
                "app": month_key[hit] >> _MONTH_BITS,
                "month": month,
                "bill_day": _bill_days(month, catalog.billing.bill_day),
                "kind": np.full(n, KINDS.index("overage")),
                "item": np.full(n, words(f"{metric}_overage")),
                "option": ed_word[hit],
                "quantity": n_blocks[hit],
                "unit": np.full(n, words("block")),
                "unit_price": price[hit].astype(float),
                "amount_minor": n_blocks[hit] * price[hit],
                "price_per_month": np.full(n, np.nan),
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _prepaid(
    pu: dict[str, np.ndarray], catalog: Catalog, variants: _Variants
) -> dict[str, np.ndarray]:
    """Prepaid lines (R11): package and paid packs × months, in full on the purchase date."""

    def price(name: str) -> Decimal:
        edition = catalog.editions.get(name)
        if edition is None:
            known = ", ".join(catalog.editions)
            raise InputError(
                f"purchases table: edition {name!r} is not in catalog {catalog.name!r} ({known})"
            )
        if edition.prepaid_price_per_month is None and edition.kind == "postpaid":
            raise CatalogError(
                f"catalog {catalog.name!r}: field 'editions.{name}.prepaid_price_per_month': "
                f"not set, but a prepaid {name} package was bought (R11)"
            )
        return edition.prepaid_price_per_month or Decimal(0)

    local = _local_ns(pu["time"], catalog.timezone)
    codes = _item_codes(catalog, pu["edition"], pu, price, variants)
    var = codes.ravel()
    row = np.repeat(np.arange(len(codes)), codes.shape[1])[var >= 0]
    item, option, price_minor = variants.lines(var[var >= 0])
    bought = pu["months"][row]
    return {
        "item": item,
        "option": option,
        "app": pu["app"][row],
        "month": _month_of_local(local)[row],
        "bill_day": (local // DAY_NS)[row],
        "kind": np.full(len(row), KINDS.index("prepaid")),
        "quantity": bought,
        "unit": np.full(len(row), variants.words("month")),
        "unit_price": price_minor.astype(float),
        "amount_minor": price_minor * bought,
        "price_per_month": price_minor.astype(float),
    }


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
    return _month_of_local(d.to_numpy("datetime64[ns]").view(np.int64))


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
    is_open = end == _NAT
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
    parts: list[dict[str, np.ndarray]], apps: np.ndarray, words: _Words, catalog: Catalog
) -> pd.DataFrame:
    """The bills frame: parts concatenated, sorted by (app, month, kind, item, option)."""
    cols = {k: np.concatenate([np.zeros(0, t)] + [p[k] for p in parts]) for k, t in _PART.items()}
    labels = words.labels()
    rank = np.empty(len(labels), dtype=np.int64)
    rank[np.argsort(labels.astype(str), kind="stable")] = np.arange(len(labels))
    keys = [cols["app"], cols["month"], cols["kind"], rank[cols["item"]], rank[cols["option"]]]
    order = _sort_order([*keys, cols["bill_day"]])
    cols = {k: v[order] for k, v in cols.items()}
    text = pd.array(labels.astype(str), dtype="str")
    scale = 10**catalog.currency.decimals
    frame = pd.DataFrame(
        {
            "app": pd.array(apps.astype(str), dtype="str").take(cols["app"]),
            "month": _labels(cols["month"], "M"),
            "bill_date": _labels(cols["bill_day"], "D"),
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
    """Bill lines (columns :data:`BILL_COLUMNS`) of a timeline, purchases and daily usage.

    ``timeline``: app, start, end (NaT: open), state, edition, live_unlimited, groups_per_user,
    members_per_group (docs/design.md). ``purchases``: app, time, edition, the three packs and
    months (default 1). ``usage``: app, date, dau, groups (counts per day). ``until``: billing
    stops there (exclusive); default 00:00 on the 1st of the month after the latest instant of
    the inputs, in the catalog's zone. ``policy``: one of :data:`POLICIES` (default
    ``catalog.billing.proration``). Amounts in ``catalog.currency``; see the module docstring
    for the conventions (R6, R7, R11, R14).
    """
    policy = catalog.billing.proration if policy is None else policy
    if policy not in POLICIES:
        raise CatalogError(f"billing policy {policy!r} is unknown; allowed: {', '.join(POLICIES)}")
    tz = catalog.timezone
    timeline = _require(timeline, _TIMELINE_COLUMNS, "timeline")
    purchases = _require(
        pd.DataFrame() if purchases is None else purchases, _PURCHASE_COLUMNS, "purchases"
    )
    usage = _require(pd.DataFrame() if usage is None else usage, _USAGE_COLUMNS, "usage")
    usage, _ = usage_in_service(usage, timeline, tz)  # R14: none after deactivation

    codes, apps = _app_codes([timeline["app"], purchases["app"], usage["app"]])
    start, end = _to_ns(timeline["start"], tz), _to_ns(timeline["end"], tz)
    bought = _to_ns(purchases["time"], tz)
    for name, col, values in (("timeline", "start", start), ("purchases", "time", bought)):
        if (values == _NAT).any():
            row = int(np.flatnonzero(values == _NAT)[0]) + 1
            raise InputError(f"{name} table: row {row}: column {col!r} is empty; expected a time")
    used = _usage_months(usage["date"], tz)
    if until is None:
        instants = np.concatenate([start, end[end != _NAT], bought])
        seen = np.concatenate([_month_of_local(_local_ns(instants, tz)), used])
        until_ns = calendar.month_start(int(seen.max()) + 1, ZoneInfo(tz)) if len(seen) else 0
    else:
        until_ns = int(_to_ns([until], tz)[0])

    words = _Words()
    variants, parts = _Variants(words), []
    tl = _billed(codes[0], start, end, timeline, catalog, until_ns)
    if len(tl["app"]):
        first = int(_month_of_local(_local_ns(tl["start"][[tl["start"].argmin()]], tz))[0])
        last = int(_month_of_local(_local_ns(np.array([until_ns - 1]), tz))[0])
        months = _Months.spanning(first, last, tz)
        parts.append(_postpaid(tl, catalog, policy, until_ns, months, variants))
        if len(usage):
            use = {
                "key": (codes[2] << _MONTH_BITS) | used,
                "dau": pd.to_numeric(usage["dau"]).fillna(0).to_numpy(np.int64),
                "groups": pd.to_numeric(usage["groups"]).fillna(0).to_numpy(np.int64),
            }
            parts.append(_overage(tl, use, catalog, months, words))
    if len(purchases):
        pu = {"app": codes[1], "time": bought, "edition": purchases["edition"].to_numpy()}
        for pack in PACKS:
            pu[pack] = (
                purchases[pack].to_numpy() if pack in purchases else np.full(len(bought), None)
            )
        n_months = (
            purchases["months"] if "months" in purchases else pd.Series(1, index=purchases.index)
        )
        pu["months"] = pd.to_numeric(n_months).fillna(1).to_numpy(np.int64)
        parts.append(_prepaid(pu, catalog, variants))
    return _assemble(parts, apps, words, catalog)
