"""The catalog: editions, limits, value-added packs, prices, transition rules and billing settings.

A catalog is data (``scenarios/catalogs/*.yaml``); this module is its validated, frozen
in-memory form. It does no file I/O: :mod:`sim.files.catalogs` reads YAML, resolves ``extends``
and overrides, and calls :func:`catalog_from_dict`.

Units, stated once: every ``price_*`` is an amount in the catalog's ``currency`` (``amount`` in
the currency's major unit, e.g. USD, with at most ``currency.decimals`` decimals) per month
unless the name says otherwise; limits are counts; ``None`` means unlimited.

Rules encoded here as data (ids from ``docs/rules.md``):

- R3 edition defaults are each edition's ``limits`` and its packs' ``default`` options;
- R4 paid packs are the pack options with a non-zero price;
- R5 ``group_types[...].member_cap`` says which types the per-group member cap covers, and
  ``max_members`` is the type's own limit, which no member-cap option may exceed;
- R1, R8, R10, R11, R14 are ``transitions``; R9 is ``transitions.changes_per_month``;
- R6, R7 are ``billing``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from sim.core.vocab import PACKS as VOCAB_PACKS
from sim.errors import CatalogError

EDITIONS = ("IM", "Trial", "Pro", "Ultimate")
"""The four editions, in the seed's vocabulary."""

PACKS = VOCAB_PACKS
"""The value-added packs (R2): each is also a column of the operations log."""

GROUP_TYPES = ("Work", "Public", "Meeting", "AVChatRoom", "Community")

PRORATION_POLICIES = ("day", "second", "next_month")
"""Billing policies: see :mod:`sim.billing`."""

Price = Decimal

if TYPE_CHECKING:  # callers index with plain str names; pydantic validates the Literal below
    EditionName = str
    GroupTypeName = str
else:
    EditionName = Literal["IM", "Trial", "Pro", "Ultimate"]
    GroupTypeName = Literal["Work", "Public", "Meeting", "AVChatRoom", "Community"]


def _no_bool(value: Any) -> Any:
    """Refuse a boolean where a number is expected: YAML reads ``true``/``yes``/``on`` as
    booleans, and pydantic's lax mode would otherwise take them as 1 (``live_groups: on``)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, not a boolean ({str(value).lower()})")
    return value


Int = Annotated[int, BeforeValidator(_no_bool)]
PositiveInt = Annotated[int, Field(gt=0), BeforeValidator(_no_bool)]
NonNegativeInt = Annotated[int, Field(ge=0), BeforeValidator(_no_bool)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


class Currency(_Model):
    code: str = Field(min_length=3, max_length=3)
    decimals: Int = Field(ge=0, le=6)


class Limits(_Model):
    """An edition's limits (R3, docs/rules.md); ``None`` is unlimited."""

    accounts: PositiveInt | None
    free_dau: NonNegativeInt | None
    dau_hard_cap: bool = Field(
        description="True: activity above free_dau is refused (72000); False: it is billed"
    )
    groups_per_user: PositiveInt
    members_per_group: PositiveInt
    nonlive_groups: PositiveInt | None
    live_groups: NonNegativeInt | None
    community: bool


class LivePack(_Model):
    """Unlimited live-stream groups (AVChatRoom): offered on Pro only (R2, R4)."""

    default: bool = False
    options: dict[bool, Price]


class CapPack(_Model):
    """A raised cap (groups per user, members per group): option value -> monthly price (R4)."""

    default: PositiveInt
    options: dict[PositiveInt, Price]


class Packs(_Model):
    live_unlimited: LivePack | None = None
    groups_per_user: CapPack | None = None
    members_per_group: CapPack | None = None


class OverageBlock(_Model):
    """Usage above a free quota, charged per started block."""

    free: NonNegativeInt
    block_size: PositiveInt
    price_per_block: Price = Field(ge=0)


class Overage(_Model):
    dau: OverageBlock | None = None
    groups: OverageBlock | None = None


class Edition(_Model):
    kind: Literal["free", "trial", "postpaid"]
    price_per_month: Price = Field(ge=0, default=Decimal(0))
    prepaid_price_per_month: Price | None = Field(ge=0, default=None)
    limits: Limits
    packs: Packs = Packs()
    overage: Overage = Overage()


class GroupType(_Model):
    """A group type's own limits (R5): ``member_cap`` says whether the edition's per-group
    member cap applies to it; ``max_members`` is the type's own ceiling (None: unlimited)."""

    max_members: PositiveInt | None
    member_cap: bool
    live: bool = False
    community: bool = False


class Transition(_Model):
    from_: tuple[str, ...] = Field(alias="from")
    to: tuple[str, ...] = ()


class Transitions(_Model):
    """Which editions allow which console operation (R1, R8, R10, R11, R14) and R9's limits."""

    upgrade: Transition
    reconfigure: Transition
    downgrade: Transition
    buy_prepaid: Transition
    deactivate: Transition
    postpaid_closed: tuple[str, ...] = Field(
        default=("Trial",), description="R11: editions whose upgrade is refused as postpaid_closed"
    )
    edition_changes_per_month: NonNegativeInt = 1
    pack_changes_per_month: NonNegativeInt = 1


class Billing(_Model):
    """R6, R7: proration policy and bill date."""

    proration: Literal["day", "second", "next_month"] = "day"
    bill_day: Int = Field(default=3, ge=1, le=28)


class Catalog(_Model):
    """A validated catalog. Build with :func:`catalog_from_dict` (or ``sim.files.catalogs``)."""

    name: str
    description: str = ""
    currency: Currency
    timezone: str = "Asia/Shanghai"
    editions: dict[EditionName, Edition]
    group_types: dict[GroupTypeName, GroupType]
    transitions: Transitions
    billing: Billing = Billing()
    assumptions: dict[str, str] = Field(default_factory=dict)
    sources: dict[str, str] = Field(default_factory=dict)

    # -- derived views -------------------------------------------------------------------------
    @property
    def tz(self) -> dt.tzinfo:
        return ZoneInfo(self.timezone)

    def edition(self, name: str) -> Edition:
        return self.editions[name]

    def pack(self, edition: str, pack: str) -> LivePack | CapPack | None:
        """An edition's pack ``pack`` (one of :data:`PACKS`), or None when it has none."""
        found: LivePack | CapPack | None = getattr(self.editions[edition].packs, pack)
        return found

    def default_option(self, edition: str, pack: str) -> bool | int:
        """The option an edition has when none is chosen (R3)."""
        p = self.pack(edition, pack)
        if p is not None:
            return p.default
        if pack == "live_unlimited":
            return False  # no pack bought (Ultimate is unlimited without it)
        limit: int = getattr(self.editions[edition].limits, pack)
        return limit

    def offered(self, edition: str, pack: str) -> tuple[bool | int, ...]:
        """The option values an edition accepts for a pack (R2, R4): its menu, or only the
        default when the edition has no such pack (so unlimited live groups on Ultimate, or a
        cap that is not on the menu, is an ``invalid_option``)."""
        p = self.pack(edition, pack)
        if p is not None:
            return tuple(p.options)
        return (self.default_option(edition, pack),)

    def option_price(self, edition: str, pack: str, value: bool | int) -> Price:
        """Monthly price of a pack option on an edition (R4); 0 for the default."""
        p = self.pack(edition, pack)
        if p is None:
            return Decimal(0)
        options: Mapping[Any, Price] = p.options  # bool keys (live) or int keys (caps)
        return options.get(value, Decimal(0))

    def to_minor(self, amount: Decimal) -> int:
        """An amount in the currency's minor unit (cents for USD), exactly."""
        return int(amount.scaleb(self.currency.decimals))


# -- validation ---------------------------------------------------------------------------------


def _fmt_loc(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """The field names allowed at ``loc`` (for 'unknown key' messages), best effort."""
    import typing

    cur: Any = model
    for part in loc[:-1]:
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            field = cur.model_fields.get(str(part))
            if field is None:
                # maybe an alias
                field = next((f for f in cur.model_fields.values() if f.alias == part), None)
            if field is None:
                return None
            cur = field.annotation
        else:
            args = [a for a in typing.get_args(cur) if a is not type(None)]
            origin = typing.get_origin(cur)
            if origin in (dict, Mapping) and len(args) == 2:
                cur = args[1]
            elif len(args) == 1:
                cur = args[0]
            else:
                cur = next(
                    (a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None
                )
                if cur is None:
                    return None
            # a dict value or an Optional: the key in loc is a dict key, so consume it
            if isinstance(cur, type) and issubclass(cur, BaseModel):
                continue
    while not (isinstance(cur, type) and issubclass(cur, BaseModel)):
        args = [a for a in typing.get_args(cur) if a is not type(None)]
        if not args:
            return None
        cur = args[-1]
    return sorted((f.alias or n) for n, f in cur.model_fields.items())


def _message(source: str, err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = f"{source}: field '{_fmt_loc(loc)}'"
    given = err.get("input")
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(Catalog, loc)
        tail = f"; allowed keys: {', '.join(allowed)}" if allowed else ""
        return f"{where}: unknown key{tail}"
    if err["type"] == "missing":
        return f"{where}: required but missing"
    msg = err["msg"].removeprefix("Value error, ")
    if loc and loc[-1] == "[key]":  # a mapping key (edition, group type, option value) is wrong
        return f"{source}: field '{_fmt_loc(loc[:-1])}': invalid key: {msg} (given {given!r})"
    return f"{where}: {msg} (given {given!r})"


def catalog_from_dict(data: Mapping[str, Any], source: str = "<catalog>") -> Catalog:
    """Validate a catalog given as plain data (already merged with its base and overrides).

    Raises :class:`~sim.errors.CatalogError` naming ``source``, the field, what was given and
    what is allowed; the first problem found is reported.
    """
    try:
        cat = Catalog.model_validate(dict(data))
    except ValidationError as exc:
        raise CatalogError(_message(source, dict(exc.errors()[0]))) from None
    _check(cat, source)
    return cat


def _fail(source: str, field: str, msg: str) -> NoReturn:
    raise CatalogError(f"{source}: field '{field}': {msg}")


def _check(cat: Catalog, source: str) -> None:
    """Cross-field checks that a schema cannot express, in this order (the first fails)."""
    check = _Checker(cat, source)
    check.names()
    for ename, ed in cat.editions.items():
        check.edition(f"editions.{ename}", ed)
    check.transitions()
    for path in cat.assumptions:
        if not _path_exists(cat, path):
            _fail(source, f"assumptions.{path}", "names no field of this catalog")


class _Checker:
    """The cross-field checks of one catalog (:func:`_check`); each fails with
    :class:`~sim.errors.CatalogError` naming ``source`` and the field."""

    def __init__(self, cat: Catalog, source: str) -> None:
        self.cat = cat
        self.source = source
        self.capped = [g for g, t in cat.group_types.items() if t.member_cap]
        self.step = Decimal(1).scaleb(-cat.currency.decimals)

    def fail(self, field: str, msg: str) -> NoReturn:
        _fail(self.source, field, msg)

    def names(self) -> None:
        """The time zone exists; every edition and group type is defined."""
        cat = self.cat
        try:
            ZoneInfo(cat.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(
                "timezone",
                f"unknown time zone {cat.timezone!r} (an IANA name such as 'Asia/Shanghai')",
            )
        for name in EDITIONS:
            if name not in cat.editions:
                self.fail(
                    f"editions.{name}",
                    f"required but missing; the catalog must define {', '.join(EDITIONS)}",
                )
        for name in GROUP_TYPES:
            if name not in cat.group_types:
                self.fail(
                    f"group_types.{name}",
                    f"required but missing; the catalog must define {', '.join(GROUP_TYPES)}",
                )

    def member_cap(self, field: str, value: int) -> None:
        """R5: no member cap above the own limit of a type it covers."""
        for g in self.capped:
            mx = self.cat.group_types[g].max_members
            if mx is not None and value > mx:
                self.fail(
                    field, f"member cap {value} is above group type {g}'s own limit of {mx} (R5)"
                )

    def price(self, field: str, price: Decimal | None) -> None:
        """A price is not negative and has at most the currency's decimals."""
        if price is None:
            return
        if price < 0:
            self.fail(field, f"a price cannot be negative (given {price})")
        if price != price.quantize(self.step):
            cur = self.cat.currency
            self.fail(field, f"{price} has more than {cur.decimals} decimals for {cur.code}")

    def edition(self, base: str, ed: Edition) -> None:
        """An edition's prices, member cap and packs."""
        self.price(f"{base}.price_per_month", ed.price_per_month)
        self.price(f"{base}.prepaid_price_per_month", ed.prepaid_price_per_month)
        if ed.kind != "postpaid" and ed.price_per_month != 0:
            self.fail(
                f"{base}.price_per_month",
                f"a {ed.kind} edition costs nothing (given {ed.price_per_month})",
            )
        for oname in ("dau", "groups"):
            block = getattr(ed.overage, oname)
            if block is not None:
                self.price(f"{base}.overage.{oname}.price_per_block", block.price_per_block)
        self.member_cap(f"{base}.limits.members_per_group", ed.limits.members_per_group)
        for pname in PACKS:
            pack = getattr(ed.packs, pname)
            if pack is not None:
                self.pack(f"{base}.packs.{pname}", pname, pack, ed.limits)

    def pack(self, pbase: str, pname: str, pack: LivePack | CapPack, limits: Limits) -> None:
        """A pack's menu: its default offered and free (R4), priced like money, and agreeing
        with the edition's limits (R2, R3, R5)."""
        options: Mapping[Any, Decimal] = pack.options
        if pack.default not in options:
            self.fail(
                f"{pbase}.default",
                f"default {pack.default!r} is not among the options offered "
                f"({', '.join(repr(o) for o in sorted(options))})",
            )
        for value, price in options.items():
            self.price(f"{pbase}.options.{_key(value)}", price)
        if options.get(pack.default, Decimal(0)) != 0:
            self.fail(
                f"{pbase}.options.{_key(pack.default)}", "the default option must be free (R4)"
            )
        if pname == "live_unlimited":
            self.live_pack(pbase, pack, limits)
            return
        limit_default = getattr(limits, pname)
        if pack.default != limit_default:
            self.fail(
                f"{pbase}.default",
                f"{pack.default} differs from limits.{pname} = {limit_default} (R3)",
            )
        if pname == "members_per_group":
            for value in options:
                self.member_cap(f"{pbase}.options.{value}", value)

    def live_pack(self, pbase: str, pack: LivePack | CapPack, limits: Limits) -> None:
        """The unlimited-live pack agrees with the edition's live-group limit (R2, R3)."""
        if limits.live_groups is None and any(pack.options):
            self.fail(
                pbase, "offers unlimited live groups on an edition that is already unlimited (R2)"
            )
        if pack.default and limits.live_groups is not None:
            self.fail(
                f"{pbase}.default",
                f"true (unlimited) contradicts limits.live_groups = {limits.live_groups} (R3)",
            )

    def transitions(self) -> None:
        """Every transition names known editions."""
        known = set(EDITIONS)
        for tname in ("upgrade", "reconfigure", "downgrade", "buy_prepaid", "deactivate"):
            tr = getattr(self.cat.transitions, tname)
            for side, names in (("from", tr.from_), ("to", tr.to)):
                for n in names:
                    if n not in known:
                        self.fail(
                            f"transitions.{tname}.{side}",
                            f"unknown edition {n!r}; allowed: {', '.join(EDITIONS)}",
                        )
        for n in self.cat.transitions.postpaid_closed:
            if n not in known:
                self.fail(
                    "transitions.postpaid_closed",
                    f"unknown edition {n!r}; allowed: {', '.join(EDITIONS)}",
                )


def _key(value: Any) -> str:
    """A mapping key as a dotted path spells it (YAML's ``true``, not Python's ``True``)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _path_exists(cat: Catalog, path: str) -> bool:
    cur: Any = cat.model_dump(by_alias=True)
    for part in path.split("."):
        if isinstance(cur, dict):
            keys = {str(k).lower() if isinstance(k, bool) else str(k): k for k in cur}
            if part not in keys:
                return False
            cur = cur[keys[part]]
        else:
            return False
    return True
