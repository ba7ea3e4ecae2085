"""Safe file helpers that reading, computing and reporting share.

A file's identity, whatever its spelling; a regular file opened and read without ever blocking on
a FIFO or a device; temporary files and folders that carry their owner (host, pid, process
start) in their names, so a later run removes those of a killed run (`remove_orphans`) and never
those of a live one; and locks on folders, for runs that write into them to take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import os
import re
import select
import shutil
import socket
import stat
import time
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import BinaryIO

from signal_job.errors import JobError, counted, file_problem

log = logging.getLogger(__name__)

Identity = tuple[int, int]  # (st_dev, st_ino): the same file, however it is spelled

# `.<name>.sj<host>-<pid>-<start>.<random>.tmp`, and `.<n>` after it for the pieces of one file.
_TEMPORARY = re.compile(r"^\..*\.sj(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-(?P<start>\d+)\.\w+\.tmp(\.\d+)?$")
# The lock file inside a temporary folder (see `hold`).
OWNER = ".owner"
# A temporary file younger than this may belong to a run that has not taken its lock yet.
_YOUNG_SECONDS = 5
# Folders this process has already cleaned of orphans.
_CLEANED: set[Path] = set()
# How long a run waits for another's lock on a folder before it goes on without (see `folders_locked`).
_PATIENCE_SECONDS = 10.0


def identity(status: os.stat_result) -> Identity:
    """The file's identity from its `stat`."""
    return status.st_dev, status.st_ino


def kind_of(status: os.stat_result) -> str:
    """What a file that is not a regular file is, in words."""
    mode = status.st_mode
    kinds = {
        stat.S_ISFIFO: "a FIFO (named pipe)",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
        stat.S_ISSOCK: "a socket",
        stat.S_ISDIR: "a folder",
    }
    return next((name for test, name in kinds.items() if test(mode)), "not a regular file")


@contextmanager
def open_regular(
    path: Path, *, what: str, error: type[JobError]
) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """A regular file opened to read, and its status; `error` if it is anything else.

    Opened without blocking, so a FIFO is refused at once rather than waited on for ever; a
    failed read is `error` too.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(file_problem(exc, what, path)) from exc
    status = os.fstat(fd)
    if not stat.S_ISREG(status.st_mode):
        os.close(fd)
        msg = f"{what} {path} is {kind_of(status)}, not a regular file"
        raise error(msg)
    with os.fdopen(fd, "rb") as file:
        try:
            yield file, status
        except OSError as exc:
            raise error(file_problem(exc, what, path)) from exc


def read_regular(path: Path, *, what: str, limit: int, error: type[JobError]) -> bytes:
    """The first `limit` bytes of a regular file; `error` if it is anything else or longer."""
    with open_regular(path, what=what, error=error) as (file, status):
        data = file.read(limit + 1)
    if len(data) > limit:
        msg = f"{what} {path} holds {status.st_size:,} bytes, more than the {limit // 1024} KiB allowed"
        raise error(msg)
    return data


def read_small(path: Path, *, what: str, limit: int, error: type[JobError], deadline: float) -> bytes:
    """A small file whole: a regular file, or a FIFO or character device read to its end.

    Shells and CI systems pass small files as pipes (`/dev/stdin`, `<(...)`): one is read until its
    writer closes it, within `deadline` seconds. More than `limit` bytes, a stream that does not
    end in time, or any other kind of file is `error`.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise error(file_problem(exc, what, path)) from exc
    try:
        status = os.fstat(fd)
        if stat.S_ISFIFO(status.st_mode) or stat.S_ISCHR(status.st_mode):
            stream = f"{what} {path} is {kind_of(status)}"
            try:
                return _read_stream(fd, stream, limit=limit, error=error, deadline=deadline)
            except OSError as exc:
                raise error(file_problem(exc, what, path)) from exc
    finally:
        os.close(fd)
    return read_regular(path, what=what, limit=limit, error=error)


def _read_stream(fd: int, stream: str, *, limit: int, error: type[JobError], deadline: float) -> bytes:
    """`fd`, a pipe or a device (`stream` says which), read to its end: `limit` bytes, `deadline` seconds."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    end = time.monotonic() + deadline
    data = bytearray()
    while True:
        left = end - time.monotonic()
        if left <= 0 or not poller.poll(math.ceil(left * 1000)):
            msg = (
                f"{stream} that did not end within {deadline:g} seconds ({counted(len(data), 'byte')} "
                "read): whatever writes it must close it by then; or give a regular file"
            )
            raise error(msg)
        try:
            chunk = os.read(fd, limit + 1 - len(data))
        except BlockingIOError:  # woken with nothing to read: wait again
            continue
        if not chunk:  # its writer closed it
            return bytes(data)
        data += chunk
        if len(data) > limit:
            msg = f"{stream} that gives more than the {limit // 1024} KiB allowed"
            raise error(msg)


def hold(fd: int) -> None:
    """Lock an open temporary file for as long as this process keeps it open (or lives)."""
    with contextlib.suppress(OSError):  # no locks on this file system: orphans are then kept
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def remove_orphans(folder: Path) -> None:
    """Remove the temporary files and folders of runs that were killed; never a live run's.

    A live run holds a lock on each (see `hold`); the kernel drops it when the run dies, however
    it dies, in whatever container. Very new ones are left alone: their run may not hold the
    lock yet.
    """
    if folder in _CLEANED:
        return
    _CLEANED.add(folder)
    try:
        names = [path.name for path in folder.iterdir()]
    except OSError:
        return
    for name in names:
        found = _TEMPORARY.match(name)
        if found is not None and _orphaned(folder / name):
            log.info("removed %s, left by a run that was killed (pid %s)", folder / name, found["pid"])


def _orphaned(path: Path) -> bool:
    """Remove `path` if no live run holds it; whether it was removed."""
    try:
        found = path.lstat()
    except OSError:
        return False
    folder = stat.S_ISDIR(found.st_mode)
    # A FIFO, socket or link wearing our name is never ours, and opening it could block.
    ours = folder or stat.S_ISREG(found.st_mode)
    if not ours or time.time() - found.st_mtime < _YOUNG_SECONDS:
        return False
    lock = path / OWNER if folder else path
    try:
        # O_NONBLOCK: a FIFO swapped in after the check above must not hang the run.
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        fd = None  # a folder whose run died before it took the lock
    except OSError:
        return False
    try:
        if fd is not None:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return False
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if folder:
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return False  # held by a live run, removed meanwhile, or not ours to remove
    finally:
        if fd is not None:
            os.close(fd)
    return True


@contextmanager
def folders_locked(folders: Iterable[Path], *, patience: float = _PATIENCE_SECONDS) -> Iterator[None]:
    """Hold an exclusive lock (`flock`) on each of `folders` while the block runs.

    On the folders themselves, so nothing is left behind, and in one order (by identity) in every
    process, so two processes never each hold a folder that the other waits for. A folder that
    cannot be opened or locked (a file system without locks) is not locked; after `patience`
    seconds of waiting for one that another process holds (stopped in its turn, say), the block
    runs without it, with a warning.
    """
    held: dict[Identity, tuple[int, Path]] = {}
    try:
        for folder in folders:
            try:
                fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                continue  # writing into it says what is wrong
            key = identity(os.fstat(fd))
            if key in held:
                os.close(fd)
            else:
                held[key] = (fd, folder)
        deadline = time.monotonic() + patience
        for key in sorted(held):
            _lock(*held[key], deadline=deadline, patience=patience)
        yield
    finally:
        for fd, _ in held.values():
            os.close(fd)  # which drops its lock


def _lock(fd: int, folder: Path, *, deadline: float, patience: float) -> None:
    """Wait for the exclusive lock on the open `folder` until `deadline`, then go on without it."""
    pause = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                held = "another run kept %s locked for %g s: writing there without the lock"
                log.warning(held, folder, patience)
                return
            time.sleep(pause)
            pause = min(2 * pause, 0.05)
        except OSError:
            return  # no locks on this file system
        else:
            return


@cache
def owner() -> str:
    """This process, as temporary names record it: `sj<host>-<pid>-<start>`."""
    return f"sj{_host()}-{os.getpid()}-{_started(os.getpid())}"


@cache
def _host() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _started(pid: int) -> int:
    """When process `pid` started, in clock ticks since boot (Linux); 0 where that cannot be told."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of proc(5), counting from the state after the name
    except (OSError, IndexError, ValueError):
        return 0
