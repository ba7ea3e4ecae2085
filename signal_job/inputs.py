"""Which files make up the input: one file, a glob, a folder or a hive-partitioned tree, in order.

Files of one input are read as one series, one after another: in path order, or by each file's
first timestamp when every file has a `timestamp` column. Folders named `key=value` between the
root and a file give that file a column `key` (hive partitioning), e.g. `symbol=BTC/`.
Opening reads each file's first bytes and, for timestamps, its first values (head reads, not
scans): the one place outside `pipeline` that collects, because the order must be known first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

from signal_job.errors import InputError
from signal_job.files import Found, find_files
from signal_job.sources import Source, normal_name, open_source
from signal_job.timestamps import read_timestamps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Input:
    """The files of one input, in the order their rows make one series."""

    spec: Path  # as given: a file, a glob or a folder
    parts: tuple[Source, ...]
    order: str  # how the files were ordered, for the log

    def describe(self) -> str:
        """What was found, for the log."""
        if len(self.parts) == 1:
            part = self.parts[0]
            return f"{part.size:,} bytes, {part.describe()}"
        size = sum(part.size for part in self.parts)
        kinds = sorted({part.describe().split(",")[0] for part in self.parts})
        return f"{len(self.parts)} files ({', '.join(kinds)}), {size:,} bytes, in {self.order} order"

    @property
    def has_timestamps(self) -> bool:
        """Whether every file's timestamps were read (see `open_input`)."""
        return all(part.timestamp is not None for part in self.parts)

    def column_names(self) -> list[str]:
        """The column names of the first file (trimmed, lower-cased), hive keys included."""
        return self.parts[0].column_names()

    def replace_parts(self, parts: list[Source]) -> Input:
        """The same input with its files' sources replaced."""
        return replace(self, parts=tuple(parts))


def open_input(spec: Path | Found, *, timestamps: bool = False) -> Input:
    """Find and open the input's files; read their timestamps too if asked (or to order them)."""
    found = spec if isinstance(spec, Found) else find_files(spec)
    parts = [replace(open_source(path), partition=_partition(path, found.root)) for path in found.files]
    if timestamps:
        parts = [replace(part, timestamp=read_timestamps(part)) for part in parts]
        _check_timestamps(parts)
    elif len(parts) > 1:
        parts = _with_timestamps_to_order(parts)
    if len(parts) > 1 and all(part.timestamp is not None for part in parts):
        parts = sorted(parts, key=lambda part: (_first_timestamp(part), str(part.path)))
        return Input(found.spec, tuple(parts), "first timestamp")
    return Input(found.spec, tuple(parts), "path")


def _partition(path: Path, root: Path | None) -> dict[str, str]:
    """The `key=value` folders between `root` and `path` (keys trimmed and lower-cased)."""
    if root is None:
        return {}
    values = {}
    for folder in path.relative_to(root).parts[:-1]:
        key, equals, value = folder.partition("=")
        if equals and key:
            values[normal_name(key)] = unquote(value)
    return values


def _check_timestamps(parts: list[Source]) -> None:
    """The signals need every file's timestamps, or none (no timestamp column anywhere)."""
    mixed = _one_without_timestamps(parts)
    if mixed is not None:
        without, with_ = mixed
        msg = f"input file {without.path} has no timestamp column, but {with_.path} has one"
        raise InputError(msg)
    if all(part.timestamp is None for part in parts):
        log.info("the input has no timestamp column: the signals file has none either")


def _with_timestamps_to_order(parts: list[Source]) -> list[Source]:
    """The files with their timestamps read, to order them; as they are if that cannot be done."""
    try:
        read = [replace(part, timestamp=read_timestamps(part)) for part in parts]
    except InputError as exc:
        log.warning("files are read in path order: %s", exc)
        return parts
    mixed = _one_without_timestamps(read)
    if mixed is not None:
        log.warning(
            "files are read in path order: not every file has a timestamp column (%s has none)",
            mixed[0].path,
        )
        return parts
    return read


def _one_without_timestamps(parts: list[Source]) -> tuple[Source, Source] | None:
    """A file without timestamps and one with them, if the files disagree."""
    without = next((part for part in parts if part.timestamp is None), None)
    with_ = next((part for part in parts if part.timestamp is not None), None)
    return (without, with_) if without and with_ else None


def _first_timestamp(part: Source) -> str:
    """The file's first timestamp as sortable text ("" sorts first: a file with none)."""
    first = part.timestamp.first if part.timestamp else None
    return first.isoformat() if first else ""
