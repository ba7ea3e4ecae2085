"""Temporary folders for rows staged on disk: under TMPDIR, removed by a later run if this one is killed."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from signal_job.reporting.outputs import OWNER, hold, owner, remove_orphans


@contextmanager
def staging_folder() -> Iterator[Path]:
    """A new temporary folder, removed on exit; named after its owner, whose lock says it is alive."""
    root = Path(tempfile.gettempdir())
    remove_orphans(root)
    folder = Path(tempfile.mkdtemp(prefix=f".signal-job.{owner()}.", suffix=".tmp", dir=root))
    lock = os.open(folder / OWNER, os.O_CREAT | os.O_WRONLY, 0o600)
    hold(lock)
    try:
        yield folder
    finally:
        _remove(folder)
        os.close(lock)


def _remove(folder: Path, *, tries: int = 40) -> None:
    """Remove `folder`, again if a writer of a failed query added a file while it was removed.

    A Polars sink that fails returns its error while another of its writers may still be
    finishing a file: one `rmtree` can then leave that file, and the folder, behind. Writers
    never make folders (see `groups`), so once the folder is gone it stays gone.
    """
    for _ in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)
