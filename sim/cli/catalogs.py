"""``sim catalogs``: list the catalogs ``--catalog NAME`` can name; ``sim catalogs diff A B``
prints what changes from catalog A to catalog B, one line per field
(:mod:`sim.core.catalog_diff`)."""

from __future__ import annotations

import argparse

from sim.errors import SimError

HELP = "list the catalogs that --catalog NAME can name, or diff two catalogs"
DESCRIPTION = (
    "Without arguments: list the catalogs by name with their description. "
    "`sim catalogs diff A B` prints every field that differs from catalog A to catalog B "
    "(e.g. 'Pro price 449.99 → 399.99'), --set changing B."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    diff = sub.add_parser(
        "diff",
        help="what changes from catalog A to catalog B",
        description="Print one line per catalog field that differs from A to B: prices, "
        "limits, packs, overage, transitions, billing (name, description, assumptions and "
        "sources are not compared).",
    )
    diff.add_argument("a", metavar="A", help="catalog A: a name (see `sim catalogs`) or a path")
    diff.add_argument("b", metavar="B", help="catalog B: a name or a path")
    diff.add_argument(
        "--set",
        metavar="KEY=VALUE",
        dest="overrides",
        action="append",
        default=[],
        help="change a field of catalog B (value read as YAML; repeatable)",
    )


def _list() -> int:
    from sim.files.catalogs import available_catalogs, load_catalog

    names = available_catalogs()
    if not names:
        print("no catalogs found (looked in ./scenarios/catalogs and beside the package)")
        return 0
    width = max(len(n) for n in names)
    for name in names:
        try:
            description = load_catalog(name).description
        except SimError as exc:
            description = f"(invalid: {exc})"
        print(f"{name:<{width}}  {description}".rstrip())
    return 0


def _diff(args: argparse.Namespace) -> int:
    from sim.core.catalog_diff import diff_catalogs
    from sim.files.catalogs import load_catalog

    a = load_catalog(args.a)
    b = load_catalog(args.b, list(args.overrides))
    changes = diff_catalogs(a, b)
    b_name = f"{b.name} with --set" if args.overrides else b.name
    if not changes:
        print(f"{a.name} and {b_name} bill and limit identically")
        return 0
    s = "" if len(changes) == 1 else "s"
    print(f"{a.name} → {b_name}: {len(changes)} change{s}")
    for change in changes:
        print(f"  {change}")
    return 0


def run(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "diff":
        return _diff(args)
    return _list()
