"""The prepaid policy's ``renew_probability`` by simulated moments (``sim calibrate``).

A prepaid package (``buy_prepaid``, ``months`` long) runs out at its expiry; the ``prepaid``
policy renews it on its last day with probability ``renew_probability`` times the tenant's
affordability (:func:`~sim.model.choice.affordability`, 1 without price response), the new
package running on from the old expiry. An app that does not renew lapses and may buy again
later when it meets limits -- at or after the expiry, never on the last day. So the observed
moment is the share of the packages that came due inside the observed span (the app still there)
followed by a ``buy_prepaid`` of the same app in the day before their expiry. It is matched on
``sim.run``s at a grid of ``renew_probability`` (linear interpolation on the increasing curve),
its interval the share's Wilson interval through the same curve. This conversion parameter is
independent of ``upgrade_on_errors.reaction_days``: it is another policy's, read on another
operation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from sim.core.calendar import add_months_anchor
from sim.model.scenario import Scenario
from sim.studies import calibrate_fit as fit
from sim.studies.calibrate_yaml import with_policy

PARAMETER = "behaviour.policies.prepaid.renew_probability"
GRID = (0.1, 0.4, 0.7, 1.0)
"""Values of ``prepaid.renew_probability`` the simulated moments are run at."""
NONE_DUE = "no prepaid package came due in the observed span: renew_probability not identified"
_DAY = pd.Timedelta(days=1)


def renewals(console: pd.DataFrame, end: pd.Timestamp, tz: dt.tzinfo) -> tuple[int, int]:
    """``(renewed, due)``: the prepaid packages of ``console`` whose expiry falls before ``end``
    (an instant) with the app not deactivated before it, and how many of them were renewed
    (another ``buy_prepaid`` of the app in the day before the expiry). Expiries are counted
    as the rules do (:func:`~sim.core.calendar.add_months_anchor` in ``tz``, the catalog's time
    zone, R11)."""
    c = console.loc[console["ok"].astype(bool)]
    t = pd.to_datetime(c["time"], utc=True)
    gone = t[(c["op"] == "deactivate").to_numpy()].groupby(c["app"]).min()
    buys = c.assign(t=t).loc[c["op"] == "buy_prepaid"].sort_values(["app", "t"], kind="stable")
    renewed = due = 0
    for app, g in buys.groupby("app", sort=False):
        times = g["t"].tolist()
        months = g["months"].fillna(1).astype(int).tolist()
        expiry: pd.Timestamp | None = None
        for k, (when, m) in enumerate(zip(times, months, strict=True)):
            renewal = expiry is not None and expiry - _DAY <= when < expiry
            start = expiry if renewal and expiry is not None else when
            expiry = pd.Timestamp(add_months_anchor(start.value, m, tz), unit="ns", tz="UTC")
            if expiry >= end or (app in gone.index and gone[app] < expiry):
                continue
            due += 1
            nxt = times[k + 1] if k + 1 < len(times) else None
            renewed += int(nxt is not None and expiry - _DAY <= nxt < expiry)
    return renewed, due


Play = Callable[[dict[str, Any]], pd.DataFrame]
"""Plays a scenario (plain data) and returns its ``console_ops``."""


def fit_renew_probability(
    console: pd.DataFrame,
    end: pd.Timestamp,
    tz: dt.tzinfo,
    data: dict[str, Any],
    prior: float,
    play: Play,
    progress: Callable[[str, int, int], None],
    grid: tuple[float, ...] = GRID,
) -> tuple[fit.Estimate, pd.DataFrame | None]:
    """``prepaid.renew_probability`` by simulated moments (module docstring) from the observed
    ``console`` (data ending at the instant ``end``), runs of ``data`` by ``play``; also the
    simulated curve (renew_probability, renewed_share). No package due: not fitted (no
    estimate, the reason in the method) and no curve."""
    k_obs, n_obs = renewals(console, end, tz)
    if n_obs == 0:
        nan = float("nan")
        return fit.Estimate("all", PARAMETER, nan, nan, nan, prior, f"not fitted: {NONE_DUE}"), None
    share = k_obs / n_obs
    lo_k, hi_k = fit.wilson(k_obs, n_obs)
    curve = []
    for j, rp in enumerate(grid):
        progress(f"simulated moments: renew_probability {rp:g}", j, len(grid))
        k, n = renewals(play(with_policy(data, "prepaid", renew_probability=rp)), end, tz)
        curve.append((rp, k / max(n, 1)))
    c = pd.DataFrame(curve, columns=["renew_probability", "renewed_share"])
    c.attrs["observed"] = share
    x = np.maximum.accumulate(c["renewed_share"].to_numpy())  # (increasing)
    y = np.asarray(grid, dtype=float)

    def invert(v: float) -> float:
        return float(np.interp(v, x, y))

    method = (
        f"simulated moments: observed share {share:.4f} of the {n_obs} prepaid packages due "
        f"renewed on their last day, matched on {len(grid)} runs (CI: the share's Wilson CI "
        "through the curve; within the grid's range only)"
    )
    est = fit.Estimate("all", PARAMETER, invert(share), invert(lo_k), invert(hi_k), prior, method)
    return est, c


def fit_observed(
    console: pd.DataFrame,
    last_date: pd.Timestamp,
    sc: Scenario,
    data: dict[str, Any],
    play: Play,
    progress: Callable[[str, int, int], None],
) -> tuple[fit.Estimate, pd.DataFrame | None]:
    """:func:`fit_renew_probability` for scenario ``sc`` and observed ``console`` operations
    whose usage ends on ``last_date`` (the data end at the next local midnight); ``data``: the
    scenario as plain data over the observed span. The prepaid policy off: not fitted."""
    params = getattr(sc.behaviour.policies, "prepaid")  # noqa: B009 (a created model)
    prior = float(params.renew_probability)
    if not params.enabled:
        nan = float("nan")
        why = "not fitted: the scenario's prepaid policy is off"
        return fit.Estimate("all", PARAMETER, nan, nan, nan, prior, why), None
    tz = sc.load_catalog().tz
    end = (pd.Timestamp(last_date) + _DAY).tz_localize(tz).tz_convert("UTC")
    return fit_renew_probability(console, end, tz, data, prior, play, progress)
