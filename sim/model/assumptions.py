"""The assumptions behind a run's figures, as data: the population's key parameters and the
demand model's, each with its unit and whether it is calibrated (measured) -- written into
``summary.json`` as ``assumptions`` so that a report can print them next to the numbers
("illustrative, not measured" for those with ``calibrated`` false).

None is calibrated yet: the calibration issue will fit ``users0_median``, ``growth_per_month``,
``dau_share``, ``create_rate``, ``live_rate``, ``arrivals_per_month`` and the start-state
shares; until then every value is the archetype default of :mod:`sim.model.population` or the
scenario's override, and the notes say what it means.
"""

from __future__ import annotations

from typing import Any

POPULATION = (
    ("count", "apps", "apps there at the start (the steady-state stock)"),
    ("arrivals_per_month", "apps/month", "new apps a month after the start, on IM"),
    ("users0_median", "users", "median registered users at the start (lognormal)"),
    ("growth_per_month", "log-growth/month", "mean monthly log-growth of users"),
    ("dau_share", "share", "DAU demand as a share of registered users"),
    ("create_rate", "groups/DAU/day", "non-live groups created per DAU per day"),
    ("live_rate", "groups/DAU/day", "live groups (AVChatRoom) created per DAU per day"),
    ("invite_share", "share", "non-live groups created with their initial member list"),
    ("quiet_after_months", "months", "mean time until the app goes quiet (0: never)"),
    ("wtp_median", "currency/month", "median willingness to pay (lognormal)"),
    ("wtp_sigma", "log-sd", "spread of willingness to pay between apps"),
)
"""(parameter, unit, note) of each archetype listed."""

DEMAND = (
    ("price_response", "", "decisions read prices (off: fixed order, no price read)"),
    ("wtp_noise", "log-sd", "noise on willingness to pay at each purchase decision"),
    ("elasticity", "exponent", "probability factor of campaigns and renewals: (wtp/price)^e"),
    ("window_days", "days", "refusals looked back over by the decisions"),
)
"""(behaviour field, unit, note) listed under the group ``demand``."""

POLICY = (
    ("upgrade_on_errors", "threshold", "refusals", "limit errors in the window before an upgrade"),
    ("upgrade_on_errors", "reaction_days", "days", "mean days to react once over the threshold"),
    ("deactivation", "base_per_month", "1/month", "base hazard of leaving"),
    ("deactivation", "error_weight", "1/day per error rate", "extra hazard per error rate"),
    ("reevaluate", "leave", "", "a paying app nothing affordable fits leaves (else stays)"),
)
"""(policy, parameter, unit, note) listed under the group ``demand``."""


def _value(v: Any) -> Any:
    return v if isinstance(v, (int, float, str)) else str(v)


def assumptions(scenario: Any) -> list[dict[str, Any]]:
    """The scenario's key parameters as ``{group, name, value, unit, calibrated, note}``:
    per archetype (group ``population.<archetype>``, with its start-state shares) and of the
    demand model (group ``demand``)."""
    out: list[dict[str, Any]] = []

    def add(group: str, name: str, value: Any, unit: str, note: str) -> None:
        out.append(
            {
                "group": group,
                "name": name,
                "value": _value(value),
                "unit": unit,
                "calibrated": False,
                "note": note,
            }
        )

    for arch, p in scenario.population.items():
        group = f"population.{arch}"
        for name, unit, note in POPULATION:
            add(group, name, getattr(p, name), unit, note)
        for state, share in sorted(p.start_state.items()):
            add(group, f"start_state.{state}", share, "share", "start on this edition")
    b = scenario.behaviour
    for name, unit, note in DEMAND:
        add("demand", name, getattr(b, name), unit, note)
    for policy, name, unit, note in POLICY:
        add("demand", f"{policy}.{name}", getattr(getattr(b.policies, policy), name), unit, note)
    return out
