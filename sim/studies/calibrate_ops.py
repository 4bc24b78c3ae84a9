"""What the console operations and refusals say: start states, arrivals, conversion, refusals.

Computed alike on observed and on simulated tables (the simulated moments and the
goodness-of-fit figures compare the same statistics):

- an app is *there at the start* when its usage begins on the first date of the data; its
  start state is what the operations at its creation instant leave (``upgrade`` -> the
  edition, ``downgrade`` -> Trial, else IM);
- *conversion*: successful ``upgrade`` operations after an app's creation instant, per app-month
  on IM (from creation until the first successful operation that leaves IM, or the end of its
  usage);
- *refusal rates*: refused DAU over demand DAU (``usage``) and refused group operations over
  attempts (``group_ops``, op ``activity`` left out), per month;
- monthly series are compared by a KS distance whose p-value comes from permuting apps between
  the two sides (:func:`permutation_ks`): a month's rate is a sum over apps, and an app's
  months are not independent of each other.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.studies.calibrate_fit import MONTH_DAYS

START_STATES = ("IM", "Pro", "Ultimate", "Trial")
_LEAVE_IM = ("upgrade", "downgrade", "deactivate", "buy_prepaid")
_DAY = pd.Timedelta(days=1)


@dataclass
class Spells:
    """Per app: creation instant, first instant it left IM (NaT: never), end of its usage."""

    created: pd.Series
    left: pd.Series
    end: pd.Series
    start_state: pd.Series  # for the apps there at the start


def spells(console: pd.DataFrame, usage: pd.DataFrame) -> Spells:
    """The IM spells and start states of the apps of ``usage`` (every app has usage)."""
    c = console.loc[console["ok"].astype(bool)]
    t = pd.to_datetime(c["time"], utc=True)
    first_date = usage["date"].min()
    first = usage.groupby("app")["date"].min()
    end_date = usage.groupby("app")["date"].max() + _DAY
    created = t[c["op"] == "create_app"].groupby(c["app"]).min()
    t0 = t.min() if len(t) else pd.Timestamp(first_date, tz="UTC")
    created = created.reindex(first.index)
    # apps without a create_app row: created at midnight of their first date (UTC offset of t0)
    fallback = t0 + (first - first_date)
    created = created.fillna(fallback)
    c_created = created.reindex(c["app"]).to_numpy()
    at_creation = t.to_numpy() == c_created
    leave = c["op"].isin(_LEAVE_IM).to_numpy() & ~at_creation
    left = t[leave].groupby(c["app"][leave]).min().reindex(first.index)
    setup = c.loc[at_creation & c["op"].isin(("upgrade", "downgrade")).to_numpy()]
    last = setup.groupby("app").tail(1).set_index("app")
    state = pd.Series("IM", index=first.index[first == first_date], dtype=object)
    hit = last.index.intersection(state.index)
    ops = last.loc[hit]
    state.loc[hit] = np.where(ops["op"] == "downgrade", "Trial", ops["edition"].astype(str))
    end = t0 + (end_date - first_date)
    moved = left.index.isin(setup["app"].unique())  # off IM at creation: no IM spell
    left.loc[moved] = created.loc[moved]
    return Spells(created, left, end, state)


def conversion(
    console: pd.DataFrame, usage: pd.DataFrame, apps: pd.Index | None = None
) -> tuple[float, float]:
    """Upgrades after creation and app-months on IM (of ``apps``, default all)."""
    s = spells(console, usage)
    stop = s.left.fillna(s.end).where(s.left.fillna(s.end) < s.end, s.end)
    months = ((stop - s.created) / _DAY).clip(lower=0) / MONTH_DAYS
    c = console.loc[console["ok"].astype(bool) & (console["op"] == "upgrade")]
    t = pd.to_datetime(c["time"], utc=True).to_numpy()
    after = t > s.created.reindex(c["app"]).to_numpy()
    ups = c.loc[after, "app"]
    if apps is not None:
        months = months.reindex(apps).fillna(0)
        ups = ups[ups.isin(apps)]
    return float(len(ups)), float(months.sum())


Monthly = dict[str, tuple[pd.DataFrame, pd.DataFrame]]
"""Statistic -> (numerator, denominator): app x month (``YYYY-MM``) sums; a month's rate over a
set of apps is the numerator's column sum over the denominator's."""


def _pivot(keys: list[pd.Series], values: pd.Series) -> pd.DataFrame:
    return values.groupby(keys).sum().unstack(fill_value=0).astype(float)


def app_months(console: pd.DataFrame, usage: pd.DataFrame, group: pd.DataFrame | None) -> Monthly:
    """Per app and month: refused and demand DAU, refused and attempted group operations
    (``group_ops`` without op ``activity``), upgrades after creation and app-months on IM.
    Console times are read in the data's local time: the first instant is the first date's
    midnight."""
    month = usage["date"].dt.strftime("%Y-%m")
    refused = usage["dau_refused"].fillna(0)
    out: Monthly = {
        "dau_refused_monthly": (
            _pivot([usage["app"], month], refused),
            _pivot([usage["app"], month], usage["dau"] + refused),
        )
    }
    if group is not None:
        g = group.loc[group["op"] != "activity"]
        gm = g["date"].dt.strftime("%Y-%m")
        bad = g["count"].where(g["error_code"] != 0, 0)
        out["group_refused_monthly"] = (
            _pivot([g["app"], gm], bad),
            _pivot([g["app"], gm], g["count"]),
        )
    s = spells(console, usage)
    offset = s.created.min() - pd.Timestamp(usage["date"].min(), tz="UTC")

    def local(t: pd.Series) -> pd.Series:
        return (t - offset).dt.tz_localize(None)

    created, end = local(s.created), local(s.end)
    stop = local(s.left.fillna(s.end))
    stop = stop.where(stop < end, end)
    c = console.loc[console["ok"].astype(bool) & (console["op"] == "upgrade")]
    t = local(pd.to_datetime(c["time"], utc=True))
    after = t.to_numpy() > created.reindex(c["app"]).to_numpy()
    ups = pd.Series(1.0, index=c.index[after])
    months = sorted(set(month.unique()))
    exposure = {}
    for m in months:
        lo = pd.Timestamp(f"{m}-01")
        hi = lo + pd.offsets.MonthBegin(1)
        days = (stop.clip(upper=hi) - created.clip(lower=lo)) / _DAY
        exposure[m] = days.clip(lower=0) / MONTH_DAYS
    keys = [c["app"][after], t[after].dt.strftime("%Y-%m")]
    out["conversion_monthly"] = (_pivot(keys, ups), pd.DataFrame(exposure))
    return out


def monthly_rates(monthly: Monthly, apps: pd.Index) -> pd.DataFrame:
    """The monthly rates of ``apps`` (rows: months; columns: the statistics)."""
    cols = {}
    for stat, (num, den) in monthly.items():
        n = num.reindex(index=apps, columns=den.columns, fill_value=0).sum()
        d = den.reindex(index=apps, fill_value=0).sum()
        cols[stat] = n / d.where(d > 0)
    return pd.DataFrame(cols)


def permutation_ks(
    a: tuple[pd.DataFrame, pd.DataFrame],
    b: tuple[pd.DataFrame, pd.DataFrame],
    rng: np.random.Generator,
    n_perm: int = 200,
) -> tuple[float, float]:
    """KS distance between two monthly series (numerator and denominator app x month sums of
    two sets of apps) and its p-value by permuting the apps between the sets: the months of an
    app are not independent, its apps are."""
    months = a[1].columns.intersection(b[1].columns)
    num = np.vstack([x.reindex(columns=months, fill_value=0).to_numpy() for x in (a[0], b[0])])
    den = np.vstack([x.reindex(columns=months, fill_value=0).to_numpy() for x in (a[1], b[1])])
    n_a = len(a[0])
    if n_a == 0 or len(num) == n_a or not len(months):
        return float("nan"), float("nan")

    def series(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (num[mask].sum(0) / den[mask].sum(0)), (num[~mask].sum(0) / den[~mask].sum(0))

    first = np.arange(len(num)) < n_a
    d, _ = ks(*series(first))
    if not np.isfinite(d):
        return d, float("nan")
    hits = sum(ks(*series(rng.permutation(first)))[0] >= d - 1e-12 for _ in range(n_perm))
    return d, (1 + hits) / (1 + n_perm)


def per_app_stats(u: pd.DataFrame) -> pd.DataFrame:
    """Per app (the goodness-of-fit distributions): log demand users on its last day, mean
    served DAU and groups over its days, the growth shape (log users: the first half's rise less
    the second half's; 0 on average for the model's exponential growth) and the refused DAU
    share."""
    g = u.groupby("app", sort=False)
    y = np.log(np.maximum(u["U"].to_numpy(dtype=float), 1.0))
    ys = pd.Series(y, index=u.index)
    n = g.size()
    first = ys.groupby(u["app"].to_numpy(), sort=False).first()
    last = ys.groupby(u["app"].to_numpy(), sort=False).last()
    half = u["day"] - g["day"].transform("min") == (g["day"].transform("size") // 2)
    mid = pd.Series(y[half.to_numpy()], index=u.loc[half, "app"].to_numpy())
    shape = ((mid - first.reindex(mid.index)) - (last.reindex(mid.index) - mid))[
        n.reindex(mid.index) >= 60
    ]
    refused = u["dau_refused"].fillna(0)
    return pd.DataFrame(
        {
            "users_last": last,
            "dau_mean": g["dau"].mean(),
            "groups_mean": g["groups"].mean(),
            "growth_shape": shape.reindex(last.index),
            "dau_refused_share": refused.groupby(u["app"].to_numpy(), sort=False).sum()
            / g["D"].sum().replace(0, np.nan),
        }
    )


def ks(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov distance and its asymptotic p-value."""
    a = np.sort(a[np.isfinite(a)])
    b = np.sort(b[np.isfinite(b)])
    if not len(a) or not len(b):
        return float("nan"), float("nan")
    x = np.concatenate([a, b])
    d = float(
        np.max(
            np.abs(
                np.searchsorted(a, x, "right") / len(a) - np.searchsorted(b, x, "right") / len(b)
            )
        )
    )
    ne = len(a) * len(b) / (len(a) + len(b))
    lam = (np.sqrt(ne) + 0.12 + 0.11 / np.sqrt(ne)) * d
    k = np.arange(1, 101)
    p = float(np.clip(2 * np.sum((-1.0) ** (k - 1) * np.exp(-2 * k**2 * lam**2)), 0.0, 1.0))
    return d, p if d > 0 else 1.0


_SETS_EDITION = ("upgrade", "reconfigure")
_ENDS_PAYING = ("deactivate", "downgrade", "buy_prepaid")


def price_change_moves(
    console: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[int, int]:
    """The apps paying postpaid (Pro or Ultimate) just before the instant ``start`` (a catalog
    change, tz-aware) and how many of them leave or move down from ``start`` until ``end``:
    ``(moved, paying)``. Leaving: a successful ``deactivate``; moving down: a successful
    ``reconfigure`` to Pro from Ultimate or to fewer groups per user or members per group than
    the app's configuration before it (a live-pack switch, which campaigns make on and off
    whatever the prices, is not counted)."""
    c = console.loc[console["ok"].astype(bool)]
    t = pd.to_datetime(c["time"], utc=True)
    before = c.loc[(t < start).to_numpy()]
    state = before.loc[before["op"].isin(_SETS_EDITION + _ENDS_PAYING)].groupby("app").tail(1)
    paying = state.loc[
        state["op"].isin(_SETS_EDITION) & state["edition"].isin(("Pro", "Ultimate")), "app"
    ]
    sets = c.loc[c["op"].isin(_SETS_EDITION) & c["app"].isin(paying)]
    prev = sets.groupby("app")[["edition", "groups_per_user", "members_per_group"]].shift(1)
    down = (
        ((prev["edition"] == "Ultimate") & (sets["edition"] == "Pro"))
        | (sets["groups_per_user"] < prev["groups_per_user"])
        | (sets["members_per_group"] < prev["members_per_group"])
    ).fillna(False)
    t_sets = t.loc[sets.index]
    moved_down = sets.loc[(down & (t_sets >= start) & (t_sets < end)).to_numpy(), "app"]
    t_left = t.loc[(c["op"] == "deactivate").to_numpy()]
    left = c.loc[t_left.index].loc[((t_left >= start) & (t_left < end)).to_numpy(), "app"]
    moved = pd.concat([moved_down, left.loc[left.isin(paying)]]).nunique()
    return int(moved), int(paying.nunique())


@dataclass(frozen=True)
class ObservedChange:
    """A scheduled catalog change inside the observed span: its date, the instants (UTC) its
    moment is counted from and until, and how many months that is."""

    at: dt.date
    start: pd.Timestamp
    end: pd.Timestamp
    months: int


def price_change_in(
    changes: Sequence[Any], tz: dt.tzinfo, dates: pd.Series
) -> ObservedChange | None:
    """The first of a scenario's ``changes`` (``catalog_changes``) inside the span of the
    observed ``dates``, counted from its local midnight (``tz``, the catalog's) over grandfather
    months + 2 (the first re-quoted bill and the one after); None without one."""
    first, last = dates.min(), dates.max()
    for ch in changes:
        if first < pd.Timestamp(ch.at) <= last:
            months = ch.grandfather_months + 2
            start = pd.Timestamp(ch.at).tz_localize(tz)
            end = start + pd.DateOffset(months=months)
            return ObservedChange(ch.at, start.tz_convert("UTC"), end.tz_convert("UTC"), months)
    return None
