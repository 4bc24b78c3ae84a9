"""Reports: a run directory in, a self-contained HTML page out, with its figures as PNG and its
tables as CSV beside it; also the comparison of runs (:func:`write_compare`) and the index of a
batch (:func:`write_index`).

Layout written by :func:`write_report` into ``out_dir`` (default ``RUN_DIR/report``)::

    report.html          opens from disk with no network: figures embedded as base64 PNG,
                         styles inline, a Content-Security-Policy that forbids any fetch
    figures/<name>.png   each figure, as embedded
    tables/<name>.csv    each table of :func:`sim.results.metrics.all_metrics`

Every string that comes from the run (scenario name and description, app names, reasons) is
escaped with :func:`html.escape`. Files are written atomically (:mod:`sim.files.outputs`).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.files.outputs import write_tables
from sim.reports import charts
from sim.results import metrics

RUN_TABLES = ("console_ops", "group_ops", "timeline", "usage", "bills")
"""The tables of a run directory a report reads (``<name>.parquet``, or ``.csv``)."""


# -- reading a run -----------------------------------------------------------------------------


def _read(path: Path) -> pd.DataFrame | None:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        f = path.with_suffix(suffix)
        if f.is_file():
            try:
                return reader(f)
            except (OSError, ValueError) as exc:
                raise SimError(f"cannot read {str(f)!r}: {exc}") from exc
    return None


def catalog_of(summary: Mapping[str, Any]) -> tuple[Any | None, str]:
    """The catalog a run was played with, and a note on how it was found: rebuilt from the
    scenario in ``summary.json`` (``scenario_data``), else loaded by its ``catalog`` name
    (without the scenario's catalog overrides), else None."""
    from sim.files.catalogs import load_catalog

    data = summary.get("scenario_data")
    if isinstance(data, Mapping):
        from sim.model.scenario import scenario_from_dict

        try:
            return scenario_from_dict(data).load_catalog(), "from the run's scenario"
        except SimError:  # a catalog path relative to a scenario file no longer beside it
            pass
    name = summary.get("catalog")
    if isinstance(name, str) and name:
        try:
            return load_catalog(name), (
                f"catalog {name!r} as published: the run's scenario could not be rebuilt from "
                "summary.json, so any catalog overrides of the scenario are not applied here"
            )
        except SimError as exc:
            return None, f"catalog {name!r} could not be loaded: {exc}"
    return None, "summary.json names no catalog"


def load_run(run_dir: str | os.PathLike[str]) -> metrics.Run:
    """Read a run directory (``sim run --out DIR``) into a :class:`sim.results.metrics.Run`."""
    path = Path(run_dir)
    if not path.is_dir():
        raise SimError(f"run directory {str(run_dir)!r} not found (expected `sim run --out DIR`)")
    tables = {name: _read(path / name) for name in RUN_TABLES}
    if tables["timeline"] is None:
        raise SimError(
            f"{str(run_dir)!r} is not a run directory: no timeline.parquet (a run directory "
            f"holds {', '.join(RUN_TABLES)} and summary.json, as `sim run --out DIR` writes)"
        )
    summary: dict[str, Any] = {}
    if (path / "summary.json").is_file():
        try:
            summary = json.loads((path / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SimError(f"cannot read {str(path / 'summary.json')!r}: {exc}") from exc
    catalog, note = catalog_of(summary)
    summary = {**summary, "_dir": str(path), "_catalog_note": note}
    return metrics.prepare(**tables, summary=summary, catalog=catalog)


def run_from_result(result: Any) -> metrics.Run:
    """A :class:`sim.results.metrics.Run` from a :class:`sim.model.runner.RunResult` (no files needed)."""
    tables = {name: getattr(result, name) for name in RUN_TABLES}
    summary = {**result.summary, "_catalog_note": "from the run"}
    return metrics.prepare(**tables, summary=summary, catalog=result.catalog)


# -- writing files -----------------------------------------------------------------------------


def write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` atomically (a temporary file beside it, then ``os.replace``), the way
    :func:`sim.files.outputs.write_json` writes."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "xb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SimError(
            f"cannot write {str(exc.filename or path)!r}: {exc.strerror or exc}"
        ) from exc
    return path


class Page:
    """An HTML page being built: its sections, and the figures and tables to write beside it."""

    def __init__(self, title: str) -> None:
        self.title, self.body, self.figures, self.tables = title, [], {}, {}

    def add(self, *parts: str) -> None:
        self.body.extend(parts)

    def figure(self, name: str, fig: Any, caption: str) -> None:
        data = charts.png(fig)
        self.figures[name] = data
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        alt = _e(fig.get_suptitle() or caption)
        self.add(
            f'<figure id="fig-{_e(name)}"><img src="{src}" alt="{alt}" '
            f'width="{int(fig.get_figwidth() * charts.DPI)}">'
            f'<figcaption>{_e(caption)} <a href="figures/{_e(name)}.png">PNG</a></figcaption>'
            "</figure>"
        )

    def table(
        self,
        name: str,
        df: pd.DataFrame,
        columns: Mapping[str, str] | None = None,
        limit: int = 40,
        note: str = "",
        show: pd.DataFrame | None = None,
        money: Iterable[str] = (),
    ) -> None:
        """Write ``df`` as CSV and show it (or ``show``, a display form of it; ``columns``:
        column → header, default all; ``limit`` 0: only a link)."""
        self.tables[name] = df
        shown = df if show is None else show
        units = {c: "money" for c in money}
        self.add(
            html_table(shown, columns, limit, units) if limit else "",
            f'<p class="files">{_e(note)} <a href="tables/{_e(name)}.csv">{_e(name)}.csv</a></p>',
        )

    def html(self) -> str:
        return PAGE.format(title=_e(self.title), body="\n".join(self.body))

    def write(self, out_dir: str | os.PathLike[str], name: str = "report.html") -> Path:
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise SimError(f"output {str(out)!r} exists and is not a directory")
        if self.tables:
            write_tables(out / "tables", {f"{k}.csv": v for k, v in self.tables.items()})
        for key, data in self.figures.items():
            write_bytes(out / "figures" / f"{key}.png", data)
        return write_bytes(out / name, self.html().encode("utf-8"))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; \
style-src 'unsafe-inline'; script-src 'none'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222;
       max-width: 1000px; margin: 0 auto; padding: 1.5em; }}
h1 {{ font-size: 1.6em; margin-bottom: 0.2em; }}
h2 {{ border-bottom: 2px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }}
table {{ border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }}
th, td {{ padding: 0.25em 0.6em; border-bottom: 1px solid #e5e5e5; text-align: left; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
th {{ background: #f4f4f4; }}
figure {{ margin: 1em 0; }}
figure img {{ max-width: 100%; height: auto; border: 1px solid #eee; }}
figcaption, .files, .note {{ color: #666; font-size: 0.85em; }}
.bad {{ color: #b00020; }} .ok {{ color: #1b7f3b; }}
nav a {{ margin-right: 1em; }}
pre {{ background: #f7f7f7; padding: 0.6em; font-size: 0.85em; white-space: pre-wrap;
       overflow-wrap: anywhere; }}
</style>
</head>
<body>
{body}
</body>
</html>
"""


# -- formatting ----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def fmt(value: object, unit: str = "") -> str:
    """A number for a table: ``%`` one decimal; money two; whole numbers with separators."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit == "%":
        return f"{value:,.1f}"
    if unit.startswith(("USD", "CNY", "EUR", "currency")) or unit == "money":
        return f"{value:,.2f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.3g}"


PLAIN = frozenset({"error_code", "replication", "first_limit_code"})
"""Columns of identifiers: numbers printed as they are (no separators)."""


def _cell(col: str, value: object, units: Mapping[str, str]) -> str:
    if col in PLAIN and isinstance(value, int | float) and not pd.isna(value):
        return str(int(value))
    if col == "share" and isinstance(value, int | float) and not pd.isna(value):
        return f"{100 * value:.3g} %"
    return fmt(value, units.get(col, ""))


def html_table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    limit: int = 40,
    units: Mapping[str, str] | None = None,
    right: Iterable[str] = (),
) -> str:
    """An HTML table of the first ``limit`` rows (``columns``: column → header), numbers
    right-aligned (and the ``right`` columns); every cell escaped."""
    if df.empty:
        return '<p class="note">(no rows)</p>'
    cols = dict(columns or {c: c for c in df.columns})
    units = dict(units or {})
    numeric = {c for c in cols if c in df.columns and pd.api.types.is_numeric_dtype(df[c])}
    numeric |= set(right)
    head = "".join(
        f'<th class="{"n" if c in numeric else ""}">{_e(h)}</th>' for c, h in cols.items()
    )
    rows = []
    for rec in df.head(limit).to_dict("records"):
        cells = "".join(
            f'<td class="{"n" if c in numeric else ""}">{_e(_cell(c, rec.get(c), units))}</td>'
            for c in cols
        )
        rows.append(f"<tr>{cells}</tr>")
    more = f'<p class="note">first {limit} of {len(df)} rows</p>' if len(df) > limit else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def wide(
    df: pd.DataFrame, index: str, columns: str, values: str, total: bool = True
) -> pd.DataFrame:
    """``df`` pivoted for reading: a row per ``index``, a column per ``columns`` value, 0 where
    missing, and a ``total`` column."""
    if df.empty:
        return df
    w = df.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", fill_value=0)
    w.columns = [str(c) for c in w.columns]
    if total:
        w["total"] = w.sum(axis=1)
    return w.reset_index()


def _ci(row: Mapping[str, Any], unit: str, low: str = "ci_low", high: str = "ci_high") -> str:
    if row.get("n", 0) < 2 or pd.isna(row.get(low)):
        return "(one replication)"
    return f"[{fmt(row[low], unit)}, {fmt(row[high], unit)}]"


def headline_table(head: pd.DataFrame) -> pd.DataFrame:
    """The headline summary as display strings: figure, mean, 95 % CI, unit, replications."""
    return pd.DataFrame(
        {
            "figure": head["label"],
            "mean": [fmt(m, u) for m, u in zip(head["mean"], head["unit"], strict=True)],
            "95% CI": [_ci(r, r["unit"]) for r in head.to_dict("records")],
            "unit": head["unit"],
            "replications": head["n"],
        }
    )


def scenario_name(run: metrics.Run) -> str:
    s = run.summary
    name = s.get("scenario")
    if isinstance(name, Mapping):
        name = name.get("name")
    return str(name or Path(str(s.get("_dir", "run"))).name)


CATALOG_RIGHT = (
    "price per month",
    "groups per user",
    "members per group",
    "live groups",
    "non-live groups",
    "accounts",
    "free DAU",
)


def catalog_table(catalog: Any) -> pd.DataFrame:
    """The catalog's editions: kind, price per month, limits and paid pack options (R3, R4)."""
    cur = catalog.currency.code
    rows = []
    for name, ed in catalog.editions.items():
        lim = ed.limits
        packs = []
        for pack in ("live_unlimited", "groups_per_user", "members_per_group"):
            p = getattr(ed.packs, pack, None) if getattr(ed, "packs", None) else None
            for option, price in p.options.items() if p else []:
                if price:
                    packs.append(f"{pack}={option}: {price} {cur}")
        rows.append(
            {
                "edition": name,
                "kind": ed.kind,
                "price per month": f"{ed.price_per_month} {cur}",
                "groups per user": lim.groups_per_user,
                "members per group": lim.members_per_group,
                "live groups": "unlimited" if lim.live_groups is None else lim.live_groups,
                "non-live groups": "unlimited"
                if lim.nonlive_groups is None
                else lim.nonlive_groups,
                "accounts": "unlimited" if lim.accounts is None else lim.accounts,
                "free DAU": lim.free_dau,
                "paid packs per month": "; ".join(packs) or "–",
            }
        )
    return pd.DataFrame(rows)


def _provenance(run: metrics.Run) -> str:
    s = run.summary
    data = s.get("scenario_data") if isinstance(s.get("scenario_data"), Mapping) else {}
    rows = [
        ("scenario", scenario_name(run)),
        ("description", s.get("description") or data.get("description") or "–"),
        ("run directory", s.get("_dir", "–")),
        ("scenario hash", s.get("scenario_hash", "–")),
        ("seed", s.get("seed", "–")),
        ("replications", len(run.replications)),
        ("fidelity mode", s.get("mode", "–")),
        ("apps", s.get("tenants", "–")),
        ("months", f"{run.months[0]} – {run.months[-1]}" if run.months else "–"),
        ("catalog", s.get("catalog", "–")),
        ("catalog hash", s.get("catalog_hash", "–")),
        ("caps for the grandfathered excess", s.get("_catalog_note", "–")),
        ("wall time", f"{s['wall_time_s']} s" if "wall_time_s" in s else "–"),
        ("versions", ", ".join(f"{k} {v}" for k, v in (s.get("versions") or {}).items()) or "–"),
    ]
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    extra = ""
    if run.catalog is not None:
        extra += (
            f"<h3>Catalog {_e(run.catalog.name)}</h3>"
            f'<p class="note">{_e(run.catalog.description)}</p>'
            + html_table(catalog_table(run.catalog), right=CATALOG_RIGHT)
        )
    if data:
        extra += (
            "<details><summary>the scenario, as run</summary><pre>"
            f"{_e(json.dumps(data, indent=2, sort_keys=True, default=str))}</pre></details>"
        )
    return f"<table>{body}</table>{extra}"


def _as_run(run: metrics.Run) -> str:
    s = run.summary
    apps = s.get("tenants") or (run.timeline["app"].nunique() if len(run.timeline) else 0)
    months = f"{len(run.months)} months ({run.months[0]} to {run.months[-1]})" if run.months else ""
    parts = [
        f"{apps:,} apps",
        months,
        f"{len(run.replications)} replication(s)",
        f"{s['mode']} mode" if s.get("mode") else "",
        f"seed {s['seed']}" if s.get("seed") is not None else "",
    ]
    return ", ".join(p for p in parts if p)


# -- the report of one run -------------------------------------------------------------------


def build_report(run: metrics.Run, top: int = 10) -> Page:
    """The report of one run, as a :class:`Page` (nothing written yet)."""
    m = metrics.all_metrics(run, top)
    cur = run.currency or "currency"
    name = scenario_name(run)
    page = Page(f"sim report: {name}")
    desc = run.summary.get("description") or ""
    page.add(
        f"<h1>Scenario {_e(name)}</h1>",
        f'<p class="note">{_e(desc)}</p>' if desc else "",
        f'<p class="note">As run: {_e(_as_run(run))}.</p>',
        '<nav><a href="#headline">Headline</a><a href="#revenue">Revenue</a>'
        '<a href="#errors">Errors</a><a href="#lifecycle">Lifecycle</a>'
        '<a href="#apps">Apps</a><a href="#provenance">Scenario and catalog</a></nav>',
        '<h2 id="headline">Headline figures</h2>',
        f'<p class="note">Mean over {len(run.replications)} replication(s); 95 % confidence '
        "interval of the mean (Student t over replications). Money in "
        f"{_e(cur)}.</p>",
    )
    page.tables["headline"] = m["headline"]
    page.tables["headline_by_replication"] = m["headline_by_replication"]
    page.add(
        html_table(headline_table(m["headline"]), right=["mean", "95% CI"]),
        '<p class="files"><a href="tables/headline.csv">headline.csv</a> '
        '<a href="tables/headline_by_replication.csv">headline_by_replication.csv</a></p>',
    )

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
        charts.mrr_arpu(m["mrr_arpu_by_month"], cur),
        "MRR: postpaid lines plus prepaid spread over the months bought. ARPU: (MRR + "
        "overage) per app alive in the month.",
    )
    page.table(
        "mrr_arpu_by_month",
        m["mrr_arpu_by_month"],
        {
            "month": "month",
            "revenue": f"billed [{cur}]",
            "mrr": f"MRR [{cur}]",
            "overage": f"overage [{cur}]",
            "live_apps": "live apps",
            "paying_apps": "paying apps",
            "arpu": f"ARPU [{cur}/app]",
            "arppu": f"per paying app [{cur}]",
        },
        money=["revenue", "mrr", "overage", "arpu", "arppu"],
    )
    page.add("<h3>Revenue by archetype</h3>")
    page.table(
        "revenue_by_archetype",
        m["revenue_by_archetype"],
        {"archetype": "archetype", "amount": f"amount [{cur}]"},
        money=["amount"],
    )

    page.add('<h2 id="errors">Error codes</h2>')
    page.figure(
        "error_rates",
        charts.error_rates_over_time(m["error_rates_by_month"]),
        "Refusals per day per 1,000 DAU and as a share of attempts (group operations; "
        "dashed: refused DAU in user-days).",
    )
    rate_cols = {
        "error_code": "code",
        "reason": "reason",
        "of": "counted in",
        "errors": "refused",
        "attempts": "attempts",
        "share": "share",
        "per_1000_dau": "per day per 1,000 DAU",
    }
    page.add("<h3>By code</h3>")
    page.table("error_rates_by_code", m["error_rates_by_code"], rate_cols)
    page.add("<h3>By operation</h3>")
    page.table("error_rates_by_op", m["error_rates_by_op"], {"op": "operation", **rate_cols})
    page.add("<h3>By edition in force</h3>")
    page.table(
        "error_rates_by_edition", m["error_rates_by_edition"], {"edition": "edition", **rate_cols}
    )
    page.table(
        "error_rates_by_month",
        m["error_rates_by_month"],
        {"month": "month", **rate_cols},
        limit=0,
        note="per month:",
    )
    page.add("<h3>Console refusals by reason</h3>")
    page.table("console_refusals", m["console_refusals"])

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
    page.add("<h3>Grandfathered excess</h3>")
    page.figure(
        "grandfathered",
        charts.grandfathered(m["grandfathered_by_day"]),
        "Apps keeping more groups than their current edition allows (R12): existing "
        "groups are never removed by a change of edition.",
    )
    page.table("grandfathered_by_day", m["grandfathered_by_day"], limit=0, note="per day:")

    page.add('<h2 id="apps">Apps with the most errors</h2>')
    page.figure(
        "top_error_apps",
        charts.top_error_apps(m["top_error_apps"]),
        f"The {top} apps with the most refused group operations, by error code.",
    )
    page.table("top_error_apps", m["top_error_apps"])

    page.add('<h2 id="provenance">Scenario and catalog</h2>', _provenance(run))
    return page


def write_report(
    run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, top: int = 10
) -> Path:
    """Write the report of a run directory; returns the path of ``report.html``."""
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else Path(run_dir) / "report"
    return build_report(run, top).write(out)


# -- batch index ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchEntry:
    """One scenario of a batch: its name, where its report is (relative to the index), its
    headline summary (None if it failed) and the error that stopped it."""

    name: str
    source: str
    report: str | None
    headline: pd.DataFrame | None
    error: str = ""


INDEX_METRICS = (
    "revenue_total",
    "mrr_last",
    "error_share",
    "errors_per_1000_dau",
    "upgrades",
    "deactivations",
)


def build_index(entries: Sequence[BatchEntry], title: str = "sim batch") -> Page:
    """The index page of a batch: a row per scenario, linking its report, or its error."""
    page = Page(title)
    failed = sum(e.error != "" for e in entries)
    page.add(
        f"<h1>{_e(title)}</h1>",
        f'<p class="note">{len(entries)} scenario(s), {len(entries) - failed} ok, '
        f"{failed} failed. Figures: mean over replications.</p>",
    )
    labels: dict[str, str] = {}
    rows = []
    for e in entries:
        row: dict[str, Any] = {"scenario": e.name, "source": e.source}
        if e.headline is not None:
            h = e.headline.set_index("metric")
            for mid in INDEX_METRICS:
                if mid in h.index:
                    labels[mid] = f"{h.at[mid, 'label']} [{h.at[mid, 'unit']}]"
                    row[mid] = fmt(h.at[mid, "mean"], str(h.at[mid, "unit"]))
        rows.append((e, row))
    head = ["scenario", "status", *labels.values(), "source"]
    out = ["<table><thead><tr>", *(f"<th>{_e(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for e, row in rows:
        link = f'<a href="{_e(e.report)}">{_e(e.name)}</a>' if e.report else _e(e.name)
        status = (
            '<span class="ok">ok</span>'
            if not e.error
            else f'<a class="bad" href="#failed-{_e(e.name)}">failed</a>'
        )
        cells = [link, status, *(_e(row.get(mid, "–")) for mid in labels), _e(e.source)]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    page.add("".join(out))
    if failed:
        page.add("<h2>Failures</h2>")
    for e in entries:
        if e.error:
            page.add(
                f'<h3 id="failed-{_e(e.name)}">{_e(e.name)}</h3>',
                f'<p class="note">{_e(e.source)}</p><pre>{_e(e.error)}</pre>',
            )
    return page


def write_index(
    entries: Iterable[BatchEntry], out_dir: str | os.PathLike[str], title: str = "sim batch"
) -> Path:
    """Write ``index.html`` of a batch into ``out_dir``."""
    return build_index(list(entries), title).write(out_dir, "index.html")
