"""Metrics of a run: tidy DataFrames from its tables, one row per key. Pure pandas, no I/O.

Build a :class:`~sim.results.prepare.Run` with :func:`prepare` (:mod:`sim.results.prepare`) from the tables
``sim run`` writes and its ``summary.json``; every function here takes a ``Run`` and returns a
DataFrame.

Conventions, stated once:

- every table has a ``replication`` column (0 when the run had one); a function whose name does
  not say otherwise returns one row per replication and key. :func:`per_replication_mean`
  averages count-like columns over the replications (a key missing from one replication counts
  as 0 there), and :func:`summarise` gives the mean and a 95 % confidence interval (Student t
  over replications) of a per-replication figure; :func:`paired_deltas` the same of the
  difference between two runs that share random numbers (same population and seed);
- ``date`` is a day (naive ``datetime64``, the catalog's time zone), ``month`` is ``YYYY-MM``;
- money (``amount``, ``mrr``, ``arpu``) is in the bills' ``currency``, per month where the
  name says so; ``per_1000_dau`` is errors per 1,000 active-user-days: a day's errors per 1,000
  DAU, averaged over the days (errors × 1000 / the sum of daily DAU);
- an attempt or a day is attributed to the edition (and state) in force at 12:00 that day:
  the model takes a day's console decisions at its start, before its group operations;
- group operations are counted per (replication, app, date, op, error_code) whatever the
  fidelity mode (:mod:`sim.results.prepare`); refused DAU (op ``activity``: 72000, 60020) counts
  user-days, out of the DAU demanded.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.core.vocab import LIMIT_CODES as VOCAB_LIMIT_CODES
from sim.core.vocab import STATES as VOCAB_STATES
from sim.results.prepare import ACTIVITY, CODE_REASONS, PACK_COLUMNS, Run, month_of
from sim.results.prepare import caps_from_catalog as caps_from_catalog  # re-exported
from sim.results.prepare import group_op_counts as group_op_counts  # re-exported
from sim.results.prepare import prepare as prepare  # re-exported
from sim.results.stats import per_replication_mean, summarise

LIMIT_CODES = VOCAB_LIMIT_CODES
"""The codes of an edition's limits (R13): what the upgrade funnel starts from."""

STATES = VOCAB_STATES
EDITION_RANK = {"IM": 0, "Trial": 0, "Pro": 1, "Ultimate": 2}
UPGRADE_KINDS = ("upgrade", "pack_up")
CHANGE_KINDS = (
    "upgrade",
    "pack_up",
    "downgrade",
    "pack_down",
    "pack_change",
    "lapse",
    "renewal",
    "deactivation",
    "other",
)
"""Every kind of change :func:`transitions` tells apart."""
"""Transition kinds that count as the funnel's 'upgrade' (an edition up, or a pack raised)."""


# -- error codes and refusals -----------------------------------------------------------------


def _sum_by(df: pd.DataFrame, keys: list[str], col: str, name: str) -> pd.DataFrame:
    if not keys:
        return pd.DataFrame({name: [float(df[col].sum())]})
    return df.groupby(keys, dropna=False)[col].sum().rename(name).reset_index()


def error_rates(run: Run, by: Sequence[str] = (), per_replication: bool = True) -> pd.DataFrame:
    """Error-code rates per ``by`` (any of ``month``, ``op``, ``edition``) and ``error_code``.

    Columns: ``of`` (``operations`` for group operations, ``user-days`` for refused activity,
    op ``activity``), ``errors``, ``attempts`` (the group operations of the ``by`` key, or the
    DAU demanded, served + refused, in user-days), ``share`` (errors / attempts) and
    ``per_1000_dau`` (errors × 1000 / served DAU-days of the key; ``op`` does not divide DAU).
    ``per_replication=False``: counts are means per replication.
    """
    by = list(by)
    c = run.op_totals if run.op_totals is not None else run.group_counts
    keys = (["replication"] if per_replication else []) + by
    cols = [*keys, "error_code", "reason", "of", "errors", "attempts", "share", "per_1000_dau"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    div = 1 if per_replication else len(run.replications)
    act = c["op"] == ACTIVITY
    err = c[c["error_code"] != 0].assign(
        of=np.where(act[c["error_code"] != 0], "user-days", "operations")
    )
    out = err.groupby([*keys, "error_code", "reason", "of"], dropna=False)["n"].sum()
    out = out.rename("errors").reset_index()
    dau_keys = [k for k in keys if k in ("replication", "month", "edition")]
    u = run.dau_totals if run.dau_totals is not None else run.usage
    u = u.assign(demand=u["dau"] + u.get("dau_refused", 0))
    ops = _sum_by(c[~act], keys, "n", "ops")
    dem = (
        _sum_by(u, dau_keys, "demand", "demand").merge(
            _sum_by(u, dau_keys, "dau", "dau_days"), on=dau_keys or None, how="outer"
        )
        if dau_keys
        else _sum_by(u, [], "demand", "demand").assign(dau_days=float(u["dau"].sum()))
    )
    out = out.merge(ops, on=keys, how="left") if keys else out.assign(ops=ops["ops"].iloc[0])
    out = (
        out.merge(dem, on=dau_keys, how="left")
        if dau_keys
        else out.assign(demand=dem["demand"].iloc[0], dau_days=dem["dau_days"].iloc[0])
    )
    out["attempts"] = np.where(out["of"] == "user-days", out["demand"], out["ops"])
    out[["errors", "attempts", "dau_days"]] = out[["errors", "attempts", "dau_days"]] / div
    out["share"] = out["errors"] / out["attempts"].where(out["attempts"] > 0)
    out["per_1000_dau"] = out["errors"] * 1000 / out["dau_days"].where(out["dau_days"] > 0)
    return out.sort_values([*keys, "error_code", "of"], ignore_index=True)[cols]


def console_refusals(run: Run, per_replication: bool = False) -> pd.DataFrame:
    """Console operations refused, by op and reason: ``refused``, ``attempts`` (of the op),
    ``share``. Means per replication unless ``per_replication``."""
    c = run.console_ops
    keys = ["replication"] if per_replication else []
    cols = [*keys, "op", "reason", "refused", "attempts", "share"]
    if c.empty or "ok" not in c.columns:
        return pd.DataFrame(columns=cols)
    div = 1 if per_replication else len(run.replications)
    att = c.groupby([*keys, "op"]).size().rename("attempts") / div
    ref = c[~c["ok"].astype(bool)].groupby([*keys, "op", "reason"]).size().rename("refused") / div
    out = ref.reset_index().merge(att.reset_index(), on=[*keys, "op"])
    out["share"] = out["refused"] / out["attempts"]
    return out.sort_values([*keys, "refused"], ascending=False, ignore_index=True)[cols]


def top_error_apps(run: Run, n: int = 10) -> pd.DataFrame:
    """The ``n`` apps with the most refused group operations (means per replication): app,
    archetype, errors, attempts, share, refused_user_days (DAU refused, op ``activity``), and
    one column per error code of a group operation (its refusals)."""
    c = run.group_counts
    cols = ["app", "archetype", "errors", "attempts", "share", "refused_user_days"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    div = len(run.replications)
    act = c["op"] == ACTIVITY
    ops = c[~act]
    att = ops.groupby("app")["n"].sum() / div
    days = c[act & (c["error_code"] != 0)].groupby("app")["n"].sum() / div
    err = ops[ops["error_code"] != 0]
    if err.empty:
        return pd.DataFrame(columns=cols)
    err = (
        err.pivot_table(index="app", columns="error_code", values="n", aggfunc="sum", fill_value=0)
        / div
    )
    total = err.sum(axis=1).rename("errors")
    top = total.sort_values(ascending=False, kind="stable").head(n).index
    out = pd.DataFrame(
        {
            "app": top,
            "archetype": run.archetypes.reindex(top).fillna("").to_numpy(),
            "errors": total[top].to_numpy(),
            "attempts": att.reindex(top).to_numpy(),
        }
    )
    out["share"] = out["errors"] / out["attempts"]
    out["refused_user_days"] = days.reindex(top, fill_value=0).to_numpy()
    codes = err.loc[top, err.loc[top].sum() > 0]
    codes.columns = [str(int(k)) for k in codes.columns]
    return pd.concat([out, codes.reset_index(drop=True)], axis=1)


# -- revenue ------------------------------------------------------------------------------------


def revenue(run: Run, by: Sequence[str] = ("month",), per_replication: bool = True) -> pd.DataFrame:
    """Billed ``amount`` per ``by`` (any bill column, or ``edition`` / ``archetype``), by the
    month of service (prepaid: the month of purchase). Every month of the run appears when
    ``month`` is the only key."""
    keys = (["replication"] if per_replication else []) + list(by)
    b = run.bills
    div = 1 if per_replication else len(run.replications)
    out = (
        b.groupby(keys, as_index=False, dropna=False)["amount"].sum()
        if len(b)
        else (pd.DataFrame(columns=[*keys, "amount"]))
    )
    out["amount"] = out["amount"].astype(float) / div
    if list(by) == ["month"]:
        reps = list(run.replications) if per_replication else [None]
        full = pd.DataFrame(
            [(r, m) for r in reps for m in run.months], columns=["replication", "month"]
        )
        full = full if per_replication else full.drop(columns="replication")
        out = full.merge(out, on=keys, how="outer").fillna({"amount": 0.0})
    return out.sort_values(keys, ignore_index=True)


def _month_bounds(months: Sequence[str]) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    start = pd.to_datetime(pd.Series(list(months)) + "-01")
    return pd.DatetimeIndex(start), pd.DatetimeIndex(start + pd.offsets.MonthBegin(1))


def live_apps(run: Run) -> pd.DataFrame:
    """Apps in a live state (not Deactivated) at some moment of each month: replication,
    month, live_apps."""
    tl = run.timeline
    rows = []
    if not tl.empty and run.months:
        starts, ends = _month_bounds(run.months)
        alive = tl[tl["state"] != "Deactivated"]
        end = alive["end"].fillna(pd.Timestamp.max)
        for m, ms, me in zip(run.months, starts, ends, strict=True):
            hit = alive[(alive["start"] < me) & (end > ms)]
            per = hit.groupby("replication")["app"].nunique()
            rows += [(r, m, int(per.get(r, 0))) for r in run.replications]
    return pd.DataFrame(rows, columns=["replication", "month", "live_apps"])


def mrr_arpu(run: Run) -> pd.DataFrame:
    """Per replication and month: ``revenue`` (as billed for the month), ``mrr`` (recurring:
    postpaid lines, plus prepaid lines spread evenly over the months bought), ``overage``,
    ``live_apps``, ``paying_apps`` (a recurring charge that month), ``arpu`` = (mrr +
    overage) / live_apps and ``arppu`` = the same per paying app. Currency per month."""
    b = run.bills
    grid = pd.DataFrame(
        [(r, m) for r in run.replications for m in run.months], columns=["replication", "month"]
    )
    rec = b[b["kind"] == "postpaid"][["replication", "app", "month", "amount"]]
    pre = b[b["kind"] == "prepaid"]
    if len(pre):
        q = pd.to_numeric(pre["quantity"]).fillna(1).clip(lower=1).astype(int)
        rep = pre.loc[pre.index.repeat(q)].copy()
        k = rep.groupby(level=0).cumcount().to_numpy()
        per = pd.PeriodIndex(rep["month"], freq="M") + k
        rep["month"] = per.strftime("%Y-%m")
        rep["amount"] = rep["amount"] / np.repeat(q.to_numpy(), q.to_numpy())
        rec = pd.concat([rec, rep[["replication", "app", "month", "amount"]]])
    keys = ["replication", "month"]
    mrr = rec.groupby(keys)["amount"].sum().rename("mrr")
    paying = rec[rec["amount"] > 0].groupby(keys)["app"].nunique().rename("paying_apps")
    over = b[b["kind"] == "overage"].groupby(keys)["amount"].sum().rename("overage")
    billed = b.groupby(keys)["amount"].sum().rename("revenue")
    out = grid
    for s in (billed, mrr, over, paying):
        out = (
            out.merge(s.reset_index(), on=keys, how="left")
            if len(s)
            else out.assign(**{s.name: 0.0})
        )
    out = out.merge(live_apps(run), on=keys, how="left").fillna(0)
    out["arpu"] = (out["mrr"] + out["overage"]) / out["live_apps"].where(out["live_apps"] > 0)
    out["arppu"] = (out["mrr"] + out["overage"]) / out["paying_apps"].where(out["paying_apps"] > 0)
    return out


# -- lifecycle ----------------------------------------------------------------------------------


def _kinds(prev: pd.DataFrame, cur: pd.DataFrame) -> np.ndarray:
    """The kind of each change ``prev`` row → ``cur`` row (see :func:`transitions`)."""
    ps, cs = prev["state"].to_numpy(object), cur["state"].to_numpy(object)
    pr = prev["edition"].map(EDITION_RANK).fillna(0).to_numpy()
    cr = cur["edition"].map(EDITION_RANK).fillna(0).to_numpy()
    up = np.zeros(len(cs), bool)
    down = np.zeros(len(cs), bool)
    for pack in PACK_COLUMNS:
        if pack in cur.columns:
            a = pd.to_numeric(prev[pack], errors="coerce").to_numpy(float)
            b = pd.to_numeric(cur[pack], errors="coerce").to_numpy(float)
            up |= b > a
            down |= b < a
    paid = np.array([str(s).endswith(("-prepaid", "-postpaid")) for s in cs], bool)
    conditions = [
        cs == "Deactivated",
        (ps == "IM") & (cs == "Trial"),
        cs == "Trial-lapsed",
        cr > pr,
        cr < pr,
        (ps != cs) & paid,
        ps != cs,
        up & ~down,
        down & ~up,
        up & down,
        cs == "Trial-prepaid",
    ]
    choices = [
        "deactivation",
        "downgrade",
        "lapse",
        "upgrade",
        "downgrade",
        "upgrade",
        "other",
        "pack_up",
        "pack_down",
        "pack_change",
        "renewal",
    ]
    return np.select(conditions, choices, "other").astype(object)


def transitions(run: Run) -> pd.DataFrame:
    """Every change of an app's state or packs: replication, app, archetype, time, date,
    month, from_state, to_state, from_edition, to_edition, kind (``upgrade``, ``downgrade``,
    ``pack_up``, ``pack_down``, ``pack_change``, ``lapse``, ``renewal``, ``deactivation``,
    ``other``); only changes within the run's months (the engine also dates a prepaid
    package's lapse after the horizon)."""
    tl = run.timeline
    cols = [
        "replication",
        "app",
        "archetype",
        "time",
        "date",
        "month",
        "from_state",
        "to_state",
        "from_edition",
        "to_edition",
        "kind",
    ]
    if tl.empty:
        return pd.DataFrame(columns=cols)
    same = (tl["app"] == tl["app"].shift()) & (tl["replication"] == tl["replication"].shift())
    idx = np.flatnonzero(same.to_numpy())
    prev, cur = tl.iloc[idx - 1], tl.iloc[idx]
    kinds = _kinds(prev, cur)
    out = pd.DataFrame(
        {
            "replication": cur["replication"].to_numpy(),
            "app": cur["app"].to_numpy(),
            "archetype": cur["app"].map(run.archetypes).astype(object).fillna("unknown").to_numpy(),
            "time": cur["start"].to_numpy(),
            "from_state": prev["state"].to_numpy(),
            "to_state": cur["state"].to_numpy(),
            "from_edition": prev["edition"].to_numpy(),
            "to_edition": cur["edition"].to_numpy(),
            "kind": kinds,
        }
    )
    out["date"] = out["time"].dt.floor("D")
    out["month"] = month_of(out["time"]) if len(out) else pd.Series(dtype=object)
    if run.months:  # a prepaid package lapsing after the horizon is not a change in the run
        out = out[out["month"].isin(run.months)].reset_index(drop=True)
    return out[cols]


def lifecycle_flow(run: Run, trans: pd.DataFrame | None = None) -> pd.DataFrame:
    """Apps that went from one state to another (each app once per pair; packs-only changes
    left out), mean per replication: from_state, to_state, kind, apps."""
    t = transitions(run) if trans is None else trans
    t = t[t["from_state"] != t["to_state"]]
    keys = ["replication", "from_state", "to_state", "kind"]
    per = t.groupby(keys, as_index=False)["app"].nunique().rename(columns={"app": "apps"})
    out = per_replication_mean(per, keys[1:], ["apps"], len(run.replications))
    return out.sort_values("apps", ascending=False, ignore_index=True)


def initial_states(run: Run) -> pd.DataFrame:
    """Apps by the state of their first interval, mean per replication: state, apps."""
    tl = run.timeline
    if tl.empty:
        return pd.DataFrame(columns=["state", "apps"])
    first = tl.drop_duplicates(["replication", "app"])
    per = (
        first.groupby(["replication", "state"], as_index=False)
        .size()
        .rename(columns={"size": "apps"})
    )
    return per_replication_mean(per, ["state"], ["apps"], len(run.replications))


def changes_by_month(
    run: Run, kinds: Sequence[str], trans: pd.DataFrame | None = None, per_replication: bool = False
) -> pd.DataFrame:
    """Transitions of the given ``kinds`` per month, from_state, to_state and kind: ``apps``
    (distinct) and ``changes``; downgrades are ``("downgrade", "pack_down")``, deactivations
    ``("deactivation",)``. Means per replication unless ``per_replication``."""
    t = transitions(run) if trans is None else trans
    t = t[t["kind"].isin(list(kinds))]
    keys = ["replication", "month", "from_state", "to_state", "kind"]
    per = t.groupby(keys, as_index=False).agg(apps=("app", "nunique"), changes=("app", "size"))
    if per_replication:
        return per
    return per_replication_mean(per, keys[1:], ["apps", "changes"], len(run.replications))


def upgrade_funnel(run: Run, trans: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replication and app that met a limit error (R13, :data:`LIMIT_CODES`): the date and
    code of its first, and its first upgrade (edition up, prepaid bought, or pack raised) on a
    later day: upgrade_date, action, to_state, days_to_upgrade (NaN if it never upgraded)."""
    c = run.group_counts
    cols = [
        "replication",
        "app",
        "archetype",
        "first_limit_date",
        "first_limit_code",
        "upgrade_date",
        "action",
        "to_state",
        "days_to_upgrade",
    ]
    lim = c[c["error_code"].isin(list(LIMIT_CODES))] if len(c) else c
    if lim.empty:
        return pd.DataFrame(columns=cols)
    first = lim.sort_values(["date", "error_code"]).drop_duplicates(["replication", "app"])
    first = first[["replication", "app", "date", "error_code"]].rename(
        columns={"date": "first_limit_date", "error_code": "first_limit_code"}
    )
    t = transitions(run) if trans is None else trans
    up = t[t["kind"].isin(UPGRADE_KINDS)][["replication", "app", "date", "kind", "to_state"]]
    m = first.astype({"app": object}).merge(
        up.astype({"app": object}), on=["replication", "app"], how="left"
    )
    m = m[m["date"].isna() | (m["date"] > m["first_limit_date"])]
    m = m.sort_values("date").drop_duplicates(["replication", "app"])
    out = first.merge(
        m, on=["replication", "app", "first_limit_date", "first_limit_code"], how="left"
    )
    out = out.rename(columns={"date": "upgrade_date", "kind": "action"})
    out["days_to_upgrade"] = (out["upgrade_date"] - out["first_limit_date"]).dt.days
    out["archetype"] = out["app"].map(run.archetypes).astype(object).fillna("unknown")
    return out.sort_values(["replication", "app"], ignore_index=True)[cols]


def funnel_summary(run: Run, funnel: pd.DataFrame | None = None) -> pd.DataFrame:
    """The funnel in stages, mean per replication: stage, apps, share of all apps."""
    f = upgrade_funnel(run) if funnel is None else funnel
    n = len(run.replications)
    total = (
        run.timeline.groupby("replication")["app"].nunique().sum() / n if len(run.timeline) else 0.0
    )
    days = f["days_to_upgrade"]
    stages = [
        ("all apps", total),
        ("met a limit error", len(f) / n),
        ("upgraded after it", days.notna().sum() / n),
        ("... within 7 days", (days <= 7).sum() / n),
        ("... within 30 days", (days <= 30).sum() / n),
    ]
    out = pd.DataFrame(stages, columns=["stage", "apps"])
    out["share"] = out["apps"] / total if total else math.nan
    return out


def grandfathered_excess(run: Run) -> pd.DataFrame:
    """Per replication, app and day with groups above the app's current cap (R12: what exists
    is never removed): non-live groups (``groups - live_groups``; both are daily peaks, so this
    is close, not exact) above the edition's ``nonlive_groups``, and live groups above
    ``live_groups`` (no cap with ``live_unlimited``). Needs ``run.caps``; empty without."""
    u, caps = run.usage, run.caps
    cols = [
        "replication",
        "app",
        "date",
        "month",
        "edition",
        "nonlive_groups",
        "nonlive_cap",
        "excess_groups",
        "live_groups",
        "live_cap",
        "excess_live_groups",
    ]
    if not caps or u.empty or "groups" not in u.columns:
        return pd.DataFrame(columns=cols)
    u = u[u["edition"].isin(list(caps))].copy()
    live = pd.to_numeric(u.get("live_groups", 0)).fillna(0) if "live_groups" in u else 0
    u["live_groups"] = live
    u["nonlive_groups"] = pd.to_numeric(u["groups"]).fillna(0) - live
    cap = {
        k: pd.Series(
            {e: (c.get(k) if c.get(k) is not None else np.inf) for e, c in caps.items()},
            dtype=float,
        )
        for k in ("nonlive_groups", "live_groups")
    }
    u["nonlive_cap"] = u["edition"].map(cap["nonlive_groups"]).astype(float)
    unl = u["live_unlimited"].fillna(False).astype(bool) if "live_unlimited" in u else False
    u["live_cap"] = u["edition"].map(cap["live_groups"]).astype(float).where(~unl, np.inf)
    u["excess_groups"] = (u["nonlive_groups"] - u["nonlive_cap"]).clip(lower=0)
    u["excess_live_groups"] = (u["live_groups"] - u["live_cap"]).clip(lower=0)
    hit = u[(u["excess_groups"] > 0) | (u["excess_live_groups"] > 0)]
    return hit.sort_values(["replication", "app", "date"], ignore_index=True)[cols]


def grandfathered_by_day(run: Run, excess: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per day, mean per replication: apps above their group cap and their excess groups,
    apps above their live-group cap and their excess live groups."""
    e = grandfathered_excess(run) if excess is None else excess
    e = e.assign(
        over_groups=(e["excess_groups"] > 0).astype(int),
        over_live=(e["excess_live_groups"] > 0).astype(int),
    )
    per = e.groupby(["replication", "date"], as_index=False)[
        ["over_groups", "excess_groups", "over_live", "excess_live_groups"]
    ].sum()
    out = per_replication_mean(per, ["date"], list(per.columns[2:]), len(run.replications))
    days = pd.DataFrame({"date": np.sort(run.usage["date"].dropna().unique())})
    out = days.merge(out, on="date", how="left").fillna(0) if len(out) else out
    return out.rename(
        columns={"over_groups": "apps_over_group_cap", "over_live": "apps_over_live_cap"}
    )


# -- headline figures -----------------------------------------------------------------------------

HEADLINES: dict[str, tuple[str, str]] = {
    "revenue_total": ("revenue billed over the horizon", "{cur}"),
    "mrr_last": ("MRR, last month", "{cur}/month"),
    "mrr_mean": ("MRR, mean over the months", "{cur}/month"),
    "arpu_last": ("ARPU per live app, last month", "{cur}/app/month"),
    "overage_total": ("usage overage billed over the horizon", "{cur}"),
    "apps": ("apps", "apps"),
    "paying_apps_last": ("paying apps, last month", "apps"),
    "upgrades": ("upgrades (edition up or prepaid bought)", "apps"),
    "downgrades": ("downgrades (IM→Trial or edition down)", "apps"),
    "deactivations": ("deactivations", "apps"),
    "group_attempts": ("group operations attempted", "operations"),
    "group_errors": ("group operations refused", "operations"),
    "error_share": ("share of group operations refused", "%"),
    "errors_per_1000_dau": ("group operations refused per 1,000 DAU", "per day per 1,000 DAU"),
    "dau_refused_share": ("share of DAU demand refused (72000, 60020)", "%"),
    "limit_apps": ("apps that met a limit error", "apps"),
    "upgraded_after_limit": ("of those, upgraded on a later day", "%"),
    "days_to_upgrade": ("median days from first limit error to upgrade", "days"),
    "console_refusals": ("console operations refused", "operations"),
    "grandfathered_apps_last": ("apps above a group cap on the last day", "apps"),
}
"""Headline metric id → (label, unit); ``{cur}`` is the bills' currency. Plus one
``rate_<code>`` per error code met (errors per day per 1,000 DAU)."""


def headline(
    run: Run, trans: pd.DataFrame | None = None, excess: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The headline figures per replication: replication, metric, label, unit, value
    (``trans``, ``excess``: :func:`transitions` and :func:`grandfathered_excess`, if known)."""
    reps = list(run.replications)
    vals: dict[str, pd.Series] = {}
    mrr = mrr_arpu(run)
    last = mrr[mrr["month"] == run.months[-1]].set_index("replication") if run.months else mrr
    per = mrr.groupby("replication")
    vals["revenue_total"] = revenue(run, by=["item"]).groupby("replication")["amount"].sum()
    vals["mrr_last"] = last.get("mrr", pd.Series(dtype=float))
    vals["mrr_mean"] = per["mrr"].mean()
    vals["arpu_last"] = last.get("arpu", pd.Series(dtype=float))
    vals["overage_total"] = per["overage"].sum()
    vals["paying_apps_last"] = last.get("paying_apps", pd.Series(dtype=float))
    tl = run.timeline
    vals["apps"] = tl.groupby("replication")["app"].nunique() if len(tl) else pd.Series()
    t = transitions(run) if trans is None else trans
    for name, kinds in (
        ("upgrades", ["upgrade"]),
        ("downgrades", ["downgrade"]),
        ("deactivations", ["deactivation"]),
    ):
        vals[name] = t[t["kind"].isin(kinds)].groupby("replication")["app"].nunique()
    c = run.group_counts
    c = c[c["op"] != ACTIVITY] if len(c) else c
    vals["group_attempts"] = c.groupby("replication")["n"].sum()
    vals["group_errors"] = c[c["error_code"] != 0].groupby("replication")["n"].sum()
    vals["error_share"] = (
        100
        * vals["group_errors"].reindex(reps, fill_value=0)
        / vals["group_attempts"].reindex(reps).where(lambda s: s > 0)
    )
    dau = run.usage.groupby("replication")["dau"].sum() if len(run.usage) else pd.Series()
    dau = dau.reindex(reps).where(lambda s: s > 0)
    vals["errors_per_1000_dau"] = 1000 * vals["group_errors"].reindex(reps, fill_value=0) / dau
    if "dau_refused" in run.usage.columns:
        refused = run.usage.groupby("replication")["dau_refused"].sum().reindex(reps)
        vals["dau_refused_share"] = 100 * refused / (refused + dau.fillna(0)).where(lambda s: s > 0)
    f = upgrade_funnel(run, t)
    vals["limit_apps"] = f.groupby("replication").size()
    upgraded = f.groupby("replication")["days_to_upgrade"]
    vals["upgraded_after_limit"] = 100 * upgraded.count() / upgraded.size().where(lambda s: s > 0)
    vals["days_to_upgrade"] = upgraded.median()
    con = run.console_ops
    if "ok" in con.columns:
        vals["console_refusals"] = con[~con["ok"].astype(bool)].groupby("replication").size()
    g = grandfathered_excess(run) if excess is None else excess
    if run.caps and len(run.usage):
        last_day = run.usage["date"].max()
        vals["grandfathered_apps_last"] = g[g["date"] == last_day].groupby("replication").size()
    zero_if_missing = {
        "revenue_total",
        "overage_total",
        "upgrades",
        "downgrades",
        "deactivations",
        "group_attempts",
        "group_errors",
        "limit_apps",
        "console_refusals",
        "grandfathered_apps_last",
        "paying_apps_last",
    }
    rows = []
    for metric, (label, unit) in HEADLINES.items():
        if metric not in vals:
            continue
        s = vals[metric].reindex(reps, fill_value=0 if metric in zero_if_missing else np.nan)
        unit = unit.format(cur=run.currency or "currency")
        rows += [(r, metric, label, unit, float(v)) for r, v in s.items()]
    rates = error_rates(run)
    for (code, of), grp in rates.groupby(["error_code", "of"]) if len(rates) else []:
        s = grp.set_index("replication")["per_1000_dau"]
        reason = CODE_REASONS.get(int(code), "")
        metric = f"rate_{code}" + ("_dau" if of == "user-days" else "")
        label = f"{code} {reason}: {'refused user-days' if of == 'user-days' else 'refusals'}"
        rows += [(r, metric, label, "per day per 1,000 DAU", float(s.get(r, 0.0))) for r in reps]
    return pd.DataFrame(rows, columns=["replication", "metric", "label", "unit", "value"])


def headline_summary(run: Run, per_rep: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`headline` as mean and 95 % confidence interval over the replications."""
    h = headline(run) if per_rep is None else per_rep
    return summarise(h, by=["metric", "label", "unit"])


def all_metrics(run: Run, top: int = 10) -> dict[str, pd.DataFrame]:
    """Every table of a report, by name (means per replication where a table has no
    ``replication`` column)."""
    trans = transitions(run)
    excess = grandfathered_excess(run)
    per_rep = headline(run, trans, excess)
    funnel = upgrade_funnel(run, trans)
    return {
        "headline": headline_summary(run, per_rep),
        "headline_by_replication": per_rep,
        "revenue_by_month_edition_item": revenue(
            run, by=["month", "edition", "item"], per_replication=False
        ),
        "revenue_by_archetype": revenue(run, by=["archetype"], per_replication=False),
        "mrr_arpu_by_month": per_replication_mean(
            mrr_arpu(run),
            ["month"],
            ["revenue", "mrr", "overage", "live_apps", "paying_apps"],
            len(run.replications),
        ).pipe(_arpu),
        "error_rates_by_code": error_rates(run, per_replication=False),
        "error_rates_by_month": error_rates(run, by=["month"], per_replication=False),
        "error_rates_by_op": error_rates(run, by=["op"], per_replication=False),
        "error_rates_by_edition": error_rates(run, by=["edition"], per_replication=False),
        "console_refusals": console_refusals(run),
        "initial_states": initial_states(run),
        "lifecycle_flow": lifecycle_flow(run, trans),
        "changes_by_month": changes_by_month(run, CHANGE_KINDS, trans),
        "downgrades_by_month": changes_by_month(run, ["downgrade", "pack_down"], trans),
        "deactivations_by_month": changes_by_month(run, ["deactivation"], trans),
        "upgrade_funnel": funnel_summary(run, funnel),
        "upgrade_funnel_apps": funnel,
        "grandfathered_by_day": grandfathered_by_day(run, excess),
        "top_error_apps": top_error_apps(run, top),
    }


def _arpu(df: pd.DataFrame) -> pd.DataFrame:
    spend = df["mrr"] + df["overage"]
    df["arpu"] = spend / df["live_apps"].where(df["live_apps"] > 0)
    df["arppu"] = spend / df["paying_apps"].where(df["paying_apps"] > 0)
    return df
