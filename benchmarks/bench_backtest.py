"""Backtest cost against one replay: the same 1M-operation log, measured in one process.

Issue 12 point 5: backtesting a 1M-operation log should take under twice one replay of it.
Prints seconds and the ratio backtest / replay for the computation (``sim.replay`` of the CSV
file against ``sim.studies.backtest.backtest`` of it, with 1 and 2 workers) and end to end
through the CLI (``sim replay`` writing its three tables against ``sim backtest`` writing its
five files). Catalog B lowers Pro's price and the per-group member caps of Pro and IM, so
bills and outcomes both differ.

    .venv/bin/python benchmarks/bench_backtest.py [--ops 1000000] [--apps 500] [--repeat 2]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import tempfile
import time
from pathlib import Path

import sim
from sim.cli.app import main as sim_main
from sim.files.catalogs import load_catalog
from sim.studies.backtest import backtest

CHANGES = ["editions.Pro.price_per_month=399.99", "editions.Pro.limits.members_per_group=150"]
CHANGES += [
    "editions.Pro.packs.members_per_group.default=150",
    "editions.Pro.packs.members_per_group.options.200=__remove__",
    "editions.Pro.packs.members_per_group.options.150=0",
    "editions.IM.limits.members_per_group=10",
]


def _generate():  # noqa: ANN202
    """bench_replay.generate, the log the replay benchmark measures."""
    path = Path(__file__).with_name("bench_replay.py")
    spec = importlib.util.spec_from_file_location("bench_replay", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate


def _time(fn) -> float:  # noqa: ANN001
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _cli(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = sim_main(argv)
    assert code == 0, argv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=1_000_000)
    parser.add_argument("--apps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds; each figure is its best round"
    )
    args = parser.parse_args()

    ops = _generate()(args.ops, args.apps, args.seed)
    cat_a = load_catalog("tencent-intl-2022")
    cat_b = load_catalog(cat_a, CHANGES)
    print(f"{len(ops):,} operations, {args.apps} apps, {os.cpu_count()} cores")
    common = ["--catalog", "tencent-intl-2022"]
    sets = [x for c in CHANGES for x in ("--set", c)]
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "ops.csv"
        ops.to_csv(csv, index=False)
        bt_argv = ["backtest", str(csv), *common, "--against", "tencent-intl-2022", *sets]
        cases = {
            "replay": lambda: sim.replay(csv, cat_a),
            "bt1": lambda: backtest(csv, cat_a, cat_b, workers=1),
            "bt2": lambda: backtest(csv, cat_a, cat_b, workers=2),
            "cli_replay": lambda: _cli(["replay", str(csv), *common, "--out", f"{tmp}/r"]),
            "cli_bt1": lambda: _cli([*bt_argv, "--workers", "1", "--out", f"{tmp}/b1"]),
            "cli_bt2": lambda: _cli([*bt_argv, "--workers", "2", "--out", f"{tmp}/b2"]),
        }
        best = {k: float("inf") for k in cases}
        for _ in range(args.repeat):  # interleaved, so a busy spell hits every case alike
            for key, fn in cases.items():
                best[key] = min(best[key], _time(fn))
        bt = backtest(csv, cat_a, cat_b, workers=1)
    t_replay, t_bt1, t_bt2 = best["replay"], best["bt1"], best["bt2"]
    t_cli_replay, t_cli_bt, t_cli_bt2 = best["cli_replay"], best["cli_bt1"], best["cli_bt2"]
    print(
        f"outcomes differing: {len(bt.outcome_diff):,}; bill_diff rows {len(bt.bill_diff):,}; "
        f"apps {bt.apps:,}"
    )
    print(f"{'':<44}{'seconds':>9}{'ratio':>8}")
    rows = [
        ("sim.replay(CSV)  [reference]", t_replay, t_replay),
        ("backtest(CSV), workers=1", t_bt1, t_replay),
        ("backtest(CSV), workers=2", t_bt2, t_replay),
        ("sim replay CLI, 3 CSVs  [reference]", t_cli_replay, t_cli_replay),
        ("sim backtest CLI, 5 files, --workers 1", t_cli_bt, t_cli_replay),
        ("sim backtest CLI, 5 files, --workers 2", t_cli_bt2, t_cli_replay),
    ]
    for label, secs, ref in rows:
        print(f"{label:<44}{secs:>9.2f}{secs / ref:>8.2f}")
    print("target: backtest / replay under 2.0")


if __name__ == "__main__":
    main()
