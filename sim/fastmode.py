"""The ``fast`` mode: the same tenants, plans, decisions and rules as ``exact``, with the group
operations decided in numpy batches instead of one SimPy event and one engine call each.

How: day by day, the day's planned operations of all tenants are sorted by (tenant, time) and
cut into *steps*: step ``r`` holds every tenant's ``r``-th operation of the day. A step has at
most one operation per tenant, and tenants share no state, so a step is decided as one vector
with no conflicts; steps run in order, so every tenant's operations are decided in its own time
order, exactly as in ``exact``. Console operations (rare) still go through the engine via the
shared :class:`~sim.decisions.Console`; the engine's timeline is what billing reads.

The group-operation rules are re-implemented here in vectorised form, for the operations the
plans contain (register, create without invited members, join a non-live group, dissolve), in
the engine's order (``sim.limits``): app state (60020; deactivated tenants stop) -> group type
(10059) -> accounts (70398) -> live groups (10036) / non-live groups (10058) -> group full
(10014, R5 caps per type) -> user's groups (10037, non-live only). Limits bind new actions only
(R12); dissolving a group gives back its members' counts. ``tests/test_model_modes.py`` checks
that both modes give identical tables on the same seed.

Outputs: ``group_ops`` as counts per (tenant, day, op, error code).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sim.catalog import GROUP_TYPES, Catalog
from sim.decisions import ATTEMPTS, CODE_COL, CODES, GONE, LAPSED, Console, Stats
from sim.engine import Engine
from sim.limits import GROUP_CODES
from sim.model import Horizon, Progress, Raw, decision_uniforms, make_tenants
from sim.population import CREATE, DISSOLVE, JOIN, LIVE_TYPE, REGISTER, take_month

BIG = np.iinfo(np.int64).max // 4
MIN_WIDTH = 64
"""A step with fewer tenants than this is cheaper one operation at a time (:meth:`_tail`)."""
REASON_OF = {code: reason for reason, code in GROUP_CODES.items()}
_CODE_LIST = np.array([0, *sorted(REASON_OF)], dtype=np.int64)
_COMMUNITY = GROUP_TYPES.index("Community")


class _Grow:
    """Growable 1-d arrays sharing one length."""

    def __init__(self, **dtypes: Any) -> None:
        self.n = 0
        self.cap = 1024
        self.a = {k: np.zeros(self.cap, dtype=v) for k, v in dtypes.items()}

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= self.cap:
            return
        while self.cap < need:
            self.cap *= 2
        for k, v in self.a.items():
            grown = np.zeros(self.cap, dtype=v.dtype)
            grown[: self.n] = v[: self.n]
            self.a[k] = grown


def limits_of(catalog: Catalog, config: dict[str, Any], state: int) -> tuple[Any, ...]:
    """(accounts, live, nonlive, groups per user, caps per type, community, blocked code,
    free DAU on a hard cap or -1) of a configuration -- as ``Engine._derive_limits`` (R3, R5)."""
    if state == LAPSED:
        return (0, 0, 0, 0, [0] * len(GROUP_TYPES), False, 60020, 0)
    lim = catalog.editions[config["edition"]].limits
    live = None if (config["live_unlimited"] or lim.live_groups is None) else lim.live_groups
    caps = []
    for name in GROUP_TYPES:
        gt = catalog.group_types[name]
        cap = config["members_per_group"] if gt.member_cap else None
        if gt.max_members is not None:
            cap = gt.max_members if cap is None else min(cap, gt.max_members)
        caps.append(BIG if cap is None else cap)
    hard = lim.free_dau if (lim.dau_hard_cap and lim.free_dau is not None) else -1
    return (
        BIG if lim.accounts is None else lim.accounts,
        BIG if live is None else live,
        BIG if lim.nonlive_groups is None else lim.nonlive_groups,
        config["groups_per_user"],
        caps,
        lim.community,
        0,
        hard,
    )


class FastModel:
    """Plays a scenario's replication with vectorised group operations (see the module doc)."""

    def __init__(
        self,
        scenario: Any,
        catalog: Catalog,
        replication: int = 0,
        progress: Progress | None = None,
    ) -> None:
        self.sc, self.catalog, self.rep, self.progress = scenario, catalog, replication, progress
        self.h = Horizon.of(scenario.start, scenario.horizon_months, catalog)
        self.tenants = make_tenants(scenario, replication, self.h)
        n = len(self.tenants)
        self.engine = Engine(catalog)
        self.stats = Stats(n, scenario.behaviour.window_days)
        self.console = Console(
            self.tenants, catalog, scenario.behaviour, self.engine, self.stats, self.h.start_ns
        )
        self.console.month_first = set(self.h.month_first.tolist())
        # per tenant
        self.user_off = np.r_[0, np.cumsum([t.users[-1] for t in self.tenants])].astype(np.int64)
        self.ucount = np.full(int(self.user_off[-1]), -1, dtype=np.int32)  # -1: unregistered
        z = lambda dt=np.int64: np.zeros(n, dtype=dt)  # noqa: E731
        self.accounts, self.live, self.nonlive = z(), z(), z()
        self.peak_groups, self.peak_live = z(), z()
        self.lim_acc, self.lim_live, self.lim_nonlive, self.gpu = z(), z(), z(), z()
        self.caps = np.zeros((n, len(GROUP_TYPES)), dtype=np.int64)
        self.community, self.blocked, self.hard = z(bool), z(), z()
        self.dau = np.stack([t.dau for t in self.tenants]).astype(np.int64) if n else None
        # groups (global ids) and memberships (a linked list per group)
        self.g = _Grow(alive=bool, size=np.int64, owner=np.int64, head=np.int64)
        self.m = _Grow(user=np.int64, next=np.int64)
        self.segs: list[tuple[list[int], list[int]]] = [([], []) for _ in range(n)]
        self.out: list[np.ndarray] = []
        self.n_ops = 0
        self.min_width = MIN_WIDTH

    # -- limits ------------------------------------------------------------------------------
    def _refresh(self) -> None:
        con = self.console
        for i in sorted(con.changed):
            if con.state[i] == GONE:
                continue
            acc, live, nonlive, gpu, caps, comm, blocked, hard = limits_of(
                self.catalog, con.config[i], int(con.state[i])
            )
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
        """Every live tenant's operations of the month, global ids, sorted (day, tenant, t)."""
        h, con, parts = self.h, self.console, []
        draw = h.plan_days(int(h.month_of_day[days[0]]))
        for i, t in enumerate(self.tenants):
            if con.state[i] == GONE:
                continue
            before = t.next_group
            plan = take_month(t, draw, h.day_s, h.day_s[days[-1] + 1], h.day_s[-1])
            locs, globs = self.segs[i]
            if t.next_group > before:
                locs.append(before)
                globs.append(self.g.n)
                self.g.reserve(t.next_group - before)
                self.g.n += t.next_group - before
            grp = plan["group"]
            has = grp >= 0
            k = np.searchsorted(np.asarray(locs, dtype=np.int64), grp[has], "right") - 1
            gglob = np.full(len(grp), -1, dtype=np.int64)
            gglob[has] = np.asarray(globs, dtype=np.int64)[k] + grp[has] - np.asarray(locs)[k]
            parts.append(
                {
                    "tenant": np.full(len(grp), i, dtype=np.int64),
                    "t": plan["t"],
                    "op": plan["op"],
                    "user": plan["user"] + self.user_off[i],
                    "group": gglob,
                    "gtype": plan["gtype"],
                }
            )
        if not parts:
            return {}
        plan = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
        plan["day"] = np.searchsorted(h.day_s, plan["t"], "right") - 1
        order = np.argsort(plan["day"], kind="stable")
        return {c: a[order] for c, a in plan.items()}

    # -- the run -----------------------------------------------------------------------------
    def run(self) -> Raw:
        h, con = self.h, self.console
        con.setup(h.start_ns)
        self._refresh()
        usage: dict[str, list[np.ndarray]] = {
            k: []
            for k in (
                "day",
                "tenant",
                "users",
                "dau",
                "dau_refused",
                "dau_code",
                "groups",
                "live_groups",
            )
        }
        plan: dict[str, np.ndarray] = {}
        bounds = np.zeros(0, dtype=np.int64)
        u = None
        for d in range(h.n_days):
            m = int(h.month_of_day[d])
            if d == h.month_first[m]:
                days = np.arange(d, h.month_first[m + 1])
                u = decision_uniforms(self.tenants, len(days))
                plan = self._month(days)
                bounds = np.searchsorted(plan["day"], np.arange(d, days[-1] + 2)) if plan else None
                if self.progress is not None:
                    self.progress(m + 1, len(h.month_first) - 1)
            t_ns = int(h.day_ns[d])
            con.day(d, t_ns, u[:, d - h.month_first[m]])
            self._refresh()
            alive = con.state != GONE
            # DAU against a hard cap (72000), or all refused on a lapsed package (60020)
            dau = self.dau[:, d]
            lapsed = self.blocked == 60020
            refused = np.where(
                lapsed, dau, np.where(self.hard >= 0, np.maximum(dau - self.hard, 0), 0)
            )
            refused = np.where(alive, refused, 0)
            code = np.where(lapsed, 60020, 72000)
            np.add.at(self.stats.today, (np.flatnonzero(alive), ATTEMPTS), dau[alive])
            self.stats.today[np.flatnonzero(lapsed & alive), CODE_COL[60020]] += refused[
                lapsed & alive
            ]
            self.stats.today[np.flatnonzero(~lapsed & alive), CODE_COL[72000]] += refused[
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
        reasons = ["", *(REASON_OF[c] for c in _CODE_LIST[1:])]
        return Raw(
            self.tenants,
            self.engine,
            con.log,
            ops,
            {k: np.concatenate(v) if v else np.zeros(0, np.int64) for k, v in usage.items()},
            h,
            n_ops=self.n_ops,
            extra={"reasons": reasons},
        )

    def _group_ops(self) -> dict[str, np.ndarray]:
        if not self.out:
            z = np.zeros(0, dtype=np.int64)
            return {"tenant": z, "day": z, "op": z, "error_code": z, "reason": z, "count": z}
        keys = np.concatenate(self.out)
        uniq, count = np.unique(keys, return_counts=True)
        nc = len(_CODE_LIST)
        code_i = uniq % nc
        op = uniq // nc % 4
        rest = uniq // (nc * 4)
        day = rest % self.h.n_days
        tenant = rest // self.h.n_days
        return {
            "tenant": tenant,
            "day": day,
            "op": op,
            "error_code": _CODE_LIST[code_i],
            "reason": code_i,
            "count": count,
        }

    # -- one day, in steps -------------------------------------------------------------------
    def _day(self, d: int, p: dict[str, np.ndarray], alive: np.ndarray) -> None:
        keep = alive[p["tenant"]]
        p = {c: a[keep] for c, a in p.items()}
        n = len(p["t"])
        if n == 0:
            return
        ten = p["tenant"]
        first = np.r_[True, ten[1:] != ten[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
        rank = np.arange(n) - start
        order = np.argsort(rank, kind="stable")
        cuts = np.searchsorted(rank[order], np.arange(int(rank.max()) + 2))
        code = np.full(n, -1, dtype=np.int64)  # -1: not attempted
        cols = (p["tenant"], p["op"], p["user"], p["group"], p["gtype"])
        for r in range(len(cuts) - 1):
            idx = order[cuts[r] : cuts[r + 1]]
            if len(idx) < self.min_width:  # few tenants left: finish them one by one
                rest = order[cuts[r] :]
                rest = rest[np.lexsort((rank[rest], ten[rest]))]
                code[rest] = self._tail(*(c[rest] for c in cols))
                break
            code[idx] = self._step(*(c[idx] for c in cols))
        done = code >= 0
        self.n_ops += int(done.sum())
        ci = np.searchsorted(_CODE_LIST, code[done])
        nc = len(_CODE_LIST)
        self.out.append(((ten[done] * self.h.n_days + d) * 4 + p["op"][done]) * nc + ci)
        today = self.stats.today
        np.add.at(today, (ten[done], ATTEMPTS), 1)
        lim = np.isin(code, CODES) & done
        np.add.at(
            today,
            (
                ten[lim],
                np.array([CODE_COL.get(int(c), 0) for c in _CODE_LIST])[
                    np.searchsorted(_CODE_LIST, code[lim])
                ],
            ),
            1,
        )

    def _step(
        self, ti: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """Decide one operation per tenant (distinct tenants); return codes (-1: skipped)."""
        g, m = self.g.a, self.m
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
        code = np.where(todo & is_create & (ty == _COMMUNITY) & ~self.community[ti], 10059, code)
        # 70398: a new account beyond the limit (register, owner, joiner)
        acc_full = self.accounts[ti] >= self.lim_acc[ti]
        code = np.where((code == 0) & todo & (op != DISSOLVE) & unreg & acc_full, 70398, code)
        # 10036 / 10058: app-wide group counts
        code = np.where(
            (code == 0) & todo & is_create & live & (self.live[ti] >= self.lim_live[ti]),
            10036,
            code,
        )
        code = np.where(
            (code == 0) & todo & is_create & ~live & (self.nonlive[ti] >= self.lim_nonlive[ti]),
            10058,
            code,
        )
        # 10014: the group at its member cap (R5)
        is_join = op == JOIN
        cap = self.caps[ti, np.where(ty >= 0, ty, 0)]
        code = np.where((code == 0) & todo & is_join & (g["size"][gsafe] >= cap), 10014, code)
        # 10037: the owner's or joiner's non-live groups at the cap
        counted = (is_join | is_create) & ~live
        code = np.where(
            (code == 0) & todo & counted & (np.maximum(cnt, 0) >= self.gpu[ti]), 10037, code
        )
        ok = (code == 0) & todo
        # apply
        new_acc = ok & unreg & (op != DISSOLVE)
        self.accounts[ti] += new_acc
        self.ucount[uu] = np.where(new_acc, 0, cnt) + (ok & counted)
        c_ok = ok & is_create
        if c_ok.any():
            gi = gg[c_ok]
            g["alive"][gi] = True
            g["size"][gi] = 1
            g["owner"][gi] = uu[c_ok]
            g["head"][gi] = -1
            lv = live[c_ok]
            t_c = ti[c_ok]
            self.live[t_c] += lv
            self.nonlive[t_c] += ~lv
            self.peak_live[t_c] = np.maximum(self.peak_live[t_c], self.live[t_c])
            self.peak_groups[t_c] = np.maximum(
                self.peak_groups[t_c], self.live[t_c] + self.nonlive[t_c]
            )
        j_ok = ok & is_join
        if j_ok.any():
            gi = gg[j_ok]
            k = len(gi)
            m.reserve(k)
            slots = np.arange(m.n, m.n + k)
            m.a["user"][slots] = uu[j_ok]
            m.a["next"][slots] = g["head"][gi]
            g["head"][gi] = slots
            m.n += k
            g["size"][gi] += 1
        d_ok = ok & (op == DISSOLVE)
        if d_ok.any():
            gi = gg[d_ok]
            g["alive"][gi] = False
            lv = live[d_ok]
            t_d = ti[d_ok]
            self.live[t_d] -= lv
            self.nonlive[t_d] -= ~lv
            nl = gi[~lv]
            self.ucount[g["owner"][nl]] -= 1
            cur = g["head"][nl]
            while len(cur):
                cur = cur[cur >= 0]
                self.ucount[m.a["user"][cur]] -= 1  # distinct: one member per group per pass
                cur = m.a["next"][cur]
        return code

    def _tail(
        self, ten: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
    ) -> np.ndarray:
        """The same rules as :meth:`_step`, one operation at a time, for operations sorted by
        (tenant, time): the long tail of a day's busiest tenants."""
        g, mem = self.g.a, self.m
        alive, size, owner, head = g["alive"], g["size"], g["owner"], g["head"]
        ucount = self.ucount
        out = [0] * len(ten)
        cur_t = -1
        acc = lv = nl = pg = pl = lim_acc = lim_lv = lim_nl = gpu = blocked = 0
        comm, caps = False, []
        for k, (i, o, u, grp, gt) in enumerate(
            zip(ten.tolist(), op.tolist(), uu.tolist(), gg.tolist(), ty.tolist(), strict=True)
        ):
            if i != cur_t:
                if cur_t >= 0:
                    self.accounts[cur_t], self.live[cur_t], self.nonlive[cur_t] = acc, lv, nl
                    self.peak_groups[cur_t], self.peak_live[cur_t] = pg, pl
                cur_t = i
                acc, lv, nl = int(self.accounts[i]), int(self.live[i]), int(self.nonlive[i])
                pg, pl = int(self.peak_groups[i]), int(self.peak_live[i])
                lim_acc, lim_lv, lim_nl = (
                    int(self.lim_acc[i]),
                    int(self.lim_live[i]),
                    int(self.lim_nonlive[i]),
                )
                gpu, blocked, comm = int(self.gpu[i]), int(self.blocked[i]), bool(self.community[i])
                caps = self.caps[i].tolist()
            if o != REGISTER and o != CREATE and not alive[grp]:
                out[k] = -1
                continue
            if blocked:
                out[k] = blocked
                continue
            if o == DISSOLVE:
                alive[grp] = False
                if gt == LIVE_TYPE:
                    lv -= 1
                else:
                    nl -= 1
                    ucount[owner[grp]] -= 1
                    m = int(head[grp])
                    users, nxt = mem.a["user"], mem.a["next"]
                    while m >= 0:
                        ucount[users[m]] -= 1
                        m = int(nxt[m])
                continue
            c = int(ucount[u])
            if o == CREATE and gt == _COMMUNITY and not comm:
                out[k] = 10059
                continue
            if c < 0 and acc >= lim_acc:
                out[k] = 70398
                continue
            if o == REGISTER:
                if c < 0:
                    ucount[u] = 0
                    acc += 1
                continue
            live = gt == LIVE_TYPE
            if o == CREATE:
                if live and lv >= lim_lv:
                    out[k] = 10036
                    continue
                if not live and nl >= lim_nl:
                    out[k] = 10058
                    continue
                if not live and max(c, 0) >= gpu:
                    out[k] = 10037
                    continue
                if c < 0:
                    acc += 1
                ucount[u] = max(c, 0) + (not live)
                alive[grp], size[grp], owner[grp], head[grp] = True, 1, u, -1
                if live:
                    lv += 1
                    pl = max(pl, lv)
                else:
                    nl += 1
                pg = max(pg, lv + nl)
                continue
            # JOIN (non-live groups only in plans)
            if size[grp] >= caps[gt]:
                out[k] = 10014
                continue
            if max(c, 0) >= gpu:
                out[k] = 10037
                continue
            if c < 0:
                acc += 1
            ucount[u] = max(c, 0) + 1
            mem.reserve(1)
            slot = mem.n
            mem.a["user"][slot] = u
            mem.a["next"][slot] = head[grp]
            head[grp] = slot
            mem.n += 1
            size[grp] += 1
        if cur_t >= 0:
            self.accounts[cur_t], self.live[cur_t], self.nonlive[cur_t] = acc, lv, nl
            self.peak_groups[cur_t], self.peak_live[cur_t] = pg, pl
        return np.asarray(out, dtype=np.int64)
