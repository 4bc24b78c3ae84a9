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
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sim.files.csvrule import FORMULA_START, safe_cell

__all__ = [
    "TEXT",
    "text_buffers",
    "read_csv_arrow",
    "read_csv_fast",
    "write_csv_arrow",
    "write_csv_fast",
]

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


def read_csv_arrow(path: Path) -> pa.Table | None:
    """The CSV file at ``path`` as an Arrow table of text columns (``string``, no nulls; the
    values :func:`read_csv_fast` gives, without the copy into pandas), or ``None`` when pandas'
    reader must read it (see the module docstring)."""
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
    return table


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """The offsets (one per text, plus the end) and the bytes of an Arrow ``string`` or
    ``large_string`` array, as numpy views of its buffers (no copy); None for another type."""
    if pa.types.is_string(arr.type):
        width: type[np.signedinteger[Any]] = np.int32
    elif pa.types.is_large_string(arr.type):
        width = np.int64
    else:
        return None
    _, offsets, data = arr.buffers()
    n = len(arr)
    if offsets is None:  # an empty array
        return np.zeros(1, dtype=width), np.zeros(0, dtype=np.uint8)
    starts = np.frombuffer(offsets, dtype=width)[arr.offset : arr.offset + n + 1]
    return starts, np.zeros(0, np.uint8) if data is None else np.frombuffer(data, np.uint8)


_PAD_BYTES = np.zeros(256, dtype=bool)
_PAD_BYTES[[*range(9, 14), *range(28, 33), *range(128, 256)]] = True
"""Bytes a text that Python's ``str.strip`` (or Arrow's ``utf8_trim_whitespace``) would change
can begin or end with: ASCII whitespace, or any byte of a non-ASCII character (some are
whitespace)."""


def maybe_padded(arr: pa.Array) -> bool:
    """Whether stripping could change a text of ``arr``: False when every text begins and
    ends with a byte that is not :data:`_PAD_BYTES` (two numpy look-ups on the buffers; the
    Unicode trim itself costs five times as much); True when in doubt."""
    buffers = text_buffers(arr)
    if buffers is None:
        return True
    offsets, data = buffers
    if not len(data):
        return False
    begins, ends = offsets[:-1], offsets[1:]
    filled = ends > begins
    last = len(data) - 1
    edges = _PAD_BYTES[data[np.minimum(begins, last)]] | _PAD_BYTES[data[np.maximum(ends - 1, 0)]]
    return bool((edges & filled).any())


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
