"""Catalog files: YAML reading, ``extends`` chains and ``--set`` overrides.

A catalog is named (``tencent-intl-2022``: ``scenarios/catalogs/<name>.yaml``, looked up in
the current directory's ``scenarios/catalogs`` and then in the one beside the package) or given
as a path. A catalog may start with ``extends: <name or path>`` (a path is relative to the file
that names it): the base is loaded first and this file's keys are merged over it — mappings
merge key by key, anything else replaces; the value ``__remove__`` deletes a key (for instance a
pack option). Overrides ``dotted.key=value`` (the CLI's ``--set``) are applied last; the value is
read as YAML, so ``449.99`` is a number, ``null`` is unlimited and ``true`` is a boolean.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from sim.core.catalog import Catalog, catalog_from_dict
from sim.errors import CatalogError, SimError
from sim.files.bounds import TooLarge, expand_bounded

DEFAULT_CATALOG = "tencent-intl-2022"
REMOVE = "__remove__"
_PACKAGE_CATALOGS = Path(__file__).resolve().parents[2] / "scenarios" / "catalogs"


def catalog_dirs() -> list[Path]:
    """Where catalog names are looked up, in order."""
    dirs = [Path.cwd() / "scenarios" / "catalogs", _PACKAGE_CATALOGS]
    out: list[Path] = []
    for d in dirs:
        if d not in out:
            out.append(d)
    return out


def available_catalogs() -> list[str]:
    names: set[str] = set()
    for d in catalog_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def resolve_catalog(ref: str | Path, relative_to: Path | None = None) -> Path:
    """The file a catalog name or path refers to; a clear error when there is none."""
    text = str(ref)
    looks_like_path = text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text
    if looks_like_path:
        path = Path(text)
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if path.is_file():
            return path
        raise CatalogError(f"catalog file {text!r} not found (looked for {path})")
    for d in catalog_dirs():
        path = d / f"{text}.yaml"
        if path.is_file():
            return path
    known = ", ".join(available_catalogs()) or "none"
    raise CatalogError(
        f"unknown catalog {text!r}; known catalogs: {known}; or give a path to a .yaml file"
    )


def read_yaml_mapping(path: Path, error: type[SimError], what: str) -> dict[str, Any]:
    """A YAML file that must hold a mapping (a catalog, a scenario), with no node shared
    between two places (YAML anchors), so that an override of one never changes the other.
    Problems raise ``error`` naming the file, and the line and column where YAML says."""
    try:
        data = expand_bounded(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (TooLarge, RecursionError) as exc:
        raise error(f"{path}: refused: {_why(exc)}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise error(f"{path}:{where} not valid YAML ({getattr(exc, 'problem', exc)})") from None
    except OSError as exc:
        raise error(f"{path}: cannot be read ({exc.strerror})") from None
    if not isinstance(data, dict):
        raise error(f"{path}: a {what} is a YAML mapping (got {type(data).__name__})")
    return data


def _why(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return str(exc)


def merge(base: Mapping[Any, Any], over: Mapping[Any, Any]) -> dict[Any, Any]:
    """Deep merge: mappings merge key by key, other values replace, ``__remove__`` deletes."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if value == REMOVE:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        chain = " -> ".join(str(p) for p in (*seen, path))
        raise CatalogError(f"{path}: field 'extends': circular chain {chain}")
    data = read_yaml_mapping(path, CatalogError, "catalog")
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise CatalogError(f"{path}: field 'extends': a catalog name or path (given {parent!r})")
    try:
        base_path = resolve_catalog(parent, relative_to=path.parent)
    except CatalogError as exc:
        raise CatalogError(f"{path}: field 'extends': {exc}") from None
    base = _load_raw(base_path, (*seen, path))
    return merge(base, data)


def _key_for(container: Mapping[Any, Any], part: str) -> Any:
    """The existing key of ``container`` spelled ``part`` (keys may be ints or booleans)."""
    for k in container:
        if str(k) == part or (isinstance(k, bool) and str(k).lower() == part.lower()):
            return k
    parsed = yaml.safe_load(part)
    return parsed if isinstance(parsed, int | bool) else part


def _short(text: str, limit: int = 80) -> str:
    """``text`` quoted, cut to ``limit`` characters (a hostile value can be long)."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``'billing.proration=second'`` -> (['billing', 'proration'], 'second')."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise CatalogError(
            f"override {text!r}: expected dotted.key=value, e.g. billing.proration=second"
        )
    try:
        value = expand_bounded(yaml.safe_load(raw)) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    except (TooLarge, RecursionError) as exc:
        raise CatalogError(f"override {_short(text)}: refused: {_why(exc)}") from None
    return [p for p in key.strip().split(".")], value


def apply_overrides(
    data: dict[str, Any], overrides: Iterable[str], prefix: str = ""
) -> dict[str, Any]:
    """Apply ``dotted.key=value`` overrides to plain data (a copy is returned)."""
    out = expand_bounded(data)
    for text in overrides:
        parts, value = parse_override(text)
        if prefix:
            if parts[0] != prefix:
                continue
            parts = parts[1:]
        cur: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if not isinstance(cur, dict):
                where = ".".join(parts[:i])
                raise CatalogError(f"override {text!r}: '{where}' is not a mapping")
            key = _key_for(cur, part)
            if last:
                if value == REMOVE:
                    cur.pop(key, None)
                else:
                    cur[key] = value
            else:
                cur = cur.setdefault(key, {})
    return out


def load_catalog(ref: str | Path | Catalog | None = None, overrides: Iterable[str] = ()) -> Catalog:
    """Load a catalog by name or path (default ``tencent-intl-2022``), with overrides applied.

    Raises :class:`~sim.errors.CatalogError` naming the file and the field.
    """
    overrides = list(overrides)
    if isinstance(ref, Catalog):
        if not overrides:
            return ref
        data = ref.model_dump(by_alias=True)
        source = f"catalog {ref.name!r}"
    else:
        path = resolve_catalog(ref if ref is not None else DEFAULT_CATALOG)
        data = _load_raw(path)
        source = str(path)
    if overrides:
        data = apply_overrides(data, overrides)
        source = f"{source} (with overrides {', '.join(overrides)})"
    return catalog_from_dict(data, source=source)
