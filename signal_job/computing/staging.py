"""Temporary folders for rows staged on disk: under TMPDIR, removed by a later run if this one is killed."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from signal_job.safe_files import OWNER, hold, owner, remove_orphans

# How long the descriptor of a folder removed after a failure stays open (see `staging_folder`):
# far longer than a writer takes to finish the file it was writing.
LATE_WRITER_SECONDS = 60.0
_parked: list[tuple[float, int]] = []  # (when removed, descriptor) of folders removed after a failure
_parking = threading.Lock()  # runs of the API may stage on several threads at once


@contextmanager
def staging_folder() -> Iterator[Path]:
    """A new temporary folder, removed on exit; named after its owner, whose lock says it is alive.

    When a Polars sink fails it returns its error while other writers of the query may still be
    finishing, and a partitioned sink makes its folders however `mkdir` is set: a late writer would
    bring back a folder already removed. So the folder is handed out, where the system allows,
    through an open descriptor of it (`/proc/self/fd/N`): once removed it cannot be written through
    that path, and the descriptor is kept for a while after a failure so that N is not reused.
    """
    _close_parked(time.monotonic())
    root = Path(tempfile.gettempdir())
    remove_orphans(root)
    folder = Path(tempfile.mkdtemp(prefix=f".signal-job.{owner()}.", suffix=".tmp", dir=root))
    lock = os.open(folder / OWNER, os.O_CREAT | os.O_WRONLY, 0o600)
    hold(lock)
    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield _through(handle, folder)
    except BaseException:
        _remove(folder)
        with _parking:
            _parked.append((time.monotonic(), handle))
        raise
    else:
        _remove(folder)
        os.close(handle)  # every query finished: no writer is left
    finally:
        os.close(lock)


def _through(handle: int, folder: Path) -> Path:
    """`folder` named through its open descriptor, or as it is where the system has no such names."""
    named = Path(f"/proc/self/fd/{handle}")
    try:
        return named if named.samefile(folder) else folder
    except OSError:
        return folder


def _close_parked(now: float) -> None:
    with _parking:
        while _parked and now - _parked[0][0] > LATE_WRITER_SECONDS:
            with suppress(OSError):
                os.close(_parked.pop(0)[1])


def _remove(folder: Path, *, tries: int = 40) -> None:
    """Remove `folder`, again if a writer of a failed query added a file while it was removed."""
    for _ in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)
