"""Time order: rows staged oldest first where needed, and the first row out of order named.

A file that runs newest first is read back oldest first, and `sort: true` sorts the rows; when
the check in the plan fails, `explain` names the first row out of order.

Staging writes to a temporary folder (under TMPDIR, named after its owner so a later run removes
it if this one is killed) and reads back in bounded pieces: memory stays flat whatever the rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

from signal_job.computing.background import in_background
from signal_job.computing.plan import GROUP, SORT_KEY, Shape, part_rows, sort_key
from signal_job.computing.route import Limits, Staging, staging
from signal_job.computing.staging import staging_folder, writing_staged
from signal_job.config import Config
from signal_job.errors import ConfigError, InputError, shorten
from signal_job.reading.inputs import Input
from signal_job.reading.sources import Source

log = logging.getLogger(__name__)

_PADDING = ' \t\r"'
_WHAT_TO_DO = (
    "the job computes windows only over rows in time order (oldest first or newest first); "
    "sort the file, or set sort: true in the config (and duplicates: drop if it repeats rows)"
)


@contextmanager
def in_time_order(
    data: Input, config: Config, the_shape: Shape, *, limits: Limits
) -> Iterator[list[pl.LazyFrame] | None]:
    """The files' rows oldest first, staged on disk where needed; None when every file reads as it is.

    Staged in pieces (and sorted in runs) of the sizes `limits` gives.
    """
    if staging(data, config).choice is Staging.NONE:
        yield None
        return
    descending = [part.timestamp is not None and part.timestamp.descending for part in data.parts]
    if config.reading.sort and the_shape.keys > 1:
        msg = (
            "sort: true needs to know whether dates are written day first or month first; "
            "set timestamp_format in the config (e.g. '%d/%m/%Y %H:%M')"
        )
        raise ConfigError(msg)
    with staging_folder() as folder:
        with writing_staged():
            frames = []
            for index, (part, newest_first) in enumerate(zip(data.parts, descending, strict=True)):
                rows = part_rows(part, the_shape)
                if newest_first:
                    rows = _reversed(rows, folder / f"part{index}", piece_rows=limits.piece_rows)
                frames.append(rows)
            if config.reading.sort and the_shape.keys:
                rows = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")
                frames = [_sorted(rows, folder / "sorted", sort_key(the_shape), limits=limits)]
        yield frames


def _reversed(rows: pl.LazyFrame, folder: Path, *, piece_rows: int) -> pl.LazyFrame:
    """`rows` read back last first: staged once, then reversed piece by piece into files."""
    folder.mkdir()
    staged = folder / "rows.parquet"
    in_background(lambda: rows.sink_parquet(staged, row_group_size=piece_rows))
    count = pl.scan_parquet(staged, glob=False).select(pl.len()).collect().item()
    pieces = []
    # One query per piece: a single query over all pieces would hold them all until the last.
    for index, start in enumerate(reversed(range(0, count, piece_rows))):
        piece = folder / f"{index:06}.parquet"
        length = min(piece_rows, count - start)
        in_background(partial(_write_reversed, staged, start, length, piece))
        pieces.append(piece)
    return pl.scan_parquet(pieces, glob=False) if pieces else pl.scan_parquet(staged, glob=False)


def _write_reversed(staged: Path, start: int, length: int, piece: Path) -> None:
    pl.scan_parquet(staged, glob=False).slice(start, length).reverse().sink_parquet(piece)


def _sorted(rows: pl.LazyFrame, folder: Path, key: pl.Expr, *, limits: Limits) -> pl.LazyFrame:
    """`rows` sorted by `key`, out of core: sorted runs, merged two by two into files."""
    folder.mkdir()
    staged = folder / "rows.parquet"
    in_background(lambda: rows.with_columns(key).sink_parquet(staged, row_group_size=limits.piece_rows))
    count = pl.scan_parquet(staged, glob=False).select(pl.len()).collect().item()
    runs = []
    for index, start in enumerate(range(0, count, limits.run_rows)):
        run = folder / f"run-0-{index}.parquet"
        in_background(partial(_write_sorted, staged, start, limits.run_rows, run))
        runs.append(run)
    level = 0
    while len(runs) > 1:
        level += 1
        merged = []
        for index in range(0, len(runs) - 1, 2):
            out = folder / f"run-{level}-{index // 2}.parquet"
            in_background(partial(_write_merged, runs[index], runs[index + 1], out))
            merged.append(out)
        runs = merged + (runs[-1:] if len(runs) % 2 else [])
    return (pl.scan_parquet(runs[0], glob=False) if runs else pl.scan_parquet(staged, glob=False)).drop(
        SORT_KEY
    )


def _write_sorted(staged: Path, start: int, length: int, run: Path) -> None:
    # Stable: rows of one time keep their file order, so repeats stay next to each other.
    pl.scan_parquet(staged, glob=False).slice(start, length).sort(SORT_KEY, maintain_order=True).sink_parquet(
        run
    )


def _write_merged(first: Path, second: Path, out: Path) -> None:
    pl.scan_parquet(first, glob=False).merge_sorted(
        pl.scan_parquet(second, glob=False), key=SORT_KEY
    ).sink_parquet(out)


def explain(data: Input, config: Config) -> InputError:
    """The error for rows out of time order: the first such row, its file and line, what to do."""
    error = _first_error(data, config)
    series = next((name for name in ("symbol", "ticker") if name in data.column_names()), None)
    if config.group_by is None and series is not None:
        return InputError(
            f"{error}; the input has a {series!r} column: set group_by: {series} for one series per {series}"
        )
    return error


def _first_error(data: Input, config: Config) -> InputError:
    if config.reading.sort:
        return _missing_time(data) or _repeated_time(data, config)
    previous: tuple[Source, Any] | None = None  # the file before, and its latest time
    for part in data.parts:
        found = _first_out_of_order(part, config)
        if found is not None:
            return found
        first, last = _ends(part)
        if previous is not None and first is not None and previous[1] is not None and first <= previous[1]:
            msg = (
                f"input files overlap in time: {part.path} starts at {first} but {previous[0].path} "
                f"ends at {previous[1]}; {_WHAT_TO_DO}"
            )
            return InputError(msg)
        previous = (part, last)
    return InputError(f"the rows of input {data.spec} are not in time order; {_WHAT_TO_DO}")


def _first_out_of_order(part: Source, config: Config) -> InputError | None:
    """The first row of one file whose time is missing, unreadable, or not after the one before it."""
    reading = part.timestamp
    assert reading is not None  # noqa: S101 - only files with times are checked
    columns = {"t": reading.parsed, "raw": reading.raw.cast(pl.String).str.strip_chars(_PADDING)}
    group = part.column(config.group_by) if config.group_by else None
    if group is not None:
        columns[GROUP] = group.cast(pl.String).str.strip_chars(_PADDING)
    if config.reading.duplicates == "drop":
        columns["whole"] = part.whole_row()
    frame = part.frame_with(columns, row_index="line_row")
    if config.reading.duplicates == "drop":  # repeated rows are left out before the check
        frame = frame.filter(~pl.col("whole").eq_missing(pl.col("whole").shift(1)).fill_null(value=False))
    before, before_raw = pl.col("t").shift(1), pl.col("raw").shift(1)
    if group is not None:
        before, before_raw = before.over(GROUP), before_raw.over(GROUP)
    back = (before >= pl.col("t")) if not reading.descending else (before <= pl.col("t"))
    found = (
        frame.with_columns(before=before, before_raw=before_raw)
        .filter(pl.col("t").is_null() | back.fill_null(value=False))
        .head(1)
        .collect()
    )
    return _out_of_order(part, found.row(0, named=True)) if found.height else None


def _out_of_order(part: Source, row: dict[str, Any]) -> InputError:
    from signal_job.reading.lines import where  # noqa: PLC0415 - only to name a line

    reading = part.timestamp
    assert reading is not None  # noqa: S101
    at = f"input file {part.path} {where(part, row['line_row'])}"
    value = shorten(row["raw"])
    if row["t"] is None and not row["raw"]:
        return InputError(f"{at} has no timestamp; every row needs its time to be put in time order")
    if row["t"] is None:
        msg = f"{at}: timestamp {value} does not read as {reading.spelling}, as the first ones do"
        return InputError(msg)
    if row["t"] == row["before"]:
        msg = (
            f"{at}: timestamp {value} is the same as on the line before: two rows for one time. If the "
            "file repeats rows (overlapping downloads), set duplicates: drop in the config"
        )
        return InputError(msg)
    runs, than = ("newest first", "later") if reading.descending else ("oldest first", "earlier")
    msg = (
        f"{at}: timestamp {value} is {than} than {shorten(row['before_raw'])} on the line before, "
        f"in a file that runs {runs}; {_WHAT_TO_DO}"
    )
    return InputError(msg)


def _missing_time(data: Input) -> InputError | None:
    """The first row without a readable time (the sorted rows can only fail by that or a repeat)."""
    for part in data.parts:
        assert part.timestamp is not None  # noqa: S101
        columns = {
            "t": part.timestamp.parsed,
            "raw": part.timestamp.raw.cast(pl.String).str.strip_chars(_PADDING),
        }
        found = part.frame_with(columns, row_index="line_row").filter(pl.col("t").is_null()).head(1).collect()
        if found.height:
            row = found.row(0, named=True)
            return _out_of_order(part, {**row, "before": None, "before_raw": None})
    return None


def _repeated_time(data: Input, config: Config) -> InputError:
    """Two different rows for one time (per group), anywhere in the input, with their lines."""
    from signal_job.reading.lines import where  # noqa: PLC0415 - only to name a line

    frames = []
    for index, part in enumerate(data.parts):
        assert part.timestamp is not None  # noqa: S101
        columns = {
            "t": part.timestamp.parsed,
            "raw": part.timestamp.raw.cast(pl.String).str.strip_chars(_PADDING),
        }
        group = part.column(config.group_by) if config.group_by else None
        columns[GROUP] = group.cast(pl.String) if group is not None else pl.lit("")
        if config.reading.duplicates == "drop":
            columns["whole"] = part.whole_row()
        frame = part.frame_with(columns, row_index="line_row").with_columns(part_index=pl.lit(index))
        frames.append(
            frame.select(
                "t", "raw", GROUP, "line_row", "part_index", *(["whole"] if "whole" in columns else [])
            )
        )
    rows = pl.concat(frames, how="vertical")
    if config.reading.duplicates == "drop":  # only rows that differ count: identical ones are dropped
        rows = rows.unique(subset=["t", GROUP, "whole"], keep="first", maintain_order=True)
    found = (
        rows.filter(pl.struct("t", GROUP).is_duplicated())
        .sort("t", "part_index", "line_row")
        .head(2)
        .collect()
    )
    if found.height < 2:  # noqa: PLR2004
        return InputError(f"the rows of input {data.spec} are not in time order; {_WHAT_TO_DO}")
    first, second = found.rows(named=True)
    places = [
        f"{data.parts[row['part_index']].path} {where(data.parts[row['part_index']], row['line_row'])}"
        for row in (first, second)
    ]
    msg = f"timestamp {shorten(first['raw'])} appears twice, on input file {places[0]} and {places[1]}"
    if config.reading.duplicates == "drop":
        msg += ", in rows that differ: two rows for one time; keep one of them"
    else:
        msg += (
            ": two rows for one time. If the input repeats rows (overlapping downloads), set duplicates: drop"
        )
    return InputError(msg)


def _ends(part: Source) -> tuple[Any, Any]:
    """The earliest and latest time of one file (read: only to explain files that overlap)."""
    assert part.timestamp is not None  # noqa: S101
    frame = (
        part.frame_with({"t": part.timestamp.parsed})
        .select(first=pl.col("t").min(), last=pl.col("t").max())
        .collect()
    )
    earliest, latest = frame.row(0)
    return earliest, latest
