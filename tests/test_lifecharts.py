"""The cohort chart: one outlier cohort does not flatten the revenue-retention colour scale."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from sim.reports import lifecharts
from sim.reports.charts import ARCHETYPE_COLOURS


def _cohorts(outlier_mrr: float) -> pd.DataFrame:
    rows = []
    for k, cohort in enumerate(["2024-01", "2024-02", "2024-03", "2024-04"]):
        for age in range(4 - k):
            mrr = 100.0 * (1 + 0.5 * age)
            if cohort == "2024-02" and age == 2:
                mrr = outlier_mrr
            rows.append(
                {
                    "cohort": cohort,
                    "archetype": "social",
                    "age": age,
                    "apps": 10.0,
                    "paying": 5.0,
                    "mrr": mrr,
                }
            )
    return pd.DataFrame(rows)


def _heat_scale(fig):  # noqa: ANN001, ANN202
    image = fig.axes[1].images[0]
    return image.norm.vmax, fig.axes[-1].get_ylabel()


def test_an_outlier_cohort_caps_the_scale_and_says_so() -> None:
    top, label = _heat_scale(lifecharts.cohorts(_cohorts(outlier_mrr=2400.0)))  # 2400%
    assert 200 <= top < 2400
    assert "capped" in label


def test_without_outliers_the_scale_is_not_capped() -> None:
    top, label = _heat_scale(lifecharts.cohorts(_cohorts(outlier_mrr=200.0)))  # all <= 250%
    assert top >= 250
    assert "capped" not in label


def test_every_shipped_archetype_has_its_own_colour() -> None:
    from sim.model.archetypes import ARCHETYPES

    names = set(ARCHETYPES)
    for path in Path("scenarios").glob("*.yaml"):
        names |= set((yaml.safe_load(path.read_text()).get("population") or {}).keys())
    assert {"hobby", "platform", "chat-platform", "social"} <= names  # the test reads them
    assert names <= set(ARCHETYPE_COLOURS), names - set(ARCHETYPE_COLOURS)
    assert len(set(ARCHETYPE_COLOURS.values())) == len(ARCHETYPE_COLOURS)
