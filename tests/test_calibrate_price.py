"""``sim calibrate``: the demand model's price response (``behaviour.wtp_scale``) by simulated
moments when the observed span has a scheduled price change, and reported as not identified
when it has none.

The observed tables are a run of a CN scenario with Pro 999 -> 1,499 CNY on 2024-03-01 (no
grandfathering), one archetype (social: wtp lognormal, median 150 x ``wtp_scale``, log-sd 1)
mostly starting on Pro, at ``wtp_scale`` :data:`TRUE_SCALE`, four times the scenario's 7.2.
Deactivation by hazard and the other buying policies are off so that the moment (share of the
apps paying at the change that leave or move down) is the price response alone.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

import sim
from sim.model.scenario import scenario_from_dict
from sim.studies import calibrate as cal_mod
from sim.studies import calibrate_ops as ops
from sim.studies.calibrate_data import read_observed
from sim.studies.calibrate_yaml import scenario_data

PRIOR_SCALE = 7.2
TRUE_SCALE = 20.0
TOLERANCE = 2.0
"""The estimate must be within a factor 2 of :data:`TRUE_SCALE` (the scenario's value is a
factor 4 off): at these sizes (about 250 apps paying at the change on each side) the moment's
standard error is about 0.02 on a curve that falls about 0.1 per doubling of the scale."""


def scenario(seed: int, wtp_scale: float, change: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": "calib-price",
        "catalog": {
            "name": "tencent-cn-2024",
            "overrides": {
                "editions.Pro.price_per_month": 999,
                "editions.Pro.prepaid_price_per_month": 999,
            },
        },
        "start": "2024-01-01",
        "horizon_months": 4,
        "seed": seed,
        "mode": "fast",
        "population": {"social": {"count": 300, "start_state": {"IM": 0.1, "Pro": 0.9}}},
        "behaviour": {
            "price_response": True,
            "wtp_scale": wtp_scale,
            "policies": {
                "deactivation": {"base_per_month": 0.0, "error_weight": 0.0},
                "packs_on_errors": {"enabled": False},
                "campaign_live": {"enabled": False},
            },
        },
    }
    if change:
        d["catalog_changes"] = [
            {
                "at": "2024-03-01",
                "grandfather_months": 0,
                "overrides": {
                    "editions.Pro.price_per_month": 1499,
                    "editions.Pro.prepaid_price_per_month": 1499,
                },
            }
        ]
    return d


def observed(data: dict[str, Any], out: Path) -> Path:
    r = sim.run(data)
    out.mkdir(parents=True, exist_ok=True)
    r.usage.drop(columns="replication").to_parquet(out / "usage.parquet")
    drop = ["archetype", "policy", "replication"]
    r.console_ops.drop(columns=drop).to_parquet(out / "console_ops.parquet")
    return out


def test_price_response_recovered_within_a_factor_two(tmp_path: Path) -> None:
    folder = observed(scenario(5, TRUE_SCALE), tmp_path / "obs")
    sc = scenario_from_dict(scenario(1, PRIOR_SCALE))
    obs = read_observed(folder, None)
    change = ops.price_change_in(sc.catalog_changes, sc.load_catalog().tz, obs.usage["date"])
    assert change is not None and change.months == 2
    assert change.start == pd.Timestamp("2024-02-29 16:00", tz="UTC")  # (midnight in Shanghai)
    span = cal_mod.observed_span(obs)
    data = {**scenario_data(sc), **span, "seed": 1 + cal_mod.SEED_OFFSET}
    e, curve = cal_mod.fit_price_response(
        obs, data, change, cal_mod.PRICE_GRID, 300, lambda *a: None
    )
    assert e.parameter == "behaviour.wtp_scale" and e.prior == PRIOR_SCALE
    assert e.method.startswith("simulated moments")
    assert e.ci_low <= e.estimate <= e.ci_high
    assert abs(math.log(e.estimate / TRUE_SCALE)) <= math.log(TOLERANCE), (e, curve)
    # the curve the estimate is read on falls with the scale (what identifies it)
    assert curve["moved_share"].iloc[0] > curve["moved_share"].iloc[-1]


def test_without_a_price_change_price_response_is_not_identified(tmp_path: Path) -> None:
    folder = observed(scenario(5, TRUE_SCALE, change=False), tmp_path / "obs")
    sc = scenario_from_dict(scenario(1, PRIOR_SCALE, change=False))
    cal = cal_mod.calibrate(folder, sc, grid=(2.0, 8.0), moment_apps=60, gof_apps=60)
    row = cal.table().set_index("parameter").loc["behaviour.wtp_scale"]
    assert math.isnan(row["estimate"]) and row["prior"] == PRIOR_SCALE
    assert cal_mod.NOT_IDENTIFIED in row["method"]
    assert any(cal_mod.NOT_IDENTIFIED in note for note in cal.notes)  # (fit.html shows them)
    assert f"wtp_scale: {PRIOR_SCALE}  # scenario's value; not fitted" in cal.yaml_text
