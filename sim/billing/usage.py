"""Daily usage that counts for billing: none after an app's deactivation (R14).

R14: deactivation stops service at once and is final. A usage row (``app, date, dau, groups``,
one calendar day in the catalog's time zone) is *after* the deactivation when the day starts at
or after the deactivation instant: deactivated on Feb 10 at 15:00, Feb 10 still counts (the app
served part of that day) and Feb 11 on does not; deactivated at exactly 00:00 on Feb 10, Feb 10
does not count either, just as no postpaid day is billed for it. Such rows would otherwise set
the month's DAU or group peak (deactivated Feb 10, DAU 40,000 on Feb 20 -> 3 overage blocks on
Pro). :func:`usage_in_service` drops them and says how many it dropped; the caller warns.

Pure: no I/O.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.core.vocab import State


def deactivation_times(timeline: pd.DataFrame) -> pd.Series:
    """The instant each deactivated app was deactivated: app -> tz-aware timestamp (the start
    of its ``Deactivated`` interval; the earliest if a timeline lists several)."""
    gone = timeline.loc[timeline["state"] == State.DEACTIVATED.value, ["app", "start"]]
    return gone.groupby("app", sort=True)["start"].min()


def usage_in_service(
    usage: pd.DataFrame, timeline: pd.DataFrame, tz: str
) -> tuple[pd.DataFrame, int]:
    """``usage`` without the rows dated after their app's deactivation (R14).

    Parameters
    ----------
    usage : DataFrame
        Daily usage: ``app``, ``date`` (a calendar day in ``tz``: a date, ``YYYY-MM-DD`` text or
        a naive timestamp), ``dau`` and ``groups`` (counts per day).
    timeline : DataFrame
        The app timeline (``app``, ``start``, ``state``; ``start`` tz-aware).
    tz : str
        The catalog's time zone (IANA name), in which a usage day starts at 00:00.

    Returns
    -------
    (DataFrame, int)
        The rows kept (same columns, original order and index) and the number dropped.
    """
    if len(usage) == 0 or len(timeline) == 0:
        return usage, 0
    gone = deactivation_times(timeline)
    if gone.empty:
        return usage, 0
    stop = pd.Series(gone.to_numpy(), index=gone.index.astype(str))
    when = usage["app"].astype(str).map(stop)
    has_stop = when.notna().to_numpy()
    if not has_stop.any():
        return usage, 0
    day = pd.to_datetime(usage["date"][has_stop])
    if day.dt.tz is None:
        day = day.dt.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    else:  # an instant: the day it falls on in tz
        day = day.dt.tz_convert(tz).dt.normalize()
    stop_ns = pd.to_datetime(when[has_stop], utc=True).to_numpy("datetime64[ns]").view(np.int64)
    day_ns = day.dt.tz_convert("UTC").to_numpy("datetime64[ns]").view(np.int64)
    after = np.zeros(len(usage), dtype=bool)
    after[np.flatnonzero(has_stop)] = day_ns >= stop_ns
    dropped = int(after.sum())
    return (usage.loc[~after], dropped) if dropped else (usage, 0)
