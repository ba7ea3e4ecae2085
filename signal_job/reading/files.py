"""Which files an input names: one file, a folder or a glob, walked safely, each file read once.

Links are followed, but a folder is entered once however many paths lead to it, so a link loop
(`in/loop -> .`) ends; a file reached by two paths (a link, a hard link) is read once. An
unreadable folder or a broken link is an error, never a silent omission. The job's own signals
files (marked in their Parquet metadata, or known by their columns) are never read as input,
wherever they sit.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from signal_job.errors import InputError, file_problem, readable
from signal_job.options import Option
from signal_job.reading.names import DATA_SUFFIXES, GLOB_CHARACTERS, hidden, is_data, matches
from signal_job.reading.storage import Location, Url, find_objects, open_bytes, polars_options, polars_path
from signal_job.safe_files import Identity, identity, kind_of

log = logging.getLogger(__name__)

# The key the job writes into its signals files' Parquet metadata (see `signal_job.computing.plan`).
SIGNALS_MARK = "signal-job"
# The last columns of every signals file: how one in CSV or Arrow, which carry no mark, is known.
_LAST_COLUMNS = ["close", "rolling_mean", "signal"]
_HEAD = 4096  # bytes read to tell a signals file: a header line is far shorter


@dataclass(frozen=True)
class Found:
    """The files an input names, in path order, and the root that hive folders hang from."""

    spec: Location
    files: tuple[Location, ...]
    identities: tuple[Identity, ...]  # of each file on a disk (none in object storage)
    root: Location | None  # the folder, or the fixed part of a glob; None for a single file


def find_files(spec: Location) -> Found:
    """The files `spec` names: itself, the data files under a folder, or the files a glob matches."""
    if isinstance(spec, Url):
        return _found_objects(spec)
    text = str(spec)
    try:
        status = spec.stat()
    except FileNotFoundError:
        if not GLOB_CHARACTERS.intersection(text):
            msg = f"input file {spec} does not exist"
            raise InputError(msg) from None
        return _found(spec, _glob(text), root=_glob_root(text), what=f"input pattern {spec}")
    except OSError as exc:
        raise InputError(file_problem(exc, "input", spec)) from exc
    if stat.S_ISDIR(status.st_mode):
        return _found(spec, _walk_folder(spec), root=spec, what=f"input folder {spec}")
    _check_regular(spec, status, "input file")
    _check_utf8(spec)
    _refuse_signals_file(spec)
    return Found(spec, (spec,), (identity(status),), None)


def is_signals_file(path: Location) -> bool:
    """Whether `path` is a file of signals that this job wrote.

    A Parquet file by the mark in its metadata; an Arrow or CSV file (plain or gzip), which has no
    room for one, by its columns: the signals' last three, `close`, `rolling_mean`, `signal`.
    """
    try:
        with open_bytes(path) as file:
            start = file.read(_HEAD)
    except (OSError, InputError):
        return False  # opening it as input says what is wrong
    if start.startswith(b"PAR1"):
        return _marked(path)
    if start.startswith(b"ARROW1"):
        return _ipc_columns(path)[-3:] == _LAST_COLUMNS
    if start.startswith(b"\x1f\x8b"):
        try:
            start = gzip.GzipFile(fileobj=io.BytesIO(start)).read1(_HEAD)
        except (OSError, EOFError):
            return False
    header = start.split(b"\n", 1)[0].rstrip(b"\r")
    return header.split(b",")[-3:] == [name.encode() for name in _LAST_COLUMNS]


def _marked(path: Location) -> bool:
    import polars as pl  # noqa: PLC0415 - only for Parquet files

    try:
        return SIGNALS_MARK in pl.read_parquet_metadata(
            polars_path(path), storage_options=polars_options(path)
        )
    except (pl.exceptions.PolarsError, OSError):
        return False


def _ipc_columns(path: Location) -> list[str]:
    import polars as pl  # noqa: PLC0415 - only for Arrow files

    try:
        return list(pl.scan_ipc(polars_path(path), storage_options=polars_options(path)).collect_schema())
    except (pl.exceptions.PolarsError, OSError):
        return []


def _refuse_signals_file(path: Location) -> None:
    """An input named on its own that is a signals file this job wrote is a mistake: say so."""
    if is_signals_file(path):
        msg = (
            f"input file {path} is a signals file that signal-job wrote ({Option.SIGNALS}), not candles; "
            "give the input it was computed from"
        )
        raise InputError(msg)


def _found_objects(spec: Url) -> Found:
    """The objects `spec` names, the job's own signals files left out (as in a local folder)."""
    objects, root = find_objects(spec)
    if root is None:  # one object, named
        _refuse_signals_file(objects[0])
        return Found(spec, tuple(objects), (), None)
    kept: list[Location] = []
    for found in objects:
        # Only Parquet objects are looked into: a request per CSV object would cost more than it saves.
        if found.suffix.lower() == ".parquet" and is_signals_file(found):
            log.info("skipped %s: a signals file that signal-job wrote, not input", found)
            continue
        kept.append(found)
    if not kept:
        msg = f"input {spec} holds only signals files that signal-job wrote, not candles"
        raise InputError(msg)
    return Found(spec, tuple(kept), (), root)


def _check_regular(path: Path, status: os.stat_result, what: str) -> None:
    # Reading a FIFO or a device would block or never end: refuse at once.
    if not stat.S_ISREG(status.st_mode):
        msg = f"{what} {path} is {kind_of(status)}, not a regular file"
        raise InputError(msg)


def _check_utf8(path: Path) -> None:
    try:
        str(path).encode("utf-8")
    except UnicodeEncodeError:
        name = readable(str(path))
        msg = f"input file {name} has a name that is not valid UTF-8, which Polars cannot open; rename it"
        raise InputError(msg) from None


def _found(spec: Path, paths: Iterator[Path], *, root: Path, what: str) -> Found:
    """Each file once (the first path to it in path order), or an error if there are none."""
    seen: dict[Identity, Path] = {}
    for path in sorted(paths, key=str):
        try:
            status = path.stat()
        except OSError as exc:
            raise _unreadable(path, exc) from exc
        _check_regular(path, status, "input file")
        key = identity(status)
        if key in seen:
            log.info("%s is the same file as %s: read once", path, seen[key])
            continue
        _check_utf8(path)
        if is_signals_file(path):
            log.info("skipped %s: a signals file that signal-job wrote, not input", path)
            continue
        seen[key] = path
    if not seen:
        if what.startswith("input folder"):
            suffixes = ", ".join(DATA_SUFFIXES)
            msg = f"{what} holds no data files (looked for {suffixes})"
        else:
            msg = f"{what} matches no files"
        raise InputError(msg)
    return Found(spec, tuple(seen.values()), tuple(seen), root)


def _unreadable(path: Path, exc: OSError) -> InputError:
    if isinstance(exc, FileNotFoundError) and path.is_symlink():
        target = path.readlink()
        return InputError(f"input file {path} is a broken link: its target {target} does not exist")
    return InputError(file_problem(exc, "input file", path))


def _walk_folder(root: Path) -> Iterator[Path]:
    """The data files under `root`, hidden (`.x`) and private (`_x`) names left out."""
    visited: set[tuple[int, int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        if not _first_visit(folder, visited):
            log.info("%s leads to a folder already read (a link): not read again", folder)
            continue
        for path, is_folder in _list(folder):
            if hidden(path.name):
                continue
            if is_folder:
                stack.append(path)
            elif is_data(path.name):
                yield path


def _glob(pattern: str) -> Iterator[Path]:
    """The files matching a glob (`*`, `?`, `[...]` within a name; `**` for any folders)."""
    root = _glob_root(pattern)
    parts = Path(pattern).parts[len(root.parts) :]
    if parts[-1] == "**":  # as in glob: a trailing `**` matches every file below
        parts = (*parts, "*")
    # A state is (folder, index of the pattern part to match in it); each is searched once.
    visited: set[tuple[int, int, int]] = set()
    stack: list[tuple[Path, int]] = [(root, 0)]
    while stack:
        folder, index = stack.pop()
        if not _first_visit(folder, visited, index):
            continue
        part, last = parts[index], index == len(parts) - 1
        if part == "**":
            stack.append((folder, index + 1))  # `**` matches no folder at all, too
        for path, is_folder in _list(folder):
            if part == "**":
                if is_folder and not path.name.startswith("."):
                    stack.append((path, index))
            elif matches(path.name, part):
                if last and not is_folder:
                    yield path
                elif not last and is_folder:
                    stack.append((path, index + 1))


def _first_visit(folder: Path, visited: set[tuple[int, int, int]], index: int = 0) -> bool:
    """Record a visit of `folder` (at pattern part `index`); False if it was visited before."""
    try:
        status = folder.stat()
    except OSError as exc:
        raise InputError(file_problem(exc, "input folder", folder)) from exc
    key = (status.st_dev, status.st_ino, index)
    if key in visited:
        return False
    visited.add(key)
    return True


def _glob_root(pattern: str) -> Path:
    """The folder above a pattern's first wildcard."""
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if GLOB_CHARACTERS.intersection(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path()


def _list(folder: Path) -> list[tuple[Path, bool]]:
    """The entries of one folder as (path, is a folder), links followed; unreadable is an error."""
    try:
        with os.scandir(folder) as entries:
            found = []
            for entry in entries:
                try:
                    is_folder = entry.is_dir()  # follows links
                except OSError:
                    is_folder = False  # a broken link: a file that fails to open
                found.append((folder / entry.name, is_folder))
    except OSError as exc:
        msg = f"cannot read input folder {folder}: {exc.strerror}"
        raise InputError(msg) from exc
    return found
