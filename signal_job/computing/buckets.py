"""A signals file reduced to at most `width` buckets of consecutive rows per group: what a picture draws.

Each bucket keeps the first, last, smallest and largest close (and rolling mean), its signals and
rows, and its first and last row and time, so a line drawn through the buckets keeps every spike
of the rows it stands for. Two streaming queries: `spans`, one cheap pass for each group's first
and last selected row (the bucket of a row depends on them), then `buckets`, one pass that reduces.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from signal_job.errors import InputError, names_text

ROW = "_row"  # the row's number in the file, from 0 (kept out of the shape)
TIME = "timestamp"
CLOSE = "close"
BUCKET = "bucket"
ROWS = "rows"
FIRST_ROW, LAST_ROW = "first_row", "last_row"
FIRST_TIME, LAST_TIME = "first_time", "last_time"
WARM_UP = "warm_up"  # a group's rows before its first full window (a null rolling mean)
_LOW, _HIGH = "_low", "_high"  # a group's first selected row, and one past its last
_SIGNAL = re.compile(r"signal(_(?P<window>[1-9]\d*))?")
_MEAN = re.compile(r"rolling_mean(_(?P<window>[1-9]\d*))?")


@dataclass(frozen=True)
class Shape:
    """A signals file's columns: a run's ([group], [timestamp], close, rolling_mean, signal), a sweep's."""

    group: str | None
    time: str | None
    signals: tuple[str, ...]  # "signal", or a sweep's "signal_5", "signal_10", ...
    means: tuple[str, ...]  # "rolling_mean", or a sweep's "rolling_mean_5", ...; none for a sweep without

    @property
    def values(self) -> tuple[str, ...]:
        """The columns whose first, last, smallest and largest value a bucket keeps."""
        return (CLOSE, *self.means)

    @property
    def windows(self) -> tuple[int | None, ...]:
        """Each signal column's window: a sweep's from its name; None for a run's (see `warm_up`)."""
        return tuple(_window(name) for name in self.signals)


def _window(name: str) -> int | None:
    found = _SIGNAL.fullmatch(name) or _MEAN.fullmatch(name)
    return int(found["window"]) if found and found["window"] else None


def shape_of(schema: pl.Schema, *, what: str) -> Shape:
    """The shape of the signals file `what` whose columns are `schema`; `InputError` if it is none.

    A group column is one before close that is not the timestamp, as `run` writes it first.
    """
    names = list(schema)
    signals = tuple(name for name in names if _SIGNAL.fullmatch(name))
    means = tuple(name for name in names if _MEAN.fullmatch(name))
    if CLOSE not in names or not signals:
        msg = (
            f"{what} is not a signals file: it needs a close column and a signal column (signal, or a "
            f"sweep's signal_5, ...), and has {names_text(names, limit=8)}"
        )
        raise InputError(msg)
    if not schema[CLOSE].is_numeric():
        msg = f"{what} is not a signals file: its close column holds {schema[CLOSE]}, not numbers"
        raise InputError(msg)
    leading = names[: names.index(CLOSE)]
    others = [name for name in leading if name not in (TIME, ROW)]
    time = TIME if TIME in names else None
    return Shape(group=others[0] if others else None, time=time, signals=signals, means=means)


def numbered(frame: pl.LazyFrame) -> pl.LazyFrame:
    """`frame` with each row's number in the file (`ROW`, Int64: times the width never overflows)."""
    return frame.with_row_index(ROW).with_columns(pl.col(ROW).cast(pl.Int64))


def _keys(shape: Shape) -> list[str]:
    return [shape.group] if shape.group is not None else []


def spans(rows: pl.LazyFrame, shape: Shape, *, selected: pl.Expr | None = None) -> pl.LazyFrame:
    """Per group: its `selected` rows' count, first row (`_low`) and one past the last (`_high`); its warm-up.

    `rows` are `numbered`; `selected` picks the rows drawn (a time range), all by default. The
    warm-up tells a run's window where the file does not name it: the rows before the group's
    first rolling mean, as the smaller of two counts that are each at least window - 1 (its null
    means; the rows from its first to its first mean's), so exact unless a close is missing early
    in every group; null for a group with no mean at all. One streaming pass over the row
    numbers, the group and the first mean.
    """
    chosen = pl.col(ROW) if selected is None else pl.when(selected).then(pl.col(ROW))
    columns = [chosen.alias("_chosen")]
    figures = [
        pl.col("_chosen").count().alias(ROWS),
        pl.col("_chosen").min().alias(_LOW),
        (pl.col("_chosen").max() + 1).alias(_HIGH),
    ]
    if shape.means:
        mean = pl.col(shape.means[0])
        columns.append(pl.when(mean.is_not_null()).then(pl.col(ROW)).alias("_meant"))
        first = pl.col("_meant").min()
        nulls = pl.col("_meant").null_count().cast(pl.Int64)
        figures.append(
            pl.when(first.is_not_null())
            .then(pl.min_horizontal(nulls, first - pl.col(ROW).min()))
            .alias(WARM_UP)
        )
    marked = rows.select(*_keys(shape), ROW, *columns)
    if shape.group is None:
        return marked.select(figures)
    # Groups in the order they first come in the file, as a run counts them.
    return marked.group_by(shape.group).agg(*figures, pl.col(ROW).min().alias("_first")).sort("_first")


def buckets(
    rows: pl.LazyFrame,
    shape: Shape,
    spans: pl.DataFrame,
    *,
    width: int,
    selected: pl.Expr | None = None,
) -> pl.LazyFrame:
    """The `selected` rows of each group in at most `width` buckets of consecutive rows, in order.

    `rows` are `numbered`, `spans` their `spans`, collected. A row's bucket is its place between
    its group's first and last selected row, scaled to `width`: equal buckets where a group's rows
    stand together (as `run` writes them), buckets by position in the file where groups take turns.
    Columns: [group], bucket, rows, first_row, last_row, [first_time, last_time], then for close
    and each mean `close_first`, `close_last`, `close_min`, `close_max`, then each signal column
    summed (the bucket's signals), sorted by group (as `spans` lists them) and bucket.
    """
    if width < 1:
        msg = f"width must be at least 1, not {width}"
        raise ValueError(msg)
    keys = _keys(shape)
    ranges = spans.lazy().filter(pl.col(ROWS) > 0).select(*keys, _LOW, _HIGH).with_row_index("_order")
    chosen = rows if selected is None else rows.filter(selected)
    placed = chosen.join(ranges, on=keys, nulls_equal=True) if keys else chosen.join(ranges, how="cross")
    bucket = ((pl.col(ROW) - pl.col(_LOW)) * width // (pl.col(_HIGH) - pl.col(_LOW))).alias(BUCKET)
    return placed.group_by("_order", *keys, bucket).agg(_figures(shape)).sort("_order", BUCKET).drop("_order")


def _figures(shape: Shape) -> list[pl.Expr]:
    """A bucket's figures; first and last by row number, as a streaming group_by keeps no row order."""
    first, last = pl.col(ROW).arg_min(), pl.col(ROW).arg_max()
    figures = [pl.len().alias(ROWS), pl.col(ROW).min().alias(FIRST_ROW), pl.col(ROW).max().alias(LAST_ROW)]
    if shape.time is not None:
        figures += [
            pl.col(shape.time).get(first).alias(FIRST_TIME),
            pl.col(shape.time).get(last).alias(LAST_TIME),
        ]
    for name in shape.values:
        value = pl.col(name)
        figures += [
            value.get(first).alias(f"{name}_first"),
            value.get(last).alias(f"{name}_last"),
            value.min().alias(f"{name}_min"),
            value.max().alias(f"{name}_max"),
        ]
    figures += [pl.col(name).cast(pl.Int64).sum().alias(name) for name in shape.signals]
    return figures
