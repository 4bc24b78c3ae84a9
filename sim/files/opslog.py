"""Reading and validating operations logs and daily usage tables (CSV or Parquet).

An operations log has columns ``time`` (ISO 8601; no offset means the catalog's time zone),
``app``, ``op`` and, as the op needs them, ``user``, ``group``, ``group_type``, ``members``
(the initial members besides the owner, user ids separated by ``;``), ``edition``,
``live_unlimited``, ``groups_per_user``, ``members_per_group``, ``months``.

A malformed log raises :class:`~sim.errors.InputError` naming the file, the row (1-based, as a
spreadsheet counts data rows; the CSV line is the row + 1) and what was expected. Nothing is
decided here: a value the catalog does not offer (an unknown edition, a cap not on the menu) is
the engine's ``invalid_option``, not a malformed log.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sim.core.catalog import GROUP_TYPES
from sim.errors import InputError
from sim.files import bounds
from sim.files.csvarrow import maybe_padded, read_csv_arrow, text_buffers
from sim.files.fastcsv import to_pandas

CONSOLE_OPS = ("create_app", "upgrade", "reconfigure", "downgrade", "buy_prepaid", "deactivate")
GROUP_OPS = ("register_user", "create_group", "join_group", "leave_group", "dissolve_group")
OPS = CONSOLE_OPS + GROUP_OPS

OPTIONAL_COLUMNS = (
    "user",
    "group",
    "group_type",
    "members",
    "edition",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "months",
)

#: The columns each op cannot do without.
REQUIRED_BY_OP: dict[str, tuple[str, ...]] = {
    "create_app": (),
    "upgrade": ("edition",),
    "reconfigure": (),
    "downgrade": (),
    "buy_prepaid": ("edition",),
    "deactivate": (),
    "register_user": ("user",),
    "create_group": ("user", "group", "group_type"),
    "join_group": ("user", "group"),
    "leave_group": ("user", "group"),
    "dissolve_group": ("group",),
}

_NEEDED = {
    c: np.array([c in REQUIRED_BY_OP[op] for op in OPS], dtype=bool)
    for c in ("user", "group", "group_type", "edition")
}
"""Column -> whether each op (by code) needs it (:data:`REQUIRED_BY_OP`, as arrays)."""

_OFFSET = r"\d\d:\d\d(?::\d\d(?:\.\d+)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$"
"""A time that ends in a UTC offset (matched case-blind, by Arrow's RE2, in one pass)."""
_PLAIN = r"^2[01]\d\d-\d\d-\d\dT\d\d:\d\d:\d\d$"
"""A wall-clock time to the second without an offset, in years 2000-2199 (inside the documented
range): the form a log usually has, which Arrow casts exactly and fast."""
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


@dataclass(frozen=True)
class OpsLog:
    """A validated operations log, in file order: the rows as given (``raw``: a DataFrame, or
    the Arrow table of text columns a CSV file was read as), the ids as stripped text
    (``text``: ``app``, ``op``, ``user``, ``group`` as Arrow arrays, so they factorise without a
    Python list), each row's op as its index in :data:`OPS` (``op_code``), and the other
    columns parsed (``columns``: Python values, None where empty; ``group_type`` ``""``)."""

    raw: pd.DataFrame | pa.Table
    source: str
    t_ns: np.ndarray  # int64 ns since epoch
    columns: dict[str, list[Any]]
    op_code: np.ndarray
    text: dict[str, pa.Array | pa.ChunkedArray]


def read_table(
    source: str | Path | pd.DataFrame,
    what: str,
    arrow: bool = False,
    prefetched: pa.Table | None = None,
) -> tuple[pd.DataFrame | pa.Table, str]:
    """A DataFrame from a CSV/Parquet path or a DataFrame; CSV cells are read as text. With
    ``arrow``, a CSV file that Arrow reads exactly (:func:`sim.files.csvarrow.read_csv_arrow`)
    comes back as that Arrow table, without the copy into pandas; ``prefetched`` is that table
    already read (None: read here)."""
    if isinstance(source, pd.DataFrame):
        return source.reset_index(drop=True), f"<{what} DataFrame>"
    path = Path(source)
    name = str(path)
    if not path.is_file():
        raise InputError(f"{name}: {what} file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            df = pd.read_parquet(path)
        elif suffix in (".csv", ".txt"):
            table = prefetched if prefetched is not None else read_csv_arrow(path)
            names = [] if table is None else [c.strip() for c in table.column_names]
            if table is not None and arrow and len(set(names)) == len(names):
                return table.rename_columns(names), name
            df = None if table is None else to_pandas(table)
            if df is None:  # a file only pandas' reader reads as the rule says
                df = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        else:
            raise InputError(
                f"{name}: unsupported {what} file type {suffix!r}; expected .csv or .parquet"
            )
    except InputError:
        raise
    except Exception as exc:  # pandas/pyarrow parse errors: report, never a traceback
        raise InputError(f"{name}: cannot be read as {suffix[1:]} ({exc})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df, name


def _clean(series: pd.Series) -> pd.Series:
    """Values as stripped text, ``""`` where empty or missing (vectorised, pandas' string dtype:
    comparisons run in Arrow, and ``tolist()`` gives Python strings)."""
    return series.astype("string").str.strip().fillna("")


def _index_in(texts: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """Each text's position in ``names``, -1 where it is not one (in Arrow, one pass)."""
    found = pc.index_in(pa.array(texts, type=pa.large_string()), value_set=pa.array(names))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def _is_empty(texts: pd.Series) -> np.ndarray:
    """Where a cleaned text column is empty, as a numpy bool array (without an object detour)."""
    return (texts == "").to_numpy(dtype=bool, na_value=False)


def _where(source: str, row: int) -> str:
    return f"{source}: row {row + 1}"


def _first(mask: pd.Series | np.ndarray) -> int | None:
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if len(hits) else None


def parse_times(series: pd.Series, tz: dt.tzinfo, source: str, column: str = "time") -> np.ndarray:
    """A time column -> int64 ns since the epoch. Text is ISO 8601, and text without an offset
    (like a naive datetime column) is in ``tz``. Raises InputError naming the first bad row."""
    if pd.api.types.is_datetime64_any_dtype(series):
        i = _first(series.isna())
        if i is not None:
            raise InputError(f"{_where(source, i)}: column '{column}' is empty; expected a time")
        _check_range(series, source, column)
        times = series if series.dt.tz is not None else _localize(series, tz, source, column)
        return times.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    texts = _clean(series)
    empty = _first(texts == "")
    if empty is not None:
        raise InputError(
            f"{_where(source, empty)}: column '{column}' is empty; expected an ISO 8601 time"
        )
    arr = pa.array(texts, type=pa.large_string())
    plain = _plain_times(arr)
    if plain is not None:
        return _wall_ns(plain, tz, source, column)
    out = np.zeros(len(texts), dtype="int64")
    aware = pc.match_substring_regex(arr, _OFFSET, ignore_case=True)
    aware = aware.to_numpy(zero_copy_only=False).astype(bool)
    for mask, utc in ((aware, True), (~aware, False)):
        idx = np.flatnonzero(mask)
        if not len(idx):
            continue
        part = texts.iloc[idx]
        parsed = pd.to_datetime(part, format="ISO8601", errors="coerce", utc=utc)
        bad = _first(parsed.isna())
        if bad is not None:
            i = int(idx[bad])
            raise InputError(
                f"{_where(source, i)}: column '{column}': cannot parse {texts.iloc[i]!r} as "
                "an ISO 8601 time (e.g. 2024-01-10T09:00:00 or 2024-01-10T09:00:00+08:00)"
            )
        _check_range(parsed, source, column, idx)
        if not utc:
            parsed = _localize(parsed, tz, source, column, idx)
        out[idx] = parsed.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    return out


def _plain_times(arr: pa.Array | pa.ChunkedArray) -> pd.Series | None:
    """All the times as naive datetimes when every one has the :data:`_PLAIN` form and is a
    real date and time (Arrow's cast: the values ``pandas.to_datetime`` gives), else None."""
    plain = _plain_bytes(arr)
    if plain is None:  # not one chunk of 19-byte texts: ask the regex
        plain = pc.all(pc.match_substring_regex(arr, _PLAIN)).as_py()
    if not plain:
        return None
    try:
        times = arr.cast(pa.timestamp("ns"))
    except pa.ArrowInvalid:  # e.g. 2024-02-30: the general path names the row
        return None
    return pd.Series(times.to_numpy(zero_copy_only=False))


_PLAIN_LOW = np.frombuffer(b"2000-00-00T00:00:00", dtype=np.uint8)
_PLAIN_HIGH = np.frombuffer(b"2199-99-99T99:99:99", dtype=np.uint8)
"""The least and greatest byte at each position of a :data:`_PLAIN` time."""


def _plain_bytes(arr: pa.Array | pa.ChunkedArray) -> bool | None:
    """Whether every text of ``arr`` matches :data:`_PLAIN`, decided on the bytes: each
    position's least and greatest byte over the column (numpy on the Arrow buffers; a regex
    over a million times costs 0.07 s); None when a text is not 19 bytes long (ask the regex).
    Digits only in digit places and the right separators is the pattern exactly, since the
    bounds are per position (a separator's bounds are equal)."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    plain = True
    for chunk in chunks:
        buffers = text_buffers(chunk)
        if buffers is None or chunk.null_count:
            return None
        offsets, data = buffers
        if not (np.diff(offsets) == 19).all():
            return None
        start = int(offsets[0])
        cells = data[start : start + 19 * len(chunk)].reshape(len(chunk), 19)
        if len(chunk):
            low, high = cells.min(axis=0), cells.max(axis=0)
            plain &= bool((low >= _PLAIN_LOW).all() and (high <= _PLAIN_HIGH).all())
    return plain if len(arr) else None


def _wall_ns(plain: pd.Series, tz: dt.tzinfo, source: str, column: str) -> np.ndarray:
    """Naive wall-clock times in ``tz`` (checked against the documented range and the zone's
    daylight-saving changes) as int64 ns since the epoch."""
    _check_range(plain, source, column)
    local = _localize(plain, tz, source, column)
    return local.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()


def _check_range(
    times: pd.Series, source: str, column: str, rows: np.ndarray | None = None
) -> None:
    """Times (naive: wall clock; aware: any zone) must lie in the documented range
    (:mod:`sim.files.bounds`), checked before any conversion that could overflow."""
    if times.dt.tz is not None:
        lo = pd.Timestamp(bounds.EARLIEST).tz_localize("UTC")
        hi = pd.Timestamp(bounds.LATEST).tz_localize("UTC")
    else:
        lo, hi = pd.Timestamp(bounds.EARLIEST), pd.Timestamp(bounds.LATEST)
    bad = _first(((times < lo) | (times >= hi)).to_numpy(dtype=bool))
    if bad is not None:
        row = bad if rows is None else int(rows[bad])
        raise InputError(
            f"{_where(source, row)}: column '{column}': {times.iloc[bad]} is outside "
            f"{bounds.date_range_text()}"
        )


def _localize(
    times: pd.Series, tz: dt.tzinfo, source: str, column: str, rows: np.ndarray | None = None
) -> pd.Series:
    """Wall-clock times in ``tz`` -> aware; a time the zone skips (DST gap) or repeats (DST
    fold) is an error naming its row (``rows`` maps positions of ``times`` to file rows)."""
    local = times.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = _first(local.isna().to_numpy() & times.notna().to_numpy())
    if bad is not None:
        row = bad if rows is None else int(rows[bad])
        raise InputError(
            f"{_where(source, row)}: column '{column}': {times.iloc[bad]} does not exist or is "
            f"ambiguous in {tz} (a daylight-saving change); give it an offset"
        )
    return local


def _parse_bool(v: str, source: str, row: int, column: str) -> bool:
    s = v.lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise InputError(
        f"{_where(source, row)}: column '{column}': {v!r} is not a boolean; expected true or false"
    )


def _parse_int(v: str, source: str, row: int, column: str) -> int:
    try:
        f = float(v)
    except ValueError:
        f = float("nan")
    if not np.isfinite(f) or f != int(f):
        raise InputError(f"{_where(source, row)}: column '{column}': {v!r} is not a whole number")
    return int(f)


def _sparse(texts: pd.Series, parse: Any) -> list[Any]:
    """Parse only the non-empty cells of a mostly empty column; None elsewhere."""
    out: list[Any] = [None] * len(texts)
    for i in np.flatnonzero(~_is_empty(texts)).tolist():
        out[i] = parse(texts.iat[i], i)
    return out


def _problems(
    op_code: np.ndarray,
    empty: dict[str, np.ndarray],
    unknown_type: np.ndarray,
    have: set[str],
    value: Callable[[str, int], str],
) -> list[tuple[int, str]]:
    """The first row of each kind of malformed row, as (row, message): an unknown op, no app,
    a column the row's op needs left empty (:data:`REQUIRED_BY_OP`), a group of an unknown
    type created (``unknown_type``: a group type given that is not one). ``value(column, row)``
    is a cell's stripped text, for the messages."""
    problems: list[tuple[int, str]] = []
    i = _first(op_code < 0)
    if i is not None:
        problems.append(
            (i, f"column 'op': unknown op {value('op', i)!r}; expected one of {', '.join(OPS)}")
        )
    i = _first(empty["app"])
    if i is not None:
        problems.append((i, "column 'app' is empty"))
    known = op_code >= 0
    for c, needed in _NEEDED.items():
        i = _first(needed[np.where(known, op_code, 0)] & known & empty[c])
        if i is not None:
            absent = "" if c in have else " (the log has no such column)"
            problems.append((i, f"op {OPS[op_code[i]]} needs column '{c}'{absent}"))
    i = _first((op_code == OPS.index("create_group")) & unknown_type)
    if i is not None:
        types = ", ".join(GROUP_TYPES)
        problems.append(
            (
                i,
                f"column 'group_type': unknown group type {value('group_type', i)!r}; "
                f"expected one of {types}",
            )
        )
    return problems


def read_ops(source: str | Path | pd.DataFrame, tz: dt.tzinfo) -> OpsLog:
    """Read and validate an operations log (see the module docstring)."""
    return validate_ops(*read_table(source, "operations log"), tz)


def validate_ops(raw: pd.DataFrame | pa.Table, name: str, tz: dt.tzinfo) -> OpsLog:
    """Validate an operations log read by :func:`read_table` (``name``: how errors name it).

    An Arrow table (a CSV file read with ``arrow=True``) is validated in Arrow, without a
    Python value per row; when that finds anything wrong, the table goes the general (pandas)
    way below, which names the first problem as it always has."""
    if isinstance(raw, pa.Table):
        log = arrow_log(raw, name, tz)
        if log is not None:
            return log
        raw = to_pandas(raw)
    missing = [c for c in ("time", "app", "op") if c not in raw.columns]
    if missing:
        raise InputError(
            f"{name}: missing column {', '.join(repr(c) for c in missing)}; an operations "
            "log needs time, app, op (and user, group, group_type, members, edition, "
            "live_unlimited, groups_per_user, members_per_group, months as ops need them)"
        )
    none = pa.repeat(pa.scalar("", pa.large_string()), len(raw))  # an absent column
    empty = pd.Series(pd.arrays.ArrowStringArray(none), index=raw.index)
    text = {c: _clean(raw[c]) for c in ("app", "op")}
    for c in OPTIONAL_COLUMNS:
        text[c] = _clean(raw[c]) if c in raw.columns else empty
    op = text["op"]
    op_code = _index_in(op, OPS)  # -1: not an op
    empty = {c: _is_empty(text[c]) for c in ("app", "user", "group", "group_type", "edition")}
    unknown_type = ~empty["group_type"] & (_index_in(text["group_type"], GROUP_TYPES) < 0)
    problems = _problems(
        op_code, empty, unknown_type, set(raw.columns), lambda c, i: text[c].iat[i]
    )
    if problems:
        row, msg = min(problems)
        raise InputError(f"{_where(name, row)}: {msg}")
    cols: dict[str, list[Any]] = {c: text[c].tolist() for c in ("group_type", "edition")}
    cols["edition"] = [e or None for e in cols["edition"]]
    cols["live_unlimited"] = _sparse(
        text["live_unlimited"], lambda v, i: _parse_bool(v, name, i, "live_unlimited")
    )
    for c in ("groups_per_user", "members_per_group", "months"):
        cols[c] = _sparse(text[c], lambda v, i, c=c: _parse_int(v, name, i, c))
    for i, m in enumerate(cols["months"]):
        if m is not None and not 1 <= m <= bounds.MONTHS_MAX:
            raise InputError(
                f"{_where(name, i)}: column 'months': {m} is not a number of months from 1 "
                f"to {bounds.MONTHS_MAX}"
            )
    cols["members"] = _sparse(
        text["members"], lambda v, i: tuple(u.strip() for u in v.split(";") if u.strip())
    )
    cols["members"] = [m or () for m in cols["members"]]
    t_ns = parse_times(raw["time"], tz, name)
    keys = {c: _arrow_text(text[c]) for c in ("app", "op", "user", "group")}
    return OpsLog(raw=raw, source=name, t_ns=t_ns, columns=cols, op_code=op_code, text=keys)


def _arrow_text(texts: pd.Series) -> pa.Array:
    """A cleaned text column as one Arrow array."""
    arr = pa.array(texts, type=pa.large_string(), from_pandas=True)
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def read_usage(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Daily usage ``app, date, dau, groups``: validated, ``date`` as datetime.date-like text
    normalised to ``YYYY-MM-DD``, counts as int64."""
    raw, name = read_table(source, "usage")
    missing = [c for c in ("app", "date", "dau", "groups") if c not in raw.columns]
    if missing:
        raise InputError(
            f"{name}: missing column {', '.join(repr(c) for c in missing)}; a usage table "
            "needs app, date, dau, groups"
        )
    out = pd.DataFrame({"app": [str(a).strip() for a in raw["app"].tolist()]})
    dates = pd.to_datetime(raw["date"].astype(str).str.strip(), format="ISO8601", errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise InputError(
            f"{_where(name, i)}: column 'date': cannot parse {raw['date'].iloc[i]!r} "
            "as a date (YYYY-MM-DD)"
        )
    _check_range(dates, name, "date")
    out["date"] = dates.dt.strftime("%Y-%m-%d")
    for c in ("dau", "groups"):
        values = pd.to_numeric(raw[c], errors="coerce")
        bad = np.flatnonzero((values.isna() | (values < 0) | (values != values.round())).to_numpy())
        if len(bad):
            i = int(bad[0])
            raise InputError(
                f"{_where(name, i)}: column '{c}': {raw[c].iloc[i]!r} is not a "
                "non-negative whole number"
            )
        out[c] = values.astype("int64")
    return out


# -- the common case in Arrow ---------------------------------------------------------------------

_KEYS = ("app", "op", "user", "group")
_SPARSE = (
    "group_type",
    "edition",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "months",
    "members",
)


def arrow_log(table: pa.Table, name: str, tz: dt.tzinfo) -> OpsLog | None:
    """The log of an Arrow table of text columns, validated in Arrow: the ids stripped by
    Arrow's ``utf8_trim_whitespace`` (what pandas' ``str.strip`` runs on these columns), the
    mostly empty columns parsed cell by cell only where they hold text. None when a row is
    malformed: :func:`validate_ops`' general path then names the first problem, exactly as
    for any other log (time problems are named here, by the same code and in the same order).
    """
    have = set(table.column_names)
    if not {"time", "app", "op"} <= have:
        return None
    n = table.num_rows
    text = {c: _trimmed(table, c) if c in have else _blank(n) for c in _KEYS}
    op_code = pc.index_in(text["op"], value_set=pa.array(OPS)).fill_null(-1).to_numpy()
    op_code = op_code.astype(np.int64)
    cells = {c: _cells(table.column(c)) if c in have else {} for c in _SPARSE}
    empty = {c: _empty(text[c]) for c in ("app", "user", "group")}
    for c in ("group_type", "edition"):
        empty[c] = np.ones(n, dtype=bool)
        empty[c][list(cells[c])] = False
    unknown_type = np.zeros(n, dtype=bool)
    unknown_type[[r for r, t in cells["group_type"].items() if t not in GROUP_TYPES]] = True
    if _problems(op_code, empty, unknown_type, have, lambda c, i: ""):
        return None  # the general path names the problem
    try:
        columns = _parsed(cells, n, name)
    except InputError:
        return None
    t_ns = _times(table.column("time"), tz, name)
    return OpsLog(raw=table, source=name, t_ns=t_ns, columns=columns, op_code=op_code, text=text)


def _trimmed(table: pa.Table, column: str) -> pa.ChunkedArray:
    """A column stripped, and only if stripping could change it."""
    arr = table.column(column)
    return pc.utf8_trim_whitespace(arr) if any(map(maybe_padded, arr.chunks)) else arr


def _blank(n: int) -> pa.Array:
    """An absent column: ``n`` empty texts."""
    return pa.repeat(pa.scalar("", pa.large_string()), n)


def _empty(texts: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.equal(texts, "").to_numpy(zero_copy_only=False)


def _cells(column: pa.ChunkedArray) -> dict[int, str]:
    """The stripped text of the cells that hold any (usually few), by row."""
    rows = np.flatnonzero(pc.not_equal(column, "").fill_null(False).to_numpy(zero_copy_only=False))
    if not len(rows):
        return {}
    texts = pc.utf8_trim_whitespace(column.take(pa.array(rows))).to_pylist()
    cells = dict(zip(rows.tolist(), texts, strict=True))
    if "" in texts:  # cells of spaces only: empty
        cells = {r: t for r, t in cells.items() if t}
    return cells


def _parsed(cells: dict[str, dict[int, str]], n: int, name: str) -> dict[str, list[Any]]:
    """The other columns as :class:`OpsLog` holds them (InputError on a bad cell)."""
    parsers: dict[str, Any] = {
        "live_unlimited": lambda v, i: _parse_bool(v, name, i, "live_unlimited"),
        "groups_per_user": lambda v, i: _parse_int(v, name, i, "groups_per_user"),
        "members_per_group": lambda v, i: _parse_int(v, name, i, "members_per_group"),
        "months": lambda v, i: _parse_int(v, name, i, "months"),
        "members": lambda v, i: tuple(u.strip() for u in v.split(";") if u.strip()),
    }
    columns: dict[str, list[Any]] = {c: [None] * n for c in parsers}
    columns["members"] = [()] * n
    columns["group_type"] = [""] * n
    columns["edition"] = [None] * n
    for c in ("group_type", "edition"):  # texts as they are
        out = columns[c]
        for i, v in cells[c].items():
            out[i] = v
    for c, parse in parsers.items():
        out = columns[c]
        for i, v in cells[c].items():
            out[i] = parse(v, i)
    months = columns["months"]
    if any(not 1 <= months[i] <= bounds.MONTHS_MAX for i in cells["months"]):
        raise InputError(f"{name}: months out of range")  # the general path names the row
    return columns


def _times(column: pa.ChunkedArray, tz: dt.tzinfo, name: str) -> np.ndarray:
    """The time column as int64 ns since the epoch: straight from Arrow when every time has
    the :data:`_PLAIN` form (nothing to strip then), else by :func:`parse_times`."""
    plain = _plain_times(column)
    if plain is not None:
        return _wall_ns(plain, tz, name, "time")
    return parse_times(to_pandas(pa.table({"time": column}))["time"], tz, name)
