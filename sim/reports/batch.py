"""The index page of ``sim batch``: a row per scenario linking its report; with a baseline,
each scenario's paired changes against it (95 % intervals) and what changed in its catalog.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.reports.html import Page, esc, fmt
from sim.results.stats import paired_deltas


@dataclass(frozen=True)
class BatchEntry:
    """One scenario of a batch: its name, where its report is (relative to the index), its
    headline summary (None if it failed) and the error that stopped it; ``per_rep``: its
    headline per replication, ``population``: what identifies its population
    (:func:`sim.reports.compare.population_key`), ``catalog``: its catalog, ``notebook``: its
    rendered notebook (relative to the index), for the comparison with a baseline."""

    name: str
    source: str
    report: str | None
    headline: pd.DataFrame | None
    error: str = ""
    per_rep: pd.DataFrame | None = None
    population: Mapping[str, Any] = field(default_factory=dict)
    catalog: Any = None
    notebook: str | None = None


INDEX_METRICS = (
    "revenue_total",
    "mrr_last",
    "paying_apps_last",
    "error_share",
    "errors_per_1000_dau",
    "upgrades",
    "deactivations",
)


def baseline_deltas(base: BatchEntry, entry: BatchEntry) -> pd.DataFrame | str:
    """The paired changes of ``entry``'s headline figures against ``base`` (one row per
    metric of :data:`INDEX_METRICS`), or why they cannot be taken."""
    if base.per_rep is None or entry.per_rep is None:
        return "no figures (failed)"
    diff = [
        k
        for k in sorted(set(base.population) | set(entry.population))
        if base.population.get(k) != entry.population.get(k)
    ]
    if diff:
        return f"not the baseline's population (differs in {', '.join(diff)}): no paired change"
    a = base.per_rep[base.per_rep["metric"].isin(INDEX_METRICS)]
    b = entry.per_rep[entry.per_rep["metric"].isin(INDEX_METRICS)]
    return paired_deltas(a, b, by=["metric", "label", "unit"])


def change_cell(row: Mapping[str, Any]) -> str:
    """A change and its interval as text: ``+1,234.00 [+100.00, +2,000.00] (+2.1 %)``."""
    unit = str(row["unit"])
    sign = "+" if row["delta"] > 0 else ""
    text = f"{sign}{fmt(row['delta'], unit)}"
    if row["n"] >= 2 and pd.notna(row["ci_low"]):
        text += f" [{fmt(row['ci_low'], unit)}, {fmt(row['ci_high'], unit)}]"
    if pd.notna(row["pct"]) and unit != "%":
        text += f" ({row['pct']:+.1f} %)"
    return text


def catalog_lines(base: BatchEntry, entry: BatchEntry) -> list[str]:
    """What changed in ``entry``'s catalog against the baseline's, one line per change."""
    from sim.core.catalog_diff import diff_catalogs, format_diff

    if base.catalog is None or entry.catalog is None:
        return ["(catalog not known)"]
    return format_diff(diff_catalogs(base.catalog, entry.catalog)) or ["(the same catalog)"]


def _levels(page: Page, entries: Sequence[BatchEntry]) -> None:
    labels: dict[str, str] = {}
    units: dict[str, set[str]] = {}
    rows = []
    for e in entries:
        row: dict[str, Any] = {}
        if e.headline is not None:
            h = e.headline.set_index("metric")
            for mid in INDEX_METRICS:
                if mid in h.index:
                    unit = str(h.at[mid, "unit"])
                    labels[mid] = str(h.at[mid, "label"])
                    units.setdefault(mid, set()).add(unit)
                    row[mid] = (fmt(h.at[mid, "mean"], unit), unit)
        rows.append((e, row))
    # a figure in one unit everywhere names it in its header; in several (runs billed in
    # different currencies), each cell names its own
    mixed = {mid for mid, u in units.items() if len(u) > 1}
    for mid in labels:
        if mid not in mixed:
            labels[mid] = f"{labels[mid]} [{next(iter(units[mid]))}]"
    for _, row in rows:
        for mid, (text, unit) in row.items():
            row[mid] = f"{text} {unit}" if mid in mixed else text
    head = ["scenario", "status", *labels.values(), "source"]
    out = ["<table><thead><tr>", *(f"<th>{esc(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for e, row in rows:
        link = f'<a href="{esc(e.report)}">{esc(e.name)}</a>' if e.report else esc(e.name)
        if e.notebook:
            link += f' (<a href="{esc(e.notebook)}">notebook</a>)'
        status = (
            '<span class="ok">ok</span>'
            if not e.error
            else f'<a class="bad" href="#failed-{esc(e.name)}">failed</a>'
        )
        figures = "".join(f'<td class="n">{esc(row.get(mid, "–"))}</td>' for mid in labels)
        out.append(f"<tr><td>{link}</td><td>{status}</td>{figures}<td>{esc(e.source)}</td></tr>")
    out.append("</tbody></table>")
    page.add("".join(out))


def _against(page: Page, entries: Sequence[BatchEntry], baseline: str) -> pd.DataFrame:
    base = next((e for e in entries if e.name == baseline), None)
    page.add(f"<h2>Against the baseline {esc(baseline)}</h2>")
    if base is None or base.per_rep is None:
        page.add(f'<p class="bad">the baseline {esc(baseline)!s} has no figures (failed).</p>')
        return pd.DataFrame()
    page.add(
        '<p class="note">Each scenario minus the baseline, replication by replication (common '
        "random numbers), mean change and its 95 % paired interval, and in % of the "
        "baseline.</p>"
    )
    frames = []
    for e in entries:
        if e is base:
            continue
        d = baseline_deltas(base, e)
        page.add(f"<h3>{esc(e.name)}</h3>")
        changes = catalog_lines(base, e)
        page.add("<p>Catalog: " + "; ".join(esc(c) for c in changes) + "</p>")
        if isinstance(d, str):
            page.add(f'<p class="warn">{esc(d)}</p>')
            continue
        frames.append(d.assign(scenario=e.name, catalog_diff="; ".join(changes)))
        body = "".join(
            f'<tr><td>{esc(r["label"])} [{esc(r["unit"])}]</td><td class="n">'
            f'{esc(fmt(r["mean_a"], str(r["unit"])))}</td><td class="n">'
            f'{esc(fmt(r["mean_b"], str(r["unit"])))}</td><td class="n">'
            f"{esc(change_cell(r))}</td></tr>"
            for r in d.to_dict("records")
        )
        page.add(
            "<table><thead><tr><th>figure</th><th>baseline</th><th>this scenario</th>"
            "<th>change [95% CI] (%)</th></tr></thead><tbody>" + body + "</tbody></table>"
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def build_index(
    entries: Sequence[BatchEntry], title: str = "sim batch", baseline: str | None = None
) -> Page:
    """The index page of a batch: a row per scenario, linking its report, or its error; with
    ``baseline`` (a scenario's name), every other scenario's paired changes against it."""
    page = Page(title)
    failed = sum(e.error != "" for e in entries)
    page.add(
        f"<h1>{esc(title)}</h1>",
        f'<p class="note">{len(entries)} scenario(s), {len(entries) - failed} ok, '
        f"{failed} failed. Figures: mean over replications.</p>",
    )
    _levels(page, entries)
    if baseline is not None:
        deltas = _against(page, entries, baseline)
        if len(deltas):
            page.tables["baseline_deltas"] = deltas
            page.add(
                '<p class="files"><a href="tables/baseline_deltas.csv">baseline_deltas.csv</a></p>'
            )
    if failed:
        page.add("<h2>Failures</h2>")
    for e in entries:
        if e.error:
            page.add(
                f'<h3 id="failed-{esc(e.name)}">{esc(e.name)}</h3>',
                f'<p class="note">{esc(e.source)}</p><pre>{esc(e.error)}</pre>',
            )
    return page


def write_index(
    entries: Iterable[BatchEntry],
    out_dir: str | os.PathLike[str],
    title: str = "sim batch",
    baseline: str | None = None,
) -> Path:
    """Write ``index.html`` of a batch into ``out_dir``."""
    entries = list(entries)
    if baseline is not None and baseline not in {e.name for e in entries}:
        raise SimError(
            f"--baseline {baseline!r} is not a scenario of the batch (scenarios: "
            f"{', '.join(e.name for e in entries)})"
        )
    # the index sits beside the scenarios' run folders: its files are replaced one by one
    return build_index(entries, title, baseline).write(out_dir, "index.html", whole=False)
