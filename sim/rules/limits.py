"""Limits of group operations (R5, R12, R13): which operation is refused with which code.

Group operations are checked against the limits in force at that moment, in this order, the
first broken limit winning: app state (60016 deactivated, 60020 lapsed prepaid package), group
type support (10059), app-wide counts (70398 accounts, then 10036 live groups / 10058 non-live
groups), group capacity (10038 on create, 10014 on join), the owner's or joiner's group count
(10037), an invited member's group count (10037). Limits bind only new actions: what exists is
never removed by a change of edition (R12). Codes are Tencent's (``RULES.md``); the full table
is in ``docs/design.md``.

:class:`GroupOps` is a mixin of :class:`sim.rules.engine.Engine`, which keeps the state it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.rules.engine import _App

OK: tuple[int, str, str] = (0, "", "")
"""The outcome of every operation that succeeds without a note (one shared object)."""

# Group-operation refusals: (Tencent error code, reason) -- RULES.md
DEACTIVATED = (60016, "deactivated", "")
UNKNOWN_APP = (70020, "unknown_app", "")
PREPAID_EXPIRED = (60020, "prepaid_expired", "")
COMMUNITY_UNSUPPORTED = (10059, "community_unsupported", "")
ACCOUNT_LIMIT = (70398, "account_limit", "")
LIVE_GROUP_LIMIT = (10036, "live_group_limit", "")
GROUP_LIMIT = (10058, "group_limit", "")
TOO_MANY_MEMBERS = (10038, "too_many_members", "")
GROUP_FULL = (10014, "group_full", "")
USER_GROUP_LIMIT = (10037, "user_group_limit", "")
GROUP_EXISTS = (10021, "group_exists", "")
GROUP_NOT_FOUND = (10010, "group_not_found", "")
ALREADY_MEMBER = (10013, "already_member", "")
NOT_MEMBER = (10007, "not_member", "")
OWNER_CANNOT_LEAVE = (10009, "owner_cannot_leave", "")
DAU_LIMIT = (72000, "dau_limit", "")

GROUP_CODES: dict[str, int] = {
    r[1]: r[0]
    for r in (
        DEACTIVATED,
        UNKNOWN_APP,
        PREPAID_EXPIRED,
        COMMUNITY_UNSUPPORTED,
        ACCOUNT_LIMIT,
        LIVE_GROUP_LIMIT,
        GROUP_LIMIT,
        TOO_MANY_MEMBERS,
        GROUP_FULL,
        USER_GROUP_LIMIT,
        GROUP_EXISTS,
        GROUP_NOT_FOUND,
        ALREADY_MEMBER,
        NOT_MEMBER,
        OWNER_CANNOT_LEAVE,
        DAU_LIMIT,
    )
}
"""Reason -> Tencent error code, for every group-operation refusal."""


class _Group:
    __slots__ = ("type", "live", "counted", "members", "owner")

    def __init__(self, gtype: str, live: bool, owner: str, members: set[str]) -> None:
        self.type = gtype
        self.live = live
        self.counted = not live  # AVChatRoom memberships do not count towards 10037
        self.owner = owner
        self.members = members


class GroupOps:
    """register_user, create_group, join_group, leave_group, dissolve_group (R12, R13)."""

    apps: dict[str, _App]
    catalog: object
    _group_types: dict

    def register_user(self, t: int, app: str, user: str) -> tuple[int, str, str]:
        """Register an account (70398 above the account limit); registering twice is a no-op."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            a = self._group_app(t, app)
            if isinstance(a, tuple):
                return a
        if user not in a.users:
            if a.lim_accounts is not None and len(a.users) >= a.lim_accounts:
                return ACCOUNT_LIMIT
            a.users[user] = 0
        return OK

    def create_group(
        self,
        t: int,
        app: str,
        user: str,
        group: str,
        group_type: str,
        members: tuple[str, ...] | list[str] = (),
    ) -> tuple[int, str, str]:
        """Create a group owned by ``user`` with initial ``members`` (besides the owner).

        Unregistered owner and members are registered by this operation (70398 if that would
        pass the account limit). Duplicate members and the owner among them are ignored.
        """
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            a = self._group_app(t, app)
            if isinstance(a, tuple):
                return a
        if group in a.groups:
            return GROUP_EXISTS
        gt = self._group_types[group_type]
        if gt.community and not a.community:
            return COMMUNITY_UNSUPPORTED
        users = a.users
        invited = [m for m in dict.fromkeys(members) if m != user] if members else []
        if a.lim_accounts is not None:
            new = user not in users
            for m in invited:
                new += m not in users
            if new and len(users) + new > a.lim_accounts:
                return ACCOUNT_LIMIT
        live = gt.live
        if live:
            if a.lim_live is not None and a.live_count >= a.lim_live:
                return LIVE_GROUP_LIMIT
        elif a.lim_nonlive is not None and a.nonlive_count >= a.lim_nonlive:
            return GROUP_LIMIT
        cap = a.caps[group_type]
        if cap is not None and 1 + len(invited) > cap:
            return TOO_MANY_MEMBERS
        gpu = a.lim_gpu
        if not live:
            if users.get(user, 0) >= gpu:
                return USER_GROUP_LIMIT
            for m in invited:
                if users.get(m, 0) >= gpu:
                    return USER_GROUP_LIMIT
        # apply
        step = 0 if live else 1
        users[user] = users.get(user, 0) + step
        for m in invited:
            users[m] = users.get(m, 0) + step
        a.groups[group] = _Group(group_type, live, user, {user, *invited})
        if live:
            a.live_count += 1
        else:
            a.nonlive_count += 1
        return OK

    def join_group(self, t: int, app: str, user: str, group: str) -> tuple[int, str, str]:
        """``user`` joins ``group``: 10014 when the group is at its cap (R5: the member cap
        covers Work, Public and Meeting, bounded by each type's own limit), 10037 when the user
        is at the groups-per-user cap (AVChatRoom memberships do not count)."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            a = self._group_app(t, app)
            if isinstance(a, tuple):
                return a
        g = a.groups.get(group)
        if g is None:
            return GROUP_NOT_FOUND
        users = a.users
        known = user in users
        if not known and a.lim_accounts is not None and len(users) >= a.lim_accounts:
            return ACCOUNT_LIMIT
        if user in g.members:
            return ALREADY_MEMBER
        cap = a.caps[g.type]
        if cap is not None and len(g.members) >= cap:
            return GROUP_FULL
        if g.counted:
            count = users.get(user, 0)
            if count >= a.lim_gpu:
                return USER_GROUP_LIMIT
            users[user] = count + 1
        elif not known:
            users[user] = 0
        g.members.add(user)
        return OK

    def leave_group(self, t: int, app: str, user: str, group: str) -> tuple[int, str, str]:
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            a = self._group_app(t, app)
            if isinstance(a, tuple):
                return a
        g = a.groups.get(group)
        if g is None:
            return GROUP_NOT_FOUND
        if user not in g.members:
            return NOT_MEMBER
        if user == g.owner:
            return OWNER_CANNOT_LEAVE
        g.members.discard(user)
        if g.counted:
            a.users[user] -= 1
        return OK

    def dissolve_group(
        self, t: int, app: str, user: str | None, group: str
    ) -> tuple[int, str, str]:
        """Dissolve a group: its members' group counts and the app's group count go down."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            a = self._group_app(t, app)
            if isinstance(a, tuple):
                return a
        g = a.groups.pop(group, None)
        if g is None:
            return GROUP_NOT_FOUND
        if g.counted:
            users = a.users
            for m in g.members:
                users[m] -= 1
            a.nonlive_count -= 1
        else:
            a.live_count -= 1
        return OK

    def dau_over_limit(self, t: int, app: str, dau: int) -> int:
        """How many of ``dau`` daily active users are refused (72000) on a hard-capped edition."""
        a = self.apps.get(app)
        if a is not None and a.prepaid_until <= t:
            self._lapse(t, a)  # a package that ran out refuses everyone (60020)
        if a is None or a.blocked is not None:
            return dau
        lim = self.catalog.editions[a.edition].limits
        if lim.dau_hard_cap and lim.free_dau is not None and dau > lim.free_dau:
            return dau - lim.free_dau
        return 0
