"""One partition's lazy plan, a pure function of (input, config): the rows, their counts, the signals.

Nothing here reads a file or collects: `plan` only describes the query, so the pipeline can run
it here, or a later step can build one per partition elsewhere and add up the `Counts`.
`partitions` splits an input into series that share no window, so each can run on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from signal_job import __version__
from signal_job.config import Config
from signal_job.files import SIGNALS_MARK
from signal_job.inputs import Input
from signal_job.signals import (
    VALUE_PADDING,
    above_mean,
    close_as_float,
    fixed_point,
    natural_scale,
    rolling_mean,
    signal,
    window_sum,
)
from signal_job.sources import Source, normal_name

# Columns of the signals file; a `group_by` column may not take one of these names.
SIGNAL_COLUMNS = ("timestamp", "close", "rolling_mean", "signal")
# Written into every signals file's Parquet metadata, so no later run reads one as input.
SIGNALS_METADATA = {SIGNALS_MARK: f"signals file, version {__version__}"}
_GROUP = "_group"


@dataclass(frozen=True)
class Plan:
    """The lazy frames of one run; they share one scan of the rows, so one collect feeds both."""

    counts: pl.LazyFrame  # one row of counts, or one per group in order of first appearance
    signals: pl.LazyFrame  # per input row: [group], [timestamp], close, rolling_mean, signal


def partitions(data: Input, config: Config) -> list[Input]:
    """`data` split into inputs that share no window: one per hive folder value of `group_by`.

    Only folder values are known without reading the rows; a `group_by` column inside the files
    keeps the input whole, and its plan windows each group with `over`.
    """
    values = _folder_values(data, config.group_by)
    if values is None:
        return [data]
    by_value: dict[str, list[Source]] = {}
    for part, value in zip(data.parts, values, strict=True):
        by_value.setdefault(value, []).append(part)
    return [data.replace_parts(parts) for parts in by_value.values()]


def plan(data: Input, config: Config, *, timestamps: bool = False) -> Plan:
    """The plan over every file of `data` as one series (one per `group_by` value).

    `timestamps` adds the parsed timestamp to the signals (files opened with timestamps read).
    """
    scale = max(natural_scale(part.close_dtype) for part in data.parts)
    # A partition of one folder value is one series: no need to window it per group.
    values = _folder_values(data, config.group_by)
    one_group = values is not None and len(set(values)) == 1
    use_timestamps = timestamps and data.has_timestamps
    frames = [
        _part_rows(part, scale=scale, group=config.group_by, timestamps=use_timestamps) for part in data.parts
    ]
    rows = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")
    price, total = pl.col("price"), pl.col("window_sum")
    summed = window_sum(price, window=config.window)
    rows = rows.with_columns(summed.over(_GROUP) if config.group_by and not one_group else summed)
    return Plan(
        counts=_counts(
            rows, window=config.window, grouped=config.group_by is not None, timestamps=use_timestamps
        ),
        signals=rows.select(
            *([pl.col(_GROUP).alias(config.group_by)] if config.group_by else []),
            *(["timestamp"] if use_timestamps else []),
            "close",
            rolling_mean=rolling_mean(total, window=config.window, scale=scale),
            signal=signal(price, total, window=config.window),
        ),
    )


def _part_rows(part: Source, *, scale: int, group: str | None, timestamps: bool) -> pl.LazyFrame:
    """One file's rows in the plan's common shape, whatever its kind and column types."""
    columns: dict[str, pl.Expr] = {}
    if group is not None:
        column = part.column(group)
        assert column is not None  # noqa: S101 - the pipeline checks every file has it
        # Trimmed like every value: `"BTC "` and the as-shipped `"BTC` are the group BTC.
        name = column.cast(pl.String).str.strip_chars(VALUE_PADDING)
        columns[_GROUP] = pl.when(name.str.len_bytes() > 0).then(name)
    if timestamps:
        assert part.timestamp is not None  # noqa: S101 - `has_timestamps` was checked
        columns["timestamp"] = part.timestamp.parsed
        columns["_present"] = part.timestamp.present
    rows = part.frame_with(columns).select(
        fixed_point(pl.col("close"), dtype=part.close_dtype, scale=scale),
        close_as_float(pl.col("close"), dtype=part.close_dtype),
        "suspect",
        *columns,
    )
    if not timestamps:
        return rows
    # A second stage, so the timestamp is parsed once (streaming does not share subexpressions).
    unreadable = pl.col("timestamp").is_null() & pl.col("_present")
    return rows.with_columns(_unreadable=unreadable).drop("_present")


def _counts(rows: pl.LazyFrame, *, window: int, grouped: bool, timestamps: bool) -> pl.LazyFrame:
    price, total = pl.col("price"), pl.col("window_sum")
    aggregates = {
        "rows": pl.len(),
        "missing": price.null_count(),
        "full_windows": pl.len() - total.null_count(),
        "signals": above_mean(price, total, window=window).sum(),
        "largest_price": pl.max_horizontal(price.max().abs(), price.min().abs()),
        "suspect": pl.col("suspect").sum(),
        "unreadable_timestamps": pl.col("_unreadable").sum() if timestamps else pl.lit(0),
    }
    if grouped:
        return rows.group_by(_GROUP, maintain_order=True).agg(**aggregates).rename({_GROUP: "group"})
    return rows.select(**aggregates)


def _folder_values(data: Input, group: str | None) -> list[str] | None:
    """Each file's hive folder value of `group`, if `group` is a folder key (not a column) of all."""
    if group is None:
        return None
    key = normal_name(group)
    if not all(key in part.partition and key not in part.names for part in data.parts):
        return None
    return [part.partition[key] for part in data.parts]
