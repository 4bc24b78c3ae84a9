"""Comparing runs of one population: paired deltas with confidence intervals, side by side.

Runs of scenarios that share the population section, start, horizon and seed draw the same
demand in replication r (common random numbers, :mod:`sim.model.rng`): a price or limit changes what
the tenants decide and what the rules let through, not who they are. So each figure's
difference is taken per replication first, and its mean gets a Student-t interval over the
replications (:func:`sim.results.stats.paired_deltas`). Runs that do not share a population are
refused (:func:`check_population`): their differences would mix the what-if with the draw.

The first run is the baseline; every other run is compared with it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import SimError
from sim.reports import deltacharts
from sim.reports.html import Page, esc, fmt, html_table, provenance, scenario_name
from sim.reports.load import load_run
from sim.results import metrics
from sim.results.stats import paired_deltas

POPULATION_FIELDS = ("population_hash", "seed", "start", "horizon_months")
"""The fields of ``summary.json`` two runs must agree on to be compared pair by pair."""


def population_key(run: metrics.Run, stated: bool = True) -> tuple[dict[str, Any], bool]:
    """What identifies a run's population, and whether ``summary.json`` states it (True) or it
    is inferred from the run (False: the seed, the apps and their archetypes, the months);
    ``stated=False`` infers it even where ``summary.json`` states it."""
    s = run.summary
    if stated and s.get("population_hash"):
        return {k: s.get(k) for k in POPULATION_FIELDS if k in s}, True
    names = "\n".join(f"{a}\t{b}" for a, b in sorted(run.archetypes.astype(str).items()))
    months = f"{run.months[0]} to {run.months[-1]}" if run.months else ""
    return {
        "seed": s.get("seed"),
        "apps and archetypes": hashlib.sha256(names.encode()).hexdigest()[:16],
        "months": months,
    }, False


def check_population(runs: Sequence[metrics.Run], names: Sequence[str]) -> list[int]:
    """The replications all runs share; a :class:`SimError` if the runs do not share a
    population (naming the fields that differ) or have no replication in common."""
    stated = all(r.summary.get("population_hash") for r in runs)
    base, _ = population_key(runs[0], stated)
    if base.get("seed") is None:
        raise SimError(
            f"cannot compare: the summary.json of run {names[0]!r} has no seed, so whether the "
            "runs share random numbers cannot be checked"
        )
    for run, name in zip(runs[1:], names[1:], strict=True):
        key, _ = population_key(run, stated)
        diff = [
            f"{k} ({base.get(k)!r} vs {key.get(k)!r})"
            for k in sorted(set(base) | set(key))
            if base.get(k) != key.get(k)
        ]
        if diff:
            raise SimError(
                f"runs {names[0]!r} and {name!r} do not share a population, so they cannot be "
                f"compared pair by pair (common random numbers): they differ in {', '.join(diff)}; "
                "compare runs of scenarios with the same population section, start, horizon and "
                "seed"
            )
    common = sorted(set.intersection(*(set(r.replications) for r in runs)))
    if not common:
        raise SimError(f"runs {', '.join(map(repr, names))} have no replication in common")
    return common


def _complete(
    df: pd.DataFrame,
    reps: Sequence[int],
    keys: Sequence[str],
    value: str,
    keys_from: Sequence[pd.DataFrame],
) -> pd.DataFrame:
    """``df`` with a row for every replication × key seen in any of ``keys_from`` (0 where
    missing): a figure absent from a replication is a zero there, not a missing pair."""
    seen = pd.concat([k[list(keys)] for k in keys_from]).drop_duplicates()
    grid = pd.DataFrame({"replication": list(reps)}).merge(seen, how="cross")
    out = grid.merge(df[["replication", *keys, value]], on=["replication", *keys], how="left")
    return out.fillna({value: 0.0})


def _only(df: pd.DataFrame, reps: Sequence[int]) -> pd.DataFrame:
    return df[df["replication"].isin(list(reps))]


def compare_runs(runs: Sequence[metrics.Run], names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The comparison tables, each with a ``run`` column (the run compared with the first)."""
    reps = check_population(runs, names)
    per_run = []
    for run in runs:
        rates = metrics.error_rates(run).rename(columns={"per_1000_dau": "value"})
        per_run.append(
            {
                "headline": _only(metrics.headline(run), reps),
                "archetype": _only(metrics.revenue(run, by=["archetype"]), reps),
                "edition": _only(metrics.revenue(run, by=["edition"]), reps),
                "rates": _only(rates, reps),
            }
        )
    out: dict[str, list[pd.DataFrame]] = {
        k: []
        for k in (
            "headline_deltas",
            "revenue_by_archetype",
            "revenue_by_edition",
            "error_rate_deltas",
        )
    }
    a = per_run[0]
    archetypes = pd.DataFrame(
        {"archetype": sorted({str(x) for r in runs for x in r.archetypes.unique()})}
    )
    for b, name in zip(per_run[1:], names[1:], strict=True):
        d = paired_deltas(a["headline"], b["headline"], by=["metric", "label", "unit"])
        out["headline_deltas"].append(d.assign(run=name))
        for key in ("archetype", "edition"):
            frames = [a[key], b[key]]
            known = frames + ([archetypes] if key == "archetype" else [])
            fa, fb = (
                _complete(f.rename(columns={"amount": "value"}), reps, [key], "value", known)
                for f in frames
            )
            out[f"revenue_by_{key}"].append(paired_deltas(fa, fb, by=[key]).assign(run=name))
        keys = ["error_code", "reason", "of"]
        fa, fb = (
            _complete(f, reps, keys, "value", [a["rates"], b["rates"]])
            for f in (a["rates"], b["rates"])
        )
        e = paired_deltas(fa, fb, by=keys).assign(run=name)
        out["error_rate_deltas"].append(e)
    tables = {k: pd.concat(v, ignore_index=True) for k, v in out.items()}
    e = tables["error_rate_deltas"]
    e["label"] = [
        metrics.rate_label(int(c), str(r), str(o))
        for c, r, o in zip(e["error_code"], e["reason"], e["of"], strict=True)
    ]
    e["unit"] = "per day per 1,000 DAU"
    for k, df in tables.items():
        tables[k] = df[["run", *[c for c in df.columns if c != "run"]]]
    return tables


DELTA_COLUMNS = {
    "mean_a": "baseline",
    "mean_b": "this run",
    "delta": "change",
    "ci": "95% CI of the change",
    "pct": "change [%]",
    "pct_ci": "95% CI [%]",
}


def delta_display(df: pd.DataFrame, units: Sequence[str] | str = "") -> pd.DataFrame:
    """Paired deltas as display strings (means, change, CI, % and its CI)."""
    units = [units] * len(df) if isinstance(units, str) else list(units)
    out = df.drop(
        columns=[c for c in ("ci_low", "ci_high", "pct_low", "pct_high", "n") if c in df.columns]
    ).copy()
    recs = df.to_dict("records")
    for col in ("mean_a", "mean_b", "delta"):
        out[col] = [fmt(v, u) for v, u in zip(df[col], units, strict=True)]
    out["ci"] = [
        ("(one pair)" if r["n"] < 2 else f"[{fmt(r['ci_low'], u)}, {fmt(r['ci_high'], u)}]")
        for r, u in zip(recs, units, strict=True)
    ]
    out["pct"] = [fmt(v, "%") for v in df["pct"]]
    out["pct_ci"] = [
        "–"
        if r["n"] < 2 or pd.isna(r["pct_low"])
        else f"[{fmt(r['pct_low'], '%')}, {fmt(r['pct_high'], '%')}]"
        for r in recs
    ]
    return out


def catalog_changes(base: metrics.Run, run: metrics.Run) -> list[str]:
    """What changed in ``run``'s catalog against the baseline's (``Pro price 449.99 →
    399.99``), one line per change; one line saying why when a catalog is not known."""
    from sim.core.catalog_diff import diff_catalogs, format_diff

    if base.catalog is None or run.catalog is None:
        return ["(the catalog of a run is not known: no catalog diff)"]
    return format_diff(diff_catalogs(base.catalog, run.catalog)) or ["(the same catalog)"]


def _intro(page: Page, runs: Sequence[metrics.Run], names: Sequence[str]) -> None:
    labels = [scenario_name(r) for r in runs]
    key, stated = population_key(runs[0])
    how = (
        "stated in summary.json" if stated else "inferred from the runs (summary.json states none)"
    )
    reps = sorted(set.intersection(*(set(r.replications) for r in runs)))
    page.add(
        f"<h1>Comparison: {' vs '.join(esc(x) for x in labels)}</h1>",
        f'<p class="note">Baseline: <b>{esc(names[0])}</b>. Runs share one population ({esc(how)}: '
        f"{esc(', '.join(f'{k} {v}' for k, v in key.items()))}); each change is taken per "
        f"replication ({len(reps)} paired), then its mean gets a 95 % Student-t interval. "
        "A change whose interval excludes 0 is the what-if's effect, not the draw's.</p>",
        "<h2>What changed in the catalog</h2>",
    )
    rows = [
        {"run": n, "change": line}
        for run, n in zip(runs[1:], names[1:], strict=True)
        for line in catalog_changes(runs[0], run)
    ]
    page.table("catalog_diff", pd.DataFrame(rows, columns=["run", "change"]), limit=200)


RIGHT = ["mean_a", "mean_b", "delta", "ci", "pct", "pct_ci"]


def _headline(page: Page, t: dict[str, pd.DataFrame]) -> None:
    page.add("<h2>Headline figures</h2>")
    h = t["headline_deltas"]
    main = h[~h["metric"].str.startswith("rate_")]
    page.figure(
        "headline_deltas",
        deltacharts.delta_panels(main, "Change of each headline figure against the baseline"),
        "Each figure on its own scale: mean paired change (the run minus the baseline) with its "
        "95 % interval, clipped to what is possible; beside it, the change with its unit and "
        "in % of the baseline.",
    )
    cols = {"run": "run", "label": "figure", "unit": "unit", **DELTA_COLUMNS}
    page.table("headline_deltas", h, limit=0)
    page.add(html_table(delta_display(h, list(h["unit"])), cols, limit=200, right=RIGHT))


def _revenue(page: Page, t: dict[str, pd.DataFrame], names: Sequence[str], cur: str) -> None:
    for key in ("archetype", "edition"):
        df = t[f"revenue_by_{key}"]
        page.add(f"<h2>Revenue impact by {key}</h2>")
        side = pd.concat(
            [
                df[[key, "mean_a"]]
                .drop_duplicates(key)
                .rename(columns={"mean_a": "v"})
                .assign(run=names[0])
            ]
            + [
                df[df["run"] == n][[key, "mean_b"]].rename(columns={"mean_b": "v"}).assign(run=n)
                for n in names[1:]
            ]
        )
        page.figure(
            f"revenue_by_{key}",
            deltacharts.grouped_bars(
                side,
                key,
                "run",
                "v",
                title=f"Revenue over the horizon by {key}",
                ylabel=f"revenue [{cur}], mean per replication",
                xlabel=key,
                runs=list(names),
            ),
            f"Revenue billed over the horizon per {key}, each run side by side.",
        )
        page.table(f"revenue_by_{key}", df, limit=0)
        page.add(
            html_table(
                delta_display(df, cur), {"run": "run", key: key, **DELTA_COLUMNS}, right=RIGHT
            )
        )


def _errors(page: Page, t: dict[str, pd.DataFrame]) -> None:
    page.add("<h2>Error-code rates</h2>")
    e = t["error_rate_deltas"]
    page.figure(
        "error_rate_deltas",
        deltacharts.delta_panels(e, "Change of each error code's rate against the baseline"),
        "Refusals per day per 1,000 DAU, each code and what it is counted in on its own scale; "
        "the change with its 95 % paired interval (clipped: a rate cannot fall below 0).",
    )
    page.table("error_rate_deltas", e, limit=0)
    cols = {
        "run": "run",
        "error_code": "code",
        "reason": "reason",
        "of": "counted in",
        **DELTA_COLUMNS,
    }
    page.add(html_table(delta_display(e, list(e["unit"])), cols, limit=200, right=RIGHT))


def build_compare(runs: Sequence[metrics.Run], names: Sequence[str]) -> Page:
    """The comparison page (nothing written yet)."""
    t = compare_runs(runs, names)
    cur = runs[0].currency or "currency"
    page = Page(f"sim compare: {' vs '.join(scenario_name(r) for r in runs)}")
    _intro(page, runs, names)
    _headline(page, t)
    _revenue(page, t, names, cur)
    _errors(page, t)
    page.add("<h2>The runs</h2>")
    for run, name in zip(runs, names, strict=True):
        page.add(f"<h3>{esc(name)}</h3>", provenance(run))
    return page


def check_distinct(run_dirs: Sequence[Any], labels: Sequence[str] | None) -> None:
    """A :class:`SimError` if a run directory is given twice (a run compared with itself has
    no change to show) or a ``--label`` is given twice."""
    seen: dict[Path, Any] = {}
    for d in run_dirs:
        key = Path(d).resolve()
        if key in seen:
            raise SimError(
                f"run directory {str(d)!r} is given twice (as {str(seen[key])!r} too): a run "
                "compared with itself has no change to show; give two different runs"
            )
        seen[key] = d
    dup = sorted({x for x in labels or () if list(labels or ()).count(x) > 1})
    if dup:
        raise SimError(f"--label {dup[0]!r} is given more than once: each run needs its own label")


def write_compare(
    run_dirs: Sequence[str | os.PathLike[str]],
    out_dir: str | os.PathLike[str] | None = None,
    labels: Sequence[str] | None = None,
) -> Path:
    """Compare run directories (the first is the baseline); write ``compare.html`` with its
    figures and tables into ``out_dir`` (default ``<first run>/compare``)."""
    if len(run_dirs) < 2:
        raise SimError("compare needs at least two run directories (the first is the baseline)")
    check_distinct(run_dirs, labels)
    if labels and len(labels) != len(run_dirs):
        raise SimError(
            f"--label given {len(labels)} time(s) for {len(run_dirs)} runs; give one per run"
        )
    runs = [load_run(d) for d in run_dirs]
    names = list(labels) if labels else _names(runs, run_dirs)
    out = Path(out_dir) if out_dir is not None else Path(run_dirs[0]) / "compare"
    return build_compare(runs, names).write(out, "compare.html")


def _names(runs: Sequence[metrics.Run], dirs: Sequence[Any]) -> list[str]:
    names = [scenario_name(r) for r in runs]
    if len(set(names)) < len(names):  # the same scenario twice: tell them apart by directory
        names = [f"{n} ({Path(d).name})" for n, d in zip(names, dirs, strict=True)]
    if len(set(names)) < len(names):  # and by path, when the directories share a name
        names = [f"{n} ({d})" for n, d in zip(names, dirs, strict=True)]
    return names
