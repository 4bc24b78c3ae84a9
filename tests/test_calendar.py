"""Calendar questions in the catalog's time zone (sim.core.calendar): R9's calendar month and R11's
prepaid period ("bought on day T, runs through day T-1 of the next month", docs/rules.md).

Every expected instant below is written by hand as an ISO 8601 time with its offset; the
offsets come from the zone rules (Asia/Shanghai is +08:00 all year; Europe/Berlin is +01:00 in
winter and +02:00 from the last Sunday of March 01:00 UTC to the last Sunday of October).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.calendar import (
    add_months_anchor,
    local_midnight,
    month_index,
    month_label,
    month_start,
    to_datetime,
    to_ns,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC


def ns(text: str) -> int:
    """Nanoseconds since the epoch of an ISO 8601 time that carries its offset."""
    stamp = pd.Timestamp(text)
    assert stamp.tzinfo is not None, "write expected instants with their offset"
    return int(stamp.value)


def idx(year: int, month: int) -> int:
    return year * 12 + month - 1


# -- month_index (R9: "per calendar month" in the catalog's zone) ---------------------------------


def test_month_index_numbers_consecutive_months_consecutively():
    assert idx(2024, 12) + 1 == idx(2025, 1)
    assert month_index(ns("2024-12-31T23:59:59+08:00"), SHANGHAI) == idx(2024, 12)
    assert month_index(ns("2025-01-01T00:00:00+08:00"), SHANGHAI) == idx(2025, 1)


def test_month_index_is_taken_in_the_zone_not_in_utc():
    """R9: 2024-01-31T23:30+08:00 and 2024-02-01T00:10+08:00 are both on 2024-01-31 in UTC
    (15:30Z and 16:10Z) but in different months in Asia/Shanghai."""
    late_jan = ns("2024-01-31T23:30:00+08:00")
    early_feb = ns("2024-02-01T00:10:00+08:00")
    assert month_index(late_jan, UTC) == month_index(early_feb, UTC) == idx(2024, 1)
    assert month_index(late_jan, SHANGHAI) == idx(2024, 1)
    assert month_index(early_feb, SHANGHAI) == idx(2024, 2)


def test_month_index_in_berlin_summer_and_winter():
    # 2024-03-31T23:30+02:00 is 21:30Z: still March in Berlin and in UTC
    assert month_index(ns("2024-03-31T23:30:00+02:00"), BERLIN) == idx(2024, 3)
    # 2024-04-01T00:30+02:00 is 2024-03-31T22:30Z: April in Berlin, March in UTC
    t = ns("2024-04-01T00:30:00+02:00")
    assert month_index(t, BERLIN) == idx(2024, 4)
    assert month_index(t, UTC) == idx(2024, 3)
    # winter: 2024-11-01T00:30+01:00 is 2024-10-31T23:30Z
    t = ns("2024-11-01T00:30:00+01:00")
    assert month_index(t, BERLIN) == idx(2024, 11)
    assert month_index(t, UTC) == idx(2024, 10)


def test_month_label():
    assert month_label(idx(2024, 1)) == "2024-01"
    assert month_label(idx(2024, 12)) == "2024-12"
    assert month_label(idx(999, 7)) == "0999-07"


# -- month_start, local_midnight ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "year", "month", "expected"),
    [
        (SHANGHAI, 2024, 2, "2024-02-01T00:00:00+08:00"),
        (SHANGHAI, 2025, 1, "2025-01-01T00:00:00+08:00"),
        (BERLIN, 2024, 3, "2024-03-01T00:00:00+01:00"),  # winter time
        (BERLIN, 2024, 4, "2024-04-01T00:00:00+02:00"),  # summer time
        (BERLIN, 2024, 11, "2024-11-01T00:00:00+01:00"),  # winter again
    ],
)
def test_month_start_is_local_midnight_of_the_first(tz, year, month, expected):
    assert month_start(idx(year, month), tz) == ns(expected)


def test_month_lengths_follow_the_zone():
    """A Berlin month with the spring change is an hour short, one with the autumn change an
    hour long; a Shanghai month is whole days."""
    hour = 3600 * 10**9
    day = 24 * hour
    march = month_start(idx(2024, 4), BERLIN) - month_start(idx(2024, 3), BERLIN)
    october = month_start(idx(2024, 11), BERLIN) - month_start(idx(2024, 10), BERLIN)
    assert march == 31 * day - hour
    assert october == 31 * day + hour
    feb = month_start(idx(2024, 3), SHANGHAI) - month_start(idx(2024, 2), SHANGHAI)
    assert feb == 29 * day  # 2024 is a leap year


def test_month_start_boundaries_agree_with_month_index():
    for tz in (SHANGHAI, BERLIN):
        for m in range(idx(2023, 1), idx(2025, 1)):
            start = month_start(m, tz)
            assert month_index(start, tz) == m
            assert month_index(start - 1, tz) == m - 1


def test_local_midnight():
    assert local_midnight(2024, 2, 29, SHANGHAI) == ns("2024-02-29T00:00:00+08:00")
    assert local_midnight(2024, 10, 27, BERLIN) == ns("2024-10-27T00:00:00+02:00")
    with pytest.raises(ValueError):
        local_midnight(2023, 2, 29, SHANGHAI)


def test_to_ns_and_to_datetime_round_trip():
    moment = dt.datetime(2024, 1, 31, 23, 30, 0, 123456, tzinfo=SHANGHAI)
    t = to_ns(moment)
    assert t == ns("2024-01-31T23:30:00.123456+08:00")
    assert to_datetime(t, SHANGHAI) == moment
    assert to_datetime(t, SHANGHAI).utcoffset() == dt.timedelta(hours=8)


# -- add_months_anchor (R11: the prepaid period) --------------------------------------------------


@pytest.mark.parametrize(
    ("bought", "months", "until"),
    [
        # day T -> 00:00 of day T next month, whatever the time of day of the purchase
        ("2024-01-15T10:00:00+08:00", 1, "2024-02-15T00:00:00+08:00"),
        ("2024-01-15T23:59:59+08:00", 1, "2024-02-15T00:00:00+08:00"),
        ("2024-01-15T00:00:00+08:00", 1, "2024-02-15T00:00:00+08:00"),
        # year roll-over
        ("2024-12-15T10:00:00+08:00", 1, "2025-01-15T00:00:00+08:00"),
        ("2024-01-31T10:00:00+08:00", 12, "2025-01-31T00:00:00+08:00"),
        # the next month has no day T -> the 1st of the month after
        ("2024-01-31T12:00:00+08:00", 1, "2024-03-01T00:00:00+08:00"),
        ("2024-03-31T12:00:00+08:00", 1, "2024-05-01T00:00:00+08:00"),
        ("2024-05-31T12:00:00+08:00", 1, "2024-07-01T00:00:00+08:00"),
        ("2024-08-31T12:00:00+08:00", 1, "2024-10-01T00:00:00+08:00"),
        ("2024-10-31T12:00:00+08:00", 1, "2024-12-01T00:00:00+08:00"),
        ("2024-12-31T12:00:00+08:00", 2, "2025-03-01T00:00:00+08:00"),
        # months that do have day 31
        ("2024-07-31T12:00:00+08:00", 1, "2024-08-31T00:00:00+08:00"),
        ("2024-12-31T12:00:00+08:00", 1, "2025-01-31T00:00:00+08:00"),
        # leap years: February 2024 has a 29th, February 2023 and 2025 do not
        ("2024-01-29T12:00:00+08:00", 1, "2024-02-29T00:00:00+08:00"),
        ("2024-01-30T12:00:00+08:00", 1, "2024-03-01T00:00:00+08:00"),
        ("2023-01-29T12:00:00+08:00", 1, "2023-03-01T00:00:00+08:00"),
        ("2024-02-29T12:00:00+08:00", 12, "2025-03-01T00:00:00+08:00"),
        ("2024-02-29T12:00:00+08:00", 1, "2024-03-29T00:00:00+08:00"),
        ("2023-12-29T12:00:00+08:00", 2, "2024-02-29T00:00:00+08:00"),
    ],
)
def test_prepaid_period_in_shanghai(bought, months, until):
    assert add_months_anchor(ns(bought), months, SHANGHAI) == ns(until)


def test_prepaid_day_is_the_local_day_not_the_utc_day():
    """2024-03-31T02:00+08:00 is 2024-03-30T18:00Z: day T is 31 in Shanghai, so the package runs
    until 2024-05-01 (April has no 31st); read in UTC it would be day 30 -> 2024-04-30."""
    t = ns("2024-03-31T02:00:00+08:00")
    assert add_months_anchor(t, 1, SHANGHAI) == ns("2024-05-01T00:00:00+08:00")
    assert add_months_anchor(t, 1, UTC) == ns("2024-04-30T00:00:00+00:00")


@pytest.mark.parametrize(
    ("bought", "until"),
    [
        # across the spring change: bought in winter time, ends in summer time
        ("2024-03-10T12:00:00+01:00", "2024-04-10T00:00:00+02:00"),
        # bought 2024-03-31 00:30, before the 02:00 change; April has no 31st
        ("2024-03-31T00:30:00+01:00", "2024-05-01T00:00:00+02:00"),
        # across the autumn change: summer time to winter time
        ("2024-10-15T12:00:00+02:00", "2024-11-15T00:00:00+01:00"),
        ("2024-10-31T12:00:00+01:00", "2024-12-01T00:00:00+01:00"),
    ],
)
def test_prepaid_period_in_berlin_across_dst(bought, until):
    assert add_months_anchor(ns(bought), 1, BERLIN) == ns(until)


def _days_without_midnight(tz: dt.tzinfo, year: int) -> list[dt.date]:
    """Local dates of ``year`` whose 00:00 does not exist (clocks jump from 00:00 to 01:00)."""
    out = []
    day = dt.date(year, 1, 1)
    while day.year == year:
        naive = dt.datetime(day.year, day.month, day.day)
        there_and_back = naive.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)
        if there_and_back.replace(tzinfo=None) != naive:
            out.append(day)
        day += dt.timedelta(days=1)
    return out


@pytest.mark.parametrize("zone", ["America/Santiago", "America/Havana", "Asia/Beirut"])
def test_prepaid_end_is_the_first_instant_of_day_t_where_midnight_does_not_exist(zone):
    """Where clocks jump from 00:00 to 01:00 there is no local midnight; the package still ends
    at the first instant of day T (01:00 local), never in day T-1 nor an hour late."""
    tz = ZoneInfo(zone)
    gaps = [d for d in _days_without_midnight(tz, 2023) if d.month > 1 and d.day <= 28]
    if not gaps:
        pytest.skip(f"the installed tz database has no midnight gap in {zone} in 2023")
    day_t = gaps[0]
    bought = to_ns(dt.datetime(day_t.year, day_t.month - 1, day_t.day, 12, tzinfo=tz))
    until = add_months_anchor(bought, 1, tz)
    assert to_datetime(until, tz).date() == day_t
    assert to_datetime(until - 1000, tz).date() == day_t - dt.timedelta(days=1)


def test_prepaid_end_where_midnight_happens_twice_is_the_first_one():
    """America/Havana fell back from 01:00 to 00:00 on 2023-11-05: 00:00 happened twice. The
    package bought on 2023-10-05 ends at the first of them (-04:00), the start of the day."""
    tz = ZoneInfo("America/Havana")
    bought = ns("2023-10-05T12:00:00-04:00")
    assert add_months_anchor(bought, 1, tz) == ns("2023-11-05T00:00:00-04:00")


@pytest.mark.parametrize("months", [0, -1])
def test_prepaid_period_needs_at_least_a_month(months):
    with pytest.raises(ValueError, match="at least 1"):
        add_months_anchor(ns("2024-01-15T10:00:00+08:00"), months, SHANGHAI)


_ZONES = ["Asia/Shanghai", "Europe/Berlin", "America/Santiago", "America/Havana", "UTC"]
_LO = ns("2000-01-01T00:00:00+00:00") // 1000
_HI = ns("2035-01-01T00:00:00+00:00") // 1000


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(_ZONES),
    t_us=st.integers(min_value=_LO, max_value=_HI),
    months=st.integers(min_value=1, max_value=25),
)
def test_prepaid_period_properties(zone, t_us, months):
    """R11 for any instant and zone: the end is the first instant of local day T of the month
    `months` later, or of the 1st of the month after when that month has no day T."""
    tz = ZoneInfo(zone)
    t = t_us * 1000
    local = to_datetime(t, tz)
    until = add_months_anchor(t, months, tz)
    assert until > t
    end = to_datetime(until, tz)
    # the first instant of its local day
    assert to_datetime(until - 1000, tz).date() < end.date()
    target = month_index(t, tz) + months
    year, month = divmod(target, 12)
    try:
        expected_day = dt.date(year, month + 1, local.day)
    except ValueError:
        y2, m2 = divmod(target + 1, 12)
        expected_day = dt.date(y2, m2 + 1, 1)
    assert end.date() == expected_day


@settings(max_examples=200, deadline=None)
@given(zone=st.sampled_from(_ZONES), m=st.integers(min_value=idx(2000, 1), max_value=idx(2035, 1)))
def test_month_start_properties(zone, m):
    tz = ZoneInfo(zone)
    start = month_start(m, tz)
    assert month_index(start, tz) == m
    assert month_index(start - 1, tz) == m - 1
    assert to_datetime(start, tz).day == 1
    assert month_start(m + 1, tz) > start
