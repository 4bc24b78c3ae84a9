"""The baseline at full size, as an analyst reads it (issue 10): ``sim run``'s wall time end to
end (every table written, as ``make run`` does), the share of the apps created free that ever
pay, upgrades in the first month, the priced items and limit codes exercised and those never
exercised, and the refusals on the first day.

    .venv/bin/python benchmarks/bench_economics.py [--scenario baseline] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import pandas as pd


def conversion(console: pd.DataFrame) -> tuple[int, int, int, int]:
    """(apps created free, of which ever paid, upgrades, upgrades in the run's first month):
    an app is created free when its setup leaves it on IM (at the start, or arriving later);
    it pays once it upgrades or buys a prepaid package."""
    setup = console[console["policy"] == "setup"]
    paid_start = set(setup.loc[(setup["op"] == "upgrade") & setup["ok"], "app"])
    free = set(setup.loc[setup["op"] == "create_app", "app"]) - paid_start
    ok = console[console["ok"] & (console["policy"] != "setup")]
    bought = ok[ok["op"].isin(["upgrade", "buy_prepaid"])]
    up = ok[ok["op"] == "upgrade"]
    month = up["time"].dt.strftime("%Y-%m")
    first = console["time"].min().strftime("%Y-%m")
    return len(free), len(set(bought["app"]) & free), len(up), int((month == first).sum())


def main() -> None:
    from sim.model.coverage import billed_items, priced_items, unexercised
    from sim.model.runner import run_and_write
    from sim.model.scenario import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-economics-"))
    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    summary, _ = run_and_write(sc, out, workers="auto")
    wall = time.perf_counter() - t0
    console = pd.read_parquet(out / "console_ops.parquet")
    bills = pd.read_parquet(out / "bills.parquet")
    free, paid, upgrades, first_month = conversion(console)
    print(
        f"{sc.name}: {summary['tenants']} apps x {sc.horizon_months} months, "
        f"{summary['group_operations']:,} group operations, sim run end to end {wall:.1f} s"
    )
    print(
        f"created free: {free}, ever paid: {paid} ({paid / max(free, 1):.1%}); "
        f"upgrades: {upgrades}, of which in the first month: {first_month}"
    )
    rates = summary["error_rates"]
    for code in sorted(rates, key=int):
        print(f"  code {code}: {rates[code]['refused']:,} refused ({rates[code]['of']})")
    billed = billed_items(bills)
    for item in priced_items(sc.load_catalog()):
        sums = bills[(bills["kind"] + " " + bills["item"] + " " + bills["option"]) == item]
        mark = "billed" if item in billed else "NEVER"
        print(f"  {item:38s} {mark:6s} {len(sums):6d} lines {sums['amount'].sum():14,.2f}")
    items, codes = unexercised(sc.load_catalog(), bills, map(int, rates))
    print(f"never exercised: items {items or 'none'}; codes {codes or 'none'}")
    day_one = json.dumps(summary.get("report_start"))
    print(f"warm-up {sc.warmup_months} months; reports start {day_one}")


if __name__ == "__main__":
    main()
