"""The ``sim`` command line: one module per group of subcommands; :func:`main` is the entry
(:func:`entry`: the ``sim`` program)."""

from sim.cli.app import entry, main

__all__ = ["entry", "main"]
