"""The vocabulary of the domain, defined once: app states, packs, error codes, outcomes, time.

Every other module imports these names; Tencent's error codes are written as numbers here and
nowhere else in ``sim`` (the catalog YAML and the tests aside). The rules they belong to are
stated in ``docs/rules.md``.

- :class:`State` -- the app states of the timeline's ``state`` column (R1, R10, R11, R14).
- :class:`Pack` -- the three extension-pack items of a configuration (R2, R4).
- :class:`Code` -- Tencent's error code of every refusal the engine models, with its reason.
- :data:`Outcome` / :data:`OK` -- what every operation returns: ``(error_code, reason, note)``.
- Time: instants are ``int`` nanoseconds since the Unix epoch (:data:`NS_PER_SECOND`,
  :data:`NS_PER_DAY`).

``State`` and ``Pack`` are ``str`` enums and ``Code`` an ``int`` enum, so a member equals the
plain value written in the tables (``State.IM == "IM"``, ``Code.GROUP_FULL == 10014``).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Final

__all__ = [
    "ALREADY_MEMBER",
    "ACCOUNT_LIMIT",
    "COMMUNITY_UNSUPPORTED",
    "DAU_LIMIT",
    "DEACTIVATED",
    "GROUP_EXISTS",
    "GROUP_FULL",
    "GROUP_LIMIT",
    "GROUP_NOT_FOUND",
    "LIVE_GROUP_LIMIT",
    "NOT_MEMBER",
    "NS_PER_DAY",
    "NS_PER_HOUR",
    "NS_PER_SECOND",
    "OK",
    "OWNER_CANNOT_LEAVE",
    "PREPAID_EXPIRED",
    "SECONDS_PER_DAY",
    "SECONDS_PER_HOUR",
    "TOO_MANY_MEMBERS",
    "TRIAL_EDITION",
    "UNKNOWN_APP",
    "USER_GROUP_LIMIT",
    "CODE_REASONS",
    "LIMIT_CODES",
    "PACKS",
    "STATES",
    "Code",
    "Outcome",
    "Pack",
    "State",
    "refusal",
]


class State(StrEnum):
    """An app's state, as written in the timeline's ``state`` column."""

    IM = "IM"
    """New app on the free tier; may still become postpaid (R1)."""
    TRIAL = "Trial"
    """Free tier after a downgrade (R10); goes up only by prepaid packages (R11)."""
    TRIAL_PREPAID = "Trial-prepaid"
    """A Trial app with an active prepaid package (R11)."""
    TRIAL_LAPSED = "Trial-lapsed"
    """A Trial app whose prepaid package ran out: everything is refused (60020)."""
    PRO_POSTPAID = "Pro-postpaid"
    ULTIMATE_POSTPAID = "Ultimate-postpaid"
    DEACTIVATED = "Deactivated"
    """Final (R14)."""


STATES: Final = tuple(s.value for s in State)
"""Every state's name, in the order above."""

TRIAL_EDITION: Final = "Trial"
"""The edition whose limits and defaults a Trial or Trial-lapsed app has (R10, R11)."""


class Pack(StrEnum):
    """An extension-pack item of a configuration (R2); the value is the column name."""

    LIVE_UNLIMITED = "live_unlimited"
    GROUPS_PER_USER = "groups_per_user"
    MEMBERS_PER_GROUP = "members_per_group"


PACKS: Final = tuple(p.value for p in Pack)
"""The pack items, in the order of the tables' columns."""


class Code(IntEnum):
    """Tencent's error code of every refusal the engine models (``docs/rules.md``).

    10006 (more than 10,000 net new groups per app and day) is published but not modelled: no
    scenario comes near it, so it has no member here.
    """

    DEACTIVATED = 60016
    UNKNOWN_APP = 70020
    PREPAID_EXPIRED = 60020
    COMMUNITY_UNSUPPORTED = 10059
    ACCOUNT_LIMIT = 70398
    LIVE_GROUP_LIMIT = 10036
    GROUP_LIMIT = 10058
    TOO_MANY_MEMBERS = 10038
    GROUP_FULL = 10014
    USER_GROUP_LIMIT = 10037
    GROUP_EXISTS = 10021
    GROUP_NOT_FOUND = 10010
    ALREADY_MEMBER = 10013
    NOT_MEMBER = 10007
    OWNER_CANNOT_LEAVE = 10009
    DAU_LIMIT = 72000

    @property
    def reason(self) -> str:
        """The short reason word written next to the code (``group_full`` for 10014)."""
        return self.name.lower()


CODE_REASONS: Final[dict[int, str]] = {int(c): c.reason for c in Code}
"""Error code -> reason word, for every modelled code."""

LIMIT_CODES: Final = frozenset(
    int(c)
    for c in (
        Code.ACCOUNT_LIMIT,
        Code.DAU_LIMIT,
        Code.LIVE_GROUP_LIMIT,
        Code.GROUP_LIMIT,
        Code.TOO_MANY_MEMBERS,
        Code.GROUP_FULL,
        Code.USER_GROUP_LIMIT,
        Code.COMMUNITY_UNSUPPORTED,
    )
)
"""The codes of a published limit being reached (R3, R5, R13), as opposed to state or misuse."""

Outcome = tuple[int, str, str]
"""``(error_code, reason, note)``: an operation succeeded iff ``reason == ""``."""

OK: Final[Outcome] = (0, "", "")
"""The outcome of every operation that succeeds without a note (one shared object)."""


def refusal(code: Code) -> Outcome:
    """The outcome of a group operation refused with ``code`` (plain ``int`` and ``str``)."""
    return (int(code), code.reason, "")


DEACTIVATED: Final = refusal(Code.DEACTIVATED)
UNKNOWN_APP: Final = refusal(Code.UNKNOWN_APP)
PREPAID_EXPIRED: Final = refusal(Code.PREPAID_EXPIRED)
COMMUNITY_UNSUPPORTED: Final = refusal(Code.COMMUNITY_UNSUPPORTED)
ACCOUNT_LIMIT: Final = refusal(Code.ACCOUNT_LIMIT)
LIVE_GROUP_LIMIT: Final = refusal(Code.LIVE_GROUP_LIMIT)
GROUP_LIMIT: Final = refusal(Code.GROUP_LIMIT)
TOO_MANY_MEMBERS: Final = refusal(Code.TOO_MANY_MEMBERS)
GROUP_FULL: Final = refusal(Code.GROUP_FULL)
USER_GROUP_LIMIT: Final = refusal(Code.USER_GROUP_LIMIT)
GROUP_EXISTS: Final = refusal(Code.GROUP_EXISTS)
GROUP_NOT_FOUND: Final = refusal(Code.GROUP_NOT_FOUND)
ALREADY_MEMBER: Final = refusal(Code.ALREADY_MEMBER)
NOT_MEMBER: Final = refusal(Code.NOT_MEMBER)
OWNER_CANNOT_LEAVE: Final = refusal(Code.OWNER_CANNOT_LEAVE)
DAU_LIMIT: Final = refusal(Code.DAU_LIMIT)

# -- time ---------------------------------------------------------------------------------------
SECONDS_PER_HOUR: Final = 3_600
SECONDS_PER_DAY: Final = 86_400
NS_PER_SECOND: Final = 1_000_000_000
NS_PER_HOUR: Final = SECONDS_PER_HOUR * NS_PER_SECOND
NS_PER_DAY: Final = SECONDS_PER_DAY * NS_PER_SECOND
