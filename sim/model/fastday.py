"""The group rules of the fast mode (:mod:`sim.model.fast`) that are not vectors: a
configuration's limits (:func:`limits_of`), the one-operation-at-a-time path for a day's
busiest tenants (:func:`decide_one_by_one`), the group counts' peaks over a day
(:func:`add_group_counts`) and the counts of a day's outcomes (:func:`outcome_keys`).

The rules are the engine's, in its order (``sim.rules.limits``): app state (60020) -> group
type (10059) -> accounts (70398) -> live groups (10036) / non-live groups (10058) -> group full
(10014, R5) -> user's groups (10037, non-live only); R12, R13. The plans the fast mode plays
hold only register, create, join (non-live groups) and dissolve, and the initial members of
non-live creations (:func:`check_plan` asserts it); a creation with initial
members is decided here only (:meth:`TenantDay.create_with`: 70398 -> 10058 -> 10038 ->
10037, the engine's order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.core.catalog import GROUP_TYPES, Catalog
from sim.core.vocab import Code
from sim.model.console import LAPSED
from sim.model.population import CREATE, DISSOLVE, INVITE, JOIN, LIVE_TYPE, REGISTER
from sim.rules.limits import GROUP_CODES
from sim.rules.state import derive_limits

BIG = np.iinfo(np.int64).max // 4
COMMUNITY = GROUP_TYPES.index("Community")
REASON_OF = {code: reason for reason, code in GROUP_CODES.items()}
CODE_LIST = np.array([0, *sorted(REASON_OF)], dtype=np.int64)
"""The outcome codes of group operations (0: done), in the order their counts are keyed."""


def limits_of(catalog: Catalog, config: dict[str, Any], state: int) -> tuple[Any, ...]:
    """(accounts, live, nonlive, groups per user, caps per type, community, blocked code,
    free DAU on a hard cap or -1) of a configuration: :func:`sim.rules.state.derive_limits`,
    the engine's own derivation (R3, R5), with ``BIG`` for unlimited."""
    if state == LAPSED:
        return (0, 0, 0, 0, [0] * len(GROUP_TYPES), False, Code.PREPAID_EXPIRED, 0)
    lim = derive_limits(
        catalog,
        config["edition"],
        live_unlimited=config["live_unlimited"],
        groups_per_user=config["groups_per_user"],
        members_per_group=config["members_per_group"],
    )
    caps = [_big(lim.caps[name]) for name in GROUP_TYPES]
    hard = -1 if lim.dau_hard_cap is None else lim.dau_hard_cap
    return (
        _big(lim.accounts),
        _big(lim.live_groups),
        _big(lim.nonlive_groups),
        lim.groups_per_user,
        caps,
        lim.community,
        0,
        hard,
    )


def _big(value: int | None) -> int:
    """``BIG`` for an unlimited (``None``) limit."""
    return int(BIG) if value is None else value


@dataclass
class TenantDay:
    """One tenant's counts and limits while its operations are decided one at a time."""

    acc: int
    lv: int
    nl: int
    pg: int
    pl: int
    lim_acc: int
    lim_lv: int
    lim_nl: int
    gpu: int
    blocked: int
    comm: bool
    caps: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, m: Any, i: int) -> TenantDay:
        return cls(
            int(m.accounts[i]),
            int(m.live[i]),
            int(m.nonlive[i]),
            int(m.peak_groups[i]),
            int(m.peak_live[i]),
            int(m.lim_acc[i]),
            int(m.lim_live[i]),
            int(m.lim_nonlive[i]),
            int(m.gpu[i]),
            int(m.blocked[i]),
            bool(m.community[i]),
            m.caps[i].tolist(),
        )

    def store(self, m: Any, i: int) -> None:
        m.accounts[i], m.live[i], m.nonlive[i] = self.acc, self.lv, self.nl
        m.peak_groups[i], m.peak_live[i] = self.pg, self.pl

    def create(self, m: Any, u: int, grp: int, gt: int, members: list[int] | None) -> int:
        """A creation (not blocked): 10059 / 70398 / 10036 / 10058 / 10037, else founded; with
        initial ``members``, :meth:`create_with`."""
        if gt == COMMUNITY and not self.comm:
            return Code.COMMUNITY_UNSUPPORTED
        if members:
            return self.create_with(m, u, grp, gt, members)
        ucount = m.ucount
        c = int(ucount[u])
        if c < 0 and self.acc >= self.lim_acc:
            return Code.ACCOUNT_LIMIT
        live = gt == LIVE_TYPE
        if live and self.lv >= self.lim_lv:
            return Code.LIVE_GROUP_LIMIT
        if not live and self.nl >= self.lim_nl:
            return Code.GROUP_LIMIT
        if not live and max(c, 0) >= self.gpu:
            return Code.USER_GROUP_LIMIT
        if c < 0:
            self.acc += 1
        ucount[u] = max(c, 0) + (not live)
        self.found(m.g.a, u, grp, 1, live)
        return 0

    def create_with(self, m: Any, u: int, grp: int, gt: int, members: list[int]) -> int:
        """A non-live creation with initial ``members`` (distinct, not the owner), in the
        engine's order (``_create_refusal``, R13): 70398 (the owner and the members new
        accounts) -> 10058 -> 10038 (owner and members above the member cap) -> 10037 (the
        owner's or a member's groups at the cap), else founded with them, each member a group
        more."""
        ucount = m.ucount
        inv = np.asarray(members, dtype=np.intp)
        c, cm = int(ucount[u]), ucount[inv]
        new = int(c < 0) + int(np.count_nonzero(cm < 0))
        if new and self.acc + new > self.lim_acc:
            return Code.ACCOUNT_LIMIT
        if self.nl >= self.lim_nl:
            return Code.GROUP_LIMIT
        if 1 + len(inv) > self.caps[gt]:
            return Code.TOO_MANY_MEMBERS
        if max(c, 0) >= self.gpu or int(cm.max()) >= self.gpu:
            return Code.USER_GROUP_LIMIT
        self.acc += new
        ucount[u] = max(c, 0) + 1
        ucount[inv] = np.maximum(cm, 0) + 1
        g = m.g.a
        self.found(g, u, grp, 1 + len(inv), False)
        m.m.add(np.full(len(inv), grp), inv, g["head"])
        return 0

    def found(self, g: dict[str, np.ndarray], u: int, grp: int, size: int, live: bool) -> None:
        """Group ``grp`` founded by ``u`` with ``size`` members (no joined ones yet)."""
        g["alive"][grp], g["size"][grp], g["owner"][grp], g["head"][grp] = True, size, u, -1
        if live:
            self.lv += 1
            self.pl = max(self.pl, self.lv)
        else:
            self.nl += 1
        self.pg = max(self.pg, self.lv + self.nl)

    def join(
        self, g: dict[str, np.ndarray], mem: Any, ucount: np.ndarray, u: int, grp: int, gt: int
    ) -> int:
        """A join that got past 70398: 10014 / 10037, else a member more."""
        c = int(ucount[u])
        if g["size"][grp] >= self.caps[gt]:
            return Code.GROUP_FULL
        if max(c, 0) >= self.gpu:
            return Code.USER_GROUP_LIMIT
        if c < 0:
            self.acc += 1
        ucount[u] = max(c, 0) + 1
        mem.add_one(grp, u, g["head"])
        g["size"][grp] += 1
        return 0

    def decide(
        self, m: Any, o: int, u: int, grp: int, gt: int, invited: dict[int, list[int]]
    ) -> int:
        """The outcome of one operation (-1: not attempted, its group does not exist, or an
        initial member's row: part of its creation, whose initial members are ``invited``)."""
        g, ucount = m.g.a, m.ucount
        if o == INVITE or (o != REGISTER and o != CREATE and not g["alive"][grp]):
            return -1
        if self.blocked:
            return self.blocked
        if o == DISSOLVE:
            g["alive"][grp] = False
            if gt == LIVE_TYPE:
                self.lv -= 1
            else:
                self.nl -= 1
                ucount[g["owner"][grp]] -= 1
                m.m.release_one(int(g["head"][grp]), ucount)
            return 0
        if o == CREATE:
            return self.create(m, u, grp, gt, invited.get(grp) if invited else None)
        c = int(ucount[u])
        if c < 0 and self.acc >= self.lim_acc:
            return Code.ACCOUNT_LIMIT
        if o == REGISTER:
            if c < 0:
                ucount[u] = 0
                self.acc += 1
            return 0
        return self.join(g, m.m, ucount, u, grp, gt)  # (non-live groups only in plans)


def invitations(op: list[int], uu: list[int], gg: list[int]) -> dict[int, list[int]]:
    """The initial members of each group created with some, from a tenant-day's rows (the
    :data:`~sim.model.population.INVITE` ones, in row order)."""
    out: dict[int, list[int]] = {}
    if INVITE in op:
        for o, u, grp in zip(op, uu, gg, strict=True):
            if o == INVITE:
                out.setdefault(grp, []).append(u)
    return out


def with_invitations(ten: np.ndarray, op: np.ndarray, n_tenants: int) -> np.ndarray | None:
    """Mask of a day's rows whose tenant creates a group with initial members that day (the
    fast mode decides them one by one: :func:`decide_one_by_one`), or None if none does."""
    inv = op == INVITE
    if not inv.any():
        return None
    flag = np.zeros(n_tenants, dtype=bool)
    flag[ten[inv]] = True
    return flag[ten]


PLAN_OPS = (REGISTER, CREATE, JOIN, DISSOLVE, INVITE)
"""The rows a plan of the fast mode may hold."""


def check_plan(plan: dict[str, np.ndarray]) -> None:
    """Assert what the fast mode's rules rely on in a plan: only registrations, creations
    (with initial members -- distinct, not the owner, as drawn -- of non-live groups only),
    joins of non-live groups (by users not in the group: repeats are dropped when drawn) and
    dissolutions; no leaving. A plan breaking this is a bug."""
    op, gtype = plan["op"], plan["gtype"]
    if not np.isin(op, PLAN_OPS).all():
        raise AssertionError(f"fast mode: a plan holds operations {sorted(set(op.tolist()))}")
    if (np.isin(op, (JOIN, INVITE)) & (gtype == LIVE_TYPE)).any():
        raise AssertionError("fast mode: a plan joins or invites to a live group")
    if "members" in plan or "leave" in plan:
        raise AssertionError("fast mode: a plan holds member lists or leaves groups")


def opening_registrations(m: Any, ten: np.ndarray, uu: np.ndarray) -> np.ndarray:
    """Registrations sorted by (tenant, time), each before anything else of its tenant's
    day, on the fast model ``m``'s state: as ``FastModel._step`` would decide them one by one
    -- the new users get an account in time order while there are accounts left, the others
    70398 (a user registering again meets what the first registration met); a blocked
    tenant's all meet its code. Returns the codes."""
    cnt = m.ucount[uu]
    _, first, inv = np.unique(uu, return_index=True, return_inverse=True)
    new = np.zeros(len(uu), dtype=bool)
    new[first] = cnt[first] < 0  # a user's first registration, the user new
    seg = np.r_[True, ten[1:] != ten[:-1]]
    start = np.maximum.accumulate(np.where(seg, np.arange(len(ten)), 0))
    c = np.cumsum(new)
    before = c - new - (c - new)[start]  # new users earlier in the tenant's day
    blocked = m.blocked[ten]
    granted = new & (blocked == 0) & (m.accounts[ten] + before < m.lim_acc[ten])
    refused = (cnt[first] < 0)[inv] & ~granted[first][inv]
    code = np.where(blocked > 0, blocked, np.where(refused, Code.ACCOUNT_LIMIT, 0))
    m.ucount[uu[granted]] = 0
    m.accounts += np.bincount(ten[granted], minlength=len(m.accounts))
    return code


def bulk_invitations(
    m: Any, ten: np.ndarray, gg: np.ndarray, ty: np.ndarray, op: np.ndarray, code: np.ndarray
) -> np.ndarray:
    """For ``FastModel._bulk`` (static tenant-days, rows sorted by (tenant, time), ``code`` so
    far: 60020, 10059, 70398): the creations with initial members (``INVITE`` rows) meet, in the
    engine's order (R13), 70398 when a member is a new user beyond the accounts (static: every
    new user is then refused), then 10038 when owner and members pass the member cap (10058
    and 10037 out of reach); an initial member's row is no operation (code -1). ``code`` is
    updated; the groups founded get their size (for joins later in the day). Returns the mask
    of the initial members whose creation succeeds."""
    n = len(gg)
    mark = m.g.a["mark"]  # scratch, 0 before and after
    iv = np.flatnonzero(op == INVITE)
    creates = np.flatnonzero(op == CREATE)
    mark[gg[creates]] = creates + 1
    crow = mark[gg[iv]] - 1  # each initial member's creation
    mark[gg[creates]] = 0
    refused = crow[code[iv] == Code.ACCOUNT_LIMIT]
    code[refused[code[refused] == 0]] = Code.ACCOUNT_LIMIT
    k = np.bincount(crow, minlength=n)
    c = np.flatnonzero((k > 0) & (code == 0))
    over = 1 + k[c] > m.caps[ten[c], ty[c]]
    code[c[over]] = Code.TOO_MANY_MEMBERS
    c = c[~over]
    m.g.a["size"][gg[c]] = 1 + k[c]
    code[iv] = -1
    ok = np.zeros(n, dtype=bool)
    ok[iv] = code[crow] == 0
    return ok


def decide_one_by_one(
    m: Any, ten: np.ndarray, op: np.ndarray, uu: np.ndarray, gg: np.ndarray, ty: np.ndarray
) -> np.ndarray:
    """The rules of :meth:`sim.model.fast.FastModel._step`, one operation at a time, for
    operations sorted by (tenant, time) -- the long tail of a day's busiest tenants -- on the
    fast model ``m``'s state; the outcome codes."""
    out = np.zeros(len(ten), dtype=np.int64)
    if not len(ten):
        return out
    bounds = np.r_[np.flatnonzero(np.r_[True, ten[1:] != ten[:-1]]), len(ten)].tolist()
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        i = int(ten[a])
        day = TenantDay.load(m, i)
        ops, users, groups = op[a:b].tolist(), uu[a:b].tolist(), gg[a:b].tolist()
        invited = invitations(ops, users, groups)
        out[a:b] = [
            day.decide(m, o, u, grp, gt, invited)
            for o, u, grp, gt in zip(ops, users, groups, ty[a:b].tolist(), strict=True)
        ]
        day.store(m, i)
    return out


def groups_existing(
    g: dict[str, np.ndarray],
    gg: np.ndarray,
    created: np.ndarray,
    is_j: np.ndarray,
    is_d: np.ndarray,
) -> np.ndarray:
    """Per row of a day's operations sorted by (tenant, time): does the group of a join or a
    dissolution (``is_j``, ``is_d``) exist when it comes -- alive at the start of the day, or
    created earlier in the day (``created``: the creations that succeed), and not dissolved
    before. ``g["mark"]`` is scratch, 0 before and after."""
    pos = np.arange(len(gg))
    has_g = is_j | is_d
    gsafe = np.where(has_g, gg, 0)
    exists = g["alive"][gsafe] & has_g
    # (a group has one create and one dissolve row: mark each with its position + 1)
    mark = g["mark"]
    if created.any():
        cg = gg[created]
        mark[cg] = pos[created] + 1
        m = mark[gsafe]
        exists |= has_g & (m > 0) & (m <= pos)
        mark[cg] = 0
    dd = is_d & exists
    if dd.any():
        dg = gg[dd]
        mark[dg] = pos[dd] + 1
        m = mark[gsafe]
        exists &= ~(has_g & (m > 0) & (m <= pos))
        mark[dg] = 0
    return exists


def joins_by_group(gg: np.ndarray, joins: np.ndarray) -> np.ndarray:
    """The rows of ``joins`` (a mask) sorted by group, then row (time) order."""
    jn = np.flatnonzero(joins)
    return jn[np.argsort(gg[jn], kind="stable")]


def full_joins(go: np.ndarray, cap: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Mask over joins sorted by group (groups ``go``, member caps ``cap``): those that find
    their group full, the group having ``size`` members at the start of the day (at least
    its owner) and every join before succeeding (R5: 10014)."""
    start = np.flatnonzero(np.r_[True, go[1:] != go[:-1]])
    rank = np.arange(len(go)) - np.repeat(start, np.diff(np.r_[start, len(go)]))
    return np.maximum(size[go], 1) + rank >= cap


def add_group_counts(m: Any, ten: np.ndarray, created: np.ndarray, live: np.ndarray) -> None:
    """Apply a day's successful creations (``created``) and dissolutions (the other rows),
    sorted by (tenant, time), to ``m``'s live and non-live group counts, and raise their
    peaks by the highest running count of the day (the peaks start the day at the counts, so
    the rows between changes need no look)."""
    sign = np.where(created, 1, -1)
    dl = np.where(live, sign, 0)
    dn = sign - dl
    n = len(ten)
    starts = np.flatnonzero(np.r_[True, ten[1:] != ten[:-1]])
    ts = ten[starts]
    run_l = np.cumsum(dl)
    run_t = run_l + np.cumsum(dn)
    seg = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, n]))
    base_l = run_l[starts] - dl[starts]
    base_t = run_t[starts] - dl[starts] - dn[starts]
    run_l = run_l - base_l[seg]
    run_t = run_t - base_t[seg]
    top_l = np.maximum.reduceat(run_l, starts)
    top_t = np.maximum.reduceat(run_t, starts)
    lv0, tot0 = m.live[ts], m.live[ts] + m.nonlive[ts]
    m.peak_live[ts] = np.maximum(m.peak_live[ts], lv0 + top_l)
    m.peak_groups[ts] = np.maximum(m.peak_groups[ts], tot0 + top_t)
    m.live[ts] += np.add.reduceat(dl, starts)
    m.nonlive[ts] += np.add.reduceat(dn, starts)


def split_outcome_keys(
    keys: np.ndarray, count: np.ndarray, n_days: int, n_tenants: int
) -> dict[str, np.ndarray]:
    """The ``group_ops`` columns from the day-ordered outcome keys ``((tenant * n_days + day)
    * 4 + op) * len(CODE_LIST) + code index`` and their counts: sorted by (tenant, day, op,
    code) -- the keys are distinct, in day order, each day's ascending, so a stable sort by
    tenant sorts them (a radix sort, for 16-bit tenants)."""
    nc = len(CODE_LIST)
    ten = keys // (nc * 4 * n_days)
    order = np.argsort(ten.astype(np.int16 if n_tenants < 2**15 else np.int64), kind="stable")
    del ten
    keys = keys[order]
    count = count[order]
    del order
    code_i = (keys % nc).astype(np.int8)
    op = (keys // nc % 4).astype(np.int8)
    keys //= nc * 4
    day = (keys % n_days).astype(np.int32)
    keys //= n_days
    return {
        "tenant": keys.astype(np.int32),
        "day": day,
        "op": op,
        "error_code": CODE_LIST[code_i],
        "reason": code_i,
        "count": count,
    }
