"""Replaying an operations log through the rules engine: outcomes, timeline, bills.

>>> import pandas as pd, sim
>>> ops = pd.DataFrame({"time": ["2024-01-01T09:00", "2024-01-02T09:00"], "app": ["a", "a"],
...                     "op": ["create_app", "reconfigure"]})
>>> sim.replay(ops).outcomes[["op", "ok", "reason"]].to_dict("records")[1]
{'op': 'reconfigure', 'ok': False, 'reason': 'wrong_state'}
"""

from __future__ import annotations

import gc
from array import array
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.core.calendar import month_index, month_start
from sim.core.catalog import Catalog
from sim.core.vocab import Outcome
from sim.errors import InputError
from sim.files.catalogs import load_catalog
from sim.files.fastcsv import TEXT, to_pandas
from sim.files.frames import PURCHASE_COLUMNS, TIMELINE_COLUMNS, timeline_frame, to_local
from sim.files.opslog import CONSOLE_OPS, OPS, OpsLog, read_table, read_usage, validate_ops
from sim.model.executor import LocalExecutor, resolve_workers
from sim.rules.batch import Batch, Decided, Extra, decide

__all__ = [
    "PURCHASE_COLUMNS",
    "TIMELINE_COLUMNS",
    "ReplayResult",
    "Replayed",
    "replay",
    "replay_tables",
    "timeline_frame",
]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced: tidy tables, and the catalog they were decided under."""

    outcomes: pd.DataFrame
    timeline: pd.DataFrame
    purchases: pd.DataFrame
    bills: pd.DataFrame
    catalog: Catalog


OUTCOME_COLUMNS = ("ok", "error_code", "reason", "note")
"""The columns a replay adds to the log's rows (replacing any of the same name in place)."""


@dataclass(frozen=True)
class Replayed:
    """A replay's tables as :func:`replay_tables` gives them: ``outcomes`` is an Arrow table
    when the log was a CSV file Arrow read (written out without a detour through pandas), else
    a DataFrame; the columns and values are :class:`ReplayResult`'s either way."""

    outcomes: pd.DataFrame | pa.Table
    timeline: pd.DataFrame
    purchases: pd.DataFrame
    bills: pd.DataFrame
    catalog: Catalog
    refused: dict[tuple[int, str], int]
    """The refused operations counted by (error code, reason) (code 0: a console refusal)."""

    def result(self) -> ReplayResult:
        """The :class:`ReplayResult` (outcomes as a DataFrame)."""
        outcomes = self.outcomes
        if isinstance(outcomes, pa.Table):
            outcomes = to_pandas(outcomes)
        return ReplayResult(outcomes, self.timeline, self.purchases, self.bills, self.catalog)


PARALLEL_MIN_OPS = 1_000_000
"""``workers="auto"`` decides a log of fewer operations in this process alone. A second process
costs about 0.2 CPU-second to start (spawn, imports: while the log is validated) and feed (its
batch, 25 bytes per operation, and its outcomes), and pays only on an idle core: on the 2-core
machine of benchmarks/bench_replay.py two processes were slower than one at 200,000
operations (0.86 against 0.77 s), even at 500,000, and faster at 1,000,000 (1.76 against
2.05 s)."""


def _extras(log: OpsLog, user_id: dict[str, int]) -> dict[int, Extra]:
    """The other columns of the ``create_group`` and console rows, by row (members as user
    ids: names not in the ``user`` column get new ids)."""
    c = log.columns
    needs = (log.op_code == OPS.index("create_group")) | (log.op_code < len(CONSOLE_OPS))
    idx = np.flatnonzero(needs).tolist()
    if not idx:
        return {}
    pick = itemgetter(*idx, idx[0])  # the rows' values as one tuple (C speed; the extra
    # row keeps a one-row pick a tuple too, and zip below drops it)
    members = [
        tuple(user_id.setdefault(m, len(user_id)) for m in names) if names else ()
        for names in pick(c["members"])
    ]
    columns = [
        pick(c[name])
        for name in ("edition", "live_unlimited", "groups_per_user", "members_per_group")
    ]
    rest = zip(pick(c["group_type"]), members, *columns, pick(c["months"]), strict=False)
    return dict(zip(idx, rest, strict=False))


def _parts(app_ids: np.ndarray, n_apps: int, n: int) -> np.ndarray:
    """Each app's part of ``n``: the apps with the most operations first, each to the part
    with the fewest operations so far (ties: the lower app id, the lower part)."""
    counts = np.bincount(app_ids, minlength=n_apps)
    part = np.zeros(n_apps, dtype=np.int64)
    load = [0] * n
    for a in np.argsort(-counts, kind="stable").tolist():
        k = load.index(min(load))
        part[a] = k
        load[k] += int(counts[a])
    return part


def _ints(values: np.ndarray, bits: int = 64) -> array[int]:
    """An int column as an :class:`array.array` of ``bits``-bit ints (one copy; pickled as
    bytes: the fewer bytes, the sooner a worker has its batch), 64-bit if a value needs it."""
    if bits == 32 and len(values) and (values.min() < -(2**31) or values.max() >= 2**31):
        bits = 64
    kind = {64: ("q", np.int64), 32: ("i", np.int32), 8: ("b", np.int8)}[bits]
    out = array(kind[0])
    out.frombytes(np.ascontiguousarray(values, dtype=kind[1]).data.cast("B"))  # no copy
    return out


def split_by_app(log: OpsLog, catalog: Catalog, n: int) -> tuple[list[Batch], np.ndarray]:
    """A validated log as ``n`` batches of whole apps, balanced by operations (fewer when the
    log has fewer apps), each app after app with each app's operations in time order (ties in
    file order), to be decided by :func:`sim.rules.batch.decide`; and the app names by the int
    ids the batches use.

    Parameters
    ----------
    log : OpsLog
        The log, from :func:`sim.files.opslog.read_ops`.
    catalog : Catalog
        The catalog the batches are decided under.
    n : int
        How many batches (at most).

    Returns
    -------
    (list of Batch, numpy.ndarray)
        The batches, and the app names (object array) by app id.
    """
    app_ids, app_names = _factorize(log.text["app"])
    order = _order(log.t_ns, app_ids, len(app_names))
    group_ids, _ = _factorize(log.text["group"])
    user_ids, user_names = _factorize(log.text["user"])
    n = max(1, min(n, len(app_names)))  # no empty batch
    extra = _extras(log, {name: k for k, name in enumerate(user_names)})
    part = _parts(app_ids, len(app_names), n)[app_ids]
    columns = (log.t_ns, log.op_code, app_ids, user_ids, group_ids)
    extra_part = part[np.fromiter(extra, dtype=np.int64, count=len(extra))].tolist()
    batches = []
    for k in range(n):
        rows = order if n == 1 else order[part[order] == k]
        mine = extra
        if n > 1:
            pairs = zip(extra.items(), extra_part, strict=True)
            mine = {i: x for (i, x), p in pairs if p == k}
        t, op, app, user, group = (
            _ints(c[rows], bits) for c, bits in zip(columns, (64, 8, 32, 32, 32), strict=True)
        )
        batch = Batch(catalog, OPS, _ints(rows, 32), t, op, app, user, group, extra=mine)
        batches.append(batch)
    return batches, np.asarray(app_names, dtype=object)


def _order(t_ns: np.ndarray, app_ids: np.ndarray, n_apps: int) -> np.ndarray:
    """The rows app after app (by app id), each app's in time order, ties in file order (a
    :class:`sim.rules.batch.Batch`'s order). A log in time order needs only the stable sort by
    app (a radix sort of 16-bit ids for fewer than 65,536 apps)."""
    by_time = None
    if len(t_ns) > 1 and not bool((t_ns[1:] >= t_ns[:-1]).all()):
        by_time = np.argsort(t_ns, kind="stable")
    apps = app_ids if by_time is None else app_ids[by_time]
    if n_apps <= np.iinfo(np.uint16).max:
        apps = apps.astype(np.uint16)
    by_app = np.argsort(apps, kind="stable")
    return by_app if by_time is None else by_time[by_app]


def _factorize(texts: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """Int ids of ``texts`` (0, 1, ... in order of first appearance, as ``pandas.factorize``)
    and the texts by id."""
    encoded = pc.dictionary_encode(texts)
    if isinstance(encoded, pa.ChunkedArray):  # the chunks share one dictionary
        encoded = (
            encoded.combine_chunks() if encoded.num_chunks else pa.array([]).dictionary_encode()
        )
    ids = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    return ids, encoded.dictionary.to_pylist()


@dataclass(frozen=True)
class _Decisions:
    """The outcomes in file order (``codes``, ``ok``, ``reasons``, ``notes``), the refusals
    counted by (error code, reason), and the timeline rows with app names, sorted by app name,
    then start (docs/design.md)."""

    codes: np.ndarray
    ok: np.ndarray
    reasons: pa.Array
    notes: pa.Array
    refused: dict[tuple[int, str], int]
    timeline: list[tuple[Any, ...]]


def _run(log: OpsLog, catalog: Catalog, executor: LocalExecutor) -> _Decisions:
    """Decide every operation, each app's in time order (ties in file order), the apps split
    among the executor's workers (one: in this process)."""
    batches, app_names = split_by_app(log, catalog, executor.workers)
    decided = list(executor.map(decide, batches))
    bad = [
        (b.t[d.bad], b.rows[d.bad])
        for b, d in zip(batches, decided, strict=True)
        if d.bad is not None
    ]
    if bad:  # the first in time order (ties: file order), as one engine over the log meets it
        _never_created(log, min(bad)[1])
    merged = _merged(batches, decided, len(log.t_ns))
    rows = (r for d in decided for r in d.timeline)
    named = sorted(((app_names[r[0]], *r[1:]) for r in rows), key=lambda r: r[:2])
    return _Decisions(*merged, timeline=named)


def _merged(
    batches: list[Batch], decided: list[Decided], n: int
) -> tuple[np.ndarray, np.ndarray, pa.Array, pa.Array, dict[tuple[int, str], int]]:
    """The outcomes of the batches in file order: codes (int64), ok (bool), reasons and notes
    (Arrow text); and the refusals counted by (code, reason).

    The engine returns shared tuples (``OK``, one per refusal), so the outcomes are put in
    order as indices into the few distinct objects (numpy and Arrow, no Python loop per row)."""
    table: list[Outcome] = []
    which = np.zeros(n, dtype=np.int64)
    for b, d in zip(batches, decided, strict=True):
        ids = np.fromiter(map(id, d.outcomes), dtype=np.int64, count=len(d.outcomes))
        inverse, distinct = pd.factorize(ids)  # hashing: no sort of a million ids
        one = np.zeros(len(distinct), dtype=np.int64)
        one[inverse] = np.arange(len(ids))  # a row of each distinct outcome (any will do)
        which[np.frombuffer(b.rows, dtype=f"i{b.rows.itemsize}")] = inverse + len(table)
        table.extend(d.outcomes[i] for i in one.tolist())
    table = table or [(0, "", "")]
    codes = np.array([o[0] for o in table], dtype=np.int64)[which]
    ok = np.array([o[1] == "" for o in table], dtype=bool)[which]
    refused: dict[tuple[int, str], int] = {}
    counts = np.bincount(which, minlength=len(table)).tolist()
    for (code, reason, _), count in zip(table, counts, strict=True):
        if reason and count:
            refused[code, reason] = refused.get((code, reason), 0) + count
    reasons, notes = _texts([o[1] for o in table], which), _texts([o[2] for o in table], which)
    return codes, ok, reasons, notes, refused


def _texts(values: list[str], which: np.ndarray) -> pa.Array:
    """``values[which]`` as Arrow text."""
    return pa.array(values, type=pa.string()).take(pa.array(which))


def replay_workers(workers: int | str, n_ops: int, oversubscribe: bool = False) -> int:
    """Processes deciding a log of ``n_ops`` operations: ``"auto"`` is one per CPU from
    :data:`PARALLEL_MIN_OPS` operations, else 1; 0 is one per CPU; never more than the CPUs
    unless ``oversubscribe``."""
    if workers == "auto":
        workers = 0 if n_ops >= PARALLEL_MIN_OPS else 1
    return resolve_workers(workers, n_ops, max(n_ops, 1), oversubscribe)


def _never_created(log: OpsLog, i: int) -> None:
    raise InputError(
        f"{log.source}: row {i + 1}: op {_at(log, 'op', i)} on group "
        f"{_at(log, 'group', i)!r} of app {_at(log, 'app', i)!r}, which no earlier "
        "create_group row creates; expected a create_group row for it before"
    )


def _at(log: OpsLog, column: str, i: int) -> str:
    return str(log.text[column][i].as_py())


def _purchases(log: OpsLog, ok: np.ndarray, catalog: Catalog) -> pd.DataFrame:
    c = log.columns
    bought = (log.op_code == OPS.index("buy_prepaid")) & ok
    idx = np.flatnonzero(bought).tolist()
    if not idx:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in PURCHASE_COLUMNS})
    df = pd.DataFrame(
        {
            "app": log.text["app"].take(pa.array(idx, type=pa.int64())).to_pylist(),
            "time": to_local([int(log.t_ns[i]) for i in idx], catalog.timezone),
            "edition": [c["edition"][i] for i in idx],
            "months": [c["months"][i] or 1 for i in idx],
        }
    )
    # the options actually bought: what the engine applied (defaults where not named)
    for pack in ("live_unlimited", "groups_per_user", "members_per_group"):
        df[pack] = [
            c[pack][i] if c[pack][i] is not None else catalog.default_option(c["edition"][i], pack)
            for i in idx
        ]
    return df[list(PURCHASE_COLUMNS)]


def replay(
    ops: str | Path | pd.DataFrame,
    catalog: Catalog | str | Path | None = None,
    *,
    usage: str | Path | pd.DataFrame | None = None,
    overrides: Iterable[str] = (),
    workers: int | str = 1,
    oversubscribe: bool = False,
) -> ReplayResult:
    """Replay an operations log through the rules engine, and bill what it did.

    Every operation is decided in time order (ties in file order) exactly as the engine decides
    it (R1–R14, ``docs/rules.md``: each app's operations in that order; apps share no state,
    so the engine takes them app after app); the bills run to the end of the month of the last
    operation or usage day.

    Parameters
    ----------
    ops : str, Path or DataFrame
        The operations log: a CSV or Parquet path, or a frame with the same columns (``time``,
        ``op``, ``app``, ... as in the README). Times without an offset are wall-clock times in
        the catalog's time zone.
    catalog : Catalog, str, Path or None
        A catalog, a catalog name or a YAML path; None: ``tencent-intl-2022``.
    usage : str, Path, DataFrame or None
        Daily usage per app (``app``, ``date``, ``dau``, ``groups``: counts per day), billed
        as overage; None: no usage lines.
    overrides : iterable of str
        ``dotted.key=value`` catalog overrides (``--set``).
    workers : int or "auto"
        Processes deciding the operations -- this one and ``workers - 1`` spawned workers --
        the apps split among them (apps share no engine state; the outputs are the same byte
        for byte): 1 (default) this process alone; 0 one per CPU; ``"auto"`` one per CPU from
        :data:`PARALLEL_MIN_OPS` operations, else 1. Scripts that pass more than 1 must call
        the replay under ``if __name__ == "__main__":`` (workers are spawned).
    oversubscribe : bool
        Allow more ``workers`` than CPUs (else capped at the CPU count).

    Returns
    -------
    ReplayResult
        ``outcomes`` (every input row plus ``ok``, ``error_code``, ``reason``, ``note``),
        ``timeline`` (tz-aware times in the catalog's zone), ``purchases``, ``bills`` (amounts
        in the catalog's currency, see :func:`sim.billing.bill`) and the ``catalog`` used.

    Raises
    ------
    InputError
        A malformed log or usage table (the message names the file, row and column).
    CatalogError
        A catalog that cannot be read or validated.
    """
    tables = replay_tables(
        ops, catalog, usage=usage, overrides=overrides, workers=workers, oversubscribe=oversubscribe
    )
    return tables.result()


def replay_tables(
    ops: str | Path | pd.DataFrame,
    catalog: Catalog | str | Path | None = None,
    *,
    usage: str | Path | pd.DataFrame | None = None,
    overrides: Iterable[str] = (),
    workers: int | str = 1,
    oversubscribe: bool = False,
    prefetched: pa.Table | None = None,
) -> Replayed:
    """:func:`replay`, with the outcomes of a CSV log Arrow reads kept as an Arrow table (what
    ``sim replay`` writes: the same bytes, without a million-row detour through pandas).
    Parameters, returns and errors as :func:`replay`'s; ``prefetched`` is the CSV file ``ops``
    already read by :func:`sim.files.csvarrow.read_csv_arrow` (None: read here)."""
    cat = load_catalog(catalog, overrides)
    raw, source = read_table(ops, "operations log", arrow=True, prefetched=prefetched)
    # this process decides a share too: N processes are N - 1 workers and this one
    executor = LocalExecutor(replay_workers(workers, len(raw), oversubscribe), here=True)
    with _collector_paused():
        try:
            executor.start(imports=[decide.__module__])  # while the log is validated
            log = validate_ops(raw, source, cat.tz)
            usage_df = read_usage(usage) if usage is not None else None
            d = _run(log, cat, executor)
        finally:
            executor.close()
        added = dict(zip(OUTCOME_COLUMNS, (d.ok, d.codes, d.reasons, d.notes), strict=True))
        outcomes = _with_outcomes(log.raw, added)
        timeline = timeline_frame(d.timeline, cat)  # sorted by app name, then start
        purchases = _purchases(log, d.ok, cat)
        bills = _bill(timeline, purchases, usage_df, cat, log)
    return Replayed(outcomes, timeline, purchases, bills, cat, refused=d.refused)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while a log is validated, decided and billed: the
    log's columns are million-row lists and the engine's state holds no reference cycles
    (reference counting frees what it drops), but each full collection would walk them all --
    0.8e9 instructions, 5% of a replay of a million operations (callgrind)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _with_outcomes(raw: pd.DataFrame | pa.Table, added: dict[str, Any]) -> pd.DataFrame | pa.Table:
    """The log's rows as given plus the outcome columns (a column of the same name in the log
    is replaced where it stands, as assigning a DataFrame column does)."""
    if isinstance(raw, pd.DataFrame):
        outcomes = raw.copy()
        for name, values in added.items():
            if isinstance(values, pa.Array):  # text: pandas' str dtype, Arrow-backed
                values = pd.Series(pd.array(values, dtype=TEXT), index=outcomes.index)
            outcomes[name] = values
        return outcomes
    for name, values in added.items():
        arr = values if isinstance(values, pa.Array) else pa.array(values)
        if name in raw.column_names:
            raw = raw.set_column(raw.column_names.index(name), name, arr)
        else:
            raw = raw.append_column(name, arr)
    return raw


def _bill(
    timeline: pd.DataFrame,
    purchases: pd.DataFrame,
    usage: pd.DataFrame | None,
    cat: Catalog,
    log: OpsLog,
) -> pd.DataFrame:
    """Bills up to the end of the month of the last operation (or usage day)."""
    from sim import billing

    last = int(log.t_ns.max()) if len(log.t_ns) else None
    if usage is not None and len(usage):
        end_day = pd.Timestamp(max(usage["date"])).tz_localize(cat.timezone)
        last = max(last or 0, int(end_day.value))
    if last is None:
        until = None
    else:
        until = pd.Timestamp(
            month_start(month_index(last, cat.tz) + 1, cat.tz), unit="ns", tz="UTC"
        ).tz_convert(cat.timezone)
    return billing.bill(timeline, cat, purchases=purchases, usage=usage, until=until)
