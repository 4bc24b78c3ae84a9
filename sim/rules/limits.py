"""Limits of group operations (R5, R12, R13): which operation is refused with which code.

Group operations are checked against the limits in force at that moment, in this order, the
first broken limit winning: app state (``deactivated``, ``prepaid_expired``), group type
support (``community_unsupported``), app-wide counts (``account_limit``, then
``live_group_limit`` / ``group_limit`` for non-live groups), group capacity
(``too_many_members`` on create, ``group_full`` on join), the owner's or joiner's group count
(``user_group_limit``), an invited member's group count (``user_group_limit``). Limits bind only
new actions: what exists is never removed by a change of edition (R12). The reasons and their
Tencent error codes are :class:`sim.core.vocab.Code`; the rules are stated in ``docs/rules.md``.

:class:`GroupOps` is a mixin of :class:`sim.rules.engine.Engine`, which keeps the state it reads.
"""

from __future__ import annotations

from sim.core.catalog import Catalog, GroupType
from sim.core.vocab import (
    ACCOUNT_LIMIT,
    ALREADY_MEMBER,
    COMMUNITY_UNSUPPORTED,
    DAU_LIMIT,
    DEACTIVATED,
    GROUP_EXISTS,
    GROUP_FULL,
    GROUP_LIMIT,
    GROUP_NOT_FOUND,
    LIVE_GROUP_LIMIT,
    NOT_MEMBER,
    OK,
    OWNER_CANNOT_LEAVE,
    PREPAID_EXPIRED,
    TOO_MANY_MEMBERS,
    UNKNOWN_APP,
    USER_GROUP_LIMIT,
    Code,
    Outcome,
)
from sim.rules.state import App, Group

__all__ = [
    "ACCOUNT_LIMIT",
    "ALREADY_MEMBER",
    "COMMUNITY_UNSUPPORTED",
    "DAU_LIMIT",
    "DEACTIVATED",
    "GROUP_CODES",
    "GROUP_EXISTS",
    "GROUP_FULL",
    "GROUP_LIMIT",
    "GROUP_NOT_FOUND",
    "LIVE_GROUP_LIMIT",
    "NOT_MEMBER",
    "OK",
    "OWNER_CANNOT_LEAVE",
    "PREPAID_EXPIRED",
    "TOO_MANY_MEMBERS",
    "UNKNOWN_APP",
    "USER_GROUP_LIMIT",
    "GroupOps",
]

GROUP_CODES: dict[str, int] = {c.reason: int(c) for c in Code}
"""Reason -> Tencent error code, for every group-operation refusal (:class:`sim.core.vocab.Code`)."""


class GroupOps:
    """register_user, create_group, join_group, leave_group, dissolve_group (R12, R13)."""

    apps: dict[str, App]
    catalog: Catalog
    _group_types: dict[str, GroupType]

    def _group_app(self, t: int, app_name: str) -> App | Outcome:
        raise NotImplementedError  # the engine's

    def _lapse(self, t: int, app: App) -> None:
        raise NotImplementedError  # the engine's

    def register_user(self, t: int, app: str, user: str) -> Outcome:
        """Register an account (``account_limit`` above the limit); registering twice is a no-op."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            found = self._group_app(t, app)
            if isinstance(found, tuple):
                return found
            a = found
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
    ) -> Outcome:
        """Create a group owned by ``user`` with initial ``members`` (besides the owner).

        Unregistered owner and members are registered by this operation (``account_limit`` if that
        would pass the account limit). Duplicate members and the owner among them are ignored.
        """
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            found = self._group_app(t, app)
            if isinstance(found, tuple):
                return found
            a = found
        if group in a.groups:
            return GROUP_EXISTS
        gt = self._group_types[group_type]
        invited = [m for m in dict.fromkeys(members) if m != user] if members else []
        refused = _create_refusal(a, gt, a.caps[group_type], user, invited)
        if refused is not None:
            return refused
        users = a.users
        live = gt.live
        # apply
        step = 0 if live else 1
        users[user] = users.get(user, 0) + step
        for m in invited:
            users[m] = users.get(m, 0) + step
        a.groups[group] = Group(group_type, live, user, {user, *invited})
        if live:
            a.live_count += 1
        else:
            a.nonlive_count += 1
        return OK

    def join_group(self, t: int, app: str, user: str, group: str) -> Outcome:
        """``user`` joins ``group``: ``group_full`` when the group is at its cap (R5: the member
        cap covers Work, Public and Meeting, bounded by each type's own limit),
        ``user_group_limit`` when the user is at the groups-per-user cap (AVChatRoom
        memberships do not count)."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            found = self._group_app(t, app)
            if isinstance(found, tuple):
                return found
            a = found
        g = a.groups.get(group)
        if g is None:
            return GROUP_NOT_FOUND
        if user in g:  # a member is a registered user: account_limit cannot apply
            return ALREADY_MEMBER
        users = a.users
        count = users.get(user)  # None: not registered
        if count is None and a.lim_accounts is not None and len(users) >= a.lim_accounts:
            return ACCOUNT_LIMIT
        cap = a.caps[g.type]
        if cap is not None and len(g) >= cap:
            return GROUP_FULL
        if g.counted:
            if count is None:
                count = 0
            if count >= a.lim_gpu:
                return USER_GROUP_LIMIT
            users[user] = count + 1
        elif count is None:
            users[user] = 0
        g.add(user)
        return OK

    def leave_group(self, t: int, app: str, user: str, group: str) -> Outcome:
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            found = self._group_app(t, app)
            if isinstance(found, tuple):
                return found
            a = found
        g = a.groups.get(group)
        if g is None:
            return GROUP_NOT_FOUND
        if user not in g:
            return NOT_MEMBER
        if user == g.owner:
            return OWNER_CANNOT_LEAVE
        g.discard(user)
        if g.counted:
            a.users[user] -= 1
        return OK

    def dissolve_group(self, t: int, app: str, user: str | None, group: str) -> Outcome:
        """Dissolve a group: its members' group counts and the app's group count go down."""
        a = self.apps.get(app)
        if a is None or a.blocked is not None or a.prepaid_until <= t:
            found = self._group_app(t, app)
            if isinstance(found, tuple):
                return found
            a = found
        g = a.groups.pop(group, None)
        if g is None:
            return GROUP_NOT_FOUND
        if g.counted:
            users = a.users
            for m in g:
                users[m] -= 1
            a.nonlive_count -= 1
        else:
            a.live_count -= 1
        return OK

    def dau_over_limit(self, t: int, app: str, dau: int) -> int:
        """How many of ``dau`` daily active users are refused (``dau_limit``) on a hard-capped
        edition."""
        a = self.apps.get(app)
        if a is not None and a.prepaid_until <= t:
            self._lapse(t, a)  # a package that ran out refuses everyone (prepaid_expired)
        if a is None or a.blocked is not None:
            return dau
        lim = self.catalog.editions[a.edition].limits
        if lim.dau_hard_cap and lim.free_dau is not None and dau > lim.free_dau:
            return dau - lim.free_dau
        return 0


def _create_refusal(
    a: App, gt: GroupType, cap: int | None, user: str, invited: list[str]
) -> Outcome | None:
    """The limit a new group of type ``gt`` by ``user`` with ``invited`` breaks, in the module's
    order (R5, R13), or None."""
    if gt.community and not a.community:
        return COMMUNITY_UNSUPPORTED
    users = a.users
    if a.lim_accounts is not None:
        new: int = user not in users
        for m in invited:
            new += m not in users
        if new and len(users) + new > a.lim_accounts:
            return ACCOUNT_LIMIT
    if gt.live:
        if a.lim_live is not None and a.live_count >= a.lim_live:
            return LIVE_GROUP_LIMIT
    elif a.lim_nonlive is not None and a.nonlive_count >= a.lim_nonlive:
        return GROUP_LIMIT
    if cap is not None and 1 + len(invited) > cap:
        return TOO_MANY_MEMBERS
    if not gt.live and _at_group_cap(users, a.lim_gpu, user, invited):
        return USER_GROUP_LIMIT
    return None


def _at_group_cap(users: dict[str, int], gpu: int, user: str, invited: list[str]) -> bool:
    """Whether the owner or an invited member already counts ``gpu`` non-live groups."""
    if users.get(user, 0) >= gpu:
        return True
    return any(users.get(m, 0) >= gpu for m in invited)
