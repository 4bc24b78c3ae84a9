"""The SimPy model, ``exact`` mode: every group operation is a SimPy event decided one by one
by the rules engine -- the reference the ``fast`` mode (:mod:`sim.model.fast`) is checked against.

Processes: one *console* process wakes at every local midnight (seconds since the scenario
start are ``env.now``; instants for the engine are ``start_ns + round(now * 1e9)``). At day
``d``'s midnight it closes day ``d - 1`` (usage row, sliding window), draws the month's plans on
the 1st, takes the day's decisions (:class:`sim.model.console.Console`) and checks the day's DAU
against the edition (72000 on a hard cap, via ``Engine.dau_over_limit``). On the 1st of each
month it starts one process per tenant that plays the month's planned operations in time order,
each after a ``timeout`` to its instant. A deactivated tenant's users stop; operations on a
group whose creation was refused are not attempted (nobody can find it).

What both modes share lives here too: the calendar of the run (:class:`Horizon`), the
tenants (:func:`make_tenants`) and the raw result (:class:`Raw`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.billing.schedule import PriceChange
from sim.core import calendar
from sim.core.catalog import GROUP_TYPES, Catalog
from sim.core.vocab import Code
from sim.model.console import ATTEMPTS, CODE_COL, GONE, LAPSED, Console, Stats
from sim.model.decisions import POLICIES
from sim.model.population import (
    CREATE,
    INVITE,
    JOIN,
    LIVE_TYPE,
    PLAN_MONTHS,
    REGISTER,
    Tenant,
    make_tenant,
    take_month,
)
from sim.model.rng import TenantStreams
from sim.rules.engine import Engine

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Horizon:
    """The run's days and months: local midnights in the catalog's time zone."""

    start_ns: int
    day_ns: np.ndarray  # n_days + 1 local midnights (int ns)
    day_s: np.ndarray  # the same, seconds since the start
    month_of_day: np.ndarray
    month_first: np.ndarray  # first day of each month (+ n_days at the end)
    dates: list[dt.date]

    @property
    def n_days(self) -> int:
        return len(self.day_ns) - 1

    @property
    def end_ns(self) -> int:
        return int(self.day_ns[-1])

    def plan_days(self, month: int) -> np.ndarray:
        """The days whose plans are drawn at the start of ``month`` (empty inside a block)."""
        if month % PLAN_MONTHS:
            return np.zeros(0, dtype=np.int64)
        last = min(month + PLAN_MONTHS, len(self.month_first) - 1)
        return np.arange(self.month_first[month], self.month_first[last])

    @classmethod
    def of(cls, start: dt.date, months: int, catalog: Catalog) -> Horizon:
        tz = catalog.tz
        end_index = start.year * 12 + start.month - 1 + months
        end = dt.date(end_index // 12, end_index % 12 + 1, 1)
        dates = [start + dt.timedelta(days=k) for k in range((end - start).days + 1)]
        day_ns = np.array(
            [calendar.local_midnight(d.year, d.month, d.day, tz) for d in dates], dtype=np.int64
        )
        month = np.array(
            [(d.year - start.year) * 12 + d.month - start.month for d in dates[:-1]], dtype=np.int64
        )
        first = np.flatnonzero(np.r_[True, month[1:] != month[:-1]])
        return cls(
            int(day_ns[0]),
            day_ns,
            (day_ns - day_ns[0]) / 1e9,
            month,
            np.r_[first, len(month)],
            dates[:-1],
        )


TenantKey = tuple[str, int]
"""A tenant of a scenario: (archetype name, index within the archetype)."""


def app_name(scenario: Any, archetype: str, index: int) -> str:
    """The app name of a tenant: ``social-0042`` (zero-padded to the archetype's count, so that
    names sort in index order)."""
    width = max(4, len(str(archetype_tenants(scenario, archetype) - 1)))
    return f"{archetype}-{index:0{width}d}"


def archetype_tenants(scenario: Any, archetype: str) -> int:
    """The tenants of an archetype over the run: ``count`` at the start, then
    ``floor(arrivals_per_month * horizon_months)`` arriving (indices from ``count`` on)."""
    p = scenario.population[archetype]
    return int(p.count + int(p.arrivals_per_month * scenario.horizon_months))


def tenant_keys(scenario: Any) -> list[tuple[str, TenantKey]]:
    """Every tenant of the scenario as ``(app name, key)``, sorted by app name: the order of
    the tenants in a model, in shards (:mod:`sim.model.shards`) and in the app-first tables."""
    keys = [
        (name, j) for name in scenario.population for j in range(archetype_tenants(scenario, name))
    ]
    return sorted((app_name(scenario, *key), key) for key in keys)


def make_tenants(
    scenario: Any,
    replication: int,
    horizon: Horizon,
    keys: Sequence[TenantKey] | None = None,
) -> list[Tenant]:
    """The tenants ``keys`` (default: all of the scenario's, in app-name order). A tenant's
    draws come from its own streams: they do not depend on which other tenants are made."""
    if keys is None:
        keys = [key for _, key in tenant_keys(scenario)]
    return [
        make_tenant(
            app_name(scenario, name, j),
            name,
            j,
            scenario.population[name],
            TenantStreams(scenario.seed, replication, name, j),
            horizon.n_days,
            horizon.month_of_day,
            _arriving(scenario.population[name].count, j),
        )
        for name, j in keys
    ]


def _arriving(count: int, j: int) -> int | None:
    return j - count if j >= count else None


def decision_uniforms(tenants: list[Tenant], n_days: int) -> np.ndarray:
    """One uniform per tenant, day and policy, from each tenant's decisions stream."""
    k = len(POLICIES)
    return np.stack([t.streams["decisions"].random((n_days, k)) for t in tenants], axis=0)


@dataclass
class Raw:
    """What a mode produced, before it becomes tables (:mod:`sim.model.runner`)."""

    tenants: list[Tenant]
    engine: Engine
    console_log: list[tuple[Any, ...]]
    group_ops: dict[str, np.ndarray]  # exact: one row per op; fast: counts per app-day-op-code
    usage: dict[str, np.ndarray]
    horizon: Horizon
    n_ops: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class _Columns:
    """Append-only columns of ints (cheap to grow, turned into arrays once)."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.cols: list[list[int]] = [[] for _ in names]

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            n: np.asarray(c, dtype=np.int64) for n, c in zip(self.names, self.cols, strict=True)
        }


USAGE_COLUMNS = (
    "day",
    "tenant",
    "users",
    "dau",
    "dau_refused",
    "dau_code",
    "groups",
    "live_groups",
)
OPS_COLUMNS = ("t_ns", "tenant", "op", "gtype", "user", "group", "error_code", "reason")


class ModelBase:
    """What both modes set up for a replication: horizon, tenants, engine, decisions."""

    def __init__(
        self,
        scenario: Any,
        catalog: Catalog,
        replication: int = 0,
        progress: Progress | None = None,
        tenants: Sequence[TenantKey] | None = None,
    ) -> None:
        self.sc, self.catalog, self.rep, self.progress = scenario, catalog, replication, progress
        self.h = Horizon.of(scenario.start, scenario.horizon_months, catalog)
        self.tenants = make_tenants(scenario, replication, self.h, tenants)
        self.engine = Engine(catalog)
        self.stats = Stats(len(self.tenants), scenario.behaviour.window_days)
        self.console = Console(
            self.tenants,
            catalog,
            scenario.behaviour,
            self.engine,
            self.stats,
            self.h.start_ns,
            POLICIES,
        )
        self.console.month_first = set(self.h.month_first.tolist())
        self.price_changes = self._schedule(scenario)

    def _schedule(self, scenario: Any) -> list[PriceChange]:
        """The scenario's price changes: for the console (by day) and for billing."""
        changes = scenario.price_schedule() if getattr(scenario, "catalog_changes", None) else []
        out = []
        for ch, cat in changes:
            day = (ch.at - scenario.start).days
            k = ch.at.year * 12 + ch.at.month - 1 + ch.grandfather_months
            until = dt.date(k // 12, k % 12 + 1, 1) + dt.timedelta(days=ch.at.day - 1)
            kept = (
                min((until - scenario.start).days, self.h.n_days) if ch.grandfather_months else day
            )
            self.console.schedule.append((day, cat, kept))
            at = pd.Timestamp(int(self.h.day_ns[day]), unit="ns", tz="UTC")
            out.append(
                PriceChange(at.tz_convert(self.catalog.timezone), cat, ch.grandfather_months)
            )
        return out


def split_invites(
    plan: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[int, list[Any]]]:
    """A plan without its :data:`~sim.model.population.INVITE` rows, and the initial members
    they give each group created with some (in plan order: R13, ``create_group``'s
    ``members``).

    Members are the plan's user ids as ``tolist`` gives them, like every id this model hands
    the engine (which only uses them as keys).
    """
    inv = plan["op"] == INVITE
    if not inv.any():
        return plan, {}
    invited: dict[int, list[Any]] = {}
    for g, u in zip(plan["group"][inv].tolist(), plan["user"][inv].tolist(), strict=True):
        invited.setdefault(g, []).append(u)
    return {c: a[~inv] for c, a in plan.items()}, invited


class ExactModel(ModelBase):
    """Plays a scenario's replication with SimPy; every operation through the engine."""

    def __init__(
        self,
        scenario: Any,
        catalog: Catalog,
        replication: int = 0,
        progress: Progress | None = None,
        tenants: Sequence[TenantKey] | None = None,
    ) -> None:
        super().__init__(scenario, catalog, replication, progress, tenants)
        n = len(self.tenants)
        self.env = simpy.Environment()
        self.ops = _Columns(OPS_COLUMNS)
        self.usage = _Columns(USAGE_COLUMNS)
        self.reasons: dict[str, int] = {"": 0}
        self.created: list[set[int]] = [set() for _ in range(n)]
        self.live = np.zeros(n, dtype=np.int64)
        self.nonlive = np.zeros(n, dtype=np.int64)
        self.peak_groups = np.zeros(n, dtype=np.int64)
        self.peak_live = np.zeros(n, dtype=np.int64)
        self.dau_today = np.zeros((n, 3), dtype=np.int64)
        self.gtypes = list(GROUP_TYPES)

    def run(self) -> Raw:
        self.env.process(self._console())
        self.env.run()
        ops = self.ops.arrays()
        return Raw(
            self.tenants,
            self.engine,
            self.console.log,
            ops,
            self.usage.arrays(),
            self.h,
            n_ops=len(ops["t_ns"]),
            extra={"reasons": list(self.reasons), "price_changes": self.price_changes},
        )

    # -- the console process -----------------------------------------------------------------
    def _console(self) -> Any:
        h, con, eng = self.h, self.console, self.engine
        con.setup(h.start_ns)
        u = np.zeros((len(self.tenants), 0))
        for d in range(h.n_days + 1):
            yield self.env.timeout(h.day_s[d] - self.env.now)
            if d > 0:
                self._close_day(d - 1)
            if d == h.n_days:
                break
            m = int(h.month_of_day[d])
            if d == h.month_first[m]:
                days = np.arange(d, h.month_first[m + 1])
                u = decision_uniforms(self.tenants, len(days))
                draw = h.plan_days(m)
                for i, t in enumerate(self.tenants):
                    if con.state[i] != GONE or con.waiting[i]:
                        plan = take_month(t, draw, h.day_s, h.day_s[days[-1] + 1], h.day_s[-1])
                        self.env.process(self._tenant(i, plan))
                if self.progress is not None:
                    self.progress(m + 1, len(h.month_first) - 1)
            t_ns = int(h.day_ns[d])
            con.day(d, t_ns, u[:, d - h.month_first[m]])
            for i, t in enumerate(self.tenants):
                if con.state[i] == GONE:
                    continue
                dau = int(t.dau[d])
                refused = dau if con.state[i] == LAPSED else eng.dau_over_limit(t_ns, t.app, dau)
                code = Code.PREPAID_EXPIRED if con.state[i] == LAPSED else Code.DAU_LIMIT
                self.dau_today[i] = (dau, refused, code)
                self.stats.today[i, CODE_COL[code]] += refused
                self.stats.today[i, ATTEMPTS] += dau
            self.peak_groups[:] = self.live + self.nonlive
            self.peak_live[:] = self.live

    def _close_day(self, d: int) -> None:
        cols = self.usage.cols
        for i, t in enumerate(self.tenants):
            if self.console.state[i] == GONE:
                continue  # deactivated at a midnight: gone for the whole day
            row = (
                d,
                i,
                self.engine.counts(t.app)["accounts"],
                int(self.dau_today[i, 0] - self.dau_today[i, 1]),
                int(self.dau_today[i, 1]),
                int(self.dau_today[i, 2]),
                int(self.peak_groups[i]),
                int(self.peak_live[i]),
            )
            for c, v in zip(cols, row, strict=True):
                c.append(v)
        self.stats.end_day(d)
        self.dau_today[:] = 0

    # -- a tenant's month --------------------------------------------------------------------
    def _group_created(self, i: int, gtype: int) -> None:
        """Tenant ``i``'s group counts and their peaks after it created a ``gtype`` group."""
        if gtype == LIVE_TYPE:
            self.live[i] += 1
            self.peak_live[i] = max(self.peak_live[i], self.live[i])
        else:
            self.nonlive[i] += 1
        total = self.live[i] + self.nonlive[i]
        if total > self.peak_groups[i]:
            self.peak_groups[i] = total

    def _group_dissolved(self, i: int, gtype: int) -> None:
        """Tenant ``i``'s group counts after it dissolved a ``gtype`` group."""
        if gtype == LIVE_TYPE:
            self.live[i] -= 1
        else:
            self.nonlive[i] -= 1

    def _tenant(self, i: int, plan: dict[str, np.ndarray]) -> Any:
        env, eng, con = self.env, self.engine, self.console
        app = self.tenants[i].app
        created = self.created[i]
        start_ns = self.h.start_ns
        today = self.stats.today[i]
        cols = self.ops.cols
        gtypes = self.gtypes
        plan, invited = split_invites(plan)
        for t, op, user, group, gtype in zip(
            plan["t"].tolist(),
            plan["op"].tolist(),
            plan["user"].tolist(),
            plan["group"].tolist(),
            plan["gtype"].tolist(),
            strict=True,
        ):
            yield env.timeout(t - env.now)
            if con.state[i] == GONE:
                return
            if op != REGISTER and op != CREATE and group not in created:
                continue  # its creation was refused: nobody can join or dissolve it
            t_ns = start_ns + round(t * 1e9)
            if op == JOIN:
                code, reason, _ = eng.join_group(t_ns, app, user, group)
            elif op == REGISTER:
                code, reason, _ = eng.register_user(t_ns, app, user)
            elif op == CREATE:
                members = invited.get(group, ())
                code, reason, _ = eng.create_group(t_ns, app, user, group, gtypes[gtype], members)
                if not reason:
                    created.add(group)
                    self._group_created(i, gtype)
            else:  # DISSOLVE
                code, reason, _ = eng.dissolve_group(t_ns, app, user, group)
                if not reason:
                    created.discard(group)
                    self._group_dissolved(i, gtype)
            if reason and code in CODE_COL:
                today[CODE_COL[code]] += 1
            today[ATTEMPTS] += 1
            r = self.reasons.setdefault(reason, len(self.reasons))
            for c, v in zip(cols, (t_ns, i, op, gtype, user, group, code, r), strict=True):
                c.append(v)
