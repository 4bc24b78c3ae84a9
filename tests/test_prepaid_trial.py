"""The prepaid policy reads the Trial defaults from the catalog (R10, R11), not 50/20."""

from __future__ import annotations

from typing import Any

import pytest

from sim.model.runner import run

OFF = {"enabled": False}


def trial_scenario(members: int, gpu: int) -> dict[str, Any]:
    """Trial apps that meet limits, buy one-month packages, never renew, and buy again once
    the package has lapsed; the catalog's Trial limits are ``members`` and ``gpu``."""
    trial = {"Trial": 1.0}
    return {
        "name": "prepaid-trial",
        "start": "2024-01-01",
        "horizon_months": 4,
        "seed": 3,
        "catalog": {
            "name": "tencent-intl-2022",
            "overrides": {
                "editions.Trial.limits.members_per_group": members,
                "editions.Trial.limits.groups_per_user": gpu,
            },
        },
        "population": {
            "social": {"count": 8, "start_state": trial, "users0_median": 400, "wtp_median": 1e6},
            "game": {"count": 6, "start_state": trial, "users0_median": 400, "wtp_median": 1e6},
        },
        "behaviour": {
            "policies": {
                "upgrade_on_errors": OFF,
                "deactivation": OFF,
                "downgrade_low_usage": OFF,
                "prepaid": {"threshold": 1, "reaction_days": 1, "renew_probability": 0.0},
            }
        },
    }


def _lapsed_purchases(sc: dict[str, Any]) -> Any:
    r = run(sc, mode="exact")
    c = r.console_ops
    buys = c[(c["op"] == "buy_prepaid") & c["ok"]].sort_values(["app", "time"])
    # a purchase after the app's first one is made once that package lapsed (no renewals)
    return buys[buys.duplicated("app", keep="first")]


@pytest.mark.parametrize(("members", "gpu"), [(300, 600), (20, 50)])
def test_a_lapsed_app_buys_more_than_the_catalogs_trial_limits(members: int, gpu: int) -> None:
    """R11: a lapsed Trial app buys a package above the Trial limits the catalog gives (here
    300 members and 600 groups per user on one run: Pro's defaults, 200 and 500, fall short
    and the 2000-member and 1000-group packs are needed)."""
    again = _lapsed_purchases(trial_scenario(members, gpu))
    assert len(again) > 0
    assert (again["members_per_group"] > members).all()
    assert (again["groups_per_user"] > gpu).all()
