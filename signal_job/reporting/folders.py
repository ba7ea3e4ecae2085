"""A signals dataset's folder: checked before the run, built beside it, swapped in whole on success.

A dask run writes its signals as a folder of Parquet parts (`part-00000.parquet`, ...). The
folder is built as a temporary folder beside the path (named and locked like the temporary
files of `outputs`, so a later run removes it if this one is killed), and renamed into place
only when every part is written (with the run's document, when held `Pending` for it): a reader
finds the old dataset or the new one, never a mix
(for an instant, while an old dataset is moved aside, none). A folder at the path is replaced
only if it holds nothing but such parts; a failed run removes the dataset it found or wrote,
as it removes a signals file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from signal_job.errors import ClashError, OutputError, shorten
from signal_job.options import Option
from signal_job.reading.files import is_signals_file
from signal_job.reporting.outputs import Pending, Target, handed_over, same_version, status_of, umask
from signal_job.safe_files import OWNER, owner, remove_orphans

log = logging.getLogger(__name__)

_PART = re.compile(r"^part-\d+\.parquet$")


def folder_target(path: Path) -> Target:
    """The signals folder of a dask run; `OutputError` if it is a file, or a folder of other files."""
    status = status_of(path, "signals dataset")
    if status is not None and not stat.S_ISDIR(status.st_mode):
        msg = (
            f"signals dataset {path} is a file; with {Option.ENGINE.given('dask')}, {Option.SIGNALS} names a "
            "folder (a Parquet dataset, a part per input file): give a new path"
        )
        raise OutputError(msg)
    out = Target(Option.SIGNALS, path, Path(os.path.realpath(path)), status)
    if status is not None:
        _check_ours(out)
    return out


def check_inside(dataset: Target, others: Mapping[Option, Path]) -> None:
    """Raise `ClashError` if another path the run writes (by its option) lies inside the dataset's folder."""
    for option, path in others.items():
        if Path(os.path.realpath(path)).is_relative_to(dataset.real):
            msg = (
                f"{option} {path} is inside the signals dataset {dataset.path}, which a run replaces "
                f"whole; give {option} a path outside it"
            )
            raise ClashError(msg, options=(option, Option.SIGNALS))


@contextmanager
def building(out: Target, *, pending: Pending | None = None) -> Iterator[Path]:
    """A temporary folder beside `out` to write the parts in; it replaces `out` only if the block succeeds.

    On any error, or a signal, the temporary folder is removed. While the block runs this
    process holds a lock in it, which tells other runs it is alive. With `pending`, the folder
    built is held there (locked, still) to be swapped in with the run's document.
    """
    parent = out.real.parent
    if not parent.is_dir():
        msg = f"output folder {out.path.parent} does not exist"
        raise OutputError(msg)
    remove_orphans(parent)
    try:
        folder = Path(
            tempfile.mkdtemp(prefix=f".{out.real.name[:100]}.{owner()}.", suffix=".tmp", dir=parent)
        )
        lock = os.open(folder / OWNER, os.O_CREAT | os.O_WRONLY, 0o600)
    except OSError as exc:
        msg = f"cannot write signals dataset {out.path}: {exc.strerror}"
        raise OutputError(msg) from exc
    with handed_over(_Built(out, folder, lock), lock, pending):
        yield folder


class _Built:
    """A dataset's folder built beside `out`, locked by this process until it is swapped in or removed."""

    def __init__(self, out: Target, folder: Path, lock: int) -> None:
        self.out = out
        self.folder = folder
        self._lock: int | None = lock

    def place(self) -> None:
        """Swap the folder in for `out`; `OutputError` if that fails (the folder is then removed)."""
        try:
            _settle(self.folder)
            _swap(self.folder, self.out)
        except OSError as exc:
            self.drop()
            msg = f"cannot write signals dataset {self.out.path}: {exc.strerror}"
            raise OutputError(msg) from exc
        self._release()

    def drop(self) -> None:
        """Remove the folder."""
        if self._lock is not None:
            _discard(self.folder)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def remove_stale_dataset(out: Target, ours: os.stat_result | None) -> None:
    """After a failed run, remove the dataset at `out`, so that it does not pass for a result.

    Only the folder found before the run, or the one this run wrote, and only if it holds
    nothing but signals parts: never another run's new dataset, never other files.
    """
    now = out.current()
    if now is None or not stat.S_ISDIR(now.st_mode):
        return
    if not any(same_version(now, known) for known in (out.status, ours) if known is not None):
        log.info("left %s in place: another run wrote it meanwhile", out.path)
        return
    parts = _parts(out.real)
    if not parts:
        log.debug("left %s in place: not a signals dataset", out.path)
        return
    try:
        _discard(out.real, strict=True)
    except OSError as exc:
        log.warning("cannot remove %s, the signals dataset of an earlier run: %s", out.path, exc.strerror)
        return
    log.warning("removed %s, the signals dataset of an earlier run", out.path)


def _check_ours(out: Target) -> None:
    """Refuse a folder at `out` that holds anything but signals parts (it would be replaced)."""
    if _parts(out.real) is None:
        other = next(
            (entry.name for entry in sorted(out.real.iterdir()) if not _is_part(entry)),
            "a file it did not write",
        )
        msg = (
            f"signals dataset {out.path} is a folder that holds {shorten(other)}, which is no part of a "
            "signals dataset; a run replaces the folder whole: give a new or empty folder"
        )
        raise OutputError(msg)


def _parts(folder: Path) -> list[Path] | None:
    """The signals parts in `folder`, or None if it holds anything else (or cannot be listed)."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return None
    return entries if all(_is_part(entry) for entry in entries) else None


def _is_part(path: Path) -> bool:
    return bool(_PART.match(path.name)) and path.is_file() and not path.is_symlink() and is_signals_file(path)


def _settle(folder: Path) -> None:
    """Make the parts durable and the folder as a plain `mkdir` would, its lock file gone."""
    for part in folder.iterdir():
        if part.name != OWNER:
            with part.open("rb") as file:
                os.fsync(file.fileno())
    # The lock is dropped only with the file's descriptor; the folder, now young, is no orphan.
    (folder / OWNER).unlink()
    folder.chmod(0o777 & ~umask())


def _swap(folder: Path, out: Target) -> None:
    """Rename `folder` to `out`, an older dataset there moved aside first and then removed."""
    real = out.real
    if not real.exists():
        folder.rename(real)  # an empty folder made meanwhile is replaced; anything else fails
        return
    if _parts(real) is None:
        raise OSError(0, f"{out.path} now holds files that are not signals parts")
    aside = _aside(real)
    real.rename(aside)  # onto the empty folder `_aside` made
    try:
        folder.rename(real)
    except OSError:
        aside.rename(real)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def _discard(folder: Path, *, strict: bool = False) -> None:
    """Remove `folder`: first moved aside, so that a late task can no longer create a part in it."""
    try:
        aside = _aside(folder)
        folder.rename(aside)
    except OSError:
        if strict:
            raise
        aside = folder
    shutil.rmtree(aside, ignore_errors=not strict)


def _aside(path: Path) -> Path:
    """A new empty folder beside `path`, named as a temporary one (a later run removes it if left)."""
    return Path(tempfile.mkdtemp(prefix=f".{path.name[:100]}.{owner()}.", suffix=".tmp", dir=path.parent))
