"""The layer rules of docs/design.md, checked without importing the code under test.

The pure domain (``sim/catalog.py``, ``calendar.py``, ``engine.py``, ``billing.py`` -- whichever
exist) must not import yaml, matplotlib, argparse or simpy, must not reach up into the files,
runs, outputs or interface layers, and must do no file I/O when imported. The source is read
and its AST inspected; the run-time checks import in a fresh subprocess, so this test process's
own imports cannot hide or cause a failure.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SIM = Path(__file__).resolve().parent.parent / "sim"

DOMAIN = ("catalog", "calendar", "engine", "billing")
"""The pure domain layer (design.md, 'Layers'); any sim module these import (the engine's
``lifecycle``/``limits``, say) is domain too and held to the same rules."""

UPPER = (
    "sim.catalog_files",
    "sim.opslog",
    "sim.replay",
    "sim.replayer",
    "sim.model",
    "sim.run",
    "sim.shards",
    "sim.tables",
    "sim.outputs",
    "sim.cli",
    "sim.__main__",
)
"""Modules of the files, runs, outputs and interface layers, which the domain may not import."""

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


def _source(name: str) -> Path:
    path = SIM / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"sim/{name}.py does not exist (yet)")
    return path


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports anywhere (also inside functions), absolute, by name.

    ``from . import x`` is resolved against the ``sim`` package; ``importlib.import_module('m')``
    and ``__import__('m')`` with a literal name count too.
    """
    out: set[str] = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = "sim" if node.level == 1 else ""
                mod = ".".join(p for p in (base, node.module or "") if p)
                if node.module is None:  # from . import x, y
                    out.update(f"{mod}.{alias.name}" for alias in node.names)
                    continue
            else:
                mod = node.module or ""
            out.add(mod)
            # `from sim import engine` imports the module sim.engine
            if mod == "sim":
                out.update(f"sim.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            arg = node.args[0]
            if name in ("import_module", "__import__") and isinstance(arg, ast.Constant):
                out.add(str(arg.value))
    return out


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


def _top(module: str) -> str:
    return module.split(".")[0]


def _sim_module_file(module: str) -> Path | None:
    parts = module.split(".")
    if parts[0] != "sim" or len(parts) != 2:
        return None
    path = SIM / f"{parts[1]}.py"
    return path if path.is_file() else None


def domain_modules() -> list[str]:
    """The domain modules that exist, with every sim module they import (transitively),
    except the upper-layer ones (reported by their own test)."""
    todo = [m for m in DOMAIN if (SIM / f"{m}.py").is_file()]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for mod in imported_modules(SIM / f"{name}.py"):
            if mod not in UPPER and _sim_module_file(mod) is not None:
                todo.append(mod.split(".")[1])
    return sorted(seen | set(DOMAIN))


# -- the checkers check what they should -----------------------------------------------------


def test_import_parser_sees_every_form(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text(
        "import yaml\n"
        "import matplotlib.pyplot as plt\n"
        "from argparse import ArgumentParser\n"
        "from . import catalog_files\n"
        "from .outputs import write\n"
        "from sim import cli\n"
        "def f():\n"
        "    import simpy\n"
        "    return importlib.import_module('pandas')\n",
        encoding="utf-8",
    )
    assert imported_modules(path) == {
        "yaml",
        "matplotlib.pyplot",
        "argparse",
        "sim.catalog_files",
        "sim.outputs",
        "sim",
        "sim.cli",
        "simpy",
        "pandas",
    }


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


# -- the domain layer --------------------------------------------------------------------------


@pytest.mark.parametrize("name", domain_modules())
def test_domain_imports_no_forbidden_package(name: str) -> None:
    modules = imported_modules(_source(name))
    bad = sorted(m for m in modules if _top(m) in FORBIDDEN)
    assert not bad, f"sim/{name}.py imports {bad}: the domain core must not (docs/design.md)"


@pytest.mark.parametrize("name", domain_modules())
def test_domain_imports_only_lower_layers_of_sim(name: str) -> None:
    modules = imported_modules(_source(name))
    upward = sorted(m for m in modules if m in UPPER)
    assert not upward, f"sim/{name}.py imports {upward}: imports go one way (docs/design.md)"


@pytest.mark.parametrize("name", domain_modules())
def test_domain_does_no_file_io_at_import(name: str) -> None:
    calls = import_time_io_calls(_source(name))
    assert not calls, f"sim/{name}.py does file I/O at import: {calls}"


def test_errors_imports_nothing_of_sim() -> None:
    modules = imported_modules(_source("errors"))
    assert not [m for m in modules if _top(m) == "sim"]


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
importlib.import_module("sim.{name}")
print(json.dumps({{
    "opened": [p for p in opened if "zoneinfo" not in p and "tzdata" not in p],
    "forbidden": sorted(m for m in {forbidden!r} if m in sys.modules),
}}))
"""


@pytest.mark.parametrize("name", domain_modules())
def test_importing_domain_module_opens_no_file_and_loads_no_forbidden_package(name: str) -> None:
    _source(name)
    out = json.loads(_run(_AUDIT.format(name=name, forbidden=FORBIDDEN)))
    assert out["forbidden"] == [], f"importing sim.{name} loads {out['forbidden']}"
    assert out["opened"] == [], f"importing sim.{name} opens {out['opened']}"
