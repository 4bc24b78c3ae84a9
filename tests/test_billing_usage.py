"""Usage after a deactivation is not billed (issue 12 point 4, R14).

R14: deactivation stops service at once and is final, so a usage row dated after it is ignored
(with a warning the CLI prints). The golden case is the issue's: a Pro app deactivated on
Feb 10 with DAU 40,000 on Feb 20. Intl 2022 Pro overage (RULES.md): 10,000 DAU free, 449.99 per
started block of 10,000.
"""

from __future__ import annotations

import pandas as pd

import sim
from sim.billing.usage import deactivation_times, usage_in_service

OPS = pd.DataFrame(
    {
        "time": ["2024-01-02T09:00", "2024-01-15T10:00", "2024-02-10T15:00"],
        "app": ["a", "a", "a"],
        "op": ["create_app", "upgrade", "deactivate"],
        "edition": ["", "Pro", ""],
    }
)


def usage(*rows: tuple[str, str, int]) -> pd.DataFrame:
    return pd.DataFrame(
        [(app, date, dau, 0) for app, date, dau in rows], columns=["app", "date", "dau", "groups"]
    )


def overage(bills: pd.DataFrame) -> pd.DataFrame:
    return bills.loc[bills["item"] == "dau_overage", ["month", "quantity", "amount"]]


def test_golden_dau_after_deactivation_sets_no_peak():
    # R14: deactivated Feb 10 15:00. Feb 5 (DAU 8,000) is in service: under the 10,000 free.
    # Feb 20 (DAU 40,000) is after: ignored. Before the fix it made ceil(30,000/10,000) = 3
    # blocks = 3 x 449.99 = 1349.97. Now February has no overage line at all.
    result = sim.replay(OPS, usage=usage(("a", "2024-02-05", 8_000), ("a", "2024-02-20", 40_000)))
    assert overage(result.bills).empty


def test_golden_day_of_deactivation_still_counts():
    # Feb 10 is served until 15:00 (R14 stops service at the instant, not the day before):
    # DAU 25,000 that day -> ceil(15,000 / 10,000) = 2 blocks = 899.98.
    result = sim.replay(OPS, usage=usage(("a", "2024-02-10", 25_000), ("a", "2024-02-11", 90_000)))
    rows = overage(result.bills).to_dict("records")
    assert [(r["month"], r["quantity"], r["amount"]) for r in rows] == [("2024-02", 2, 899.98)]


def test_golden_deactivation_at_midnight_drops_that_day():
    # Deactivated at 00:00 on Feb 10: nothing of Feb 10 is served (README, day policy: that
    # day is not billed either), so its 25,000 DAU is ignored; Feb 9's 15,000 -> 1 block.
    ops = OPS.assign(time=["2024-01-02T09:00", "2024-01-15T10:00", "2024-02-10T00:00"])
    result = sim.replay(ops, usage=usage(("a", "2024-02-09", 15_000), ("a", "2024-02-10", 25_000)))
    rows = overage(result.bills).to_dict("records")
    assert [(r["month"], r["quantity"]) for r in rows] == [("2024-02", 1)]
    postpaid = result.bills.loc[
        (result.bills["item"] == "edition") & (result.bills["month"] == "2024-02")
    ]
    assert postpaid["quantity"].tolist() == [9]  # Feb 1..9, not Feb 10


def test_usage_in_service_counts_what_it_drops():
    timeline = sim.replay(OPS).timeline
    rows = usage(
        ("a", "2024-02-10", 1),
        ("a", "2024-02-11", 2),
        ("b", "2024-03-01", 3),  # an app never deactivated: kept
        ("a", "2024-03-01", 4),
    )
    kept, dropped = usage_in_service(rows, timeline, "Asia/Shanghai")
    assert dropped == 2
    assert kept["dau"].tolist() == [1, 3]
    assert list(kept.index) == [0, 2]


def test_usage_in_service_leaves_usage_alone_without_deactivations():
    ops = OPS.iloc[:2]
    timeline = sim.replay(ops).timeline
    rows = usage(("a", "2030-01-01", 5))
    kept, dropped = usage_in_service(rows, timeline, "Asia/Shanghai")
    assert dropped == 0 and kept is rows


def test_deactivation_times_takes_the_deactivated_interval_start():
    timeline = sim.replay(OPS).timeline
    when = deactivation_times(timeline)
    assert when.to_dict() == {"a": pd.Timestamp("2024-02-10T15:00", tz="Asia/Shanghai")}


def test_sim_replay_warns_with_the_count(tmp_path, capsys):
    from sim.cli import main

    OPS.to_csv(tmp_path / "ops.csv", index=False)
    usage(("a", "2024-02-05", 8_000), ("a", "2024-02-20", 40_000), ("a", "2024-02-21", 1)).to_csv(
        tmp_path / "usage.csv", index=False
    )
    argv = [str(tmp_path / "ops.csv"), "--usage", str(tmp_path / "usage.csv")]
    assert main(["replay", *argv, "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "usage.csv: 2 usage rows are dated after the app's deactivation: ignored (R14)" in err
    bills = pd.read_csv(tmp_path / "out" / "bills.csv")
    assert "dau_overage" not in set(bills["item"])
