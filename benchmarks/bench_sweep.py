"""Executors and sweeps: tasks per second, the speedup of 2 workers over 1, the overhead of the
Dask path against the local executor on the baseline (``sim run`` always writes through its
task store since its workers write their own parts: ``benchmarks/bench_parts.py`` measures the
client's side).

    .venv/bin/python benchmarks/bench_sweep.py [--quick]

Prints one JSON line per measurement and the ratios, each against a reference measured in the
same process (the machine is shared: absolute times vary, ratios less). ``--quick`` skips the
baseline runs (about 4 minutes on two cores).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from sim.model.dask_executor import DaskExecutor
from sim.model.executor import LocalExecutor
from sim.model.plan import resolve
from sim.model.runner import run_and_write
from sim.studies import sweep

PRO = "catalog.overrides.editions.Pro.price_per_month"


def _small() -> dict:
    return {
        "name": "bench-sweep",
        "start": "2024-01-01",
        "horizon_months": 6,
        "seed": 7,
        "replications": 2,
        "mode": "fast",
        "population": {a: {"count": 20} for a in ("social", "enterprise", "live", "game")},
    }


def _sweep(executor: object, plan: sweep.Sweep) -> float:
    t0 = time.perf_counter()
    list(executor.map(sweep.play_point, plan.tasks))  # type: ignore[attr-defined]
    executor.close()  # type: ignore[attr-defined]
    return time.perf_counter() - t0


def tasks_per_second() -> None:
    base = resolve(_small())
    plan = sweep.plan_sweep(base, [sweep.parse_grid(f"{PRO}=199:599:100")])
    n = len(plan.tasks)
    one = _sweep(LocalExecutor(1), plan)
    two = _sweep(LocalExecutor(2), plan)
    dask = DaskExecutor("local", 2)
    dask_two = _sweep(dask, plan)
    for what, wall in (("local, 1 worker", one), ("local, 2 workers", two), ("dask, 2", dask_two)):
        row = {"what": f"sweep {what}", "tasks": n, "wall_s": round(wall, 2)}
        print(json.dumps({**row, "tasks_per_s": round(n / wall, 2)}))
    print(
        f"speedup of 2 workers over 1: {one / two:.2f}x (dask LocalCluster: {one / dask_two:.2f}x)"
    )


def baseline_overhead() -> None:
    """The baseline by ``sim run``'s path (workers write their parts into the task store) on
    the local executor and on a Dask LocalCluster, 2 workers each."""
    with tempfile.TemporaryDirectory() as tmp:
        walls = {}
        for what, kw in (("local", {}), ("dask LocalCluster", {"cluster": "local"})):
            t0 = time.perf_counter()
            run_and_write("baseline", Path(tmp) / what.replace(" ", "_"), workers=2, **kw)
            walls[what] = time.perf_counter() - t0
            print(
                json.dumps(
                    {"what": f"baseline, 2 workers, {what}", "wall_s": round(walls[what], 2)}
                )
            )
        ratio = walls["dask LocalCluster"] / walls["local"] - 1
        print(f"dask path overhead against the local executor: {ratio:+.1%}")


if __name__ == "__main__":
    tasks_per_second()
    if "--quick" not in sys.argv:
        baseline_overhead()
