"""Proration policies (R6): how much of a month a billed interval owns.

A policy turns intervals ``[s, e)`` (int ns) into ``[lo, hi)`` in its unit (days, seconds or
months) and the month bounds in that unit; :data:`POLICIES` is the registry the catalog's
``billing.proration`` names. :func:`explode` cuts the units at the month bounds. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sim.billing.arrays import DAY_NS, Months, local_ns
from sim.core.vocab import NS_PER_SECOND

Units = tuple[np.ndarray, np.ndarray, np.ndarray]


def day_units(s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: Months) -> Units:
    """Local day numbers owned: ``floor_day(s) .. floor_day(e) - 1``; ``e`` rounded up to the
    next midnight where billing stops (deactivation, R14); never past ``floor_day(until)``."""
    ls, le = local_ns(s, m.tz), local_ns(e, m.tz)
    hi = le // DAY_NS + (stops & (le % DAY_NS != 0))
    hi = np.minimum(hi, local_ns(np.array([until]), m.tz)[0] // DAY_NS)
    return ls // DAY_NS, hi, m.start_day


def second_units(s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: Months) -> Units:
    """Whole seconds since the epoch; deactivation ends the charge exactly."""
    ns = NS_PER_SECOND
    return s // ns, e // ns, m.start_ns // ns


def next_month_units(
    s: np.ndarray, e: np.ndarray, stops: np.ndarray, until: int, m: Months
) -> Units:
    """Positions of the months whose 00:00 on the 1st lies in ``[s, e)``: each is one unit."""
    pos = np.arange(len(m.start_ns), dtype=np.int64)
    lo = np.searchsorted(m.start_ns, s, "left")
    return lo, np.searchsorted(m.start_ns, e, "left"), pos


POLICIES: dict[str, tuple[Callable[..., Units], str]] = {
    "day": (day_units, "day"),
    "second": (second_units, "second"),
    "next_month": (next_month_units, "month"),
}
"""Proration policy name → (interval → units function, unit name)."""


def explode(lo: np.ndarray, hi: np.ndarray, bounds: np.ndarray) -> Units:
    """Cut each ``[lo, hi)`` at the month ``bounds``: (row, month position, quantity) per piece."""
    first = np.searchsorted(bounds, lo, "right") - 1
    last = np.searchsorted(bounds, hi - 1, "right") - 1
    count = np.where(hi > lo, last - first + 1, 0)
    row = np.repeat(np.arange(len(lo)), count)
    pos = first[row] + np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    qty = np.minimum(hi[row], bounds[pos + 1]) - np.maximum(lo[row], bounds[pos])
    return row, pos, qty
