"""Benchmark of the client's share of ``sim run``: the time and memory the main process spends
writing a run's outputs once every shard has been played, with this checkout's code and,
side by side, another checkout's (``--reference``, e.g. the main branch before the workers
wrote their own parts).

    .venv/bin/python benchmarks/bench_parts.py [--apps 20000] [--months 24] [--repeat 2]
                                               [--reference /work/main]

Each code plays the run once into its task store (``PARENT/.NAME.sim-tasks``) with 2 worker
processes (not measured); then a fresh process runs ``run_and_write`` with every task in the
store, so that it plays nothing and only assembles: its wall time and its peak resident set
above what it held before the call are the client's cost of writing the outputs. The store is
cloned with hard links before each write, so the write can be repeated. Prints figures and the
ratios; asserts nothing (benchmarks are not tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from sim.model import runner
from sim.model.runner import prepare_run, store_path
from sim.model.scenario import load_scenario
from sim.model.shards import play_shard
from sim.model.store import TaskStore

what, apps, months, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
base = load_scenario("baseline")
sets = [f"population.{k}.count={max(1, round(a.count * apps / base.n_tenants))}"
        for k, a in base.population.items()]
sets += [f"horizon_months={months}", "replications=1", "mode=fast"]

def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

if what == "play":
    p = prepare_run("baseline", sets, workers=2, oversubscribe=True, compact=True)
    by = getattr(runner, "by_workers", None)  # this branch: the tables the workers write
    store = TaskStore(store_path(out), by(p.scenario.mode)) if by else TaskStore(store_path(out))
    try:
        for _ in p.executor.map(play_shard, p.tasks, None, store):
            pass
    finally:
        p.executor.close()
    print(json.dumps({"tasks": len(p.tasks), "tenants": p.scenario.n_tenants}))
else:
    before = rss_mb()
    t0 = time.perf_counter()
    said = []
    s, paths = runner.run_and_write("baseline", out, overrides=sets, workers=1, notify=said.append)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(json.dumps({"wall_s": wall, "rss_before_mb": before, "peak_mb": peak, "said": said,
                      "bytes": size, "files": sum(1 for f in out.rglob("*") if f.is_file())}))
"""


def child(code: Path, *args: str) -> dict:
    py = code / ".venv" / "bin" / "python"
    env = {**os.environ, "PYTHONPATH": str(code)}
    proc = subprocess.run(
        [str(py), "-c", CHILD, *args], cwd=code, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"{code}: {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def clone(src: Path, dst: Path) -> None:
    shutil.copytree(src, dst, copy_function=os.link)


def measure(code: Path, tmp: Path, apps: int, months: int, repeat: int) -> list[dict]:
    out = tmp / code.name / "run"
    out.parent.mkdir(parents=True)
    store = out.parent / f".{out.name}.sim-tasks"
    played = child(code, "play", str(apps), str(months), str(out))
    master = out.parent / "store-master"
    store.rename(master)
    got = []
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        clone(master, store)
        got.append({**played, **child(code, "write", str(apps), str(months), str(out))})
    shutil.rmtree(out.parent)
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--reference", default=None, help="another checkout, with its .venv")
    args = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    codes = [here] + ([Path(args.reference).resolve()] if args.reference else [])
    tmp = Path(tempfile.mkdtemp(prefix="bench-parts-"))
    results: dict[str, dict] = {}
    try:
        for code in codes:
            runs = measure(code, tmp, args.apps, args.months, args.repeat)
            best = min(runs, key=lambda r: r["wall_s"])
            if any(not r["said"] for r in runs):
                print(f"warning: {code}: not every task was in the store; the write played some")
            walls = ", ".join(f"{r['wall_s']:.2f}" for r in runs)
            results[str(code)] = best
            print(
                f"{str(code):24s} {best['tenants']:,} apps x {args.months} months, "
                f"{best['tasks']} shards: write {best['wall_s']:6.2f} s "
                f"(of {walls}), "
                f"peak {best['peak_mb']:6.0f} MB, +{best['peak_mb'] - best['rss_before_mb']:5.0f}"
                f" MB over {best['rss_before_mb']:.0f} MB before the call; "
                f"{best['bytes'] / 2**20:.0f} MB in {best['files']} files"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if len(results) == 2:
        new, ref = results[str(codes[0])], results[str(codes[1])]
        grow = lambda r: r["peak_mb"] - r["rss_before_mb"]  # noqa: E731
        print(
            f"this checkout / reference: write time {new['wall_s'] / ref['wall_s']:.3f}, "
            f"memory added by the write {grow(new) / max(grow(ref), 1):.3f}"
        )


if __name__ == "__main__":
    main()
