"""The contracted table shapes the replay and the model both write: the timeline of app
states and the prepaid purchases (docs/design.md, "Tables"). No file I/O: frames only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from sim.core.catalog import Catalog

TIMELINE_COLUMNS = (
    "app",
    "start",
    "end",
    "state",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "edition",
    "prepaid_until",
)
PURCHASE_COLUMNS = (
    "app",
    "time",
    "edition",
    "live_unlimited",
    "groups_per_user",
    "members_per_group",
    "months",
)


def to_local(values: Iterable[int | None], tz: str) -> pd.Series:
    """Instants (int ns since the epoch, None: none) as tz-aware times in ``tz`` (NaT)."""
    arr = pd.array([pd.NA if v is None else v for v in values], dtype="Int64")
    return pd.to_datetime(arr, unit="ns", utc=True).tz_convert(tz)


def timeline_frame(rows: list[tuple[Any, ...]], catalog: Catalog) -> pd.DataFrame:
    """The engine's timeline rows as the contracted table (tz-aware times, NaT for open ends)."""
    df = pd.DataFrame(rows, columns=list(TIMELINE_COLUMNS))
    for col in ("start", "end", "prepaid_until"):
        df[col] = pd.Series(to_local(df[col].tolist(), catalog.timezone), index=df.index)
    df["live_unlimited"] = df["live_unlimited"].astype(bool)
    df["groups_per_user"] = df["groups_per_user"].astype("int64")
    df["members_per_group"] = df["members_per_group"].astype("int64")
    df["state"] = df["state"].astype(object)
    df["edition"] = df["edition"].astype(object)
    df["app"] = df["app"].astype(object)
    return df
