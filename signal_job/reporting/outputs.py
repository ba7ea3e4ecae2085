"""Where the job writes: checked before anything is written, then written whole or not at all.

Each output is a `Target`: the path as given and the file its links lead to. A regular file is
replaced atomically (a temporary file beside the real file, then a rename), so a reader sees the
old file or the new one; a FIFO, a character device or /dev/stdout is written directly and never
replaced. No output may be a file the run reads, nor another output (`check_clashes`). A run's
signals file waits beside its place (`Pending`) until the document is ready; then the run puts its
outputs in place in one turn (`together`), so that of runs writing the same outputs at once, the
last to finish has all of its files there.
Temporary files carry their owner (host, pid, process start) in their names, so a later run
removes those of a killed run (`safe_files.remove_orphans`) and never those of a live one.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from signal_job.errors import ClashError, OutputError
from signal_job.options import Option
from signal_job.reading.files import is_signals_file
from signal_job.safe_files import (
    Identity,
    folders_locked,
    hold,
    identity,
    kind_of,
    owner,
    remove_orphans,
)

log = logging.getLogger(__name__)

_WHAT = {
    Option.OUTPUT: "output file",
    Option.LOG_FILE: "log file",
    Option.SIGNALS: "signals file",
    Option.METRICS_FILE: "metrics file",
    Option.GROUPS: "groups table",
    Option.PLOT: "picture",
}
_EXAMPLE = {
    Option.OUTPUT: "metrics.json",
    Option.LOG_FILE: "run.log",
    Option.SIGNALS: "signals.parquet",
    Option.METRICS_FILE: "signal-job.prom",
    Option.GROUPS: "groups.csv",
    Option.PLOT: "run.png",
}
# Why a new file cannot be made in a folder where an existing file may still be written.
_NO_NEW_FILE = (errno.EACCES, errno.EPERM, errno.EROFS)


@dataclass(frozen=True)
class Target:
    """One output of the run, as found before the run wrote anything."""

    option: Option  # the option that names it, e.g. `Option.OUTPUT`
    path: Path  # as given
    real: Path  # the file its links lead to: where a regular file is written
    status: os.stat_result | None  # of the existing file (links followed); None if there is none

    @property
    def what(self) -> str:
        """What the output is, in words: "output file", "log file", "signals file"."""
        return _WHAT.get(self.option, "output file")

    @property
    def special(self) -> bool:
        """A FIFO, a device or a terminal: written directly, never replaced."""
        return self.status is not None and not stat.S_ISREG(self.status.st_mode)

    @property
    def key(self) -> tuple[object, ...] | None:
        """What makes two outputs the same file: its identity, or its folder's and name if new."""
        if self.status is not None:
            return identity(self.status)
        try:
            return (*identity(self.real.parent.stat()), self.real.name)
        except OSError:
            return None  # writing it will say what is wrong

    def current(self) -> os.stat_result | None:
        """The file at the path now (links followed), if any."""
        try:
            return self.path.stat()
        except OSError:
            return None


def status_of(path: Path, what: str) -> os.stat_result | None:
    """The output's status (links followed), None if there is none yet; `OutputError` if it cannot be told."""
    try:
        return path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        msg = f"cannot write {what} {path}: {exc.strerror}"
        raise OutputError(msg) from exc


def target(option: Option, path: Path) -> Target:
    """Resolve one output path; raise `OutputError` if it can never be written (a folder, a socket)."""
    what = _WHAT.get(option, "output file")
    status = status_of(path, what)
    if status is not None and stat.S_ISDIR(status.st_mode):
        kind = what.removesuffix(" file")
        msg = f"{kind} path {path} is a folder; give a file name such as {path / _EXAMPLE.get(option, 'out')}"
        raise OutputError(msg)
    if status is not None and (stat.S_ISSOCK(status.st_mode) or stat.S_ISBLK(status.st_mode)):
        msg = f"{what} {path} is {kind_of(status)}; give a file name"
        raise OutputError(msg)
    return Target(option, path, Path(os.path.realpath(path)), status)


def check_clashes(outputs: Iterable[Target], inputs: Iterable[tuple[Option, Path, Identity]]) -> None:
    """Raise `ClashError` if an output is a file the run reads, or two outputs are one file."""
    read = {key: (option, path) for option, path, key in inputs}
    seen: dict[tuple[object, ...], Target] = {}
    for out in outputs:
        if out.status is not None and identity(out.status) in read:
            option, path = read[identity(out.status)]
            what = "the config file" if option is Option.CONFIG else "an input file"
            same = "" if str(path) == str(out.path) else f" ({path}, by another name)"
            msg = (
                f"{out.option} {out.path} is {what} of this run{same}: the job never writes over "
                f"what it reads; give {out.option} another path"
            )
            raise ClashError(msg, options=(out.option, option))
        key = out.key
        if key is not None and key in seen:
            msg = f"{seen[key].option} and {out.option} name the same file {out.path}; give each its own"
            raise ClashError(msg, options=(seen[key].option, out.option), shared=True)
        if key is not None:
            seen[key] = out


def write(out: Target, data: bytes) -> None:
    """Write `data` as the whole of `out`: atomically for a file, directly for a FIFO or device."""
    if out.special:
        _write_all(out, os.fdopen(_open_special(out), "ab"), data)
        return
    try:
        with atomic(out) as temporary:
            _write_all(out, temporary.open("wb"), data)
    except OutputError as exc:
        # A folder where no new file may be created (read-only, or not ours) can still hold a
        # file this user may write: overwrite it in place rather than leave an old document.
        cause = exc.__cause__
        if out.status is None or not isinstance(cause, OSError) or cause.errno not in _NO_NEW_FILE:
            raise
        try:
            file = out.real.open("r+b")
        except OSError:
            raise exc from None
        file.truncate(0)
        _write_all(out, file, data)
        log.warning("cannot create a file in %s, so wrote %s in place", out.real.parent, out.path)


def open_log(out: Target) -> IO[str]:
    """The log file, opened to append (a FIFO must have a reader); raise `OutputError` if it cannot be."""
    # A name that is not UTF-8 arrives surrogate-escaped: keep the log writable anyway.
    if out.special:
        return os.fdopen(_open_special(out), "a", encoding="utf-8", errors="backslashreplace")
    try:
        return out.real.open("a", encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        msg = f"cannot write log file {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc


class Staged(Protocol):
    """An output written whole beside its place and held there by this process, until placed or dropped."""

    def place(self) -> None:
        """Put it in place; `OutputError` if it cannot be (it is then removed)."""

    def drop(self) -> None:
        """Remove it."""


class Pending:
    """Outputs written ahead of the run's end, held beside their places to go there with the document.

    A run writes its signals while it reads the input, but puts them in place only with its
    document and Prometheus file, in one turn (`together`). As a context manager: whatever is
    still held when it ends is removed.
    """

    def __init__(self) -> None:
        """Hold nothing yet."""
        self._held: list[Staged] = []

    def add(self, staged: Staged) -> None:
        """Hold `staged` until `place` or `drop`."""
        self._held.append(staged)

    def place(self) -> None:
        """Put each held output in place; the first that cannot be raises its `OutputError`, the rest go."""
        try:
            while self._held:
                self._held.pop(0).place()
        finally:
            self.drop()

    def staged(self, out: Target) -> Path | None:
        """The temporary file or dataset folder held for `out`, if any: signals read before placing.

        Staged outputs of every kind are held here (files, datasets' folders, uploads): each that
        is written for a `Target` names it as `out`, beside its `temporary` file or its `folder`.
        """
        for each in self._held:
            if getattr(each, "out", None) is out:
                written: Path | None = getattr(each, "temporary", None) or getattr(each, "folder", None)
                return written
        return None

    def drop(self) -> None:
        """Remove every held output."""
        while self._held:
            self._held.pop().drop()

    def __enter__(self) -> Pending:
        """Hold outputs for the block."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Remove what was not placed."""
        self.drop()


@contextmanager
def together(outs: Iterable[Target]) -> Iterator[None]:
    """Lock the folders where `outs` are replaced, while the block puts a run's outputs in place.

    Runs that write the same outputs at once take turns, so the last to put its outputs in place
    has all of them there: its document beside its signals file, never another run's.
    """
    with folders_locked(out.real.parent for out in outs if _replaced(out)):
        yield


def _replaced(out: Target) -> bool:
    """Whether `out` is replaced by a rename (a file, a dataset's folder), not written directly (a FIFO)."""
    return out.status is None or stat.S_ISREG(out.status.st_mode) or stat.S_ISDIR(out.status.st_mode)


@contextmanager
def atomic(out: Target, *, pending: Pending | None = None) -> Iterator[Path]:
    """A temporary file beside the real file to write; it replaces the file only if the block succeeds.

    On any error, or a signal, the temporary file is removed: the file is the old one or the new one.
    While the block runs this process holds a lock on it, which tells other runs it is alive. With
    `pending`, the file written is held there (locked, still) to go in place with the run's document.
    """
    folder = out.real.parent
    try:
        is_folder = stat.S_ISDIR(folder.stat().st_mode)
    except FileNotFoundError:
        msg = f"output folder {out.path.parent} does not exist"
        raise OutputError(msg) from None
    except OSError as exc:
        msg = f"cannot write {out.what} {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc
    if not is_folder:
        msg = f"output folder {out.path.parent} is not a folder"
        raise OutputError(msg)
    remove_orphans(folder)
    try:
        handle, name = tempfile.mkstemp(
            dir=folder, prefix=f".{out.real.name[:100]}.{owner()}.", suffix=".tmp"
        )
    except OSError as exc:
        msg = f"cannot write {out.what} {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc
    staged = _StagedFile(out, Path(name), handle)
    with handed_over(staged, handle, pending):
        yield staged.temporary
        staged.settle()


@contextmanager
def handed_over(staged: Staged, lock: int, pending: Pending | None) -> Iterator[None]:
    """Hold `staged` (by its open `lock`) while the block writes it; then place it, or leave it to `pending`.

    If the block fails, or a signal stops it, `staged` is removed: the output keeps what it held.
    """
    try:
        hold(lock)
        yield
    except BaseException:
        staged.drop()
        raise
    if pending is None:
        staged.place()
    else:
        pending.add(staged)


class _StagedFile:
    """A temporary file beside its output, locked by this process until it is renamed there or removed."""

    def __init__(self, out: Target, temporary: Path, handle: int) -> None:
        self.out = out
        self.temporary = temporary
        self._handle: int | None = handle

    def settle(self) -> None:
        """Make what was written durable, with the permissions a plain open() would give it."""
        try:
            with self.temporary.open("rb") as file:
                os.fsync(file.fileno())
            # mkstemp makes the file private (0600).
            self.temporary.chmod(0o666 & ~umask())
        except OSError as exc:
            msg = f"cannot write {self.out.what} {self.out.path}: {exc.strerror}"
            raise OutputError(msg) from exc

    def place(self) -> None:
        """Rename the file onto the output; `OutputError` if that fails (the file is then removed)."""
        try:
            self.temporary.replace(self.out.real)
        except OSError as exc:
            self.drop()
            msg = f"cannot write {self.out.what} {self.out.path}: {exc.strerror}"
            raise OutputError(msg) from exc
        self._release()

    def drop(self) -> None:
        """Remove the file."""
        if self._handle is not None:
            self.temporary.unlink(missing_ok=True)
        self._release()

    def _release(self) -> None:
        if self._handle is not None:
            os.close(self._handle)  # the lock goes with it
            self._handle = None


def remove_stale_signals(out: Target, ours: os.stat_result | None) -> None:
    """After a failed run, remove the signals file at `out`, so that it does not pass for a result.

    Only the file found before the run, or the one this run wrote: never another run's new file.
    """
    now = out.current()
    if now is None or not stat.S_ISREG(now.st_mode):
        return
    before = out.status
    if not any(same_version(now, known) for known in (before, ours) if known is not None):
        log.info("left %s in place: another run wrote it meanwhile", out.path)
        return
    if not is_signals_file(out.real) and not _old_signals_file(out.real):
        log.debug("left %s in place: not a signals file", out.path)
        return
    try:
        out.real.unlink()
    except OSError as exc:
        log.warning("cannot remove %s, the signals file of an earlier run: %s", out.path, exc.strerror)
        return
    log.warning("removed %s, the signals file of an earlier run", out.path)


def same_version(a: os.stat_result, b: os.stat_result) -> bool:
    """Whether two `stat`s are of one file, unchanged: identity, modification time and size."""
    return identity(a) == identity(b) and a.st_mtime_ns == b.st_mtime_ns and a.st_size == b.st_size


def _old_signals_file(path: Path) -> bool:
    """A signals file written before they were marked: known by its last columns."""
    import polars as pl  # noqa: PLC0415 - only after a failed run that wrote signals

    try:
        return list(pl.read_parquet_schema(path))[-3:] == ["close", "rolling_mean", "signal"]
    except (pl.exceptions.PolarsError, OSError):
        return False


def _open_special(out: Target) -> int:
    """Open a FIFO or device to write; a FIFO without a reader is an error, not a hang."""
    try:
        fd = os.open(out.path, os.O_WRONLY | os.O_APPEND | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            msg = f"cannot write {out.what} {out.path}: it is a FIFO that no process reads"
        else:
            msg = f"cannot write {out.what} {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc
    os.set_blocking(fd, True)
    return fd


def _write_all(out: Target, file: IO[bytes], data: bytes) -> None:
    try:
        with file:
            file.write(data)
            file.flush()
    except OSError as exc:  # e.g. the disk is full
        msg = f"cannot write {out.what} {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc


def umask() -> int:
    """This process's umask."""
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0)
    os.umask(mask)
    return mask
