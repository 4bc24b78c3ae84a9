"""Shards: a run cut into pieces gives the same tables and the same files, whatever the shard size
and the number of worker processes (sim.model.shards, sim.files.outputs.ParquetSink, sim.model.runner)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from fake_run import folder_bytes
from test_model import limits_scenario, tiny

from sim.cli.run import Bar
from sim.errors import SimError
from sim.files.outputs import OutputDir, ParquetSink
from sim.model import executor, plan
from sim.model.runner import DATASETS, TABLES, by_workers, run, run_and_write, write
from sim.model.scenario import scenario_from_dict


def _mixed() -> dict:
    return tiny(horizon_months=2)


def _summary(d: Path) -> dict:
    s = json.loads((d / "summary.json").read_text())
    for k in ("wall_time_s", "operations_per_s"):
        s.pop(k)
    return s


def test_plan_cuts_each_replication_in_app_name_order() -> None:
    sc = scenario_from_dict(tiny(replications=2))
    cut = plan.shards(sc, 2)
    assert [s.number for s in cut] == list(range(len(cut)))
    for rep in (0, 1):
        keys = [k for s in cut if s.replication == rep for k in s.keys]
        apps = [f"{a}-{j:04d}" for a, j in keys]
        assert apps == sorted(apps) and len(keys) == sc.n_tenants
    assert max(len(s.keys) for s in cut) == 2
    assert [s.replication for s in plan.shards(sc, 2, replications=[1])] == [1] * (len(cut) // 2)
    with pytest.raises(ValueError, match="at least 1"):
        plan.shards(sc, 0)


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_tables_do_not_depend_on_the_shard_size(mode: str) -> None:
    """A tenant's rows are the same whichever shard plays it; concatenated shards are the
    whole table, in the same order."""
    whole = run(_mixed(), mode=mode, replications=2, shard_tenants=10_000)
    cut = run(_mixed(), mode=mode, replications=2, shard_tenants=3)
    assert len(whole.group_ops) > 100 and whole.console_ops["ok"].any()
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(cut, name), obj=name)
    for key in ("revenue_by_month", "error_rates", "console_ops", "group_operations"):
        assert whole.summary[key] == cut.summary[key], key


@pytest.mark.parametrize("mode", ["exact", "fast"])
def test_parts_do_not_depend_on_the_workers_and_the_tables_not_on_the_shards(
    tmp_path: Path, mode: str
) -> None:
    """`sim run` (workers write one part per shard of group_ops and usage, compact columns)
    writes the same bytes in one process as in two; whatever the shard size, the dataset
    folders read as the tables `sim.run` gathers, in order, and the small tables' files and
    the figures are the same bytes. Exact mode's group_ops (time first) is one part, sorted
    by the client."""
    sc = {**limits_scenario(), "replications": 2, "mode": mode}
    write(run(sc, shard_tenants=10_000), tmp_path / "gathered")
    run_and_write(sc, tmp_path / "one", workers=1, shard_tenants=3)
    run_and_write(sc, tmp_path / "two", workers=2, shard_tenants=3)
    run_and_write(sc, tmp_path / "four", workers=1, shard_tenants=4)
    one = folder_bytes(tmp_path / "one")
    assert folder_bytes(tmp_path / "two") == one
    n = len(plan.plan(plan.resolve(sc), plan.resolve(sc).load_catalog(), 3))
    for name in DATASETS:
        parts = range(n) if name in by_workers(mode) else [0]
        assert sorted(f for f in one if f.startswith(f"{name}.parquet/")) == [
            f"{name}.parquet/part-{i:05d}.parquet" for i in parts
        ]
    whole = run(sc)
    for d in ("gathered", "one", "four"):
        for name in TABLES:
            got = pd.read_parquet(tmp_path / d / f"{name}.parquet")
            pd.testing.assert_frame_equal(got, _plain(getattr(whole, name)), obj=f"{d}/{name}")
        for name in set(TABLES) - set(DATASETS):
            f = f"{name}.parquet"
            assert (tmp_path / d / f).read_bytes() == one[f], (d, name)
        assert _summary(tmp_path / d) == _summary(tmp_path / "one")


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """A table as Parquet gives it back: object columns of strings as ``str``."""
    return pd.read_parquet(io.BytesIO(df.to_parquet(index=False)))


def test_parquet_sink_rows_not_pieces_make_the_file(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    n = 50
    df = pd.DataFrame(
        {
            "app": pd.Series([f"a{i % 7}" for i in range(n)], dtype="str"),
            "x": rng.integers(0, 100, n),
            "note": [None] * 20 + ["n"] * 30,  # all missing in the first pieces
        }
    )
    one = ParquetSink(tmp_path / "one.parquet", row_group_rows=8)
    one.write(df)
    one.close()
    cut = ParquetSink(tmp_path / "cut.parquet", row_group_rows=8)
    for lo, hi in ((0, 0), (0, 3), (3, 11), (11, 11), (11, 30), (30, 50)):
        piece = df.iloc[lo:hi]
        if lo == 11:  # a piece whose app column is categorical: written as its strings
            piece = piece.assign(app=piece["app"].astype("category"))
        cut.write(piece)
    cut.close()
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "cut.parquet").read_bytes()
    f = pq.ParquetFile(tmp_path / "cut.parquet")
    assert [f.metadata.row_group(i).num_rows for i in range(f.num_row_groups)] == [8] * 6 + [2]
    back = pd.read_parquet(tmp_path / "cut.parquet")
    pd.testing.assert_frame_equal(back, df.assign(note=df["note"].astype("str")))


def test_parquet_sink_refuses_other_columns_and_writes_empty_files(tmp_path: Path) -> None:
    sink = ParquetSink(tmp_path / "t.parquet")
    sink.write(pd.DataFrame({"a": [1]}))
    with pytest.raises(ValueError, match=r"columns \['b'\] differ from \['a'\]"):
        sink.write(pd.DataFrame({"b": [1]}))
    empty = ParquetSink(tmp_path / "e.parquet")
    empty.write(pd.DataFrame({"a": pd.Series([], dtype="int64")}))
    empty.close()
    assert list(pd.read_parquet(tmp_path / "e.parquet").columns) == ["a"]


def test_a_failure_while_streaming_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "out"
    with pytest.raises(RuntimeError, match="boom"), OutputDir(out) as o:
        o.sink("a.parquet").write(pd.DataFrame({"a": [1, 2]}))
        o.write("b.parquet", pd.DataFrame({"b": [1]}))
        raise RuntimeError("boom")
    assert not (tmp_path / "deep").exists()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="given twice"), OutputDir(tmp_path / "o") as o:
        o.sink("a.parquet")
        o.write("a.parquet", pd.DataFrame())
    (tmp_path / "f").write_text("x")
    with pytest.raises(SimError, match="not a directory"):
        OutputDir(tmp_path / "f")


def test_progress_counts_tenant_months_up_to_the_total() -> None:
    calls: list[tuple[int, int]] = []
    sc = tiny(horizon_months=2)
    run(sc, shard_tenants=2, progress=lambda d, t: calls.append((d, t)))
    total = scenario_from_dict(sc).n_tenants * 2
    assert calls[-1] == (total, total)
    done = [d for d, _ in calls]
    assert done == sorted(done) and all(t == total for _, t in calls)


def test_progress_bar_draws_one_line_with_an_estimate() -> None:
    buf = io.StringIO()
    bar = Bar(buf, width=10)
    bar(25, 100)
    bar(100, 100)
    bar.close()
    text = buf.getvalue()
    lines = text.split("\r")[1:]
    assert lines[0].startswith("[##........] 25/100 tenant-months, ") and "s to go" in lines[0]
    assert lines[1].startswith("[##########] 100/100 tenant-months, ") and "to go" not in lines[1]
    assert text.endswith("\n")
    quiet = io.StringIO()
    Bar(quiet).close()  # nothing drawn, nothing written
    assert quiet.getvalue() == ""


def test_workers_resolve() -> None:
    resolve, cpus = executor.resolve_workers, executor.cpu_count()
    assert resolve("auto", 1000, 8) == 1  # a small run plays in this process
    assert resolve("auto", 10**6, 8) == min(cpus, 8)
    assert resolve(3, 10**6, 2) == 2  # no more workers than tasks
    assert resolve(0, 10**6, 100) == cpus
    assert resolve(cpus + 3, 10**6, 100) == cpus  # capped at the CPU count...
    assert resolve(cpus + 3, 10**6, 100, oversubscribe=True) == cpus + 3  # ...unless asked
    with pytest.raises(ValueError, match="workers -1"):
        resolve(-1, 10**6, 8)


def test_cli_run_refuses_a_bad_workers_value(capsys, tmp_path: Path) -> None:
    from sim.cli.app import main

    for bad in ("-1", "two"):
        assert main(["run", "baseline", "--workers", bad, "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err
        assert "--workers" in err and f"'{bad}'" in err and "'auto'" in err, err
        assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_error_counts_are_the_plain_groupby_of_the_tables() -> None:
    """The one-pass tallies (sim.model.runner.tally) against pandas group-bys written out."""
    from sim.model.runner import error_counts

    r = run({**limits_scenario(), "replications": 2}, mode="fast", shard_tenants=5)
    g = r.group_ops.assign(month=r.group_ops["date"].dt.strftime("%Y-%m"))
    g["kind"] = np.where(g["op"] == "activity", "dau", "ops")
    refused = g[g["error_code"] != 0].groupby(["replication", "month", "kind", "error_code"])
    ops = g[g["kind"] == "ops"].groupby(["replication", "month"])["count"].sum()
    u = r.usage.assign(month=r.usage["date"].dt.strftime("%Y-%m"))
    dau = (u["dau"] + u["dau_refused"]).groupby([u["replication"], u["month"]]).sum()
    want = refused["count"].sum().rename("refused").reset_index()
    want["attempts"] = [
        (dau if k == "dau" else ops)[(rep, m)]
        for rep, m, k in zip(want["replication"], want["month"], want["kind"], strict=True)
    ]
    got = error_counts(r)
    assert len(got) > 10 and set(got["kind"]) == {"ops", "dau"}
    pd.testing.assert_frame_equal(
        got[["replication", "month", "kind", "error_code", "refused", "attempts"]],
        want,
        check_dtype=False,
    )
    assert r.summary["error_rates"]["70398"]["refused"] == int(
        g.loc[g["error_code"] == 70398, "count"].sum()
    )
