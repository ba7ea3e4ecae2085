"""What a read of the input sees before any window is chosen: rows, closes, times and their gaps.

One streaming read per series (a hive folder's value is a series of its own); a `group_by`
column's groups are listed first, as a run lists them, then read in runs of whole groups. The
rows come in time order as a run reads them (files that run newest first, and `sort: true`,
staged as a run stages them: `order.in_time_order`); they fail as a run's do, through the same
fallback ladder (`ladder`) and with the same messages (`lines`, `order`).
Repeated times, which a run refuses, are counted here instead: finding them is what a look is for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

import polars as pl

from signal_job.computing import groups as grouping
from signal_job.computing import order
from signal_job.computing.background import in_background
from signal_job.computing.gaps import INTERVAL, Gaps, gaps_of, interval_table, with_intervals
from signal_job.computing.ladder import ScanFailed, climbed, explain_suspects, without_blank_lines
from signal_job.computing.pipeline import check_group, no_rows
from signal_job.computing.plan import GROUP, RANK, all_rows, folder_values, partitions, shape, without_repeats
from signal_job.computing.route import Limits, Listing
from signal_job.config import Config
from signal_job.reading.headers import normal_name
from signal_job.reading.inputs import Input


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
    """One series read, through the ladder's second rung and its explanation, as a run's (`ladder`)."""
    return climbed(
        data,
        lambda each: _read_checked(each, config, limits),
        alone=lambda part: _collected(part, config, limits),
    )


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
            raise explain_suspects(data)
        blank_lines += flagged - read.rows - read.repeated_rows
    if checks["unreadable"]:
        raise lines.explain_timestamps(data.parts, checks["unreadable"])
    if checks["no_time"] or checks["backwards"]:
        raise order.explain(data, config)
    return replace(read, blank_lines=blank_lines)


def _collected(data: Input, config: Config, limits: Limits) -> tuple[_Read, dict[str, int]]:
    """One series read in time order: per group, its summary and intervals; the checks of its times."""
    # Times parsed, never kept as text: intervals are taken between instants.
    the_shape = replace(shape(data, config, timestamps=True), text_times=False, kept=())
    timed = the_shape.timestamps
    try:
        with order.in_time_order(data, config, the_shape, limits=limits) as frames:
            rows, repeats = without_repeats(all_rows(data, the_shape, frames), the_shape)
            with _units(rows, data, config, limits) as (names, units, ranked):
                by = [RANK] if ranked else []
                run = pl.col(RANK) if ranked else None
                timed_units = (
                    [with_intervals(unit, pl.col("timestamp"), run=run) for unit in units] if timed else units
                )
                queries = [
                    [_summary(unit, timed=timed, by=by), *([interval_table(unit, by=by)] if timed else [])]
                    for unit in timed_units
                ]
                results = _results(queries, repeats, together=not ranked)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise ScanFailed(exc) from exc
    summaries, tables = _by_group(results[: len(queries)], len(names), ranked=ranked, timed=timed)
    summaries = [_exact(summary, the_shape.scale) for summary in summaries]
    checks = {name: sum(summary.pop(name) for summary in summaries) for name in _CHECKS}
    read = _Read(
        list(zip(names, summaries, tables, strict=True)),
        repeated_rows=int(results[-1][0].item()) if repeats is not None else 0,
    )
    return read, checks


_CHECKS = ("unreadable", "no_time", "backwards")


@contextmanager
def _units(
    rows: pl.LazyFrame, data: Input, config: Config, limits: Limits
) -> Iterator[tuple[list[str | None], list[pl.LazyFrame], bool]]:
    """The groups' names (in order of first appearance), the frames that hold their rows, and how.

    All rows, without a `group_by` column; with one, runs of whole groups by `RANK` (staged in
    buckets where they are many rows), read one after another, however few the groups: filters
    held together take memory by the row, runs by the bucket (4 groups, peak RSS of three
    inspects: filtered apart 354-442 MiB at 1M rows, 583-614 at 2M, 742-832 at 4M; in runs
    257-261 MiB at 1M, 289-309 at 2M, 301-325 at 4M).
    The last says which: whether the frames come in runs.
    """
    if config.group_by is None or folder_values(data, config.group_by) is not None:
        yield [None], [rows], False
        return
    found = grouping.first_appearance(rows, listing=Listing.COMPARE, limits=limits, engine="streaming")
    with grouping.in_group_runs(rows, found, limits=limits, engine="streaming", apart=True) as runs:
        yield found[GROUP].to_list(), runs, True


def _results(
    queries: list[list[pl.LazyFrame]], repeats: pl.LazyFrame | None, *, together: bool
) -> list[list[pl.DataFrame]]:
    """Each unit's queries collected: all in one shared scan (`together`), or unit after unit."""
    extra = [[repeats]] if repeats is not None else []
    if together:
        flat = [query for unit in [*queries, *extra] for query in unit]
        collected = in_background(lambda: pl.collect_all(flat, engine="streaming"))
        sizes = [len(unit) for unit in [*queries, *extra]]
        starts = [sum(sizes[:index]) for index in range(len(sizes))]
        return [collected[start : start + size] for start, size in zip(starts, sizes, strict=True)]
    return [in_background(partial(pl.collect_all, unit, engine="streaming")) for unit in [*queries, *extra]]


def _by_group(
    results: list[list[pl.DataFrame]], groups: int, *, ranked: bool, timed: bool
) -> tuple[list[dict[str, Any]], list[pl.DataFrame]]:
    """Each group's summary and table of intervals (empty without times), in order, from the units'."""
    if not ranked:  # a unit per group: one summary row, one table
        summaries = [unit[0].row(0, named=True) for unit in results]
        return summaries, [unit[1] if timed else pl.DataFrame() for unit in results]
    ordered = pl.concat([unit[0] for unit in results]).sort(RANK)
    assert ordered[RANK].to_list() == list(range(groups))  # noqa: S101 - every group listed has rows
    summaries = list(ordered.drop(RANK).iter_rows(named=True))
    if not timed:
        return summaries, [pl.DataFrame()] * groups
    tables = pl.concat([unit[1] for unit in results])
    by_rank = {rank: table for (rank,), table in tables.partition_by(RANK, as_dict=True).items()}
    return summaries, [by_rank.get(rank, tables.clear()) for rank in range(groups)]


def _summary(rows: pl.LazyFrame, *, timed: bool, by: list[str]) -> pl.LazyFrame:
    """One row (per `by`): how many rows, their closes' figures, their times' range and checks."""
    price, time = pl.col("price"), pl.col("timestamp")
    figures = {
        "rows": pl.len(),
        "suspect": pl.col("suspect").sum(),
        "missing": price.null_count(),
        "nonpositive": (price <= 0).sum(),
        "lowest": price.min(),
        "highest": price.max(),
    }
    if timed:
        figures |= {
            "first": time.min(),
            "last": time.max(),
            "unreadable": pl.col("_unreadable").sum(),
            "no_time": time.null_count(),
            "backwards": (pl.col(INTERVAL) < 0).sum(),
        }
    else:
        figures |= {"first": pl.lit(None), "last": pl.lit(None)} | {name: pl.lit(0) for name in _CHECKS}
    if by:  # a constant is one value per group, not a list of one per row
        constant = () if timed else ("first", "last", *_CHECKS)
        return rows.group_by(*by).agg(
            **{name: expr.first() if name in constant else expr for name, expr in figures.items()}
        )
    return rows.select(**figures)


def _exact(summary: dict[str, Any], scale: int) -> dict[str, Any]:
    """`summary` with its closes as exact decimals, from price units of 10**-scale."""
    for name in ("lowest", "highest"):
        value = summary[name]
        # From text: exact at any number of digits, where arithmetic would round past 28.
        summary[name] = None if value is None else Decimal(f"{value}e-{scale}").normalize()
    return summary
