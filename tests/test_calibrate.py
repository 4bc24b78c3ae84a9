"""``sim calibrate``: parameter recovery, misspecification flagged, outputs, bad input.

Observed tables are simulated by ``sim.run`` from known archetype parameters far from the
defaults (:data:`TRUE`), written as ``sim run`` writes them minus the model-only columns, and
calibrated against a scenario with the defaults. Tolerances per parameter (:data:`TOLERANCE`)
are about 2.5 standard errors at these sizes (80 + 50 apps at the start, 6 months).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim.cli.app import main
from sim.errors import InputError
from sim.model.scenario import Scenario, load_scenario, scenario_from_dict
from sim.studies import calibrate as cal_mod

TRUE: dict[str, dict[str, Any]] = {
    "social": {
        "count": 80,
        "arrivals_per_month": 4.0,
        "start_state": {"IM": 0.7, "Pro": 0.3},
        "users0_median": 120.0,
        "users0_sigma": 0.5,
        "growth_per_month": 0.15,
        "growth_sd_between": 0.06,
        "dau_share": 0.5,
        "create_rate": 0.01,
        "live_rate": 0.006,
    },
    "enterprise": {
        "count": 50,
        "arrivals_per_month": 0.0,
        "start_state": {"IM": 0.5, "Pro": 0.5},
        "users0_median": 400.0,
        "users0_sigma": 0.6,
        "growth_per_month": 0.10,
        "growth_sd_between": 0.005,
        "dau_share": 0.15,
        "create_rate": 0.02,
        "live_rate": 0.0,
    },
}
"""The parameters the observed tables are drawn from (defaults: social 40, 0.8, 0.08, 0.02,
0.3, 0.03, 0.002; enterprise 150, 0.9, 0.03, 0.02, 0.6, 0.006, 0)."""

TOLERANCE: dict[str, tuple[str, float]] = {
    "users0_median": ("relative", 0.25),
    "users0_sigma": ("relative", 0.25),
    "growth_per_month": ("absolute", 0.03),
    "growth_sd_between": ("absolute", 0.02),
    "dau_share": ("relative", 0.10),
    "create_rate": ("relative", 0.20),
    "live_rate": ("absolute", 0.002),
    "arrivals_per_month": ("absolute", 1.0),
    "start_state.Pro": ("absolute", 0.2),
}
"""Parameter -> (kind, tolerance) of the recovery test."""


def scenario(seed: int, population: dict[str, dict[str, Any]], months: int = 6) -> dict[str, Any]:
    return {
        "name": "calib-test",
        "start": "2024-01-01",
        "horizon_months": months,
        "seed": seed,
        "mode": "fast",
        "population": population,
        "behaviour": {"price_response": False},
    }


def observed(seed: int, out: Path, months: int = 6) -> Path:
    """Simulate :data:`TRUE` and write the tables as observed input (segment column kept)."""
    r = sim.run(scenario(seed, TRUE, months))
    seg = r.console_ops.drop_duplicates("app").set_index("app")["archetype"].astype(str)
    out.mkdir(parents=True, exist_ok=True)
    usage = r.usage.drop(columns="replication")
    usage["segment"] = usage["app"].map(seg)
    usage.to_parquet(out / "usage.parquet")
    drop = ["archetype", "policy", "replication"]
    r.console_ops.drop(columns=drop).to_parquet(out / "console_ops.parquet")
    r.group_ops.drop(columns="replication").to_csv(out / "group_ops.csv", index=False)
    return out


def prior() -> Scenario:
    pop = {k: {"count": v["count"]} for k, v in TRUE.items()}
    return scenario_from_dict(scenario(1, pop))


def _check(parameter: str, got: float, want: float) -> bool:
    kind, tol = TOLERANCE[parameter]
    return abs(got - want) <= (tol * abs(want) if kind == "relative" else tol)


@pytest.mark.parametrize("seed", [11, 22, 33])
def test_parameters_recovered_within_tolerance(tmp_path: Path, seed: int) -> None:
    folder = observed(seed, tmp_path / "obs")
    _, counts, estimates = cal_mod.estimate(folder, prior())
    assert counts["social"] == 80 + 4 * 6 and counts["enterprise"] == 50
    got = {(e.segment, e.parameter): e for e in estimates}
    misses = []
    for seg, params in TRUE.items():
        for parameter in TOLERANCE:
            want = (
                params["start_state"].get("Pro", 0.0)
                if parameter == "start_state.Pro"
                else params[parameter]
            )
            e = got[(seg, parameter)]
            assert e.ci_low <= e.estimate <= e.ci_high, (seg, parameter)
            if not _check(parameter, e.estimate, want):
                misses.append((seg, parameter, e.estimate, want))
    assert not misses


def test_without_segment_column_apps_go_by_the_likelihood_rule(tmp_path: Path) -> None:
    folder = observed(5, tmp_path / "obs")
    u = pd.read_parquet(folder / "usage.parquet").drop(columns="segment")
    u.to_parquet(folder / "usage.parquet")
    obs, counts, _ = cal_mod.estimate(folder, prior())
    assert "likelihood" in obs.assignment
    assert sum(counts.values()) == 80 + 24 + 50
    # first-day users: social's median 120 against enterprise's 400 (sigma 0.5-0.6): most
    # enterprise apps are the large ones, whatever the rule's prior medians
    assert counts["enterprise"] >= 20


def _saturating(folder: Path) -> None:
    """Replace the demand users of every app with a saturating law (same start, same rise by
    the end as the exponential it replaces, but all of it in the first month)."""
    u = pd.read_parquet(folder / "usage.parquet")
    g = pd.read_csv(folder / "group_ops.csv")
    g = g.loc[~((g["op"] == "register_user") & (g["error_code"] != 0))]  # users: no censoring
    g.to_csv(folder / "group_ops.csv", index=False)
    day = (u["date"] - u.groupby("app")["date"].transform("min")).dt.days.to_numpy()
    first = u.groupby("app")["users"].transform("first").to_numpy(dtype=float)
    last_day = u.groupby("app")["date"].transform("max")
    span = (last_day - u.groupby("app")["date"].transform("min")).dt.days.to_numpy()
    rise = 0.15 / 30 * span
    law = first * np.exp(rise * (1 - np.exp(-day / 10.0)))
    u["users"] = np.round(law).astype(np.int64)
    u.to_parquet(folder / "usage.parquet")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full calibration (small grid) on well-specified and on misspecified data."""
    out: dict[str, Any] = {}
    for name in ("exponential", "saturating"):
        folder = observed(7, tmp_path_factory.mktemp(name) / "obs", months=8)
        if name == "saturating":
            _saturating(folder)
        out[name] = cal_mod.calibrate(
            folder, prior(), grid=(2.0, 20.0), moment_apps=120, gof_apps=400
        )
    return out


def test_misspecified_growth_is_flagged(fitted: dict[str, Any]) -> None:
    def shape(name: str) -> pd.Series:
        g = fitted[name].gof
        return g.loc[g["statistic"] == "growth_shape"].set_index("segment")["verdict"]

    assert (shape("saturating") == "poor").all()
    assert (shape("exponential") == "good").all()


def test_calibrated_yaml_is_a_scenario_sim_run_accepts(
    fitted: dict[str, Any], tmp_path: Path
) -> None:
    cal = fitted["exponential"]
    path = tmp_path / "calibrated.yaml"
    path.write_text(cal.yaml_text)
    sc = load_scenario(path)
    by = {(e.segment, e.parameter): e for e in cal.estimates}
    for seg, params in sc.population.items():
        assert math.isclose(params.dau_share, by[(seg, "dau_share")].estimate, rel_tol=1e-3)
        assert params.count == int(by[(seg, "count")].estimate)
    rd = sc.behaviour.policies.upgrade_on_errors.reaction_days
    assert math.isclose(
        rd, by[("all", f"behaviour.policies.{cal_mod.POLICY}.reaction_days")].estimate, rel_tol=1e-3
    )
    # a comment with the interval on each fitted value
    line = next(ln for ln in cal.yaml_text.splitlines() if ln.strip().startswith("dau_share"))
    assert "95% CI [" in line
    assert yaml.safe_load(cal.yaml_text)["name"] == "calib-test"


def test_fit_table_has_the_contract_columns(fitted: dict[str, Any]) -> None:
    t = fitted["exponential"].table()
    assert list(t.columns) == [
        "segment",
        "parameter",
        "estimate",
        "ci_low",
        "ci_high",
        "prior",
        "method",
    ]
    blank = t["estimate"].isna()  # not identified: no estimate, the reason in the method
    assert t.loc[blank, "method"].str.startswith("not fitted: ").all()
    optional = {"behaviour.wtp_scale", "behaviour.policies.prepaid.renew_probability"}
    assert set(t.loc[blank, "parameter"]) <= optional
    t = t.loc[~blank]
    assert (t["ci_low"] <= t["estimate"] + 1e-12).all()
    assert (t["estimate"] <= t["ci_high"] + 1e-12).all()


def _cli(folder: Path, out: Path, *extra: str) -> int:
    prior_yaml = str(folder.parent / "prior.yaml")
    argv = ["calibrate", str(folder), "--scenario", prior_yaml, "--out", str(out)]
    return main([*argv, "--no-progress", *extra])


@pytest.fixture
def cli_folder(tmp_path: Path) -> Path:
    folder = observed(3, tmp_path / "obs", months=3)
    data = scenario(1, {k: {"count": v["count"]} for k, v in TRUE.items()}, months=3)
    (tmp_path / "prior.yaml").write_text(yaml.safe_dump(data))
    return folder


def _one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("missing_column", "missing column(s) dau"),
        ("no_usage", "has no usage rows"),
        ("unknown_segment", "is not an archetype of the scenario"),
        ("too_few", "at least 5 are needed"),
    ],
)
def test_bad_input_one_line_exit_2_nothing_written(
    cli_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], damage: str, words: str
) -> None:
    u = pd.read_parquet(cli_folder / "usage.parquet")
    c = pd.read_parquet(cli_folder / "console_ops.parquet")
    if damage == "missing_column":
        u = u.drop(columns="dau")
    elif damage == "no_usage":
        c = pd.concat([c, c.iloc[[0]].assign(app="ghost-app")], ignore_index=True)
    elif damage == "unknown_segment":
        u.loc[u["app"] == u["app"].iloc[0], "segment"] = "martians"
    else:
        keep = set(u.loc[u["segment"] == "enterprise", "app"].unique()[:3])
        keep |= set(u.loc[u["segment"] == "social", "app"].unique())
        u, c = u.loc[u["app"].isin(keep)], c.loc[c["app"].isin(keep)]
        g = pd.read_csv(cli_folder / "group_ops.csv")
        g.loc[g["app"].isin(keep)].to_csv(cli_folder / "group_ops.csv", index=False)
    u.to_parquet(cli_folder / "usage.parquet")
    c.to_parquet(cli_folder / "console_ops.parquet")
    out = tmp_path / "out"
    assert _cli(cli_folder, out) == 2
    assert words in _one_line(capsys)
    assert not out.exists()


def test_cli_writes_the_three_files(cli_folder: Path, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(cal_mod, "REACTION_GRID", (3.0, 30.0))
    monkeypatch.setattr(cal_mod, "MOMENT_APPS", 100)
    monkeypatch.setattr(cal_mod, "GOF_APPS", 300)
    out = tmp_path / "out"
    assert _cli(cli_folder, out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["calibrated.yaml", "fit.csv", "fit.html"]
    fit = pd.read_csv(out / "fit.csv")
    assert set(fit["segment"]) == {"social", "enterprise", "all"}
    page = (out / "fit.html").read_text()
    assert "data:image/png;base64," in page and "KS" in page and 'src="figures' not in page
    assert load_scenario(out / "calibrated.yaml").population["social"].count == 80


def test_an_unreachable_scheduler_is_one_line_and_nothing_written(
    cli_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert _cli(cli_folder, out, "--cluster", "tcp://127.0.0.1:9") == 2
    assert "127.0.0.1:9" in _one_line(capsys)
    assert not out.exists()


def test_unknown_segments_column_is_one_line(
    cli_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(cli_folder, tmp_path / "out", "--segments", "tier") == 2
    assert "--segments 'tier'" in _one_line(capsys)


def test_bad_input_raises_before_any_model_run(cli_folder: Path) -> None:
    (cli_folder / "usage.parquet").unlink()
    with pytest.raises(InputError, match="no usage.csv or usage.parquet"):
        cal_mod.estimate(cli_folder, prior())


def test_apps_gone_at_creation_are_left_out_not_refused(cli_folder: Path) -> None:
    c = pd.read_parquet(cli_folder / "console_ops.parquet")
    first = c.iloc[[0]]
    born = first.assign(app="ghost-app", op="create_app")
    gone = first.assign(app="ghost-app", op="deactivate")
    pd.concat([c, born, gone], ignore_index=True).to_parquet(cli_folder / "console_ops.parquet")
    obs, counts, _ = cal_mod.estimate(cli_folder, prior())
    assert obs.gone_at_creation == 1
    assert "ghost-app" not in set(obs.console_ops["app"])
    assert sum(counts.values()) == obs.usage["app"].nunique()
