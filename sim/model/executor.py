"""Executors: play a list of tasks and yield their results in task order, from a laptop to a cluster.

One interface, :class:`Executor`, three ways behind it (one code path for a run's shards, a
sweep's points and replications):

- :class:`LocalExecutor` with 1 worker: the tasks in this process, one after the other;
- :class:`LocalExecutor` with N workers: N spawned processes on this machine;
- :class:`DaskExecutor`: the tasks sent to a Dask ``distributed`` scheduler -- an existing one
  (``tcp://10.0.0.5:8786``) or a ``LocalCluster`` started for the run (``"local"``).

``executor.map(fn, tasks, progress, store)`` calls ``fn(task, tick)`` for each task, where it
runs, and yields the results in the order of ``tasks`` whatever order they finish in. A task
has a ``size`` (units of work, for progress), a ``digest`` (the hash of its inputs) and a
``label`` (how errors name it). ``tick(done)`` reports the units of the task done so far; the
executor sums them into ``progress(done, total)``.

With a :class:`~sim.model.store.TaskStore`, a task whose digest is in the store is not played
again (its stored result is read back), and a task played writes its result into the store
*where it runs*, returning only a receipt: the client reads results back from the store as it
needs them -- not the tables the store keeps as dataset parts, which ``sim run`` links into
its output unread (:mod:`sim.model.store`) -- and a cluster needs the store on a file system
every machine sees.

Workers never outlive their run: local worker processes ignore SIGINT (the main process decides),
ask the kernel to kill them when the main process dies (``PR_SET_PDEATHSIG``), and are terminated
when the run is interrupted (Ctrl-C; SIGTERM too under the ``sim`` command line,
:func:`sim.cli.interrupt.interruptible`) or fails.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import multiprocessing
import os
import queue
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol

from sim.errors import SimError

if TYPE_CHECKING:  # imported where a store is given: a worker without one needs no pandas
    from sim.model.store import TaskStore

AUTO_MIN_UNITS = 20_000
"""``workers="auto"`` plays in this process below this much work (tenant-months): a worker
process costs about a second to start."""

CONNECT_TIMEOUT_S = 10
"""How long to wait for a Dask scheduler before giving up."""

BROKEN = (
    "a worker process died (out of memory?) or could not start: from a script, call the run "
    "under `if __name__ == '__main__':` (worker processes are spawned and import the script), "
    "or use workers=1"
)

Progress = Callable[[int, int], None]
"""``progress(done, total)`` in the tasks' units (tenant-months)."""

Tick = Callable[[int], None]


class Task(Protocol):
    """What an executor needs of a task."""

    @property
    def size(self) -> int: ...

    @property
    def digest(self) -> str: ...

    @property
    def label(self) -> str: ...


class Executor(Protocol):
    """Plays tasks; see the module docstring."""

    workers: int

    def map(
        self,
        fn: Callable[[Any, Tick | None], Any],
        tasks: Sequence[Any],
        progress: Progress | None = None,
        store: TaskStore | None = None,
    ) -> Iterator[Any]: ...

    def close(self) -> None: ...


def cpu_count() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_workers(
    workers: int | str, units: int, n_tasks: int, oversubscribe: bool = False
) -> int:
    """``workers`` as a number: ``"auto"`` is one per CPU, or 1 for less than
    :data:`AUTO_MIN_UNITS` of work; 0 is one per CPU. Never more than the tasks, and never more
    than the CPUs unless ``oversubscribe``."""
    if workers == "auto":
        if units < AUTO_MIN_UNITS:
            return 1
        workers = 0
    if not isinstance(workers, int) or workers < 0:
        raise ValueError(f"workers {workers!r}: a number >= 0 (0: one per CPU) or 'auto'")
    n = workers or cpu_count()
    if not oversubscribe:
        n = min(n, cpu_count())
    return max(1, min(n, n_tasks))


# -- progress ---------------------------------------------------------------------------------


class ProgressSum:
    """Units done, summed over the tasks; reported at most every 0.1 s (and at the end)."""

    def __init__(self, tasks: Sequence[Any], progress: Progress | None) -> None:
        self.done = [0] * len(tasks)
        self.total = sum(t.size for t in tasks)
        self.progress = progress
        self.last = 0.0

    def tick(self, index: int, done: int, force: bool = False) -> None:
        self.done[index] = max(self.done[index], done)
        now = time.monotonic()
        if self.progress is not None and (force or now - self.last >= 0.1):
            self.last = now
            self.progress(sum(self.done), self.total)


def played(
    fn: Callable[[Any, Tick | None], Any], store: TaskStore | None, task: Any, tick: Tick | None
) -> Any:
    """``fn(task, tick)``, written into ``store`` where it runs (a receipt returned)."""
    result = fn(task, tick)
    return result if store is None else store.put(task.digest, result)


def pending_tasks(
    tasks: Sequence[Any], store: TaskStore | None, prog: ProgressSum
) -> tuple[dict[int, Any], list[int]]:
    """The results already in the store (by task index) and the indices still to play."""
    ready: dict[int, Any] = {}
    todo: list[int] = []
    if store is None:
        return ready, list(range(len(tasks)))
    from sim.model.store import Stored

    for i, task in enumerate(tasks):
        if store.has(task.digest):
            ready[i] = Stored(task.digest)
            prog.tick(i, task.size)
        else:
            todo.append(i)
    return ready, todo


def stored_result(value: Any, store: TaskStore | None) -> Any:
    if store is None:
        return value
    from sim.model.store import Stored

    return store.get(value.digest) if isinstance(value, Stored) else value


# -- local ------------------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _die_with_parent(parent: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere); if the parent
    died before this was asked, exit now."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _init_worker(progress_q: Any, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _die_with_parent(parent)
    _WORKER["q"] = progress_q


@contextlib.contextmanager
def _no_sigint() -> Iterator[None]:
    """SIGINT ignored while worker processes are spawned: they inherit it from their birth, so a
    Ctrl-C while they import is the main process's alone."""
    try:
        old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _in_worker(fn: Callable[[Any, Tick | None], Any], index: int, task: Any) -> Any:
    q = _WORKER["q"]
    return fn(task, None if q is None else lambda done: q.put((index, done)))


class LocalExecutor:
    """Tasks played on this machine: in this process (``workers=1``) or in ``workers`` spawned
    processes, at most ``workers + 1`` results held ahead of the one awaited.

    With ``here=True`` this process counts as one of the ``workers``: it plays the first task
    itself while ``workers - 1`` spawned processes play the others (for work that is split in
    as many tasks as there are CPUs: the whole machine busy, one process fewer to start and
    feed)."""

    def __init__(self, workers: int = 1, *, here: bool = False) -> None:
        self.workers = max(1, workers)
        self.here = here and self.workers > 1
        self._started: ProcessPoolExecutor | None = None

    @property
    def processes(self) -> int:
        """Worker processes to spawn."""
        return self.workers - 1 if self.here else self.workers

    def start(self, imports: Sequence[str] = ()) -> None:
        """Start the worker processes now, so that they start (spawn, import ``imports``: the
        modules the tasks need) while this process prepares the tasks; the next :meth:`map`
        plays on them (its progress then counts whole tasks). :meth:`close` ends them if no map
        does. Nothing to start with one worker."""
        if self.workers <= 1 or self._started is not None:
            return
        pool = _new_pool(self.processes, None)
        with _no_sigint():
            for _ in range(self.processes):  # one process is spawned per task waiting
                pool.submit(_import, tuple(imports))
        self._started = pool

    def map(
        self,
        fn: Callable[[Any, Tick | None], Any],
        tasks: Sequence[Any],
        progress: Progress | None = None,
        store: TaskStore | None = None,
    ) -> Iterator[Any]:
        prog = ProgressSum(tasks, progress)
        ready, todo = pending_tasks(tasks, store, prog)
        play = functools.partial(played, fn, store)
        if self.workers <= 1 or len(todo) <= 1:
            for i, task in enumerate(tasks):
                if i not in ready:
                    ready[i] = _named(play, task, functools.partial(prog.tick, i))
                    prog.tick(i, task.size, force=True)
                yield stored_result(ready.pop(i), store)
            return
        yield from self._pool(play, tasks, prog, ready, todo, store)

    def _pool(
        self,
        play: Callable[[Any, Tick | None], Any],
        tasks: Sequence[Any],
        prog: ProgressSum,
        ready: dict[int, Any],
        todo: list[int],
        store: TaskStore | None,
    ) -> Iterator[Any]:
        progress_q = None
        pool, self._started = self._started, None
        if pool is None:
            ctx = multiprocessing.get_context("spawn")
            progress_q = ctx.Queue() if prog.progress is not None else None
            pool = _new_pool(self.processes, progress_q)
        mine = todo.pop(0) if self.here and todo and todo[0] == 0 else None
        pending: dict[int, Future[Any]] = {}
        try:
            for nxt in range(len(tasks)):
                while nxt not in ready:
                    with _no_sigint():
                        while todo and len(pending) < self.processes + 1:
                            i = todo.pop(0)
                            pending[i] = pool.submit(_in_worker, play, i, tasks[i])
                    if nxt == mine:  # played here while the workers play theirs
                        ready[nxt] = _named(play, tasks[nxt], functools.partial(prog.tick, nxt))
                        prog.tick(nxt, tasks[nxt].size, force=True)
                        continue
                    wait([pending[nxt]], timeout=0.2, return_when=FIRST_COMPLETED)
                    _drain(progress_q, prog)
                    if pending[nxt].done():
                        ready[nxt] = _outcome(pending.pop(nxt), tasks[nxt])
                        prog.tick(nxt, tasks[nxt].size, force=True)
                yield stored_result(ready.pop(nxt), store)
            # every result is in and the workers are idle: the finally ends them at once (a
            # clean shutdown waits for each worker's interpreter to tear down, 0.15 s that a
            # replay's caller waited for)
        finally:
            _terminate(pool, pending)

    def close(self) -> None:
        """End worker processes started by :meth:`start` that no map used."""
        pool, self._started = self._started, None
        if pool is not None:
            _terminate(pool, {})


def _import(modules: tuple[str, ...]) -> None:
    for name in modules:
        importlib.import_module(name)


def _new_pool(workers: int, progress_q: Any) -> ProcessPoolExecutor:
    """``workers`` spawned processes that ignore SIGINT and die with this one."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(progress_q, os.getpid()),
    )


def _outcome(fut: Future[Any], task: Any) -> Any:
    try:
        return fut.result()
    except BrokenProcessPool as exc:
        raise SimError(f"{task.label}: {BROKEN}") from exc
    except SimError:
        raise
    except Exception as exc:
        raise SimError(failed(task, exc)) from exc


def failed(task: Any, exc: BaseException) -> str:
    """The one-line error of a task that raised: which task, and what."""
    return f"{task.label} failed: {type(exc).__name__}: {exc}"


def _named(play: Callable[[Any, Tick | None], Any], task: Any, tick: Tick) -> Any:
    try:
        return play(task, tick)
    except SimError:
        raise
    except Exception as exc:
        raise SimError(failed(task, exc)) from exc


def _terminate(pool: ProcessPoolExecutor, pending: dict[int, Future[Any]]) -> None:
    """Stop the pool now: cancel what waits, terminate the processes that play (the standard
    library's shutdown would wait for them to finish their tasks)."""
    for fut in pending.values():
        fut.cancel()
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        with contextlib.suppress(Exception):
            proc.join(2)


def _drain(q: Any, prog: ProgressSum) -> None:
    if q is None:
        return
    while True:
        try:
            index, done = q.get_nowait()
        except queue.Empty:
            return
        prog.tick(index, done)


def make_executor(cluster: str | None, workers: int) -> Executor:
    """The executor for ``--cluster`` (None: local with ``workers`` processes; ``"local"``: a
    Dask LocalCluster of ``workers`` processes; an address: that Dask scheduler)."""
    if cluster is None:
        return LocalExecutor(workers)
    from sim.model.dask_executor import DaskExecutor

    return DaskExecutor(cluster, workers)
