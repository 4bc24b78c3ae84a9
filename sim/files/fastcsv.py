"""CSV at I/O speed through Arrow, giving exactly the bytes and values of the pandas path.

:func:`read_csv_fast` reads a CSV file as text columns the way ``pandas.read_csv(path,
dtype=str, keep_default_na=False, skipinitialspace=True)`` does, for the files where the two
readers provably agree: no quote character, no space or tab at the start of a field, no lone
carriage return, distinct column names. Any other file (and any file Arrow cannot read) gives
``None``, and the caller uses pandas' reader, which states the problem.

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

from sim.files.csvrule import safe_cell

__all__ = ["read_csv_fast", "write_csv_fast"]

_PANDAS_ONLY = (b'"', b"\x00")
"""Bytes where pandas' reading and Arrow's could differ (quoting, NUL)."""


def _pandas_only(data: bytes) -> bool:
    """Whether ``data`` holds something only pandas' reader reads as the rule says (each test
    a memchr-speed scan: a Python regex over the file costs seconds per million lines). A space
    or tab at the start of a field (pandas skips it) is looked for in the parsed columns."""
    if any(b in data for b in _PANDAS_ONLY):
        return True
    return b"\r" in data and data.count(b"\r") != data.count(b"\r\n")  # a lone CR


def _initial_space(data: bytes) -> bool:
    """Whether a field of the quote-free CSV ``data`` starts with a space or a tab (pandas
    would skip it): a field starts the file or follows a comma or a line feed. Found from the
    spaces and tabs (usually none: one memchr-speed scan each) and the byte before each; a
    regex over every parsed column cost a third of a second per million rows."""
    if b" " not in data and b"\t" not in data:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)
    at = np.flatnonzero((raw == ord(" ")) | (raw == ord("\t")))
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0  # after a byte-order mark
    before = raw[np.maximum(at - 1, 0)]
    return bool(np.any((at == start) | (before == ord(",")) | (before == ord("\n"))))


_FORMULA = r"^[=+\-@\t\r]"
"""A cell a spreadsheet would run (:func:`sim.files.csvrule.safe_cell` decides exactly)."""

_STRINGS = pd.StringDtype("pyarrow", na_value=np.nan)


def read_csv_fast(path: Path) -> pd.DataFrame | None:
    """The CSV file at ``path`` as text columns (pandas' ``str`` dtype, Arrow-backed), or
    ``None`` when pandas' reader must read it (see the module docstring)."""
    data = path.read_bytes()
    if not data or _pandas_only(data) or _initial_space(data):
        return None
    end = data.find(b"\n")
    header = data[: end if end >= 0 else len(data)].removeprefix(b"\xef\xbb\xbf").rstrip(b"\r")
    try:
        names = header.decode("utf-8").split(",")
    except UnicodeDecodeError:
        return None
    if len(set(names)) != len(names) or "" in names:
        return None
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                null_values=[],
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.column_names != names:
        return None
    return table.to_pandas(types_mapper={pa.string(): _STRINGS}.get)


def _safe(arr: pa.ChunkedArray | pa.Array) -> pa.ChunkedArray | pa.Array:
    """A text column with the cells a spreadsheet would run made safe (rare: done in Python)."""
    hits = pc.match_substring_regex(arr, _FORMULA)
    if not pc.any(hits).as_py():
        return arr
    cells = arr.to_pylist()
    for i in np.flatnonzero(hits.to_numpy(zero_copy_only=False)).tolist():
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
    if len(df.columns) < 2:  # pandas quotes an empty lone field: ""
        return False
    arrays = []
    for name in df.columns:
        arr = _arrow_column(df[name])
        if arr is None:
            return False
        arrays.append(arr)
    table = pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])
    with open(path, "wb") as fh:
        fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
        try:
            pacsv.write_csv(
                table, fh, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )
        except pa.ArrowInvalid:  # a cell with a comma, a quote or a line break
            return False
    return True
