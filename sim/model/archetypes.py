"""The archetypes of the tenant population and their parameters (:class:`ArchetypeParams`):
what a scenario's ``population.<name>`` names and overrides. All values are illustrative, not
measured; ``docs/model.md`` gives the reasoning and the units, and ``summary.json`` lists the key
ones as ``assumptions`` (:mod:`sim.model.assumptions`). How a tenant's demand is drawn from them
is :mod:`sim.model.population`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[float, Field(ge=0, le=1)]
NonNeg = Annotated[float, Field(ge=0)]


class ArchetypeParams(BaseModel):
    """An archetype's parameters (all illustrative; ``docs/model.md`` gives the reasoning).

    Units: counts of users and groups; rates per DAU per day; money in the catalog's currency
    per month; durations in days unless the name says hours.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    count: int = Field(ge=0, description="tenants of this archetype")
    start_state: dict[str, Share] = Field(
        description="share of tenants starting on each edition: IM, Pro, Ultimate, Trial"
    )
    users0_median: float = Field(gt=0)
    users0_sigma: NonNeg = 1.0
    growth_per_month: float = Field(ge=-0.5, le=2.0, description="mean log-growth of users")
    growth_sd_between: NonNeg = 0.02
    growth_sd_daily: NonNeg = 0.01
    dau_share: Share = 0.3
    dau_sd_daily: NonNeg = 0.15
    activity_exponent: float = Field(
        ge=0, lt=1, description="per-user activity weight rank**-a: larger, heavier tail"
    )
    create_rate: NonNeg = Field(description="non-live groups created per DAU per day")
    group_types: dict[str, NonNeg] = Field(description="non-live type mix (weights)")
    size_min: int = Field(ge=1, description="smallest target size (members incl. owner)")
    size_alpha: float = Field(gt=0, description="Pareto tail index of target sizes")
    size_max: int = Field(ge=1)
    fill_days: float = Field(gt=0, description="joins arrive uniformly over this many days")
    invite_share: Share = Field(
        default=0.0,
        description="share of non-live groups created with their initial members (R13: 10038 "
        "above the member cap) instead of filled by joins",
    )
    lifetime_days: NonNeg = Field(description="mean group lifetime; 0: never dissolved")
    live_rate: NonNeg = 0.0
    live_hours_median: float = Field(gt=0, default=2.0)
    event_prob_per_month: Share = 0.0
    event_days: int = Field(ge=1, default=3)
    event_live_multiplier: float = Field(ge=1, default=1.0)
    wtp_median: float = Field(gt=0, description="willingness to pay, currency per month")
    wtp_sigma: NonNeg = 0.8
    quiet_after_months: NonNeg = Field(
        default=0.0,
        description="mean months (exponential) until the app goes quiet (DAU 0); 0: never",
    )
    arrivals_per_month: NonNeg = Field(
        default=0.0,
        description="new apps a month after the start (on IM), besides the count at the start",
    )


def _a(**kw: object) -> ArchetypeParams:
    return ArchetypeParams.model_validate(kw)


ARCHETYPES: dict[str, ArchetypeParams] = {
    "social": _a(
        count=0,
        start_state={"IM": 0.95, "Pro": 0.05},
        users0_median=40,
        users0_sigma=0.8,
        growth_per_month=0.08,
        dau_share=0.3,
        activity_exponent=0.6,
        create_rate=0.03,
        group_types={"Public": 0.6, "Work": 0.4},
        size_min=3,
        size_alpha=1.6,
        size_max=500,
        fill_days=3,
        lifetime_days=90,
        live_rate=0.002,
        wtp_median=150,
        wtp_sigma=1.0,
    ),
    "enterprise": _a(
        count=0,
        start_state={"IM": 0.15, "Pro": 0.7, "Ultimate": 0.15},
        users0_median=150,
        users0_sigma=0.9,
        growth_per_month=0.03,
        dau_share=0.6,
        activity_exponent=0.4,
        create_rate=0.006,
        group_types={"Work": 0.6, "Meeting": 0.3, "Public": 0.1},
        size_min=5,
        size_alpha=1.15,
        size_max=3000,
        fill_days=5,
        invite_share=0.5,
        lifetime_days=180,
        wtp_median=1500,
        wtp_sigma=0.7,
    ),
    "live": _a(
        count=0,
        start_state={"IM": 0.4, "Pro": 0.6},
        users0_median=150,
        users0_sigma=1.2,
        growth_per_month=0.06,
        dau_share=0.35,
        activity_exponent=0.7,
        create_rate=0.002,
        group_types={"Public": 1.0},
        size_min=5,
        size_alpha=1.3,
        size_max=2000,
        fill_days=7,
        lifetime_days=120,
        live_rate=0.02,
        live_hours_median=3.0,
        event_prob_per_month=0.4,
        event_days=3,
        event_live_multiplier=3.0,
        wtp_median=900,
        wtp_sigma=0.8,
    ),
    "community": _a(
        count=0,
        start_state={"IM": 0.25, "Pro": 0.55, "Ultimate": 0.2},
        users0_median=300,
        users0_sigma=1.0,
        growth_per_month=0.05,
        dau_share=0.2,
        activity_exponent=0.5,
        create_rate=0.003,
        group_types={"Public": 0.85, "Community": 0.15},
        size_min=10,
        size_alpha=1.25,
        size_max=20000,
        fill_days=14,
        invite_share=0.2,
        lifetime_days=365,
        wtp_median=1200,
        wtp_sigma=0.8,
    ),
    "game": _a(
        count=0,
        start_state={"IM": 0.35, "Pro": 0.65},
        users0_median=200,
        users0_sigma=1.0,
        growth_per_month=0.04,
        dau_share=0.3,
        activity_exponent=0.85,
        create_rate=0.012,
        group_types={"Work": 0.5, "Public": 0.5},
        size_min=2,
        size_alpha=2.0,
        size_max=100,
        fill_days=1,
        lifetime_days=14,
        wtp_median=800,
        wtp_sigma=0.9,
    ),
    "hobby": _a(
        count=0,
        start_state={"IM": 1.0},
        users0_median=4,
        users0_sigma=0.7,
        growth_per_month=0.0,
        growth_sd_between=0.05,
        dau_share=0.4,
        activity_exponent=0.5,
        create_rate=0.05,
        group_types={"Public": 0.5, "Work": 0.5},
        size_min=2,
        size_alpha=2.0,
        size_max=20,
        fill_days=1,
        lifetime_days=30,
        wtp_median=20,
        wtp_sigma=1.0,
        quiet_after_months=3.0,
    ),
    "platform": _a(
        count=0,
        start_state={"Pro": 0.6, "Ultimate": 0.4},
        users0_median=20000,
        users0_sigma=0.5,
        growth_per_month=0.03,
        dau_share=0.35,
        dau_sd_daily=0.1,
        activity_exponent=0.9,
        create_rate=0.003,
        group_types={"Public": 0.5, "Work": 0.4, "Community": 0.1},
        size_min=3,
        size_alpha=1.3,
        size_max=5000,
        fill_days=3,
        lifetime_days=60,
        live_rate=0.0005,
        live_hours_median=2.0,
        event_prob_per_month=0.3,
        event_live_multiplier=3.0,
        wtp_median=8000,
        wtp_sigma=0.6,
    ),
}
"""The archetypes a scenario may name (``population.<name>``), with their default parameters."""
