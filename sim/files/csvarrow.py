"""Reading a CSV file into Arrow, and looking at Arrow text through numpy, without pandas.

:func:`read_csv_arrow` reads a CSV file as an Arrow table of text columns, the values
``pandas.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)`` gives, for
the files where the two readers provably agree: no quote character, no space or tab at the
start of a field, no lone carriage return, distinct column names. Any other file (and any file
Arrow cannot read) gives ``None``, and the caller uses pandas' reader, which states the problem.

This module imports numpy and pyarrow only, so that ``sim replay`` can read its log on another
thread while pandas is imported (:mod:`sim.files.fastcsv` is the pandas side).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

__all__ = ["maybe_padded", "read_csv_arrow", "text_buffers"]

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
