"""``sim calibrate``: fit a scenario's tenant population to observed usage and operations.

:func:`calibrate` reads ``OBSERVED`` (:mod:`sim.studies.calibrate_data`), fits per segment the
archetype parameters that have closed-form or maximum-likelihood estimates
(:mod:`sim.studies.calibrate_fit`); when the scenario's ``catalog_changes`` fall inside the
observed span, the price response ``behaviour.wtp_scale`` by simulated moments
(:func:`fit_price_response`; else reported not identified); then the upgrade policy's
``reaction_days`` by simulated
moments: ``sim.run`` of a subsample of the calibrated population at a grid of values, the
observed conversion rate (upgrades per app-month on IM, :mod:`sim.studies.calibrate_ops`)
matched on the simulated curve (log-log interpolation), its interval the observed rate's
Poisson interval mapped through the same curve (the simulation noise is left out); and the
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
from sim.studies import calibrate_renewal as renewal
from sim.studies.calibrate_data import Observed, assign_segments, read_observed
from sim.studies.calibrate_yaml import apply_estimates, scenario_data, scenario_text

FIT_COLUMNS = ("segment", "parameter", "estimate", "ci_low", "ci_high", "prior", "method")
POLICY = "upgrade_on_errors"
REACTION_GRID = (1.0, 4.0, 16.0, 64.0)
"""Values of ``upgrade_on_errors.reaction_days`` the simulated moments are run at (days)."""
MOMENT_APPS = 300
"""Apps in the subsample the simulated moments are run on (counts scaled down to it)."""
PRICE_APPS = 1200
"""Apps in the subsample of the price-response moments (only the apps paying at the change
count: a larger sample than :data:`MOMENT_APPS`)."""
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
    observed_conversion: float | None = None  # upgrades per IM app-month

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
) -> list[fit.Estimate]:
    """The closed-form and ML estimates of one segment (``u``: its app-days)."""
    prior = sc.population[seg]
    out = fit.fit_users0(seg, u, prior)
    out += fit.fit_growth(seg, u, prior, rng)
    out += fit.fit_dau(seg, u, prior)
    group = None if obs.group_ops is None else obs.group_ops
    out += fit.fit_groups(seg, u, group, prior, rng)
    out += _fit_counts(seg, u, obs, sc)
    return out


def _fit_counts(seg: str, u: pd.DataFrame, obs: Observed, sc: Scenario) -> list[fit.Estimate]:
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
    return out + _fit_start_states(seg, first.index[first == start], obs, sc)


def _fit_start_states(seg: str, apps: pd.Index, obs: Observed, sc: Scenario) -> list[fit.Estimate]:
    prior = sc.population[seg]
    s = ops.spells(obs.console_ops, obs.usage).start_state.reindex(apps).fillna("IM")
    n = len(s)
    if n == 0:
        return []
    catalog = sc.load_catalog() if sc.behaviour.price_response else None
    shares: dict[str, tuple[float, float, float]] = {}
    for state in ops.START_STATES:
        k = int((s == state).sum())
        if k == 0 and prior.start_state.get(state, 0) == 0:
            continue
        lo, hi = fit.wilson(k, n)
        cover = 1.0
        edition = catalog.editions.get(state) if catalog is not None else None  # type: ignore[call-overload]
        if edition is not None and state in ("Pro", "Ultimate"):
            price = float(edition.price_per_month or 0)
            wtp = prior.wtp_median * sc.behaviour.wtp_scale  # (catalog currency, as the console)
            cover = _share_paying(price, wtp, prior.wtp_sigma)
        shares[state] = (k / n / cover, lo / cover, min(hi / cover, 1.0))
    paid = [v for st, v in shares.items() if st != "IM"]
    if "IM" in shares:  # the rest, its interval from the paid ones' (conservative)
        shares["IM"] = (
            max(1.0 - sum(v[0] for v in paid), 0.0),
            max(1.0 - sum(v[2] for v in paid), 0.0),
            min(1.0 - sum(v[1] for v in paid), 1.0),
        )
    how = "start states of the apps on the first date (Wilson CI)"
    if catalog is not None:
        how += ", paid ones / P(wtp >= price)"
    return [
        fit.Estimate(
            seg, f"start_state.{st}", v[0], v[1], v[2], prior.start_state.get(st, 0.0), how
        )
        for st, v in shares.items()
    ]


def _share_paying(price: float, median: float, sigma: float) -> float:
    """P(wtp >= price) for a lognormal willingness to pay (at least 1e-3)."""
    if price <= 0:
        return 1.0
    if sigma <= 0:
        return 1.0 if median >= price else 1e-3
    z = (math.log(price) - math.log(median)) / sigma
    return max(0.5 * math.erfc(z / math.sqrt(2)), 1e-3)


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
    simulated curve (reaction_days, conversion per app-month on IM)."""
    k_obs, m_obs = ops.conversion(obs.console_ops, obs.usage)
    rate = k_obs / max(m_obs, 1e-12)
    lo_k, hi_k = fit.poisson_ci(k_obs)
    curve = []
    for j, rd in enumerate(grid):
        progress(f"simulated moments: reaction_days {rd:g}", j, len(grid))
        d = scaled(data, most)
        d["behaviour"] = _with_policy(d.get("behaviour", {}), "reaction_days", rd)
        t = simulate(d, cluster=cluster)
        k, m = ops.conversion(t.console_ops, t.usage)
        curve.append((rd, k / max(m, 1e-12)))
    c = pd.DataFrame(curve, columns=["reaction_days", "conversion"])
    c.attrs["observed"] = rate
    invert = fit.decreasing_inverse(grid, c["conversion"].tolist())  # slower, fewer
    est = invert(rate)
    hi = invert(lo_k / max(m_obs, 1e-12))  # fewer conversions: slower reaction
    lo = invert(hi_k / max(m_obs, 1e-12))
    method = (
        f"simulated moments: observed {rate:.4f} upgrades per IM app-month matched on "
        f"{len(grid)} runs of {most} apps (CI: the rate's Poisson CI through the curve; "
        "within the grid's range only)"
    )
    e = fit.Estimate(
        "all", f"behaviour.policies.{POLICY}.reaction_days", est, lo, hi, prior, method
    )
    return e, c


PRICE_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Multipliers of the scenario's ``behaviour.wtp_scale`` the price response is simulated at."""
NOT_IDENTIFIED = "no price change in the observed span: price response not identified"


def fit_price_response(
    obs: Observed,
    data: dict[str, Any],
    change: ops.ObservedChange,
    grid: tuple[float, ...],
    most: int,
    progress: Progress,
    cluster: str | None = None,
) -> tuple[fit.Estimate, pd.DataFrame]:
    """``behaviour.wtp_scale`` by simulated moments: the share of the apps paying postpaid at
    the price change that leave or move down within the following months
    (:func:`~sim.studies.calibrate_ops.price_change_moves`), matched on runs at ``grid`` times
    the scenario's value (log-log interpolation); its interval the share's Wilson interval
    through the same curve (simulation noise left out).

    Why ``wtp_scale``: at a price change the ``reevaluate`` policy re-quotes each paying app
    once its bill changes and compares the bill with its budget, ``wtp * exp(wtp_noise * z)``
    (:mod:`sim.model.choice`), moving down or leaving when over it; ``wtp_scale`` multiplies
    every archetype's ``wtp`` alike, so it sets how many are over it. ``behaviour.elasticity``
    does not enter that decision (only discretionary purchases: campaigns, prepaid renewals),
    so it barely moves the post-change moment and is not identified by it.
    """
    prior = float(data.get("behaviour", {}).get("wtp_scale", 1.0))
    k_obs, n_obs = ops.price_change_moves(obs.console_ops, change.start, change.end)
    share = k_obs / max(n_obs, 1)
    lo_k, hi_k = fit.wilson(k_obs, n_obs)
    values = [prior * g for g in grid]
    curve = []
    for j, ws in enumerate(values):
        progress(f"simulated moments: wtp_scale {ws:g}", j, len(values))
        d = scaled(data, most)
        d["behaviour"] = {**d.get("behaviour", {}), "wtp_scale": ws}
        t = simulate(d, cluster=cluster)
        k, n = ops.price_change_moves(t.console_ops, change.start, change.end)
        curve.append((ws, k / max(n, 1)))
    c = pd.DataFrame(curve, columns=["wtp_scale", "moved_share"])
    c.attrs["observed"] = share
    invert = fit.decreasing_inverse(values, c["moved_share"].tolist())  # richer, fewer move
    method = (
        f"simulated moments: observed share {share:.4f} ({k_obs} of {n_obs} apps paying at "
        f"the {change.at} price change) leaving or moving down within {change.months} months, "
        f"matched on {len(grid)} runs of {most} apps (CI: the share's Wilson CI through the "
        "curve; within the grid's range only)"
    )
    e = fit.Estimate(
        "all", "behaviour.wtp_scale", invert(share), invert(hi_k), invert(lo_k), prior, method
    )
    return e, c


def price_response_not_identified(prior: float, why: str) -> fit.Estimate:
    """The ``fit.csv`` row of ``behaviour.wtp_scale`` when it is not fitted (``why``): no
    estimate, the scenario's value kept."""
    nan = float("nan")
    return fit.Estimate("all", "behaviour.wtp_scale", nan, nan, nan, prior, f"not fitted: {why}")


def _play(most: int, cluster: str | None) -> Callable[[dict[str, Any]], pd.DataFrame]:
    def play(d: dict[str, Any]) -> pd.DataFrame:
        return simulate(scaled(d, most), cluster=cluster).console_ops

    return play


def _with_policy(behaviour: dict[str, Any], name: str, value: float) -> dict[str, Any]:
    b = dict(behaviour)
    pol = dict(b.get("policies", {}))
    pol[POLICY] = {**pol.get(POLICY, {}), name: value}
    b["policies"] = pol
    return b


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
    closed-form and maximum-likelihood estimates of every segment (no model run)."""
    obs = read_observed(observed, segments)
    counts = assign_segments(obs, dict(sc.population))
    u = fit.app_days(obs.usage, obs.group_ops)
    rng = np.random.default_rng(sc.seed)  # (bootstrap draws: reproducible)
    estimates: list[fit.Estimate] = []
    seg_of = obs.segment_of.reindex(u["app"]).to_numpy()
    for seg in sorted(counts):
        estimates += fit_segment(seg, u.loc[seg_of == seg], obs, sc, rng)
    return obs, counts, estimates


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
    :data:`REACTION_GRID`, :data:`MOMENT_APPS` (:data:`PRICE_APPS` for the price response),
    :data:`GOF_APPS`; ``cluster``: a Dask
    scheduler address (or ``local``) on which the model runs play their shards."""
    step = progress or _noop
    grid = grid or REACTION_GRID
    price_apps = PRICE_APPS if moment_apps is None else moment_apps
    moment_apps = moment_apps or MOMENT_APPS
    gof_apps = gof_apps or GOF_APPS
    total = 5 + len(grid)
    step("reading the observed tables", 0, total)
    obs, counts, estimates = estimate(observed, sc, segments)
    step("closed-form and maximum-likelihood estimates done", 1, total)
    data = apply_estimates(scenario_data(sc), estimates)
    span = observed_span(obs)
    prior = float(getattr(sc.behaviour.policies, POLICY).reaction_days)

    def price_moments(label: str, j: int, n: int) -> None:
        step(label, 2, total)

    # the price response first: the upgrade policy's purchases read wtp (affordability)
    data, price_curve = _price_response(
        obs, sc, data, span, price_apps, cluster, estimates, price_moments
    )
    price_note = f"behaviour.wtp_scale {estimates[-1].method}"

    def moments(label: str, j: int, n: int) -> None:
        step(label, 3 + j, total)

    d_moments = {**data, **span, "seed": sc.seed + SEED_OFFSET}
    e, curve = fit_reaction_days(obs, d_moments, prior, grid, moment_apps, moments, cluster)
    estimates.append(e)
    step("simulated moments: prepaid renewals", 2 + len(grid), total)
    renew, renew_curve = renewal.fit_observed(
        obs.console_ops, obs.usage["date"].max(), sc, d_moments, _play(moment_apps, cluster), _noop
    )
    estimates.append(renew)
    data = apply_estimates(data, [e, renew])
    header = [
        f"calibrated by `sim calibrate` from {Path(observed)} against scenario {sc.name!r}:",
        "fitted values carry a comment with their 95% interval, the scenario's value and the",
        "method (fit.csv has them all); everything else is the scenario's.",
        "",
    ]
    text = scenario_text(data, estimates, header)
    calibrated = scenario_from_dict(yaml.safe_load(text), source="calibrated.yaml")
    note = f"segments by {obs.assignment}: " + ", ".join(f"{k} {v}" for k, v in counts.items())
    notes = [note]
    if obs.gone_at_creation:
        notes.append(f"{obs.gone_at_creation} app(s) deactivated at creation (no usage) left out")
    cal = Calibration(estimates, counts, obs.assignment, text, pd.DataFrame(), notes=notes)
    cal.series["_moments"] = {"curve": curve}
    if price_curve is None:
        notes.append(price_note)
    else:
        cal.series["_moments"]["price"] = price_curve
    if renew_curve is None:
        notes.append(f"prepaid.renew_probability {renew.method}")
    else:
        cal.series["_moments"]["renewal"] = renew_curve
    cal.observed_conversion = float(curve.attrs["observed"])
    step("goodness of fit: playing calibrated.yaml", 4 + len(grid), total)
    played = {**scenario_data(calibrated), **span, "seed": sc.seed + SEED_OFFSET}
    sim = simulate(scaled(played, gof_apps), replications, cluster)
    goodness_of_fit(obs, sim, cal)
    step("done", total, total)
    return cal


def _price_response(
    obs: Observed,
    sc: Scenario,
    data: dict[str, Any],
    span: dict[str, Any],
    most: int,
    cluster: str | None,
    estimates: list[fit.Estimate],
    step: Progress,
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Fit ``behaviour.wtp_scale`` when the data have a price change (:func:`fit_price_response`;
    appended to ``estimates``, applied to ``data``); else its not-identified row. The runs
    play ``data`` (the scenario as plain data) over ``span``, the observed one."""
    change = ops.price_change_in(sc.catalog_changes, sc.load_catalog().tz, obs.usage["date"])
    prior = float(sc.behaviour.wtp_scale)
    if not sc.behaviour.price_response:
        estimates.append(price_response_not_identified(prior, "the scenario has no price response"))
        return data, None
    if change is None:
        estimates.append(price_response_not_identified(prior, NOT_IDENTIFIED))
        return data, None
    d = {**data, **span, "seed": sc.seed + SEED_OFFSET}
    e, curve = fit_price_response(obs, d, change, PRICE_GRID, most, step, cluster)
    estimates.append(e)
    return apply_estimates(data, [e]), curve


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
