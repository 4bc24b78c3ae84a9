"""SIGTERM handled as Ctrl-C while a ``sim`` command runs, so that both run its clean-up."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM raises :class:`KeyboardInterrupt` in the main thread while the block runs, as
    Ctrl-C does: worker processes are ended and temporary files removed for both."""

    def _raise(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        old = signal.signal(signal.SIGTERM, _raise)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
