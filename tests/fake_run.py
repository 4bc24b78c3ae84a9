"""Run directories for the report tests: tiny real runs of the model, and hand-made tables.

Not a test module (no ``test_`` prefix): the report, browser and metrics tests import it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

ARCHETYPES = ("social", "enterprise", "live", "community", "game")
# the baseline's archetypes a tiny run leaves out
SMALL_OFF = ("hobby", "platform", "chat-platform")


def tiny_overrides(count: int = 2, months: int = 2) -> list[str]:
    """``--set`` overrides that shrink the baseline to ``count`` apps per archetype."""
    return (
        [f"horizon_months={months}", "warmup_months=0"]
        + [f"population.{a}.count={count}" for a in ARCHETYPES]
        + [f"population.{a}.{k}=0" for a in SMALL_OFF for k in ("count", "arrivals_per_month")]
        + [f"population.{a}.arrivals_per_month=0" for a in ARCHETYPES]
    )


def real_run(
    out: Path,
    scenario: str = "baseline",
    *,
    replications: int = 2,
    mode: str = "fast",
    extra: tuple[str, ...] = (),
    **kw: Any,
) -> Path:
    """Run a scenario of ``scenarios/`` at a tiny size and write it into ``out``."""
    from sim.model.runner import run, write

    result = run(
        scenario, replications=replications, mode=mode, overrides=[*tiny_overrides(**kw), *extra]
    )
    write(result, out)
    return out


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="Asia/Shanghai")


def timeline(rows: list[tuple[Any, ...]], replication: int = 0) -> pd.DataFrame:
    """A timeline from ``(app, start, end, state, edition, live_unlimited, groups_per_user,
    members_per_group)`` rows, times as text (``end`` None: open)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "app",
            "start",
            "end",
            "state",
            "edition",
            "live_unlimited",
            "groups_per_user",
            "members_per_group",
        ],
    )
    df["start"] = [ts(s) for s in df["start"]]
    df["end"] = pd.Series([ts(e) if e else pd.NaT for e in df["end"]], dtype=df["start"].dtype)
    df["prepaid_until"] = pd.Series(pd.NaT, index=df.index, dtype=df["start"].dtype)
    df["replication"] = replication
    return df


def write_run(out: Path, tables: dict[str, pd.DataFrame], summary: dict[str, Any]) -> Path:
    """Write hand-made tables (Parquet) and ``summary.json`` as a run folder, every table a
    single file (as ``sim run`` wrote them before ``group_ops`` and ``usage`` became dataset
    folders: readers take both; :func:`real_run` gives the dataset folders)."""
    from sim.files.outputs import write_json, write_tables

    write_tables(out, {f"{k}.parquet": v for k, v in tables.items()})
    write_json(out / "summary.json", summary)
    return out


def with_summary(run_dir: Path, out: Path, **changes: Any) -> Path:
    """A copy of ``run_dir`` in ``out`` whose ``summary.json`` has ``changes``."""
    import shutil

    from sim.files.outputs import write_json

    shutil.copytree(run_dir, out)
    path = out / "summary.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    write_json(path, data)
    return out


def folder_bytes(folder: Path, skip: tuple[str, ...] = ("summary.json",)) -> dict[str, bytes]:
    """Every file of a run folder (dataset parts and ``manifest.json`` included; ``skip``:
    ``summary.json``, which holds the wall time) by its path in the folder, with its bytes."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in skip
    }
