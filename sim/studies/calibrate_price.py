"""The price response ``behaviour.wtp_scale`` and the start-state shares it sets (``sim calibrate``).

The two interact: the model keeps a tenant drawn to a paid start state on IM when its
willingness to pay ``wtp_median * wtp_scale * exp(wtp_sigma * z)`` does not cover the edition's
price (:mod:`sim.model.console`), so the paid shares fitted from the observed start states are
the observed ones divided by ``P(wtp >= price)``, which depends on ``wtp_scale``; and the price
response's moment (the share of the paying apps that leave or move down after a scheduled price
change) depends on who pays, so on those shares. They are fitted jointly: each simulated run of
the price response plays the start-state shares derived at its own ``wtp_scale``
(:func:`start_state_estimates`), so the matched curve is the moment along the profile
``(wtp_scale, shares(wtp_scale))`` and its root is the fixed point of the two fits (the shares
at the estimate re-derive the estimate). The start-state rows reported are those at the
estimate.

Start states: an app there at the start with more first-day users than the free tier's
accounts (R3) starts on Pro when drawn to IM (and able to pay) in the model (it would have
upgraded already; with price response and the upgrade policy on); so the IM/Pro split is read
on the apps at or under that size, the other shares on all apps at the start.

The simulated grid is extended (at most :data:`EXTENSIONS` times, by the grid's end ratio) when
the observed moment is outside the simulated range; an estimate still at the grid's edge is
flagged in its method (:func:`~sim.studies.calibrate_fit.edge_note`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim.model.scenario import Scenario
from sim.studies import calibrate_fit as fit
from sim.studies import calibrate_ops as ops
from sim.studies.calibrate_data import Observed
from sim.studies.calibrate_yaml import apply_estimates

PARAMETER = "behaviour.wtp_scale"
PRICE_GRID = (0.25, 0.5, 1.0, 2.0, 4.0)
"""Multipliers of the scenario's ``behaviour.wtp_scale`` the price response is simulated at."""
EXTENSIONS = 2
"""Most extensions of the grid (each by its end ratio, 4 for :data:`PRICE_GRID`) when the
observed moment falls outside the simulated range."""
NOT_IDENTIFIED = "no price change in the observed span: price response not identified"
MIN_SMALL = 5
"""Fewest apps at or under the free tier's accounts on their first day for the IM/Pro split
to be read on them (else on all the segment's apps at the start)."""

Progress = Callable[[str, int, int], None]
Play = Callable[[dict[str, Any]], pd.DataFrame]
"""Plays a scenario (plain data) and returns its ``console_ops``."""


@dataclass(frozen=True)
class Starts:
    """The apps there at the start (index: app): segment, start state, and whether their
    first-day demand users exceed the free tier's accounts."""

    segment: pd.Series
    state: pd.Series
    big: pd.Series


def observed_starts(obs: Observed, u: pd.DataFrame, limit: int | None) -> Starts:
    """:class:`Starts` of the observed tables ``obs`` (an
    :class:`~sim.studies.calibrate_data.Observed`); ``u`` their app-days
    (:func:`~sim.studies.calibrate_fit.app_days`, demand users ``U``), ``limit`` the free
    tier's accounts (None: unlimited)."""
    first = u.groupby("app", sort=False)["date"].min()
    start = obs.usage["date"].min()
    apps = first.index[first == start]
    state = ops.spells(obs.console_ops, obs.usage).start_state.reindex(apps).fillna("IM")
    day0 = u.loc[u["date"] == start].drop_duplicates("app").set_index("app")["U"]
    big = day0.reindex(apps).fillna(0) > (limit if limit is not None else math.inf)
    return Starts(obs.segment_of.reindex(apps).astype(str), state, big)


def share_paying(price: float, median: float, sigma: float) -> float:
    """P(wtp >= price) for a lognormal willingness to pay (at least 1e-3)."""
    if price <= 0:
        return 1.0
    if sigma <= 0:
        return 1.0 if median >= price else 1e-3
    z = (math.log(price) - math.log(median)) / sigma
    return max(0.5 * math.erfc(z / math.sqrt(2)), 1e-3)


def _outgrows(sc: Scenario) -> bool:
    """Whether the model starts an over-the-free-tier app drawn to IM on Pro (console)."""
    limit = sc.load_catalog().editions["IM"].limits.accounts
    upgrades = getattr(sc.behaviour.policies, "upgrade_on_errors").enabled  # noqa: B009
    return bool(sc.behaviour.price_response and upgrades) and limit is not None


def start_states(seg: str, starts: Starts, sc: Scenario, wtp_scale: float) -> list[fit.Estimate]:
    """The start-state shares of segment ``seg`` (module docstring), paid ones corrected at
    ``wtp_scale``: Wilson intervals of the observed shares divided by ``P(wtp >= price)``; IM
    the rest (its interval from the paid ones', conservative)."""
    prior = sc.population[seg]
    keep = (starts.segment == seg).to_numpy()
    s, big = starts.state[keep], starts.big[keep].to_numpy(dtype=bool)
    if len(s) == 0:
        return []
    catalog = sc.load_catalog() if sc.behaviour.price_response else None
    split = _outgrows(sc) and int((~big).sum()) >= MIN_SMALL
    shares: dict[str, tuple[float, float, float]] = {}
    for state in ops.START_STATES:
        on = s[~big] if split and state == "Pro" else s
        k, n = int((on == state).sum()), len(on)
        if int((s == state).sum()) == 0 and prior.start_state.get(state, 0) == 0:
            continue
        lo, hi = fit.wilson(k, n)
        cover = 1.0
        edition = catalog.editions.get(state) if catalog is not None else None  # type: ignore[call-overload]
        if edition is not None and state in ("Pro", "Ultimate"):
            price = float(edition.price_per_month or 0)
            wtp = prior.wtp_median * wtp_scale  # (catalog currency, as the console)
            cover = share_paying(price, wtp, prior.wtp_sigma)
        shares[state] = (k / n / cover, lo / cover, min(hi / cover, 1.0))
    paid = [v for st, v in shares.items() if st != "IM"]
    if "IM" in shares:
        shares["IM"] = (
            max(1.0 - sum(v[0] for v in paid), 0.0),
            max(1.0 - sum(v[2] for v in paid), 0.0),
            min(1.0 - sum(v[1] for v in paid), 1.0),
        )
    how = "start states of the apps on the first date (Wilson CI)"
    if catalog is not None:
        how += f", paid ones / P(wtp >= price) at wtp_scale {wtp_scale:.4g}"
    if split and "Pro" in shares:
        how += f"; Pro from the {int((~big).sum())} apps within the free tier's accounts"
    return [
        fit.Estimate(
            seg, f"start_state.{st}", v[0], v[1], v[2], prior.start_state.get(st, 0.0), how
        )
        for st, v in shares.items()
    ]


def start_state_estimates(starts: Starts, sc: Scenario, wtp_scale: float) -> list[fit.Estimate]:
    """:func:`start_states` of every segment with apps at the start (sorted)."""
    out: list[fit.Estimate] = []
    for seg in sorted(set(starts.segment)):
        out += start_states(seg, starts, sc, wtp_scale)
    return out


def _moment(play: Play, data: dict[str, Any], change: ops.ObservedChange) -> tuple[int, int]:
    return ops.price_change_moves(play(data), change.start, change.end)


def fit_price_response(
    obs: Observed,
    data: dict[str, Any],
    change: ops.ObservedChange,
    play: Play,
    progress: Progress,
    starts_at: Callable[[float], list[fit.Estimate]] | None = None,
    grid: tuple[float, ...] = PRICE_GRID,
) -> tuple[fit.Estimate, pd.DataFrame]:
    """``behaviour.wtp_scale`` by simulated moments: the share of the apps paying postpaid at
    the price change that leave or move down within the following months
    (:func:`~sim.studies.calibrate_ops.price_change_moves`), matched on runs (``play``) of
    ``data`` at ``grid`` times its ``wtp_scale`` (log-log interpolation), each with the
    start-state shares ``starts_at(wtp_scale)`` (joint fit; None: ``data``'s); its interval
    the share's Wilson interval widened by the simulation's own noise (``sqrt(1 + n_observed /
    n_simulated)``) through the same curve.

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
    points: dict[float, tuple[int, int]] = {}

    def run(ws: float) -> None:
        progress(f"simulated moments: wtp_scale {ws:.4g}", len(points), len(grid))
        d = copy.deepcopy(data)
        if starts_at is not None:
            d = apply_estimates(d, starts_at(ws))
        d = {**d, "behaviour": {**d.get("behaviour", {}), "wtp_scale": ws}}
        points[ws] = _moment(play, d, change)

    for g in grid:
        run(prior * g)
    step = grid[-1] / grid[-2] if len(grid) > 1 else 2.0
    for _ in range(EXTENSIONS):  # until the share and its interval are inside the curve
        est, lo, hi, s_lo, s_hi = _read(points, k_obs, n_obs)
        moved = [k / max(n, 1) for k, n in points.values()]
        if s_lo < min(moved):
            run(max(points) * step)
        elif s_hi > max(moved):
            run(min(points) / step)
        else:
            break
    est, lo, hi, _, _ = _read(points, k_obs, n_obs)
    values = sorted(points)
    c = pd.DataFrame(
        {
            "wtp_scale": values,
            "moved_share": [points[v][0] / max(points[v][1], 1) for v in values],
            "paying": [points[v][1] for v in values],
        }
    )
    c.attrs["observed"] = share
    method = (
        f"simulated moments: observed share {share:.4f} ({k_obs} of {n_obs} apps paying at "
        f"the {change.at} price change) leaving or moving down within {change.months} months, "
        f"matched on {len(values)} runs"
        + (
            " jointly with the start-state shares (re-derived at each wtp_scale)"
            if starts_at
            else ""
        )
        + " (CI: the share's Wilson CI widened by the simulation noise, through the curve)"
        + fit.edge_note(est, lo, hi, values)
    )
    return fit.Estimate("all", PARAMETER, est, lo, hi, prior, method), c


def _read(
    points: dict[float, tuple[int, int]], k_obs: int, n_obs: int
) -> tuple[float, float, float, float, float]:
    """The estimate, its interval and the share's interval (estimate, lo, hi, share_lo,
    share_hi) read on the simulated ``points`` (wtp_scale -> (moved, paying)) for ``k_obs`` of
    ``n_obs`` observed: the share's Wilson interval widened by ``sqrt(1 + n_obs / n_sim)``,
    ``n_sim`` the paying apps of the run nearest the estimate (its own sampling noise)."""
    values = sorted(points)
    invert = fit.decreasing_inverse(values, [points[v][0] / max(points[v][1], 1) for v in values])
    share = k_obs / max(n_obs, 1)
    est = invert(share)
    near = min(values, key=lambda v: abs(math.log(v / est)))
    widen = math.sqrt(1 + n_obs / max(points[near][1], 1))
    lo_k, hi_k = fit.wilson(k_obs, n_obs)
    s_lo = max(share - (share - lo_k) * widen, 0.0)
    s_hi = min(share + (hi_k - share) * widen, 1.0)
    return est, invert(s_hi), invert(s_lo), s_lo, s_hi  # (richer, fewer move)


def not_identified(prior: float, why: str) -> fit.Estimate:
    """The ``fit.csv`` row of ``behaviour.wtp_scale`` when it is not fitted (``why``): no
    estimate, the scenario's value kept."""
    nan = float("nan")
    return fit.Estimate("all", PARAMETER, nan, nan, nan, prior, f"not fitted: {why}")


def price_response(
    obs: Observed,
    sc: Scenario,
    data: dict[str, Any],
    starts: Starts,
    estimates: list[fit.Estimate],
    play: Play,
    progress: Progress,
) -> tuple[dict[str, Any], pd.DataFrame | None]:
    """Fit ``behaviour.wtp_scale`` when the data have a price change (:func:`fit_price_response`,
    jointly with the start-state shares): its row appended to ``estimates`` and the
    start-state rows replaced by those at the estimate, both applied to ``data``; else its
    not-identified row. ``data``: the scenario as plain data over the observed span."""
    change = ops.price_change_in(sc.catalog_changes, sc.load_catalog().tz, obs.usage["date"])
    prior = float(sc.behaviour.wtp_scale)
    if not sc.behaviour.price_response:
        estimates.append(not_identified(prior, "the scenario has no price response"))
        return data, None
    if change is None:
        estimates.append(not_identified(prior, NOT_IDENTIFIED))
        return data, None

    def starts_at(ws: float) -> list[fit.Estimate]:
        return start_state_estimates(starts, sc, ws)

    e, curve = fit_price_response(obs, data, change, play, progress, starts_at)
    fitted = starts_at(float(e.estimate))
    at = {(x.segment, x.parameter): x for x in fitted}
    estimates[:] = [at.get((x.segment, x.parameter), x) for x in estimates] + [e]
    return apply_estimates(copy.deepcopy(data), [*fitted, e]), curve
