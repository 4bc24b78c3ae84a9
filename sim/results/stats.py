"""Statistics over replications: Student t quantiles, means with confidence intervals, paired
differences between runs that share random numbers. Pure numpy and pandas; no scipy.

A figure computed once per replication is a sample of independent draws (each replication has
its own random streams, :mod:`sim.model.rng`); its mean gets the interval
mean ± t(0.975, n-1) · sd / sqrt(n). Two runs of the same population and seed use the same
streams in replication r, so their difference is taken per replication first (common random
numbers) and the interval is of the mean difference: much narrower than comparing two
independent intervals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd


def _t_two_sided(t: float, df: int) -> float:
    """P(|T| < t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4)."""
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2:  # odd
        total, term = 0.0, math.cos(theta)
        for k in range(1, (df - 1) // 2 + 1):
            total += term
            term *= c2 * (2 * k) / (2 * k + 1)
        return (2 / math.pi) * (theta + s * total) if df > 1 else 2 * theta / math.pi
    total, term = 0.0, 1.0
    for k in range(1, df // 2 + 1):
        total += term
        term *= c2 * (2 * k - 1) / (2 * k)
    return s * total


def t_quantile(p: float, df: int) -> float:
    """The ``p`` quantile (``0.5 < p < 1``) of Student's t with ``df`` degrees of freedom.

    >>> round(t_quantile(0.975, 1), 4), round(t_quantile(0.975, 10), 4)
    (12.7062, 2.2281)
    """
    if not 0.5 < p < 1 or df < 1:
        raise ValueError(f"t_quantile: p in (0.5, 1) and df >= 1 (given p={p}, df={df})")
    if df > 2000:  # the normal limit, to better than 1e-4
        return NormalDist().inv_cdf(p)
    target, lo, hi = 2 * p - 1, 0.0, 1.0
    while _t_two_sided(hi, df) < target:
        hi *= 2
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_two_sided(mid, df) < target else (lo, mid)
    return (lo + hi) / 2


def mean_ci(values: Sequence[float] | np.ndarray, confidence: float = 0.95) -> dict[str, float]:
    """Mean, sample sd, n and the ``confidence`` interval of the mean (Student t); NaNs are
    dropped; with fewer than 2 values the interval is NaN."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return {"mean": mean, "sd": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": n}
    sd = float(x.std(ddof=1))
    half = t_quantile((1 + confidence) / 2, n - 1) * sd / math.sqrt(n)
    return {"mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def summarise(
    per_rep: pd.DataFrame,
    by: Sequence[str] = ("metric",),
    value: str = "value",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean and confidence interval over replications of ``value`` per ``by`` key.

    Parameters
    ----------
    per_rep : pandas.DataFrame
        One row per replication and key (e.g. :func:`~sim.results.metrics.headline`), with the
        ``by`` columns and ``value``.
    by : sequence of str, default ("metric",)
        The key columns (missing keys are a key too).
    value : str, default "value"
        The column of the per-replication figure (any unit).
    confidence : float, default 0.95
        The confidence level of the interval (a fraction).

    Returns
    -------
    pandas.DataFrame
        One row per key, in the order first met. Columns: the ``by`` keys, ``mean``, ``sd``
        (sample standard deviation), ``ci_low``, ``ci_high`` (float, in the unit of ``value``;
        Student t, mean ± t · sd / sqrt(n); NaN with fewer than 2 values) and ``n`` (int, the
        values used: NaNs are dropped).
    """
    rows = []
    for key, grp in per_rep.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, key, strict=True)), **mean_ci(grp[value], confidence)})
    cols = [*by, "mean", "sd", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows, columns=cols)


def paired_deltas(
    a: pd.DataFrame,
    b: pd.DataFrame,
    by: Sequence[str] = ("metric",),
    value: str = "value",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """``b - a`` per replication and ``by`` key (the runs share random numbers, so replication
    r of one is paired with replication r of the other), then its mean and confidence interval.

    Columns: ``by``, ``mean_a``, ``mean_b``, ``delta``, ``ci_low``, ``ci_high``, ``n`` (pairs),
    ``pct`` / ``pct_low`` / ``pct_high``: the delta and its interval as a % of ``mean_a`` (NaN
    where ``mean_a`` is 0). A key missing in one run is NaN there and its pairs are dropped.
    """
    keys = ["replication", *by]
    m = a[keys + [value]].merge(b[keys + [value]], on=keys, how="outer", suffixes=("_a", "_b"))
    order = pd.concat([a[list(by)], b[list(by)]]).drop_duplicates()  # keys as first met
    m = order.merge(m, on=list(by), how="left")
    m["d"] = m[f"{value}_b"] - m[f"{value}_a"]
    rows = []
    for key, grp in m.groupby(list(by), sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        paired = grp.dropna(subset=[f"{value}_a", f"{value}_b"])
        ci = mean_ci(paired["d"], confidence)
        mean_a = float(paired[f"{value}_a"].mean()) if len(paired) else math.nan
        scale = 100 / mean_a if mean_a and not math.isnan(mean_a) else math.nan
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "mean_a": mean_a,
                "mean_b": float(paired[f"{value}_b"].mean()) if len(paired) else math.nan,
                "delta": ci["mean"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "n": ci["n"],
                "pct": ci["mean"] * scale,
                "pct_low": ci["ci_low"] * scale,
                "pct_high": ci["ci_high"] * scale,
            }
        )
    cols = [
        *by,
        "mean_a",
        "mean_b",
        "delta",
        "ci_low",
        "ci_high",
        "n",
        "pct",
        "pct_low",
        "pct_high",
    ]
    return pd.DataFrame(rows, columns=cols)


def per_replication_mean(
    df: pd.DataFrame, keys: Sequence[str], columns: Sequence[str], n_reps: int
) -> pd.DataFrame:
    """The mean per replication of count-like figures, a key absent from a replication counting 0.

    ``columns`` summed per ``keys`` over all replications and divided by ``n_reps``.

    Parameters
    ----------
    df : pandas.DataFrame
        Rows of any replications, with the ``keys`` and ``columns``.
    keys : sequence of str
        The key columns (not ``replication``; missing keys are a key too).
    columns : sequence of str
        The count-like columns to average (apps, operations, money, ...: their unit is kept).
    n_reps : int
        The number of replications (at least 1 is used).

    Returns
    -------
    pandas.DataFrame
        Columns: the ``keys``, then ``columns`` (float, per replication). One row per key,
        sorted by the keys; a fresh RangeIndex. Empty (these columns) when ``df`` is.
    """
    if df.empty:
        return pd.DataFrame(columns=[*keys, *columns])
    out = df.groupby(list(keys), as_index=False, dropna=False)[list(columns)].sum()
    out[list(columns)] = out[list(columns)] / max(n_reps, 1)
    return out
