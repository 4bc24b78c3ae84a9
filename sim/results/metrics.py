"""Metrics of a run: tidy DataFrames from its tables, one row per key. Pure pandas, no I/O.

Build a :class:`~sim.results.prepare.Run` with :func:`prepare` (:mod:`sim.results.prepare`)
from the tables ``sim run`` writes and its ``summary.json``; every function here takes a
``Run`` and returns a DataFrame.

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

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.results.lifecycle import (  # re-exported: sim.metrics is the public API
    BRIDGE_STEPS as BRIDGE_STEPS,
)
from sim.results.lifecycle import (
    CHANGE_KINDS as CHANGE_KINDS,
)
from sim.results.lifecycle import (
    EDITION_RANK as EDITION_RANK,
)
from sim.results.lifecycle import (
    STATES as STATES,
)
from sim.results.lifecycle import (
    UPGRADE_KINDS as UPGRADE_KINDS,
)
from sim.results.lifecycle import (
    changes_by_month as changes_by_month,
)
from sim.results.lifecycle import (
    cohorts as cohorts,
)
from sim.results.lifecycle import (
    funnel_summary as funnel_summary,
)
from sim.results.lifecycle import (
    grandfathered_by_day as grandfathered_by_day,
)
from sim.results.lifecycle import (
    grandfathered_excess as grandfathered_excess,
)
from sim.results.lifecycle import (
    initial_states as initial_states,
)
from sim.results.lifecycle import (
    lifecycle_flow as lifecycle_flow,
)
from sim.results.lifecycle import (
    mrr_bridge as mrr_bridge,
)
from sim.results.lifecycle import (
    recurring as recurring,
)
from sim.results.lifecycle import (
    transitions as transitions,
)
from sim.results.lifecycle import (
    upgrade_funnel as upgrade_funnel,
)
from sim.results.prepare import ACTIVITY, CODE_REASONS, Run
from sim.results.prepare import LIMIT_CODES as LIMIT_CODES
from sim.results.prepare import caps_from_catalog as caps_from_catalog  # re-exported
from sim.results.prepare import group_op_counts as group_op_counts  # re-exported
from sim.results.prepare import prepare as prepare  # re-exported
from sim.results.stats import per_replication_mean, summarise

# -- error codes and refusals -----------------------------------------------------------------


def _sum_by(df: pd.DataFrame, keys: list[str], col: str, name: str) -> pd.DataFrame:
    if not keys:
        return pd.DataFrame({name: [float(df[col].sum())]})
    return df.groupby(keys, dropna=False)[col].sum().rename(name).reset_index()


def error_rates(run: Run, by: Sequence[str] = (), per_replication: bool = True) -> pd.DataFrame:
    """Error-code rates per ``by`` key and ``error_code``.

    Only refused attempts (``error_code`` other than 0) make rows. Group operations are counted
    in operations; refused DAU (op ``activity``: 72000, 60020) in user-days, out of the DAU
    demanded (served + refused).

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    by : sequence of str, default ()
        Keys to break the rates down by, any of ``month``, ``op``, ``edition`` (the edition in
        force at 12:00 that day); ``()``: one row per error code (and ``of``).
    per_replication : bool, default True
        True: one row per replication and key, counts as counted in that replication. False: no
        ``replication`` column, counts are means per replication (summed over the replications,
        divided by their number).

    Returns
    -------
    pandas.DataFrame
        Columns, in order:

        - ``replication`` (int; only when ``per_replication``), then the ``by`` keys;
        - ``error_code`` (int) and ``reason`` (str, the code's short reason);
        - ``of`` (str): ``operations`` for group operations, ``user-days`` for refused activity
          (op ``activity``);
        - ``errors`` (float): refused operations, or refused user-days;
        - ``attempts`` (float): the group operations of the ``by`` key (op ``activity`` left
          out), in operations; or the DAU demanded, served + refused, in user-days;
        - ``share`` (float, a fraction 0-1): errors / attempts; NaN without attempts;
        - ``per_1000_dau`` (float, errors per day per 1,000 DAU): errors × 1000 / the served
          DAU-days of the key (``op`` does not divide DAU: with ``op`` in ``by`` the
          denominator is that of the other keys); NaN without DAU (a replay).

        Rows sorted by the keys, ``error_code``, ``of``; a fresh RangeIndex. Empty (these
        columns) when the run has no group operations.
    """
    by = list(by)
    c = run.op_totals
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
    u = run.dau_totals
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
    """Console operations refused, by op and reason.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    per_replication : bool, default False
        True: one row per replication, op and reason, counts as counted. False: no
        ``replication`` column, counts are means per replication.

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int; only when ``per_replication``), ``op`` (str), ``reason``
        (str), ``refused`` (float, console operations refused), ``attempts`` (float, console
        operations of the op attempted, whatever their reason or outcome), ``share`` (float, a
        fraction 0-1: refused / attempts). Only (op, reason) pairs with a refusal. Rows sorted by
        ``refused`` descending (by ``replication`` descending first when ``per_replication``);
        a fresh RangeIndex. Empty (these columns) without console operations or their ``ok``
        column.
    """
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
    """The ``n`` apps with the most refused group operations, means per replication.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    n : int, default 10
        How many apps.

    Returns
    -------
    pandas.DataFrame
        One row per app, most refused group operations (op ``activity`` left out) first, ties in
        app order. Columns (counts are means per replication: summed over the replications,
        divided by their number):

        - ``app`` (str), ``archetype`` (str, "" if unknown);
        - ``errors`` (float, refused group operations), ``attempts`` (float, group operations
          attempted), ``share`` (float, a fraction 0-1: errors / attempts);
        - ``refused_user_days`` (float, user-days): DAU refused (op ``activity``);
        - then one column per error code of a group operation refused to these apps, named by
          the code (str, e.g. ``"10014"``): its refused operations.

        A fresh RangeIndex. Empty (the first six columns) without refused group operations.
    """
    c = run.app_errors
    cols = ["app", "archetype", "errors", "attempts", "share", "refused_user_days"]
    if c.empty:
        return pd.DataFrame(columns=cols)
    div = len(run.replications)
    c = c.astype({"app": object})
    act = c["activity"].astype(bool)
    ops = c[~act]
    att = ops.groupby("app")["n"].sum() / div
    days = c[act & (c["error_code"] != 0)].groupby("app")["n"].sum() / div
    err = ops[ops["error_code"] != 0]
    if err.empty:
        return pd.DataFrame(columns=cols)
    total = (err.groupby("app")["n"].sum() / div).rename("errors")
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
    e = err[err["app"].isin(top)]
    codes = e.pivot_table(index="app", columns="error_code", values="n", aggfunc="sum")
    codes = (codes.reindex(top).fillna(0) / div).loc[:, lambda d: d.sum() > 0]
    codes.columns = [str(int(k)) for k in codes.columns]
    return pd.concat([out, codes.reset_index(drop=True)], axis=1)


# -- revenue ------------------------------------------------------------------------------------


def revenue(run: Run, by: Sequence[str] = ("month",), per_replication: bool = True) -> pd.DataFrame:
    """Billed ``amount`` per ``by`` key, by the month of service (prepaid: the month of purchase).

    Only bill lines of the report's months count (not the warm-up). Every month of the run
    appears (0 without bills) when ``month`` is the only key.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    by : sequence of str, default ("month",)
        Keys: any bill column (``month``, ``item``, ``option``, ``kind``, ``app``, ...), or
        ``edition`` (the edition the line belongs to) / ``archetype`` (the app's).
    per_replication : bool, default True
        True: one row per replication and key. False: no ``replication`` column, amounts are
        means per replication (summed over the replications, divided by their number).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int; only when ``per_replication``), the ``by`` keys,
        ``amount`` (float, in the bills' currency: the sum of the bill lines, over the whole
        key, e.g. per month with ``by=("month",)``). Rows sorted by the keys; a fresh
        RangeIndex.
    """
    keys = (["replication"] if per_replication else []) + list(by)
    b = run.bills
    b = b[b["month"].isin(list(run.months))] if run.months and len(b) else b
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
    """Apps in a live state (not Deactivated) at some moment of each month.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``month`` (``YYYY-MM``), ``live_apps`` (int, apps: those
        with a timeline interval in a state other than Deactivated that overlaps the month).
        One row per report month and replication (a replication without any: 0), ordered by
        month, then replication. Empty (these columns) without a timeline or months.
    """
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
    """Revenue, MRR, overage and ARPU per replication and month.

    ``mrr`` is recurring revenue: postpaid lines, plus prepaid lines spread evenly over the
    months bought (:func:`recurring`). A figure missing for a month is 0.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).

    Returns
    -------
    pandas.DataFrame
        One row per replication and report month (replication, then month order; a fresh
        RangeIndex). Columns, money in the bills' currency per month:

        - ``replication`` (int), ``month`` (``YYYY-MM``);
        - ``revenue`` (float): all bill lines billed for the month;
        - ``mrr`` (float): recurring charges of the month;
        - ``overage`` (float): usage overage lines (kind ``overage``);
        - ``paying_apps`` (apps): apps with a recurring charge above 0 that month;
        - ``live_apps`` (apps): :func:`live_apps`;
        - ``arpu`` (float, currency per app per month): (mrr + overage) / live_apps; NaN
          without live apps;
        - ``arppu`` (float, currency per paying app per month): (mrr + overage) / paying_apps;
          NaN without paying apps.
    """
    b = run.bills
    grid = pd.DataFrame(
        [(r, m) for r in run.replications for m in run.months], columns=["replication", "month"]
    )
    rec = recurring(run)
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


def _money_figures(run: Run) -> dict[str, pd.Series]:
    mrr = mrr_arpu(run)
    last = mrr[mrr["month"] == run.months[-1]].set_index("replication") if run.months else mrr
    per = mrr.groupby("replication")
    return {
        "revenue_total": revenue(run, by=["item"]).groupby("replication")["amount"].sum(),
        "mrr_last": last.get("mrr", pd.Series(dtype=float)),
        "mrr_mean": per["mrr"].mean(),
        "arpu_last": last.get("arpu", pd.Series(dtype=float)),
        "overage_total": per["overage"].sum(),
        "paying_apps_last": last.get("paying_apps", pd.Series(dtype=float)),
    }


def _refusal_figures(run: Run) -> dict[str, pd.Series]:
    reps = list(run.replications)
    vals: dict[str, pd.Series] = {}
    c = run.op_totals
    c = c[c["op"] != ACTIVITY] if len(c) else c
    vals["group_attempts"] = c.groupby("replication")["n"].sum()
    vals["group_errors"] = c[c["error_code"] != 0].groupby("replication")["n"].sum()
    vals["error_share"] = (
        100
        * vals["group_errors"].reindex(reps, fill_value=0)
        / vals["group_attempts"].reindex(reps).where(lambda s: s > 0)
    )
    u = run.dau_totals
    dau = u.groupby("replication")["dau"].sum() if len(u) else pd.Series(dtype=float)
    dau = dau.reindex(reps).astype(float).where(lambda s: s > 0)
    vals["errors_per_1000_dau"] = 1000 * vals["group_errors"].reindex(reps, fill_value=0) / dau
    if len(u) and "dau_refused" in u.columns:
        refused = u.groupby("replication")["dau_refused"].sum().reindex(reps).astype(float)
        vals["dau_refused_share"] = 100 * refused / (refused + dau.fillna(0)).where(lambda s: s > 0)
    con = run.console_ops
    if "ok" in con.columns:
        vals["console_refusals"] = con[~con["ok"].astype(bool)].groupby("replication").size()
    return vals


def _lifecycle_figures(run: Run, trans: pd.DataFrame) -> dict[str, pd.Series]:
    vals: dict[str, pd.Series] = {}
    tl = run.timeline
    vals["apps"] = tl.groupby("replication")["app"].nunique() if len(tl) else pd.Series()
    for name, kinds in (
        ("upgrades", ["upgrade"]),
        ("downgrades", ["downgrade"]),
        ("deactivations", ["deactivation"]),
    ):
        vals[name] = trans[trans["kind"].isin(kinds)].groupby("replication")["app"].nunique()
    f = upgrade_funnel(run, trans)
    vals["limit_apps"] = f.groupby("replication").size()
    upgraded = f.groupby("replication")["days_to_upgrade"]
    vals["upgraded_after_limit"] = 100 * upgraded.count() / upgraded.size().where(lambda s: s > 0)
    vals["days_to_upgrade"] = upgraded.median()
    gf, days = run.gf_by_day, run.days
    if run.caps and len(days):
        last = gf[gf["date"] == days["date"].max()]
        vals["grandfathered_apps_last"] = last.groupby("replication")["over_groups"].sum()
    return vals


ZERO_IF_MISSING = frozenset(
    {
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
)
"""Headline figures that are 0, not missing, in a replication without any."""


def rate_label(code: int, reason: str, of: str) -> str:
    """The label of an error code's rate: code, reason, and what it is counted in.

    A code can be counted both in refused operations and in refused user-days (60020).

    Parameters
    ----------
    code : int
        The error code.
    reason : str
        Its short reason (``CODE_REASONS``).
    of : str
        What it is counted in, as :func:`error_rates` ``of``: ``user-days`` or ``operations``
        (anything but ``user-days`` reads as operations).

    Returns
    -------
    str
        ``"<code> <reason>: refused user-days"`` or ``"<code> <reason>: refused operations"``.
    """
    return f"{code} {reason}: {'refused user-days' if of == 'user-days' else 'refused operations'}"


def headline(run: Run, trans: pd.DataFrame | None = None) -> pd.DataFrame:
    """The headline figures per replication, in long form.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    trans : pandas.DataFrame or None, default None
        :func:`transitions` of ``run``, if already computed; None computes it.

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``metric`` (str, an id of :data:`HEADLINES`, or
        ``rate_<code>`` / ``rate_<code>_dau``), ``label`` (str), ``unit`` (str) and ``value``
        (float, in ``unit``). Units: the bills' currency (``revenue_total``,
        ``overage_total``), currency/month (``mrr_last``, ``mrr_mean``), currency/app/month
        (``arpu_last``), apps, operations, days (``days_to_upgrade``, a median), % as 0-100
        (``error_share``, ``dau_refused_share``, ``upgraded_after_limit``) and per day per 1,000
        DAU (``errors_per_1000_dau`` and the rates).

        Rows: the metrics in :data:`HEADLINES` order, each with one row per replication (in
        replication order); a metric the run cannot give is left out (``dau_refused_share``
        without usage days, ``console_refusals`` without console outcomes,
        ``grandfathered_apps_last`` without caps). A replication without a figure has 0 for
        the :data:`ZERO_IF_MISSING` metrics, NaN for the others. Then one ``rate_<code>`` per
        error code met in group operations and one ``rate_<code>_dau`` per code met in refused
        user-days (:func:`error_rates` ``per_1000_dau``, 0 in a replication without it), by
        code; none when the run has no DAU (a replay). A fresh RangeIndex.
    """
    reps = list(run.replications)
    t = transitions(run) if trans is None else trans
    vals = {**_money_figures(run), **_refusal_figures(run), **_lifecycle_figures(run, t)}
    rows = []
    for metric, (label, unit) in HEADLINES.items():
        if metric not in vals:
            continue
        fill = 0 if metric in ZERO_IF_MISSING else np.nan
        s = vals[metric].reindex(reps, fill_value=fill)
        unit = unit.format(cur=run.currency or "currency")
        rows += [(r, metric, label, unit, float(v)) for r, v in s.items()]
    rates = error_rates(run)
    rates = rates[rates["per_1000_dau"].notna()] if len(rates) else rates  # a replay: no DAU
    for (code, of), grp in rates.groupby(["error_code", "of"]) if len(rates) else []:
        s = grp.set_index("replication")["per_1000_dau"]
        reason = CODE_REASONS.get(int(code), "")
        metric = f"rate_{code}" + ("_dau" if of == "user-days" else "")
        label = rate_label(int(code), reason, str(of))
        rows += [(r, metric, label, "per day per 1,000 DAU", float(s.get(r, 0.0))) for r in reps]
    return pd.DataFrame(rows, columns=["replication", "metric", "label", "unit", "value"])


def headline_summary(run: Run, per_rep: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`headline` as mean and 95 % confidence interval over the replications.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    per_rep : pandas.DataFrame or None, default None
        :func:`headline` of ``run``, if already computed; None computes it.

    Returns
    -------
    pandas.DataFrame
        One row per metric, in :func:`headline` order. Columns: ``metric``, ``label``, ``unit``
        (str), ``mean``, ``sd`` (sample standard deviation), ``ci_low``, ``ci_high`` (float, in
        ``unit``; Student t; NaN with fewer than 2 values) and ``n`` (int, replications with a
        value: NaN values are dropped). See :func:`summarise`.
    """
    h = headline(run) if per_rep is None else per_rep
    return summarise(h, by=["metric", "label", "unit"])


def all_metrics(run: Run, top: int = 10) -> dict[str, pd.DataFrame]:
    """Every table of a report, by name.

    Tables without a ``replication`` column hold means per replication.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`prepare`).
    top : int, default 10
        How many apps ``top_error_apps`` lists.

    Returns
    -------
    dict of str to pandas.DataFrame
        In this order (units and columns: the functions named):

        - ``headline``: :func:`headline_summary`; ``headline_by_replication``: :func:`headline`;
        - ``revenue_by_month_edition_item``, ``revenue_by_archetype``: :func:`revenue` by
          (month, edition, item) and by archetype, means per replication;
        - ``mrr_arpu_by_month``: :func:`mrr_arpu` as means per replication per month (``arpu``
          and ``arppu`` recomputed from the means); ``mrr_arpu_by_replication``: :func:`mrr_arpu`;
        - ``mrr_bridge``: :func:`mrr_bridge`; ``cohorts``: :func:`cohorts`;
        - ``error_rates_by_code``, ``error_rates_by_month``, ``error_rates_by_op``,
          ``error_rates_by_edition``: :func:`error_rates`, means per replication;
          ``error_rates_by_month_replication``: by month, per replication;
        - ``console_refusals``: :func:`console_refusals`;
        - ``initial_states``: :func:`initial_states`; ``lifecycle_flow``: :func:`lifecycle_flow`;
        - ``changes_by_month`` (every kind of :data:`CHANGE_KINDS`), ``downgrades_by_month``
          (``downgrade``, ``pack_down``), ``deactivations_by_month``: :func:`changes_by_month`;
        - ``upgrade_funnel``: :func:`funnel_summary`; ``upgrade_funnel_apps``:
          :func:`upgrade_funnel`;
        - ``grandfathered_by_day``: :func:`grandfathered_by_day`;
        - ``top_error_apps``: :func:`top_error_apps` (``top`` apps).
    """
    trans = transitions(run)
    per_rep = headline(run, trans)
    funnel = upgrade_funnel(run, trans)
    mrr = mrr_arpu(run)
    return {
        "headline": headline_summary(run, per_rep),
        "headline_by_replication": per_rep,
        "revenue_by_month_edition_item": revenue(
            run, by=["month", "edition", "item"], per_replication=False
        ),
        "revenue_by_archetype": revenue(run, by=["archetype"], per_replication=False),
        "mrr_arpu_by_month": per_replication_mean(
            mrr,
            ["month"],
            ["revenue", "mrr", "overage", "live_apps", "paying_apps"],
            len(run.replications),
        ).pipe(_arpu),
        "mrr_arpu_by_replication": mrr,
        "mrr_bridge": mrr_bridge(run),
        "cohorts": cohorts(run),
        "error_rates_by_code": error_rates(run, per_replication=False),
        "error_rates_by_month": error_rates(run, by=["month"], per_replication=False),
        "error_rates_by_month_replication": error_rates(run, by=["month"]),
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
        "grandfathered_by_day": grandfathered_by_day(run),
        "top_error_apps": top_error_apps(run, top),
    }


def _arpu(df: pd.DataFrame) -> pd.DataFrame:
    spend = df["mrr"] + df["overage"]
    df["arpu"] = spend / df["live_apps"].where(df["live_apps"] > 0)
    df["arppu"] = spend / df["paying_apps"].where(df["paying_apps"] > 0)
    return df
