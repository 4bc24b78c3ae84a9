"""The price grid of issue 10 point 2: both editions' prices (postpaid and prepaid) scaled by
0.5x, 1x, 2x, 4x on the baseline with ``horizon_months=12``, common random numbers (the same
seed), 3 replications; prints, per scale, the paying apps in the last month and the total
revenue (means over replications), and the arc elasticity of paying apps between 0.5x and 2x
around list price.

    .venv/bin/python benchmarks/bench_price_grid.py [--scale-population F] [--replications N]

Run as a script (the runs use worker processes).
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import pandas as pd

SCALES = (0.5, 1.0, 2.0, 4.0)


def price_overrides(catalog: Any, scale: float) -> list[str]:
    """``--set`` overrides scaling every postpaid edition's monthly and prepaid prices."""
    out = []
    for name, ed in catalog.editions.items():
        if ed.kind != "postpaid":
            continue
        for field in ("price_per_month", "prepaid_price_per_month"):
            value = getattr(ed, field)
            if value is not None:
                out.append(
                    f"catalog.overrides.editions.{name}.{field}={round(float(value) * scale, 2)}"
                )
    return out


def grid_point(bills: pd.DataFrame) -> tuple[float, float]:
    """(paying apps in the last month, revenue), means over replications."""
    reps = max(int(bills["replication"].max()) + 1, 1) if len(bills) else 1
    last = bills["month"].max()
    paid = bills[(bills["month"] == last) & (bills["amount_minor"] > 0)]
    paying = paid.groupby("replication")["app"].nunique().sum() / reps
    return float(paying), float(bills["amount"].sum() / reps)


def population_overrides(scenario: Any, factor: float) -> list[str]:
    """``--set`` overrides scaling every archetype's count and arrivals by ``factor``."""
    out = []
    for name, p in scenario.population.items():
        out.append(f"population.{name}.count={max(round(p.count * factor), 1)}")
        out.append(f"population.{name}.arrivals_per_month={p.arrivals_per_month * factor}")
    return out


def main() -> None:
    import sim
    from sim.model.scenario import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="baseline")
    ap.add_argument("--scale-population", type=float, default=1.0)
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--horizon-months", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    base = [f"horizon_months={args.horizon_months}", f"replications={args.replications}"]
    sc0 = load_scenario(args.scenario, base)
    if args.scale_population != 1.0:
        base += population_overrides(sc0, args.scale_population)
    catalog = sc0.load_catalog()
    rows = []
    for s in SCALES:
        sc = load_scenario(args.scenario, base + price_overrides(catalog, s))
        t0 = time.perf_counter()
        r = sim.run(sc, mode="fast", workers=args.workers)
        paying, revenue = grid_point(r.bills)
        rows.append((s, paying, revenue, time.perf_counter() - t0))
        print(
            f"x{s:<4} paying apps (last month) {paying:9.1f}  revenue {revenue:14,.2f}  "
            f"({rows[-1][3]:.0f} s)",
            flush=True,
        )
    q = {s: p for s, p, _, _ in rows}
    arc = ((q[2.0] - q[0.5]) / (q[2.0] + q[0.5])) / ((2.0 - 0.5) / (2.0 + 0.5))
    print(f"arc elasticity of paying apps, 0.5x..2x list price: {arc:.2f}")
    best = max(rows, key=lambda r: r[2])[0]
    print(f"revenue highest at x{best}")


if __name__ == "__main__":
    main()
