"""``sim sweep SCENARIO --grid KEY=V1,V2,... --out DIR``: a scenario over a grid of keys.

Registered in :data:`sim.cli.app.SUBCOMMANDS`. Writes ``DIR/sweep.parquet``, ``DIR/sweep.csv``
(one row per point and replication) and ``DIR/sweep.html``; each finished (point, replication)
is kept in ``DIR/tasks/`` under the hash of its inputs, so the same command started again
reuses it (:mod:`sim.studies.sweep`, :mod:`sim.model.store`).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sim.cli import run as cli_run

HELP = "play a scenario over a grid of keys (prices, caps) with replications"
DESCRIPTION = (
    "Play a scenario at every point of a grid (--grid KEY=V1,V2,... or KEY=start:stop:step, any "
    "dotted scenario key, catalog.overrides.... included; several --grid: a full factorial), "
    "each with --replications replications on common random numbers, and write sweep.parquet, "
    "sweep.csv and sweep.html into --out. Finished tasks are kept in --out/tasks and reused."
)

TASKS_DIR = "tasks"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", metavar="SCENARIO", help="scenario name or YAML path")
    parser.add_argument(
        "--grid",
        metavar="KEY=V1,V2,...",
        action="append",
        default=[],
        required=True,
        help="a grid key and its values, or KEY=start:stop:step (stop included); repeatable: "
        "a full factorial, e.g. --grid catalog.overrides.editions.Pro.price_per_month=199:599:100",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="directory for the sweep")
    cli_run.add_scenario_arguments(parser, where=" at every point")
    parser.add_argument(
        "--workers",
        type=cli_run.workers_value,
        default="auto",
        metavar="N",
        help="processes playing the tasks (default auto: one per CPU for a large sweep, else 1; "
        "0: one per CPU); capped at the CPU count unless --oversubscribe",
    )
    cli_run.add_executor_arguments(parser)
    parser.add_argument("--yes", action="store_true", help="play a grid of more than 10,000 tasks")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sim.errors import SimError
    from sim.model.executor import make_executor, resolve_workers
    from sim.model.plan import resolve
    from sim.model.store import TaskStore
    from sim.reports.sweep import write_sweep
    from sim.studies import sweep

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise SimError(f"--out {args.out!r} exists and is not a directory")
    axes = [sweep.parse_grid(text) for text in args.grid]
    base = resolve(
        args.scenario,
        list(args.overrides),
        mode=args.mode,
        seed=args.seed,
        replications=args.replications,
    )
    plan = sweep.plan_sweep(base, axes, yes=args.yes)
    units = sum(t.size for t in plan.tasks)
    workers = resolve_workers(args.workers, units, len(plan.tasks), args.oversubscribe)
    executor = make_executor(args.cluster, workers)  # an unreachable scheduler fails here
    store = TaskStore(out / TASKS_DIR)
    bar: Any = None
    try:
        have = store.digests()
        reused = sum(t.digest in have for t in plan.tasks)
        _say(
            f"{base.name}: {len(plan.points)} points x {base.replications} replication(s) = "
            f"{len(plan.tasks)} tasks"
            + (f"; reused {reused} of {len(plan.tasks)} tasks" if reused else "")
        )
        if not args.no_progress and sys.stderr.isatty():
            bar = cli_run.Bar(sys.stderr)
        results = list(executor.map(sweep.play_point, plan.tasks, bar, store))
    finally:
        executor.close()
        if bar is not None:
            bar.close()
    df = sweep.table(plan, results)
    paths = write_sweep(out, plan, df, keep=(TASKS_DIR,))
    best = sweep.best_point(df, plan.keys)
    where = ", ".join(f"{k}={v}" for k, v in best["values"].items())
    _say(f"revenue-maximising point: {where} (mean revenue {best['revenue']['mean']:,.2f})")
    if best["edge"]:
        _say(f"warning: the maximum is at the edge of the grid for {', '.join(best['edge'])}")
    if best["reference_better"] is not None:
        _say(
            "warning: the scenario's own values (not on the grid) earn more, mean revenue "
            f"{best['reference_better']:,.2f}: the grid misses the maximum"
        )
    _say(f"wrote {', '.join(p.name for p in paths)} to {out}")
    return 0


def _say(text: str) -> None:
    print(text, file=sys.stdout)
