"""A shard task played: the model of its mode, its tables, and their tallies.

:func:`play_shard` is the function an executor (:mod:`sim.model.executor`) runs for each
:class:`~sim.model.plan.ShardTask`: it depends only on the task, reaches down into the models and
:mod:`sim.model.tables`, and returns a :class:`Part` -- the shard's tables, its count of group
operations and its :func:`tally` (the sums the headline figures need, which add up over shards).
It calls nothing above it: the runner (:mod:`sim.model.runner`) assembles parts into tables and
a summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.model.exact import ExactModel
from sim.model.plan import Shard, ShardTask
from sim.model.tables import ACTIVITY, frames

MODES: dict[str, type] = {"exact": ExactModel}
"""Fidelity mode -> model class (``fast`` is added on first use: :mod:`sim.model.fast`)."""

Tick = Callable[[int], None]
"""``tick(done)``: tenant-months of the task done so far."""


@dataclass
class Part:
    """What one shard produced: its tables, its group operations and its tallies."""

    shard: Shard
    tables: dict[str, pd.DataFrame]
    n_ops: int
    tally: dict[str, pd.Series] = field(default_factory=dict)


def model_class(mode: str) -> type:
    """The model class of a fidelity mode."""
    if mode == "fast" and "fast" not in MODES:
        from sim.model.fast import FastModel

        MODES["fast"] = FastModel
    return MODES[mode]


def play_shard(task: ShardTask, tick: Tick | None = None) -> Part:
    """Play one shard: its tables and their tallies. ``tick(done)`` is called as months end,
    with the task's tenant-months done."""
    sc, shard = task.scenario, task.shard
    n = len(shard.keys)
    on_month: Any = None if tick is None else (lambda month, _months: tick(n * month))
    model = model_class(sc.mode)(sc, task.catalog, shard.replication, on_month, shard.keys)
    raw = model.run()
    tables = frames(raw, task.catalog, sc.mode, shard.replication, task.compact)
    return Part(shard, tables, raw.n_ops, tally(tables))


# -- headline figures, summed over shards --------------------------------------------------------


_DAY_NS = 86_400 * 10**9


def _months(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each date's (or instant's local date's) month as a code, and the codes' ``YYYY-MM``
    labels; in one pass, not a sort (tables have millions of rows and a few dozen months)."""
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    v = values.to_numpy()
    if not len(v):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    day = v.astype("datetime64[ns]").view(np.int64) // _DAY_NS
    d0 = int(day.min())
    seen = np.flatnonzero(np.bincount(day - d0))  # the distinct days, in order
    month_of = (seen + d0).astype("datetime64[D]").astype("datetime64[M]")
    months, code_of_seen = np.unique(month_of, return_inverse=True)
    lookup = np.zeros(int(seen[-1]) + 1, dtype=np.int64)
    lookup[seen] = code_of_seen
    return lookup[day - d0], np.datetime_as_string(months, unit="M").astype(object)


def _sums(
    keys: list[np.ndarray], values: np.ndarray, names: list[str], labels: np.ndarray
) -> pd.Series:
    """``values`` summed per distinct row of small non-negative int ``keys`` (the second of
    which is a month code, shown as ``labels``), as a Series indexed by ``names``."""
    if not len(values):
        idx = pd.MultiIndex.from_arrays([[] for _ in names], names=names)
        return pd.Series(np.zeros(0, dtype=np.int64), index=idx)
    width = [int(k.max()) + 1 for k in keys]
    flat = np.ravel_multi_index(keys, width)
    total = np.bincount(flat, weights=values, minlength=int(np.prod(width)))
    hit = np.flatnonzero(np.bincount(flat, minlength=len(total)))
    cols = list(np.unravel_index(hit, width))
    cols[1] = labels[cols[1]]
    idx = pd.MultiIndex.from_arrays(cols, names=names)
    return pd.Series(np.rint(total[hit]).astype(np.int64), index=idx)


def tally(tables: dict[str, pd.DataFrame]) -> dict[str, pd.Series]:
    """What the headline figures need from some tables, as sums that add up over shards:
    refusals per (replication, month, kind, error_code); group operations, DAU demand
    (user-days) and billed ``amount_minor`` per (replication, month)."""
    g, u, b = tables["group_ops"], tables["usage"], tables["bills"]
    month, labels = _months(g["date"] if "date" in g else g["time"])
    act = (g["op"] == ACTIVITY).to_numpy()
    rep = g["replication"].to_numpy()
    code = g["error_code"].to_numpy()
    count = g["count"].to_numpy()
    ref = code != 0
    codes, code_i = np.unique(code[ref], return_inverse=True)
    refused = _sums(
        [rep[ref], month[ref], act[ref].astype(np.int64), code_i],
        count[ref],
        ["replication", "month", "kind", "error_code"],
        labels,
    )
    refused.index = refused.index.set_levels(
        [
            np.array(["ops", "dau"], dtype=object)[refused.index.levels[2]],
            codes[refused.index.levels[3]],
        ],
        level=[2, 3],
    )
    u_month, u_labels = _months(u["date"])
    demand = (u["dau"] + u["dau_refused"]).to_numpy()
    return {
        "refused": refused.sort_index(),
        "ops": _sums([rep[~act], month[~act]], count[~act], ["replication", "month"], labels),
        "dau": _sums(
            [u["replication"].to_numpy(), u_month], demand, ["replication", "month"], u_labels
        ),
        "revenue": b.groupby(["replication", "month"])["amount_minor"].sum(),
    }
