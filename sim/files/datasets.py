"""Tables as Parquet datasets: a folder of parts read as one table, and a run folder's manifest.

A large table of a run (``group_ops``, ``usage``) is not one file but a folder named like one,
``group_ops.parquet/``, of parts ``part-00000.parquet``, ``part-00001.parquet``, ... (the
Spark and Hive layout): each part is written by the worker that played its shard, and the
parts in name order hold the table's rows in order. pandas (``pd.read_parquet``), pyarrow
(``pyarrow.parquet.read_table``, ``pyarrow.dataset.dataset``) and DuckDB
(``read_parquet('…/group_ops.parquet/*.parquet')``) read the folder as one table. Files whose
name starts with ``_`` or ``.`` are not parts (pyarrow and Spark skip them too).

Every part of a table has the same schema: :func:`write_part` writes it as
:class:`~sim.files.outputs.ParquetSink` writes a single file (categoricals as their strings,
row groups of :data:`~sim.files.outputs.ROW_GROUP_ROWS` rows), so a part's bytes depend only on
its rows.

``manifest.json``, written last into a run folder, lists every table file of it (its path in
the folder, rows, bytes and SHA-256): a folder copied elsewhere can be checked complete
(:func:`check_manifest`). The readers here take a table's path without its suffix and find
``NAME.parquet`` (a file or a dataset folder) or ``NAME.csv``; a large table is read a batch
at a time (:func:`iter_batches`), never whole.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.errors import SimError
from sim.files.outputs import ParquetSink

MANIFEST = "manifest.json"
"""The manifest of a run folder, written last (see the module docstring)."""

_HIDDEN = ("_", ".")


@dataclass(frozen=True)
class FileInfo:
    """A table file of a run folder as the manifest lists it."""

    path: str  # in the folder, with "/" (``group_ops.parquet/part-00042.parquet``)
    rows: int
    bytes: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def part_name(number: int, count: int) -> str:
    """The name of part ``number`` of ``count``: zero-padded so that name order is number
    order (5 digits, more when there are 100,000 parts or more)."""
    width = max(5, len(str(max(count - 1, 0))))
    return f"part-{number:0{width}d}.parquet"


def sha256_of(path: Path) -> str:
    """SHA-256 of a file's bytes (hex), read a megabyte at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def file_info(path: Path, name: str, rows: int) -> FileInfo:
    """The manifest entry of a file written (``name``: its path in the folder)."""
    return FileInfo(name, int(rows), path.stat().st_size, sha256_of(path))


def write_part(df: pd.DataFrame, path: Path, name: str = "") -> FileInfo:
    """Write ``df`` as one Parquet part (bytes as :class:`~sim.files.outputs.ParquetSink`
    writes them) and return its manifest entry (``name``, or the file's name)."""
    sink = ParquetSink(path)
    sink.write(df)
    sink.close()
    return file_info(path, name or path.name, len(df))


# -- reading --------------------------------------------------------------------------------------


def table_path(path: Path) -> Path | None:
    """The table ``path`` names without its suffix: ``path.parquet`` (a file or a dataset
    folder), else ``path.csv``; None if there is neither."""
    f = path.with_suffix(".parquet")
    if f.is_file() or f.is_dir():
        return f
    f = path.with_suffix(".csv")
    return f if f.is_file() else None


def parquet_files(path: Path) -> list[Path]:
    """The Parquet files of a table: the file itself, or a dataset folder's parts in name
    order (names starting with ``_`` or ``.`` left out)."""
    if not path.is_dir():
        return [path]
    return sorted(
        p
        for p in path.iterdir()
        if p.is_file() and p.suffix == ".parquet" and not p.name.startswith(_HIDDEN)
    )


def read_table(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """A table whole (a Parquet file, a dataset folder or a CSV file; its parts in order).
    An unreadable file is a :class:`~sim.errors.SimError` naming it."""
    try:
        if path.suffix == ".csv":
            return pd.read_csv(path, usecols=columns)
        files = parquet_files(path)
        if not files:
            raise SimError(f"cannot read {str(path)!r}: a dataset folder with no parts")
        import pyarrow as pa

        tables = [pq.read_table(f, columns=columns) for f in files]
        return pa.concat_tables(tables).to_pandas() if len(tables) > 1 else tables[0].to_pandas()
    except (OSError, ValueError) as exc:
        raise SimError(f"cannot read {str(path)!r}: {exc}") from exc


def schema_names(path: Path) -> list[str]:
    """The column names of a Parquet table (file or dataset folder; its first part's)."""
    files = parquet_files(path)
    return pq.ParquetFile(files[0]).schema_arrow.names if files else []


def row_groups(path: Path) -> list[tuple[Path, int]]:
    """Every row group of a Parquet table (file or dataset folder), as (file, index), in
    row order."""
    out: list[tuple[Path, int]] = []
    for f in parquet_files(path):
        out += [(f, i) for i in range(pq.ParquetFile(f).metadata.num_row_groups)]
    return out


def iter_batches(
    path: Path,
    columns: Sequence[str],
    batch_size: int,
    row_group: tuple[Path, int] | None = None,
    text: Sequence[str] = (),
) -> Iterator[pd.DataFrame]:
    """A Parquet table (file or dataset folder) ``batch_size`` rows at a time, only
    ``columns`` (those present); only one ``row_group`` if given. ``text``: string columns
    of few distinct values, read as dictionaries (categoricals)."""
    files = [row_group[0]] if row_group is not None else parquet_files(path)
    for f in files:
        names = pq.ParquetFile(f).schema_arrow.names
        pf = pq.ParquetFile(f, read_dictionary=[c for c in text if c in names])
        batches = pf.iter_batches(
            batch_size=batch_size,
            columns=[c for c in names if c in columns],
            row_groups=None if row_group is None else [row_group[1]],
        )
        for batch in batches:
            yield batch.to_pandas()


# -- the manifest ---------------------------------------------------------------------------------


def manifest(files: Sequence[FileInfo], **about: Any) -> dict[str, Any]:
    """The manifest of a run folder: ``about`` (scenario, seed, ...) and its table files."""
    return {**about, "files": [f.to_json() for f in files]}


def check_manifest(folder: Path) -> None:
    """Check a folder against its ``manifest.json`` (if it has one): every file listed is
    there with its size, and every dataset folder holds exactly its listed parts. A
    :class:`~sim.errors.SimError` names the first difference."""
    f = folder / MANIFEST
    if not f.is_file():
        return
    try:
        listed = json.loads(f.read_text(encoding="utf-8"))["files"]
        sizes = {str(e["path"]): int(e["bytes"]) for e in listed}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SimError(f"cannot read {str(f)!r}: {exc}") from exc
    for name, size in sizes.items():
        p = folder / name
        if not p.is_file() or p.stat().st_size != size:
            got = "missing" if not p.is_file() else f"{p.stat().st_size} bytes"
            raise SimError(
                f"{str(folder)!r} is incomplete: {name} is {got}, manifest.json lists "
                f"{size} bytes (copy the whole folder again)"
            )
    for d in {Path(n).parent for n in sizes} - {Path(".")}:
        extra = {p.relative_to(folder).as_posix() for p in parquet_files(folder / d)}
        if extra - set(sizes):
            raise SimError(
                f"{str(folder)!r}: {d} holds {sorted(extra - set(sizes))[0]}, which "
                "manifest.json does not list (a part of another run?)"
            )
