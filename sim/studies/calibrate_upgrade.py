"""The upgrade policy's ``threshold`` and ``reaction_days`` (``sim calibrate``).

``upgrade_on_errors`` (:mod:`sim.model.decisions`): every local midnight an app on IM whose
users met ``threshold`` limit refusals or more over the last ``behaviour.window_days`` days
(the codes :data:`sim.model.console.CODES`; the day itself not included) reacts with
probability ``affordability / reaction_days`` and buys what its budget covers. ``group_ops``
holds every refusal per app, day and code (the free tier's DAU cap as op ``activity``, 72000),
so the window the policy read is rebuilt for every app-day on IM (:func:`exposure`). Then:

- ``threshold``: no app upgrades below it, and every app-day at or over it may, so its maximum
  likelihood estimate is the least window at an upgrade (the likelihood is zero above it and
  falls below it, where more exposed days pass without an upgrade). Its interval: the
  threshold cannot be above that least window (upper bound); the lower bound is the least
  ``t`` such that, with the daily upgrade rate ``h`` of the app-days at or over the estimate,
  the app-days with a window in ``[t, estimate)`` would have made no upgrade with probability
  at least 5% (``h * days <= -ln 0.05``);
- ``reaction_days``: simulated moments on the geometric-mean wait of the apps that upgraded:
  their IM app-days with a window at or over the fitted threshold, the upgrade's day
  included (a geometric wait of mean about ``reaction_days / affordability``): ``sim.run``s at
  a grid of ``reaction_days`` (the threshold at its estimate) give the curve, matched by
  log-log interpolation; its interval the wait's bootstrap interval over the apps, widened by
  the simulation's own noise (``sqrt(1 + n_observed / n_simulated)``), through the curve. Only
  the apps that upgraded count: those whose budget covers no edition (most hobby apps) sit over
  the threshold for months whatever ``reaction_days`` is, and would flatten the curve; and the
  geometric mean, not the mean, as a few apps whose budget seldom covers wait months (the mean
  wait moved by half between seeds of the baseline, the geometric one by a fifth). The rate of upgrades per IM app-month, the moment
  used without ``group_ops``, is set by how many apps ever cross the threshold much more than
  by how fast they react (it changes by less than 10% between 1 and 4 days), which put the
  estimate at the grid's edge on noise alone.

The first ``window_days`` days of the data are left out (the window of an app there at the
start reaches before the data).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.model.console import CODES
from sim.studies import calibrate_fit as fit
from sim.studies import calibrate_ops as ops
from sim.studies.calibrate_yaml import with_policy

POLICY = "upgrade_on_errors"
THRESHOLD = f"behaviour.policies.{POLICY}.threshold"
REACTION = f"behaviour.policies.{POLICY}.reaction_days"
LIMIT_CODES = tuple(int(c) for c in CODES)
NO_GROUP_OPS = "no group_ops: the limit refusals an upgrade reacts to are not observed"
NO_UPGRADES = "no upgrade from IM in the observed span"
Tables = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame | None]
"""(console_ops, usage, group_ops) of a run, as observed tables."""
Play = Callable[[dict[str, Any]], Tables]


@dataclass(frozen=True)
class Exposure:
    """The IM app-days after the first ``window`` days (flattened): each one's app (an index),
    its window of limit refusals and whether the app upgraded that day."""

    app: np.ndarray
    window: np.ndarray
    upgraded: np.ndarray

    def waits(self, threshold: float) -> np.ndarray:
        """Per app that upgraded (once over ``threshold``): its exposed days at or over it,
        the upgrade's day included (apps that never upgrade -- whose budget covers no edition
        -- are left out: they would swamp the days and hide how fast the others react)."""
        over = (self.window >= threshold) & np.isin(self.app, self.app[self.upgraded])
        _, days = np.unique(self.app[over], return_counts=True)
        return days


def _local_day(t: pd.Series, tz: dt.tzinfo, first: pd.Timestamp) -> np.ndarray:
    local = pd.to_datetime(t, utc=True).dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    return ((local - first) / pd.Timedelta(days=1)).to_numpy(dtype=float)


def exposure(
    console: pd.DataFrame,
    usage: pd.DataFrame,
    group: pd.DataFrame,
    tz: dt.tzinfo,
    window: int,
    arrivals: bool = False,
) -> Exposure:
    """The :class:`Exposure` of observed (or simulated) tables; ``tz`` the catalog's time zone
    (console times are instants, the tables' dates local), ``window`` the scenario's
    ``behaviour.window_days``."""
    day0 = usage["date"].min()
    n = int((usage["date"].max() - day0).days) + 1
    apps = pd.Index(usage["app"].unique())
    lim = group.loc[group["error_code"].isin(LIMIT_CODES)]
    refused = np.zeros((len(apps), n))
    days = ((pd.to_datetime(lim["date"]) - day0).dt.days).to_numpy()
    np.add.at(refused, (apps.get_indexer(lim["app"]), days), lim["count"].to_numpy(dtype=float))
    cum = np.concatenate([np.zeros((len(apps), 1)), np.cumsum(refused, axis=1)], axis=1)
    d = np.arange(n)
    win = cum[:, d] - cum[:, np.maximum(d - window, 0)]  # the days d - window .. d - 1
    s = ops.spells(console, usage)
    created = _local_day(s.created.reindex(apps), tz, day0)
    off_im = s.left.reindex(apps)
    left = np.where(off_im.isna(), np.inf, _local_day(off_im, tz, day0))
    last = ((usage.groupby("app")["date"].max().reindex(apps) - day0).dt.days).to_numpy()
    c = console.loc[console["ok"].astype(bool) & (console["op"] == "upgrade")]
    t_up = pd.to_datetime(c["time"], utc=True).reset_index(drop=True)
    left_of = s.left.reindex(c["app"]).reset_index(drop=True)
    first = (t_up == left_of) & (left_of > s.created.reindex(c["app"]).reset_index(drop=True))
    up = c.loc[first.to_numpy()]
    upgraded = np.zeros_like(win, dtype=bool)
    upgraded[apps.get_indexer(up["app"]), _local_day(up["time"], tz, day0).astype(int)] = True
    on_im = (
        (d[None, :] > created[:, None])
        & ((d[None, :] < left[:, None]) | upgraded)
        & (d[None, :] <= last[:, None])
        & (d[None, :] >= window)
        & (left[:, None] > created[:, None])
        & ((created[:, None] > 0) if arrivals else True)
    )
    app = np.broadcast_to(np.arange(len(apps))[:, None], win.shape)
    return Exposure(app[on_im], win[on_im], upgraded[on_im])


def fit_threshold(e: Exposure, prior: float) -> fit.Estimate:
    """``upgrade_on_errors.threshold`` by maximum likelihood (module docstring)."""
    at_upgrade = e.window[e.upgraded]
    if len(at_upgrade) == 0:
        nan = float("nan")
        return fit.Estimate("all", THRESHOLD, nan, nan, nan, prior, f"not fitted: {NO_UPGRADES}")
    est = max(float(at_upgrade.min()), 1.0)  # (the policy's least)
    over = e.window >= est
    h = int(e.upgraded[over].sum()) / max(int(over.sum()), 1)  # (all apps: conservative)
    below = np.sort(e.window[(e.window < est) & ~e.upgraded])[::-1]  # nearest first
    # app-days with a window in [t, est) for t = below[j]: j + 1 (and ties)
    allowed = int(-np.log(0.05) / h) if h > 0 else len(below)
    lo = float(below[allowed]) + 1 if allowed < len(below) else 1.0
    lo = min(max(lo, 1.0), est)
    method = (
        f"maximum likelihood: the least window of limit refusals at an upgrade from IM, over "
        f"{len(at_upgrade)} upgrades (CI: down to where the {h:.4f} upgrades per exposed "
        "app-day would have shown one below it with 95% probability; up to the estimate)"
    )
    return fit.Estimate("all", THRESHOLD, est, lo, est, prior, method)


def geometric_wait(waits: np.ndarray) -> float:
    """The geometric mean of the upgraders' waits (days; NaN without any)."""
    return float(np.exp(np.log(waits).mean())) if len(waits) else float("nan")


def fit_reaction_days(
    observed: Exposure,
    threshold: float,
    data: dict[str, Any],
    prior: float,
    grid: tuple[float, ...],
    moment: Callable[[dict[str, Any]], np.ndarray],
    progress: Callable[[str, int, int], None],
    extensions: int = 2,
) -> tuple[fit.Estimate, pd.DataFrame]:
    """``upgrade_on_errors.reaction_days`` by simulated moments on the geometric-mean wait of
    the apps that upgraded once over ``threshold`` (module docstring): ``moment`` plays a
    scenario and returns its waits (:meth:`Exposure.waits`). The grid is extended upwards (by
    its end ratio, at most ``extensions`` times) while the observed wait is above the
    simulated range; its least value is the parameter's least (1 day)."""
    waits = observed.waits(threshold)
    wait = geometric_wait(waits)
    points: dict[float, tuple[int, float]] = {}

    def run(rd: float) -> None:
        progress(f"simulated moments: reaction_days {rd:g}", len(points), len(grid))
        w = moment(with_policy(data, POLICY, reaction_days=rd, threshold=int(threshold)))
        points[rd] = (len(w), geometric_wait(w) if len(w) else math.inf)

    for rd in grid:
        run(rd)
    for _ in range(extensions):
        if wait <= max(v[1] for v in points.values()) or len(grid) < 2:
            break
        run(max(points) * grid[-1] / grid[-2])
    values = sorted(points)
    c = pd.DataFrame({"reaction_days": values, "wait_days": [points[v][1] for v in values]})
    c.attrs.update(observed=wait, label="geometric-mean wait of upgraders (days)")
    # (a decreasing moment: one over the wait)
    invert = fit.decreasing_inverse(values, [1 / w for w in c["wait_days"]])
    est = invert(1 / wait)
    near = min(values, key=lambda v: abs(math.log(v / est)))
    widen = math.sqrt(1 + len(waits) / max(points[near][0], 1))  # (the simulation's own noise)
    w_lo, w_hi = _bootstrap(waits)
    lo = invert(1 / max(wait - (wait - w_lo) * widen, 1.0))
    hi = invert(1 / (wait + (w_hi - wait) * widen))
    method = (
        f"simulated moments: observed geometric-mean wait {wait:.3g} days of the {len(waits)} "
        f"apps that upgraded once at or over {threshold:g} limit refusals in the window, "
        f"matched on {len(values)} runs at that threshold and the fitted wtp_scale (CI: the "
        "wait's bootstrap CI over the apps, widened by the simulation noise, through the "
        "curve; given wtp_scale)" + fit.edge_note(est, lo, hi, values)
    )
    return fit.Estimate("all", REACTION, est, lo, hi, prior, method), c


def _bootstrap(waits: np.ndarray, draws: int = fit.BOOTSTRAP) -> tuple[float, float]:
    """95% bootstrap interval (percentiles, resampling apps) of the geometric-mean wait."""
    if len(waits) == 0:
        return 1.0, math.inf
    rng = np.random.default_rng(0)  # (reproducible)
    pick = rng.integers(0, len(waits), size=(draws, len(waits)))
    means = np.exp(np.log(waits[pick]).mean(axis=1))
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)
