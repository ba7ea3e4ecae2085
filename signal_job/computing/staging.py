"""Temporary folders for rows staged on disk: under TMPDIR, removed by a later run if this one is killed.

A staging folder that cannot be made, or a write into it that finds the disk full, is the
temporary folder's problem, said as such (`StagingError`): never the input's, whose rows the
same queries read.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import polars as pl

from signal_job.errors import InputError, StagingError
from signal_job.safe_files import OWNER, hold, owner, remove_orphans

# How long the descriptor of a folder removed after a failure stays open (see `staging_folder`):
# far longer than a writer takes to finish the file it was writing.
LATE_WRITER_SECONDS = 60.0
_NAME_TRIES = 100  # random names drawn for a new folder before giving up (as tempfile does)
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
    A folder that cannot be made is a `StagingError`; so is a write into it that the disk refuses,
    where the writer says so (`writing_staged`).
    """
    _close_parked(time.monotonic())
    root = Path(tempfile.gettempdir())
    remove_orphans(root)
    folder, lock = _made(root)
    handle: int | None = None
    failed = True
    try:
        hold(lock)
        handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        yield _through(handle, folder)
        failed = False
    finally:
        try:
            _removed(folder)
        finally:
            if handle is not None and failed:  # a late writer may still hold N: parked a while
                with _parking:
                    _parked.append((time.monotonic(), handle))
            elif handle is not None:
                os.close(handle)  # every query finished: no writer is left
            os.close(lock)


def _made(root: Path) -> tuple[Path, int]:
    """A new folder in `root`, named after its owner, and the descriptor of its lock file.

    Made so that a stop cannot split it (SIGTERM raises in this thread, between any two steps):
    whatever stops it removes the folder, which is never left without its lock (a killed run's
    folder with its lock is a later run's to remove).
    """
    for _ in range(_NAME_TRIES):
        folder = root / f".signal-job.{owner()}.{secrets.token_hex(4)}.tmp"
        lock: int | None = None
        try:
            folder.mkdir(0o700)
            lock = os.open(folder / OWNER, os.O_CREAT | os.O_WRONLY, 0o600)
            return folder, lock
        except FileExistsError:
            continue  # another folder's name: draw again
        except BaseException as exc:
            if lock is not None:
                os.close(lock)
            _remove(folder)  # nothing is there if the folder itself could not be made
            if isinstance(exc, OSError):
                raise not_staged(exc.errno or errno.EIO) from exc
            raise
    raise not_staged(errno.EEXIST)


# Writes that fail for want of room, or of a disk that takes them: reading the input never does.
_WHAT_TO_DO = {
    errno.ENOSPC: "free space there, or set TMPDIR to a folder on a disk with more room",
    errno.EDQUOT: "free space there (a disk quota is full), or set TMPDIR to a folder on another disk",
    errno.EFBIG: "set TMPDIR to a folder on a disk that takes larger files",
    errno.EROFS: "set TMPDIR to a folder on a disk this run can write",
}
_OS_ERROR = re.compile(r"\(os error (\d+)\)")  # how Polars reports an OSError it met


@contextmanager
def writing_staged() -> Iterator[None]:
    """Writes into a staging folder: one that finds the disk full (or read-only) is a `StagingError`.

    Other errors pass as they are: the queries that stage rows also read the input.
    """
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        error = unwritable(exc)
        if error is None:
            raise
        raise error from exc


def unwritable(exc: BaseException) -> StagingError | None:
    """The error of a write into a staging folder that failed with `exc`, if the disk refused it."""
    number = exc.errno if isinstance(exc, OSError) else None
    if number is None:
        found = _OS_ERROR.search(str(exc))
        number = int(found[1]) if found else None
    return not_staged(number) if number in _WHAT_TO_DO else None


def not_staged(number: int) -> StagingError:
    """The error of a staging folder that could not be made or written (`number`, an errno)."""
    root = tempfile.gettempdir()
    given = os.environ.get("TMPDIR")
    if not given:
        named = "TMPDIR is not set"
    elif Path(given).resolve() == Path(root).resolve():
        named = "TMPDIR"
    else:
        named = f"TMPDIR is {given}"
    what_to_do = _WHAT_TO_DO.get(number, "set TMPDIR to a folder this run can write")
    return StagingError(
        f"cannot write to the temporary folder {root} ({named}), where the run stages rows on disk: "
        f"{os.strerror(number)}; {what_to_do}"
    )


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


def _removed(folder: Path) -> None:
    """Remove `folder`, once more if a stop interrupts the removal (a second stop is not acted on)."""
    try:
        _remove(folder)
    except BaseException:
        _remove(folder)
        raise


def _remove(folder: Path, *, tries: int = 40) -> None:
    """Remove `folder`, again if a writer of a failed query added a file while it was removed."""
    for _ in range(tries):
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            return
        time.sleep(0.05)


# The name a copy of standard input takes, by its first bytes: the readers tell a format by its name.
_SPOOLED_NAMES = (
    (b"\x1f\x8b", "stdin.csv.gz"),
    (b"\x28\xb5\x2f\xfd", "stdin.csv.zst"),
    (b"PAR1", "stdin.parquet"),
    (b"ARROW1", "stdin.arrow"),
)
_CHUNK = 1 << 20


@contextmanager
def spooled(stream: int) -> Iterator[Path]:
    """The file descriptor `stream` (standard input) copied whole into a new staging folder: the file.

    Removed on exit, as the folder is.

    The readers sniff, seek and scan a file more than once, which a pipe cannot give them. Its
    name says its format (`stdin.csv`, `stdin.csv.gz`, `stdin.parquet`, ...), told by its first
    bytes. A full disk is a `StagingError`; a stream that cannot be read, an `InputError`.
    """
    with staging_folder() as staged:
        # By its real name, not through this process's descriptor: Dask workers read it too.
        folder = Path(os.path.realpath(staged))
        chunk = _read(stream)
        path = folder / next((name for magic, name in _SPOOLED_NAMES if chunk.startswith(magic)), "stdin.csv")
        try:
            with path.open("wb") as file:
                while chunk:
                    file.write(chunk)
                    chunk = _read(stream)
        except OSError as exc:
            raise not_staged(exc.errno or errno.EIO) from exc
        yield path


def _read(stream: int) -> bytes:
    """What `stream` has now (up to a chunk), waiting for some: b"" at its end."""
    try:
        return os.read(stream, _CHUNK)
    except OSError as exc:
        msg = f"cannot read standard input: {exc.strerror}"
        raise InputError(msg) from exc
