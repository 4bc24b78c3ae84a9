"""Excel workbooks (issue 12): one sheet per table behind a summary, money as numbers with two
decimals, no formula injection, atomic. Each test reads the file back with openpyxl."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from sim.errors import SimError
from sim.files import excel
from sim.files.excel import is_money_column, sheet_names, write_workbook


@pytest.fixture
def tables() -> dict[str, pd.DataFrame]:
    bills = pd.DataFrame(
        {
            "app": ["app-1", '=HYPERLINK("http://evil","x")', "+cmd", "-2+3", "@SUM(A1)"],
            "amount_a": [Decimal("449.99"), Decimal("0"), Decimal("12.5"), None, Decimal("-3")],
            "amount_b": ["399.99", "0.00", "12.50", "", "-3.00"],
            "delta": [-50.0, 0.0, 0.0, float("nan"), 0.0],
            "blocks": pd.array([1, 0, None, 2, 3], dtype="Int64"),
            "at_risk": [True, False, False, True, False],
        }
    )
    times = pd.DataFrame(
        {
            "time": pd.to_datetime(["2024-01-10 09:00", "2024-02-10 00:00"]).tz_localize(
                "Asia/Shanghai"
            ),
            "reason": ["group_full", "-"],
        }
    )
    return {"bill_diff": bills, "outcome_diff": times}


def read(path: Path) -> openpyxl.Workbook:
    return openpyxl.load_workbook(path)


def test_sheets_summary_first_then_tables(tmp_path, tables):
    path = write_workbook(tmp_path / "x.xlsx", tables, summary={"catalog A": "intl"})
    book = read(path)
    assert book.sheetnames == ["summary", "bill_diff", "outcome_diff"]
    summary = [[c.value for c in row] for row in book["summary"].iter_rows()]
    assert summary[0][:2] == ["catalog A", "intl"]
    assert summary[3][:2] == ["bill_diff", 5]
    assert summary[4][:2] == ["outcome_diff", 2]
    header = [c.value for c in book["bill_diff"][1]]
    assert header == ["app", "amount_a", "amount_b", "delta", "blocks", "at_risk"]


def test_formula_like_text_is_a_string_not_a_formula(tmp_path, tables):
    book = read(write_workbook(tmp_path / "x.xlsx", tables))
    sheet = book["bill_diff"]
    cell = sheet["A3"]
    assert cell.value == '=HYPERLINK("http://evil","x")'
    assert cell.data_type == "s"  # openpyxl reads a formula as data_type 'f'
    assert cell.quotePrefix
    for ref, text in (("A4", "+cmd"), ("A5", "-2+3"), ("A6", "@SUM(A1)")):
        assert sheet[ref].value == text and sheet[ref].data_type == "s", ref
    assert book["outcome_diff"]["B3"].value == "-" and book["outcome_diff"]["B3"].data_type == "s"
    assert sheet["A2"].value == "app-1" and not sheet["A2"].quotePrefix


def test_money_columns_are_numbers_with_two_decimals(tmp_path, tables):
    sheet = read(write_workbook(tmp_path / "x.xlsx", tables))["bill_diff"]
    for col in "BCD":
        cell = sheet[f"{col}2"]
        assert isinstance(cell.value, int | float), col
        assert cell.number_format == "#,##0.00", col
    assert sheet["B2"].value == pytest.approx(449.99)
    assert sheet["C2"].value == pytest.approx(399.99)  # a numeric string becomes a number
    assert sheet["D2"].value == pytest.approx(-50.0)
    assert sheet["B5"].value is None and sheet["C5"].value is None and sheet["D5"].value is None
    assert sheet["B6"].value == pytest.approx(-3.0)


def test_other_cells_keep_their_type(tmp_path, tables):
    book = read(write_workbook(tmp_path / "x.xlsx", tables))
    sheet = book["bill_diff"]
    assert sheet["E2"].value == 1 and sheet["E2"].number_format == "General"
    assert sheet["E4"].value is None
    assert sheet["F2"].value is True and sheet["F3"].value is False
    times = book["outcome_diff"]
    assert times["A2"].value == "2024-01-10T09:00:00+08:00"  # as in the CSVs, not shifted


def test_explicit_money_list_overrides_the_names(tmp_path, tables):
    sheet = read(write_workbook(tmp_path / "x.xlsx", tables, money=["blocks"]))["bill_diff"]
    assert sheet["E2"].number_format == "#,##0.00"
    assert sheet["B2"].number_format == "General"


def test_money_column_names():
    for name in ("amount", "amount_a", "total_b", "delta", "price_per_month", "pack_revenue"):
        assert is_money_column(name), name
    for name in ("app", "blocks", "pct", "amounts_note", "deltas"):
        assert not is_money_column(name), name


def test_sheet_names_are_made_valid_and_distinct():
    long = "a" * 40
    assert sheet_names(["bills/2024", "summary", long, long, "x"]) == [
        "bills_2024",
        "summary_2",
        "a" * 31,
        "a" * 29 + "_2",
        "x",
    ]


def test_long_tables_are_cut_at_excels_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(excel, "MAX_ROWS", 4)
    df = pd.DataFrame({"n": range(10)})
    book = read(write_workbook(tmp_path / "x.xlsx", {"t": df}))
    assert [c.value for c in book["t"]["A"]] == ["n", 0, 1, 2]
    note = [[c.value for c in row] for row in book["summary"].iter_rows()][1]
    assert note[:2] == ["t", 10] and "first 3 rows" in note[2]


def test_atomic_failure_leaves_nothing(tmp_path, monkeypatch, tables):
    target = tmp_path / "x.xlsx"
    target.write_bytes(b"old")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(excel, "_write_summary", boom)
    with pytest.raises(RuntimeError):
        write_workbook(target, tables)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"]


def test_unwritable_place_is_a_sim_error(tmp_path, tables):
    with pytest.raises(SimError, match="cannot write"):
        write_workbook(tmp_path / "no" / "such" / "x.xlsx", tables)


def test_dates_are_excel_dates(tmp_path):
    df = pd.DataFrame({"month": [dt.date(2024, 2, 1)]})
    sheet = read(write_workbook(tmp_path / "x.xlsx", {"m": df}))["m"]
    assert sheet["A2"].value == dt.datetime(2024, 2, 1)
    assert sheet["A2"].number_format == "yyyy-mm-dd"
