"""``sweep.html``: a sweep's figures against each grid key, self-contained (charts inline).

For each grid key: every figure's mean with its 95 % interval over the replications against the
key's values (one line per combination of the other keys), and the paired differences against
the reference point (the scenario's own values). Then the revenue-maximising point with its
bootstrap interval (:func:`sim.studies.sweep.best_point`, whose method the page states) and a
warning when it lies at the edge of the grid; then the table of means.
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from sim.files.outputs import OutputDir
from sim.studies import sweep as sw

LABELS = {
    "revenue_total": "revenue over the horizon",
    "mrr_last_month": "MRR, last month",
    "paying_apps_last_month": "paying apps, last month",
    "upgrades": "apps that upgraded",
    "deactivations": "apps deactivated",
    "refused_share": "share of group operations refused",
}

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;color:#222}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em}td,th{padding:2px 8px;border-bottom:1px solid #eee;
text-align:right}th{background:#f4f4f4}.warn{background:#fff3cd;border:1px solid #e0c060;
padding:.6em 1em}.note{color:#555;font-size:.9em}img{max-width:100%}
"""


def _label(fig: str) -> str:
    if fig.startswith("rate_"):
        code = fig.removeprefix("rate_")
        return f"error {code}: per day per 1,000 DAU"
    return LABELS.get(fig, fig)


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return (
        f'<img alt="chart" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'
    )


def _x(values: pd.Series, axis: sw.Axis) -> list[float]:
    """Positions on the x axis: the values themselves, or their rank on a non-numeric axis."""
    if axis.numeric:
        return [float(v) for v in values]
    pos = {str(v): i for i, v in enumerate(axis.values)}
    return [float(pos.get(str(v), 0)) for v in values]


def _panel(
    ax: Any, stats: pd.DataFrame, axis: sw.Axis, others: list[str], ref: Any, floor: float | None
) -> None:
    """Mean and 95 % interval of one figure against ``axis``, a line per other-key combination
    (at most 8); the interval clipped at ``floor`` (0 for levels: no figure of a sweep is
    negative), so it never shows what cannot be."""
    groups = list(stats.groupby(others, dropna=False)) if others else [((), stats)]
    for key, grp in groups[:8]:
        grp = grp.assign(_x=_x(grp[axis.key], axis)).sort_values("_x")
        key = key if isinstance(key, tuple) else (key,)
        label = ", ".join(f"{k}={v}" for k, v in zip(others, key, strict=True)) or None
        ax.plot(grp["_x"], grp["mean"], marker="o", label=label)
        if grp["ci_low"].notna().any():
            low = grp["ci_low"] if floor is None else grp["ci_low"].clip(lower=floor)
            ax.fill_between(grp["_x"], low, grp["ci_high"], alpha=0.2)
    if axis.numeric and sw.is_number(ref):
        ax.axvline(float(ref), color="#888", linestyle=":", linewidth=1)
    if not axis.numeric:
        ax.set_xticks(range(len(axis.values)), [str(v) for v in axis.values])
    if len(groups) > 1:
        ax.legend(fontsize=6)


def _charts(
    stats: pd.DataFrame,
    plan: sw.Sweep,
    axis: sw.Axis,
    figs: list[str],
    title: str,
    floor: float | None = None,
) -> str:
    cols = 3
    rows = math.ceil(len(figs) / cols)
    fig = Figure(figsize=(12, 3.2 * rows))
    others = [k for k in plan.keys if k != axis.key]
    for i, name in enumerate(figs):
        ax = fig.add_subplot(rows, cols, i + 1)
        _panel(ax, stats[stats["figure"] == name], axis, others, plan.own.get(axis.key), floor)
        ax.set_title(_label(name), fontsize=9)
        ax.set_xlabel(axis.key.rsplit(".", 2)[-1] if "." in axis.key else axis.key, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _png(fig)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:,.6g}" if abs(v) < 1000 else f"{v:,.0f}"
    return html.escape(str(v))


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in row) + "</tr>"
        for row in df.itertuples(index=False)
    )
    return f'<div style="overflow-x:auto"><table><tr>{head}</tr>{body}</table></div>'


def _best(best: dict[str, Any], plan: sw.Sweep) -> str:
    where = ", ".join(f"<b>{html.escape(k)}</b> = {_fmt(v)}" for k, v in best["values"].items())
    rev = best["revenue"]
    ci = (
        ""
        if math.isnan(rev["ci_low"])
        else f" (95 % interval {rev['ci_low']:,.2f} to {rev['ci_high']:,.2f})"
    )
    parts = [f"<p>Revenue-maximising point: {where}; mean revenue {rev['mean']:,.2f}{ci}.</p>"]
    for k, (lo, hi) in best["interval"].items():
        if not math.isnan(lo):
            parts.append(
                f"<p>95 % bootstrap interval of the maximising {html.escape(k)}: {lo:,.4g} to {hi:,.4g}.</p>"
            )
    if not math.isnan(best["share"]):
        parts.append(f"<p>{best['share']:.0%} of the bootstrap resamples pick this same point.</p>")
    else:
        parts.append("<p>One replication: no interval (give --replications 5 or more).</p>")
    if best["edge"]:
        keys = ", ".join(html.escape(k) for k in best["edge"])
        parts.append(
            f'<p class="warn">Warning: the maximum is at the edge of the grid for {keys}: the '
            "revenue may keep rising beyond it; widen the grid.</p>"
        )
    if best["reference_better"] is not None:
        parts.append(
            '<p class="warn">Warning: the scenario\'s own values (the reference point, not on '
            f"the grid) earn more, mean revenue {best['reference_better']:,.2f}: the grid misses "
            "the maximum; widen it towards them.</p>"
        )
    parts.append(
        '<p class="note">How it is computed: the point with the highest mean revenue over the '
        f"replications (grid points only). Its interval is a percentile bootstrap: {sw.BOOTSTRAP} "
        "resamples of the replications with replacement (the same replications for every point, "
        "keeping the common random numbers paired); in each, the point of highest mean revenue; "
        "the interval is the 2.5 % and 97.5 % percentiles of its value.</p>"
    )
    return "".join(parts)


def build_sweep_html(plan: sw.Sweep, df: pd.DataFrame) -> str:
    """The page (see the module docstring)."""
    keys = list(plan.keys)
    figs = sw.figure_columns(df)
    stats = sw.means(df, keys)
    diffs = sw.deltas(df, keys, plan.reference.index)
    best = sw.best_point(df, keys)
    ref = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(keys, plan.reference.values, strict=True))
    out = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>sweep: {html.escape(plan.base.name)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Sweep of {html.escape(plan.base.name)}</h1>",
        f"<p>{len(plan.points)} points x {plan.base.replications} replication(s), seed "
        f"{plan.base.seed}, {plan.base.mode} mode, {plan.base.n_tenants:,} apps x "
        f"{plan.base.horizon_months} months. Every point plays replication r with the same "
        "random numbers (common random numbers): differences between points are the grid's, "
        f"not the draw's. Reference point (the scenario's own values): {ref}.</p>",
        "<h2>Revenue-maximising point</h2>",
        _best(best, plan),
    ]
    sel = stats[stats["point"].isin(df.loc[df["on_grid"], "point"])]
    dsel = diffs[diffs["point"].isin(df.loc[df["on_grid"], "point"])]
    for axis in plan.axes:
        out.append(f"<h2>Against {html.escape(axis.key)}</h2>")
        out.append(
            _charts(sel, plan, axis, figs, "mean and 95 % interval over replications", floor=0.0)
        )
        out.append(
            _charts(dsel, plan, axis, figs, f"paired difference against the reference ({ref})")
        )
    table = stats.pivot_table(index=["point", *keys], columns="figure", values="mean", sort=False)
    out.append("<h2>Means per point</h2>")
    out.append(_table(table[figs].reset_index()))
    out.append("</body></html>")
    return "\n".join(out)


def write_sweep(
    out_dir: Path, plan: sw.Sweep, df: pd.DataFrame, keep: Sequence[str] = ()
) -> list[Path]:
    """Write ``sweep.parquet``, ``sweep.csv`` and ``sweep.html`` into ``out_dir``, one set, all
    or nothing; ``keep``: subfolders (the task store) carried over from the old folder."""
    page = build_sweep_html(plan, df)
    with OutputDir(out_dir, keep=keep) as out:
        out.write("sweep.parquet", df)
        out.write("sweep.csv", df)
        out.write("sweep.html", page)
    return out.paths
