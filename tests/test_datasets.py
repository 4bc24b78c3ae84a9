"""Dataset folders (sim.files.datasets, issue 11 point 4): a run's large tables are folders of
parts the workers write; the client links them into place without reading them and writes
manifest.json last; pandas and pyarrow read each folder as the one table it stands for."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from test_model import tiny

from sim.errors import SimError
from sim.files import datasets
from sim.files.datasets import MANIFEST, check_manifest, part_name, sha256_of
from sim.files.outputs import OutputDir
from sim.model import runner
from sim.model.runner import DATASETS, TABLES, run, run_and_write, store_path

FAST = {**tiny(), "mode": "fast", "replications": 2}


@pytest.fixture(scope="module")
def many_parts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fast run cut into more than ten shards (two replications), in one process."""
    out = tmp_path_factory.mktemp("ds") / "run"
    run_and_write(FAST, out, workers=1, shard_tenants=3)
    return out


def test_part_names_sort_as_their_numbers() -> None:
    assert part_name(42, 100) == "part-00042.parquet"
    names = [part_name(i, 123_456) for i in (9, 10, 99_999, 100_000)]
    assert names == sorted(names) and names[-1] == "part-100000.parquet"
    assert len(part_name(7, 123_456)) == len(part_name(123_455, 123_456))


def test_pandas_and_pyarrow_read_a_dataset_folder_as_the_table(many_parts: Path) -> None:
    whole = run(FAST)
    for name in DATASETS:
        folder = many_parts / f"{name}.parquet"
        parts = sorted(p.name for p in folder.iterdir())
        assert len(parts) > 10 and parts == [part_name(i, len(parts)) for i in range(len(parts))]
        want = whole.tables()[name].reset_index(drop=True)
        for how, got in (
            ("pandas", pd.read_parquet(folder)),
            ("pyarrow.parquet", pq.read_table(folder).to_pandas()),
            ("pyarrow.dataset", ds.dataset(folder).to_table().to_pandas()),
            ("sim.files.datasets", datasets.read_table(folder)),
        ):
            pd.testing.assert_frame_equal(got, want, obj=f"{name} by {how}")
        schemas = {pq.ParquetFile(folder / p).schema_arrow for p in parts}
        assert len(schemas) == 1, f"{name}: its parts' schemas differ"


def test_the_manifest_lists_every_table_file_with_its_rows_and_hash(many_parts: Path) -> None:
    m = json.loads((many_parts / MANIFEST).read_text())
    files = {p.relative_to(many_parts).as_posix() for p in many_parts.rglob("*") if p.is_file()}
    assert {e["path"] for e in m["files"]} == files - {"summary.json", MANIFEST}
    assert [e["path"] for e in m["files"]] == sorted(e["path"] for e in m["files"])
    for e in m["files"]:
        f = many_parts / e["path"]
        assert e["bytes"] == f.stat().st_size and e["sha256"] == sha256_of(f)
        assert e["rows"] == pq.ParquetFile(f).metadata.num_rows, e["path"]
    rows = sum(e["rows"] for e in m["files"] if e["path"].startswith("usage.parquet/"))
    assert rows == len(run(FAST).usage)
    assert m["seed"] == FAST["seed"] and m["datasets"] == list(DATASETS)
    check_manifest(many_parts)  # the folder as written is complete


def test_the_client_never_reads_a_part(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the shards played in worker processes, this process opens no part of group_ops or
    usage: it reads only the small tables the tasks return, and their tallies."""
    opened: list[str] = []
    real_file, real_table, real_pd = pq.ParquetFile.__init__, pq.read_table, pd.read_parquet
    real_open = open

    def note(path: object) -> None:
        opened.append(os.fspath(path) if isinstance(path, str | os.PathLike) else repr(path))

    def parquet_file(self: Any, source: Any, *a: Any, **k: Any) -> None:
        note(source)
        return real_file(self, source, *a, **k)

    def read_table(source: Any, *a: Any, **k: Any) -> Any:
        note(source)
        return real_table(source, *a, **k)

    def read_parquet(path: Any, *a: Any, **k: Any) -> Any:
        note(path)
        return real_pd(path, *a, **k)

    def open_(file: Any, mode: str = "r", *a: Any, **k: Any) -> Any:
        if "r" in mode:
            note(file)
        return real_open(file, mode, *a, **k)

    monkeypatch.setattr(pq.ParquetFile, "__init__", parquet_file)
    monkeypatch.setattr(pq, "read_table", read_table)
    monkeypatch.setattr(pd, "read_parquet", read_parquet)
    monkeypatch.setattr("builtins.open", open_)
    out = tmp_path / "run"
    run_and_write(FAST, out, workers=2, oversubscribe=True, shard_tenants=6)
    monkeypatch.undo()
    assert any(p.endswith("console_ops.parquet") for p in opened)  # the watch works
    large = [p for p in opened if Path(p).name in {f"{n}.parquet" for n in DATASETS}]
    assert not large, large
    assert not [p for p in opened if "/part-" in p]
    assert len(list((out / "usage.parquet").iterdir())) > 2


def test_a_failure_before_the_manifest_leaves_the_old_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parts are all in place when the manifest fails: the folder of before stays as it
    was, the shards stay in the task store, and the same command then finishes the run
    from them."""
    out = tmp_path / "run"
    run_and_write({**FAST, "replications": 1}, out, workers=1)
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    def broken(*a: object, **k: object) -> dict:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner, "manifest", broken)
    with pytest.raises(SimError, match="No space left on device"):
        run_and_write(FAST, out, workers=1, shard_tenants=5)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [store_path(out).name, "run"]
    monkeypatch.undo()
    said: list[str] = []
    run_and_write(FAST, out, workers=1, shard_tenants=5, notify=said.append)
    assert said and said[0].startswith("reused ") and not store_path(out).exists()
    assert (out / MANIFEST).is_file()
    pd.testing.assert_frame_equal(pd.read_parquet(out / "usage.parquet"), run(FAST).usage)


def test_a_part_is_linked_into_place_or_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src.parquet"
    src.write_bytes(b"PAR1 part PAR1")
    with OutputDir(tmp_path / "o") as out:
        out.place("t.parquet/part-00000.parquet", src)
    linked = tmp_path / "o" / "t.parquet" / "part-00000.parquet"
    assert linked.stat().st_ino == src.stat().st_ino  # a hard link: not a byte read

    def no_link(a: object, b: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    with OutputDir(tmp_path / "c") as out:
        out.place("t.parquet/part-00000.parquet", src)
    copied = tmp_path / "c" / "t.parquet" / "part-00000.parquet"
    assert copied.read_bytes() == src.read_bytes() and copied.stat().st_ino != src.stat().st_ino


def test_a_run_folder_is_observed_data_for_calibration(many_parts: Path) -> None:
    """`sim calibrate` reads a run folder's usage.parquet and group_ops.parquet folders."""
    from sim.studies.calibrate_data import read_observed

    obs = read_observed(many_parts)
    usage = pd.read_parquet(many_parts / "usage.parquet")
    first = usage[usage["replication"] == 0].reset_index(drop=True)
    assert len(obs.usage) == len(first) and obs.usage["dau"].sum() == first["dau"].sum()
    assert obs.group_ops is not None and len(obs.group_ops) > 0


def test_write_gives_the_same_layout_with_one_part_per_dataset(tmp_path: Path) -> None:
    runner.write(run(FAST), tmp_path / "w")
    for name in TABLES:
        path = tmp_path / "w" / f"{name}.parquet"
        if name in DATASETS:
            assert [p.name for p in path.iterdir()] == ["part-00000.parquet"]
        else:
            assert path.is_file()
    check_manifest(tmp_path / "w")


def test_duckdb_reads_the_parts_as_the_table(many_parts: Path) -> None:
    """README's DuckDB query (duckdb is not a dependency: skipped where it is not installed)."""
    duckdb = pytest.importorskip("duckdb")
    glob = str(many_parts / "usage.parquet" / "*.parquet")
    ((n, dau),) = duckdb.sql(f"SELECT count(*), sum(dau) FROM read_parquet('{glob}')").fetchall()
    usage = pd.read_parquet(many_parts / "usage.parquet")
    assert (n, dau) == (len(usage), usage["dau"].sum())
