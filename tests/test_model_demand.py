"""The demand model responds to price as demand does (issue 10 point 2): over a grid scaling
both editions' prices (postpaid and prepaid) by 0.5x, 1x, 2x and 4x, with common random numbers
(the same seed) and 3 replications, on the baseline's population (scaled down to a fifth, for
the suite's time; benchmarks/bench_price_grid.py runs it at full size) and 12 months, the paying
apps of the last month fall strictly at each step and the revenue is not highest at 4x (an
interior maximum). And the population: apps arrive over time, hobby apps never pay."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from sim.files.catalogs import load_catalog
from sim.model.runner import run
from sim.model.scenario import load_scenario

SCALES = (0.5, 1.0, 2.0, 4.0)
FRACTION = 0.2


def _small() -> list[str]:
    sc = load_scenario("baseline")
    out = ["horizon_months=12", "replications=3", "warmup_months=0"]
    for name, p in sc.population.items():
        out.append(f"population.{name}.count={max(round(p.count * FRACTION), 1)}")
        out.append(f"population.{name}.arrivals_per_month={p.arrivals_per_month * FRACTION}")
    return out


def _prices(scale: float) -> list[str]:
    out = []
    for name, ed in load_catalog("tencent-intl-2022").editions.items():
        for field in ("price_per_month", "prepaid_price_per_month"):
            value = getattr(ed, field)
            if ed.kind == "postpaid" and value is not None:
                price = round(float(value) * scale, 2)
                out.append(f"catalog.overrides.editions.{name}.{field}={price}")
    return out


def _figures(bills: pd.DataFrame) -> tuple[float, float]:
    last = bills[(bills["month"] == bills["month"].max()) & (bills["amount_minor"] > 0)]
    paying = last.groupby("replication")["app"].nunique().sum() / 3
    return float(paying), float(bills["amount_minor"].sum() / 3)


@pytest.fixture(scope="module")
def grid() -> dict[float, tuple[float, float]]:
    small = _small()
    return {
        s: _figures(run(load_scenario("baseline", small + _prices(s)), workers=1).bills)
        for s in SCALES
    }


def test_paying_apps_fall_strictly_as_prices_rise(grid: dict[float, Any]) -> None:
    paying = [grid[s][0] for s in SCALES]
    assert all(a > b for a, b in zip(paying, paying[1:], strict=False)), paying


def test_revenue_has_an_interior_maximum(grid: dict[float, Any]) -> None:
    revenue = {s: grid[s][1] for s in SCALES}
    assert max(revenue, key=revenue.__getitem__) != 4.0, revenue
    assert revenue[1.0] > revenue[0.5], revenue  # (not highest at the cheapest either)
