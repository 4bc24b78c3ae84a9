"""Which priced items of a catalog and which limit codes a run exercised -- and which it never
did (``sim run`` prints the latter: a figure read off a run says nothing about an item the run
never bought or a limit it never met).

A priced item is a bill line the catalog can produce, named ``kind item option`` as in the
``bills`` table: each postpaid edition's package (``postpaid edition Pro``) and its prepaid
package (``prepaid edition Pro``), each paid pack option (``postpaid members_per_group 2000``)
and each overage with a price (``overage dau_overage Pro``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from sim.core.catalog import Catalog
from sim.rules.limits import (
    ACCOUNT_LIMIT,
    COMMUNITY_UNSUPPORTED,
    DAU_LIMIT,
    GROUP_FULL,
    GROUP_LIMIT,
    LIVE_GROUP_LIMIT,
    TOO_MANY_MEMBERS,
    USER_GROUP_LIMIT,
)

LIMIT_CODES = tuple(
    sorted(
        c[0]
        for c in (
            GROUP_FULL,
            LIVE_GROUP_LIMIT,
            USER_GROUP_LIMIT,
            TOO_MANY_MEMBERS,
            GROUP_LIMIT,
            COMMUNITY_UNSUPPORTED,
            ACCOUNT_LIMIT,
            DAU_LIMIT,
        )
    )
)
"""The codes of the limits a catalog sets (R3, R5, R12, R13)."""

_PACKS = ("live_unlimited", "groups_per_user", "members_per_group")


def priced_items(catalog: Catalog) -> list[str]:
    """Every bill line ``catalog`` can produce, as ``kind item option``, in catalog order."""
    out = []
    for name, ed in catalog.editions.items():
        if ed.kind == "postpaid" and ed.price_per_month > 0:
            out.append(f"postpaid edition {name}")
        if ed.kind == "postpaid" and (ed.prepaid_price_per_month or 0) > 0:
            out.append(f"prepaid edition {name}")
        for pack in _PACKS:
            for value in sorted(catalog.offered(name, pack)):
                if catalog.option_price(name, pack, value) > 0:
                    label = "unlimited" if pack == "live_unlimited" else str(int(value))
                    out.append(f"postpaid {pack} {label}")
        for metric in ("dau", "groups"):
            block = getattr(ed.overage, metric)
            if block is not None and block.price_per_block > 0:
                out.append(f"overage {metric}_overage {name}")
    return list(dict.fromkeys(out))


def billed_items(bills: pd.DataFrame) -> set[str]:
    """The ``kind item option`` of the lines of a ``bills`` table with an amount."""
    b = bills[bills["amount_minor"] > 0]
    return {f"{k} {i} {o}" for k, i, o in b[["kind", "item", "option"]].drop_duplicates().values}


def unexercised(
    catalog: Catalog, bills: pd.DataFrame, codes_met: Iterable[int]
) -> tuple[list[str], list[int]]:
    """(priced items never billed, limit codes never met) of a run."""
    billed = billed_items(bills)
    met = {int(c) for c in codes_met}
    items = [it for it in priced_items(catalog) if it not in billed]
    return items, [c for c in LIMIT_CODES if c not in met]
