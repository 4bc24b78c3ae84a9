"""The catalog diff (issue 12 point 2): every differing value, with a label and a one-line form.

Catalogs are the shipped intl 2022 one, changed with ``--set`` overrides so that each test knows
exactly what it changed; the expected lines are written out by hand from those overrides.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from sim.core.catalog_diff import MISSING, diff_catalogs, format_diff, label_for
from sim.files.catalogs import load_catalog

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "scenarios" / "catalogs" / "examples"


@pytest.fixture(scope="module")
def intl():
    return load_catalog("tencent-intl-2022")


def test_identical_catalogs_have_no_changes(intl):
    assert diff_catalogs(intl, intl) == []
    assert diff_catalogs(intl, load_catalog("tencent-intl-2022")) == []


def test_descriptive_fields_are_not_changes(intl):
    b = load_catalog(intl, ["name=other", "description=something else"])
    assert diff_catalogs(intl, b) == []


def test_price_and_limit_lines_read_as_the_issue_spells_them(intl):
    b = load_catalog(
        intl,
        [
            "editions.Pro.price_per_month=399.99",
            "editions.Pro.limits.members_per_group=150",
            "editions.Pro.packs.members_per_group.default=150",
            "editions.Pro.packs.members_per_group.options.200=__remove__",
            "editions.Pro.packs.members_per_group.options.150=0",
        ],
    )
    lines = format_diff(diff_catalogs(intl, b))
    assert "Pro price 449.99 → 399.99" in lines
    assert "Pro members per group 200 → 150" in lines
    assert "Pro members-per-group pack default 200 → 150" in lines
    assert "Pro members-per-group pack 200 price: removed (was 0.00)" in lines
    assert "Pro members-per-group pack 150 price: added (0.00)" in lines
    assert len(lines) == 5


def test_change_fields(intl):
    b = load_catalog(intl, ["editions.Pro.price_per_month=399.99"])
    (change,) = diff_catalogs(intl, b)
    assert change.path == "editions.Pro.price_per_month"
    assert change.label == "Pro price"
    assert change.before == Decimal("449.99") and change.after == Decimal("399.99")
    assert change.kind == "changed"
    assert change.as_record()["change"] == "Pro price 449.99 → 399.99"


def test_prices_show_the_currency_decimals(intl):
    # 400 and 400.00 are the same price; 400 shows as 400.00 (USD has 2 decimals)
    b = load_catalog(intl, ["editions.Pro.price_per_month=400"])
    assert format_diff(diff_catalogs(intl, b)) == ["Pro price 449.99 → 400.00"]
    same = load_catalog(intl, ["editions.Pro.price_per_month=449.990"])
    assert diff_catalogs(intl, same) == []


def test_unlimited_and_booleans(intl):
    b = load_catalog(
        intl,
        [
            "editions.Pro.limits.live_groups=null",
            "editions.Pro.limits.dau_hard_cap=true",
            # Pro's live pack must go when live groups are unlimited (R2)
            "editions.Pro.packs.live_unlimited=__remove__",
        ],
    )
    lines = format_diff(diff_catalogs(intl, b))
    assert "Pro live groups 50 → unlimited" in lines
    assert "Pro DAU hard cap false → true" in lines
    assert "Pro unlimited live groups pack price: removed (was 449.99)" in lines
    assert "Pro unlimited live groups pack default: removed (was false)" in lines


def test_paths_round_trip_through_set(intl):
    """Each change's path, given to --set with B's value, turns A into B."""
    b = load_catalog(EXAMPLES / "live-pack-20pct-off.yaml")
    changes = diff_catalogs(intl, b)
    assert [c.path for c in changes] == ["editions.Pro.packs.live_unlimited.options.true"]
    assert format_diff(changes) == ["Pro unlimited live groups pack price 449.99 → 359.99"]
    rebuilt = load_catalog(intl, [f"{c.path}={c.after_text}" for c in changes])
    assert diff_catalogs(rebuilt, b) == []


def test_shipped_what_if_members_500(intl):
    b = load_catalog(EXAMPLES / "pro-members-500.yaml")
    lines = format_diff(diff_catalogs(intl, b))
    assert lines[0] == "Pro members per group 200 → 500"
    assert "Pro members-per-group pack default 200 → 500" in lines


def test_direction_swaps_added_and_removed(intl):
    b = load_catalog(EXAMPLES / "pro-members-500.yaml")
    forward = {c.path: c for c in diff_catalogs(intl, b)}
    backward = {c.path: c for c in diff_catalogs(b, intl)}
    assert forward.keys() == backward.keys()
    for path, c in forward.items():
        assert (backward[path].before, backward[path].after) == (c.after, c.before)
    removed = forward["editions.Pro.packs.members_per_group.options.200"]
    assert removed.after is MISSING and backward[removed.path].kind == "added"


def test_other_sections_have_labels(intl):
    b = load_catalog(
        intl,
        [
            "billing.proration=second",
            "transitions.pack_changes_per_month=2",
            "group_types.Work.max_members=8000",
            "editions.Ultimate.overage.dau.price_per_block=399.99",
        ],
    )
    lines = format_diff(diff_catalogs(intl, b))
    assert "proration policy day → second" in lines
    assert "pack changes per month 1 → 2" in lines
    assert "Work groups max members 6000 → 8000" in lines
    assert "Ultimate DAU overage price per block 449.99 → 399.99" in lines


def test_unknown_path_label_falls_back_to_the_path():
    assert label_for("editions.Pro.something.new") == "Pro something new"
    assert label_for("whatever.x") == "whatever x"
