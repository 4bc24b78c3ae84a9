"""Charts of a comparison: each figure's paired change against the baseline, on its own scale.

A change in revenue (thousands of a currency), in apps (tens) and in a share (a few %) cannot
share one axis, and neither can two error codes with rates a hundredfold apart: every metric
gets its own row with its own x-scale (:func:`delta_panels`), grouped by family (money,
counts, shares, days, rates), with the absolute change and its unit written beside the %. The
95 % intervals are clipped to what is possible: a figure that cannot be negative cannot fall
by more than its baseline, a share cannot pass 100 %.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.reports.charts import RUN_COLOURS, grouped_bars, new_figure, no_data, thousands

__all__ = ["clip_interval", "delta_panels", "family", "grouped_bars"]

FAMILIES = ("money", "counts", "shares", "days", "rates")


def family(unit: str) -> str:
    """The family of a unit: ``shares`` (%), ``rates`` (per 1,000 DAU), ``days``, ``counts``
    (apps, operations, user-days) or ``money`` (anything else: a currency)."""
    if unit == "%":
        return "shares"
    if "1,000 DAU" in unit:
        return "rates"
    if unit == "days":
        return "days"
    if unit in ("apps", "operations", "user-days", ""):
        return "counts"
    return "money"


def clip_interval(d: pd.DataFrame) -> pd.DataFrame:
    """``d`` (paired deltas: mean_a, delta, ci_low, ci_high, pct_low, pct_high, unit) with its
    intervals clipped to the possible: no figure here is negative, so a change is at least
    ``-mean_a`` (and -100 %); a share (unit ``%``) is at most 100, so a change of one is at
    most ``100 - mean_a``."""
    out = d.copy()
    floor = -out["mean_a"].astype(float)
    out["ci_low"] = np.maximum(out["ci_low"].astype(float), floor)
    out["pct_low"] = np.maximum(out["pct_low"].astype(float), -100.0)
    units = out["unit"] if "unit" in out else pd.Series("", index=out.index)
    cap = np.where(units == "%", 100.0 - out["mean_a"].astype(float), np.inf)
    out["ci_high"] = np.minimum(out["ci_high"].astype(float), cap)
    return out


def _change_text(row: pd.Series, unit: str) -> str:
    from sim.reports.html import fmt

    sign = "+" if row["delta"] > 0 else ""
    pct = "baseline 0" if pd.isna(row["pct"]) else f"{row['pct']:+.1f} %"
    if unit == "%":  # a change of a share: percentage points
        return f"{sign}{row['delta']:,.2f} pt ({pct})"
    shown = f" {unit}" if unit else ""
    return f"{sign}{fmt(row['delta'], unit)}{shown} ({pct})"


def delta_panels(deltas: pd.DataFrame, title: str) -> Figure:
    """One row per metric (``label``), each on its own x-scale: the change of each run
    against the baseline (a colour per run) with its clipped 95 % paired interval, and the
    change written out with its unit and %. ``deltas``: label, unit, run, mean_a, delta,
    ci_low, ci_high, pct, pct_low, pct_high, n."""
    d = deltas.dropna(subset=["delta"]) if len(deltas) else deltas
    if d.empty:
        fig, (ax,) = new_figure(title)
        no_data(ax, "no figure to compare")
        ax.set_xlabel("change")
        ax.set_ylabel("figure")
        return fig
    d = clip_interval(d.assign(family=[family(str(u)) for u in d["unit"]]))
    d["family"] = pd.Categorical(d["family"], FAMILIES, ordered=True)
    zero = (d["delta"] == 0) & d["ci_low"].fillna(0).eq(0) & d["ci_high"].fillna(0).eq(0)
    still = set(d.loc[zero, "label"]) - set(d.loc[~zero, "label"])
    labels = [
        x
        for x in d.sort_values("family", kind="stable")["label"].drop_duplicates()
        if x not in still
    ]
    runs = list(dict.fromkeys(d["run"]))
    rows = len(labels) + (1 if still else 0)
    fig = Figure(figsize=(9.0, 1.2 + 0.62 * max(rows, 1)), layout="constrained")
    fig.suptitle(title, fontsize=13, fontweight="bold")
    axes = fig.subplots(max(rows, 1), 1, squeeze=False)[:, 0]
    if still:
        _unchanged(axes[-1], [x for x in dict.fromkeys(d["label"]) if x in still])
    for ax, label in zip(axes, labels, strict=False):
        rows = d[d["label"] == label]
        unit = str(rows["unit"].iloc[0])
        _one_row(ax, rows, runs, unit)
        ax.set_ylabel(
            textwrap.fill(f"{label} [{rows['family'].iloc[0]}]", 34),
            rotation=0,
            ha="right",
            va="center",
            fontsize=7.5,
        )
        ax.set_xlabel(f"change [{unit or 'count'}]", fontsize=7, labelpad=1)
    handles = [
        Line2D([], [], marker="o", ls="", color=RUN_COLOURS[(k + 1) % len(RUN_COLOURS)])
        for k in range(len(runs))
    ]
    fig.legend(
        handles,
        [str(r) for r in runs],
        title="run against the baseline",
        loc="outside lower center",
        ncols=min(len(runs), 4),
        frameon=False,
        fontsize=8,
    )
    return fig


def _unchanged(ax, labels: Sequence[str]) -> None:  # noqa: ANN001
    """A text row naming the figures that did not change in any run (no scale to show)."""
    ax.axis("off")
    text = textwrap.fill("No change in any run (0, interval 0): " + "; ".join(labels), 130)
    ax.text(0.0, 0.5, text, transform=ax.transAxes, va="center", fontsize=7.5, color="#555555")


def _one_row(ax, rows: pd.DataFrame, runs: Sequence[str], unit: str) -> None:  # noqa: ANN001
    texts = []
    for k, run in enumerate(runs):
        r = rows[rows["run"] == run]
        if r.empty:
            continue
        row = r.iloc[0]
        y = -k * 0.3
        lo = row["delta"] - row["ci_low"] if pd.notna(row["ci_low"]) else 0.0
        hi = row["ci_high"] - row["delta"] if pd.notna(row["ci_high"]) else 0.0
        ax.errorbar(
            [row["delta"]],
            [y],
            xerr=[[max(lo, 0.0)], [max(hi, 0.0)]],
            fmt="o",
            ms=4,
            capsize=3,
            color=RUN_COLOURS[(k + 1) % len(RUN_COLOURS)],
        )
        texts.append(_change_text(row, unit))
    ax.axvline(0, color="#444444", lw=0.8)
    ax.set_yticks([])
    ax.set_ylim(-0.3 * len(runs), 0.3)
    ax.tick_params(axis="x", labelsize=7)
    thousands(ax, "x")
    ax.grid(axis="x", alpha=0.3)
    ax.text(1.01, 0.5, "\n".join(texts), transform=ax.transAxes, va="center", fontsize=7.5)
    lo_x, hi_x = ax.get_xlim()
    span = max(abs(lo_x), abs(hi_x)) or 1.0
    ax.set_xlim(-span * 1.05, span * 1.05)
