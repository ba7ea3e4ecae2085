"""Which files make up the input: one file, a glob, a folder or a hive-partitioned tree, in order.

Files of one input are read as one series, one after another: in path order, or by each file's
earliest time when every file has a time column. Folders named `key=value` between the root and
a file give that file a column `key` (hive partitioning), e.g. `symbol=BTC/`. Opening reads each
file's first bytes and its first times (head reads, not scans; a newest-first file among several
is scanned for its earliest time): the order of the files must be known before the plan.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import unquote

import polars as pl

from signal_job.config import Reading
from signal_job.errors import ConfigError, InputError, first_line, shorten
from signal_job.progress import steps
from signal_job.reading.files import Found, find_files
from signal_job.reading.headers import normal_name
from signal_job.reading.numbers import VALUE_PADDING
from signal_job.reading.sources import Source, open_source, split_tickers
from signal_job.reading.storage import Location, Url
from signal_job.reading.timestamp_reading import TimestampReading
from signal_job.reading.timestamps import read_timestamps, times_left_out

log = logging.getLogger(__name__)

# Files whose times are read at once: each read is a few small Polars queries, which wait on the
# disk and share the cores (100 Parquet files: 0.18 s, against 0.30 s one after another).
TIME_READERS = 4


@dataclass(frozen=True)
class Input:
    """The files of one input, in the order their rows make one series."""

    spec: Location  # as given: a file, a glob or a folder (on a disk, or in object storage)
    parts: tuple[Source, ...]
    order: str  # how the files were ordered, for the log

    @property
    def size(self) -> int:
        """The bytes of its files (a file of several tickers counted once for each)."""
        return sum(part.size for part in self.parts)

    def describe(self) -> str:
        """What was found, for the log."""
        if len(self.parts) == 1:
            part = self.parts[0]
            return f"{part.size:,} bytes, {part.describe()}"
        kinds = sorted({part.describe().split(",")[0] for part in self.parts})
        return f"{len(self.parts)} files ({', '.join(kinds)}), {self.size:,} bytes, in {self.order} order"

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


def distinct_files(data: Input) -> list[Source]:
    """Each file of the input once (a file of several tickers is several sources)."""
    seen: dict[str, Source] = {}
    for part in data.parts:
        seen.setdefault(str(part.path), part)
    return list(seen.values())


def open_input(spec: Location | Found, *, reading: Reading = Reading(), timestamps: bool = False) -> Input:
    """Find and open the input's files, read how their times are written, and put them in order.

    `timestamps` says the signals file needs every file's times: a file whose times cannot be
    read is then an error, not a warning that their order was not checked.
    """
    found = spec if isinstance(spec, Found) else find_files(spec)
    parts: list[Source] = []
    with steps("opening input files", len(found.files)) as advance:
        for path in found.files:
            opened = replace(open_source(path, reading), partition=_partition(path, found.root))
            parts += split_tickers(opened)
            advance(1)
    parts = _with_times(parts, reading, required=timestamps)
    if len(parts) > 1 and all(part.timestamp is not None for part in parts):
        return Input(found.spec, tuple(_by_time(parts)), "time")
    return Input(found.spec, tuple(parts), "path")


def check_folder_column(data: Input, group: str) -> None:
    """Refuse a file in a hive folder of `group` whose own column `group` names another group.

    Two sources for one group: a row's group would be the column's, whatever the folder says.
    Only files with both are read, each by a streaming query for its first row that disagrees
    (values trimmed of padding, as groups are; an empty value disagrees, a blank line does not).
    """
    key = normal_name(group)
    for part in data.parts:
        if key not in part.partition or key not in part.names:
            continue
        folder = part.partition[key].strip(VALUE_PADDING)
        text = pl.col(part.names[key]).cast(pl.String)
        blank = pl.col("suspect") & pl.col("close").is_null()  # a blank line, read before it is left out
        disagrees = (
            pl.when(pl.col("_value").is_null())
            .then(~blank)
            .otherwise(pl.col("_value").str.strip_chars(VALUE_PADDING) != folder)
        )
        try:
            found = (
                part.frame_with({"_value": text}, row_index="_row")
                .filter(disagrees)
                .select("_value", "_row")
                .head(1)
                .collect()
            )
        except (pl.exceptions.PolarsError, OSError):
            continue  # a file that does not read is named, with its line, by the run itself
        if found.height:
            value, row = found.row(0)
            raise InputError(_two_groups(part, group, key, value, row))


def _two_groups(part: Source, group: str, key: str, value: str | None, row: int) -> str:
    from signal_job.reading.lines import where  # noqa: PLC0415 - only to name a line

    named = part.partition[key].strip(VALUE_PADDING)
    names = str(part.path).split("/")
    # The folder nearest the file whose key it is (the one `_partition` took the value from).
    nearest = [index for index, name in enumerate(names[:-1]) if normal_name(name.partition("=")[0]) == key]
    folder = "/".join(names[: nearest[-1] + 1]) if nearest else f"{key}={named}"
    found = "is empty" if value is None or not value.strip(VALUE_PADDING) else f"says {shorten(value)}"
    return (
        f"input file {part.path} {where(part, row)}: column {group!r} {found}, but the file is in the "
        f"folder {folder}: two sources for one row's group; keep one of them (move the file out of "
        f"the folder, or remove the column), or make the column say {shorten(named)} on every row"
    )


def _by_time(parts: list[Source]) -> list[Source]:
    """The files in order of their earliest times, which must not depend on an undecided spelling."""
    earliest = {part.path: _earliest(part) for part in parts}

    def in_spelling(index: int) -> list[Source]:
        def key(part: Source) -> tuple[str, str]:
            times = earliest[part.path]
            return times[min(index, len(times) - 1)], str(part.path)

        return sorted(parts, key=key)

    ordered = in_spelling(0)
    if ordered != in_spelling(1):
        msg = (
            f"the order of the input's files ({parts[0].path}, ...) depends on whether their dates are "
            "written day first or month first; set timestamp_format in the config"
        )
        raise InputError(msg)
    return ordered


def _partition(path: Location, root: Location | None) -> dict[str, str]:
    """The `key=value` folders between `root` and `path` (keys trimmed and lower-cased)."""
    if root is None:
        return {}
    if isinstance(path, Url) and isinstance(root, Url):
        folders = path.folders_below(root)
    else:
        assert isinstance(path, Path)  # noqa: S101 - found together with its root
        assert isinstance(root, Path)  # noqa: S101
        folders = path.relative_to(root).parts[:-1]
    values = {}
    for folder in folders:
        key, equals, value = folder.partition("=")
        if equals and key:
            values[normal_name(key)] = unquote(value)
    return values


def _with_times(parts: list[Source], reading: Reading, *, required: bool) -> list[Source]:
    """The files with their times read; a file whose times cannot be read is an error.

    Files with a time column and files without one cannot make one series: the rows of the
    latter could not be put in time order. (`required`: the signals file needs the times.)
    """
    read = [replace(part, timestamp=times) for part, times in zip(parts, _times(parts, reading), strict=True)]
    mixed = _one_without_timestamps(read)
    if mixed is not None:
        untimed = needs_times(read, reading)
        if untimed is not None:  # the key that asks for times is what to fix first
            raise untimed
        without, with_ = mixed
        msg = (
            f"input file {without.path} has no timestamp column, but {with_.path} has one: the files "
            "of one input must all have times, to be put in time order"
        )
        raise InputError(msg)
    if all(part.timestamp is None for part in read):
        what = "a signals file has no timestamp either" if required else "rows are read in file order"
        log.info("the input has no timestamp column: %s, which is not checked", what)
    for part in read:
        if part.timestamp is not None and part.timestamp.descending:
            log.info("input file %s runs newest first: it is read oldest first", part.path)
    return read


def needs_times(parts: Sequence[Source], reading: Reading) -> ConfigError | None:
    """The error of config keys that need every file's times (`sort`, `duplicates`), if a file has none.

    Rows are sorted by their times, and a repeat is a row repeated at one time: without times,
    `sort: true` would leave the rows as they are, and `duplicates: drop` would drop a run of
    equal closes (a flat stretch of prices) as repeats.
    """
    without = next((part for part in parts if part.timestamp is None), None)
    asked = []
    if reading.sort:
        asked.append(("sort", "sort: true", "sort: true sorts the rows by their times"))
    if reading.duplicates == "drop":
        why = (
            "duplicates: drop leaves out rows repeated at one time (without times, a run of equal closes "
            "would be taken for repeats)"
        )
        asked.append(("duplicates", "duplicates: drop", why))
    if without is None or not asked:
        return None
    keys = " and ".join(repr(key) for key, _, _ in asked)
    settings = " and ".join(setting for _, setting, _ in asked)
    named = f"keys {keys} need" if len(asked) > 1 else f"key {keys} needs"
    if times_left_out(reading):
        found = f"timestamp_column: none reads input file {without.path} without them"
        fix = "or timestamp_column: none"
    else:
        found = f"input file {without.path} has no time column"
        fix = "or give the file a time column (timestamp_column names it)"
    whys = ", and ".join(why for _, _, why in asked)
    return ConfigError(f"config {named} times, but {found}: {whys}; remove {settings} from the config, {fix}")


def _times(parts: list[Source], reading: Reading) -> list[TimestampReading | None]:
    """Each file's times, read as if in turn: each file given the reading of the file before it.

    Read `TIME_READERS` at a time, each given the first file's reading. `read_timestamps` uses
    only the spelling of the reading given, so a file is read again, in turn, only where the
    file before it ended up with another spelling than the first file.
    """
    if not parts:
        return []
    first = read_timestamps(parts[0], reading)

    def guess(part: Source) -> TimestampReading | Exception | None:
        try:
            return read_timestamps(part, reading, like=first)
        except Exception as exc:  # raised in turn below, as reading the files in turn would
            return exc

    # A pool starts its threads as work comes: none for a single file.
    with ThreadPoolExecutor(TIME_READERS, thread_name_prefix="signal-job-times") as pool:
        guesses = list(pool.map(guess, parts[1:]))
    readings: list[TimestampReading | None] = [first]
    for part, guessed in zip(parts[1:], guesses, strict=True):
        before = readings[-1]
        times = (
            read_timestamps(part, reading, like=before) if _spelling(before) != _spelling(first) else guessed
        )
        if isinstance(times, Exception):
            raise times
        readings.append(times)
    return readings


def _spelling(times: TimestampReading | None) -> str | None:
    """What `read_timestamps` takes from the reading of the file before (see `like`)."""
    return times.format if times is not None else None


def _one_without_timestamps(parts: list[Source]) -> tuple[Source, Source] | None:
    """A file without timestamps and one with them, if the files disagree."""
    without = next((part for part in parts if part.timestamp is None), None)
    with_ = next((part for part in parts if part.timestamp is not None), None)
    return (without, with_) if without and with_ else None


def _earliest(part: Source) -> tuple[str, ...]:
    """The file's earliest time in each spelling still possible, as sortable text.

    That is its first value, or its last if it runs newest first.
    """
    reading = part.timestamp
    assert reading is not None  # noqa: S101 - only files with times are ordered by them
    if not reading.descending:
        return tuple(first.isoformat() if first else "" for first in reading.firsts)
    try:
        earliest = part.frame_with({"t": reading.parsed}).select(pl.col("t").min()).collect().item()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {part.path}: {first_line(exc)}"
        raise InputError(msg) from exc
    return (earliest.isoformat() if earliest else "",)
