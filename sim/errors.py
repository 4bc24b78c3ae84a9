"""The package's exceptions, all under one base.

Tree::

    SimError                  base of everything sim raises on purpose
    ├── CatalogError          a catalog file or override is invalid (file, field, given, allowed)
    ├── ScenarioError         a scenario file or override is invalid
    └── InputError            an input table (operations log, usage) is malformed (file, row, column)

The CLI turns any ``SimError`` into a one-line message on stderr and exit code 2.
"""

from __future__ import annotations


class SimError(Exception):
    """Base of every error sim raises on purpose."""


class CatalogError(SimError):
    """A catalog is invalid: the message names the file, the field, what was given and what is allowed."""


class ScenarioError(SimError):
    """A scenario is invalid: the message names the file, the field, what was given and what is allowed."""


class InputError(SimError):
    """An input table is malformed: the message names the file, the row and what was expected."""
