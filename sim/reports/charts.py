"""Charts: matplotlib figures drawn from the DataFrames of :mod:`sim.results.metrics`, never from model
objects. Each function returns a :class:`matplotlib.figure.Figure` (no pyplot, no global state);
:func:`png` turns one into PNG bytes with the Agg renderer.

Every chart has a title, labelled axes with their units and a legend. Colours are fixed per
edition, state, bill item, transition kind, archetype and error code (:data:`EDITION_COLOURS`,
...), so that a colour means the same thing in every report; a value not listed gets a colour
from a spare palette chosen by a stable hash of its name.
"""

from __future__ import annotations

import io
import math
import zlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.core.vocab import Code

EDITION_COLOURS = {
    "IM": "#9e9e9e",
    "Trial": "#c8a97e",
    "Pro": "#1f77b4",
    "Ultimate": "#6a3d9a",
    "Deactivated": "#212121",
    "unknown": "#d0d0d0",
}
STATE_COLOURS = {
    "IM": "#9e9e9e",
    "Trial": "#c8a97e",
    "Trial-prepaid": "#8c564b",
    "Trial-lapsed": "#e7969c",
    "Pro-postpaid": "#1f77b4",
    "Ultimate-postpaid": "#6a3d9a",
    "Deactivated": "#212121",
}
ITEM_COLOURS = {
    "edition": "#2ca02c",
    "live_unlimited": "#ff7f0e",
    "groups_per_user": "#17becf",
    "members_per_group": "#bcbd22",
    "dau_overage": "#d62728",
    "groups_overage": "#e377c2",
}
KIND_COLOURS = {
    "upgrade": "#2ca02c",
    "downgrade": "#ff7f0e",
    "deactivation": "#212121",
    "lapse": "#e7969c",
    "renewal": "#8c564b",
    "pack_up": "#17becf",
    "pack_down": "#c8a97e",
    "pack_change": "#bcbd22",
    "other": "#9e9e9e",
}
ARCHETYPE_COLOURS = {
    "social": "#e377c2",
    "enterprise": "#1f77b4",
    "live": "#ff7f0e",
    "community": "#2ca02c",
    "game": "#9467bd",
}
ERROR_COLOURS = {
    str(Code.USER_GROUP_LIMIT.value): "#1f77b4",
    str(Code.GROUP_FULL.value): "#d62728",
    str(Code.LIVE_GROUP_LIMIT.value): "#ff7f0e",
    str(Code.GROUP_LIMIT.value): "#2ca02c",
    str(Code.TOO_MANY_MEMBERS.value): "#9467bd",
    str(Code.ACCOUNT_LIMIT.value): "#8c564b",
    str(Code.DAU_LIMIT.value): "#e377c2",
    str(Code.COMMUNITY_UNSUPPORTED.value): "#17becf",
    str(Code.PREPAID_EXPIRED.value): "#bcbd22",
    str(Code.DEACTIVATED.value): "#7f7f7f",
    str(Code.UNKNOWN_APP.value): "#393b79",
    str(Code.GROUP_EXISTS.value): "#637939",
    str(Code.GROUP_NOT_FOUND.value): "#8c6d31",
    str(Code.ALREADY_MEMBER.value): "#843c39",
    str(Code.NOT_MEMBER.value): "#7b4173",
    str(Code.OWNER_CANNOT_LEAVE.value): "#5254a3",
}
ITEM_LABELS = {
    "edition": "edition package",
    "live_unlimited": "unlimited live groups",
    "groups_per_user": "groups-per-user pack",
    "members_per_group": "members-per-group pack",
    "dau_overage": "DAU overage",
    "groups_overage": "groups overage",
}
"""Legend labels of bill items (the colour stays keyed by the item)."""
RUN_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
"""Runs in a comparison, in the order given (the first is the baseline)."""

_SPARE = (
    "#aec7e8",
    "#ffbb78",
    "#98df8a",
    "#ff9896",
    "#c5b0d5",
    "#c49c94",
    "#f7b6d2",
    "#dbdb8d",
    "#9edae5",
    "#6b6ecf",
    "#b5cf6b",
    "#e7ba52",
    "#d6616b",
    "#ce6dbd",
)

SIZE = (9.0, 4.2)
"""Default figure size, inches (900 × 420 pixels at :data:`DPI`)."""
DPI = 100


def colour(mapping: Mapping[str, str], key: object) -> str:
    """The colour of ``key`` in ``mapping``, else a spare colour fixed by its name."""
    text = str(key)
    return mapping.get(text) or _SPARE[zlib.crc32(text.encode("utf-8")) % len(_SPARE)]


def png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes (Agg; no metadata, so identical figures give identical bytes)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _figure(title: str, nrows: int = 1, size: tuple[float, float] = SIZE) -> tuple[Figure, list]:
    fig = Figure(figsize=size, layout="constrained")
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig, axes


def _legend(ax, handles=None, labels=None, **kw) -> None:  # noqa: ANN001
    """A legend outside the axes, on the right (never over the data)."""
    args = (handles, labels) if handles is not None else ()
    ax.legend(
        *args,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        fontsize=8,
        title_fontsize=9,
        **kw,
    )


def _thousands(ax, axis: str = "y") -> None:  # noqa: ANN001
    """Tick labels with thousands separators (1,000,000 rather than 1e6)."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def _no_data(ax, text: str = "no data in this run") -> None:  # noqa: ANN001
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.plot([], [], label="(none)")
    ax.set_xticks([])
    ax.set_yticks([])
    _legend(ax)


def _month_ticks(ax, months: Sequence[str]) -> None:  # noqa: ANN001
    step = max(1, math.ceil(len(months) / 12))
    ax.set_xticks(range(0, len(months), step), [months[i] for i in range(0, len(months), step)])
    ax.tick_params(axis="x", labelrotation=45)


def _order(values: Sequence[str], preferred: Mapping[str, str]) -> list[str]:
    known = [k for k in preferred if k in set(values)]
    return known + sorted({str(v) for v in values} - set(known))


def stacked_bars(
    df: pd.DataFrame,
    x: str,
    stack: str,
    value: str,
    *,
    title: str,
    ylabel: str,
    xlabel: str,
    colours: Mapping[str, str],
    ax=None,
    legend_title: str = "",
    labels: Mapping[str, str] | None = None,
    index: Sequence[str] = (),
) -> Figure:
    """Bars of ``value`` per ``x`` (months, in order; ``index``: every x to show, 0 where
    missing), stacked by ``stack`` (legend labels from ``labels``, default the values)."""
    fig, (ax,) = _figure(title) if ax is None else (ax.figure, [ax])
    if df.empty:
        _no_data(ax)
    else:
        wide = df.pivot_table(index=x, columns=stack, values=value, aggfunc="sum", fill_value=0)
        wide = wide.sort_index()[_order(list(wide.columns), colours)]
        if len(index):
            wide = wide.reindex(list(index), fill_value=0)
        bottom = np.zeros(len(wide))
        for col in wide.columns:
            ax.bar(
                range(len(wide)),
                wide[col].to_numpy(),
                bottom=bottom,
                width=0.8,
                label=(labels or {}).get(str(col), str(col)),
                color=colour(colours, col),
            )
            bottom += wide[col].to_numpy()
        _month_ticks(ax, [str(i) for i in wide.index])
        _legend(ax, title=legend_title or None)
    _thousands(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig


def revenue_over_time(rev: pd.DataFrame, currency: str, months: Sequence[str] = ()) -> Figure:
    """Revenue per month stacked by edition (top) and by bill item, i.e. package and packs
    (bottom). ``rev``: month, edition, item, amount (mean per replication); ``months``: every
    month of the run."""
    fig, (top, bottom) = _figure("Revenue per month, by edition and by item", 2, (9.0, 7.0))
    unit = f"revenue [{currency or 'currency'} per month]"
    stacked_bars(
        rev,
        "month",
        "edition",
        "amount",
        title="",
        ylabel=unit,
        xlabel="month of service",
        colours=EDITION_COLOURS,
        ax=top,
        legend_title="edition",
        index=months,
    )
    stacked_bars(
        rev,
        "month",
        "item",
        "amount",
        title="",
        ylabel=unit,
        xlabel="month of service",
        colours=ITEM_COLOURS,
        ax=bottom,
        legend_title="bill item",
        labels=ITEM_LABELS,
        index=months,
    )
    return fig


def changes_per_month(changes: pd.DataFrame, months: Sequence[str] = ()) -> Figure:
    """Changes of state or packs per month, stacked by kind (upgrade, downgrade, pack up or
    down, lapse, deactivation). ``changes``: month, kind, changes (mean per replication)."""
    return stacked_bars(
        changes,
        "month",
        "kind",
        "changes",
        title="Lifecycle changes per month",
        ylabel="changes (mean per replication)",
        xlabel="month",
        colours=KIND_COLOURS,
        legend_title="kind of change",
        index=months,
    )


def mrr_arpu(df: pd.DataFrame, currency: str) -> Figure:
    """Per month: MRR and usage overage (top); ARPU per live app and per paying app (bottom).
    ``df``: month, mrr, overage, arpu, arppu."""
    fig, (top, bottom) = _figure("Monthly recurring revenue and ARPU", 2, (9.0, 6.4))
    cur = currency or "currency"
    if df.empty:
        _no_data(top)
        _no_data(bottom)
    else:
        x = range(len(df))
        top.plot(x, df["mrr"], marker="o", color="#2ca02c", label="MRR")
        top.plot(x, df["overage"], marker="s", color="#d62728", label="usage overage")
        bottom.plot(x, df["arpu"], marker="^", color="#1f77b4", label="per live app (ARPU)")
        bottom.plot(x, df["arppu"], marker="v", color="#6a3d9a", label="per paying app")
        for ax in (top, bottom):
            _legend(ax)
            _month_ticks(ax, list(df["month"].astype(str)))
    _thousands(top)
    _thousands(bottom)
    top.set_ylabel(f"amount [{cur} per month]")
    bottom.set_ylabel(f"revenue per app\n[{cur} per month]")
    for ax in (top, bottom):
        ax.set_xlabel("month")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    return fig


def error_rates_over_time(rates: pd.DataFrame, top: int = 8) -> Figure:
    """Per month, each error code's refusals per day per 1,000 DAU (top) and as a % of the
    attempts (bottom); the ``top`` codes by refusals. ``rates``: month, error_code, reason,
    of, errors, share, per_1000_dau."""
    fig, (a, b) = _figure("Error-code rates per month", 2, (9.0, 7.0))
    if rates.empty:
        _no_data(a)
        _no_data(b)
    else:
        r = rates.assign(code=rates["error_code"].astype(int).astype(str))
        r["series"] = r["code"] + " " + r["reason"].astype(str)
        r.loc[r["of"] == "user-days", "series"] += " (user-days)"
        keep = r.groupby("series")["errors"].sum().nlargest(top).index
        months = sorted(r["month"].astype(str).unique())
        for series in keep:
            s = r[r["series"] == series].set_index("month").reindex(months)
            kw = {
                "color": colour(ERROR_COLOURS, s["code"].dropna().iloc[0]),
                "marker": "o",
                "ms": 3,
                "label": series,
                "ls": "--" if series.endswith("(user-days)") else "-",
            }
            a.plot(range(len(months)), s["per_1000_dau"].fillna(0), **kw)
            b.plot(range(len(months)), 100 * s["share"].fillna(0), **kw)
        for ax in (a, b):
            _month_ticks(ax, months)
            _legend(ax, title="error code")
    a.set_ylabel("refusals per day\nper 1,000 DAU")
    b.set_ylabel("refused [% of attempts]")
    for ax in (a, b):
        ax.set_xlabel("month")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    return fig


def hbars(
    df: pd.DataFrame,
    label: str,
    value: str,
    colour_by: str,
    colours: Mapping[str, str],
    *,
    title: str,
    xlabel: str,
    ylabel: str,
    legend_title: str,
) -> Figure:
    """Horizontal bars of ``value`` per ``label`` (largest on top), coloured by ``colour_by``."""
    height = max(2.6, 0.9 + 0.32 * len(df))
    fig, (ax,) = _figure(title, size=(9.0, height))
    if df.empty:
        _no_data(ax)
    else:
        d = df.sort_values(value, kind="stable").reset_index(drop=True)
        seen: set[str] = set()
        for i, row in d.iterrows():
            key = str(row[colour_by])
            ax.barh(
                i, row[value], color=colour(colours, key), label=key if key not in seen else None
            )
            seen.add(key)
        ax.set_yticks(range(len(d)), d[label].astype(str))
        _legend(ax, title=legend_title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", alpha=0.3)
    return fig


def lifecycle_flow(flow: pd.DataFrame) -> Figure:
    """Apps per change of state (``from_state → to_state``), coloured by the kind of change."""
    d = flow.assign(change=flow["from_state"].astype(str) + " → " + flow["to_state"].astype(str))
    return hbars(
        d,
        "change",
        "apps",
        "kind",
        KIND_COLOURS,
        title="Lifecycle flow: apps per change of state",
        xlabel="apps (mean per replication)",
        ylabel="from → to",
        legend_title="kind of change",
    )


def top_error_apps(top: pd.DataFrame) -> Figure:
    """The apps with the most refused group operations, stacked by error code."""
    height = max(2.6, 0.9 + 0.32 * len(top))
    fig, (ax,) = _figure("Apps with the most refused group operations", size=(9.0, height))
    codes = [c for c in top.columns if c.isdigit()]
    if top.empty or not codes:
        _no_data(ax)
    else:
        d = top.iloc[::-1].reset_index(drop=True)
        left = np.zeros(len(d))
        for code in _order(codes, ERROR_COLOURS):
            ax.barh(
                range(len(d)), d[code], left=left, color=colour(ERROR_COLOURS, code), label=code
            )
            left += d[code].to_numpy(float)
        labels = d["app"].astype(str) + " (" + d["archetype"].astype(str) + ")"
        ax.set_yticks(range(len(d)), labels)
        _legend(ax, title="error code")
    ax.set_xlabel("refused group operations (mean per replication)")
    ax.set_ylabel("app (archetype)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def days_to_upgrade(funnel: pd.DataFrame) -> Figure:
    """Histogram of the days from an app's first limit error to its upgrade, by action."""
    fig, (ax,) = _figure("Upgrade funnel: days from first limit error to upgrade")
    d = funnel.dropna(subset=["days_to_upgrade"]) if len(funnel) else funnel
    if d.empty:
        _no_data(ax, "no app upgraded after a limit error")
    else:
        top = max(float(d["days_to_upgrade"].max()), 1.0)
        bins = np.linspace(0, top + 1, min(30, int(top) + 2))
        groups = [(k, g["days_to_upgrade"].to_numpy(float)) for k, g in d.groupby("action")]
        ax.hist(
            [g for _, g in groups],
            bins=bins,
            stacked=True,
            label=[k for k, _ in groups],
            color=[colour(KIND_COLOURS, k) for k, _ in groups],
        )
        _legend(ax, title="action")
    ax.set_xlabel("days from the first limit error to the upgrade")
    ax.set_ylabel("apps (all replications)")
    ax.grid(axis="y", alpha=0.3)
    return fig


def grandfathered(by_day: pd.DataFrame) -> Figure:
    """Apps holding more groups than their current cap allows (R12), per day."""
    fig, (ax,) = _figure("Grandfathered excess: apps above their current group caps")
    if by_day.empty:
        _no_data(ax, "no app above a cap in this run")
    else:
        ax.plot(
            by_day["date"],
            by_day["apps_over_group_cap"],
            color="#2ca02c",
            label="above the non-live group cap",
        )
        ax.plot(
            by_day["date"],
            by_day["apps_over_live_cap"],
            color="#ff7f0e",
            label="above the live-group cap",
        )
        _legend(ax, title="apps")
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("day")
    ax.set_ylabel("apps (mean per replication)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    return fig


# -- comparisons ----------------------------------------------------------------------------------


def delta_forest(deltas: pd.DataFrame, title: str, ylabel: str = "metric") -> Figure:
    """Each metric's change against the baseline, in % of the baseline, with its paired 95 %
    interval; one colour per compared run. ``deltas``: label, run, pct, pct_low, pct_high."""
    d = deltas.dropna(subset=["pct"]) if len(deltas) else deltas
    labels = list(dict.fromkeys(d["label"])) if len(d) else []
    runs = list(dict.fromkeys(d["run"])) if len(d) else []
    fig, (ax,) = _figure(title, size=(9.0, max(2.6, 1.0 + 0.34 * len(labels) * max(len(runs), 1))))
    if d.empty:
        _no_data(ax, "no metric with a non-zero baseline")
    else:
        step = 0.8 / max(len(runs), 1)
        for k, run in enumerate(runs):
            s = d[d["run"] == run].set_index("label").reindex(labels)
            y = np.arange(len(labels))[::-1] - (k - (len(runs) - 1) / 2) * step  # first on top
            err = np.vstack([s["pct"] - s["pct_low"], s["pct_high"] - s["pct"]])
            err = np.nan_to_num(err, nan=0.0)
            ax.errorbar(
                s["pct"],
                y,
                xerr=err,
                fmt="o",
                capsize=3,
                label=str(run),
                color=RUN_COLOURS[(k + 1) % len(RUN_COLOURS)],
            )
        ax.axvline(0, color="#444444", lw=1)
        ax.set_yticks(np.arange(len(labels))[::-1], labels)
        _legend(ax, title="run against the baseline")
    ax.set_xlabel("change [% of the baseline mean], 95 % paired interval")
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", alpha=0.3)
    return fig


def grouped_bars(
    df: pd.DataFrame,
    group: str,
    run: str,
    value: str,
    *,
    title: str,
    ylabel: str,
    xlabel: str,
    runs: Sequence[str],
) -> Figure:
    """Bars of ``value`` per ``group``, one bar per run side by side (run colours fixed by
    position: the baseline first)."""
    fig, (ax,) = _figure(title)
    if df.empty:
        _no_data(ax)
    else:
        groups = list(dict.fromkeys(df[group].astype(str)))
        width = 0.8 / max(len(runs), 1)
        for k, name in enumerate(runs):
            s = df[df[run] == name].assign(g=lambda x: x[group].astype(str)).set_index("g")
            vals = s[value].reindex(groups).fillna(0).to_numpy(float)
            x = np.arange(len(groups)) + (k - (len(runs) - 1) / 2) * width
            ax.bar(x, vals, width=width, label=str(name), color=RUN_COLOURS[k % len(RUN_COLOURS)])
        ax.set_xticks(range(len(groups)), groups)
        ax.tick_params(axis="x", labelrotation=30)
        _legend(ax, title="run")
    _thousands(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig
