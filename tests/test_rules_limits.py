"""Golden cases for the limits (R3, R5, R6, R12, R13), worked out by hand.

Catalog: tencent-intl-2022; where its numbers are big, small limits are set with overrides.
Published limits (docs/rules.md): IM/Trial 100 accounts (70398), 50 groups per user (10037), 20
members per group (10014/10038), 100 non-live groups (10058), 10 live groups (10036), no
Community (10059); Pro 50 live groups, 500 groups per user, 200 members; Ultimate unlimited
live groups, 1000 groups per user, 2000 members. Group types: the member cap covers Work,
Public and Meeting; AVChatRoom has none; Community has its own 100,000 (R5).

Precedence when several limits are broken (the first wins): app state, group type support,
app-wide counts (70398, then 10036/10058), group capacity (10038/10014), the owner's or joiner's
group count (10037), an invited member's group count (10037).
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.errors import CatalogError
from sim.files.catalogs import load_catalog
from sim.rules.engine import Engine

CAT = load_catalog()
TZ = "Asia/Shanghai"

OK = (0, "", "")
DEACTIVATED = (60016, "deactivated", "")
UNKNOWN_APP = (70020, "unknown_app", "")
PREPAID_EXPIRED = (60020, "prepaid_expired", "")
COMMUNITY = (10059, "community_unsupported", "")
ACCOUNTS = (70398, "account_limit", "")
LIVE = (10036, "live_group_limit", "")
NONLIVE = (10058, "group_limit", "")
TOO_MANY = (10038, "too_many_members", "")
FULL = (10014, "group_full", "")
USER_GROUPS = (10037, "user_group_limit", "")


def ns(text: str) -> int:
    stamp = pd.Timestamp(text)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(TZ)
    return int(stamp.value)


T0 = ns("2024-01-02T09:00")
T1 = ns("2024-01-10T09:00")  # group activity
T2 = ns("2024-02-05T09:00")  # next month: a reconfiguration
T3 = ns("2024-02-06T09:00")  # activity after it


def small_free(**limits: object) -> list[str]:
    """Overrides for IM and Trial limits."""
    return [f"editions.{ed}.limits.{k}={v}" for ed in ("IM", "Trial") for k, v in limits.items()]


def new_engine(overrides: list[str] | tuple[str, ...] = ()) -> Engine:
    return Engine(load_catalog(overrides=list(overrides)) if overrides else CAT)


def app_on(edition: str, overrides=(), app: str = "a", t: int = T0, **packs) -> Engine:
    """An engine with app ``a`` on IM, Trial, or upgraded to Pro/Ultimate with ``packs``."""
    e = new_engine(overrides)
    assert e.create_app(t, app) == OK
    if edition == "Trial":
        assert e.downgrade(t, app) == OK
    elif edition != "IM":
        assert e.upgrade(t, app, edition, **packs)[:2] == (0, "")
    return e


def members(n: int, prefix: str = "m") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def fill_live(
    e: Engine, n: int, t: int = T1, app: str = "a", prefix: str = "live", owner: str = "owner"
) -> None:
    for i in range(n):
        assert e.create_group(t, app, owner, f"{prefix}{i}", "AVChatRoom") == OK, i


def groups_of(e: Engine, user: str, n: int, t: int = T1, app: str = "a", prefix: str = "w") -> None:
    """``user`` creates ``n`` Work groups."""
    for i in range(n):
        assert e.create_group(t, app, user, f"{prefix}{i}", "Work") == OK, i


# -- R3 effective defaults ------------------------------------------------------------------------


def test_r3_pro_allows_50_live_groups():
    """R3: Pro without the pack: the 50th live group is created, the 51st refused (10036)."""
    e = app_on("Pro")
    fill_live(e, 50)
    assert e.create_group(T1, "a", "owner", "live50", "AVChatRoom") == LIVE
    assert e.counts("a")["live_groups"] == 50


def test_r3_pro_with_the_live_pack_is_unlimited():
    e = app_on("Pro", live_unlimited=True)
    fill_live(e, 120)
    assert e.counts("a")["live_groups"] == 120


def test_r3_ultimate_live_groups_are_unlimited():
    e = app_on("Ultimate")
    fill_live(e, 300)
    assert e.counts("a")["live_groups"] == 300


@pytest.mark.parametrize(
    ("edition", "packs", "cap"),
    [("Pro", {}, 500), ("Pro", {"groups_per_user": 1000}, 1000), ("Ultimate", {}, 1000)],
)
def test_r3_groups_per_user(edition, packs, cap):
    """R3: a user creates and joins up to the cap; one more is refused with 10037, whether by
    creating or by joining."""
    e = app_on(edition, **packs)
    groups_of(e, "u", cap - 1)
    assert e.create_group(T1, "a", "other", "x", "Public") == OK
    assert e.join_group(T1, "a", "u", "x") == OK  # the cap-th group, by joining
    assert e.user_groups("a", "u") == cap
    assert e.create_group(T1, "a", "u", "one-more", "Work") == USER_GROUPS
    assert e.create_group(T1, "a", "other", "y", "Meeting") == OK
    assert e.join_group(T1, "a", "u", "y") == USER_GROUPS
    assert e.user_groups("a", "u") == cap


@pytest.mark.parametrize(
    ("edition", "packs", "cap"),
    [
        ("IM", {}, 20),
        ("Trial", {}, 20),
        ("Pro", {}, 200),
        ("Pro", {"members_per_group": 2000}, 2000),
        ("Ultimate", {}, 2000),
    ],
)
def test_r3_members_per_group(edition, packs, cap):
    """R3/R5: a Work group holds `cap` members counting its owner: created with owner + cap-1
    it is full; a join is refused with 10014; creating with owner + cap is refused with
    10038."""
    e = app_on(edition, **packs)  # on IM/Trial the 100 accounts hold owner + 19 + 20 new ones
    assert e.create_group(T1, "a", "owner", "g", "Work", members(cap - 1)) == OK
    assert e.group_size("a", "g") == cap
    assert e.join_group(T1, "a", "late", "g") == FULL
    assert e.create_group(T1, "a", "owner", "g2", "Work", members(cap, "n")) == TOO_MANY
    assert e.group_size("a", "g2") == 0


@pytest.mark.parametrize("edition", ["IM", "Trial"])
def test_r3_free_tier_limits(edition):
    """docs/rules.md: 100 accounts (70398), 100 non-live groups (10058), 10 live groups (10036),
    50 groups per user (10037), no Community (10059)."""
    e = app_on(edition)
    for i in range(100):
        assert e.register_user(T1, "a", f"u{i}") == OK
    assert e.register_user(T1, "a", "u100") == ACCOUNTS
    assert e.counts("a")["accounts"] == 100
    fill_live(e, 10, prefix="L", owner="u0")
    assert e.create_group(T1, "a", "u0", "L10", "AVChatRoom") == LIVE
    for i in range(100):  # two owners, 50 groups each
        assert e.create_group(T1, "a", f"u{i % 2}", f"g{i}", "Work") == OK
    assert e.create_group(T1, "a", "u2", "g100", "Public") == NONLIVE
    assert e.create_group(T1, "a", "u1", "L9x", "AVChatRoom") == LIVE
    assert e.create_group(T1, "a", "u2", "c", "Community") == COMMUNITY


def test_r3_paid_editions_have_no_account_or_nonlive_group_limit():
    e = app_on("Pro")
    for i in range(300):
        assert e.register_user(T1, "a", f"u{i}") == OK
        assert e.create_group(T1, "a", f"u{i}", f"g{i}", "Work") == OK
    assert e.counts("a") == {"accounts": 300, "live_groups": 0, "nonlive_groups": 300}


def test_r3_community_only_on_ultimate():
    """10059 outside Ultimate: IM, Trial, Pro refuse; Ultimate (postpaid or prepaid) allows."""
    for edition in ("IM", "Trial", "Pro"):
        e = app_on(edition)
        assert e.create_group(T1, "a", "o", "c", "Community") == COMMUNITY
        assert e.counts("a") == {"accounts": 0, "live_groups": 0, "nonlive_groups": 0}
    e = app_on("Ultimate")
    assert e.create_group(T1, "a", "o", "c", "Community") == OK
    e = app_on("Trial")
    assert e.buy_prepaid(T0, "a", "Ultimate") == OK
    assert e.create_group(T1, "a", "o", "c", "Community") == OK
    e = app_on("Trial")
    assert e.buy_prepaid(T0, "a", "Pro") == OK
    assert e.create_group(T1, "a", "o", "c", "Community") == COMMUNITY


def test_r3_prepaid_package_brings_its_editions_limits():
    """Trial-prepaid Pro: Pro's 200 members and 50 live groups, not Trial's 20 and 10."""
    e = app_on("Trial")
    assert e.buy_prepaid(T0, "a", "Pro") == OK
    fill_live(e, 50)
    assert e.create_group(T1, "a", "owner", "L", "AVChatRoom") == LIVE
    assert e.create_group(T1, "a", "owner", "g", "Work", members(199)) == OK
    assert e.join_group(T1, "a", "x", "g") == FULL


# -- R5 the member cap by group type --------------------------------------------------------------


@pytest.mark.parametrize("gtype", ["Work", "Public", "Meeting"])
def test_r5_member_cap_covers_work_public_meeting(gtype):
    e = app_on("IM")
    assert e.create_group(T1, "a", "o", "g", gtype, members(19)) == OK
    assert e.join_group(T1, "a", "x", "g") == FULL


def test_r5_avchatroom_has_no_member_cap():
    """IM's cap of 20 does not apply to AVChatRoom: 60 members join."""
    e = app_on("IM")
    assert e.create_group(T1, "a", "o", "live", "AVChatRoom", members(30)) == OK
    for i in range(30):
        assert e.join_group(T1, "a", f"j{i}", "live") == OK
    assert e.group_size("a", "live") == 61


def test_r5_community_has_its_own_limit_not_the_member_cap():
    """Ultimate's member cap is 2000; a Community group takes 2500 members (its own limit is
    100,000)."""
    e = app_on("Ultimate")
    assert e.create_group(T1, "a", "o", "c", "Community", members(2500)) == OK
    assert e.join_group(T1, "a", "x", "c") == OK
    assert e.group_size("a", "c") == 2502


def test_r5_community_own_limit_binds():
    """With Community's own limit set to 5: owner + 4 created, the 6th member refused (10014);
    creating with owner + 5 refused (10038) -- whatever the member cap (2000)."""
    e = app_on("Ultimate", ["group_types.Community.max_members=5"])
    assert e.create_group(T1, "a", "o", "c", "Community", members(4)) == OK
    assert e.join_group(T1, "a", "x", "c") == FULL
    assert e.create_group(T1, "a", "o", "c2", "Community", members(5, "n")) == TOO_MANY


def test_r5_member_cap_above_a_types_own_limit_is_rejected_by_the_catalog():
    """R5: the member cap never exceeds the type's own limit: a catalog offering Pro 2000
    members when Work holds at most 1000 is invalid."""
    with pytest.raises(CatalogError, match="R5"):
        load_catalog(overrides=["group_types.Work.max_members=1000"])


def test_r5_avchatroom_memberships_do_not_count_towards_groups_per_user():
    """10037 counts non-live groups only: a user at IM's 50 can still create and join live
    groups, and those do not raise the count."""
    e = app_on("IM")
    groups_of(e, "u", 50)
    assert e.create_group(T1, "a", "u", "w-extra", "Work") == USER_GROUPS
    assert e.create_group(T1, "a", "u", "live-own", "AVChatRoom") == OK
    assert e.create_group(T1, "a", "v", "live-other", "AVChatRoom") == OK
    assert e.join_group(T1, "a", "u", "live-other") == OK
    assert e.user_groups("a", "u") == 50


def test_r5_community_memberships_count_towards_groups_per_user():
    e = app_on(
        "Ultimate",
        [
            "editions.Ultimate.limits.groups_per_user=2",
            "editions.Ultimate.packs.groups_per_user.default=2",
            "editions.Ultimate.packs.groups_per_user.options={2: 0, 3: 1}",
        ],
    )
    assert e.create_group(T1, "a", "u", "c1", "Community") == OK
    assert e.create_group(T1, "a", "u", "w1", "Work") == OK
    assert e.create_group(T1, "a", "u", "c2", "Community") == USER_GROUPS


# -- R6 limits change at the instant --------------------------------------------------------------


def test_r6_a_raised_cap_applies_from_the_instant_of_the_change():
    """Pro group at 200 members: refused at T2-1ns; at T2 the member pack (2000) is bought and
    a join at the same instant is served."""
    e = app_on("Pro")
    assert e.create_group(T1, "a", "o", "g", "Work", members(199)) == OK
    assert e.join_group(T2 - 1, "a", "x", "g") == FULL
    assert e.reconfigure(T2, "a", members_per_group=2000)[:2] == (0, "")
    assert e.join_group(T2, "a", "x", "g") == OK


def test_r6_a_lowered_limit_applies_from_the_instant_of_the_change():
    """Pro with unlimited live groups and 50 of them: at T2 the pack is dropped; creating the
    51st at T2 is refused (10036)."""
    e = app_on("Pro", live_unlimited=True)
    fill_live(e, 50)
    assert e.create_group(T2 - 1, "a", "owner", "before", "AVChatRoom") == OK
    assert e.reconfigure(T2, "a", live_unlimited=False)[:2] == (0, "")
    assert e.create_group(T2, "a", "owner", "after", "AVChatRoom") == LIVE


def test_r6_an_upgrade_applies_at_once():
    """IM: the 11th live group is refused; upgraded to Pro at T2, it is created at T2."""
    e = app_on("IM")
    fill_live(e, 10)
    assert e.create_group(T1, "a", "owner", "x", "AVChatRoom") == LIVE
    assert e.upgrade(T2, "a", "Pro")[:2] == (0, "")
    assert e.create_group(T2, "a", "owner", "x", "AVChatRoom") == OK


# -- R12 what exists stays ------------------------------------------------------------------------


def test_r12_live_groups_over_a_lowered_count_stay_until_dissolved():
    """Pro with the live pack and 60 live groups; the pack is dropped next month (limit 50).
    All 60 stay; new ones are refused until the count is below 50: after dissolving 10 (50
    left) still refused, after the 11th (49 left) one is created, and the next refused."""
    e = app_on("Pro", live_unlimited=True)
    fill_live(e, 60)
    assert e.reconfigure(T2, "a", live_unlimited=False)[:2] == (0, "")
    assert e.counts("a")["live_groups"] == 60
    assert e.create_group(T3, "a", "owner", "new", "AVChatRoom") == LIVE
    for i in range(10):
        assert e.dissolve_group(T3, "a", "owner", f"live{i}") == OK
    assert e.counts("a")["live_groups"] == 50
    assert e.create_group(T3, "a", "owner", "new", "AVChatRoom") == LIVE
    assert e.dissolve_group(T3, "a", "owner", "live10") == OK
    assert e.create_group(T3, "a", "owner", "new", "AVChatRoom") == OK
    assert e.create_group(T3, "a", "owner", "new2", "AVChatRoom") == LIVE
    assert e.counts("a")["live_groups"] == 50


def test_r12_ultimate_to_pro_keeps_live_groups():
    """Ultimate (unlimited) with 55 live groups -> Pro (50): the 55 stay, a new one is refused."""
    e = app_on("Ultimate")
    fill_live(e, 55)
    assert e.reconfigure(T2, "a", "Pro")[:2] == (0, "")
    assert e.counts("a")["live_groups"] == 55
    assert e.create_group(T3, "a", "owner", "new", "AVChatRoom") == LIVE


def test_r12_a_group_over_a_lowered_cap_keeps_its_members_and_refuses_new_ones():
    """Pro with 2000 members per group, a Work group of 250; back to 200 next month: the 250
    stay; joins are refused (10014) until fewer than 200 remain."""
    e = app_on("Pro", members_per_group=2000)
    assert e.create_group(T1, "a", "o", "g", "Work", members(249)) == OK
    assert e.reconfigure(T2, "a", members_per_group=200)[:2] == (0, "")
    assert e.group_size("a", "g") == 250
    assert e.join_group(T3, "a", "x", "g") == FULL
    for i in range(50):
        assert e.leave_group(T3, "a", f"m{i}", "g") == OK
    assert e.group_size("a", "g") == 200
    assert e.join_group(T3, "a", "x", "g") == FULL
    assert e.leave_group(T3, "a", "m50", "g") == OK
    assert e.join_group(T3, "a", "x", "g") == OK
    assert e.join_group(T3, "a", "y", "g") == FULL


def test_r12_a_user_over_a_lowered_groups_cap_keeps_their_groups():
    """Pro with 1000 groups per user; u is in 520. Back to 500: u keeps 520, creating and
    joining are refused (10037) until u is below 500."""
    e = app_on("Pro", groups_per_user=1000)
    groups_of(e, "u", 520)
    assert e.create_group(T1, "a", "o", "x", "Work") == OK
    assert e.reconfigure(T2, "a", groups_per_user=500)[:2] == (0, "")
    assert e.user_groups("a", "u") == 520
    assert e.create_group(T3, "a", "u", "mine", "Work") == USER_GROUPS
    assert e.join_group(T3, "a", "u", "x") == USER_GROUPS
    for i in range(20):
        assert e.dissolve_group(T3, "a", "u", f"w{i}") == OK
    assert e.join_group(T3, "a", "u", "x") == USER_GROUPS  # at 500
    assert e.dissolve_group(T3, "a", "u", "w20") == OK
    assert e.join_group(T3, "a", "u", "x") == OK
    assert e.user_groups("a", "u") == 500


def test_r12_downgrade_keeps_everything():
    """IM -> Trial: groups, members, accounts and counts are as they were."""
    e = app_on("IM")
    assert e.create_group(T1, "a", "o", "g", "Work", members(10)) == OK
    fill_live(e, 3)
    before = (e.counts("a"), e.group_size("a", "g"), e.user_groups("a", "o"))
    assert e.downgrade(T2, "a") == OK
    assert (e.counts("a"), e.group_size("a", "g"), e.user_groups("a", "o")) == before


def test_r12_edition_changes_remove_nothing():
    """Ultimate with a Community group of 2500 and a user in 600 groups -> Pro with 500 groups
    per user and 200 members: all stay (the Community group is not a capped type, the user keeps
    600 groups); a new Community group is refused (10059), and so is a new group for the user
    (10037)."""
    e = app_on("Ultimate")
    assert e.create_group(T1, "a", "o", "c", "Community", members(2500)) == OK
    groups_of(e, "u", 600)
    before = (e.counts("a"), e.group_size("a", "c"), e.user_groups("a", "u"))
    result = e.reconfigure(T2, "a", "Pro", groups_per_user=500, members_per_group=200)
    assert result[:2] == (0, "")
    assert (e.counts("a"), e.group_size("a", "c"), e.user_groups("a", "u")) == before
    assert e.create_group(T3, "a", "o", "c2", "Community") == COMMUNITY
    assert e.create_group(T3, "a", "u", "w-new", "Work") == USER_GROUPS


def test_r12_the_lapse_removes_nothing():
    """Trial-prepaid Ultimate with a Community group; lapsed; bought again as Pro: the group
    and its members are still there."""
    e = app_on("Trial")
    assert e.buy_prepaid(T0, "a", "Ultimate") == OK  # until 2024-02-02 00:00
    assert e.create_group(T1, "a", "o", "c", "Community", members(30)) == OK
    assert e.register_user(T3, "a", "z") == PREPAID_EXPIRED
    assert e.buy_prepaid(T3, "a", "Pro") == OK
    assert e.group_size("a", "c") == 31
    assert e.counts("a") == {"accounts": 31, "live_groups": 0, "nonlive_groups": 1}
    assert e.create_group(T3, "a", "o", "c2", "Community") == COMMUNITY


# -- R13 codes and their precedence ---------------------------------------------------------------


def test_r13_account_limit_counts_every_new_user_of_an_operation():
    """IM with 3 accounts: 1 registered; a new owner with 2 new invited members makes 4 > 3
    (70398, nobody registered); with 1 invited it makes 3 (allowed)."""
    e = app_on("IM", small_free(accounts=3))
    assert e.register_user(T1, "a", "u0") == OK
    assert e.create_group(T1, "a", "o", "g", "Work", ["x", "y"]) == ACCOUNTS
    assert e.counts("a")["accounts"] == 1
    assert e.create_group(T1, "a", "o", "g", "Work", ["x", "u0"]) == OK
    assert e.counts("a")["accounts"] == 3
    assert e.join_group(T1, "a", "newcomer", "g") == ACCOUNTS
    assert e.register_user(T1, "a", "o") == OK  # already registered: no new account


def test_r13_first_operation_registers_the_user():
    e = app_on("IM")
    assert e.create_group(T1, "a", "o", "g", "Work", ["i1", "i2"]) == OK
    assert e.join_group(T1, "a", "j", "g") == OK
    assert e.create_group(T1, "a", "o", "live", "AVChatRoom", ["i3"]) == OK
    assert e.join_group(T1, "a", "k", "live") == OK
    assert e.register_user(T1, "a", "r") == OK
    assert e.register_user(T1, "a", "r") == OK
    assert e.counts("a")["accounts"] == 7  # o, i1, i2, j, i3, k, r


def test_r13_refused_operations_register_nobody():
    e = app_on("IM", small_free(members_per_group=2, live_groups=0))
    assert e.create_group(T1, "a", "o", "g", "Work", ["m"]) == OK
    assert e.join_group(T1, "a", "x", "g") == FULL
    assert e.create_group(T1, "a", "y", "L", "AVChatRoom", ["z"]) == LIVE
    assert e.create_group(T1, "a", "y", "c", "Community") == COMMUNITY
    assert e.create_group(T1, "a", "y", "big", "Work", ["p", "q"]) == TOO_MANY
    assert e.counts("a")["accounts"] == 2


def test_r13_dissolved_groups_do_not_count():
    """10058 counts existing non-live groups: after a dissolve there is room again."""
    e = app_on("IM", small_free(nonlive_groups=2))
    assert e.create_group(T1, "a", "o", "g1", "Work") == OK
    assert e.create_group(T1, "a", "o", "g2", "Meeting") == OK
    assert e.create_group(T1, "a", "o", "g3", "Public") == NONLIVE
    assert e.create_group(T1, "a", "o", "L", "AVChatRoom") == OK  # live groups count apart
    assert e.dissolve_group(T1, "a", "o", "g1") == OK
    assert e.create_group(T1, "a", "o", "g3", "Public") == OK


def test_r13_leaving_and_dissolving_lower_the_users_count():
    e = app_on("IM", small_free(groups_per_user=2))
    assert e.create_group(T1, "a", "o", "g1", "Work", ["u"]) == OK
    assert e.create_group(T1, "a", "o", "g2", "Work", ["u"]) == OK
    assert e.create_group(T1, "a", "p", "g3", "Work") == OK
    assert e.join_group(T1, "a", "u", "g3") == USER_GROUPS
    assert e.leave_group(T1, "a", "u", "g1") == OK
    assert e.join_group(T1, "a", "u", "g3") == OK
    assert e.dissolve_group(T1, "a", "o", "g2") == OK
    assert (e.user_groups("a", "u"), e.user_groups("a", "o")) == (1, 1)


# precedence: each case breaks two (or more) limits; the earlier one in the order wins


def test_r13_app_state_beats_everything():
    """Deactivated IM app whose accounts, live groups and groups are all full: 60016."""
    e = app_on("IM", small_free(accounts=1, live_groups=0, nonlive_groups=1, groups_per_user=1))
    assert e.create_group(T1, "a", "o", "g", "Work") == OK
    assert e.deactivate(T1, "a") == OK
    assert e.create_group(T1, "a", "new", "c", "Community", ["x"]) == DEACTIVATED
    assert e.create_group(T1, "a", "new", "L", "AVChatRoom") == DEACTIVATED
    assert e.register_user(T1, "a", "new") == DEACTIVATED
    assert e.join_group(T1, "a", "new", "g") == DEACTIVATED


def test_r13_lapsed_package_beats_type_support_and_counts():
    e = app_on("Trial", small_free(accounts=1))
    assert e.buy_prepaid(T0, "a", "Pro") == OK  # until 2024-02-02 00:00
    assert e.create_group(T1, "a", "o", "g", "Work") == OK
    assert e.create_group(T3, "a", "new", "c", "Community", ["x"]) == PREPAID_EXPIRED


def test_r13_unknown_app():
    e = new_engine()
    assert e.register_user(T1, "ghost", "u") == UNKNOWN_APP
    assert e.create_group(T1, "ghost", "u", "g", "Work") == UNKNOWN_APP


def test_r13_group_type_support_beats_account_limit():
    """IM with 1 account, taken: a new user creating a Community group -> 10059, not 70398."""
    e = app_on("IM", small_free(accounts=1))
    assert e.register_user(T1, "a", "u") == OK
    assert e.create_group(T1, "a", "new", "c", "Community") == COMMUNITY


def test_r13_account_limit_beats_live_group_limit():
    e = app_on("IM", small_free(accounts=1, live_groups=1))
    assert e.create_group(T1, "a", "u", "L1", "AVChatRoom") == OK
    assert e.create_group(T1, "a", "new", "L2", "AVChatRoom") == ACCOUNTS
    assert e.create_group(T1, "a", "u", "L2", "AVChatRoom") == LIVE


def test_r13_account_limit_beats_group_limit():
    e = app_on("IM", small_free(accounts=1, nonlive_groups=1))
    assert e.create_group(T1, "a", "u", "g1", "Work") == OK
    assert e.create_group(T1, "a", "new", "g2", "Work") == ACCOUNTS
    assert e.create_group(T1, "a", "u", "g2", "Work") == NONLIVE


def test_r13_group_limit_beats_too_many_members():
    """IM with 1 non-live group taken: a Work group with 25 initial members (cap 20) -> 10058."""
    e = app_on("IM", small_free(nonlive_groups=1))
    assert e.create_group(T1, "a", "u", "g1", "Work") == OK
    assert e.create_group(T1, "a", "u", "g2", "Work", members(25)) == NONLIVE


def test_r13_account_limit_beats_too_many_members():
    e = app_on("IM", small_free(accounts=3, members_per_group=2))
    assert e.create_group(T1, "a", "o", "g", "Work", ["p", "q", "r"]) == ACCOUNTS


def test_r13_too_many_members_beats_the_owners_group_count():
    """Owner at IM's groups cap (1) creating a group with 3 initial members (cap 2) -> 10038."""
    e = app_on("IM", small_free(groups_per_user=1, members_per_group=2))
    assert e.create_group(T1, "a", "o", "g1", "Work") == OK
    assert e.create_group(T1, "a", "o", "g2", "Work", ["p", "q"]) == TOO_MANY
    assert e.create_group(T1, "a", "o", "g2", "Work", ["p"]) == USER_GROUPS


def test_r13_account_limit_beats_full_group_on_join():
    e = app_on("IM", small_free(accounts=2, members_per_group=2))
    assert e.create_group(T1, "a", "o", "g", "Work", ["m"]) == OK
    assert e.join_group(T1, "a", "new", "g") == ACCOUNTS


def test_r13_full_group_beats_the_joiners_group_count():
    """Joiner at the groups cap (1) joining a full group (2 of 2) -> 10014."""
    e = app_on("IM", small_free(groups_per_user=1, members_per_group=2))
    assert e.create_group(T1, "a", "o", "g", "Work", ["m"]) == OK
    assert e.create_group(T1, "a", "j", "mine", "Work") == OK
    assert e.join_group(T1, "a", "j", "g") == FULL
    assert e.leave_group(T1, "a", "m", "g") == OK
    assert e.join_group(T1, "a", "j", "g") == USER_GROUPS


def test_r13_the_owners_count_and_then_an_invited_members_count():
    """Groups cap 1. An invited member at the cap refuses the creation (10037) even though the
    owner is fine; nothing is registered or counted. With the owner at the cap too, still
    10037; with neither, the group is created."""
    e = app_on("IM", small_free(groups_per_user=1))
    assert e.create_group(T1, "a", "busy", "b", "Work") == OK
    accounts = e.counts("a")["accounts"]
    assert e.create_group(T1, "a", "o", "g", "Work", ["fresh", "busy"]) == USER_GROUPS
    assert e.counts("a")["accounts"] == accounts
    assert (e.user_groups("a", "o"), e.user_groups("a", "fresh")) == (0, 0)
    assert e.create_group(T1, "a", "busy", "g", "Work", ["fresh"]) == USER_GROUPS
    assert e.create_group(T1, "a", "o", "g", "Work", ["fresh"]) == OK
    assert (e.user_groups("a", "o"), e.user_groups("a", "fresh")) == (1, 1)


def test_r13_live_groups_skip_the_group_count_check():
    """A user at the groups cap creating or joining an AVChatRoom is not refused (10037 does
    not count live groups); but the live-group count still applies."""
    e = app_on("IM", small_free(groups_per_user=1, live_groups=1))
    assert e.create_group(T1, "a", "u", "w", "Work") == OK
    assert e.create_group(T1, "a", "u", "L", "AVChatRoom", ["w2"]) == OK
    assert e.create_group(T1, "a", "u", "L2", "AVChatRoom") == LIVE


def test_r13_a_member_joining_again_is_already_member_at_every_limit():
    """A member's second join is ``already_member`` (10013) even with the app at its account
    limit and the group at its member cap (R5, R13): a member is a registered user, so neither
    limit is what refuses it; a new user is refused ``account_limit`` first (checked before
    the member cap)."""
    e = app_on("IM", small_free(accounts=20))
    assert e.create_group(T1, "a", "o", "g", "Work", members(19)) == OK  # 20 of 20 each
    assert e.join_group(T1, "a", "m3", "g") == (10013, "already_member", "")
    assert e.join_group(T1, "a", "o", "g") == (10013, "already_member", "")
    assert e.join_group(T1, "a", "new", "g") == ACCOUNTS
    assert e.counts("a")["accounts"] == 20 and e.group_size("a", "g") == 20


# -- other group codes (design table) -------------------------------------------------------------


def test_other_group_codes():
    e = app_on("IM")
    assert e.create_group(T1, "a", "o", "g", "Work", ["m"]) == OK
    assert e.create_group(T1, "a", "x", "g", "Public") == (10021, "group_exists", "")
    assert e.join_group(T1, "a", "m", "g") == (10013, "already_member", "")
    assert e.leave_group(T1, "a", "x", "g") == (10007, "not_member", "")
    assert e.leave_group(T1, "a", "o", "g") == (10009, "owner_cannot_leave", "")
    assert e.dissolve_group(T1, "a", "o", "g") == OK
    assert e.join_group(T1, "a", "m", "g") == (10010, "group_not_found", "")
    assert e.dissolve_group(T1, "a", "o", "g") == (10010, "group_not_found", "")
    assert e.counts("a") == {"accounts": 2, "live_groups": 0, "nonlive_groups": 0}
    assert e.user_groups("a", "o") == e.user_groups("a", "m") == 0
