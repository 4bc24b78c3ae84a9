"""Scenarios: YAML files in ``scenarios/`` that say what a run plays, validated once at load.

A scenario names a catalog (with inline overrides), a start date (the 1st of a month, local
midnight in the catalog's time zone), a horizon in months, a seed, a number of replications,
a fidelity mode, the population (archetypes from :data:`sim.model.population.ARCHETYPES`, each with a
``count`` and any parameter overridden) and the behaviour (``price_response`` and the decision
policies of :data:`sim.model.decisions.POLICIES` with their parameters)::

    name: baseline
    catalog: {name: tencent-intl-2022, overrides: {editions.Pro.price_per_month: 399.99}}
    start: 2024-01-01
    horizon_months: 24
    seed: 20240101
    population:
      game: {count: 100, create_rate: 0.03}
    behaviour:
      price_response: true
      policies: {campaign_live: {enabled: false}}

``--set dotted.key=value`` overrides apply to this data before validation (the value is read as
YAML); ``--set catalog.overrides.editions.Pro.price_per_month=399.99`` changes the catalog.
Errors name the file, the field, what was given and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NoReturn

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.core.catalog import Catalog
from sim.errors import CatalogError, ScenarioError
from sim.files import bounds
from sim.files.catalogs import DEFAULT_CATALOG, apply_overrides, load_catalog, read_yaml_mapping
from sim.model.decisions import POLICIES, Behaviour
from sim.model.population import ARCHETYPES, ArchetypeParams

MODES = ("exact", "fast")
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


class CatalogRef(BaseModel):
    """A catalog by name or path (relative to the scenario file), with overrides (dotted keys
    or nested mappings, merged over the catalog's data)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = DEFAULT_CATALOG
    overrides: dict[str, Any] = Field(default_factory=dict)


class CatalogChange(BaseModel):
    """A scheduled price change: from local midnight of ``at``, the catalog with ``overrides``
    (prices only) applied over the scenario's catalog and the changes before; postpaid apps
    keep the previous prices for ``grandfather_months`` months."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: dt.date
    overrides: dict[str, Any] = Field(default_factory=dict)
    grandfather_months: int = Field(ge=0, le=120, default=0)


PRICE_KEY = re.compile(
    r"editions\.[^.]+\.(price_per_month|prepaid_price_per_month"
    r"|packs\.[^.]+\.options\.[^.]+|overage\.[^.]+\.price_per_block)$"
)
"""The catalog keys a scheduled change may override: prices only."""


class Scenario(BaseModel):
    """A validated scenario. Build with :func:`load_scenario` or :func:`scenario_from_dict`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    description: str = ""
    catalog: CatalogRef = CatalogRef()
    start: dt.date
    horizon_months: int = Field(ge=1, le=120)
    warmup_months: int = Field(ge=0, default=0)
    seed: int = Field(ge=0)
    replications: int = Field(ge=1, le=1000, default=1)
    mode: Literal["exact", "fast"] = "exact"
    population: dict[str, ArchetypeParams]
    behaviour: Behaviour = Behaviour()
    catalog_changes: list[CatalogChange] = Field(default_factory=list)
    source: str = Field(default="<scenario>", exclude=True)
    base_dir: str = Field(default=".", exclude=True)

    def load_catalog(self) -> Catalog:
        """The catalog with the scenario's overrides applied (a :class:`CatalogError` names the
        scenario file)."""
        try:
            return load_catalog(self._catalog_ref(), flatten_overrides(self.catalog.overrides))
        except CatalogError as exc:
            raise ScenarioError(f"{self.source}: field 'catalog': {exc}") from None

    def price_schedule(self) -> list[tuple[CatalogChange, Catalog]]:
        """Each scheduled change with the catalog in force from it (its overrides over the
        scenario's and every earlier change's)."""
        out = []
        overrides = flatten_overrides(self.catalog.overrides)
        for k, ch in enumerate(self.catalog_changes):
            overrides = overrides + flatten_overrides(ch.overrides)
            try:
                cat = load_catalog(self._catalog_ref(), overrides)
            except CatalogError as exc:
                raise ScenarioError(f"{self.source}: field 'catalog_changes.{k}': {exc}") from None
            out.append((ch, cat))
        return out

    def _catalog_ref(self) -> str:
        ref = self.catalog.name
        path = Path(self.base_dir) / ref
        if ref.endswith((".yaml", ".yml")) and not Path(ref).is_absolute() and path.is_file():
            ref = str(path)
        return ref

    def digest(self) -> str:
        """SHA-256 of the scenario's canonical JSON (what determines a run, with the catalog)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    @property
    def report_start(self) -> dt.date:
        """The first month after the warm-up (``warmup_months`` from ``start``): what metrics
        and reports show."""
        k = self.start.year * 12 + self.start.month - 1 + self.warmup_months
        return dt.date(k // 12, k % 12 + 1, 1)

    @property
    def n_tenants(self) -> int:
        return sum(
            a.count + int(a.arrivals_per_month * self.horizon_months)
            for a in self.population.values()
        )


def flatten_overrides(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Nested or dotted overrides as ``dotted.key=value`` strings (values as YAML)."""
    out: list[str] = []
    for key, value in data.items():
        path = f"{prefix}{_key_text(key)}"
        if isinstance(value, Mapping) and value:
            out.extend(flatten_overrides(value, f"{path}."))
        else:
            text = yaml.safe_dump(value, default_flow_style=True, width=10**9).strip()
            out.append(f"{path}={text.removesuffix('...').strip()}")
    return out


def _key_text(key: Any) -> str:
    return str(key).lower() if isinstance(key, bool) else str(key)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(top level)"


def _allowed(loc: tuple[Any, ...]) -> str:
    """The keys allowed at the parent of ``loc``, for 'unknown key' messages."""
    parent = loc[:-1]
    if not parent:
        keys = [k for k in Scenario.model_fields if k not in ("source", "base_dir")]
    elif parent[0] == "population" and len(parent) == 2:
        keys = list(ArchetypeParams.model_fields)
    elif parent == ("catalog",):
        keys = list(CatalogRef.model_fields)
    elif parent == ("behaviour",):
        keys = list(Behaviour.model_fields)
    elif parent[:2] == ("behaviour", "policies") and len(parent) == 3 and parent[2] in POLICIES:
        keys = list(POLICIES[parent[2]].params.model_fields)
    else:
        return ""
    return f"; allowed keys: {', '.join(sorted(keys))}"


def _message(source: str, err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    where = f"{source}: field '{_where(loc)}'"
    if err["type"] == "extra_forbidden":
        return f"{where}: unknown key{_allowed(loc)}"
    if err["type"] == "missing":
        return f"{where}: required but missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {msg} (given {err.get('input')!r})"


def _fail(source: str, field: str, msg: str) -> NoReturn:
    raise ScenarioError(f"{source}: field '{field}': {msg}")


def scenario_from_dict(
    data: Mapping[str, Any],
    source: str = "<scenario>",
    base_dir: str | Path = ".",
    overrides: Iterable[str] = (),
) -> Scenario:
    """Validate a scenario given as plain data; ``overrides`` (``dotted.key=value``) first.

    Each ``population.<name>`` is an archetype of :data:`ARCHETYPES` (or any name with
    ``like: <archetype>``) whose parameters default to that archetype's.
    """
    overrides = list(overrides)
    if overrides:
        try:
            data = apply_overrides(dict(data), overrides)
        except CatalogError as exc:
            raise ScenarioError(f"{source}: {exc}") from None
        source = f"{source} (with --set {', '.join(overrides)})"
    data = dict(data)
    pop = data.get("population")
    if not isinstance(pop, Mapping) or not pop:
        _fail(
            source,
            "population",
            f"a mapping of archetype name -> {{count, parameters}} "
            f"(given {pop!r}); archetypes: {', '.join(ARCHETYPES)}",
        )
    merged: dict[str, Any] = {}
    assert isinstance(pop, Mapping)  # (_fail raised otherwise)
    for name, spec in pop.items():
        spec = {} if spec is None else spec
        if not isinstance(spec, Mapping):
            _fail(
                source,
                f"population.{name}",
                f"a mapping with count and parameters (given {spec!r})",
            )
        spec = dict(spec)
        like = spec.pop("like", name)
        complete = set(ArchetypeParams.model_fields) <= set(spec)  # (a validated one, dumped)
        if like not in ARCHETYPES and not complete:
            _fail(
                source,
                f"population.{name}",
                f"unknown archetype {like!r}; known: "
                f"{', '.join(ARCHETYPES)} (or give like: <archetype>)",
            )
        merged[str(name)] = (
            {**ARCHETYPES[like].model_dump(), **spec} if like in ARCHETYPES else spec
        )
    data["population"] = merged
    if isinstance(data.get("catalog"), str):
        data["catalog"] = {"name": data["catalog"]}
    try:
        sc = Scenario.model_validate({**data, "source": source, "base_dir": str(base_dir)})
    except ValidationError as exc:
        raise ScenarioError(_message(source, exc.errors()[0])) from None
    _check(sc)
    return sc


def _check(sc: Scenario) -> None:
    src = sc.source
    counts = {name: a.count for name, a in sc.population.items()}
    refused = bounds.check_run(sc.start, sc.horizon_months, counts, sc.replications)
    if refused is not None:
        _fail(src, *refused)
    if sc.start.day != 1:
        _fail(src, "start", f"the 1st of a month, so that months are whole (given {sc.start})")
    if sc.warmup_months >= sc.horizon_months:
        _fail(
            src,
            "warmup_months",
            f"fewer than horizon_months ({sc.horizon_months}), so that some months are "
            f"reported (given {sc.warmup_months})",
        )
    _check_changes(sc)
    if sc.n_tenants == 0:
        _fail(src, "population", "every count is 0; at least one tenant is needed")
    for name, a in sc.population.items():
        _check_archetype(src, name, a)


def _check_archetype(src: str, name: str, a: ArchetypeParams) -> None:
    """One archetype's start states, group types and sizes."""
    known_states = ("IM", "Pro", "Ultimate", "Trial")
    for state in a.start_state:
        if state not in known_states:
            _fail(
                src,
                f"population.{name}.start_state.{state}",
                f"unknown start state; allowed: {', '.join(known_states)}",
            )
    if sum(a.start_state.values()) <= 0:
        _fail(src, f"population.{name}.start_state", "the shares sum to 0")
    for gtype in a.group_types:
        if gtype not in ("Work", "Public", "Meeting", "Community"):
            _fail(
                src,
                f"population.{name}.group_types.{gtype}",
                "unknown non-live group "
                "type; allowed: Work, Public, Meeting, Community (AVChatRoom: live_rate)",
            )
    if sum(a.group_types.values()) <= 0:
        _fail(src, f"population.{name}.group_types", "the weights sum to 0")
    if a.size_max < a.size_min:
        _fail(
            src,
            f"population.{name}.size_max",
            f"below size_min {a.size_min} (given {a.size_max})",
        )


def _check_changes(sc: Scenario) -> None:
    """Scheduled changes: inside the horizon, in date order, prices only."""
    k = sc.start.year * 12 + sc.start.month - 1 + sc.horizon_months
    end = dt.date(k // 12, k % 12 + 1, 1)
    prev = sc.start
    for i, ch in enumerate(sc.catalog_changes):
        if not prev < ch.at < end:
            _fail(
                sc.source,
                f"catalog_changes.{i}.at",
                f"a date after {prev} and before the end of the horizon {end}, in order "
                f"(given {ch.at})",
            )
        prev = ch.at
        for item in flatten_overrides(ch.overrides):
            key = item.split("=", 1)[0]
            if not PRICE_KEY.match(key):
                _fail(
                    sc.source,
                    f"catalog_changes.{i}.overrides.{key}",
                    "only prices may change at a date (editions.<E>.price_per_month, "
                    "prepaid_price_per_month, packs.<P>.options.<V>, overage.<M>.price_per_block)",
                )


def load_scenario(ref: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load ``scenarios/<name>.yaml`` by name, or a YAML file by path; apply ``overrides``."""
    path = Path(ref)
    if not path.suffix and not path.exists():
        for d in (Path.cwd() / "scenarios", SCENARIO_DIR):
            if (d / f"{ref}.yaml").is_file():
                path = d / f"{ref}.yaml"
                break
    if not path.is_file():
        known = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))
        raise ScenarioError(
            f"scenario {str(ref)!r} not found; known scenarios: "
            f"{', '.join(known) or 'none'}; or give a path to a .yaml file"
        )
    data = read_yaml_mapping(path, ScenarioError, "scenario")
    return scenario_from_dict(data, source=str(path), base_dir=path.parent, overrides=overrides)
