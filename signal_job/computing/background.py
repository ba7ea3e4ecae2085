"""Run a Polars query on a worker thread, so the main thread keeps handling signals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")


def in_background(work: Callable[[], _T]) -> _T:
    """`work()` (a Polars collect) on another thread, so this one still handles signals.

    A Python signal handler runs only between bytecodes of the main thread, never while it
    waits inside Polars; waiting here instead lets SIGTERM stop the run at once. The query
    itself cannot be cancelled: the process exits soon after, taking it along.
    """
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=target, name="signal-job-query", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.05)
    if failure:
        raise failure[0]
    return outcome[0]
