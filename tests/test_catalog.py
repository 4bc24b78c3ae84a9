"""Catalogs: the shipped files, ``extends``, ``--set`` overrides and validation errors.

Numbers are checked against ``docs/rules.md`` (the table each comes from is named at
the test); rules are cited as in ``docs/rules.md`` (R1...R14). Bad catalogs are
written into ``tmp_path`` as small files that extend the shipped intl catalog.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.core.catalog import EDITIONS, GROUP_TYPES, PACKS, Catalog, catalog_from_dict
from sim.errors import CatalogError
from sim.files.catalogs import (
    DEFAULT_CATALOG,
    REMOVE,
    apply_overrides,
    available_catalogs,
    load_catalog,
    merge,
    resolve_catalog,
)

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "scenarios" / "catalogs"
INTL = CATALOGS / "tencent-intl-2022.yaml"
CN = CATALOGS / "tencent-cn-2024.yaml"
EXAMPLES = sorted((CATALOGS / "examples").glob("*.yaml"))
SHIPPED = (INTL, CN, *EXAMPLES)

D = Decimal


@pytest.fixture(scope="module")
def intl() -> Catalog:
    return load_catalog(INTL)


@pytest.fixture(scope="module")
def cn() -> Catalog:
    return load_catalog(CN)


def _raw(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _walk(data: Any, path: str) -> Any:
    """The value at a dotted path in dumped catalog data (bool keys spelled true/false)."""
    cur = data
    for part in path.split("."):
        assert isinstance(cur, dict), f"{path}: {part!r} is below a non-mapping"
        keys = {(str(k).lower() if isinstance(k, bool) else str(k)): k for k in cur}
        assert part in keys, f"{path}: no key {part!r} (have {sorted(keys)})"
        cur = cur[keys[part]]
    return cur


# -- the shipped catalogs load -------------------------------------------------------------------


def test_both_shipped_catalogs_are_known_by_name() -> None:
    assert {"tencent-intl-2022", "tencent-cn-2024"} <= set(available_catalogs())
    assert resolve_catalog("tencent-cn-2024").resolve() == CN


@pytest.mark.parametrize("name", ["tencent-intl-2022", "tencent-cn-2024"])
def test_shipped_catalog_loads_by_name(name: str) -> None:
    cat = load_catalog(name)
    assert cat.name == name
    assert set(cat.editions) == set(EDITIONS)
    assert set(cat.group_types) == set(GROUP_TYPES)


def test_default_catalog_is_intl_2022() -> None:
    assert DEFAULT_CATALOG == "tencent-intl-2022"
    assert load_catalog().name == "tencent-intl-2022"
    assert load_catalog(None) == load_catalog(INTL)


def test_at_least_two_examples_are_shipped() -> None:
    assert len(EXAMPLES) >= 2
    assert {p.name for p in EXAMPLES} >= {"pro-members-500.yaml", "live-pack-20pct-off.yaml"}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_loads_and_is_named_after_its_file(path: Path) -> None:
    cat = load_catalog(path)
    assert cat.name == path.stem
    assert "extends" in _raw(path), "an example is a small what-if on a shipped catalog"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_price_is_exact_in_minor_units(path: Path) -> None:
    cat = load_catalog(path)
    for ed in cat.editions.values():
        prices = [ed.price_per_month, ed.prepaid_price_per_month]
        prices += [b.price_per_block for b in (ed.overage.dau, ed.overage.groups) if b]
        for pname in PACKS:
            pack = getattr(ed.packs, pname)
            prices += list(pack.options.values()) if pack else []
        for price in (p for p in prices if p is not None):
            assert D(cat.to_minor(price)) == price.scaleb(cat.currency.decimals)


# -- the intl catalog against docs/rules.md -----------------------------------------------------------
# "The editions and their limits" table (计费概述, 套餐包功能对比).


@pytest.mark.parametrize("edition", ["IM", "Trial"])
def test_intl_free_tier_limits(intl: Catalog, edition: str) -> None:
    # Trial / free: accounts 100, free DAU 100 (hard), 50 groups per user, 20 members,
    # 100 non-live groups, 10 live groups, no Community.
    lim = intl.editions[edition].limits
    assert (
        lim.accounts,
        lim.free_dau,
        lim.groups_per_user,
        lim.members_per_group,
        lim.nonlive_groups,
        lim.live_groups,
    ) == (100, 100, 50, 20, 100, 10)
    assert lim.dau_hard_cap is True
    assert lim.community is False
    assert intl.editions[edition].price_per_month == 0


def test_intl_pro_limits(intl: Catalog) -> None:
    lim = intl.editions["Pro"].limits
    assert lim.accounts is None and lim.nonlive_groups is None  # unlimited
    assert (lim.free_dau, lim.dau_hard_cap) == (10_000, False)
    assert (lim.groups_per_user, lim.members_per_group, lim.live_groups) == (500, 200, 50)  # R3
    assert lim.community is False


def test_intl_ultimate_limits(intl: Catalog) -> None:
    lim = intl.editions["Ultimate"].limits
    assert lim.accounts is None and lim.nonlive_groups is None and lim.live_groups is None
    assert (lim.free_dau, lim.dau_hard_cap) == (10_000, False)
    assert (lim.groups_per_user, lim.members_per_group) == (1000, 2000)  # R3
    assert lim.community is True


def test_intl_defaults_r3(intl: Catalog) -> None:
    assert intl.default_option("Pro", "live_unlimited") is False
    assert intl.default_option("Pro", "groups_per_user") == 500
    assert intl.default_option("Pro", "members_per_group") == 200
    assert intl.default_option("Ultimate", "groups_per_user") == 1000
    assert intl.default_option("Ultimate", "members_per_group") == 2000


def test_intl_group_types_r5(intl: Catalog) -> None:
    # "The member cap (R5) covers Work, Public and Meeting; AVChatRoom has no member cap; paid
    # member caps top out at 6000 for Work, Public and Meeting."
    for g in ("Work", "Public", "Meeting"):
        assert intl.group_types[g].member_cap is True
        assert intl.group_types[g].max_members == 6000
    assert intl.group_types["AVChatRoom"].member_cap is False
    assert intl.group_types["AVChatRoom"].live is True
    assert intl.group_types["Community"].member_cap is False
    assert intl.group_types["Community"].community is True


# "Prices" table: international site, postpaid plans until 2022-12-26, USD per month.


def test_intl_currency_and_zone(intl: Catalog) -> None:
    assert (intl.currency.code, intl.currency.decimals) == ("USD", 2)
    assert intl.timezone == "Asia/Shanghai"


def test_intl_edition_packages(intl: Catalog) -> None:
    assert intl.editions["Pro"].price_per_month == D("449.99")
    assert intl.editions["Ultimate"].price_per_month == D("899.99")
    assert intl.editions["Pro"].kind == intl.editions["Ultimate"].kind == "postpaid"


@pytest.mark.parametrize(
    ("edition", "pack", "option", "price"),
    [
        ("Pro", "live_unlimited", True, "449.99"),  # unlimited live-stream groups
        ("Pro", "members_per_group", 2000, "239.99"),  # member cap raised, Pro -> 2000
        ("Ultimate", "members_per_group", 6000, "239.99"),  # Ultimate -> 6000
        ("Pro", "groups_per_user", 1000, "449.99"),  # per-user group cap, Pro -> 1000
        ("Ultimate", "groups_per_user", 3000, "449.99"),  # Ultimate -> 3000
        ("Pro", "live_unlimited", False, "0"),  # defaults are free (R4)
        ("Pro", "groups_per_user", 500, "0"),
        ("Pro", "members_per_group", 200, "0"),
        ("Ultimate", "groups_per_user", 1000, "0"),
        ("Ultimate", "members_per_group", 2000, "0"),
    ],
)
def test_intl_pack_prices(intl: Catalog, edition: str, pack: str, option: Any, price: str) -> None:
    assert intl.option_price(edition, pack, option) == D(price)


def test_intl_ultimate_has_no_live_pack(intl: Catalog) -> None:
    # "unlimited live-stream groups ... n/a (already unlimited)"
    assert intl.editions["Ultimate"].packs.live_unlimited is None


@pytest.mark.parametrize("edition", ["Pro", "Ultimate"])
def test_intl_overage(intl: Catalog, edition: str) -> None:
    # DAU over the free 10,000: 449.99 per started 10,000; peak groups over the free 100,000:
    # 449.99 per started 100,000.
    ov = intl.editions[edition].overage
    assert (ov.dau.free, ov.dau.block_size, ov.dau.price_per_block) == (10_000, 10_000, D("449.99"))
    assert (ov.groups.free, ov.groups.block_size, ov.groups.price_per_block) == (
        100_000,
        100_000,
        D("449.99"),
    )


@pytest.mark.parametrize("cat_name", ["tencent-intl-2022", "tencent-cn-2024"])
def test_transitions_and_billing(cat_name: str) -> None:
    cat = load_catalog(cat_name)
    tr = cat.transitions
    assert (tr.upgrade.from_, set(tr.upgrade.to)) == (("IM",), {"Pro", "Ultimate"})  # R1
    assert set(tr.reconfigure.from_) == {"Pro", "Ultimate"}  # R8
    assert (tr.downgrade.from_, tr.downgrade.to) == (("IM",), ("Trial",))  # R10
    assert tr.buy_prepaid.from_ == ("Trial",)  # R11
    assert tr.postpaid_closed == ("Trial",)  # R11
    assert set(tr.deactivate.from_) == set(EDITIONS)  # R14: from any live state
    assert (tr.edition_changes_per_month, tr.pack_changes_per_month) == (1, 1)  # R9
    assert (cat.billing.proration, cat.billing.bill_day) == ("day", 3)  # R6 (since 2022-10), R7


def test_intl_marks_what_rules_md_does_not_give(intl: Catalog) -> None:
    # Prepaid prices are not in docs/rules.md; neither is a Community member ceiling.
    assert "editions.Pro.prepaid_price_per_month" in intl.assumptions
    assert "editions.Ultimate.prepaid_price_per_month" in intl.assumptions
    assert "group_types.Community.max_members" in intl.assumptions


# -- the mainland catalog ------------------------------------------------------------------------
# docs/rules.md, "Prices": mainland site (CNY per month): Pro package 999 (1499 from 2024-01-01),
# Ultimate 2999; DAU over the free quota 1000 per 10,000; peak groups 1000 per 100,000.


def test_cn_prices(cn: Catalog) -> None:
    assert (cn.currency.code, cn.currency.decimals) == ("CNY", 2)
    assert cn.timezone == "Asia/Shanghai"
    assert cn.editions["Pro"].price_per_month == D(1499)
    assert cn.editions["Ultimate"].price_per_month == D(2999)
    for ed in ("Pro", "Ultimate"):
        ov = cn.editions[ed].overage
        assert (ov.dau.free, ov.dau.block_size, ov.dau.price_per_block) == (10_000, 10_000, D(1000))
        assert (ov.groups.block_size, ov.groups.price_per_block) == (100_000, D(1000))


def test_cn_limits_and_menus_are_the_intl_ones(cn: Catalog, intl: Catalog) -> None:
    # The limits table is sourced from both sites; the pack menus are the intl ones.
    assert cn.group_types == intl.group_types
    assert cn.transitions == intl.transitions
    for ed in EDITIONS:
        assert cn.editions[ed].limits == intl.editions[ed].limits
        for pname in PACKS:
            ip, cp = intl.pack(ed, pname), cn.pack(ed, pname)
            assert (ip is None) == (cp is None)
            if ip is not None:
                assert (cp.default, set(cp.options)) == (ip.default, set(ip.options))


def _paid_options(cat: Catalog) -> list[str]:
    out = []
    for ename, ed in cat.editions.items():
        for pname in PACKS:
            pack = getattr(ed.packs, pname)
            for value, price in pack.options.items() if pack else ():
                if price:
                    key = str(value).lower() if isinstance(value, bool) else str(value)
                    out.append(f"editions.{ename}.packs.{pname}.options.{key}")
    return out


def test_cn_pack_prices_are_assumptions(cn: Catalog) -> None:
    # "Mainland prices of the value-added packs: not found -- a mainland catalog must mark them
    # as assumptions."
    paid = _paid_options(cn)
    assert len(paid) == 5  # live, 2 x groups, 2 x members
    missing = [p for p in paid if p not in cn.assumptions]
    assert not missing, f"unmarked mainland pack prices: {missing}"


def test_cn_prepaid_prices_are_assumptions(cn: Catalog) -> None:
    for ed in ("Pro", "Ultimate"):
        assert cn.editions[ed].prepaid_price_per_month is not None
        assert f"editions.{ed}.prepaid_price_per_month" in cn.assumptions


def test_cn_assumed_pack_prices_follow_the_intl_ratio(cn: Catalog, intl: Catalog) -> None:
    # Each assumed pack price is the intl one scaled by the package factor 1499 / 449.99 and
    # rounded to whole yuan (the reasoning stated in the file).
    factor = cn.editions["Pro"].price_per_month / intl.editions["Pro"].price_per_month
    for path in _paid_options(cn):
        _, ed, _, pname, _, key = path.split(".")
        value = key == "true" if pname == "live_unlimited" else int(key)
        expected = (intl.option_price(ed, pname, value) * factor).quantize(D(1))
        assert cn.option_price(ed, pname, value) == expected, path


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_every_assumption_names_an_existing_field_and_explains_it(path: Path) -> None:
    cat = load_catalog(path)
    data = cat.model_dump(by_alias=True)
    for dotted, why in cat.assumptions.items():
        _walk(data, dotted)
        assert len(why.split()) >= 5, f"{dotted}: the reasoning is missing"


# -- extends -------------------------------------------------------------------------------------


def test_merge_is_deep_and_remove_deletes() -> None:
    base = {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1, 2], "g": 4}
    over = {"a": {"c": {"e": 30, "x": 5}}, "f": [9], "g": REMOVE, "h": {"i": 1}}
    assert merge(base, over) == {
        "a": {"b": 1, "c": {"d": 2, "e": 30, "x": 5}},
        "f": [9],
        "h": {"i": 1},
    }
    assert base == {"a": {"b": 1, "c": {"d": 2, "e": 3}}, "f": [1, 2], "g": 4}  # untouched
    assert merge({"a": 1}, {"a": {"b": 2}}) == {"a": {"b": 2}}  # a mapping replaces a scalar
    assert merge({"a": {1: 0, 2: 5}}, {"a": {1: REMOVE, "zz": REMOVE}}) == {"a": {2: 5}}


def test_example_pro_members_500(intl: Catalog) -> None:
    ex = load_catalog(CATALOGS / "examples" / "pro-members-500.yaml")
    pro = ex.editions["Pro"]
    assert pro.limits.members_per_group == 500
    assert pro.packs.members_per_group.default == 500
    assert pro.packs.members_per_group.options == {500: D(0), 2000: D("239.99")}  # 200 removed
    # everything else is the base, merged deeply
    assert pro.limits.model_copy(update={"members_per_group": 200}) == intl.editions["Pro"].limits
    assert pro.packs.live_unlimited == intl.editions["Pro"].packs.live_unlimited
    assert pro.packs.groups_per_user == intl.editions["Pro"].packs.groups_per_user
    assert pro.price_per_month == D("449.99")
    assert ex.editions["Ultimate"] == intl.editions["Ultimate"]
    assert (ex.group_types, ex.transitions, ex.billing) == (
        intl.group_types,
        intl.transitions,
        intl.billing,
    )
    assert set(intl.assumptions) < set(ex.assumptions)  # the base's assumptions still hold


def test_example_live_pack_20pct_off(intl: Catalog) -> None:
    ex = load_catalog(CATALOGS / "examples" / "live-pack-20pct-off.yaml")
    live = ex.editions["Pro"].packs.live_unlimited
    assert live.options == {False: D(0), True: D("359.99")}  # `false` kept: a deep merge
    assert (D("449.99") * D("0.8")).quantize(D("0.01")) == D("359.99")
    assert ex.option_price("Pro", "live_unlimited", True) == D("359.99")
    dumped = ex.model_dump(by_alias=True)
    base = intl.model_dump(by_alias=True)
    dumped["editions"]["Pro"]["packs"]["live_unlimited"]["options"][True] = D("449.99")
    for key in ("name", "description", "assumptions"):
        dumped.pop(key), base.pop(key)
    assert dumped == base, "only the live pack price differs from the base"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_extends_chain_with_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(
        tmp_path / "base" / "base.yaml", f"extends: {INTL}\nname: base\nbilling: {{bill_day: 5}}\n"
    )
    _write(
        tmp_path / "mid" / "mid.yaml",
        "extends: ../base/base.yaml\nname: mid\n"
        "editions: {Pro: {packs: {groups_per_user: {options: {1000: 399.99}}}}}\n",
    )
    leaf = _write(
        tmp_path / "mid" / "deeper" / "leaf.yaml",
        "extends: ../mid.yaml\nname: leaf\nbilling: {proration: second}\n",
    )
    monkeypatch.chdir(tmp_path / "base")  # relative to the file, not the working directory
    cat = load_catalog(leaf)
    assert cat.name == "leaf"
    assert (cat.billing.proration, cat.billing.bill_day) == ("second", 5)
    assert cat.option_price("Pro", "groups_per_user", 1000) == D("399.99")
    assert cat.option_price("Ultimate", "groups_per_user", 3000) == D("449.99")


def test_extends_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.yaml", "extends: tencent-cn-2024\nname: x\n")
    cat = load_catalog(path)
    assert cat.currency.code == "CNY" and cat.name == "x"


@pytest.mark.parametrize("cycle", [1, 2, 3])
def test_circular_extends_is_an_error(tmp_path: Path, cycle: int) -> None:
    names = [f"c{i}.yaml" for i in range(cycle)]
    for i, name in enumerate(names):
        _write(tmp_path / name, f"extends: {names[(i + 1) % cycle]}\nname: {name}\n")
    with pytest.raises(CatalogError, match="circular") as info:
        load_catalog(tmp_path / names[0])
    assert "'extends'" in str(info.value)
    assert all(n in str(info.value) for n in names)


def test_extends_of_a_missing_file_names_the_file_that_extends(tmp_path: Path) -> None:
    path = _write(tmp_path / "child.yaml", "extends: ../nowhere/base.yaml\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert str(path) in msg and "'extends'" in msg and "nowhere/base.yaml" in msg


@pytest.mark.parametrize("value", ["[a.yaml]", "3", "{a: b}"])
def test_extends_must_be_a_name_or_path(tmp_path: Path, value: str) -> None:
    path = _write(tmp_path / "child.yaml", f"extends: {value}\n")
    with pytest.raises(CatalogError, match=r"field 'extends'"):
        load_catalog(path)


# -- overrides (--set) ---------------------------------------------------------------------------


def test_apply_overrides_int_keys_bool_keys_and_values() -> None:
    data = _raw(INTL)
    out = apply_overrides(
        data,
        [
            "editions.Pro.packs.groups_per_user.options.2000=599.99",  # a new int key
            "editions.Pro.packs.groups_per_user.options.1000=399.99",  # an existing int key
            "editions.Pro.packs.live_unlimited.options.true=400",  # a bool key
            "editions.Pro.limits.community=true",  # a bool value
            "editions.Pro.limits.live_groups=null",  # null is unlimited
            "billing.proration=second",
            "description=",  # an empty value is the empty string
        ],
    )
    gpu = out["editions"]["Pro"]["packs"]["groups_per_user"]["options"]
    assert gpu == {500: 0, 1000: 399.99, 2000: 599.99}
    assert all(type(k) is int for k in gpu)
    assert out["editions"]["Pro"]["packs"]["live_unlimited"]["options"] == {False: 0, True: 400}
    assert out["editions"]["Pro"]["limits"]["community"] is True
    assert out["editions"]["Pro"]["limits"]["live_groups"] is None
    assert out["billing"]["proration"] == "second"
    assert out["description"] == ""
    assert data == _raw(INTL), "the input is not modified"


def test_apply_overrides_remove_and_prefix() -> None:
    data = {"catalog": {}, "a": {"b": {1: "x", 2: "y"}}}
    out = apply_overrides(data, [f"a.b.1={REMOVE}", "a.c.d=3"])
    assert out == {"catalog": {}, "a": {"b": {2: "y"}, "c": {"d": 3}}}
    scoped = apply_overrides({"x": 1}, ["catalog.x=2", "scenario.x=3"], prefix="catalog")
    assert scoped == {"x": 2}


def test_load_catalog_with_overrides() -> None:
    cat = load_catalog(
        "tencent-intl-2022",
        overrides=[
            "editions.Pro.packs.groups_per_user.options.2000=599.99",
            "editions.Ultimate.limits.community=false",
            "editions.Pro.packs.live_unlimited.options.true=359.99",
            "billing.proration=next_month",
        ],
    )
    assert cat.option_price("Pro", "groups_per_user", 2000) == D("599.99")
    assert cat.editions["Ultimate"].limits.community is False
    assert cat.option_price("Pro", "live_unlimited", True) == D("359.99")
    assert cat.billing.proration == "next_month"


def test_overrides_on_a_loaded_catalog(intl: Catalog) -> None:
    assert load_catalog(intl) is intl
    cat = load_catalog(intl, ["editions.Pro.price_per_month=399.99"])
    assert cat.editions["Pro"].price_per_month == D("399.99")
    assert intl.editions["Pro"].price_per_month == D("449.99")


def test_overrides_do_not_leak_through_yaml_anchors() -> None:
    # The intl file shares IM's and Trial's limits (&free_limits) and Pro's and Ultimate's
    # overage (&overage); an override of one must not change the other.
    cat = load_catalog(
        INTL, ["editions.IM.limits.accounts=5", "editions.Pro.overage.dau.price_per_block=1"]
    )
    assert cat.editions["IM"].limits.accounts == 5
    assert cat.editions["Trial"].limits.accounts == 100
    assert cat.editions["Pro"].overage.dau.price_per_block == D(1)
    assert cat.editions["Ultimate"].overage.dau.price_per_block == D("449.99")


@pytest.mark.parametrize("text", ["billing.proration", "=3", "  =x"])
def test_malformed_override(text: str) -> None:
    with pytest.raises(CatalogError, match="expected dotted.key=value"):
        load_catalog(INTL, [text])


def test_override_below_a_scalar() -> None:
    with pytest.raises(CatalogError, match=r"'name' is not a mapping"):
        load_catalog(INTL, ["name.x=1"])


def test_invalid_override_names_the_override_and_field() -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog(INTL, ["editions.Pro.price_per_month=-5"])
    msg = str(info.value)
    assert str(INTL) in msg
    assert "editions.Pro.price_per_month=-5" in msg
    assert "'editions.Pro.price_per_month'" in msg and "-5" in msg


@settings(max_examples=40, deadline=None)
@given(cents=st.integers(min_value=0, max_value=10**9))
def test_any_price_in_cents_round_trips(cents: int) -> None:
    price = D(cents).scaleb(-2)
    cat = load_catalog(INTL, [f"editions.Pro.packs.members_per_group.options.2000={price}"])
    assert cat.option_price("Pro", "members_per_group", 2000) == price
    assert cat.to_minor(price) == cents


@settings(max_examples=25, deadline=None)
@given(cents=st.integers(min_value=1, max_value=10**9), extra=st.integers(1, 9))
def test_negative_or_sub_cent_prices_are_refused(cents: int, extra: int) -> None:
    for bad in (D(-cents).scaleb(-2), D(cents * 10 + extra).scaleb(-3)):
        with pytest.raises(CatalogError, match=r"options\.2000"):
            load_catalog(INTL, [f"editions.Pro.packs.members_per_group.options.2000={bad}"])


# -- invalid catalogs: each names the file, the dotted field and the given value ------------------

BAD = [
    # (id, YAML over the intl catalog, dotted field, fragments the message must contain)
    (
        "unknown key",
        "colour: blue\n",
        "colour",
        ["unknown key", "allowed keys", "editions", "timezone"],
    ),
    (
        "unknown nested key",
        "editions: {Pro: {limits: {member_per_group: 300}}}\n",
        "editions.Pro.limits.member_per_group",
        ["unknown key", "members_per_group", "groups_per_user", "live_groups"],
    ),
    (
        "unknown pack",
        "editions: {Pro: {packs: {history_days: {default: 7, options: {7: 0}}}}}\n",
        "editions.Pro.packs.history_days",
        ["unknown key", "live_unlimited", "groups_per_user", "members_per_group"],
    ),
    (
        "unknown edition",
        "editions: {Basic: {kind: free}}\n",
        "editions.Basic",
        ["'Basic'", "'IM'", "'Ultimate'"],
    ),
    (
        "wrong type int",
        "editions: {Pro: {limits: {groups_per_user: lots}}}\n",
        "editions.Pro.limits.groups_per_user",
        ["integer", "'lots'"],
    ),
    (
        "wrong type fraction",
        "editions: {Pro: {limits: {accounts: 2.5}}}\n",
        "editions.Pro.limits.accounts",
        ["integer", "2.5"],
    ),
    (
        "wrong type bool as int",
        "editions: {Pro: {limits: {live_groups: yes}}}\n",  # YAML reads `yes` as true
        "editions.Pro.limits.live_groups",
        ["not a boolean", "True"],
    ),
    (
        "wrong type bool",
        "editions: {Pro: {limits: {community: sometimes}}}\n",
        "editions.Pro.limits.community",
        ["boolean", "'sometimes'"],
    ),
    (
        "wrong type price",
        "editions: {Pro: {price_per_month: cheap}}\n",
        "editions.Pro.price_per_month",
        ["decimal", "'cheap'"],
    ),
    (
        "wrong type mapping",
        "editions: {Pro: {limits: [1, 2]}}\n",
        "editions.Pro.limits",
        ["dictionary", "[1, 2]"],
    ),
    (
        "wrong type option key",
        "editions: {Pro: {packs: {groups_per_user: {options: {many: 1}}}}}\n",
        "editions.Pro.packs.groups_per_user.options.many",
        ["key", "integer", "'many'"],
    ),
    (
        "missing field",
        f"editions: {{Pro: {{limits: {{accounts: {REMOVE}}}}}}}\n",
        "editions.Pro.limits.accounts",
        ["required but missing"],
    ),
    (
        "negative price",
        "editions: {Pro: {price_per_month: -449.99}}\n",
        "editions.Pro.price_per_month",
        ["greater than or equal to 0", "-449.99"],
    ),
    (
        "negative pack price",
        "editions: {Pro: {packs: {members_per_group: {options: {2000: -1}}}}}\n",
        "editions.Pro.packs.members_per_group.options.2000",
        ["negative", "-1"],
    ),
    (
        "negative live pack price",
        "editions: {Pro: {packs: {live_unlimited: {options: {true: -1}}}}}\n",
        "editions.Pro.packs.live_unlimited.options.true",
        ["negative", "-1"],
    ),
    (
        "negative overage",
        "editions: {Ultimate: {overage: {dau: {price_per_block: -10}}}}\n",
        "editions.Ultimate.overage.dau.price_per_block",
        ["greater than or equal to 0", "-10"],
    ),
    (
        "too many decimals",
        "editions: {Pro: {price_per_month: 449.999}}\n",
        "editions.Pro.price_per_month",
        ["449.999", "more than 2 decimals", "USD"],
    ),
    (
        "too many decimals pack",
        "editions: {Ultimate: {packs: {groups_per_user: {options: {3000: 449.995}}}}}\n",
        "editions.Ultimate.packs.groups_per_user.options.3000",
        ["449.995", "more than 2 decimals"],
    ),
    (
        "decimals of a zero-decimal currency",
        "currency: {code: JPY, decimals: 0}\n",
        "editions.Pro.price_per_month",
        ["449.99", "more than 0 decimals", "JPY"],
    ),
    (
        "member cap above the group type's limit (R5)",
        "editions: {Ultimate: {packs: {members_per_group: {options: {10000: 499.99}}}}}\n",
        "editions.Ultimate.packs.members_per_group.options.10000",
        ["10000", "6000", "R5"],
    ),
    (
        "group type limit below an offered cap (R5)",
        "group_types: {Meeting: {max_members: 1000}}\n",
        "editions.Pro.packs.members_per_group.options.2000",
        ["2000", "Meeting", "1000", "R5"],
    ),
    (
        "edition limit above the group type's limit (R5)",
        "editions: {IM: {limits: {members_per_group: 7000}}}\n",
        "editions.IM.limits.members_per_group",
        ["7000", "6000", "R5"],
    ),
    (
        "default option not offered",
        "editions: {Pro: {limits: {groups_per_user: 700}, packs: {groups_per_user: {default: 700}}}}\n",
        "editions.Pro.packs.groups_per_user.default",
        ["700", "not among the options", "500", "1000"],
    ),
    (
        "default live option not offered",
        f"editions: {{Pro: {{packs: {{live_unlimited: {{options: {{false: {REMOVE}}}}}}}}}}}\n",
        "editions.Pro.packs.live_unlimited.default",
        ["False", "not among the options"],
    ),
    (
        "pack default disagrees with the limit (R3)",
        "editions: {Pro: {limits: {members_per_group: 500}}}\n",
        "editions.Pro.packs.members_per_group.default",
        ["200", "500", "R3"],
    ),
    (
        "live pack free by default contradicts the live limit (R3)",
        "editions: {Pro: {packs: {live_unlimited: {default: true, options: {true: 0}}}}}\n",
        "editions.Pro.packs.live_unlimited.default",
        ["contradicts", "live_groups = 50", "R3"],
    ),
    (
        "paid default (R4)",
        "editions: {Pro: {packs: {groups_per_user: {options: {500: 10}}}}}\n",
        "editions.Pro.packs.groups_per_user.options.500",
        ["free", "R4"],
    ),
    (
        "live pack on an unlimited edition",
        "editions: {Ultimate: {packs: {live_unlimited: {options: {false: 0, true: 1}}}}}\n",
        "editions.Ultimate.packs.live_unlimited",
        ["already unlimited"],
    ),
    (
        "free edition with a price",
        "editions: {IM: {price_per_month: 1}}\n",
        "editions.IM.price_per_month",
        ["costs nothing", "1"],
    ),
    (
        "unknown edition in transitions",
        "transitions: {upgrade: {to: [Pro, Gold]}}\n",
        "transitions.upgrade.to",
        ["'Gold'", "IM, Trial, Pro, Ultimate"],
    ),
    (
        "unknown edition in transitions.from",
        "transitions: {deactivate: {from: [IM, Basic]}}\n",
        "transitions.deactivate.from",
        ["'Basic'", "IM, Trial, Pro, Ultimate"],
    ),
    (
        "unknown edition in postpaid_closed",
        "transitions: {postpaid_closed: [Trail]}\n",
        "transitions.postpaid_closed",
        ["'Trail'", "IM, Trial, Pro, Ultimate"],
    ),
    (
        "invalid timezone",
        "timezone: Asia/Atlantis\n",
        "timezone",
        ["'Asia/Atlantis'", "time zone"],
    ),
    (
        "invalid proration",
        "billing: {proration: hourly}\n",
        "billing.proration",
        ["'hourly'", "'day'", "'second'", "'next_month'"],
    ),
    ("invalid bill day", "billing: {bill_day: 31}\n", "billing.bill_day", ["28", "31"]),
    (
        "assumption about nothing",
        "assumptions: {editions.Pro.packs.history_days: guessed}\n",
        "assumptions.editions.Pro.packs.history_days",
        ["names no field"],
    ),
]


@pytest.mark.parametrize(
    ("over", "field", "fragments"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_invalid_catalog(tmp_path: Path, over: str, field: str, fragments: list[str]) -> None:
    path = _write(tmp_path / "bad.yaml", f"extends: {INTL}\n{over}")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert msg.startswith(str(path)), msg
    assert f"field '{field}'" in msg, msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in: {msg}"


def test_invalid_catalog_without_extends(tmp_path: Path) -> None:
    text = INTL.read_text(encoding="utf-8").replace("timezone: Asia/Shanghai", "timezone: 8")
    path = _write(tmp_path / "whole.yaml", text)
    with pytest.raises(CatalogError, match=r"field 'timezone'.*given 8") as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def test_catalog_from_dict_names_its_source() -> None:
    data = _raw(INTL)
    data["editions"]["Pro"]["price_per_month"] = -1
    with pytest.raises(CatalogError, match=r"^my-source: field 'editions.Pro.price_per_month'"):
        catalog_from_dict(data, source="my-source")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "broken.yaml",
        "name: broken\ncurrency: {code: USD, decimals: 2}\neditions:\n  Pro: [unclosed\n  Ultimate: {}\n",
    )
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    msg = str(info.value)
    assert str(path) in msg and "not valid YAML" in msg
    line = int(re.search(r"line (\d+)", msg).group(1))
    assert line in (4, 5, 6), msg


@pytest.mark.parametrize(
    ("text", "got"), [("", "NoneType"), ("- a\n- b\n", "list"), ("3\n", "int")]
)
def test_a_catalog_is_a_mapping(tmp_path: Path, text: str, got: str) -> None:
    path = _write(tmp_path / "odd.yaml", text)
    with pytest.raises(CatalogError, match=rf"a catalog is a YAML mapping \(got {got}\)") as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(CatalogError, match="not found") as info:
        load_catalog(path)
    assert str(path) in str(info.value)


def test_unknown_catalog_name_lists_the_known_ones() -> None:
    with pytest.raises(CatalogError) as info:
        load_catalog("tencent-mars-2030")
    msg = str(info.value)
    assert "unknown catalog 'tencent-mars-2030'" in msg
    assert "tencent-intl-2022" in msg and "tencent-cn-2024" in msg
