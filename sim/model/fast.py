"""The ``fast`` mode: the same tenants, plans, decisions and rules as ``exact``, with the group
operations decided in numpy batches instead of one SimPy event and one engine call each.

How: plans are drawn for all live tenants at once (:func:`~sim.model.population.draw_plans`: each
tenant from its own stream, the arithmetic vectorised per archetype; taken in pieces,
:func:`~sim.model.population.plan_pieces`) and held in one table.
Day by day, the day's operations are sorted by (tenant, time), and each tenant's day is decided
in one of two ways:

- *static* days (most of them; :meth:`FastModel._static`): no outcome depends on the order of
  the day's operations -- the tenant is blocked (60020); or the accounts are out of reach (even
  if every new user of the day got one) or reached for good (they never decrease: every new
  user is refused 70398), and the live groups, non-live groups and each user's groups are out of
  reach even if every creation and join of the day that may succeed did; a group's joins then
  succeed in time order until it is full, and are refused 10014 from then on. All such
  tenant-days are decided together as a few vectors (:meth:`_bulk`): codes from the state at
  the start of the day, groups' existence from the day's creations and dissolutions before each
  operation, peaks of the group counts by running sums.
- the others are cut into *steps*: step ``r`` holds every such tenant's ``r``-th operation of
  the day. A step has at most one operation per tenant, and tenants share no state, so a step is
  decided as one vector with no conflicts; steps run in order, so every tenant's operations are
  decided in its own time order, exactly as in ``exact``; once fewer than ``MIN_WIDTH`` tenants
  remain, the rest one by one in plain Python (:func:`~sim.model.fastday.decide_one_by_one`).
  A tenant's opening registrations (day one's initial users) are decided at once before the
  steps (:func:`~sim.model.fastday.opening_registrations`).

Console operations (rare) still go through the engine via the shared
:class:`~sim.model.console.Console`; the engine's timeline is what billing reads. The groups'
members are held in blocks, one per group and day of joins (:class:`~sim.model.fastparts.Members`),
so that a dissolution releases them in a few vector passes; the members of dissolved groups are
dropped at month starts. What stands in for slower numpy calls (the day's order, the day of a
time) is in :mod:`sim.model.fastparts`.

The group-operation rules are re-implemented here in vectorised form, for the operations the
plans contain (register, create -- non-live ones possibly with initial members --, join a
non-live group, dissolve), in the engine's order (``sim.rules.limits``): app state (60020;
deactivated tenants stop) -> group type (10059) -> accounts (70398) -> live groups (10036) /
non-live groups (10058) -> member list (10038, R13) / group full (10014, R5 caps per type) ->
user's groups (10037, non-live only). Limits bind new actions only
(R12); dissolving a group gives back its members' counts. ``tests/test_model_modes.py`` checks
that both modes give identical tables on the same seed, and so does each path of this one.

Outputs: ``group_ops`` as counts per (tenant, day, op, error code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sim.core.catalog import GROUP_TYPES, Catalog
from sim.core.vocab import Code
from sim.model.console import ATTEMPTS, CODE_COL, GONE
from sim.model.exact import (
    USAGE_COLUMNS,
    ModelBase,
    Progress,
    Raw,
    TenantKey,
    decision_uniforms,
)
from sim.model.fastday import (
    CODE_LIST,
    COMMUNITY,
    REASON_OF,
    add_group_counts,
    bulk_invitations,
    check_plan,
    decide_one_by_one,
    full_joins,
    groups_existing,
    joins_by_group,
    limits_of,
    opening_registrations,
    split_outcome_keys,
    with_invitations,
)
from sim.model.fastparts import Grow, Members, by_tenant_time, day_of
from sim.model.population import CREATE, DISSOLVE, INVITE, JOIN, LIVE_TYPE, REGISTER, plan_pieces

MIN_WIDTH = 64
"""A step with fewer tenants than this is cheaper one operation at a time (``decide_one_by_one``)."""
PLAN_CHUNK = 1000
"""Tenants whose plans are drawn in one call (bounds the memory the drawing takes)."""
_ONE = np.int32(1)  # (np.add.at is fast when the value has the array's dtype)
_COL_OF = np.array([CODE_COL.get(int(c), -1) for c in CODE_LIST], dtype=np.int64)
"""Column of :class:`~sim.model.console.Stats` counting each code of ``CODE_LIST`` (-1: none)."""
_LIMIT_KEYS = ("edition", "live_unlimited", "members_per_group", "groups_per_user")
"""What :func:`~sim.model.fastday.limits_of` reads of a configuration."""


class FastModel(ModelBase):
    """Plays a scenario's replication with vectorised group operations (see the module doc)."""

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
        # per tenant
        self.user_off = np.r_[0, np.cumsum([t.users[-1] for t in self.tenants])].astype(np.int64)
        self.ucount = np.full(int(self.user_off[-1]), -1, dtype=np.int32)  # -1: unregistered
        z = lambda dt=np.int64: np.zeros(n, dtype=dt)  # noqa: E731
        self.accounts, self.live, self.nonlive = z(), z(), z()
        self.peak_groups, self.peak_live = z(), z()
        self.lim_acc, self.lim_live, self.lim_nonlive, self.gpu = z(), z(), z(), z()
        self.caps = np.zeros((n, len(GROUP_TYPES)), dtype=np.int64)
        self.community, self.blocked, self.hard = z(bool), z(), z()
        days = [t.dau for t in self.tenants] or [np.zeros(self.h.n_days)]
        self.dau = np.stack(days).astype(np.int64)[:n]
        for i, t in enumerate(self.tenants):
            t.dau = self.dau[i]  # one copy: the tenants' rows of the table
        # groups (global ids) and memberships (a chain of blocks per group)
        uid = np.int32 if self.user_off[-1] < 2**31 else np.int64
        # mark: scratch for :meth:`_bulk`, 0 between calls
        self.g = Grow(alive=bool, size=np.int32, owner=uid, head=np.int64, mark=np.int64)
        self.m = Members(uid)
        self.scratch = np.zeros(len(self.ucount), dtype=np.int64)  # per user, 0 between uses
        self.pending: dict[str, np.ndarray] = {}  # drawn, not yet played: sorted by day
        self.out: list[tuple[np.ndarray, np.ndarray]] = []  # per day: keys, counts
        self.n_ops = 0
        self.n_bulk = self.n_stepped = 0  # planned operations decided by each path
        self.use_bulk = True  # False: every tenant-day in steps (for the tests)
        self.min_width = MIN_WIDTH
        self._limits: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # by configuration

    # -- limits ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        con = self.console
        for i in sorted(con.changed):
            if con.state[i] == GONE:
                continue
            cfg, state = con.config[i], int(con.state[i])
            key = (state, *(cfg.get(k) for k in _LIMIT_KEYS))
            lims = self._limits.get(key)
            if lims is None:  # (a few configurations, met again and again)
                lims = self._limits[key] = limits_of(self.catalog, cfg, state)
            acc, live, nonlive, gpu, caps, comm, blocked, hard = lims
            self.lim_acc[i], self.lim_live[i], self.lim_nonlive[i], self.gpu[i] = (
                acc,
                live,
                nonlive,
                gpu,
            )
            self.caps[i] = caps
            self.community[i], self.blocked[i], self.hard[i] = comm, blocked, hard
        con.changed.clear()

    # -- plans -------------------------------------------------------------------------------
    def _month(self, days: np.ndarray) -> dict[str, np.ndarray]:
        """Every live tenant's operations of the month, global ids, sorted by day; within a
        day, a tenant's rows in (time, draw order) once sorted stably by time (:meth:`_day`),
        the order of :func:`~sim.model.population.take_month`."""
        h, con = self.h, self.console
        draw = h.plan_days(int(h.month_of_day[days[0]]))
        if len(draw):
            alive = np.flatnonzero((con.state != GONE) | con.waiting)
            parts = [
                self._draw(alive[k : k + PLAN_CHUNK], draw)
                for k in range(0, len(alive), PLAN_CHUNK)
            ]
            if self.pending:
                parts.insert(0, self.pending)
            self.pending = {}
            if parts:
                # column by column, freeing as we go: the table is the largest thing held
                new = {c: np.concatenate([p.pop(c) for p in parts]) for c in list(parts[0])}
                del parts
                # by day (a stable radix sort of int16), keeping a tenant's rows in draw order,
                # the pending ones (drawn before) first; :meth:`_day` sorts a day by (tenant,
                # time)
                order = np.argsort(new["day"], kind="stable")
                for c in list(new):
                    new[c] = new[c][order]
                self.pending = new
        pend = self.pending
        if not pend:
            return {}
        cut = int(np.searchsorted(pend["day"], days[-1] + 1))
        self.pending = {c: a[cut:].copy() for c, a in pend.items()}  # frees the rest later
        return {c: a[:cut] for c, a in pend.items()}

    def _draw(self, idx: np.ndarray, draw: np.ndarray) -> dict[str, np.ndarray]:
        """The plans of tenants ``idx`` for the days ``draw``, global ids, compact."""
        h = self.h
        ts = [self.tenants[i] for i in idx.tolist()]
        before = np.array([t.next_group for t in ts], dtype=np.int64)
        drawn = plan_pieces(ts, draw, h.day_s, h.day_s[-1], seq=False)
        n_new = np.array([t.next_group for t in ts], dtype=np.int64) - before
        g0 = self.g.n + np.cumsum(n_new) - n_new
        self.g.reserve(int(n_new.sum()))
        self.g.n += int(n_new.sum())
        t, loc, grp = (np.concatenate(drawn[c]) for c in ("t", "tenant", "group"))
        ten = idx[loc]
        i4 = np.int32 if max(self.g.n, int(self.user_off[-1])) < 2**31 else np.int64
        out = {  # compact: the pending operations of every tenant are held at once
            "t": t,
            "tenant": ten.astype(np.int32),
            "op": np.concatenate(drawn["op"], dtype=np.int8),
            "user": (np.concatenate(drawn["user"]) + self.user_off[ten]).astype(i4),
            "group": np.where(grp >= 0, grp - before[loc] + g0[loc], -1).astype(i4),
            "gtype": np.concatenate(drawn["gtype"], dtype=np.int8),
            "day": day_of(t, h.day_s).astype(np.int16),
        }
        check_plan(out)
        return out

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> Raw:
        h, con = self.h, self.console
        con.setup(h.start_ns)
        self._refresh()
        usage: dict[str, list[np.ndarray]] = {k: [] for k in USAGE_COLUMNS}
        plan: dict[str, np.ndarray] = {}
        bounds = np.zeros(0, dtype=np.int64)
        u = np.zeros((len(self.tenants), 0))
        for d in range(h.n_days):
            m = int(h.month_of_day[d])
            if d == h.month_first[m]:
                days = np.arange(d, h.month_first[m + 1])
                u = decision_uniforms(self.tenants, len(days))
                self.m.compact(self.g.a["alive"][: self.g.n], self.g.a["head"])
                plan = self._month(days)
                bounds = (
                    np.searchsorted(plan["day"], np.arange(d, days[-1] + 2)) if plan else bounds
                )
                if self.progress is not None:
                    self.progress(m + 1, len(h.month_first) - 1)
            t_ns = int(h.day_ns[d])
            con.day(d, t_ns, u[:, d - h.month_first[m]])
            self._refresh()
            alive = con.state != GONE
            # DAU against a hard cap (72000), or all refused on a lapsed package (60020)
            dau = self.dau[:, d]
            lapsed = self.blocked == Code.PREPAID_EXPIRED
            refused = np.where(
                lapsed, dau, np.where(self.hard >= 0, np.maximum(dau - self.hard, 0), 0)
            )
            refused = np.where(alive, refused, 0)
            code = np.where(lapsed, Code.PREPAID_EXPIRED, Code.DAU_LIMIT)
            self.stats.today[np.flatnonzero(alive), ATTEMPTS] += dau[alive]  # distinct
            self.stats.today[np.flatnonzero(lapsed & alive), CODE_COL[Code.PREPAID_EXPIRED]] += (
                refused[lapsed & alive]
            )
            self.stats.today[np.flatnonzero(~lapsed & alive), CODE_COL[Code.DAU_LIMIT]] += refused[
                ~lapsed & alive
            ]
            self.peak_groups[:] = self.live + self.nonlive
            self.peak_live[:] = self.live
            if plan:
                lo, hi = bounds[d - h.month_first[m]], bounds[d - h.month_first[m] + 1]
                self._day(d, {c: a[lo:hi] for c, a in plan.items()}, alive)
            idx = np.flatnonzero(alive)
            for k, v in (
                ("day", np.full(len(idx), d)),
                ("tenant", idx),
                ("users", self.accounts[idx]),
                ("dau", (dau - refused)[idx]),
                ("dau_refused", refused[idx]),
                ("dau_code", code[idx]),
                ("groups", self.peak_groups[idx]),
                ("live_groups", self.peak_live[idx]),
            ):
                usage[k].append(np.asarray(v, dtype=np.int64))
            self.stats.end_day(d)
        ops = self._group_ops()
        reasons = ["", *(REASON_OF[c] for c in CODE_LIST[1:])]
        return Raw(
            self.tenants,
            self.engine,
            con.log,
            ops,
            {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in usage.items()},
            h,
            n_ops=self.n_ops,
            extra={"reasons": reasons, "price_changes": self.price_changes},
        )

    def _group_ops(self) -> dict[str, np.ndarray]:
        if not self.out:
            z = np.zeros(0, dtype=np.int64)
            return {"tenant": z, "day": z, "op": z, "error_code": z, "reason": z, "count": z}
        # one array at a time (this table is large)
        out, self.out = self.out, []
        keys = np.concatenate([k for k, _ in out])
        count = np.concatenate([c for _, c in out])
        del out
        return split_outcome_keys(keys, count, self.h.n_days, len(self.tenants))

    # -- one day ----------------------------------------------------------------------------
    def _day(self, d: int, p: dict[str, np.ndarray], alive: np.ndarray) -> None:
        keep = np.flatnonzero(alive[p["tenant"]])
        # (tenant, time); ties in draw order (stable)
        keep = keep[by_tenant_time(p["tenant"][keep], p["t"][keep], float(self.h.day_s[d]))]
        # ids as intp (the fastest index), op and type codes as int8 (for comparisons)
        cols = tuple(
            p[c][keep].astype(np.intp) if c in ("tenant", "user", "group") else p[c][keep]
            for c in ("tenant", "op", "user", "group", "gtype")
        )
        ten, op = cols[0], cols[1]
        n = len(ten)
        if n == 0:
            return
        code = self._paths(*cols)
        done = code >= 0
        self.n_ops += int(done.sum())
        ci = np.searchsorted(CODE_LIST, code[done])
        nc = len(CODE_LIST)
        per_tenant = 4 * nc  # (op, code) of a tenant
        counts = np.bincount(ten[done] * per_tenant + op[done] * nc + ci)
        small = np.flatnonzero(counts)
        keys = (small // per_tenant * self.h.n_days + d) * per_tenant + small % per_tenant
        self.out.append((keys, counts[small].astype(np.int32)))
        today = self.stats.today
        today[:, ATTEMPTS] += np.bincount(ten[done], minlength=len(today))
        lim = _COL_OF[ci] >= 0
        np.add.at(today.reshape(-1), ten[done][lim] * today.shape[1] + _COL_OF[ci[lim]], 1)

    def _paths(self, *cols: np.ndarray) -> np.ndarray:
        """Codes of operations sorted by (tenant, time), -1 not attempted: static tenant-days
        at once (:meth:`_bulk`); the others in steps (:meth:`_steps`), but one by one those
        with a creation with initial members (rare)."""
        n = len(cols[0])
        code = np.full(n, -1, dtype=np.int64)
        easy = self._static(*cols) if self.use_bulk else np.zeros(n, dtype=bool)
        n_easy = int(np.count_nonzero(easy))
        if n_easy == n:
            code = self._bulk(*cols)
        elif n_easy:
            idx = np.flatnonzero(easy)
            code[idx] = self._bulk(*(c[idx] for c in cols))
        slow = with_invitations(cols[0], cols[1], len(self.accounts))
        if slow is not None:
            idx = np.flatnonzero(slow & ~easy)
            code[idx] = decide_one_by_one(self, *(c[idx] for c in cols))
            easy |= slow  # (done)
        if not easy.all():
            idx = np.flatnonzero(~easy)
            code[idx] = self._steps(*(c[idx] for c in cols))
        self.n_bulk += n_easy
        self.n_stepped += n - n_easy
        return code

    def _static(
        self, ten: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """Per operation: can its tenant's day be decided in one go (:meth:`_bulk`)? True when
        the tenant is blocked (60020), or when the accounts are either out of reach (even if
        every distinct new user of the day that may get one did) or reached for good (accounts
        never decrease: every new user is refused 70398), and the live groups, non-live groups
        and each user's groups are out of reach even if every creation and join of the day that
        may succeed did. Group sizes need no condition: then a group's joins succeed in time
        order until it is full, and are refused 10014 from then on. The other tenant-days go
        step by step (:meth:`_steps`)."""
        nt = len(self.accounts)
        blocked = self.blocked[ten] > 0
        cnt = self.ucount[uu]
        is_c, is_j = op == CREATE, (op == JOIN) | (op == INVITE)  # (a member counts as a join)
        live = ty == LIVE_TYPE
        refused = is_c & (ty == COMMUNITY) & ~self.community[ten]  # 10059, static
        newu = (cnt < 0) & (op != DISSOLVE) & ~refused
        sat = self.accounts >= self.lim_acc  # accounts never decrease
        refused |= newu & sat[ten]  # 70398, static
        may = ~refused & ~blocked  # operations that may succeed
        newu &= may
        grown = self.accounts + np.bincount(ten[newu][self._first(uu[newu])], minlength=nt)
        bad = (grown > self.lim_acc) & ~sat
        lc = may & is_c & live
        bad |= self.live + np.bincount(ten[lc], minlength=nt) > self.lim_live
        nc = may & is_c & ~live
        bad |= self.nonlive + np.bincount(ten[nc], minlength=nt) > self.lim_nonlive
        # users' non-live groups
        counted = may & (nc | (is_j & ~live))
        # (only users who might: at most ``t_counted`` more each)
        t_counted = np.bincount(ten[counted], minlength=nt)
        counted &= np.maximum(cnt, 0) + t_counted[ten] > self.gpu[ten]
        if counted.any():
            users, tu = uu[counted], ten[counted]
            np.add.at(self.scratch, users, 1)
            over = np.maximum(cnt[counted], 0) + self.scratch[users] > self.gpu[tu]
            self.scratch[users] = 0
            bad[tu[over]] = True
        # group sizes need no check: with the users' groups out of reach, a group's joins are
        # refused 10014 from the first that finds it full on (:meth:`_bulk`)
        return ~bad[ten]

    def _bulk(
        self, ten: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """Decide the operations of static tenant-days (:meth:`_static`) at once, sorted by
        (tenant, time): the same rules as :meth:`_step` with every order-dependent check known
        to pass, so an outcome depends only on the state at the start of the day."""
        g = self.g.a
        cnt = self.ucount[uu]
        is_c, is_j, is_d = op == CREATE, op == JOIN, op == DISSOLVE
        live = ty == LIVE_TYPE
        blocked = self.blocked[ten]
        code = np.where(blocked > 0, blocked, 0)
        code[(code == 0) & is_c & (ty == COMMUNITY) & ~self.community[ten]] = (
            Code.COMMUNITY_UNSUPPORTED
        )
        newu = (cnt < 0) & ~is_d
        code[(code == 0) & newu & (self.accounts[ten] >= self.lim_acc[ten])] = Code.ACCOUNT_LIMIT
        inv = op == INVITE  # initial members: their creations meet 70398 or 10038 (R13)
        inv = bulk_invitations(self, ten, gg, ty, op, code) if inv.any() else inv
        has_g = is_j | is_d
        code[has_g & ~groups_existing(g, gg, is_c & (code == 0), is_j, is_d)] = -1
        # 10014: a join succeeds while the group is below its cap; the users' groups being out
        # of reach, every join that gets this far succeeds until then, and the others fail
        o = joins_by_group(gg, (code == 0) & is_j)
        if len(o):
            code[o[full_joins(gg[o], self.caps[ten[o], ty[o]], g["size"])]] = Code.GROUP_FULL
        ok = code == 0
        # apply: accounts (initial members as the joins)
        acc_ok = ok | inv
        new_acc = acc_ok & newu
        if new_acc.any():
            users = uu[new_acc]
            first = self._first(users)
            self.accounts += np.bincount(ten[new_acc][first], minlength=len(self.accounts))
            self.ucount[users] = 0
        inc = acc_ok & (is_c | is_j | inv) & ~live
        if inc.any():
            np.add.at(self.ucount, uu[inc], _ONE)
        c_ok = ok & is_c
        if c_ok.any():
            self._found(gg[c_ok], uu[c_ok])
        self._add_members(gg, uu, joins_by_group(gg, inv))  # those of today's creations
        self._add_members(gg, uu, o[ok[o]])  # the successful joins, by group
        d_ok = ok & is_d
        if d_ok.any():
            gi = gg[d_ok]
            g["alive"][gi] = False
            nl = gi[~live[d_ok]]
            np.add.at(self.ucount, g["owner"][nl], -_ONE)
            np.add.at(self.ucount, self.m.users(g["head"][nl]), -_ONE)
        # group counts and their peaks over the day, from the rows that change them
        ch = np.flatnonzero(c_ok | d_ok)
        if len(ch):
            add_group_counts(self, ten[ch], c_ok[ch], live[ch])
        return code

    def _add_members(self, gg: np.ndarray, uu: np.ndarray, o: np.ndarray) -> None:
        """Users ``uu[o]`` become members of groups ``gg[o]`` (rows ``o`` sorted by group)."""
        if len(o):
            gi, g = gg[o], self.g.a
            lens = self.m.add(gi, uu[o], g["head"])
            g["size"][gi[np.r_[0, np.cumsum(lens)[:-1]]]] += lens.astype(np.int32)

    def _found(self, gi: np.ndarray, owners: np.ndarray) -> None:
        """Groups ``gi`` created by ``owners``: alive, one member, no joined members yet."""
        g = self.g.a
        g["alive"][gi] = True
        g["size"][gi] = 1
        g["owner"][gi] = owners
        g["head"][gi] = -1

    def _first(self, users: np.ndarray) -> np.ndarray:
        """Mask: one row of each distinct user (whichever write to the scratch wins)."""
        k = np.arange(1, len(users) + 1)
        self.scratch[users] = k
        first = self.scratch[users] == k
        self.scratch[users] = 0
        return first

    def _steps(
        self, ten: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """Operations sorted by (tenant, time), decided in steps: step ``r`` holds every
        tenant's ``r``-th operation; the busiest tenants' tail one by one (``decide_one_by_one``). A
        tenant's opening registrations (nothing else of its day before them) are decided at
        once first (:func:`~sim.model.fastday.opening_registrations`): on day one, the initial users come before anything
        else, thousands of them where the accounts run out."""
        n = len(ten)
        first = np.r_[True, ten[1:] != ten[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        opening = np.maximum.accumulate(np.where(op != REGISTER, np.arange(n), -1)) < start
        if opening.any():
            code = np.full(n, -1, dtype=np.int64)
            idx = np.flatnonzero(opening)
            code[idx] = opening_registrations(self, ten[idx], uu[idx])
            idx = np.flatnonzero(~opening)  # (each tenant's rest now opens with another op)
            if len(idx):
                code[idx] = self._steps(*(c[idx] for c in (ten, op, uu, gg, ty)))
            return code
        rank = np.arange(n) - start
        order = np.argsort(rank, kind="stable")
        cuts = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
        code = np.full(n, -1, dtype=np.int64)
        cols = (ten, op, uu, gg, ty)
        for r in range(len(cuts) - 1):
            idx = order[cuts[r] : cuts[r + 1]]
            if len(idx) < self.min_width:  # few tenants left: finish them one by one
                rest = order[cuts[r] :]
                rest = rest[np.lexsort((rank[rest], ten[rest]))]
                code[rest] = decide_one_by_one(self, *(c[rest] for c in cols))
                break
            code[idx] = self._step(*(c[idx] for c in cols))
        return code

    def _step(
        self, ti: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """Decide one operation per tenant (distinct tenants); return codes (-1: skipped)."""
        g = self.g.a
        has_g = gg >= 0
        gsafe = np.where(has_g, gg, 0)
        exists = g["alive"][gsafe] & has_g
        attempted = (op == REGISTER) | (op == CREATE) | exists
        code = np.where(attempted, 0, -1)
        blocked = self.blocked[ti]
        code = np.where(attempted & (blocked > 0), blocked, code)
        todo = code == 0
        cnt = self.ucount[uu]
        unreg = cnt < 0
        live = ty == LIVE_TYPE
        is_create = op == CREATE
        # 10059: Community groups only where the edition has them
        code = np.where(
            todo & is_create & (ty == COMMUNITY) & ~self.community[ti],
            Code.COMMUNITY_UNSUPPORTED,
            code,
        )
        # 70398: a new account beyond the limit (register, owner, joiner)
        acc_full = self.accounts[ti] >= self.lim_acc[ti]
        code = np.where(
            (code == 0) & todo & (op != DISSOLVE) & unreg & acc_full, Code.ACCOUNT_LIMIT, code
        )
        # 10036 / 10058: app-wide group counts
        code = np.where(
            (code == 0) & todo & is_create & live & (self.live[ti] >= self.lim_live[ti]),
            Code.LIVE_GROUP_LIMIT,
            code,
        )
        code = np.where(
            (code == 0) & todo & is_create & ~live & (self.nonlive[ti] >= self.lim_nonlive[ti]),
            Code.GROUP_LIMIT,
            code,
        )
        # 10014: the group at its member cap (R5)
        is_join = op == JOIN
        cap = self.caps[ti, np.where(ty >= 0, ty, 0)]
        code = np.where(
            (code == 0) & todo & is_join & (g["size"][gsafe] >= cap), Code.GROUP_FULL, code
        )
        # 10037: the owner's or joiner's non-live groups at the cap
        counted = (is_join | is_create) & ~live
        code = np.where(
            (code == 0) & todo & counted & (np.maximum(cnt, 0) >= self.gpu[ti]),
            Code.USER_GROUP_LIMIT,
            code,
        )
        ok = (code == 0) & todo
        # apply
        new_acc = ok & unreg & (op != DISSOLVE)
        self.accounts[ti] += new_acc
        self.ucount[uu] = np.where(new_acc, 0, cnt) + (ok & counted)
        c_ok = ok & is_create
        if c_ok.any():
            self._step_created(ti[c_ok], gg[c_ok], uu[c_ok], live[c_ok])
        j_ok = ok & is_join
        if j_ok.any():
            gi = gg[j_ok]  # distinct: one operation per tenant
            self.m.add(gi, uu[j_ok], g["head"])
            g["size"][gi] += 1
        d_ok = ok & (op == DISSOLVE)
        if d_ok.any():
            self._step_dissolved(ti[d_ok], gg[d_ok], live[d_ok])
        return code

    def _step_created(
        self, t_c: np.ndarray, gi: np.ndarray, owners: np.ndarray, lv: np.ndarray
    ) -> None:
        """A step's successful creations (:meth:`_step`: distinct tenants ``t_c``): groups
        ``gi`` founded by ``owners``, live where ``lv``; the tenants' group counts and peaks."""
        self._found(gi, owners)
        self.live[t_c] += lv
        self.nonlive[t_c] += ~lv
        self.peak_live[t_c] = np.maximum(self.peak_live[t_c], self.live[t_c])
        total = self.live[t_c] + self.nonlive[t_c]
        self.peak_groups[t_c] = np.maximum(self.peak_groups[t_c], total)

    def _step_dissolved(self, t_d: np.ndarray, gi: np.ndarray, lv: np.ndarray) -> None:
        """A step's successful dissolutions (:meth:`_step`: distinct tenants ``t_d``): groups
        ``gi``, live where ``lv``, gone; the tenants' group counts, and the users' non-live
        groups of their owners and members, one fewer."""
        g = self.g.a
        g["alive"][gi] = False
        self.live[t_d] -= lv
        self.nonlive[t_d] -= ~lv
        nl = gi[~lv]
        self.ucount[g["owner"][nl]] -= 1
        np.add.at(self.ucount, self.m.users(g["head"][nl]), -_ONE)
