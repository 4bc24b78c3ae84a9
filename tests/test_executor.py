"""Executors (sim.model.executor, sim.model.dask_executor) and the task store (sim.model.store):
the tables do not depend on where the shards were played; a run started again reuses its
finished shards; workers never outlive their run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from fake_run import folder_bytes
from test_model import limits_scenario

from sim.files.datasets import MANIFEST
from sim.model.plan import ShardTask, plan, resolve
from sim.model.runner import TABLES, run, run_and_write, store_path
from sim.model.shards import play_shard
from sim.model.store import TaskStore


def _bytes(d: Path) -> dict[str, bytes]:
    files = folder_bytes(d)
    assert {f.split("/")[0] for f in files} == {f"{t}.parquet" for t in TABLES} | {MANIFEST}
    return files


def test_a_dask_local_cluster_of_2_workers_writes_the_same_bytes(tmp_path: Path) -> None:
    sc = {**limits_scenario(), "replications": 2, "mode": "fast"}
    run_and_write(sc, tmp_path / "local", workers=1, shard_tenants=3)
    run_and_write(sc, tmp_path / "dask", workers=2, shard_tenants=3, cluster="local")
    local = _bytes(tmp_path / "local")
    assert len([f for f in local if f.startswith("group_ops.parquet/part-")]) > 2
    assert _bytes(tmp_path / "dask") == local  # every part, every file, the manifest
    assert not store_path(tmp_path / "dask").exists()  # the store goes once the run is written


def test_the_in_memory_run_on_dask_equals_the_local_one() -> None:
    sc = {**limits_scenario(), "mode": "fast"}
    local = run(sc, shard_tenants=5)
    dask = run(sc, shard_tenants=5, cluster="local", workers=2)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(local, name), getattr(dask, name), obj=name)
    assert dask.summary["error_rates"] == local.summary["error_rates"]


def test_the_store_gives_back_what_was_played(tmp_path: Path) -> None:
    sc = resolve({**limits_scenario(), "mode": "exact"})
    (task,) = plan(sc, sc.load_catalog(), shard_tenants=100)
    part = play_shard(task)
    store = TaskStore(tmp_path / "store")
    receipt = store.put(task.digest, part)
    assert store.has(task.digest) and store.digests() == {receipt.digest}
    back = store.get(task.digest)
    assert back.n_ops == part.n_ops and back.shard == part.shard
    for name, df in part.tables.items():
        pd.testing.assert_frame_equal(back.tables[name], df, obj=name)
    assert not [p for p in (tmp_path / "store").iterdir() if p.name.startswith(".")]


def test_the_digest_names_the_inputs() -> None:
    sc = resolve(limits_scenario())
    cat = sc.load_catalog()
    (a,) = plan(sc, cat, 100)
    (b,) = plan(resolve(limits_scenario(), ["replications=3"]), cat, 100, replications=[0])
    (c,) = plan(resolve(limits_scenario(), ["seed=6"]), cat, 100)
    (d,) = plan(
        sc,
        resolve(
            limits_scenario(), ["catalog.overrides.editions.Pro.price_per_month=1"]
        ).load_catalog(),
        100,
    )  # noqa: E501
    assert a.digest == b.digest  # replication 0 is the same work whatever the count
    assert len({a.digest, c.digest, d.digest}) == 3
    assert ShardTask(sc, cat, a.shard, compact=True).digest != a.digest


def test_a_run_interrupted_mid_way_reuses_its_finished_shards(tmp_path: Path) -> None:
    sc = {**limits_scenario(), "replications": 2, "mode": "fast"}
    run_and_write(sc, tmp_path / "whole", workers=1, shard_tenants=3, resume=False)

    def stop_after_two_shards(done: int, total: int) -> None:
        if done > 2 * 3 * 2:  # into the third shard (3 tenants x 2 months each)
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        run_and_write(sc, out, workers=1, shard_tenants=3, progress=stop_after_two_shards)
    assert not (out / "group_ops.parquet").exists()
    kept = len(TaskStore(store_path(out)).digests())
    n = len(plan(resolve(sc), resolve(sc).load_catalog(), 3))
    assert 2 <= kept < n
    said: list[str] = []
    run_and_write(sc, out, workers=1, shard_tenants=3, notify=said.append)
    assert said == [f"reused {kept} of {n} tasks"]
    assert _bytes(out) == _bytes(tmp_path / "whole")
    assert not store_path(out).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# -- workers never outlive their run ---------------------------------------------------------------


def _start_run(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, list[psutil.Process]]:
    """`sim run` of the baseline in 2 worker processes; returns once both workers are up."""
    cmd = [sys.executable, "-m", "sim", "run", "baseline", "--set", "horizon_months=6"]
    cmd += ["--workers", "2", "--oversubscribe", "--no-progress", "--out", str(tmp_path / "o")]
    proc = subprocess.Popen(
        [*cmd, *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell gives a job
    )
    deadline = time.monotonic() + 60
    kids: list[psutil.Process] = []
    while time.monotonic() < deadline and proc.poll() is None:
        kids = [k for k in psutil.Process(proc.pid).children(recursive=True) if k.is_running()]
        workers = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
        if len(workers) >= 2:
            time.sleep(1.0)  # let them start playing
            return proc, kids
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"the workers did not start: {proc.communicate()}")


def _check_ended(proc: subprocess.Popen, kids: list[psutil.Process], tmp_path: Path) -> None:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert err.strip().splitlines() == ["sim: interrupted; nothing written"], err
    gone, alive = psutil.wait_procs(kids, timeout=10)
    assert not alive, f"orphaned workers: {alive}"
    assert not [p for p in tmp_path.rglob("*.tmp")]  # no temporary folder left
    assert not (tmp_path / "o" / "group_ops.parquet").exists()


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT"])
def test_an_interrupted_run_ends_its_workers(tmp_path: Path, how: str) -> None:
    proc, kids = _start_run(tmp_path)
    if how == "SIGINT":  # Ctrl-C: the terminal signals the whole process group
        os.killpg(proc.pid, signal.SIGINT)
    else:
        proc.send_signal(signal.SIGTERM)
    _check_ended(proc, kids, tmp_path)


def test_workers_die_with_a_killed_main_process(tmp_path: Path) -> None:
    proc, kids = _start_run(tmp_path)
    workers = [k for k in kids if "spawn_main" in " ".join(k.cmdline())]
    proc.kill()  # kill -9: no clean-up runs in the main process
    proc.wait()
    gone, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"orphaned workers: {alive}"


class _Task:
    def __init__(self, n: int) -> None:
        self.n, self.size, self.digest, self.label = n, 1, f"d{n}", f"point p={n}"


def _fails_on_two(task: _Task, tick: object = None) -> int:
    if task.n == 2:
        raise ZeroDivisionError("boom")
    return task.n * 10


def test_a_failing_task_is_one_error_naming_it() -> None:
    from sim.errors import SimError
    from sim.model.dask_executor import DaskExecutor
    from sim.model.executor import LocalExecutor

    tasks = [_Task(n) for n in range(4)]
    assert list(LocalExecutor(1).map(_fails_on_two, tasks[:2])) == [0, 10]
    with pytest.raises(SimError, match=r"point p=2 failed: ZeroDivisionError: boom"):
        list(LocalExecutor(1).map(_fails_on_two, tasks))
    dask = DaskExecutor("local", 2, processes=False)
    try:
        with pytest.raises(SimError, match=r"point p=2 failed 2 times on the cluster"):
            list(dask.map(_fails_on_two, tasks))
    finally:
        dask.close()
