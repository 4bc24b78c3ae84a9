"""Charts of revenue over an app's life: the MRR bridge (waterfall) and cohorts by start
month. Same conventions as :mod:`sim.reports.charts` (a Figure each, no pyplot, fixed colours).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.reports.charts import (
    ARCHETYPE_COLOURS,
    colour,
    legend,
    month_ticks,
    new_figure,
    no_data,
    thousands,
)

BRIDGE_COLOURS = {
    "start": "#7f7f7f",
    "new": "#2ca02c",
    "expansion": "#98df8a",
    "contraction": "#ff9896",
    "churn": "#d62728",
    "end": "#1f77b4",
}
BRIDGE_LABELS = {
    "new": "new paying apps",
    "expansion": "expansion",
    "contraction": "contraction",
    "churn": "churn (stopped paying)",
}


def mrr_bridge(bridge: pd.DataFrame, currency: str) -> Figure:
    """The MRR bridge: a waterfall from the first month's MRR to the last (top: the steps
    summed over the months), and each month's steps (bottom). ``bridge``: month, start, new,
    expansion, contraction, churn, end (:func:`sim.results.metrics.mrr_bridge`)."""
    fig, (top, bottom) = new_figure("Revenue bridge: how MRR moved", 2, (9.0, 7.0))
    cur = currency or "currency"
    if bridge.empty:
        no_data(top, "fewer than two months: no bridge")
        no_data(bottom, "fewer than two months: no bridge")
    else:
        steps = ["new", "expansion", "contraction", "churn"]
        values = [float(bridge["start"].iloc[0])] + [float(bridge[s].sum()) for s in steps]
        values.append(float(bridge["end"].iloc[-1]))
        first = (pd.Period(str(bridge["month"].iloc[0]), freq="M") - 1).strftime("%Y-%m")
        names = [f"MRR {first}", *(BRIDGE_LABELS[s] for s in steps)]
        names.append(f"MRR {bridge['month'].iloc[-1]}")
        level = values[0]
        for i, (key, v) in enumerate(zip(["start", *steps, "end"], values, strict=True)):
            bottom_ = 0.0 if key in ("start", "end") else (level if v >= 0 else level + v)
            top.bar(i, abs(v), bottom=bottom_, color=BRIDGE_COLOURS[key], label=names[i])
            top.text(
                i,
                bottom_ + abs(v),
                f"{v:+,.0f}" if 0 < i < 5 else f"{v:,.0f}",
                ha="center",
                va="bottom",
                fontsize=8,
            )
            level = level + v if key not in ("start", "end") else level
        top.set_xticks(range(len(names)), names, fontsize=8)
        top.tick_params(axis="x", labelrotation=15)
        legend(top, title="step")
        x = np.arange(len(bridge))
        pos = np.zeros(len(bridge))
        neg = np.zeros(len(bridge))
        for s in steps:
            v = bridge[s].to_numpy(float)
            base = np.where(v >= 0, pos, neg)
            bottom.bar(x, v, bottom=base, color=BRIDGE_COLOURS[s], label=BRIDGE_LABELS[s])
            pos, neg = np.where(v >= 0, pos + v, pos), np.where(v < 0, neg + v, neg)
        bottom.axhline(0, color="#444444", lw=0.8)
        month_ticks(bottom, list(bridge["month"].astype(str)))
        legend(bottom, title="change of MRR")
    top.set_xlabel("first month → last month")
    top.set_ylabel(f"MRR [{cur} per month]")
    bottom.set_xlabel("month (change from the month before)")
    bottom.set_ylabel(f"change of MRR\n[{cur} per month]")
    for ax in (top, bottom):
        thousands(ax)
        ax.grid(axis="y", alpha=0.3)
    return fig


def cohorts(df: pd.DataFrame) -> Figure:
    """Cohorts of apps by the month of their first day: the share paying by months since
    start, per archetype (top; cohorts pooled, weighted by apps), and the revenue retention of
    each start month (bottom: MRR as a share of the cohort's first paying month). ``df``:
    :func:`sim.results.metrics.cohorts`."""
    fig, (top, bottom) = new_figure("Cohorts: share paying and revenue retention", 2, (9.0, 7.4))
    if df.empty:
        no_data(top)
        no_data(bottom)
        bottom.set_ylabel("cohort (month of first day)")
    else:
        pooled = df.groupby(["archetype", "age"], as_index=False)[["apps", "paying"]].sum()
        for arche, g in pooled.groupby("archetype"):
            share = 100 * g["paying"] / g["apps"].where(g["apps"] > 0)
            top.plot(
                g["age"],
                share,
                marker="o",
                ms=2.5,
                color=colour(ARCHETYPE_COLOURS, arche),
                label=str(arche),
            )
        legend(top, title="archetype")
        _retention(fig, bottom, df)
    top.set_xlabel("months since the app's first day")
    top.set_ylabel("paying apps [% of the cohort]")
    top.set_ylim(bottom=0)
    top.grid(alpha=0.3)
    bottom.set_xlabel("months since the cohort's month")
    return fig


def _retention(fig: Figure, ax, df: pd.DataFrame) -> None:  # noqa: ANN001
    """Revenue retention as a heat map: a row per cohort (and archetype, when that makes at
    most 30 rows), a column per month since the cohort's month."""
    pairs = len(df[["cohort", "archetype"]].drop_duplicates())
    keys = ["cohort", "archetype"] if pairs <= 30 else ["cohort"]
    grid = df.groupby([*keys, "age"], as_index=False)[["mrr"]].sum()
    first = grid[grid["mrr"] > 0].sort_values("age").drop_duplicates(keys)
    grid = grid.merge(first.rename(columns={"mrr": "base"})[[*keys, "base"]], on=keys)
    grid["retention"] = 100 * grid["mrr"] / grid["base"]
    heat = grid.pivot_table(index=keys, columns="age", values="retention")
    values = heat.to_numpy(float)
    top = _scale_top(values)
    im = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=top, interpolation="nearest")
    rows = [" · ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in heat.index]
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    step = max(1, len(heat.columns) // 12)
    ax.set_xticks(range(0, len(heat.columns), step), [str(c) for c in heat.columns[::step]])
    capped = bool(np.nanmax(values, initial=0.0) > top)
    bar = fig.colorbar(im, ax=ax, extend="max" if capped else "neither")
    label = "revenue retention\n[% of first paying month]"
    if capped:
        label += f"\nscale capped at {top:.0f}%;\nexact values: cohorts table"
    bar.set_label(label, fontsize=8)
    ax.set_ylabel("cohort (month of first day)" + (" · archetype" if len(keys) > 1 else ""))


def _scale_top(values: np.ndarray) -> float:
    """The top of the retention colour scale [%]: the 95th percentile of the cells, at least
    200%, so one cohort that grew from a single small payer to many (thousands of per cent)
    does not paint every other cohort the same dark colour."""
    cells = values[np.isfinite(values)]
    if not cells.size:
        return 200.0
    return float(max(200.0, np.ceil(np.percentile(cells, 95) / 50.0) * 50.0))
