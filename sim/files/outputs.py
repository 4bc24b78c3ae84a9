"""Writing results: atomic file writes and the CSV formatting rule.

Every table a run produces is written by :func:`write_tables`, which writes all of them into a
temporary directory beside the output directory and then moves each file into place with
``os.replace``: either every file of the call is written, or (on any failure) nothing is, and
the temporary directory is removed.

The CSV formatting rule (:func:`to_csv_frame`), stated once:

- booleans print ``true`` / ``false``;
- tz-aware timestamps print ISO 8601 with their offset, ``2024-01-10T09:00:00+08:00``, to the
  second unless the instant has a sub-second part (then micro- or nanoseconds);
- naive timestamps print the same without the offset, or ``YYYY-MM-DD`` when a column holds
  only midnights (a date column);
- missing values (``None``, ``NaN``, ``NA``, ``NaT``) print as an empty field;
- integers stay integers: a nullable integer column prints ``10037``, never ``10037.0``.

Output is deterministic: the same tables give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import SimError

__all__ = [
    "OutputDir",
    "ParquetSink",
    "format_timestamp",
    "to_csv_frame",
    "write_json",
    "write_table",
    "write_tables",
]

_NS_PER_S = 1_000_000_000


# -- the CSV formatting rule ----------------------------------------------------------------------


def _fraction(ns: int) -> str:
    """The sub-second part of an instant: '' when whole, else '.ffffff' or '.fffffffff'."""
    if ns == 0:
        return ""
    if ns % 1000 == 0:
        return f".{ns // 1000:06d}"
    return f".{ns:09d}"


def _offset(seconds: int) -> str:
    """A UTC offset in seconds as ``+08:00`` (``+05:43:20`` if it has seconds)."""
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


def format_timestamp(ts: Any) -> str:
    """One instant by the CSV rule: ``2024-01-10T09:00:00+08:00``; missing -> ``''``."""
    if ts is None or ts is pd.NaT or (isinstance(ts, float) and math.isnan(ts)):
        return ""
    ts = pd.Timestamp(ts)
    text = ts.strftime("%Y-%m-%dT%H:%M:%S") + _fraction(ts.microsecond * 1000 + ts.nanosecond)
    offset = ts.utcoffset()
    if offset is not None:
        text += _offset(int(offset.total_seconds()))
    return text


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def _format_datetime_column(s: pd.Series) -> pd.Series:
    """A datetime64 column (tz-aware or naive) by the CSV rule, vectorised.

    Works in the column's own resolution (s, ms, us or ns), so no instant can overflow.
    """
    na = s.isna().to_numpy()
    tz = s.dt.tz
    naive = s.dt.tz_localize(None) if tz is not None else s
    wall_dt = naive.to_numpy()
    unit = np.datetime_data(wall_dt.dtype)[0]
    per_s = _PER_SECOND[unit]
    wall = wall_dt.view("i8")
    frac = np.where(na, 0, wall % per_s)
    whole = (wall - frac).view(wall_dt.dtype)
    midnights = not (wall[~na] % (86400 * per_s)).any()
    if tz is None and midnights:
        text = np.datetime_as_string(whole, unit="D").astype(object)
    else:
        text = np.datetime_as_string(whole, unit="s").astype(object)
        to_ns = _NS_PER_S // per_s
        for i in np.flatnonzero(frac):
            text[i] += _fraction(int(frac[i]) * to_ns)
        if tz is not None:
            utc = s.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().view("i8")
            offsets = np.where(na, 0, (wall - utc) // per_s)
            names = {int(o): _offset(int(o)) for o in np.unique(offsets)}
            text = text + np.array([names[int(o)] for o in offsets], dtype=object)
    text[na] = ""
    return pd.Series(text, index=s.index, name=s.name, dtype=object)


def _format_value(v: Any) -> Any:
    """One cell of an object column by the CSV rule."""
    if v is None or v is pd.NA or v is pd.NaT:
        return ""
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating) and math.isnan(v):
        return ""
    if isinstance(v, pd.Timestamp | dt.datetime):
        return format_timestamp(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return "" if v.is_nan() else str(v)
    return v


_PLAIN_OBJECTS = ("string", "empty", "integer")


def _format_column(s: pd.Series) -> pd.Series:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
        dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype):
        text = np.where(s.fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
        text[s.isna().to_numpy()] = ""
        return pd.Series(text, index=s.index, name=s.name, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _format_datetime_column(s)
    if pd.api.types.is_integer_dtype(dtype) and isinstance(dtype, pd.api.extensions.ExtensionDtype):
        # nullable Int64: print digits, NA -> ''
        return s.astype(object).map(lambda v: "" if v is pd.NA else str(int(v)))
    if pd.api.types.is_object_dtype(dtype):
        if pd.api.types.infer_dtype(s, skipna=True) in _PLAIN_OBJECTS:
            return s  # only strings / ints / missing: to_csv prints them by the rule already
        return s.map(_format_value)
    return s


def to_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose cells print by the CSV rule (see the module docstring)."""
    return pd.DataFrame({col: _format_column(df[col]) for col in df.columns}, index=df.index)


# -- writers --------------------------------------------------------------------------------------


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    to_csv_frame(df).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    sink = ParquetSink(path)
    sink.write(df)
    sink.close()


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
}
"""File suffix -> writer."""


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


# -- all or nothing -------------------------------------------------------------------------------


def _check_name(name: str) -> str:
    suffix = Path(name).suffix
    if Path(name).name != name or name in ("", ".", ".."):
        raise ValueError(f"table file name {name!r}: a plain file name such as 'outcomes.csv'")
    if suffix not in WRITERS:
        raise ValueError(f"table file name {name!r}: suffix must be one of {', '.join(WRITERS)}")
    return suffix


def write_table(path: str | os.PathLike[str], df: pd.DataFrame) -> Path:
    """Write one table atomically (format by suffix); returns the path written."""
    path = Path(path)
    return write_tables(path.parent, {path.name: df})[0]


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


class OutputDir:
    """Files written into a temporary directory beside ``out_dir`` (same parent, so same file
    system) and moved into place with ``os.replace`` when the ``with`` block ends without an
    error: either every file is written, or (on any failure) none is, directories this created
    are removed, and so is the temporary directory. Files already in ``out_dir`` that are not
    written again are left alone.

    ``write(name, df)`` writes a whole table (format by suffix); ``sink(name)`` returns a
    :class:`ParquetSink` for a table written piece by piece. ``paths``: the files, in order.
    """

    def __init__(self, out_dir: str | os.PathLike[str]) -> None:
        self.out_dir = Path(out_dir)
        if self.out_dir.exists() and not self.out_dir.is_dir():
            raise SimError(f"output directory {str(self.out_dir)!r} exists and is not a directory")
        self.names: list[str] = []
        self.sinks: list[ParquetSink] = []
        self.tmp: Path | None = None
        self._created: list[Path] = []

    @property
    def paths(self) -> list[Path]:
        return [self.out_dir / name for name in self.names]

    def __enter__(self) -> OutputDir:
        self._created = _missing_parents(self.out_dir)
        try:
            self.out_dir.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(
                tempfile.mkdtemp(
                    prefix=f".{self.out_dir.name}.", suffix=".tmp", dir=self.out_dir.parent
                )
            )
        except OSError as exc:
            self._abort(exc)
        return self

    def _add(self, name: str) -> Path:
        _check_name(name)
        if name in self.names:
            raise ValueError(f"table file name {name!r} given twice")
        assert self.tmp is not None, "OutputDir used outside its with block"
        self.names.append(name)
        return self.tmp / name

    def write(self, name: str, df: pd.DataFrame) -> None:
        WRITERS[Path(name).suffix](df, self._add(name))

    def sink(self, name: str) -> ParquetSink:
        if Path(name).suffix != ".parquet":
            raise ValueError(f"table file name {name!r}: a sink writes '.parquet' files")
        sink = ParquetSink(self._add(name))
        self.sinks.append(sink)
        return sink

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        moved: list[Path] = []
        try:
            if exc is None:
                for sink in self.sinks:
                    sink.close()
                self.out_dir.mkdir(exist_ok=True)
                assert self.tmp is not None, "OutputDir used outside its with block"
                for name in self.names:
                    os.replace(self.tmp / name, self.out_dir / name)
                    moved.append(self.out_dir / name)
        except BaseException as err:
            for path in moved:
                path.unlink(missing_ok=True)
            self._abort(err)
        finally:
            if self.tmp is not None:
                shutil.rmtree(self.tmp, ignore_errors=True)
        if exc is not None:
            self._abort(exc)

    def _abort(self, exc: BaseException) -> None:
        """Clean up, then raise: an :class:`OSError` as a :class:`SimError` naming the path."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
        _remove_empty_dirs(self._created)
        if isinstance(exc, OSError):
            where = exc.filename or self.out_dir
            raise SimError(f"cannot write {str(where)!r}: {exc.strerror or exc}") from exc
        raise exc


def write_tables(out_dir: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Write every table into ``out_dir``, all or nothing (:class:`OutputDir`).

    ``tables`` maps a file name (``outcomes.csv``, ``timeline.parquet``) to its DataFrame; the
    suffix picks the format; names are checked before anything is written. Returns the paths
    written, in the order given. An :class:`OSError` (permissions, disk full) becomes a
    :class:`~sim.errors.SimError` naming the path; a table that cannot be serialised raises its
    own error after the clean-up.
    """
    for name in tables:
        _check_name(name)
    with OutputDir(out_dir) as out:
        for name, df in tables.items():
            out.write(name, df)
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


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write ``obj`` as JSON (sorted keys, 2-space indent, UTF-8, final newline), atomically.

    The text goes to a temporary file in the same directory, then ``os.replace`` moves it into
    place: a reader sees the old file or the new one, never half of one. ``Decimal`` prints as
    a string, timestamps by the CSV rule, numpy scalars as numbers.
    """
    path = Path(path)
    text = json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default)
    created = _missing_parents(path.parent)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(text + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        _remove_empty_dirs(created)
        raise SimError(
            f"cannot write {str(exc.filename or path)!r}: {exc.strerror or exc}"
        ) from exc
    return path
