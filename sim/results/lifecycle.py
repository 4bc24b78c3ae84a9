"""Lifecycle metrics of a run: changes of state and packs, the upgrade funnel, the
grandfathered excess (R12) and cohorts of apps by start month. Pure pandas, no I/O; every
function takes a :class:`~sim.results.prepare.Run` (conventions: :mod:`sim.results.metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.core.vocab import STATES as VOCAB_STATES
from sim.results import prepare as prep
from sim.results.prepare import PACK_COLUMNS, Run, month_of
from sim.results.stats import per_replication_mean

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
    """Every change of an app's state or packs within the run's months.

    One change per pair of consecutive timeline intervals of an app; only changes within the
    run's months (the engine also dates a prepaid package's lapse after the horizon). ``kind``,
    first rule that applies: ``deactivation`` (to Deactivated); ``downgrade`` (IM → Trial);
    ``lapse`` (to Trial-lapsed); ``upgrade`` / ``downgrade`` (edition rank up / down,
    :data:`EDITION_RANK`); ``upgrade`` (another state, a ``-prepaid`` or ``-postpaid`` one);
    ``other`` (another state); ``pack_up`` / ``pack_down`` / ``pack_change`` (packs raised,
    lowered, both); ``renewal`` (Trial-prepaid again); else ``other``.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``app``, ``archetype`` (``unknown`` if not known),
        ``time`` (naive datetime64, the catalog's zone: the start of the new interval),
        ``date`` (its day), ``month`` (``YYYY-MM``), ``from_state``, ``to_state``,
        ``from_edition``, ``to_edition``, ``kind`` (one of :data:`CHANGE_KINDS`). Rows in
        timeline order (replication, app, start); a fresh RangeIndex.
    """
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
    """Apps that went from one state to another, mean per replication.

    Each app counts once per (from_state, to_state, kind) in a replication; packs-only changes
    (same state) are left out.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).
    trans : pandas.DataFrame or None, default None
        :func:`transitions` of ``run``, if already computed; None computes it.

    Returns
    -------
    pandas.DataFrame
        Columns: ``from_state``, ``to_state``, ``kind`` (str), ``apps`` (float, apps: distinct
        apps summed over the replications, divided by their number). Rows sorted by ``apps``
        descending; a fresh RangeIndex.
    """
    t = transitions(run) if trans is None else trans
    t = t[t["from_state"] != t["to_state"]]
    keys = ["replication", "from_state", "to_state", "kind"]
    per = t.groupby(keys, as_index=False)["app"].nunique().rename(columns={"app": "apps"})
    out = per_replication_mean(per, keys[1:], ["apps"], len(run.replications))
    return out.sort_values("apps", ascending=False, ignore_index=True)


def initial_states(run: Run) -> pd.DataFrame:
    """Apps by the state of their first timeline interval, mean per replication.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``state`` (str), ``apps`` (float, apps: summed over the replications, divided
        by their number). Rows sorted by state. Empty (these columns) without a timeline.
    """
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
    """Transitions of the given ``kinds`` per month, from_state, to_state and kind.

    Downgrades are ``("downgrade", "pack_down")``, deactivations ``("deactivation",)``.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).
    kinds : sequence of str
        The transition kinds to keep (:data:`CHANGE_KINDS`).
    trans : pandas.DataFrame or None, default None
        :func:`transitions` of ``run``, if already computed; None computes it.
    per_replication : bool, default False
        True: one row per replication and key, counts as counted. False: no ``replication``
        column, counts are means per replication (summed, divided by the replications).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int; only when ``per_replication``), ``month``
        (``YYYY-MM``), ``from_state``, ``to_state``, ``kind``, ``apps`` (apps: distinct apps
        with such a change) and ``changes`` (changes: transitions, an app may change more than
        once); float when means. Rows sorted by the keys; a fresh RangeIndex. Only keys with a
        change.
    """
    t = transitions(run) if trans is None else trans
    t = t[t["kind"].isin(list(kinds))]
    keys = ["replication", "month", "from_state", "to_state", "kind"]
    per = t.groupby(keys, as_index=False).agg(apps=("app", "nunique"), changes=("app", "size"))
    if per_replication:
        return per
    return per_replication_mean(per, keys[1:], ["apps", "changes"], len(run.replications))


def upgrade_funnel(run: Run, trans: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per replication and app that met a limit error: that error and its first later upgrade.

    A limit error is one of :data:`LIMIT_CODES` (R13); the upgrade is the app's first
    transition of :data:`UPGRADE_KINDS` (edition up, prepaid bought, or pack raised) on a later
    day than its first limit error.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).
    trans : pandas.DataFrame or None, default None
        :func:`transitions` of ``run``, if already computed; None computes it.

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``app``, ``archetype`` (``unknown`` if not known),
        ``first_limit_date`` (naive datetime64 day of the first limit error),
        ``first_limit_code`` (int), ``upgrade_date`` (day of the upgrade; NaT if none),
        ``action`` (its kind: ``upgrade`` or ``pack_up``; NaN if none), ``to_state`` (the
        state after it; NaN if none), ``days_to_upgrade`` (float, days from first limit error
        to upgrade; NaN if it never upgraded). Rows sorted by replication and app; a fresh
        RangeIndex. Empty (these columns) when no app met a limit error.
    """
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
    first = run.first_limit
    if first.empty:
        return pd.DataFrame(columns=cols)
    first = first[["replication", "app", "date", "error_code"]].rename(
        columns={"date": "first_limit_date", "error_code": "first_limit_code"}
    )
    first = first.astype({"app": object})
    t = transitions(run) if trans is None else trans
    up = t[t["kind"].isin(UPGRADE_KINDS)][["replication", "app", "date", "kind", "to_state"]]
    m = first.merge(up.astype({"app": object}), on=["replication", "app"], how="left")
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
    """The upgrade funnel in stages, mean per replication.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).
    funnel : pandas.DataFrame or None, default None
        :func:`upgrade_funnel` of ``run``, if already computed; None computes it.

    Returns
    -------
    pandas.DataFrame
        Five rows, in this order (``stage``): ``all apps`` (apps in the timeline), ``met a
        limit error``, ``upgraded after it``, ``... within 7 days``, ``... within 30 days``
        (days from the first limit error to the upgrade). Columns: ``stage`` (str), ``apps``
        (float, apps: summed over the replications, divided by their number), ``share`` (float,
        a fraction 0-1 of all apps; NaN when there are none).
    """
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
    """Per replication, app and day above a group cap (R12).

    See :func:`sim.results.prepare.grandfathered_excess`. Needs the usage table whole: empty
    when the run was read in streaming (:func:`grandfathered_by_day` has the tallies).

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``app``, ``date`` (naive datetime64 day), ``month``
        (``YYYY-MM``), ``edition``, ``nonlive_groups`` (groups: groups - live groups, daily
        peaks), ``nonlive_cap`` (groups; inf: unlimited), ``excess_groups`` (groups above the
        cap, ≥ 0), ``live_groups``, ``live_cap`` (inf: unlimited or ``live_unlimited``),
        ``excess_live_groups`` (groups, ≥ 0). Only days with an excess, sorted by replication,
        app, date; a fresh RangeIndex. Empty (these columns) without caps or group counts.
    """
    return prep.grandfathered_excess(run.usage, run.caps)


def grandfathered_by_day(run: Run) -> pd.DataFrame:
    """Apps above their group caps and their excess groups per day, mean per replication.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``date`` (naive datetime64 day), ``apps_over_group_cap`` (apps above their
        non-live group cap), ``excess_groups`` (groups above it, summed over those apps),
        ``apps_over_live_cap`` (apps above their live-group cap), ``excess_live_groups``
        (live groups above it); floats, summed over the replications and divided by their
        number. One row per day of usage (0 where no app was above a cap), in date order.
        Empty (these columns) when no app was ever above a cap (or without caps or usage).
    """
    per = run.gf_by_day
    cols = list(prep.GF_COLUMNS)
    out = per_replication_mean(per, ["date"], cols, len(run.replications))
    days = run.days
    if len(out) and len(days):
        out = days.merge(out, on="date", how="left").fillna(0)
    return out.rename(
        columns={"over_groups": "apps_over_group_cap", "over_live": "apps_over_live_cap"}
    )


def cohorts(run: Run) -> pd.DataFrame:
    """Apps by cohort and archetype over the report's months, means per replication.

    The cohort is the month of an app's first day (its first timeline interval, possibly in
    the warm-up). ``revenue_retention`` is the cohort's MRR as a share of its MRR in its first
    month with any.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        One row per cohort, archetype and report month from the cohort's month on, sorted by
        cohort, archetype, month; a fresh RangeIndex. Columns:

        - ``cohort``, ``month`` (``YYYY-MM``), ``archetype`` (``unknown`` if not known);
        - ``age`` (int, months since the cohort's month);
        - ``apps`` (float, apps of the cohort, whatever their state);
        - ``paying`` (float, apps with a recurring charge that month, :func:`recurring`);
        - ``share_paying`` (float, a fraction 0-1: paying / apps);
        - ``mrr`` (float, the cohort's recurring charges, in the bills' currency per month);
        - ``revenue_retention`` (float, a fraction: mrr / the cohort's mrr in its first month
          with mrr above 0; NaN before it or if none).

        Counts and money are summed over the replications and divided by their number. Empty
        (these columns) without a timeline or months.
    """
    cols = [
        "cohort",
        "archetype",
        "month",
        "age",
        "apps",
        "paying",
        "share_paying",
        "mrr",
        "revenue_retention",
    ]
    tl = run.timeline
    if tl.empty or not run.months:
        return pd.DataFrame(columns=cols)
    first = tl.groupby(["replication", "app"], as_index=False, observed=True)["start"].min()
    first["cohort"] = month_of(first["start"])
    first["archetype"] = first["app"].map(run.archetypes).astype(object).fillna("unknown")
    size = first.groupby(["replication", "cohort", "archetype"], as_index=False).size()
    rec = recurring(run)
    rec = rec.merge(
        first[["replication", "app", "cohort", "archetype"]].astype({"app": object}),
        on=["replication", "app"],
        how="inner",
    )
    keys = ["replication", "cohort", "archetype", "month"]
    per = rec.groupby(keys, as_index=False).agg(mrr=("amount", "sum"), paying=("app", "nunique"))
    grid = size.merge(pd.DataFrame({"month": list(run.months)}), how="cross")
    grid = grid[grid["month"] >= grid["cohort"]]
    per = grid.merge(per, on=keys, how="left").fillna({"mrr": 0.0, "paying": 0})
    out = per_replication_mean(
        per.rename(columns={"size": "apps"}),
        keys[1:],
        ["apps", "paying", "mrr"],
        len(run.replications),
    )
    out["share_paying"] = out["paying"] / out["apps"].where(out["apps"] > 0)
    base = out[out["mrr"] > 0].sort_values("month").drop_duplicates(["cohort", "archetype"])
    base = base.set_index(["cohort", "archetype"])["mrr"]
    ref = pd.Series(list(zip(out["cohort"], out["archetype"], strict=True))).map(base)
    out["revenue_retention"] = out["mrr"] / ref.where(ref > 0).to_numpy()
    age = pd.PeriodIndex(out["month"], freq="M") - pd.PeriodIndex(out["cohort"], freq="M")
    out["age"] = [a.n for a in age]
    return out.sort_values(["cohort", "archetype", "month"], ignore_index=True)[cols]


def recurring(run: Run) -> pd.DataFrame:
    """Recurring charges per replication, app and month of the report.

    Postpaid lines in their month, and prepaid lines spread evenly over the months bought
    (``quantity`` months from the month of purchase, at least 1: amount / quantity each).

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``app``, ``month`` (``YYYY-MM``, a report month),
        ``amount`` (float, in the bills' currency per month: that app's recurring charges
        that month). One row per key with a charge line, sorted by replication, app, month.
    """
    b = run.bills
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
    rec = rec.groupby(["replication", "app", "month"], as_index=False, observed=True)[
        "amount"
    ].sum()
    rec = rec.astype({"app": object})
    return rec[rec["month"].isin(list(run.months))] if run.months else rec


BRIDGE_STEPS = ("new", "expansion", "contraction", "churn")
"""The MRR bridge's steps from one month to the next (:func:`mrr_bridge`)."""


def mrr_bridge(run: Run) -> pd.DataFrame:
    """The MRR bridge (waterfall) month by month, means per replication.

    start + new + expansion + contraction + churn = end.

    Parameters
    ----------
    run : Run
        The prepared run (:func:`~sim.results.prepare.prepare`).

    Returns
    -------
    pandas.DataFrame
        One row per report month after the first, in month order; a fresh RangeIndex. Columns,
        money in the bills' currency per month (MRR as in :func:`recurring`), summed over the
        replications and divided by their number:

        - ``month`` (``YYYY-MM``);
        - ``start``: last month's MRR;
        - ``new``: MRR of apps paying now that did not last month;
        - ``expansion``: the increase of apps paying both months, more (≥ 0);
        - ``contraction``: the decrease of apps paying both months, less (≤ 0);
        - ``churn``: last month's MRR of apps that stopped paying (≤ 0);
        - ``end``: this month's MRR.

        Empty (these columns) with fewer than 2 report months.
    """
    cols = ["month", "start", *BRIDGE_STEPS, "end"]
    rec = recurring(run)
    months = list(run.months)
    if len(months) < 2:
        return pd.DataFrame(columns=cols)
    w = rec.pivot_table(
        index=["replication", "app"],
        columns="month",
        values="amount",
        aggfunc="sum",
        fill_value=0.0,
    )
    w = w.reindex(columns=months, fill_value=0.0)
    rows = []
    for prev, cur in zip(months[:-1], months[1:], strict=True):
        a, b = w[prev].to_numpy(float), w[cur].to_numpy(float)
        d = b - a
        both = (a > 0) & (b > 0)
        rows.append(
            (
                cur,
                a.sum(),
                b[(a <= 0) & (b > 0)].sum(),
                d[both & (d > 0)].sum(),
                d[both & (d < 0)].sum(),
                -a[(a > 0) & (b <= 0)].sum(),
                b.sum(),
            )
        )
    out = pd.DataFrame(rows, columns=cols)
    out[cols[1:]] = out[cols[1:]] / max(len(run.replications), 1)
    return out
