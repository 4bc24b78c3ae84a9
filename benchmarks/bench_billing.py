"""Benchmark of :func:`sim.billing.bill`: many apps × one year of postpaid timelines.

Run: ``python benchmarks/bench_billing.py [--apps 100000] [--seed 1] [--usage-every 7]
[--repeat 3]``. Prints apps, intervals, usage rows, bill lines, seconds (the best of
``--repeat`` runs: the machine may be shared) and lines per second for each policy.
Not a timed assertion (STYLE.md: benchmarks print their figures).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from sim.billing import POLICIES, bill
from sim.files.catalogs import load_catalog

YEAR_START = pd.Timestamp("2024-01-01", tz="Asia/Shanghai").value
YEAR_NS = 366 * 86_400 * 1_000_000_000
MAX_CHANGES = 6  # postpaid intervals per app: 2 .. MAX_CHANGES


def make_timeline(n_apps: int, rng: np.random.Generator, tz: str) -> pd.DataFrame:
    """Per app: IM from a time in the year, an upgrade, 1 .. MAX_CHANGES - 1 reconfigurations
    (edition or packs), and for a third of the apps a deactivation; all times uniform in 2024."""
    width = MAX_CHANGES + 2
    times = np.sort(YEAR_START + rng.integers(0, YEAR_NS, size=(n_apps, width)), axis=1)
    n_post = rng.integers(2, MAX_CHANGES + 1, size=n_apps)
    deact = rng.random(n_apps) < 1 / 3
    n_rows = 1 + n_post + deact  # IM, postpaid intervals, maybe Deactivated
    col = np.arange(width)
    valid = col[None, :] < n_rows[:, None]
    app_idx = np.broadcast_to(np.arange(n_apps)[:, None], valid.shape)[valid]
    pos = np.broadcast_to(col, valid.shape)[valid]
    start = times[valid]
    nxt = np.full_like(times, np.iinfo(np.int64).min)
    nxt[:, :-1] = times[:, 1:]
    end = nxt[valid]
    last = pos == n_rows[app_idx] - 1
    end[last] = np.iinfo(np.int64).min  # open interval
    is_deact = last & deact[app_idx]
    is_im = pos == 0
    ultimate = rng.random(len(pos)) < 0.3
    state = np.where(ultimate, "Ultimate-postpaid", "Pro-postpaid").astype(object)
    edition = np.where(ultimate, "Ultimate", "Pro").astype(object)
    state[is_im], edition[is_im] = "IM", "IM"
    state[is_deact], edition[is_deact] = "Deactivated", ""
    up = rng.random((3, len(pos))) < 0.4
    to_ts = pd.DatetimeIndex(start.view("M8[ns]")).tz_localize("UTC").tz_convert(tz)
    end_ts = pd.DatetimeIndex(end.view("M8[ns]")).tz_localize("UTC").tz_convert(tz)
    return pd.DataFrame(
        {
            "app": np.char.add("app", app_idx.astype(str)).astype(object),
            "start": to_ts,
            "end": end_ts,
            "state": state,
            "live_unlimited": up[0] & ~ultimate,
            "groups_per_user": np.where(
                ultimate, np.where(up[1], 3000, 1000), np.where(up[1], 1000, 500)
            ),
            "members_per_group": np.where(
                ultimate, np.where(up[2], 6000, 2000), np.where(up[2], 2000, 200)
            ),
            "edition": edition,
            "prepaid_until": pd.NaT,
        }
    )


def make_usage(n_apps: int, every: int, rng: np.random.Generator) -> pd.DataFrame:
    """One usage row per app every ``every`` days of 2024: DAU and groups around the quotas."""
    days = pd.date_range("2024-01-01", "2024-12-31", freq=f"{every}D")
    n = n_apps * len(days)
    return pd.DataFrame(
        {
            "app": np.char.add("app", np.repeat(np.arange(n_apps), len(days)).astype(str)).astype(
                object
            ),
            "date": np.tile(days.to_numpy(), n_apps),
            "dau": rng.integers(0, 30_000, size=n),
            "groups": rng.integers(0, 250_000, size=n),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--usage-every", type=int, default=7, help="days between usage rows; 0: none"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best is shown")
    args = parser.parse_args()
    catalog = load_catalog()
    rng = np.random.default_rng(args.seed)
    timeline = make_timeline(args.apps, rng, catalog.timezone)
    usage = make_usage(args.apps, args.usage_every, rng) if args.usage_every else None
    n_usage = 0 if usage is None else len(usage)
    print(f"apps {args.apps:,}  intervals {len(timeline):,}  usage rows {n_usage:,}")
    for policy in POLICIES:
        for with_usage in (False, True) if usage is not None else (False,):
            secs = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                lines = bill(timeline, catalog, usage=usage if with_usage else None, policy=policy)
                secs = min(secs, time.perf_counter() - t0)
            print(
                f"policy {policy:<10} usage {'yes' if with_usage else 'no ':<3}  "
                f"lines {len(lines):>10,}  seconds {secs:6.2f}  lines/second {len(lines) / secs:>12,.0f}"
            )


if __name__ == "__main__":
    main()
