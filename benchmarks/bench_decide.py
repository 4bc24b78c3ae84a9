"""The rules engine alone: ``sim.rules.batch.decide`` on the 1M-operation replay log in one batch.

The log is :func:`bench_replay.generate`'s (1,000,000 group operations, 500 apps, seed 1),
read and split into one batch as ``sim replay`` does, and pickled once to a temp file; each
measurement loads that file and decides it. With ``--reference ROOT`` another source tree
(say ``/work/main``, with its own ``.venv``) decides the same pickled batch in alternating
rounds, and the outcomes and timeline of the two are compared (sha256 of their repr). With
``--callgrind`` the instructions of ``decide`` are counted too (``valgrind --tool=callgrind``:
a process that loads and decides minus one that only loads); they do not vary with the load
of the machine, the wall times do (compare the ratios of one run).

Measured on the shared 2-core machine (2026-11-30, best of 5 alternating rounds), on the
batch in the log's time order as it then was: decide 1.21 s with this module's engine changes,
1.37 s before (0.88x); 5.11e9 instructions against 5.25e9; outcomes and timeline identical.
The loop is bound by memory accesses more than by bytecodes: the same code decides a
100k-operation log (50 apps) at 0.6 us an operation, the 1M log in time order at 1.2 us;
cachegrind with a simulated 1 MB L2 counts 15.1M data misses in decide, 18.2M before. Hence
the batches now go app after app (``sim.replayer.split_by_app``): the same 1M log decides in
0.56 s (1.78M operations/s, best of 3).

    .venv/bin/python benchmarks/bench_decide.py [--ops 1000000] [--apps 500] [--seed 1]
        [--repeat 5] [--reference /work/main] [--callgrind]
"""

from __future__ import annotations

import argparse
import pickle
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# run in a fresh interpreter of the tree measured: load the batch, decide it N times
_TIMER = """
import hashlib, pickle, sys, time
from sim.rules.batch import decide
batch = pickle.load(open(sys.argv[1], "rb"))
best = float("inf")
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    decided = decide(batch)
    best = min(best, time.perf_counter() - t0)
text = repr((decided.outcomes, decided.timeline, decided.bad)).encode()
print(best, hashlib.sha256(text).hexdigest())
"""
# the same without timing or hashing, and its load alone: callgrind counts decide as the difference
_LOAD = """
import pickle, sys
from sim.rules.batch import decide
batch = pickle.load(open(sys.argv[1], "rb"))
"""
_DECIDE = _LOAD + "decide(batch)\n"


def build(path: Path, n_ops: int, n_apps: int, seed: int) -> int:
    """Pickle the generated log as one batch to ``path``; the number of operations."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_replay import generate

    from sim.files.catalogs import load_catalog
    from sim.files.opslog import read_ops
    from sim.replayer import split_by_app

    catalog = load_catalog()
    log = read_ops(generate(n_ops, n_apps, seed), catalog.tz)
    (batch,), _ = split_by_app(log, catalog, 1)
    path.write_bytes(pickle.dumps(batch))
    return batch.size


def timed(root: Path, batch: Path, runs: int) -> tuple[float, str]:
    """Best seconds of ``runs`` decides by the tree at ``root``, and the outcomes' sha256."""
    argv = [str(root / ".venv/bin/python"), "-c", _TIMER, str(batch), str(runs)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=root).stdout
    seconds, digest = out.split()
    return float(seconds), digest


def instructions(root: Path, batch: Path) -> float:
    """Instructions of one decide by the tree at ``root`` (callgrind: decide minus load)."""
    counts = []
    for code in (_DECIDE, _LOAD):
        argv = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        argv += [str(root / ".venv/bin/python"), "-c", code, str(batch)]
        err = subprocess.run(argv, check=True, capture_output=True, text=True, cwd=root).stderr
        counts.append(int(re.search(r"Collected : (\d+)", err).group(1)))  # type: ignore[union-attr]
    return counts[0] - counts[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5, help="alternating rounds (best)")
    parser.add_argument("--reference", type=Path, default=None, help="another source tree")
    parser.add_argument("--callgrind", action="store_true", help="count instructions too")
    args = parser.parse_args()

    trees = {"this tree": ROOT}
    if args.reference is not None:
        trees["reference"] = args.reference.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        batch = Path(tmp) / "batch.pkl"
        n = build(batch, args.ops, args.apps, args.seed)
        best = {label: (float("inf"), "") for label in trees}
        for _ in range(args.repeat):
            for label, root in trees.items():
                best[label] = min(best[label], timed(root, batch, 1))
        print(f"decide, one batch of {n:,} operations (best of {args.repeat} rounds)")
        for label, (seconds, digest) in best.items():
            line = f"{label:<12}{seconds:>8.3f} s{n / seconds:>12,.0f} operations/s"
            if args.callgrind:
                line += f"{instructions(trees[label], batch) / 1e9:>8.2f}e9 instructions"
            print(f"{line}   sha256 {digest[:16]}")
        if args.reference is not None:
            ratio = best["this tree"][0] / best["reference"][0]
            same = best["this tree"][1] == best["reference"][1]
            print(f"this tree / reference: {ratio:.2f}x; outcomes identical: {same}")


if __name__ == "__main__":
    main()
