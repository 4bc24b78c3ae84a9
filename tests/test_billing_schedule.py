"""Bills under a price schedule (sim/billing/schedule.py): golden figures computed by hand.

Catalog: intl 2022 (Pro 449.99 USD a month, ``day`` proration, R6: each day costs price /
days-in-month, charged at the configuration in force at the end of the day); the change puts
Pro at 599.99 (postpaid and prepaid).
"""

from __future__ import annotations

import pandas as pd
from test_billing import CAT, make_timeline

from sim.billing import bill
from sim.billing.schedule import PriceChange, bill_schedule
from sim.files.catalogs import load_catalog

NEW = load_catalog(
    overrides=[
        "editions.Pro.price_per_month=599.99",
        "editions.Pro.prepaid_price_per_month=599.99",
    ]
)
TZ = CAT.timezone


def _at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=TZ)


def _edition_lines(lines: pd.DataFrame, app: str = "a") -> list[tuple[str, int, str, int]]:
    e = lines[(lines["app"] == app) & (lines["item"].astype(str) == "edition")]
    return [
        (str(m), int(q), str(u), int(a))
        for m, q, u, a in e[["month", "quantity", "unit", "amount_minor"]].values
    ]


def test_a_month_split_at_the_change_date_is_prorated_on_each_side() -> None:
    """R6 (day): Pro all July 2024 (31 days), 599.99 from 2024-07-16: 15 days at 449.99 =
    44999 x 15 / 31 = 21773.71 -> 21774 cents; 16 days at 599.99 = 59999 x 16 / 31 =
    30967.23 -> 30967 cents."""
    tl = make_timeline(("2024-07-01", "Pro-postpaid"))
    lines = bill_schedule(tl, CAT, [PriceChange(_at("2024-07-16"), NEW)], until=_at("2024-08-01"))
    assert _edition_lines(lines) == [
        ("2024-07", 15, "day", 21774),
        ("2024-07", 16, "day", 30967),
    ]


def test_a_grandfathered_app_keeps_the_old_price_for_n_months() -> None:
    """Change on 2024-07-01 with 2 months of grandfathering: an app postpaid then pays 449.99
    for July and August (44999 each, R6 whole months) and 599.99 from September (59999); an
    app that becomes postpaid on 2024-07-10, after the change, pays the new price at once:
    22 days x 59999 / 31 = 42579.94 -> 42580 cents, then 59999 a month."""
    tl = pd.concat(
        [
            make_timeline(("2024-06-01", "Pro-postpaid"), app="old"),
            make_timeline(("2024-07-01", "IM"), ("2024-07-10", "Pro-postpaid"), app="new"),
        ],
        ignore_index=True,
    )
    change = PriceChange(_at("2024-07-01"), NEW, grandfather_months=2)
    lines = bill_schedule(tl, CAT, [change], until=_at("2024-10-01"))
    old = [(m, a) for m, _, _, a in _edition_lines(lines, "old")]
    assert old == [("2024-06", 44999), ("2024-07", 44999), ("2024-08", 44999), ("2024-09", 59999)]
    new = [(m, a) for m, _, _, a in _edition_lines(lines, "new")]
    assert new == [("2024-07", 42580), ("2024-08", 59999), ("2024-09", 59999)]


def test_no_change_is_the_plain_bill_and_a_change_to_the_same_prices_costs_the_same() -> None:
    tl = make_timeline(("2024-01-05", "Pro-postpaid"), ("2024-03-20", "Ultimate-postpaid"))
    until = _at("2024-05-01")
    plain = bill(tl, CAT, until=until)
    pd.testing.assert_frame_equal(bill_schedule(tl, CAT, [], until=until), plain)
    same = bill_schedule(tl, CAT, [PriceChange(_at("2024-03-01"), CAT)], until=until)
    assert same["amount_minor"].sum() == plain["amount_minor"].sum()


def test_a_prepaid_purchase_pays_the_price_in_force_when_bought() -> None:
    """R11: a prepaid Pro month bought on 2024-07-20, after the change, costs 599.99."""
    tl = make_timeline(("2024-07-01", "Trial"))
    purchases = pd.DataFrame(
        [
            {
                "app": "a",
                "time": _at("2024-07-20 10:00"),
                "edition": "Pro",
                "live_unlimited": False,
                "groups_per_user": 500,
                "members_per_group": 200,
                "months": 1,
            }
        ]
    )
    lines = bill_schedule(
        tl, CAT, [PriceChange(_at("2024-07-16"), NEW)], purchases=purchases, until=_at("2024-08-01")
    )
    assert lines["amount_minor"].tolist() == [59999]
