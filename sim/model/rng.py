"""Random streams: one ``SeedSequence(seed)``, one child per replication, tenant and purpose.

Every random number of a run comes from a :class:`numpy.random.Generator` made here, never from
global state. A stream is named by ``(replication, archetype, index within the archetype,
purpose)``; its seed is ``SeedSequence(seed, spawn_key=(replication, archetype key, index,
purpose key))`` -- exactly the child ``SeedSequence(seed).spawn(...)`` would give at that
position of the spawn tree, built directly so that tenants can be made in any order.

Consequences, relied on by the tests (common random numbers):

- a tenant's draws do not depend on how many other tenants there are, nor on their archetypes;
- each purpose has its own stream, so the decisions (which read prices) never shift the demand
  (growth, activity) drawn; and a decision stream is read in fixed-size blocks, the same number
  of uniforms whatever the prices, so a price changes *what* is decided, not *which* numbers
  are drawn.

The archetype key is a CRC-32 of its name, so adding an archetype to a scenario does not change
the streams of the others.
"""

from __future__ import annotations

import functools
import zlib
from typing import Any

import numpy as np
from numpy.random.bit_generator import ISpawnableSeedSequence

PURPOSES = ("growth", "activity", "decisions", "economics")
"""The purposes a tenant draws for, each its own stream."""


def archetype_key(name: str) -> int:
    """A stable integer for an archetype name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(name.encode("utf-8"))


def stream(
    seed: int, replication: int, archetype: str, index: int, purpose: str
) -> np.random.Generator:
    """The generator of one tenant and purpose.

    >>> a = stream(7, 0, "game", 3, "activity").random()
    >>> a == stream(7, 0, "game", 3, "activity").random()
    True
    >>> a == stream(7, 0, "game", 3, "decisions").random()
    False
    """
    return TenantStreams(seed, replication, archetype, index)[purpose]


class TenantStreams:
    """The four streams of one tenant, made on first use."""

    __slots__ = ("seed", "replication", "archetype", "index", "_cache", "_seeds")

    def __init__(self, seed: int, replication: int, archetype: str, index: int) -> None:
        self.seed = seed
        self.replication = replication
        self.archetype = archetype
        self.index = index
        self._cache: dict[str, np.random.Generator] = {}
        self._seeds: np.ndarray | None = None

    def __getitem__(self, purpose: str) -> np.random.Generator:
        gen = self._cache.get(purpose)
        if gen is None:
            if purpose not in PURPOSES:
                raise ValueError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
            seed, rep, index = int(self.seed), int(self.replication), int(self.index)
            if self._seeds is None:
                self._seeds = _seeds(seed, rep, self.archetype, index)
            k = PURPOSES.index(purpose)
            key = (rep, archetype_key(self.archetype), index, k)
            seeded: Any = _Seeded(seed, key, self._seeds[k])  # a SeedSequence to PCG64
            gen = np.random.Generator(np.random.PCG64(seeded))
            self._cache[purpose] = gen
        return gen


# -- SeedSequence, in batches -----------------------------------------------------------------
# ``SeedSequence(seed, spawn_key=key)`` hashes its entropy words (the seed's, padded to the pool
# size, then the key's) into a pool of four 32-bit words, one word after the other, and seeds a
# PCG64 with eight words hashed out of the pool. Done by numpy stream by stream, that costs more
# than a tenant's demand. Here the words all streams share (seed, replication, archetype) are
# hashed once (:func:`_run_pool`), and the rest for ``_BATCH`` consecutive tenants of an
# archetype and their four purposes at once, as uint32 vectors (wrapping like numpy's uint32_t
# arithmetic): a tenant's first stream hashes its batch, and the others of the batch pick their
# words up. ``tests/test_rng.py`` checks the streams against numpy's for many seeds and keys.

_M32 = 0xFFFFFFFF
_POOL = 4  # numpy's DEFAULT_POOL_SIZE
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
_BATCH = 256  # (a divisor of 2**32: a batch's indices all have as many 32-bit words)
_ready: dict[tuple[int, int, str, int], np.ndarray] = {}
"""Hashed seeds not yet asked for, by (seed, replication, archetype, index)."""


def _seeds(seed: int, replication: int, archetype: str, index: int) -> np.ndarray:
    """The PCG64 seeds of a tenant's streams: purposes x 4 uint64 words."""
    got = _ready.pop((seed, replication, archetype, index), None)
    if got is not None:
        return got
    if len(_ready) > 64 * _BATCH:  # hashed for tenants never made: forget them
        _ready.clear()
    first = index - index % _BATCH
    batch = _batch(seed, replication, archetype, first)
    for j in range(_BATCH):
        _ready[(seed, replication, archetype, first + j)] = batch[j]
    return _ready.pop((seed, replication, archetype, index))


def _batch(seed: int, replication: int, archetype: str, first: int) -> np.ndarray:
    """The seeds of indices ``first, first + 1, ...`` (``_BATCH`` of them): index x purpose x
    4 uint64 words, as ``SeedSequence(...).generate_state(4, np.uint64)``."""
    pool, h = _run_pool(seed, replication, archetype)
    index_words = np.array([_words(i) for i in range(first, first + _BATCH)], dtype=np.uint32)
    p = [np.full(_BATCH, w, dtype=np.uint32) for w in pool]
    for j in range(index_words.shape[1]):
        h = _absorb_vec(p, h, index_words[:, j])
    out = np.empty((_BATCH, len(PURPOSES), 4), dtype=np.uint64)
    for k in range(len(PURPOSES)):
        q = list(p)
        _absorb_vec(q, h, np.full(_BATCH, k, dtype=np.uint32))
        hb, w = _INIT_B, []
        for i in range(2 * _POOL):  # generate_state: 8 words, little-endian pairs
            hn = (hb * _MULT_B) & _M32
            v = (q[i % _POOL] ^ np.uint32(hb)) * np.uint32(hn)
            w.append((v ^ (v >> 16)).astype(np.uint64))
            hb = hn
        for j in range(4):
            out[:, k, j] = w[2 * j] | (w[2 * j + 1] << np.uint64(32))
    return out


def _absorb_vec(p: list[np.ndarray], h: int, w: np.ndarray) -> int:
    """:func:`_absorb` of one word per stream into the pools ``p`` (in place)."""
    for d in range(_POOL):
        hn = (h * _MULT_A) & _M32
        v = (w ^ np.uint32(h)) * np.uint32(hn)
        v ^= v >> 16
        x = np.uint32(_MIX_L) * p[d] - np.uint32(_MIX_R) * v
        p[d] = x ^ (x >> 16)
        h = hn
    return h


def _words(x: int) -> list[int]:
    """A non-negative int as 32-bit words, least significant first (at least one)."""
    if x < 0:
        raise ValueError("expected a non-negative integer")
    out = [x & _M32]
    x >>= 32
    while x:
        out.append(x & _M32)
        x >>= 32
    return out


def _absorb(pool: tuple[int, ...], h: int, words: list[int]) -> tuple[tuple[int, ...], int]:
    """Mix ``words`` into a full pool, each into every pool word; ``h``: the hash constant."""
    p = list(pool)
    for w in words:
        for d in range(_POOL):
            v = w ^ h
            h = (h * _MULT_A) & _M32
            v = (v * h) & _M32
            v ^= v >> 16
            r = (_MIX_L * p[d] - _MIX_R * v) & _M32
            p[d] = r ^ (r >> 16)
    return tuple(p), h


@functools.lru_cache(maxsize=256)
def _run_pool(seed: int, replication: int, archetype: str) -> tuple[tuple[int, ...], int]:
    """The pool (and hash constant) once the seed, replication and archetype are mixed in."""
    run = _words(seed)
    run += [0] * (_POOL - len(run))  # with a spawn key, the seed is padded to the pool size
    h, p = _INIT_A, []
    for w in run[:_POOL]:
        v = w ^ h
        h = (h * _MULT_A) & _M32
        v = (v * h) & _M32
        p.append(v ^ (v >> 16))
    for s in range(_POOL):
        for d in range(_POOL):
            if s != d:
                v = p[s] ^ h
                h = (h * _MULT_A) & _M32
                v = (v * h) & _M32
                v ^= v >> 16
                r = (_MIX_L * p[d] - _MIX_R * v) & _M32
                p[d] = r ^ (r >> 16)
    return _absorb(
        tuple(p), h, run[_POOL:] + _words(replication) + _words(archetype_key(archetype))
    )


class _Seeded(ISpawnableSeedSequence):
    """``SeedSequence(entropy, spawn_key=key)`` whose state words are known: what PCG64 asks of
    it (four 64-bit words) without hashing again; anything else from the real one."""

    __slots__ = ("entropy", "spawn_key", "state", "_real")

    def __init__(self, entropy: int, spawn_key: tuple[int, ...], state: np.ndarray) -> None:
        self.entropy, self.spawn_key, self.state = entropy, spawn_key, state
        self._real: np.random.SeedSequence | None = None

    def real(self) -> np.random.SeedSequence:
        if self._real is None:
            self._real = np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)
        return self._real

    def generate_state(self, n_words: int, dtype: Any = np.uint32) -> np.ndarray:
        if n_words == 4 and np.dtype(dtype) == np.uint64:
            return self.state.copy()
        return self.real().generate_state(n_words, dtype)

    # numpy types spawn() as returning its own class; the children are real SeedSequences
    def spawn(self, n_children: int) -> list[np.random.SeedSequence]:  # type: ignore[override]
        return self.real().spawn(n_children)
