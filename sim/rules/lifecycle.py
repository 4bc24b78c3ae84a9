"""The app lifecycle (R1–R11, R14): console operations and why each is allowed or refused.

Console operations return ``(0, reason, note)`` when refused, ``reason`` from this vocabulary:

- ``wrong_state``     R1 upgrade only from IM; R8 reconfigure only on postpaid; R10 downgrade only
                      from IM; buy_prepaid only on Trial; create_app on an existing app
- ``monthly_limit``   R9 one change of the edition and one of each pack per calendar month
- ``postpaid_closed`` R11 a Trial app is never upgraded to postpaid again
- ``deactivated``     R14 anything after deactivation
- ``invalid_option``  a value the catalog does not offer for that edition
- ``unknown_app``     the app was never created

A refused operation changes nothing; a reconfiguration naming several items is all-or-nothing.

:class:`ConsoleOps` is a mixin of :class:`sim.rules.engine.Engine`, which keeps the state it changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sim.core.calendar import add_months_anchor, month_index
from sim.core.catalog import PACKS, Catalog
from sim.core.vocab import OK, TRIAL_EDITION, Outcome, State
from sim.rules.state import NEVER, App

CONSOLE_REASONS = (
    "wrong_state",
    "monthly_limit",
    "postpaid_closed",
    "deactivated",
    "invalid_option",
    "unknown_app",
)


def _refuse(reason: str, note: str = "") -> Outcome:
    return (0, reason, note)


def _base(app: App) -> str:
    """The edition name the transition rules speak of: Trial for every Trial state."""
    return TRIAL_EDITION if app.state.startswith(TRIAL_EDITION) else app.edition


def _reset_note(pack: str, old: Any, target: str, default: Any, cat: Catalog) -> str:
    """Why an item not named in the operation changed: the new edition does not offer it."""
    if cat.pack(target, pack) is None and pack == "live_unlimited":
        why = (
            " (its live groups are unlimited)"
            if cat.editions[target].limits.live_groups is None
            else ""
        )
        return f"{pack} pack dropped: {target} has no such pack{why}"
    return f"{pack} {old} is not offered on {target}: set to its default {default}"


def _packs(live_unlimited: Any, groups_per_user: Any, members_per_group: Any) -> dict[str, Any]:
    """The pack items an operation names (None: not named), keyed as in :data:`PACKS`."""
    return {
        "live_unlimited": live_unlimited,
        "groups_per_user": groups_per_user,
        "members_per_group": members_per_group,
    }


def _current(app: App) -> dict[str, Any]:
    """The app's pack items now."""
    return app.options()


@dataclass(frozen=True)
class _Choice:
    edition: str
    options: dict[str, Any]
    notes: tuple[str, ...]


class ConsoleOps:
    """create_app, upgrade, reconfigure, downgrade, buy_prepaid, deactivate."""

    apps: dict[str, App]
    catalog: Catalog
    tz: dt.tzinfo
    _from: dict[str, set[str]]
    _to: dict[str, tuple[str, ...]]

    def _lapse(self, t: int, app: App) -> None:
        raise NotImplementedError  # the engine's

    def _new_app(self, name: str) -> App:
        raise NotImplementedError  # the engine's

    def _defaults(self, edition: str) -> dict[str, Any]:
        raise NotImplementedError  # the engine's

    def _set_config(
        self,
        t: int,
        app: App,
        state: str,
        edition: str,
        options: dict[str, Any],
        prepaid_until: int = NEVER,
    ) -> None:
        raise NotImplementedError  # the engine's

    def _console_app(self, t: int, app_name: str) -> App | tuple[int, str, str]:
        app = self.apps.get(app_name)
        if app is None:
            return _refuse("unknown_app")
        if app.state == State.DEACTIVATED:
            return _refuse("deactivated")
        self._lapse(t, app)
        return app

    def _choose(self, app: App, edition: str | None, named: dict[str, Any]) -> _Choice | str:
        """The configuration an upgrade/reconfiguration/purchase asks for, or a refusal reason.

        R2: four items. Items not named keep their current values unless the new edition does
        not offer them; then the new edition's default applies, and a note says so. A kept value
        that was free on the old edition but is a paid pack on the new one is noted too.
        """
        cat = self.catalog
        target = edition if edition is not None else app.edition
        if target not in cat.editions:
            return "invalid_option"
        options: dict[str, Any] = {}
        notes: list[str] = []
        current = _current(app)
        for pack in PACKS:
            offered = cat.offered(target, pack)
            value = named.get(pack)
            if value is not None:
                if value not in offered or isinstance(value, bool) != (pack == "live_unlimited"):
                    return "invalid_option"
                options[pack] = value
            elif current[pack] in offered and app.state.endswith("-postpaid"):
                options[pack] = current[pack]
                if cat.option_price(target, pack, current[pack]) > cat.option_price(
                    app.edition, pack, current[pack]
                ):  # e.g. Ultimate -> Pro keeps 2000 members: free before, a paid pack now
                    notes.append(f"{pack} {current[pack]} kept: a paid pack on {target}")
            else:
                default = cat.default_option(target, pack)
                if app.state.endswith("-postpaid") and current[pack] != default:
                    notes.append(_reset_note(pack, current[pack], target, default, cat))
                options[pack] = default
        return _Choice(target, options, tuple(notes))

    def create_app(self, t: int, app: str) -> Outcome:
        """A new app starts on IM, the free tier that may still become postpaid."""
        existing = self.apps.get(app)
        if existing is not None:
            return _refuse("deactivated" if existing.state == State.DEACTIVATED else "wrong_state")
        new = self._new_app(app)
        self._set_config(t, new, State.IM, State.IM.value, self._defaults(State.IM.value))
        return OK

    def upgrade(
        self,
        t: int,
        app: str,
        edition: str | None,
        live_unlimited: bool | None = None,
        groups_per_user: int | None = None,
        members_per_group: int | None = None,
    ) -> Outcome:
        """R1: only from IM, onto Pro-postpaid or Ultimate-postpaid; R2 sets the four items.
        R11: a Trial app is refused as ``postpaid_closed``. An upgrade is not a reconfiguration
        and does not use up the month's changes (R9)."""
        a = self._console_app(t, app)
        if isinstance(a, tuple):
            return a
        base = _base(a)
        if base in self.catalog.transitions.postpaid_closed:
            return _refuse("postpaid_closed")
        if base not in self._from["upgrade"]:
            return _refuse("wrong_state")
        if edition not in self._to["upgrade"]:
            return _refuse("invalid_option")
        named = _packs(live_unlimited, groups_per_user, members_per_group)
        choice = self._choose(a, edition, named)
        if isinstance(choice, str):
            return _refuse(choice)
        self._set_config(t, a, f"{choice.edition}-postpaid", choice.edition, choice.options)
        return (0, "", "; ".join(choice.notes))

    def reconfigure(
        self,
        t: int,
        app: str,
        edition: str | None = None,
        live_unlimited: bool | None = None,
        groups_per_user: int | None = None,
        members_per_group: int | None = None,
    ) -> Outcome:
        """R8: only on Pro-postpaid / Ultimate-postpaid. R9: per calendar month (catalog time
        zone) at most ``edition_changes_per_month`` changes of the edition and
        ``pack_changes_per_month`` of each pack; an item named with its current value is not a
        change. All-or-nothing: if one item is refused, nothing changes."""
        a = self._console_app(t, app)
        if isinstance(a, tuple):
            return a
        if not a.state.endswith("-postpaid") or _base(a) not in self._from["reconfigure"]:
            return _refuse("wrong_state")
        if edition is not None and edition not in self._to["reconfigure"]:
            return _refuse("invalid_option")
        named = _packs(live_unlimited, groups_per_user, members_per_group)
        choice = self._choose(a, edition, named)
        if isinstance(choice, str):
            return _refuse(choice)
        month = month_index(t, self.tz)
        tr = self.catalog.transitions
        changed: list[str] = []
        if choice.edition != a.edition:
            if a.changes.get(("edition", month), 0) >= tr.edition_changes_per_month:
                return _refuse("monthly_limit", "edition already changed this month")
            changed.append("edition")
        current = _current(a)
        for pack in PACKS:
            if named[pack] is not None and named[pack] != current[pack]:
                if a.changes.get((pack, month), 0) >= tr.pack_changes_per_month:
                    return _refuse("monthly_limit", f"{pack} already changed this month")
                changed.append(pack)
        if not changed and choice.options == current:
            return (0, "", "no change")
        for item in changed:
            a.changes[(item, month)] = a.changes.get((item, month), 0) + 1
        self._set_config(t, a, f"{choice.edition}-postpaid", choice.edition, choice.options)
        return (0, "", "; ".join(choice.notes))

    def downgrade(self, t: int, app: str) -> Outcome:
        """R10: only from IM; the app becomes Trial and can never be postpaid again (R11)."""
        a = self._console_app(t, app)
        if isinstance(a, tuple):
            return a
        if _base(a) not in self._from["downgrade"]:
            return _refuse("wrong_state")
        target = self._to["downgrade"][0]
        self._set_config(t, a, target, target, self._defaults(target))
        return OK

    def buy_prepaid(
        self,
        t: int,
        app: str,
        edition: str | None,
        live_unlimited: bool | None = None,
        groups_per_user: int | None = None,
        members_per_group: int | None = None,
        months: int = 1,
    ) -> Outcome:
        """R11: a Trial app goes up only by buying a prepaid package (and extension packs).
        Bought at day T, it runs until 00:00 of day T ``months`` months later (the 1st of the
        month after, when that month has no day T); a purchase while one is active extends it
        from its expiry and takes the new configuration at once."""
        a = self._console_app(t, app)
        if isinstance(a, tuple):
            return a
        if _base(a) not in self._from["buy_prepaid"]:
            return _refuse("wrong_state")
        if edition not in self._to["buy_prepaid"] or months < 1:
            return _refuse("invalid_option")
        named = _packs(live_unlimited, groups_per_user, members_per_group)
        choice = self._choose(a, edition, named)
        if isinstance(choice, str):
            return _refuse(choice)
        active = a.state == State.TRIAL_PREPAID and a.prepaid_until > t
        anchor = a.prepaid_until if active else t
        until = add_months_anchor(anchor, int(months), self.tz)
        self._set_config(t, a, State.TRIAL_PREPAID, choice.edition, choice.options, until)
        return OK

    def deactivate(self, t: int, app: str) -> Outcome:
        """R14: from any live state; stops service at once and is final."""
        a = self._console_app(t, app)
        if isinstance(a, tuple):
            return a
        if _base(a) not in self._from["deactivate"]:
            return _refuse("wrong_state")
        self._set_config(t, a, State.DEACTIVATED, a.edition, _current(a))
        return OK
