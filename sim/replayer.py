"""Replaying an operations log through the rules engine: outcomes, timeline, bills.

>>> import pandas as pd, sim
>>> ops = pd.DataFrame({"time": ["2024-01-01T09:00", "2024-01-02T09:00"], "app": ["a", "a"],
...                     "op": ["create_app", "reconfigure"]})
>>> sim.replay(ops).outcomes[["op", "ok", "reason"]].to_dict("records")[1]
{'op': 'reconfigure', 'ok': False, 'reason': 'wrong_state'}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.core.calendar import month_index, month_start
from sim.core.catalog import Catalog
from sim.core.vocab import Code
from sim.errors import InputError
from sim.files.catalogs import load_catalog
from sim.files.frames import PURCHASE_COLUMNS, TIMELINE_COLUMNS, timeline_frame, to_local
from sim.files.opslog import OPS, OpsLog, read_ops, read_usage
from sim.rules.engine import Engine
from sim.rules.limits import OK

__all__ = ["PURCHASE_COLUMNS", "TIMELINE_COLUMNS", "ReplayResult", "replay", "timeline_frame"]


@dataclass(frozen=True)
class ReplayResult:
    """What a replay produced: tidy tables, and the catalog they were decided under."""

    outcomes: pd.DataFrame
    timeline: pd.DataFrame
    purchases: pd.DataFrame
    bills: pd.DataFrame
    catalog: Catalog


def _ids(log: OpsLog, column: str, order: np.ndarray) -> tuple[list[int], np.ndarray]:
    """Names as small ints, in time order, and the names by int (the engine only hashes and
    compares ids: ints are about a fifth faster than strings, benchmarks/bench_replay.py).
    Factorised from the log's Arrow text."""
    codes, names = pd.factorize(log.text[column])
    return codes[order].tolist(), np.asarray(names, dtype=object)


def _run(log: OpsLog, engine: Engine) -> tuple[list[int], list[str], list[str], np.ndarray]:
    """Apply every operation in time order (ties in file order).

    Returns the outcomes in file order, and the app names by the int ids the engine knows
    the apps by (its timeline's ``app`` column).
    """
    order = np.argsort(log.t_ns, kind="stable")
    c = log.columns
    n = len(order)
    outs: list[tuple[int, str, str]] = [OK] * n
    created: set[tuple[int, int]] = set()
    apps, app_names = _ids(log, "app", order)
    groups, _ = _ids(log, "group", order)
    users, user_names = _ids(log, "user", order)
    user_id = {name: k for k, name in enumerate(user_names.tolist())}

    def members(i: int) -> tuple[Any, ...]:  # user ids (ints), as the engine hashes them
        names = c["members"][i]
        return tuple(user_id.setdefault(m, len(user_id)) for m in names) if names else ()

    join_k, create_k, leave_k, register_k, dissolve_k = (
        OPS.index(op)
        for op in ("join_group", "create_group", "leave_group", "register_user", "dissolve_group")
    )
    rows = zip(
        order.tolist(),
        log.t_ns[order].tolist(),
        log.op_code[order].tolist(),
        apps,
        users,
        groups,
        strict=True,
    )
    join, create, leave = engine.join_group, engine.create_group, engine.leave_group
    for i, t, k, app, user, group in rows:
        if k == join_k:
            out = join(t, app, user, group)
        elif k == create_k:
            created.add((app, group))
            out = create(t, app, user, group, c["group_type"][i], members(i))
        elif k == leave_k:
            out = leave(t, app, user, group)
        elif k == register_k:
            out = engine.register_user(t, app, user)
        elif k == dissolve_k:
            out = engine.dissolve_group(t, app, user, group)
        else:
            out = _console(engine, OPS[k], t, app, c, i)
        if out is not OK and out[0] == Code.GROUP_NOT_FOUND and (app, group) not in created:
            _never_created(log, i)  # a group no earlier create_group row names: a malformed log
        outs[i] = out
    codes = [o[0] for o in outs]  # (zip(*outs) would build a million-argument call)
    reasons = [o[1] for o in outs]
    notes = [o[2] for o in outs]
    return codes, reasons, notes, app_names


def _console(
    engine: Engine, op: str, t: int, app: str, c: dict[str, list[Any]], i: int
) -> tuple[int, str, str]:
    if op == "create_app":
        return engine.create_app(t, app)
    if op == "deactivate":
        return engine.deactivate(t, app)
    if op == "downgrade":
        return engine.downgrade(t, app)
    kwargs = {k: c[k][i] for k in ("live_unlimited", "groups_per_user", "members_per_group")}
    if op == "upgrade":
        return engine.upgrade(t, app, c["edition"][i], **kwargs)
    if op == "reconfigure":
        return engine.reconfigure(t, app, c["edition"][i], **kwargs)
    return engine.buy_prepaid(t, app, c["edition"][i], months=c["months"][i] or 1, **kwargs)


def _never_created(log: OpsLog, i: int) -> None:
    raise InputError(
        f"{log.source}: row {i + 1}: op {log.text['op'].iat[i]} on group "
        f"{log.text['group'].iat[i]!r} of app {log.text['app'].iat[i]!r}, which no earlier "
        "create_group row creates; expected a create_group row for it before"
    )


def _purchases(log: OpsLog, ok: np.ndarray, catalog: Catalog) -> pd.DataFrame:
    c = log.columns
    bought = (log.op_code == OPS.index("buy_prepaid")) & ok
    idx = np.flatnonzero(bought).tolist()
    if not idx:
        return pd.DataFrame({k: pd.Series(dtype=object) for k in PURCHASE_COLUMNS})
    df = pd.DataFrame(
        {
            "app": log.text["app"].take(idx).tolist(),
            "time": to_local([int(log.t_ns[i]) for i in idx], catalog.timezone),
            "edition": [c["edition"][i] for i in idx],
            "months": [c["months"][i] or 1 for i in idx],
        }
    )
    # the options actually bought: what the engine applied (defaults where not named)
    for pack in ("live_unlimited", "groups_per_user", "members_per_group"):
        df[pack] = [
            c[pack][i] if c[pack][i] is not None else catalog.default_option(c["edition"][i], pack)
            for i in idx
        ]
    return df[list(PURCHASE_COLUMNS)]


def replay(
    ops: str | Path | pd.DataFrame,
    catalog: Catalog | str | Path | None = None,
    *,
    usage: str | Path | pd.DataFrame | None = None,
    overrides: Iterable[str] = (),
) -> ReplayResult:
    """Replay an operations log through the rules engine, and bill what it did.

    Every operation is decided in time order (ties in file order) exactly as the engine decides
    it (R1–R14, ``docs/rules.md``); the bills run to the end of the month of the last
    operation or usage day.

    Parameters
    ----------
    ops : str, Path or DataFrame
        The operations log: a CSV or Parquet path, or a frame with the same columns (``time``,
        ``op``, ``app``, ... as in the README). Times without an offset are wall-clock times in
        the catalog's time zone.
    catalog : Catalog, str, Path or None
        A catalog, a catalog name or a YAML path; None: ``tencent-intl-2022``.
    usage : str, Path, DataFrame or None
        Daily usage per app (``app``, ``date``, ``dau``, ``groups``: counts per day), billed
        as overage; None: no usage lines.
    overrides : iterable of str
        ``dotted.key=value`` catalog overrides (``--set``).

    Returns
    -------
    ReplayResult
        ``outcomes`` (every input row plus ``ok``, ``error_code``, ``reason``, ``note``),
        ``timeline`` (tz-aware times in the catalog's zone), ``purchases``, ``bills`` (amounts
        in the catalog's currency, see :func:`sim.billing.bill`) and the ``catalog`` used.

    Raises
    ------
    InputError
        A malformed log or usage table (the message names the file, row and column).
    CatalogError
        A catalog that cannot be read or validated.
    """
    cat = load_catalog(catalog, overrides)
    log = read_ops(ops, cat.tz)
    usage_df = read_usage(usage) if usage is not None else None
    engine = Engine(cat)
    codes, reasons, notes, app_names = _run(log, engine)
    outcomes = log.raw.copy()
    ok = np.asarray(reasons, dtype=object) == ""
    outcomes["ok"] = ok
    outcomes["error_code"] = np.array(codes, dtype="int64")
    outcomes["reason"] = pd.Series(reasons, dtype=object)
    outcomes["note"] = pd.Series(notes, dtype=object)
    named = sorted(((app_names[r[0]], *r[1:]) for r in engine.timeline()), key=lambda r: r[:2])
    timeline = timeline_frame(named, cat)  # sorted by app name, then start (docs/design.md)
    purchases = _purchases(log, ok, cat)
    bills = _bill(timeline, purchases, usage_df, cat, log)
    return ReplayResult(
        outcomes=outcomes, timeline=timeline, purchases=purchases, bills=bills, catalog=cat
    )


def _bill(
    timeline: pd.DataFrame,
    purchases: pd.DataFrame,
    usage: pd.DataFrame | None,
    cat: Catalog,
    log: OpsLog,
) -> pd.DataFrame:
    """Bills up to the end of the month of the last operation (or usage day)."""
    from sim import billing

    last = int(log.t_ns.max()) if len(log.t_ns) else None
    if usage is not None and len(usage):
        end_day = pd.Timestamp(max(usage["date"])).tz_localize(cat.timezone)
        last = max(last or 0, int(end_day.value))
    if last is None:
        until = None
    else:
        until = pd.Timestamp(
            month_start(month_index(last, cat.tz) + 1, cat.tz), unit="ns", tz="UTC"
        ).tz_convert(cat.timezone)
    return billing.bill(timeline, cat, purchases=purchases, usage=usage, until=until)
