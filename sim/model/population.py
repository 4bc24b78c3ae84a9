"""The tenant population: archetypes, each tenant's demand, and its plan of group operations.

A tenant is an app of one archetype. Its *demand* -- how many users it has, how many are active,
which groups they create, how large those groups want to become -- is drawn from the tenant's
own ``growth`` and ``activity`` streams (:mod:`sim.model.rng`) and never depends on prices, limits or
outcomes: that is what makes price and limit what-ifs comparisons with common random numbers.
What the rules engine lets through of that demand is the model's business (:mod:`sim.model.exact`,
:mod:`sim.model.fast`).

The demand, per tenant:

- users ``U(d)`` on day ``d``: ``users0`` (lognormal) grown by a per-tenant monthly rate
  (normal across tenants) with a daily random walk, running maximum (users do not leave);
  every new user registers once, at a uniform time of the day (70398 above the account limit);
- DAU demand: a per-tenant share of ``U(d)`` with lognormal daily noise (72000 above a hard
  cap; billed overage above a postpaid free quota);
- non-live groups: ``Poisson(create_rate * DAU)`` a day, of a type drawn from the archetype's
  mix; each has a heavy-tailed target size (discrete Pareto), an owner and members drawn from
  the users by a heavy-tailed per-user activity (Zipf-like weight ``rank ** -activity_exponent``:
  the first users are the power users who end up in hundreds of groups and meet 10037), joins
  spread over ``fill_days`` after creation (10014 once the group is at its member cap), and an
  exponential lifetime after which the owner dissolves it; a share ``invite_share`` of them is
  created with those members as its initial member list instead (:data:`INVITE` rows: 10038
  when the list passes the member cap, R13), and then has no joins;
- live groups (AVChatRoom): ``Poisson(live_rate * DAU)`` a day, more on event days, each
  dissolved after a lognormal number of hours (10036 while the app is at its live-group limit).

Plan times are seconds since the scenario start; day ``d``'s operations lie in
``[day_start[d] + 1, day_start[d] + 86399]`` so that the day's decisions, taken at
``day_start[d]``, come first.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass, field

import numpy as np

from sim.core.catalog import GROUP_TYPES
from sim.model.archetypes import ARCHETYPES, ArchetypeParams
from sim.model.rng import TenantStreams

__all__ = ["ARCHETYPES", "ArchetypeParams", "Tenant", "draw_plans", "make_tenant", "month_plan"]

# operation codes of a plan (and of the fast mode's tables)
REGISTER, CREATE, JOIN, DISSOLVE = 0, 1, 2, 3
OPS = ("register_user", "create_group", "join_group", "dissolve_group")
INVITE = 4
"""A plan row that is no operation: an initial member of the creation of its group, at the
creation's time (the modes pass them to ``create_group``'s ``members``; R13)."""
TYPE_CODE = {name: i for i, name in enumerate(GROUP_TYPES)}
LIVE_TYPE = TYPE_CODE["AVChatRoom"]
DAY_S = 86_400.0
DAYS_PER_MONTH = 30.4375
"""Days in a month for rates given per month (arrivals, going quiet)."""


@dataclass
class Tenant:
    """One app: its archetype, its drawn demand and economics, and its plan's progress."""

    app: str
    archetype: str
    index: int
    params: ArchetypeParams
    streams: TenantStreams
    start_state: str
    wtp: float  # willingness to pay, catalog currency per month
    users: np.ndarray  # demand users per day (non-decreasing)
    dau: np.ndarray  # DAU demand per day
    event: np.ndarray  # bool per day: an event (more live groups)
    next_group: int = 0
    next_seq: int = 0
    arrival: int = 0  # the day the app is created (0: at the start)
    pending: dict[str, np.ndarray] = field(default_factory=dict)


def make_tenant(
    app: str,
    archetype: str,
    index: int,
    params: ArchetypeParams,
    streams: TenantStreams,
    n_days: int,
    month_of_day: np.ndarray,
    arriving: int | None = None,
) -> Tenant:
    """Draw a tenant's demand for ``n_days`` days (growth stream) and economics (economics).

    ``arriving``: the tenant is the ``arriving``-th (0-based) app of its archetype created
    after the start: it arrives on a day drawn uniformly in its slot of ``1 /
    arrivals_per_month`` months (economics stream), on IM, with no users or DAU before; from
    that day its users and DAU are those drawn from day 0 on, shifted."""
    g = streams["growth"]
    users0 = params.users0_median * np.exp(params.users0_sigma * g.standard_normal())
    rate = params.growth_per_month + params.growth_sd_between * g.standard_normal()
    walk = np.cumsum(params.growth_sd_daily * g.standard_normal(n_days))
    log_users = np.log(max(users0, 1.0)) + rate * np.arange(n_days) / 30.0 + walk
    users = np.maximum.accumulate(np.maximum(np.round(np.exp(log_users)), 1.0)).astype(np.int64)
    noise = np.exp(params.dau_sd_daily * g.standard_normal(n_days))
    dau = np.minimum(np.round(users * params.dau_share * noise), users).astype(np.int64)
    n_months = int(month_of_day[-1]) + 1 if n_days else 0
    has_event = g.random(n_months) < params.event_prob_per_month
    first_day = g.random(n_months)  # where in the month the event starts
    event = np.zeros(n_days, dtype=bool)
    for m in np.flatnonzero(has_event).tolist():
        days = np.flatnonzero(month_of_day == m)
        start = days[0] + int(first_day[m] * max(len(days) - params.event_days, 1))
        event[start : start + params.event_days] = True
    e = streams["economics"]
    states, cum, total = _start_shares(tuple(sorted(params.start_state.items())))
    start_state = states[bisect.bisect_right(cum, e.random() * total)]
    wtp = float(params.wtp_median * np.exp(params.wtp_sigma * e.standard_normal()))
    arrival = 0
    if arriving is not None:  # the k-th app arriving: in the k-th slot of 1/rate months
        at = (arriving + e.random()) / params.arrivals_per_month * DAYS_PER_MONTH
        arrival = min(int(at), n_days - 1)
        start_state = "IM"
        users[arrival:] = users[: n_days - arrival].copy()  # its demand from its first day
        dau[arrival:] = dau[: n_days - arrival].copy()
        users[:arrival] = 0
        dau[:arrival] = 0
    if params.quiet_after_months > 0:
        quiet = arrival + int(e.exponential(params.quiet_after_months) * DAYS_PER_MONTH)
        dau[quiet:] = 0
    t = Tenant(app, archetype, index, params, streams, start_state, wtp, users, dau, event)
    t.arrival = arrival
    return t


@functools.lru_cache(maxsize=64)
def _start_shares(
    items: tuple[tuple[str, float], ...],
) -> tuple[tuple[str, ...], list[float], float]:
    """An archetype's start states, the cumulative shares (normalised) and their total: what
    draws a tenant's start state, once per archetype."""
    states, shares = zip(*items, strict=True)
    p = np.asarray(shares, dtype=float) / max(sum(shares), 1e-12)
    return states, np.cumsum(p).tolist(), float(p.sum())


def _pick_users(u: np.ndarray, n: np.ndarray, a: float, at: np.ndarray | None = None) -> np.ndarray:
    """User indices in ``[0, n)`` drawn with weight ``(rank + 1) ** -a`` by inverse CDF of the
    continuous approximation, from uniforms ``u``; ``n`` per draw, or per group with ``at`` the
    group of each draw (what depends on ``n`` alone is then computed once per group)."""
    # (in place where it can be: these are the largest arrays of the plans)
    if a == 0:
        x = u * (n if at is None else n[at])
        x += 1.0
    else:
        b = 1.0 - a
        span = (n + 1.0) ** b - 1.0
        x = u * (span if at is None else span[at])
        x += 1.0
        np.power(x, 1.0 / b, out=x)
    k = np.floor(x, out=x).astype(np.int64)
    k -= 1
    np.minimum(k, (n if at is None else n[at]) - 1, out=k)
    return np.maximum(k, 0, out=k)


_EMPTY_I = np.zeros(0, dtype=np.int64)


def month_plan(
    t: Tenant, days: np.ndarray, day_start: np.ndarray, horizon_s: float
) -> dict[str, np.ndarray]:
    """The tenant's operations drawn for the groups created and users arriving on ``days``
    (one or more calendar months), from its activity stream; in draw order. Joins and
    dissolutions may fall in later months; nothing after ``horizon_s`` is kept (it is still
    drawn). The same as :func:`draw_plans` for this tenant alone.

    Columns: ``t`` (seconds since the start), ``op`` (REGISTER..DISSOLVE), ``user``, ``group``
    (per-tenant numbers), ``gtype`` (index in GROUP_TYPES), ``seq`` (tie-break: draw order).
    """
    out = draw_plans([t], days, day_start, horizon_s)
    del out["tenant"]
    return out


def draw_plans(
    tenants: list[Tenant],
    days: np.ndarray,
    day_start: np.ndarray,
    horizon_s: float,
    sort: bool = True,
    seq: bool = True,
) -> dict[str, np.ndarray]:
    """:func:`month_plan` of many tenants at once, with a ``tenant`` column (index in
    ``tenants``), sorted by tenant and, within a tenant, in draw order (``sort=False``: a
    tenant's rows are still in draw order, but interleaved with the other tenants';
    ``seq=False``: without the ``seq`` column, for a caller that keeps the draw order).

    Each tenant draws from its own activity stream, in the same order and amounts whoever else
    is drawn with it (per-tenant calls of its generator, each for all of the block's days);
    what is computed from the draws is computed for all tenants of an archetype at once."""
    pieces = plan_pieces(tenants, days, day_start, horizon_s, seq)
    out = {
        c: np.concatenate(v, dtype=np.float64 if c == "t" else np.int64) for c, v in pieces.items()
    }
    if sort and len(tenants) > 1:  # (stable: a tenant's rows stay in draw order)
        order = np.argsort(out["tenant"], kind="stable")
        out = {c: a[order] for c, a in out.items()}
    return out


def plan_pieces(
    tenants: list[Tenant],
    days: np.ndarray,
    day_start: np.ndarray,
    horizon_s: float,
    seq: bool = True,
) -> dict[str, list[np.ndarray]]:
    """The columns of :func:`draw_plans` with ``sort=False``, each as the list of its pieces (a
    kind of operation of an archetype's tenants), not concatenated: for a caller that converts
    them anyway, saving a copy of the largest table of a run."""
    pieces: dict[str, list[np.ndarray]] = {}
    by_arch: dict[str, list[int]] = {}
    for i, t in enumerate(tenants):
        by_arch.setdefault(t.archetype, []).append(i)
    for members in by_arch.values():
        part = _draw_archetype([tenants[i] for i in members], days, day_start, horizon_s, seq)
        index = np.asarray(members, dtype=np.int64)
        part["tenant"] = [index[local] for local in part["tenant"]]
        for c, v in part.items():
            pieces.setdefault(c, []).extend(v)
    return pieces


def _draw_archetype(
    ts: list[Tenant],
    days: np.ndarray,
    day_start: np.ndarray,
    horizon_s: float,
    seq: bool,
) -> dict[str, list[np.ndarray]]:
    p = ts[0].params
    base = day_start[days]
    dem = _demand(ts, days)
    rngs = [t.streams["activity"] for t in ts]
    # the draws, tenant by tenant: first what fixes the number of groups and their sizes,
    # then members, join times, live groups
    counts, reg_u, rc, life = _first_draws(rngs, dem, p, len(days))
    n_days = len(days)
    n_create_m, n_live_m = counts[:, :n_days], counts[:, n_days:]
    k_t, kl_t = n_create_m.sum(axis=1), n_live_m.sum(axis=1)
    c_td = np.repeat(np.arange(len(ts) * n_days), n_create_m.ravel())
    c_ten, c_day = c_td // n_days, c_td % n_days
    n_users = dem["u_days"][c_ten, c_day]
    size = np.floor(p.size_min * rc[2] ** (-1.0 / p.size_alpha))
    size = np.minimum(np.minimum(size, p.size_max), n_users).astype(np.int64).clip(1)
    c_first = np.cumsum(k_t) - k_t
    size_cs = np.r_[0, np.cumsum(size)]
    cand_n = (size_cs[c_first + k_t] - size_cs[c_first]).tolist()
    r2a, rla, hours_sn = _second_draws(rngs, cand_n, kl_t.tolist())
    reg = _registrations(dem, days, base, np.concatenate(reg_u))
    next_group = np.array([t.next_group for t in ts], dtype=np.int64)
    c_t = base[c_day] + 1.0 + rc[0] * (DAY_S - 2)
    life_a = np.concatenate(life) * DAY_S if p.lifetime_days > 0 else np.full(len(c_t), np.inf)
    c_gid = next_group[c_ten] + np.arange(len(c_t)) - c_first[c_ten]
    c_type = _group_types(p, rc[1])
    invited = rc[3] < p.invite_share if len(rc) > 3 else np.zeros(len(c_t), dtype=bool)
    nonlive = _nonlive(p, c_ten, c_t, c_type, c_gid, size, n_users, life_a, r2a, invited)
    nonlive["has_d"] = nonlive["d_t"] < horizon_s
    live = _live(p, dem, n_live_m, kl_t, next_group + k_t, base, rla, hours_sn)
    for t, n in zip(ts, (k_t + kl_t).tolist(), strict=True):
        t.next_group += n
    return _assemble(ts, _columns(reg, nonlive, live), horizon_s, seq)


def _demand(ts: list[Tenant], days: np.ndarray) -> dict[str, np.ndarray]:
    """Users on each day, the users before it, new users, DAU and the Poisson means of
    non-live and live groups (tenants x days)."""
    p = ts[0].params
    lo = max(int(days[0]) - 1, 0)
    users = np.stack([t.users[lo : int(days[-1]) + 1] for t in ts])
    u_days = users[:, days - lo]
    prev = np.where(days > 0, users[:, np.maximum(days - 1, 0) - lo], 0)
    dau = np.stack([t.dau[days] for t in ts]).astype(float)
    live_mult = np.where(np.stack([t.event[days] for t in ts]), p.event_live_multiplier, 1.0)
    return {
        "u_days": u_days,
        "prev": prev,
        "new": u_days - prev,
        "lam_c": p.create_rate * dau,
        "lam_l": p.live_rate * dau * live_mult,
    }


def _first_draws(
    rngs: list[np.random.Generator], dem: dict[str, np.ndarray], p: ArchetypeParams, n_days: int
) -> tuple[np.ndarray, list[np.ndarray], np.ndarray, list[np.ndarray]]:
    """Per tenant, in this order: registration times, group counts a day (non-live then live
    in one Poisson call: the draws of two calls, in the same order; a mean of 0 gives 0 and
    reads nothing, so all-0 live means need no call), then per group time, type and size
    uniforms and lifetimes. Returns (counts, registration uniforms, the 3 x k uniforms,
    lifetimes)."""
    lam_c, lam_l = dem["lam_c"], dem["lam_l"]
    lam = np.concatenate([lam_c, lam_l], axis=1)
    live_any = np.asarray((lam_l > 0).any(axis=1)).tolist()
    n_reg = dem["new"].sum(axis=1).tolist()
    counts = np.zeros((len(rngs), 2 * n_days), dtype=np.int64)
    reg_u: list[np.ndarray] = []
    r3: list[np.ndarray] = []
    n_u = 4 if p.invite_share > 0 else 3  # (no draw for archetypes that never invite)
    life: list[np.ndarray] = []
    for i, rng in enumerate(rngs):
        reg_u.append(rng.random(n_reg[i]))
        nc = np.asarray(rng.poisson(lam[i] if live_any[i] else lam_c[i]))
        counts[i, : len(nc)] = nc
        k = sum(nc[:n_days].tolist())
        r3.append(rng.random(n_u * k).reshape(n_u, k))  # times, types, sizes (, invited)
        if p.lifetime_days > 0:
            life.append(rng.exponential(p.lifetime_days, k))
    rc = np.concatenate(r3, axis=1) if r3 else np.zeros((n_u, 0))
    return counts, reg_u, rc, life


def _second_draws(
    rngs: list[np.random.Generator], cand_n: list[int], kl_list: list[int]
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Per tenant, in this order: member and join-time uniforms of its candidates, then the
    start and host uniforms and the duration normals of its live groups."""
    r2, rl, hours_sn = [], [], []
    for i, rng in enumerate(rngs):
        r2.append(rng.random(2 * cand_n[i]).reshape(2, cand_n[i]))  # members, join times
        if kl_list[i]:  # (no draw reads nothing)
            rl.append(rng.random(2 * kl_list[i]).reshape(2, kl_list[i]))  # start, host
            hours_sn.append(rng.standard_normal(kl_list[i]))
    r2a = np.concatenate(r2, axis=1) if r2 else np.zeros((2, 0))
    rla = np.concatenate(rl, axis=1) if rl else np.zeros((2, 0))
    return r2a, rla, hours_sn


def _registrations(
    dem: dict[str, np.ndarray], days: np.ndarray, base: np.ndarray, reg_u: np.ndarray
) -> dict[str, np.ndarray]:
    """The day's new users, at uniform times (the initial users at 0.5 s on the app's first
    day, before all else)."""
    n_days = len(days)
    flat = dem["new"].ravel()
    reg_td = np.repeat(np.arange(len(flat)), flat)
    reg_ten, reg_day = reg_td // n_days, reg_td % n_days
    reg_user = np.arange(len(reg_td)) - np.repeat(np.cumsum(flat) - flat, flat)
    reg_prev = np.repeat(dem["prev"].ravel(), flat)
    reg_t = np.where(reg_prev == 0, 0.5, 1.0 + reg_u * (DAY_S - 2)) + base[reg_day]
    return {"tenant": reg_ten, "t": reg_t, "user": reg_user + reg_prev}


def _group_types(p: ArchetypeParams, u: np.ndarray) -> np.ndarray:
    """Non-live group types (codes) from uniforms, by the archetype's mix."""
    if not len(u):
        return _EMPTY_I
    names = [k for k, w in sorted(p.group_types.items()) if w > 0]
    weights = np.array([p.group_types[k] for k in names], dtype=float)
    codes = np.array([TYPE_CODE[k] for k in names], dtype=np.int64)
    at = np.searchsorted(np.cumsum(weights) / weights.sum(), u, "right")
    return codes[at.clip(0, len(codes) - 1)]


def _nonlive(
    p: ArchetypeParams,
    c_ten: np.ndarray,
    c_t: np.ndarray,
    c_type: np.ndarray,
    c_gid: np.ndarray,
    size: np.ndarray,
    n_users: np.ndarray,
    life_a: np.ndarray,
    r2a: np.ndarray,
    invited: np.ndarray,
) -> dict[str, np.ndarray]:
    """Non-live groups: owner first, then members, by activity weight, repeats dropped (the
    first draw kept); members join while the group exists, or, for the ``invited`` groups, are
    its initial members (``i_g``, ``i_u``); dissolution after its lifetime."""
    k = len(c_t)
    cand_g = np.repeat(np.arange(k), size)
    cand_u = _pick_users(r2a[0], n_users, p.activity_exponent, at=cand_g)
    key = cand_g * (int(n_users.max()) + 1 if k else 1) + cand_u
    perm = np.argsort(key, kind="stable")  # np.unique(key, return_index=True), a bit faster
    key = key[perm]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    keep = np.zeros(len(cand_g), dtype=bool)
    keep[perm[first]] = True
    pos = np.arange(len(cand_g)) - np.repeat(np.cumsum(size) - size, size)
    join_row = keep & (pos > 0)
    inv_row = join_row & invited[cand_g]
    join_row &= ~inv_row
    j_t = c_t[cand_g] + r2a[1] * p.fill_days * DAY_S
    join_row &= j_t < c_t[cand_g] + life_a[cand_g]  # members join only while the group exists
    return {
        "ten": c_ten,
        "t": c_t,
        "type": c_type,
        "gid": c_gid,
        "owner": cand_u[keep & (pos == 0)],
        "j_g": cand_g[join_row],
        "j_t": j_t[join_row],
        "j_u": cand_u[join_row],
        "i_g": cand_g[inv_row],
        "i_u": cand_u[inv_row],
        "d_t": c_t + life_a,
    }


def _live(
    p: ArchetypeParams,
    dem: dict[str, np.ndarray],
    n_live_m: np.ndarray,
    kl_t: np.ndarray,
    first_id: np.ndarray,
    base: np.ndarray,
    rla: np.ndarray,
    hours_sn: list[np.ndarray],
) -> dict[str, np.ndarray]:
    """Live groups: start, host, end after lognormal hours; ids from ``first_id`` per tenant."""
    n_days = n_live_m.shape[1]
    l_td = np.repeat(np.arange(n_live_m.size), n_live_m.ravel())
    l_ten, l_day = l_td // n_days, l_td % n_days
    l_t = base[l_day] + 1.0 + rla[0] * (DAY_S - 2)
    host = _pick_users(rla[1], dem["u_days"][l_ten, l_day], p.activity_exponent)
    hours = p.live_hours_median * np.exp(0.5 * np.concatenate([np.zeros(0), *hours_sn]))
    l_first = np.cumsum(kl_t) - kl_t
    lid = first_id[l_ten] + np.arange(len(l_t)) - l_first[l_ten]
    return {"ten": l_ten, "t": l_t, "end": l_t + hours * 3600.0, "host": host, "id": lid}


def _columns(
    reg: dict[str, np.ndarray], nl: dict[str, np.ndarray], lv: dict[str, np.ndarray]
) -> dict[str, list[np.ndarray]]:
    """The plan's columns, each as its pieces in draw order: registrations, creations, initial
    members (:data:`INVITE`, at their creation's time, after it in draw order), joins,
    dissolutions, live creations, live dissolutions."""
    n_r, k, kl = len(reg["t"]), len(nl["t"]), len(lv["t"])
    j_g, has_d, i_g = nl["j_g"], nl["has_d"], nl["i_g"]
    n_j, n_d = len(j_g), int(has_d.sum())
    ten, gid, ty, owner = nl["ten"], nl["gid"], nl["type"], nl["owner"]
    return {
        "tenant": [reg["tenant"], ten, ten[i_g], ten[j_g], ten[has_d], lv["ten"], lv["ten"]],
        "t": [reg["t"], nl["t"], nl["t"][i_g], nl["j_t"], nl["d_t"][has_d], lv["t"], lv["end"]],
        "op": [
            np.full(n_r, REGISTER),
            np.full(k, CREATE),
            np.full(len(i_g), INVITE),
            np.full(n_j, JOIN),
            np.full(n_d, DISSOLVE),
            np.full(kl, CREATE),
            np.full(kl, DISSOLVE),
        ],
        "user": [reg["user"], owner, nl["i_u"], nl["j_u"], owner[has_d], lv["host"], lv["host"]],
        "group": [np.full(n_r, -1), gid, gid[i_g], gid[j_g], gid[has_d], lv["id"], lv["id"]],
        "gtype": [
            np.full(n_r, -1),
            ty,
            ty[i_g],
            ty[j_g],
            ty[has_d],
            np.full(kl, LIVE_TYPE),
            np.full(kl, LIVE_TYPE),
        ],
    }


def _assemble(
    ts: list[Tenant], cols: dict[str, list[np.ndarray]], horizon_s: float, seq: bool
) -> dict[str, list[np.ndarray]]:
    """Nothing after the horizon; ``seq`` numbers a tenant's rows in draw order (the order of
    the pieces, each sorted by tenant)."""
    n_t = len(ts)
    seq_next = np.array([t.next_seq for t in ts], dtype=np.int64)
    parts: dict[str, list[np.ndarray]] = {c: [] for c in (*cols, "seq")[: len(cols) + seq]}
    for j in range(len(cols["t"])):
        keep = cols["t"][j] < horizon_s
        everything = bool(keep.all())  # (then no copy before the concatenation)
        ten = cols["tenant"][j] if everything else cols["tenant"][j][keep]
        for c, v in cols.items():
            parts[c].append(v[j] if everything else v[j][keep])
        counts = np.bincount(ten, minlength=n_t)
        if seq:
            rank = np.arange(len(ten)) - np.repeat(np.cumsum(counts) - counts, counts)
            parts["seq"].append(seq_next[ten] + rank)
        seq_next += counts
    for t, n in zip(ts, seq_next.tolist(), strict=True):
        t.next_seq = n
    return parts


PLAN_COLUMNS = ("t", "op", "user", "group", "gtype", "seq")
PLAN_MONTHS = 3
"""Months drawn at once: fewer, larger draws (the plan is the same for any caller)."""


def take_month(
    t: Tenant, days: np.ndarray, day_start: np.ndarray, until_s: float, horizon_s: float
) -> dict[str, np.ndarray]:
    """The tenant's operations before ``until_s``: what was pending plus the draws for
    ``days`` (a block of whole months, :data:`PLAN_MONTHS` long; empty inside a block), in
    time order (ties by draw order); the rest stays pending for later months."""
    new = month_plan(t, days, day_start, horizon_s) if len(days) else None
    if new is None:
        new = t.pending
    elif t.pending:
        new = {c: np.concatenate([t.pending[c], new[c]]) for c in PLAN_COLUMNS}
    order = np.lexsort((new["seq"], new["t"]))
    cut = int(np.searchsorted(new["t"][order], until_s, "left"))
    now, later = order[:cut], order[cut:]
    t.pending = {c: a[later] for c, a in new.items()}
    return {c: a[now] for c, a in new.items()}
