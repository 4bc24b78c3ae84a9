"""``backtest.html``: one self-contained page on what catalog B would have changed against A.

From the top: what changed between the catalogs (:mod:`sim.core.catalog_diff`), total revenue
under A and B by month and by bill item, the distribution of per-app changes, the top movers
both ways, and the refusals that appear or disappear under B by error code. Charts are PNGs
inlined as ``data:`` URIs, so the file can be mailed on its own; every cell is escaped.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.reports import charts
from sim.reports.report import PAGE, html_table
from sim.studies.backtest import Backtest

TOP = 10
"""Rows in each top-movers table."""


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _img(fig: Figure, alt: str) -> str:
    data = base64.b64encode(charts.png(fig)).decode("ascii")
    width = int(fig.get_figwidth() * charts.DPI)
    return (
        f'<figure><img src="data:image/png;base64,{data}" alt="{_e(alt)}" width="{width}"></figure>'
    )


def _floats(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Decimal money columns as floats, for display only (the CSVs keep them exact)."""
    return df.assign(**{c: df[c].astype(float) for c in columns})


def revenue_by(bt: Backtest, key: str) -> pd.DataFrame:
    """Total revenue under A and B (and B - A) per ``key`` (``month`` or ``item``), in the
    catalogs' currency."""
    d = _floats(bt.bill_diff, ("amount_a", "amount_b", "delta"))
    out = d.groupby(key, sort=True)[["amount_a", "amount_b", "delta"]].sum().reset_index()
    return out.rename(columns={"amount_a": "revenue_a", "amount_b": "revenue_b"})


def refusal_changes(outcome_diff: pd.DataFrame) -> pd.DataFrame:
    """Refusals per (error_code, reason) that B adds (``appear``) or removes (``disappear``)."""
    d = outcome_diff
    appear = d.loc[~d["reason_b"].eq(""), ["error_code_b", "reason_b"]]
    appear = appear.set_axis(["error_code", "reason"], axis=1).value_counts().rename("appear")
    gone = d.loc[~d["reason_a"].eq(""), ["error_code_a", "reason_a"]]
    gone = gone.set_axis(["error_code", "reason"], axis=1).value_counts().rename("disappear")
    both = pd.concat([appear, gone], axis=1).fillna(0).astype(np.int64)
    both["net"] = both["appear"] - both["disappear"]
    return both.reset_index().sort_values(["error_code", "reason"], kind="stable")


def _bars(df: pd.DataFrame, key: str, bt: Backtest, title: str, xlabel: str) -> Figure:
    long = pd.concat(
        [
            pd.DataFrame({key: df[key], "run": f"A {bt.a.catalog.name}", "v": df["revenue_a"]}),
            pd.DataFrame({key: df[key], "run": f"B {bt.b.catalog.name}", "v": df["revenue_b"]}),
        ]
    )
    runs = [f"A {bt.a.catalog.name}", f"B {bt.b.catalog.name}"]
    return charts.grouped_bars(
        long,
        key,
        "run",
        "v",
        title=title,
        ylabel=f"revenue [{bt.currency}]",
        xlabel=xlabel,
        runs=runs,
    )


def distribution(impact: pd.DataFrame, currency: str) -> Figure:
    """Histogram of the per-app change of the bill (apps whose bill changed)."""
    fig = Figure(figsize=charts.SIZE, dpi=charts.DPI, layout="constrained")
    ax = fig.subplots()
    fig.suptitle("Per-app change of the bill, B - A (apps whose bill changed)")
    delta = impact["delta"].astype(float)
    moved = delta[delta != 0]
    if moved.empty:
        ax.text(0.5, 0.5, "no app's bill changed", ha="center", va="center", transform=ax.transAxes)
    else:
        n_bins = min(40, max(10, int(np.sqrt(len(moved)))))
        # bins from the smallest to the largest change, 0 included, so that equal changes
        # still draw a visible bar
        edges = np.histogram_bin_edges(np.r_[moved.to_numpy(), 0.0], bins=n_bins).tolist()
        ax.hist(moved[moved > 0], bins=edges, color="#c44e52", label="pays more")
        ax.hist(moved[moved < 0], bins=edges, color="#55a868", label="pays less")
        ax.axvline(0, color="#333", lw=0.8)
        ax.legend(title="apps")
    ax.set_xlabel(f"change over the log's months [{currency}]")
    ax.set_ylabel("apps")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    return fig


def _movers(impact: pd.DataFrame, up: bool) -> pd.DataFrame:
    d = _floats(impact, ("total_a", "total_b", "delta"))
    d = d[d["delta"] > 0] if up else d[d["delta"] < 0]
    return d.sort_values(["delta", "app"], ascending=[not up, True], kind="stable").head(TOP)


def _apps(n: int) -> str:
    return f"{n:,} app pays" if n == 1 else f"{n:,} apps pay"


def _summary(bt: Backtest) -> str:
    imp = _floats(bt.app_impact, ("total_a", "total_b", "delta"))
    ta, tb = imp["total_a"].sum(), imp["total_b"].sum()
    pct = f" ({100 * (tb - ta) / ta:+.1f} %)" if ta else ""
    up, down = int((imp["delta"] > 0).sum()), int((imp["delta"] < 0).sum())
    return (
        f"<p>{bt.operations:,} operations of {bt.apps:,} apps in <code>{_e(bt.source)}</code>, "
        f"replayed under <b>A</b> <code>{_e(bt.a.catalog.name)}</code> and <b>B</b> "
        f"<code>{_e(bt.b.catalog.name)}</code>. Total billed: A {ta:,.2f} {_e(bt.currency)}, "
        f"B {tb:,.2f} {_e(bt.currency)}, change {tb - ta:+,.2f}{pct}. "
        f"{_apps(up)} more, {_apps(down)} less, {int(imp['at_risk'].sum()):,} at risk "
        f"(a rise above {100 * bt.risk_threshold:g} %). {len(bt.outcome_diff):,} operations "
        "have another outcome under B.</p>"
    )


def _changes(bt: Backtest) -> str:
    if not bt.changes:
        return '<p class="note">The two catalogs bill and limit identically.</p>'
    items = "".join(f"<li>{_e(c)}</li>" for c in bt.changes)
    return f'<ul id="catalog-diff">{items}</ul>'


def build_html(bt: Backtest) -> str:
    """The whole page, as text."""
    money = {c: "money" for c in ("revenue_a", "revenue_b", "delta", "total_a", "total_b")}
    by_month, by_item = revenue_by(bt, "month"), revenue_by(bt, "item")
    movers_cols = {"app": "app", "total_a": "A", "total_b": "B", "delta": "B - A", "pct": "%"}
    refusals = refusal_changes(bt.outcome_diff)
    body = [
        f"<h1>Backtest: {_e(bt.a.catalog.name)} → {_e(bt.b.catalog.name)}</h1>",
        _summary(bt),
        "<h2>What changed in the catalog</h2>",
        _changes(bt),
        "<h2>Revenue by month</h2>",
        _img(_bars(by_month, "month", bt, "Revenue by month, A vs B", "month"), "revenue by month"),
        html_table(by_month, units=money, limit=60),
        "<h2>Revenue by item</h2>",
        _img(_bars(by_item, "item", bt, "Revenue by bill item, A vs B", "item"), "revenue by item"),
        html_table(by_item, units=money),
        "<h2>Per-app changes</h2>",
        _img(distribution(bt.app_impact, bt.currency), "per-app change"),
        f"<h3>Top {TOP} increases</h3>",
        html_table(_movers(bt.app_impact, up=True), movers_cols, units=money),
        f"<h3>Top {TOP} decreases</h3>",
        html_table(_movers(bt.app_impact, up=False), movers_cols, units=money),
        "<h2>Refusals that appear or disappear under B</h2>",
        '<p class="note">Per error code and reason: operations refused under B but not A '
        "(or with another reason) and the reverse.</p>",
        html_table(refusals, units={}, limit=60),
        '<p class="files">Tables: bill_diff.csv, app_impact.csv, outcome_diff.csv, '
        "backtest.xlsx.</p>",
    ]
    title = f"Backtest {bt.a.catalog.name} → {bt.b.catalog.name}"
    return PAGE.format(title=_e(title), body="\n".join(body))
