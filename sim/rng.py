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

import zlib

import numpy as np

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
    if purpose not in PURPOSES:
        raise ValueError(f"purpose {purpose!r}: one of {', '.join(PURPOSES)}")
    key = (int(replication), archetype_key(archetype), int(index), PURPOSES.index(purpose))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(int(seed), spawn_key=key)))


class TenantStreams:
    """The four streams of one tenant, made on first use."""

    __slots__ = ("seed", "replication", "archetype", "index", "_cache")

    def __init__(self, seed: int, replication: int, archetype: str, index: int) -> None:
        self.seed = seed
        self.replication = replication
        self.archetype = archetype
        self.index = index
        self._cache: dict[str, np.random.Generator] = {}

    def __getitem__(self, purpose: str) -> np.random.Generator:
        gen = self._cache.get(purpose)
        if gen is None:
            gen = stream(self.seed, self.replication, self.archetype, self.index, purpose)
            self._cache[purpose] = gen
        return gen
