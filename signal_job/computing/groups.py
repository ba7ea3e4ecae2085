"""Groups in a column, windowed in flat memory: each group's rows taken apart first.

A `group_by` column mixes its series row by row, and Polars' `over` would hold every row to
window them (over 1 GiB at 10M rows). Three ways round it, all after one pass that lists the
groups in order of first appearance (`first_appearance`):

Which way a run takes is its route's (see `route`, which holds every threshold named here). Up
to `Limits.filtered_groups` groups, each group's rows are filtered from the rows as read
(`each_group`) and counted as one series; collected together, all groups share one scan (their
signals files are then joined, see `pipeline`). Measured at 50M rows, 4 groups: 3.2 s and
394-460 MiB, against 11.6 s and 1.4 GiB staged. Every filter reads every row, so more groups
(1,000: 26 s at 10M rows) are counted in batches:

The rows are read in file order, a batch of `Limits.batch_rows` at a time (`in_batches`); each batch,
led by every group's last rows from the batches before (marked `CARRIED`: the windows and the
time before reach back that far, but they were counted already), is sorted by group in memory
and counted. Measured at 50M rows of 1,000 groups: 6.6 s and 335 MiB, against 15.8 s and
484-513 MiB staged. Memory stays that of a few batches while the rows carried stay few
(`route.counting`); a signals file, very many groups, or `duplicates: drop` (a carried row may be a
repeat) take the staging:

Each row gets its group's rank (`RANK`: groups numbered in order of first appearance), and the
rows are written once into temporary Parquet buckets of whole, consecutive groups: at most
`Limits.bucket_rows` rows each unless one group alone is larger, at most `Limits.max_writers` written at a
time (each open writer holds buffers; more buckets take one more pass). A bucket of several
groups is then sorted by rank in memory, stably, so rows keep file order within their group; a
bucket of one group needs no sort. In every bucket each group is then one run of consecutive
rows, which the plan windows with plain rolling sums (see `plan_rows`). The counts take one
bucket after another, each sorted as it is read; a signals file reads them all as one series, so
each is written again sorted first. Inputs of at most `Limits.bucket_rows` rows are sorted in memory
and never staged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Literal

import polars as pl

from signal_job.computing.background import in_background
from signal_job.computing.plan import CARRIED, GROUP, GROUP_TEXT, RANK, with_group_names
from signal_job.computing.route import Limits, Listing, batch_rows, carried_rows, compares
from signal_job.computing.staging import staging_folder, writing_staged

# Written once, read once: lz4 measured 10-20% faster than the default zstd at 4 and 1,000 groups.
COMPRESSION: Literal["lz4"] = "lz4"
# Small row groups: each open writer buffers one, and a bucket is read back in pieces this size.
_ROW_GROUP = 1 << 16
_BUCKET = "_bucket"
_INDEX = "_index"


@dataclass(frozen=True)
class Bucket:
    """Consecutive groups staged together: the rank of the first, and how many."""

    first: int
    groups: int


def buckets(sizes: list[int], *, rows: int) -> list[Bucket]:
    """Groups of these `sizes` (in rank order) packed in order into buckets of at most `rows` rows.

    A group larger than `rows` fills a bucket alone; no group is ever split.
    """
    packed: list[Bucket] = []
    filled = 0
    for rank, size in enumerate(sizes):
        if not packed or filled + size > rows:
            packed.append(Bucket(rank, 0))
            filled = 0
        packed[-1] = Bucket(packed[-1].first, packed[-1].groups + 1)
        filled += size
    return packed


def rank(names: list[str | None], column: str = GROUP) -> pl.Expr:
    """Each row's `RANK`: the position of its group in `names` (every group, in order of first appearance).

    `column` holds the groups' names (or, see `in_batches`, the one text each is written as). An
    Enum cast finds the position: it streams, where `replace` holds its input.
    """
    group = pl.col(column)
    known = [name for name in names if name is not None]
    if not known:
        return pl.lit(0, dtype=pl.UInt32).alias(RANK)
    position = group.cast(pl.Enum(known)).to_physical().cast(pl.UInt32)
    if len(known) == len(names):
        return position.alias(RANK)
    nulls = names.index(None)  # rows with no group form a group of their own
    later = position + (position >= nulls).cast(pl.UInt32)
    return pl.when(group.is_null()).then(pl.lit(nulls, dtype=pl.UInt32)).otherwise(later).alias(RANK)


def first_appearance(
    rows: pl.LazyFrame, *, listing: Listing, limits: Limits, engine: Literal["streaming", "in-memory"]
) -> pl.DataFrame:
    """The groups of `rows` in order of first appearance: `GROUP`, its size (`rows`), its texts.

    Counted by the text as written (`GROUP_TEXT`, untrimmed: trimming every row costs more than
    the count), then its few distinct texts are trimmed and those naming one group summed.
    """
    texts = _few_texts(rows, limits=limits, engine=engine) if listing is Listing.COMPARE else None
    if texts is None:
        query = listing_query(rows)
        texts = in_background(lambda: query.collect(engine=engine))
    named = with_group_names(texts).group_by(GROUP)
    return named.agg(
        pl.col("first").min(), pl.col("rows").sum(), pl.col(GROUP_TEXT).sort_by("first").alias("texts")
    ).sort("first")


def listing_query(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Every text of the group column as written, where it first appears and how many rows have it."""
    return (
        rows.select(GROUP_TEXT)
        .with_row_index(_INDEX)
        .group_by(GROUP_TEXT)
        .agg(first=pl.col(_INDEX).min(), rows=pl.len())
    )


def _few_texts(
    rows: pl.LazyFrame, *, limits: Limits, engine: Literal["streaming", "in-memory"]
) -> pl.DataFrame | None:
    """The texts of `first_appearance` where the first rows show all of them, and they are few; else None.

    Each row is then compared with each text the first `limits.head_rows` rows show, and counted
    where it matches: at 50M rows of 4 groups, 0.21 s against 0.42 s for the hashed count. If
    some rows match none, a text first appears later, and the hashed count is needed.
    """
    head = in_background(
        lambda: rows.select(GROUP_TEXT).head(limits.head_rows).with_row_index(_INDEX).collect(engine=engine)
    )
    seen = head.group_by(GROUP_TEXT, maintain_order=True).agg(first=pl.col(_INDEX).first())
    if not compares(limits, seen.height):
        return None
    text = pl.col(GROUP_TEXT)
    matches = [text.is_null() if value is None else text == value for value in seen[GROUP_TEXT]]
    counted = in_background(
        lambda: (
            rows.select(*(match.sum().alias(str(index)) for index, match in enumerate(matches)), all=pl.len())
            .collect(engine=engine)
            .row(0)
        )
    )
    *sizes, everything = counted
    if sum(sizes) != everything:
        return None
    return seen.with_columns(rows=pl.Series(sizes, dtype=pl.UInt32))


def each_group(rows: pl.LazyFrame, groups: pl.DataFrame) -> list[pl.LazyFrame]:
    """The rows of each of `groups` (from `first_appearance`), in file order.

    Picked by their text as written; their name is then a constant, so no row is trimmed.
    """
    text = pl.col(GROUP_TEXT)
    picked = []
    for name, texts in groups.select(GROUP, "texts").iter_rows():
        written = [each for each in texts if each is not None]
        # One text (the usual case) is a plain comparison, which Parquet checks as it reads.
        mine = text == written[0] if len(written) == 1 else text.is_in(written)
        if None in texts:
            mine |= text.is_null()
        picked.append(rows.filter(mine).with_columns(pl.lit(name, dtype=pl.String).alias(GROUP)))
    return picked


def in_batches(
    rows: pl.LazyFrame,
    groups: pl.DataFrame,
    each: Callable[[pl.DataFrame], None],
    *,
    window: int,
    limits: Limits,
    engine: Literal["streaming", "in-memory"],
) -> None:
    """Hand `each` the `rows` in batches in file order, each group's rows consecutive with their `RANK`.

    Each batch is led by the last `carried_rows(window)` rows of every group from the batches
    before (`CARRIED` true), then sorted by rank, stably: within its group, every row follows
    the rows before it in the file. `groups` are those of `first_appearance`; the batches hold
    no group name (`GROUP`), only the rank. At least one batch, if empty.
    """
    texts = groups["texts"].to_list()
    if all(len(written) == 1 for written in texts):
        # Each group written one way (the usual case): ranked by that text, no row trimmed (50M
        # rows of 1,000 groups read in 1.46 s, not 2.16 s).
        ranked = rows.with_columns(rank([written[0] for written in texts], column=GROUP_TEXT))
    else:
        ranked = rows.with_columns(rank(groups[GROUP].to_list()))
    ranked = ranked.drop(GROUP, GROUP_TEXT).with_columns(pl.lit(value=False).alias(CARRIED))
    reach = carried_rows(window)
    rows_per_batch = batch_rows(limits, groups.height, window)
    carried: list[pl.DataFrame] = []

    def sorted_batch(batch: pl.DataFrame) -> None:
        led = pl.concat([*carried, batch]).sort(RANK, maintain_order=True)
        carried[:] = [
            led.group_by(RANK, maintain_order=True)
            .tail(reach)
            .select(led.columns)
            .with_columns(pl.lit(value=True).alias(CARRIED))
        ]
        each(led)

    if engine == "streaming":
        # A Polars thread calls back batch by batch, and waits: memory stays that of a few batches.
        in_background(lambda: ranked.sink_batches(sorted_batch, chunk_size=rows_per_batch, engine=engine))
    else:
        for batch in in_background(lambda: ranked.collect(engine=engine)).iter_slices(rows_per_batch):
            sorted_batch(batch)
    if not carried:  # no rows
        each(in_background(lambda: ranked.clear().collect(engine=engine)))


@contextmanager
def in_group_runs(
    rows: pl.LazyFrame,
    groups: pl.DataFrame,
    *,
    limits: Limits,
    engine: Literal["streaming", "in-memory"],
    apart: bool = False,
) -> Iterator[list[pl.LazyFrame]]:
    """`rows` with their `RANK` in frames of whole groups, each group's rows consecutive in file order.

    `groups` are those of `first_appearance`; the frames hold them in rank order. Staged on disk
    (and removed on exit) unless all rows fit one bucket. `apart`: the frames are to be read one
    at a time, so a bucket of several groups is sorted as it is read rather than written again
    sorted (measured at 50M rows of 1,000 groups: 18.4 s and 568 MiB for the counts, against
    22.8 s and 1.0-1.3 GiB read as one).
    """
    ranked = rows.drop(GROUP_TEXT).with_columns(rank(groups[GROUP].to_list()))
    packed = buckets(groups["rows"].to_list(), rows=limits.bucket_rows)
    if len(packed) <= 1:  # no rows, or all in one bucket
        yield [ranked if groups.height <= 1 else ranked.sort(RANK, maintain_order=True)]
        return
    with staging_folder() as folder:
        with writing_staged():
            runs = _split(
                ranked, packed, folder, writers=limits.max_writers, engine=engine, rewrite=not apart
            )
        yield runs


def _split(
    rows: pl.LazyFrame,
    packed: list[Bucket],
    folder: Path,
    *,
    writers: int,
    engine: Literal["streaming", "in-memory"],
    rewrite: bool,
) -> list[pl.LazyFrame]:
    """`rows` written into the files of each bucket, in rank order; each bucket's rows sorted by rank.

    A bucket of several groups is written again sorted (`rewrite`), or sorted when read.
    """
    per = -(-len(packed) // writers)  # buckets per writer: more than one takes another pass
    sets = [packed[start : start + per] for start in range(0, len(packed), per)]
    which = pl.sum_horizontal([pl.col(RANK) >= part[0].first for part in sets[1:]]).cast(pl.UInt32)
    target = pl.PartitionBy(folder, key=_BUCKET, include_key=False)
    in_background(
        lambda: rows.with_columns(which.alias(_BUCKET)).sink_parquet(
            target, row_group_size=_ROW_GROUP, compression=COMPRESSION, engine=engine
        )
    )
    frames: list[pl.LazyFrame] = []
    for index, part in enumerate(sets):
        written = pl.scan_parquet(sorted((folder / f"{_BUCKET}={index}").glob("*.parquet")), glob=False)
        if len(part) > 1:
            frames += _split(
                written, part, folder / f"{index}", writers=writers, engine=engine, rewrite=rewrite
            )
        elif part[0].groups == 1:
            frames.append(written)
        elif rewrite:
            out = folder / f"{index}.parquet"
            in_background(partial(_write_sorted, written, out, engine=engine))
            frames.append(pl.scan_parquet(out, glob=False))
        else:
            frames.append(_sorted(written))
    return frames


def _sorted(rows: pl.LazyFrame) -> pl.LazyFrame:
    # Stable: rows keep their file order within each group.
    return rows.sort(RANK, maintain_order=True)


def _write_sorted(written: pl.LazyFrame, out: Path, *, engine: Literal["streaming", "in-memory"]) -> None:
    _sorted(written).sink_parquet(out, row_group_size=_ROW_GROUP, compression=COMPRESSION, engine=engine)
