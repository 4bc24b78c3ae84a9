"""Calendar arrays of the billing: instants as int64 nanoseconds (UTC epoch), month indices
(``year * 12 + month - 1``) and local day numbers (days since 1970-01-01 on the catalog's wall
clock), computed column-wise. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from sim.core import calendar
from sim.core.vocab import NS_PER_DAY

DAY_NS = NS_PER_DAY
"""Nanoseconds in a day of wall-clock time."""
NAT = np.iinfo(np.int64).min
"""An empty instant (NaT) as int64."""
EPOCH_MONTH = 1970 * 12  # month index of 1970-01
MONTH_BITS = 20  # (app code << MONTH_BITS) | month index: one int64 key per (app, month)


def to_ns(values: object, tz: str) -> np.ndarray:
    """Instants (int ns, UTC epoch; NaT → min int64) of a column; naive values are wall time in tz."""
    s = pd.Series(values)
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError):  # mixed UTC offsets (a DST zone written as text)
            s = pd.to_datetime(s, utc=True)
    if s.dt.tz is None:
        s = s.dt.tz_localize(tz, nonexistent="shift_forward")
    out: np.ndarray = (
        s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    )
    return out


def local_ns(t_ns: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock time in tz of instants, as ns since 1970-01-01 00:00 on that wall clock."""
    idx = pd.DatetimeIndex(np.asarray(t_ns, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")
    out: np.ndarray = idx.tz_convert(tz).tz_localize(None).to_numpy("datetime64[ns]").view(np.int64)
    return out


def month_of_local(wall_ns: np.ndarray) -> np.ndarray:
    """Month index (year × 12 + month - 1) of wall-clock times (ns), looked up in a table of the
    days spanned (much faster than numpy's calendar conversion of every value)."""
    days = wall_ns // DAY_NS
    if len(days) == 0:
        return days
    ends = np.array([days.min(), days.max()]).astype("M8[D]").astype("M8[M]").astype(np.int64)
    index = np.arange(ends[0], ends[1] + 2)
    firsts = index.astype("M8[M]").astype("M8[D]").astype(np.int64)
    low = days.min()
    by_day = np.repeat(index[:-1], np.diff(np.clip(firsts, low, days.max() + 1)).astype(np.int64))
    out: np.ndarray = by_day[days - low] + EPOCH_MONTH
    return out


def bill_days(month: np.ndarray, bill_day: int) -> np.ndarray:
    """Day number (days since 1970-01-01) of day ``bill_day`` of the month after each month (R7)."""
    if len(month) == 0:
        return month
    low = int(month.min())
    span = np.arange(low + 1, int(month.max()) + 2) - EPOCH_MONTH
    first_days = span.astype("M8[M]").astype("M8[D]").astype(np.int64)
    out: np.ndarray = (first_days + (bill_day - 1))[month - low]
    return out


def date_labels(values: np.ndarray, unit: str) -> pd.api.extensions.ExtensionArray:
    """Strings of month indices (``unit='M'``: 'YYYY-MM') or day numbers ('D': 'YYYY-MM-DD'),
    formatted once per distinct value."""
    if len(values) == 0:
        return pd.array([], dtype="str")
    low = int(values.min())
    span = np.arange(low, int(values.max()) + 1) - (EPOCH_MONTH if unit == "M" else 0)
    return pd.array(span.astype(f"M8[{unit}]").astype(str), dtype="str").take(values - low)


@dataclass(frozen=True)
class Months:
    """Boundaries of consecutive calendar months ``first .. first + n - 1`` in the catalog tz."""

    tz: str
    first: int
    start_ns: np.ndarray  # n + 1 instants (UTC ns) of 00:00 on the 1st
    start_day: np.ndarray  # n + 1 local day numbers (days since 1970-01-01) of the same 1sts

    @classmethod
    def spanning(cls, first: int, last: int, tz: str) -> Months:
        idx = np.arange(first, max(first, last) + 2, dtype=np.int64)
        zone = ZoneInfo(tz)
        start_ns = np.array([calendar.month_start(int(i), zone) for i in idx], dtype=np.int64)
        start_day = (idx - EPOCH_MONTH).astype("M8[M]").astype("M8[D]").astype(np.int64)
        return cls(tz, first, start_ns, start_day)
