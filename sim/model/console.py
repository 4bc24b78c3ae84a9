"""The console: what the tenants' users met (:class:`Stats`) and the :class:`Console` that applies
the tenants' decisions through the rules engine, mirroring its state, spend and limits.

Every day at local midnight :meth:`Console.day` evaluates the policies of its registry
(:data:`sim.model.decisions.POLICIES`, passed in) in order for every live tenant, from what its
users met over the last ``behaviour.window_days`` days, and sends each chosen operation to the
engine; refused ones are logged like the others. Both fidelity modes share this module, so they
decide alike.
"""

from __future__ import annotations

import bisect
from collections.abc import Mapping
from typing import Any

import numpy as np

from sim.core.catalog import Catalog
from sim.core.vocab import STATES, TRIAL_EDITION, Code
from sim.model.choice import candidates

CODES = (
    Code.ACCOUNT_LIMIT,
    Code.GROUP_LIMIT,
    Code.LIVE_GROUP_LIMIT,
    Code.USER_GROUP_LIMIT,
    Code.GROUP_FULL,
    Code.COMMUNITY_UNSUPPORTED,
    Code.DAU_LIMIT,
    Code.PREPAID_EXPIRED,
)
"""Limit error codes the policies watch (column order of :class:`Stats`)."""
CODE_COL: dict[int, int] = {c: i for i, c in enumerate(CODES)}
ATTEMPTS = len(CODES)  # the column counting attempts (group operations + DAU demand)
STATE_CODES = STATES
IM, TRIAL, PREPAID, LAPSED, PRO, ULTIMATE, GONE = range(7)
_NEVER = np.iinfo(np.int64).max
_OPTIONS = ("live_unlimited", "groups_per_user", "members_per_group")


class Stats:
    """Per tenant, refusals by limit code and attempts: today's, and a sliding window."""

    def __init__(self, n_apps: int, window: int) -> None:
        self.window = window
        self.today = np.zeros((n_apps, len(CODES) + 1), dtype=np.int64)
        self.win = np.zeros_like(self.today)
        self.ring = np.zeros((window, n_apps, len(CODES) + 1), dtype=np.int64)

    def end_day(self, day: int) -> None:
        slot = day % self.window
        self.win += self.today - self.ring[slot]
        self.ring[slot] = self.today
        self.today[:] = 0

    def reset(self, i: int) -> None:
        """Forget what tenant ``i`` met (its configuration changed)."""
        self.win[i] = 0
        self.ring[:, i] = 0


# -- the console --------------------------------------------------------------------------------


class Console:
    """Applies the tenants' decisions through the engine and keeps a log of them.

    ``state`` (code in :data:`STATE_CODES`), ``config`` and ``spend`` mirror the engine after
    every operation; ``changed`` lists the tenants whose configuration changed since the mode
    last looked (the fast mode re-derives their limits). ``policies`` is the registry
    :meth:`day` evaluates in order (name -> entry with ``decide``; its parameters are
    ``behaviour.policies.<name>``): :data:`sim.model.decisions.POLICIES`.
    """

    def __init__(
        self,
        tenants: list[Any],
        catalog: Catalog,
        behaviour: Any,
        engine: Any,
        stats: Stats,
        start_ns: int,
        policies: Mapping[str, Any],
    ) -> None:
        self.tenants = tenants
        self.catalog = catalog
        self.b = behaviour
        self.pol = behaviour.policies
        self.policies = policies  # name -> entry with ``decide``, evaluated in this order
        self.engine = engine
        self.stats = stats
        self.start_ns = start_ns
        n = len(tenants)
        self.state = np.zeros(n, dtype=np.int8)
        self.config: list[dict[str, Any]] = [{} for _ in range(n)]
        self.spend = np.zeros(n)
        self.wtp = np.array([t.wtp for t in tenants], dtype=float) * behaviour.wtp_scale
        self.campaign = np.zeros(n, dtype=bool)
        self.renewed_until = np.zeros(n, dtype=np.int64)
        self.prepaid_until = np.full(n, _NEVER, dtype=np.int64)
        self.changed: set[int] = set()
        self._spend: dict[tuple[Any, ...], float] = {}  # by configuration (:meth:`_refresh`)
        self.log: list[tuple[Any, ...]] = []
        self.up = candidates(catalog, tuple(catalog.transitions.upgrade.to))
        self.re = candidates(catalog, tuple(catalog.transitions.reconfigure.to))
        self.pre = candidates(catalog, tuple(catalog.transitions.buy_prepaid.to))
        self.beyond_trial = {  # what a lapsed app needs: more than the Trial defaults (R11)
            "members": int(catalog.default_option(TRIAL_EDITION, "members_per_group")) + 1,
            "gpu": int(catalog.default_option(TRIAL_EDITION, "groups_per_user")) + 1,
        }
        self.priced = bool(behaviour.price_response)
        self.month_first: set[int] = set()
        self._events: np.ndarray | None = None  # tenants x days, made on first use
        self.evaluated = np.zeros(n)  # the monthly bill each tenant last accepted
        self.waiting = np.zeros(n, dtype=bool)  # not arrived yet (state GONE until then)
        self.schedule: list[tuple[int, Catalog, int]] = []  # (day, catalog, kept until day)
        self.kept_until = np.full(n, -1, dtype=np.int64)  # grandfathered until this day
        self._overage: dict[Any, tuple[int, int, float]] = {}  # by edition: DAU blocks

    # -- applying an operation ---------------------------------------------------------------
    def apply(self, i: int, t_ns: int, op: str, policy: str, **kw: Any) -> bool:
        app = self.tenants[i].app
        fn = getattr(self.engine, op)
        code, reason, note = fn(t_ns, app, **kw)
        ok = reason == ""
        self.log.append(
            (
                t_ns,
                i,
                op,
                policy,
                kw.get("edition"),
                kw.get("live_unlimited"),
                kw.get("groups_per_user"),
                kw.get("members_per_group"),
                kw.get("months"),
                ok,
                code,
                reason,
                note,
            )
        )
        if ok:
            self._refresh(i)
            if op != "create_app":
                self.stats.reset(i)
        return ok

    def _refresh(self, i: int) -> None:
        s = self.engine.state(self.tenants[i].app)
        self.config[i] = s
        self.state[i] = STATE_CODES.index(s["state"])
        until = s["prepaid_until"]
        self.prepaid_until[i] = _NEVER if until is None else until
        key = (s["state"], s.get("edition"), *(s.get(p) for p in _OPTIONS))
        spend = self._spend.get(key)
        if spend is None:  # (a few configurations, met again and again)
            spend = self._spend[key] = self._spend_of(s)
        self.spend[i] = spend
        self.changed.add(i)

    def _spend_of(self, s: dict[str, Any]) -> float:
        """The monthly spend of an engine state."""
        cat = self.catalog
        if s["state"].endswith("-postpaid"):
            ed = s["edition"]
            return float(cat.editions[ed].price_per_month) + sum(
                float(cat.option_price(ed, p, s[p])) for p in _OPTIONS
            )
        if s["state"] == "Trial-prepaid":
            return float(cat.editions[s["edition"]].prepaid_price_per_month or 0)
        return 0.0

    def setup(self, t_ns: int) -> None:
        """Create every app there at the start on IM, then move it to its drawn start state --
        with price response, a paid edition only if the tenant's willingness to pay covers its
        price (a steady state: the apps on an edition are those that chose it at these
        prices). Apps arriving later wait (state ``Deactivated`` until :meth:`arrive`)."""
        self.waiting[:] = [t.arrival > 0 for t in self.tenants]
        self.state[self.waiting] = GONE
        for i in np.flatnonzero(~self.waiting).tolist():
            self._create(i, t_ns)

    def arrive(self, d: int, t_ns: int) -> None:
        """Create the apps arriving on day ``d`` (at ``t_ns``, its local midnight), on IM."""
        if not self.waiting.any():
            return
        for i in np.flatnonzero(self.waiting).tolist():
            if self.tenants[i].arrival == d:
                self.waiting[i] = False
                self.state[i] = IM
                self._create(i, t_ns)

    def _create(self, i: int, t_ns: int) -> None:
        t = self.tenants[i]
        self.apply(i, t_ns, "create_app", "setup")
        start = t.start_state
        if start == "IM" and t.arrival == 0 and self._outgrown(i):
            start = "Pro"  # (in a steady state it would have upgraded already, if it could)
        if start in ("Pro", "Ultimate"):
            price = float(self.catalog.editions[start].price_per_month or 0)
            if not self.priced or self.wtp[i] >= price:
                self.apply(i, t_ns, "upgrade", "setup", edition=start)
        elif t.start_state == "Trial":
            self.apply(i, t_ns, "downgrade", "setup")
        self.evaluated[i] = self.spend[i]

    def reprice(self, d: int) -> None:
        """Day ``d``: a scheduled catalog comes into force (the spend of every paying app is
        re-quoted, but the grandfathered postpaid ones', kept until their day); or a
        grandfathered app's old prices end."""
        for day, cat, kept in self.schedule:
            if day != d:
                continue
            self.catalog = cat
            self.up = candidates(cat, tuple(cat.transitions.upgrade.to))
            self.re = candidates(cat, tuple(cat.transitions.reconfigure.to))
            self.pre = candidates(cat, tuple(cat.transitions.buy_prepaid.to))
            self._spend.clear()
            self._overage.clear()
            postpaid = (self.state == PRO) | (self.state == ULTIMATE)
            if kept > d:
                self.kept_until[postpaid] = kept
            for i in np.flatnonzero((self.spend > 0) & ~(postpaid & (kept > d))).tolist():
                self.spend[i] = self._spend_of(self.config[i])
        for i in np.flatnonzero(self.kept_until == d).tolist():
            self.kept_until[i] = -1
            if self.state[i] in (PRO, ULTIMATE):
                self.spend[i] = self._spend_of(self.config[i])

    def _outgrown(self, i: int) -> bool:
        """An app at the start with more users than the free tier's accounts (R3), that
        upgrades when it meets limits (with price response: the policy on)."""
        limit = self.catalog.editions["IM"].limits.accounts
        return (
            self.priced
            and self.pol.upgrade_on_errors.enabled
            and limit is not None
            and int(self.tenants[i].users[0]) > limit
        )

    def overage(self, i: int, d: int) -> float:
        """Tenant ``i``'s DAU overage over the month before day ``d`` (a month's 1st) at its
        edition's blocks, in the catalog's currency: what its bill adds to the packages'."""
        ed = self.config[i].get("edition")
        if ed not in self._overage:
            editions: dict[Any, Any] = dict(self.catalog.editions)
            e = editions.get(ed)
            b = e.overage.dau if e is not None else None
            self._overage[ed] = (
                (b.free, b.block_size, float(b.price_per_block)) if b else (0, 1, 0.0)
            )
        free, size, price = self._overage[ed]
        firsts = sorted(self.month_first)
        k = bisect.bisect_left(firsts, d)
        lo = firsts[k - 1] if k > 0 else 0
        peak = int(self.tenants[i].dau[lo:d].max()) if d > lo else 0
        return -(-max(peak - free, 0) // size) * price

    def lapse(self, t_ns: int) -> None:
        """Prepaid packages that ran out by ``t_ns`` (the engine lapses them lazily, R11)."""
        hit = np.flatnonzero((self.state == PREPAID) & (self.prepaid_until <= t_ns))
        for i in hit.tolist():
            self.state[i] = LAPSED
            self.spend[i] = 0.0
            self.changed.add(i)

    # -- a day's decisions -------------------------------------------------------------------
    def day(self, d: int, t_ns: int, u: np.ndarray) -> None:
        """Decide day ``d`` (at ``t_ns``, local midnight) with uniforms ``u`` (tenants x
        policies), after the window's counts are up to date."""
        self.arrive(d, t_ns)
        self.reprice(d)
        self.lapse(t_ns)
        for k, (name, policy) in enumerate(self.policies.items()):
            params = getattr(self.pol, name)
            if params.enabled:
                policy.decide(self, d, t_ns, u[:, k], params)

    def events(self) -> np.ndarray:
        """Tenants x days: an event's day (made once)."""
        if self._events is None:
            self._events = np.stack([t.event for t in self.tenants])
        return self._events

    def needs(self, i: int) -> dict[str, Any]:
        """What the window's refusals say tenant ``i`` lacks."""
        w = self.stats.win[i]
        c = self.config[i]
        return {
            "live": bool(w[CODE_COL[Code.LIVE_GROUP_LIMIT]]) or bool(c.get("live_unlimited")),
            "community": bool(w[CODE_COL[Code.COMMUNITY_UNSUPPORTED]]),
            "members": c["members_per_group"] + 1
            if w[CODE_COL[Code.GROUP_FULL]]
            else c["members_per_group"],
            "gpu": c["groups_per_user"] + 1
            if w[CODE_COL[Code.USER_GROUP_LIMIT]]
            else c["groups_per_user"],
        }

    def error_rate(self) -> np.ndarray:
        w = self.stats.win
        return w[:, :ATTEMPTS].sum(axis=1) / np.maximum(w[:, ATTEMPTS], 1)
