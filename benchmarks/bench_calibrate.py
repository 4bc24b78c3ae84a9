"""Benchmark of ``sim calibrate`` on the baseline's own output: about 2,000 apps x 24 months.

Run: ``python benchmarks/bench_calibrate.py [--scale 0.5625] [--out /tmp/bench-calibrate]``.
Plays the baseline with every count (at least 5: the fewest a segment fits) and arrival rate
scaled by ``--scale`` (0.5625: 1,999 apps in all), writes its tables as observed input (the
model-only columns ``archetype``, ``policy``, ``replication`` dropped; the archetype kept as a
``segment`` column of ``usage``), then times ``sim calibrate`` end to end (read, fit, the
simulated moments' runs, the goodness-of-fit run, fit.html). Prints both times and their ratio
(the machine may be shared: the ratio to the same process's ``sim.run`` is the steadier
figure). ``--reference SRC``: also times ``sim calibrate`` of another source tree (e.g. ``git
archive`` of an earlier commit unpacked in SRC) on the same tables, in the same run, and prints
the ratio. Not a timed assertion (STYLE.md: benchmarks print their figures).

``--whatif N``: the price-response recovery at full size instead: the shipped
``whatif-cn-pro-1499`` (2,000 apps at the start) played 12 months at ``wtp_scale`` 14.4 (its
own 7.2) with N seeds, each calibrated against the what-if; prints the recovered
``wtp_scale``, upgrade ``threshold`` and ``reaction_days`` with their intervals against the
truth (14.4, 20, 5).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import sim
from sim.model.scenario import load_scenario
from sim.studies.calibrate import calibrate

WHATIF = "whatif-cn-pro-1499"
TRUTH = {
    "behaviour.wtp_scale": 14.4,
    "behaviour.policies.upgrade_on_errors.threshold": 20.0,
    "behaviour.policies.upgrade_on_errors.reaction_days": 5.0,
}


def observed(scale: float, out: Path) -> tuple[int, float]:
    """Write the scaled baseline's tables into ``out``; the apps and the seconds it took."""
    base = load_scenario("baseline")
    sets = []
    for name, a in base.population.items():
        count = max(round(a.count * scale), min(a.count, 5))  # (5: the fewest a segment fits)
        sets.append(f"population.{name}.count={count}")
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


def timed_cli(args: list[str], src: Path | None = None) -> float:
    """Seconds ``sim calibrate ARGS`` takes in a fresh process (``src``: another source tree
    first on the path)."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    code = "import sys; from sim.cli.app import main; sys.exit(main(sys.argv[1:]))"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-P", "-c", code, *args], env=env, check=True)
    return time.perf_counter() - t0


def whatif(seeds: int, out: Path) -> None:
    """Recovery of the price response (and the upgrade policy) at full size, per seed."""
    sc = load_scenario(WHATIF)
    for k in range(seeds):
        seed = sc.seed + k
        sets = ["horizon_months=12", "behaviour.wtp_scale=14.4", f"seed={seed}"]
        r = sim.run(WHATIF, overrides=sets)
        folder = out / f"observed-{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("usage", "console_ops", "group_ops"):
            df = getattr(r, name)
            df.drop(columns=[c for c in ("policy", "replication") if c in df]).to_parquet(
                folder / f"{name}.parquet"
            )
        t0 = time.perf_counter()
        cal = calibrate(folder, sc, segments="archetype")
        seconds = time.perf_counter() - t0
        by = {e.parameter: e for e in cal.estimates if e.segment == "all"}
        for parameter, truth in TRUTH.items():
            e = by[parameter]
            print(
                f"seed {seed}: {parameter.rsplit('.', 1)[-1]} {e.estimate:.4g} "
                f"[{e.ci_low:.4g}, {e.ci_high:.4g}] vs true {truth:g} "
                f"({'covered' if e.ci_low <= truth <= e.ci_high else 'NOT covered'})"
            )
        print(f"seed {seed}: sim calibrate {seconds:.0f} s", flush=True)


def main_bench() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=float, default=0.5625)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench-calibrate"))
    p.add_argument("--reference", type=Path, help="another source tree to time alike")
    p.add_argument("--whatif", type=int, default=0, metavar="N", help="price recovery, N seeds")
    args = p.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    if args.whatif:
        whatif(args.whatif, args.out)
        return
    apps, run_s = observed(args.scale, args.out / "observed")
    observed_dir, fit_dir = str(args.out / "observed"), str(args.out / "fit")
    cli = ["calibrate", observed_dir, "--scenario", "baseline", "--no-progress"]
    cal_s = timed_cli([*cli, "--out", fit_dir])
    print(f"apps observed: {apps:,} x 24 months (baseline scaled by {args.scale})")
    print(f"sim.run of the observed tables: {run_s:,.1f} s")
    print(f"sim calibrate: {cal_s:,.1f} s = {cal_s / run_s:.2f} x the run")
    if args.reference is not None:
        ref_s = timed_cli([*cli, "--out", fit_dir + "-reference"], args.reference)
        print(
            f"sim calibrate of {args.reference}: {ref_s:,.1f} s; this tree / it: "
            f"{cal_s / ref_s:.2f}"
        )


if __name__ == "__main__":
    main_bench()
