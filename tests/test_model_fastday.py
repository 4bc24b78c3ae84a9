"""One app-day of operations, drawn by hypothesis, decided by the rules engine one by one and
by the fast mode's day functions (whichever path the fast mode takes: the whole day at once,
in steps, or one by one): the same outcomes (counts per operation and code) and the same
counts afterwards. Under a what-if catalog whose free tier is tiny, so that a few dozen
operations can meet each limit (70398, 10058, 10036, 10014, 10037, 10059, and 10038 for
creations with initial members; R3, R5, R12, R13)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.catalog import GROUP_TYPES
from sim.files.catalogs import load_catalog
from sim.model.fast import FastModel
from sim.model.fastday import split_outcome_keys
from sim.model.population import CREATE, DISSOLVE, INVITE, JOIN, LIVE_TYPE, REGISTER
from sim.model.scenario import scenario_from_dict

TINY = [
    "editions.IM.limits.accounts=5",
    "editions.IM.limits.members_per_group=3",
    "editions.IM.limits.groups_per_user=2",
    "editions.IM.limits.nonlive_groups=3",
    "editions.IM.limits.live_groups=1",
]
CATALOG = load_catalog(overrides=TINY)
USERS = 8
TYPES = [GROUP_TYPES.index(t) for t in ("Work", "Public", "Community")]


def _model(mode: tuple[bool, int]) -> FastModel:
    sc = scenario_from_dict(
        {
            "name": "day",
            "start": "2024-01-01",
            "horizon_months": 1,
            "seed": 1,
            "population": {
                "hobby": {
                    "count": 1,
                    "users0_median": USERS,
                    "users0_sigma": 0,
                    "growth_sd_daily": 0,
                }
            },
        }
    )
    m = FastModel(sc, CATALOG)
    m.use_bulk, m.min_width = mode
    m.console.setup(m.h.start_ns)
    m._refresh()
    return m


@st.composite
def day_ops(draw: st.DrawFn) -> list[tuple[int, int, int, int]]:
    """(op, user, group, type) in time order, as plans hold them: a group created once (a
    non-live one possibly with initial members: INVITE rows right after its creation, distinct
    users besides the owner), joined after its creation by users not in it, live groups not
    joined, dissolved at most once."""
    ops: list[tuple[int, int, int, int]] = []
    members: dict[int, set[int]] = {}
    live: set[int] = set()
    next_group = 0
    owners: dict[int, int] = {}
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(["reg", "create", "invite", "live", "join", "dissolve"]))
        u = draw(st.integers(0, USERS - 1))
        open_groups = sorted(g for g in members if g not in live)
        if kind == "reg":
            ops.append((REGISTER, u, -1, -1))
        elif kind in ("create", "invite", "live"):
            g, next_group = next_group, next_group + 1
            owners[g] = u
            ty = LIVE_TYPE if kind == "live" else draw(st.sampled_from(TYPES))
            if kind == "live":
                live.add(g)
            ops.append((CREATE, u, g, ty))
            others = [v for v in range(USERS) if v != u]
            invited = draw(st.lists(st.sampled_from(others), max_size=5, unique=True))
            invited = invited if kind == "invite" else []
            ops.extend((INVITE, v, g, ty) for v in invited)
            members[g] = {u, *invited}
        elif kind == "join" and open_groups:
            g = draw(st.sampled_from(open_groups))
            if u not in members[g]:
                members[g].add(u)
                ops.append((JOIN, u, g, -2))
        elif kind == "dissolve" and members:
            g = draw(st.sampled_from(sorted(members)))
            ops.append((DISSOLVE, owners[g], g, -3))
            members.pop(g)
            live.discard(g)
    return ops


def _types(ops: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Joins and dissolutions carry their group's type (-2/-3 placeholders above)."""
    ty_of = {g: ty for op, _, g, ty in ops if op == CREATE}
    return [(op, u, g, ty_of[g] if op in (JOIN, DISSOLVE) else ty) for op, u, g, ty in ops]


def _times(ops: list[tuple[int, int, int, int]], cut: int) -> list[int]:
    """Seconds after the first day's start: one a row, an initial member at its creation's
    time; the rows from ``cut`` on (not splitting a creation from its members) on the next
    day, so that a day can open at a limit reached the day before."""
    out: list[int] = []
    for k, (op, _, _, _) in enumerate(ops):
        out.append(out[-1] if op == INVITE else k + 1 + (86_400 if k >= cut else 0))
    return out


def _engine(m: FastModel, ops: list[tuple[int, int, int, int]], cut: int) -> Counter:
    """The engine's outcomes, as the exact mode plays a plan (operations on a group whose
    creation was refused, or not yet made, are not attempted; a creation takes its initial
    members, the INVITE rows of its group)."""
    eng, app, t0 = m.engine, m.tenants[0].app, m.h.start_ns
    created: set[int] = set()
    out: Counter = Counter()
    invited: dict[int, list[int]] = {}
    for op, u, g, _ in ops:
        if op == INVITE:
            invited.setdefault(g, []).append(u)
    for s, (op, u, g, ty) in zip(_times(ops, cut), ops, strict=True):
        t = t0 + s * 10**9
        if op == INVITE or (op in (JOIN, DISSOLVE) and g not in created):
            continue
        if op == REGISTER:
            code, reason, _ = eng.register_user(t, app, u)
        elif op == CREATE:
            members = invited.get(g, [])
            code, reason, _ = eng.create_group(t, app, u, g, GROUP_TYPES[ty], members)
            created |= {g} if not reason else set()
        elif op == JOIN:
            code, reason, _ = eng.join_group(t, app, u, g)
        else:
            code, reason, _ = eng.dissolve_group(t, app, u, g)
            created.discard(g)
        out[(op, 0 if not reason else code)] += 1
    return out


def _fast(m: FastModel, ops: list[tuple[int, int, int, int]], cut: int) -> Counter:
    g0 = m.g.n
    n_groups = 1 + max((g for _, _, g, _ in ops), default=0)
    m.g.reserve(n_groups)
    m.g.n += n_groups
    a = np.array(ops, dtype=np.int64).reshape(-1, 4)
    t = m.h.day_s[0] + np.array(_times(ops, cut), dtype=float)
    day = (t >= m.h.day_s[1]).astype(np.int16)
    plan = {
        "tenant": np.zeros(len(a), dtype=np.int32),
        "t": t,
        "op": a[:, 0].astype(np.int8),
        "user": (a[:, 1] + m.user_off[0]).astype(np.int32),
        "group": np.where(a[:, 2] >= 0, a[:, 2] + g0, -1).astype(np.int32),
        "gtype": a[:, 3].astype(np.int8),
        "day": day,
    }
    for d in (0, 1):
        m._day(d, {c: v[day == d] for c, v in plan.items()}, np.ones(1, dtype=bool))
    keys = np.concatenate([np.zeros(0, np.int64), *(k for k, _ in m.out)])
    counts = np.concatenate([np.zeros(0, np.int32), *(c for _, c in m.out)])
    cols = split_outcome_keys(keys, counts, m.h.n_days, 1)
    out: Counter = Counter()
    for op, code, n in zip(cols["op"], cols["error_code"], cols["count"], strict=True):
        out[(int(op), int(code))] += int(n)  # (over both days)
    return out


@settings(max_examples=150, deadline=None)
@given(
    ops=day_ops(),
    mode=st.sampled_from([(True, 64), (False, 64), (False, 1)]),
    cut=st.integers(0, 40),
)
def test_one_app_day_the_engine_and_the_fast_day_agree(ops, mode, cut) -> None:
    ops = _types(ops)
    m = _model(mode)
    fast = _fast(m, ops, cut)
    engine = _engine(m, ops, cut)
    assert fast == engine
    counts = m.engine.counts(m.tenants[0].app)
    assert counts["accounts"] == int(m.accounts[0])
