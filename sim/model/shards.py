"""Shards: a run cut into independent pieces, played in worker processes.

Tenants share no state -- each has its own engine state, decisions and random streams
(:mod:`sim.model.rng`) -- so a replication can be played as *shards*: contiguous runs of its tenants
in app-name order (:func:`~sim.model.exact.tenant_keys`), each by its own model. A tenant's rows are
the same whichever shard plays it, and the app-first tables of consecutive shards concatenate
into the whole table (:mod:`sim.model.tables`); so the outputs do not depend on the shard size nor on
the number of workers (``tests/test_shards.py``). Shards bound the memory a model holds, and
``workers`` processes play them side by side (spawned: no state is inherited).

:func:`play` yields each shard's :class:`Part` in shard order, whatever order they finish in,
holding at most ``workers + 1`` finished parts. Progress is reported in tenant-months done.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from sim.core.catalog import Catalog
from sim.errors import SimError
from sim.model.exact import TenantKey, tenant_keys

SHARD_TENANTS = 1000
"""Tenants per shard by default: a shard of the baseline's mix over 24 months holds about
0.5 GB while it plays, and the baseline (2,000 apps) keeps two workers busy."""

AUTO_MIN_TENANT_MONTHS = 20_000
"""``workers="auto"`` plays in this process below this many tenant-months (a worker process
costs about a second to start)."""

BROKEN = (
    "a worker process died (out of memory?) or could not start: from a script, call the run "
    "under `if __name__ == '__main__':` (worker processes are spawned and import the script), "
    "or use workers=1"
)

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in tenant-months."""


@dataclass(frozen=True)
class Shard:
    """Tenants ``keys`` (in app-name order) of replication ``replication``."""

    number: int
    replication: int
    keys: tuple[TenantKey, ...]


@dataclass
class Part:
    """What one shard produced: its tables and counts."""

    shard: Shard
    tables: dict[str, pd.DataFrame]
    n_ops: int
    extra: dict[str, Any] = field(default_factory=dict)


def plan(scenario: Any, shard_tenants: int = SHARD_TENANTS) -> list[Shard]:
    """The run's shards: each replication's tenants, in app-name order, cut every
    ``shard_tenants``."""
    if shard_tenants < 1:
        raise ValueError(f"shard_tenants {shard_tenants}: at least 1")
    keys = [key for _, key in tenant_keys(scenario)]
    out: list[Shard] = []
    for rep in range(scenario.replications):
        for lo in range(0, max(len(keys), 1), shard_tenants):
            out.append(Shard(len(out), rep, tuple(keys[lo : lo + shard_tenants])))
    return out


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_workers(workers: int | str, scenario: Any, shards: list[Shard]) -> int:
    """``workers`` as a number: ``"auto"`` is one per CPU (at most one per shard), or 1 for a
    small run; 0 is one per CPU."""
    if workers == "auto":
        months = scenario.n_tenants * scenario.horizon_months * scenario.replications
        if months < AUTO_MIN_TENANT_MONTHS:
            return 1
        workers = 0
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers {workers!r}: a number >= 0 (0: one per CPU) or 'auto'")
    return max(1, min(workers or cpu_count(), len(shards)))


# -- playing a shard ---------------------------------------------------------------------------

Player = Callable[[Any, Catalog, Shard, Callable[[int, int], None] | None], Part]
"""``player(scenario, catalog, shard, on_month)`` plays one shard (:func:`sim.model.runner.play_shard`)."""

_WORKER: dict[str, Any] = {}


def _init(player: Player, scenario: Any, catalog: Catalog, progress_q: Any) -> None:
    _WORKER.update(player=player, scenario=scenario, catalog=catalog, q=progress_q)


def _play_in_worker(shard: Shard) -> Part:
    w = _WORKER
    q = w["q"]

    def on_month(month: int, months: int) -> None:
        q.put((shard.number, month))

    return w["player"](w["scenario"], w["catalog"], shard, on_month)


class _Tally:
    """Tenant-months done, from each shard's months done."""

    def __init__(self, shards: list[Shard], months: int, progress: Progress | None) -> None:
        self.size = {s.number: len(s.keys) for s in shards}
        self.months = months
        self.done: dict[int, int] = {}
        self.total = sum(self.size.values()) * months
        self.progress = progress
        self.last = 0.0

    def month(self, shard: int, month: int, force: bool = False) -> None:
        self.done[shard] = max(self.done.get(shard, 0), month)
        now = time.monotonic()
        if self.progress is not None and (force or now - self.last >= 0.1):
            self.last = now
            done = sum(self.size[k] * m for k, m in self.done.items())
            self.progress(done, self.total)


def play(
    player: Player,
    scenario: Any,
    catalog: Catalog,
    shards: list[Shard],
    workers: int = 1,
    progress: Progress | None = None,
) -> Iterator[Part]:
    """Each shard's :class:`Part`, in shard order; ``workers`` processes (1: this one)."""
    tally = _Tally(shards, scenario.horizon_months, progress)
    if workers <= 1:
        for shard in shards:
            part = player(scenario, catalog, shard, lambda m, _, s=shard.number: tally.month(s, m))
            tally.month(shard.number, scenario.horizon_months, force=True)
            yield part
        return
    ctx = multiprocessing.get_context("spawn")
    progress_q = ctx.Queue() if progress is not None else _NullQueue()
    with ProcessPoolExecutor(
        workers,
        mp_context=ctx,
        initializer=_init,
        initargs=(player, scenario, catalog, progress_q),
    ) as pool:
        pending: dict[int, Future[Part]] = {}
        todo = list(shards)
        nxt = 0
        try:
            while nxt < len(shards):
                while todo and len(pending) < workers + 1:
                    s = todo.pop(0)
                    pending[s.number] = pool.submit(_play_in_worker, s)
                wait([pending[shards[nxt].number]], timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(progress_q, tally)
                fut = pending.get(shards[nxt].number)
                if fut is not None and fut.done():
                    try:
                        part = pending.pop(shards[nxt].number).result()
                    except BrokenProcessPool as exc:
                        raise SimError(BROKEN) from exc
                    tally.month(part.shard.number, scenario.horizon_months, force=True)
                    nxt += 1
                    yield part
        finally:
            for fut in pending.values():
                fut.cancel()


class _NullQueue:
    def put(self, item: Any) -> None:
        pass

    def get_nowait(self) -> Any:
        raise queue.Empty


def _drain(q: Any, tally: _Tally) -> None:
    while True:
        try:
            shard, month = q.get_nowait()
        except queue.Empty:
            return
        tally.month(shard, month)
