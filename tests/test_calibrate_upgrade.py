"""``sim calibrate``: the upgrade policy's ``threshold`` (maximum likelihood on the rebuilt
windows of limit refusals) and ``reaction_days`` (simulated moments on the upgraders'
geometric-mean wait once over it), recovered from runs at values far from the defaults; the threshold's estimator
and interval by hand.

The observed tables are runs of 150 social apps on IM growing 25% a month (so most meet the
free tier's limits within the 6 months), price response off (every reacting app upgrades) and
deactivation off, at ``threshold`` :data:`TRUE_THRESHOLD` and ``reaction_days``
:data:`TRUE_REACTION` (defaults 20 and 5).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim.model.scenario import scenario_from_dict
from sim.reports.calibrate import fit_html
from sim.studies import calibrate as cal_mod
from sim.studies import calibrate_upgrade as upgrade
from sim.studies.calibrate_data import read_observed
from sim.studies.calibrate_yaml import scenario_data

TRUE_THRESHOLD = 8
TRUE_REACTION = 12.0
REACTION_TOLERANCE = 0.25
"""``reaction_days`` within +-25% of :data:`TRUE_REACTION` and its interval covering it, for
each of three seeds (about 100 upgrades each; seeds 11, 22, 33, 44, 55 gave 11.8, 12.7, 12.1,
10.3, 10.2, every interval covering 12). The threshold is recovered exactly: the rebuilt window is the policy's own count."""


def scenario(seed: int, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    policies: dict[str, Any] = {"deactivation": {"base_per_month": 0.0, "error_weight": 0.0}}
    if policy:
        policies["upgrade_on_errors"] = policy
    return {
        "name": "calib-upgrade",
        "start": "2024-01-01",
        "horizon_months": 6,
        "seed": seed,
        "mode": "fast",
        "population": {
            "social": {"count": 150, "start_state": {"IM": 1.0}, "growth_per_month": 0.25}
        },
        "behaviour": {"price_response": False, "policies": policies},
    }


def observed(seed: int, out: Path) -> Path:
    policy = {"threshold": TRUE_THRESHOLD, "reaction_days": TRUE_REACTION}
    r = sim.run(scenario(seed, policy))
    out.mkdir(parents=True, exist_ok=True)
    r.usage.drop(columns="replication").to_parquet(out / "usage.parquet")
    drop = ["archetype", "policy", "replication"]
    r.console_ops.drop(columns=drop).to_parquet(out / "console_ops.parquet")
    r.group_ops.drop(columns="replication").to_parquet(out / "group_ops.parquet")
    return out


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_threshold_and_reaction_days_recovered(tmp_path: Path, seed: int) -> None:
    folder = observed(seed, tmp_path / "obs")
    sc = scenario_from_dict(scenario(1))
    obs = read_observed(folder, None)
    assert obs.group_ops is not None
    tz, window = sc.load_catalog().tz, sc.behaviour.window_days
    seen = upgrade.exposure(obs.console_ops, obs.usage, obs.group_ops, tz, window)
    thr = upgrade.fit_threshold(seen, 20.0)
    assert thr.estimate == TRUE_THRESHOLD and thr.ci_low <= TRUE_THRESHOLD <= thr.ci_high
    data = {**scenario_data(sc), **cal_mod.observed_span(obs), "seed": 1 + cal_mod.SEED_OFFSET}

    def moment(d: dict[str, Any]) -> np.ndarray:
        t = cal_mod.simulate(cal_mod.scaled(d, 150))
        assert t.group_ops is not None
        seen = upgrade.exposure(t.console_ops, t.usage, t.group_ops, tz, window)
        return seen.waits(thr.estimate)

    e, curve = upgrade.fit_reaction_days(
        seen, thr.estimate, data, 5.0, cal_mod.REACTION_GRID, moment, lambda *a: None
    )
    assert e.parameter == upgrade.REACTION and "at grid edge" not in e.method
    assert e.ci_low <= TRUE_REACTION <= e.ci_high, (e, curve)
    assert abs(e.estimate / TRUE_REACTION - 1) <= REACTION_TOLERANCE, (e, curve)
    # the wait grows with reaction_days: what identifies it; at 1 day every app reacts at once
    assert curve["wait_days"].is_monotonic_increasing
    assert curve.set_index("reaction_days")["wait_days"][1.0] == 1.0


def test_the_reaction_moment_counts_only_the_apps_that_upgraded() -> None:
    """App 0 waits 3 days over the threshold and upgrades on the 4th; app 1 never upgrades
    (12 days over); app 2 is over once, below it 5 days, and upgrades: waits 4 and 1, their
    geometric mean 2; app 1's days do not count."""
    app = np.array([0] * 4 + [1] * 12 + [2] * 6)
    window = np.array([25] * 4 + [50] * 12 + [5] * 5 + [30], dtype=float)
    upgraded = np.zeros(len(app), dtype=bool)
    upgraded[[3, 21]] = True
    waits = upgrade.Exposure(app, window, upgraded).waits(20.0)
    assert waits.tolist() == [4, 1] and upgrade.geometric_wait(waits) == 2.0


def test_threshold_estimator_by_hand() -> None:
    """Windows of exposed IM app-days; upgrades on the days with windows 9, 12 and 30: the
    estimate is the least, 9. The rate at or over 9: 3 upgrades in 6 days, h = 0.5; app-days
    below 9 at 8, 8, 7, 3, 3: a threshold t would have given h x (days in [t, 9)) expected
    upgrades with none seen, allowed while that is at most -ln 0.05 = 2.996, i.e. up to 5
    days at h = 0.5 -- all 5 are allowed, so the interval reaches down to 1. With 8, 8, 8, 8,
    7, 7, 3, 3 below 9: t = 8 leaves 4 days in [8, 9), allowed; t = 7 leaves 6, not: so 8."""
    window = np.array([9, 12, 30, 9, 10, 40, 8, 8, 7, 3, 3], dtype=float)
    upgraded = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], dtype=bool)
    app = np.arange(len(window))
    e = upgrade.fit_threshold(upgrade.Exposure(app, window, upgraded), 20.0)
    assert (e.estimate, e.ci_low, e.ci_high) == (9.0, 1.0, 9.0)
    window = np.array([9, 12, 30, 9, 10, 40, 8, 8, 8, 8, 7, 7, 3, 3], dtype=float)
    upgraded = np.array([1, 1, 1] + [0] * 11, dtype=bool)
    app = np.arange(len(window))
    e = upgrade.fit_threshold(upgrade.Exposure(app, window, upgraded), 20.0)
    assert (e.estimate, e.ci_low, e.ci_high) == (9.0, 8.0, 9.0)
    none = upgrade.fit_threshold(upgrade.Exposure(app, window, np.zeros(14, dtype=bool)), 20.0)
    assert math.isnan(none.estimate) and upgrade.NO_UPGRADES in none.method


def test_without_upgrades_neither_is_fitted_and_the_page_still_renders(tmp_path: Path) -> None:
    r = sim.run({**scenario(3, {"enabled": False}), "horizon_months": 2})
    out = tmp_path / "obs"
    out.mkdir()
    r.usage.drop(columns="replication").to_parquet(out / "usage.parquet")
    drop = ["archetype", "policy", "replication"]
    r.console_ops.drop(columns=drop).to_parquet(out / "console_ops.parquet")
    r.group_ops.drop(columns="replication").to_parquet(out / "group_ops.parquet")
    sc = scenario_from_dict(scenario(1))
    cal = cal_mod.calibrate(out, sc, grid=(2.0, 8.0), moment_apps=40, gof_apps=40)
    rows = cal.table().set_index("parameter")
    for parameter in (upgrade.THRESHOLD, upgrade.REACTION):
        assert math.isnan(rows.loc[parameter, "estimate"])
        assert upgrade.NO_UPGRADES in rows.loc[parameter, "method"]
    assert "curve" not in cal.series["_moments"]
    assert upgrade.NO_UPGRADES in fit_html(cal)
