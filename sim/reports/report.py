"""Reports: a run directory in, a self-contained HTML page out, with its figures as PNG, its
tables as CSV and as one workbook beside it.

Layout written by :func:`write_report` into ``out_dir`` (default ``RUN_DIR/report``)::

    report.html          opens from disk with no network: figures embedded as base64 PNG,
                         styles inline, a Content-Security-Policy that forbids any fetch
    report.xlsx          every table of the page, one sheet each (:mod:`sim.files.excel`)
    figures/<name>.png   each figure, as embedded
    tables/<name>.csv    each table of :func:`sim.results.metrics.all_metrics`

The run is read in streaming (:mod:`sim.reports.load`): the report of a run of any size fits
in memory. A replay folder (``sim replay --out DIR``) is reported too: its refusals by code
and by app, its bills and its timeline. Every string that comes from the run is escaped
(:func:`sim.reports.html.esc`). Files are written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.reports import charts, lifecharts
from sim.reports.batch import BatchEntry as BatchEntry  # re-exported for older callers
from sim.reports.batch import build_index as build_index  # re-exported
from sim.reports.batch import write_index as write_index  # re-exported
from sim.reports.html import PAGE as PAGE  # re-exported: other pages share its style
from sim.reports.html import (
    Page,
    ci_text,
    esc,
    fmt,
    html_table,
    provenance,
    scenario_name,
    wide,
)
from sim.reports.load import load_run as load_run  # re-exported
from sim.reports.load import run_from_result as run_from_result  # re-exported
from sim.results import metrics
from sim.results.prepare import PACK_COLUMNS

RATE_COLUMNS = {
    "error_code": "code",
    "reason": "reason",
    "of": "counted in",
    "errors": "refused",
    "attempts": "attempts",
    "share": "share",
    "per_1000_dau": "per day per 1,000 DAU",
}


def headline_table(head: pd.DataFrame) -> pd.DataFrame:
    """The headline summary as display strings: figure, mean, 95 % CI, unit, replications."""
    return pd.DataFrame(
        {
            "figure": head["label"],
            "mean": [fmt(m, u) for m, u in zip(head["mean"], head["unit"], strict=True)],
            "95% CI": [ci_text(r, r["unit"]) for r in head.to_dict("records")],
            "unit": head["unit"],
            "replications": head["n"],
        }
    )


def _as_run(run: metrics.Run) -> str:
    s = run.summary
    apps = s.get("tenants") or (run.timeline["app"].nunique() if len(run.timeline) else 0)
    months = f"{len(run.months)} months ({run.months[0]} to {run.months[-1]})" if run.months else ""
    warm = s.get("warmup_months")
    parts = [
        f"{apps:,} apps",
        months,
        f"after a warm-up of {warm} month(s), left out" if warm else "",
        f"{len(run.replications)} replication(s)",
        f"{s['mode']} mode" if s.get("mode") else "",
        f"seed {s['seed']}" if s.get("seed") is not None else "",
    ]
    return ", ".join(p for p in parts if p)


def is_replay(run: metrics.Run) -> bool:
    """Whether the run is a replayed operations log (``sim replay``), not a model run."""
    return run.summary.get("mode") == "replay"


# -- the sections --------------------------------------------------------------------------------


def _header(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame], cur: str) -> None:
    name = scenario_name(run)
    desc = run.summary.get("description") or ""
    page.add(
        f"<h1>Scenario {esc(name)}</h1>",
        f'<p class="note">{esc(desc)}</p>' if desc else "",
        f'<p class="note">As run: {esc(_as_run(run))}.</p>',
        '<nav><a href="#headline">Headline</a><a href="#revenue">Revenue</a>'
        '<a href="#errors">Errors</a><a href="#lifecycle">Lifecycle</a>'
        '<a href="#apps">Apps</a><a href="#provenance">Scenario and catalog</a></nav>',
        '<h2 id="headline">Headline figures</h2>',
        f'<p class="note">Mean over {len(run.replications)} replication(s); 95 % confidence '
        "interval of the mean (Student t over replications). Money in "
        f"{esc(cur)}.</p>",
    )
    page.tables["headline"] = m["headline"]
    page.tables["headline_by_replication"] = m["headline_by_replication"]
    page.add(
        html_table(headline_table(m["headline"]), right=["mean", "95% CI"], limit=200),
        '<p class="files"><a href="tables/headline.csv">headline.csv</a> '
        '<a href="tables/headline_by_replication.csv">headline_by_replication.csv</a> '
        '<a href="report.xlsx">report.xlsx</a> (every table, one sheet each)</p>',
    )


MRR_COLUMNS = {
    "month": "month",
    "revenue": "billed [{cur}]",
    "mrr": "MRR [{cur}]",
    "overage": "overage [{cur}]",
    "live_apps": "live apps",
    "paying_apps": "paying apps",
    "arpu": "ARPU [{cur}/app]",
    "arppu": "per paying app [{cur}]",
}


def _revenue(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame], cur: str) -> None:
    page.add('<h2 id="revenue">Revenue</h2>')
    rev = m["revenue_by_month_edition_item"]
    page.figure(
        "revenue",
        charts.revenue_over_time(rev, cur, run.months),
        "Billed amount per month of service (prepaid: month of purchase), mean per "
        "replication; a pack line counts under the edition it was bought with.",
    )
    page.table(
        "revenue_by_month_edition_item",
        rev,
        note=f"[{cur}] per edition; by item too:",
        show=(w := wide(rev, "month", "edition", "amount")),
        money=w.columns[1:],
    )
    page.figure(
        "mrr_arpu",
        charts.mrr_arpu(m["mrr_arpu_by_month"], cur, m["mrr_arpu_by_replication"]),
        "MRR: postpaid lines plus prepaid spread over the months bought. ARPU: (MRR + "
        "overage) per app alive in the month. Bands: 95 % interval over replications.",
    )
    page.table(
        "mrr_arpu_by_month",
        m["mrr_arpu_by_month"],
        {k: v.format(cur=cur) for k, v in MRR_COLUMNS.items()},
        money=["revenue", "mrr", "overage", "arpu", "arppu"],
    )
    page.tables["mrr_arpu_by_replication"] = m["mrr_arpu_by_replication"]
    page.add("<h3>Revenue bridge</h3>")
    page.figure(
        "mrr_bridge",
        lifecharts.mrr_bridge(m["mrr_bridge"], cur),
        "How MRR moved from the first month to the last: new paying apps, expansion and "
        "contraction of apps paying in both months, churn of apps that stopped paying.",
    )
    bridge = m["mrr_bridge"]
    page.table("mrr_bridge", bridge, money=[c for c in bridge.columns if c != "month"])
    page.add("<h3>Cohorts</h3>")
    page.figure(
        "cohorts",
        lifecharts.cohorts(m["cohorts"]),
        "Apps by the month of their first day: share paying by months since start, per "
        "archetype; revenue retention (MRR as a share of the cohort's first paying month).",
    )
    page.table("cohorts", m["cohorts"], limit=0, note="per cohort, archetype and month:")
    page.add("<h3>Revenue by archetype</h3>")
    page.table(
        "revenue_by_archetype",
        m["revenue_by_archetype"],
        {"archetype": "archetype", "amount": f"amount [{cur}]"},
        money=["amount"],
    )


def _errors(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame]) -> None:
    page.add('<h2 id="errors">Error codes</h2>')
    page.figure(
        "error_rates",
        charts.error_rates_over_time(
            m["error_rates_by_month"], m["error_rates_by_month_replication"], run.months
        ),
        "One panel per code and what it is counted in, each with its own scale: refusals per "
        "day per 1,000 DAU (group operations; refused DAU in user-days). Bands: 95 % "
        "interval over replications.",
    )
    page.add("<h3>By code</h3>")
    page.table("error_rates_by_code", m["error_rates_by_code"], RATE_COLUMNS)
    page.add("<h3>By operation</h3>")
    page.table("error_rates_by_op", m["error_rates_by_op"], {"op": "operation", **RATE_COLUMNS})
    page.add("<h3>By edition in force</h3>")
    page.table(
        "error_rates_by_edition",
        m["error_rates_by_edition"],
        {"edition": "edition", **RATE_COLUMNS},
    )
    page.table(
        "error_rates_by_month",
        m["error_rates_by_month"],
        {"month": "month", **RATE_COLUMNS},
        limit=0,
        note="per month:",
    )
    page.tables["error_rates_by_month_replication"] = m["error_rates_by_month_replication"]
    page.add("<h3>Console refusals by reason</h3>")
    page.table("console_refusals", m["console_refusals"])


def _changes(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame]) -> None:
    ch = m["changes_by_month"]
    page.add("<h3>Changes per month</h3>")
    page.figure(
        "changes_by_month",
        charts.changes_per_month(ch, run.months),
        "Every change of state or packs per month, by kind, mean per replication.",
    )
    page.table("changes_by_month", ch, show=wide(ch, "month", "kind", "changes"))
    page.add("<h3>Downgrades per month</h3>")
    down = m["downgrades_by_month"]
    change = down["from_state"].astype(str) + " → " + down["to_state"].astype(str)
    change = change.where(
        down["kind"] != "pack_down", down["from_state"].astype(str) + ": packs lowered"
    )
    page.table(
        "downgrades_by_month",
        down,
        note="apps, mean per replication;",
        show=wide(down.assign(change=change), "month", "change", "apps"),
    )
    page.add("<h3>Deactivations per month</h3>")
    deact = m["deactivations_by_month"]
    page.table(
        "deactivations_by_month",
        deact,
        note="apps by the state they left;",
        show=wide(deact, "month", "from_state", "apps"),
    )


def _lifecycle(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame]) -> None:
    page.add('<h2 id="lifecycle">Lifecycle</h2>')
    page.figure(
        "lifecycle_flow",
        charts.lifecycle_flow(m["lifecycle_flow"]),
        "Apps that changed state, per change (each app once per change; pack-only "
        "changes left out), mean per replication.",
    )
    page.table("lifecycle_flow", m["lifecycle_flow"])
    page.add("<h3>Initial states</h3>")
    page.table("initial_states", m["initial_states"])
    page.add("<h3>Upgrade funnel</h3>")
    page.figure(
        "upgrade_funnel",
        charts.days_to_upgrade(m["upgrade_funnel_apps"]),
        "From an app's first limit error (codes "
        f"{', '.join(str(c) for c in sorted(metrics.LIMIT_CODES))}) to its first "
        "upgrade or raised pack on a later day.",
    )
    page.table("upgrade_funnel", m["upgrade_funnel"])
    page.tables["upgrade_funnel_apps"] = m["upgrade_funnel_apps"]
    _changes(page, run, m)
    page.add("<h3>Grandfathered excess</h3>")
    page.figure(
        "grandfathered",
        charts.grandfathered(m["grandfathered_by_day"]),
        "Apps keeping more groups than their current edition allows (R12): existing "
        "groups are never removed by a change of edition.",
    )
    page.table("grandfathered_by_day", m["grandfathered_by_day"], limit=0, note="per day:")


def _apps(page: Page, run: metrics.Run, m: Mapping[str, pd.DataFrame], top: int) -> None:
    page.add('<h2 id="apps">Apps with the most errors</h2>')
    page.figure(
        "top_error_apps",
        charts.top_error_apps(m["top_error_apps"]),
        f"The {top} apps with the most refused group operations, by error code.",
    )
    page.table("top_error_apps", m["top_error_apps"])
    if is_replay(run):
        page.add("<h3>Bills</h3>")
        cols = ["app", "month", "item", "option", "kind", "quantity", "amount", "edition"]
        bills = run.bills[[c for c in cols if c in run.bills.columns]]
        page.table("bills", bills, limit=500, money=["amount"])
        page.add("<h3>Timeline</h3>")
        cols = ["app", "start", "end", "state", "edition", *PACK_COLUMNS]
        tl = run.timeline[[c for c in cols if c in run.timeline.columns]]
        page.table("timeline", tl, limit=500)


def build_report(run: metrics.Run, top: int = 10) -> Page:
    """The report of one run, as a :class:`~sim.reports.html.Page` (nothing written yet)."""
    m = metrics.all_metrics(run, top)
    cur = run.currency or "currency"
    page = Page(f"sim report: {scenario_name(run)}")
    _header(page, run, m, cur)
    _revenue(page, run, m, cur)
    _errors(page, run, m)
    _lifecycle(page, run, m)
    _apps(page, run, m, top)
    page.add('<h2 id="provenance">Scenario and catalog</h2>', provenance(run))
    return page


def workbook_summary(page: Page, run: metrics.Run) -> dict[str, Any]:
    """The summary sheet of ``report.xlsx``: what the report is of."""
    summary: dict[str, Any] = {"report": page.title, "scenario": scenario_name(run)}
    summary["months"] = f"{run.months[0]} – {run.months[-1]}" if run.months else "–"
    summary["currency"] = run.currency or "–"
    return summary


def write_report(
    run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, top: int = 10
) -> Path:
    """Write the report of a run directory (or a replay folder); returns the path of
    ``report.html`` (``report.xlsx`` beside it)."""
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    page = build_report(run, top)
    return page.write(out, workbook=workbook_summary(page, run))
