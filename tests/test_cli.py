"""The ``sim`` command line: every class of bad input exits 2 with one clear line and writes
nothing; the example ops log replays end to end (sim.cli.app)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.cli.app import main

HEADER = "time,app,op,user,group,group_type,members,edition,live_unlimited,groups_per_user,members_per_group,months"
OUTCOME_EXTRA = ["ok", "error_code", "reason", "note"]
TIMELINE_COLUMNS = [
    "app",
    "start",
    "end",
    "state",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "edition",
    "prepaid_until",
]
BILL_COLUMNS = [
    "app",
    "month",
    "bill_date",
    "item",
    "option",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
]


def _log(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "ops.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


GOOD = [
    "2024-01-02T09:00:00,a1,create_app,,,,,,,,,",
    "2024-01-02T10:00:00,a1,create_group,alice,g1,Work,bob;carol,,,,,",
]


def _fails(capsys, tmp_path, argv, *expected):
    """Run ``sim argv``: exit 2, one line ``sim: error: ...`` holding every ``expected``
    text, no traceback, and the --out directory never created."""
    out = tmp_path / "out"
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("sim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    return err


# -- one test per class of bad input --------------------------------------------------------------


def test_missing_file(capsys, tmp_path):
    _fails(capsys, tmp_path, ["replay", str(tmp_path / "nope.csv")], "nope.csv", "not found")


def test_missing_usage_file(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD)
    _fails(capsys, tmp_path, ["replay", str(ops), "--usage", str(tmp_path / "u.csv")], "u.csv")


def test_missing_column(capsys, tmp_path):
    ops = _log(tmp_path, "2024-01-02T09:00:00,a1", header="time,app")
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), "missing column", "'op'")


def test_unknown_op(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD, "2024-01-03T09:00:00,a1,teleport,,,,,,,,,")
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), "row 3", "'op'", "teleport")


def test_unknown_group_type(capsys, tmp_path):
    ops = _log(tmp_path, GOOD[0], "2024-01-02T10:00:00,a1,create_group,alice,g1,Secret,,,,,,")
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), "row 2", "group_type", "Secret")


def test_unparseable_time(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD, "next tuesday,a1,register_user,dave,,,,,,,,")
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), "row 3", "'time'", "next tuesday")


def test_op_on_a_group_that_never_existed(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD, "2024-01-03T09:00:00,a1,join_group,dave,ghost,,,,,,,")
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), "row 3", "ghost")


def test_unknown_catalog_name(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD)
    _fails(
        capsys, tmp_path, ["replay", str(ops), "--catalog", "no-such"], "no-such", "known catalogs"
    )


def test_invalid_catalog_file(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD)
    cat = tmp_path / "weekly.yaml"
    cat.write_text("extends: tencent-intl-2022\nname: weekly\nbilling: {proration: weekly}\n")
    _fails(
        capsys,
        tmp_path,
        ["replay", str(ops), "--catalog", str(cat)],
        str(cat),
        "billing.proration",
        "weekly",
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("billing.proration=weekly", ["billing.proration", "weekly"]),
        ("billing.proration", ["billing.proration", "expected dotted.key=value"]),
        ("editions.Pro.price_per_month=-1", ["editions.Pro.price_per_month", "-1"]),
    ],
)
def test_bad_set(capsys, tmp_path, override, expected):
    ops = _log(tmp_path, *GOOD)
    _fails(capsys, tmp_path, ["replay", str(ops), "--set", override], *expected)


def test_error_leaves_an_existing_out_dir_untouched(capsys, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "outcomes.csv").write_text("old\n")
    ops = _log(tmp_path, *GOOD, "2024-01-03T09:00:00,a1,teleport,,,,,,,,,")
    assert main(["replay", str(ops), "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["outcomes.csv"]
    assert (out / "outcomes.csv").read_text() == "old\n"
    assert "row 3" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys, tmp_path):
    assert main(["replay", "ops.csv"]) == 2  # --out missing
    assert "--out" in capsys.readouterr().err
    assert main(["fly"]) == 2
    assert main([]) == 2


# -- the happy path -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> Path:
    """The example log and usage replayed once into a directory."""
    here = Path(__file__).resolve().parent.parent / "scenarios" / "examples"
    out = tmp_path_factory.mktemp("replay") / "out"
    code = main(
        [
            "replay",
            str(here / "ops-example.csv"),
            "--usage",
            str(here / "usage-example.csv"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    return out


def test_replay_writes_the_three_tables(replayed, example_ops):
    assert sorted(p.name for p in replayed.iterdir()) == [
        "bills.csv",
        "outcomes.csv",
        "timeline.csv",
    ]
    ops = pd.read_csv(example_ops, dtype=str, keep_default_na=False)
    outcomes = pd.read_csv(replayed / "outcomes.csv", dtype=str, keep_default_na=False)
    assert list(outcomes.columns) == [*ops.columns, *OUTCOME_EXTRA]
    pd.testing.assert_frame_equal(outcomes[list(ops.columns)], ops)  # every input row, as given
    assert set(outcomes["ok"]) == {"true", "false"}
    timeline = pd.read_csv(replayed / "timeline.csv", dtype=str, keep_default_na=False)
    assert list(timeline.columns) == TIMELINE_COLUMNS
    bills = pd.read_csv(replayed / "bills.csv", dtype=str, keep_default_na=False)
    assert list(bills.columns[: len(BILL_COLUMNS)]) == BILL_COLUMNS


def test_replay_tells_the_example_story(replayed):
    """The example log's refusals, each the rule or limit it was written to show."""
    o = pd.read_csv(replayed / "outcomes.csv", dtype=str, keep_default_na=False)
    refused = o[o["ok"] == "false"]
    got = sorted(
        zip(refused["app"], refused["op"], refused["error_code"], refused["reason"], strict=True)
    )
    assert got == sorted(
        [
            ("atlas", "join_group", "10014", "group_full"),
            ("atlas", "register_user", "70398", "account_limit"),
            ("atlas", "create_group", "10038", "too_many_members"),
            ("atlas", "create_group", "10059", "community_unsupported"),
            ("atlas", "reconfigure", "0", "wrong_state"),  # R8
            ("atlas", "create_group", "10059", "community_unsupported"),
            ("atlas", "reconfigure", "0", "monthly_limit"),  # R9
            ("atlas", "leave_group", "10009", "owner_cannot_leave"),
            ("atlas", "join_group", "10010", "group_not_found"),
            ("beacon", "create_group", "10036", "live_group_limit"),
            ("beacon", "create_group", "10036", "live_group_limit"),
            ("comet", "upgrade", "0", "postpaid_closed"),  # R11
            ("comet", "join_group", "60020", "prepaid_expired"),
            ("comet", "join_group", "60016", "deactivated"),  # R14
            ("comet", "buy_prepaid", "0", "deactivated"),  # R14
        ]
    )


def test_replay_timeline_format(replayed):
    t = pd.read_csv(replayed / "timeline.csv", dtype=str, keep_default_na=False)
    assert t["start"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00").all()
    last = t.groupby("app").tail(1)
    assert (last["end"] == "").all()  # the current interval is open
    assert set(t["live_unlimited"]) <= {"true", "false"}
    assert t.loc[t["app"] == "comet", "state"].tolist()[-1] == "Deactivated"


def test_replay_prints_a_summary(capsys, tmp_path, example_ops):
    out = tmp_path / "r"
    assert main(["replay", str(example_ops), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "replayed 57 operations" in text and "15 refused" in text
    assert "live_group_limit (10036): 2" in text
    assert str(out) in text


def test_replay_is_deterministic(replayed, tmp_path, example_ops, example_usage):
    out = tmp_path / "again"
    argv = ["replay", str(example_ops), "--usage", str(example_usage), "--out", str(out)]
    assert main(argv) == 0
    for name in ("outcomes.csv", "timeline.csv", "bills.csv"):
        assert (out / name).read_bytes() == (replayed / name).read_bytes()


def test_python_dash_m_sim(tmp_path, example_ops):
    out = tmp_path / "sub"
    proc = subprocess.run(
        [sys.executable, "-m", "sim", "replay", str(example_ops), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "outcomes.csv").is_file()
    bad = subprocess.run(
        [sys.executable, "-m", "sim", "replay", str(tmp_path / "nope.csv"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("sim: error: ") and "Traceback" not in bad.stderr


# -- other subcommands ----------------------------------------------------------------------------


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("sim ")


def test_catalogs_lists_the_default(capsys):
    assert main(["catalogs"]) == 0
    assert "tencent-intl-2022" in capsys.readouterr().out


# -- the README's commands are real ---------------------------------------------------------------


def _readme_blocks(repo_root: Path, lang: str) -> list[str]:
    text = (repo_root / "README.md").read_text()
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_sim_commands_run(capsys, tmp_path, monkeypatch, repo_root):
    """Every `sim ...` line of the README's sh blocks runs (outputs go to tmp_path)."""
    monkeypatch.chdir(repo_root)
    lines = [
        line.split("#")[0].strip()
        for block in _readme_blocks(repo_root, "sh")
        for line in block.splitlines()
        if line.startswith("sim ")
    ]
    assert len(lines) >= 5
    for line in lines:
        # every path under reports/ (outputs, and runs that later lines read) goes to tmp_path
        argv = [str(tmp_path / a) if a.startswith("reports/") else a for a in shlex.split(line)[1:]]
        assert main(argv) == 0, f"{line}: {capsys.readouterr().err}"


def test_readme_python_runs(capsys, monkeypatch, repo_root):
    monkeypatch.chdir(repo_root)
    for block in _readme_blocks(repo_root, "python"):
        exec(compile(block, "README.md", "exec"), {})
    assert "atlas" in capsys.readouterr().out


# -- safe text out, Ctrl-C, the lock (issue 14 points 1 and 4) ------------------------------------


def test_app_names_that_a_spreadsheet_would_run_are_written_as_text(tmp_path):
    ops = _log(
        tmp_path,
        '2024-01-02T09:00:00,"=HYPERLINK(""http://x"")",create_app,,,,,,,,,',
        "2024-01-02T09:00:00,@SUM(A1),create_app,,,,,,,,,",
        "2024-01-02T09:00:00,-2+3,create_app,,,,,,,,,",
        "2024-01-02T09:00:00,plain,create_app,,,,,,,,,",
    )
    out = tmp_path / "out"
    assert main(["replay", str(ops), "--out", str(out)]) == 0
    outcomes = pd.read_csv(out / "outcomes.csv", dtype=str, keep_default_na=False)
    assert list(outcomes["app"]) == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "'-2+3", "plain"]
    assert list(outcomes["error_code"]) == ["0"] * 4  # numbers print as they are


def test_control_characters_in_an_error_are_escaped_on_one_line(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD, "2024-01-03T09:00:00,a1,\x1b[2J\u202eevil,,,,,,,,,")
    err = _fails(capsys, tmp_path, ["replay", str(ops)], "row 3", "\\x1b[2J\\u202eevil")
    assert "\x1b" not in err and "\u202e" not in err


def test_control_characters_on_standard_output_are_escaped(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD)
    out = tmp_path / "o\x1b[31mut"
    assert main(["replay", str(ops), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "o\\x1b[31mut" in text and "\x1b" not in text


def test_ctrl_c_is_one_line_exit_130_and_nothing_written(capsys, tmp_path, monkeypatch):
    import sim.replayer

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sim.replayer, "replay_tables", interrupted)
    ops = _log(tmp_path, *GOOD)
    out = tmp_path / "out"
    assert main(["replay", str(ops), "--out", str(out)]) == 130
    assert capsys.readouterr().err == "sim: interrupted; nothing written\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ops.csv"]


def test_a_second_replay_into_a_locked_out_is_refused(capsys, tmp_path):
    import fcntl

    out = tmp_path / "out"
    ops = _log(tmp_path, *GOOD)
    with open(tmp_path / ".out.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another sim command writing the same --out
        assert main(["replay", str(ops), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sim: error: ") and err.count("\n") == 1
    assert "being written by another sim command" in err
    assert not out.exists()


# -- bounded input (issue 14 point 3): one line, exit 2, nothing written, promptly ---------------

BOMB = "\n".join(
    [
        'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
        *(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)  # 9**9 (387 million) strings once every alias is expanded, in 500 bytes


def test_a_yaml_alias_bomb_in_a_catalog_is_refused_at_once(capsys, tmp_path):
    cat = tmp_path / "bomb.yaml"
    cat.write_text(BOMB + "\n")
    ops = _log(tmp_path, *GOOD)
    _fails(capsys, tmp_path, ["replay", str(ops), "--catalog", str(cat)], "bomb.yaml", "aliases")


def test_a_yaml_alias_bomb_in_a_scenario_is_refused_at_once(capsys, tmp_path):
    sc = tmp_path / "bomb-scenario.yaml"
    sc.write_text(BOMB + "\n")
    _fails(capsys, tmp_path, ["run", str(sc)], "bomb-scenario.yaml", "100,000 values")


def test_a_yaml_alias_bomb_in_set_is_refused_at_once(capsys, tmp_path):
    value = "[&a [1,1,1,1,1,1,1,1,1,1]" + ", &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]" * 1
    value += "".join(
        f", &{n} [{','.join([f'*{p}'] * 10)}]" for p, n in zip("bcdef", "cdefg", strict=True)
    )
    ops = _log(tmp_path, *GOOD)
    _fails(capsys, tmp_path, ["replay", str(ops), "--set", f"x={value}]"], "refused", "aliases")


def test_deeply_nested_set_value_is_refused(capsys, tmp_path):
    ops = _log(tmp_path, *GOOD)
    argv = ["replay", str(ops), "--set", "x=" + "[" * 5000 + "]" * 5000]
    _fails(capsys, tmp_path, argv, "nested too deeply")


@pytest.mark.parametrize(
    "override, expected",
    [
        ("start=9999-12-01", ("field 'start'", "9999-12-01", "2000-01-01 to 2200-01-01")),
        ("start=1999-12-01", ("field 'start'", "1999-12-01", "outside")),
        ("horizon_months=1000", ("horizon_months",)),
        ("population.social.count=1000000000", ("estimated", "memory", "shards run on a cluster")),
        ("population.social.count=200000000", ("estimated",)),
    ],
)
def test_run_input_out_of_range(capsys, tmp_path, override, expected):
    _fails(capsys, tmp_path, ["run", "baseline", "--set", override], *expected)


def test_a_count_above_its_bound_is_refused(capsys, tmp_path, monkeypatch):
    from sim.files import bounds

    monkeypatch.setattr(bounds, "machine_memory_bytes", lambda: 1 << 62)
    argv = ["run", "baseline", "--set", "population.social.count=100000001"]
    _fails(capsys, tmp_path, argv, "population.social.count", "100,000,000")


@pytest.mark.parametrize(
    "bad_row, expected",
    [
        ("9999-01-01T09:00:00,a1,create_app,,,,,,,,,", ("row 3", "'time'", "outside 2000-01-01")),
        ("2024-01-03T09:00:00,a1,buy_prepaid,,,,,Pro,,,,3000", ("row 3", "'months'", "1 to 120")),
    ],
)
def test_replay_input_out_of_range(capsys, tmp_path, bad_row, expected):
    ops = _log(tmp_path, *GOOD, bad_row)
    _fails(capsys, tmp_path, ["replay", str(ops)], str(ops), *expected)
