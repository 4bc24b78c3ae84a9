"""What a model produced (:class:`~sim.model.exact.Raw`) as the run's tidy tables (DataFrames).

One call, :func:`frames`, per replication or shard of one (:mod:`sim.model.shards`). Every table gets
a ``replication`` column. Row order, within a replication:

- app first, so that shards (contiguous runs of apps in name order) concatenate into the whole
  table: ``usage`` (app, date), fast ``group_ops`` (app, date, op, error_code), ``timeline``
  (app, start), ``bills`` (app, month, kind, item, option);
- time first, re-sorted when shards are gathered (:func:`order`): ``console_ops`` and
  ``purchases`` (time, app), exact ``group_ops`` (time, app); ties keep the model's order
  (the rows of one app come from one shard).

String columns are built from integer codes through Arrow (:func:`labels`), 10x faster than
from Python objects. With ``compact=True`` the large tables' app, op and reason columns are
categoricals instead (a fraction of the memory, while a shard waits to be written);
:class:`sim.files.outputs.ParquetSink` writes them as the strings they stand for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.billing.schedule import PriceChange
from sim.core.catalog import GROUP_TYPES, Catalog
from sim.files.frames import PURCHASE_COLUMNS, timeline_frame
from sim.model.exact import Raw
from sim.model.population import OPS
from sim.rules.limits import DAU_LIMIT, PREPAID_EXPIRED

STR = pd.StringDtype("pyarrow", na_value=np.nan)
"""pandas' default string dtype (``str``), Arrow-backed."""

ACTIVITY = "activity"
"""The op of refused DAU rows (72000 on a hard cap, 60020 on a lapsed package)."""

TIME_FIRST = {"console_ops": ("time", "app"), "purchases": ("time", "app")}
"""Tables re-sorted by these columns (stable) when shards are gathered."""


def labels(names: Sequence[str], codes: np.ndarray, compact: bool = False) -> pd.Series:
    """``names[codes]`` as a ``str`` column (or a categorical, ``compact``)."""
    codes = np.asarray(codes)
    if compact:
        return pd.Series(pd.Categorical.from_codes(codes, list(names)))
    arr = pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(np.int32, copy=False)), pa.array(list(names), pa.large_string())
    ).dictionary_decode()
    return pd.Series(pd.arrays.ArrowStringArray(arr), dtype=STR)


def _times(t_ns: Iterable[int], tz: str) -> pd.Series:
    return pd.Series(
        pd.to_datetime(np.asarray(list(t_ns), dtype=np.int64), unit="ns", utc=True).tz_convert(tz)
    )


def _apps(raw: Raw) -> list[str]:
    return [t.app for t in raw.tenants]


def console_frame(raw: Raw, tz: str) -> pd.DataFrame:
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
    apps = np.array(_apps(raw), dtype=object)
    idx = df["tenant"].to_numpy(dtype=np.int64)
    return pd.DataFrame(
        {
            "time": _times(df["t_ns"], tz),
            "app": pd.Series(apps[idx], dtype=STR),
            "archetype": pd.Series(arche[idx], dtype=STR),
            "op": df["op"].astype(STR),
            "policy": df["policy"].astype(STR),
            "edition": df["edition"].astype(STR),
            "live_unlimited": pd.array(df["live_unlimited"].tolist(), dtype="boolean"),
            "groups_per_user": pd.array(df["groups_per_user"].tolist(), dtype="Int64"),
            "members_per_group": pd.array(df["members_per_group"].tolist(), dtype="Int64"),
            "months": pd.array(df["months"].tolist(), dtype="Int64"),
            "ok": df["ok"].astype(bool),
            "error_code": df["error_code"].astype(np.int64),
            "reason": df["reason"].astype(STR),
            "note": df["note"].astype(STR),
        }
    )


def _activity(raw: Raw) -> dict[str, np.ndarray]:
    """Refused DAU per app-day (72000, or 60020 when lapsed)."""
    u = raw.usage
    hit = u["dau_refused"] > 0
    return {
        "day": u["day"][hit],
        "tenant": u["tenant"][hit],
        "error_code": u["dau_code"][hit],
        "count": u["dau_refused"][hit],
    }


_REASON_OF_ACTIVITY = {code: reason for code, reason, _ in (DAU_LIMIT, PREPAID_EXPIRED)}


def _reasons(raw: Raw, act_codes: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Reason names (the model's, then the activity ones) and the activity rows' codes."""
    names = list(raw.extra["reasons"])
    extra = {}
    for code, reason in _REASON_OF_ACTIVITY.items():
        if reason not in names:
            names.append(reason)
        extra[code] = names.index(reason)
    return names, np.array([extra[int(c)] for c in act_codes], dtype=np.int64)


def group_frame(raw: Raw, tz: str, mode: str, compact: bool = False) -> pd.DataFrame:
    g, act = raw.group_ops, _activity(raw)
    apps = _apps(raw)
    ops = [*OPS, ACTIVITY]
    reasons, act_reason = _reasons(raw, act["error_code"])
    k = len(act["day"])
    tenant = np.r_[g["tenant"], act["tenant"]].astype(np.int64)
    op = np.r_[g["op"], np.full(k, len(OPS))].astype(np.int64)
    code = np.r_[g["error_code"], act["error_code"]].astype(np.int64)
    reason = np.r_[g["reason"], act_reason].astype(np.int64)
    if mode == "exact":
        n = len(g["t_ns"])
        t_ns = np.r_[g["t_ns"], raw.horizon.day_ns[act["day"]]].astype(np.int64)
        o = np.lexsort((tenant, t_ns))  # (time, app): tenants are in app-name order
        gtypes = np.array([*GROUP_TYPES, None], dtype=object)
        user = pd.array(np.r_[g["user"], np.zeros(k, np.int64)][o], dtype="Int64")
        group = pd.array(np.r_[g["group"], np.full(k, -1)][o], dtype="Int64")
        activity = (np.arange(n + k) >= n)[o]
        user[activity] = pd.NA
        group[group < 0] = pd.NA
        return pd.DataFrame(
            {
                "time": _times(t_ns[o], tz),
                "app": labels(apps, tenant[o]),
                "op": labels(ops, op[o]),
                "group_type": np.r_[gtypes[g["gtype"]], np.full(k, None, dtype=object)][o],
                "user": user,
                "group": group,
                "ok": (reason == 0)[o] & ~activity,
                "error_code": code[o],
                "reason": labels(reasons, reason[o]),
                "count": np.r_[np.ones(n, dtype=np.int64), act["count"]][o],
            }
        )
    day = np.r_[g["day"], act["day"]].astype(np.int64)
    count = np.r_[g["count"], act["count"]].astype(np.int64)
    rank = np.argsort(np.argsort(np.array(ops)))  # ops in name order
    o = np.lexsort((code, rank[op], day, tenant))  # (app, date, op, error_code)
    dates = np.array(raw.horizon.dates, dtype="datetime64[D]").astype("datetime64[ns]")
    return pd.DataFrame(
        {
            "app": labels(apps, tenant[o], compact),
            "date": dates[day[o]],
            "op": labels(ops, op[o], compact),
            "error_code": code[o],
            "reason": labels(reasons, reason[o], compact),
            "count": count[o],
        }
    )


def usage_frame(raw: Raw, compact: bool = False) -> pd.DataFrame:
    u = raw.usage
    o = np.lexsort((u["day"], u["tenant"]))  # (app, date)
    dates = np.array(raw.horizon.dates, dtype="datetime64[D]").astype("datetime64[ns]")
    cols = ("users", "dau", "dau_refused", "groups", "live_groups")
    return pd.DataFrame(
        {
            "app": labels(_apps(raw), u["tenant"][o], compact),
            "date": dates[u["day"][o]],
            **{c: u[c][o] for c in cols},
        }
    )


def purchases_frame(console: pd.DataFrame, catalog: Catalog) -> pd.DataFrame:
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


def bills_frame(
    timeline: pd.DataFrame,
    purchases: pd.DataFrame,
    usage: pd.DataFrame,
    catalog: Catalog,
    end_ns: int,
    changes: Sequence[PriceChange] = (),
) -> pd.DataFrame:
    from sim.billing.schedule import bill_schedule

    until = pd.Timestamp(end_ns, unit="ns", tz="UTC").tz_convert(catalog.timezone)
    usage = usage[["app", "date", "dau", "groups"]]
    if isinstance(usage["app"].dtype, pd.CategoricalDtype):
        usage = usage.assign(app=usage["app"].astype(STR))
    return bill_schedule(timeline, catalog, changes, purchases=purchases, usage=usage, until=until)


def frames(
    raw: Raw, catalog: Catalog, mode: str, replication: int, compact: bool = False
) -> dict[str, pd.DataFrame]:
    """The tables of one replication (or shard of one), each with its ``replication``."""
    tz = catalog.timezone
    console = console_frame(raw, tz)
    timeline = timeline_frame(raw.engine.timeline(), catalog)
    usage = usage_frame(raw, compact)
    purchases = purchases_frame(console, catalog)
    out = {
        "console_ops": console,
        "group_ops": group_frame(raw, tz, mode, compact),
        "timeline": timeline,
        "usage": usage,
        "purchases": purchases,
        "bills": bills_frame(
            timeline,
            purchases,
            usage,
            catalog,
            raw.horizon.end_ns,
            raw.extra.get("price_changes", ()),
        ),
    }
    for df in out.values():
        df["replication"] = np.int64(replication)
    return out


def order(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A table gathered from shards (concatenated in shard order) in its canonical order."""
    keys = TIME_FIRST.get(name)
    if name == "group_ops" and "time" in df:  # exact mode: one row per operation
        keys = ("time", "app")
    if keys is None or df.empty:
        return df
    return df.sort_values(["replication", *keys], kind="stable", ignore_index=True)
