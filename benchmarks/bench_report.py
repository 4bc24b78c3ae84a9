"""How long a report takes: reading a run, the metrics, the figures, the files.

Plays the baseline at a reduced size in fast mode (default: a fifth of its apps, 12 months),
writes it into a temporary folder, then times each stage of ``sim report`` and prints the
figures. Not a timed assertion.

    python benchmarks/bench_report.py [--scale 0.2] [--months 12] [--replications 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sim.model.runner import run, write
from sim.reports.report import build_report, load_run
from sim.results import metrics

COUNTS = {"social": 1000, "enterprise": 400, "live": 300, "community": 300, "game": 400}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2, help="share of the baseline's apps")
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--replications", type=int, default=1)
    args = parser.parse_args()
    counts = {k: max(1, round(n * args.scale)) for k, n in COUNTS.items()}
    overrides = [f"horizon_months={args.months}"]
    overrides += [f"population.{k}.count={n}" for k, n in counts.items()]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run("baseline", mode="fast", replications=args.replications, overrides=overrides)
        write(result, Path(tmp) / "run")
        t1 = time.perf_counter()
        r = load_run(Path(tmp) / "run")
        t2 = time.perf_counter()
        metrics.all_metrics(r)
        t3 = time.perf_counter()
        page = build_report(r)
        t4 = time.perf_counter()
        page.write(Path(tmp) / "report")
        t5 = time.perf_counter()
        rows = len(r.group_counts)
    apps = sum(counts.values())
    print(
        f"baseline x{args.scale}: {apps} apps x {args.months} months x "
        f"{args.replications} replication(s), {rows:,} group-op count rows"
    )
    print(f"  run + write tables  {t1 - t0:8.2f} s")
    print(f"  read + prepare      {t2 - t1:8.2f} s")
    print(f"  metrics             {t3 - t2:8.2f} s")
    print(f"  report (metrics + {len(page.figures)} figures) {t4 - t3:8.2f} s")
    print(f"  write files         {t5 - t4:8.2f} s")


if __name__ == "__main__":
    main()
