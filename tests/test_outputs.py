"""The output layer: the CSV formatting rule, atomic writes, determinism (sim.files.outputs)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sim.errors import SimError
from sim.files.outputs import format_timestamp, to_csv_frame, write_json, write_table, write_tables

TZ = "Asia/Shanghai"


def _csv(df: pd.DataFrame) -> list[str]:
    return to_csv_frame(df).to_csv(index=False, lineterminator="\n").splitlines()


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "app": ["atlas", "beacon", "comet"],
            "ok": [True, False, True],
            "error_code": pd.array([0, 10037, None], dtype="Int64"),
            "start": pd.to_datetime(
                ["2024-01-10 09:00:00", "2024-01-10 09:00:00.25", None], format="ISO8601"
            ).tz_localize(TZ),
            "amount": [449.99, np.nan, 0.5],
            "reason": ["", "user_group_limit", None],
        }
    )


# -- formatting -----------------------------------------------------------------------------------


def test_bools_print_true_false():
    df = pd.DataFrame({"ok": [True, False], "maybe": pd.array([None, True], dtype="boolean")})
    assert _csv(df) == ["ok,maybe", "true,", "false,true"]


def test_tz_aware_timestamps_print_iso_with_offset_to_the_second():
    df = pd.DataFrame(
        {"t": pd.to_datetime(["2024-01-10 09:00", None], format="ISO8601").tz_localize(TZ)}
    )
    assert _csv(df) == ["t", "2024-01-10T09:00:00+08:00", '""']


def test_sub_second_part_is_kept():
    t = pd.Series(
        pd.to_datetime(["2024-01-10 09:00:00.5", "2024-01-10 09:00:00.000000001"], format="ISO8601")
    ).dt.tz_localize(TZ)
    assert _csv(pd.DataFrame({"t": t}))[1:] == [
        "2024-01-10T09:00:00.500000+08:00",
        "2024-01-10T09:00:00.000000001+08:00",
    ]


def test_offset_follows_each_instant_across_daylight_saving():
    t = pd.Series(pd.date_range("2024-03-30", periods=2, freq="2D", tz="Europe/Berlin"))
    assert _csv(pd.DataFrame({"t": t}))[1:] == [
        "2024-03-30T00:00:00+01:00",
        "2024-04-01T00:00:00+02:00",
    ]


def test_format_timestamp_one_instant():
    assert format_timestamp(pd.Timestamp("2024-01-10 09:00", tz=TZ)) == "2024-01-10T09:00:00+08:00"
    assert format_timestamp(pd.NaT) == ""
    assert format_timestamp(None) == ""


def test_missing_values_print_empty_and_nullable_ints_stay_ints():
    lines = _csv(_table()[["error_code", "amount", "reason"]])
    assert lines == ["error_code,amount,reason", "0,449.99,", "10037,,user_group_limit", ",0.5,"]


def test_object_columns_are_formatted_cell_by_cell():
    df = pd.DataFrame(
        {"v": [True, None, Decimal("449.99"), pd.Timestamp("2024-01-10 09:00", tz=TZ), "x"]}
    )
    assert _csv(df)[1:] == ["true", '""', "449.99", "2024-01-10T09:00:00+08:00", "x"]


def test_naive_date_column_prints_dates():
    df = pd.DataFrame({"date": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    assert _csv(df)[1:] == ["2024-01-01", "2024-01-02"]


def test_input_frame_is_not_modified():
    df = _table()
    before = df.copy()
    to_csv_frame(df)
    pd.testing.assert_frame_equal(df, before)


# -- writing --------------------------------------------------------------------------------------


def test_write_tables_writes_csv_and_parquet(tmp_path):
    out = tmp_path / "a" / "b"
    df = _table()
    paths = write_tables(out, {"t.csv": df, "t.parquet": df})
    assert paths == [out / "t.csv", out / "t.parquet"]
    assert (out / "t.csv").read_text().splitlines()[:2] == [
        "app,ok,error_code,start,amount,reason",
        "atlas,true,0,2024-01-10T09:00:00+08:00,449.99,",
    ]
    back = pd.read_parquet(out / "t.parquet")
    assert back["start"].dt.tz is not None
    assert list(back["ok"]) == [True, False, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a"]  # no temp dir left behind


def test_write_tables_is_deterministic(tmp_path):
    df = _table()
    write_tables(tmp_path / "one", {"t.csv": df, "t.parquet": df})
    write_tables(tmp_path / "two", {"t.csv": df.copy(), "t.parquet": df.copy()})
    for name in ("t.csv", "t.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


class _Unserialisable:
    def __str__(self) -> str:
        raise RuntimeError("cannot serialise")


def _broken() -> pd.DataFrame:
    return pd.DataFrame({"x": [_Unserialisable()]})


def test_failure_mid_write_leaves_nothing(tmp_path):
    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError, match="cannot serialise"):
        write_tables(out, {"a.csv": _table(), "b.csv": _broken(), "c.csv": _table()})
    assert list(tmp_path.iterdir()) == []  # neither out, nor its new parent, nor a temp dir


def test_failure_keeps_existing_files_untouched(tmp_path):
    out = tmp_path / "out"
    write_tables(out, {"a.csv": _table()})
    before = (out / "a.csv").read_bytes()
    with pytest.raises(RuntimeError):
        write_tables(out, {"a.csv": _table().iloc[:1], "b.csv": _broken()})
    assert (out / "a.csv").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]


def test_unsupported_suffix_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="suffix"):
        write_tables(tmp_path / "out", {"a.xlsx": _table()})
    assert not (tmp_path / "out").exists()


def test_out_dir_that_is_a_file_is_a_sim_error(tmp_path):
    (tmp_path / "out").write_text("")
    with pytest.raises(SimError, match="not a directory"):
        write_tables(tmp_path / "out", {"a.csv": _table()})


def test_write_table_one_file(tmp_path):
    path = write_table(tmp_path / "x" / "t.csv", _table())
    assert path.read_text().startswith("app,ok,")


def test_write_json_is_atomic_and_sorted(tmp_path):
    path = tmp_path / "d" / "summary.json"
    obj = {"b": Decimal("1.10"), "a": np.int64(3), "t": pd.Timestamp("2024-01-10 09:00", tz=TZ)}
    write_json(path, obj)
    text = path.read_text()
    assert json.loads(text) == {"a": 3, "b": "1.10", "t": "2024-01-10T09:00:00+08:00"}
    assert text.endswith("\n") and text.index('"a"') < text.index('"b"')
    write_json(path, {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["summary.json"]


def test_write_json_failure_leaves_nothing(tmp_path):
    with pytest.raises(TypeError):
        write_json(tmp_path / "s.json", {"x": object()})
    assert list(tmp_path.iterdir()) == []


# -- safe text (issue 14 point 4) -----------------------------------------------------------------


def test_text_a_spreadsheet_would_run_gets_an_apostrophe():
    df = pd.DataFrame(
        {
            "app": ["=1+1", "+cmd", "-x", "@SUM(A1)", "\tt", "\rr", "a=b", "-5", "+1.5", "-.5e3"],
            "n": [-1, -2, 3, 4, 5, 6, 7, 8, 9, 10],
        }
    )
    text = to_csv_frame(df).to_csv(index=False, lineterminator="\n")
    rows = [line.split(",") for line in text.split("\n")[1:-1]]
    assert [r[0] for r in rows] == [
        "'=1+1",
        "'+cmd",
        "'-x",
        "'@SUM(A1)",
        "'\tt",
        "'\rr",
        "a=b",
        "-5",  # plain numbers are not formulas
        "+1.5",
        "-.5e3",
    ]
    assert [r[1] for r in rows][:2] == ["-1", "-2"]


def test_safe_text_in_string_and_mixed_columns_only_for_text_cells():
    df = pd.DataFrame(
        {
            "s": pd.array(["=x", "ok", None], dtype="string"),
            "mixed": ["=y", Decimal("-12.50"), True],
        }
    )
    assert _csv(df)[1:] == ["'=x,'=y", "ok,-12.50", ",true"]
