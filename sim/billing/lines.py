"""The three kinds of bill line (R6, R7, R11): postpaid, overage and prepaid, as columns of
small int codes (words) and integer amounts in the currency's minor unit. See
:mod:`sim.billing.bills` for the conventions. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd

from sim.billing.arrays import DAY_NS, MONTH_BITS, Months, bill_days, local_ns, month_of_local
from sim.billing.policies import POLICIES, explode
from sim.core.catalog import PACKS, Catalog
from sim.errors import CatalogError, InputError

KINDS = ("overage", "postpaid", "prepaid")
"""Kinds of bill line, in sort order."""


class Words:
    """The strings of the output's item, option and unit columns, each coded by a small int."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def __call__(self, word: str) -> int:
        return self.codes.setdefault(word, len(self.codes))

    def labels(self) -> np.ndarray:
        return np.array(list(self.codes), dtype=object)


class Variants:
    """The distinct paid (item, option, price_minor) triples met, each coded by a small int."""

    def __init__(self, words: Words) -> None:
        self.words = words
        self.keys: dict[tuple[int, int, int], int] = {}

    def code(self, item: str, option: str, price_minor: int) -> int:
        """The code of a paid item; -1 for a free one (no line)."""
        if price_minor <= 0:
            return -1
        key = (self.words(item), self.words(option), price_minor)
        return self.keys.setdefault(key, len(self.keys))

    def lines(self, var: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Item and option word codes and price_minor of each variant code in ``var``."""
        table = np.array([*self.keys], dtype=np.int64).reshape(-1, 3)
        return table[var, 0], table[var, 1], table[var, 2]


def item_codes(
    catalog: Catalog,
    editions: np.ndarray,
    packs: dict[str, np.ndarray],
    edition_price: Callable[[str], Decimal],
    variants: Variants,
) -> np.ndarray:
    """Variant codes, shape (rows, 1 + len(PACKS)): the edition package, then each pack; -1
    where the item is free (a default option or any option priced 0, R3/R4) or missing."""
    ed_codes, ed_names = pd.factorize(editions)
    out = np.full((len(editions), 1 + len(PACKS)), -1, dtype=np.int64)
    lut = [variants.code("edition", n, catalog.to_minor(edition_price(n))) for n in ed_names]
    out[:, 0] = np.array([*lut, -1], dtype=np.int64)[ed_codes]
    for col, pack in enumerate(PACKS, start=1):
        v_codes, v_names = pd.factorize(packs[pack])
        width = len(v_names) + 1
        uniq, inv = np.unique(ed_codes * width + v_codes + 1, return_inverse=True)
        lut = []
        for combo in uniq.tolist():
            ed, vi = combo // width, combo % width - 1
            if ed < 0 or vi < 0:
                lut.append(-1)
                continue
            value = bool(v_names[vi]) if pack == "live_unlimited" else int(v_names[vi])
            price = catalog.to_minor(catalog.option_price(ed_names[ed], pack, value))
            label = "unlimited" if pack == "live_unlimited" else str(value)
            lut.append(variants.code(pack, label, price))
        out[:, col] = np.array(lut, dtype=np.int64)[inv]
    return out


# -- the three kinds of line ---------------------------------------------------------------------


def reduce_by_key(
    key: np.ndarray, *values: np.ndarray, ufunc: np.ufunc = np.add
) -> list[np.ndarray]:
    """Distinct keys (sorted), then ``ufunc`` reduced over each of ``values`` per key."""
    if len(key) == 0:
        return [key, *values]
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    return [ks[starts], *(ufunc.reduceat(v[order], starts) for v in values)]


def sort_order(keys: list[np.ndarray]) -> np.ndarray:
    """Stable order by int ``keys`` (most significant first), via one mixed-radix key if it fits."""
    if len(keys[0]) == 0:
        return np.zeros(0, dtype=np.int64)
    composite, total = np.zeros(len(keys[0]), dtype=np.int64), 1
    for k in keys:
        low, span = int(k.min()), int(k.max() - k.min()) + 1
        if total * span >= 2**62:
            return np.lexsort(keys[::-1])
        composite, total = composite * span + (k - low), total * span
    return np.argsort(composite, kind="stable")


def postpaid_lines(
    tl: dict[str, np.ndarray],
    catalog: Catalog,
    policy: str,
    until: int,
    months: Months,
    variants: Variants,
) -> dict[str, np.ndarray]:
    """Postpaid lines (R6, R7) of the billed intervals ``tl`` (already clipped at ``until``)."""
    to_units, unit = POLICIES[policy]
    lo, hi, bounds = to_units(tl["start"], tl["end"], tl["stops"], until, months)
    row, pos, qty = explode(lo, hi, bounds)
    codes = item_codes(
        catalog, tl["edition"], tl, lambda n: catalog.editions[n].price_per_month, variants
    )
    n_var, n_months = max(len(variants.keys), 1), len(bounds) - 1
    var = codes[row].ravel()
    paid = var >= 0
    piece = np.repeat(np.arange(len(row)), codes.shape[1])[paid]
    key = (tl["app"][row][piece] * n_months + pos[piece]) * n_var + var[paid]
    key, total = reduce_by_key(key, qty[piece])
    var, pos, app = key % n_var, key // n_var % n_months, key // (n_var * n_months)
    item, option, price = variants.lines(var)
    per_month = np.diff(bounds)[pos]
    whole = total == per_month
    month = months.first + pos
    return {
        "item": item,
        "option": option,
        "app": app,
        "month": month,
        "bill_day": bill_days(month, catalog.billing.bill_day),
        "kind": np.full(len(app), KINDS.index("postpaid")),
        "quantity": np.where(whole, 1, total),
        "unit": np.where(whole, variants.words("month"), variants.words(unit)),
        "unit_price": np.where(whole, price, price / per_month),
        "amount_minor": (2 * price * total + per_month) // (2 * per_month),
        "price_per_month": price.astype(float),
    }


def overage_lines(
    tl: dict[str, np.ndarray],
    usage: dict[str, np.ndarray],
    catalog: Catalog,
    months: Months,
    words: Words,
) -> dict[str, np.ndarray]:
    """Overage lines: the month's peak DAU and peak groups above the free quota of the last
    billed postpaid edition in force in that month, per started block (R7 bill date)."""
    row, pos, _ = explode(tl["start"], tl["end"], months.start_ns)
    key = (tl["app"][row] << MONTH_BITS) | (months.first + pos)
    order = np.lexsort((tl["start"][row], key))  # by (app, month), then interval start
    ks = key[order]
    last = np.r_[ks[1:] != ks[:-1], True] if len(ks) else np.zeros(0, bool)
    month_key, ed_of = ks[last], tl["edition"][row[order][last]]
    used_key, dau, groups = reduce_by_key(
        usage["key"], usage["dau"], usage["groups"], ufunc=np.maximum
    )
    at = np.minimum(np.searchsorted(used_key, month_key), max(len(used_key) - 1, 0))
    found = used_key[at] == month_key if len(used_key) else np.zeros(len(month_key), bool)
    month_key, ed_of, at = month_key[found], ed_of[found], at[found]
    peaks = {"dau": dau[at], "groups": groups[at]}
    ed_codes, ed_names = pd.factorize(ed_of)
    ed_word = np.array([words(str(n)) for n in ed_names] + [-1], dtype=np.int64)[ed_codes]
    parts = []
    for metric in ("dau", "groups"):
        blocks = [getattr(catalog.editions[n].overage, metric) for n in ed_names]
        free = np.array([b.free if b else 0 for b in blocks] + [0], dtype=np.int64)[ed_codes]
        size = np.array([b.block_size if b else 1 for b in blocks] + [1], dtype=np.int64)
        price = [catalog.to_minor(b.price_per_block) if b else 0 for b in blocks]
        price = np.array([*price, 0], dtype=np.int64)[ed_codes]
        n_blocks = -(-np.maximum(peaks[metric] - free, 0) // size[ed_codes])
        hit = (n_blocks > 0) & (price > 0)
        month = month_key[hit] & ((1 << MONTH_BITS) - 1)
        n = int(hit.sum())
        parts.append(
            {
                "app": month_key[hit] >> MONTH_BITS,
                "month": month,
                "bill_day": bill_days(month, catalog.billing.bill_day),
                "kind": np.full(n, KINDS.index("overage")),
                "item": np.full(n, words(f"{metric}_overage")),
                "option": ed_word[hit],
                "quantity": n_blocks[hit],
                "unit": np.full(n, words("block")),
                "unit_price": price[hit].astype(float),
                "amount_minor": n_blocks[hit] * price[hit],
                "price_per_month": np.full(n, np.nan),
            }
        )
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def prepaid_lines(
    pu: dict[str, np.ndarray], catalog: Catalog, variants: Variants
) -> dict[str, np.ndarray]:
    """Prepaid lines (R11): package and paid packs × months, in full on the purchase date."""

    def price(name: str) -> Decimal:
        edition = catalog.editions.get(name)
        if edition is None:
            known = ", ".join(catalog.editions)
            raise InputError(
                f"purchases table: edition {name!r} is not in catalog {catalog.name!r} ({known})"
            )
        if edition.prepaid_price_per_month is None and edition.kind == "postpaid":
            raise CatalogError(
                f"catalog {catalog.name!r}: field 'editions.{name}.prepaid_price_per_month': "
                f"not set, but a prepaid {name} package was bought (R11)"
            )
        return edition.prepaid_price_per_month or Decimal(0)

    local = local_ns(pu["time"], catalog.timezone)
    codes = item_codes(catalog, pu["edition"], pu, price, variants)
    var = codes.ravel()
    row = np.repeat(np.arange(len(codes)), codes.shape[1])[var >= 0]
    item, option, price_minor = variants.lines(var[var >= 0])
    bought = pu["months"][row]
    return {
        "item": item,
        "option": option,
        "app": pu["app"][row],
        "month": month_of_local(local)[row],
        "bill_day": (local // DAY_NS)[row],
        "kind": np.full(len(row), KINDS.index("prepaid")),
        "quantity": bought,
        "unit": np.full(len(row), variants.words("month")),
        "unit_price": price_minor.astype(float),
        "amount_minor": price_minor * bought,
        "price_per_month": price_minor.astype(float),
    }
