"""The rules engine: decides every console and group operation exactly as the seed says.

Pure domain code: no I/O, no pandas. Instants are ``int`` nanoseconds since the Unix epoch and
must not decrease from one call to the next; calendar questions are answered in the catalog's
time zone (:mod:`sim.core.calendar`).

Every operation returns ``(error_code, reason, note)``; it succeeded iff ``reason == ""``.
The rules live in two modules: :mod:`sim.rules.lifecycle` (console operations, R1–R11, R14) and
:mod:`sim.rules.limits` (group operations, R5, R12, R13). This module keeps the state both read and
change, and the timeline of every app's configuration (R6: changes take effect immediately).
"""

from __future__ import annotations

from typing import Any

from sim.core.catalog import PACKS, Catalog
from sim.rules.lifecycle import CONSOLE_REASONS, ConsoleOps
from sim.rules.limits import (
    DEACTIVATED,
    GROUP_CODES,
    PREPAID_EXPIRED,
    UNKNOWN_APP,
    GroupOps,
    _Group,
)

__all__ = ["CONSOLE_REASONS", "GROUP_CODES", "STATES", "Engine"]

STATES = (
    "IM",
    "Trial",
    "Trial-prepaid",
    "Trial-lapsed",
    "Pro-postpaid",
    "Ultimate-postpaid",
    "Deactivated",
)

_NEVER = 2**63 - 1


class _App:
    """An app's mutable state. ``edition`` is the edition whose limits apply."""

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
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.users: dict[str, int] = {}  # registered user -> non-live groups created and joined
        self.groups: dict[str, _Group] = {}
        self.live_count = 0
        self.nonlive_count = 0
        self.changes: dict[tuple[str, int], int] = {}  # (item, month index) -> changes (R9)
        self.prepaid_until = _NEVER
        self.blocked: tuple[int, str, str] | None = None
        self.start = 0


class Engine(ConsoleOps, GroupOps):
    """Decides operations for a population of apps under one catalog, and records the timeline.

    >>> from sim.files.catalogs import load_catalog
    >>> eng = Engine(load_catalog())
    >>> eng.create_app(0, "a")
    (0, '', '')
    >>> eng.reconfigure(1, "a", edition="Pro")  # R8: only postpaid apps are reconfigured
    (0, 'wrong_state', '')
    """

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.tz = catalog.tz
        self.apps: dict[str, _App] = {}
        self._intervals: list[tuple[Any, ...]] = []
        tr = catalog.transitions
        self._from = {
            name: set(getattr(tr, name).from_)
            for name in ("upgrade", "reconfigure", "downgrade", "buy_prepaid", "deactivate")
        }
        self._to = {
            name: tuple(getattr(tr, name).to)
            for name in ("upgrade", "reconfigure", "downgrade", "buy_prepaid")
        }
        self._group_types = catalog.group_types

    # -- state and timeline ---------------------------------------------------------------------
    def _new_app(self, name: str) -> _App:
        app = _App(name)
        self.apps[name] = app
        return app

    def _set_config(
        self,
        t: int,
        app: _App,
        state: str,
        edition: str,
        options: dict[str, Any],
        prepaid_until: int = _NEVER,
    ) -> None:
        """Close the app's current interval at ``t`` and open a new one (R6: immediately)."""
        if hasattr(app, "state") and t > app.start:
            self._intervals.append(self._row(app, app.start, t))
        # else: a new app, or the open interval is empty and is replaced
        app.start = t
        app.state = state
        app.edition = edition
        app.live_unlimited = options.get("live_unlimited", False)
        app.groups_per_user = options.get("groups_per_user", 0)
        app.members_per_group = options.get("members_per_group", 0)
        app.prepaid_until = prepaid_until
        self._derive_limits(app)

    def _row(self, app: _App, start: int, end: int | None) -> tuple[Any, ...]:
        return (
            app.name,
            start,
            end,
            app.state,
            app.live_unlimited,
            app.groups_per_user,
            app.members_per_group,
            app.edition if app.state != "Deactivated" else "",
            None if app.prepaid_until == _NEVER else app.prepaid_until,
        )

    def _derive_limits(self, app: _App) -> None:
        if app.state == "Deactivated":
            app.blocked = DEACTIVATED
            return
        if app.state == "Trial-lapsed":
            app.blocked = PREPAID_EXPIRED
            return
        app.blocked = None
        lim = self.catalog.editions[app.edition].limits
        app.lim_accounts = lim.accounts
        app.lim_live = None if (app.live_unlimited or lim.live_groups is None) else lim.live_groups
        app.lim_nonlive = lim.nonlive_groups
        app.lim_gpu = app.groups_per_user
        app.community = lim.community
        caps: dict[str, int | None] = {}
        for name, gt in self._group_types.items():
            cap = app.members_per_group if gt.member_cap else None
            if gt.max_members is not None:
                cap = gt.max_members if cap is None else min(cap, gt.max_members)
            caps[name] = cap
        app.caps = caps

    def _lapse(self, t: int, app: _App) -> None:
        """A prepaid package that ran out before ``t`` turns the app Trial-lapsed (60020)."""
        if app.prepaid_until <= t and app.state == "Trial-prepaid":
            until = app.prepaid_until
            self._set_config(until, app, "Trial-lapsed", "Trial", self._defaults("Trial"))

    def _defaults(self, edition: str) -> dict[str, Any]:
        return {p: self.catalog.default_option(edition, p) for p in PACKS}

    def timeline(self) -> list[tuple[Any, ...]]:
        """Every interval so far, the open ones last per app with ``end`` None.

        Columns: app, start, end, state, live_unlimited, groups_per_user, members_per_group,
        edition, prepaid_until. A prepaid package that lapsed after the last operation on its
        app is shown as a ``Trial-lapsed`` interval from its expiry.
        """
        rows = list(self._intervals)
        for app in self.apps.values():
            if app.state == "Trial-prepaid" and app.prepaid_until != _NEVER:
                rows.append(self._row(app, app.start, app.prepaid_until))
                d = self._defaults("Trial")  # what _lapse would set at the expiry
                rows.append(
                    (
                        app.name,
                        app.prepaid_until,
                        None,
                        "Trial-lapsed",
                        d["live_unlimited"],
                        d["groups_per_user"],
                        d["members_per_group"],
                        "Trial",
                        None,
                    )
                )
            else:
                rows.append(self._row(app, app.start, None))
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    # -- shared by the operation mixins --------------------------------------------------------
    def _group_app(self, t: int, app_name: str) -> _App | tuple[int, str, str]:
        """The app a group operation acts on, or the refusal its state gives (slow path)."""
        app = self.apps.get(app_name)
        if app is None:
            return UNKNOWN_APP
        if app.prepaid_until <= t:
            self._lapse(t, app)
        if app.blocked is not None:
            return app.blocked
        return app

    # -- read-only views for tests and models ---------------------------------------------------
    def counts(self, app: str) -> dict[str, int]:
        """Current counts of an app: accounts, live and non-live groups."""
        a = self.apps[app]
        return {
            "accounts": len(a.users),
            "live_groups": a.live_count,
            "nonlive_groups": a.nonlive_count,
        }

    def user_groups(self, app: str, user: str) -> int:
        """Non-live groups ``user`` has created and joined (what 10037 counts)."""
        return self.apps[app].users.get(user, 0)

    def group_size(self, app: str, group: str) -> int:
        g = self.apps[app].groups.get(group)
        return 0 if g is None else len(g.members)

    def state(self, app: str) -> dict[str, Any]:
        """The app's current state and options (a copy)."""
        a = self.apps[app]
        return {
            "state": a.state,
            "edition": a.edition,
            "live_unlimited": a.live_unlimited,
            "groups_per_user": a.groups_per_user,
            "members_per_group": a.members_per_group,
            "prepaid_until": None if a.prepaid_until == _NEVER else a.prepaid_until,
        }
