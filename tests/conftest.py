"""Shared fixtures: paths to the repository's example files."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "scenarios" / "examples"


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture
def example_ops() -> Path:
    """The example operations log (scenarios/examples/ops-example.csv)."""
    return EXAMPLES / "ops-example.csv"


@pytest.fixture
def example_usage() -> Path:
    """The example daily usage (scenarios/examples/usage-example.csv)."""
    return EXAMPLES / "usage-example.csv"
