"""A task store: what finished tasks produced, kept on disk under the hash of their inputs.

``TaskStore(root)`` holds one folder per finished task, ``root/<digest>/``: its tables as Parquet
parts (``<table>.parquet``), the rest of its result pickled (``result.pkl``), and ``MANIFEST.json``
written last -- a folder without its manifest is an unfinished task and is played again. A folder
is written under a temporary name and renamed into place, so a task killed while writing leaves
no half result. The digest (:attr:`sim.model.plan.ShardTask.digest`) covers the scenario, the
catalog, the seed, the task's share of the work and the code version: changed inputs miss the
store; unchanged ones are reused by a run or sweep started again.

The tables named in ``TaskStore(root, parts=...)`` are written as the final parts of a dataset
(:func:`sim.files.datasets.write_part`: rows, bytes and SHA-256 in the task's manifest) and are
not read back: :meth:`TaskStore.get` leaves them out of the result, and the client puts the
files themselves into the output (:meth:`TaskStore.part`), so that a run's large tables are
written by the workers alone.

Results stored are pickled with the code that made them, and the code version is in the digest:
a store is read only by the code that wrote it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.files.datasets import FileInfo, write_part

MANIFEST = "MANIFEST.json"


@dataclass(frozen=True)
class Stored:
    """A receipt: the result of the task ``digest`` is in the store."""

    digest: str


def _tables(result: Any) -> dict[str, pd.DataFrame]:
    tables = getattr(result, "tables", None)
    if dataclasses.is_dataclass(result) and isinstance(tables, dict):
        return tables
    return {}


def _object_columns(df: pd.DataFrame) -> list[str]:
    return [str(c) for c in df.columns if df[c].dtype == object]


def _with_objects(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` back as object columns (Parquet reads them as strings), missing as None: the
    part as it was played, so that the tables written from it are byte-identical."""
    for c in columns:
        s = df[c].astype(object)
        df[c] = s.where(s.notna(), None)
    return df


@dataclass(frozen=True)
class TaskStore:
    """Finished tasks' results under ``root`` (see the module docstring)."""

    root: Path
    parts: frozenset[str] = frozenset()
    """Tables written as dataset parts and not read back (see the module docstring)."""

    def __post_init__(self) -> None:
        # absolute: the store travels to workers whose working directory differs
        object.__setattr__(self, "root", Path(self.root).absolute())

    def path(self, digest: str) -> Path:
        return Path(self.root) / digest

    def has(self, digest: str) -> bool:
        return (self.path(digest) / MANIFEST).is_file()

    def put(self, digest: str, result: Any) -> Stored:
        """Write ``result`` (its ``tables`` as Parquet parts, the rest pickled) atomically."""
        final = self.path(digest)
        tmp = Path(self.root) / f".{digest}.{uuid.uuid4().hex}.tmp"
        tmp.mkdir(parents=True)
        try:
            tables = _tables(result)
            infos = {}
            for name, df in tables.items():
                path = tmp / f"{name}.parquet"
                if name in self.parts:
                    infos[name] = write_part(df, path).to_json()
                else:
                    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)
            rest = dataclasses.replace(result, tables={}) if tables else result
            with open(tmp / "result.pkl", "wb") as fh:
                pickle.dump(rest, fh, protocol=pickle.HIGHEST_PROTOCOL)
            manifest = {
                "digest": digest,
                "tables": [n for n in tables if n not in infos],
                "parts": infos,
                "object_columns": {
                    n: _object_columns(df) for n, df in tables.items() if n not in infos
                },
                "files": sorted(os.listdir(tmp)),
            }
            (tmp / MANIFEST).write_text(json.dumps(manifest, sort_keys=True) + "\n")
            if final.exists():  # another attempt finished first: same inputs, same result
                shutil.rmtree(tmp)
            else:
                os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Stored(digest)

    def get(self, digest: str) -> Any:
        """The stored result of task ``digest``."""
        folder = self.path(digest)
        manifest = json.loads((folder / MANIFEST).read_text())
        with open(folder / "result.pkl", "rb") as fh:
            result = pickle.load(fh)
        if manifest["tables"]:
            tables = {
                n: _with_objects(pd.read_parquet(folder / f"{n}.parquet"), cols)
                for n, cols in manifest["object_columns"].items()
            }
            result = dataclasses.replace(result, tables=tables)
        return result

    def part(self, digest: str, name: str) -> tuple[Path, FileInfo]:
        """Table ``name`` of task ``digest``, written as a dataset part: its file (not read)
        and its manifest entry (its name there is the table's, ``name.parquet``)."""
        folder = self.path(digest)
        manifest = json.loads((folder / MANIFEST).read_text())
        return folder / f"{name}.parquet", FileInfo(**manifest["parts"][name])

    def digests(self) -> set[str]:
        """The digests of every finished task in the store."""
        root = Path(self.root)
        if not root.is_dir():
            return set()
        return {p.name for p in root.iterdir() if (p / MANIFEST).is_file()}
