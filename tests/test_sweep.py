"""sim sweep (sim.studies.sweep, sim.cli.sweep, sim.reports.sweep): the grid, the figures of a
point against `sim run` of that point, the revenue-maximising point, bad input, and resuming
after a real kill -9."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from test_model import tiny

from sim.cli.app import main
from sim.model.dask_executor import DaskExecutor
from sim.model.executor import LocalExecutor
from sim.model.plan import resolve
from sim.model.runner import run_and_write
from sim.reports.report import load_run
from sim.results.metrics import headline
from sim.studies import sweep

PRO = "catalog.overrides.editions.Pro.price_per_month"


def _scenario(tmp_path: Path, **kw: object) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(mode="fast", **kw)))
    return path


# -- the grid -------------------------------------------------------------------------------------


def test_grid_lists_and_ranges() -> None:
    a = sweep.parse_grid(f"{PRO}=199,399.5, 599")
    assert a.key == PRO and a.values == (199, 399.5, 599) and a.numeric
    r = sweep.parse_grid("x=0.1:0.5:0.2")  # decimal steps are exact; stop included
    assert r.values == (0.1, 0.3, 0.5) and r.texts == ("0.1", "0.3", "0.5")
    assert sweep.parse_grid("x=1:10:4").values == (1, 5, 9)  # stop off the grid: not reached
    assert sweep.parse_grid("mode=exact,fast").values == ("exact", "fast")
    assert not sweep.parse_grid("mode=exact,fast").numeric


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=", "no values given"),
        ("x", "expected KEY=V1,V2"),
        ("x=a:b:c", "'a' is not a number"),
        ("x=1:5:0", "step must be > 0"),
        ("x=5:1:1", "empty range"),
        ("x=1,,2", "an empty value"),
        ("x=1,1", "given twice"),
    ],
)
def test_bad_grids_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(sweep.SweepError, match=message):
        sweep.parse_grid(text)


def test_plan_is_a_full_factorial_with_the_reference_point() -> None:
    base = resolve(tiny(replications=2))
    plan = sweep.plan_sweep(
        base, [sweep.parse_grid(f"{PRO}=199,599"), sweep.parse_grid("behaviour.elasticity=1,2")]
    )
    on_grid = [p for p in plan.points if p.on_grid]
    assert [p.values for p in on_grid] == [(199, 1), (199, 2), (599, 1), (599, 2)]
    # the scenario's own values (the catalog's Pro price, elasticity 1.5) are not on the grid
    assert plan.reference.values == (sweep.own_value(base, base.load_catalog(), PRO), 1.5)
    assert plan.reference.reference and not plan.reference.on_grid
    assert len(plan.tasks) == 5 * 2
    # common random numbers: replication r of every point, whatever the point
    assert {t.replication for t in plan.tasks if t.point.index == 3} == {0, 1}
    digests = {t.digest for t in plan.tasks}
    assert len(digests) == len(plan.tasks)  # each (point, replication) its own hash


def test_a_changed_input_invalidates_only_the_tasks_it_touches() -> None:
    base = resolve(tiny(replications=2))
    one = sweep.plan_sweep(base, [sweep.parse_grid(f"{PRO}=199,599")])
    more = sweep.plan_sweep(base, [sweep.parse_grid(f"{PRO}=199,599,799")])
    assert {t.digest for t in one.tasks} < {t.digest for t in more.tasks}
    reseeded = sweep.plan_sweep(resolve(tiny(replications=2, seed=12)), one.axes)
    assert not {t.digest for t in one.tasks} & {t.digest for t in reseeded.tasks}


# -- the figures ----------------------------------------------------------------------------------


def test_a_points_figures_equal_those_of_sim_run_of_that_point(tmp_path: Path) -> None:
    """Each row of the sweep is headline figures of `sim run --set KEY=value` (same seed and
    replications), replication by replication, read back from its files as `sim report` does."""
    base = resolve(tiny(mode="fast", replications=2))
    plan = sweep.plan_sweep(base, [sweep.parse_grid(f"{PRO}=199,799")])
    results = list(LocalExecutor(1).map(sweep.play_point, plan.tasks))
    df = sweep.table(plan, results)
    assert set(sweep.FIGURES) <= set(df.columns) and any(c.startswith("rate_") for c in df)
    for price in (199, 799):
        out = tmp_path / f"run-{price}"
        run_and_write(base, out, overrides=[f"{PRO}={price}"], workers=1)
        h = headline(load_run(out)).set_index(["replication", "metric"])["value"]
        rows = df[df[PRO] == price].set_index("replication")
        assert len(rows) == 2
        for rep, row in rows.iterrows():
            assert row["revenue_total"] == pytest.approx(h[(rep, "revenue_total")], rel=1e-12)
            assert row["mrr_last_month"] == pytest.approx(h[(rep, "mrr_last")], rel=1e-12)
            assert row["paying_apps_last_month"] == h[(rep, "paying_apps_last")]
            assert row["upgrades"] == h[(rep, "upgrades")]
            assert row["deactivations"] == h[(rep, "deactivations")]
            share = h[(rep, "group_errors")] / h[(rep, "group_attempts")]
            assert row["refused_share"] == pytest.approx(share, rel=1e-12)
            for metric in (m for r, m in h.index if r == rep and m.startswith("rate_")):
                assert row[metric] == pytest.approx(h[(rep, metric)], rel=1e-12)
    lo, hi = (df[df[PRO] == p]["revenue_total"].mean() for p in (199, 799))
    assert lo != hi  # the price moves revenue


def test_the_table_does_not_depend_on_the_executor() -> None:
    base = resolve(tiny(mode="fast", replications=2))
    plan = sweep.plan_sweep(base, [sweep.parse_grid(f"{PRO}=199,799")])
    local = sweep.table(plan, list(LocalExecutor(1).map(sweep.play_point, plan.tasks)))
    dask = DaskExecutor("local", 2, processes=False)
    try:
        on_dask = sweep.table(plan, list(dask.map(sweep.play_point, plan.tasks)))
    finally:
        dask.close()
    pd.testing.assert_frame_equal(local, on_dask)


def _synthetic(revenue: dict[int, list[float]]) -> pd.DataFrame:
    rows = [
        {"p": price, "replication": r, "point": i, "reference": False, "on_grid": True}
        | dict.fromkeys(sweep.FIGURES, 0.0)
        | {"revenue_total": v}
        for i, (price, values) in enumerate(revenue.items())
        for r, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_best_point_takes_the_highest_mean_and_bootstraps_its_interval() -> None:
    # replication effects (+0, +50, -30) are shared by every point: common random numbers
    df = _synthetic({100: [10, 60, -20], 200: [30, 80, 0], 300: [25, 76, -6], 400: [5, 55, -25]})
    best = sweep.best_point(df, ["p"])
    assert best["values"] == {"p": 200} and best["point"] == 1
    assert best["revenue"]["mean"] == pytest.approx(110 / 3)
    assert best["share"] == 1.0  # paired: every resample picks the same point
    assert best["interval"]["p"] == (200.0, 200.0)
    assert best["edge"] == []
    edge = sweep.best_point(_synthetic({100: [1, 2], 200: [3, 4]}), ["p"])
    assert edge["edge"] == ["p"]


def test_an_off_grid_reference_that_earns_more_is_reported() -> None:
    df = _synthetic({100: [1, 2], 200: [3, 4], 450: [9, 10]})
    own = df["p"] == 450  # the scenario's own value, off the grid
    df["reference"], df["on_grid"] = own, ~own
    best = sweep.best_point(df, ["p"])
    assert best["values"] == {"p": 200}  # grid points only
    assert best["reference_better"] == pytest.approx(9.5)
    df.loc[own, "revenue_total"] = [0, 1]  # now it earns less
    assert sweep.best_point(df, ["p"])["reference_better"] is None
    assert (
        sweep.best_point(_synthetic({100: [1, 2], 200: [3, 4]}), ["p"])["reference_better"] is None
    )


def test_a_noisy_maximum_has_a_wide_interval() -> None:
    rng = np.random.default_rng(3)
    prices = [100, 200, 300, 400, 500]
    noise = {p: list(1000 + rng.normal(0, 100, 6)) for p in prices}
    best = sweep.best_point(_synthetic(noise), ["p"])
    lo, hi = best["interval"]["p"]
    assert lo < hi and best["share"] < 1


def test_deltas_are_paired_against_the_reference() -> None:
    df = _synthetic({100: [10, 60, -20], 200: [30, 80, 0]})
    d = sweep.deltas(df, ["p"], reference=0)
    rev = d[(d["figure"] == "revenue_total") & (d["point"] == 1)].iloc[0]
    assert rev["mean"] == 20 and rev["sd"] == 0  # the same +20 in every replication
    assert math.isnan(rev["ci_low"]) is False and rev["ci_low"] == rev["ci_high"] == 20


# -- the command ----------------------------------------------------------------------------------


def test_sim_sweep_writes_its_table_and_page(tmp_path: Path, capsys) -> None:
    sc = _scenario(tmp_path, replications=2)
    out = tmp_path / "out"
    args = ["sweep", str(sc), "--grid", f"{PRO}=199,799", "--out", str(out), "--workers", "1"]
    assert main(args) == 0
    said = capsys.readouterr().out
    assert "3 points x 2 replication(s) = 6 tasks" in said
    assert "revenue-maximising point" in said and "edge of the grid" in said
    df = pd.read_parquet(out / "sweep.parquet")
    assert list(df.columns[:5]) == [PRO, "replication", "point", "reference", "on_grid"]
    assert len(df) == 6 and len(pd.read_csv(out / "sweep.csv")) == 6
    page = (out / "sweep.html").read_text()
    assert "data:image/png;base64," in page and "How it is computed" in page
    assert "edge of the grid" in page and "<script" not in page  # self-contained, no JS
    assert main(args) == 0  # again: every task reused, the same table
    assert "reused 6 of 6 tasks" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_parquet(out / "sweep.parquet"), df)


@pytest.mark.parametrize(
    ("grid", "extra", "message"),
    [
        ("behaviour.nope=1,2", [], "--grid behaviour.nope=1"),
        (f"{PRO}=a:b:1", [], "is not a number"),
        (f"{PRO}=", [], "no values given"),
        ("catalog.overrides.editions.Pro.no_such_field=1,2", [], "no_such_field"),
        (f"{PRO}=1:20000:1", [], "more than 10000; give --yes"),
    ],
)
def test_bad_sweeps_are_one_line_and_exit_2(
    tmp_path: Path, capsys, grid: str, extra: list[str], message: str
) -> None:
    sc = _scenario(tmp_path)
    out = tmp_path / "out"
    assert main(["sweep", str(sc), "--grid", grid, "--out", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not out.exists()


def test_an_unreachable_scheduler_is_one_line_within_the_timeout(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from sim.model import dask_executor

    monkeypatch.setattr(dask_executor, "CONNECT_TIMEOUT_S", 2)
    sc = _scenario(tmp_path)
    t0 = time.monotonic()
    out = str(tmp_path / "o")
    code = main(
        ["sweep", str(sc), "--grid", f"{PRO}=199", "--out", out, "--cluster", "tcp://127.0.0.1:9"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "cannot reach a Dask scheduler" in err and err.count("\n") == 1, err
    assert time.monotonic() - t0 < 10
    assert not (tmp_path / "o" / "sweep.parquet").exists()


def test_a_sweep_killed_with_kill_9_resumes_where_it_stopped(tmp_path: Path) -> None:
    sc = _scenario(tmp_path, replications=2, horizon_months=3)
    grid = ["--grid", f"{PRO}=199,399,599", "--workers", "1", "--no-progress"]
    cmd = [sys.executable, "-m", "sim", "sweep", str(sc), *grid, "--out"]
    killed = tmp_path / "killed"
    proc = subprocess.Popen([*cmd, str(killed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tasks = killed / "tasks"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = [p for p in tasks.glob("*/MANIFEST.json")] if tasks.is_dir() else []
        if len(done) >= 2 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the sweep ended before it was killed"
    finished = len(list(tasks.glob("*/MANIFEST.json")))
    assert 2 <= finished < 8 and not (killed / "sweep.parquet").exists()
    again = subprocess.run([*cmd, str(killed)], capture_output=True, text=True, check=True)
    assert f"reused {finished} of 8 tasks" in again.stdout, again.stdout
    whole = tmp_path / "whole"
    subprocess.run([*cmd, str(whole)], capture_output=True, check=True)
    assert (killed / "sweep.parquet").read_bytes() == (whole / "sweep.parquet").read_bytes()
    assert (killed / "sweep.csv").read_bytes() == (whole / "sweep.csv").read_bytes()
