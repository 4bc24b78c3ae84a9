"""The ranges input values must lie in, stated once, and the checks that enforce them.

Hostile or mistyped input must fail at once, with one line, before any work is done:

- times of an operations log, usage dates and a scenario's months lie in
  [:data:`EARLIEST`, :data:`LATEST`) (2000-01-01 to 2200-01-01, exclusive): far enough either
  way for any pricing question, and inside what every time type here can hold;
- ``months`` of a prepaid purchase: 1 to :data:`MONTHS_MAX` (120, ten years);
- a scenario's ``count`` per archetype: 0 to :data:`COUNT_MAX` (100,000,000), and the whole
  run must fit in this machine's memory by :func:`run_memory_bytes`' estimate;
- a YAML document (scenario, catalog, ``--set`` value) may use aliases, but expanded it holds
  at most :data:`YAML_NODES_MAX` values (:func:`expand_bounded`): a "billion laughs" alias bomb
  is refused after that many, in milliseconds, not expanded.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2200, 1, 1)
MONTHS_MAX = 120
COUNT_MAX = 100_000_000
YAML_NODES_MAX = 100_000

FIXED_BYTES = 1_500_000_000
"""A run's memory before its size counts: the process, its workers and their shards."""
BYTES_PER_TENANT_MONTH = 500
"""Memory per tenant-month (and replication) of the gathered tables. With
:data:`FIXED_BYTES`, the fit of docs/model.md's measured peaks (2,000 apps x 24 months:
1.5 GB; 100,000 apps x 24 months: 2.7 GB)."""


class TooLarge(ValueError):
    """An input beyond its bound; the message says what was given and what is allowed."""


def date_range_text() -> str:
    return f"{EARLIEST.isoformat()} to {LATEST.isoformat()} (exclusive)"


def check_months_span(start: dt.date, months: int) -> str | None:
    """Why ``months`` months from ``start`` leave the range, or None when they do not."""
    if not EARLIEST <= start < LATEST:
        return f"{start.isoformat()} is outside {date_range_text()}"
    end_index = start.year * 12 + start.month - 1 + months
    if end_index > LATEST.year * 12 + LATEST.month - 1:
        return f"{start.isoformat()} plus {months} months ends after {LATEST.isoformat()}"
    return None


def _human(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} PiB"  # pragma: no cover


def machine_memory_bytes() -> int:
    """This machine's memory: physical RAM, or the control group's limit if lower."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def run_memory_bytes(tenants: int, months: int, replications: int) -> int:
    """Estimated peak memory of ``sim run`` (bytes): :data:`FIXED_BYTES` plus
    :data:`BYTES_PER_TENANT_MONTH` per tenant-month and replication."""
    return FIXED_BYTES + BYTES_PER_TENANT_MONTH * tenants * months * replications


def check_run(
    start: dt.date, months: int, counts: Mapping[str, int], replications: int
) -> tuple[str, str] | None:
    """Why a scenario's run is refused, as ``(field, message)``: its months leave the date
    range, a count is beyond :data:`COUNT_MAX`, or its estimated memory
    (:func:`run_memory_bytes`) is beyond this machine's; None when it fits."""
    span = check_months_span(start, months)
    if span is not None:
        return "start", f"{span}; allowed: a start from which horizon_months stay in range"
    tenants = sum(counts.values())
    need, have = run_memory_bytes(tenants, months, replications), machine_memory_bytes()
    if need > have:
        return "population", (
            f"{tenants:,} tenants x {months} months x {replications} replication(s) need an "
            f"estimated {_human(need)} of memory, more than this machine's {_human(have)}; "
            "run fewer tenants here, or split the population into shards run on a cluster"
        )
    for name, count in counts.items():
        if count > COUNT_MAX:
            return f"population.{name}.count", f"{count:,} is above the bound of {COUNT_MAX:,}"
    return None


def expand_bounded(value: Any, limit: int = YAML_NODES_MAX) -> Any:
    """A copy of plain data in which no mapping or list appears twice (YAML aliases expanded:
    an override of one place must never change another), holding at most ``limit`` values;
    :class:`TooLarge` beyond (an alias bomb)."""
    budget = [limit]

    def copy_of(v: Any) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise TooLarge(
                f"with its aliases (*name) expanded, it holds more than {limit:,} values; "
                "aliases are allowed up to that size"
            )
        if isinstance(v, Mapping):
            return {k: copy_of(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [copy_of(x) for x in v]
        return copy.deepcopy(v)

    return copy_of(value)
