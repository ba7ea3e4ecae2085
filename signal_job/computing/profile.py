"""What a read of the input sees before any window is chosen: rows, closes, times and their gaps.

One streaming read per series (a hive folder's value is a series of its own); a `group_by`
column's groups are listed first, as a run lists them, then each is filtered from the rows, all
sharing one read. The rows come in time order as a run reads them (files that run newest first,
and `sort: true`, staged as a run stages them: `order.in_time_order`); they fail as a run's do,
through the same fallback ladder (`ladder`) and with the same messages (`lines`, `order`).
Repeated times, which a run refuses, are counted here instead: finding them is what a look is for.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import polars as pl

from signal_job.computing import groups as grouping
from signal_job.computing.background import in_background
from signal_job.computing.gaps import INTERVAL, Gaps, gaps_of, interval_table, with_intervals
from signal_job.computing.ladder import with_text_close, without_blank_lines
from signal_job.computing.order import in_time_order
from signal_job.computing.pipeline import check_group, no_rows
from signal_job.computing.plan import Shape, all_rows, folder_values, partitions, shape
from signal_job.computing.route import Limits, Listing
from signal_job.config import Config
from signal_job.errors import InputError, first_line
from signal_job.reading.headers import normal_name
from signal_job.reading.inputs import Input

_REPEATED = "_repeated"


@dataclass(frozen=True)
class Series:
    """One series' rows (all rows', or one group's): their closes and their times."""

    rows: int
    missing: int  # rows with an empty close
    nonpositive: int  # closes of 0 or below
    lowest: Decimal | None  # the lowest close, exact (None: no close at all)
    highest: Decimal | None
    first: datetime | None  # the earliest time (None: no time column)
    last: datetime | None
    gaps: Gaps | None  # None where the input has no time column


@dataclass(frozen=True)
class Profile:
    """The input's profile: over all rows, and per group (in order of first appearance)."""

    total: Series
    groups: list[tuple[str | None, Series]]  # empty without a `group_by`
    blank_lines: int
    repeated_rows: int  # identical rows left out (`duplicates: drop`)


@dataclass(frozen=True)
class _Read:
    """One series' read: per group (or once), its summary and its table of intervals."""

    each: list[tuple[str | None, dict[str, Any], pl.DataFrame]]
    blank_lines: int = 0
    repeated_rows: int = 0

    @property
    def suspect(self) -> int:
        """Rows flagged as blank lines or malformed."""
        return sum(summary["suspect"] for _, summary, _ in self.each)

    @property
    def rows(self) -> int:
        """Rows read (repeats left out)."""
        return sum(summary["rows"] for _, summary, _ in self.each)


class _ScanFailed(Exception):
    """A read of the input failed in Polars (or reading the file)."""

    def __init__(self, error: Exception) -> None:
        """Keep Polars' `error` for the diagnosis."""
        super().__init__(str(error))
        self.error = error


def profile(data: Input, config: Config, *, limits: Limits = Limits()) -> Profile:
    """The profile of `data`, each series read once in time order. Raises `InputError` as a run does."""
    check_group(data, config)
    values = folder_values(data, config.group_by)
    timed = data.has_timestamps
    named: list[tuple[str | None, Series]] = []
    summaries: list[dict[str, Any]] = []
    tables: list[pl.DataFrame] = []
    blank_lines = repeated = 0
    for series in partitions(data, config):
        read = _read_series(series, config, limits)
        blank_lines += read.blank_lines
        repeated += read.repeated_rows
        for name, summary, table in read.each:
            summaries.append(summary)
            tables.append(table)
            # A hive folder's series is one group: its folder value names it.
            group = name if values is None else series.parts[0].partition[normal_name(str(config.group_by))]
            named.append((group, _series(summary, table, timed=timed)))
    if not sum(summary["rows"] for summary in summaries):
        raise no_rows(data)
    total = _series(_added(summaries), pl.concat(tables), timed=timed)
    return Profile(total, named if config.group_by else [], blank_lines, repeated)


def _series(summary: dict[str, Any], table: pl.DataFrame, *, timed: bool) -> Series:
    return Series(
        rows=summary["rows"],
        missing=summary["missing"],
        nonpositive=summary["nonpositive"],
        lowest=summary["lowest"],
        highest=summary["highest"],
        first=summary["first"],
        last=summary["last"],
        gaps=gaps_of(table) if timed else None,
    )


def _added(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """The summary of several series' rows together."""

    def extreme(name: str, pick: Any) -> Any:
        found = [summary[name] for summary in summaries if summary[name] is not None]
        return pick(found) if found else None

    summed = {
        name: sum(summary[name] for summary in summaries) for name in ("rows", "missing", "nonpositive")
    }
    return summed | {
        "lowest": extreme("lowest", min),
        "highest": extreme("highest", max),
        "first": extreme("first", min),
        "last": extreme("last", max),
    }


def _read_series(data: Input, config: Config, limits: Limits) -> _Read:
    """One series read; on a failed read, again with close as text, then explained (the ladder)."""
    try:
        return _read_checked(data, config, limits)
    except _ScanFailed as failure:
        error = failure.error
    text = with_text_close(data)
    if text is not None:
        data = text
        try:
            return _read_checked(data, config, limits)
        except _ScanFailed as failure:
            error = failure.error
    raise _explain(data, config, limits, error) from error


def _read_checked(data: Input, config: Config, limits: Limits) -> _Read:
    """One series read, blank lines left out (read again where rows were flagged), its times checked."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    read, checks = _collected(data, config, limits)
    # Files with nothing but blank lines after the header are not scanned: their lines count here.
    blank_lines = sum(part.blank_lines or 0 for part in data.parts if part.tickers == 1)
    if read.suspect:
        flagged = read.rows + read.repeated_rows
        data = without_blank_lines(data)
        read, checks = _collected(data, config, limits)
        if read.suspect:
            raise _explain_suspects(data)
        blank_lines += flagged - read.rows - read.repeated_rows
    if checks["unreadable"]:
        raise lines.explain_timestamps(data.parts, checks["unreadable"])
    if checks["no_time"] or checks["backwards"]:
        from signal_job.computing import order  # noqa: PLC0415 - rarely needed

        raise order.explain(data, config)
    return replace(read, blank_lines=blank_lines)


def _collected(data: Input, config: Config, limits: Limits) -> tuple[_Read, dict[str, int]]:
    """One series read in time order: per group, its summary and intervals; the checks of its times."""
    # Times parsed, never kept as text: intervals are taken between instants.
    the_shape = replace(shape(data, config, timestamps=True), text_times=False, kept=())
    try:
        with in_time_order(data, config, the_shape, limits=limits) as frames:
            rows, repeats = _without_repeats(all_rows(data, the_shape, frames), the_shape)
            each = _groups(rows, data, config, limits)
            if the_shape.timestamps:
                each = [(name, with_intervals(frame, pl.col("timestamp"))) for name, frame in each]
            queries = [
                *(_summary(frame, timed=the_shape.timestamps) for _, frame in each),
                *(interval_table(frame) for _, frame in each if the_shape.timestamps),
                *([repeats] if repeats is not None else []),
            ]
            results = in_background(lambda: pl.collect_all(queries, engine="streaming"))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _ScanFailed(exc) from exc
    summaries = [_exact(frame.row(0, named=True), the_shape.scale) for frame in results[: len(each)]]
    tables = results[len(each) : 2 * len(each)] if the_shape.timestamps else [pl.DataFrame()] * len(each)
    checks = {name: sum(summary.pop(name) for summary in summaries) for name in _CHECKS}
    read = _Read(
        [(name, summary, table) for (name, _), summary, table in zip(each, summaries, tables, strict=True)],
        repeated_rows=int(results[-1].item()) if repeats is not None else 0,
    )
    return read, checks


_CHECKS = ("unreadable", "no_time", "backwards")


def _without_repeats(rows: pl.LazyFrame, the_shape: Shape) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """`rows` without repeats (with `duplicates: drop`), and the query counting those left out."""
    if not the_shape.whole_rows:
        return rows, None
    # A row identical in every column to the one before it is a repeat, as a run tells it.
    repeated = pl.col("_whole").eq_missing(pl.col("_whole").shift(1)).fill_null(value=False)
    rows = rows.with_columns(repeated.alias(_REPEATED))
    return rows.filter(~pl.col(_REPEATED)), rows.select(pl.col(_REPEATED).sum())


def _groups(
    rows: pl.LazyFrame, data: Input, config: Config, limits: Limits
) -> list[tuple[str | None, pl.LazyFrame]]:
    """The rows of each group of a `group_by` column, named, in order of first appearance; else all rows."""
    if config.group_by is None or folder_values(data, config.group_by) is not None:
        return [(None, rows)]
    found = grouping.first_appearance(rows, listing=Listing.COMPARE, limits=limits, engine="streaming")
    return list(zip(found["_group"].to_list(), grouping.each_group(rows, found), strict=True))


def _summary(rows: pl.LazyFrame, *, timed: bool) -> pl.LazyFrame:
    """One row: how many rows, their closes' figures, their times' range and checks."""
    price, time = pl.col("price"), pl.col("timestamp")
    figures = {
        "rows": pl.len(),
        "suspect": pl.col("suspect").sum(),
        "missing": price.null_count(),
        "nonpositive": (price <= 0).sum(),
        "lowest": price.min(),
        "highest": price.max(),
    }
    if not timed:
        return rows.select(
            **figures, first=pl.lit(None), last=pl.lit(None), **{name: pl.lit(0) for name in _CHECKS}
        )
    return rows.select(
        **figures,
        first=time.min(),
        last=time.max(),
        unreadable=pl.col("_unreadable").sum(),
        no_time=time.null_count(),
        backwards=(pl.col(INTERVAL) < 0).sum(),
    )


def _exact(summary: dict[str, Any], scale: int) -> dict[str, Any]:
    """`summary` with its closes as exact decimals, from price units of 10**-scale."""
    for name in ("lowest", "highest"):
        value = summary[name]
        # From text: exact at any number of digits, where arithmetic would round past 28.
        summary[name] = None if value is None else Decimal(f"{value}e-{scale}").normalize()
    return summary


def _explain_suspects(data: Input) -> InputError:
    """The error of the first file with a malformed row."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    for part in data.parts:
        found = lines.explain_suspects(part)
        if found is not None:
            return found
    return InputError(f"input {data.spec} has malformed rows that could not be located")


def _explain(data: Input, config: Config, limits: Limits, error: Exception) -> InputError:
    """The error of the first file that fails on its own, naming its line."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    if len(data.parts) == 1:
        return lines.explain_failure(data.parts[0], error)
    for part in data.parts:
        try:
            _collected(data.replace_parts([part]), config, limits)
        except _ScanFailed as failure:
            return lines.explain_failure(part, failure.error)
    return InputError(f"cannot read input {data.spec}: {first_line(error)}")
