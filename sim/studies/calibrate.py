"""``sim calibrate``: fit a scenario's tenant population to observed usage and operations.

:func:`calibrate` reads ``OBSERVED`` (:mod:`sim.studies.calibrate_data`), fits per segment the
archetype parameters that have closed-form or maximum-likelihood estimates
(:mod:`sim.studies.calibrate_fit`); when the scenario's ``catalog_changes`` fall inside the
observed span, the price response ``behaviour.wtp_scale`` by simulated moments
(:func:`~sim.studies.calibrate_price.fit_price_response`, jointly with the start-state
shares; else reported not identified); then the upgrade policy's ``threshold`` (maximum
likelihood) and ``reaction_days`` by simulated moments (:mod:`sim.studies.calibrate_upgrade`:
``sim.run`` of the calibrated population at a grid of values, the observed moment matched on
the simulated curve by log-log interpolation; without ``group_ops``, ``reaction_days`` alone on
the upgrades per app-month on IM, :func:`fit_reaction_days`); and the
prepaid policy's ``renew_probability`` alike (:mod:`sim.studies.calibrate_renewal`). Then it
plays the calibrated scenario and compares observed and simulated distributions
(:func:`goodness_of_fit`). Outputs, all or none: ``calibrated.yaml``, ``fit.csv``, ``fit.html``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.model.scenario import Scenario, scenario_from_dict
from sim.studies import calibrate_fit as fit
from sim.studies import calibrate_ops as ops
from sim.studies import calibrate_price as price
from sim.studies import calibrate_renewal as renewal
from sim.studies import calibrate_upgrade as upgrade
from sim.studies.calibrate_data import Observed, assign_segments, read_observed
from sim.studies.calibrate_yaml import apply_estimates, scenario_data, scenario_text, with_policy

FIT_COLUMNS = ("segment", "parameter", "estimate", "ci_low", "ci_high", "prior", "method")
POLICY = "upgrade_on_errors"
REACTION_GRID = (1.0, 4.0, 16.0, 64.0)
"""Values of ``upgrade_on_errors.reaction_days`` the simulated moments are run at (days)."""
MOMENT_APPS = 300
"""Apps in the subsample the simulated moments are run on (counts scaled down to it)."""
PRICE_APPS = 3000
"""Most apps in the runs of the price-response and ``reaction_days`` moments (only the apps
paying at the change, or upgrading, count: the whole population up to this size; at 1,200
apps the simulation's noise put the shipped what-if's ``wtp_scale`` at twice its truth)."""
GOF_APPS = 2500
"""Most apps in the goodness-of-fit run (counts scaled down to it, arrivals too)."""
VERDICT_P = 0.05
VERDICT_D = (0.1, 0.2)
"""Verdict of a KS test: *good* when the distance is at most 0.1 or the p-value at least 0.05
(no evidence of a difference); else *fair* up to 0.2, *poor* above."""

Progress = Callable[[str, int, int], None]


@dataclass
class Calibration:
    """What :func:`calibrate` found (and wrote)."""

    estimates: list[fit.Estimate]
    segments: dict[str, int]
    assignment: str
    yaml_text: str
    gof: pd.DataFrame  # segment, statistic, ks, p_value, n_observed, n_simulated, verdict
    series: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    per_app: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    observed_conversion: float | None = None  # the reaction_days moment's observed value

    def table(self) -> pd.DataFrame:
        rows = [{c: getattr(e, c) for c in FIT_COLUMNS} for e in self.estimates]
        return pd.DataFrame(rows, columns=list(FIT_COLUMNS))


def _noop(label: str, done: int, total: int) -> None:
    return None


# -- the closed-form part ----------------------------------------------------------------------


def fit_segment(
    seg: str,
    u: pd.DataFrame,
    obs: Observed,
    sc: Scenario,
    rng: np.random.Generator,
    starts: price.Starts,
) -> list[fit.Estimate]:
    """The closed-form and ML estimates of one segment (``u``: its app-days; ``starts``: the
    apps there at the start, start states at the scenario's ``wtp_scale``)."""
    prior = sc.population[seg]
    out = fit.fit_users0(seg, u, prior)
    out += fit.fit_growth(seg, u, prior, rng)
    out += fit.fit_dau(seg, u, prior)
    group = None if obs.group_ops is None else obs.group_ops
    out += fit.fit_groups(seg, u, group, prior, rng)
    out += _fit_counts(seg, u, obs, sc, starts)
    return out


def _fit_counts(
    seg: str, u: pd.DataFrame, obs: Observed, sc: Scenario, starts: price.Starts
) -> list[fit.Estimate]:
    prior = sc.population[seg]
    first = u.groupby("app", sort=False)["date"].min()
    start = obs.usage["date"].min()
    n_start = int((first == start).sum())
    n_arr = int((first > start).sum())
    months = max(round((obs.usage["date"].max() - start).days / fit.MONTH_DAYS), 1)
    lo, hi = fit.poisson_ci(n_arr)
    out = [
        fit.Estimate(
            seg, "count", n_start, n_start, n_start, prior.count, "apps on the first date"
        ),
        fit.Estimate(
            seg,
            "arrivals_per_month",
            n_arr / months,
            lo / months,
            hi / months,
            prior.arrivals_per_month,
            f"apps first seen after the first date / {months} months (Poisson CI)",
        ),
    ]
    return out + price.start_states(seg, starts, sc, float(sc.behaviour.wtp_scale))


# -- simulated runs ------------------------------------------------------------------------------


def scaled(data: dict[str, Any], most: int) -> dict[str, Any]:
    """``data`` with counts and arrivals scaled down so that at most about ``most`` apps are
    played (archetypes keep at least one app where they had one)."""
    pop = data["population"]
    months = int(data["horizon_months"])
    total = sum(s["count"] + int(s["arrivals_per_month"] * months) for s in pop.values())
    f = min(1.0, most / max(total, 1))
    if f >= 1.0:
        return data
    new = {k: dict(v) for k, v in pop.items()}
    for spec in new.values():
        spec["count"] = max(round(spec["count"] * f), 1 if spec["count"] else 0)
        spec["arrivals_per_month"] = _round4(spec["arrivals_per_month"] * f)
    return {**data, "population": new}


def _round4(x: float) -> float:
    return float(f"{x:.4g}")


@dataclass
class Tables:
    """A simulated run's tables as observed ones (apps of replication r > 0 renamed ``r:app``)
    and each app's segment."""

    usage: pd.DataFrame
    console_ops: pd.DataFrame
    group_ops: pd.DataFrame | None
    segment_of: pd.Series


def simulate(data: dict[str, Any], replications: int = 1, cluster: str | None = None) -> Tables:
    """Play ``data`` (a scenario as plain data) with ``sim.run``: in this process, or its
    shards on the Dask scheduler ``cluster`` (an address, or ``local``)."""
    from sim.model.runner import run

    sc = scenario_from_dict(data, source="<calibrated scenario>")
    r = run(sc, replications=replications, cluster=cluster)

    def named(df: pd.DataFrame) -> pd.DataFrame:
        df = df.copy()
        rep = df["replication"].astype(int).astype(str)
        df["app"] = df["app"].astype(str).where(df["replication"] == 0, rep + ":" + df["app"])
        return df.drop(columns="replication")

    console = named(r.console_ops)
    seg = console.loc[console["op"] == "create_app"].drop_duplicates("app").set_index("app")
    group = named(r.group_ops) if {"date", "count"} <= set(r.group_ops.columns) else None
    usage = named(r.usage)
    usage["date"] = pd.to_datetime(usage["date"]).dt.normalize()
    return Tables(usage, console, group, seg["archetype"].astype(str))


def fit_reaction_days(
    obs: Observed,
    data: dict[str, Any],
    prior: float,
    grid: tuple[float, ...],
    most: int,
    progress: Progress,
    cluster: str | None = None,
) -> tuple[fit.Estimate, pd.DataFrame]:
    """``upgrade_on_errors.reaction_days`` by simulated moments (module docstring); also the
    simulated curve (reaction_days, conversion per app-month on IM). The grid is extended
    upwards (by its end ratio, at most :data:`~sim.studies.calibrate_price.EXTENSIONS` times)
    while the observed rate is below the simulated range; its least value is the parameter's
    least (1 day), so a rate above the range is flagged, not extrapolated."""
    k_obs, m_obs = ops.conversion(obs.console_ops, obs.usage)
    rate = k_obs / max(m_obs, 1e-12)
    lo_k, hi_k = fit.poisson_ci(k_obs)
    points: dict[float, float] = {}

    def run(rd: float) -> None:
        progress(f"simulated moments: reaction_days {rd:g}", len(points), len(grid))
        t = simulate(with_policy(scaled(data, most), POLICY, reaction_days=rd), cluster=cluster)
        k, m = ops.conversion(t.console_ops, t.usage)
        points[rd] = k / max(m, 1e-12)

    for rd in grid:
        run(rd)
    for _ in range(price.EXTENSIONS):
        if rate >= min(points.values()) or len(grid) < 2:
            break
        run(max(points) * grid[-1] / grid[-2])
    values = sorted(points)
    c = pd.DataFrame({"reaction_days": values, "conversion": [points[v] for v in values]})
    c.attrs.update(observed=rate, label="upgrades per IM app-month")
    invert = fit.decreasing_inverse(values, c["conversion"].tolist())  # slower, fewer
    est = invert(rate)
    hi = invert(lo_k / max(m_obs, 1e-12))  # fewer conversions: slower reaction
    lo = invert(hi_k / max(m_obs, 1e-12))
    method = (
        f"simulated moments: observed {rate:.4f} upgrades per IM app-month matched on "
        f"{len(values)} runs of {most} apps (CI: the rate's Poisson CI through the curve)"
        + fit.edge_note(est, lo, hi, values)
    )
    e = fit.Estimate(
        "all", f"behaviour.policies.{POLICY}.reaction_days", est, lo, hi, prior, method
    )
    return e, c


def player(
    most: int, cluster: str | None, extra: dict[str, Any] | None = None
) -> Callable[[dict[str, Any]], pd.DataFrame]:
    """Plays a scenario (plain data, with ``extra`` over it) scaled to ``most`` apps; returns
    its ``console_ops``."""

    def play(d: dict[str, Any]) -> pd.DataFrame:
        return simulate(scaled({**d, **(extra or {})}, most), cluster=cluster).console_ops

    return play


# -- goodness of fit ----------------------------------------------------------------------------

GOF_STATISTICS = {
    "users_last": "demand users on the app's last day (log)",
    "dau_mean": "mean served DAU per app",
    "groups_mean": "mean groups per app",
    "growth_shape": "growth shape: log-users rise, first half less second half",
    "dau_refused_share": "refused share of demand DAU per app",
    "conversion_monthly": "upgrades per IM app-month, month by month",
    "dau_refused_monthly": "refused share of demand DAU, month by month",
    "group_refused_monthly": "refused share of group operations, month by month",
}


def verdict(d: float, p: float) -> str:
    """The verdict of a KS distance ``d`` with p-value ``p`` (:data:`VERDICT_D`)."""
    if not math.isfinite(d):
        return "n/a"
    if d <= VERDICT_D[0] or p >= VERDICT_P:
        return "good"
    return "fair" if d <= VERDICT_D[1] else "poor"


def goodness_of_fit(obs: Observed, sim: Tables, cal: Calibration) -> None:
    """Per segment, observed against simulated: the per-app distributions and the monthly
    series of :data:`GOF_STATISTICS`, each with its KS distance, p-value (per-app: the KS
    test's; monthly: by permuting apps, :func:`~sim.studies.calibrate_ops.permutation_ks`) and
    verdict (into ``cal.gof``, ``cal.per_app``, ``cal.series``)."""
    u_obs = fit.app_days(obs.usage, obs.group_ops)
    u_sim = fit.app_days(sim.usage, sim.group_ops)
    pa_obs = ops.per_app_stats(u_obs)
    pa_sim = ops.per_app_stats(u_sim)
    m_obs = ops.app_months(obs.console_ops, obs.usage, obs.group_ops)
    m_sim = ops.app_months(sim.console_ops, sim.usage, sim.group_ops)
    rng = np.random.default_rng(0)  # (permutations: reproducible)
    rows = []
    for seg in cal.segments:
        a_obs = obs.segment_of.index[obs.segment_of == seg]
        a_sim = sim.segment_of.index[sim.segment_of == seg]
        po, ps = pa_obs.reindex(a_obs), pa_sim.reindex(a_sim)
        cal.per_app[seg] = (po, ps)
        so, ss = ops.monthly_rates(m_obs, a_obs), ops.monthly_rates(m_sim, a_sim)
        cal.series[seg] = {"observed": so, "simulated": ss}
        for stat in GOF_STATISTICS:
            if stat in po.columns:
                x = po[stat].to_numpy(dtype=float)
                y = ps[stat].to_numpy(dtype=float)
                d, p = ops.ks(x, y)
            elif stat in m_obs and stat in m_sim:
                num_o, den_o = m_obs[stat]
                num_s, den_s = m_sim[stat]
                d, p = ops.permutation_ks(
                    (
                        num_o.reindex(index=a_obs, fill_value=0),
                        den_o.reindex(index=a_obs, fill_value=0),
                    ),
                    (
                        num_s.reindex(index=a_sim, fill_value=0),
                        den_s.reindex(index=a_sim, fill_value=0),
                    ),
                    rng,
                )
                x, y = so[stat].to_numpy(dtype=float), ss[stat].to_numpy(dtype=float)
            else:
                continue
            n_x, n_y = int(np.isfinite(x).sum()), int(np.isfinite(y).sum())
            rows.append((seg, stat, d, p, n_x, n_y, verdict(d, p)))
    cols = ["segment", "statistic", "ks", "p_value", "n_observed", "n_simulated", "verdict"]
    cal.gof = pd.DataFrame(rows, columns=cols)


# -- the whole calibration ----------------------------------------------------------------------


def estimate(
    observed: str | Path, sc: Scenario, segments: str | None = None
) -> tuple[Observed, dict[str, int], list[fit.Estimate]]:
    """The observed tables (checked, segments assigned), the apps per segment and the
    closed-form and maximum-likelihood estimates of every segment (no model run; start-state
    shares at the scenario's ``wtp_scale``)."""
    obs, counts, estimates, _ = _estimate(observed, sc, segments)
    return obs, counts, estimates


def _estimate(
    observed: str | Path, sc: Scenario, segments: str | None
) -> tuple[Observed, dict[str, int], list[fit.Estimate], price.Starts]:
    obs = read_observed(observed, segments)
    counts = assign_segments(obs, dict(sc.population))
    u = fit.app_days(obs.usage, obs.group_ops)
    starts = price.observed_starts(obs, u, sc.load_catalog().editions["IM"].limits.accounts)
    rng = np.random.default_rng(sc.seed)  # (bootstrap draws: reproducible)
    estimates: list[fit.Estimate] = []
    seg_of = obs.segment_of.reindex(u["app"]).to_numpy()
    for seg in sorted(counts):
        estimates += fit_segment(seg, u.loc[seg_of == seg], obs, sc, rng, starts)
    return obs, counts, estimates, starts


def calibrate(
    observed: str | Path,
    sc: Scenario,
    segments: str | None = None,
    replications: int = 1,
    progress: Progress | None = None,
    grid: tuple[float, ...] | None = None,
    moment_apps: int | None = None,
    gof_apps: int | None = None,
    cluster: str | None = None,
) -> Calibration:
    """Fit ``sc``'s population to the tables in ``observed`` (module docstring). Nothing is
    written (:func:`write_outputs`); bad input raises an :class:`~sim.errors.InputError`
    before any model run. ``grid``, ``moment_apps``, ``gof_apps``: default
    :data:`REACTION_GRID`, :data:`MOMENT_APPS` (:data:`PRICE_APPS` for the price response and
    ``reaction_days``),
    :data:`GOF_APPS`; ``cluster``: a Dask
    scheduler address (or ``local``) on which the model runs play their shards."""
    step = progress or _noop
    grid = grid or REACTION_GRID
    price_apps = PRICE_APPS if moment_apps is None else moment_apps
    moment_apps = moment_apps or MOMENT_APPS
    total = 5 + len(grid)
    step("reading the observed tables", 0, total)
    obs, counts, estimates, starts = _estimate(observed, sc, segments)
    step("closed-form and maximum-likelihood estimates done", 1, total)
    data = apply_estimates(scenario_data(sc), estimates)
    span = {**observed_span(obs), "seed": sc.seed + SEED_OFFSET}

    def price_moments(label: str, j: int, n: int) -> None:
        step(label, 2, total)

    # the price response first, jointly with the start-state shares (calibrate_price); the
    # upgrade policy's purchases read wtp (affordability)
    play = player(price_apps, cluster, span)
    data, price_curve = price.price_response(obs, sc, data, starts, estimates, play, price_moments)
    curves: dict[str, pd.DataFrame | None] = {"price": price_curve}

    def moments(label: str, j: int, n: int) -> None:
        step(label, 3 + min(j, len(grid) - 1), total)

    d_moments = {**data, **span}
    fitted, curves["curve"] = _upgrade_policy(
        obs, sc, d_moments, grid, price_apps, moments, cluster
    )
    step("simulated moments: prepaid renewals", 2 + len(grid), total)
    renew, curves["renewal"] = renewal.fit_observed(
        obs.console_ops, obs.usage["date"].max(), sc, d_moments, player(moment_apps, cluster), _noop
    )
    estimates += [*fitted, renew]
    cal = _calibration(
        observed, sc, obs, counts, estimates, apply_estimates(data, [*fitted, renew])
    )
    _add_curves(cal, curves)
    step("goodness of fit: playing calibrated.yaml", 4 + len(grid), total)
    calibrated = scenario_from_dict(yaml.safe_load(cal.yaml_text), source="calibrated.yaml")
    played = {**scenario_data(calibrated), **span}
    sim = simulate(scaled(played, gof_apps or GOF_APPS), replications, cluster)
    goodness_of_fit(obs, sim, cal)
    step("done", total, total)
    return cal


def _upgrade_policy(
    obs: Observed,
    sc: Scenario,
    data: dict[str, Any],
    grid: tuple[float, ...],
    most: int,
    progress: Progress,
    cluster: str | None,
) -> tuple[list[fit.Estimate], pd.DataFrame | None]:
    """The upgrade policy's ``threshold`` and ``reaction_days``
    (:mod:`sim.studies.calibrate_upgrade`; ``data``: the scenario as plain data over the
    observed span); without ``group_ops`` the threshold is not fitted and ``reaction_days``
    is matched on the upgrades per IM app-month (:func:`fit_reaction_days`)."""
    params = getattr(sc.behaviour.policies, POLICY)
    nan = float("nan")
    if obs.group_ops is None:
        why = f"not fitted: {upgrade.NO_GROUP_OPS}"
        held = fit.Estimate("all", upgrade.THRESHOLD, nan, nan, nan, params.threshold, why)
        e, curve = fit_reaction_days(obs, data, params.reaction_days, grid, most, progress, cluster)
        return [held, e], curve
    tz, window = sc.load_catalog().tz, sc.behaviour.window_days
    seen = upgrade.exposure(obs.console_ops, obs.usage, obs.group_ops, tz, window)
    threshold = upgrade.fit_threshold(seen, float(params.threshold))
    if not math.isfinite(threshold.estimate):  # (no upgrade: neither is identified)
        why = f"not fitted: {upgrade.NO_UPGRADES}"
        held = fit.Estimate("all", upgrade.REACTION, nan, nan, nan, params.reaction_days, why)
        return [threshold, held], None
    at = threshold.estimate

    def moment(d: dict[str, Any]) -> np.ndarray:
        t = simulate(scaled(d, most), cluster=cluster)
        if t.group_ops is None:
            return np.zeros(0)
        return upgrade.exposure(t.console_ops, t.usage, t.group_ops, tz, window).waits(at)

    e, curve = upgrade.fit_reaction_days(
        seen, at, data, float(params.reaction_days), grid, moment, progress
    )
    return [threshold, e], curve


def _calibration(
    observed: str | Path,
    sc: Scenario,
    obs: Observed,
    counts: dict[str, int],
    estimates: list[fit.Estimate],
    data: dict[str, Any],
) -> Calibration:
    """The :class:`Calibration` of ``estimates`` (``data``: the calibrated scenario as plain
    data), its notes, before the goodness of fit."""
    header = [
        f"calibrated by `sim calibrate` from {Path(observed)} against scenario {sc.name!r}:",
        "fitted values carry a comment with their 95% interval, the scenario's value and the",
        "method (fit.csv has them all); everything else is the scenario's.",
        "",
    ]
    text = scenario_text(data, estimates, header)
    note = f"segments by {obs.assignment}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    notes = [note]
    if obs.gone_at_creation:
        notes.append(f"{obs.gone_at_creation} app(s) deactivated at creation (no usage) left out")
    return Calibration(estimates, counts, obs.assignment, text, pd.DataFrame(), notes=notes)


def _add_curves(cal: Calibration, curves: dict[str, pd.DataFrame | None]) -> None:
    """The simulated-moments curves into ``cal.series["_moments"]``; a parameter without one
    (not fitted) gets a note with its row's method, and one at its grid's edge a note saying
    so (fit.html shows the notes)."""
    by = {e.parameter: e for e in cal.estimates}
    cal.series["_moments"] = {}
    for key, parameter in (
        ("price", price.PARAMETER),
        ("curve", upgrade.REACTION),
        ("renewal", renewal.PARAMETER),
    ):
        curve = curves.get(key)
        if curve is None:
            cal.notes.append(
                f"{parameter.removeprefix('behaviour.policies.')} {by[parameter].method}"
            )
        else:
            cal.series["_moments"][key] = curve
    for e in cal.estimates:
        if "at grid edge" in e.method:
            cal.notes.append(
                f"{e.parameter}: {e.estimate:.4g} is its grid's edge, a bound, not a fit"
            )
    reaction = cal.series["_moments"].get("curve")
    if reaction is not None:
        cal.observed_conversion = float(reaction.attrs["observed"])


def observed_span(obs: Observed) -> dict[str, Any]:
    """``start``, ``horizon_months`` (and no warm-up) of the observed data: what the simulated
    runs play, so that they are compared month for month."""
    first, last = obs.usage["date"].min(), obs.usage["date"].max()
    start = first.date().replace(day=1)
    months = (last.year - start.year) * 12 + last.month - start.month + 1
    return {"start": start.isoformat(), "horizon_months": months, "warmup_months": 0}


SEED_OFFSET = 1_000_003
"""Added to the scenario's seed for the simulated runs: the observed tables may be a run of the
scenario itself, which its own seed would reproduce draw for draw (a fit that proves nothing)."""


def write_outputs(out: str | Path, files: dict[str, bytes]) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``out``, one set, all or nothing
    (:class:`~sim.files.outputs.OutputDir`)."""
    from sim.files.outputs import OutputDir

    with OutputDir(out) as folder:
        for name, blob in files.items():
            folder.reserve(name).write_bytes(blob)
    return folder.paths
