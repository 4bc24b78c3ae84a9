"""``sim calibrate``: the prepaid policy's ``renew_probability`` by simulated moments.

The observed tables are a run (CN catalog) of 300 apps mostly starting on Trial (they buy
one-month prepaid packages when they meet limits) over 6 months with ``renew_probability``
:data:`TRUE_RENEW`, far from the default 0.85. Deactivation by hazard is off (a package counts
when its app is still there at its expiry), so about 100 packages come due: the observed
share's standard error is about 0.045, the simulated one's (300 apps) the same.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.model.scenario import scenario_from_dict
from sim.studies import calibrate as cal_mod
from sim.studies import calibrate_renewal as renewal
from sim.studies.calibrate_data import read_observed
from sim.studies.calibrate_yaml import scenario_data

TRUE_RENEW = 0.3
TOLERANCE = 0.15
"""Absolute: about 2.5 standard errors of the difference of the two shares."""


def scenario(seed: int, renew: float, start: dict[str, float]) -> dict[str, Any]:
    """One archetype on the CN catalog (its Trial limits are met more often)."""
    return {
        "name": "calib-renewal",
        "catalog": {"name": "tencent-cn-2024"},
        "start": "2024-01-01",
        "horizon_months": 6,
        "seed": seed,
        "mode": "fast",
        "population": {"social": {"count": 300, "start_state": start}},
        "behaviour": {
            "wtp_scale": 7.2,  # (CNY per USD of the archetypes' willingness to pay)
            "policies": {
                "prepaid": {"renew_probability": renew},
                "deactivation": {"base_per_month": 0.0, "error_weight": 0.0},
            },
        },
    }


def observed(data: dict[str, Any], out: Path) -> Path:
    r = sim.run(data)
    out.mkdir(parents=True, exist_ok=True)
    r.usage.drop(columns="replication").to_parquet(out / "usage.parquet")
    drop = ["archetype", "policy", "replication"]
    r.console_ops.drop(columns=drop).to_parquet(out / "console_ops.parquet")
    return out


def _play(d: dict[str, Any]) -> pd.DataFrame:
    return sim.run(d).console_ops


TRIAL = {"IM": 0.1, "Trial": 0.9}


def test_renew_probability_recovered_within_tolerance(tmp_path: Path) -> None:
    folder = observed(scenario(5, TRUE_RENEW, TRIAL), tmp_path / "obs")
    sc = scenario_from_dict(scenario(1, 0.85, TRIAL))
    obs = read_observed(folder, None)
    data = {**scenario_data(sc), **cal_mod.observed_span(obs), "seed": 1 + cal_mod.SEED_OFFSET}
    last = obs.usage["date"].max()
    e, curve = renewal.fit_observed(obs.console_ops, last, sc, data, _play, lambda *a: None)
    assert e.parameter == "behaviour.policies.prepaid.renew_probability" and e.prior == 0.85
    assert e.method.startswith("simulated moments") and curve is not None
    assert e.ci_low <= e.estimate <= e.ci_high
    assert abs(e.estimate - TRUE_RENEW) <= TOLERANCE, (e, curve)
    assert curve["renewed_share"].iloc[0] < curve["renewed_share"].iloc[-1]


def test_renewal_moment_counts_packages_by_hand() -> None:
    # R11: bought 2024-01-15 (Shanghai) for 1 month, due 2024-02-15 00:00; renewed on its last
    # day (runs on to 2024-03-15), not renewed then; a lapsed app's purchase on the expiry day
    # itself is a new package, not a renewal.
    t = pd.Timestamp
    ops = pd.DataFrame(
        {
            "time": [
                t("2024-01-15 00:00+08:00"),
                t("2024-02-14 00:00+08:00"),
                t("2024-01-10 00:00+08:00"),
                t("2024-02-10 00:00+08:00"),
            ],
            "app": ["a", "a", "b", "b"],
            "op": ["buy_prepaid"] * 4,
            "months": [1, 1, 1, 1],
            "ok": [True] * 4,
        }
    )
    tz = scenario_from_dict(scenario(1, 0.5, TRIAL)).load_catalog().tz
    end = t("2024-05-01 00:00+08:00").tz_convert("UTC")
    # a: 2 due (Feb 15 renewed, Mar 15 not); b: 2 due (Feb 10 not renewed, Mar 10 not)
    assert renewal.renewals(ops, end, tz) == (1, 4)


def test_without_packages_due_renew_probability_is_not_identified(tmp_path: Path) -> None:
    data = scenario(5, TRUE_RENEW, TRIAL)
    data["behaviour"]["policies"]["prepaid"]["enabled"] = False  # (no package ever bought)
    folder = observed(data, tmp_path / "obs")
    sc = scenario_from_dict(scenario(1, 0.85, TRIAL))
    obs = read_observed(folder, None)

    def play(d: dict[str, Any]) -> pd.DataFrame:
        raise AssertionError("no model run without a moment to match")

    last = obs.usage["date"].max()
    e, curve = renewal.fit_observed(obs.console_ops, last, sc, {}, play, lambda *a: None)
    assert curve is None and math.isnan(e.estimate) and e.prior == 0.85
    assert e.method == f"not fitted: {renewal.NONE_DUE}"
