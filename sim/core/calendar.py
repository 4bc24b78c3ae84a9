"""Calendar questions in the catalog's time zone, for instants given as int nanoseconds (UTC epoch).

Months are numbered ``year * 12 + (month - 1)`` ("month index") so that consecutive months are
consecutive integers. Pure functions: no I/O.
"""

from __future__ import annotations

import datetime as dt

from sim.core.vocab import NS_PER_SECOND, SECONDS_PER_DAY

__all__ = [
    "NS_PER_SECOND",
    "add_months_anchor",
    "local_midnight",
    "month_index",
    "month_label",
    "month_start",
    "to_datetime",
    "to_ns",
]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def to_datetime(t_ns: int, tz: dt.tzinfo) -> dt.datetime:
    """The local wall-clock time of an instant (microsecond precision)."""
    return (_EPOCH + dt.timedelta(microseconds=t_ns // 1000)).astimezone(tz)


def to_ns(moment: dt.datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime."""
    delta = moment - _EPOCH
    return (
        delta.days * SECONDS_PER_DAY + delta.seconds
    ) * NS_PER_SECOND + delta.microseconds * 1000


def month_index(t_ns: int, tz: dt.tzinfo) -> int:
    """The calendar month (in ``tz``) an instant falls in, as ``year * 12 + month - 1`` (R9)."""
    local = to_datetime(t_ns, tz)
    return local.year * 12 + local.month - 1


def month_label(index: int) -> str:
    """``'YYYY-MM'`` of a month index."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def local_midnight(year: int, month: int, day: int, tz: dt.tzinfo) -> int:
    """The instant (ns) of 00:00 local time on a date."""
    return to_ns(dt.datetime(year, month, day, tzinfo=tz))


def month_start(index: int, tz: dt.tzinfo) -> int:
    """The instant (ns) of 00:00 local time on the 1st of a month index."""
    return local_midnight(index // 12, index % 12 + 1, 1, tz)


def add_months_anchor(t_ns: int, months: int, tz: dt.tzinfo) -> int:
    """End of a prepaid period that starts at ``t_ns`` and lasts ``months`` months.

    A package bought on day T runs through day T-1 of the month ``months`` later, i.e. until
    00:00 of day T of that month in ``tz``; when that month has no day T (bought on the 31st,
    ending in a 30-day month), until 00:00 on the 1st of the month after it (docs/rules.md, R11).
    """
    if months < 1:
        raise ValueError(f"months must be at least 1 (given {months})")
    local = to_datetime(t_ns, tz)
    index = local.year * 12 + local.month - 1 + months
    year, month = index // 12, index % 12 + 1
    try:
        return local_midnight(year, month, local.day, tz)
    except ValueError:  # that month has no day T
        return month_start(index + 1, tz)
