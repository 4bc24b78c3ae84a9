"""Excel workbooks: named tables, one sheet each, behind a summary sheet.

:func:`write_workbook` writes an ``.xlsx`` an analyst can open and sort: a ``summary`` sheet
first (key/value lines given by the caller, then one line per table with its row count), then
one sheet per table with a bold frozen header row and an autofilter.

Cells, stated once:

- money columns (named by the caller, or by :func:`is_money_column`) are numbers shown with two
  decimals (number format ``#,##0.00``), whatever they held (``Decimal``, float, int or a numeric
  string), so Excel sums them;
- other numbers stay numbers, booleans are Excel booleans, missing values (and ``''``, the
  CSVs' missing) are empty cells;
- tz-aware times are text in ISO 8601 with their offset (``2024-01-10T09:00:00+08:00``, as in
  the CSVs): Excel has no time zones, and a shifted serial date would lie;
- every other value is written as a string, never parsed: a cell beginning with ``=``, ``+``,
  ``-`` or ``@`` is stored as text with Excel's quote prefix, so ``=HYPERLINK(...)`` from an
  operations log stays text and is never a formula (no formula injection);
- a table longer than Excel's 1,048,576 rows is cut there and the summary says so.

The file is written beside its final path and moved into place (``os.replace``): a failed write
leaves no partial workbook. Written with xlsxwriter (write-only, streams rows in
``constant_memory`` mode, so a million-row sheet does not sit in memory twice).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import uuid
from collections.abc import Collection, Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.exceptions import FileCreateError

from sim.errors import SimError
from sim.files.outputs import format_timestamp

__all__ = ["MAX_ROWS", "is_money_column", "sheet_names", "write_workbook"]

MAX_ROWS = 1_048_576
"""Rows in an Excel sheet, header included."""

_MONEY = re.compile(r"^(amount|total|price|revenue|cost|delta)(_|$)|_(amount|price|revenue|cost)$")
_FORMULA_START = ("=", "+", "-", "@")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MAX_WIDTH = 60


def is_money_column(name: str) -> bool:
    """Whether a column name reads as an amount of money (``amount``, ``amount_a``, ``total_b``,
    ``delta``, ``price_per_month``, ``pack_revenue``): the default when no list is given."""
    return bool(_MONEY.search(str(name)))


def sheet_names(names: Iterable[str]) -> list[str]:
    """Valid, distinct sheet names for ``names``: at most 31 characters, none of ``[]:*?/\\``,
    not ``summary`` (taken by the summary sheet); clashes get ``_2``, ``_3``."""
    out: list[str] = []
    taken = {"summary"}
    for name in names:
        base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "table"
        candidate, n = base[:31], 1
        while candidate.lower() in taken:
            n += 1
            candidate = f"{base[: 31 - len(str(n)) - 1]}_{n}"
        taken.add(candidate.lower())
        out.append(candidate)
    return out


class _Cells:
    """The workbook's formats and the one function that writes a cell by the rules above."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.money = book.add_format({"num_format": "#,##0.00"})
        self.text = book.add_format({"quote_prefix": True})
        self.header = book.add_format({"bold": True, "bottom": 1})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})

    def write(self, sheet: Any, row: int, col: int, value: Any, money: bool) -> int:
        """Write one cell; returns the width it needs (characters)."""
        if _missing(value):
            return 0
        if money:
            number = _as_number(value)
            if number is not None:
                sheet.write_number(row, col, number, self.money)
                return len(f"{number:,.2f}")
        if isinstance(value, bool | np.bool_):
            sheet.write_boolean(row, col, bool(value))
            return 5
        if isinstance(value, int | float | np.integer | np.floating | Decimal):
            sheet.write_number(row, col, float(value))
            return len(str(value))
        if isinstance(value, pd.Timestamp | dt.datetime):
            value = format_timestamp(value)
        elif isinstance(value, dt.date):
            sheet.write_datetime(
                row, col, dt.datetime(value.year, value.month, value.day), self.date
            )
            return 10
        text = str(value)
        if text.startswith(_FORMULA_START):
            sheet.write_string(row, col, text, self.text)
        else:
            sheet.write_string(row, col, text)
        return len(text)


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT or (isinstance(value, str) and not value):
        return True
    return isinstance(value, float | np.floating) and math.isnan(value)


def _as_number(value: Any) -> float | None:
    """A money cell as a number, or None when it is not one (then written as text)."""
    if isinstance(value, bool | np.bool_):
        return None
    if isinstance(value, int | float | np.integer | np.floating | Decimal):
        return float(value)
    try:
        number = float(str(value))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _write_table(sheet: Any, cells: _Cells, df: pd.DataFrame, money: Collection[str] | None) -> int:
    """Write ``df`` with its header into ``sheet``; returns the data rows written."""
    columns = [str(c) for c in df.columns]
    is_money = [(c in money) if money is not None else is_money_column(c) for c in columns]
    widths = [len(c) for c in columns]
    for col, name in enumerate(columns):
        sheet.write_string(0, col, name, cells.header)
    rows = min(len(df), MAX_ROWS - 1)
    values = [df.iloc[:rows, i].tolist() for i in range(len(columns))]
    for r in range(rows):
        for col, column in enumerate(values):
            width = cells.write(sheet, r + 1, col, column[r], is_money[col])
            if width > widths[col]:
                widths[col] = width
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(width + 2, _MAX_WIDTH))
    if columns:
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, rows, len(columns) - 1)
    return rows


def _write_summary(
    sheet: Any,
    cells: _Cells,
    summary: Mapping[str, Any],
    counts: list[tuple[str, int, int]],
) -> None:
    row = 0
    for key, value in summary.items():
        sheet.write_string(row, 0, str(key), cells.header)
        cells.write(sheet, row, 1, value, money=False)
        row += 1
    if summary:
        row += 1
    for col, head in enumerate(("sheet", "rows", "note")):
        sheet.write_string(row, col, head, cells.header)
    for name, total, written in counts:
        row += 1
        sheet.write_string(row, 0, name)
        sheet.write_number(row, 1, total)
        if written < total:
            note = f"first {written:,} rows written (Excel's limit); the CSV has them all"
            sheet.write_string(row, 2, note)
    sheet.set_column(0, 0, max([len(str(k)) for k in summary] + [12]) + 2)
    sheet.set_column(1, 1, _MAX_WIDTH)


def write_workbook(
    path: str | os.PathLike[str],
    tables: Mapping[str, pd.DataFrame],
    summary: Mapping[str, Any] | None = None,
    money: Collection[str] | None = None,
) -> Path:
    """Write ``tables`` into an ``.xlsx`` at ``path``, atomically.

    Parameters
    ----------
    path : path-like
        The workbook to write (replaced if it exists).
    tables : mapping of str to DataFrame
        Sheet name -> table, in sheet order (names are made valid by :func:`sheet_names`).
    summary : mapping, optional
        Key/value lines at the top of the ``summary`` sheet (a title, the catalogs compared...).
    money : collection of str, optional
        The money columns (amounts in the catalog's currency), written as numbers with two
        decimals; by default every column :func:`is_money_column` recognises.

    Returns
    -------
    Path
        The path written. An :class:`OSError` becomes a :class:`~sim.errors.SimError` naming it.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        book = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False})
        cells = _Cells(book)
        first = book.add_worksheet("summary")
        counts = []
        for name, df in zip(sheet_names(tables), tables.values(), strict=True):
            written = _write_table(book.add_worksheet(name), cells, df, money)
            counts.append((name, len(df), written))
        _write_summary(first, cells, summary or {}, counts)
        book.close()
        os.replace(tmp, path)
    except (OSError, FileCreateError) as exc:
        tmp.unlink(missing_ok=True)
        raise SimError(
            f"cannot write {str(path)!r}: {getattr(exc, 'strerror', None) or exc}"
        ) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
