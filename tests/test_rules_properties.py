"""Property tests: random sequences of console and group operations over three apps (starting
on IM, Trial and Pro-postpaid; a fourth name is never created), seven users and four groups,
under a catalog with small limits, checked after every step against the rules.

Each step is checked by a reference built from the spec, not from the engine:

- group operations (R12, R13): a shadow of who is in which group, updated only by successful
  operations; the limits in force come from the app's state and the catalog (R3, R5). A
  success must break no limit; a refusal must name the first broken limit in the published
  order, or a structural reason that holds (group exists / not found / already a member ...);
- console operations (R1, R2, R8-R11, R14): the reasons a refusal could have are computed from
  the state before; with none the operation must succeed with exactly the configuration the
  rules give; R9 is tracked per item and calendar month in Asia/Shanghai;
- a refused operation changes nothing (timeline and every view), an operation on one app
  changes no other app, nothing succeeds after deactivation, counts never go negative and
  always equal the shadow's, the timeline is contiguous and its intervals non-empty, and the
  timeline shows at most one change per item per month (a pack reset forced by an edition
  change -- the old value is not on the new edition's menu -- is part of that edition change).
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.core.calendar import add_months_anchor, month_index
from sim.core.catalog import PACKS
from sim.files.catalogs import load_catalog
from sim.rules.engine import Engine

POSTPAID = ("Pro", "Ultimate")


def _cap_pack(edition: str, pack: str, default: int, paid: int) -> list[str]:
    base = f"editions.{edition}"
    return [
        f"{base}.limits.{pack}={default}",
        f"{base}.packs.{pack}.default={default}",
        f"{base}.packs.{pack}.options={{{default}: 0, {paid}: 1}}",
    ]


SMALL = [
    *[
        f"editions.{ed}.limits.{k}={v}"
        for ed in ("IM", "Trial")
        for k, v in {
            "accounts": 4,
            "groups_per_user": 1,
            "members_per_group": 2,
            "nonlive_groups": 2,
            "live_groups": 1,
        }.items()
    ],
    "editions.Pro.limits.live_groups=2",
    *_cap_pack("Pro", "groups_per_user", 2, 3),
    *_cap_pack("Pro", "members_per_group", 3, 4),
    *_cap_pack("Ultimate", "groups_per_user", 4, 6),
    *_cap_pack("Ultimate", "members_per_group", 4, 5),
    "group_types.Community.max_members=4",
]
CAT = load_catalog(overrides=SMALL)
TZ = CAT.tz

APPS = ("a", "b", "c")  # start on IM, Trial and Pro-postpaid
USERS = tuple(f"u{i}" for i in range(7))
GROUPS = tuple(f"g{i}" for i in range(4))
T0 = int(pd.Timestamp("2024-01-30T22:00", tz="Asia/Shanghai").value)

SECOND = 10**9
HOUR = 3600 * SECOND
DAY = 24 * HOUR

# Tencent codes and reasons (docs/design.md)
REASON = {
    60016: "deactivated",
    70020: "unknown_app",
    60020: "prepaid_expired",
    10059: "community_unsupported",
    70398: "account_limit",
    10036: "live_group_limit",
    10058: "group_limit",
    10038: "too_many_members",
    10014: "group_full",
    10037: "user_group_limit",
    10021: "group_exists",
    10010: "group_not_found",
    10013: "already_member",
    10007: "not_member",
    10009: "owner_cannot_leave",
}


# -- operations -----------------------------------------------------------------------------------
# Drawn one step at a time (hypothesis ``data``), so that joins, leaves and dissolves mostly aim
# at groups that exist and the sequences reach the limits.

GROUP_OPS = ("register_user", "create_group", "join_group", "leave_group", "dissolve_group")
GROUP_MIX = (
    "register_user",
    *["create_group"] * 3,
    *["join_group"] * 3,
    "leave_group",
    "dissolve_group",
)
CONSOLE_MIX = (
    "upgrade",
    "reconfigure",
    "reconfigure",
    "downgrade",
    "buy_prepaid",
    "create_app",
)
GROUP_TYPES = ("Work", "Work", "Public", "Meeting", "AVChatRoom", "AVChatRoom", "Community")
PACK_VALUES = {  # every menu's values, and one on no menu
    "live_unlimited": (True, False),
    "groups_per_user": (1, 2, 3, 4, 5, 6),
    "members_per_group": (2, 3, 4, 5),
}
DT = (0, 0, SECOND, HOUR, 5 * HOUR, DAY, DAY, 3 * DAY, 10 * DAY, 40 * DAY)
# steps that land on the app's prepaid expiry, or one nanosecond before it (R11's boundary)
TO_EXPIRY = {"expiry": 0, "expiry-1ns": -1}


@functools.cache
def _sampled(values: tuple[Any, ...]) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def pick(data: st.DataObject, values: Any) -> Any:
    """One of ``values`` (strategies are cached: building them is what costs time)."""
    return data.draw(_sampled(tuple(values)))


def draw_packs(data: st.DataObject, edition: str | None, current: str | None) -> dict[str, Any]:
    """Pack options: mostly none named; named ones mostly on the target edition's menu."""
    target = edition or current
    out: dict[str, Any] = {}
    for p in PACKS:
        menu = list(CAT.offered(target, p)) if target in CAT.editions else []
        out[p] = pick(data, [*[None] * 8, *menu * 4, *PACK_VALUES[p]])
    return out


def draw_op(
    data: st.DataObject, app: str, sh: Shadow | None, state: dict | None, mix: tuple[str, ...]
) -> tuple[str, dict[str, Any]]:
    op = pick(data, mix)
    existing = sorted(sh.groups) if sh else []
    user = pick(data, USERS)
    if op == "register_user":
        return op, {"user": user}
    if op == "create_group":
        known = sorted(sh.users) if sh else []
        return op, {
            "user": user,
            "group": pick(data, GROUPS),
            "group_type": pick(data, GROUP_TYPES),
            "members": tuple(
                pick(data, [*known, *USERS]) for _ in range(pick(data, (0, 1, 1, 2, 2, 3, 4)))
            ),
        }
    if op in ("join_group", "leave_group", "dissolve_group"):
        group = pick(data, [*existing * 4, *GROUPS])
        if op == "leave_group" and group in existing:
            user = pick(data, [*sorted(sh.groups[group][2]) * 3, *USERS])
        return op, {"user": user, "group": group}
    current = state["edition"] if state else None
    if op == "upgrade":
        edition = pick(data, ["Pro", "Ultimate", "Pro", "Ultimate", "Trial"])
        return op, {"edition": edition, **draw_packs(data, edition, current)}
    if op == "reconfigure":
        edition = pick(data, [None, None, "Pro", "Ultimate", "Pro", "Ultimate", "IM"])
        return op, {"edition": edition, **draw_packs(data, edition, current)}
    if op == "buy_prepaid":
        edition = pick(data, ["Pro", "Ultimate", "Pro", "Ultimate", "IM"])
        months = pick(data, [1, 1, 2, 0])
        return op, {"edition": edition, **draw_packs(data, edition, current), "months": months}
    return op, {}  # create_app, downgrade, deactivate


# -- the reference --------------------------------------------------------------------------------


@dataclass
class Shadow:
    """What the rules say an app holds: accounts and groups (type, owner, members)."""

    created_at: int
    users: set[str] = field(default_factory=set)
    groups: dict[str, tuple[str, str, set[str]]] = field(default_factory=dict)
    changes: Counter = field(default_factory=Counter)  # (item, month) -> reconfigurations (R9)
    deactivated: bool = False

    def live(self, g: str) -> bool:
        return CAT.group_types[self.groups[g][0]].live

    def count(self, user: str) -> int:
        """Non-live groups the user created or joined (what 10037 counts)."""
        return sum(1 for g, (_, _, m) in self.groups.items() if user in m and not self.live(g))

    def n_live(self) -> int:
        return sum(1 for g in self.groups if self.live(g))


def effective(state: dict[str, Any], t: int) -> dict[str, Any]:
    """The engine's reported state with a prepaid package that ran out by ``t`` shown lapsed."""
    s = dict(state)
    if s["state"] == "Trial-prepaid" and s["prepaid_until"] <= t:
        s["state"] = "Trial-lapsed"
    return s


@dataclass(frozen=True)
class Limits:
    accounts: int | None
    live: int | None
    nonlive: int | None
    gpu: int
    community: bool
    caps: dict[str, int | None]


def limits_in_force(s: dict[str, Any]) -> Limits:
    """R3, R5: the edition's limits with the packs the app has."""
    lim = CAT.editions[s["edition"]].limits
    caps: dict[str, int | None] = {}
    for name, gt in CAT.group_types.items():
        cap = gt.max_members
        if gt.member_cap:
            cap = s["members_per_group"] if cap is None else min(cap, s["members_per_group"])
        caps[name] = cap
    return Limits(
        accounts=lim.accounts,
        live=None if (s["live_unlimited"] or lim.live_groups is None) else lim.live_groups,
        nonlive=lim.nonlive_groups,
        gpu=s["groups_per_user"],
        community=lim.community,
        caps=caps,
    )


def group_reasons(sh: Shadow, lim: Limits, op: str, kw: dict) -> tuple[list[int], set[int]]:
    """(the broken limits in the published order, the structural refusals that hold)."""
    broken: list[int] = []
    structural: set[int] = set()
    user, group = kw["user"], kw.get("group")

    def over(limit: int | None, count: int) -> bool:
        return limit is not None and count >= limit

    if op == "register_user":
        if user not in sh.users and over(lim.accounts, len(sh.users)):
            broken.append(70398)
    elif op == "create_group":
        gtype = CAT.group_types[kw["group_type"]]
        invited = {m for m in kw["members"] if m != user}
        if group in sh.groups:
            structural.add(10021)
        if gtype.community and not lim.community:
            broken.append(10059)
        new = len(({user} | invited) - sh.users)
        if lim.accounts is not None and new and len(sh.users) + new > lim.accounts:
            broken.append(70398)
        if gtype.live and over(lim.live, sh.n_live()):
            broken.append(10036)
        if not gtype.live and over(lim.nonlive, len(sh.groups) - sh.n_live()):
            broken.append(10058)
        cap = lim.caps[kw["group_type"]]
        if cap is not None and 1 + len(invited) > cap:
            broken.append(10038)
        if not gtype.live:
            if sh.count(user) >= lim.gpu:
                broken.append(10037)
            if any(sh.count(m) >= lim.gpu for m in invited):
                broken.append(10037)
    elif op == "join_group":
        if user not in sh.users and over(lim.accounts, len(sh.users)):
            broken.append(70398)
        if group not in sh.groups:
            structural.add(10010)
        else:
            gtype, _, members = sh.groups[group]
            if user in members:
                structural.add(10013)
            if over(lim.caps[gtype], len(members)):
                broken.append(10014)
            if not CAT.group_types[gtype].live and sh.count(user) >= lim.gpu:
                broken.append(10037)
    elif op == "leave_group":
        if group not in sh.groups:
            structural.add(10010)
        elif user not in sh.groups[group][2]:
            structural.add(10007)
        elif user == sh.groups[group][1]:
            structural.add(10009)
    elif op == "dissolve_group" and group not in sh.groups:
        structural.add(10010)
    return broken, structural


def apply_group(sh: Shadow, op: str, kw: dict) -> None:
    user, group = kw["user"], kw.get("group")
    if op == "register_user":
        sh.users.add(user)
    elif op == "create_group":
        members = {user} | set(kw["members"])
        sh.users |= members
        sh.groups[group] = (kw["group_type"], user, members)
    elif op == "join_group":
        sh.users.add(user)
        sh.groups[group][2].add(user)
    elif op == "leave_group":
        sh.groups[group][2].discard(user)
    elif op == "dissolve_group":
        del sh.groups[group]


def offered(edition: str, pack: str, value: Any) -> bool:
    """The catalog offers ``value`` for ``pack`` on ``edition`` (a boolean only for the live
    pack, a number only for the caps)."""
    if isinstance(value, bool) != (pack == "live_unlimited"):
        return False
    return value in CAT.offered(edition, pack)


def console_reasons(
    e_state: dict[str, Any] | None, sh: Shadow | None, op: str, kw: dict, t: int
) -> set[str]:
    """Every refusal reason whose condition holds before the operation."""
    if e_state is None:
        return set() if op == "create_app" else {"unknown_app"}
    state = e_state["state"]
    if state == "Deactivated":
        return {"deactivated"}
    if op == "create_app":
        return {"wrong_state"}  # the app exists
    trial = state.startswith("Trial")
    named = {p: kw.get(p) for p in PACKS}
    reasons: set[str] = set()
    if op == "upgrade":  # R1, R11
        if trial:
            reasons.add("postpaid_closed")
        elif state != "IM":
            reasons.add("wrong_state")
        if kw["edition"] not in POSTPAID or any(
            v is not None and not offered(kw["edition"], p, v) for p, v in named.items()
        ):
            reasons.add("invalid_option")
    elif op == "reconfigure":  # R8, R9
        if not state.endswith("-postpaid"):
            reasons.add("wrong_state")
            return reasons | {"invalid_option"}  # validity on a non-postpaid app is moot
        target = kw["edition"] or e_state["edition"]
        if target not in POSTPAID or any(
            v is not None and not offered(target, p, v) for p, v in named.items()
        ):
            reasons.add("invalid_option")
            return reasons
        month = month_index(t, TZ)
        changing = [p for p, v in named.items() if v is not None and v != e_state[p]]
        if target != e_state["edition"]:
            changing.append("edition")
        limit = {"edition": CAT.transitions.edition_changes_per_month}
        if any(
            sh.changes[(i, month)] >= limit.get(i, CAT.transitions.pack_changes_per_month)
            for i in changing
        ):
            reasons.add("monthly_limit")
    elif op == "downgrade":  # R10
        if state != "IM":
            reasons.add("wrong_state")
    elif op == "buy_prepaid":  # R11
        if not trial:
            reasons.add("wrong_state")
        if (
            kw["edition"] not in POSTPAID
            or kw["months"] < 1
            or any(v is not None and not offered(kw["edition"], p, v) for p, v in named.items())
        ):
            reasons.add("invalid_option")
    return reasons


def check_console_success(
    before: dict[str, Any] | None,
    after: dict[str, Any],
    sh: Shadow,
    op: str,
    kw: dict,
    t: int,
    note: str,
) -> None:
    """The configuration a successful console operation must leave (R1-R3, R9-R11, R14)."""
    named = {p: kw.get(p) for p in PACKS}
    if op == "create_app":
        assert after["state"] == "IM"
    elif op == "deactivate":
        assert after["state"] == "Deactivated"
    elif op == "downgrade":
        assert (after["state"], after["edition"]) == ("Trial", "Trial")
    elif op == "upgrade":
        ed = kw["edition"]
        assert (after["state"], after["edition"]) == (f"{ed}-postpaid", ed)
        for p, v in named.items():
            assert after[p] == (v if v is not None else CAT.default_option(ed, p)), p
    elif op == "reconfigure":
        target = kw["edition"] or before["edition"]
        assert (after["state"], after["edition"]) == (f"{target}-postpaid", target)
        month = month_index(t, TZ)
        for p, v in named.items():
            if v is not None:
                expected = v
                if v != before[p]:
                    sh.changes[(p, month)] += 1
            elif offered(target, p, before[p]):
                expected = before[p]
            else:
                expected = CAT.default_option(target, p)
                if expected != before[p]:
                    assert p in note, (p, note)  # the reset is noted
            assert after[p] == expected, p
        if target != before["edition"]:
            sh.changes[("edition", month)] += 1
    elif op == "buy_prepaid":
        ed = kw["edition"]
        assert (after["state"], after["edition"]) == ("Trial-prepaid", ed)
        for p, v in named.items():
            allowed = {v} if v is not None else {CAT.default_option(ed, p)}
            if v is None and offered(ed, p, before[p]):
                allowed.add(before[p])  # a renewal may keep the options it had
            assert after[p] in allowed, p
        anchor = before["prepaid_until"] if before["state"] == "Trial-prepaid" else t
        assert after["prepaid_until"] == add_months_anchor(anchor, kw["months"], TZ)


# -- invariants over the whole engine -------------------------------------------------------------


def check_views(e: Engine, shadows: dict[str, Shadow]) -> None:
    """Counts never negative and always what the shadow holds."""
    for app, sh in shadows.items():
        counts = e.counts(app)
        assert counts == {
            "accounts": len(sh.users),
            "live_groups": sh.n_live(),
            "nonlive_groups": len(sh.groups) - sh.n_live(),
        }
        for user in USERS:
            n = e.user_groups(app, user)
            assert n >= 0
            assert n == sh.count(user), user
        for g in GROUPS:
            assert e.group_size(app, g) == (len(sh.groups[g][2]) if g in sh.groups else 0), g


def count_changes(changes: Counter, app: str, r0: tuple, r1: tuple) -> None:
    """R9 as the timeline shows it: the items that differ between two consecutive postpaid
    intervals, counted in the month of the change. A pack reset to the new edition's default
    because the new edition does not offer the old value belongs to the edition change."""
    month = month_index(r1[1], TZ)
    old, new = dict(zip(PACKS, r0[4:7], strict=True)), dict(zip(PACKS, r1[4:7], strict=True))
    if r0[7] != r1[7]:
        changes[(app, "edition", month)] += 1
    for p in PACKS:
        forced = (
            r0[7] != r1[7]
            and not offered(r1[7], p, old[p])
            and new[p] == CAT.default_option(r1[7], p)
        )
        if old[p] != new[p] and not forced:
            changes[(app, p, month)] += 1


def check_timeline(e: Engine, shadows: dict[str, Shadow]) -> None:
    """Contiguous, non-empty intervals; R11 never postpaid after Trial; R9 from the timeline."""
    rows = e.timeline()
    by_app: dict[str, list[tuple]] = {}
    for r in rows:
        by_app.setdefault(r[0], []).append(r)
    assert set(by_app) == set(shadows)
    changes: Counter = Counter()
    for app, rs in by_app.items():
        assert rs[0][1] == shadows[app].created_at
        assert rs[-1][2] is None
        was_trial = False
        for r0, r1 in zip(rs, rs[1:], strict=False):
            assert r0[2] is not None and r0[1] < r0[2] == r1[1], (r0, r1)
            was_trial = was_trial or r0[3].startswith("Trial")
            assert not (was_trial and r1[3].endswith("-postpaid")), (r0, r1)  # R11
            assert r0[3] != "Deactivated"  # R14: final
            if r0[3].endswith("-postpaid") and r1[3].endswith("-postpaid"):
                count_changes(changes, app, r0, r1)
        for r in rs:
            if r[3] == "Trial-prepaid":  # R11: a package never runs past its expiry
                assert r[8] is not None and r[2] is not None and r[2] <= r[8], r
    over = {k: n for k, n in changes.items() if n > 1}
    assert not over, over


# -- the driver -----------------------------------------------------------------------------------


class Run:
    """An engine with apps a (IM), b (Trial) and c (Pro-postpaid), stepped and checked."""

    def __init__(self) -> None:
        self.e = Engine(CAT)
        self.shadows: dict[str, Shadow] = {}
        self.t = T0
        for app in APPS:
            assert self.e.create_app(self.t, app) == (0, "", "")
            self.shadows[app] = Shadow(created_at=self.t)
        assert self.e.downgrade(self.t, "b") == (0, "", "")
        assert self.e.upgrade(self.t, "c", "Pro") == (0, "", "")

    def draw_and_step(
        self,
        data: st.DataObject,
        apps: tuple[str, ...],
        mix: tuple[str, ...],
        dts: tuple[int | str, ...] = DT,
    ) -> None:
        dt = pick(data, dts)
        app = pick(data, apps)
        if dt in TO_EXPIRY:
            until = self.e.state(app)["prepaid_until"] if app in self.shadows else None
            dt = 0 if until is None or until <= self.t else until - self.t + TO_EXPIRY[dt]
        sh = self.shadows.get(app)
        state = effective(self.e.state(app), self.t + dt) if sh else None
        op, kw = draw_op(data, app, sh, state, mix)
        self.step(dt, op, app, kw)

    def step(self, dt: int, op: str, app: str, kw: dict[str, Any]) -> None:
        e, shadows = self.e, self.shadows
        self.t = t = self.t + dt
        sh = shadows.get(app)
        raw_before = {a: e.state(a) for a in shadows}
        before = effective(raw_before[app], t) if sh else None
        timeline_before = e.timeline()

        code, reason, note = call(e, t, op, app, kw)
        assert isinstance(code, int) and isinstance(reason, str) and isinstance(note, str)
        succeeded = reason == ""
        if succeeded:
            assert code == 0

        if sh is not None and sh.deactivated:  # R14
            assert not succeeded
            expected = (60016, "deactivated") if op in GROUP_OPS else (0, "deactivated")
            assert (code, reason) == expected

        if op in GROUP_OPS:
            assert e.timeline() == timeline_before  # group operations never change the state
            if sh is None:
                assert (code, reason) == (70020, "unknown_app")
            elif before["state"] == "Deactivated":
                assert (code, reason) == (60016, "deactivated")
            elif before["state"] == "Trial-lapsed":
                assert (code, reason) == (60020, "prepaid_expired")
            else:
                lim = limits_in_force(before)
                broken, structural = group_reasons(sh, lim, op, kw)
                if succeeded:
                    assert not broken and not structural, (broken, structural)
                    apply_group(sh, op, kw)
                    check_within_limits(e, sh, lim, app, op, kw)
                else:
                    justified = code in structural or (broken and code == broken[0])
                    assert justified, (code, broken, structural)
                    assert reason == REASON[code]
        else:
            justified = console_reasons(before, sh, op, kw, t)
            if succeeded:
                assert not justified, justified
                if sh is None:
                    shadows[app] = sh = Shadow(created_at=t)
                check_console_success(before, e.state(app), sh, op, kw, t, note)
                if op == "deactivate":
                    sh.deactivated = True
            else:
                assert code == 0
                assert reason in justified, (reason, justified)
                assert e.timeline() == timeline_before  # a refusal changes nothing
        for other in raw_before:  # one app's operation leaves the others alone
            if other != app:
                assert e.state(other) == raw_before[other]
        check_views(e, shadows)
        check_timeline(e, shadows)


def call(e: Engine, t: int, op: str, app: str, kw: dict) -> tuple[int, str, str]:
    return getattr(e, op)(t, app, **kw)


def check_within_limits(e: Engine, sh: Shadow, lim: Limits, app: str, op: str, kw: dict) -> None:
    """R13 as counts: a successful create/join/register never leaves a count above the limit in
    force at that moment."""
    counts = e.counts(app)
    if op in ("register_user", "create_group", "join_group") and lim.accounts is not None:
        assert counts["accounts"] <= lim.accounts
    if op == "create_group":
        gtype = CAT.group_types[kw["group_type"]]
        if gtype.live and lim.live is not None:
            assert counts["live_groups"] <= lim.live
        if not gtype.live and lim.nonlive is not None:
            assert counts["nonlive_groups"] <= lim.nonlive
    if op in ("create_group", "join_group"):
        g = kw["group"]
        cap = lim.caps[sh.groups[g][0]]
        if cap is not None:
            assert e.group_size(app, g) <= cap
        if not sh.live(g):
            for u in sh.groups[g][2] if op == "create_group" else {kw["user"]}:
                assert e.user_groups(app, u) <= lim.gpu


ALL_APPS = ("a", "a", "b", "b", "c", "c", "zz")  # zz is never created
EVERYTHING = (*GROUP_MIX, *GROUP_MIX, *CONSOLE_MIX, "deactivate")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_operation_sequences_obey_the_rules(data):
    run = Run()
    for _ in range(data.draw(st.integers(min_value=20, max_value=60), label="steps")):
        run.draw_and_step(data, ALL_APPS, EVERYTHING)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_postpaid_reconfiguration_sequences(data):
    """Many reconfigurations of the postpaid app c (R8, R9) around month ends, between group
    operations; the same checks."""
    run = Run()
    mix = ("register_user", "create_group", "join_group", "leave_group", *["reconfigure"] * 5)
    for _ in range(data.draw(st.integers(min_value=20, max_value=60), label="steps")):
        run.draw_and_step(data, ("c",), mix, (0, HOUR, 12 * HOUR, DAY, 2 * DAY, 5 * DAY, 12 * DAY))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_prepaid_sequences(data):
    """Purchases, renewals and lapses of the Trial app b (R11) between group operations (60020
    after a lapse, the bought edition's limits while active); the same checks."""
    run = Run()
    mix = (*GROUP_MIX, "buy_prepaid", "buy_prepaid")
    for _ in range(data.draw(st.integers(min_value=20, max_value=60), label="steps")):
        dts = (0, HOUR, DAY, 7 * DAY, 20 * DAY, 35 * DAY, *TO_EXPIRY)
        run.draw_and_step(data, ("b",), mix, dts)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_group_sequences_on_the_free_tier(data):
    """IM app a with its small limits: accounts, group counts, member caps, groups per user
    (R12, R13) -- then an upgrade or a downgrade part-way, after which the old groups stay."""
    run = Run()
    for i in range(data.draw(st.integers(min_value=20, max_value=60), label="steps")):
        mix = GROUP_MIX if i % 15 else (*GROUP_MIX, "upgrade", "downgrade")
        run.draw_and_step(data, ("a",), mix, (0, 0, HOUR))
