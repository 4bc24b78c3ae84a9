"""Pieces of the fast mode (:mod:`sim.model.fast`) that stand in for slower numpy calls or
structures, each giving exactly what the plainer one gives (``tests/test_fastmode_parts.py``):
the order of a day's operations, the day of a time, growable columns, and the groups' members.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DAY_SPAN = 2.0**17
"""Seconds: longer than any local day (25 h), a power of two (:func:`by_tenant_time`)."""


def by_tenant_time(ten: np.ndarray, t: np.ndarray, t0: float) -> np.ndarray:
    """The order of a day's rows by (tenant, time), ties in row order: ``np.lexsort((t, ten))``
    for times ``t`` in ``[t0, t0 + DAY_SPAN)``, but about four times faster, as one stable
    sort of the float key ``ten * DAY_SPAN + (t - t0)``. Rounding is monotone and a tenant's
    keys stay below the next tenant's, so the key never puts two rows the wrong way round; it
    could only merge two distinct times of a tenant (closer than its rounding step: 1e-7 s for
    a few thousand tenants) -- then, detected, the exact lexsort. The keys are non-negative
    floats, so their bits sort as int64 in the same order, a little faster."""
    key = ten * DAY_SPAN + (t - t0)
    order = np.argsort(key.view(np.int64), kind="stable")
    k = key[order]
    tie = np.flatnonzero(k[1:] == k[:-1])
    if len(tie):
        a, b = order[tie], order[tie + 1]
        if ((t[a] != t[b]) | (ten[a] != ten[b])).any():
            return np.lexsort((t, ten))
    return order


def day_of(t: np.ndarray, day_s: np.ndarray) -> np.ndarray:
    """The day of each time in ``[day_s[0], day_s[-1])``: ``searchsorted(day_s, t, "right") -
    1``, faster for many times -- local days are 24 h but for an hour or two at a DST change,
    so ``t // 86400`` is at most a day or so off, put right by comparisons."""
    last = len(day_s) - 2
    d = np.minimum(((t - day_s[0]) * (1 / 86_400)).astype(np.int64), last)
    while (low := (t < day_s[d]) & (d > 0)).any():
        d[low] -= 1
    while (high := (t >= day_s[d + 1]) & (d < last)).any():
        d[high] += 1
    return d


class Grow:
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


def ranges(start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """The concatenated ranges ``[start, start + length)``."""
    off = np.cumsum(length) - length
    return np.arange(int(length.sum())) - np.repeat(off - start, length)


class Members:
    """Joined members of the groups (owners are counted apart): rows of users, in *blocks* of
    one group's rows -- a day's joins of the group in :meth:`~sim.model.fast.FastModel._bulk`, one join in
    steps -- chained per group from its ``head`` (newest first). Releasing a dissolved group
    walks its blocks, not its members: a group takes joins over its fill days, so a day's
    dissolutions take a few vector passes however large the groups."""

    def __init__(self, uid: type) -> None:
        self.rows = Grow(user=uid)
        self.blocks = Grow(start=np.int64, len=np.int64, next=np.int64, group=np.int64)

    def add(self, gi: np.ndarray, users: np.ndarray, head: np.ndarray) -> np.ndarray:
        """Members ``users`` join groups ``gi`` (a group's rows adjacent); returns the number
        of members each group of ``gi[first]`` got, in that order."""
        r, b = self.rows, self.blocks
        k = len(gi)
        r.reserve(k)
        r.a["user"][r.n : r.n + k] = users
        first = np.flatnonzero(np.r_[True, gi[1:] != gi[:-1]])
        nb = len(first)
        b.reserve(nb)
        ids = np.arange(b.n, b.n + nb)
        lens = np.diff(np.r_[first, k])
        g1 = gi[first]
        b.a["start"][ids] = r.n + first
        b.a["len"][ids] = lens
        b.a["group"][ids] = g1
        b.a["next"][ids] = head[g1]
        head[g1] = ids
        r.n += k
        b.n += nb
        return lens

    def add_one(self, grp: int, user: int, head: np.ndarray) -> None:
        """:meth:`add` of one member, in plain Python."""
        r, b = self.rows, self.blocks
        r.reserve(1)
        b.reserve(1)
        r.a["user"][r.n] = user
        ba = b.a
        ba["start"][b.n], ba["len"][b.n], ba["group"][b.n], ba["next"][b.n] = r.n, 1, grp, head[grp]
        head[grp] = b.n
        r.n += 1
        b.n += 1

    def users(self, heads: np.ndarray) -> np.ndarray:
        """The members of the groups whose chains start at ``heads`` (-1: none)."""
        ba = self.blocks.a
        start, length = ba["start"], ba["len"]
        cur = heads[heads >= 0]
        ss, ls = [], []
        while len(cur) > 16:
            ss.append(start[cur])
            ls.append(length[cur])
            cur = ba["next"][cur]
            cur = cur[cur >= 0]
        if len(cur):  # a few long chains (groups joined step by step): in plain Python
            nxt, tail = ba["next"], []
            for c in cur.tolist():
                while c >= 0:
                    tail.append(c)
                    c = int(nxt[c])
            ss.append(start[tail])
            ls.append(length[tail])
        if not ss:
            return self.rows.a["user"][:0]
        return self.rows.a["user"][ranges(np.concatenate(ss), np.concatenate(ls))]

    def release_one(self, b: int, ucount: np.ndarray) -> None:
        """Give back one group to each member of a group (its chain starts at block ``b``):
        :meth:`users`, for one group, in plain Python."""
        ba, users = self.blocks.a, self.rows.a["user"]
        start, length, nxt = ba["start"], ba["len"], ba["next"]
        while b >= 0:
            s, k = int(start[b]), int(length[b])
            if k == 1:
                ucount[users[s]] -= 1
            else:
                ucount[users[s : s + k]] -= 1  # (a group's members are distinct)
            b = int(nxt[b])

    def compact(self, alive: np.ndarray, head: np.ndarray) -> None:
        """Drop the rows of dissolved groups (when they are most of them)."""
        r, b = self.rows, self.blocks
        ba, nb = b.a, b.n
        if r.n < 1 << 16:
            return
        keep = alive[ba["group"][:nb]]
        lens = ba["len"][:nb][keep]
        kept = int(lens.sum())
        if kept > r.n // 2:
            return
        r.a["user"][:kept] = r.a["user"][ranges(ba["start"][:nb][keep], lens)]
        nk = len(lens)
        new_of = np.cumsum(keep) - 1
        for k in ("len", "group", "next"):
            ba[k][:nk] = ba[k][:nb][keep]
        ba["start"][:nk] = np.cumsum(lens) - lens
        nxt = ba["next"][:nk]
        nxt[nxt >= 0] = new_of[nxt[nxt >= 0]]  # a block's next is of the same group
        live = np.flatnonzero(alive)
        h = head[live]
        head[live] = np.where(h >= 0, new_of[np.maximum(h, 0)], -1)
        r.n, b.n = kept, nk
