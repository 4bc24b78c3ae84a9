"""Reading operations logs (sim.files.opslog) and the replay's input contract (sim.replayer).

The contract: operations apply in time order (ties in file order); a time without an offset is
in the catalog's zone (Asia/Shanghai unless the catalog says otherwise); a malformed log (a
missing column, an unknown op or group type, an unparseable time, an operation on a group that
no create_group row creates) raises ``sim.errors.InputError`` naming its row (1-based data row)
and what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

import sim.replayer
from sim.errors import InputError, SimError
from sim.files.opslog import read_ops
from sim.replayer import replay

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def ns(text: str) -> int:
    stamp = pd.Timestamp(text)
    assert stamp.tzinfo is not None
    return int(stamp.value)


def row(n: int) -> str:
    """A regex matching 'row <n>' and not 'row <n>0'."""
    return rf"\brow {n}\b"


@pytest.fixture(autouse=True)
def _no_billing(monkeypatch):
    """Billing is tested elsewhere; replay here only for outcomes and timeline."""
    monkeypatch.setattr(sim.replayer, "_bill", lambda *args, **kwargs: pd.DataFrame())


def ops(*rows: dict) -> pd.DataFrame:
    """A log from dict rows; absent keys are empty cells."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    return pd.DataFrame([{c: r.get(c) for c in cols} for r in rows], columns=cols)


def create(time: str, app: str = "a") -> dict:
    return {"time": time, "app": app, "op": "create_app"}


# -- times ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-10T09:00:00", "2024-01-10T09:00:00+08:00"),  # no offset: the catalog's zone
        ("2024-01-10T09:00", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10 09:00:00", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10", "2024-01-10T00:00:00+08:00"),
        ("2024-01-10T09:00:00+08:00", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10T09:00:00+0800", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10T01:00:00Z", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10T01:00:00+00:00", "2024-01-10T09:00:00+08:00"),
        ("2024-01-09T20:00:00-05:00", "2024-01-10T09:00:00+08:00"),
        ("2024-01-10T09:00:00.5", "2024-01-10T09:00:00.5+08:00"),
        ("2024-01-10T09:00:00.123456789+08:00", "2024-01-10T09:00:00.123456789+08:00"),
    ],
)
def test_times(text, expected):
    log = read_ops(ops({"time": text, "app": "a", "op": "create_app"}), SHANGHAI)
    assert int(log.t_ns[0]) == ns(expected)


def test_fractional_seconds_keep_nanoseconds():
    log = read_ops(
        ops(create("2024-01-10T09:00:00.000000001"), create("2024-01-10T09:00")), SHANGHAI
    )
    assert int(log.t_ns[0]) - int(log.t_ns[1]) == 1


def test_offsets_may_differ_from_row_to_row():
    log = read_ops(
        ops(
            create("2024-01-10T09:00+08:00"),
            create("2024-01-10T01:00Z"),
            create("2024-01-10T09:00"),
        ),
        SHANGHAI,
    )
    assert log.t_ns.tolist() == [ns("2024-01-10T09:00:00+08:00")] * 3


def test_times_without_offset_follow_the_zone_given_summer_and_winter():
    log = read_ops(ops(create("2024-01-10T09:00"), create("2024-07-10T09:00")), BERLIN)
    assert log.t_ns.tolist() == [ns("2024-01-10T09:00+01:00"), ns("2024-07-10T09:00+02:00")]


@pytest.mark.parametrize(
    "bad",
    ["garbage", "2024-02-30T10:00", "2024-01-10T25:00+08:00", "10/01/2024 09:00", "2024-13-01"],
)
def test_unparseable_time_names_its_row(bad):
    log = ops(create("2024-01-10T09:00"), create("2024-01-10T10:00"), create(bad))
    with pytest.raises(InputError, match=row(3)) as info:
        read_ops(log, SHANGHAI)
    assert "time" in str(info.value)
    assert "ISO 8601" in str(info.value)


def test_empty_time_names_its_row():
    log = ops(create("2024-01-10T09:00"), {"time": None, "app": "a", "op": "deactivate"})
    with pytest.raises(InputError, match=row(2)):
        read_ops(log, SHANGHAI)


@pytest.mark.parametrize(
    "local",
    [
        "2024-03-31T02:30",  # Europe/Berlin jumps 02:00 -> 03:00: does not exist
        "2024-10-27T02:30",  # Europe/Berlin falls back 03:00 -> 02:00: happens twice
    ],
)
def test_local_time_the_zone_cannot_place_names_its_row(local):
    """Without an offset, these Europe/Berlin wall-clock times cannot be turned into one instant;
    the error must say which row (the 3rd; the 1st has an offset, so rows without one are not
    numbered from 1 among themselves)."""
    log = ops(create("2024-03-30T09:00+01:00"), create("2024-03-30T10:00"), create(local))
    with pytest.raises(InputError, match=row(3)):
        read_ops(log, BERLIN)


def test_parquet_naive_time_the_zone_skips_names_its_row(tmp_path: Path):
    df = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-03-30 09:00", "2024-03-31 02:30"]),
            "app": ["a", "a"],
            "op": ["create_app", "deactivate"],
        }
    )
    path = tmp_path / "ops.parquet"
    df.to_parquet(path)
    with pytest.raises(InputError, match=row(2)):
        read_ops(path, BERLIN)


def test_nonexistent_local_time_is_an_input_error():
    log = ops(create("2024-03-31T02:30"))
    with pytest.raises(InputError, match="time"):
        read_ops(log, BERLIN)


# -- booleans, numbers, member lists --------------------------------------------------------------


def _upgrades(**columns: list) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame(
        {"time": ["2024-01-10T09:00"] * n, "app": ["a"] * n, "op": ["upgrade"] * n}
        | {"edition": ["Pro"] * n}
        | columns
    )


def test_booleans():
    texts = ["true", "TRUE", "True", "1", "yes", "false", "False", "0", "no", "", None]
    log = read_ops(_upgrades(live_unlimited=texts), SHANGHAI)
    assert log.columns["live_unlimited"] == [True] * 5 + [False] * 4 + [None, None]


@pytest.mark.parametrize("bad", ["maybe", "2", "on-ish"])
def test_bad_boolean_names_row_and_column(bad):
    log = _upgrades(live_unlimited=["true", "false", bad])
    with pytest.raises(InputError, match=row(3)) as info:
        read_ops(log, SHANGHAI)
    assert "live_unlimited" in str(info.value)


def test_whole_numbers():
    log = read_ops(_upgrades(groups_per_user=["1000", "1000.0", "", None]), SHANGHAI)
    assert log.columns["groups_per_user"] == [1000, 1000, None, None]


@pytest.mark.parametrize("column", ["groups_per_user", "members_per_group", "months"])
@pytest.mark.parametrize("bad", ["10.5", "abc", "inf"])
def test_bad_number_names_row_and_column(column, bad):
    log = _upgrades(**{column: ["1000", bad]})
    with pytest.raises(InputError, match=row(2)) as info:
        read_ops(log, SHANGHAI)
    assert column in str(info.value)


@pytest.mark.parametrize("months", ["0", "-1"])
def test_months_must_be_positive(months):
    log = ops(
        {
            "time": "2024-01-10T09:00",
            "app": "a",
            "op": "buy_prepaid",
            "edition": "Pro",
            "months": "2",
        },
        {
            "time": "2024-01-10T09:00",
            "app": "a",
            "op": "buy_prepaid",
            "edition": "Pro",
            "months": months,
        },
    )
    with pytest.raises(InputError, match=row(2)):
        read_ops(log, SHANGHAI)


def test_members_lists():
    base = {"time": "2024-01-10T09:00", "app": "a", "op": "create_group", "user": "o"}
    log = read_ops(
        ops(
            base | {"group": "g1", "group_type": "Work", "members": "u1;u2"},
            base | {"group": "g2", "group_type": "Work", "members": " u1 ; u2;;u3; "},
            base | {"group": "g3", "group_type": "Public", "members": ""},
            base | {"group": "g4", "group_type": "Meeting", "members": None},
            base | {"group": "g5", "group_type": "AVChatRoom", "members": "solo"},
        ),
        SHANGHAI,
    )
    assert log.columns["members"] == [("u1", "u2"), ("u1", "u2", "u3"), (), (), ("solo",)]


# -- malformed logs -------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["time", "app", "op"])
def test_missing_column(missing):
    log = ops(create("2024-01-10T09:00")).drop(columns=[missing])
    with pytest.raises(InputError, match=re.escape(repr(missing))):
        read_ops(log, SHANGHAI)


def test_unknown_op_names_row_and_expected_ops():
    log = ops(create("2024-01-10T09:00"), {"time": "2024-01-10T10:00", "app": "a", "op": "explode"})
    with pytest.raises(InputError, match=row(2)) as info:
        read_ops(log, SHANGHAI)
    message = str(info.value)
    assert "explode" in message
    assert "create_group" in message and "buy_prepaid" in message  # what was expected


@pytest.mark.parametrize("gtype", ["Private", "ChatRoom", "work", None])
def test_unknown_or_missing_group_type_names_row(gtype):
    base = {"time": "2024-01-10T09:00", "app": "a", "op": "create_group", "user": "o"}
    log = ops(create("2024-01-10T08:00"), base | {"group": "g", "group_type": gtype})
    with pytest.raises(InputError, match=row(2)) as info:
        read_ops(log, SHANGHAI)
    assert "group_type" in str(info.value)


@pytest.mark.parametrize(
    ("op", "needs"),
    [
        ("upgrade", "edition"),
        ("buy_prepaid", "edition"),
        ("register_user", "user"),
        ("join_group", "group"),
        ("leave_group", "user"),
    ],
)
def test_op_without_a_needed_value_names_row_and_column(op, needs):
    good = {"time": "2024-01-10T09:00", "app": "a", "op": op, "edition": "Pro", "user": "u"}
    good["group"] = "g"
    bad = dict(good, **{needs: None})
    with pytest.raises(InputError, match=row(3)) as info:
        read_ops(ops(create("2024-01-10T08:00"), good, bad), SHANGHAI)
    assert needs in str(info.value)


def test_empty_app_names_row():
    log = ops(
        create("2024-01-10T09:00"), {"time": "2024-01-10T10:00", "app": None, "op": "create_app"}
    )
    with pytest.raises(InputError, match=row(2)):
        read_ops(log, SHANGHAI)


@pytest.mark.parametrize("op", ["join_group", "leave_group", "dissolve_group"])
def test_op_on_a_group_no_create_group_row_creates(op):
    log = ops(
        create("2024-01-10T09:00"),
        {"time": "2024-01-10T09:05", "app": "a", "op": "create_group", "user": "o", "group": "g"}
        | {"group_type": "Work"},
        {"time": "2024-01-10T09:10", "app": "a", "op": op, "user": "u", "group": "nope"},
    )
    with pytest.raises(InputError, match=row(3)) as info:
        replay(log)
    assert "nope" in str(info.value)
    assert "create_group" in str(info.value)  # what was expected


def test_a_group_is_created_per_app():
    """A create_group row for group g of app b does not create group g of app a."""
    log = ops(
        create("2024-01-10T09:00", "a"),
        create("2024-01-10T09:00", "b"),
        {"time": "2024-01-10T09:05", "app": "b", "op": "create_group", "user": "o", "group": "g"}
        | {"group_type": "Work"},
        {"time": "2024-01-10T09:10", "app": "a", "op": "join_group", "user": "u", "group": "g"},
    )
    with pytest.raises(InputError, match=row(4)):
        replay(log)


def test_a_group_whose_creation_was_refused_is_not_found_not_malformed():
    """A create_group row that the engine refuses still 'creates' the group as far as the log
    is concerned: a later join is refused (10010), not a malformed log. Community on IM is
    refused with 10059."""
    log = ops(
        create("2024-01-10T09:00"),
        {"time": "2024-01-10T09:05", "app": "a", "op": "create_group", "user": "o", "group": "g"}
        | {"group_type": "Community"},
        {"time": "2024-01-10T09:10", "app": "a", "op": "join_group", "user": "u", "group": "g"},
    )
    out = replay(log).outcomes
    assert out["error_code"].tolist() == [0, 10059, 10010]
    assert out["ok"].tolist() == [True, False, False]


def test_row_numbers_are_data_rows_of_a_csv_file(tmp_path: Path):
    """Row N is the N-th data row, i.e. line N+1 of the file (the header is line 1)."""
    path = tmp_path / "ops.csv"
    path.write_text(
        "time,app,op,user,group,group_type\n"
        "2024-01-10T09:00,a,create_app,,,\n"
        "2024-01-10T09:01,a,register_user,u1,,\n"
        "2024-01-10T09:02,a,create_group,u1,g,Private\n"
    )
    with pytest.raises(InputError, match=row(3)) as info:
        read_ops(path, SHANGHAI)
    assert str(path) in str(info.value)


def test_missing_file_and_unsupported_type(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        read_ops(tmp_path / "nope.csv", SHANGHAI)
    bad = tmp_path / "ops.xlsx"
    bad.write_text("x")
    with pytest.raises(InputError, match="unsupported"):
        read_ops(bad, SHANGHAI)


def test_input_error_is_a_sim_error():
    assert issubclass(InputError, SimError)


# -- Parquet --------------------------------------------------------------------------------------


def _typed_log() -> pd.DataFrame:
    """A log with native types, as Parquet keeps them: booleans, floats with NaN, None."""
    return pd.DataFrame(
        {
            "time": ["2024-01-10T09:00", "2024-01-10T10:00+08:00", "2024-01-10T02:30Z"],
            "app": ["a", "a", "a"],
            "op": ["create_app", "upgrade", "create_group"],
            "user": [None, None, "o"],
            "group": [None, None, "g"],
            "group_type": [None, None, "Work"],
            "members": [None, None, "u1;u2"],
            "edition": [None, "Pro", None],
            "live_unlimited": pd.array([None, True, None], dtype="boolean"),
            "groups_per_user": [np.nan, 1000.0, np.nan],
            "members_per_group": pd.array([None, 2000, None], dtype="Int64"),
        }
    )


def test_parquet_log(tmp_path: Path):
    path = tmp_path / "ops.parquet"
    _typed_log().to_parquet(path)
    log = read_ops(path, SHANGHAI)
    assert log.t_ns.tolist() == [
        ns("2024-01-10T09:00+08:00"),
        ns("2024-01-10T10:00+08:00"),
        ns("2024-01-10T10:30+08:00"),
    ]
    c = log.columns
    assert c["live_unlimited"] == [None, True, None]
    assert c["groups_per_user"] == [None, 1000, None]
    assert c["members_per_group"] == [None, 2000, None]
    assert c["members"] == [(), (), ("u1", "u2")]
    assert c["edition"] == [None, "Pro", None]


def test_parquet_native_time_columns(tmp_path: Path):
    """A Parquet time column of datetimes: naive ones are wall-clock time in the catalog's
    zone, aware ones are the instants they say."""
    naive = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-10 09:00", "2024-07-10 09:00"]),
            "app": ["a", "a"],
            "op": ["create_app", "deactivate"],
        }
    )
    path = tmp_path / "naive.parquet"
    naive.to_parquet(path)
    assert read_ops(path, BERLIN).t_ns.tolist() == [
        ns("2024-01-10T09:00+01:00"),
        ns("2024-07-10T09:00+02:00"),
    ]
    aware = naive.assign(time=naive["time"].dt.tz_localize("UTC"))
    path = tmp_path / "aware.parquet"
    aware.to_parquet(path)
    assert read_ops(path, BERLIN).t_ns.tolist() == [
        ns("2024-01-10T09:00Z"),
        ns("2024-07-10T09:00Z"),
    ]


def test_parquet_and_csv_replay_alike(tmp_path: Path):
    df = _typed_log()
    pq = tmp_path / "ops.parquet"
    df.to_parquet(pq)
    csv = tmp_path / "ops.csv"
    df.to_csv(csv, index=False)
    a = replay(pq).outcomes
    b = replay(csv).outcomes
    assert a["ok"].tolist() == b["ok"].tolist() == [True, True, True]
    assert a["error_code"].tolist() == b["error_code"].tolist()


def test_malformed_parquet_names_its_row(tmp_path: Path):
    df = _typed_log()
    df.loc[2, "group_type"] = "Private"
    path = tmp_path / "ops.parquet"
    df.to_parquet(path)
    with pytest.raises(InputError, match=row(3)):
        read_ops(path, SHANGHAI)


# -- replay order and zone ------------------------------------------------------------------------


def test_operations_apply_in_time_order_outcomes_in_file_order():
    """The upgrade row comes first in the file but an hour later: it applies after create_app
    (R1: from IM, fine). Outcomes keep the file's order."""
    log = ops(
        {"time": "2024-01-10T10:00", "app": "a", "op": "upgrade", "edition": "Pro"},
        create("2024-01-10T09:00"),
    )
    out = replay(log).outcomes
    assert out["op"].tolist() == ["upgrade", "create_app"]
    assert out["ok"].tolist() == [True, True]


def test_ties_apply_in_file_order():
    """Same instant (written in two notations): the upgrade is first in the file, so it meets
    an app that does not exist yet."""
    log = ops(
        {"time": "2024-01-10T01:00Z", "app": "a", "op": "upgrade", "edition": "Pro"},
        create("2024-01-10T09:00"),
        {"time": "2024-01-10T09:00+08:00", "app": "a", "op": "downgrade"},
    )
    out = replay(log).outcomes
    assert out["reason"].tolist() == ["unknown_app", "", ""]


def test_times_without_offset_are_in_the_catalogs_zone():
    """R9 in the catalog's zone: 2024-01-31T23:30 and 2024-02-01T00:10 (no offset, so
    Asia/Shanghai) are in different months, so two edition changes are both allowed; the same
    instants with explicit +08:00 alike. Under a catalog in UTC they are 15:30Z and 16:10Z on
    2024-01-31, one month: the second change is refused (monthly_limit)."""
    base = [
        create("2024-01-10T09:00"),
        {"time": "2024-01-10T09:00", "app": "a", "op": "upgrade", "edition": "Pro"},
    ]
    local = ops(
        *base,
        {"time": "2024-01-31T23:30", "app": "a", "op": "reconfigure", "edition": "Ultimate"},
        {"time": "2024-02-01T00:10", "app": "a", "op": "reconfigure", "edition": "Pro"},
    )
    assert replay(local).outcomes["reason"].tolist() == ["", "", "", ""]
    offset = ops(
        *base,
        {"time": "2024-01-31T23:30+08:00", "app": "a", "op": "reconfigure", "edition": "Ultimate"},
        {"time": "2024-02-01T00:10+08:00", "app": "a", "op": "reconfigure", "edition": "Pro"},
    )
    assert replay(offset).outcomes["reason"].tolist() == ["", "", "", ""]
    utc = replay(offset, overrides=["timezone=UTC"]).outcomes
    assert utc["reason"].tolist() == ["", "", "", "monthly_limit"]


def test_catalog_zone_decides_what_a_time_without_offset_means():
    """Under a Europe/Berlin catalog, '2024-07-10T09:00' is 07:00Z; the timeline starts there."""
    tl = replay(ops(create("2024-07-10T09:00")), overrides=["timezone=Europe/Berlin"]).timeline
    assert int(tl["start"].iloc[0].value) == ns("2024-07-10T07:00:00Z")
    assert str(tl["start"].dt.tz) == "Europe/Berlin"


def test_timeline_is_sorted_by_app_name_then_start():
    """docs/design.md: the timeline is sorted by (app, start), whatever order apps first
    appear in the log (the replay hands the engine int ids in order of appearance)."""
    log = ops(
        {"time": "2024-01-01T09:00", "app": "zeta", "op": "create_app"},
        {"time": "2024-01-02T09:00", "app": "alpha", "op": "create_app"},
        {"time": "2024-01-03T09:00", "app": "zeta", "op": "upgrade", "edition": "Pro"},
        {"time": "2024-01-04T09:00", "app": "mid", "op": "create_app"},
    )
    tl = replay(log).timeline
    assert tl["app"].tolist() == ["alpha", "mid", "zeta", "zeta"]
    assert tl.loc[tl["app"] == "zeta", "state"].tolist() == ["IM", "Pro-postpaid"]


# -- the Arrow path reads and writes what pandas does (issue 14 point 5) -------------------------

CSV_TEXTS = {
    "plain": "time,app,op\n2024-01-02T09:00:00,a1,create_app\n",
    "crlf and empties": "time,app,op,user\r\n2024-01-02T09:00:00,a1,create_app,\r\n",
    "bom": "\ufefftime,app,op\n2024-01-02T09:00:00,a1,create_app\n",
    "quoted comma": 'time,app,op\n2024-01-02T09:00:00,"a,1",create_app\n',
    "leading spaces": "time, app,op\n 2024-01-02T09:00:00, a1,\tcreate_app\n",
    "lone carriage return": "time,app,op\n2024-01-02T09:00:00,a\r1,create_app\n",
    "duplicate header": "time,app,app\n2024-01-02T09:00:00,a1,a2\n",
    "blank lines and NA": "time,app,op\n\n2024-01-02T09:00:00,NA,create_app\n\n",
    "non-ascii": "time,app,op\n2024-01-02T09:00:00,应用 ١,create_app\n",
}


@pytest.mark.parametrize("name", list(CSV_TEXTS))
def test_csv_reading_gives_pandas_values(tmp_path: Path, name: str):
    from sim.files.opslog import read_table

    path = tmp_path / "log.csv"
    path.write_bytes(CSV_TEXTS[name].encode("utf-8"))
    got, _ = read_table(path, "operations log")
    want = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    want.columns = [c.strip() for c in want.columns]
    assert list(got.columns) == list(want.columns)
    assert got.astype(object).values.tolist() == want.astype(object).values.tolist()


def test_the_arrow_reader_is_used_for_plain_files_only(tmp_path: Path):
    from sim.files.fastcsv import read_csv_fast

    path = tmp_path / "log.csv"
    for name, text in CSV_TEXTS.items():
        path.write_bytes(text.encode("utf-8"))
        fast = read_csv_fast(path) is not None
        assert fast == (
            name in ("plain", "crlf and empties", "bom", "blank lines and NA", "non-ascii")
        ), name


@pytest.mark.parametrize(
    "cells",
    [
        ["a1", "", None, "应用"],
        ["a,1", "b", "c", "d"],  # needs quoting: pandas' writer
        ['say "hi"', "b", "c", "d"],
        ["line\nbreak", "b", "c", "d"],
        ["=1+1", "-5", "@x", "+y"],  # made safe
        ["=a,b", "x", "y", "z"],  # made safe and quoted
    ],
)
def test_csv_writing_gives_pandas_bytes(tmp_path: Path, cells: list):
    from sim.files.csvrule import to_csv_frame
    from sim.files.fastcsv import write_csv_fast

    for strings in (pd.Series(cells, dtype=object), pd.Series(cells, dtype="str")):
        df = pd.DataFrame(
            {"app": strings, "ok": [True, False, True, False], "code": np.arange(4) * 10037 - 1}
        )
        want = to_csv_frame(df).to_csv(index=False, lineterminator="\n").encode("utf-8")
        path = tmp_path / "t.csv"
        if write_csv_fast(df, path):
            assert path.read_bytes() == want
        else:
            assert any(c and any(x in c for x in ',"\n') for c in cells)


# -- bounded input (issue 14 point 3) ------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["9999-01-01T00:00:00", "1999-12-31T23:00:00", "2200-01-01T00:00:00+00:00"]
)
def test_a_time_outside_the_range_names_its_row(text: str):
    log = pd.DataFrame({"time": ["2024-01-01T00:00", text], "app": "a", "op": "create_app"})
    with pytest.raises(InputError, match=rf"{row(2)}.*'time'.*outside 2000-01-01 to 2200-01-01"):
        read_ops(log, SHANGHAI)


def test_a_native_time_outside_the_range_names_its_row():
    times = pd.Series(pd.to_datetime(["2024-01-01", "2250-01-01"])).astype("datetime64[us]")
    log = pd.DataFrame({"time": times, "app": "a", "op": "create_app"})
    with pytest.raises(InputError, match=rf"{row(2)}.*outside"):
        read_ops(log, SHANGHAI)


@pytest.mark.parametrize("months, ok", [("120", True), ("121", False), ("3000", False)])
def test_prepaid_months_are_1_to_120(months: str, ok: bool):
    log = pd.DataFrame(
        {
            "time": ["2024-01-01T00:00", "2024-01-02T00:00"],
            "app": "a",
            "op": ["create_app", "buy_prepaid"],
            "edition": ["", "Pro"],
            "months": ["", months],
        }
    )
    if ok:
        assert read_ops(log, SHANGHAI).columns["months"][1] == 120
    else:
        with pytest.raises(InputError, match=rf"{row(2)}.*'months'.*from 1 to 120"):
            read_ops(log, SHANGHAI)


def test_a_usage_date_outside_the_range_names_its_row():
    from sim.files.opslog import read_usage

    usage = pd.DataFrame(
        {"app": ["a", "a"], "date": ["2024-01-01", "2300-01-01"], "dau": 1, "groups": 0}
    )
    with pytest.raises(InputError, match=rf"{row(2)}.*'date'.*outside"):
        read_usage(usage)
