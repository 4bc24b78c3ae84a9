"""Notebooks rendered per scenario: a notebook executed with papermill (its ``parameters``
cell overridden) and converted to HTML with nbconvert, beside a report.

papermill and nbconvert come with the ``notebooks`` extra (``pip install -e
'.[notebooks]'``); without them :func:`render_notebook` says so (a :class:`SimError`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.errors import SimError
from sim.files.outputs import write_file

INSTALL = "pip install -e '.[notebooks]'"


def check_notebook(path: str | os.PathLike[str]) -> Path:
    """``path`` if it is a notebook file with a ``parameters`` cell, else a :class:`SimError`."""
    p = Path(path)
    if not p.is_file() or p.suffix != ".ipynb":
        raise SimError(f"--notebook {str(path)!r}: no such notebook (an .ipynb file)")
    try:
        import nbformat
    except ImportError as exc:
        raise SimError(f"--notebook needs nbformat, papermill and nbconvert: {INSTALL}") from exc
    nb = nbformat.read(p, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        raise SimError(
            f"--notebook {str(path)!r} has no cell tagged 'parameters' (papermill overrides "
            "that cell's values)"
        )
    return p


def render_notebook(
    notebook: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    parameters: Mapping[str, Any],
    cwd: str | os.PathLike[str] | None = None,
) -> Path:
    """Execute ``notebook`` with ``parameters`` into ``out_dir/<name>.ipynb`` (papermill) and
    convert it to ``out_dir/<name>.html`` (nbconvert, no input hidden); returns the HTML."""
    try:
        import nbformat
        import papermill
        from nbconvert import HTMLExporter
    except ImportError as exc:
        raise SimError(f"--notebook needs papermill and nbconvert: {INSTALL}") from exc
    src = Path(notebook)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    executed = out / src.name
    try:
        papermill.execute_notebook(
            str(src),
            str(executed),
            parameters=dict(parameters),
            cwd=str(cwd) if cwd is not None else None,
            progress_bar=False,
            kernel_name="python3",
        )
    except Exception as exc:  # noqa: BLE001 -- papermill raises its own errors, name the cell
        raise SimError(f"notebook {src.name} failed: {str(exc).strip().splitlines()[-1]}") from exc
    body, _ = HTMLExporter().from_notebook_node(nbformat.read(executed, as_version=4))
    return write_file(out / f"{src.stem}.html", body)
