"""Temporary folders for rows staged on disk: under TMPDIR, removed by a later run if this one is killed."""

from __future__ import annotations

import os
import shutil
import tempfile
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
        shutil.rmtree(folder, ignore_errors=True)
        os.close(lock)
