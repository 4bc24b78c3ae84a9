"""The CSV formatting rule, stated once, and text made safe to open in a spreadsheet.

How cells print (:func:`to_csv_frame`):

- booleans print ``true`` / ``false``;
- tz-aware timestamps print ISO 8601 with their offset, ``2024-01-10T09:00:00+08:00``, to the
  second unless the instant has a sub-second part (then micro- or nanoseconds);
- naive timestamps print the same without the offset, or ``YYYY-MM-DD`` when a column holds
  only midnights (a date column);
- missing values (``None``, ``NaN``, ``NA``, ``NaT``) print as an empty field;
- integers stay integers: a nullable integer column prints ``10037``, never ``10037.0``;
- a text cell that a spreadsheet would run as a formula (it begins with ``=``, ``+``, ``-``,
  ``@``, a tab or a carriage return, and is not a plain number such as ``-5`` or ``+1.5``) is
  written with a leading apostrophe, ``'=HYPERLINK(...)``: spreadsheets show it as text and
  hide the apostrophe (:func:`safe_cell`). Numbers, dates and every other cell print as they are.

Output is deterministic: the same tables give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["FORMULA_START", "format_timestamp", "safe_cell", "to_csv_frame"]

_NS_PER_S = 1_000_000_000

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(text: str) -> str:
    """``text`` as a CSV cell a spreadsheet shows as text: ``'`` before a formula start."""
    if text.startswith(FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _safe_strings(s: pd.Series) -> pd.Series:
    """A column with its text cells made safe (:func:`safe_cell`); the same object when no
    cell needs it, which is the common case and costs one vectorised scan."""
    if not len(s):
        return s
    starts = s.str.startswith(FORMULA_START)
    hits = np.flatnonzero(starts.fillna(False).to_numpy(dtype=bool))
    if not len(hits):
        return s
    out = s.astype(object).copy()
    for i in hits.tolist():
        out.iat[i] = safe_cell(out.iat[i])
    return out


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
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind == "string":
            return _safe_strings(s)
        if kind in _PLAIN_OBJECTS:
            return s  # ints / missing: to_csv prints them by the rule already
        return s.map(_format_cell)
    if pd.api.types.is_string_dtype(dtype):
        return _safe_strings(s)
    return s


def _format_cell(v: Any) -> Any:
    """One cell of a mixed object column: formatted, and made safe if it was text."""
    return safe_cell(v) if isinstance(v, str) else _format_value(v)


def to_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose cells print by the CSV rule (see the module docstring)."""
    return pd.DataFrame({col: _format_column(df[col]) for col in df.columns}, index=df.index)
