"""sim.results.metrics and sim.results.stats on hand-made tables whose figures are computed by hand.

The run: two apps, two replications, January and February 2024 (Asia/Shanghai).

Replication 0 -- app ``a`` (game): IM, upgraded to Pro on 01-10 (R1), packs raised on 02-01
(R2, R9), Ultimate on 02-15; app ``b`` (social): IM, downgraded to Trial on 01-20 (R10),
deactivated on 02-10 (R14). Replication 1 -- ``a`` stays on IM; ``b`` is deactivated on 02-05.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fake_run import timeline, ts
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.results import metrics as M
from sim.results.stats import mean_ci, paired_deltas, per_replication_mean, summarise, t_quantile

SUMMARY = {
    "seed": 1,
    "replications": 2,
    "currency": "USD",
    "start": "2024-01-01",
    "horizon_months": 2,
}
CAPS = {
    "IM": {"nonlive_groups": 100, "live_groups": 10},
    "Trial": {"nonlive_groups": 100, "live_groups": 10},
    "Pro": {"nonlive_groups": None, "live_groups": 50},
    "Ultimate": {"nonlive_groups": None, "live_groups": None},
}


def _timeline() -> pd.DataFrame:
    r0 = timeline(
        [
            ("a", "2024-01-01", "2024-01-10", "IM", "IM", False, 50, 20),
            ("a", "2024-01-10", "2024-02-01", "Pro-postpaid", "Pro", False, 500, 200),
            ("a", "2024-02-01", "2024-02-15", "Pro-postpaid", "Pro", True, 1000, 200),
            ("a", "2024-02-15", None, "Ultimate-postpaid", "Ultimate", False, 1000, 2000),
            ("b", "2024-01-01", "2024-01-20", "IM", "IM", False, 50, 20),
            ("b", "2024-01-20", "2024-02-10", "Trial", "Trial", False, 50, 20),
            ("b", "2024-02-10", None, "Deactivated", "", False, 50, 20),
        ]
    )
    r1 = timeline(
        [
            ("a", "2024-01-01", None, "IM", "IM", False, 50, 20),
            ("b", "2024-01-01", "2024-02-05", "IM", "IM", False, 50, 20),
            ("b", "2024-02-05", None, "Deactivated", "", False, 50, 20),
        ],
        replication=1,
    )
    return pd.concat([r0, r1], ignore_index=True)


def _group_ops() -> pd.DataFrame:
    """Exact mode: one row per operation (replication 0 only; replication 1 did nothing)."""
    rows = [
        ("2024-01-05 10:00", "a", "create_group", True, 0, ""),
        ("2024-01-05 11:00", "a", "create_group", False, 10036, "live_group_limit"),
        ("2024-01-06 09:00", "a", "join_group", False, 10014, "group_full"),
        ("2024-01-10 12:00", "a", "join_group", True, 0, ""),
        ("2024-01-12 12:00", "a", "join_group", True, 0, ""),
        ("2024-01-03 08:00", "b", "register_user", True, 0, ""),
        ("2024-01-03 09:00", "b", "register_user", True, 0, ""),
        ("2024-01-05 00:00", "b", "activity", False, 72000, "dau_limit"),
    ]
    df = pd.DataFrame(rows, columns=["time", "app", "op", "ok", "error_code", "reason"])
    df["time"] = [ts(t) for t in df["time"]]
    df["count"] = [1, 1, 1, 1, 1, 1, 1, 30]
    df["replication"] = 0
    return df


def _usage() -> pd.DataFrame:
    rows = [  # replication, app, date, dau, dau_refused, groups, live_groups
        (0, "a", "2024-01-05", 100, 0, 0, 0),
        (0, "a", "2024-01-06", 100, 0, 0, 0),
        (0, "b", "2024-01-05", 50, 30, 0, 0),
        (0, "b", "2024-01-06", 50, 0, 0, 0),
        (0, "a", "2024-02-05", 0, 0, 60, 60),
        (0, "b", "2024-02-05", 0, 0, 130, 12),
    ]
    df = pd.DataFrame(
        rows, columns=["replication", "app", "date", "dau", "dau_refused", "groups", "live_groups"]
    )
    df["date"] = pd.to_datetime(df["date"])
    return df


def _bills() -> pd.DataFrame:
    rows = [  # app, month, item, option, quantity, amount, kind
        ("a", "2024-01", "edition", "Pro", 22, 100.0, "postpaid"),
        ("a", "2024-01", "members_per_group", "2000", 22, 20.0, "postpaid"),
        ("a", "2024-02", "edition", "Pro", 14, 50.0, "postpaid"),
        ("a", "2024-02", "edition", "Ultimate", 15, 400.0, "postpaid"),
        ("a", "2024-02", "groups_per_user", "1000", 29, 30.0, "postpaid"),
        ("a", "2024-02", "dau_overage", "Ultimate", 1, 45.0, "overage"),
        ("b", "2024-01", "edition", "Pro", 2, 200.0, "prepaid"),
    ]
    df = pd.DataFrame(
        rows, columns=["app", "month", "item", "option", "quantity", "amount", "kind"]
    )
    df["currency"] = "USD"
    df["replication"] = 0
    return df


def _console() -> pd.DataFrame:
    rows = [
        ("2024-01-01", "a", "game", "create_app", True, ""),
        ("2024-01-01", "b", "social", "create_app", True, ""),
        ("2024-01-10", "a", "game", "upgrade", True, ""),
        ("2024-01-15", "a", "game", "reconfigure", False, "monthly_limit"),
        ("2024-01-16", "a", "game", "reconfigure", False, "monthly_limit"),
    ]
    df = pd.DataFrame(rows, columns=["time", "app", "archetype", "op", "ok", "reason"])
    df["time"] = [ts(t) for t in df["time"]]
    df["error_code"] = 0
    df["replication"] = 0
    return df


@pytest.fixture
def run() -> M.Run:
    return M.prepare(
        console_ops=_console(),
        group_ops=_group_ops(),
        timeline=_timeline(),
        usage=_usage(),
        bills=_bills(),
        summary=SUMMARY,
        caps=CAPS,
    )


# -- statistics ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "df", "expected"),
    [
        (0.975, 1, 12.7062),
        (0.975, 2, 4.3027),
        (0.975, 5, 2.5706),
        (0.975, 10, 2.2281),
        (0.975, 30, 2.0423),
        (0.975, 100, 1.9840),
        (0.95, 4, 2.1318),
        (0.995, 9, 3.2498),
        (0.975, 5000, 1.9600),
    ],
)
def test_t_quantile_matches_the_tables(p: float, df: int, expected: float) -> None:
    assert t_quantile(p, df) == pytest.approx(expected, abs=1e-4)


def test_mean_ci_by_hand() -> None:
    ci = mean_ci([1.0, 2.0, 3.0])  # mean 2, sd 1, t(0.975, 2) = 4.3027
    assert ci["mean"] == 2.0 and ci["sd"] == 1.0 and ci["n"] == 3
    assert ci["ci_low"] == pytest.approx(2 - 4.3027 / math.sqrt(3), abs=1e-4)
    one = mean_ci([5.0])
    assert one["mean"] == 5.0 and math.isnan(one["ci_low"])


def test_paired_deltas_by_hand_and_narrower_than_unpaired() -> None:
    a = pd.DataFrame({"replication": [0, 1, 2], "metric": "m", "value": [10.0, 20.0, 30.0]})
    b = a.assign(value=a["value"] + [1.0, 2.0, 3.0])
    d = paired_deltas(a, b).iloc[0]
    assert d["delta"] == 2.0 and d["n"] == 3
    assert d["ci_high"] - d["delta"] == pytest.approx(4.3027 * 1 / math.sqrt(3), abs=1e-4)
    assert d["pct"] == pytest.approx(10.0)  # 2 of a mean 20
    unpaired = mean_ci(b["value"])["ci_high"] - mean_ci(b["value"])["mean"]
    assert d["ci_high"] - d["delta"] < unpaired


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=12))
def test_identical_runs_have_zero_delta_and_the_ci_holds_the_mean(values: list[float]) -> None:
    a = pd.DataFrame({"replication": range(len(values)), "metric": "m", "value": values})
    d = paired_deltas(a, a).iloc[0]
    assert d["delta"] == 0 and d["ci_low"] == 0 and d["ci_high"] == 0
    ci = mean_ci(values)
    assert ci["ci_low"] <= ci["mean"] <= ci["ci_high"]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.sampled_from([0.9, 0.95, 0.975, 0.995]))
def test_t_quantile_falls_towards_the_normal(df: int, p: float) -> None:
    assert t_quantile(p, df) >= t_quantile(p, df + 1) > t_quantile(p, 10**6) - 1e-3


def test_summarise_and_per_replication_mean_count_missing_as_zero() -> None:
    df = pd.DataFrame({"replication": [0, 0, 1], "k": ["x", "y", "x"], "v": [2.0, 4.0, 6.0]})
    mean = per_replication_mean(df, ["k"], ["v"], n_reps=2).set_index("k")["v"]
    assert mean.to_dict() == {"x": 4.0, "y": 2.0}
    s = summarise(df.rename(columns={"k": "metric", "v": "value"})).set_index("metric")
    assert s.loc["x", "mean"] == 4.0 and s.loc["y", "n"] == 1


# -- normalisation ---------------------------------------------------------------------------


def test_exact_and_fast_group_ops_give_the_same_counts() -> None:
    exact = _group_ops()
    fast = (
        exact.assign(date=exact["time"].dt.tz_localize(None).dt.normalize())
        .groupby(["replication", "app", "date", "op", "error_code", "reason"], as_index=False)[
            "count"
        ]
        .sum()
    )
    a = M.group_op_counts(exact)
    b = M.group_op_counts(fast)
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False
    )
    assert a["n"].sum() == 7 + 30


def test_fast_mode_integer_day_needs_the_start() -> None:
    fast = pd.DataFrame(
        {"app": ["a"], "day": [3], "op": ["join_group"], "error_code": [10014], "n": [2]}
    )
    out = M.group_op_counts(fast, start=pd.Timestamp("2024-01-01"))
    assert (
        out["date"].iloc[0] == pd.Timestamp("2024-01-04") and out["reason"].iloc[0] == "group_full"
    )
    with pytest.raises(ValueError, match="start date"):
        M.group_op_counts(fast)


def test_prepare_finds_months_replications_archetypes(run: M.Run) -> None:
    assert run.months == ("2024-01", "2024-02")
    assert run.replications == (0, 1)
    assert run.archetypes.to_dict() == {"a": "game", "b": "social"}
    assert run.currency == "USD"


# -- error codes (R13) -------------------------------------------------------------------------


def test_error_rates_share_and_per_1000_dau_by_hand(run: M.Run) -> None:
    r = M.error_rates(run).set_index(["replication", "error_code"])
    # 7 group operations; 300 DAU-days served; 30 user-days refused of 330 demanded
    assert r.loc[(0, 10036), "share"] == pytest.approx(1 / 7)
    assert r.loc[(0, 10036), "per_1000_dau"] == pytest.approx(1000 / 300)
    assert r.loc[(0, 72000), "of"] == "user-days"
    assert r.loc[(0, 72000), "share"] == pytest.approx(30 / 330)
    assert r.loc[(0, 72000), "per_1000_dau"] == pytest.approx(100.0)
    assert set(r.index.get_level_values(0)) == {0}  # replication 1 met no error


def test_error_rates_by_edition_use_the_edition_in_force(run: M.Run) -> None:
    r = M.error_rates(run, by=["edition"]).set_index(["edition", "error_code"])
    assert r.loc[("IM", 10014), "attempts"] == 5  # 3 of a before 01-10, 2 of b
    assert r.loc[("IM", 10014), "share"] == pytest.approx(1 / 5)
    assert ("Pro", 10014) not in r.index


def test_error_rates_mean_over_replications_halves_the_counts(run: M.Run) -> None:
    r = M.error_rates(run, per_replication=False).set_index("error_code")
    assert r.loc[10036, "errors"] == 0.5
    assert r.loc[10036, "share"] == pytest.approx(1 / 7)


def test_console_refusals_and_top_apps(run: M.Run) -> None:
    c = M.console_refusals(run, per_replication=True).iloc[0]
    assert (c["op"], c["reason"], c["refused"], c["attempts"]) == (
        "reconfigure",
        "monthly_limit",
        2,
        2,
    )
    top = M.top_error_apps(run)
    assert list(top["app"]) == ["a"]
    assert top.iloc[0]["errors"] == 1.0 and top.iloc[0]["10036"] == 0.5  # per replication


# -- revenue -------------------------------------------------------------------------------------


def test_pack_lines_belong_to_the_month_main_edition(run: M.Run) -> None:
    b = run.bills.set_index(["month", "item"])["edition"]
    assert b[("2024-01", "members_per_group")] == "Pro"
    assert b[("2024-02", "groups_per_user")] == "Ultimate"  # the larger edition line
    assert b[("2024-02", "dau_overage")] == "Ultimate"


def test_revenue_mrr_and_arpu_by_hand(run: M.Run) -> None:
    total = M.revenue(run, by=["item"]).groupby("replication")["amount"].sum()
    assert total[0] == 845.0
    m = M.mrr_arpu(run).set_index(["replication", "month"])
    # prepaid 200 for 2 months is 100 a month of MRR (R11)
    assert m.loc[(0, "2024-01"), "mrr"] == 220.0 and m.loc[(0, "2024-02"), "mrr"] == 580.0
    assert m.loc[(0, "2024-02"), "overage"] == 45.0
    assert m.loc[(0, "2024-02"), "live_apps"] == 2 and m.loc[(1, "2024-02"), "live_apps"] == 2
    assert m.loc[(0, "2024-02"), "arpu"] == pytest.approx(312.5)
    assert m.loc[(1, "2024-01"), "mrr"] == 0.0
    by_month = M.revenue(run, by=["month"], per_replication=False).set_index("month")["amount"]
    assert by_month.to_dict() == {"2024-01": 160.0, "2024-02": 262.5}


# -- lifecycle (R1, R10, R14) ---------------------------------------------------------------------


def test_transitions_kinds(run: M.Run) -> None:
    t = M.transitions(run)
    got = [(r.replication, r.app, r.from_state, r.to_state, r.kind) for r in t.itertuples()]
    assert got == [
        (0, "a", "IM", "Pro-postpaid", "upgrade"),
        (0, "a", "Pro-postpaid", "Pro-postpaid", "pack_up"),
        (0, "a", "Pro-postpaid", "Ultimate-postpaid", "upgrade"),
        (0, "b", "IM", "Trial", "downgrade"),
        (0, "b", "Trial", "Deactivated", "deactivation"),
        (1, "b", "IM", "Deactivated", "deactivation"),
    ]


def test_lifecycle_flow_and_changes_by_month(run: M.Run) -> None:
    flow = M.lifecycle_flow(run).set_index(["from_state", "to_state"])["apps"]
    assert flow.to_dict() == {
        ("IM", "Pro-postpaid"): 0.5,
        ("Pro-postpaid", "Ultimate-postpaid"): 0.5,
        ("IM", "Trial"): 0.5,
        ("Trial", "Deactivated"): 0.5,
        ("IM", "Deactivated"): 0.5,
    }
    deact = M.changes_by_month(run, ["deactivation"]).groupby("month")["apps"].sum()
    assert deact.to_dict() == {"2024-02": 1.0}  # one a replication
    init = M.initial_states(run).set_index("state")["apps"]
    assert init.to_dict() == {"IM": 2.0}


def test_upgrade_funnel_by_hand(run: M.Run) -> None:
    f = M.upgrade_funnel(run)
    assert list(f["app"]) == ["a", "b"]  # b met 72000 (its DAU cap) on 01-05, never upgraded
    assert math.isnan(f.iloc[1]["days_to_upgrade"])
    row = f.iloc[0]
    assert (row["app"], row["first_limit_code"], row["action"]) == ("a", 10036, "upgrade")
    assert row["days_to_upgrade"] == 5  # 01-05 to 01-10
    s = M.funnel_summary(run, f).set_index("stage")["apps"]
    assert s["met a limit error"] == 1.0 and s["upgraded after it"] == 0.5


def test_grandfathered_excess_respects_caps_and_the_live_pack(run: M.Run) -> None:
    e = M.grandfathered_excess(run)
    # b on Trial holds 118 non-live (cap 100) and 12 live (cap 10); a's 60 live are unlimited
    assert e[["app", "excess_groups", "excess_live_groups"]].values.tolist() == [["b", 18, 2]]
    assert M.grandfathered_excess(M.prepare(usage=_usage(), timeline=_timeline())).empty


def test_headline_per_replication_and_summary(run: M.Run) -> None:
    h = M.headline(run).set_index(["metric", "replication"])["value"]
    assert h[("revenue_total", 0)] == 845.0 and h[("revenue_total", 1)] == 0.0
    assert h[("upgrades", 0)] == 1 and h[("deactivations", 1)] == 1
    assert h[("error_share", 0)] == pytest.approx(100 * 2 / 7)
    assert math.isnan(h[("error_share", 1)])  # no attempts
    assert h[("rate_72000_dau", 0)] == pytest.approx(100.0)
    s = M.headline_summary(run).set_index("metric")
    assert s.loc["revenue_total", "mean"] == 422.5
    half = t_quantile(0.975, 1) * np.std([845.0, 0.0], ddof=1) / math.sqrt(2)
    assert s.loc["revenue_total", "ci_high"] == pytest.approx(422.5 + half)


def test_all_metrics_on_empty_tables_do_not_fail() -> None:
    empty = M.prepare(timeline=_timeline(), summary=SUMMARY)
    tables = M.all_metrics(empty)
    assert tables["headline"]["metric"].tolist()[:2] == ["revenue_total", "mrr_last"]
    assert tables["error_rates_by_code"].empty
