"""A batch of logged operations decided by one engine: the unit of a replay's work.

The engine keeps all its state per app (:class:`sim.rules.state.App`: users, groups, counts,
configuration and its timeline intervals), so the operations of a log split by app into
batches that separate engines decide independently -- in this process or in worker processes --
with the outcomes each operation would have had in one engine over the whole log.

A batch holds plain values: its columns as :class:`array.array` of ints (8 to 64 bits; pickled as
bytes: cheap to send to a worker, which needs nothing but the engine), apps, users and groups
as int ids (the engine only hashes and compares them), and, for the rows that need them
(``create_group`` and console operations), the other columns as Python values.
Pure domain code: no I/O, no pandas.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sim.core.catalog import Catalog
from sim.core.vocab import Code, Outcome
from sim.rules.engine import Engine

__all__ = ["Batch", "Decided", "Extra", "decide"]

Extra = tuple[str, tuple[Any, ...], str | None, bool | None, int | None, int | None, int | None]
"""The other columns of a ``create_group`` or console row: group_type, members (user ids),
edition, live_unlimited, groups_per_user, members_per_group, months (None: not given)."""

_NOT_FOUND = int(Code.GROUP_NOT_FOUND)


@dataclass(frozen=True)
class Batch:
    """Operations of some apps with what deciding them needs: app after app, each app's
    operations in time order (ties in file order). ``rows`` are the operations' rows in the
    log (0-based, file order); ``ops`` names the op codes of ``op``.

    Apps share no engine state, so the order across apps is free; one app at a time keeps its
    users and groups in the processor's caches (a million operations of 500 apps were decided
    in half the time of the log's time order, which visits a different app at every step)."""

    catalog: Catalog
    ops: tuple[str, ...]
    rows: array[int]
    t: array[int]  # ns since the epoch, non-decreasing within an app
    op: array[int]
    app: array[int]
    user: array[int]
    group: array[int]
    extra: dict[int, Extra]  # by row: create_group and console rows

    @property
    def size(self) -> int:
        """Operations in the batch (the executor's unit of progress)."""
        return len(self.rows)

    @property
    def digest(self) -> str:
        return ""  # never stored: a replay's batches are decided again each time

    @property
    def label(self) -> str:
        return f"replay of {len(self.rows)} operations"


@dataclass(frozen=True)
class Decided:
    """What an engine decided for a batch: an outcome per operation (batch order), the
    timeline rows of its apps (:meth:`sim.rules.engine.Engine.timeline`, apps as ids), and
    ``bad``: the position in the batch of the first operation, in time order (ties in file
    order), on a group that no earlier ``create_group`` row of its app creates (a malformed
    log), or None."""

    outcomes: list[Outcome]
    timeline: list[tuple[Any, ...]]
    bad: int | None


def decide(batch: Batch, tick: Callable[[int], None] | None = None) -> Decided:
    """Decide every operation of ``batch`` in order in a new engine (R1-R14).

    Parameters
    ----------
    batch : Batch
        The operations, in time order.
    tick : callable, optional
        Called with the number of operations decided, at the end (executor progress).

    Returns
    -------
    Decided
        The outcomes, the timeline and the first malformed operation (if any).
    """
    engine = Engine(batch.catalog)
    outcomes, bad = _loop(engine, batch)
    if tick is not None:
        tick(len(outcomes))
    return Decided(
        outcomes=outcomes, timeline=[] if bad is not None else engine.timeline(), bad=bad
    )


def _loop(engine: Engine, batch: Batch) -> tuple[list[Outcome], int | None]:
    """The outcomes in batch order, and the position of the first operation in time order
    (ties: file order) on a group its app never created (None: there is none)."""
    ops, extra, rows = batch.ops, batch.extra, batch.rows
    join_k, create_k, leave_k, register_k, dissolve_k = (
        ops.index(op)
        for op in ("join_group", "create_group", "leave_group", "register_user", "dissolve_group")
    )
    join, create, leave = engine.join_group, engine.create_group, engine.leave_group
    register, dissolve = engine.register_user, engine.dissolve_group
    outcomes: list[Outcome] = []
    add = outcomes.append
    created: dict[Any, set[Any]] = {}  # app -> groups a create_group row names
    bad: list[int] = []
    # ids are ints where the engine's signatures say names: it only hashes and compares them;
    # the row (key of ``extra``) is looked up by position, len(outcomes), for the few rows
    # that need it: 1M fewer ints made and freed than zipping ``rows`` too
    columns: Any = zip(batch.t, batch.op, batch.app, batch.user, batch.group, strict=True)
    for t, k, app, user, group in columns:
        if k == join_k:
            out = join(t, app, user, group)
        elif k == create_k:
            created.setdefault(app, set()).add(group)
            x = extra[rows[len(outcomes)]]
            out = create(t, app, user, group, x[0], x[1])
        elif k == leave_k:
            out = leave(t, app, user, group)
        elif k == register_k:
            out = register(t, app, user)
        elif k == dissolve_k:
            out = dissolve(t, app, user, group)
        else:
            out = _console(engine, ops[k], t, app, extra[rows[len(outcomes)]])
        if out[0] == _NOT_FOUND and group not in created.get(app, ()):
            bad.append(len(outcomes))  # a malformed log: the replay fails on the earliest
        add(out)
    return outcomes, min(bad, key=lambda p: (batch.t[p], batch.rows[p])) if bad else None


def _console(engine: Engine, op: str, t: int, app: Any, x: Extra) -> Outcome:
    """A console operation (R1-R11, R14) with the row's other columns."""
    if op == "create_app":
        return engine.create_app(t, app)
    if op == "deactivate":
        return engine.deactivate(t, app)
    if op == "downgrade":
        return engine.downgrade(t, app)
    _, _, edition, live_unlimited, groups_per_user, members_per_group, months = x
    packs: dict[str, Any] = {
        "live_unlimited": live_unlimited,
        "groups_per_user": groups_per_user,
        "members_per_group": members_per_group,
    }
    if op == "upgrade":
        return engine.upgrade(t, app, edition, **packs)
    if op == "reconfigure":
        return engine.reconfigure(t, app, edition, **packs)
    return engine.buy_prepaid(t, app, edition, months=months or 1, **packs)
