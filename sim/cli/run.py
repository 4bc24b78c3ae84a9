"""``sim run SCENARIO --out DIR``: play a scenario and write its tables.

Registered in :data:`sim.cli.app.SUBCOMMANDS` as
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
    add_scenario_arguments(parser, where="")
    parser.add_argument(
        "--workers",
        type=workers_value,
        default="auto",
        metavar="N",
        help="processes playing the run's shards (default auto: one per CPU for a large run, "
        "else 1; 0: one per CPU); capped at the CPU count unless --oversubscribe",
    )
    add_executor_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_scenario_arguments(parser: argparse.ArgumentParser, where: str) -> None:
    """``--set``, ``--seed``, ``--replications`` and ``--mode`` (shared with ``sim sweep``);
    ``where`` says where an override applies (e.g. " at every point")."""
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        dest="overrides",
        action="append",
        default=[],
        help=f"override a scenario field{where}, e.g. --set population.game.count=10 or "
        "--set catalog.overrides.editions.Pro.price_per_month=399.99 (value read as YAML; "
        "repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed (default: the scenario's)")
    parser.add_argument(
        "--replications",
        type=int,
        default=None,
        metavar="N",
        help=f"replications{where} (default: the scenario's)",
    )
    parser.add_argument(
        "--mode",
        choices=("exact", "fast"),
        default=None,
        help="fidelity mode (default: the scenario's)",
    )


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    """``--cluster`` and ``--oversubscribe`` (shared with ``sim sweep``)."""
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="play the tasks on a Dask scheduler (e.g. tcp://10.0.0.5:8786), or 'local' for a "
        "Dask LocalCluster of --workers processes (default: this machine, without Dask)",
    )
    parser.add_argument(
        "--oversubscribe",
        action="store_true",
        help="allow more --workers than CPUs",
    )


def workers_value(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{text!r}: a number >= 0 (0: one per CPU) or 'auto'")
    return n


class Bar:
    """A one-line progress bar: tenant-months done, elapsed time and an estimate of the rest.
    Drawn on ``stream`` (a terminal), at most every 0.1 s by :mod:`sim.model.shards`."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.t0 = time.perf_counter()
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        fill = int(frac * self.width)
        elapsed = time.perf_counter() - self.t0
        eta = f", {elapsed * (1 - frac) / frac:,.0f} s to go" if 0 < frac < 1 else ""
        self.stream.write(
            f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done:,}/{total:,} tenant-months, "
            f"{elapsed:,.1f} s{eta}\x1b[K"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.errors import SimError
    from sim.model.runner import run_and_write
    from sim.model.scenario import load_scenario

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SimError(f"--out {args.out!r} exists and is not a directory")
    sc = load_scenario(args.scenario, list(args.overrides))
    bar: Any = None
    if not args.no_progress and sys.stderr.isatty():
        bar = Bar(sys.stderr)
    try:
        s, paths = run_and_write(
            sc,
            out,
            mode=args.mode,
            seed=args.seed,
            replications=args.replications,
            progress=bar,
            workers=args.workers,
            cluster=args.cluster,
            oversubscribe=args.oversubscribe,
            notify=lambda line: print(line, file=sys.stderr),
        )
    finally:
        if bar is not None:
            bar.close()
    print(
        f"{s['scenario']}: {s['tenants']} apps x {s['horizon_months']} months x "
        f"{s['replications']} replication(s), {s['mode']} mode, seed {s['seed']}: "
        f"{s['group_operations']} group operations in {s['wall_time_s']} s"
    )
    print(f"revenue: {s['revenue_total']:.2f} {s['currency']} (mean per replication)")
    top = sorted(s["error_rates"].items(), key=lambda kv: -kv[1]["refused"])[:6]
    for code, e in top:
        print(f"  {code}: {e['refused']} refused, {e['rate']:.4%} of {e['of']}")
    _print_unexercised(sc, out, s)
    print(f"wrote {', '.join(p.name for p in paths)} to {out}")
    return 0


def _print_unexercised(sc: Any, out: Any, summary: dict[str, Any]) -> None:
    """The priced items and limit codes the run never exercised (issue 10 point 3)."""
    import pandas as pd

    from sim.model.coverage import unexercised

    bills = pd.read_parquet(
        out / "bills.parquet", columns=["kind", "item", "option", "amount_minor"]
    )
    items, codes = unexercised(sc.load_catalog(), bills, map(int, summary["error_rates"]))
    print(f"never exercised: priced items: {', '.join(items) or 'none'}")
    print(f"never exercised: limit codes: {', '.join(map(str, codes)) or 'none'}")
