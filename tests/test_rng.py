"""The streams made in batches (sim.model.rng) are numpy's ``SeedSequence`` children, bit for bit."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest

from sim.model.rng import _BATCH, PURPOSES, TenantStreams, archetype_key, stream


def numpys(seed: int, rep: int, archetype: str, index: int, purpose: str) -> np.random.Generator:
    key = (rep, archetype_key(archetype), index, PURPOSES.index(purpose))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def test_streams_are_the_seed_sequence_children() -> None:
    """Seeds and keys of one to seven 32-bit words, indices on both sides of batch edges."""
    r = random.Random(3)
    seeds = [0, 1, 20240101, 2**32 - 1, 2**32, 2**64 + 3, 2**128 + 9, 2**200 + 1]
    seeds += [r.getrandbits(r.randint(1, 160)) for _ in range(8)]
    indices = [0, 1, _BATCH - 1, _BATCH, 3 * _BATCH + 7, 2**32 - 1, 2**32, 2**40 + 5]
    for seed in seeds:
        for index in indices:
            rep = r.choice([0, 1, 7, 2**32 + 1])
            archetype = r.choice(["social", "game", "x", "ünï"])
            purpose = r.choice(PURPOSES)
            ours, theirs = (
                stream(seed, rep, archetype, index, purpose),
                numpys(seed, rep, archetype, index, purpose),
            )
            assert ours.bit_generator.state == theirs.bit_generator.state
            assert np.array_equal(ours.random(3), theirs.random(3))


def test_a_batch_gives_every_tenant_and_purpose_its_own_stream() -> None:
    streams = [TenantStreams(11, 1, "live", j) for j in range(2 * _BATCH + 3)]
    for j, s in enumerate(streams):
        for p in PURPOSES:
            assert s[p].bit_generator.state == numpys(11, 1, "live", j, p).bit_generator.state
        assert s["growth"] is s["growth"]


def test_spawn_and_pickle_as_numpys() -> None:
    ours, theirs = stream(5, 0, "game", 3, "activity"), numpys(5, 0, "game", 3, "activity")
    for n in (2, 1):
        for a, b in zip(ours.spawn(n), theirs.spawn(n), strict=True):
            assert a.bit_generator.state == b.bit_generator.state
    again = pickle.loads(pickle.dumps(ours))
    assert again.random() == ours.random()


def test_unknown_purpose() -> None:
    with pytest.raises(ValueError, match="purpose"):
        stream(1, 0, "game", 0, "weather")
