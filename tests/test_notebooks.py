"""The notebooks run, top to bottom, with small settings (``SIM_NOTEBOOK_SMALL=1``), so they
never rot; and they are committed without outputs.

Needs the test extras (``nbclient``, ``nbformat``, ``ipykernel``: ``pip install -e '.[test]'``,
which ``make test`` does); skips, saying so, without them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01-quickstart.ipynb",
        "02-what-if.ipynb",
        "03-price-sweep.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the test extras are not installed")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: clear the outputs before committing (Kernel > Restart & Clear)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat", reason="the test extras are not installed")
    nbclient = pytest.importorskip("nbclient", reason="the test extras are not installed")
    pytest.importorskip("ipykernel", reason="the test extras are not installed")
    monkeypatch.setenv("SIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.parent)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    images = sum(
        1
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "image/png" in o.get("data", {})
    )
    assert images >= 1, f"{path.name} drew no chart"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell(path: Path) -> None:
    """papermill overrides the cell tagged ``parameters``: scenario, size, replications."""
    nbformat = pytest.importorskip("nbformat", reason="the test extras are not installed")
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"{path.name}: one cell tagged 'parameters'"
    names = {line.split("=")[0].strip() for line in cells[0].source.splitlines() if "=" in line}
    assert {"scenario", "size", "replications"} <= names


TINY = """name: {name}
start: 2024-01-01
horizon_months: 1
seed: 3
replications: 2
mode: fast
population:
  game: {{count: 2}}
  social: {{count: 2}}
"""


def test_batch_renders_a_notebook_per_scenario(tmp_path: Path) -> None:
    """``sim batch … --notebook`` executes the notebook per scenario (papermill) and renders
    it to HTML beside the report, linked from the index."""
    nbformat = pytest.importorskip("nbformat", reason="the test extras are not installed")
    pytest.importorskip("papermill", reason="the notebooks extra is not installed")
    pytest.importorskip("nbconvert", reason="the notebooks extra is not installed")
    from sim.cli.report import batch

    src = tmp_path / "s"
    src.mkdir()
    for name in ("base", "other"):
        (src / f"{name}.yaml").write_text(TINY.format(name=name), encoding="utf-8")
    out = tmp_path / "out"
    nb = NOTEBOOKS[1]  # 02-what-if
    entries = batch(src, out, [], baseline="base", notebook=nb)
    assert [e.error for e in entries] == ["", ""]
    index = (out / "index.html").read_text(encoding="utf-8")
    for name in ("base", "other"):
        html = out / name / "report" / f"{nb.stem}.html"
        assert html.is_file()
        executed = nbformat.read(html.with_suffix(".ipynb"), as_version=4)
        shown = " ".join(
            str(o.get("data", {}).get("text/plain", ""))
            for c in executed.cells
            if c.cell_type == "code"
            for o in c.outputs
        )
        assert ("mean_b" in shown) == (name == "other")  # the baseline: not against itself
        assert f'href="{name}/report/{nb.stem}.html"' in index
