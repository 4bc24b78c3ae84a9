"""Golden bills, computed by hand in the comments (R6, R7, R11, R14 and the billing conventions
of sim/billing.py). Prices are the intl 2022 catalog's: Pro 449.99, Ultimate 899.99, unlimited
live groups 449.99, 1000 groups per user (Pro) 449.99, 2000 members (Pro) 239.99, overage
449.99 per started 10,000 DAU above 10,000 and per started 100,000 groups above 100,000.

Timelines are built directly as DataFrames (``make_timeline``) so these tests do not depend on
the engine; a few end-to-end tests at the end go through ``sim.replay`` when it exists.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction

import pandas as pd
import pytest

from sim.billing import BILL_COLUMNS, POLICIES, bill
from sim.errors import CatalogError, InputError
from sim.files.catalogs import load_catalog

CAT = load_catalog()
BERLIN = load_catalog(overrides=["timezone=Europe/Berlin"])
EDITION_OF = {
    "IM": "IM",
    "Trial": "Trial",
    "Trial-prepaid": "Pro",
    "Trial-lapsed": "Trial",
    "Pro-postpaid": "Pro",
    "Ultimate-postpaid": "Ultimate",
    "Deactivated": "",
}
PRO = {"live_unlimited": False, "groups_per_user": 500, "members_per_group": 200}
ULT = {"live_unlimited": False, "groups_per_user": 1000, "members_per_group": 2000}
FREE = {"live_unlimited": False, "groups_per_user": 50, "members_per_group": 20}


TIMELINE_COLUMNS = [
    "app",
    "start",
    "end",
    "state",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "edition",
    "prepaid_until",
]


def make_timeline(*steps: tuple, app: str = "a", catalog=CAT) -> pd.DataFrame:
    """Contiguous intervals from ``(start, state[, pack changes])`` steps (local wall-clock
    times in the catalog's zone); each lasts until the next step's start, the last is open."""
    rows = []
    for i, (start, state, *more) in enumerate(steps):
        edition = EDITION_OF[state]
        packs = {"Pro": PRO, "Ultimate": ULT}.get(edition, FREE) | (more[0] if more else {})
        end = steps[i + 1][0] if i + 1 < len(steps) else None
        rows.append(
            {
                "app": app,
                "start": pd.Timestamp(start, tz=catalog.timezone),
                "end": pd.Timestamp(end, tz=catalog.timezone) if end else pd.NaT,
                "state": state,
                **packs,
                "edition": edition,
                "prepaid_until": pd.NaT,
            }
        )
    return pd.DataFrame(rows, columns=TIMELINE_COLUMNS)


def lines(bills: pd.DataFrame, *, kind: str | None = None) -> list[tuple]:
    """(month, item, option, quantity, unit, amount) of each line, in the bill's order."""
    if kind is not None:
        bills = bills[bills["kind"] == kind]
    cols = ["month", "item", "option", "quantity", "unit", "amount"]
    return [tuple(r) for r in bills[cols].itertuples(index=False)]


def half_up(price: str, num: int, den: int) -> float:
    """Reference: price × num / den rounded half-up to cents, with exact fractions."""
    cents = Fraction(price) * 100 * num / den
    return int(cents + Fraction(1, 2)) / 100


def until(text: str, catalog=CAT) -> pd.Timestamp:
    return pd.Timestamp(text, tz=catalog.timezone)


# -- whole months, changes in months of 28, 29, 30 and 31 days (R6) -----------------------------


@pytest.mark.parametrize("policy", POLICIES)
def test_whole_unchanged_month_is_the_list_price(policy: str) -> None:
    # R6: Pro in force all of 2024-03 (from February) -> exactly 449.99, one line "1 month".
    tl = make_timeline(("2024-02-10 12:00", "Pro-postpaid"))
    got = bill(tl, CAT, until=until("2024-04-01"), policy=policy)
    assert lines(got[got["month"] == "2024-03"]) == [
        ("2024-03", "edition", "Pro", 1, "month", 449.99)
    ]


def test_upgrade_on_day_10_of_a_31_day_month() -> None:
    # R6 by day: IM -> Pro on 2024-01-10 09:00; Pro owns days 10..31 = 22 days;
    # 449.99 × 22 / 31 = 319.3477… -> 319.35; billed on 2024-02-03 (R7).
    tl = make_timeline(("2024-01-01", "IM"), ("2024-01-10 09:00", "Pro-postpaid"))
    got = bill(tl, CAT)  # default until: 2024-02-01, the month after the latest instant
    assert lines(got) == [("2024-01", "edition", "Pro", 22, "day", 319.35)]
    row = got.iloc[0]
    assert (row["bill_date"], row["kind"], row["currency"]) == ("2024-02-03", "postpaid", "USD")
    assert (row["amount_minor"], row["price_per_month"]) == (31935, 449.99)
    assert row["unit_price"] == pytest.approx(449.99 / 31)


@pytest.mark.parametrize(
    ("month", "days_in_month", "upgrade_day"),
    [
        ("2023-02", 28, 15),  # 14 days: 449.99 × 14 / 28 = 224.995 -> 225.00 (half up, exactly)
        ("2024-02", 29, 15),  # leap year, 15 days: 449.99 × 15 / 29 = 232.7534… -> 232.75
        ("2024-04", 30, 15),  # 16 days: 449.99 × 16 / 30 = 239.9946… -> 239.99
        ("2024-05", 31, 15),  # 17 days: 449.99 × 17 / 31 = 246.7686… -> 246.77
    ],
)
def test_upgrade_mid_month_in_months_of_each_length(
    month: str, days_in_month: int, upgrade_day: int
) -> None:
    tl = make_timeline((f"{month}-01", "IM"), (f"{month}-{upgrade_day} 15:00", "Pro-postpaid"))
    days = days_in_month - upgrade_day + 1
    expected = {28: 225.00, 29: 232.75, 30: 239.99, 31: 246.77}[days_in_month]
    assert half_up("449.99", days, days_in_month) == expected
    assert lines(bill(tl, CAT)) == [(month, "edition", "Pro", days, "day", expected)]


def test_half_up_is_exact_not_float() -> None:
    # Ultimate 2 days of 28: 899.99 × 2 / 28 = 64.285 exactly -> half up 64.29; in floats it is
    # 64.28499… and rounds to 64.28.
    assert round(899.99 * 2 / 28, 2) == 64.28
    tl = make_timeline(("2023-02-01", "IM"), ("2023-02-27 12:00", "Ultimate-postpaid"))
    assert bill(tl, CAT)["amount_minor"].tolist() == [6429]


def test_reconfigure_edition_in_a_30_day_month() -> None:
    # R6: Pro -> Ultimate on 2024-04-11 10:00 (day belongs to the configuration at its end):
    # Pro days 1..10: 449.99 × 10/30 = 149.9966… -> 150.00;
    # Ultimate days 11..30: 899.99 × 20/30 = 599.9933… -> 599.99.
    tl = make_timeline(("2024-03-20", "Pro-postpaid"), ("2024-04-11 10:00", "Ultimate-postpaid"))
    got = bill(tl, CAT, until=until("2024-05-01"))
    assert lines(got[got["month"] == "2024-04"]) == [
        ("2024-04", "edition", "Pro", 10, "day", 150.00),
        ("2024-04", "edition", "Ultimate", 20, "day", 599.99),
    ]


def test_change_at_23_00_bills_the_whole_day_at_the_new_configuration() -> None:
    # Convention (day): upgrade on 2024-01-31 23:00 -> day 31 is Pro's: 1 day, 449.99/31 = 14.52.
    tl = make_timeline(("2024-01-01", "IM"), ("2024-01-31 23:00", "Pro-postpaid"))
    assert lines(bill(tl, CAT)) == [("2024-01", "edition", "Pro", 1, "day", 14.52)]


# -- several changes in a day; a pack on and off (R6, R9 aside: billing takes any timeline) -----

DAY_TWICE = (
    ("2024-02-20", "Pro-postpaid"),
    ("2024-03-10 09:00", "Pro-postpaid", {"members_per_group": 2000}),
    ("2024-03-10 18:00", "Pro-postpaid", {"live_unlimited": True}),
)


def test_two_changes_in_one_day_only_the_last_is_billed_by_day() -> None:
    # Members 2000 for 09:00-18:00 owns no day; live groups own days 10..31 = 22:
    # 449.99 × 22/31 = 319.35. The edition runs unchanged all March: 449.99.
    got = bill(make_timeline(*DAY_TWICE), CAT, until=until("2024-04-01"))
    assert lines(got[got["month"] == "2024-03"]) == [
        ("2024-03", "edition", "Pro", 1, "month", 449.99),
        ("2024-03", "live_unlimited", "unlimited", 22, "day", 319.35),
    ]


def test_two_changes_in_one_day_by_second() -> None:
    # 2024-03 has 31 × 86400 = 2,678,400 s (no DST in Asia/Shanghai).
    # Members 2000 for 9 h = 32,400 s: 239.99 × 32400 / 2678400 = 2.9031… -> 2.90.
    # Live groups from 03-10 18:00 to 04-01: 21 days 6 h = 1,836,000 s:
    # 449.99 × 1836000 / 2678400 = 308.4604… -> 308.46.
    got = bill(make_timeline(*DAY_TWICE), CAT, until=until("2024-04-01"), policy="second")
    assert half_up("239.99", 32400, 2678400) == 2.90
    assert half_up("449.99", 1836000, 2678400) == 308.46
    assert lines(got[got["month"] == "2024-03"]) == [
        ("2024-03", "edition", "Pro", 1, "month", 449.99),
        ("2024-03", "live_unlimited", "unlimited", 1836000, "second", 308.46),
        ("2024-03", "members_per_group", "2000", 32400, "second", 2.90),
    ]


def test_two_changes_in_one_day_next_month_rule() -> None:
    # next_month: March is charged at the configuration of 03-01 00:00 (plain Pro); the live
    # pack enabled on 03-10 starts costing on 04-01; members 2000 on and off costs nothing.
    got = bill(make_timeline(*DAY_TWICE), CAT, until=until("2024-05-01"), policy="next_month")
    assert lines(got) == [
        ("2024-03", "edition", "Pro", 1, "month", 449.99),
        ("2024-04", "edition", "Pro", 1, "month", 449.99),
        ("2024-04", "live_unlimited", "unlimited", 1, "month", 449.99),
    ]


PACK_ON_OFF = (
    ("2024-03-20", "Pro-postpaid"),
    ("2024-04-05 12:00", "Pro-postpaid", {"live_unlimited": True}),
    ("2024-04-20 08:00", "Pro-postpaid"),
)


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        # day: live owns days 5..19 = 15 days: 449.99 × 15/30 = 224.995 -> 225.00.
        ("day", [("2024-04", "live_unlimited", "unlimited", 15, "day", 225.00)]),
        # second: 04-05 12:00 .. 04-20 08:00 = 14 d 20 h = 1,281,600 s of 2,592,000:
        # 449.99 × 1281600 / 2592000 = 222.4950… -> 222.50.
        ("second", [("2024-04", "live_unlimited", "unlimited", 1281600, "second", 222.50)]),
        # next_month: switched on and off inside April -> nothing.
        ("next_month", []),
    ],
)
def test_pack_on_and_off_within_a_month(policy: str, expected: list[tuple]) -> None:
    assert half_up("449.99", 1281600, 2592000) == 222.50
    got = bill(make_timeline(*PACK_ON_OFF), CAT, until=until("2024-05-01"), policy=policy)
    got = got[(got["month"] == "2024-04") & (got["item"] != "edition")]
    assert lines(got) == expected


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("day", []),  # on and off inside one day: the day belongs to the last configuration
        # second: 2 h = 7200 s: 449.99 × 7200 / 2592000 = 1.2499… -> 1.25
        ("second", [("2024-04", "live_unlimited", "unlimited", 7200, "second", 1.25)]),
        ("next_month", []),
    ],
)
def test_pack_on_and_off_within_a_day(policy: str, expected: list[tuple]) -> None:
    tl = make_timeline(
        ("2024-03-20", "Pro-postpaid"),
        ("2024-04-05 12:00", "Pro-postpaid", {"live_unlimited": True}),
        ("2024-04-05 14:00", "Pro-postpaid"),
    )
    got = bill(tl, CAT, until=until("2024-05-01"), policy=policy)
    assert lines(got[got["item"] != "edition"]) == expected


def test_each_paid_pack_has_its_line_and_defaults_have_none() -> None:
    # R4: Pro with all three packs all of 2024-06: 449.99 + 449.99 + 449.99 + 239.99.
    # Ultimate's defaults (1000 groups, 2000 members) and its unlimited live groups are free.
    paid = {"live_unlimited": True, "groups_per_user": 1000, "members_per_group": 2000}
    tl = pd.concat(
        [
            make_timeline(("2024-05-01", "Pro-postpaid", paid), app="a"),
            make_timeline(("2024-05-01", "Ultimate-postpaid", {"live_unlimited": True}), app="b"),
        ]
    )
    got = bill(tl, CAT, until=until("2024-07-01"))
    june = got[got["month"] == "2024-06"]
    assert [(r.app, r.item, r.option, r.amount) for r in june.itertuples()] == [
        ("a", "edition", "Pro", 449.99),
        ("a", "groups_per_user", "1000", 449.99),
        ("a", "live_unlimited", "unlimited", 449.99),
        ("a", "members_per_group", "2000", 239.99),
        ("b", "edition", "Ultimate", 899.99),
    ]


def test_free_states_cost_nothing() -> None:
    # IM, Trial, Trial-prepaid (paid at purchase, R11), Trial-lapsed: no postpaid line.
    tl = make_timeline(
        ("2024-01-01", "IM"),
        ("2024-02-01", "Trial"),
        ("2024-03-01", "Trial-prepaid"),
        ("2024-04-01", "Trial-lapsed"),
    )
    assert bill(tl, CAT, until=until("2024-06-01")).empty


# -- deactivation (R14) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "march"),
    [
        ("day", []),  # at 00:00: nothing of March
        ("second", []),
        ("next_month", []),  # at 00:00 on 03-01 the app is already deactivated
    ],
)
def test_deactivation_at_midnight_on_the_1st(policy: str, march: list[tuple]) -> None:
    tl = make_timeline(("2024-01-15", "Pro-postpaid"), ("2024-03-01 00:00", "Deactivated"))
    got = bill(tl, CAT, until=until("2024-06-01"), policy=policy)
    assert lines(got[got["month"] == "2024-02"]) == [
        ("2024-02", "edition", "Pro", 1, "month", 449.99)
    ]
    assert got["month"].max() == "2024-02"
    assert lines(got[got["month"] >= "2024-03"]) == march


@pytest.mark.parametrize(
    ("policy", "march"),
    [
        # day: the day of deactivation is charged: 1 day, 449.99/31 = 14.5158… -> 14.52
        ("day", [("2024-03", "edition", "Pro", 1, "day", 14.52)]),
        # second: 10 h = 36,000 s: 449.99 × 36000 / 2678400 = 6.0482… -> 6.05
        ("second", [("2024-03", "edition", "Pro", 36000, "second", 6.05)]),
        # next_month (documented reading): billed at 00:00 on the 1st -> March charged whole
        ("next_month", [("2024-03", "edition", "Pro", 1, "month", 449.99)]),
    ],
)
def test_deactivation_on_the_1st_at_10_00(policy: str, march: list[tuple]) -> None:
    tl = make_timeline(("2024-01-15", "Pro-postpaid"), ("2024-03-01 10:00", "Deactivated"))
    got = bill(tl, CAT, until=until("2024-06-01"), policy=policy)
    assert lines(got[got["month"] >= "2024-03"]) == march


def test_deactivation_mid_month_charges_its_day_at_the_configuration_before_it() -> None:
    # Live groups switched on 03-15 08:00, deactivated 03-15 10:00: day 15 is charged at the
    # configuration just before the deactivation (with live groups). Pro: days 1..15 = 15 days,
    # 449.99 × 15/31 = 217.7371… -> 217.74; live: 1 day, 449.99/31 = 14.52. Nothing after.
    tl = make_timeline(
        ("2024-02-01", "Pro-postpaid"),
        ("2024-03-15 08:00", "Pro-postpaid", {"live_unlimited": True}),
        ("2024-03-15 10:00", "Deactivated"),
    )
    got = bill(tl, CAT, until=until("2024-06-01"))
    assert lines(got[got["month"] == "2024-03"]) == [
        ("2024-03", "edition", "Pro", 15, "day", 217.74),
        ("2024-03", "live_unlimited", "unlimited", 1, "day", 14.52),
    ]
    assert got["month"].max() == "2024-03"


# -- time zones ----------------------------------------------------------------------------------


def test_month_boundaries_are_in_the_catalog_zone_not_utc() -> None:
    # Upgrade at 2024-03-01 01:00 +08:00 (= 2024-02-29 17:00 UTC): in Asia/Shanghai that is
    # March, so nothing for February and day 1 of March is Pro's: whole March 449.99.
    tl = make_timeline(("2024-02-01", "IM"), ("2024-03-01 01:00", "Pro-postpaid"))
    got = bill(tl, CAT, until=until("2024-04-01"))
    assert lines(got) == [("2024-03", "edition", "Pro", 1, "month", 449.99)]
    # Deactivation at 2024-03-31 23:30 +08:00 (15:30 UTC): day 31 is charged, April is not.
    tl = make_timeline(("2024-03-01 01:00", "Pro-postpaid"), ("2024-03-31 23:30", "Deactivated"))
    assert lines(bill(tl, CAT)) == [("2024-03", "edition", "Pro", 1, "month", 449.99)]


def test_timestamps_given_in_utc_are_read_in_the_catalog_zone() -> None:
    # The same instant written in UTC: 2024-02-29 17:00Z is 03-01 01:00 in Shanghai.
    tl = make_timeline(("2024-02-01", "IM"), ("2024-03-01 01:00", "Pro-postpaid"))
    tl["start"] = tl["start"].dt.tz_convert("UTC")
    got = bill(tl, CAT, until=pd.Timestamp("2024-03-31 16:00", tz="UTC"))
    assert lines(got) == [("2024-03", "edition", "Pro", 1, "month", 449.99)]


def test_dst_month_in_europe_berlin() -> None:
    # 2024-03 in Berlin has 31 days but 31 × 86400 - 3600 = 2,674,800 s (DST from 03-31 02:00).
    # Pro from 03-16 00:00 to 04-01 00:00: 16 days; by second 16 × 86400 - 3600 = 1,378,800 s.
    # day:    449.99 × 16/31 = 232.2529… -> 232.25
    # second: 449.99 × 1378800 / 2674800 = 231.9594… -> 231.96
    tl = make_timeline(("2024-03-01", "IM"), ("2024-03-16 00:00", "Pro-postpaid"), catalog=BERLIN)
    assert half_up("449.99", 1378800, 2674800) == 231.96
    assert lines(bill(tl, BERLIN, policy="day")) == [
        ("2024-03", "edition", "Pro", 16, "day", 232.25)
    ]
    assert lines(bill(tl, BERLIN, policy="second")) == [
        ("2024-03", "edition", "Pro", 1378800, "second", 231.96)
    ]


def test_dst_months_whole_in_europe_berlin() -> None:
    # A whole month is the list price under every policy, 23- or 25-hour days included
    # (2024-03: 2,674,800 s; 2024-10: 2,682,000 s).
    tl = make_timeline(("2024-02-10", "Pro-postpaid"), catalog=BERLIN)
    for policy in POLICIES:
        got = bill(tl, BERLIN, until=until("2024-11-01", BERLIN), policy=policy)
        for month in ("2024-03", "2024-10"):
            assert lines(got[got["month"] == month]) == [
                (month, "edition", "Pro", 1, "month", 449.99)
            ]


def test_berlin_day_ends_at_local_midnight() -> None:
    # Upgrade at 2024-10-31 23:30 Berlin (22:30 UTC): day 31 of October is Pro's.
    # October 2024 in Berlin: 31 days; 1 day: 449.99/31 = 14.52.
    tl = make_timeline(("2024-10-01", "IM"), ("2024-10-31 23:30", "Pro-postpaid"), catalog=BERLIN)
    assert lines(bill(tl, BERLIN)) == [("2024-10", "edition", "Pro", 1, "day", 14.52)]


# -- prepaid (R11) --------------------------------------------------------------------------------


def purchase(time: str, months: int = 1, **packs: object) -> pd.DataFrame:
    row = {"app": "p", "time": pd.Timestamp(time, tz=CAT.timezone), "edition": "Pro"}
    return pd.DataFrame([row | PRO | packs | {"months": months}])


def test_prepaid_bought_on_the_31st() -> None:
    # R11: charged in full on the purchase date: Pro 449.99 + 2000 members 239.99.
    trial = make_timeline(("2024-01-01", "Trial"), ("2024-01-31 15:00", "Trial-prepaid"), app="p")
    got = bill(trial, CAT, purchases=purchase("2024-01-31 15:00", members_per_group=2000))
    assert lines(got) == [
        ("2024-01", "edition", "Pro", 1, "month", 449.99),
        ("2024-01", "members_per_group", "2000", 1, "month", 239.99),
    ]
    assert set(got["bill_date"]) == {"2024-01-31"} and set(got["kind"]) == {"prepaid"}


def test_prepaid_for_three_months() -> None:
    # months = 3 multiplies: 3 × 449.99 = 1349.97; 3 × 449.99 (live groups) = 1349.97.
    got = bill(
        make_timeline(app="p"), CAT, purchases=purchase("2024-03-31 01:00", 3, live_unlimited=True)
    )
    assert lines(got) == [
        ("2024-03", "edition", "Pro", 3, "month", 1349.97),
        ("2024-03", "live_unlimited", "unlimited", 3, "month", 1349.97),
    ]
    # 2024-03-31 01:00 in Shanghai is 03-30 17:00 UTC: the date is the local one.
    assert set(got["bill_date"]) == {"2024-03-31"}
    assert got["unit_price"].tolist() == [449.99, 449.99]


# -- usage overage --------------------------------------------------------------------------------


def usage(rows: list[tuple[str, int, int]], app: str = "a") -> pd.DataFrame:
    return pd.DataFrame([{"app": app, "date": d, "dau": dau, "groups": g} for d, dau, g in rows])


PRO_ALL_MAY = make_timeline(("2024-04-01", "Pro-postpaid"))


@pytest.mark.parametrize(
    ("peak_dau", "blocks"),
    [(10_000, 0), (10_001, 1), (20_000, 1), (20_001, 2)],
)
def test_dau_overage_per_started_block(peak_dau: int, blocks: int) -> None:
    # Free 10,000 DAU; 449.99 per started 10,000 above it: exactly at the quota costs nothing.
    use = usage([("2024-05-02", 3_000, 0), ("2024-05-20", peak_dau, 0), ("2024-05-21", 9_000, 0)])
    got = bill(PRO_ALL_MAY, CAT, usage=use, until=until("2024-06-01"))
    over = got[got["kind"] == "overage"]
    expected = [("2024-05", "dau_overage", "Pro", blocks, "block", round(449.99 * blocks, 2))]
    assert lines(over) == (expected if blocks else [])
    if blocks:
        assert over["bill_date"].tolist() == ["2024-06-03"]  # R7


def test_peak_groups_overage() -> None:
    # Peak groups of the month 250,000: 150,000 above the free 100,000 -> 2 blocks, 899.98.
    use = usage([("2024-05-01", 0, 90_000), ("2024-05-15", 0, 250_000), ("2024-05-31", 0, 120_000)])
    got = bill(PRO_ALL_MAY, CAT, usage=use, until=until("2024-06-01"))
    assert lines(got, kind="overage") == [("2024-05", "groups_overage", "Pro", 2, "block", 899.98)]


def test_overage_only_in_months_with_a_postpaid_edition() -> None:
    # IM in April (DAU is hard-capped there; overage is not billed), Pro from 05-31 23:00:
    # May is charged overage, April is not.
    tl = make_timeline(("2024-04-01", "IM"), ("2024-05-31 23:00", "Pro-postpaid"))
    use = usage([("2024-04-10", 50_000, 0), ("2024-05-10", 15_000, 0)])
    got = bill(tl, CAT, usage=use)
    assert lines(got, kind="overage") == [("2024-05", "dau_overage", "Pro", 1, "block", 449.99)]


def test_overage_uses_the_last_postpaid_edition_of_the_month() -> None:
    # Pro then Ultimate in May; Ultimate's DAU quota raised to 20,000 for this test: the
    # peak 25,000 is 5,000 above Ultimate's quota -> 1 block (it would be 2 on Pro).
    cat = load_catalog(overrides=["editions.Ultimate.overage.dau.free=20000"])
    tl = make_timeline(("2024-04-01", "Pro-postpaid"), ("2024-05-20", "Ultimate-postpaid"))
    got = bill(tl, cat, usage=usage([("2024-05-02", 25_000, 0)]), until=until("2024-06-01"))
    assert lines(got, kind="overage") == [
        ("2024-05", "dau_overage", "Ultimate", 1, "block", 449.99)
    ]


# -- the frame ------------------------------------------------------------------------------------


def test_empty_timeline_gives_an_empty_frame_with_all_columns() -> None:
    got = bill(make_timeline(), CAT)
    assert got.empty and list(got.columns) == BILL_COLUMNS
    assert got["amount_minor"].dtype == "int64"


def test_lines_are_sorted_and_bill_date_is_the_3rd_of_next_month() -> None:
    # R7: December's fees appear on the bill of 3 January of the next year.
    tl = pd.concat(
        [
            make_timeline(("2024-11-20", "Ultimate-postpaid"), app="b"),
            make_timeline(("2024-12-05", "Pro-postpaid", {"groups_per_user": 1000}), app="a"),
        ]
    )
    use = usage([("2024-12-10", 12_000, 0)], app="b")
    got = bill(tl, CAT, usage=use, until=until("2025-01-01"))
    keys = ["app", "month", "kind", "item", "option"]
    assert got[keys].values.tolist() == got.sort_values(keys)[keys].values.tolist()
    assert got[["app", "month", "kind", "item"]].values.tolist() == [
        ["a", "2024-12", "postpaid", "edition"],
        ["a", "2024-12", "postpaid", "groups_per_user"],
        ["b", "2024-11", "postpaid", "edition"],
        ["b", "2024-12", "overage", "dau_overage"],
        ["b", "2024-12", "postpaid", "edition"],
    ]
    assert got.loc[got["month"] == "2024-12", "bill_date"].unique().tolist() == ["2025-01-03"]
    assert (got["amount"] * 100).round().astype(int).tolist() == got["amount_minor"].tolist()


def test_policy_defaults_to_the_catalog() -> None:
    tl = make_timeline(("2024-01-01", "IM"), ("2024-01-10 09:00", "Pro-postpaid"))
    by_second = load_catalog(overrides=["billing.proration=second"])
    assert bill(tl, by_second)["unit"].tolist() == ["second"]
    assert bill(tl, by_second, policy="day")["unit"].tolist() == ["day"]


def test_default_until_is_the_month_after_the_latest_input() -> None:
    # The open Pro interval is billed to 2024-04-01 because usage reaches into March.
    tl = make_timeline(("2024-01-01", "IM"), ("2024-01-10 09:00", "Pro-postpaid"))
    got = bill(tl, CAT, usage=usage([("2024-03-05", 0, 0)]))
    assert got["month"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert got["quantity"].tolist() == [22, 1, 1]


def test_unknown_policy_and_missing_columns_are_reported() -> None:
    tl = make_timeline(("2024-01-01", "Pro-postpaid"))
    with pytest.raises(CatalogError, match="billing policy 'weekly' is unknown; allowed: day"):
        bill(tl, CAT, policy="weekly")
    with pytest.raises(InputError, match="timeline table: missing column"):
        bill(tl.drop(columns="state"), CAT)


def test_a_missing_start_is_reported() -> None:
    tl = make_timeline(("2024-01-01", "Pro-postpaid"), ("2024-02-01", "Deactivated"))
    tl.loc[1, "start"] = pd.NaT
    with pytest.raises(InputError, match="timeline table: row 2: column 'start' is empty"):
        bill(tl, CAT)


# -- end to end through the rules engine (when it exists) ---------------------------------------

needs_replay = pytest.mark.skipif(
    importlib.util.find_spec("sim.replayer") is None, reason="sim.replayer not written yet"
)


def replay_bills(rows: list[dict]) -> pd.DataFrame:
    import sim

    return sim.replay(pd.DataFrame(rows)).bills


@needs_replay
def test_end_to_end_upgrade_on_day_10() -> None:
    # R1, R6, R7: create, upgrade to Pro on 2024-01-10 09:00 -> 22 days, 319.35, on 2024-02-03.
    got = replay_bills(
        [
            {"time": "2024-01-01T09:00", "app": "a", "op": "create_app"},
            {"time": "2024-01-10T09:00", "app": "a", "op": "upgrade", "edition": "Pro"},
        ]
    )
    assert lines(got) == [("2024-01", "edition", "Pro", 22, "day", 319.35)]
    assert got["bill_date"].tolist() == ["2024-02-03"]


@needs_replay
def test_end_to_end_reconfigure_then_deactivate() -> None:
    # R6, R8, R14. Pro with live groups from 01-20 12:00: days 20..31 = 12:
    #   449.99 × 12/31 = 174.1897… -> 174.19 (each). Reconfigure to Ultimate on 02-10 08:00
    #   (the live pack resets: Ultimate has none): Pro and live days 1..9 of 29:
    #   449.99 × 9/29 = 139.6521… -> 139.65; Ultimate days 10..29 = 20: 899.99 × 20/29 =
    #   620.6827… -> 620.68. Deactivated 03-05 10:00: Ultimate days 1..5 of 31:
    #   899.99 × 5/31 = 145.1597… -> 145.16; nothing after.
    got = replay_bills(
        [
            {"time": "2024-01-01T09:00", "app": "a", "op": "create_app"},
            {
                "time": "2024-01-20T12:00",
                "app": "a",
                "op": "upgrade",
                "edition": "Pro",
                "live_unlimited": True,
            },
            {"time": "2024-02-10T08:00", "app": "a", "op": "reconfigure", "edition": "Ultimate"},
            {"time": "2024-03-05T10:00", "app": "a", "op": "deactivate"},
        ]
    )
    assert lines(got) == [
        ("2024-01", "edition", "Pro", 12, "day", 174.19),
        ("2024-01", "live_unlimited", "unlimited", 12, "day", 174.19),
        ("2024-02", "edition", "Pro", 9, "day", 139.65),
        ("2024-02", "edition", "Ultimate", 20, "day", 620.68),
        ("2024-02", "live_unlimited", "unlimited", 9, "day", 139.65),
        ("2024-03", "edition", "Ultimate", 5, "day", 145.16),
    ]


@needs_replay
def test_end_to_end_prepaid_after_downgrade() -> None:
    # R10, R11: downgrade to Trial, buy Pro with 2000 members for 3 months on 01-31 15:00:
    # 3 × 449.99 = 1349.97 and 3 × 239.99 = 719.97, dated the purchase day; no postpaid line.
    got = replay_bills(
        [
            {"time": "2024-01-01T09:00", "app": "t", "op": "create_app"},
            {"time": "2024-01-05T09:00", "app": "t", "op": "downgrade"},
            {
                "time": "2024-01-31T15:00",
                "app": "t",
                "op": "buy_prepaid",
                "edition": "Pro",
                "members_per_group": 2000,
                "months": 3,
            },
        ]
    )
    assert lines(got) == [
        ("2024-01", "edition", "Pro", 3, "month", 1349.97),
        ("2024-01", "members_per_group", "2000", 3, "month", 719.97),
    ]
    assert set(got["kind"]) == {"prepaid"} and set(got["bill_date"]) == {"2024-01-31"}
