"""Benchmark of ``sim calibrate`` on the baseline's own output: about 2,000 apps x 24 months.

Run: ``python benchmarks/bench_calibrate.py [--scale 0.5625] [--out /tmp/bench-calibrate]``.
Plays the baseline with every count and arrival rate scaled by ``--scale`` (0.5625: 1,242
apps at the start and 756 arriving, 1,998 in all), writes its tables as observed input (the
model-only columns ``archetype``, ``policy``, ``replication`` dropped; the archetype kept as a
``segment`` column of ``usage``), then times ``sim calibrate`` end to end (read, fit, the
simulated moments' runs, the goodness-of-fit run, fit.html). Prints both times and their ratio
(the machine may be shared: the ratio to the same process's ``sim.run`` is the steadier
figure). Not a timed assertion (STYLE.md: benchmarks print their figures).
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import sim
from sim.cli.app import main
from sim.model.scenario import load_scenario


def observed(scale: float, out: Path) -> tuple[int, float]:
    """Write the scaled baseline's tables into ``out``; the apps and the seconds it took."""
    base = load_scenario("baseline")
    sets = []
    for name, a in base.population.items():
        sets.append(f"population.{name}.count={round(a.count * scale)}")
        sets.append(f"population.{name}.arrivals_per_month={a.arrivals_per_month * scale:.4g}")
    t0 = time.perf_counter()
    r = sim.run("baseline", overrides=sets)
    seconds = time.perf_counter() - t0
    seg = r.console_ops.drop_duplicates("app").set_index("app")["archetype"].astype(str)
    out.mkdir(parents=True, exist_ok=True)
    usage = r.usage.drop(columns="replication")
    usage["segment"] = usage["app"].map(seg)
    usage.to_parquet(out / "usage.parquet")
    r.console_ops.drop(columns=["archetype", "policy", "replication"]).to_parquet(
        out / "console_ops.parquet"
    )
    r.group_ops.drop(columns="replication").to_parquet(out / "group_ops.parquet")
    return int(usage["app"].nunique()), seconds


def main_bench() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.5625)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench-calibrate"))
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    apps, run_s = observed(args.scale, args.out / "observed")
    t0 = time.perf_counter()
    observed_dir, fit_dir = str(args.out / "observed"), str(args.out / "fit")
    code = main(["calibrate", observed_dir, "--scenario", "baseline", "--out", fit_dir])
    cal_s = time.perf_counter() - t0
    print(f"apps observed: {apps:,} x 24 months (baseline scaled by {args.scale})")
    print(f"sim.run of the observed tables: {run_s:,.1f} s")
    print(f"sim calibrate (exit {code}): {cal_s:,.1f} s = {cal_s / run_s:.2f} x the run")


if __name__ == "__main__":
    main_bench()
