"""Writing results: output folders written whole, atomic files, and the writers by suffix.

A command that writes a folder writes it through :class:`OutputDir`: every file, the run's
``summary.json`` included, goes into a temporary folder beside the destination, is fsynced, and
the folder is swapped in whole with one rename, under an exclusive lock on the destination
(:mod:`sim.files.folders` says how, step by step). The old folder stays exactly as it was until
the swap; a failure at any step (disk full, a killed process, a second command on the same
folder) leaves it as it was, or no folder if there was none.

How cells print in CSV is :mod:`sim.files.csvrule`'s rule (re-exported here).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import SimError
from sim.files import folders
from sim.files.csvrule import format_timestamp, safe_cell, to_csv_frame
from sim.files.fastcsv import to_pandas, write_csv_arrow, write_csv_fast

__all__ = [
    "OutputDir",
    "ParquetSink",
    "format_timestamp",
    "safe_cell",
    "to_csv_frame",
    "write_json",
    "write_table",
    "write_tables",
]


# -- writers --------------------------------------------------------------------------------------


def _write_csv(df: pd.DataFrame | pa.Table, path: Path) -> None:
    if isinstance(df, pa.Table):  # Arrow's writer when it gives pandas' bytes, else pandas
        if write_csv_arrow(df, path):
            return
        df = to_pandas(df)
    if not write_csv_fast(df, path):
        to_csv_frame(df).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    sink = ParquetSink(path)
    sink.write(df)
    sink.close()


def _write_json(obj: Any, path: Path) -> None:
    with open(path, "x", encoding="utf-8", newline="\n") as fh:
        fh.write(json_text(obj))


def _write_text(obj: str, path: Path) -> None:
    with open(path, "x", encoding="utf-8", newline="\n") as fh:
        fh.write(obj)


def _write_bytes(obj: bytes, path: Path) -> None:
    with open(path, "xb") as fh:
        fh.write(obj)


WRITERS: dict[str, Callable[[Any, Path], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
    ".json": _write_json,
    ".html": _write_text,
    ".png": _write_bytes,
}
"""File suffix -> writer (a DataFrame for tables, or an Arrow table for ``.csv``; plain data
for ``.json``, text for ``.html``, bytes for ``.png``)."""


# -- Parquet, piece by piece ----------------------------------------------------------------------

ROW_GROUP_ROWS = 1 << 20
"""Rows per Parquet row group (pyarrow's default maximum); the last one may hold fewer."""


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its categorical columns as the strings they stand for (via Arrow)."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return df
    out = df.copy(deep=False)
    for c in cats:
        s = df[c]
        arr = pa.DictionaryArray.from_arrays(
            pa.array(s.cat.codes.to_numpy().astype(np.int32), mask=s.isna().to_numpy()),
            pa.array([str(v) for v in s.cat.categories], pa.large_string()),
        ).dictionary_decode()
        out[c] = pd.Series(
            pd.arrays.ArrowStringArray(arr), index=df.index, dtype=pd.StringDtype("pyarrow", np.nan)
        )
    return out


class ParquetSink:
    """One Parquet file written piece by piece, in row groups of exactly ``row_group_rows``
    rows (the last may be shorter) whatever the sizes of the pieces: the file's bytes depend on
    the rows, not on how they were cut (a run's shards, :mod:`sim.model.shards`). At most one row
    group is held in memory. Categorical columns are written as strings (:func:`_plain`).

    The schema is the first non-empty piece's, a column that is all missing there being a
    string column; every later piece must have the same columns.
    """

    def __init__(self, path: Path, row_group_rows: int | None = None) -> None:
        self.path = Path(path)
        self.rows = row_group_rows or ROW_GROUP_ROWS
        self._pending: list[pd.DataFrame] = []
        self._n = 0
        self._columns: list[str] | None = None
        self._empty: pd.DataFrame | None = None
        self._schema: pa.Schema | None = None
        self._writer: pq.ParquetWriter | None = None

    def write(self, df: pd.DataFrame) -> None:
        if self._columns is None:
            self._columns = list(df.columns)
        elif list(df.columns) != self._columns:
            raise ValueError(
                f"{self.path.name}: columns {list(df.columns)} differ from {self._columns}"
            )
        if df.empty:
            if self._empty is None:
                self._empty = df.iloc[:0]
            return
        self._pending.append(df)
        self._n += len(df)
        while self._n >= self.rows:
            self._flush(self.rows)

    def _flush(self, k: int) -> None:
        """Write the first ``k`` pending rows as one row group."""
        take: list[pd.DataFrame] = []
        rest: list[pd.DataFrame] = []
        need = k
        for df in self._pending:
            if need == 0:
                rest.append(df)
            elif len(df) <= need:
                take.append(df)
                need -= len(df)
            else:
                take.append(df.iloc[:need])
                rest.append(df.iloc[need:])
                need = 0
        self._pending, self._n = rest, self._n - k
        parts = [_plain(d) for d in take]
        chunk = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
        table = self._table(chunk)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema)
        self._writer.write_table(table, row_group_size=k)

    def _table(self, df: pd.DataFrame) -> pa.Table:
        if self._schema is None:
            t = pa.Table.from_pandas(df, preserve_index=False)
            fields = [
                f.with_type(pa.large_string()) if pa.types.is_null(f.type) else f for f in t.schema
            ]
            self._schema = pa.schema(fields, metadata=t.schema.metadata)
            t = t.cast(self._schema)
        else:
            t = pa.Table.from_pandas(df, schema=self._schema, preserve_index=False)
            t = t.replace_schema_metadata(self._schema.metadata)
        return t.combine_chunks()

    def close(self) -> None:
        """Write what is pending and the file's footer (a file with no rows if none came)."""
        if self._n:
            self._flush(self._n)
        if self._writer is None:
            empty = self._empty if self._empty is not None else pd.DataFrame()
            pq.write_table(pa.Table.from_pandas(_plain(empty), preserve_index=False), self.path)
        else:
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        """Drop what is pending and let go of the file (it is being thrown away)."""
        self._pending, self._n = [], 0
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None


# -- all or nothing -------------------------------------------------------------------------------


def _check_name(name: str, allowed: Collection[str] = WRITERS) -> str:
    """A file name of a set: ``outcomes.csv``, or one subfolder deep (``figures/mrr.png``)."""
    suffix = Path(name).suffix
    parts = name.split("/")
    plain = all(p not in ("", ".", "..") and Path(p).name == p for p in parts)
    if not plain or len(parts) > 2:
        raise ValueError(
            f"file name {name!r}: a plain file name such as 'outcomes.csv', or one subfolder "
            "deep such as 'figures/revenue.png'"
        )
    if suffix not in allowed:
        raise ValueError(f"file name {name!r}: suffix must be one of {', '.join(allowed)}")
    return suffix


def _missing_parents(path: Path) -> list[Path]:
    """``path`` and its ancestors that do not exist yet, outermost first."""
    missing: list[Path] = []
    cur = path.absolute()
    while not cur.exists() and cur != cur.parent:
        missing.append(cur)
        cur = cur.parent
    return missing[::-1]


def _remove_empty_dirs(dirs: list[Path]) -> None:
    """Remove the directories a call created (innermost first), if they are empty."""
    for d in reversed(dirs):
        try:
            d.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            break


def _as_sim_error(exc: BaseException, where: Path) -> BaseException:
    """An :class:`OSError` (disk full, permissions) as a :class:`SimError` naming the path."""
    if isinstance(exc, OSError) and not isinstance(exc, SimError):
        path = exc.filename or where
        return SimError(f"cannot write {str(path)!r}: {exc.strerror or exc}")
    return exc


class OutputDir:
    """An output folder written whole: ``with OutputDir(path) as out:`` then ``out.write(name,
    obj)`` (a DataFrame as ``.csv`` / ``.parquet``, plain data as ``.json``) or
    ``out.sink(name)`` (a :class:`ParquetSink`, a table written piece by piece).

    Entering takes the folder's lock (a second writer is refused with a
    :class:`~sim.errors.SimError`), removes a killed writer's leftovers and creates the
    temporary folder beside the destination; leaving without an error fsyncs the set and swaps
    it in whole, so the folder holds exactly the files written in the block and nothing of
    before. On any error the old folder stays as it was (directories this created are removed)
    and an :class:`OSError` comes out as a :class:`SimError` naming the path. Steps:
    :mod:`sim.files.folders`. ``paths``: the files, in the order written.
    """

    def __init__(self, out_dir: str | os.PathLike[str], keep: Sequence[str] = ()) -> None:
        """``keep``: subfolders of the old folder that sim itself keeps across writes (a
        sweep's task store): not checked file by file, and carried over into the new folder
        just before the swap (a rename inside the parent)."""
        self.out_dir = Path(out_dir)
        self.keep = tuple(keep)
        self._kept: list[str] = []
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise SimError(f"output directory {str(self.out_dir)!r} exists and is not a directory")
        self.names: list[str] = []
        self.sinks: list[ParquetSink] = []
        self.tmp: Path | None = None
        self._created: list[Path] = []
        self._lock: folders.FolderLock | None = None
        self._target = self.out_dir

    @property
    def paths(self) -> list[Path]:
        return [self.out_dir / name for name in self.names]

    def __enter__(self) -> OutputDir:
        shown = str(self.out_dir)
        target = folders.target_of(self.out_dir)
        self._created = _missing_parents(target.parent)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._lock = folders.FolderLock(target.parent / f".{target.name}.lock", shown)
            self._lock.acquire()
            folders.remove_leftovers(target)
            folders.check_replaceable(target, shown, self.keep)
            self.tmp = folders.new_temp(target)
        except BaseException as exc:
            self._abort(exc)
        self._target = target
        return self

    def _add(self, name: str, allowed: Collection[str] = WRITERS) -> Path:
        _check_name(name, allowed)
        if name in self.names:
            raise ValueError(f"file name {name!r} given twice")
        assert self.tmp is not None, "OutputDir used outside its with block"
        self.names.append(name)
        (self.tmp / name).parent.mkdir(exist_ok=True)
        return self.tmp / name

    def write(self, name: str, obj: Any) -> None:
        """Write one file of the set: a table (``.csv``, ``.parquet``) or JSON (``.json``)."""
        path = self._add(name)
        try:
            WRITERS[Path(name).suffix](obj, path)
        except OSError as exc:
            raise _as_sim_error(exc, path) from exc

    def reserve(self, name: str) -> Path:
        """The temporary path of a file of the set that the caller writes itself (a workbook,
        say); any suffix sim writes (:data:`sim.files.folders.OUTPUT_SUFFIXES`)."""
        return self._add(name, folders.OUTPUT_SUFFIXES)

    def place(self, name: str, src: Path) -> None:
        """Put the file ``src`` into the set as ``name`` without reading it: a hard link (the
        same file system: a part a worker wrote into the task store beside the folder), else
        a copy. Fsynced with the set."""
        path = self._add(name)
        try:
            try:
                os.link(src, path)
            except OSError:  # another file system, or no hard links there
                shutil.copyfile(src, path)
        except OSError as exc:
            raise _as_sim_error(exc, path) from exc

    def sink(self, name: str) -> ParquetSink:
        if Path(name).suffix != ".parquet":
            raise ValueError(f"file name {name!r}: a sink writes '.parquet' files")
        sink = ParquetSink(self._add(name))
        self.sinks.append(sink)
        return sink

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None:
            self._abort(exc)
        assert self.tmp is not None
        try:
            for sink in self.sinks:
                sink.close()
            folders.fsync_tree(self.tmp)
            self._carry_over(self.tmp)
            folders.swap_in(self.tmp, self._target)
        except BaseException as err:
            self._abort(err)
        self.tmp = None
        self._release()

    def _carry_over(self, tmp: Path) -> None:
        """Move the kept subfolders of the old folder into the new one (same parent)."""
        for name in self.keep:
            if (self._target / name).is_dir() and not (tmp / name).exists():
                os.rename(self._target / name, tmp / name)
                self._kept.append(name)

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def _abort(self, exc: BaseException) -> None:
        """Clean up, then raise ``exc`` (an :class:`OSError` as a :class:`SimError`)."""
        for sink in self.sinks:
            sink.discard()
        if self.tmp is not None:
            for name in self._kept:  # back where they were, before the new folder goes
                os.rename(self.tmp / name, self._target / name)
            self._kept.clear()
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        self._release()
        _remove_empty_dirs(self._created)
        err = _as_sim_error(exc, self.out_dir)
        if err is exc:
            raise exc
        raise err from exc


def write_tables(out_dir: str | os.PathLike[str], tables: Mapping[str, Any]) -> list[Path]:
    """Write a folder holding exactly these files, all or nothing (:class:`OutputDir`).

    ``tables`` maps a file name (``outcomes.csv``, ``timeline.parquet``, ``summary.json``) to
    a DataFrame (or, for ``.json``, plain data); the suffix picks the format; names are checked
    before anything is written. Returns the paths written, in the order given. An
    :class:`OSError` (permissions, disk full) becomes a :class:`~sim.errors.SimError` naming
    the path; a table that cannot be serialised raises its own error after the clean-up.
    """
    for name in tables:
        _check_name(name)
    with OutputDir(out_dir) as out:
        for name, obj in tables.items():
            out.write(name, obj)
    return out.paths


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return str(obj)
    if isinstance(obj, pd.Timestamp | dt.datetime):
        return format_timestamp(obj)
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def json_text(obj: Any) -> str:
    """``obj`` as JSON text: sorted keys, 2-space indent, final newline; ``Decimal`` prints as
    a string, timestamps by the CSV rule, numpy scalars as numbers."""
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    return text + "\n"


def _atomic_file(path: Path, write: Callable[[Path], None]) -> Path:
    """Write one file through a temporary file in its folder, fsync, ``os.replace``."""
    created = _missing_parents(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        folders.fsync_path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        _remove_empty_dirs(created)
        err = _as_sim_error(exc, path)
        if err is exc:
            raise
        raise err from exc
    return path


def write_file(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write one file atomically, its format by suffix (:data:`WRITERS`: a table, JSON, HTML
    text, PNG bytes); other files of its folder are left alone. Returns the path written."""
    path = Path(path)
    suffix = _check_name(path.name)
    return _atomic_file(path, lambda tmp: WRITERS[suffix](obj, tmp))


def write_table(path: str | os.PathLike[str], df: pd.DataFrame) -> Path:
    """Write one table file atomically (:func:`write_file`); returns the path written."""
    return write_file(path, df)


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON (:func:`json_text`) into one file, atomically: a reader sees the
    old file or the new one, never half of one. (In an output folder: ``OutputDir.write``.)"""
    return _atomic_file(Path(path), lambda tmp: _write_json(obj, tmp))
