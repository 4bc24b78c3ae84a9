"""CSV at I/O speed through Arrow, giving exactly the bytes and values of the pandas path.

:func:`read_csv_fast` reads a CSV file as text columns the way ``pandas.read_csv(path,
dtype=str, keep_default_na=False, skipinitialspace=True)`` does: the Arrow table of
:func:`sim.files.csvarrow.read_csv_arrow` (which says for which files) as pandas' Arrow-backed
``str`` columns; ``None`` where the caller must use pandas' reader.

:func:`write_csv_fast` writes a table whose columns are text, booleans and 64-bit integers with
the bytes pandas' ``to_csv`` (the CSV rule of :mod:`sim.files.csvrule`) writes, when no cell
needs quoting; otherwise it returns ``False`` and the caller uses pandas' writer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sim.files.csvarrow import read_csv_arrow, text_buffers
from sim.files.csvrule import FORMULA_START, safe_cell

__all__ = ["TEXT", "read_csv_fast", "to_pandas", "write_csv_arrow", "write_csv_fast"]

TEXT = pd.StringDtype("pyarrow", na_value=np.nan)
"""pandas' ``str`` dtype, Arrow-backed: how text columns read here appear in pandas."""

_TO_PANDAS = {pa.string(): TEXT, pa.large_string(): TEXT}.get
"""``types_mapper`` of :meth:`pyarrow.Table.to_pandas`: Arrow text as :data:`TEXT`."""


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as pandas, text columns as :data:`TEXT` (what :func:`read_csv_fast`
    gives)."""
    return table.to_pandas(types_mapper=_TO_PANDAS)


def read_csv_fast(path: Path) -> pd.DataFrame | None:
    """The CSV file at ``path`` as text columns (pandas' ``str`` dtype, Arrow-backed), or
    ``None`` when pandas' reader must read it (see the module docstring)."""
    table = read_csv_arrow(path)
    return None if table is None else to_pandas(table)


_FORMULA_BYTES = np.zeros(256, dtype=bool)
_FORMULA_BYTES[[ord(c) for c in FORMULA_START]] = True


def _formula_rows(arr: pa.Array) -> np.ndarray:
    """The rows of a text array whose first character is a formula start (all are ASCII, so
    the first byte says it): one numpy look-up on the buffers, no regex over every cell."""
    buffers = text_buffers(arr)
    if buffers is None:  # not plain text: ask Arrow
        starts = pc.starts_with(arr, FORMULA_START[0])
        for c in FORMULA_START[1:]:
            starts = pc.or_(starts, pc.starts_with(arr, c))
        return np.flatnonzero(starts.fill_null(False).to_numpy(zero_copy_only=False))
    offsets, data = buffers
    if not len(data):
        return np.zeros(0, dtype=np.int64)
    begins = offsets[:-1]
    formula = _FORMULA_BYTES[data[np.minimum(begins, len(data) - 1)]]  # one gather
    formula &= offsets[1:] > begins  # an empty text has no first byte
    if arr.null_count:
        formula &= arr.is_valid().to_numpy(zero_copy_only=False)
    return np.flatnonzero(formula)


def _safe(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column with the cells a spreadsheet would run made safe (rare: done in Python)."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    hits, base = [], 0
    for chunk in chunks:
        hits.append(_formula_rows(chunk) + base)
        base += len(chunk)
    rows = np.concatenate(hits) if hits else np.zeros(0, dtype=np.int64)
    if not len(rows):
        return arr
    cells = arr.to_pylist()
    for i in rows.tolist():
        cells[i] = safe_cell(cells[i])
    return pa.array(cells, type=pa.large_string())


def _arrow_column(s: pd.Series) -> pa.ChunkedArray | pa.Array | None:
    """The column as Arrow data that prints by the CSV rule, or None if it needs pandas."""
    dtype = s.dtype
    if isinstance(dtype, np.dtype) and dtype.kind == "b":
        return pa.array(s.to_numpy(), type=pa.bool_())
    if isinstance(dtype, np.dtype) and dtype == np.int64:
        return pa.array(s.to_numpy(), type=pa.int64())
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        arr = pa.array(s, from_pandas=True)  # the column's own Arrow data, not a copy
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return _safe(arr)
    if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O"):
        try:
            return _safe(pa.array(s, type=pa.large_string(), from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return None
    return None


def _plain_name(name: object) -> bool:
    return isinstance(name, str) and not any(c in name for c in ',"\n\r')


def write_csv_fast(df: pd.DataFrame, path: Path) -> bool:
    """Write ``df`` as pandas' ``to_csv`` would by the CSV rule; ``False`` (and ``path`` left
    to be overwritten) when a column or a cell needs pandas' writer."""
    if not all(_plain_name(c) for c in df.columns) or df.columns.duplicated().any():
        return False
    arrays = []
    for name in df.columns:
        arr = _arrow_column(df[name])
        if arr is None:
            return False
        arrays.append(arr)
    return _write(arrays, [str(c) for c in df.columns], path)


def write_csv_arrow(table: pa.Table, path: Path) -> bool:
    """Write an Arrow table of text, boolean and 64-bit integer columns by the CSV rule, with
    the bytes :func:`write_csv_fast` writes for the same table in pandas (text cells a
    spreadsheet would run made safe); ``False`` when a column or a cell needs pandas' writer
    (then use :func:`to_pandas` and the pandas route)."""
    names = table.column_names
    if not all(_plain_name(c) for c in names) or len(set(names)) != len(names):
        return False
    arrays = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            arrays.append(_safe(column))
        elif kind in (pa.bool_(), pa.int64()) and column.null_count == 0:
            arrays.append(column)
        else:
            return False
    return _write(arrays, names, path)


def _write(arrays: list[pa.ChunkedArray | pa.Array], names: list[str], path: Path) -> bool:
    if len(names) < 2:  # pandas quotes an empty lone field: ""
        return False
    table = pa.Table.from_arrays(arrays, names=names)
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
        try:
            pacsv.write_csv(
                table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # a cell with a comma, a quote or a line break
            return False
    return True
