"""Replay throughput: one million group operations through the rules engine, end to end.

First the issue-14 measure: the wall time of ``sim replay LOG.csv --out DIR`` run as a command
(a fresh interpreter: imports, reading, validating, deciding, billing, writing the folder)
against the I/O floor measured in the same run — pyarrow reading the log and writing it back
(``pyarrow.csv.read_csv`` + ``write_csv``) — with ``--workers 1`` (this process alone) and
``--workers 2`` (this process and one worker, the apps split between them), and the outputs of
the two compared byte for byte (sha256). Each figure is the best of ``--repeat`` rounds, a round
timing the floor (best of three) and then each command once. With ``--reference PATH`` another
``sim`` executable (say a checkout of an older commit) is timed on the same log and its outputs
compared too.

The figures are wall times on a shared machine: compare the ratios of one run, not seconds
across runs (another process on the cores slows the commands and the floor alike, but the
two-process replay most: it needs both cores free). The user CPU seconds of each command are
printed beside its wall time.

Then seconds for each stage in this process, imports done (reading the CSV, validating it,
splitting it into a batch, deciding the batch, the whole ``replay_tables`` call, writing
``outcomes.csv``); these run with the garbage collector on, as a script would (the command
pauses it while it validates and decides).

Measured on the shared 2-core machine (load about 1, 2026-11-30; best of 5 rounds): floor
0.18 s; ``--workers 2`` 1.71 s (9.3x, 1.86 user CPU-s), ``--workers 1`` 1.82 s (9.9x, 1.66),
the code at the start of this work (commit 7550d11) 3.58 s (19.4x, 3.15); all outputs
byte-identical. Stages: read 0.13 s, validate 0.17 s, split 0.25 s, decide (one batch, app
after app) 0.63 s, write 0.21 s; imports and interpreter start and exit take about 0.5 s of the
command. Instruction counts (``valgrind --tool=callgrind``, whole command, one process; they do
not vary with the load): floor 3.46e9, ``--workers 1`` 14.75e9 (4.3x), 7550d11 21.33e9 (6.2x).

    .venv/bin/python benchmarks/bench_replay.py [--ops 1000000] [--apps 500] [--seed 1]
        [--repeat 3] [--reference /work/main/.venv/bin/sim] [--skip-stages]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from subprocess import DEVNULL

import numpy as np
import pandas as pd
import pyarrow.csv as pacsv

from sim.files.catalogs import load_catalog
from sim.files.opslog import read_table, validate_ops
from sim.files.outputs import write_table
from sim.replayer import replay_tables, split_by_app
from sim.rules.batch import decide


def generate(n_ops: int, n_apps: int, seed: int) -> pd.DataFrame:
    """A log of ``n_ops`` group operations over ``n_apps`` apps (half of them on Pro).

    Every group is created before it is used, so the log is valid; joins, leaves and dissolves
    pick groups created earlier. Times are one second apart from 2024-01-01 (Asia/Shanghai).
    """
    rng = np.random.default_rng(seed)
    n_groups = max(n_ops // 20, 1)
    users_per_app = 400
    setup_apps = [f"app{a}" for a in range(n_apps)]
    setup = pd.DataFrame(
        {
            "app": setup_apps + setup_apps[::2],
            "op": ["create_app"] * n_apps + ["upgrade"] * len(setup_apps[::2]),
            "edition": [""] * n_apps + ["Pro"] * len(setup_apps[::2]),
        }
    )
    g_app = rng.integers(0, n_apps, n_groups)
    g_owner = rng.integers(0, users_per_app, n_groups)
    g_type = rng.choice(
        ["Work", "Public", "Meeting", "AVChatRoom"], n_groups, p=[0.4, 0.3, 0.2, 0.1]
    )
    creates = pd.DataFrame(
        {
            "app": [f"app{a}" for a in g_app],
            "op": "create_group",
            "user": [f"u{u}" for u in g_owner],
            "group": [f"g{g}" for g in range(n_groups)],
            "group_type": g_type,
        }
    )
    n_rest = n_ops - n_groups
    # each later op picks a group among those created before it: creates come first
    pick = rng.integers(0, n_groups, n_rest)
    kind = rng.choice(
        ["join_group", "leave_group", "dissolve_group", "register_user"],
        n_rest,
        p=[0.8, 0.12, 0.03, 0.05],
    )
    rest = pd.DataFrame(
        {
            "app": [f"app{a}" for a in g_app[pick]],
            "op": kind,
            "user": [f"u{u}" for u in rng.zipf(1.6, n_rest) % users_per_app],
            "group": [f"g{g}" for g in pick],
            "group_type": "",
        }
    )
    ops = pd.concat([setup, creates, rest], ignore_index=True).fillna("")
    start = pd.Timestamp("2024-01-01T00:00:00")
    ops.insert(0, "time", start + pd.to_timedelta(np.arange(len(ops)), unit="s"))
    return ops


def io_floor(path: Path, out: Path, repeat: int = 3) -> float:
    """Seconds for pyarrow to read the log and write it back (best of ``repeat``)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        pacsv.write_csv(pacsv.read_csv(path), out)
        best = min(best, time.perf_counter() - t0)
    return best


def cli_seconds(
    command: list[str], options: list[str], log: Path, out: Path
) -> tuple[float, float]:
    """Wall seconds of ``COMMAND replay LOG --out OUT OPTIONS`` as a fresh process, and its
    user CPU seconds (its workers included)."""
    before = os.times()
    t0 = time.perf_counter()
    argv = [*command, "replay", str(log), "--out", str(out), *options]
    subprocess.run(argv, check=True, stdout=DEVNULL)
    wall = time.perf_counter() - t0
    return wall, os.times().children_user - before.children_user


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def end_to_end(ops: pd.DataFrame, reference: str | None, repeat: int) -> None:
    """The CLI against the I/O floor, measured in this run (and a reference CLI if given)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "ops.csv"
        write_table(log, ops)
        mb = log.stat().st_size / 1e6
        here = [sys.executable, "-m", "sim"]
        runs = [
            ("sim replay --workers 1 (this tree)", here, ["--workers", "1"], "one"),
            ("sim replay --workers 2 (this tree)", here, ["--workers", "2"], "two"),
        ]
        if reference:
            runs.append(("sim replay (--reference)", [reference], [], "ref"))
        # rounds: the floor, then each command once; best of the rounds for each (a burst of
        # load on the shared machine then slows one round, not one command's every run)
        floor = float("inf")
        best = {label: (float("inf"), 0.0) for label, *_ in runs}
        for _ in range(repeat):
            floor = min(floor, io_floor(log, Path(tmp) / "floor.csv"))
            for label, command, options, folder in runs:
                best[label] = min(
                    best[label], cli_seconds(command, options, log, Path(tmp) / folder)
                )
        print(f"log: {len(ops):,} operations, {mb:.1f} MB of CSV; {os.cpu_count()} CPUs")
        head = f"end to end (best of {repeat} rounds)"
        print(f"{head:<44}{'seconds':>9}{'x floor':>9}{'user s':>8}")
        print(f"{'I/O floor (pyarrow read_csv + write_csv)':<44}{floor:>9.2f}{1:>9.1f}")
        for label, (wall, user) in best.items():
            print(f"{label:<44}{wall:>9.2f}{wall / floor:>9.1f}{user:>8.2f}")
        one = digests(Path(tmp) / "one")
        same = digests(Path(tmp) / "two") == one
        print(f"--workers 2 outputs byte-identical to --workers 1 (sha256): {_yes(same)}")
        if reference:
            same = digests(Path(tmp) / "ref") == one
            print(f"outputs byte-identical to the reference's (sha256): {_yes(same)}")
        print("bar: 10x the floor; target: 5x")


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (best)")
    parser.add_argument("--reference", default=None, help="another sim executable to time")
    parser.add_argument("--skip-stages", action="store_true", help="only the end-to-end part")
    args = parser.parse_args()

    t0 = time.perf_counter()
    ops = generate(args.ops, args.apps, args.seed)
    n = len(ops)
    print(f"generated {n:,} operations ({args.apps} apps) in {time.perf_counter() - t0:.1f} s")
    end_to_end(ops, args.reference, args.repeat)
    if not args.skip_stages:
        stages(ops)


def stages(ops: pd.DataFrame) -> None:
    """Seconds of each stage of a replay of the log as a CSV file, in this process (imports
    done): the Arrow path ``sim replay`` takes."""
    catalog = load_catalog()
    n = len(ops)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ops.csv"
        write_table(path, ops)
        t0 = time.perf_counter()
        raw, source = read_table(path, "operations log", arrow=True)
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        log = validate_ops(raw, source, catalog.tz)
        t_validate = time.perf_counter() - t0
        t0 = time.perf_counter()
        (batch,), _ = split_by_app(log, catalog, 1)
        t_split = time.perf_counter() - t0
        t0 = time.perf_counter()
        decided = decide(batch)
        t_decide = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = replay_tables(path, catalog)
        t_total = time.perf_counter() - t0
        t0 = time.perf_counter()
        write_table(Path(tmp) / "outcomes.csv", result.outcomes)
        t_write = time.perf_counter() - t0
    refused = sum(1 for o in decided.outcomes if o[1])
    print(
        f"refused {refused:,} of {n:,} ({refused / n:.1%}); timeline rows {len(result.timeline):,}"
    )
    print(f"{'stage (this process)':<40}{'seconds':>9}{'ops/s':>14}")
    for label, secs in (
        ("read the CSV (Arrow)", t_read),
        ("validate (Arrow)", t_validate),
        ("split into a batch (ids, order)", t_split),
        ("decide (one batch, engine loop)", t_decide),
        ("replay_tables(CSV), total", t_total),
        ("write outcomes.csv", t_write),
    ):
        print(f"{label:<40}{secs:>9.2f}{n / secs:>14,.0f}")


if __name__ == "__main__":
    main()
