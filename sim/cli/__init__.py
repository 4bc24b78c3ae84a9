"""The ``sim`` command line: one module per group of subcommands; :func:`main` is the entry."""

from sim.cli.app import main

__all__ = ["main"]
