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
    """Per replication, app and day above a group cap (:func:`sim.results.prepare.
    grandfathered_excess`); needs the usage table whole (empty when the run was read in
    streaming: :func:`grandfathered_by_day` has the tallies)."""
    return prep.grandfathered_excess(run.usage, run.caps)


def grandfathered_by_day(run: Run) -> pd.DataFrame:
    """Per day, mean per replication: apps above their group cap and their excess groups,
    apps above their live-group cap and their excess live groups."""
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
    """Apps by cohort (the month of their first day) and archetype, over the report's months,
    means per replication: ``apps``, ``paying`` (apps with a recurring charge that month),
    ``share_paying`` (paying / apps), ``mrr`` and ``revenue_retention`` (the cohort's MRR as a
    share of its MRR in its first month with any): columns cohort, archetype, month, age
    (months since the cohort's month), apps, paying, share_paying, mrr, revenue_retention."""
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
    """Recurring charges per replication, app and month of the report: postpaid lines, and
    prepaid lines spread evenly over the months bought: replication, app, month, amount."""
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
    """The MRR bridge (waterfall) month by month, means per replication: for each month after
    the first, ``start`` (last month's MRR), ``new`` (apps paying now that did not last
    month), ``expansion`` and ``contraction`` (apps paying both months, more or less),
    ``churn`` (apps that stopped paying, negative) and ``end``; start + new + expansion +
    contraction + churn = end. Currency per month."""
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
