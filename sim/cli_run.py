"""``sim run SCENARIO --out DIR``: play a scenario and write its tables.

Registered in :data:`sim.cli.SUBCOMMANDS` as
``Subcommand("run", HELP, add_arguments, run, DESCRIPTION)``. Heavy modules are imported inside
:func:`run` so that ``sim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

HELP = "run a scenario with the SimPy model and write its tables"
DESCRIPTION = (
    "Play a scenario (scenarios/<name>.yaml, or a path) and write console_ops, group_ops, "
    "timeline, usage, purchases and bills as Parquet, plus summary.json, into --out."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario name or YAML path")
    parser.add_argument("--out", metavar="DIR", required=True, help="directory for the tables")
    parser.add_argument(
        "--set", metavar="KEY=VALUE", dest="overrides", action="append", default=[],
        help="override a scenario field, e.g. --set population.game.count=10 or "
        "--set catalog.overrides.editions.Pro.price_per_month=399.99 (value read as YAML; "
        "repeatable)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        metavar="N",
        help="replications (default: the scenario's)",
    )
    parser.add_argument(
        "--mode",
        choices=("exact", "fast"),
        default=None,
        help="fidelity mode (default: the scenario's)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


class _Bar:
    """A one-line progress bar on stderr, drawn only on a terminal."""

    def __init__(self, replications: int) -> None:
        self.reps = replications
        self.rep = 0
        self.last = 0
        self.t0 = time.perf_counter()

    def __call__(self, month: int, months: int) -> None:
        if month == 1 and self.last >= 1:
            self.rep += 1
        self.last = month
        done = (self.rep * months + month) / (self.reps * months)
        width = 30
        fill = int(done * width)
        sys.stderr.write(
            f"\r[{'#' * fill}{'.' * (width - fill)}] replication {self.rep + 1}/{self.reps} "
            f"month {month}/{months} {time.perf_counter() - self.t0:6.1f}s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.errors import SimError
    from sim.runner import run as run_scenario
    from sim.runner import write
    from sim.scenario import load_scenario

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SimError(f"--out {args.out!r} exists and is not a directory")
    sc = load_scenario(args.scenario, list(args.overrides))
    reps = args.replications or sc.replications
    bar: Any = None
    if not args.no_progress and sys.stderr.isatty():
        bar = _Bar(reps)
    try:
        result = run_scenario(
            sc, mode=args.mode, seed=args.seed, replications=args.replications, progress=bar
        )
    finally:
        if bar is not None:
            bar.close()
    paths = write(result, out)
    s = result.summary
    print(
        f"{s['scenario']}: {s['tenants']} apps x {result.scenario.horizon_months} months x "
        f"{s['replications']} replication(s), {s['mode']} mode, seed {s['seed']}: "
        f"{s['group_operations']} group operations in {s['wall_time_s']} s"
    )
    print(f"revenue: {s['revenue_total']:.2f} {s['currency']} (mean per replication)")
    top = sorted(s["error_rates"].items(), key=lambda kv: -kv[1]["refused"])[:6]
    for code, e in top:
        print(f"  {code}: {e['refused']} refused, {e['rate']:.4%} of {e['of']}")
    print(f"wrote {', '.join(p.name for p in paths)} to {out}")
    return 0
