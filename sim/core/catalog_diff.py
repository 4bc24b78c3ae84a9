"""What changed between two catalogs, field by field, in words an analyst reads.

:func:`diff_catalogs` compares two validated :class:`~sim.core.catalog.Catalog` objects leaf by
leaf and returns one :class:`CatalogChange` per differing value, in the order the catalog is
written (editions, group types, transitions, billing). Each change carries the dotted path in
the spelling ``--set`` accepts (``editions.Pro.packs.live_unlimited.options.true``), a human
label (``Pro price``), the value before and after, and reads as one line::

    Pro price 449.99 → 399.99
    Pro members per group 200 → 150

Prices are shown with the currency's decimals, ``None`` limits as ``unlimited``, booleans as
YAML spells them. A value present on one side only (a pack option added or removed, a pack
offered on one edition only) is an ``added`` or ``removed`` change. The descriptive fields
(``name``, ``description``, ``assumptions``, ``sources``) are not compared: they say why, not
what is billed, so two catalogs that differ only there are identical for a backtest.

Pure: no I/O, no pandas.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from sim.core.catalog import Catalog

DESCRIPTIVE_FIELDS = ("name", "description", "assumptions", "sources")
"""Top-level fields that document a catalog and are left out of the diff."""

ChangeKind = Literal["changed", "added", "removed"]

_LIMITS = {
    "accounts": "accounts",
    "free_dau": "free DAU",
    "dau_hard_cap": "DAU hard cap",
    "groups_per_user": "groups per user",
    "members_per_group": "members per group",
    "nonlive_groups": "non-live groups",
    "live_groups": "live groups",
    "community": "Community groups allowed",
}
_PACKS = {
    "live_unlimited": "unlimited live groups pack",
    "groups_per_user": "groups-per-user pack",
    "members_per_group": "members-per-group pack",
}
_OVERAGE = {"dau": "DAU overage", "groups": "groups overage"}
_OVERAGE_FIELDS = {
    "free": "free quota",
    "block_size": "block size",
    "price_per_block": "price per block",
}
_EDITION_FIELDS = {
    "kind": "kind",
    "price_per_month": "price",
    "prepaid_price_per_month": "prepaid price",
}
_GROUP_TYPE_FIELDS = {
    "max_members": "max members",
    "member_cap": "member cap applies",
    "live": "is live",
    "community": "is Community",
}
_TOP = {
    "currency.code": "currency",
    "currency.decimals": "currency decimals",
    "timezone": "time zone",
    "billing.proration": "proration policy",
    "billing.bill_day": "bill day",
    "transitions.postpaid_closed": "postpaid closed on",
    "transitions.edition_changes_per_month": "edition changes per month",
    "transitions.pack_changes_per_month": "pack changes per month",
}


class _Missing:
    """The value on the side where a path does not exist."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Stands for ``before`` of an added change and ``after`` of a removed one."""


@dataclass(frozen=True)
class CatalogChange:
    """One value that differs between catalog A (before) and catalog B (after).

    Attributes
    ----------
    path : str
        Dotted path as ``--set`` spells it (``editions.Pro.price_per_month``).
    label : str
        Human name of the field (``Pro price``).
    before, after : Any
        The values in A and B (prices as :class:`~decimal.Decimal` in the catalog's currency,
        limits as counts, ``None`` = unlimited); :data:`MISSING` on the side that lacks it.
    before_text, after_text : str
        The values as shown (prices with the currency's decimals).
    """

    path: str
    label: str
    before: Any
    after: Any
    before_text: str
    after_text: str

    @property
    def kind(self) -> ChangeKind:
        if self.before is MISSING:
            return "added"
        if self.after is MISSING:
            return "removed"
        return "changed"

    def __str__(self) -> str:
        if self.kind == "added":
            return f"{self.label}: added ({self.after_text})"
        if self.kind == "removed":
            return f"{self.label}: removed (was {self.before_text})"
        return f"{self.label} {self.before_text} → {self.after_text}"

    def as_record(self) -> dict[str, str]:
        """A flat row (path, label, kind, before, after, change) for a table or a report."""
        return {
            "path": self.path,
            "label": self.label,
            "kind": self.kind,
            "before": self.before_text,
            "after": self.after_text,
            "change": str(self),
        }


def _key(value: Any) -> str:
    """A mapping key as a dotted path spells it (YAML's ``true``, not Python's ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path parts, value) for every leaf of plain dumped data; a ``None`` sub-model is no leaf
    (a pack not offered), a ``None`` field is (an unlimited limit)."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            if v is None and k in _PACKS | _OVERAGE and prefix[-1:] in (("packs",), ("overage",)):
                continue
            yield from _leaves(v, (*prefix, _key(k)))
    else:
        yield prefix, value


def _flatten(catalog: Catalog) -> dict[tuple[str, ...], Any]:
    data = catalog.model_dump(by_alias=True, exclude=set(DESCRIPTIVE_FIELDS))
    return dict(_leaves(data))


def label_for(path: str) -> str:
    """The human label of a dotted catalog path (``editions.Pro.price_per_month`` ->
    ``Pro price``); the path itself, dots as spaces, for a field without a label."""
    parts = path.split(".")
    if path in _TOP:
        return _TOP[path]
    if parts[0] == "editions" and len(parts) >= 3:
        return _edition_label(parts[1], parts[2:]) or " ".join(parts[1:])
    if parts[0] == "group_types" and len(parts) == 3 and parts[2] in _GROUP_TYPE_FIELDS:
        return f"{parts[1]} groups {_GROUP_TYPE_FIELDS[parts[2]]}"
    if parts[0] == "transitions" and len(parts) == 3:
        side = "allowed from" if parts[2] == "from" else "allowed to"
        return f"{parts[1]} {side}"
    return " ".join(parts)


def _edition_label(edition: str, rest: list[str]) -> str | None:
    head = rest[0]
    if len(rest) == 1 and head in _EDITION_FIELDS:
        return f"{edition} {_EDITION_FIELDS[head]}"
    if head == "limits" and len(rest) == 2 and rest[1] in _LIMITS:
        return f"{edition} {_LIMITS[rest[1]]}"
    if head == "packs" and len(rest) >= 3 and rest[1] in _PACKS:
        pack = _PACKS[rest[1]]
        if rest[2] == "default":
            return f"{edition} {pack} default"
        if rest[2] == "options" and len(rest) == 4:
            option = "" if rest[1] == "live_unlimited" and rest[3] == "true" else f" {rest[3]}"
            return f"{edition} {pack}{option} price"
    if head == "overage" and len(rest) == 3 and rest[1] in _OVERAGE:
        return f"{edition} {_OVERAGE[rest[1]]} {_OVERAGE_FIELDS.get(rest[2], rest[2])}"
    return None


def format_value(value: Any, decimals: int) -> str:
    """A catalog value as the diff shows it: a price with ``decimals`` decimals, ``None`` as
    ``unlimited``, booleans as ``true``/``false``, a list as ``IM, Trial``."""
    if value is MISSING:
        return "(none)"
    if value is None:
        return "unlimited"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.{decimals}f}"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "(none)"
    return str(value)


def diff_catalogs(a: Catalog, b: Catalog) -> list[CatalogChange]:
    """Every value that differs between catalog ``a`` (before) and ``b`` (after).

    Parameters
    ----------
    a, b : Catalog
        Validated catalogs; prices are in each catalog's own currency.

    Returns
    -------
    list of CatalogChange
        In the order of ``a``'s fields, then the fields only ``b`` has; empty when the two
        catalogs bill and limit identically (descriptive fields are ignored).
    """
    left, right = _flatten(a), _flatten(b)
    paths = list(left) + [p for p in right if p not in left]
    changes = []
    for parts in paths:
        before, after = left.get(parts, MISSING), right.get(parts, MISSING)
        if _same(before, after):
            continue
        path = ".".join(parts)
        changes.append(
            CatalogChange(
                path=path,
                label=label_for(path),
                before=before,
                after=after,
                before_text=format_value(before, a.currency.decimals),
                after_text=format_value(after, b.currency.decimals),
            )
        )
    return changes


def _same(before: Any, after: Any) -> bool:
    if before is MISSING or after is MISSING:
        return before is after
    if isinstance(before, bool) != isinstance(after, bool):
        return False
    return bool(before == after)


def format_diff(changes: list[CatalogChange]) -> list[str]:
    """The changes as lines, one per change (``Pro price 449.99 → 399.99``)."""
    return [str(c) for c in changes]
