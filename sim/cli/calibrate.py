"""``sim calibrate OBSERVED --scenario SCENARIO --out DIR``: fit a scenario's tenant population
to observed usage and console operations (:mod:`sim.studies.calibrate`) and write
``calibrated.yaml``, ``fit.csv`` and ``fit.html`` into ``DIR`` (all or none).

Registered in :data:`sim.cli.app.SUBCOMMANDS`; heavy modules are imported inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

HELP = "fit a scenario's tenant population to observed usage and operations"
DESCRIPTION = (
    "Fit the archetype parameters of SCENARIO, per segment, to the tables in OBSERVED (usage, "
    "console_ops and optionally group_ops, as CSV or Parquet: the columns sim run writes) and "
    "write calibrated.yaml (a scenario sim run accepts), fit.csv (segment, parameter, estimate, "
    "ci_low, ci_high, prior, method) and fit.html (observed vs simulated, with KS distances "
    "and verdicts) into --out."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("observed", metavar="OBSERVED", help="folder with the observed tables")
    parser.add_argument(
        "--scenario", metavar="SCENARIO", required=True, help="scenario name or YAML path"
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="directory for the outputs")
    parser.add_argument(
        "--segments",
        metavar="COLUMN",
        default=None,
        help="column (in usage or console_ops) giving each app's archetype of SCENARIO "
        "(default: a column 'segment' if there is one, else the likelihood rule)",
    )
    parser.add_argument(
        "--replications",
        type=_positive,
        default=1,
        metavar="N",
        help="replications of the goodness-of-fit run (default 1)",
    )
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS",
        default=None,
        help="Dask scheduler (tcp://HOST:PORT, or 'local' for a LocalCluster) on which the "
        "model runs play their shards (default: this process)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number >= 1")
    return n


class StepBar:
    """A one-line progress bar over the calibration's steps (each a model run or a fit)."""

    def __init__(self, stream: Any, width: int = 30) -> None:
        self.stream, self.width, self.t0 = stream, width, time.perf_counter()

    def __call__(self, label: str, done: int, total: int) -> None:
        fill = int(self.width * done / max(total, 1))
        elapsed = time.perf_counter() - self.t0
        self.stream.write(
            f"\r[{'#' * fill}{'.' * (self.width - fill)}] {done}/{total} {label}, "
            f"{elapsed:,.1f} s\x1b[K"
        )
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from sim.model.scenario import load_scenario
    from sim.reports.calibrate import fit_html
    from sim.studies.calibrate import calibrate, write_outputs

    sc = load_scenario(args.scenario)
    bar = StepBar(sys.stderr) if not args.no_progress and sys.stderr.isatty() else None
    try:
        cal = calibrate(
            args.observed, sc, args.segments, args.replications, bar, cluster=args.cluster
        )
    finally:
        if bar is not None:
            bar.close()
    files = {
        "calibrated.yaml": cal.yaml_text.encode("utf-8"),
        "fit.csv": cal.table().to_csv(index=False, float_format="%.6g").encode("utf-8"),
        "fit.html": fit_html(cal, f"sim calibrate: {sc.name} fitted to {args.observed}").encode(
            "utf-8"
        ),
    }
    write_outputs(args.out, files)
    worst = cal.gof.loc[cal.gof["verdict"] == "poor"]
    print(cal.notes[0])
    print(
        f"{len(cal.estimates)} estimates for {len(cal.segments)} segment(s); goodness of fit: "
        f"{len(worst)} poor of {int((cal.gof['verdict'] != 'n/a').sum())} figures"
    )
    print(f"wrote calibrated.yaml, fit.csv, fit.html to {args.out}")
    return 0
