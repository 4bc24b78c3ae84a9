"""The layers of docs/design.md, enforced on every module of ``sim`` without importing it.

Each module of the package is mapped to a layer by :data:`LAYERS` (a module belongs to the
longest prefix listed); imports go DOWN the list only (or sideways, inside one layer):

    errors < core < rules < billing < files < model < replayer < results < studies < reports
    < cli, and the interface (``sim/__init__.py``, ``sim/__main__.py``) on top.

The test fails -- never skips -- on an import from a lower layer to a higher one (also a lazy
import inside a function), on a module the table does not know (a new subpackage or top-level
module must be placed in the table, and in docs/design.md), on a private name (``_x``)
imported from another module, and on an import circle among module-level imports. The domain
(core, rules, billing) must also not import yaml, matplotlib, argparse or simpy, directly or
through another sim module, and do no file I/O at import; ``import sim`` has no side effects.
The source is read and its AST inspected; run-time checks import in a fresh subprocess.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

LAYERS: dict[str, int] = {
    "sim.errors": 1,
    "sim.core": 2,
    "sim.rules": 3,
    "sim.billing": 4,
    "sim.files": 5,
    "sim.model": 6,
    "sim.replayer": 7,
    "sim.results": 8,
    "sim.studies": 9,
    "sim.reports": 10,
    "sim.cli": 11,
    "sim.__main__": 12,
    "sim": 12,  # sim/__init__.py: the lazy public API
}
"""Module or package prefix -> layer (docs/design.md, "Layers"). ``sim.replayer`` is the replay
service beside the model: it may use the model's layer and below, the model may not use it."""

DOMAIN = ("sim.core", "sim.rules", "sim.billing", "sim.errors")
"""The pure domain: no yaml, matplotlib, argparse or simpy; no I/O at import."""

FORBIDDEN = ("yaml", "matplotlib", "argparse", "simpy")
"""Top-level packages the domain may not import, directly or through another module."""


IO_CALLS = {
    "open",
    "read_text",
    "read_bytes",
    "write_text",
    "write_bytes",
    "iterdir",
    "glob",
    "rglob",
    "listdir",
    "scandir",
    "walk",
    "mkdir",
    "makedirs",
    "unlink",
    "remove",
    "rmtree",
    "touch",
    "safe_load",
    "read_csv",
    "read_parquet",
    "read_json",
    "to_csv",
    "to_parquet",
    "savefig",
}
"""Calls that read or write files (a heuristic: names, not types)."""


# -- the checker ---------------------------------------------------------------------------------


def module_files(root: Path) -> dict[str, Path]:
    """Every module of the package at ``root`` by dotted name (``sim.core.catalog``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def layer_of(module: str, layers: dict[str, int] = LAYERS) -> int | None:
    """The layer of a module: that of the longest prefix in ``layers`` (None: unknown)."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        rank = layers.get(".".join(parts[:n]))
        if rank is not None and (n > 1 or module == parts[0]):
            return rank
    return None


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports(
    module: str, path: Path, known: dict[str, Path], top_level_only: bool = False
) -> Iterator[tuple[str, tuple[str, ...], int]]:
    """(module imported, names taken from it, line) for every import of a file, also inside
    functions (unless ``top_level_only``). ``from pkg import mod`` yields ``pkg.mod`` when that
    is a module; relative imports are resolved; ``import_module('m')`` with a literal counts."""
    tree = _tree(path)
    nodes: list[ast.AST]
    if top_level_only:
        nodes = []
        for stmt in tree.body:
            nodes.extend(ast.walk(stmt) if isinstance(stmt, ast.If | ast.Try) else [stmt])
    else:
        nodes = list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _package_of(module, path).split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join([*base, *([node.module] if node.module else [])])
            else:
                mod = node.module or ""
            plain = []
            for alias in node.names:
                sub = f"{mod}.{alias.name}"
                if sub in known:
                    yield sub, (), node.lineno
                else:
                    plain.append(alias.name)
            if plain or not node.names:
                yield mod, tuple(plain), node.lineno
        elif isinstance(node, ast.Call) and node.args and not top_level_only:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                yield str(arg.value), (), node.lineno


def violations(root: Path, layers: dict[str, int] = LAYERS) -> list[str]:
    """Every breach of the layer rules in the package at ``root``, one line each."""
    files = module_files(root)
    top = root.name
    found = []
    for module, path in files.items():
        rank = layer_of(module, layers)
        if rank is None:
            found.append(f"{module}: not in the layer table (tests/test_layers.py LAYERS)")
            continue
        for target, names, line in imports(module, path, files):
            if target.split(".")[0] != top or target == top:
                continue
            where = f"{path.relative_to(root.parent)}:{line}"
            other = layer_of(target, layers)
            if other is None:
                found.append(f"{where}: imports {target}, which the layer table does not know")
            elif other > rank:
                found.append(f"{where}: {module} (layer {rank}) imports {target} (layer {other})")
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private and target != module:
                found.append(f"{where}: imports private name(s) {private} from {target}")
    return found


def cycles(root: Path) -> list[list[str]]:
    """Import circles among the package's module-level imports (lazy ones inside functions
    are deliberate and left out)."""
    files = module_files(root)
    graph = {
        m: sorted({t for t, _, _ in imports(m, p, files, top_level_only=True) if t in files})
        for m, p in files.items()
    }
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(m: str, stack: list[str]) -> None:
        state[m] = 1
        stack.append(m)
        for t in graph[m]:
            # a package's __init__ importing its own submodules is not a circle of modules
            if t.startswith(m + "."):
                continue
            if state.get(t) == 1:
                found.append([*stack[stack.index(t) :], t])
            elif t not in state:
                visit(t, stack)
        stack.pop()
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    return found


def domain_closure(root: Path = SIM) -> list[str]:
    """The domain modules, with every module of the package they import (transitively)."""
    files = module_files(root)
    todo = [m for m in files if layer_of(m) is not None and m.startswith(DOMAIN)]
    seen: set[str] = set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(t for t, _, _ in imports(m, files[m], files) if t in files)
    return sorted(seen)


def _import_time_nodes(body: list[ast.stmt]) -> list[ast.AST]:
    """The nodes a module executes when imported: everything except function bodies (whose
    decorators and default values do run), with class bodies included."""
    out: list[ast.AST] = []
    for stmt in body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
            out.extend(stmt.decorator_list)
            out.extend(d for d in (*stmt.args.defaults, *stmt.args.kw_defaults) if d is not None)
        elif isinstance(stmt, ast.ClassDef):
            out.extend(stmt.decorator_list)
            out.extend(stmt.bases)
            out.extend(_import_time_nodes(stmt.body))
        else:
            out.append(stmt)
    return out


def import_time_io_calls(path: Path) -> list[str]:
    """``name (line N)`` for each call at import time whose name suggests file I/O."""
    found = []
    for top in _import_time_nodes(_tree(path).body):
        stack: list[ast.AST] = [top]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Lambda | ast.FunctionDef | ast.AsyncFunctionDef):
                continue  # defined, not run
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in IO_CALLS:
                    found.append(f"{name} (line {node.lineno})")
            stack.extend(ast.iter_child_nodes(node))
    return sorted(found)


# -- the checkers catch what they should ---------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "sim"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(text, encoding="utf-8")
    return root


def test_checker_catches_an_upward_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "core/a.py": "from sim.errors import X\n",
            "rules/b.py": "def f():\n    from sim.reports import c\n",  # lazy, still upward
            "reports/c.py": "from ..core import a\nfrom sim.rules.b import f\n",
            "errors.py": "",
        },
    )
    assert violations(root) == [
        "sim/rules/b.py:2: sim.rules.b (layer 3) imports sim.reports.c (layer 10)"
    ]


def test_checker_catches_an_unknown_module_and_a_private_import(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "gadgets/g.py": "",
            "files/f.py": "from sim.core.k import _hidden, shown\n",
            "core/k.py": "_hidden = shown = 1\n",
        },
    )
    found = violations(root)
    assert "sim.gadgets: not in the layer table (tests/test_layers.py LAYERS)" in found
    assert "sim.gadgets.g: not in the layer table (tests/test_layers.py LAYERS)" in found
    assert "sim/files/f.py:1: imports private name(s) ['_hidden'] from sim.core.k" in found
    assert len(found) == 3


def test_cycle_finder_sees_a_circle(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "rules/a.py": "from sim.rules import b\n",
            "rules/b.py": "from sim.rules.a import x\ndef f():\n    from sim.rules import c\n",
            "rules/c.py": "from sim.rules import b\n",  # lazy import above: no circle with c
        },
    )
    assert cycles(root) == [["sim.rules.a", "sim.rules.b", "sim.rules.a"]]


def test_io_detector_sees_module_level_calls_only(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "from pathlib import Path\n"
        "DATA = Path('x.yaml').read_text()\n"
        "def load(p=open('defaults.txt')):\n"
        "    return open(p).read()\n"
        "class C:\n"
        "    rows = list(Path('.').iterdir())\n"
        "    def m(self):\n"
        "        return Path('y').write_text('')\n"
        "reader = lambda p: open(p)\n",
        encoding="utf-8",
    )
    assert import_time_io_calls(path) == ["iterdir (line 6)", "open (line 3)", "read_text (line 2)"]


# -- the package ---------------------------------------------------------------------------------


def test_every_module_is_known_and_imports_only_downward() -> None:
    found = violations(SIM)
    assert not found, "layer rules broken (docs/design.md, Layers):\n" + "\n".join(found)


def test_design_md_names_every_module() -> None:
    """docs/design.md's layer table matches the code: every module is named in it."""
    text = (SIM.parent / "docs" / "design.md").read_text(encoding="utf-8")
    table = text[text.index("| # | layer |") : text.index("Layers 1–4 are the domain")]
    missing = []
    for module, path in module_files(SIM).items():
        rel = path.relative_to(SIM.parent).as_posix()
        named = f"`{path.name}`" in table or f"`{rel}`" in table
        package_init = path.name == "__init__.py" and "." in module  # the package is named
        if not named and not package_init:
            missing.append(rel)
    assert not missing, f"add to docs/design.md's layer table: {missing}"


def test_no_import_circle() -> None:
    assert cycles(SIM) == []


def test_the_table_covers_a_module_of_every_layer_listed() -> None:
    """Every layer of the table but the studies (still being written) has modules."""
    ranks = {layer_of(m) for m in module_files(SIM)}
    missing = {p for p, r in LAYERS.items() if r not in ranks and p != "sim.studies"}
    assert not missing


DOMAIN_MODULES = domain_closure()


def test_the_domain_is_the_domain() -> None:
    """What the domain imports of sim is domain too (nothing above billing)."""
    assert DOMAIN_MODULES
    assert all(
        layer_of(m) is not None and layer_of(m) <= LAYERS["sim.billing"] for m in DOMAIN_MODULES
    )


@pytest.mark.parametrize("name", DOMAIN_MODULES)
def test_domain_imports_no_forbidden_package(name: str) -> None:
    files = module_files(SIM)
    bad = sorted(
        {t for t, _, _ in imports(name, files[name], files) if t.split(".")[0] in FORBIDDEN}
    )
    assert not bad, f"{name} imports {bad}: the domain core must not (docs/design.md)"


@pytest.mark.parametrize("name", DOMAIN_MODULES)
def test_domain_does_no_file_io_at_import(name: str) -> None:
    calls = import_time_io_calls(module_files(SIM)[name])
    assert not calls, f"{name} does file I/O at import: {calls}"


# -- at run time, in a fresh interpreter -------------------------------------------------------


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # no .pyc writes to observe
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=SIM.parent,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


HEAVY = (*FORBIDDEN, "pandas", "numpy", "pyarrow", "pydantic")


def test_import_sim_has_no_side_effects() -> None:
    """``import sim`` imports the package and nothing of substance: no submodule (the
    re-exports are lazy), no plotting, no YAML, no heavy dependency, and it opens no file."""
    out = json.loads(
        _run(
            "import json, os, sys\n"
            "opened = []\n"
            "def hook(event, args):\n"
            "    if event == 'open' and isinstance(args[0], (str, bytes, os.PathLike)):\n"
            "        path = os.fsdecode(args[0])\n"
            "        if not path.endswith(('.py', '.pyc', '.so')) and path not in sys.path:\n"
            "            opened.append(path)\n"
            "sys.addaudithook(hook)\n"
            "import sim\n"
            "print(json.dumps({\n"
            "    'matplotlib': 'matplotlib' in sys.modules,\n"
            "    'sim': sorted(m for m in sys.modules if m.split('.')[0] == 'sim'),\n"
            f"    'heavy': sorted(m for m in {HEAVY!r} if m in sys.modules),\n"
            "    'opened': opened,\n"
            "}))\n"
        )
    )
    assert out["matplotlib"] is False
    assert out["sim"] == ["sim"], f"`import sim` also imported {out['sim']}"
    assert out["heavy"] == [], f"`import sim` loads {out['heavy']}"
    assert out["opened"] == [], f"`import sim` opens {out['opened']}"


_AUDIT = """
import importlib, json, os, sys
for dep in ("pydantic", "numpy", "pandas", "zoneinfo", "decimal", "dataclasses"):
    try:
        importlib.import_module(dep)  # third-party import-time work is not sim's
    except ImportError:
        pass
import pydantic
class _Warm(pydantic.BaseModel):  # pydantic reads plugin entry points on its first model
    x: int = 0
opened = []
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        if not path.endswith((".py", ".pyc", ".so", ".pyd")) and path not in sys.path:
            opened.append(path)
sys.addaudithook(hook)
importlib.import_module("{name}")
print(json.dumps({{
    "opened": [p for p in opened if "zoneinfo" not in p and "tzdata" not in p],
    "forbidden": sorted(m for m in {forbidden!r} if m in sys.modules),
}}))
"""


@pytest.mark.parametrize("name", DOMAIN_MODULES)
def test_importing_domain_module_opens_no_file_and_loads_no_forbidden_package(name: str) -> None:
    out = json.loads(_run(_AUDIT.format(name=name, forbidden=FORBIDDEN)))
    assert out["forbidden"] == [], f"importing {name} loads {out['forbidden']}"
    assert out["opened"] == [], f"importing {name} opens {out['opened']}"
