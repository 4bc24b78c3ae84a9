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
    "hobby": "#8c564b",
    "platform": "#17becf",
    "chat-platform": "#bcbd22",
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


def new_figure(title: str, nrows: int = 1, size: tuple[float, float] = SIZE) -> tuple[Figure, list]:
    fig = Figure(figsize=size, layout="constrained")
    axes = [fig.add_subplot(nrows, 1, i + 1) for i in range(nrows)]
    fig.suptitle(title, fontsize=13, fontweight="bold")
    return fig, axes


def legend(ax, handles=None, labels=None, **kw) -> None:  # noqa: ANN001
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


def thousands(ax, axis: str = "y") -> None:  # noqa: ANN001
    """Tick labels with thousands separators (1,000,000 rather than 1e6)."""
    from matplotlib.ticker import FuncFormatter

    fmt = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 10 else f"{v:g}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def no_data(ax, text: str = "no data in this run") -> None:  # noqa: ANN001
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#666666")
    ax.plot([], [], label="(none)")
    ax.set_xticks([])
    ax.set_yticks([])
    legend(ax)


def month_ticks(ax, months: Sequence[str], per_axis: int = 12) -> None:  # noqa: ANN001
    """At most ``per_axis`` month labels along x, rotated."""
    step = max(1, math.ceil(len(months) / per_axis))
    ax.set_xticks(range(0, len(months), step), [months[i] for i in range(0, len(months), step)])
    ax.tick_params(axis="x", labelrotation=45)


def order(values: Sequence[str], preferred: Mapping[str, str]) -> list[str]:
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
    fig, (ax,) = new_figure(title) if ax is None else (ax.figure, [ax])
    if df.empty:
        no_data(ax)
    else:
        wide = df.pivot_table(index=x, columns=stack, values=value, aggfunc="sum", fill_value=0)
        wide = wide.sort_index()[order(list(wide.columns), colours)]
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
        if len(bottom) and bottom.max() > 0:  # room above the tallest stack
            ax.set_ylim(0, float(bottom.max()) * 1.06)
        month_ticks(ax, [str(i) for i in wide.index])
        legend(ax, title=legend_title or None)
    thousands(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig


def revenue_over_time(rev: pd.DataFrame, currency: str, months: Sequence[str] = ()) -> Figure:
    """Revenue per month stacked by edition (top) and by bill item, i.e. package and packs
    (bottom). ``rev``: month, edition, item, amount (mean per replication); ``months``: every
    month of the run."""
    fig, (top, bottom) = new_figure("Revenue per month, by edition and by item", 2, (9.0, 7.0))
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


def integer_axis(ax, axis: str = "y") -> None:  # noqa: ANN001
    """Ticks at whole numbers only (counts of apps: never 0.5 apps)."""
    from matplotlib.ticker import MaxNLocator

    loc = MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10])
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_locator(loc)
    thousands(ax, axis)


def band(ax, x, per_rep: pd.DataFrame, key: str, value: str, colour_: str) -> None:  # noqa: ANN001
    """A 95 % interval band over replications of ``value`` per ``key`` (Student t), drawn
    only when there are two replications or more."""
    from sim.results.stats import summarise

    if per_rep.empty or per_rep["replication"].nunique() < 2:
        return
    s = summarise(per_rep, by=[key], value=value).set_index(key)
    keys = list(x)
    ax.fill_between(
        range(len(keys)),
        s["ci_low"].reindex(keys).to_numpy(float),
        s["ci_high"].reindex(keys).to_numpy(float),
        color=colour_,
        alpha=0.18,
        lw=0,
        label="95 % interval",
    )


def mrr_arpu(df: pd.DataFrame, currency: str, per_rep: pd.DataFrame | None = None) -> Figure:
    """Per month: MRR and usage overage (top); ARPU per live app and per paying app
    (bottom), each with its 95 % band over replications when ``per_rep`` (one row per
    replication and month) has two or more. ``df``: month, mrr, overage, arpu, arppu."""
    fig, (top, bottom) = new_figure("Monthly recurring revenue and ARPU", 2, (9.0, 6.4))
    cur = currency or "currency"
    reps = per_rep if per_rep is not None else pd.DataFrame(columns=["replication"])
    if df.empty:
        no_data(top)
        no_data(bottom)
    else:
        x = range(len(df))
        months = list(df["month"].astype(str))
        lines = (
            (top, "mrr", "o", "#2ca02c", "MRR"),
            (top, "overage", "s", "#d62728", "usage overage"),
            (bottom, "arpu", "^", "#1f77b4", "per live app (ARPU)"),
            (bottom, "arppu", "v", "#6a3d9a", "per paying app"),
        )
        for ax, col, marker, c, label in lines:
            ax.plot(x, df[col], marker=marker, ms=3, color=c, label=label)
            if col in reps.columns:
                band(ax, months, reps, "month", col, c)
        for ax in (top, bottom):
            legend(ax)
            month_ticks(ax, months)
    thousands(top)
    thousands(bottom)
    top.set_ylabel(f"amount [{cur} per month]")
    bottom.set_ylabel(f"revenue per app\n[{cur} per month]")
    for ax in (top, bottom):
        ax.set_xlabel("month")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
    return fig


def rate_series(rates: pd.DataFrame) -> pd.DataFrame:
    """``rates`` with ``series`` (code and reason) and ``counted`` (what it is counted in): a
    code counted both in operations and in user-days (60020) is two series."""
    r = rates.assign(code=rates["error_code"].astype(int).astype(str))
    r["series"] = r["code"] + " " + r["reason"].astype(str)
    r["counted"] = np.where(r["of"] == "user-days", "refused user-days", "refused operations")
    return r


def error_rates_over_time(
    rates: pd.DataFrame,
    per_rep: pd.DataFrame | None = None,
    months: Sequence[str] = (),
    columns: int = 3,
) -> Figure:
    """Small multiples: one panel per error code and what it is counted in, each with its own
    y-scale, its refusals per day per 1,000 DAU per month (as a % of attempts when the run has
    no DAU: a replay), mean and 95 % band over replications (``per_rep``). ``rates``: month,
    error_code, reason, of, errors, share, per_1000_dau; ``months``: the report's months (the
    warm-up left out)."""
    r = rate_series(rates) if len(rates) else rates
    keys = (
        r.groupby(["series", "counted", "code"])["errors"].sum().sort_values(ascending=False)
        if len(r)
        else pd.Series(dtype=float)
    )
    n = max(len(keys), 1)
    rows = math.ceil(n / columns)
    cols = min(columns, n)
    fig = Figure(figsize=(9.0, 0.6 + 2.3 * rows), layout="constrained")
    fig.suptitle("Error-code rates per month, one scale per code", fontsize=13, fontweight="bold")
    if not len(keys):
        ax = fig.add_subplot(1, 1, 1)
        no_data(ax)
        ax.set_xlabel("month")
        ax.set_ylabel("refusals")
        return fig
    use_dau = r["per_1000_dau"].notna().any()
    value, scale = ("per_1000_dau", 1.0) if use_dau else ("share", 100.0)
    months = list(months) or sorted(r["month"].astype(str).unique())
    reps = per_rep if per_rep is not None and len(per_rep) else None
    if reps is not None:
        reps = rate_series(reps)
    for i, (series, counted, code) in enumerate(keys.index):
        ax = fig.add_subplot(rows, cols, i + 1)
        c = colour(ERROR_COLOURS, code)
        s = r[(r["series"] == series) & (r["counted"] == counted)].set_index("month")
        y = s[value].reindex(months).fillna(0).to_numpy(float) * scale
        ax.plot(range(len(months)), y, color=c, marker="o", ms=2.5, label="mean")
        if reps is not None:
            sel = reps[(reps["series"] == series) & (reps["counted"] == counted)]
            band(ax, months, sel.assign(v=sel[value].fillna(0) * scale), "month", "v", c)
        ax.set_title(f"{series}\n({counted})", fontsize=8.5)
        month_ticks(ax, months, per_axis=4)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("month", fontsize=7)
        ax.set_ylabel("per day per 1,000 DAU" if use_dau else "% of attempts", fontsize=7)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        if reps is not None and reps["replication"].nunique() > 1:
            ax.legend(fontsize=6, frameon=False, loc="upper left")
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
    fig, (ax,) = new_figure(title, size=(9.0, height))
    if df.empty:
        no_data(ax)
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
        legend(ax, title=legend_title)
    ax.set_xlabel(xlabel)
    integer_axis(ax, "x")
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
    fig, (ax,) = new_figure("Apps with the most refused group operations", size=(9.0, height))
    codes = [c for c in top.columns if c.isdigit()]
    if top.empty or not codes:
        no_data(ax)
    else:
        d = top.iloc[::-1].reset_index(drop=True)
        left = np.zeros(len(d))
        for code in order(codes, ERROR_COLOURS):
            ax.barh(
                range(len(d)), d[code], left=left, color=colour(ERROR_COLOURS, code), label=code
            )
            left += d[code].to_numpy(float)
        labels = d["app"].astype(str) + " (" + d["archetype"].astype(str) + ")"
        ax.set_yticks(range(len(d)), labels)
        legend(ax, title="error code")
    ax.set_xlabel("refused group operations (mean per replication)")
    integer_axis(ax, "x")
    ax.set_ylabel("app (archetype)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def days_to_upgrade(funnel: pd.DataFrame) -> Figure:
    """Histogram of the days from an app's first limit error to its upgrade, by action."""
    fig, (ax,) = new_figure("Upgrade funnel: days from first limit error to upgrade")
    d = funnel.dropna(subset=["days_to_upgrade"]) if len(funnel) else funnel
    if d.empty:
        no_data(ax, "no app upgraded after a limit error")
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
        legend(ax, title="action")
    ax.set_xlabel("days from the first limit error to the upgrade")
    ax.set_ylabel("apps (all replications)")
    integer_axis(ax)
    ax.grid(axis="y", alpha=0.3)
    return fig


def grandfathered(by_day: pd.DataFrame) -> Figure:
    """Apps holding more groups than their current cap allows (R12), per day."""
    fig, (ax,) = new_figure("Grandfathered excess: apps above their current group caps")
    if by_day.empty:
        no_data(ax, "no app above a cap in this run")
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
        legend(ax, title="apps")
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel("day")
    ax.set_ylabel("apps (mean per replication)")
    integer_axis(ax)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
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
    fig, (ax,) = new_figure(title)
    if df.empty:
        no_data(ax)
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
        legend(ax, title="run")
    thousands(ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    return fig
