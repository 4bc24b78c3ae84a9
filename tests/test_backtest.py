"""sim backtest (issue 12 points 1 and 5's interface): one log under catalogs A and B.

The contract tested here: an app's delta is exactly the difference of its totals in two plain
``sim replay`` runs; outcome_diff holds exactly the rows whose outcome differs; the five files
are written all or nothing; bad input exits 2 with one line naming file, row and field.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sim.cli.app import main
from sim.errors import InputError
from sim.files.catalogs import load_catalog
from sim.studies.backtest import (
    APP_IMPACT_COLUMNS,
    BILL_DIFF_COLUMNS,
    OUTCOME_DIFF_COLUMNS,
    backtest,
)

ROOT = Path(__file__).resolve().parent.parent
OPS = ROOT / "scenarios" / "examples" / "ops-example.csv"
USAGE = ROOT / "scenarios" / "examples" / "usage-example.csv"
FILES = ["app_impact.csv", "backtest.html", "backtest.xlsx", "bill_diff.csv", "outcome_diff.csv"]
# B: cheaper Pro, smaller free-tier groups (refusals appear), dearer DAU overage
CHANGES = [
    "editions.Pro.price_per_month=399.99",
    "editions.IM.limits.members_per_group=10",
    "editions.Trial.limits.members_per_group=10",
    "editions.Pro.overage.dau.price_per_block=600",
]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("bt") / "out"
    argv = ["backtest", str(OPS), "--usage", str(USAGE), "--catalog", "tencent-intl-2022"]
    argv += ["--against", "tencent-intl-2022", "--workers", "1", "--out", str(d)]
    for c in CHANGES:
        argv += ["--set", c]
    assert main(argv) == 0
    return d


@pytest.fixture(scope="module")
def replays(tmp_path_factory) -> tuple[Path, Path]:
    """The same log through two plain `sim replay` runs."""
    base = tmp_path_factory.mktemp("replays")
    a, b = base / "a", base / "b"
    common = ["replay", str(OPS), "--usage", str(USAGE), "--catalog", "tencent-intl-2022"]
    assert main([*common, "--out", str(a)]) == 0
    sets = [x for c in CHANGES for x in ("--set", c)]
    assert main([*common, *sets, "--out", str(b)]) == 0
    return a, b


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_writes_the_five_files_with_the_contracted_columns(out):
    assert sorted(p.name for p in out.iterdir()) == FILES
    assert list(_read(out / "bill_diff.csv").columns) == list(BILL_DIFF_COLUMNS)
    assert list(_read(out / "app_impact.csv").columns) == list(APP_IMPACT_COLUMNS)
    assert list(_read(out / "outcome_diff.csv").columns) == list(OUTCOME_DIFF_COLUMNS)


def test_app_delta_is_the_difference_of_two_plain_replays(out, replays):
    totals = []
    for d in replays:
        bills = _read(d / "bills.csv")
        totals.append(bills.groupby("app")["amount_minor"].apply(lambda s: sum(map(int, s))))
    impact = _read(out / "app_impact.csv").set_index("app")
    assert set(totals[0].index) | set(totals[1].index) <= set(impact.index)
    for app, row in impact.iterrows():
        a, b = int(totals[0].get(app, 0)), int(totals[1].get(app, 0))
        assert Decimal(row["total_a"]) == Decimal(a) / 100, app
        assert Decimal(row["total_b"]) == Decimal(b) / 100, app
        assert Decimal(row["delta"]) == Decimal(b - a) / 100, app
    assert any(Decimal(d) != 0 for d in impact["delta"])  # the test has something to compare


def test_bill_diff_sums_to_the_app_totals(out):
    diff = _read(out / "bill_diff.csv")
    impact = _read(out / "app_impact.csv").set_index("app")
    for app, rows in diff.groupby("app"):
        for side in ("a", "b"):
            assert sum(map(Decimal, rows[f"amount_{side}"])) == Decimal(
                impact.at[app, f"total_{side}"]
            )
        assert all(
            Decimal(b) - Decimal(a) == Decimal(d)
            for a, b, d in zip(rows["amount_a"], rows["amount_b"], rows["delta"], strict=True)
        )
    # atlas's February on Pro postpaid, a whole month: 449.99 -> 399.99 (comet's prepaid
    # Pro keeps prepaid_price_per_month, unchanged)
    feb = diff[
        (diff["app"] == "atlas") & (diff["month"] == "2024-02") & (diff["item"] == "edition")
    ]
    assert feb[["amount_a", "amount_b", "delta"]].values.tolist() == [
        ["449.99", "399.99", "-50.00"]
    ]


def test_outcome_diff_is_exactly_the_rows_that_differ(out, replays):
    a, b = (_read(d / "outcomes.csv") for d in replays)
    cols = ["ok", "error_code", "reason"]
    differs = (a[cols] != b[cols]).any(axis=1)
    expected = [i + 1 for i in differs[differs].index]
    got = _read(out / "outcome_diff.csv")
    assert [int(r) for r in got["row"]] == expected and expected
    first = got.iloc[0]
    i = int(first["row"]) - 1
    assert first["app"] == a.at[i, "app"] and first["op"] == a.at[i, "op"]
    assert (first["ok_a"], first["ok_b"]) == (a.at[i, "ok"], b.at[i, "ok"])
    assert (first["reason_a"], first["reason_b"]) == (a.at[i, "reason"], b.at[i, "reason"])
    assert first["time"].endswith("+08:00")  # ISO with offset (README "Outputs")


def test_at_risk_uses_the_threshold():
    cat_a = load_catalog("tencent-intl-2022")
    cat_b = load_catalog(cat_a, ["editions.Pro.price_per_month=499.99"])  # +50 a month
    loose = backtest(OPS, cat_a, cat_b, usage=USAGE, risk_threshold=0.5).app_impact
    tight = backtest(OPS, cat_a, cat_b, usage=USAGE, risk_threshold=0.0).app_impact
    rises = tight["delta"] > 0
    assert rises.any()
    assert (tight["at_risk"] == rises).all()
    assert not loose["at_risk"].any()
    pct = tight.loc[rises, "pct"].iloc[0]
    row = tight.loc[rises].iloc[0]
    assert pct == pytest.approx(float(100 * row["delta"] / row["total_a"]), abs=0.01)


def test_two_workers_give_the_same_tables():
    cat_a = load_catalog("tencent-intl-2022")
    cat_b = load_catalog(cat_a, CHANGES)
    one = backtest(OPS, cat_a, cat_b, usage=USAGE, workers=1)
    two = backtest(OPS, cat_a, cat_b, usage=USAGE, workers=2)
    for name in ("bill_diff", "app_impact", "outcome_diff"):
        pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))


def test_two_workers_report_a_malformed_log_as_one(tmp_path: Path):
    """The replays run in the project's worker processes: a log naming a group no row creates
    gives the one-line error of the serial backtest (the file and the row named)."""
    log = pd.read_csv(OPS, dtype=str, keep_default_na=False)
    last = log.iloc[[-1]].assign(app="new", user="u", group="never-created")
    bad = pd.concat([last.assign(op="create_app"), last.assign(op="join_group")])
    path = tmp_path / "ops.csv"
    pd.concat([log, bad], ignore_index=True).to_csv(path, index=False)
    cat = load_catalog("tencent-intl-2022")
    errors = []
    for workers in (1, 2):
        with pytest.raises(InputError) as info:
            backtest(path, cat, load_catalog(cat, CHANGES), workers=workers)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert f"{path}: row {len(log) + 2}:" in errors[0] and "never-created" in errors[0]


def test_html_opens_with_the_catalog_diff(out):
    text = (out / "backtest.html").read_text()
    assert "Pro price 449.99 → 399.99" in text
    assert text.index("Pro price 449.99") < text.index("Revenue by month")
    assert "<script" not in text and 'src="http' not in text  # self-contained
    assert "too_many_members" in text  # refusals that appear under B


def test_xlsx_has_a_sheet_per_table(out):
    book = openpyxl.load_workbook(out / "backtest.xlsx")
    assert book.sheetnames == ["summary", "bill_diff", "app_impact", "outcome_diff"]
    sheet = book["app_impact"]
    assert isinstance(sheet["B2"].value, float | int) and sheet["B2"].number_format == "#,##0.00"


def test_formula_in_an_app_name_stays_text(tmp_path):
    ops = tmp_path / "ops.csv"
    name = '=HYPERLINK("http://x","y")'
    ops.write_text(
        "time,app,op,edition\n"
        f'2024-01-02T09:00:00,"{name.replace(chr(34), chr(34) * 2)}",create_app,\n'
        f'2024-01-03T09:00:00,"{name.replace(chr(34), chr(34) * 2)}",upgrade,Pro\n'
    )
    argv = ["backtest", str(ops), "--catalog", "tencent-intl-2022", "--against"]
    argv += [
        "tencent-intl-2022",
        "--set",
        "editions.Pro.price_per_month=1",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 0
    cell = openpyxl.load_workbook(tmp_path / "o" / "backtest.xlsx")["app_impact"]["A2"]
    assert cell.value == name and cell.data_type == "s"


# -- bad input: exit 2, one line, nothing written ----------------------------------------------


def _fails(capsys, tmp_path, argv, *expected):
    out = tmp_path / "out"
    code = main(["backtest", *argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("sim: error: ") and err.count("\n") == 1, err
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_catalog(capsys, tmp_path):
    _fails(
        capsys, tmp_path, [str(OPS), "--catalog", "tencent-intl-2022", "--against", "nope"], "nope"
    )
    bad = ["--against", "tencent-intl-2022", "--set", "editions.Pro.price_per_month=-1"]
    _fails(capsys, tmp_path, [str(OPS), "--catalog", "tencent-intl-2022", *bad], "price_per_month")


def test_malformed_ops_names_file_row_and_field(capsys, tmp_path):
    ops = tmp_path / "ops.csv"
    ops.write_text("time,app,op\n2024-01-02T09:00:00,a,create_app\nnot-a-time,a,deactivate\n")
    cats = ["--catalog", "tencent-intl-2022", "--against", "tencent-intl-2022"]
    _fails(capsys, tmp_path, [str(ops), *cats], str(ops), "row 2", "time")


def test_malformed_usage_names_file_row_and_field(capsys, tmp_path):
    usage = tmp_path / "usage.csv"
    usage.write_text("app,date,dau,groups\natlas,2024-01-02,-5,1\n")
    cats = ["--catalog", "tencent-intl-2022", "--against", "tencent-intl-2022"]
    _fails(capsys, tmp_path, [str(OPS), "--usage", str(usage), *cats], str(usage), "row 1", "dau")


def test_currencies_must_agree(capsys, tmp_path):
    cats = ["--catalog", "tencent-intl-2022", "--against", "tencent-cn-2024"]
    _fails(capsys, tmp_path, [str(OPS), *cats], "USD", "CNY")


def test_identical_catalogs_warn_but_run(capsys, tmp_path):
    argv = ["backtest", str(OPS), "--catalog", "tencent-intl-2022", "--against"]
    argv += ["tencent-intl-2022", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "identically" in err
    impact = _read(tmp_path / "o" / "app_impact.csv")
    assert set(impact["delta"]) == {"0.00"}
    assert _read(tmp_path / "o" / "outcome_diff.csv").empty


def test_group_never_created_names_the_file(capsys, tmp_path):
    ops = tmp_path / "ops.csv"
    ops.write_text(
        "time,app,op,user,group\n2024-01-02T09:00:00,a,create_app,,\n"
        "2024-01-02T10:00:00,a,join_group,bob,ghost\n"
    )
    cats = ["--catalog", "tencent-intl-2022", "--against", "tencent-intl-2022"]
    _fails(capsys, tmp_path, [str(ops), *cats], f"{ops}: row 2", "ghost")


def test_risk_threshold_flag(capsys, tmp_path):
    argv = ["backtest", str(OPS), "--catalog", "tencent-intl-2022", "--against"]
    argv += ["tencent-intl-2022", "--set", "editions.Pro.price_per_month=499.99"]
    assert main([*argv, "--risk-threshold", "0%", "--out", str(tmp_path / "o")]) == 0
    impact = _read(tmp_path / "o" / "app_impact.csv")
    assert (impact["at_risk"] == "true").tolist() == [Decimal(d) > 0 for d in impact["delta"]]
    assert "at risk (rise above 0 %)" in capsys.readouterr().out
    assert main([*argv, "--risk-threshold", "lots", "--out", str(tmp_path / "p")]) == 2
    assert "percentage" in capsys.readouterr().err and not (tmp_path / "p").exists()


def test_refusal_changes_count_both_ways():
    from sim.reports.backtest import refusal_changes

    diff = pd.DataFrame(
        {
            "error_code_a": [0, 0, 10014, 10014],
            "error_code_b": [10038, 10038, 0, 10037],
            "reason_a": ["", "", "group_full", "group_full"],
            "reason_b": ["too_many_members", "too_many_members", "", "user_group_limit"],
        }
    )
    got = refusal_changes(diff).to_dict("records")
    assert got == [
        {"error_code": 10014, "reason": "group_full", "appear": 0, "disappear": 2, "net": -2},
        {"error_code": 10037, "reason": "user_group_limit", "appear": 1, "disappear": 0, "net": 1},
        {"error_code": 10038, "reason": "too_many_members", "appear": 2, "disappear": 0, "net": 2},
    ]


def test_html_escapes_what_the_log_says(tmp_path):
    ops = tmp_path / "ops.csv"
    ops.write_text(
        "time,app,op,edition\n"
        "2024-01-02T09:00:00,<script>x</script>,create_app,\n"
        "2024-01-03T09:00:00,<script>x</script>,upgrade,Pro\n"
    )
    argv = ["backtest", str(ops), "--catalog", "tencent-intl-2022", "--against"]
    argv += [
        "tencent-intl-2022",
        "--set",
        "editions.Pro.price_per_month=500",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(argv) == 0
    text = (tmp_path / "o" / "backtest.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text


def test_usage_after_deactivation_is_ignored_with_a_warning(capsys, tmp_path):
    # R14: deactivated Feb 10 15:00, so Feb 20's DAU 40,000 sets no peak under either catalog
    ops, usage = tmp_path / "ops.csv", tmp_path / "usage.csv"
    ops.write_text(
        "time,app,op,edition\n2024-01-02T09:00,a,create_app,\n2024-01-15T10:00,a,upgrade,Pro\n"
        "2024-02-10T15:00,a,deactivate,\n"
    )
    usage.write_text("app,date,dau,groups\na,2024-02-05,8000,0\na,2024-02-20,40000,0\n")
    argv = ["backtest", str(ops), "--usage", str(usage), "--catalog", "tencent-intl-2022"]
    argv += [
        "--against",
        "tencent-intl-2022",
        "--set",
        "editions.Pro.overage.dau.price_per_block=1",
    ]
    assert main([*argv, "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    assert f"{usage}: 1 usage row is dated after the app's deactivation: ignored (R14)" in err
    assert "dau_overage" not in set(_read(tmp_path / "o" / "bill_diff.csv")["item"])
