"""The vocabulary is defined once (sim/core/vocab.py) and matches what the engine returns.

Tencent's error codes are written as numbers in ``sim/core/vocab.py`` and nowhere else in the
code of ``sim`` (docstrings and comments may cite them): an AST walk finds every integer or
string literal equal to a code.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sim.core import vocab
from sim.core.vocab import CODE_REASONS, OK, Code, State
from sim.files.catalogs import load_catalog
from sim.rules.engine import Engine
from sim.rules.limits import GROUP_CODES

SIM = Path(__file__).resolve().parent.parent / "sim"
RULES = Path(__file__).resolve().parent.parent / "docs" / "rules.md"

PUBLISHED = frozenset(
    (70398, 72000, 10037, 10014, 10038, 10058, 10036, 10059, 10006)  # limits
    + (60020, 70020, 60016, 10021, 10010, 10013, 10007, 10009)  # state and misuse
)
"""Every Tencent code docs/rules.md cites (10006 published, not modelled)."""


def _docstrings(tree: ast.Module) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for stmt in body:
                if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                    out.add(id(stmt.value))
    return out


def code_literals(path: Path, root: Path = SIM.parent) -> list[str]:
    """``file:line value`` of every literal (an int, or a str of digits) equal to a published
    code, docstrings and comments aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Constant) or id(node) in docs:
            continue
        v = node.value
        number = v if type(v) is int else int(v) if isinstance(v, str) and v.isdigit() else None
        if number in PUBLISHED:
            found.append(f"{path.relative_to(root)}:{node.lineno} {v!r}")
    return found


def test_the_checker_sees_numbers_and_digit_strings_not_docstrings(tmp_path: Path) -> None:
    probe = tmp_path / "m.py"
    probe.write_text(
        '"""Refused with 10014."""\nA = 10014\nB = {"10037": 1}\nC = 10015  # 10014\n'
        'def f():\n    """10036"""\n    return True\n',
        encoding="utf-8",
    )
    assert code_literals(probe, tmp_path) == ["m.py:2 10014", "m.py:3 '10037'"]


def test_codes_are_written_as_numbers_only_in_vocab() -> None:
    found = [
        hit
        for path in sorted(SIM.rglob("*.py"))
        if path != SIM / "core" / "vocab.py"
        for hit in code_literals(path)
    ]
    assert not found, "use sim.core.vocab.Code, not bare codes:\n" + "\n".join(found)


def test_every_modelled_code_is_published_and_stated_in_docs_rules() -> None:
    text = RULES.read_text(encoding="utf-8")
    for code in Code:
        assert int(code) in PUBLISHED
        assert re.search(rf"\b{int(code)}\b.*`{code.reason}`", text), code
    assert 10006 not in CODE_REASONS  # published, not modelled (docs/rules.md)


def test_reasons_are_the_engines() -> None:
    assert {c.reason: int(c) for c in Code} == GROUP_CODES
    assert {v: k for k, v in GROUP_CODES.items()} == CODE_REASONS
    assert vocab.GROUP_FULL == (10014, "group_full", "")
    assert type(vocab.GROUP_FULL[0]) is int  # plain ints in the tables, not enum members


@pytest.mark.parametrize("state", list(State))
def test_states_are_plain_strings_in_the_timeline(state: State) -> None:
    e = Engine(load_catalog())
    e.create_app(0, "a")
    rows = e.timeline()
    assert all(type(r[3]) is str for r in rows)
    assert str(state) == state.value


def test_a_group_refusal_is_the_vocab_outcome() -> None:
    e = Engine(load_catalog())
    assert e.create_app(0, "a") == OK
    assert e.create_group(1, "a", "u", "g", "Community") == vocab.COMMUNITY_UNSUPPORTED
    assert e.join_group(2, "a", "v", "nope") == vocab.GROUP_NOT_FOUND
