"""Benchmark of the SimPy model: operations per second in each mode on the same scenario, their
ratio, tenant-months per second and peak memory; then ``sim run`` end to end in the fast mode at
a larger size (shards in worker processes, tables written), and what that gives for the target
(100,000 apps x 24 months: under 10 minutes and 8 GB), measured (``--full``) or extrapolated.

    .venv/bin/python benchmarks/bench_model.py [--tenants N] [--months M] [--big-tenants N]
                                               [--big-months M] [--workers N] [--full]

Prints figures; asserts nothing (benchmarks are not tests). Each run is a fresh subprocess.
Peak memory: for the mode comparison, the process's maximum resident set size; for ``sim run``,
the largest sum of the resident sets of the run's process and its workers, sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MODEL = r"""
import json, resource, sys, time
from sim.model.fast import FastModel
from sim.model.exact import ExactModel
from sim.model.scenario import load_scenario
mode, tenants, months = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
base = load_scenario("baseline")
sets = [f"population.{k}.count={max(1, round(a.count * tenants / base.n_tenants))}"
        for k, a in base.population.items()]
sc = load_scenario("baseline", [*sets, f"horizon_months={months}"])
cat = sc.load_catalog()
t0 = time.perf_counter()
raw = (ExactModel if mode == "exact" else FastModel)(sc, cat).run()
wall = time.perf_counter() - t0
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"what": f"{mode} model", "tenants": sc.n_tenants, "months": months,
                  "ops": raw.n_ops, "wall_s": wall, "rss_mb": rss_mb}))
"""

RUN = r"""
import json, sys, time
from sim.model.runner import run_and_write
from sim.model.scenario import load_scenario
tenants, months, workers, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
base = load_scenario("baseline")
sets = [f"population.{k}.count={max(1, round(a.count * tenants / base.n_tenants))}"
        for k, a in base.population.items()]
sc = load_scenario("baseline", [*sets, f"horizon_months={months}", "replications=1"])
t0 = time.perf_counter()
s, paths = run_and_write(sc, out, mode="fast",
                         workers=workers if workers == "auto" else int(workers))
wall = time.perf_counter() - t0
size = sum(f.stat().st_size for p in paths for f in ([p] if p.is_file() else p.rglob("*")))
print(json.dumps({"what": "sim run (fast)", "tenants": sc.n_tenants, "months": months,
                  "ops": s["group_operations"], "wall_s": wall, "bytes": size}))
"""


def _rss_tree_kb(root: int) -> int:
    """Resident set of ``root`` and its descendants, in kB (Linux /proc)."""
    parent: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
    tree, frontier = {root}, [root]
    while frontier:
        p = frontier.pop()
        for child, par in parent.items():
            if par == p and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree)


def measure(code: str, *args: str) -> dict:
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _rss_tree_kb(proc.pid))
            time.sleep(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, _ = proc.communicate()
    done.set()
    th.join()
    if proc.returncode:
        raise SystemExit(f"benchmark child failed ({proc.returncode})")
    r = json.loads(out.strip().splitlines()[-1])
    r.setdefault("rss_mb", peak / 1024)
    r["tree_mb"] = peak / 1024
    return r


def show(r: dict) -> None:
    tm = r["tenants"] * r["months"]
    extra = f", {r['bytes'] / 2**20:,.0f} MB written" if "bytes" in r else ""
    print(
        f"{r['what']:>15}: {r['tenants']:,} tenants x {r['months']} months, {r['ops']:,} group "
        f"operations in {r['wall_s']:.1f} s: {r['ops'] / r['wall_s']:,.0f} ops/s, "
        f"{tm / r['wall_s']:,.0f} tenant-months/s, peak memory {r['tree_mb']:,.0f} MB{extra}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tenants", type=int, default=2000, help="tenants for the mode comparison")
    ap.add_argument("--months", type=int, default=6)
    ap.add_argument("--big-tenants", type=int, default=10_000, help="tenants for `sim run`")
    ap.add_argument("--big-months", type=int, default=24)
    ap.add_argument("--workers", default="auto", help="worker processes for `sim run`")
    ap.add_argument("--target-tenants", type=int, default=100_000)
    ap.add_argument("--full", action="store_true", help="run the target size itself")
    args = ap.parse_args()
    exact = measure(MODEL, "exact", str(args.tenants), str(args.months))
    fast = measure(MODEL, "fast", str(args.tenants), str(args.months))
    show(exact)
    show(fast)
    ratio = (fast["ops"] / fast["wall_s"]) / (exact["ops"] / exact["wall_s"])
    print(f"fast / exact operations per second, one process each: {ratio:.1f}x (target 20x)")
    tenants = args.target_tenants if args.full else args.big_tenants
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        big = measure(RUN, str(tenants), str(args.big_months), args.workers, str(Path(tmp) / "o"))
    show(big)
    print(
        f"fast with {args.workers} workers, end to end / exact model: "
        f"{(big['ops'] / big['wall_s']) / (exact['ops'] / exact['wall_s']):.1f}x"
    )
    if not args.full:
        scale = args.target_tenants / big["tenants"]
        print(
            f"extrapolated to {args.target_tenants:,} tenants x {args.big_months} months "
            f"(linear in tenants; memory is bounded by the shards, not the run): "
            f"{big['wall_s'] * scale / 60:,.1f} min"
        )


if __name__ == "__main__":
    main()
