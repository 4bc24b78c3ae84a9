"""sim report, compare and batch on tiny real runs of the model (a few seconds each).

What is checked: the files a report writes (HTML with every figure embedded, PNGs, CSVs), that
it needs no network, that user text is escaped, that figures are byte-for-byte reproducible;
that ``sim compare`` pairs runs of one population and refuses others (exit 2); that ``sim
batch`` reports a failing scenario on its index without stopping the others.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

import fake_run
import pandas as pd
import pytest
from fake_run import real_run, with_summary

from sim.cli import app as cli
from sim.cli import report as cli_report
from sim.errors import SimError
from sim.reports import charts
from sim.reports.compare import build_compare, check_population, compare_runs
from sim.reports.report import build_report, load_run, write_report

_BUILD = cli.build_parser
FIGURES = {
    "revenue",
    "mrr_arpu",
    "error_rates",
    "lifecycle_flow",
    "upgrade_funnel",
    "grandfathered",
    "top_error_apps",
    "changes_by_month",
    "mrr_bridge",
    "cohorts",
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny runs: the baseline, a what-if of the same population, the baseline with another
    seed."""
    d = tmp_path_factory.mktemp("runs")
    return {
        "base": real_run(d / "base"),
        "whatif": real_run(d / "whatif", "whatif-pro-members-500"),
        "seed7": real_run(d / "seed7", extra=("seed=7",), replications=1),
    }


@pytest.fixture(scope="module")
def report_dir(runs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    write_report(runs["base"], out)
    return out


@pytest.fixture
def no_drawing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Figures are built but not drawn (a fixed 1-pixel PNG): for tests about the page, not the
    figures, so they stay fast."""
    pixel = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )
    monkeypatch.setattr(charts, "png", lambda fig, dpi=charts.DPI: pixel)


def main(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``sim ARGV`` with the report subcommands registered (whether or not sim.cli.app has them)."""
    names = {s.name for s in cli.SUBCOMMANDS}
    extra = tuple(cli.Subcommand(*e) for e in cli_report.SUBCOMMANDS if e[0] not in names)
    monkeypatch.setattr(cli, "build_parser", lambda: _BUILD(cli.SUBCOMMANDS + extra))
    return cli.main(argv)


# -- sim report ----------------------------------------------------------------------------------


def test_report_writes_html_figures_and_tables(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    pngs = {p.stem for p in (report_dir / "figures").glob("*.png")}
    assert pngs == FIGURES
    for p in (report_dir / "figures").glob("*.png"):
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert html.count('src="data:image/png;base64,') == len(FIGURES)
    headline = pd.read_csv(report_dir / "tables" / "headline.csv")
    assert {"revenue_total", "mrr_last", "error_share", "upgrades"} <= set(headline["metric"])
    assert (headline.loc[headline["metric"] == "apps", "mean"] == 10).all()
    assert (report_dir / "report.xlsx").read_bytes()[:2] == b"PK"
    for name in (
        "revenue_by_month_edition_item",
        "error_rates_by_month",
        "lifecycle_flow",
        "top_error_apps",
        "upgrade_funnel",
    ):
        assert (report_dir / "tables" / f"{name}.csv").is_file()
        assert f'href="tables/{name}.csv"' in html


def test_a_report_folder_is_one_set(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_drawing: None
) -> None:
    """The report folder is replaced whole or not at all (issue 14): a disk that fills at the
    page itself, after the figures, tables and workbook, leaves the old report as it was."""
    import errno

    from sim.files import outputs

    out = tmp_path / "report"
    write_report(runs["base"], out)
    before = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert Path("report.xlsx") in before and Path("report.html") in before

    def full(obj: object, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setitem(outputs.WRITERS, ".html", full)
    with pytest.raises(SimError, match="No space left on device"):
        write_report(runs["whatif"], out)
    after = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert after == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_report_needs_no_network(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html)
    assert "default-src 'none'" in html and "<script" not in html


@pytest.mark.usefixtures("no_drawing")
def test_report_escapes_user_text(runs: dict[str, Path], tmp_path: Path) -> None:
    evil = "<script>alert('x')</script>"
    run_dir = with_summary(
        runs["base"],
        tmp_path / "run",
        scenario=evil,
        description='<img src=x onerror="alert(1)"> & co',
    )
    html = build_report(load_run(run_dir)).html()
    assert evil not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co" in html


def test_figures_are_reproducible_and_have_titles_labels_legends() -> None:
    df = pd.DataFrame(
        {
            "month": ["2024-01", "2024-02"],
            "edition": ["Pro", "Ultimate"],
            "item": ["edition", "edition"],
            "amount": [1.0, 2.0],
        }
    )
    fig = charts.revenue_over_time(df, "USD")
    assert charts.png(fig) == charts.png(charts.revenue_over_time(df, "USD"))
    assert fig.get_suptitle()
    for ax in fig.axes:
        assert ax.get_ylabel() and ax.get_legend() is not None
    assert "USD" in fig.axes[0].get_ylabel()
    empty = charts.error_rates_over_time(pd.DataFrame())
    assert all(ax.get_legend() is not None and ax.get_ylabel() for ax in empty.axes)


def test_every_figure_has_a_title_axis_labels_and_a_legend(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = []
    monkeypatch.setattr(charts, "png", lambda fig, dpi=charts.DPI: figures.append(fig) or b"")
    build_report(load_run(runs["base"]))
    build_compare([load_run(runs["base"]), load_run(runs["whatif"])], ["a", "b"])
    assert len(figures) == len(FIGURES) + 4
    for fig in figures:
        title = fig.get_suptitle()
        assert title, fig
        plots = [ax for ax in fig.axes if ax.get_label() != "<colorbar>" and ax.axison]
        for ax in plots:
            assert ax.get_xlabel() and ax.get_ylabel(), title
        assert fig.legends or any(ax.get_legend() is not None for ax in plots), title


def test_colours_are_fixed_per_value() -> None:
    assert charts.colour(charts.EDITION_COLOURS, "Pro") == charts.EDITION_COLOURS["Pro"]
    assert charts.colour(charts.ERROR_COLOURS, 10037) == charts.ERROR_COLOURS["10037"]
    assert charts.colour(charts.ERROR_COLOURS, "99999") == charts.colour({}, "99999")


@pytest.mark.usefixtures("no_drawing")
def test_cli_report_and_a_missing_run(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(runs["seed7"], tmp_path / "run")
    assert main(["report", str(tmp_path / "run")], monkeypatch) == 0
    assert (tmp_path / "run" / "report" / "report.html").is_file()
    assert main(["report", str(tmp_path / "nope")], monkeypatch) == 2
    assert "run directory" in capsys.readouterr().err


# -- sim compare ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
def test_compare_same_population(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "cmp"
    assert (
        main(["compare", str(runs["base"]), str(runs["whatif"]), "--out", str(out)], monkeypatch)
        == 0
    )
    html = (out / "compare.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 4
    h = pd.read_csv(out / "tables" / "headline_deltas.csv")
    assert set(h["run"]) == {"whatif-pro-members-500"}
    assert (h.loc[h["metric"] == "apps", "delta"] == 0).all()  # the same population
    arche = pd.read_csv(out / "tables" / "revenue_by_archetype.csv")
    assert set(arche["archetype"]) == {"social", "enterprise", "live", "community", "game"}
    assert {"delta", "ci_low", "ci_high", "pct"} <= set(arche.columns)
    assert (pd.read_csv(out / "tables" / "error_rate_deltas.csv")["n"] == 2).all()


def test_compare_with_itself_gives_zero_deltas(runs: dict[str, Path]) -> None:
    run = load_run(runs["base"])
    t = compare_runs([run, run], ["a", "b"])
    for name in (
        "headline_deltas",
        "revenue_by_archetype",
        "revenue_by_edition",
        "error_rate_deltas",
    ):
        assert (t[name]["delta"].fillna(0) == 0).all(), name


def test_compare_refuses_another_population(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["compare", str(runs["base"]), str(runs["seed7"]), "--out", str(tmp_path)], monkeypatch
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "do not share a population" in err and "seed" in err
    assert not (tmp_path / "compare.html").exists()


def test_compare_uses_a_stated_population_hash(runs: dict[str, Path], tmp_path: Path) -> None:
    a = load_run(with_summary(runs["base"], tmp_path / "a", population_hash="p1"))
    b = load_run(with_summary(runs["base"], tmp_path / "b", population_hash="p2"))
    with pytest.raises(SimError, match="population_hash"):
        check_population([a, b], ["a", "b"])
    assert check_population([a, a], ["a", "a"]) == [0, 1]


# -- sim batch -----------------------------------------------------------------------------------

TINY = """name: {name}
description: a tiny <scenario> & co
start: 2024-01-01
horizon_months: 1
seed: 3
mode: fast
population:
  game: {{count: 2}}
  social: {{count: 2}}
"""


@pytest.mark.usefixtures("no_drawing")
def test_batch_reports_a_failure_and_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "scenarios"
    src.mkdir()
    (src / "a.yaml").write_text(TINY.format(name="a"), encoding="utf-8")
    (src / "b-broken.yaml").write_text(TINY.format(name="b") + "colour: <blue>\n", encoding="utf-8")
    (src / "c.yaml").write_text(TINY.format(name="c"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["batch", str(src), "--out", str(out)], monkeypatch) == 2
    index = (out / "index.html").read_text(encoding="utf-8")
    assert index.count('<span class="ok">ok</span>') == 2
    assert index.count('<a class="bad" href="#failed-b-broken">failed</a>') == 1
    assert 'id="failed-b-broken"' in index
    assert "colour" in index and "<blue>" not in index
    for name in ("a", "c"):
        assert f'href="{name}/report/report.html"' in index
        assert (out / name / "report" / "report.html").is_file()
        assert (out / name / "summary.json").is_file()


def test_batch_runner_is_one_replaceable_call(tmp_path: Path) -> None:
    src = tmp_path / "s"
    src.mkdir()
    (src / "x.yaml").write_text("anything", encoding="utf-8")

    def boom(*args: object) -> None:
        raise RuntimeError("the model broke")

    entries = cli_report.batch(src, tmp_path / "out", [], runner=boom)
    assert len(entries) == 1 and "the model broke" in entries[0].error
    assert "the model broke" in (tmp_path / "out" / "index.html").read_text(encoding="utf-8")


def test_subcommands_fit_the_registry() -> None:
    for entry in cli_report.SUBCOMMANDS:
        sub = cli.Subcommand(*entry)
        parser = argparse.ArgumentParser()
        sub.add_arguments(parser)
        assert callable(sub.run) and sub.help and sub.description


# -- compare never crashes, refuses what has no answer -----------------------------------------


def test_compare_refuses_a_run_given_twice_and_a_repeated_label(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base = str(runs["base"])
    assert main(["compare", base, base, "--out", str(tmp_path / "a")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "given twice" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    args = ["compare", base, str(runs["whatif"]), "--label", "x", "--label", "x"]
    assert main([*args, "--out", str(tmp_path / "b")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "--label 'x'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_error_rate_labels_are_unique_when_a_code_is_counted_twice() -> None:
    """60020 is counted both in refused operations and in refused user-days: two labels."""
    from sim.reports.deltacharts import delta_panels
    from sim.results.metrics import rate_label

    a = rate_label(60020, "prepaid_expired", "operations")
    b = rate_label(60020, "prepaid_expired", "user-days")
    assert a != b
    d = pd.DataFrame(
        {
            "label": [a, b],
            "unit": ["per day per 1,000 DAU"] * 2,
            "run": ["w", "w"],
            "mean_a": [0.5, 2.0],
            "delta": [0.1, -3.0],
            "ci_low": [0.0, -5.0],
            "ci_high": [0.2, -1.0],
            "pct": [20.0, -150.0],
            "pct_low": [0.0, -250.0],
            "pct_high": [40.0, -50.0],
            "n": [2, 2],
        }
    )
    fig = delta_panels(d, "t")
    assert len(fig.axes) == 2  # one row, one scale, per label
    low, _ = fig.axes[1].lines[0].get_xdata()[0], None
    assert low == -3.0


def test_intervals_are_clipped_to_the_possible() -> None:
    from sim.reports.deltacharts import clip_interval

    d = pd.DataFrame(
        {
            "mean_a": [13.0, 99.0],
            "ci_low": [-20.0, -1.0],
            "ci_high": [43.0, 5.0],
            "pct_low": [-154.0, -1.0],
            "pct_high": [328.0, 5.0],
            "unit": ["operations", "%"],
        }
    )
    c = clip_interval(d)
    assert c["ci_low"].tolist() == [-13.0, -1.0]  # cannot fall below zero
    assert c["pct_low"].tolist() == [-100.0, -1.0]
    assert c["ci_high"].tolist() == [43.0, 1.0]  # a share cannot pass 100 %


# -- any run size: streaming gives the same figures ------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
def test_streaming_in_small_batches_gives_the_same_figures(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.model.runner import run
    from sim.reports import load
    from sim.results import metrics

    monkeypatch.setattr(load, "BATCH_ROWS", 7)  # apps split across batches
    streamed = load.load_run(runs["base"])
    assert streamed.group_counts.empty and streamed.usage.empty  # never whole
    whole = load.run_from_result(
        run("baseline", replications=2, mode="fast", overrides=fake_run.tiny_overrides())
    )
    for name in ("headline_by_replication", "error_rates_by_month", "top_error_apps"):
        a = metrics.all_metrics(streamed)[name]
        b = metrics.all_metrics(whole)[name]
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False, obj=name
        )


# -- completeness --------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
@pytest.mark.parametrize("table", ["bills", "usage", "group_ops"])
def test_a_run_missing_a_table_is_refused_naming_it(
    runs: dict[str, Path],
    tmp_path: Path,
    table: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(runs["seed7"], tmp_path / "run")
    gone = tmp_path / "run" / f"{table}.parquet"  # a dataset folder (group_ops, usage) or a file
    shutil.rmtree(gone) if gone.is_dir() else gone.unlink()
    assert main(["report", str(tmp_path / "run")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"{table}.parquet" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "report").exists()


@pytest.mark.usefixtures("no_drawing")
def test_a_run_folder_copied_in_part_is_refused_by_its_manifest(
    runs: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A dataset folder missing a part, or a part cut short, or holding a part of another run
    (manifest.json, written last, lists every part with its size) is not reported."""
    shutil.copytree(runs["seed7"], tmp_path / "run")
    parts = sorted((tmp_path / "run" / "usage.parquet").glob("part-*.parquet"))
    assert parts
    data = parts[-1].read_bytes()
    parts[-1].write_bytes(data[: len(data) // 2])  # an interrupted copy
    assert main(["report", str(tmp_path / "run")], monkeypatch) == 2
    err = capsys.readouterr().err
    assert f"usage.parquet/{parts[-1].name} is {len(data) // 2} bytes" in err, err
    assert "incomplete" in err and "Traceback" not in err
    parts[-1].write_bytes(data)
    (tmp_path / "run" / "usage.parquet" / "part-99999.parquet").write_bytes(data)
    assert main(["report", str(tmp_path / "run")], monkeypatch) == 2
    assert "part-99999.parquet, which manifest.json does not list" in capsys.readouterr().err
    (tmp_path / "run" / "usage.parquet" / "part-99999.parquet").unlink()
    assert main(["report", str(tmp_path / "run")], monkeypatch) == 0


def test_numbers_are_formatted_by_unit() -> None:
    from sim.reports.html import cell, fmt

    assert fmt(12.3456, "%") == "12.35 %"
    assert cell("share", 0.00123, {}) == "0.12 %"
    assert fmt(1234.5, "USD") == "1,234.50" and fmt(1234.5, "USD/month") == "1,234.50"
    assert fmt(3.0, "apps") == "3" and fmt(2.5, "apps") == "2.5"
    assert fmt(0.01234, "per day per 1,000 DAU") == "0.012"
    assert fmt(float("nan")) == "–"


@pytest.mark.usefixtures("no_drawing")
def test_warm_up_months_are_left_out_and_assumptions_shown(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    assumptions = [
        {"group": "demand", "name": "elasticity", "value": 1.5, "unit": "", "calibrated": False},
        {"group": "prices", "name": "Pro", "value": 449.99, "unit": "USD", "calibrated": True},
    ]
    d = with_summary(
        runs["base"],
        tmp_path / "run",
        warmup_months=1,
        report_start="2024-02",
        assumptions=assumptions,
    )
    run = load_run(d)
    assert run.months == ("2024-02",)
    rates = build_report(run).tables["error_rates_by_month"]
    assert set(rates["month"]) <= {"2024-02"}
    html = build_report(run).html()
    assert "illustrative, not measured" in html and "calibrated" in html
    assert "warm-up of 1 month" in html


# -- replay folders ------------------------------------------------------------------------------


def test_report_of_a_replay_folder(
    example_ops: Path,
    example_usage: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rep = tmp_path / "replay"
    assert main(["replay", str(example_ops), "--out", str(rep)], monkeypatch) == 0
    assert main(["report", str(rep), "--out", str(tmp_path / "r")], monkeypatch) == 0
    tables = tmp_path / "r" / "tables"
    outcomes = pd.read_csv(rep / "outcomes.csv")
    refused = outcomes[(outcomes["error_code"] != 0) & outcomes["op"].str.contains("group|user")]
    by_code = pd.read_csv(tables / "error_rates_by_code.csv")
    assert by_code["errors"].sum() == len(refused) > 0
    assert set(by_code["error_code"]) == set(refused["error_code"])
    apps = pd.read_csv(tables / "top_error_apps.csv")
    assert apps["errors"].sum() == len(refused)
    head = pd.read_csv(tables / "headline.csv").set_index("metric")
    assert head.at["group_errors", "mean"] == len(refused) > 0
    assert len(pd.read_csv(tables / "bills.csv")) == len(pd.read_csv(rep / "bills.csv"))
    assert len(pd.read_csv(tables / "timeline.csv")) == len(pd.read_csv(rep / "timeline.csv"))
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.load_workbook(tmp_path / "r" / "report.xlsx", read_only=True)
    assert {"bills", "timeline", "error_rates_by_code", "top_error_apps"} <= set(book.sheetnames)


# -- sim batch against a baseline ---------------------------------------------------------------


@pytest.mark.usefixtures("no_drawing")
def test_batch_against_a_baseline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "scenarios"
    src.mkdir()
    (src / "base.yaml").write_text(TINY.format(name="base") + "replications: 2\n", "utf-8")
    cheap = (
        TINY.format(name="cheap")
        + "replications: 2\n"
        + (
            "catalog:\n  name: tencent-intl-2022\n  overrides:\n"
            "    editions.Pro.price_per_month: 399.99\n"
        )
    )
    (src / "cheap.yaml").write_text(cheap, encoding="utf-8")
    out = tmp_path / "out"
    args = ["batch", str(src), "--out", str(out), "--baseline", "base"]
    assert main(args, monkeypatch) == 0
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "Against the baseline base" in index
    assert "449.99 → 399.99" in index
    deltas = pd.read_csv(out / "tables" / "baseline_deltas.csv")
    assert set(deltas["scenario"]) == {"cheap"}
    assert (deltas["n"] == 2).all() and {"delta", "ci_low", "ci_high", "pct"} <= set(deltas)
    assert main([*args[:-1], "nope"], monkeypatch) == 2


# -- full size: the shipped baseline against every shipped what-if --------------------------------

SHIPPED = Path(__file__).resolve().parent.parent / "scenarios"


@pytest.fixture(scope="module")
def full_baseline(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped baseline at its full size (2,000 apps x 24 months), run once."""
    from sim.model.runner import run_and_write

    out = tmp_path_factory.mktemp("full") / "baseline"
    run_and_write(SHIPPED / "baseline.yaml", out)
    return out


@pytest.mark.slow
@pytest.mark.usefixtures("no_drawing")
@pytest.mark.parametrize(
    "whatif", sorted(p.stem for p in SHIPPED.glob("whatif-*.yaml")), ids=lambda s: s
)
def test_full_size_compare_of_every_shipped_whatif(
    full_baseline: Path, whatif: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.model.runner import run_and_write

    run_and_write(SHIPPED / f"{whatif}.yaml", tmp_path / whatif)
    out = tmp_path / "cmp"
    assert (
        main(
            ["compare", str(full_baseline), str(tmp_path / whatif), "--out", str(out)], monkeypatch
        )
        == 0
    )
    e = pd.read_csv(out / "tables" / "error_rate_deltas.csv")
    assert not e.duplicated(["run", "label"]).any()
    diff = pd.read_csv(out / "tables" / "catalog_diff.csv")
    assert len(diff) >= 1 and "same catalog" not in " ".join(diff["change"])


def test_row_groups_tallied_in_worker_processes_give_the_same_figures(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim.reports import load
    from sim.results import metrics

    path = runs["base"]
    summary = {**load.read_summary(path), "_dir": str(path)}
    catalog, _ = load.catalog_of(summary)
    serial = load.stream_run(path, summary, catalog, workers=1)
    monkeypatch.setattr(load, "PARALLEL_ROW_GROUPS", 1)
    parallel = load.stream_run(path, summary, catalog, workers=2)
    a = metrics.all_metrics(serial)["headline_by_replication"]
    b = metrics.all_metrics(parallel)["headline_by_replication"]
    pd.testing.assert_frame_equal(a, b)


def test_counts_of_apps_have_whole_ticks_and_bands_need_replications() -> None:
    """The upgrade funnel counts apps: no tick at 0.5 apps, however few apps there are. An
    interval band is drawn only with two replications or more."""
    funnel = pd.DataFrame({"days_to_upgrade": [1.0, 2.0, 2.0], "action": ["upgrade"] * 3})
    fig = charts.days_to_upgrade(funnel)
    charts.png(fig)  # lay out the ticks
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
    months = ["2024-01", "2024-02"]
    rates = pd.DataFrame(
        {
            "month": months,
            "error_code": [10014, 10014],
            "reason": ["group_full"] * 2,
            "of": ["operations"] * 2,
            "errors": [1.0, 2.0],
            "share": [0.1, 0.2],
            "per_1000_dau": [1.0, 2.0],
        }
    )
    one = charts.error_rates_over_time(rates, rates.assign(replication=0), months)
    two = charts.error_rates_over_time(
        rates, pd.concat([rates.assign(replication=r) for r in (0, 1)]), months
    )
    assert len(one.axes[0].collections) == 0 and len(two.axes[0].collections) == 1
    assert one.axes[0].get_title().startswith("10014 group_full")
