"""The state the rules engine keeps per app and per group, and the limits an app's state implies.

:class:`App` and :class:`Group` are plain records, fully initialised when made; the console
operations (:mod:`sim.rules.lifecycle`) change an app's configuration, the group operations
(:mod:`sim.rules.limits`) its users and groups. :func:`derive_limits` is the one derivation of
an app's limits from its configuration (R3, R5), shared by the engine and the fast model mode
(:mod:`sim.model.fast`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sim.core.catalog import Catalog
from sim.core.vocab import DEACTIVATED, PREPAID_EXPIRED, Outcome, State

__all__ = ["NEVER", "App", "Group", "Limits", "derive_limits", "blocked_by"]

NEVER: Final = 2**63 - 1
"""``prepaid_until`` of an app without a prepaid package (ns: later than any instant)."""


class Group(set[str]):
    """A group of an app: the set of its members (the owner is one), with its type and owner.

    A set itself rather than a record holding one: a join or leave tests membership on the
    object it found in the app's groups, one memory access fewer per operation (the group
    operations of a replay are bound by such accesses).
    """

    __slots__ = ("type", "live", "counted", "owner")

    def __init__(self, gtype: str, live: bool, owner: str, members: set[str]) -> None:
        super().__init__(members)
        self.type = gtype
        self.live = live
        self.counted = not live  # AVChatRoom memberships do not count towards user_group_limit
        self.owner = owner


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits in force for one configuration (R3, R5); ``None`` means unlimited.

    ``caps`` maps each group type to its member cap: the configuration's ``members_per_group``
    where the type is covered by the member cap, bounded by the type's own ``max_members``.
    """

    accounts: int | None
    live_groups: int | None
    nonlive_groups: int | None
    groups_per_user: int
    community: bool
    caps: dict[str, int | None]
    dau_hard_cap: int | None
    """Free DAU above which activity is refused (``None``: billed, not refused)."""


def derive_limits(
    catalog: Catalog,
    edition: str,
    live_unlimited: bool,
    groups_per_user: int,
    members_per_group: int,
) -> Limits:
    """The limits of an edition with the given pack options (R3: the edition's limits; R2, R4:
    the packs raise them; R5: the member cap covers the types the catalog says)."""
    lim = catalog.editions[edition].limits
    caps: dict[str, int | None] = {}
    for name, gt in catalog.group_types.items():
        cap = members_per_group if gt.member_cap else None
        if gt.max_members is not None:
            cap = gt.max_members if cap is None else min(cap, gt.max_members)
        caps[name] = cap
    return Limits(
        accounts=lim.accounts,
        live_groups=None if (live_unlimited or lim.live_groups is None) else lim.live_groups,
        nonlive_groups=lim.nonlive_groups,
        groups_per_user=groups_per_user,
        community=lim.community,
        caps=caps,
        dau_hard_cap=lim.free_dau if lim.dau_hard_cap else None,
    )


def blocked_by(state: str) -> Outcome | None:
    """The refusal every group operation of an app in ``state`` gets, or None (R11, R14)."""
    if state == State.DEACTIVATED:
        return DEACTIVATED
    if state == State.TRIAL_LAPSED:
        return PREPAID_EXPIRED
    return None


class App:
    """An app's mutable state. ``edition`` is the edition whose limits apply.

    The configuration (``state`` .. ``prepaid_until``) is set by the engine's ``_set_config``;
    the ``lim_*``, ``community`` and ``caps`` fields mirror :func:`derive_limits` of it (kept as
    fields: the group operations read them on every call).
    """

    __slots__ = (
        "name",
        "state",
        "edition",
        "live_unlimited",
        "groups_per_user",
        "members_per_group",
        "prepaid_until",
        "blocked",
        "lim_accounts",
        "lim_live",
        "lim_nonlive",
        "lim_gpu",
        "community",
        "caps",
        "users",
        "groups",
        "live_count",
        "nonlive_count",
        "changes",
        "start",
        "configured",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.state: str = State.IM.value
        self.edition: str = State.IM.value
        self.live_unlimited: bool = False
        self.groups_per_user: int = 0
        self.members_per_group: int = 0
        self.prepaid_until: int = NEVER
        self.blocked: Outcome | None = None
        self.lim_accounts: int | None = None
        self.lim_live: int | None = None
        self.lim_nonlive: int | None = None
        self.lim_gpu: int = 0
        self.community: bool = False
        self.caps: dict[str, int | None] = {}
        self.users: dict[str, int] = {}  # registered user -> non-live groups created and joined
        self.groups: dict[str, Group] = {}
        self.live_count = 0
        self.nonlive_count = 0
        self.changes: dict[tuple[str, int], int] = {}  # (item, month index) -> changes (R9)
        self.start = 0
        self.configured = False
        """False until the first configuration is set (no timeline interval to close)."""

    def apply_limits(self, limits: Limits) -> None:
        """Take the limits of the configuration just set."""
        self.lim_accounts = limits.accounts
        self.lim_live = limits.live_groups
        self.lim_nonlive = limits.nonlive_groups
        self.lim_gpu = limits.groups_per_user
        self.community = limits.community
        self.caps = limits.caps

    def options(self) -> dict[str, Any]:
        """The app's pack items now, keyed as in :data:`sim.core.vocab.PACKS`."""
        return {
            "live_unlimited": self.live_unlimited,
            "groups_per_user": self.groups_per_user,
            "members_per_group": self.members_per_group,
        }
