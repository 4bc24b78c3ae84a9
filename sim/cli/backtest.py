"""``sim backtest``: replay an operations log under catalogs A and B and say what changes.

Writes into ``--out``, all or nothing: ``bill_diff.csv``, ``app_impact.csv``,
``outcome_diff.csv`` (columns in :mod:`sim.studies.backtest`), ``backtest.html`` and
``backtest.xlsx`` (one sheet per table behind a summary sheet).
"""

from __future__ import annotations

import argparse
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sim.errors import SimError

if TYPE_CHECKING:
    from sim.studies.backtest import Backtest

HELP = "replay an operations log under two catalogs and compare bills and outcomes"
DESCRIPTION = (
    "Replay the same operations log (and daily usage) under catalog A (--catalog) and catalog B "
    "(--against, changed by --set) and write bill_diff.csv, app_impact.csv, outcome_diff.csv, "
    "backtest.html and backtest.xlsx into --out."
)
TABLES = ("bill_diff.csv", "app_impact.csv", "outcome_diff.csv")
FILES = (*TABLES, "backtest.html", "backtest.xlsx")
"""What ``sim backtest`` writes into ``--out``."""


def _percent(text: str) -> float:
    """``20``, ``20%`` or ``12.5 %`` -> a fraction (0.2); argparse reports anything else."""
    try:
        value = float(text.strip().removesuffix("%").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a percentage such as 20 or 20%"
        ) from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a percentage of 0 or more")
    return value / 100


def _workers(text: str) -> int:
    if text not in ("1", "2"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 (one after the other) or 2")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ops", metavar="OPS", help="operations log, .csv or .parquet")
    parser.add_argument(
        "--usage",
        metavar="FILE",
        default=None,
        help="daily usage per app (columns app, date, dau, groups), .csv or .parquet",
    )
    parser.add_argument(
        "--catalog",
        metavar="NAME|PATH",
        required=True,
        help="catalog A, the one in force (name from `sim catalogs`, or a YAML path)",
    )
    parser.add_argument(
        "--against",
        metavar="NAME|PATH",
        required=True,
        help="catalog B, the price sheet to test (name or YAML path)",
    )
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        dest="overrides",
        action="append",
        default=[],
        help="change a field of catalog B, e.g. --set editions.Pro.price_per_month=399.99 "
        "(value read as YAML; repeatable)",
    )
    parser.add_argument(
        "--risk-threshold",
        metavar="PCT",
        type=_percent,
        default=0.20,
        help="an app is at risk when its bill rises by more than PCT percent (default 20)",
    )
    parser.add_argument(
        "--workers",
        metavar="{1,2}",
        type=_workers,
        default=None,
        help="2: replay both catalogs side by side in two processes; 1: one after the other "
        "(default: 2 on a machine with two or more cores)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="directory to write into")


def _warn(text: str) -> None:
    print(f"sim: warning: {text}", file=sys.stderr)


def _file(path: str, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise SimError(f"{what} {path!r} {'is not a file' if p.exists() else 'not found'}")
    return p


def run(args: argparse.Namespace) -> int:
    from sim.files.catalogs import load_catalog
    from sim.studies.backtest import backtest, default_workers

    ops = _file(args.ops, "ops log")
    usage = _file(args.usage, "usage file") if args.usage else None
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SimError(f"--out {args.out!r} exists and is not a directory")
    cat_a = load_catalog(args.catalog)
    cat_b = load_catalog(args.against, list(args.overrides))
    if args.overrides and not any(o.strip().startswith("name=") for o in args.overrides):
        # say in every output that B is not the catalog file as it stands
        cat_b = load_catalog(cat_b, ["name=" + json.dumps(f"{cat_b.name} with --set")])
    workers = args.workers or default_workers()
    bt = backtest(
        ops, cat_a, cat_b, usage=usage, risk_threshold=args.risk_threshold, workers=workers
    )
    if not bt.changes:
        _warn(f"catalogs A {cat_a.name!r} and B {cat_b.name!r} bill and limit identically")
    if bt.a.ignored_usage or bt.b.ignored_usage:
        n = bt.a.ignored_usage
        also = f" ({bt.b.ignored_usage} under B)" if bt.b.ignored_usage != n else ""
        rows = "row is" if n == 1 else "rows are"
        _warn(
            f"{args.usage}: {n} usage {rows} dated after the app's deactivation: ignored (R14){also}"
        )
    write_backtest(out, bt)
    for line in summary_lines(bt):
        print(line)
    print(f"wrote {', '.join(FILES)} to {out}")
    return 0


def summary_lines(bt: Backtest) -> list[str]:
    """What the analyst reads first: the catalog diff, totals, movers and outcome changes."""
    imp = bt.app_impact
    ta, tb = sum(imp["total_a"], Decimal(0)), sum(imp["total_b"], Decimal(0))
    cur, n = bt.currency, bt.a.catalog.currency.decimals
    lines = [f"catalog changes ({len(bt.changes)}):"] + [f"  {c}" for c in bt.changes]
    lines += [
        f"replayed {bt.operations:,} operations of {bt.apps:,} apps under both catalogs",
        f"total billed: A {ta:.{n}f} {cur}, B {tb:.{n}f} {cur}, change {tb - ta:+.{n}f} {cur}",
        f"apps paying more: {int((imp['delta'] > 0).sum())}, paying less: "
        f"{int((imp['delta'] < 0).sum())}, at risk (rise above "
        f"{100 * bt.risk_threshold:g} %): {int(imp['at_risk'].sum())}",
        f"operations with another outcome under B: {len(bt.outcome_diff):,}",
    ]
    return lines


def write_backtest(out: Path, bt: Backtest) -> list[Path]:
    """Write the five files into ``out``, all or nothing."""
    from sim.files.excel import write_workbook
    from sim.files.outputs import OutputDir
    from sim.reports.backtest import build_html

    tables = dict(zip(TABLES, (bt.bill_diff, bt.app_impact, bt.outcome_diff), strict=True))
    summary = {
        "operations log": bt.source,
        "catalog A": bt.a.catalog.name,
        "catalog B": bt.b.catalog.name,
        "currency": bt.currency,
        "risk threshold (%)": 100 * bt.risk_threshold,
        **{f"change {i + 1}": str(c) for i, c in enumerate(bt.changes)},
    }
    with OutputDir(out) as staged:
        for name, df in tables.items():
            staged.write(name, df)
        staged.write("backtest.html", build_html(bt))
        sheets = {Path(name).stem: df for name, df in tables.items()}
        write_workbook(staged.reserve("backtest.xlsx"), sheets, summary=summary)
    return staged.paths
