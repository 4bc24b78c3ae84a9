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

from sim.errors import SimError

__all__ = ["format_timestamp", "to_csv_frame", "write_json", "write_table", "write_tables"]

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
    df.to_parquet(path, index=False)


WRITERS: dict[str, Callable[[pd.DataFrame, Path], None]] = {
    ".csv": _write_csv,
    ".parquet": _write_parquet,
}
"""File suffix -> writer."""


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


def write_tables(out_dir: str | os.PathLike[str], tables: Mapping[str, pd.DataFrame]) -> list[Path]:
    """Write every table into ``out_dir``, all or nothing.

    ``tables`` maps a file name (``outcomes.csv``, ``timeline.parquet``) to its DataFrame; the
    suffix picks the format. Everything is written into a temporary directory beside
    ``out_dir`` (same parent, so same file system), then each file is moved into place with
    ``os.replace``; ``out_dir`` is created if needed. If anything fails, no file of this call is
    left in ``out_dir``, directories this call created are removed, and so is the temporary
    directory. Files already in ``out_dir`` that the call does not name are left alone.

    Returns the paths written, in the order given. An :class:`OSError` (permissions, disk full)
    becomes a :class:`~sim.errors.SimError` naming the path; a table that cannot be serialised
    raises its own error after the clean-up.
    """
    out_dir = Path(out_dir)
    for name in tables:
        _check_name(name)
    if out_dir.exists() and not out_dir.is_dir():
        raise SimError(f"output directory {str(out_dir)!r} exists and is not a directory")
    created = _missing_parents(out_dir)
    moved: list[Path] = []
    tmp: Path | None = None
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=out_dir.parent))
        for name, df in tables.items():
            WRITERS[Path(name).suffix](df, tmp / name)
        out_dir.mkdir(exist_ok=True)
        for name in tables:
            os.replace(tmp / name, out_dir / name)
            moved.append(out_dir / name)
    except BaseException as exc:
        for path in moved:
            path.unlink(missing_ok=True)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty_dirs(created)
        if isinstance(exc, OSError):
            where = exc.filename or out_dir
            raise SimError(f"cannot write {str(where)!r}: {exc.strerror or exc}") from exc
        raise
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return [out_dir / name for name in tables]


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
