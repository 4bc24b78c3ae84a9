"""Peak memory and time of ``sim report`` (and ``sim compare``) on a run of a given size.

Plays the baseline scaled to ``--apps`` apps over ``--months`` months in fast mode with
``sim run`` (or reads an existing run folder, ``--run-dir``), then runs ``sim report`` on it in
a child process and prints its wall time and peak resident memory (``ru_maxrss`` of the child,
``resource.getrusage(RUSAGE_CHILDREN)``), beside the size of the run's tables. With
``--compare``, also ``sim compare`` of the run against itself under another directory name
(the same figures twice: the cost of a comparison). Not a timed assertion.

    python benchmarks/bench_report.py --apps 10000 --months 12
    python benchmarks/bench_report.py --run-dir /tmp/big --compare
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARES = {"social": 0.4, "enterprise": 0.175, "live": 0.125, "community": 0.125, "game": 0.175}
SIM = [sys.executable, "-m", "sim"]


def child(args: list[str]) -> tuple[float, float, float]:
    """Run ``sim ARGS`` in a child process: (wall seconds, peak resident memory of the
    largest single process in MB, peak of the whole process tree in MB).

    The first is ``ru_maxrss`` of the children (``resource.getrusage(RUSAGE_CHILDREN)`` in an
    intermediate process, so that each measurement is alone); ``sim report`` tallies a large
    run in worker processes, so the second sums the tree's resident memory, sampled every
    0.1 s with psutil (NaN without it)."""
    code = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "rc = subprocess.run(sys.argv[1:]).returncode\n"
        "dt = time.perf_counter() - t\n"
        "kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(f'{dt} {kb}', file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *SIM, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    tree = 0.0
    try:
        import psutil

        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                procs = [root, *root.children(recursive=True)]
                total = 0
                for p in procs:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
                tree = max(tree, total / 2**20)
            time.sleep(0.1)
    except ImportError:
        tree = math.nan
    err = proc.communicate()[1]
    if proc.returncode != 0:
        raise SystemExit(f"sim {' '.join(args)} failed:\n{err[-2000:]}")
    wall, kb = err.strip().splitlines()[-1].split()
    return float(wall), int(kb) / 1024, tree


def rows(run_dir: Path) -> str:
    import pyarrow.parquet as pq

    from sim.files.datasets import parquet_files

    parts = []
    for name in ("group_ops", "usage", "bills", "timeline"):
        f = run_dir / f"{name}.parquet"  # a file, or a dataset folder of parts
        if f.exists():
            n = sum(pq.ParquetFile(p).metadata.num_rows for p in parquet_files(f))
            parts.append(f"{name} {n:,}")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=2000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--replications", type=int, default=1)
    parser.add_argument("--run-dir", default=None, help="an existing run folder to report")
    parser.add_argument("--compare", action="store_true", help="time sim compare too")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-report-"))
    try:
        run_dir = Path(args.run_dir) if args.run_dir else tmp / "run"
        if not args.run_dir:
            sets = [f"horizon_months={args.months}"]
            sets += [
                f"population.{k}.count={max(1, round(args.apps * v))}" for k, v in SHARES.items()
            ]
            wall, mb, tree = child(
                ["run", "baseline", "--replications", str(args.replications), "--out", str(run_dir)]
                + [a for s in sets for a in ("--set", s)]
            )
            print(f"sim run      {wall:8.1f} s  peak {mb:8.0f} MB (tree {tree:6.0f} MB)")
        print(f"run: {run_dir} ({rows(run_dir)})")
        wall, mb, tree = child(["report", str(run_dir), "--out", str(tmp / "report")])
        print(f"sim report   {wall:8.1f} s  peak {mb:8.0f} MB (tree {tree:6.0f} MB)")
        if args.compare:
            twin = tmp / "twin"  # the same files under another name (hard links)
            shutil.copytree(run_dir, twin, copy_function=os.link)
            wall, mb, tree = child(["compare", str(run_dir), str(twin), "--out", str(tmp / "cmp")])
            print(f"sim compare  {wall:8.1f} s  peak {mb:8.0f} MB")
        print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
