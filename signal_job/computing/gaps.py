"""The gaps in a series' times: its regular spacing, the intervals missing, the largest gap, repeated times.

Pure pieces: the expressions give each row its interval from the row before (`interval_columns`),
one query sums them up as a small table of distinct intervals (`interval_table`: how many of
each, and where each first occurs), and `gaps_of` reads the figures off that table. The table is
as large as the distinct intervals, not the rows (a 1-minute file with holes has a few dozen), and
tables add up: a later step can count files or groups apart and combine them.

Definitions (docs/inspect.md):
- An interval is the time from one row to the next of the same series (group), in time order;
  across the files of one series, the interval from one file's last row to the next's first counts.
- The spacing is the most common positive interval (the shortest of equally common ones). Where it
  covers fewer than half the positive intervals the times are irregular: no spacing is guessed,
  and nothing counts as missing.
- An interval of k spacings leaves k - 1 missing; one that is no multiple of the spacing leaves
  the whole spacings inside it less one (150 s at a spacing of 60 s: 1), and counts as off the grid
  (as does a positive interval shorter than the spacing).
- The largest gap is the longest interval longer than the spacing (of irregular times, the
  longest), its first occurrence: the rows it lies between.
- A repeated time is a row at the same time as the row before it (an interval of 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from signal_job.reading.timestamp_reading import microseconds

INTERVAL = "_interval"  # microseconds from the row before (null for a series' first row)
BEFORE = "_before"  # the time of the row before
_MICROSECONDS = "_us"
COUNT = "count"
FIRST = "first"  # where an interval first occurs: the time it starts at


@dataclass(frozen=True)
class Gap:
    """An interval between two rows: the time of the row before, and of the row after."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        """How long it lasts."""
        return self.end - self.start


@dataclass(frozen=True)
class Gaps:
    """What a series' times say of its gaps (see the module's definitions)."""

    intervals: int  # between consecutive rows (one fewer than the rows, per series)
    repeated: int  # intervals of 0: rows at the time of the row before
    spacing: timedelta | None  # None: irregular, or fewer than two distinct times
    regular: int  # intervals of exactly the spacing
    gaps: int  # intervals longer than the spacing
    missing: int  # the spacings missing in those gaps
    off_grid: int  # positive intervals that are no multiple of the spacing
    largest: Gap | None  # None where no interval is longer than the spacing

    @property
    def irregular(self) -> bool:
        """Whether the times have positive intervals but no dominant one."""
        return self.spacing is None and self.intervals > self.repeated


def interval_columns(time: pl.Expr, *, run: pl.Expr | None = None) -> list[dict[str, pl.Expr]]:
    """The stages that give each row `INTERVAL` and `BEFORE`, from `time` (a Datetime) in time order.

    `run` (a column naming each row's series, in rows that come in runs of whole series) keeps an
    interval from reaching into another series: a series' first row has none. Two stages: the
    streaming engine does not share subexpressions, and the integer time is used twice.
    """
    us = pl.col(_MICROSECONDS)
    interval = us - us.shift(1)
    before = time.shift(1)
    if run is not None:
        same = run == run.shift(1)
        interval, before = pl.when(same).then(interval), pl.when(same).then(before)
    return [{_MICROSECONDS: microseconds(time)}, {INTERVAL: interval, BEFORE: before}]


def with_intervals(rows: pl.LazyFrame, time: pl.Expr, *, run: pl.Expr | None = None) -> pl.LazyFrame:
    """`rows` with the columns of `interval_columns`."""
    for stage in interval_columns(time, run=run):
        rows = rows.with_columns(**stage)
    return rows


def interval_table(rows: pl.LazyFrame, *, by: Iterable[str] = ()) -> pl.LazyFrame:
    """Each distinct interval of `rows` (from `with_intervals`), per `by`: how many, and where first.

    Columns: `by`, `INTERVAL` (Int64 microseconds), `COUNT`, `FIRST` (the earliest time one starts at).
    """
    return (
        rows.filter(pl.col(INTERVAL).is_not_null())
        .group_by(*by, INTERVAL)
        .agg(pl.len().alias(COUNT), pl.col(BEFORE).min().alias(FIRST))
    )


def gaps_of(table: pl.DataFrame) -> Gaps:
    """The gaps of one series from its `interval_table` (any order; intervals given twice add up)."""
    counts: dict[int, int] = {}
    firsts: dict[int, datetime] = {}
    for interval, count, first in table.select(INTERVAL, COUNT, FIRST).iter_rows():
        counts[interval] = counts.get(interval, 0) + count
        firsts[interval] = min(first, firsts.get(interval, first))
    return summarized(counts, firsts)


def summarized(counts: dict[int, int], firsts: dict[int, datetime]) -> Gaps:
    """The gaps from how many of each interval (microseconds) there are, and where each first starts."""
    positive = {interval: count for interval, count in counts.items() if interval > 0}
    repeated = counts.get(0, 0)
    intervals = sum(counts.values())
    spacing = dominant(positive)

    def gap(interval: int) -> Gap:
        return Gap(firsts[interval], firsts[interval] + timedelta(microseconds=interval))

    if spacing is None:
        longest = max(positive, default=None)
        return Gaps(intervals, repeated, None, 0, 0, 0, 0, None if longest is None else gap(longest))
    longer = [interval for interval in positive if interval > spacing]
    return Gaps(
        intervals=intervals,
        repeated=repeated,
        spacing=timedelta(microseconds=spacing),
        regular=positive[spacing],
        gaps=sum(positive[interval] for interval in longer),
        missing=sum(positive[interval] * (interval // spacing - 1) for interval in longer),
        off_grid=sum(count for interval, count in positive.items() if interval % spacing),
        largest=gap(max(longer)) if longer else None,
    )


def dominant(positive: dict[int, int]) -> int | None:
    """The most common positive interval (the shortest of equally common), if it covers half of them."""
    if not positive:
        return None
    spacing = min(positive, key=lambda interval: (-positive[interval], interval))
    return spacing if 2 * positive[spacing] >= sum(positive.values()) else None
