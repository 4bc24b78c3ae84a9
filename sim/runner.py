"""Runs: a scenario in, tidy tables out (``sim.run``), and writing them as Parquet + summary.json.

Tables (every one with a ``replication`` column, 0-based):

- ``console_ops``: every console operation the tenants' decisions sent to the engine, with its
  outcome (``ok``, ``error_code``, ``reason``, ``note``) and the ``policy`` that decided it;
- ``group_ops``: ``exact`` mode, one row per group operation (``time, app, op, group_type, user,
  group, ok, error_code, reason, count`` with ``count`` 1); ``fast`` mode, counts per ``app,
  date, op, error_code, reason``. Refused DAU (72000 on the free tier's hard cap, 60020 on a
  lapsed prepaid package) appear in both as op ``activity`` with their count per app-day;
- ``timeline``: the engine's state intervals (``docs/design.md``);
- ``usage``: per app and day: registered ``users``, served ``dau``, ``dau_refused``, peak
  ``groups`` (live and non-live) and peak ``live_groups``; ``dau`` and ``groups`` are what
  :func:`sim.billing.bill` reads;
- ``purchases``: successful prepaid purchases (R11);
- ``bills``: :func:`sim.billing.bill` of each replication.

No table holds wall-clock time: the same scenario and seed give byte-identical Parquet files.
``summary.json`` has the scenario hash, seed, package versions, wall time and headline figures.
"""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.catalog import GROUP_TYPES, Catalog
from sim.model import ExactModel, Progress, Raw
from sim.population import OPS
from sim.replayer import PURCHASE_COLUMNS, timeline_frame
from sim.scenario import Scenario, load_scenario, scenario_from_dict

TABLES = ("console_ops", "group_ops", "timeline", "usage", "purchases", "bills")


@dataclass
class RunResult:
    """The tables of a run (DataFrames) and its summary (plain data)."""

    scenario: Scenario
    catalog: Catalog
    mode: str
    console_ops: pd.DataFrame
    group_ops: pd.DataFrame
    timeline: pd.DataFrame
    usage: pd.DataFrame
    purchases: pd.DataFrame
    bills: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {name: getattr(self, name) for name in TABLES}


def _times(t_ns: Iterable[int], tz: str) -> pd.Series:
    return pd.Series(
        pd.to_datetime(np.asarray(list(t_ns), dtype=np.int64), unit="ns", utc=True).tz_convert(tz)
    )


def _console_frame(raw: Raw, tz: str) -> pd.DataFrame:
    cols = (
        "t_ns",
        "tenant",
        "op",
        "policy",
        "edition",
        "live_unlimited",
        "groups_per_user",
        "members_per_group",
        "months",
        "ok",
        "error_code",
        "reason",
        "note",
    )
    df = pd.DataFrame(raw.console_log, columns=list(cols))
    arche = np.array([t.archetype for t in raw.tenants], dtype=object)
    apps = np.array([t.app for t in raw.tenants], dtype=object)
    idx = df["tenant"].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "time": _times(df["t_ns"], tz),
        "app": apps[idx],
        "archetype": arche[idx],
        "op": df["op"].astype(object),
        "policy": df["policy"].astype(object),
        "edition": df["edition"].astype(object),
        "live_unlimited": pd.array(df["live_unlimited"].tolist(), dtype="boolean"),
        "groups_per_user": pd.array(df["groups_per_user"].tolist(), dtype="Int64"),
        "members_per_group": pd.array(df["members_per_group"].tolist(), dtype="Int64"),
        "months": pd.array(df["months"].tolist(), dtype="Int64"),
        "ok": df["ok"].astype(bool),
        "error_code": df["error_code"].astype(np.int64),
        "reason": df["reason"].astype(object),
        "note": df["note"].astype(object),
    })  # fmt: skip


def _activity(raw: Raw, apps: np.ndarray) -> dict[str, np.ndarray]:
    """Refused DAU per app-day, as ``activity`` rows (72000, or 60020 when lapsed)."""
    u = raw.usage
    hit = u["dau_refused"] > 0
    code = u["dau_code"][hit]
    return {
        "day": u["day"][hit],
        "app": apps[u["tenant"][hit]],
        "op": np.full(int(hit.sum()), "activity", dtype=object),
        "error_code": code,
        "reason": np.where(code == 72000, "dau_limit", "prepaid_expired").astype(object),
        "count": u["dau_refused"][hit],
    }


def _group_frame(raw: Raw, tz: str, mode: str) -> pd.DataFrame:
    apps = np.array([t.app for t in raw.tenants], dtype=object)
    reasons = np.array(raw.extra["reasons"], dtype=object)
    ops = np.array(OPS, dtype=object)
    g = raw.group_ops
    act = _activity(raw, apps)
    if mode == "exact":
        gtypes = np.array([*GROUP_TYPES, None], dtype=object)
        n, k = len(g["t_ns"]), len(act["day"])
        df = pd.DataFrame({
            "time": _times(np.r_[g["t_ns"], raw.horizon.day_ns[act["day"]]], tz),
            "app": np.r_[apps[g["tenant"]], act["app"]],
            "op": np.r_[ops[g["op"]], act["op"]],
            "group_type": np.r_[gtypes[g["gtype"]], np.full(k, None, dtype=object)],
            "user": pd.array(np.r_[g["user"], np.zeros(k, np.int64)], dtype="Int64"),
            "group": pd.array(np.r_[g["group"], np.full(k, -1)], dtype="Int64"),
            "ok": np.r_[g["reason"] == 0, np.zeros(k, dtype=bool)],
            "error_code": np.r_[g["error_code"], act["error_code"]].astype(np.int64),
            "reason": np.r_[reasons[g["reason"]], act["reason"]],
            "count": np.r_[np.ones(n, dtype=np.int64), act["count"]],
        })  # fmt: skip
        df.loc[df["group"] < 0, "group"] = pd.NA
        df.loc[n:, "user"] = pd.NA
        return df.sort_values(["time", "app"], kind="stable").reset_index(drop=True)
    dates = np.array(raw.horizon.dates, dtype="datetime64[D]").astype("datetime64[ns]")
    df = pd.DataFrame({
        "app": np.r_[apps[g["tenant"]], act["app"]],
        "date": dates[np.r_[g["day"], act["day"]]],
        "op": np.r_[ops[g["op"]], act["op"]],
        "error_code": np.r_[g["error_code"], act["error_code"]].astype(np.int64),
        "reason": np.r_[reasons[g["reason"]], act["reason"]],
        "count": np.r_[g["count"], act["count"]].astype(np.int64),
    })  # fmt: skip
    return df.sort_values(["date", "app", "op", "error_code"], kind="stable").reset_index(drop=True)


def _usage_frame(raw: Raw) -> pd.DataFrame:
    u = raw.usage
    apps = np.array([t.app for t in raw.tenants], dtype=object)
    dates = np.array(raw.horizon.dates, dtype="datetime64[D]").astype("datetime64[ns]")
    df = pd.DataFrame({
        "app": apps[u["tenant"]], "date": dates[u["day"]], "users": u["users"], "dau": u["dau"],
        "dau_refused": u["dau_refused"], "groups": u["groups"], "live_groups": u["live_groups"],
    })  # fmt: skip
    return df.sort_values(["app", "date"], kind="stable").reset_index(drop=True)


def _purchases(console: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
    """Successful prepaid purchases, with the options the engine applied (defaults filled)."""
    df = console.loc[(console["op"] == "buy_prepaid") & console["ok"]]
    out = pd.DataFrame(
        {
            "app": df["app"],
            "time": df["time"],
            "edition": df["edition"],
            "months": df["months"].astype("int64"),
        }
    )
    for pack in ("live_unlimited", "groups_per_user", "members_per_group"):
        out[pack] = [
            catalog.default_option(e, pack) if pd.isna(v) else v
            for e, v in zip(df["edition"], df[pack], strict=True)
        ]
    out["live_unlimited"] = out["live_unlimited"].astype(bool)
    for pack in ("groups_per_user", "members_per_group"):
        out[pack] = out[pack].astype("int64")
    return out[list(PURCHASE_COLUMNS)].reset_index(drop=True)


def _bills(
    timeline: pd.DataFrame,
    purchases: pd.DataFrame,
    usage: pd.DataFrame,
    catalog: Catalog,
    end_ns: int,
) -> pd.DataFrame:
    from sim import billing

    until = pd.Timestamp(end_ns, unit="ns", tz="UTC").tz_convert(catalog.timezone)
    return billing.bill(
        timeline,
        catalog,
        purchases=purchases,
        usage=usage[["app", "date", "dau", "groups"]],
        until=until,
    )


def _tables(raw: Raw, catalog: Catalog, mode: str) -> dict[str, pd.DataFrame]:
    tz = catalog.timezone
    console = _console_frame(raw, tz)
    timeline = timeline_frame(raw.engine.timeline(), catalog)
    usage = _usage_frame(raw)
    purchases = _purchases(console, catalog)
    bills = _bills(timeline, purchases, usage, catalog, raw.horizon.end_ns)
    return {
        "console_ops": console,
        "group_ops": _group_frame(raw, tz, mode),
        "timeline": timeline,
        "usage": usage,
        "purchases": purchases,
        "bills": bills,
    }


# -- the run ------------------------------------------------------------------------------------

MODES = {"exact": ExactModel}
"""Fidelity mode -> model class (``fast`` is added by :mod:`sim.fastmode` on first use)."""


def _model(mode: str) -> type:
    if mode == "fast" and "fast" not in MODES:
        from sim.fastmode import FastModel

        MODES["fast"] = FastModel
    return MODES[mode]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def catalog_digest(catalog: Catalog) -> str:
    text = json.dumps(catalog.model_dump(mode="json", by_alias=True), sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def population_digest(sc: Scenario) -> str:
    """SHA-256 of what determines the demand drawn (population, seed, start, horizon): equal
    for what-ifs that change only the catalog or the behaviour (common random numbers)."""
    keys = ("population", "seed", "start", "horizon_months")
    text = json.dumps({k: v for k, v in sc.model_dump(mode="json").items() if k in keys},
                      sort_keys=True)  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def error_counts(result: RunResult) -> pd.DataFrame:
    """Refusals per replication, month and error code, and the attempts they are out of:
    group operations for group codes, DAU demand (user-days) for ``activity`` codes."""
    g = result.group_ops
    when = g["date"] if "date" in g else g["time"].dt.tz_localize(None).dt.normalize()
    month = when.dt.strftime("%Y-%m")
    act = g["op"] == "activity"
    g = g.assign(month=month, kind=np.where(act, "dau", "ops"))
    refused = g.loc[g["error_code"] != 0]
    counts = (
        refused.groupby(["replication", "month", "kind", "error_code"])["count"]
        .sum()
        .rename("refused")
        .reset_index()
    )
    ops = g.loc[~act].groupby(["replication", "month"])["count"].sum().rename("ops")
    u = result.usage
    dau = (
        u.assign(month=u["date"].dt.strftime("%Y-%m"), demand=u["dau"] + u["dau_refused"])
        .groupby(["replication", "month"])["demand"]
        .sum()
        .rename("dau")
    )
    counts = counts.join(ops, on=["replication", "month"]).join(dau, on=["replication", "month"])
    counts["attempts"] = np.where(counts["kind"] == "dau", counts["dau"], counts["ops"])
    counts["rate"] = counts["refused"] / counts["attempts"].clip(lower=1)
    return counts[["replication", "month", "kind", "error_code", "refused", "attempts", "rate"]]


def revenue_by_month(result: RunResult) -> pd.Series:
    """Billed amount per replication and month (``amount_minor`` summed, in major units)."""
    b = result.bills
    scale = 10**result.catalog.currency.decimals
    return b.groupby(["replication", "month"])["amount_minor"].sum() / scale


def _summary(result: RunResult, wall_s: float, n_ops: int, n_tenants: int) -> dict[str, Any]:
    sc = result.scenario
    reps = sc.replications
    rev = revenue_by_month(result).groupby(level="month").sum() / reps
    err = error_counts(result)
    by_code = err.groupby(["kind", "error_code"])[["refused"]].sum()
    totals = {
        "ops": int(result.group_ops.loc[result.group_ops["op"] != "activity", "count"].sum()),
        "dau": int((result.usage["dau"] + result.usage["dau_refused"]).sum()),
    }
    rates = {
        f"{code}": {
            "refused": int(row.refused),
            "rate": row.refused / max(totals[kind], 1),
            "of": "group operations" if kind == "ops" else "DAU user-days",
        }
        for (kind, code), row in by_code.iterrows()
    }
    return {
        "scenario": sc.name,
        "description": sc.description,
        "scenario_hash": sc.digest(),
        "population_hash": population_digest(sc),
        "scenario_data": sc.model_dump(mode="json"),
        "start": sc.start.isoformat(),
        "horizon_months": sc.horizon_months,
        "timezone": result.catalog.timezone,
        "catalog": result.catalog.name,
        "catalog_hash": catalog_digest(result.catalog),
        "seed": sc.seed,
        "replications": reps,
        "mode": result.mode,
        "versions": _versions(),
        "wall_time_s": round(wall_s, 3),
        "tenants": n_tenants,
        "tenant_months": n_tenants * sc.horizon_months * reps,
        "group_operations": n_ops,
        "operations_per_s": round(n_ops / wall_s, 1) if wall_s > 0 else None,
        "currency": result.catalog.currency.code,
        "revenue_by_month": {m: round(float(v), 2) for m, v in rev.items()},
        "revenue_total": round(float(rev.sum()), 2),
        "error_rates": rates,
        "console_ops": {
            op: int(n)
            for op, n in result.console_ops.groupby(["op", "ok"]).size().items()
            for op in [f"{op[0]}:{'ok' if op[1] else 'refused'}"]
        },
    }


def run(
    scenario: Scenario | str | Path | dict[str, Any],
    *,
    mode: str | None = None,
    seed: int | None = None,
    replications: int | None = None,
    overrides: Iterable[str] = (),
    progress: Progress | None = None,
) -> RunResult:
    """Run a scenario (a :class:`Scenario`, a name or path, or plain data) and return its
    tables as DataFrames; ``mode``, ``seed``, ``replications`` override the scenario's.

    >>> import sim
    >>> r = sim.run("tiny", replications=1)  # doctest: +SKIP
    """
    overrides = list(overrides)
    if isinstance(scenario, Scenario):
        sc = scenario
        if overrides:
            data = sc.model_dump(mode="json")
            sc = scenario_from_dict(data, sc.source, sc.base_dir, overrides)
    elif isinstance(scenario, dict):
        sc = scenario_from_dict(scenario, overrides=overrides)
    else:
        sc = load_scenario(scenario, overrides)
    update = {
        k: v
        for k, v in (("mode", mode), ("seed", seed), ("replications", replications))
        if v is not None
    }
    if update:
        sc = scenario_from_dict({**sc.model_dump(mode="json"), **update}, sc.source, sc.base_dir)
    catalog = sc.load_catalog()
    model_cls = _model(sc.mode)
    wall = time.perf_counter()
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in TABLES}
    n_ops = 0
    n_tenants = 0
    for rep in range(sc.replications):
        raw = model_cls(sc, catalog, rep, progress).run()
        n_ops += raw.n_ops
        n_tenants = len(raw.tenants)
        for name, df in _tables(raw, catalog, sc.mode).items():
            df = df.copy()
            df["replication"] = np.int64(rep)
            parts[name].append(df)
    tables = {
        name: pd.concat(dfs, ignore_index=True) if len(dfs) > 1 else dfs[0]
        for name, dfs in parts.items()
    }
    result = RunResult(sc, catalog, sc.mode, **tables)
    result.summary = _summary(result, time.perf_counter() - wall, n_ops, n_tenants)
    return result


def write(result: RunResult, out_dir: str | Path) -> list[Path]:
    """Write the tables as ``<name>.parquet`` and ``summary.json`` into ``out_dir``."""
    from sim.outputs import write_json, write_tables

    paths = write_tables(out_dir, {f"{n}.parquet": df for n, df in result.tables().items()})
    paths.append(write_json(Path(out_dir) / "summary.json", result.summary))
    return paths
