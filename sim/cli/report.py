"""``sim report``, ``sim compare`` and ``sim batch``: what the analyst reads.

Each subcommand is a pair of functions for :data:`sim.cli.app.SUBCOMMANDS`
(``Subcommand(name, help, add_arguments, run, description)``): see :data:`SUBCOMMANDS` here.
Heavy modules (pandas, matplotlib) are imported inside the run functions so that
``sim --help`` stays fast. A :class:`~sim.errors.SimError` (a missing run directory, runs that
do not share a population) reaches ``sim.cli.app.main``, which prints it and exits 2.
"""

from __future__ import annotations

import argparse
import traceback
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILED = 2
"""``sim batch`` exits 2 when any scenario failed (the others still ran and are reported)."""


# -- sim report ----------------------------------------------------------------------------------

REPORT_HELP = "write the HTML report of a run directory (figures, tables as CSV)"
REPORT_DESCRIPTION = (
    "Write a self-contained HTML report of RUN_DIR (as `sim run --out RUN_DIR` wrote it): "
    "headline figures with 95% confidence intervals over replications, revenue by edition "
    "and pack, error-code rates, the lifecycle flow, the upgrade funnel, the apps with the most "
    "errors, the revenue bridge and cohorts, and the scenario and catalog. Figures are also "
    "written as PNG, tables as CSV and all tables as report.xlsx (one sheet each). RUN_DIR may "
    "also be a replay folder (sim replay --out): its refusals by code and by app, bills and "
    "timeline. A run folder missing a table is refused (exit 2), naming it."
)


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (sim run --out)")
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where to write report.html, figures/ and tables/ (default: RUN_DIR/report)",
    )
    parser.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=10,
        help="how many apps to list by errors (default 10)",
    )


def run_report(args: argparse.Namespace) -> int:
    from sim.reports.report import write_report

    path = write_report(args.run_dir, args.out, top=args.top)
    print(f"wrote {path} and {path.with_name('report.xlsx')}")
    return EXIT_OK


# -- sim compare ---------------------------------------------------------------------------------

COMPARE_HELP = "compare runs of one population: paired deltas with confidence intervals"
COMPARE_DESCRIPTION = (
    "Compare RUN_B (and more) with the baseline RUN_A: each headline figure's change with a "
    "paired 95% confidence interval (the runs share random numbers), revenue impact by "
    "archetype and by edition, the change in each error code's rate, and what changed in the "
    "catalog. Runs that do not share a population (population, start, horizon, seed), a run "
    "given twice, and a --label given twice are refused (exit 2)."
)


def add_compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs", metavar="RUN_DIR", nargs="+", help="run directories; the first is the baseline"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where to write compare.html (default: FIRST_RUN/compare)",
    )
    parser.add_argument(
        "--label",
        dest="labels",
        metavar="NAME",
        action="append",
        default=None,
        help="a name per run, in order (default: the scenario names)",
    )


def run_compare(args: argparse.Namespace) -> int:
    from sim.errors import SimError
    from sim.reports.compare import write_compare

    if len(args.runs) < 2:
        raise SimError("compare needs at least two run directories (the first is the baseline)")
    path = write_compare(args.runs, args.out, args.labels)
    print(f"wrote {path}")
    return EXIT_OK


# -- sim batch -----------------------------------------------------------------------------------

BATCH_HELP = "run every scenario of a folder, report each, and write an index page"
BATCH_DESCRIPTION = (
    "Run every *.yaml scenario in SCENARIO_DIR (in name order) into DIR/<name>/, write each "
    "one's report into DIR/<name>/report/, and an index page DIR/index.html linking them. "
    "With --baseline NAME, the index also shows every other scenario's paired changes against "
    "that scenario (95% intervals) and what changed in its catalog. With --notebook PATH, the "
    "notebook is executed once per scenario (papermill) and rendered to HTML beside its "
    "report. A scenario that fails is shown on the index with its error and does not stop the "
    "others; the exit code is then 2."
)


def add_batch_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario_dir", metavar="SCENARIO_DIR", help="a folder of scenarios")
    parser.add_argument("--out", metavar="DIR", required=True, help="where to write the runs")
    parser.add_argument(
        "--set",
        metavar="KEY=VALUE",
        dest="overrides",
        action="append",
        default=[],
        help="override a field of every scenario (repeatable)",
    )
    parser.add_argument(
        "--replications",
        metavar="N",
        type=int,
        default=None,
        help="replications (default: each scenario's)",
    )
    parser.add_argument(
        "--mode",
        choices=("exact", "fast"),
        default=None,
        help="fidelity mode (default: each scenario's)",
    )
    parser.add_argument(
        "--top", metavar="N", type=int, default=10, help="how many apps each report lists by errors"
    )
    parser.add_argument(
        "--baseline",
        metavar="NAME",
        default=None,
        help="a scenario of the folder (file name without .yaml) to compare every other with",
    )
    parser.add_argument(
        "--notebook",
        metavar="PATH",
        default=None,
        help="a notebook with a 'parameters' cell to execute and render per scenario "
        "(needs the notebooks extra)",
    )


def run_scenario(
    path: Path, out_dir: Path, overrides: list[str], replications: int | None, mode: str | None
) -> None:
    """Run one scenario file and write its tables into ``out_dir`` (the one call into the
    model's runner: adapt here if its signature changes)."""
    from sim.model.runner import run, write

    result = run(path, mode=mode, replications=replications, overrides=overrides)
    write(result, out_dir)


def _error_text(exc: BaseException) -> str:
    from sim.errors import SimError

    if isinstance(exc, SimError):
        return str(exc)
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-3))


def _entry(name: str, path: Path, run_dir: Path, top: int) -> Any:
    """Report one finished run; its :class:`~sim.reports.batch.BatchEntry`."""
    from sim.reports.batch import BatchEntry
    from sim.reports.compare import population_key
    from sim.reports.report import build_report, load_run, workbook_summary
    from sim.results.metrics import headline, headline_summary

    run = load_run(run_dir)
    page = build_report(run, top)
    page.write(run_dir / "report", workbook=workbook_summary(page, run))
    per_rep = headline(run)
    return BatchEntry(
        name,
        str(path),
        f"{name}/report/report.html",
        headline_summary(run, per_rep),
        per_rep=per_rep,
        population=population_key(run)[0],
        catalog=run.catalog,
    )


def _notebook(
    entry: Any, notebook: Path, path: Path, run_dir: Path, reps: int | None, base: Path | None
) -> Any:
    """``entry`` with its notebook rendered (papermill parameters ``scenario``, ``run_dir``,
    ``replications``, and ``baseline_dir`` when the batch has a baseline)."""
    from dataclasses import replace

    from sim.reports.notebooks import render_notebook

    params: dict[str, Any] = {"scenario": str(path.resolve()), "run_dir": str(run_dir.resolve())}
    if reps is not None:
        params["replications"] = reps
    if base is not None:
        params["baseline_dir"] = str(base.resolve())
    html = render_notebook(notebook, run_dir / "report", params, cwd=Path.cwd())
    return replace(entry, notebook=f"{entry.name}/report/{html.name}")


def batch(
    scenario_dir: Path,
    out: Path,
    overrides: list[str],
    replications: int | None = None,
    mode: str | None = None,
    top: int = 10,
    runner: Any = run_scenario,
    baseline: str | None = None,
    notebook: Path | None = None,
) -> list[Any]:
    """Run, report and index every scenario of ``scenario_dir``; returns the
    :class:`sim.reports.batch.BatchEntry` of each (``error`` set where it failed)."""
    from sim.errors import SimError
    from sim.reports.batch import BatchEntry, write_index

    if not scenario_dir.is_dir():
        raise SimError(f"scenario folder {str(scenario_dir)!r} not found")
    files = sorted(p for p in scenario_dir.iterdir() if p.suffix in (".yaml", ".yml"))
    if not files:
        raise SimError(f"no *.yaml scenario in {str(scenario_dir)!r}")
    if baseline is not None and baseline not in {p.stem for p in files}:
        raise SimError(
            f"--baseline {baseline!r}: no {baseline}.yaml in {str(scenario_dir)!r} (scenarios: "
            f"{', '.join(p.stem for p in files)})"
        )
    if notebook is not None:
        from sim.reports.notebooks import check_notebook

        check_notebook(notebook)
    if baseline is not None:  # the baseline first: the others' notebooks read it
        files.sort(key=lambda p: p.stem != baseline)
    base_dir = out / baseline if baseline is not None else None
    entries = []
    for path in files:
        name, run_dir = path.stem, out / path.stem
        try:
            runner(path, run_dir, overrides, replications, mode)
            entry = _entry(name, path, run_dir, top)
            if notebook is not None:
                entry = _notebook(entry, notebook, path, run_dir, replications, base_dir)
            entries.append(entry)
            print(f"{name}: ok")
        except Exception as exc:  # noqa: BLE001 -- one failure must not stop the batch
            entries.append(BatchEntry(name, str(path), None, None, _error_text(exc)))
            print(f"{name}: FAILED: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    write_index(entries, out, f"sim batch: {scenario_dir.name}", baseline)
    return entries


def run_batch(args: argparse.Namespace) -> int:
    out = Path(args.out)
    entries = batch(
        Path(args.scenario_dir),
        out,
        list(args.overrides),
        args.replications,
        args.mode,
        args.top,
        baseline=args.baseline,
        notebook=Path(args.notebook) if args.notebook else None,
    )
    failed = [e for e in entries if e.error]
    print(
        f"{len(entries) - len(failed)} of {len(entries)} scenario(s) ok; wrote {out / 'index.html'}"
    )
    return EXIT_FAILED if failed else EXIT_OK


SUBCOMMANDS = (
    ("report", REPORT_HELP, add_report_arguments, run_report, REPORT_DESCRIPTION),
    ("compare", COMPARE_HELP, add_compare_arguments, run_compare, COMPARE_DESCRIPTION),
    ("batch", BATCH_HELP, add_batch_arguments, run_batch, BATCH_DESCRIPTION),
)
"""``Subcommand(*entry)`` for each, to append to :data:`sim.cli.app.SUBCOMMANDS`."""
