"""A replay decided in worker processes, the apps split among them, gives the outputs of one
engine over the whole log byte for byte (apps share no engine state), errors included.

The partition and the merge are checked on many generated logs in this process (the batches
decided one after the other, hypothesis); real spawned workers on a seeded log, through the
API and through the command line.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim.replayer as replayer
from sim.cli.app import main
from sim.errors import InputError
from sim.files.catalogs import load_catalog
from sim.files.opslog import read_ops
from sim.model.executor import LocalExecutor
from sim.replayer import PARALLEL_MIN_OPS, replay, replay_workers

APPS = ("a", "b", "c", "d", "e")
GROUP_OPS = ("join_group", "leave_group", "dissolve_group", "register_user")


def seeded_log(n: int, seed: int, n_apps: int = 12) -> pd.DataFrame:
    """Every kind of operation over ``n_apps`` apps, with ties in time, members lists, prepaid
    packages (some lapsing), pack options, refusals of every kind; valid (every group used
    is created before)."""
    rng = np.random.default_rng(seed)
    apps = [f"app{i}" for i in range(n_apps)]
    rows: list[dict[str, object]] = [{"app": a, "op": "create_app"} for a in apps]
    created: dict[str, list[str]] = {a: [] for a in apps}
    for k in range(n):
        a = apps[int(rng.integers(n_apps))]
        r = rng.random()
        user = f"u{int(rng.zipf(1.7)) % 40}"
        if r < 0.03:
            op = str(rng.choice(["upgrade", "reconfigure", "downgrade", "buy_prepaid"]))
            row = {"app": a, "op": op, "edition": str(rng.choice(["Pro", "Ultimate", "Trial"]))}
            if rng.random() < 0.5:
                row["members_per_group"] = str(rng.choice([200, 2000, 6000]))
            if op == "buy_prepaid":
                row["months"] = str(int(rng.integers(1, 3)))
                row["live_unlimited"] = str(rng.choice(["true", "false", ""]))
            rows.append(row)
        elif r < 0.035:
            rows.append({"app": a, "op": "deactivate"})
        elif r < 0.15 or not created[a]:
            g = f"g{k}"
            created[a].append(g)
            gtype = str(rng.choice(["Work", "Public", "Meeting", "AVChatRoom", "Community"]))
            members = ";".join(f"u{int(m)}" for m in rng.integers(0, 40, int(rng.integers(0, 4))))
            rows.append(
                {"app": a, "op": "create_group", "user": user, "group": g}
                | {"group_type": gtype, "members": members}
            )
        else:
            g = created[a][int(rng.integers(len(created[a])))]
            op = str(rng.choice(GROUP_OPS, p=[0.7, 0.15, 0.05, 0.1]))
            rows.append({"app": a, "op": op, "user": user, "group": g})
    df = pd.DataFrame(rows).fillna("")
    # minutes apart with ties, over about three months (prepaid packages lapse)
    minutes = np.cumsum(rng.integers(0, 2, len(df)) * rng.integers(1, 300, len(df)))
    df.insert(0, "time", (pd.Timestamp("2024-01-01") + pd.to_timedelta(minutes, "min")))
    df["time"] = df["time"].dt.strftime("%Y-%m-%dT%H:%M:%S")
    return df


class InProcess:
    """An executor of ``workers`` that plays the tasks one after the other in this process."""

    def __init__(self, workers: int, here: bool = False) -> None:
        self.workers = workers
        self.tasks: list[object] = []

    def start(self, imports: object = ()) -> None:
        pass

    def close(self) -> None:
        pass

    def map(self, fn, tasks):
        self.tasks = list(tasks)
        return LocalExecutor(1).map(fn, tasks)


def in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches decided one after the other in this process (the partition and merge alone)."""
    monkeypatch.setattr(replayer, "LocalExecutor", InProcess)


def assert_same(a: replayer.ReplayResult, b: replayer.ReplayResult) -> None:
    for name in ("outcomes", "timeline", "purchases", "bills"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("parts", [2, 3, 7])
def test_parts_decide_as_one_engine(monkeypatch, seed, parts):
    log = seeded_log(3000, seed)
    serial = replay(log)
    assert (~serial.outcomes["ok"]).sum() > 100  # refusals of several kinds are exercised
    assert serial.outcomes["reason"].nunique() >= 6
    in_process(monkeypatch)
    assert_same(replay(log, workers=parts, oversubscribe=True), serial)


@st.composite
def small_logs(draw: st.DrawFn) -> pd.DataFrame:
    """Any short log over a few apps, users and groups: ties and disorder in time, groups
    used before (or without) their creation -- malformed logs included."""
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        op = draw(st.sampled_from(("create_app", "create_group", *GROUP_OPS, "upgrade")))
        row = {
            "time": f"2024-01-01T00:{draw(st.integers(0, 9)):02d}:00",
            "app": draw(st.sampled_from(APPS)),
            "op": op,
            "user": draw(st.sampled_from(("u1", "u2", "u3"))),
            "group": draw(st.sampled_from(("g1", "g2"))),
            "group_type": draw(st.sampled_from(("Work", "AVChatRoom"))),
            "members": draw(st.sampled_from(("", "u2", "u1;u3"))),
            "edition": "Pro",
        }
        rows.append(row)
    return pd.DataFrame(rows)


def outcome_or_error(log: pd.DataFrame, workers: int) -> object:
    try:
        r = replay(log, workers=workers, oversubscribe=True)
    except InputError as exc:
        return str(exc)
    return [getattr(r, name).to_dict("list") for name in ("outcomes", "timeline", "bills")]


@settings(max_examples=200, deadline=None)
@given(small_logs(), st.integers(2, 4))
def test_any_small_log_same_in_parts(log, parts):
    """Outputs, or the one-line error naming the first malformed row in time order (ties:
    file order), are those of one engine whatever the split."""
    with pytest.MonkeyPatch.context() as mp:
        in_process(mp)
        assert outcome_or_error(log, parts) == outcome_or_error(log, 1)


def test_first_malformed_row_is_reported_whichever_part_meets_it(monkeypatch):
    """Groups never created in two apps (two parts): the one met first in time is named,
    as one engine would (rows 4 and 6 are the two; row 6 is earlier)."""
    log = pd.DataFrame(
        {
            "time": ["2024-01-01T09:00"] * 2 + ["2024-01-01T09:05"] * 2 + ["2024-01-01T09:01"] * 2,
            "app": ["a", "b", "a", "a", "b", "b"],
            "op": ["create_app"] * 2
            + ["register_user", "join_group", "register_user", "leave_group"],
            "user": ["", "", "u", "u", "u", "u"],
            "group": ["", "", "", "nope_a", "", "nope_b"],
        }
    )
    with pytest.raises(InputError) as serial:
        replay(log)
    assert "row 6:" in str(serial.value) and "nope_b" in str(serial.value)
    in_process(monkeypatch)
    with pytest.raises(InputError) as parts:
        replay(log, workers=2, oversubscribe=True)
    assert str(parts.value) == str(serial.value)


def test_spawned_workers_give_the_serial_outputs(tmp_path: Path):
    """Two real worker processes (the project's executor): the written folder is the serial
    one byte for byte."""
    log = seeded_log(4000, 11)
    path = tmp_path / "ops.csv"
    log.to_csv(path, index=False)
    for workers in ("1", "2"):
        argv = ["replay", str(path), "--out", str(tmp_path / workers), "--workers", workers]
        assert main([*argv, "--oversubscribe"]) == 0
    assert digests(tmp_path / "1") == digests(tmp_path / "2")


def test_spawned_workers_report_the_first_malformed_row(tmp_path: Path):
    log = seeded_log(500, 5)
    bad = {"time": log["time"].iloc[-1], "app": "app3", "op": "leave_group", "group": "none"}
    log = pd.concat([log, pd.DataFrame([bad | {"user": "u1"}])], ignore_index=True).fillna("")
    with pytest.raises(InputError) as serial:
        replay(log)
    with pytest.raises(InputError) as parts:
        replay(log, workers=2, oversubscribe=True)
    assert str(parts.value) == str(serial.value)
    assert f"row {len(log)}:" in str(serial.value)


def test_malformed_log_fails_alike_and_ends_the_started_workers():
    """Validation is the main process's, before the split (the workers start meanwhile): the
    same one-line error, and no worker process left behind."""
    log = seeded_log(200, 4)
    log.loc[150, "op"] = "fly"
    with pytest.raises(InputError) as serial:
        replay(log)
    with pytest.raises(InputError) as parts:
        replay(log, workers=2, oversubscribe=True)
    assert str(parts.value) == str(serial.value)
    assert "row 151:" in str(serial.value)
    assert no_children_left()


def test_workers_auto_below_the_threshold_is_one(monkeypatch):
    monkeypatch.setattr("sim.model.executor.cpu_count", lambda: 2)
    assert replay_workers("auto", PARALLEL_MIN_OPS - 1) == 1
    assert replay_workers("auto", PARALLEL_MIN_OPS) == 2
    assert replay_workers(0, 10) == 2
    assert replay_workers(8, 10**6) == 2  # capped at the CPUs
    assert replay_workers(8, 10**6, oversubscribe=True) == 8
    with pytest.raises(ValueError):
        replay_workers(-1, 10)


def test_more_workers_than_apps_make_one_batch_per_app(monkeypatch):
    executors: list[InProcess] = []

    def executor(n: int, here: bool = False) -> InProcess:
        executors.append(InProcess(n, here))
        return executors[-1]

    monkeypatch.setattr(replayer, "LocalExecutor", executor)
    log = seeded_log(300, 8, n_apps=3)
    replay(log, workers=16, oversubscribe=True)
    assert len(executors[0].tasks) == 3


def test_cli_workers_flag_is_checked(tmp_path: Path, capsys):
    path = tmp_path / "ops.csv"
    seeded_log(50, 1).to_csv(path, index=False)
    assert main(["replay", str(path), "--out", str(tmp_path / "o"), "--workers", "-1"]) == 2
    assert "--workers" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_parts_balance_apps_by_operations():
    app_ids = np.array([0] * 50 + [1] * 30 + [2] * 25 + [3] * 5)
    part = replayer._parts(app_ids, 4, 2)
    loads = [int(np.bincount(app_ids, minlength=4)[part == k].sum()) for k in range(2)]
    # largest first to the lighter part: 50 | 30, then 25 joins 30, then 5 joins 50
    assert loads == [55, 55] and part.tolist() == [0, 1, 1, 0]


def test_batches_carry_a_catalog_that_pickles():
    """The batches carry the catalog to the workers, and cover the log."""
    import pickle

    cat = load_catalog()
    assert pickle.loads(pickle.dumps(cat)) == cat
    log = read_ops(seeded_log(20, 2), cat.tz)
    batches, names = replayer.split_by_app(log, cat, 2)
    assert sum(b.size for b in batches) == len(log.t_ns)
    assert len(names) == 12


def no_children_left(timeout: float = 10.0) -> bool:
    """Whether this process's worker processes are all gone (ended processes are reaped by
    the kernel at its pace: a few seconds on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return multiprocessing.active_children() == []


class Job:
    size = 1
    digest = ""
    label = "a job"


def worker_pid(task: Job, tick: object) -> int:
    return os.getpid()


def test_an_executor_started_ahead_plays_on_the_processes_it_started():
    """LocalExecutor.start spawns the workers at once (they import while the caller works);
    map plays on them, and they end with it."""
    ex = LocalExecutor(2)
    ex.start()
    started = {p.pid for p in multiprocessing.active_children()}
    assert len(started) == 2
    pids = set(ex.map(worker_pid, [Job(), Job(), Job()]))
    assert pids <= started
    assert no_children_left()
    ex.close()


def test_an_executor_started_ahead_and_never_used_ends_its_workers_on_close():
    ex = LocalExecutor(2)
    ex.start()
    assert len(multiprocessing.active_children()) == 2
    ex.close()
    assert no_children_left()
    assert list(ex.map(worker_pid, [Job()])) == [os.getpid()]  # one task: played here


def imported(task: Job, tick: object) -> tuple[int, bool]:
    return os.getpid(), "colorsys" in sys.modules  # a module nothing here imports


def test_this_process_plays_one_task_and_started_workers_have_imported_ahead():
    """here=True: two workers are this process and one spawned process, which imported the
    modules start() named before any task reached it."""
    ex = LocalExecutor(2, here=True)
    ex.start(imports=["colorsys"])
    assert len(multiprocessing.active_children()) == 1
    (mine, _), (theirs, ready) = ex.map(imported, [Job(), Job()])
    assert mine == os.getpid() and theirs != os.getpid()
    assert ready
    assert no_children_left()


def _is_worker(proc: psutil.Process) -> bool:
    try:
        return "spawn_main" in " ".join(proc.cmdline())
    except psutil.Error:  # gone, or a zombie
        return False


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_parallel_replay_ends_its_workers_and_writes_nothing(tmp_path, how):
    """Ctrl-C or SIGTERM while the workers are alive: one line, exit 130, no worker left,
    no folder."""
    path = tmp_path / "ops.csv"
    seeded_log(60_000, 3, n_apps=40).to_csv(path, index=False)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "sim", "replay", str(path), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    kids: list[psutil.Process] = []
    deadline = time.monotonic() + 60
    while not kids and proc.poll() is None and time.monotonic() < deadline:
        kids = [k for k in psutil.Process(proc.pid).children() if _is_worker(k)]
        time.sleep(0.01)
    assert len(kids) == 1, "the worker never started"  # two processes: this one and a worker
    proc.send_signal(how)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip() == "sim: interrupted; nothing written"
    gone, alive = psutil.wait_procs(kids, timeout=10)
    assert alive == []
    assert not out.exists()


def test_batches_go_app_after_app_and_the_earliest_malformed_row_is_named():
    """A batch holds its apps one after the other (each in time order); an operation on a
    never-created group is reported at the earliest such row in time order even when its app
    comes later in the batch."""
    log = pd.DataFrame(
        {
            "time": ["2024-01-01T00:00:00", "2024-01-01T00:00:01", "2024-01-01T00:00:02"]
            + ["2024-01-01T00:00:03", "2024-01-01T00:00:05", "2024-01-01T00:00:04"],
            "app": ["a", "b", "a", "b", "a", "b"],
            "op": ["create_app", "create_app", "register_user", "join_group", "join_group"]
            + ["register_user"],
            "user": ["", "", "u1", "u1", "u1", "u2"],
            "group": ["", "", "", "nope", "nope", ""],
        }
    )
    catalog = load_catalog()
    (batch,), names = replayer.split_by_app(read_ops(log, catalog.tz), catalog, 1)
    assert list(batch.rows) == [0, 2, 4, 1, 3, 5]  # app a (first seen), then b; by time
    with pytest.raises(InputError, match=r"row 4: op join_group on group 'nope' of app 'b'"):
        replay(log)
