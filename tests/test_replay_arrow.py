"""A CSV log read by Arrow is validated, decided and written without pandas holding its rows
(``sim replay``'s path), and gives what the general (pandas) path gives: the same tables, the
same bytes, the same one-line error for a malformed log.

The general path is forced by switching the Arrow validation off (``arrow_log`` returning
None), so both paths read the same file and name it alike.
"""

from __future__ import annotations

import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.cli.app as app
import sim.files.opslog as opslog
from sim.cli.app import main
from sim.errors import InputError
from sim.files.csvarrow import maybe_padded
from sim.files.fastcsv import read_csv_fast, write_csv_arrow, write_csv_fast
from sim.replayer import replay, replay_tables
from tests.test_replay_workers import seeded_log


def general(path: Path, **kwargs: object) -> object:
    """The replay of ``path`` by the general (pandas) validation."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(opslog, "arrow_log", lambda *a: None)
        return replay(path, **kwargs)


def result_or_error(run: object) -> object:
    try:
        r = run()
    except InputError as exc:
        return str(exc)
    return [getattr(r, name).to_dict("list") for name in ("outcomes", "timeline", "bills")]


def assert_same(a: object, b: object) -> None:
    for name in ("outcomes", "timeline", "purchases", "bills"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def write(tmp_path: Path, df: pd.DataFrame, name: str = "ops.csv") -> Path:
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("seed", [1, 2])
def test_arrow_path_gives_the_general_paths_tables(tmp_path, seed):
    path = write(tmp_path, seeded_log(3000, seed))
    fast = replay_tables(path)
    assert isinstance(fast.outcomes, pa.Table)  # the path under test was taken
    assert_same(fast.result(), general(path))


def test_arrow_path_with_padding_unicode_formulas_and_disorder(tmp_path):
    """Cells with spaces after them, non-ASCII names (one padded with an ideographic
    space), cells a spreadsheet would run, times out of order and with offsets."""
    log = seeded_log(600, 4, n_apps=4)
    log.loc[3, "app"] = log.loc[3, "app"] + " \u3000"  # (a leading space: pandas' reader)
    log.loc[log["app"] == "app1", "app"] = "应用一"
    log.loc[5, "user"] = "=HYPERLINK(1)"
    log.loc[7, "op"] = log.loc[7, "op"] + " "
    log.loc[30, "time"] = "2024-01-01T08:00:00+08:00"
    late = pd.DataFrame(  # at the end of the file, early in time: the log is out of order
        {"time": ["2024-01-01T00:00:00", "2024-01-01T00:00:01"], "app": "late"}
        | {"op": ["create_app", "register_user"], "user": ["", "u1"]}
    )
    log = pd.concat([log, late], ignore_index=True).fillna("")
    path = write(tmp_path, log)
    fast = replay_tables(path)
    assert isinstance(fast.outcomes, pa.Table)
    assert_same(fast.result(), general(path))


def test_cli_writes_the_bytes_of_the_pandas_writer(tmp_path):
    """outcomes.csv from the Arrow table is byte for byte what the pandas route writes for
    the same log (formula-safe cells included)."""
    log = seeded_log(2000, 5)
    log.loc[4, "user"] = "-cmd"
    log.loc[9, "group"] = "@sum"
    path = write(tmp_path, log)
    assert main(["replay", str(path), "--out", str(tmp_path / "out")]) == 0
    written = (tmp_path / "out" / "outcomes.csv").read_bytes()
    expected = tmp_path / "expected.csv"
    assert write_csv_fast(general(path).outcomes, expected)
    assert written == expected.read_bytes()
    assert b"'-cmd" in written and b"'@sum" in written


MALFORMED = [
    ("op", 3, "jump"),
    ("app", 4, "  "),
    ("user", 6, ""),
    ("group_type", None, "Castle"),  # on the first create_group row
    ("time", 5, "2024-13-01T00:00:00"),
    ("time", 5, "yesterday"),
    ("time", 8, "2024-03-10T02:30:00"),  # in a daylight-saving gap (America/New_York)
    ("months", 9, "0"),
    ("members_per_group", 9, "lots"),
]


@pytest.mark.parametrize(("column", "row", "value"), MALFORMED)
def test_malformed_log_fails_alike(tmp_path, column, row, value):
    log = seeded_log(40, 6, n_apps=3)
    if row is None:
        row = int(np.flatnonzero(log["op"] == "create_group")[0])
    log[column] = log.get(column, "")
    log[column] = log[column].astype(object)
    log.loc[row, column] = value
    if column == "user":
        log.loc[row, "op"] = "join_group"
    path = write(tmp_path, log)
    catalog = {"overrides": ["timezone=America/New_York"]}
    fast = result_or_error(lambda: replay(path, **catalog))
    assert isinstance(fast, str), "the malformed row was not found"
    assert fast == result_or_error(lambda: general(path, **catalog))
    assert f"row {row + 1}" in fast


CELL = st.text(alphabet=" \t\u3000\xa0ab=;-:0123456789T" + "\u00e9", max_size=6)


@st.composite
def text_logs(draw: st.DrawFn) -> pd.DataFrame:
    """Short logs whose cells are any short text around valid values (padding, empties,
    non-ASCII whitespace, unknown ops, bad times): valid and malformed logs."""
    n = draw(st.integers(1, 12))
    ops = st.sampled_from(("create_app", "create_group", "join_group", "register_user", "upg"))
    pad = st.sampled_from(("", " ", "\t", "\u3000"))
    rows = []
    for _ in range(n):
        time = f"2024-01-0{draw(st.integers(1, 3))}T0{draw(st.integers(0, 9))}:00:00"
        rows.append(
            {
                "time": draw(st.sampled_from((time, time + "+08:00", draw(CELL)))),
                "app": draw(pad) + draw(st.sampled_from(("a", "b", "应用"))) + draw(pad),
                "op": draw(pad) + draw(ops),
                "user": draw(st.one_of(st.sampled_from(("u1", "u2")), CELL)),
                "group": draw(st.sampled_from(("g1", "g2", " g1", ""))),
                "group_type": draw(st.sampled_from(("Work", "AVChatRoom", " Work", "", "x"))),
                "months": draw(st.sampled_from(("", "1", " 2", "x"))),
            }
        )
    return pd.DataFrame(rows)


@settings(max_examples=150, deadline=None)
@given(text_logs())
def test_any_small_csv_log_same_on_both_paths(tmp_path_factory, log):
    path = write(tmp_path_factory.mktemp("log"), log)
    if read_csv_fast(path) is None:  # a file Arrow does not read exactly: not this path
        return
    assert result_or_error(lambda: replay(path)) == result_or_error(lambda: general(path))


# -- the byte-level shortcuts ---------------------------------------------------------------------

TIMES = st.text(alphabet="0123456789-T: 2Z+", min_size=17, max_size=21)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(TIMES, st.just("2024-01-10T09:00:00")), min_size=1, max_size=5))
def test_plain_time_check_on_bytes_is_the_regex(times):
    regex = all(re.fullmatch(opslog._PLAIN.strip("^$"), t) for t in times)
    decided = opslog._plain_bytes(pa.array(times))
    if decided is not None:
        assert decided == regex


@settings(max_examples=400, deadline=None)
@given(st.lists(st.text(max_size=5), min_size=1, max_size=6))
def test_a_column_said_unpadded_strips_to_itself(texts):
    arr = pa.array(texts)
    if not maybe_padded(arr):
        assert pc.utf8_trim_whitespace(arr).to_pylist() == texts
        assert [t.strip() for t in texts] == texts


def test_arrow_trim_is_python_strip_for_every_code_point():
    """What the Arrow path strips with is pandas' ``str.strip`` on Arrow text, and Python's."""
    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    trimmed = pc.utf8_trim_whitespace(pa.array([chr(c) for c in points])).to_pylist()
    assert [c for c, t in zip(points, trimmed, strict=True) if (t == "") != chr(c).isspace()] == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="=+-@\t\rab1", max_size=4), min_size=2, max_size=6))
def test_arrow_writer_writes_the_pandas_writers_bytes(tmp_path_factory, texts):
    folder = tmp_path_factory.mktemp("csv")
    table = pa.table({"a": texts, "n": np.arange(len(texts)), "ok": [True] * len(texts)})
    df = table.to_pandas(types_mapper={pa.string(): pd.StringDtype("pyarrow", np.nan)}.get)
    wrote_arrow = write_csv_arrow(table, folder / "a.csv")
    wrote_pandas = write_csv_fast(df, folder / "p.csv")
    assert wrote_arrow == wrote_pandas
    if wrote_arrow:
        assert (folder / "a.csv").read_bytes() == (folder / "p.csv").read_bytes()


def test_a_log_with_outcome_column_names_keeps_their_place(tmp_path):
    """A log that already has ``ok`` or ``note`` columns: they are replaced where they stand,
    as assigning a DataFrame column does."""
    log = seeded_log(200, 7, n_apps=3)
    log.insert(1, "note", "from the log")
    log["ok"] = "?"
    path = write(tmp_path, log)
    fast = replay_tables(path)
    assert isinstance(fast.outcomes, pa.Table)
    assert fast.outcomes.column_names[1] == "note"
    assert fast.outcomes.column_names[-3:] == ["ok", "error_code", "reason"]
    assert_same(fast.result(), general(path))


def test_the_csv_reader_imports_no_pandas():
    """sim replay reads its log on another thread while pandas imports: the reader must not
    import it."""
    code = "import sys, sim.files.csvarrow; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_failed_read_ahead_leaves_the_reading_to_the_replay(tmp_path):
    """A log the read-ahead cannot read (not UTF-8 here) is read by the replay itself, which
    names the problem: exit 2, one line."""
    path = tmp_path / "ops.csv"
    path.write_bytes(b"time,app,op\n2024-01-01T00:00:00,\xff\xfe,create_app\n")
    with ThreadPoolExecutor(1) as pool:
        assert app._table_read(pool.submit(lambda: 1 / 0)) is None  # an error: read again
        assert app._table_read(app._read_ahead(pool, path)) is None  # Arrow declines it
    assert main(["replay", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
