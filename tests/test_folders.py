"""Output folders written whole (sim.files.outputs.OutputDir, sim.files.folders): faults injected
at each step leave the old folder exactly as it was; a second writer is refused; a killed
writer's leftovers are removed by the next one."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import SimError
from sim.files import folders, outputs
from sim.files.outputs import OutputDir, write_tables


def _df(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"app": [f"a{i}" for i in range(n)], "n": range(n)})


def _snapshot(folder: Path) -> dict[str, bytes]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in files}


def _old(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    write_tables(out, {"a.csv": _df(), "summary.json": {"seed": 1}})
    return out, _snapshot(out)


def test_the_folder_is_replaced_whole_summary_included(tmp_path):
    out, _ = _old(tmp_path)
    write_tables(out, {"b.parquet": _df(), "summary.json": {"seed": 2}})
    assert sorted(p.name for p in out.iterdir()) == ["b.parquet", "summary.json"]
    assert (out / "summary.json").read_text() == '{\n  "seed": 2\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temp folder, no lock


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device", "injected")


def test_disk_full_in_the_writer_leaves_the_old_folder(tmp_path, monkeypatch):
    out, before = _old(tmp_path)
    monkeypatch.setitem(outputs.WRITERS, ".json", _enospc)
    with pytest.raises(SimError, match="No space left on device"):
        write_tables(out, {"a.csv": _df(9), "summary.json": {"seed": 2}})
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


@pytest.mark.parametrize(
    "step", ["new_temp", "remove_leftovers", "fsync_tree", "swap_in", "_exchange"]
)
def test_a_failure_at_each_step_leaves_the_old_folder(tmp_path, monkeypatch, step):
    out, before = _old(tmp_path)
    monkeypatch.setattr(folders, step, _enospc)
    with pytest.raises(SimError, match="No space left on device"):
        write_tables(out, {"a.csv": _df(9), "summary.json": {"seed": 2}})
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_sink_failing_at_its_footer_leaves_the_old_folder(tmp_path, monkeypatch):
    out, before = _old(tmp_path)
    monkeypatch.setattr(outputs.ParquetSink, "close", _enospc)
    with pytest.raises(SimError, match="No space left on device"), OutputDir(out) as folder:
        folder.sink("big.parquet").write(_df(5))
        folder.write("summary.json", {"seed": 2})
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failure_without_an_old_folder_leaves_no_folder(tmp_path, monkeypatch):
    monkeypatch.setitem(outputs.WRITERS, ".json", _enospc)
    with pytest.raises(SimError):
        write_tables(tmp_path / "new" / "out", {"a.csv": _df(), "summary.json": {}})
    assert list(tmp_path.iterdir()) == []


def test_an_interrupt_inside_the_block_leaves_the_old_folder(tmp_path):
    out, before = _old(tmp_path)
    with pytest.raises(KeyboardInterrupt), OutputDir(out) as folder:
        folder.sink("big.parquet").write(_df(5))
        raise KeyboardInterrupt
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_swap_without_renameat2_moves_the_old_folder_aside(tmp_path, monkeypatch):
    out, _ = _old(tmp_path)
    monkeypatch.setattr(folders, "_exchange", lambda a, b: False)
    write_tables(out, {"b.csv": _df()})
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_swap_cut_short_is_undone_by_the_next_writer(tmp_path):
    out, before = _old(tmp_path)
    aside = tmp_path / ".out.old-0123456789abcdef"
    out.rename(aside)  # killed between its two renames: the old folder aside, no folder
    (tmp_path / ".out.tmp-fedcba9876543210").mkdir()
    folders.remove_leftovers(out)
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def _real_disk_full_or_skip(tmp_path: Path) -> Path:
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=96k", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    return mnt


def test_a_really_full_disk_leaves_the_old_folder(tmp_path):
    mnt = _real_disk_full_or_skip(tmp_path)
    try:
        out = mnt / "out"
        write_tables(out, {"a.csv": _df(), "summary.json": {"seed": 1}})
        before = _snapshot(out)
        with pytest.raises(SimError, match="No space left on device"):
            write_tables(out, {"a.csv": _df(50_000), "summary.json": {"seed": 2}})
        assert _snapshot(out) == before
        assert sorted(p.name for p in mnt.iterdir()) == ["out"]
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


_HOLD = """
import sys, time
import pandas as pd
from sim.files.outputs import OutputDir
with OutputDir(sys.argv[1]) as out:
    out.write("a.csv", pd.DataFrame({"x": range(1000)}))
    print("ready", flush=True)
    time.sleep(60)
"""


def _holder(out: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_HOLD), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def test_kill_9_mid_write_leaves_the_old_folder_and_the_next_run_cleans_up(tmp_path):
    out, before = _old(tmp_path)
    proc = _holder(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert _snapshot(out) == before
    left = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.startswith(".out.tmp-") for n in left), left
    write_tables(out, {"b.csv": _df()})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path):
    out, before = _old(tmp_path)
    proc = _holder(out)
    try:
        with pytest.raises(SimError, match="being written by another sim command"):
            write_tables(out, {"b.csv": _df()})
        assert _snapshot(out) == before
    finally:
        proc.kill()
        proc.wait()
    write_tables(out, {"b.csv": _df()})  # the lock died with its holder
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]


def test_a_symlink_to_another_file_system_is_written_through(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("no second file system at /dev/shm")
    target = shm / f"sim-test-{os.getpid()}-{time.monotonic_ns()}"
    target.mkdir()
    try:
        link = tmp_path / "link"
        link.symlink_to(target / "out")
        write_tables(link, {"a.csv": _df()})
        write_tables(link, {"b.csv": _df()})  # and swapped there again
        assert link.is_symlink()
        assert sorted(p.name for p in (target / "out").iterdir()) == ["b.csv"]
        assert sorted(p.name for p in target.iterdir()) == ["out"]
    finally:
        import shutil

        shutil.rmtree(target)


def test_a_mount_point_is_refused_before_anything_is_written():
    with pytest.raises(SimError, match="mount point"), OutputDir("/proc"):
        pass


def test_a_folder_holding_other_files_is_never_replaced(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(SimError, match="notes.txt"):
        write_tables(out, {"a.csv": _df()})
    assert _snapshot(out) == {"notes.txt": b"mine"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_run_folder_with_its_report_inside_can_be_replaced(tmp_path):
    out, _ = _old(tmp_path)
    (out / "report" / "figures").mkdir(parents=True)
    (out / "report" / "report.html").write_text("<html>")
    (out / "report" / "figures" / "x.png").write_bytes(b"png")
    write_tables(out, {"a.csv": _df()})
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]


def test_the_current_directory_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SimError, match="current directory"):
        write_tables(".", {"a.csv": _df()})
    assert list(tmp_path.iterdir()) == []


def test_a_killed_report_writers_leftovers_do_not_block_a_rerun(tmp_path):
    out, _ = _old(tmp_path)
    (out / "report").mkdir()
    (out / "report" / ".report.html.0123.tmp").write_text("half")
    (out / "report" / ".tables.lock").write_text("")
    write_tables(out, {"a.csv": _df()})
    assert sorted(p.name for p in out.iterdir()) == ["a.csv"]


def test_a_run_folder_is_one_set_summary_included(tmp_path, monkeypatch):
    from test_model import tiny

    from sim.model.runner import TABLES, run_and_write, store_path

    out = tmp_path / "run"
    _, paths = run_and_write(tiny(horizon_months=1), out, workers=1)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{t}.parquet" for t in TABLES] + ["summary.json", "manifest.json"]
    )
    assert [p.name for p in paths][-2:] == ["summary.json", "manifest.json"]
    before = _snapshot(out)
    monkeypatch.setitem(outputs.WRITERS, ".json", _enospc)  # the disk fills at summary.json
    with pytest.raises(SimError, match="No space left on device"):
        run_and_write(tiny(horizon_months=2), out, workers=1)
    assert _snapshot(out) == before
    # beside it only the task store that lets the same command resume (issue 11 point 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == [store_path(out).name, "run"]
    monkeypatch.undo()
    run_and_write(tiny(horizon_months=2), out, workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # the store goes once written


def test_leftovers_of_a_folder_whose_name_looks_like_one_are_told_apart(tmp_path):
    out = tmp_path / "x.old-0123456789abcdef"
    write_tables(out, {"a.csv": _df()})
    other = tmp_path / ".x.old-0123456789abcdef.tmp-0123456789abcdef"  # out's own leftover
    unrelated = tmp_path / ".x.tmp-0123456789abcdef"  # a leftover of a folder named x
    other.mkdir()
    unrelated.mkdir()
    write_tables(out, {"b.csv": _df()})
    assert sorted(p.name for p in tmp_path.iterdir()) == [unrelated.name, out.name]
    assert sorted(p.name for p in out.iterdir()) == ["b.csv"]
