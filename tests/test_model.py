"""The SimPy model (exact mode) and runs: tables, limits met, determinism, common random numbers,
decisions through the engine, and the price response."""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from sim.cli import run as cli_run
from sim.files.catalogs import load_catalog
from sim.model.exact import Horizon, decision_uniforms, make_tenants
from sim.model.population import PLAN_MONTHS, draw_plans, month_plan, take_month
from sim.model.runner import TABLES, error_counts, revenue_by_month, run, write
from sim.model.scenario import scenario_from_dict

OFF = {"enabled": False}


def tiny(**kw: Any) -> dict[str, Any]:
    """Two dozen apps of every archetype, two months."""
    sc = {
        "name": "tiny",
        "start": "2024-01-01",
        "horizon_months": 2,
        "seed": 11,
        "population": {
            "social": {"count": 6},
            "enterprise": {"count": 3},
            "live": {"count": 4},
            "community": {"count": 3},
            "game": {"count": 3},
        },
    }
    sc.update(kw)
    return sc


def limits_scenario() -> dict[str, Any]:
    """Free-tier apps that never upgrade: they meet every limit of the free tier."""
    im = {"IM": 1.0}
    return tiny(
        name="limits",
        seed=5,
        population={
            "social": {"count": 3, "start_state": im, "users0_median": 150, "users0_sigma": 0.2},
            "game": {
                "count": 3,
                "start_state": im,
                "users0_median": 300,
                "users0_sigma": 0.2,
                "lifetime_days": 60,
                "create_rate": 0.2,
                "activity_exponent": 0.95,
                "size_min": 4,
            },
            "live": {
                "count": 3,
                "start_state": {"IM": 1, "Pro": 1},
                "users0_median": 400,
                "users0_sigma": 0.2,
                "live_rate": 0.3,
            },
            "community": {"count": 3, "start_state": im, "users0_median": 300, "users0_sigma": 0.2},
        },
        behaviour={
            "policies": {
                "upgrade_on_errors": OFF,
                "deactivation": OFF,
                "prepaid": OFF,
                "downgrade_low_usage": OFF,
            }
        },
    )


@pytest.fixture(scope="module")
def result():
    return run(tiny())


def test_tables_and_columns(result) -> None:
    assert set(result.tables()) == set(TABLES)
    assert list(result.console_ops.columns) == [
        "time",
        "app",
        "archetype",
        "op",
        "policy",
        "edition",
        "live_unlimited",
        "groups_per_user",
        "members_per_group",
        "months",
        "ok",
        "error_code",
        "reason",
        "note",
        "replication",
    ]
    assert {"time", "app", "op", "group_type", "ok", "error_code", "reason", "count"} <= set(
        result.group_ops.columns
    )
    assert list(result.usage.columns) == [
        "app",
        "date",
        "users",
        "dau",
        "dau_refused",
        "groups",
        "live_groups",
        "replication",
    ]
    assert {"app", "month", "item", "amount", "amount_minor"} <= set(result.bills.columns)
    for df in result.tables().values():
        assert (df["replication"] == 0).all()


def test_every_outcome_is_the_engines(result) -> None:
    g = result.group_ops
    assert (g["ok"] == (g["reason"] == "")).all()
    assert (g.loc[g["ok"], "error_code"] == 0).all()
    assert (g.loc[~g["ok"], "error_code"] > 0).all()
    c = result.console_ops
    assert (c["ok"] == (c["reason"] == "")).all()
    first = c.groupby("app")["op"].first()
    assert (first == "create_app").all() and len(first) == result.usage["app"].nunique()


def test_times_are_in_the_horizon_and_ordered(result) -> None:
    t = result.group_ops["time"]
    assert t.is_monotonic_increasing
    assert t.min() >= pd.Timestamp("2024-01-01", tz="Asia/Shanghai")
    assert t.max() < pd.Timestamp("2024-03-01", tz="Asia/Shanghai")


def test_free_tier_apps_meet_every_free_tier_limit() -> None:
    r = run(limits_scenario())
    codes = set(r.group_ops.loc[~r.group_ops["ok"], "error_code"])
    assert {70398, 10058, 10036, 10037, 10014, 10059, 72000} <= codes
    # the DAU cap: served DAU of a free-tier app never exceeds 100
    free = ~r.usage["app"].str.startswith("live")
    assert r.usage.loc[free, "dau"].max() <= 100
    # heavy tails: the groups that meet 10014 are few, the users who meet 10037 are few
    g = r.group_ops
    full = g.loc[g["error_code"] == 10014, "group"].nunique()
    assert 0 < full < 0.2 * g.loc[g["op"] == "create_group", "group"].nunique()


def test_same_seed_gives_byte_identical_parquet(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    write(run(tiny()), a)
    write(run(tiny()), b)
    from fake_run import folder_bytes

    files = folder_bytes(a)
    assert {f.split("/")[0] for f in files} == {f"{t}.parquet" for t in TABLES} | {"manifest.json"}
    assert files == folder_bytes(b)
    assert (a / "summary.json").is_file()


def test_a_different_seed_gives_different_demand() -> None:
    a, b = run(tiny(horizon_months=1)), run(tiny(horizon_months=1, seed=12))
    assert not a.usage["dau"].equals(b.usage["dau"])


def test_prices_and_limits_do_not_change_the_demand_drawn() -> None:
    """Common random numbers: the tenants, their plans and their decision uniforms are the
    same under two catalogs (a price and a limit changed)."""
    sc = scenario_from_dict(tiny())
    out = []
    for cat in (
        load_catalog(),
        load_catalog(
            None, ["editions.Pro.price_per_month=99.99", "editions.IM.limits.accounts=500"]
        ),
    ):
        h = Horizon.of(sc.start, sc.horizon_months, cat)
        tenants = make_tenants(sc, 0, h)
        days = np.arange(h.month_first[0], h.month_first[1])
        plans = [take_month(t, days, h.day_s, h.day_s[days[-1] + 1], h.day_s[-1]) for t in tenants]
        out.append((tenants, plans, decision_uniforms(tenants, len(days))))
    (ta, pa, ua), (tb, pb, ub) = out
    for x, y, p, q in zip(ta, tb, pa, pb, strict=True):
        assert np.array_equal(x.users, y.users) and np.array_equal(x.dau, y.dau)
        assert x.wtp == y.wtp and x.start_state == y.start_state
        for col in p:
            assert np.array_equal(p[col], q[col])
    assert np.array_equal(ua, ub)


def test_a_tenants_streams_do_not_depend_on_the_others() -> None:
    small = scenario_from_dict(tiny())
    big = scenario_from_dict(tiny(population={"social": {"count": 9}, "game": {"count": 3}}))
    cat = load_catalog()
    h = Horizon.of(small.start, 2, cat)
    a = {t.app: t for t in make_tenants(small, 0, h)}
    b = {t.app: t for t in make_tenants(big, 0, h)}
    for app in ("social-0000", "social-0005", "game-0002"):
        assert np.array_equal(a[app].dau, b[app].dau)


def test_plans_drawn_together_are_the_plans_drawn_alone() -> None:
    """Per-tenant streams: drawing every tenant's plan in one call (the fast mode) gives each
    tenant the plan it draws alone (the exact mode), block after block."""
    sc = scenario_from_dict(tiny(horizon_months=4))
    cat = load_catalog()
    h = Horizon.of(sc.start, sc.horizon_months, cat)
    together, alone = make_tenants(sc, 0, h), make_tenants(sc, 0, h)
    for m in (0, PLAN_MONTHS):
        days = h.plan_days(m)
        p = draw_plans(together[::-1], days, h.day_s, h.day_s[-1])  # any order of tenants
        assert (np.diff(p["tenant"]) >= 0).all()
        for j, t in enumerate(alone[::-1]):
            q = month_plan(t, days, h.day_s, h.day_s[-1])
            rows = p["tenant"] == j
            assert rows.sum() == len(q["t"]) > 0
            for col in q:
                assert np.array_equal(p[col][rows], q[col]), (t.app, col)
    assert [t.next_seq for t in together] == [t.next_seq for t in alone]


def test_replications_add_a_replication_column() -> None:
    r = run(tiny(horizon_months=1), replications=2)
    for name, df in r.tables().items():
        assert "replication" in df.columns
        assert set(df["replication"]) == ({0, 1} if len(df) else set()), name
    assert r.summary["replications"] == 2


def test_summary_headlines(result) -> None:
    s = result.summary
    assert len(s["scenario_hash"]) == 64 and s["seed"] == 11
    assert set(s["versions"]) >= {"simpy", "numpy", "pandas", "pyarrow"}
    assert list(s["revenue_by_month"]) == ["2024-01", "2024-02"]
    assert s["revenue_total"] == pytest.approx(result.bills["amount"].sum(), abs=0.01)
    assert all(0 <= e["rate"] <= 1 for e in s["error_rates"].values())
    errs = error_counts(result)
    assert (errs["refused"] <= errs["attempts"]).all()


def test_campaign_switch_off_meets_r9_monthly_limit() -> None:
    """A live event switches unlimited live groups on; switching them off in the same month is
    refused (R9) and done on the 1st of the next month."""
    sc = tiny(
        population={
            "live": {
                "count": 6,
                "start_state": {"Pro": 1},
                "event_prob_per_month": 1.0,
                "wtp_median": 100000,
            }
        },
        behaviour={"policies": {"deactivation": OFF, "packs_on_errors": OFF}},
    )
    c = run(sc).console_ops
    camp = c[c["policy"] == "campaign_live"]
    on = camp[(camp["live_unlimited"] == True) & camp["ok"]]  # noqa: E712
    assert len(on) > 0
    refused = camp[~camp["ok"]]
    assert (refused["reason"] == "monthly_limit").all() and len(refused) > 0
    off = camp[(camp["live_unlimited"] == False) & camp["ok"]]  # noqa: E712
    assert (off["time"].dt.day == 1).any()


# -- price response -------------------------------------------------------------------------------


def _price_paths(cat) -> list[tuple[str, Decimal]]:
    out = []
    for name, ed in cat.editions.items():
        for field in ("price_per_month", "prepaid_price_per_month"):
            v = getattr(ed, field)
            if v:
                out.append((f"editions.{name}.{field}", v))
        for pack in ("live_unlimited", "groups_per_user", "members_per_group"):
            p = getattr(ed.packs, pack)
            for opt, v in p.options.items() if p else ():
                if v:
                    out.append((f"editions.{name}.packs.{pack}.options.{str(opt).lower()}", v))
        for kind in ("dau", "groups"):
            b = getattr(ed.overage, kind)
            if b and b.price_per_block:
                out.append((f"editions.{name}.overage.{kind}.price_per_block", b.price_per_block))
    return out


def test_without_price_response_halving_prices_halves_bills_and_changes_no_operation() -> None:
    cat = load_catalog()
    even = {p: v - (v * 100 % 2) / 100 for p, v in _price_paths(cat)}  # even cents
    base = {p: str(v) for p, v in even.items()}
    half = {p: str(v / 2) for p, v in even.items()}
    runs = [
        run(tiny(catalog={"overrides": o}, behaviour={"price_response": False}))
        for o in (base, half)
    ]
    a, b = runs
    for name in ("console_ops", "group_ops", "timeline", "usage", "purchases"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert len(a.bills) == len(b.bills) > 0
    assert (a.bills["amount_minor"] > 0).all()
    diff = (a.bills["amount_minor"] - 2 * b.bills["amount_minor"]).abs()
    assert (diff <= 2).all()  # within a rounding cent of the halved line


def _buyers(r, pack: str = "live_unlimited") -> int:
    c = r.console_ops
    bought = c[c["ok"] & (c[pack] == True)]  # noqa: E712
    return bought.groupby(["replication", "app"]).ngroups


def test_a_cheaper_pack_is_bought_by_no_fewer_apps() -> None:
    """With price response and common random numbers, over replications: the unlimited-live
    pack at 149.99 instead of 449.99 is bought by at least as many apps."""
    sc = tiny(
        population={
            "live": {
                "count": 12,
                "start_state": {"Pro": 1},
                "wtp_median": 700,
                "live_rate": 0.3,
                "live_hours_median": 24,
            }
        },
        behaviour={"policies": {"campaign_live": OFF}},
        mode="fast",
    )
    dear = run(sc, replications=3)
    cheap_sc = {
        **sc,
        "catalog": {"overrides": {"editions.Pro.packs.live_unlimited.options.true": 149.99}},
    }
    cheap = run(cheap_sc, replications=3)
    assert _buyers(cheap) >= _buyers(dear)
    assert _buyers(cheap) > 0
    # same demand: the DAU drawn are the same
    assert (cheap.usage["dau"] + cheap.usage["dau_refused"]).sum() > 0


def test_a_dearer_edition_is_bought_by_fewer_apps() -> None:
    """Not merely later: with Pro at 1349.99 instead of 449.99 fewer apps ever upgrade (at
    the start or on errors), with common random numbers over 2 replications."""
    im = {"IM": 1.0}
    sc = tiny(
        population={
            "social": {"count": 12, "start_state": im, "users0_median": 200},
            "game": {"count": 6, "start_state": im},
        },
        behaviour={"policies": {"deactivation": OFF}},
    )
    first = []
    for price in ("449.99", "1349.99"):
        r = run(
            {**sc, "catalog": {"overrides": {"editions.Pro.price_per_month": price}}},
            replications=2,
        )
        c = r.console_ops
        up = c[(c["op"] == "upgrade") & c["ok"]]
        first.append(len(set(zip(up["replication"], up["app"], strict=True))))
    n_cheap, n_dear = first
    assert n_dear < n_cheap


def test_revenue_by_month_sums_bills(result) -> None:
    rev = revenue_by_month(result)
    assert rev.sum() == pytest.approx(result.bills["amount_minor"].sum() / 100)


# -- the command line -----------------------------------------------------------------------------


def test_cli_run_writes_tables_and_summary(tmp_path: Path, capsys) -> None:
    parser = argparse.ArgumentParser()
    cli_run.add_arguments(parser)
    scen = tmp_path / "s.yaml"
    scen.write_text(
        "name: s\nstart: 2024-01-01\nhorizon_months: 1\nseed: 3\nmode: exact\n"
        "population: {social: {count: 3}, game: {count: 1}}\n"
    )
    args = parser.parse_args(
        [
            str(scen),
            "--out",
            str(tmp_path / "out"),
            "--mode",
            "fast",
            "--set",
            "population.social.count=2",
            "--seed",
            "4",
        ]
    )
    assert cli_run.run(args) == 0
    out = capsys.readouterr().out
    assert "fast mode, seed 4" in out and "wrote" in out
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {f"{t}.parquet" for t in TABLES} | {"summary.json", "manifest.json"}
    usage = pd.read_parquet(tmp_path / "out" / "usage.parquet")
    assert usage["app"].nunique() <= 3


def test_summary_names_the_warmup_and_the_assumptions() -> None:
    s = run(tiny(warmup_months=1)).summary
    assert s["warmup_months"] == 1 and s["report_start"] == "2024-02"
    rows = s["assumptions"]
    assert {r["group"] for r in rows} >= {"population.social", "population.game", "demand"}
    names = {(r["group"], r["name"]) for r in rows}
    for name in ("users0_median", "growth_per_month", "dau_share", "create_rate", "live_rate"):
        assert ("population.social", name) in names
    assert all(set(r) == {"group", "name", "value", "unit", "calibrated", "note"} for r in rows)
    assert not any(r["calibrated"] for r in rows)
    social = {r["name"]: r["value"] for r in rows if r["group"] == "population.social"}
    assert social["users0_median"] == 40 and social["start_state.IM"] == 0.95


def test_arriving_apps_appear_on_their_day_on_im_and_hobby_apps_go_quiet() -> None:
    sc = tiny(
        horizon_months=3,
        population={"hobby": {"count": 2, "arrivals_per_month": 4, "quiet_after_months": 0.5}},
    )
    r = run(sc)
    created = r.console_ops[r.console_ops["op"] == "create_app"].set_index("app")["time"]
    assert len(created) == 2 + 12 and created.dt.date.nunique() > 5
    first_use = r.usage.groupby("app")["date"].min()
    for app, t in created.items():
        assert first_use[app] == t.tz_localize(None).normalize()
    assert not (r.console_ops["edition"].fillna("IM") != "IM").any()  # hobby apps never pay
    quiet = r.usage.groupby("app")["dau"].apply(lambda s: s.iloc[-7:].sum())
    assert (quiet == 0).sum() > len(quiet) // 2


def test_coverage_names_what_a_run_never_billed_or_met() -> None:
    from sim.model.coverage import LIMIT_CODES, priced_items, unexercised

    cat = load_catalog("tencent-intl-2022")
    items = priced_items(cat)
    assert "postpaid edition Pro" in items and "overage dau_overage Ultimate" in items
    bills = pd.DataFrame(
        {
            "kind": ["postpaid", "postpaid"],
            "item": ["edition", "members_per_group"],
            "option": ["Pro", "2000"],
            "amount_minor": [44999, 0],
        }
    )
    never, codes = unexercised(cat, bills, [10014, 70398])
    assert "postpaid edition Pro" not in never and "postpaid members_per_group 2000" in never
    assert codes == [c for c in LIMIT_CODES if c not in (10014, 70398)]
