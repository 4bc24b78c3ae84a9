"""Pieces of the fast mode that stand in for slower numpy calls give what those calls give."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np

from sim.core import calendar
from sim.model.fastparts import Members, by_tenant_time, day_of


def test_by_tenant_time_is_lexsort() -> None:
    rng = np.random.default_rng(1)
    t0 = 123 * 86_400.0
    ten = rng.integers(0, 50, 5000)
    t = t0 + rng.choice(rng.uniform(0, 86_400, 300), 5000)  # many ties
    assert np.array_equal(by_tenant_time(ten, t, t0), np.lexsort((t, ten)))
    # distinct times a large tenant number's key cannot tell apart: the exact sort
    t = t0 + 86_000 + np.array([2e-6, 1e-6, 0.0, 2e-6, 1e-6, 0.0])
    ten = np.array([10**6, 10**6, 10**6, 10**6, 2, 2])
    key = ten * 2.0**17 + (t - t0)
    assert key[0] == key[1] and t[0] != t[1]
    assert np.array_equal(by_tenant_time(ten, t, t0), np.lexsort((t, ten)))


def test_day_of_is_searchsorted_across_dst() -> None:
    rng = np.random.default_rng(2)
    for tz in ("Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"):
        z = zoneinfo.ZoneInfo(tz)
        dates = [dt.date(2024, 1, 1) + dt.timedelta(k) for k in range(800)]
        ns = np.array([calendar.local_midnight(d.year, d.month, d.day, z) for d in dates])
        day_s = (ns - ns[0]) / 1e9
        t = np.r_[rng.uniform(0, day_s[-1], 10**5), day_s[:-1], np.nextafter(day_s[1:], 0)]
        assert np.array_equal(day_of(t, day_s), np.searchsorted(day_s, t, "right") - 1)


def test_members_released_compacted() -> None:
    """Blocks of joins, released and compacted: each group's members, as a plain list says."""
    rng = np.random.default_rng(3)
    n_groups = 300
    head = np.full(n_groups, -1, dtype=np.int64)
    alive = np.ones(n_groups, dtype=bool)
    m = Members(np.int32)
    truth: dict[int, list[int]] = {g: [] for g in range(n_groups)}
    for day in range(40):  # days of joins: sorted by group, as the bulk path adds them
        gi = np.sort(rng.integers(0, n_groups, 2000))
        users = rng.permutation(2000) + 2000 * day  # a group's members are distinct
        m.add(gi, users, head)
        for g, u in zip(gi.tolist(), users.tolist(), strict=True):
            truth[g].append(u)
    for k, g in enumerate(rng.integers(0, n_groups, 20).tolist()):  # one by one (the tail)
        m.add_one(g, 10**5 + k, head)
        truth[g].append(10**5 + k)
    for g in (0, 5, n_groups - 1):
        assert sorted(m.users(head[g : g + 1]).tolist()) == sorted(truth[g])
    gone = rng.choice(n_groups, 200, replace=False)
    expect = sorted(u for g in gone.tolist() for u in truth[g])
    assert sorted(m.users(head[gone]).tolist()) == expect
    alive[gone] = False
    m.compact(alive, head)
    assert m.rows.n == sum(len(truth[g]) for g in np.flatnonzero(alive).tolist())
    ucount = np.zeros(2 * 10**5, dtype=np.int32)
    for g in np.flatnonzero(alive).tolist():
        assert sorted(m.users(head[g : g + 1]).tolist()) == sorted(truth[g])
        before = ucount.copy()
        m.release_one(int(head[g]), ucount)
        assert np.array_equal(np.flatnonzero(before - ucount), sorted(truth[g]))
