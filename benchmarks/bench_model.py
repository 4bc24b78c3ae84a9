"""Benchmark of the SimPy model: operations per second in each mode on the same scenario, their
ratio, tenant-months per second and peak memory; then the fast mode alone at a larger size, and
what that gives, extrapolated linearly in tenant-months, for the target size (100,000 apps x 24
months: under 10 minutes and 8 GB).

    .venv/bin/python benchmarks/bench_model.py [--tenants N] [--months M] [--fast-tenants N]
                                               [--fast-months M] [--target-tenants N]

Prints figures; asserts nothing (benchmarks are not tests). Peak memory is the process's
maximum resident set size (``resource.getrusage``), measured in a fresh subprocess per run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
from sim.fastmode import FastModel
from sim.model import ExactModel
from sim.scenario import load_scenario
mode, tenants, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = load_scenario("baseline")
total = base.n_tenants
sets = [f"population.{k}.count={max(1, round(a.count * tenants / total))}"
        for k, a in base.population.items()]
sc = load_scenario("baseline", [*sets, f"horizon_months={months}"])
cat = sc.load_catalog()
t0 = time.perf_counter()
raw = (ExactModel if mode == "exact" else FastModel)(sc, cat).run()
wall = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"mode": mode, "tenants": sc.n_tenants, "months": months, "ops": raw.n_ops,
                  "wall_s": wall, "rss_mb": rss_mb}))
"""


def measure(mode: str, tenants: int, months: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(tenants), str(months)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def show(r: dict) -> None:
    tm = r["tenants"] * r["months"]
    print(
        f"{r['mode']:>5}: {r['tenants']} tenants x {r['months']} months, {r['ops']:,} group "
        f"operations in {r['wall_s']:.1f} s: {r['ops'] / r['wall_s']:,.0f} ops/s, "
        f"{tm / r['wall_s']:,.1f} tenant-months/s, peak memory {r['rss_mb']:,.0f} MB"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=240, help="tenants for the comparison")
    ap.add_argument("--months", type=int, default=3)
    ap.add_argument("--fast-tenants", type=int, default=2400, help="tenants, fast mode alone")
    ap.add_argument("--fast-months", type=int, default=24)
    ap.add_argument("--target-tenants", type=int, default=100_000)
    args = ap.parse_args()
    exact = measure("exact", args.tenants, args.months)
    fast = measure("fast", args.tenants, args.months)
    show(exact)
    show(fast)
    ratio = (fast["ops"] / fast["wall_s"]) / (exact["ops"] / exact["wall_s"])
    print(f"fast / exact operations per second: {ratio:.1f}x (target 20x)")
    if args.fast_tenants:
        big = measure("fast", args.fast_tenants, args.fast_months)
        show(big)
        scale = args.target_tenants * args.fast_months / (big["tenants"] * big["months"])
        print(
            f"extrapolated to {args.target_tenants:,} tenants x {args.fast_months} months "
            f"(linear in tenant-months): {big['wall_s'] * scale / 60:,.1f} min, "
            f"peak memory {big['rss_mb'] * args.target_tenants / big['tenants'] / 1024:,.1f} GB"
        )


if __name__ == "__main__":
    main()
