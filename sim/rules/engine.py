"""The rules engine: decides every console and group operation exactly as the seed says.

Pure domain code: no I/O, no pandas. Instants are ``int`` nanoseconds since the Unix epoch and
must not decrease from one call to the next on the same app (apps share no state: a replay
decides app after app); calendar questions are answered in the catalog's time zone
(:mod:`sim.core.calendar`).

Every operation returns ``(error_code, reason, note)``; it succeeded iff ``reason == ""``.
The rules live in two modules: :mod:`sim.rules.lifecycle` (console operations, R1–R11, R14) and
:mod:`sim.rules.limits` (group operations, R5, R12, R13). This module keeps the state both read and
change, and the timeline of every app's configuration (R6: changes take effect immediately).
"""

from __future__ import annotations

from typing import Any

from sim.core.catalog import PACKS, Catalog, GroupType
from sim.core.vocab import STATES, TRIAL_EDITION, UNKNOWN_APP, Outcome, State
from sim.rules.lifecycle import CONSOLE_REASONS, ConsoleOps
from sim.rules.limits import GROUP_CODES, GroupOps
from sim.rules.state import NEVER, App, blocked_by, derive_limits

__all__ = ["CONSOLE_REASONS", "GROUP_CODES", "STATES", "Engine"]


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
        self.apps: dict[str, App] = {}
        self._intervals: list[tuple[Any, ...]] = []
        tr = catalog.transitions
        self._from: dict[str, set[str]] = {
            name: set(getattr(tr, name).from_)
            for name in ("upgrade", "reconfigure", "downgrade", "buy_prepaid", "deactivate")
        }
        self._to: dict[str, tuple[str, ...]] = {
            name: tuple(getattr(tr, name).to)
            for name in ("upgrade", "reconfigure", "downgrade", "buy_prepaid")
        }
        self._group_types: dict[str, GroupType] = catalog.group_types

    # -- state and timeline ---------------------------------------------------------------------
    def _new_app(self, name: str) -> App:
        app = App(name)
        self.apps[name] = app
        return app

    def _set_config(
        self,
        t: int,
        app: App,
        state: str,
        edition: str,
        options: dict[str, Any],
        prepaid_until: int = NEVER,
    ) -> None:
        """Close the app's current interval at ``t`` and open a new one (R6: immediately)."""
        if app.configured and t > app.start:
            self._intervals.append(self._row(app, app.start, t))
        # else: a new app, or the open interval is empty and is replaced
        app.configured = True
        app.start = t
        app.state = str(state)  # a plain str in the timeline, also when given a State
        app.edition = edition
        app.live_unlimited = options.get("live_unlimited", False)
        app.groups_per_user = options.get("groups_per_user", 0)
        app.members_per_group = options.get("members_per_group", 0)
        app.prepaid_until = prepaid_until
        self._derive_limits(app)

    def _row(self, app: App, start: int, end: int | None) -> tuple[Any, ...]:
        return (
            app.name,
            start,
            end,
            app.state,
            app.live_unlimited,
            app.groups_per_user,
            app.members_per_group,
            app.edition if app.state != State.DEACTIVATED else "",
            None if app.prepaid_until == NEVER else app.prepaid_until,
        )

    def _derive_limits(self, app: App) -> None:
        app.blocked = blocked_by(app.state)
        if app.blocked is None:
            app.apply_limits(
                derive_limits(
                    self.catalog,
                    app.edition,
                    app.live_unlimited,
                    app.groups_per_user,
                    app.members_per_group,
                )
            )

    def _lapse(self, t: int, app: App) -> None:
        """A prepaid package that ran out before ``t`` turns the app Trial-lapsed (R11)."""
        if app.prepaid_until <= t and app.state == State.TRIAL_PREPAID:
            until = app.prepaid_until
            self._set_config(
                until, app, State.TRIAL_LAPSED, TRIAL_EDITION, self._defaults(TRIAL_EDITION)
            )

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
            if app.state == State.TRIAL_PREPAID and app.prepaid_until != NEVER:
                rows.append(self._row(app, app.start, app.prepaid_until))
                d = self._defaults(TRIAL_EDITION)  # what _lapse would set at the expiry
                rows.append(
                    (
                        app.name,
                        app.prepaid_until,
                        None,
                        State.TRIAL_LAPSED.value,
                        d["live_unlimited"],
                        d["groups_per_user"],
                        d["members_per_group"],
                        TRIAL_EDITION,
                        None,
                    )
                )
            else:
                rows.append(self._row(app, app.start, None))
        rows.sort(key=lambda r: (r[0], r[1]))
        return rows

    # -- shared by the operation mixins --------------------------------------------------------
    def _group_app(self, t: int, app_name: str) -> App | Outcome:
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
        """Non-live groups ``user`` has created and joined (what ``user_group_limit`` counts)."""
        return self.apps[app].users.get(user, 0)

    def group_size(self, app: str, group: str) -> int:
        """Members of ``group`` now, the owner included (0 for a group that does not exist)."""
        g = self.apps[app].groups.get(group)
        return 0 if g is None else len(g)

    def state(self, app: str) -> dict[str, Any]:
        """The app's current state and options (a copy)."""
        a = self.apps[app]
        return {
            "state": a.state,
            "edition": a.edition,
            "live_unlimited": a.live_unlimited,
            "groups_per_user": a.groups_per_user,
            "members_per_group": a.members_per_group,
            "prepaid_until": None if a.prepaid_until == NEVER else a.prepaid_until,
        }
