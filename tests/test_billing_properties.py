"""Property tests of sim.billing (R6, R7, R14): random timelines in two time zones (one with
DST), each policy checked against a slow day-by-day / second-by-second / month-by-month
reference written with plain datetimes, plus the invariants the seed implies:

- under ``day`` an item's lines in a month never exceed its list price (plus a cent of rounding
  per line), and equal it exactly when the item was in force unchanged all month;
- bills never charge days after a deactivation;
- under ``second`` no line exceeds the list price.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from fractions import Fraction
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.billing import bill
from sim.core.catalog import PACKS
from sim.files.catalogs import load_catalog

CATALOGS = {
    tz: load_catalog(overrides=[f"timezone={tz}"]) for tz in ("Asia/Shanghai", "Europe/Berlin")
}
UTC = dt.UTC
CONFIGS = [
    ("Pro-postpaid", "Pro", {"live_unlimited": lv, "groups_per_user": g, "members_per_group": m})
    for lv in (False, True)
    for g in (500, 1000)
    for m in (200, 2000)
] + [
    (
        "Ultimate-postpaid",
        "Ultimate",
        {"live_unlimited": False, "groups_per_user": g, "members_per_group": m},
    )
    for g in (1000, 3000)
    for m in (2000, 6000)
]
IM = ("IM", "IM", {"live_unlimited": False, "groups_per_user": 50, "members_per_group": 20})
DEACTIVATED = (
    "Deactivated",
    "",
    {"live_unlimited": False, "groups_per_user": 0, "members_per_group": 0},
)


@st.composite
def timelines(draw: st.DrawFn) -> tuple:
    """(zone, steps [(start UTC, state, edition, packs)], until): a contiguous timeline of
    one app, maybe starting on IM and maybe ending deactivated, some changes on a local
    midnight, some several in one day."""
    name = draw(st.sampled_from(sorted(CATALOGS)))
    zone = ZoneInfo(name)
    t = dt.datetime(2023, 12, 1, tzinfo=UTC) + dt.timedelta(minutes=draw(st.integers(0, 500_000)))
    n = draw(st.integers(1, 6))
    times = []
    for _ in range(n + 1):
        if draw(st.booleans()):  # snap to the local midnight of that day
            local = t.astimezone(zone)
            t = dt.datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)
        if not times or t > times[-1]:
            times.append(t)
        gap = draw(st.one_of(st.integers(1, 600), st.integers(1, 4_000), st.integers(1, 90_000)))
        t = t + dt.timedelta(minutes=gap)
    configs = [draw(st.sampled_from(CONFIGS)) for _ in times]
    if draw(st.booleans()):
        configs[0] = IM
    if len(times) > 1 and draw(st.booleans()):
        configs[-1] = DEACTIVATED
    last = times[-1].astimezone(zone)
    month = last.year * 12 + last.month + draw(st.integers(0, 2))  # a 1st after the last step
    until = dt.datetime(month // 12, month % 12 + 1, 1, tzinfo=zone).astimezone(UTC)
    steps = [(s, state, ed, packs) for s, (state, ed, packs) in zip(times, configs, strict=True)]
    return name, steps, until


def frame(catalog, steps: list) -> pd.DataFrame:
    rows = []
    for i, (start, state, edition, packs) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else None
        rows.append(
            {
                "app": "a",
                "start": pd.Timestamp(start).tz_convert(catalog.timezone),
                "end": pd.Timestamp(end).tz_convert(catalog.timezone) if end else pd.NaT,
                "state": state,
                **packs,
                "edition": edition,
                "prepaid_until": pd.NaT,
            }
        )
    return pd.DataFrame(rows)


# -- a slow reference, straight from the rules ------------------------------------------------------


def items(catalog, edition: str, packs: dict) -> list[tuple[str, str, int]]:
    """(item, option, price_minor) of the paid items of a configuration (R4)."""
    out = [("edition", edition, catalog.to_minor(catalog.editions[edition].price_per_month))]
    for pack in PACKS:
        price = catalog.to_minor(catalog.option_price(edition, pack, packs[pack]))
        label = "unlimited" if pack == "live_unlimited" else str(packs[pack])
        out.append((pack, label, price))
    return [i for i in out if i[2] > 0]


def billed(step: tuple) -> bool:
    return step[1].endswith("-postpaid")


def month_starts(zone: ZoneInfo, first: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    local = first.astimezone(zone)
    y, m, out = local.year, local.month, []
    while True:
        start = dt.datetime(y, m, 1, tzinfo=zone).astimezone(UTC)
        out.append(start)
        if start >= until:
            return out
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)


def at(steps: list, t: dt.datetime) -> int | None:
    """Index of the step in force at instant t."""
    found = None
    for i, step in enumerate(steps):
        if step[0] <= t:
            found = i
    return found


def reference(catalog, steps: list, until: dt.datetime, policy: str) -> set[tuple]:
    """Expected postpaid lines (month, item, option, quantity, unit, amount_minor)."""
    zone = ZoneInfo(catalog.timezone)
    bounds = month_starts(zone, steps[0][0], until)
    used: Counter = Counter()
    per_month: dict[str, int] = {}
    unit = {"day": "day", "second": "second", "next_month": "month"}[policy]
    for m0, m1 in zip(bounds, bounds[1:], strict=False):
        label = m0.astimezone(zone).strftime("%Y-%m")
        if policy == "next_month":
            per_month[label] = 1
            i = at(steps, m0)
            if i is not None and billed(steps[i]):
                for item in items(catalog, steps[i][2], steps[i][3]):
                    used[(label, *item)] += 1
        elif policy == "second":
            per_month[label] = int((m1 - m0).total_seconds())
            for i, step in enumerate(steps):
                end = steps[i + 1][0] if i + 1 < len(steps) else until
                secs = (min(end, m1, until) - max(step[0], m0)).total_seconds()
                if billed(step) and secs > 0:
                    for item in items(catalog, step[2], step[3]):
                        used[(label, *item)] += int(secs)
        else:  # day: the configuration in force at the end of each local day
            d, days = m0.astimezone(zone).date(), 0
            while (day0 := dt.datetime(d.year, d.month, d.day, tzinfo=zone)) < m1:
                d += dt.timedelta(days=1)
                day1 = dt.datetime(d.year, d.month, d.day, tzinfo=zone)
                days += 1
                i = at(steps, day1 - dt.timedelta(microseconds=1))
                if i is None or day1 > until:
                    continue
                if not billed(steps[i]) and i > 0 and billed(steps[i - 1]) and steps[i][0] > day0:
                    i -= 1  # deactivated during the day: charged as just before (R14)
                if billed(steps[i]):
                    for item in items(catalog, steps[i][2], steps[i][3]):
                        used[(label, *item)] += 1
            per_month[label] = days
    out = set()
    for (label, item, option, price), qty in used.items():
        whole = qty == per_month[label]
        amount = int(Fraction(price * qty, per_month[label]) + Fraction(1, 2))
        out.add((label, item, option, 1 if whole else qty, "month" if whole else unit, amount))
    return out


def as_set(bills: pd.DataFrame) -> set[tuple]:
    cols = ["month", "item", "option", "quantity", "unit", "amount_minor"]
    return {tuple(r) for r in bills[cols].itertuples(index=False)}


# -- properties ---------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(timelines(), st.sampled_from(["day", "second", "next_month"]))
def test_bills_match_the_slow_reference(case: tuple, policy: str) -> None:
    name, steps, until = case
    catalog = CATALOGS[name]
    got = bill(frame(catalog, steps), catalog, until=pd.Timestamp(until), policy=policy)
    assert as_set(got) == reference(catalog, steps, until, policy)
    assert len(got) == len(as_set(got))  # one line per (month, item, option)


@settings(max_examples=150, deadline=None)
@given(timelines())
def test_by_day_an_item_never_costs_more_than_its_list_price(case: tuple) -> None:
    # R6: a month's prorated pieces add up to at most the list price (a cent of rounding per
    # line), and to exactly the list price for an item in force unchanged all month.
    name, steps, until = case
    catalog = CATALOGS[name]
    got = bill(frame(catalog, steps), catalog, until=pd.Timestamp(until), policy="day")
    price = (got["price_per_month"] * 100).round().astype(int)
    assert (got["amount_minor"] <= price).all()
    for _, lines in got.groupby(["month", "item"]):
        top = (lines["price_per_month"] * 100).round().astype(int).max()
        assert lines["amount_minor"].sum() <= top + len(lines)
        assert lines.loc[lines["unit"] == "day", "quantity"].sum() <= 31
    whole = got[got["unit"] == "month"]
    assert (whole["amount"] == whole["price_per_month"]).all()
    assert (whole["quantity"] == 1).all()


@settings(max_examples=150, deadline=None)
@given(timelines(), st.sampled_from(["day", "second"]))
def test_nothing_is_charged_after_a_deactivation(case: tuple, policy: str) -> None:
    # R14: no line for a month after the deactivation; in its month, at most the days up to
    # and including the day of deactivation (seconds: up to the instant).
    name, steps, until = case
    catalog = CATALOGS[name]
    if steps[-1][1] != "Deactivated":
        return
    zone = ZoneInfo(catalog.timezone)
    off = steps[-1][0].astimezone(zone)
    got = bill(frame(catalog, steps), catalog, until=pd.Timestamp(until), policy=policy)
    assert (got["month"] <= off.strftime("%Y-%m")).all()
    last = got[(got["month"] == off.strftime("%Y-%m")) & (got["unit"] != "month")]
    midnight = off.replace(hour=0, minute=0, second=0, microsecond=0)
    if policy == "day":
        assert (last["quantity"] <= off.day - (off == midnight)).all()
    else:
        first = dt.datetime(off.year, off.month, 1, tzinfo=zone)
        assert (
            last["quantity"] <= (off.astimezone(UTC) - first.astimezone(UTC)).total_seconds()
        ).all()


@settings(max_examples=150, deadline=None)
@given(timelines())
def test_by_second_no_line_exceeds_the_list_price(case: tuple) -> None:
    name, steps, until = case
    catalog = CATALOGS[name]
    got = bill(frame(catalog, steps), catalog, until=pd.Timestamp(until), policy="second")
    assert (got["amount"] <= got["price_per_month"]).all()
