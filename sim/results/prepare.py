"""A run's results, normalised for the metrics: its tables in one :class:`Run`. Pure pandas.

:func:`prepare` takes the tables ``sim run`` writes (``console_ops``, ``group_ops``,
``timeline``, ``usage``, ``bills``; ``docs/design.md``, ``sim/runner.py``) and its
``summary.json``, any of them possibly missing, and returns them with:

- a ``replication`` column everywhere (0 when the run had one);
- times as naive wall-clock timestamps in the catalog's zone, ``date`` the day and ``month``
  ``YYYY-MM``;
- group operations as counts per (replication, app, date, op, error_code, reason) whatever the
  fidelity mode (exact: one row per operation; fast: counts per app and day);
- each group-operation count and usage day attributed to the state, edition and packs in force
  at 12:00 that day (the model takes a day's console decisions at its start);
- each bill line attributed to an edition (``edition``) and the app's ``archetype``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.core.vocab import CODE_REASONS as VOCAB_CODE_REASONS
from sim.results.tallies import ACTIVITY as ACTIVITY  # re-exported
from sim.results.tallies import GF_COLUMNS as GF_COLUMNS  # re-exported
from sim.results.tallies import LIMIT_CODES as LIMIT_CODES  # re-exported
from sim.results.tallies import Tallies, combine, tally_counts, tally_usage
from sim.results.tallies import grandfathered_excess as grandfathered_excess  # re-exported

CODE_REASONS: dict[int, str] = dict(VOCAB_CODE_REASONS)
"""Error code → short reason (docs/rules.md)."""

PACK_COLUMNS = ("live_unlimited", "groups_per_user", "members_per_group")


@dataclass(frozen=True)
class Run:
    """A run's tables, normalised by :func:`prepare` (see the module docstring), and the
    :class:`Tallies` of its large tables. ``group_counts`` and ``usage`` are empty when the
    run was read in streaming (:func:`sim.reports.load.load_run`): use the tallies."""

    console_ops: pd.DataFrame
    group_counts: pd.DataFrame  # replication, app, date, month, op, error_code, reason, n, edition
    timeline: pd.DataFrame
    usage: pd.DataFrame  # + month, edition, state, live_unlimited
    bills: pd.DataFrame  # + edition, archetype
    archetypes: pd.Series  # app -> archetype
    replications: tuple[int, ...]
    months: tuple[str, ...]
    currency: str
    summary: Mapping[str, Any] = field(default_factory=dict)
    caps: Mapping[str, Mapping[str, int | None]] | None = None
    catalog: Any = None  # the sim.core.catalog.Catalog the run was played with, when known
    op_totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    dau_totals: pd.DataFrame = field(default_factory=pd.DataFrame)
    app_errors: pd.DataFrame = field(default_factory=pd.DataFrame)
    first_limit: pd.DataFrame = field(default_factory=pd.DataFrame)
    gf_by_day: pd.DataFrame = field(default_factory=pd.DataFrame)
    days: pd.DataFrame = field(default_factory=pd.DataFrame)


def _with_rep(df: pd.DataFrame | None) -> pd.DataFrame:
    df = pd.DataFrame() if df is None else df.copy()
    if "replication" not in df.columns:
        df["replication"] = 0
    df["replication"] = pd.to_numeric(df["replication"]).fillna(0).astype("int64")
    return df


def _local(values: pd.Series, tz: str | None = None) -> pd.Series:
    """Naive wall-clock timestamps (the catalog's zone) of a column of instants or text."""
    s = values
    if not pd.api.types.is_datetime64_any_dtype(s.dtype):
        try:
            s = pd.to_datetime(s)
        except (ValueError, TypeError):  # mixed UTC offsets
            s = pd.to_datetime(s, utc=True)
    if getattr(s.dt, "tz", None) is not None:
        s = (s.dt.tz_convert(tz) if tz else s).dt.tz_localize(None)
    return s.astype("datetime64[ns]")


def month_of(dates: pd.Series) -> pd.Series:
    """'YYYY-MM' of naive timestamps (each distinct month formatted once)."""
    months = dates.to_numpy("datetime64[ns]").astype("datetime64[M]")
    uniq, inv = np.unique(months, return_inverse=True)
    labels = np.array([str(u) if not np.isnat(u) else None for u in uniq], dtype=object)
    return pd.Series(labels[inv], index=dates.index, dtype=object)


def _start_date(summary: Mapping[str, Any]) -> pd.Timestamp | None:
    for src in (summary, summary.get("scenario") or {}):
        if isinstance(src, Mapping) and src.get("start"):
            return pd.Timestamp(str(src["start"])[:10])
    return None


def group_op_counts(
    group_ops: pd.DataFrame,
    start: pd.Timestamp | None = None,
    tz: str | None = None,
    aggregate: bool = True,
) -> pd.DataFrame:
    """Group operations as counts per (replication, app, date, op, error_code, reason).

    Exact mode (a ``time`` column, one row per operation) and fast mode (``day`` or ``date``
    and a count column ``n`` / ``count`` / ``attempts``) give the same table; a fast-mode
    ``day`` that is an integer is days since ``start``. ``aggregate=False``: one row per
    input row (keys may repeat), for :func:`tally_counts`.

    Parameters
    ----------
    group_ops : pandas.DataFrame
        The ``group_ops`` table ``sim run`` writes (a missing ``replication`` is 0).
    start : pandas.Timestamp or None, default None
        The run's first day; needed for an integer ``day``.
    tz : str or None, default None
        The catalog's time zone (IANA name): times with an offset are converted to it, then
        made naive; None keeps their own wall clock.
    aggregate : bool, default True
        Sum the counts per key (True), or keep one row per input row (False).

    Returns
    -------
    pandas.DataFrame
        Columns: ``replication`` (int), ``app``, ``date`` (naive datetime64 day, the catalog's
        zone), ``op``, ``error_code`` (int; 0: not refused), ``reason`` (str; "" where not
        refused), ``n`` (int, operations). With ``aggregate``: one row per key, sorted by the
        keys. Empty (these columns) without rows or an ``app`` column.

    Raises
    ------
    ValueError
        An integer ``day`` without ``start``.
    """
    g = _with_rep(group_ops)
    cols = ["replication", "app", "date", "op", "error_code", "reason", "n"]
    if g.empty or "app" not in g.columns:
        return pd.DataFrame(columns=cols)
    if "time" in g.columns:
        g["date"] = _local(g["time"], tz).dt.floor("D")
    elif "date" in g.columns:
        g["date"] = _local(g["date"], tz).dt.floor("D")
    elif "day" in g.columns and pd.api.types.is_integer_dtype(g["day"].dtype):
        if start is None:
            raise ValueError("group_ops: integer 'day' needs the run's start date (summary.json)")
        g["date"] = start + pd.to_timedelta(g["day"], unit="D")
    else:
        g["date"] = _local(g["day"], tz).dt.floor("D")
    count = next((c for c in ("count", "n", "attempts") if c in g.columns), None)
    g["n"] = 1 if count is None else pd.to_numeric(g[count]).fillna(0).astype("int64")
    g["error_code"] = pd.to_numeric(g.get("error_code", 0)).fillna(0).astype("int64")
    if "reason" not in g.columns:
        g["reason"] = g["error_code"].map(CODE_REASONS).fillna("")
    g["reason"] = _blank_reason(g["reason"], g["error_code"] != 0)
    if not aggregate:  # a key may repeat: for tallies, which sum anyway
        return g[cols]
    return g.groupby(cols[:-1], as_index=False, sort=True)["n"].sum()[cols]


def _blank_reason(reason: pd.Series, refused: pd.Series) -> pd.Series:
    """The reasons, "" where nothing was refused or none is given (categoricals stay so)."""
    if isinstance(reason.dtype, pd.CategoricalDtype):
        if "" not in reason.cat.categories:
            reason = reason.cat.add_categories([""])
        return reason.fillna("").where(refused, "")
    out = reason.fillna("").astype(object)
    out[~refused] = ""
    return out


def _codes_in(index: pd.Index, values: pd.Series) -> np.ndarray:
    """The position of each value in ``index`` (-1 if absent); a categorical is looked up
    by its categories only."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        cats = index.get_indexer(values.cat.categories.astype(object))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, cats[codes], -1)
    return index.get_indexer(values.astype(object))


def _interval_keys(
    rep: np.ndarray, app: np.ndarray, t: np.ndarray, n_apps: int, base: np.int64
) -> np.ndarray:
    """One sortable int64 per (replication, app, time): the (replication, app) pair in the
    high bits, seconds since ``base`` in the low 32 (times ±68 years around it)."""
    group = rep.astype(np.int64) * (n_apps + 1) + app.astype(np.int64)
    seconds = (t.astype("datetime64[s]").astype(np.int64) - base).clip(-(2**31), 2**31 - 1)
    return (group << 32) + seconds


def attribute(keys: pd.DataFrame, timeline: pd.DataFrame) -> pd.DataFrame:
    """``keys`` (replication, app, date) with the state, edition and packs of the app at 12:00
    (rows in the same order): the timeline interval that started last at or before then, by
    binary search over (replication, app, start) keys; none before the app's first interval."""
    extra = ["state", "edition", *[c for c in PACK_COLUMNS if c in timeline.columns]]
    out = keys.copy()
    if keys.empty or timeline.empty:
        for c in extra:
            out[c] = pd.Series(dtype=object)
        return out
    apps = pd.Index(pd.unique(timeline["app"].astype(object)))
    tl_app = apps.get_indexer(timeline["app"].astype(object))
    row_app = _codes_in(apps, keys["app"])
    starts = timeline["start"].to_numpy("datetime64[ns]")
    base = starts.min().astype("datetime64[s]").astype(np.int64)
    tl_key = _interval_keys(timeline["replication"].to_numpy(), tl_app, starts, len(apps), base)
    order = np.argsort(tl_key, kind="stable")
    tl_key = tl_key[order]
    at = (keys["date"] + pd.Timedelta(hours=12)).to_numpy("datetime64[ns]")
    row_key = _interval_keys(keys["replication"].to_numpy(), row_app, at, len(apps), base)
    pos = np.searchsorted(tl_key, row_key, side="right") - 1
    hit = (pos >= 0) & (row_app >= 0)
    pos = np.where(hit, pos, 0)
    hit &= (tl_key[pos] >> 32) == (row_key >> 32)  # the same replication and app
    take = order[pos]
    for c in extra:
        values = timeline[c].to_numpy(object)[take]
        out[c] = pd.Series(np.where(hit, values, None), index=keys.index, dtype=object)
    out["edition"] = out["edition"].where(out["state"] != "Deactivated", "Deactivated")
    return out


def _bill_editions(bills: pd.DataFrame) -> pd.Series:
    """The edition each bill line belongs to: the option of an edition or overage line; for a
    pack line, the edition line of the same app, month and kind with the largest amount."""
    is_ed = (bills["item"] == "edition") | bills["item"].astype(str).str.endswith("_overage")
    ed = bills["option"].where(is_ed)
    keys = ["replication", "app", "month", "kind"]
    lines = bills.loc[bills["item"] == "edition", [*keys, "option", "amount"]]
    best = lines.sort_values("amount", kind="stable").drop_duplicates(keys, keep="last")
    look = bills[keys].merge(best.rename(columns={"option": "_ed"}), on=keys, how="left")
    return ed.fillna(pd.Series(look["_ed"].to_numpy(), index=bills.index)).fillna("unknown")


def _months_axis(summary: Mapping[str, Any], *months: pd.Series) -> tuple[str, ...]:
    start, src = _start_date(summary), summary.get("scenario")
    horizon = summary.get("horizon_months") or (
        src.get("horizon_months") if isinstance(src, Mapping) else None
    )
    if start is not None and horizon:
        return tuple(pd.period_range(start, periods=int(horizon), freq="M").strftime("%Y-%m"))
    seen = sorted({str(m) for s in months for m in s.dropna().unique()})
    if not seen:
        return ()
    return tuple(pd.period_range(seen[0], seen[-1], freq="M").strftime("%Y-%m"))


def normalise_console(console_ops: pd.DataFrame | None, tz: str | None) -> pd.DataFrame:
    """Console operations with ``replication``, naive ``time``, ``date`` and ``month``."""
    con = _with_rep(console_ops)
    if "time" in con.columns:
        con["time"] = _local(con["time"], tz)
        con["date"], con["month"] = con["time"].dt.floor("D"), month_of(con["time"])
    return con


def normalise_timeline(timeline: pd.DataFrame | None, tz: str | None) -> pd.DataFrame:
    """The timeline with ``replication``, naive ``start``/``end``, sorted by app and start."""
    tl = _with_rep(timeline)
    if not tl.empty:
        tl["start"], tl["end"] = _local(tl["start"], tz), _local(tl["end"], tz)
        tl["edition"] = tl["edition"].fillna("").astype(object)
        tl = tl.sort_values(["replication", "app", "start"], kind="stable", ignore_index=True)
    return tl


def normalise_counts(
    group_ops: pd.DataFrame | None,
    timeline: pd.DataFrame,
    summary: Mapping[str, Any],
    aggregate: bool = True,
) -> pd.DataFrame:
    """Group operations as counts (:func:`group_op_counts`), attributed (:func:`attribute`),
    with ``month``."""
    counts = group_op_counts(
        _with_rep(group_ops), _start_date(summary), summary.get("timezone"), aggregate
    )
    counts = attribute(counts, timeline)
    counts["month"] = month_of(counts["date"]) if len(counts) else pd.Series(dtype=object)
    return counts


def normalise_usage(
    usage: pd.DataFrame | None, timeline: pd.DataFrame, tz: str | None
) -> pd.DataFrame:
    """Usage days with ``replication``, ``date``, ``month`` and the state in force."""
    use = _with_rep(usage)
    if use.empty:
        return pd.DataFrame(columns=["replication", "app", "date", "dau", "month", "edition"])
    use["date"] = _local(use["date"], tz).dt.floor("D")
    use["month"] = month_of(use["date"])
    return attribute(use, timeline)


BILL_COLUMNS = (
    "replication",
    "app",
    "month",
    "item",
    "option",
    "kind",
    "amount",
    "quantity",
    "edition",
    "archetype",
)


def normalise_bills(bills: pd.DataFrame | None, archetypes: pd.Series) -> pd.DataFrame:
    """Bill lines with ``replication``, float ``amount``, text ``month``, their ``edition``
    and the app's ``archetype``."""
    bl = _with_rep(bills)
    if bl.empty:
        return pd.DataFrame(columns=list(BILL_COLUMNS))
    bl["amount"] = pd.to_numeric(bl["amount"]).astype(float)
    bl["month"] = bl["month"].astype(str)
    bl["edition"] = _bill_editions(bl).to_numpy()
    bl["archetype"] = bl["app"].map(archetypes).astype(object).fillna("unknown").to_numpy()
    return bl


def archetypes_of(*frames: pd.DataFrame) -> pd.Series:
    """App → archetype, from the first of ``frames`` that has both columns."""
    for df in frames:
        if {"app", "archetype"} <= set(df.columns):
            return df.drop_duplicates("app").set_index("app")["archetype"].astype(object)
    return pd.Series(dtype=object)


def report_months(summary: Mapping[str, Any], *months: pd.Series) -> tuple[str, ...]:
    """The months a report covers: the run's months from ``report_start`` (``summary.json``,
    the first month after the model's warm-up) on, all of them when it states none."""
    axis = _months_axis(summary, *months)
    start = summary.get("report_start")
    if isinstance(start, str) and start:
        axis = tuple(m for m in axis if m >= start[:7])
    return axis


def in_months(df: pd.DataFrame, months: Sequence[str]) -> pd.DataFrame:
    """The rows of ``df`` whose ``month`` is one of ``months`` (all of them if no months)."""
    if not months or df.empty or "month" not in df.columns:
        return df
    return df[df["month"].isin(list(months))]


def prepare(
    console_ops: pd.DataFrame | None = None,
    group_ops: pd.DataFrame | None = None,
    timeline: pd.DataFrame | None = None,
    usage: pd.DataFrame | None = None,
    bills: pd.DataFrame | None = None,
    summary: Mapping[str, Any] | None = None,
    caps: Mapping[str, Mapping[str, int | None]] | None = None,
    catalog: Any = None,
) -> Run:
    """Normalise a run's tables (any may be missing) into a :class:`Run`.

    ``caps``: edition → ``{"nonlive_groups": n, "live_groups": n}`` (None: unlimited), the
    catalog's limits, for the grandfathered excess; by default those of ``catalog`` (the
    :class:`sim.core.catalog.Catalog` the run was played with), if given. Months before the
    summary's ``report_start`` (the model's warm-up) are left out of the figures.

    Parameters
    ----------
    console_ops, group_ops, timeline, usage, bills : pandas.DataFrame or None, default None
        The tables ``sim run`` writes (``docs/design.md``): console operations (one row each),
        group operations (exact: one row each; fast: counts per app and day), the timeline of
        each app's states and packs, usage days (DAU in users, groups), bill lines (``amount``
        in the bills' ``currency``). None: missing.
    summary : mapping or None, default None
        The run's ``summary.json`` (``timezone``, ``start``, ``horizon_months``,
        ``report_start``, ``replications``, ``currency``, ...); None: empty.
    caps : mapping or None, default None
        Edition → group caps per app, in groups (above); None: from ``catalog``, or none.
    catalog : sim.core.catalog.Catalog or None, default None
        The catalog the run was played with, kept on the :class:`Run`.

    Returns
    -------
    Run
        The tables normalised (module docstring: a ``replication`` column, naive times in the
        catalog's zone, group operations as counts attributed to the state at 12:00, bill
        lines with ``edition`` and ``archetype``), the report's ``months`` (``YYYY-MM``), the
        ``replications``, the ``currency`` and the tallies of the large tables.
    """
    summary = dict(summary or {})
    tz = summary.get("timezone")
    con = normalise_console(console_ops, tz)
    tl = normalise_timeline(timeline, tz)
    counts = normalise_counts(group_ops, tl, summary)
    use = normalise_usage(usage, tl, tz)
    arche = archetypes_of(con, tl, use)
    bl = normalise_bills(bills, arche)
    months = report_months(
        summary,
        bl["month"],
        use["month"],
        counts["month"] if len(counts) else pd.Series(dtype=object),
    )
    counts, use, con = in_months(counts, months), in_months(use, months), in_months(con, months)
    if caps is None and catalog is not None:
        caps = caps_from_catalog(catalog)
    tallies = combine([tally_counts(counts), tally_usage(use, caps)])
    return assemble(con, tl, bl, arche, months, summary, caps, catalog, tallies, counts, use)


def assemble(
    con: pd.DataFrame,
    tl: pd.DataFrame,
    bl: pd.DataFrame,
    arche: pd.Series,
    months: tuple[str, ...],
    summary: Mapping[str, Any],
    caps: Mapping[str, Mapping[str, int | None]] | None,
    catalog: Any,
    tallies: Tallies,
    counts: pd.DataFrame | None = None,
    use: pd.DataFrame | None = None,
) -> Run:
    """A :class:`Run` from normalised tables and the tallies of its large tables
    (``counts``, ``use``: those tables whole, when they were read whole)."""
    currency = str(bl["currency"].iloc[0]) if len(bl) and "currency" in bl.columns else ""
    reps = set(tl["replication"]) | set(tallies.dau_totals["replication"])
    reps |= set(tallies.op_totals["replication"]) | set(bl["replication"])
    reps |= set(range(int(summary.get("replications") or 0)))
    return Run(
        con,
        counts if counts is not None else _empty_counts(),
        tl,
        use if use is not None else pd.DataFrame(columns=["replication", "app", "date", "dau"]),
        bl,
        arche,
        tuple(sorted(int(r) for r in reps)) or (0,),
        months,
        currency or str(summary.get("currency", "")),
        summary,
        caps,
        catalog,
        tallies.op_totals,
        tallies.dau_totals,
        tallies.app_errors,
        tallies.first_limit,
        tallies.gf_by_day,
        tallies.days,
    )


def _empty_counts() -> pd.DataFrame:
    cols = ["replication", "app", "date", "op", "error_code", "reason", "n", "edition", "month"]
    return pd.DataFrame(columns=cols)


def caps_from_catalog(catalog: Any) -> dict[str, dict[str, int | None]]:
    """Edition → its per-app group caps, from a catalog, for :func:`prepare`.

    Parameters
    ----------
    catalog : sim.core.catalog.Catalog
        The catalog.

    Returns
    -------
    dict of str to dict of str to int or None
        Edition name → ``{"nonlive_groups": n, "live_groups": n}``: the most non-live and live
        groups an app of that edition may have, in groups; None: unlimited. Editions in the
        catalog's order.
    """
    return {
        name: {"nonlive_groups": ed.limits.nonlive_groups, "live_groups": ed.limits.live_groups}
        for name, ed in catalog.editions.items()
    }
