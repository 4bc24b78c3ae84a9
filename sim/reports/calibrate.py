"""``fit.html`` of ``sim calibrate``: one self-contained page (figures inlined as PNG data).

For each segment: observed against simulated (from ``calibrated.yaml``) distributions of users,
DAU, groups and the growth shape per app, and the monthly conversion and refusal rates, each
with its KS distance, p-value and verdict (:mod:`sim.studies.calibrate`); then the fitted values
with their intervals and the simulated-moments curve.
"""

from __future__ import annotations

import base64
import html

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.reports import charts
from sim.reports.report import PAGE, html_table
from sim.studies.calibrate import GOF_STATISTICS, Calibration

OBSERVED, SIMULATED = "#1f77b4", "#ff7f0e"
_HIST = (
    ("users_last", "log demand users, last day", "log"),
    ("dau_mean", "mean served DAU per app", "log1p"),
    ("groups_mean", "mean groups per app", "log1p"),
    ("growth_shape", "growth shape (log users)", ""),
    ("dau_refused_share", "refused share of DAU per app", ""),
)
_SERIES = (
    ("conversion_monthly", "upgrades per IM app-month"),
    ("dau_refused_monthly", "refused share of demand DAU"),
    ("group_refused_monthly", "refused share of group ops"),
)
_RANK = {"good": 0, "fair": 1, "poor": 2, "n/a": -1}


def _img(fig: Figure, alt: str) -> str:
    data = base64.b64encode(charts.png(fig)).decode("ascii")
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
        f'width="{int(fig.get_figwidth() * charts.DPI)}"></figure>'
    )


def _ks_label(gof: pd.DataFrame, stat: str) -> str:
    row = gof.loc[gof["statistic"] == stat]
    if row.empty or not np.isfinite(row["ks"].iloc[0]):
        return "KS n/a"
    r = row.iloc[0]
    return f"KS {r['ks']:.2f} (p {r['p_value']:.2g}): {r['verdict']}"


def distributions(seg: str, obs: pd.DataFrame, sim: pd.DataFrame, gof: pd.DataFrame) -> Figure:
    """Histograms, observed against simulated, of the per-app statistics of one segment."""
    fig = Figure(figsize=(11, 6), layout="constrained")
    fig.suptitle(f"{seg}: per-app distributions, observed vs simulated", fontweight="bold")
    for k, (stat, label, scale) in enumerate(_HIST):
        ax = fig.add_subplot(2, 3, k + 1)
        x = obs[stat].to_numpy(dtype=float)
        y = sim[stat].to_numpy(dtype=float)
        if scale == "log1p":
            x, y, label = np.log1p(x), np.log1p(y), f"log(1 + {label})"
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if len(x) and len(y):
            both = np.concatenate([x, y])
            edges = np.histogram_bin_edges(both, bins=min(30, max(5, len(both) // 10)))
            bins = [float(b) for b in edges]
            ax.hist(x, bins=bins, density=True, alpha=0.55, color=OBSERVED, label="observed")
            ax.hist(y, bins=bins, density=True, alpha=0.55, color=SIMULATED, label="simulated")
        ax.set_title(_ks_label(gof, stat), fontsize=9)
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("density (per unit)", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, frameon=False)
    return fig


def series(seg: str, obs: pd.DataFrame, sim: pd.DataFrame, gof: pd.DataFrame) -> Figure:
    """Monthly conversion and refusal rates of one segment, observed against simulated."""
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    fig.suptitle(f"{seg}: monthly rates, observed vs simulated", fontweight="bold")
    for k, (stat, label) in enumerate(_SERIES):
        ax = fig.add_subplot(1, 3, k + 1)
        for df, colour, name in ((obs, OBSERVED, "observed"), (sim, SIMULATED, "simulated")):
            if stat in df.columns:
                s = df[stat].dropna()
                ax.plot(range(len(s)), s.to_numpy(), marker="o", ms=3, color=colour, label=name)
        months = list(obs.index)
        step = max(1, len(months) // 6)
        ax.set_xticks(range(0, len(months), step), months[::step], rotation=45, fontsize=7)
        ax.set_title(_ks_label(gof, stat), fontsize=9)
        ax.set_ylabel(label + " (per month)", fontsize=8)
        ax.set_xlabel("month", fontsize=8)
        ax.tick_params(labelsize=7)
        if k == 0:
            ax.legend(fontsize=7, frameon=False)
    return fig


def moments_curve(curve: pd.DataFrame, observed: float | None) -> Figure:
    """The simulated moment (the upgraders' geometric-mean wait, or the upgrades per IM
    app-month without ``group_ops``: the curve's second column, its ``label``) against
    ``reaction_days`` (the simulated moments)."""
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    fig.suptitle("simulated moments: upgrade_on_errors.reaction_days", fontweight="bold")
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(curve["reaction_days"], curve[curve.columns[1]], marker="o", color=SIMULATED)
    if observed is not None:
        ax.axhline(observed, color=OBSERVED, ls="--", label="observed")
        ax.legend(fontsize=8, frameon=False)
    ax.set_xscale("log")
    ax.set_xlabel("reaction_days (days, log scale)")
    ax.set_ylabel(curve.attrs.get("label", "upgrades per IM app-month"))
    return fig


def price_curve(curve: pd.DataFrame) -> Figure:
    """The simulated share of paying apps leaving or moving down after the price change
    against ``behaviour.wtp_scale`` (the simulated moments of the price response)."""
    return _moment_figure(
        curve,
        "wtp_scale",
        "moved_share",
        "wtp_scale (catalog currency per wtp unit, log scale)",
        "share leaving or moving down",
    )


def renewal_curve(curve: pd.DataFrame) -> Figure:
    """The simulated share of prepaid packages renewed against ``prepaid.renew_probability``."""
    return _moment_figure(
        curve, "renew_probability", "renewed_share", "renew_probability", "share renewed"
    )


def _moment_figure(curve: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str) -> Figure:
    fig = Figure(figsize=(6, 3.4), layout="constrained")
    fig.suptitle(f"simulated moments: {x}", fontweight="bold")
    ax = fig.add_subplot(1, 1, 1)
    ax.plot(curve[x], curve[y], marker="o", color=SIMULATED)
    if "observed" in curve.attrs:
        ax.axhline(curve.attrs["observed"], color=OBSERVED, ls="--", label="observed")
        ax.legend(fontsize=8, frameon=False)
    if "log scale" in xlabel:
        ax.set_xscale("log")
    ax.set_xticks(curve[x].tolist(), [f"{v:.3g}" for v in curve[x]])
    ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def _verdicts(gof: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for seg, g in gof.groupby("segment", sort=False):
        ranked = g.loc[g["verdict"] != "n/a"]
        order = ranked.assign(rank=ranked["verdict"].map(_RANK)).sort_values(["rank", "ks"])
        worst = order.iloc[-1] if len(order) else None
        rows.append(
            {
                "segment": seg,
                "verdict": "n/a" if worst is None else worst["verdict"],
                "worst statistic": "" if worst is None else worst["statistic"],
                "its KS": float("nan") if worst is None else float(worst["ks"]),
                "its p-value": float("nan") if worst is None else float(worst["p_value"]),
            }
        )
    return pd.DataFrame(rows)


def fit_html(cal: Calibration, title: str = "sim calibrate: fit") -> str:
    """The page (text)."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f'<p class="note">{html.escape(n)}</p>' for n in cal.notes]
    body.append(
        "<p>Verdict per figure: <b>good</b> when the KS distance is at most 0.1 or its p-value at "
        "least 0.05; <b>fair</b> up to 0.2; <b>poor</b> above. A segment's verdict is its worst "
        "figure's.</p>"
    )
    body.append("<h2>Verdicts</h2>" + html_table(_verdicts(cal.gof), limit=100))
    for seg in cal.segments:
        if seg not in cal.per_app:
            continue
        gof = cal.gof.loc[cal.gof["segment"] == seg]
        po, ps = cal.per_app[seg]
        so, ss = cal.series[seg]["observed"], cal.series[seg]["simulated"]
        body.append(f"<h2>Segment {html.escape(seg)} ({cal.segments[seg]} apps)</h2>")
        body.append(_img(distributions(seg, po, ps, gof), f"{seg} distributions"))
        body.append(_img(series(seg, so, ss, gof), f"{seg} monthly rates"))
        shown = gof.assign(statistic=gof["statistic"].map(GOF_STATISTICS))
        body.append(html_table(shown.drop(columns="segment"), limit=100))
    body.append("<h2>Fitted values (fit.csv)</h2>")
    body.append(html_table(cal.table(), limit=1000))
    curve = cal.series.get("_moments", {}).get("curve")
    if curve is not None:
        body.append(_img(moments_curve(curve, cal.observed_conversion), "simulated moments"))
    price = cal.series.get("_moments", {}).get("price")
    if price is not None:
        body.append(_img(price_curve(price), "simulated moments of the price response"))
    renew = cal.series.get("_moments", {}).get("renewal")
    if renew is not None:
        body.append(_img(renewal_curve(renew), "simulated moments of prepaid renewals"))
    return PAGE.format(title=html.escape(title), body="\n".join(body))
