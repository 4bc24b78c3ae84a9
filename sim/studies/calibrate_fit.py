"""Closed-form and maximum-likelihood estimates of the archetype parameters, per segment.

Every estimate comes with a 95% interval; ``method`` names how. The model they invert is
:mod:`sim.model.population` (``docs/model.md``):

- demand users ``U(d)``: the registration attempts so far, accepted or refused 70398
  (``group_ops`` op ``register_user``: every new user registers once), at least ``users``;
  without ``group_ops`` the account limit censors ``users``, and the medians below are what
  stays right while under half the values are censored;
- ``users0_median``, ``users0_sigma``: mean and sd of ``log U`` on each app's first day
  (normal interval for the mean; ``sd * (1 +- 1.96 / sqrt(2 (n - 1)))`` for the sd);
- ``growth_per_month``, ``growth_sd_between`` (per 30 days, the model's month for growth):
  indirect inference on the per-app OLS slopes of ``log U`` on the day -- their mean and sd
  are matched by those of paths drawn as the model draws them (:class:`SlopeModel`, for the
  same history lengths), alternating the two 1-D searches. The running maximum (users do not
  leave), rounding and the daily walk bias the raw slopes (upwards for the mean, most for
  short histories and small drift; a zero drift with a between-app spread looks positive);
  the matched paths carry the same biases. Only apps with :data:`LONG_DAYS` days or more are
  used (when 5 or more have). Intervals: the mean's normal interval shifted by the bias; the
  slopes' sd's bootstrap interval mapped through the same search;
- ``dau_share``: ``exp`` of the mean over apps of each app's median of ``log((dau +
  dau_refused) / U)`` over its active days. The free tier's hard cap refuses DAU (72000):
  adding ``dau_refused`` back undoes the censoring; when ``dau_refused`` is unknown, the
  per-app median is still right while under half an app's days are at the cap.
  ``dau_sd_daily``: mean per-app ``1.4826 * MAD`` of the same log ratio over the apps with a
  median demand DAU of 20 or more (rounding adds little there; not fitted with fewer than 3);
- ``create_rate`` (needs ``group_ops``): ``create_group`` attempts per demand DAU-day over the
  app-days without a live group -- given its DAU, a day's live creations are independent of
  its non-live ones, so selecting on them leaves the ratio unbiased. On such a day a live
  creation may still have been tried and refused (70398: its host unregistered; 10036): the
  attempts counted there are those not refused 70398 or 10036, divided by the app's share of
  attempts not refused 70398 (owners and hosts are drawn from the same users alike);
  ``live_rate``: all attempts per demand DAU-day less that, divided by the mean event
  multiplier ``f`` (the scenario's); bootstrap intervals over apps. Without ``group_ops``:
  ``live_rate`` by maximum likelihood on app-days of ``P(live_groups > 0) = 1 - exp(-r DAU (1
  + h / 24) f)`` (a live group open at some time of the day: created that day, or the day
  before and still open; ``h`` the mean duration in hours), which misses refused creations;
- ``arrivals_per_month``: apps first seen after the first day, per month of data (Poisson,
  Wilson-Hilferty interval); ``count``: apps there on the first day;
- ``start_state``: the states of the apps there at the start after the first instant's
  operations (multinomial, Wilson intervals), divided by the share of willingness to pay that
  covers the edition's price when the scenario has price response (the model keeps a tenant
  drawn to Pro on IM when it cannot pay).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.population import ArchetypeParams
from sim.rules.limits import ACCOUNT_LIMIT, LIVE_GROUP_LIMIT

Z = 1.959963984540054  # the normal 97.5% quantile
MONTH_DAYS = 30.4375
GROWTH_MONTH = 30.0  # the model's month for growth rates (population.make_tenant)
BOOTSTRAP = 200
LONG_DAYS = 90
"""Apps with this many days of usage or more fit the growth (when 5 or more have)."""


@dataclass(frozen=True)
class Estimate:
    """One fitted value: ``parameter`` is an archetype field, ``start_state.<state>`` or a
    policy parameter ``behaviour.policies.<policy>.<name>``."""

    segment: str
    parameter: str
    estimate: float
    ci_low: float
    ci_high: float
    prior: float
    method: str


def app_days(usage: pd.DataFrame, group: pd.DataFrame | None) -> pd.DataFrame:
    """The usage table with ``day`` (days since the first date), demand users ``U`` (the
    registration attempts so far) and demand DAU ``D``, sorted by app and date."""
    u = usage.sort_values(["app", "date"], kind="stable").reset_index(drop=True)
    start = u["date"].min()
    u["day"] = ((u["date"] - start) / pd.Timedelta(days=1)).astype(np.int64)
    users = u["users"].to_numpy(dtype=float)
    u["U"] = users
    if group is not None:  # every new user registers once: the attempts so far are the demand
        reg = group.loc[group["op"] == "register_user"]
        per_day = reg.groupby(["app", "date"])["count"].sum()
        if len(per_day):
            joined = pd.MultiIndex.from_frame(u[["app", "date"]])
            attempts = per_day.reindex(joined, fill_value=0).to_numpy(dtype=float)
            so_far = pd.Series(attempts).groupby(u["app"].to_numpy()).cumsum().to_numpy()
            u["U"] = np.maximum(users, so_far)
    refused = u["dau_refused"].fillna(0).to_numpy(dtype=float)
    u["D"] = u["dau"].to_numpy(dtype=float) + refused
    return u


def _mean_ci(x: np.ndarray) -> tuple[float, float, float]:
    m = float(np.mean(x))
    se = float(np.std(x, ddof=1) / math.sqrt(len(x))) if len(x) > 1 else 0.0
    return m, m - Z * se, m + Z * se


def decreasing_inverse(
    values: Sequence[float], moments: Sequence[float]
) -> Callable[[float], float]:
    """The inverse of a simulated moment that decreases in its parameter, for simulated
    moments: ``moments[i]`` played at ``values[i]`` (increasing), made monotone (running
    minimum), inverted by linear interpolation on a log-log scale; a moment outside the
    simulated range maps to the grid's edge."""
    m = np.minimum.accumulate(np.asarray(moments, dtype=float))
    x = np.log(np.maximum(m[::-1], 1e-9))
    y = np.log(np.asarray(values, dtype=float)[::-1])

    def invert(v: float) -> float:
        return float(math.exp(np.interp(math.log(max(v, 1e-9)), x, y)))

    return invert


def poisson_ci(n: float) -> tuple[float, float]:
    """Wilson-Hilferty 95% interval of a Poisson count ``n``."""
    lo = 0.0 if n <= 0 else n * (1 - 1 / (9 * n) - Z / (3 * math.sqrt(n))) ** 3
    m = n + 1
    return max(lo, 0.0), m * (1 - 1 / (9 * m) + Z / (3 * math.sqrt(m))) ** 3


def wilson(k: float, n: float) -> tuple[float, float]:
    """Wilson 95% interval of a proportion ``k / n``."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    den = 1 + Z**2 / n
    mid = (p + Z**2 / (2 * n)) / den
    half = Z * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2)) / den
    return max(mid - half, 0.0), min(mid + half, 1.0)


def fit_users0(seg: str, u: pd.DataFrame, prior: ArchetypeParams) -> list[Estimate]:
    x = np.log(np.maximum(u.groupby("app", sort=False)["U"].first().to_numpy(), 1.0))
    m, lo, hi = _mean_ci(x)
    s = float(np.std(x, ddof=1))
    half = Z / math.sqrt(2 * max(len(x) - 1, 1))
    how = "log of first-day demand users: mean (normal CI)"
    return [
        Estimate(
            seg, "users0_median", math.exp(m), math.exp(lo), math.exp(hi), prior.users0_median, how
        ),
        Estimate(
            seg,
            "users0_sigma",
            s,
            s * (1 - half),
            s * (1 + half),
            prior.users0_sigma,
            "log of first-day demand users: sd (chi CI)",
        ),
    ]


def growth_slopes(u: pd.DataFrame, min_days: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Per app with ``min_days`` days or more: the OLS slope of ``log U`` on the day (per day)
    and the number of days."""
    y = np.log(np.maximum(u["U"].to_numpy(dtype=float), 1.0))
    t = u["day"].to_numpy(dtype=float)
    g = u.groupby("app", sort=False)
    tm = g["day"].transform("mean").to_numpy(dtype=float)
    ym = pd.Series(y).groupby(u["app"].to_numpy(), sort=False).transform("mean").to_numpy()
    sxy = pd.Series((t - tm) * (y - ym)).groupby(u["app"].to_numpy(), sort=False).sum()
    sxx = pd.Series((t - tm) ** 2).groupby(u["app"].to_numpy(), sort=False).sum()
    size = g.size()
    keep = (size >= min_days).to_numpy()
    return (sxy / sxx.where(sxx > 0)).to_numpy()[keep], size.to_numpy(dtype=float)[keep]


def _masked_slopes(y: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """OLS slope of each row of ``y`` on the day over its first ``lengths[i]`` days."""
    t = np.arange(y.shape[1], dtype=float)[None, :]
    m = t < lengths[:, None]
    n = m.sum(axis=1)
    tm = (t * m).sum(axis=1) / n
    ym = (y * m).sum(axis=1) / n
    dt = (t - tm[:, None]) * m
    return (dt * (y - ym[:, None])).sum(axis=1) / (dt**2).sum(axis=1)


class SlopeModel:
    """Per-app OLS slopes (per day) of ``log U`` for apps with ``lengths`` days, drawn as the
    model draws them (:func:`sim.model.population.make_tenant`: lognormal start, drift normal
    across apps, daily walk of sd ``growth_sd_daily`` -- the scenario's --, rounding, floor at
    1, running maximum) at any drift ``mu`` and between-app sd ``sd`` (per day). The draws are
    fixed (common random numbers), so the slopes' mean and sd are smooth in ``mu`` and ``sd``:
    what the indirect inference of :func:`fit_growth` inverts."""

    def __init__(self, prior: ArchetypeParams, median: float, lengths: np.ndarray) -> None:
        rng = np.random.default_rng(0)
        k, n = len(lengths), int(lengths.max())
        self.lengths = lengths
        u0 = median * np.exp(prior.users0_sigma * rng.standard_normal(k))
        self.z = rng.standard_normal(k)
        self.base = np.log(np.maximum(u0, 1.0))[:, None] + np.cumsum(
            prior.growth_sd_daily * rng.standard_normal((k, n)), axis=1
        )
        self.t = np.arange(n, dtype=float)[None, :]

    def slopes(self, mu: float, sd: float) -> np.ndarray:
        log_u = self.base + (mu + sd * self.z)[:, None] * self.t
        users = np.maximum.accumulate(np.maximum(np.round(np.exp(log_u)), 1.0), axis=1)
        return _masked_slopes(np.log(users), self.lengths)


def _bisect(
    f: Callable[[float], float], target: float, a: float, b: float, steps: int = 30
) -> float:
    """``x`` in ``[a, b]`` with ``f(x) = target`` for an increasing ``f`` (``a`` when
    ``f(a)`` is at or above the target already)."""
    if f(a) >= target:
        return a
    for _ in range(steps):
        x = (a + b) / 2
        a, b = (x, b) if f(x) < target else (a, x)
    return (a + b) / 2


def _swap(f: Callable[[float, float], float], second: float, first: float) -> float:
    return f(first, second)


def fit_growth(
    seg: str, u: pd.DataFrame, prior: ArchetypeParams, rng: np.random.Generator
) -> list[Estimate]:
    slope, n = growth_slopes(u)
    ok = np.isfinite(slope)
    if (ok & (n >= LONG_DAYS)).sum() >= 5:  # short histories: mostly rounding and the maximum
        ok &= n >= LONG_DAYS
    slope, n = slope[ok], n[ok]
    if len(slope) < 3:
        return []
    m, lo, hi = _mean_ci(slope)
    s_obs = float(np.std(slope, ddof=1))
    idx = rng.integers(0, len(slope), size=(BOOTSTRAP, len(slope)))
    s_lo, s_hi = np.quantile(np.std(slope[idx], axis=1, ddof=1), [0.025, 0.975])
    median = float(np.exp(np.mean(np.log(np.maximum(u.groupby("app")["U"].first(), 1.0)))))
    model = SlopeModel(prior, median, np.resize(n.astype(np.int64), 400))

    def mean_at(mu: float, sd: float) -> float:
        return float(np.mean(model.slopes(mu, sd)))

    def sd_at(mu: float, sd: float) -> float:
        return float(np.std(model.slopes(mu, sd)))

    mu, sd = m, 0.0
    for _ in range(3):  # alternate: the mean slope fixes mu, the slopes' sd fixes sd
        mu = _bisect(functools.partial(_swap, mean_at, sd), m, m - 0.05, m + 0.01)
        sd = _bisect(functools.partial(sd_at, mu), s_obs, 0.0, 2 * s_obs + 1e-4)
    sd_ci = [_bisect(functools.partial(sd_at, mu), v, 0.0, 2 * s_hi + 1e-4) for v in (s_lo, s_hi)]
    bias = m - mu
    return [
        Estimate(
            seg,
            "growth_per_month",
            mu * GROWTH_MONTH,
            (lo - bias) * GROWTH_MONTH,
            (hi - bias) * GROWTH_MONTH,
            prior.growth_per_month,
            "indirect inference: mean per-app OLS slope of log demand users matched on paths "
            "drawn as the model draws them (running maximum, rounding); normal CI shifted",
        ),
        Estimate(
            seg,
            "growth_sd_between",
            sd * GROWTH_MONTH,
            min(sd_ci[0], sd) * GROWTH_MONTH,
            max(sd_ci[1], sd) * GROWTH_MONTH,
            prior.growth_sd_between,
            "indirect inference: sd of the per-app slopes matched likewise (bootstrap CI "
            "over apps, mapped)",
        ),
    ]


def fit_dau(seg: str, u: pd.DataFrame, prior: ArchetypeParams) -> list[Estimate]:
    active = (u["D"] > 0) & (u["U"] > 0)
    a = u.loc[active, ["app", "D", "U"]]
    r = np.log(a["D"].to_numpy(dtype=float) / a["U"].to_numpy(dtype=float))
    g = pd.Series(r).groupby(a["app"].to_numpy(), sort=False)
    med = g.median()
    mad = (pd.Series(r) - g.transform("median").to_numpy()).abs().groupby(
        a["app"].to_numpy(), sort=False
    ).median() * 1.4826
    big = a.groupby("app", sort=False)["D"].median().reindex(mad.index) >= 20
    m, lo, hi = _mean_ci(med.to_numpy())
    out = [
        Estimate(
            seg,
            "dau_share",
            math.exp(m),
            math.exp(lo),
            math.exp(hi),
            prior.dau_share,
            "per-app median log((dau + dau_refused) / demand users), mean over apps",
        )
    ]
    if big.sum() >= 3:  # (small apps' DAU is mostly rounding: no sd worth the name)
        s, slo, shi = _mean_ci(mad[big].to_numpy())
        out.append(
            Estimate(
                seg,
                "dau_sd_daily",
                s,
                slo,
                shi,
                prior.dau_sd_daily,
                "per-app 1.4826 MAD of the daily log DAU share, mean over apps with a "
                "median DAU of 20 or more",
            )
        )
    return out


def event_factor(prior: ArchetypeParams) -> float:
    """The mean multiplier of live-group creation over days (events included)."""
    p = prior
    share = min(p.event_prob_per_month * p.event_days / MONTH_DAYS, 1.0)
    return 1.0 + share * (p.event_live_multiplier - 1.0)


def _bernoulli_rate(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """MLE ``r`` of ``P(y) = 1 - exp(-r x)`` (bisection on the score, in log r) and its
    Fisher standard error."""
    if not y.any():
        return 0.0, 3.0 / max(float(x.sum()), 1e-12) / Z  # rule of three as the upper end
    lo, hi = -30.0, 5.0
    for _ in range(80):
        mid = (lo + hi) / 2
        r = math.exp(mid)
        e = np.exp(-r * x[y])
        score = float(np.sum(x[y] * e / np.maximum(1 - e, 1e-300))) - float(x[~y].sum())
        lo, hi = (mid, hi) if score > 0 else (lo, mid)
    r = math.exp((lo + hi) / 2)
    e = np.exp(-r * x)
    info = float(np.sum(x**2 * e / np.maximum(1 - e, 1e-300)))
    return r, 1.0 / math.sqrt(max(info, 1e-300))


def fit_groups(
    seg: str,
    u: pd.DataFrame,
    group: pd.DataFrame | None,
    prior: ArchetypeParams,
    rng: np.random.Generator,
) -> list[Estimate]:
    """``live_rate`` and ``create_rate`` (module docstring): from the create attempts of
    ``group_ops`` when there are any, else ``live_rate`` alone from the days with a live group."""
    f = event_factor(prior)
    if group is None:
        return [_live_from_days(seg, u, prior, f)]
    mine = group.loc[group["op"] == "create_group"]
    code = mine["error_code"].to_numpy()
    joined = pd.MultiIndex.from_frame(u[["app", "date"]])

    def per_day(keep: np.ndarray) -> np.ndarray:
        by = mine.loc[keep].groupby(["app", "date"])["count"].sum()
        return by.reindex(joined, fill_value=0).to_numpy(dtype=float)

    creates = per_day(np.ones(len(mine), dtype=bool))
    unregistered = per_day(code == ACCOUNT_LIMIT[0])
    seen = per_day((code != ACCOUNT_LIMIT[0]) & (code != LIVE_GROUP_LIMIT[0]))
    quiet = u["live_groups"].to_numpy() == 0
    if not (quiet & (u["D"].to_numpy() > 0)).any():
        return [_live_from_days(seg, u, prior, f)]
    app = u["app"].to_numpy()
    d = u["D"].to_numpy(dtype=float)
    frame = {"c": creates, "d": d, "x0": seen * quiet, "d0": d * quiet, "k": unregistered}
    sums = pd.DataFrame(frame).groupby(app, sort=False).sum().to_numpy()

    def rates(s: np.ndarray) -> tuple[float, float]:
        c, dd, x0, d0, k = s.T
        kept = 1.0 - k / np.maximum(c, 1.0)  # share of an app's attempts not refused 70398
        x0 = np.where(kept > 0, x0 / np.maximum(kept, 1e-12), 0.0)
        nonlive = x0.sum() / max(d0.sum(), 1e-12)
        return nonlive, max((c.sum() / max(dd.sum(), 1e-12) - nonlive) / f, 0.0)

    nonlive, live = rates(sums)
    idx = rng.integers(0, len(sums), size=(BOOTSTRAP, len(sums)))
    boot = np.array([rates(sums[i]) for i in idx])
    lo, hi = np.quantile(boot, 0.025, axis=0), np.quantile(boot, 0.975, axis=0)
    return [
        Estimate(
            seg,
            "live_rate",
            live,
            min(lo[1], live),
            max(hi[1], live),
            prior.live_rate,
            "create_group attempts per demand DAU-day less the non-live rate, / the "
            "event factor (bootstrap CI over apps)",
        ),
        Estimate(
            seg,
            "create_rate",
            nonlive,
            lo[0],
            hi[0],
            prior.create_rate,
            "create_group attempts per demand DAU-day on the days without a live "
            "group (Poisson ratio; bootstrap CI over apps)",
        ),
    ]  # (a day's live groups are independent of its non-live ones given its DAU)


def _live_from_days(seg: str, u: pd.DataFrame, prior: ArchetypeParams, f: float) -> Estimate:
    hours = prior.live_hours_median * math.exp(0.125)  # (lognormal mean, sd 0.5)
    active = u.loc[u["D"] > 0]
    x = active["D"].to_numpy(dtype=float) * (1 + hours / 24) * f
    r, se = _bernoulli_rate(x, active["live_groups"].to_numpy() > 0)
    return Estimate(
        seg,
        "live_rate",
        r,
        max(r - Z * se, 0.0),
        r + Z * se,
        prior.live_rate,
        "Bernoulli MLE of days with a live group (Fisher CI; no group_ops: refused "
        "creations unseen)",
    )


def edge_note(estimate: float, lo: float, hi: float, values: Sequence[float]) -> str:
    """What a ``method`` says of a simulated-moments estimate read on a curve simulated at
    ``values``: at the grid's edge (the observed moment outside the simulated range: the edge
    is a bound, not an estimate), its interval clipped there, or nothing."""
    a, b = min(values), max(values)
    rng = f"[{a:.4g}, {b:.4g}]"
    if estimate <= a * (1 + 1e-9) or estimate >= b * (1 - 1e-9):
        side = "lower" if estimate <= a * (1 + 1e-9) else "upper"
        return (
            f" (at grid edge: the observed moment is outside the range simulated on {rng}; "
            f"the estimate is the {side} edge, a bound, not a fit)"
        )
    if lo <= a * (1 + 1e-9) or hi >= b * (1 - 1e-9):
        return f" (CI clipped at the grid's edge {rng})"
    return ""
