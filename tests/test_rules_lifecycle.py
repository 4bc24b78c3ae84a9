"""Golden cases for the console lifecycle (R1-R4, R6, R8-R11, R14), worked out by hand.

Catalog: tencent-intl-2022 (Asia/Shanghai). Its menus (R3, R4):
Pro      live_unlimited {false, true}   groups_per_user {500, 1000}   members_per_group {200, 2000}
Ultimate (no live pack: unlimited)      groups_per_user {1000, 3000}  members_per_group {2000, 6000}

Every engine method takes ``t`` (int ns) and returns ``(error_code, reason, note)``; a console
refusal has error code 0 and a reason; a group refusal the Tencent code.
"""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from sim.core.catalog import PACKS
from sim.files.catalogs import load_catalog
from sim.rules.engine import Engine

CAT = load_catalog()
TZ = "Asia/Shanghai"


def ns(text: str) -> int:
    """An instant; a text without offset is Asia/Shanghai wall-clock time."""
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TZ)
    return int(stamp.value)


def new_engine(*overrides: str) -> Engine:
    return Engine(load_catalog(overrides=list(overrides)) if overrides else CAT)


def ok(result: tuple[int, str, str]) -> str:
    """Assert success; return the note."""
    code, reason, note = result
    assert (code, reason) == (0, ""), result
    return note


def refused(result: tuple[int, str, str], reason: str, code: int = 0) -> None:
    assert result[:2] == (code, reason), result


def options(e: Engine, app: str) -> tuple:
    s = e.state(app)
    return (
        s["state"],
        s["edition"],
        s["live_unlimited"],
        s["groups_per_user"],
        s["members_per_group"],
    )


def snapshot(e: Engine, app: str) -> tuple:
    return (e.state(app), e.timeline())


def pro_app(e: Engine, t: str = "2024-01-02T09:00", app: str = "a", **kw) -> None:
    ok(e.create_app(ns(t), app))
    ok(e.upgrade(ns(t), app, "Pro", **kw))


def ultimate_app(e: Engine, t: str = "2024-01-02T09:00", app: str = "a", **kw) -> None:
    ok(e.create_app(ns(t), app))
    ok(e.upgrade(ns(t), app, "Ultimate", **kw))


def trial_app(e: Engine, t: str = "2024-01-02T09:00", app: str = "a") -> None:
    ok(e.create_app(ns(t), app))
    ok(e.downgrade(ns(t), app))


# -- create_app ---------------------------------------------------------------------------------


def test_a_new_app_starts_on_im():
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    assert options(e, "a") == ("IM", "IM", False, 50, 20)


def test_creating_an_app_twice_is_refused_and_changes_nothing():
    e = new_engine()
    pro_app(e)
    before = snapshot(e, "a")
    code, reason, _ = e.create_app(ns("2024-01-03T09:00"), "a")
    assert code == 0 and reason != ""
    assert snapshot(e, "a") == before


@pytest.mark.parametrize(
    ("op", "args"),
    [
        ("upgrade", ("Pro",)),
        ("reconfigure", ()),
        ("downgrade", ()),
        ("buy_prepaid", ("Pro",)),
        ("deactivate", ()),
    ],
)
def test_console_ops_on_an_app_never_created(op, args):
    e = new_engine()
    refused(getattr(e, op)(ns("2024-01-02T09:00"), "ghost", *args), "unknown_app")
    assert "ghost" not in e.apps


# -- R1 upgrade only from IM ----------------------------------------------------------------------


@pytest.mark.parametrize("edition", ["Pro", "Ultimate"])
def test_r1_upgrade_from_im_lands_on_postpaid(edition):
    """R1: IM -> <edition>-postpaid."""
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    ok(e.upgrade(ns("2024-01-02T10:00"), "a", edition))
    assert e.state("a")["state"] == f"{edition}-postpaid"
    assert e.state("a")["edition"] == edition


@pytest.mark.parametrize("start", ["Pro", "Ultimate"])
@pytest.mark.parametrize("target", ["Pro", "Ultimate"])
def test_r1_upgrade_from_postpaid_is_wrong_state(start, target):
    """R1: only IM is upgraded; a postpaid app is reconfigured instead (wrong_state)."""
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    ok(e.upgrade(ns("2024-01-02T09:00"), "a", start))
    before = snapshot(e, "a")
    refused(e.upgrade(ns("2024-02-02T09:00"), "a", target), "wrong_state")
    assert snapshot(e, "a") == before


@pytest.mark.parametrize("edition", ["IM", "Trial", "Gold", None])
def test_r1_upgrade_lands_only_on_pro_or_ultimate(edition):
    """R1: the catalog offers an upgrade to Pro or Ultimate only: anything else is
    invalid_option, and the app stays on IM."""
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    before = snapshot(e, "a")
    refused(e.upgrade(ns("2024-01-02T10:00"), "a", edition), "invalid_option")
    assert snapshot(e, "a") == before


# -- R2 the four items, R3 defaults ---------------------------------------------------------------


def test_r2_upgrade_sets_the_four_items():
    """R2: an upgrade sets edition, unlimited live groups, groups per user, members per group."""
    e = new_engine()
    pro_app(e, live_unlimited=True, groups_per_user=1000, members_per_group=2000)
    assert options(e, "a") == ("Pro-postpaid", "Pro", True, 1000, 2000)


def test_r2_reconfigure_sets_the_four_items_at_once():
    """R2, R9: edition and both caps in one reconfiguration (each item's first change of the
    month)."""
    e = new_engine()
    pro_app(e, live_unlimited=True)
    ok(
        e.reconfigure(
            ns("2024-01-05T09:00"),
            "a",
            "Ultimate",
            live_unlimited=False,
            groups_per_user=3000,
            members_per_group=6000,
        )
    )
    assert options(e, "a") == ("Ultimate-postpaid", "Ultimate", False, 3000, 6000)


@pytest.mark.parametrize(
    ("edition", "expected"),
    [("Pro", (False, 500, 200)), ("Ultimate", (False, 1000, 2000))],
)
def test_r3_upgrade_defaults(edition, expected):
    """R3: Pro 50 live groups (no unlimited pack), 500 groups per user, 200 members; Ultimate
    1000 and 2000 (its live groups are unlimited without a pack). Effective limits are
    exercised in test_rules_limits.py."""
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    assert ok(e.upgrade(ns("2024-01-02T09:00"), "a", edition)) == ""
    assert options(e, "a")[2:] == expected


def test_r2_unnamed_items_keep_their_values():
    """R2: reconfiguring one pack leaves the others as they were."""
    e = new_engine()
    pro_app(e, live_unlimited=True, groups_per_user=1000)
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", members_per_group=2000))
    assert options(e, "a") == ("Pro-postpaid", "Pro", True, 1000, 2000)


def test_r2_edition_change_keeps_values_the_new_edition_offers():
    """Pro with 1000 groups/user and 2000 members -> Ultimate: both values are on Ultimate's
    menu (its defaults), so they stay, and no reset is noted."""
    e = new_engine()
    pro_app(e, groups_per_user=1000, members_per_group=2000)
    note = ok(e.reconfigure(ns("2024-01-05T09:00"), "a", "Ultimate"))
    assert options(e, "a") == ("Ultimate-postpaid", "Ultimate", False, 1000, 2000)
    assert "groups_per_user" not in note and "members_per_group" not in note


def test_r2_edition_change_resets_values_not_offered_and_notes_it():
    """Pro defaults (500, 200) with unlimited live groups -> Ultimate: Ultimate offers neither
    500 nor 200 nor the live pack, so its defaults apply (1000, 2000, no pack); the note names
    each reset item and its new value."""
    e = new_engine()
    pro_app(e, live_unlimited=True)
    note = ok(e.reconfigure(ns("2024-01-05T09:00"), "a", "Ultimate"))
    assert options(e, "a") == ("Ultimate-postpaid", "Ultimate", False, 1000, 2000)
    for item in PACKS:
        assert item in note
    assert "1000" in note and "2000" in note


def test_r2_ultimate_to_pro_resets_the_big_caps_with_a_note():
    """Ultimate with 3000 groups/user and 6000 members -> Pro: neither is on Pro's menu, so
    Pro's defaults (500, 200) apply, noted."""
    e = new_engine()
    ultimate_app(e, groups_per_user=3000, members_per_group=6000)
    note = ok(e.reconfigure(ns("2024-01-05T09:00"), "a", "Pro"))
    assert options(e, "a") == ("Pro-postpaid", "Pro", False, 500, 200)
    assert "groups_per_user" in note and "500" in note
    assert "members_per_group" in note and "200" in note


def test_r2_ultimate_to_pro_keeps_defaults_that_pro_offers():
    """Ultimate's defaults (1000 groups/user, 2000 members) are on Pro's menu (as paid packs),
    so an edition change to Pro that names no pack keeps them: items not named keep their
    values unless the new edition does not offer them."""
    e = new_engine()
    ultimate_app(e)
    out = e.reconfigure(ns("2024-01-05T09:00"), "a", "Pro")
    ok(out)
    assert options(e, "a") == ("Pro-postpaid", "Pro", False, 1000, 2000)
    # free on Ultimate, paid packs on Pro (R4): the note says so, so the cost is not silent
    assert "groups_per_user 1000 kept: a paid pack on Pro" in out[2]
    assert "members_per_group 2000 kept: a paid pack on Pro" in out[2]


def test_r2_named_values_win_over_the_reset():
    e = new_engine()
    ultimate_app(e, groups_per_user=3000)
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", "Pro", groups_per_user=1000))
    assert options(e, "a")[3] == 1000


# -- R4 paid packs --------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", ["Pro", "Ultimate"])
@pytest.mark.parametrize("pack", PACKS)
def test_r4_paid_options_are_those_above_the_default(edition, pack):
    """R4: a value above the edition's default, and unlimited live groups on Pro, is a paid
    pack; the default is free."""
    default = CAT.default_option(edition, pack)
    for value in CAT.offered(edition, pack):
        price = CAT.option_price(edition, pack, value)
        paid = (value is True) if pack == "live_unlimited" else value > default
        assert (price > 0) == paid, (edition, pack, value, price)
    assert CAT.option_price(edition, pack, default) == Decimal(0)


def test_r4_the_published_menus():
    """docs/rules.md: Pro raises groups/user to 1000 and members to 2000; Ultimate to 3000 and 6000;
    only Pro sells unlimited live groups."""
    assert set(CAT.offered("Pro", "live_unlimited")) == {False, True}
    assert set(CAT.offered("Pro", "groups_per_user")) == {500, 1000}
    assert set(CAT.offered("Pro", "members_per_group")) == {200, 2000}
    assert set(CAT.offered("Ultimate", "live_unlimited")) == {False}
    assert set(CAT.offered("Ultimate", "groups_per_user")) == {1000, 3000}
    assert set(CAT.offered("Ultimate", "members_per_group")) == {2000, 6000}


@pytest.mark.parametrize("edition", ["Pro", "Ultimate"])
@pytest.mark.parametrize("pack", PACKS)
def test_r4_every_offered_option_can_be_bought(edition, pack):
    for value in CAT.offered(edition, pack):
        e = new_engine()
        ok(e.create_app(0, "a"))
        ok(e.upgrade(0, "a", edition, **{pack: value}))
        assert e.state("a")[pack] == value


# -- invalid options ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edition", "kw"),
    [
        ("Ultimate", {"live_unlimited": True}),  # Ultimate has no live pack
        ("Pro", {"groups_per_user": 2000}),  # on the purchase page, not in this catalog
        ("Pro", {"groups_per_user": 3000}),  # Ultimate's option
        ("Pro", {"groups_per_user": 600}),
        ("Pro", {"members_per_group": 6000}),
        ("Ultimate", {"groups_per_user": 500}),  # below Ultimate's default
        ("Ultimate", {"members_per_group": 200}),
        ("Pro", {"groups_per_user": True}),  # a boolean is not a cap
        ("Pro", {"live_unlimited": 1}),  # a number is not a boolean
    ],
)
def test_invalid_option_on_upgrade(edition, kw):
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    before = snapshot(e, "a")
    refused(e.upgrade(ns("2024-01-02T10:00"), "a", edition, **kw), "invalid_option")
    assert snapshot(e, "a") == before


@pytest.mark.parametrize(
    "kw",
    [
        {"edition": "Ultimate", "live_unlimited": True},
        {"edition": "Trial"},
        {"edition": "IM"},
        {"groups_per_user": 3000},
        {"members_per_group": 6000},
    ],
)
def test_invalid_option_on_reconfigure_changes_nothing_and_spends_nothing(kw):
    """A refused reconfiguration does not use up the month (R9): the valid change right after
    it is allowed."""
    e = new_engine()
    pro_app(e)
    before = snapshot(e, "a")
    refused(e.reconfigure(ns("2024-01-05T09:00"), "a", **kw), "invalid_option")
    assert snapshot(e, "a") == before
    ok(e.reconfigure(ns("2024-01-05T10:00"), "a", "Ultimate", groups_per_user=3000))
    ok(e.reconfigure(ns("2024-01-05T11:00"), "a", members_per_group=6000))


@pytest.mark.parametrize(
    ("edition", "kw"),
    [
        ("Ultimate", {"live_unlimited": True}),
        ("Pro", {"members_per_group": 6000}),
        ("Pro", {"months": 0}),
        ("Trial", {}),
        ("IM", {}),
    ],
)
def test_invalid_option_on_buy_prepaid(edition, kw):
    e = new_engine()
    trial_app(e)
    before = snapshot(e, "a")
    refused(e.buy_prepaid(ns("2024-01-05T09:00"), "a", edition, **kw), "invalid_option")
    assert snapshot(e, "a") == before


# -- R6 immediacy (state side; limit side in test_rules_limits.py) --------------------------------


def test_r6_a_change_takes_effect_at_its_instant():
    """R6: the timeline switches exactly at the reconfiguration's instant."""
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    t = ns("2024-01-05T13:45:10")
    ok(e.reconfigure(t, "a", "Ultimate"))
    rows = [r for r in e.timeline() if r[0] == "a"]
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (ns("2024-01-02T09:00"), t, "Pro-postpaid"),
        (t, None, "Ultimate-postpaid"),
    ]


def test_r6_changes_at_one_instant_leave_only_the_last_interval():
    """create_app and upgrade at the same instant: the IM interval would be empty, so the
    timeline starts on Pro-postpaid."""
    e = new_engine()
    t = ns("2024-01-02T09:00")
    ok(e.create_app(t, "a"))
    ok(e.upgrade(t, "a", "Pro"))
    assert [(r[1], r[2], r[3]) for r in e.timeline()] == [(t, None, "Pro-postpaid")]


# -- R8 reconfigure only postpaid -----------------------------------------------------------------


def test_r8_reconfigure_on_im_is_wrong_state():
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    before = snapshot(e, "a")
    refused(e.reconfigure(ns("2024-01-03T09:00"), "a", "Pro"), "wrong_state")
    refused(e.reconfigure(ns("2024-01-03T09:00"), "a", groups_per_user=1000), "wrong_state")
    assert snapshot(e, "a") == before


def test_r8_reconfigure_on_trial_and_trial_prepaid_is_wrong_state():
    e = new_engine()
    trial_app(e)
    refused(e.reconfigure(ns("2024-01-03T09:00"), "a", "Pro"), "wrong_state")
    ok(e.buy_prepaid(ns("2024-01-04T09:00"), "a", "Pro"))
    before = snapshot(e, "a")
    refused(e.reconfigure(ns("2024-01-05T09:00"), "a", groups_per_user=1000), "wrong_state")
    assert snapshot(e, "a") == before


@pytest.mark.parametrize("edition", ["Pro", "Ultimate"])
def test_r8_reconfigure_on_postpaid_is_allowed(edition):
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    ok(e.upgrade(ns("2024-01-02T09:00"), "a", edition))
    other = "Ultimate" if edition == "Pro" else "Pro"
    ok(e.reconfigure(ns("2024-01-03T09:00"), "a", other))
    assert e.state("a")["state"] == f"{other}-postpaid"


# -- R9 one change per item per calendar month ----------------------------------------------------


def test_r9_months_are_calendar_months_in_asia_shanghai():
    """R9: 2024-01-31T23:30+08:00 (15:30Z) and 2024-02-01T00:10+08:00 (16:10Z) are both on
    2024-01-31 in UTC but in January and February in the catalog's zone: two edition changes,
    one per month, both allowed."""
    e = new_engine()
    pro_app(e, t="2024-01-10T09:00")
    ok(e.reconfigure(ns("2024-01-31T23:30+08:00"), "a", "Ultimate"))
    ok(e.reconfigure(ns("2024-02-01T00:10+08:00"), "a", "Pro"))
    assert e.state("a")["edition"] == "Pro"


def test_r9_months_follow_the_catalogs_zone_whatever_it_is():
    """Under a Europe/Berlin catalog (summer time, +02:00): 2024-03-31T23:30+02:00 is March,
    2024-04-01T00:10+02:00 is April (both 2024-03-31 in UTC); under Asia/Shanghai the same two
    instants (05:30 and 06:10 on 2024-04-01 there) are one month."""
    first, second = ns("2024-03-31T23:30+02:00"), ns("2024-04-01T00:10+02:00")
    berlin = new_engine("timezone=Europe/Berlin")
    pro_app(berlin, t="2024-03-10T09:00+01:00")
    ok(berlin.reconfigure(first, "a", "Ultimate"))
    ok(berlin.reconfigure(second, "a", "Pro"))
    shanghai = new_engine()
    pro_app(shanghai, t="2024-03-10T09:00+01:00")
    ok(shanghai.reconfigure(first, "a", "Ultimate"))
    refused(shanghai.reconfigure(second, "a", "Pro"), "monthly_limit")


def test_r9_second_edition_change_in_a_month_is_refused():
    """R9: Ultimate at 23:00 and back to Pro at 23:30 on 2024-01-31 (local): one month."""
    e = new_engine()
    pro_app(e, t="2024-01-10T09:00")
    ok(e.reconfigure(ns("2024-01-31T23:00+08:00"), "a", "Ultimate"))
    before = snapshot(e, "a")
    refused(e.reconfigure(ns("2024-01-31T23:30+08:00"), "a", "Pro"), "monthly_limit")
    assert snapshot(e, "a") == before
    ok(
        e.reconfigure(ns("2024-02-01T00:00+08:00"), "a", "Pro")
    )  # the next month, at its first instant


@pytest.mark.parametrize(
    ("pack", "first", "second"),
    [
        ("live_unlimited", True, False),
        ("groups_per_user", 1000, 500),
        ("members_per_group", 2000, 200),
    ],
)
def test_r9_second_change_of_a_pack_in_a_month_is_refused(pack, first, second):
    """R9: switching a pack on and off again in January is two changes: the second is refused
    until February."""
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", **{pack: first}))
    before = snapshot(e, "a")
    refused(e.reconfigure(ns("2024-01-31T23:59:59"), "a", **{pack: second}), "monthly_limit")
    assert snapshot(e, "a") == before
    ok(e.reconfigure(ns("2024-02-01T00:00"), "a", **{pack: second}))
    assert e.state("a")[pack] == second


def test_r9_different_packs_in_one_month_are_allowed():
    """R9 counts per item: the edition and each pack have their own monthly change."""
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", live_unlimited=True))
    ok(e.reconfigure(ns("2024-01-06T09:00"), "a", groups_per_user=1000))
    ok(e.reconfigure(ns("2024-01-07T09:00"), "a", members_per_group=2000))
    assert options(e, "a") == ("Pro-postpaid", "Pro", True, 1000, 2000)
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", "Ultimate"))
    ok(e.reconfigure(ns("2024-01-06T09:00"), "a", groups_per_user=3000))
    ok(e.reconfigure(ns("2024-01-07T09:00"), "a", members_per_group=6000))
    assert options(e, "a") == ("Ultimate-postpaid", "Ultimate", False, 3000, 6000)


def test_r9_an_upgrade_does_not_use_up_the_month():
    """R9: the upgrade (IM -> Pro with 1000 groups/user) is not a reconfiguration: in the same
    month the edition and the groups-per-user pack can each still be changed once."""
    e = new_engine()
    ok(e.create_app(ns("2024-01-05T09:00"), "a"))
    ok(e.upgrade(ns("2024-01-05T10:00"), "a", "Pro", groups_per_user=1000))
    ok(e.reconfigure(ns("2024-01-06T09:00"), "a", "Ultimate"))
    ok(e.reconfigure(ns("2024-01-07T09:00"), "a", groups_per_user=3000))
    refused(e.reconfigure(ns("2024-01-08T09:00"), "a", "Pro"), "monthly_limit")


def test_r9_all_or_nothing_when_one_item_is_over_its_monthly_limit():
    """R9: groups_per_user was changed on Jan 5; a reconfiguration on Jan 6 naming the edition
    and groups_per_user is refused whole: the edition does not change either, and its month is
    not used up (the edition alone is allowed on Jan 7)."""
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", groups_per_user=1000))
    before = snapshot(e, "a")
    refused(
        e.reconfigure(
            ns("2024-01-06T09:00"), "a", "Ultimate", groups_per_user=3000, members_per_group=6000
        ),
        "monthly_limit",
    )
    assert snapshot(e, "a") == before
    ok(e.reconfigure(ns("2024-01-07T09:00"), "a", "Ultimate", members_per_group=6000))
    assert options(e, "a") == ("Ultimate-postpaid", "Ultimate", False, 1000, 6000)


def test_r9_naming_an_item_with_its_current_value_is_not_a_change():
    """R9 limits changes: naming groups_per_user=1000 when it already is 1000 changes nothing,
    so it does not count against (nor is refused by) the month's single change."""
    e = new_engine()
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", groups_per_user=1000))
    ok(e.reconfigure(ns("2024-01-06T09:00"), "a", groups_per_user=1000, members_per_group=2000))
    assert options(e, "a")[3:] == (1000, 2000)


def test_r9_limits_are_catalog_data():
    """transitions.pack_changes_per_month = 2 allows a pack on and off in one month."""
    e = new_engine("transitions.pack_changes_per_month=2")
    pro_app(e, t="2024-01-02T09:00")
    ok(e.reconfigure(ns("2024-01-05T09:00"), "a", live_unlimited=True))
    ok(e.reconfigure(ns("2024-01-06T09:00"), "a", live_unlimited=False))
    refused(e.reconfigure(ns("2024-01-07T09:00"), "a", live_unlimited=True), "monthly_limit")


# -- R10 downgrade only from IM -------------------------------------------------------------------


def test_r10_downgrade_from_im_lands_on_trial():
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    ok(e.downgrade(ns("2024-01-03T09:00"), "a"))
    assert options(e, "a") == ("Trial", "Trial", False, 50, 20)


@pytest.mark.parametrize("setup", [pro_app, ultimate_app, trial_app])
def test_r10_downgrade_from_anything_else_is_wrong_state(setup):
    """R10: Pro-postpaid, Ultimate-postpaid and Trial cannot be downgraded."""
    e = new_engine()
    setup(e)
    before = snapshot(e, "a")
    refused(e.downgrade(ns("2024-01-05T09:00"), "a"), "wrong_state")
    assert snapshot(e, "a") == before


# -- R11 Trial: never postpaid again; prepaid packages --------------------------------------------


def test_r11_upgrading_a_trial_app_is_postpaid_closed():
    e = new_engine()
    trial_app(e)
    before = snapshot(e, "a")
    for edition in ("Pro", "Ultimate"):
        refused(e.upgrade(ns("2024-01-05T09:00"), "a", edition), "postpaid_closed")
    assert snapshot(e, "a") == before


def test_r11_postpaid_stays_closed_while_and_after_prepaid():
    e = new_engine()
    trial_app(e, t="2024-01-02T09:00")
    ok(e.buy_prepaid(ns("2024-01-05T09:00"), "a", "Pro"))
    refused(e.upgrade(ns("2024-01-06T09:00"), "a", "Ultimate"), "postpaid_closed")
    # lapsed on 2024-02-05 00:00
    refused(e.upgrade(ns("2024-03-01T09:00"), "a", "Pro"), "postpaid_closed")
    assert e.state("a")["state"] == "Trial-lapsed"


def test_r11_buy_prepaid_on_trial():
    """R11: bought 2024-01-05 09:00 -> runs through Feb 4, i.e. until 2024-02-05 00:00 local,
    with the bought edition's options."""
    e = new_engine()
    trial_app(e)
    ok(
        e.buy_prepaid(
            ns("2024-01-05T09:00"), "a", "Pro", live_unlimited=True, members_per_group=2000
        )
    )
    s = e.state("a")
    assert (
        s["state"],
        s["edition"],
        s["live_unlimited"],
        s["groups_per_user"],
        s["members_per_group"],
    ) == (
        "Trial-prepaid",
        "Pro",
        True,
        500,
        2000,
    )
    assert s["prepaid_until"] == ns("2024-02-05T00:00")


@pytest.mark.parametrize("setup", [pro_app, ultimate_app])
def test_r11_buy_prepaid_is_only_for_trial(setup):
    """Postpaid apps reconfigure; prepaid packages are the Trial edition's way up."""
    e = new_engine()
    setup(e)
    before = snapshot(e, "a")
    refused(e.buy_prepaid(ns("2024-01-05T09:00"), "a", "Pro"), "wrong_state")
    assert snapshot(e, "a") == before


def test_r11_buy_prepaid_on_im_is_refused():
    e = new_engine()
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))
    before = snapshot(e, "a")
    code, reason, _ = e.buy_prepaid(ns("2024-01-05T09:00"), "a", "Pro")
    assert code == 0 and reason != ""
    assert snapshot(e, "a") == before


def test_r11_bought_on_the_31st_runs_to_the_1st_of_the_month_after_next():
    """Bought 2024-01-31: February has no 31st, so it runs until 2024-03-01 00:00 local."""
    e = new_engine()
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-31T22:00"), "a", "Pro"))
    assert e.state("a")["prepaid_until"] == ns("2024-03-01T00:00")


def test_r11_renewal_extends_from_the_expiry():
    """Bought 2024-01-15 10:00 -> until 2024-02-15 00:00; renewed on Feb 1 for one month ->
    until 2024-03-15 00:00; renewed on Mar 1 for two months -> until 2024-05-15 00:00."""
    e = new_engine()
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-15T10:00"), "a", "Pro"))
    assert e.state("a")["prepaid_until"] == ns("2024-02-15T00:00")
    ok(e.buy_prepaid(ns("2024-02-01T10:00"), "a", "Pro"))
    assert e.state("a")["prepaid_until"] == ns("2024-03-15T00:00")
    ok(e.buy_prepaid(ns("2024-03-01T10:00"), "a", "Pro", months=2))
    assert e.state("a")["prepaid_until"] == ns("2024-05-15T00:00")
    assert e.state("a")["state"] == "Trial-prepaid"


def test_r11_after_the_lapse_group_ops_are_refused_with_60020():
    """Bought 2024-01-15 10:00 -> runs until 2024-02-15 00:00 local: a registration one
    nanosecond before is served, one at the instant of expiry is refused (60020), and so is
    every group operation afterwards."""
    e = new_engine()
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-15T10:00"), "a", "Pro"))
    ok(e.create_group(ns("2024-01-20T10:00"), "a", "o", "g", "Work"))
    expiry = ns("2024-02-15T00:00")
    ok(e.register_user(expiry - 1, "a", "u1"))
    refused(e.register_user(expiry, "a", "u2"), "prepaid_expired", 60020)
    t = ns("2024-02-20T10:00")
    refused(e.create_group(t, "a", "o", "g2", "Work"), "prepaid_expired", 60020)
    refused(e.join_group(t, "a", "u1", "g"), "prepaid_expired", 60020)
    refused(e.leave_group(t, "a", "o", "g"), "prepaid_expired", 60020)
    refused(e.dissolve_group(t, "a", "o", "g"), "prepaid_expired", 60020)
    assert e.state("a")["state"] == "Trial-lapsed"
    assert e.counts("a") == {"accounts": 2, "live_groups": 0, "nonlive_groups": 1}


def test_r11_the_timeline_shows_the_lapse_at_the_expiry():
    e = new_engine()
    trial_app(e, t="2024-01-02T09:00")
    ok(e.buy_prepaid(ns("2024-01-15T10:00"), "a", "Pro"))
    rows = [(r[1], r[2], r[3]) for r in e.timeline()]
    expiry = ns("2024-02-15T00:00")
    assert rows == [
        (ns("2024-01-02T09:00"), ns("2024-01-15T10:00"), "Trial"),
        (ns("2024-01-15T10:00"), expiry, "Trial-prepaid"),
        (expiry, None, "Trial-lapsed"),
    ]


def test_r11_a_new_purchase_restores_service():
    """After the lapse on 2024-02-15, a purchase on 2024-03-10 10:00 runs until 2024-04-10 00:00
    (from the purchase, not from the old expiry) and group operations are served again; the
    group made before the lapse is still there (R12)."""
    e = new_engine()
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-15T10:00"), "a", "Pro"))
    ok(e.create_group(ns("2024-01-20T10:00"), "a", "o", "g", "Work"))
    refused(e.join_group(ns("2024-03-01T10:00"), "a", "u", "g"), "prepaid_expired", 60020)
    ok(e.buy_prepaid(ns("2024-03-10T10:00"), "a", "Ultimate"))
    assert e.state("a")["prepaid_until"] == ns("2024-04-10T00:00")
    ok(e.join_group(ns("2024-03-10T10:00"), "a", "u", "g"))
    assert e.group_size("a", "g") == 2
    rows = [(r[1], r[3]) for r in e.timeline()]
    assert rows[-3:] == [
        (ns("2024-02-15T00:00"), "Trial-lapsed"),
        (ns("2024-03-10T10:00"), "Trial-prepaid"),
        (ns("2024-04-10T00:00"), "Trial-lapsed"),
    ]


def test_r11_a_purchase_on_plain_trial_is_not_a_renewal():
    e = new_engine()
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-03-31T10:00"), "a", "Pro", months=2))
    assert e.state("a")["prepaid_until"] == ns("2024-05-31T00:00")


# -- R14 deactivation -----------------------------------------------------------------------------


def _im(e):
    ok(e.create_app(ns("2024-01-02T09:00"), "a"))


def _trial_prepaid(e):
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-03T09:00"), "a", "Ultimate", months=3))  # until 2024-04-03


def _trial_lapsed(e):
    trial_app(e)
    ok(e.buy_prepaid(ns("2024-01-03T09:00"), "a", "Pro"))  # until 2024-02-03 00:00
    ok(e.create_group(ns("2024-01-04T09:00"), "a", "o", "g", "Work"))
    refused(e.register_user(ns("2024-02-03T00:00"), "a", "u"), "prepaid_expired", 60020)


LIVE_STATES = {
    "IM": _im,
    "Trial": trial_app,
    "Trial-prepaid": _trial_prepaid,
    "Trial-lapsed": _trial_lapsed,
    "Pro-postpaid": pro_app,
    "Ultimate-postpaid": ultimate_app,
}


@pytest.mark.parametrize("state", list(LIVE_STATES))
def test_r14_deactivation_from_every_live_state_is_final(state):
    """R14: allowed from any live state; afterwards every console op is refused as
    `deactivated` (code 0) and every group op with 60016 -- at the same instant already."""
    e = new_engine()
    LIVE_STATES[state](e)
    if state != "Trial-lapsed":
        ok(e.create_group(ns("2024-01-04T09:00"), "a", "o", "g", "Work"))
    assert e.state("a")["state"] == state
    t = ns("2024-02-10T10:00")
    ok(e.deactivate(t, "a"))
    assert e.state("a")["state"] == "Deactivated"
    before = (e.state("a"), e.timeline(), e.counts("a"))
    for later in (t, ns("2024-03-10T10:00"), ns("2025-06-01T00:00")):
        refused(e.create_app(later, "a"), "deactivated")
        refused(e.upgrade(later, "a", "Pro"), "deactivated")
        refused(e.reconfigure(later, "a", "Ultimate"), "deactivated")
        refused(e.downgrade(later, "a"), "deactivated")
        refused(e.buy_prepaid(later, "a", "Pro"), "deactivated")
        refused(e.deactivate(later, "a"), "deactivated")
        refused(e.register_user(later, "a", "u"), "deactivated", 60016)
        refused(e.create_group(later, "a", "o", "g9", "AVChatRoom"), "deactivated", 60016)
        refused(e.join_group(later, "a", "u", "g"), "deactivated", 60016)
        refused(e.leave_group(later, "a", "o", "g"), "deactivated", 60016)
        refused(e.dissolve_group(later, "a", "o", "g"), "deactivated", 60016)
    assert (e.state("a"), e.timeline(), e.counts("a")) == before
    last = [r for r in e.timeline() if r[0] == "a"][-1]
    assert (last[1], last[2], last[3]) == (t, None, "Deactivated")


def test_r14_deactivating_one_app_leaves_the_others_alone():
    e = new_engine()
    pro_app(e, app="a")
    pro_app(e, app="b")
    ok(e.deactivate(ns("2024-01-05T09:00"), "a"))
    ok(e.reconfigure(ns("2024-01-05T09:00"), "b", "Ultimate"))
    ok(e.register_user(ns("2024-01-05T09:00"), "b", "u"))
