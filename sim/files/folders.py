"""Output folders swapped in whole: the lock, the temporary folder, fsync and the swap.

An output folder ``DEST`` is written as a set (:class:`sim.files.outputs.OutputDir` drives it):

1. ``DEST`` is resolved (a symlink to its target) and must not be a mount point, the current
   directory or one of its ancestors, and, if it exists, must hold only files sim writes
   (:data:`OUTPUT_SUFFIXES`, in subfolders too): anything else is refused, never deleted.
2. An exclusive ``flock`` on ``PARENT/.NAME.lock`` (:class:`FolderLock`): a second command
   writing the same folder is refused at once.
3. Leftovers of a killed writer (``.NAME.tmp-<hex>``, ``.NAME.old-<hex>``) are removed; a
   previous folder left aside by a swap that was cut short is put back first.
4. Everything is written into ``PARENT/.NAME.tmp-<hex>`` (same parent, so the same file
   system whatever mounts or symlinks lead there), each file and the folder are fsynced.
5. :func:`swap_in` exchanges the two folders with one ``renameat2(RENAME_EXCHANGE)`` (Linux)
   or, where the file system cannot, moves the old one aside and the new one in; the parent is
   fsynced and the old folder removed.

A failure at any step leaves the old folder as it was (or no folder if there was none).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import re
import secrets
import shutil
from pathlib import Path

from sim.errors import SimError

OUTPUT_SUFFIXES = frozenset({".csv", ".parquet", ".json", ".html", ".png", ".xlsx", ".yaml"})
"""What a folder sim may replace can hold (a run folder, its report, a replay's tables)."""

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    return lib if hasattr(lib, "renameat2") else None


_LIBC = _libc()


def target_of(out_dir: Path) -> Path:
    """The folder ``out_dir`` names: symlinks resolved, checked as the module docstring says."""
    target = out_dir.resolve()
    if target.exists() and not target.is_dir():
        raise SimError(f"output directory {str(out_dir)!r} exists and is not a directory")
    if target.is_dir() and os.path.ismount(target):
        raise SimError(
            f"output directory {str(out_dir)!r} is a mount point, which cannot be swapped "
            "whole; give a folder inside it"
        )
    cwd = Path.cwd().resolve()
    if target == cwd or target in cwd.parents:
        raise SimError(
            f"output directory {str(out_dir)!r} is the current directory or holds it; "
            "give a folder of its own"
        )
    return target


def check_replaceable(target: Path, shown: str, keep: tuple[str, ...] = ()) -> None:
    """Refuse to replace a folder that holds something sim does not write (the subfolders
    named in ``keep``, sim's own task stores, are not looked into)."""
    if not target.is_dir():
        return
    for root, dirs, files in os.walk(target):
        if Path(root) == target:
            dirs[:] = [d for d in dirs if d not in keep]
        for name in (*files, *dirs):
            path = Path(root) / name
            ours = name in dirs or path.suffix in OUTPUT_SUFFIXES or _leftover(name)
            ours = ours and not path.is_symlink()
            if not ours:
                raise SimError(
                    f"output directory {shown!r} holds {str(path.relative_to(target))!r}, "
                    "which sim did not write; the folder is replaced whole, so give a new or "
                    "empty folder (or move that file away)"
                )


def _leftover(name: str) -> bool:
    """A lock or temporary file sim itself leaves while writing (``.x.lock``, ``.x.….tmp``)."""
    return name.startswith(".") and name.endswith((".lock", ".tmp"))


class FolderLock:
    """An exclusive, non-blocking ``flock`` on ``path`` (created, and removed on release)."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self.fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise SimError(
                    f"output directory {self.shown!r} is being written by another sim command "
                    f"(it holds {self.path.name!r}); wait for it to end"
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file its last holder removed while we opened it
                self.fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still held: nobody can lock the old inode
        finally:
            os.close(self.fd)
            self.fd = None


def _leftovers(name: str) -> re.Pattern[str]:
    return re.compile(rf"\.{re.escape(name)}\.(tmp|old)-[0-9a-f]{{16}}")


def remove_leftovers(target: Path) -> None:
    """Remove what a killed writer of ``target`` left (call with the lock held); a previous
    folder moved aside by a cut-short swap is put back when no folder took its place."""
    pattern = _leftovers(target.name)
    kinds = {p: pattern.fullmatch(p.name) for p in target.parent.iterdir() if not p.is_symlink()}
    found = sorted(p for p, m in kinds.items() if m is not None)
    olds = [p for p in found if (m := kinds[p]) is not None and m.group(1) == "old"]
    if olds and not os.path.lexists(target):
        os.rename(olds[-1], target)
        found.remove(olds[-1])
    for p in found:
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def new_temp(target: Path) -> Path:
    tmp = target.parent / f".{target.name}.tmp-{secrets.token_hex(8)}"
    tmp.mkdir()
    return tmp


def fsync_tree(folder: Path) -> None:
    """fsync every file and folder under ``folder`` (and ``folder`` itself)."""
    for root, dirs, files in os.walk(folder, topdown=False):
        for name in files:
            fsync_path(Path(root) / name)
        for name in dirs:
            fsync_path(Path(root) / name)
    fsync_path(folder)


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (renameat2 RENAME_EXCHANGE); False where unsupported."""
    if _LIBC is None:
        return False
    rc = _LIBC.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def swap_in(tmp: Path, target: Path) -> None:
    """Put the complete folder ``tmp`` at ``target``; the folder that was there is removed."""
    if not os.path.lexists(target):
        os.rename(tmp, target)
        fsync_path(target.parent)
        return
    if _exchange(tmp, target):
        fsync_path(target.parent)
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now names the old folder
        return
    old = target.parent / f".{target.name}.old-{secrets.token_hex(8)}"
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    fsync_path(target.parent)
    shutil.rmtree(old, ignore_errors=True)
