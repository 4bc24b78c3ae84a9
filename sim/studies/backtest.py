"""Backtesting a price sheet: one operations log replayed under catalogs A and B, compared.

:func:`backtest` reads the log (and the daily usage) once, replays it under both catalogs
(:func:`sim.replayer.replay`, in parallel when ``workers`` is 2) and builds the tidy tables of
``sim backtest`` (issue 12):

- ``bill_diff``: app, month, item, option, amount_a, amount_b, delta — every (app, month,
  item, option) billed under A or B, amounts summed over the bill lines of that key (postpaid,
  prepaid, overage), 0 where one side has no line, ``delta = amount_b - amount_a``;
- ``app_impact``: app, total_a, total_b, delta, pct, at_risk — one row per app of the log;
  ``pct = 100 * delta / total_a`` (empty when A billed the app nothing); ``at_risk`` when the
  bill rises by more than ``risk_threshold`` (a fraction: 0.20 is 20 %), or from nothing;
- ``outcome_diff``: row, time, app, op, ok_a, ok_b, error_code_a, error_code_b, reason_a,
  reason_b — exactly the log rows whose outcome (ok, error code or reason) differs; ``row`` 1 is
  the first data row of the log.

Money: amounts are exact :class:`~decimal.Decimal` in the catalogs' currency (from the bills'
integer ``amount_minor``), so an app's ``delta`` is exactly the difference of its totals in two
plain ``sim replay`` runs. Both catalogs must bill in one currency.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

from sim.billing.usage import usage_in_service
from sim.core.catalog import Catalog
from sim.core.catalog_diff import CatalogChange, diff_catalogs
from sim.errors import CatalogError, InputError
from sim.files.opslog import parse_times, read_ops, read_table, read_usage
from sim.model.executor import LocalExecutor, Tick
from sim.replayer import ReplayResult, replay

BILL_DIFF_COLUMNS = ("app", "month", "item", "option", "amount_a", "amount_b", "delta")
APP_IMPACT_COLUMNS = ("app", "total_a", "total_b", "delta", "pct", "at_risk")
OUTCOME_DIFF_COLUMNS = (
    "row",
    "time",
    "app",
    "op",
    "ok_a",
    "ok_b",
    "error_code_a",
    "error_code_b",
    "reason_a",
    "reason_b",
)
DEFAULT_RISK_THRESHOLD = 0.20
"""An app is at risk when its bill rises by more than this fraction (20 %)."""

_BILL_KEY = ["app", "month", "item", "option"]


@dataclass(frozen=True)
class Side:
    """What one replay contributed: its catalog, bills, and the outcome columns compared."""

    catalog: Catalog
    bills: pd.DataFrame
    ok: np.ndarray
    error_code: np.ndarray
    reason: np.ndarray
    ignored_usage: int


@dataclass(frozen=True)
class Backtest:
    """The result of :func:`backtest`: both sides, the catalog diff and the three tables."""

    a: Side
    b: Side
    changes: list[CatalogChange]
    bill_diff: pd.DataFrame
    app_impact: pd.DataFrame
    outcome_diff: pd.DataFrame
    risk_threshold: float
    operations: int
    source: str
    apps: int = field(default=0)

    @property
    def currency(self) -> str:
        return self.a.catalog.currency.code


# -- the two replays -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Replay:
    """One side's replay, a task of the project's executor (played here or in a worker)."""

    ops: pd.DataFrame
    usage: pd.DataFrame | None
    catalog: Catalog
    side: str

    @property
    def size(self) -> int:
        return len(self.ops)

    @property
    def digest(self) -> str:
        return ""  # never stored

    @property
    def label(self) -> str:
        return f"the replay under catalog {self.side} ({self.catalog.name!r})"


def _side(result: ReplayResult, usage: pd.DataFrame | None) -> Side:
    out = result.outcomes
    ignored = 0
    if usage is not None:
        ignored = usage_in_service(usage, result.timeline, result.catalog.timezone)[1]
    return Side(
        catalog=result.catalog,
        bills=result.bills[[*_BILL_KEY, "amount_minor"]],
        ok=out["ok"].to_numpy(bool),
        error_code=out["error_code"].to_numpy(np.int64),
        reason=out["reason"].to_numpy(object),
        ignored_usage=ignored,
    )


def _replay_side(task: _Replay, tick: Tick | None = None) -> Side:
    return _side(replay(task.ops, task.catalog, usage=task.usage), task.usage)


def _replay_both(
    ops: pd.DataFrame, usage: pd.DataFrame | None, cat_a: Catalog, cat_b: Catalog, workers: int
) -> tuple[Side, Side]:
    """Both replays: with ``workers`` 2, side by side in two worker processes of the project's
    executor (spawned, ended with the run: :mod:`sim.model.executor`), else one after the
    other in this process."""
    tasks = [_Replay(ops, usage, cat_a, "A"), _Replay(ops, usage, cat_b, "B")]
    side_a, side_b = LocalExecutor(min(workers, 2)).map(_replay_side, tasks)
    return side_a, side_b


# -- the tables ----------------------------------------------------------------------------------


def _money(minor: pd.Series, decimals: int) -> pd.Series:
    """Integer minor units -> exact Decimal amounts with the currency's decimals."""
    return pd.Series(
        [Decimal(int(v)).scaleb(-decimals) for v in minor.tolist()], index=minor.index, dtype=object
    )


def _minor_by_key(bills: pd.DataFrame) -> pd.Series:
    keyed = bills.assign(**{k: bills[k].astype(str) for k in _BILL_KEY})
    return keyed.groupby(_BILL_KEY, sort=True)["amount_minor"].sum()


def bill_diff_table(a: pd.DataFrame, b: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """``bill_diff``: bill amounts per (app, month, item, option) under A and B (see module)."""
    both = pd.concat([_minor_by_key(a).rename("a"), _minor_by_key(b).rename("b")], axis=1)
    both = both.fillna(0).astype(np.int64).sort_index().reset_index()
    both.columns = [*_BILL_KEY, "a", "b"]
    out = both[_BILL_KEY].copy()
    out["amount_a"] = _money(both["a"], decimals)
    out["amount_b"] = _money(both["b"], decimals)
    out["delta"] = _money(both["b"] - both["a"], decimals)
    out["_delta_minor"] = both["b"] - both["a"]  # dropped by the caller; kept for app totals
    out["_a"], out["_b"] = both["a"], both["b"]
    return out


def app_impact_table(
    bill_diff: pd.DataFrame, apps: Iterable[str], decimals: int, risk_threshold: float
) -> pd.DataFrame:
    """``app_impact``: each app's totals under A and B, the change, and whether it is at risk."""
    names = pd.Index(sorted(set(map(str, apps)) | set(bill_diff["app"])), name="app")
    sums = bill_diff.groupby("app")[["_a", "_b"]].sum().reindex(names, fill_value=0)
    ta, tb = sums["_a"].to_numpy(np.int64), sums["_b"].to_numpy(np.int64)
    delta = tb - ta
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(ta > 0, np.round(100.0 * delta / np.where(ta > 0, ta, 1), 2), np.nan)
    at_risk = (delta > 0) & ((ta == 0) | (delta > risk_threshold * ta))
    return pd.DataFrame(
        {
            "app": names.to_numpy(object),
            "total_a": _money(pd.Series(ta), decimals).to_numpy(),
            "total_b": _money(pd.Series(tb), decimals).to_numpy(),
            "delta": _money(pd.Series(delta), decimals).to_numpy(),
            "pct": pct,
            "at_risk": at_risk,
        }
    )


def outcome_diff_table(raw: pd.DataFrame, a: Side, b: Side, source: str) -> pd.DataFrame:
    """``outcome_diff``: the log rows whose outcome differs between A and B (see module)."""
    differs = (a.ok != b.ok) | (a.error_code != b.error_code) | (a.reason != b.reason)
    idx = np.flatnonzero(differs)
    times = parse_times(raw["time"].iloc[idx].reset_index(drop=True), a.catalog.tz, source)
    local = pd.to_datetime(times, unit="ns", utc=True).tz_convert(a.catalog.timezone)
    return pd.DataFrame(
        {
            "row": idx + 1,
            "time": local,
            "app": raw["app"].iloc[idx].astype(str).str.strip().to_numpy(object),
            "op": raw["op"].iloc[idx].astype(str).str.strip().to_numpy(object),
            "ok_a": a.ok[idx],
            "ok_b": b.ok[idx],
            "error_code_a": a.error_code[idx],
            "error_code_b": b.error_code[idx],
            "reason_a": a.reason[idx],
            "reason_b": b.reason[idx],
        },
        columns=list(OUTCOME_DIFF_COLUMNS),
    )


# -- the entry point -----------------------------------------------------------------------------


def backtest(
    ops: str | Path | pd.DataFrame,
    catalog_a: Catalog,
    catalog_b: Catalog,
    *,
    usage: str | Path | pd.DataFrame | None = None,
    risk_threshold: float = DEFAULT_RISK_THRESHOLD,
    workers: int = 1,
) -> Backtest:
    """Replay ``ops`` under ``catalog_a`` and ``catalog_b`` and compare bills and outcomes.

    Parameters
    ----------
    ops : path or DataFrame
        The operations log (CSV or Parquet), read once for both replays.
    catalog_a, catalog_b : Catalog
        Before and after; both must bill in one currency.
    usage : path or DataFrame, optional
        Daily usage (app, date, dau, groups), read once.
    risk_threshold : float
        Fraction of ``total_a`` above which a rise puts an app at risk (0.20 = 20 %).
    workers : int
        2 replays A and B side by side in two worker processes (:mod:`sim.model.executor`);
        1 runs them one after the other in this process.

    Raises
    ------
    CatalogError
        The catalogs bill in different currencies.
    InputError
        The log or the usage is malformed (the message names the file, row and column).
    """
    if catalog_a.currency.code != catalog_b.currency.code:
        raise CatalogError(
            f"catalog A {catalog_a.name!r} bills in {catalog_a.currency.code} and catalog B "
            f"{catalog_b.name!r} in {catalog_b.currency.code}; a backtest compares amounts in "
            "one currency"
        )
    raw, source = read_table(ops, "operations log")  # read once, as sim.replay would
    usage_df = read_usage(usage) if usage is not None else None
    try:
        side_a, side_b = _replay_both(raw, usage_df, catalog_a, catalog_b, workers)
    except InputError as exc:
        # the replays saw a DataFrame: validate the file again to name it in the message
        read_ops(ops, catalog_a.tz)
        placeholder = read_table(raw.iloc[:0], "operations log")[1]
        raise InputError(str(exc).replace(placeholder, source)) from None
    decimals = catalog_a.currency.decimals
    full = bill_diff_table(side_a.bills, side_b.bills, decimals)
    apps = raw["app"].astype(str).str.strip().unique()
    impact = app_impact_table(full, apps, decimals, risk_threshold)
    return Backtest(
        a=side_a,
        b=side_b,
        changes=diff_catalogs(catalog_a, catalog_b),
        bill_diff=full[list(BILL_DIFF_COLUMNS)],
        app_impact=impact,
        outcome_diff=outcome_diff_table(raw, side_a, side_b, source),
        risk_threshold=risk_threshold,
        operations=len(raw),
        source=source,
        apps=len(impact),
    )


def default_workers() -> int:
    """2 when this machine has two or more cores to give (the replays run side by side)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1
