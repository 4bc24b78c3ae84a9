"""Scenarios: the shipped files load, bad ones fail with file, field, given and allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.errors import ScenarioError
from sim.model.population import ARCHETYPES
from sim.model.scenario import flatten_overrides, load_scenario, scenario_from_dict

REPO = Path(__file__).resolve().parent.parent


def _data(**kw: object) -> dict:
    base = {
        "name": "t",
        "start": "2024-01-01",
        "horizon_months": 2,
        "seed": 1,
        "population": {"game": {"count": 2}},
    }
    base.update(kw)
    return base


@pytest.mark.parametrize(
    "name", ["baseline", "whatif-pro-members-500", "whatif-live-pack-20pct-off"]
)
def test_shipped_scenarios_load_with_their_catalogs(name: str) -> None:
    sc = load_scenario(name)
    cat = sc.load_catalog()
    assert sc.horizon_months == 24
    assert sc.n_tenants >= 2000
    assert set(sc.population) >= set(ARCHETYPES)
    if name == "whatif-pro-members-500":
        assert cat.editions["Pro"].limits.members_per_group == 500
        assert 200 not in cat.editions["Pro"].packs.members_per_group.options
    if name == "whatif-live-pack-20pct-off":
        assert str(cat.editions["Pro"].packs.live_unlimited.options[True]) == "359.99"


def test_whatifs_differ_from_the_baseline_only_in_name_and_catalog() -> None:
    base = load_scenario("baseline").model_dump()
    for name in ("whatif-pro-members-500", "whatif-live-pack-20pct-off"):
        other = load_scenario(name).model_dump()
        diff = {k for k in base if base[k] != other[k]}
        assert diff <= {"name", "description", "catalog"}, diff


def test_archetype_defaults_fill_unnamed_parameters() -> None:
    sc = scenario_from_dict(_data(population={"game": {"count": 3, "create_rate": 0.5}}))
    game = sc.population["game"]
    assert game.count == 3 and game.create_rate == 0.5
    assert game.size_alpha == ARCHETYPES["game"].size_alpha


def test_like_makes_a_new_archetype_from_a_known_one() -> None:
    sc = scenario_from_dict(_data(population={"big-game": {"like": "game", "count": 1}}))
    assert sc.population["big-game"].activity_exponent == ARCHETYPES["game"].activity_exponent


def test_unknown_key_names_file_field_and_allowed_keys() -> None:
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(_data(population={"game": {"count": 1, "sizealpha": 2}}), "s.yaml")
    msg = str(e.value)
    assert msg.startswith("s.yaml: field 'population.game.sizealpha': unknown key")
    assert "size_alpha" in msg


def test_bad_value_names_given_and_allowed() -> None:
    with pytest.raises(ScenarioError) as e:
        scenario_from_dict(_data(mode="quick"), "s.yaml")
    assert "field 'mode'" in str(e.value) and "'exact' or 'fast'" in str(e.value)
    assert "given 'quick'" in str(e.value)
    with pytest.raises(ScenarioError, match=r"field 'horizon_months'.*given 0"):
        scenario_from_dict(_data(horizon_months=0))


def test_unknown_archetype_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=r"population.chess.*known: social, enterprise"):
        scenario_from_dict(_data(population={"chess": {"count": 1}}))


def test_start_must_be_the_first_of_a_month() -> None:
    with pytest.raises(ScenarioError, match=r"field 'start'.*1st of a month.*2024-01-15"):
        scenario_from_dict(_data(start="2024-01-15"))


def test_policy_parameters_are_validated() -> None:
    with pytest.raises(ScenarioError, match=r"behaviour.policies.upgrade_on_errors.threshold"):
        scenario_from_dict(_data(behaviour={"policies": {"upgrade_on_errors": {"threshold": 0}}}))
    with pytest.raises(ScenarioError, match=r"unknown key.*allowed keys: .*reaction_days"):
        scenario_from_dict(_data(behaviour={"policies": {"upgrade_on_errors": {"delay": 3}}}))


def test_set_overrides_scenario_and_catalog_fields() -> None:
    sc = load_scenario(
        "baseline",
        [
            "population.game.count=7",
            "seed=3",
            "catalog.overrides.editions.Pro.price_per_month=399.99",
        ],
    )
    assert sc.population["game"].count == 7 and sc.seed == 3
    assert str(sc.load_catalog().editions["Pro"].price_per_month) == "399.99"


def test_bad_catalog_override_names_the_scenario() -> None:
    sc = scenario_from_dict(
        _data(catalog={"overrides": {"editions.Pro.price_per_month": -1}}), "s.yaml"
    )
    with pytest.raises(ScenarioError, match=r"s.yaml: field 'catalog':.*price_per_month"):
        sc.load_catalog()


def test_flatten_overrides_nested_and_dotted() -> None:
    assert flatten_overrides(
        {"editions": {"Pro": {"price_per_month": 1.5}}, "a.b": None, "x": {True: 2}}
    ) == ["editions.Pro.price_per_month=1.5", "a.b=null", "x.true=2"]


def test_missing_scenario_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"not found; known scenarios: .*baseline"):
        load_scenario("no-such-scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: line 2, column 1: not valid YAML"):
        load_scenario(bad)


def test_digest_changes_with_content_only() -> None:
    a = scenario_from_dict(_data())
    assert a.digest() == scenario_from_dict(_data(), source="elsewhere.yaml").digest()
    assert a.digest() != scenario_from_dict(_data(seed=2)).digest()


def test_shipped_price_change_whatif_loads_its_schedule() -> None:
    sc = load_scenario("whatif-cn-pro-1499")
    ((change, cat),) = sc.price_schedule()
    assert str(sc.load_catalog().editions["Pro"].price_per_month) == "999"
    assert str(cat.editions["Pro"].price_per_month) == "1499"
    assert change.grandfather_months == 3 and str(change.at) == "2024-07-01"


def test_a_scheduled_change_may_change_prices_only() -> None:
    bad = {"at": "2024-01-15", "overrides": {"editions.Pro.limits.members_per_group": 500}}
    with pytest.raises(ScenarioError, match=r"catalog_changes\.0\.overrides.*only prices"):
        scenario_from_dict(_data(catalog_changes=[bad]))


def test_a_scheduled_change_must_fall_inside_the_horizon() -> None:
    late = {"at": "2031-01-01", "overrides": {"editions.Pro.price_per_month": 1}}
    with pytest.raises(ScenarioError, match=r"catalog_changes\.0\.at"):
        scenario_from_dict(_data(catalog_changes=[late]))


def test_warmup_must_leave_months_to_report() -> None:
    with pytest.raises(ScenarioError, match="warmup_months"):
        scenario_from_dict(_data(warmup_months=99))
    sc = scenario_from_dict(_data(warmup_months=1))
    assert sc.report_start.day == 1 and sc.report_start > sc.start


def test_a_scenario_with_a_new_archetype_round_trips_through_its_dump() -> None:
    """``like`` is not kept in the dump: a dumped archetype has every parameter (sim.run
    re-validates a scenario's dump when it changes a field)."""
    sc = scenario_from_dict(_data(population={"big-game": {"like": "game", "count": 1}}))
    again = scenario_from_dict(sc.model_dump(mode="json"))
    assert again.population == sc.population
