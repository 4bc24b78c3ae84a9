"""Decisions: the console policies tenants follow, in a registry; the console that applies them
through the rules engine is :mod:`sim.model.console`.

Each policy (:data:`POLICIES`) has parameters (a pydantic model, set under
``behaviour.policies.<name>`` in a scenario) and a daily rule. Every day at local midnight the
:class:`~sim.model.console.Console` evaluates the policies in registry order for every live tenant from what its
users met over the last ``behaviour.window_days`` days (:class:`~sim.model.console.Stats`), and sends each chosen
operation to the engine; refused ones are logged like the others. Both fidelity modes share this
module, so they decide alike.

Price response (``behaviour.price_response``): each tenant has a willingness to pay ``wtp``
(currency per month, drawn per archetype). A policy that buys something acts on a given day with
probability ``affordability / reaction_days``, where ``affordability = min(1, wtp / price) **
elasticity`` and ``price`` is the monthly price of the configuration bought: a dearer edition
delays upgrades, a cheaper pack is bought by more tenants (and sooner). Deactivation's hazard
grows with the error rate the tenant's users meet and, with price response, with spend above
``wtp``. With price response off no decision reads a price (affordability is 1 and the choice
of configuration follows a fixed order), so halving every price halves every bill line and
changes no operation. Each policy draws one uniform per tenant and day from the tenant's
``decisions`` stream whatever the prices (common random numbers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

from sim.core.vocab import NS_PER_DAY, Code
from sim.model.choice import (
    Config,
    affordability,
    budget,
    choose,
    choose_within,
)
from sim.model.console import (
    CODE_COL,
    CODES,
    GONE,
    IM,
    LAPSED,
    PREPAID,
    PRO,
    TRIAL,
    ULTIMATE,
    Console,
)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = True


class UpgradeParams(_Params):
    """IM -> Pro/Ultimate once limit errors in the window reach ``threshold``."""

    threshold: int = Field(ge=1, default=20)
    reaction_days: float = Field(ge=1, default=5.0)


class PacksParams(_Params):
    """Postpaid: buy or raise packs, or change edition, when pack-limited errors recur."""

    threshold: int = Field(ge=1, default=10)
    reaction_days: float = Field(ge=1, default=7.0)


class CampaignParams(_Params):
    """Pro without unlimited live groups: switch them on for an event, off after (R9)."""

    probability: float = Field(ge=0, le=1, default=0.8)


class DowngradeParams(_Params):
    """IM apps with low usage and no limit errors move to Trial (R10)."""

    max_dau: int = Field(ge=0, default=10)
    probability_per_day: float = Field(ge=0, le=1, default=0.003)


class PrepaidParams(_Params):
    """Trial apps buy prepaid packages when they meet limits, and renew them (R11)."""

    threshold: int = Field(ge=1, default=20)
    reaction_days: float = Field(ge=1, default=5.0)
    months: int = Field(ge=1, le=12, default=1)
    renew_probability: float = Field(ge=0, le=1, default=0.85)


class ReevaluateParams(_Params):
    """Postpaid: when the monthly bill changes, keep it, move to a cheaper configuration, or
    leave (``leave``: false keeps a tenant that nothing affordable fits on its configuration)."""

    leave: bool = True


class DeactivationParams(_Params):
    """Daily hazard: base + error_weight * error rate (+ price_weight * overspend)."""

    base_per_month: float = Field(ge=0, le=1, default=0.005)
    error_weight: float = Field(ge=0, default=0.005)
    price_weight: float = Field(ge=0, default=0.002)


@dataclass(frozen=True)
class Policy:
    """A registry entry: the parameters' model and the daily rule."""

    params: type[_Params]
    decide: Callable[..., None]
    description: str


# -- what the tenants' users met ------------------------------------------------------------------

# -- the policies ---------------------------------------------------------------------------------

_LIMIT = [CODE_COL[c] for c in CODES]
_PACK_LIMITED = [
    CODE_COL[c]
    for c in (
        Code.LIVE_GROUP_LIMIT,
        Code.USER_GROUP_LIMIT,
        Code.GROUP_FULL,
        Code.COMMUNITY_UNSUPPORTED,
    )
]


def _may_buy(u: np.ndarray, reaction_days: float) -> np.ndarray:
    """The tenants whose uniform may still pass ``u < affordability / reaction_days``: as the
    affordability is at most 1, the others never buy, whatever they would choose -- a policy
    looks no further into them (choosing is the costly part of a day's decisions)."""
    return u < 1.0 / reaction_days


def _pick(
    con: Console, cands: list[Config], i: int, v: float, prepaid: bool = False
) -> Config | None:
    """What tenant ``i`` buys when it reacts, ``v`` a uniform: with price response, the
    configuration covering most of its needs among those its budget this time covers
    (:func:`budget`; None: it stays as it is, constrained); without, the first covering most
    needs in the fixed order (no price read)."""
    if not con.priced:
        return choose(cands, con.needs(i), False, prepaid)
    most = budget(con.wtp[i], v, con.b.wtp_noise)
    return choose_within(cands, con.needs(i), most, prepaid)


def _upgrade(con: Console, d: int, t_ns: int, u: np.ndarray, p: UpgradeParams) -> None:
    errors = con.stats.win[:, _LIMIT].sum(axis=1)
    may = (con.state == IM) & (errors >= p.threshold) & _may_buy(u, p.reaction_days)
    for i in np.flatnonzero(may).tolist():
        c = _pick(con, con.up, i, u[i] * p.reaction_days)
        if c is not None:
            con.apply(
                i,
                t_ns,
                "upgrade",
                "upgrade_on_errors",
                edition=c.edition,
                live_unlimited=c.live_unlimited,
                groups_per_user=c.groups_per_user,
                members_per_group=c.members_per_group,
            )


def _same(c: Config, cur: dict[str, Any]) -> bool:
    return (c.edition, c.live_unlimited, c.groups_per_user, c.members_per_group) == (
        cur["edition"],
        cur["live_unlimited"],
        cur["groups_per_user"],
        cur["members_per_group"],
    )


def _reconfigure(con: Console, i: int, t_ns: int, policy: str, c: Config) -> bool:
    return con.apply(
        i,
        t_ns,
        "reconfigure",
        policy,
        edition=c.edition,
        live_unlimited=c.live_unlimited if c.edition == "Pro" else None,
        groups_per_user=c.groups_per_user,
        members_per_group=c.members_per_group,
    )


def _packs(con: Console, d: int, t_ns: int, u: np.ndarray, p: PacksParams) -> None:
    errors = con.stats.win[:, _PACK_LIMITED].sum(axis=1)
    paid = (con.state == PRO) | (con.state == ULTIMATE)
    may = paid & (errors >= p.threshold) & ~con.campaign & _may_buy(u, p.reaction_days)
    for i in np.flatnonzero(may).tolist():
        c = _pick(con, con.re, i, u[i] * p.reaction_days)
        if (
            c is not None
            and not _same(c, con.config[i])
            and _reconfigure(con, i, t_ns, "packs_on_errors", c)
        ):
            con.evaluated[i] = con.spend[i] + con.overage(i, d)


def _reevaluate(con: Console, d: int, t_ns: int, u: np.ndarray, p: ReevaluateParams) -> None:
    """On the 1st of a month, a postpaid tenant whose monthly bill (package, packs and the DAU
    overage of the month before) changed since it last looked -- its usage grew, or a price
    changed -- compares it with what it will pay (:func:`budget`): over it, it moves to the
    configuration covering most of its needs that fits (dropping a pack, Ultimate -> Pro), or
    leaves when none does. Price response off: nothing (no decision reads a price)."""
    if not con.priced or d == 0 or d not in con.month_first:
        return
    paid = ((con.state == PRO) | (con.state == ULTIMATE)) & ~con.campaign
    for i in np.flatnonzero(paid).tolist():
        over = con.overage(i, d)
        bill = con.spend[i] + over
        if bill == con.evaluated[i]:
            continue
        most = budget(con.wtp[i], u[i], con.b.wtp_noise)
        if bill <= most:
            con.evaluated[i] = bill
            continue
        c = choose_within(con.re, con.needs(i), most - over)
        if c is None:
            if p.leave:
                con.apply(i, t_ns, "deactivate", "reevaluate")
        elif not _same(c, con.config[i]) and _reconfigure(con, i, t_ns, "reevaluate", c):
            con.evaluated[i] = c.price + over


def _campaign(con: Console, d: int, t_ns: int, u: np.ndarray, p: CampaignParams) -> None:
    """An event's first day: unlimited live groups on; the day after it: off again -- refused
    (R9, monthly_limit) when still in the month it was switched on, then retried on the 1st."""
    ends = np.flatnonzero(con.campaign).tolist()
    for i in ends:
        ev = con.tenants[i].event
        retry = d in con.month_first or ev[d - 1]  # the day after, else the next 1st
        if not ev[d] and con.state[i] == PRO and retry:
            if con.apply(i, t_ns, "reconfigure", "campaign_live", live_unlimited=False):
                con.campaign[i] = False
        elif con.state[i] != PRO:
            con.campaign[i] = False
    if not con.tenants:
        return
    price = float(con.catalog.option_price("Pro", "live_unlimited", True))
    ev = con.events()
    starts = ev[:, d] & ~ev[:, d - 1] if d > 0 else ev[:, d]
    for i in np.flatnonzero((con.state == PRO) & starts).tolist():
        t = con.tenants[i]
        if con.config[i]["live_unlimited"]:
            continue
        cost = price * t.params.event_days / 30.0
        f = affordability(con.wtp[i] - con.spend[i], cost, con.b.elasticity) if con.priced else 1.0
        if u[i] < p.probability * f and con.apply(
            i, t_ns, "reconfigure", "campaign_live", live_unlimited=True
        ):
            con.campaign[i] = True


def _downgrade(con: Console, d: int, t_ns: int, u: np.ndarray, p: DowngradeParams) -> None:
    errors = con.stats.win[:, _LIMIT].sum(axis=1)
    for i in np.flatnonzero(
        (con.state == IM) & (errors == 0) & (u < p.probability_per_day)
    ).tolist():
        if con.tenants[i].dau[d] <= p.max_dau:
            con.apply(i, t_ns, "downgrade", "downgrade_low_usage")


def _prepaid(con: Console, d: int, t_ns: int, u: np.ndarray, p: PrepaidParams) -> None:
    errors = con.stats.win[:, _LIMIT].sum(axis=1)
    trial = (con.state == TRIAL) | (con.state == LAPSED)
    for i in np.flatnonzero(
        trial & (errors >= p.threshold) & _may_buy(u, p.reaction_days)
    ).tolist():
        need = con.needs(i) | con.beyond_trial if con.state[i] == LAPSED else con.needs(i)
        if con.priced:
            most = budget(con.wtp[i], u[i] * p.reaction_days, con.b.wtp_noise)
            c = choose_within(con.pre, need, most, prepaid=True)
        else:
            c = choose(con.pre, need, False, prepaid=True)
        if c is not None:
            con.apply(
                i,
                t_ns,
                "buy_prepaid",
                "prepaid",
                edition=c.edition,
                live_unlimited=c.live_unlimited if c.edition == "Pro" else None,
                groups_per_user=c.groups_per_user,
                members_per_group=c.members_per_group,
                months=p.months,
            )
    # renewal: on the last day of the package, once per package
    due = (
        (con.state == PREPAID)
        & (con.prepaid_until - t_ns <= NS_PER_DAY)
        & (con.renewed_until != con.prepaid_until)
    )
    for i in np.flatnonzero(due).tolist():
        con.renewed_until[i] = con.prepaid_until[i]
        cur = con.config[i]
        price = con.spend[i]
        f = affordability(con.wtp[i], price, con.b.elasticity) if con.priced else 1.0
        if u[i] < p.renew_probability * f:
            kw = {k: cur[k] for k in ("live_unlimited", "groups_per_user", "members_per_group")}
            if cur["edition"] != "Pro":
                kw["live_unlimited"] = None
            con.apply(
                i, t_ns, "buy_prepaid", "prepaid", edition=cur["edition"], months=p.months, **kw
            )


def _deactivation(con: Console, d: int, t_ns: int, u: np.ndarray, p: DeactivationParams) -> None:
    hazard = p.base_per_month / 30.0 + p.error_weight * con.error_rate()
    if con.priced:
        hazard = hazard + p.price_weight * np.maximum(con.spend / con.wtp - 1.0, 0.0)
    for i in np.flatnonzero((con.state != GONE) & (u < hazard)).tolist():
        con.apply(i, t_ns, "deactivate", "deactivation")


POLICIES: dict[str, Policy] = {
    "deactivation": Policy(
        DeactivationParams,
        _deactivation,
        "deactivate; hazard grows with the error rate (and overspend)",
    ),
    "reevaluate": Policy(
        ReevaluateParams,
        _reevaluate,
        "postpaid: a changed bill over the budget -> a cheaper configuration, or leave",
    ),
    "prepaid": Policy(PrepaidParams, _prepaid, "Trial: buy prepaid packages and renew them"),
    "upgrade_on_errors": Policy(
        UpgradeParams, _upgrade, "IM: upgrade to the edition and packs that avoid the errors"
    ),
    "packs_on_errors": Policy(
        PacksParams, _packs, "postpaid: buy or raise packs, or change edition"
    ),
    "campaign_live": Policy(
        CampaignParams, _campaign, "Pro: unlimited live groups for an event, off after (R9)"
    ),
    "downgrade_low_usage": Policy(DowngradeParams, _downgrade, "IM with low usage -> Trial"),
}
"""The registry: policy name -> parameters and daily rule, evaluated in this order."""

Policies = create_model(  # type: ignore[call-overload]
    "Policies",
    __config__=ConfigDict(extra="forbid", frozen=True),
    **{name: (p.params, p.params()) for name, p in POLICIES.items()},
)


class Behaviour(BaseModel):
    """How tenants decide: price response, the window they look back over, the policies."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price_response: bool = True
    elasticity: float = Field(ge=0, default=1.5)
    wtp_scale: float = Field(
        gt=0,
        default=1.0,
        description="catalog currency units per unit of the archetypes' wtp (e.g. 7.2 CNY/USD)",
    )
    wtp_noise: float = Field(
        ge=0, default=0.1, description="log-sd of the noise on wtp at each purchase decision"
    )
    window_days: int = Field(ge=1, le=90, default=7)
    policies: Policies = Policies()  # type: ignore[valid-type]
