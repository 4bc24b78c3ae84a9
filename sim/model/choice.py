"""What a tenant buys: the configurations it may choose from (:func:`candidates`), the choice
among them (:func:`choose`; with price response :func:`choose_within` its budget, drawn by
:func:`budget`), and the affordability factor of discretionary decisions
(:func:`affordability`). Used by the policies of :mod:`sim.model.decisions`.

The demand model, with price response: a tenant has a willingness to pay ``wtp`` (catalog
currency per month, lognormal per archetype). Each time it decides to buy (or keeps paying),
its budget is ``wtp * exp(wtp_noise * z)``, ``z`` standard normal; it takes the configuration
covering most of its needs among those whose monthly price is within the budget, the cheapest
of those; none within the budget: it buys nothing and stays constrained (its users keep
meeting the limit, which raises its hazard of leaving).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

from sim.core.catalog import Catalog

# -- candidate configurations and choice --------------------------------------------------------


@dataclass(frozen=True)
class Config:
    edition: str
    live_unlimited: bool
    groups_per_user: int
    members_per_group: int
    price: float  # postpaid monthly price (package + packs)
    prepaid_price: float  # prepaid monthly price (package + packs)
    live: bool  # live groups unlimited
    community: bool


def candidates(catalog: Catalog, editions: tuple[str, ...]) -> list[Config]:
    """Every configuration of ``editions`` (R2), in a fixed order: edition, then options up."""
    out = []
    for ed in editions:
        e = dict[Any, Any](catalog.editions)[ed]
        for live in sorted(catalog.offered(ed, "live_unlimited")):
            for gpu in sorted(catalog.offered(ed, "groups_per_user")):
                for mpg in sorted(catalog.offered(ed, "members_per_group")):
                    packs = sum(
                        float(catalog.option_price(ed, p, v))
                        for p, v in (
                            ("live_unlimited", live),
                            ("groups_per_user", gpu),
                            ("members_per_group", mpg),
                        )
                    )
                    out.append(
                        Config(
                            ed,
                            bool(live),
                            int(gpu),
                            int(mpg),
                            float(e.price_per_month) + packs,
                            float(e.prepaid_price_per_month or 0) + packs,
                            bool(live) or e.limits.live_groups is None,
                            e.limits.community,
                        )
                    )
    return out


def choose(
    cands: list[Config], need: dict[str, Any], priced: bool, prepaid: bool = False
) -> Config | None:
    """The configuration covering most needs; among those the cheapest (``priced``) or the
    first in the fixed order (no price read)."""
    best: tuple[Any, ...] | None = None
    pick = None
    for i, c in enumerate(cands):
        cover = (
            (c.live or not need["live"])
            + (c.community or not need["community"])
            + (c.members_per_group >= need["members"])
            + (c.groups_per_user >= need["gpu"])
        )
        price = c.prepaid_price if prepaid else c.price
        key = (-cover, price if priced else 0.0, i)
        if best is None or key < best:
            best, pick = key, c
    return pick


def affordability(wtp: float, price: float, elasticity: float) -> float:
    """``min(1, wtp / price) ** elasticity``: the probability factor of the decisions that are
    discretionary (a campaign's live pack, a prepaid renewal); 1 for a free price."""
    if price <= 0:
        return 1.0
    return max(0.0, min(1.0, wtp / price)) ** elasticity


_NORMAL = NormalDist()


def budget(wtp: float, v: float, noise: float) -> float:
    """What a tenant will pay this time, currency per month: its willingness to pay ``wtp``
    times a lognormal noise ``exp(noise * z)``, ``z`` the standard normal quantile of the
    uniform ``v`` (clipped away from 0 and 1)."""
    z = _NORMAL.inv_cdf(min(max(v, 1e-9), 1.0 - 1e-9))
    return wtp * math.exp(noise * z)


def choose_within(
    cands: list[Config], need: dict[str, Any], most: float, prepaid: bool = False
) -> Config | None:
    """:func:`choose` among the configurations whose price is at most ``most`` (the tenant's
    budget): the one covering most needs, then the cheapest; None when none is affordable."""
    fits = [c for c in cands if (c.prepaid_price if prepaid else c.price) <= most]
    return choose(fits, need, True, prepaid) if fits else None
