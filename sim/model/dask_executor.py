"""The Dask executor: the same interface as :class:`sim.model.executor.LocalExecutor`, with the
tasks played by the workers of a Dask ``distributed`` scheduler.

``DaskExecutor("tcp://10.0.0.5:8786")`` connects to a running scheduler (``dask scheduler`` on
one machine, ``dask worker tcp://10.0.0.5:8786`` on each machine that has the project
installed); ``DaskExecutor("local", n)`` starts a ``LocalCluster`` of ``n`` worker processes for
the run and closes it after. Every task is submitted with its digest in its key and
``retries=1``: a worker that dies is replaced by the scheduler and its tasks played again; a task
that fails twice is one :class:`~sim.errors.SimError` naming it. Results come back in task
order; with a task store, the workers write the results (their Parquet parts) into it and return
only receipts, so the client is not the bottleneck (the store must then be on a file system
every worker sees).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sim.errors import SimError
from sim.model.executor import (
    CONNECT_TIMEOUT_S,
    Progress,
    ProgressSum,
    Tick,
    pending_tasks,
    played,
    stored_result,
)
from sim.model.store import TaskStore

RETRIES = 1
"""Extra attempts of a task that raised (a task that fails twice is an error)."""


class DaskExecutor:
    """Tasks played on a Dask cluster (see the module docstring)."""

    def __init__(self, address: str, workers: int = 1, processes: bool = True) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - distributed is a dependency
            raise SimError(
                "--cluster needs the 'distributed' package (pip install distributed)"
            ) from exc
        self.address = address
        self.cluster: Any = None
        try:
            if address == "local":
                self.cluster = LocalCluster(
                    n_workers=max(1, workers),
                    threads_per_worker=1,
                    processes=processes,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.cluster, timeout=CONNECT_TIMEOUT_S)
            else:
                self.client = Client(address, timeout=CONNECT_TIMEOUT_S)
        except Exception as exc:  # refused, timed out, or not a Dask scheduler at all
            self.close()
            raise SimError(
                f"--cluster {address!r}: cannot reach a Dask scheduler within "
                f"{CONNECT_TIMEOUT_S} s ({type(exc).__name__}: {str(exc)[:200]}); give tcp://HOST:PORT "
                "of a running `dask scheduler`, or 'local'"
            ) from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(
        self,
        fn: Callable[[Any, Tick | None], Any],
        tasks: Sequence[Any],
        progress: Progress | None = None,
        store: TaskStore | None = None,
    ) -> Iterator[Any]:
        prog = ProgressSum(tasks, progress)
        ready, todo = pending_tasks(tasks, store, prog)
        futures = {
            i: self.client.submit(
                played,
                fn,
                store,
                tasks[i],
                None,
                key=f"sim-{tasks[i].digest[:16]}-{i}",
                retries=RETRIES,
                pure=False,
            )
            for i in todo
        }
        try:
            for i, task in enumerate(tasks):
                if i not in ready:
                    ready[i] = _outcome(futures.pop(i), task)
                    prog.tick(i, task.size, force=True)
                yield stored_result(ready.pop(i), store)
        finally:
            for fut in futures.values():
                fut.cancel()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if getattr(self, "client", None) is not None:
                self.client.close()
        with contextlib.suppress(Exception):
            if self.cluster is not None:
                self.cluster.close()


def _outcome(fut: Any, task: Any) -> Any:
    try:
        return fut.result()
    except SimError:
        raise
    except Exception as exc:
        raise SimError(
            f"{task.label} failed {RETRIES + 1} times on the cluster: {type(exc).__name__}: {exc}"
        ) from exc
