"""HTML pages of the reports: the page being built, its tables and number formats, the
provenance of a run. Shared by :mod:`sim.reports.report`, :mod:`sim.reports.compare` and
:mod:`sim.reports.batch`.

Every string that comes from a run (scenario name and description, app names, reasons) goes
through :func:`esc`. Numbers are formatted by unit, the same everywhere (:func:`fmt`): money
with two decimals, shares as ``%`` with two, rates per 1,000 DAU with three, counts whole (one
decimal when a mean per replication is not whole), days with one.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.files.excel import write_workbook as write_xlsx
from sim.files.outputs import OutputDir, write_file, write_tables
from sim.reports import charts
from sim.results.prepare import Run

MONEY_UNITS = ("USD", "CNY", "EUR", "currency", "money")
RATE_UNIT = "per day per 1,000 DAU"


def esc(value: object) -> str:
    """``value`` as text escaped for HTML (quotes too)."""
    return html.escape(str(value), quote=True)


# -- formatting ----------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def fmt(value: object, unit: str = "") -> str:
    """A number for a table, by its ``unit``: ``%`` two decimals and the sign (the value is
    already in %); money (a currency code first, or ``money``) two decimals; a rate per 1,000
    DAU three; ``days`` one; anything else a count: whole with separators, one decimal when it
    is not whole (a mean per replication). Missing: an en dash."""
    if _missing(value):
        return "–"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit == "%":
        return f"{value:,.2f} %"
    if unit.startswith(MONEY_UNITS):
        return f"{value:,.2f}"
    if unit == RATE_UNIT:
        return f"{value:,.3f}"
    if unit == "days":
        return f"{value:,.1f}"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


PLAIN = frozenset({"error_code", "replication", "first_limit_code", "code"})
"""Columns of identifiers: numbers printed as they are (no separators)."""
COLUMN_UNITS = {"share": "%", "per_1000_dau": RATE_UNIT, "days_to_upgrade": "days"}
"""Units of columns known by name (``share`` is a fraction, shown in %)."""


def cell(col: str, value: object, units: Mapping[str, str]) -> str:
    """The text of one table cell."""
    if col in PLAIN and isinstance(value, int | float) and not pd.isna(value):
        return str(int(value))
    unit = units.get(col) or COLUMN_UNITS.get(col, "")
    if col == "share" and isinstance(value, int | float) and not pd.isna(value):
        return fmt(100 * value, "%")
    return fmt(value, unit)


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
        f'<th class="{"n" if c in numeric else ""}">{esc(h)}</th>' for c, h in cols.items()
    )
    rows = []
    for rec in df.head(limit).to_dict("records"):
        cells = "".join(
            f'<td class="{"n" if c in numeric else ""}">{esc(cell(c, rec.get(c), units))}</td>'
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


def ci_text(row: Mapping[str, Any], unit: str, low: str = "ci_low", high: str = "ci_high") -> str:
    """``[low, high]`` of a confidence interval, or why there is none."""
    if row.get("n", 0) < 2 or pd.isna(row.get(low)):
        return "(one replication)"
    return f"[{fmt(row[low], unit)}, {fmt(row[high], unit)}]"


# -- the page ------------------------------------------------------------------------------------


class Page:
    """An HTML page being built: its sections, and the figures and tables to write beside it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.body: list[str] = []
        self.figures: dict[str, bytes] = {}
        self.tables: dict[str, pd.DataFrame] = {}

    def add(self, *parts: str) -> None:
        self.body.extend(parts)

    def figure(self, name: str, fig: Any, caption: str) -> None:
        data = charts.png(fig)
        self.figures[name] = data
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        alt = esc(fig.get_suptitle() or caption)
        self.add(
            f'<figure id="fig-{esc(name)}"><img src="{src}" alt="{alt}" '
            f'width="{int(fig.get_figwidth() * charts.DPI)}">'
            f'<figcaption>{esc(caption)} <a href="figures/{esc(name)}.png">PNG</a></figcaption>'
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
            f'<p class="files">{esc(note)} <a href="tables/{esc(name)}.csv">{esc(name)}.csv</a></p>',
        )

    def html(self) -> str:
        return PAGE.format(title=esc(self.title), body="\n".join(self.body))

    def write(
        self,
        out_dir: str | os.PathLike[str],
        name: str = "report.html",
        workbook: Mapping[str, Any] | None = None,
        whole: bool = True,
    ) -> Path:
        """Write the page, its figures (``figures/``), tables (``tables/``) and, given its
        summary sheet, ``report.xlsx`` (every table, a
        sheet each) into ``out_dir``; returns the page's path.

        ``whole`` (a report's or a comparison's own folder): one set, all or nothing, the
        folder replaced whole (:class:`~sim.files.outputs.OutputDir`). Otherwise (a batch
        index beside the scenarios' folders) each file is replaced on its own, atomically."""
        out = Path(out_dir)
        if out.exists() and not out.is_dir():
            raise SimError(f"output {str(out)!r} exists and is not a directory")
        if not whole:
            return self._write_files(out, name)
        with OutputDir(out) as folder:
            for key, df in self.tables.items():
                folder.write(f"tables/{key}.csv", df)
            for key, data in self.figures.items():
                folder.write(f"figures/{key}.png", data)
            if workbook is not None:
                write_xlsx(folder.reserve("report.xlsx"), self.tables, workbook)
            folder.write(name, self.html())
        return out / name

    def _write_files(self, out: Path, name: str) -> Path:
        if self.tables:
            write_tables(out / "tables", {f"{k}.csv": v for k, v in self.tables.items()})
        for key, data in self.figures.items():
            write_file(out / "figures" / f"{key}.png", data)
        return write_file(out / name, self.html())


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
.bad {{ color: #b00020; }} .ok {{ color: #1b7f3b; }} .warn {{ color: #9a6700; }}
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


# -- the run's provenance ------------------------------------------------------------------------


def scenario_name(run: Run) -> str:
    """The run's scenario name (else its directory's name)."""
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


def _unlimited(value: object) -> object:
    return "unlimited" if value is None else value


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
                "live groups": _unlimited(lim.live_groups),
                "non-live groups": _unlimited(lim.nonlive_groups),
                "accounts": _unlimited(lim.accounts),
                "free DAU": lim.free_dau,
                "paid packs per month": "; ".join(packs) or "–",
            }
        )
    return pd.DataFrame(rows)


def _provenance_rows(run: Run) -> list[tuple[str, object]]:
    s = run.summary
    raw = s.get("scenario_data")
    data: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    return [
        ("scenario", scenario_name(run)),
        ("description", s.get("description") or data.get("description") or "–"),
        ("run directory", s.get("_dir", "–")),
        ("scenario hash", s.get("scenario_hash", "–")),
        ("seed", s.get("seed", "–")),
        ("replications", len(run.replications)),
        ("fidelity mode", s.get("mode", "–")),
        ("apps", s.get("tenants", "–")),
        ("months", f"{run.months[0]} – {run.months[-1]}" if run.months else "–"),
        ("reported from", s.get("report_start") or "the first month"),
        ("catalog", s.get("catalog", "–")),
        ("catalog hash", s.get("catalog_hash", "–")),
        ("caps for the grandfathered excess", s.get("_catalog_note", "–")),
        ("wall time", f"{s['wall_time_s']} s" if "wall_time_s" in s else "–"),
        ("versions", ", ".join(f"{k} {v}" for k, v in (s.get("versions") or {}).items()) or "–"),
    ]


def assumptions_table(summary: Mapping[str, Any]) -> str:
    """The model's assumptions (``summary.json`` ``assumptions``: group, name, value, unit,
    calibrated, note) as a table; those not calibrated are marked "illustrative, not
    measured". Empty when the run states none."""
    rows = summary.get("assumptions")
    if not isinstance(rows, list) or not rows:
        return ""
    df = pd.DataFrame([r for r in rows if isinstance(r, Mapping)])
    for col in ("group", "name", "value", "unit", "calibrated", "note"):
        if col not in df.columns:
            df[col] = None
    df["status"] = [
        "calibrated" if bool(c) else "illustrative, not measured" for c in df["calibrated"]
    ]
    df["value"] = df["value"].map(lambda v: "–" if _missing(v) else str(v))
    cols = {c: c for c in ("group", "name", "value", "unit", "status", "note")}
    return "<h3>Assumptions</h3>" + html_table(df, cols, limit=500, right=["value"])


def provenance(run: Run) -> str:
    """The run's scenario, catalog, assumptions and versions, as HTML."""
    body = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in _provenance_rows(run))
    s = run.summary
    data = s.get("scenario_data") if isinstance(s.get("scenario_data"), Mapping) else {}
    extra = ""
    if run.catalog is not None:
        extra += (
            f"<h3>Catalog {esc(run.catalog.name)}</h3>"
            f'<p class="note">{esc(run.catalog.description)}</p>'
            + html_table(catalog_table(run.catalog), right=CATALOG_RIGHT)
        )
    extra += assumptions_table(s)
    if data:
        extra += (
            "<details><summary>the scenario, as run</summary><pre>"
            f"{esc(json.dumps(data, indent=2, sort_keys=True, default=str))}</pre></details>"
        )
    return f"<table>{body}</table>{extra}"
