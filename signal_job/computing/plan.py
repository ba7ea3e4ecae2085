"""One partition's lazy plan, a pure function of its rows and config: the counts and the signals.

Nothing here reads a file or collects: `plan` only describes the query, so the pipeline can run
it here, or a later step can build one per partition elsewhere and add up the `Counts`. Each
file's rows come from `part_rows` in one common `Shape`; the pipeline may stage some of them
first (a newest-first file is read back oldest first, `sort: true` sorts them) and hand the
plan the frames. `partitions` splits an input into series that share no window.

Time order is checked in the same pass: the rows' order keys must rise strictly (per group).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

import polars as pl

from signal_job.computing.signals import (
    above_mean,
    close_as_float,
    fast_close,
    fast_rolling_mean,
    fast_sum_exact,
    fast_units,
    fixed_point,
    natural_scale,
    rolling_mean,
    signal,
    window_sum,
)
from signal_job.computing.sweep_sums import (
    other_above,
    other_window,
    running_sums,
    swept_signals,
    window_columns,
)
from signal_job.config import Config
from signal_job.partial import MAX_WINDOW
from signal_job.reading.files import SIGNALS_MARK
from signal_job.reading.headers import normal_name
from signal_job.reading.inputs import Input
from signal_job.reading.numbers import VALUE_PADDING
from signal_job.reading.sources import Source
from signal_job.version import __version__

# Columns of the signals file; a `group_by` column may not take one of these names.
SIGNAL_COLUMNS = ("timestamp", "close", "rolling_mean", "signal")
# Written into every signals file's Parquet metadata, so no later run reads one as input.
SIGNALS_METADATA = {SIGNALS_MARK: f"signals file, version {__version__}"}
_HIGH = 2**64
Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)
GROUP = "_group"
GROUP_TEXT = "_group_text"  # the group as written, untrimmed: cheap to compare row by row
RANK = "_rank"  # a group's position in order of first appearance (see `groups`)
CARRIED = "_carried"  # a row of an earlier batch, leading its group's rows (see `groups.in_batches`)
ROW = "_row"
# The time as the fast path reads it: from the text as written where the file allows (see
# `TimestampReading.untrimmed`); any row it leaves null goes to the general path. Only rows
# read straight from the files carry it (`quick_time`): staging it would cost a parse.
QUICK_TIME = "_quick_time"
SORT_KEY = "_sort"


@dataclass(frozen=True)
class Plan:
    """The lazy frames of one run; they share one scan of the rows, so one collect feeds all."""

    counts: pl.LazyFrame  # one row of counts, or one per group in order of first appearance
    signals: pl.LazyFrame  # per input row: [group], [timestamp], close, rolling_mean, signal
    repeats: pl.LazyFrame | None  # with `duplicates: drop`: how many repeated rows were left out
    # The signals on Int64 prices where the rows allow (see `fast_units`), with a null signal
    # on any row it cannot vouch for; None where the shape does not allow it at all.
    fast_signals: pl.LazyFrame | None = None


class Runs(enum.StrEnum):
    """How a plan's rows come: one series, or (a `group_by` column's) runs of whole groups."""

    ONE = "one series"  # no group_by, a hive folder's rows, or one group filtered apart
    GROUPS = "group runs"  # runs of whole groups, ranked (`RANK`), each windowed alone
    # A batch of group runs, each led by its rows `CARRIED` from the batches before: they reach
    # into its windows and time order, but were counted there; groups are counted by `RANK`
    # alone, the rows carrying no name (see `groups.in_batches`).
    BATCH = "batch"


@dataclass(frozen=True)
class Shape:
    """What every file's rows carry, the same for all files of one series."""

    scale: int  # decimals of the common price unit
    group: str | None  # the `group_by` column
    timestamps: bool  # the parsed timestamp, for the signals file
    text_times: bool  # ... kept as text: some file's dates read both day and month first
    keys: int  # order keys per row (0: no time column; 2: day or month first, both checked)
    width: int | None  # keys are text of this width (sorting as time); None: Int64 nanoseconds
    whole_rows: bool  # carry every column, to tell repeated rows (`duplicates: drop`)
    # Whether the files' close columns are floats (the signals file keeps those floats): True
    # for all, False for none, None where some are and some are not.
    float_close: bool | None = False
    kept: tuple[str, ...] = ()  # input columns the signals keep, as numbers (see `Config.keep`)

    @property
    def parsed_order(self) -> bool:
        """Whether order is checked on the parsed timestamps (signals runs parse them anyway).

        Text keys are no proof for a later time written another way at the same width.
        """
        return self.timestamps and not self.text_times and self.keys == 1 and self.width is not None

    @property
    def key_names(self) -> list[str]:
        """The names of the order key columns."""
        return [f"_key{index}" for index in range(self.keys)]


def shape(data: Input, config: Config, *, timestamps: bool = False, parse_times: bool = False) -> Shape:
    """The common shape of `data`'s rows; `timestamps` adds the parsed timestamp for the signals.

    `parse_times` orders rows by parsed times even where their text would do (to check text of
    another width than the first values).
    """
    readings = [part.timestamp for part in data.parts]
    timed = [reading for reading in readings if reading is not None]
    keys = max((len(reading.keys) for reading in timed), default=0) if len(timed) == len(readings) else 0
    widths = {reading.width for reading in timed}
    return Shape(
        scale=max(natural_scale(part.close_dtype) for part in data.parts),
        group=config.group_by,
        timestamps=timestamps and data.has_timestamps,
        text_times=any(reading is not None and reading.written is not None for reading in readings),
        keys=keys,
        width=widths.pop() if keys == 1 and len(widths) == 1 and not parse_times else None,
        whole_rows=config.reading.duplicates == "drop",
        float_close=_all_or_none(part.close_dtype.is_float() for part in data.parts),
        kept=kept_columns(data, config),
    )


# The columns `keep=True` keeps: a candle's other prices and its volumes (`volume`, `volume_usd`, ...).
OHLCV = ("open", "high", "low")
VOLUME = "volume"


def kept_columns(data: Input, config: Config) -> tuple[str, ...]:
    """The input columns the signals keep (see `Config.keep`), by their names as given."""
    if config.keep is True:
        names = data.column_names()
        return tuple(name for name in names if name in OHLCV or name.startswith(VOLUME))
    return () if config.keep is False else tuple(config.keep)


def kept_name(index: int) -> str:
    """The column carrying the `index`th kept column through the plan (its own name may clash)."""
    return f"_kept{index}"


def kept_value(part: Source, name: str) -> pl.Expr:
    """The column `name` of `part` as Float64, as close is read: a value that is not a number is null."""
    column = part.column(name)
    assert column is not None  # noqa: S101 - the pipeline checks every file has it
    if part.layout is None:
        return column.cast(pl.Float64, strict=False)
    text = column.str.strip_chars(VALUE_PADDING)  # text, trimmed and read as the file writes numbers
    if not part.layout.numbers.plain:
        text = part.layout.numbers.normalized(text)
    return text.cast(pl.Float64, strict=False)


def partitions(data: Input, config: Config) -> list[Input]:
    """`data` split into inputs that share no window: one per hive folder value of `group_by`.

    Only folder values are known without reading the rows; a `group_by` column inside the files
    keeps the input whole, and its rows come to the plan in runs of whole groups (see `groups`).
    """
    values = folder_values(data, config.group_by)
    if values is None:
        return [data]
    by_value: dict[str, list[Source]] = {}
    for part, value in zip(data.parts, values, strict=True):
        by_value.setdefault(value, []).append(part)
    return [data.replace_parts(parts) for parts in by_value.values()]


def plan(
    data: Input,
    config: Config,
    *,
    timestamps: bool = False,
    the_shape: Shape | None = None,
    frames: list[pl.LazyFrame] | None = None,
    fast: bool = False,
    runs: Runs = Runs.ONE,
    windows: tuple[int, ...] = (),
    means: bool = False,
    narrow: bool = False,
) -> Plan:
    """The plan over every file of `data` as one series (one per `group_by` value).

    `frames` are the files' rows as `part_rows` gives them in `the_shape` (staged by the
    pipeline), or None to read each file as it is; `timestamps` adds the parsed timestamp to
    the signals (when no shape is given). For runs of a `group_by` column's groups (`runs`),
    `frames` must come from `groups.in_group_runs`. With `fast`, the plan also holds the fast
    path's signals (the route says where it fits: `route.takes_fast_path`). `windows` are counted
    beside `config.window` (a sweep's, see `plan_rows`), in Int64 running sums with `narrow`.
    """
    if the_shape is None:
        the_shape = shape(data, config, timestamps=timestamps)
    # Rows read straight from the files carry the time as the fast path reads it.
    quick_time = frames is None and the_shape.timestamps
    rows = all_rows(data, the_shape, frames, quick_time=quick_time)
    return plan_rows(
        rows,
        config,
        the_shape,
        runs=runs,
        fast=fast,
        quick_time=quick_time,
        windows=windows,
        means=means,
        narrow=narrow,
    )


def all_rows(
    data: Input, the_shape: Shape, frames: list[pl.LazyFrame] | None = None, *, quick_time: bool = False
) -> pl.LazyFrame:
    """Every file's rows in `the_shape`, one after the other: `frames` if given, else as read.

    With `quick_time`, rows read from the files also carry `QUICK_TIME` (see `part_rows`).
    """
    if frames is None:
        frames = [part_rows(part, the_shape, quick_time=quick_time) for part in data.parts]
    return frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical")


def without_repeats(rows: pl.LazyFrame, the_shape: Shape) -> tuple[pl.LazyFrame, pl.LazyFrame | None]:
    """`rows` without repeats (with `duplicates: drop`), and the query counting those left out."""
    if not the_shape.whole_rows:
        return rows, None
    # A row identical in every column to the one before it is a repeat (overlapping exports).
    repeated = pl.col("_whole").eq_missing(pl.col("_whole").shift(1)).fill_null(value=False)
    rows = rows.with_columns(_repeated=repeated)
    return rows.filter(~pl.col("_repeated")), rows.select(repeats=pl.col("_repeated").sum())


def plan_rows(
    rows: pl.LazyFrame,
    config: Config,
    the_shape: Shape,
    *,
    runs: Runs = Runs.ONE,
    fast: bool = False,
    quick_time: bool = False,
    windows: tuple[int, ...] = (),
    means: bool = False,
    narrow: bool = False,
) -> Plan:
    """The plan over rows of `the_shape`, already in the order their windows run, coming as `runs`.

    `fast`, see `plan`; `quick_time`, the rows carry `QUICK_TIME` for the fast path. The counts
    hold `full_windows` and `signals` of `config.window`, and of each other of `windows` (a
    sweep's) `full_windows_{window}` and `signals_{window}` (see `window_columns`), in the same
    scan: the config's window (a sweep's largest) by its rolling sum as a run counts it, the others
    by differences of running sums (see `sweep_sums.running_sums`), exact as it is: in Int64 with `narrow`,
    where the counts' `not_narrow` says how many prices do not fit that (too large, or with more
    decimals than its units) (the sweep is then
    counted again with `narrow` off). A sweep's signals hold
    `signal_{window}` for each of `windows` in their order, each after `rolling_mean_{window}`
    with `means`.
    """
    rows, repeats = without_repeats(rows, the_shape)
    fast_signals = _fast_signals(rows, config, the_shape, quick_time=quick_time) if fast else None
    in_runs = runs is not Runs.ONE
    if the_shape.keys and not in_runs:
        rows = rows.with_row_index(ROW)  # ties in time are broken by the row: no two rows at one time
    price, total = pl.col("price"), pl.col("window_sum")
    others = tuple(window for window in windows if window != config.window)
    rows = rows.with_columns(
        _in_runs(window_sum(price, window=config.window), config.window, in_runs=in_runs)
    )
    if others:
        rows = running_sums(
            rows,
            price,
            scale=the_shape.scale,
            largest=max(others),
            narrow=narrow,
            rank=RANK if in_runs else None,
        )
    return Plan(
        counts=_counts(
            rows,
            windows=(config.window, *others),
            the_shape=the_shape,
            grouped=config.group_by is not None,
            runs=runs,
        ),
        signals=rows.select(
            *([pl.col(GROUP).alias(config.group_by)] if config.group_by else []),
            *(["timestamp"] if the_shape.timestamps else []),
            "close",
            **(
                swept_signals(price, windows, config.window, the_shape.scale, means=means, narrow=narrow)
                if windows
                else {
                    "rolling_mean": rolling_mean(total, window=config.window, scale=the_shape.scale),
                    "signal": signal(price, total, window=config.window),
                }
            ),
            **_kept(the_shape),
        ),
        repeats=repeats,
        fast_signals=fast_signals,
    )


def _in_runs(summed: pl.Expr, window: int, *, in_runs: bool) -> pl.Expr:
    """`summed`, a trailing sum of `window` rows; in runs of groups, null where it crosses into another."""
    if not in_runs:
        return summed
    return pl.when(_same_group(window)).then(summed).alias(summed.meta.output_name())


def _same_group(window: int) -> pl.Expr:
    """Whether the row `window - 1` back is of the same group (in runs of groups): the window is whole."""
    return pl.col(RANK).shift(min(window, MAX_WINDOW) - 1) == pl.col(RANK)


# The fast path's signal on a row that may be a blank line or malformed (see `_fast_signals`).
SUSPECT_SIGNAL = -1


def fast_counts(written: pl.LazyFrame, the_shape: Shape) -> pl.LazyFrame:
    """The counts, read back from a signals file the fast path wrote; `untrusted` rows void them.

    `suspect` counts the rows that may be blank lines or malformed, as the general plan does:
    the pipeline then reads the file again beside its raw lines, and never uses these counts.
    Time order needs no reading back: a row out of it has no signal (see `_fast_signals`).
    """
    zero = pl.lit(0, dtype=pl.UInt32)
    return written.select(
        rows=pl.len(),
        missing=pl.col("close").null_count(),
        full_windows=pl.len() - pl.col("rolling_mean").null_count(),
        signals=pl.col("signal").sum(),
        # A trusted row's close has its exact price's sign (see `_fast_signals`).
        nonpositive=(pl.col("close") <= 0).sum(),
        largest_price=zero,  # Int64 sums cannot overflow: `fast_units` bounds every price
        suspect=(pl.col("signal") == SUSPECT_SIGNAL).sum(),
        unreadable_timestamps=zero,
        times_missing=zero,
        times_odd=zero,
        in_order=pl.lit(value=True),
        untrusted=pl.col("signal").null_count(),
    )


def _fast_signals(rows: pl.LazyFrame, config: Config, the_shape: Shape, *, quick_time: bool) -> pl.LazyFrame:
    timestamps = ["timestamp"] if the_shape.timestamps else []
    trusted = pl.lit(value=True)
    time_column = QUICK_TIME if quick_time else "timestamp"
    if the_shape.timestamps:
        time = pl.col(time_column)
        trusted = time.is_not_null()
        if the_shape.keys:  # each time later than the one before: time order, as the rows stream
            trusted &= (time > time.shift(1)).fill_null(value=True)
    floats = bool(the_shape.float_close)
    if floats:
        # A float written as it is but read as a price of 0 (1e-20: past 18 decimals) would count
        # as positive from the file written: the general path counts it from its price.
        trusted &= ~((pl.col("price") == 0) & (pl.col("close") > 0)).fill_null(value=False)
    # Each derived column in its own stage: the streaming engine does not share subexpressions.
    # A float close is written as it is (-0.0, a Float32's own value); any other from its units.
    staged = rows.select(
        *(pl.col(time_column).alias(name) for name in timestamps),
        *(["close"] if floats else []),
        "suspect",
        *(kept_name(index) for index in range(len(the_shape.kept))),
        trusted=trusted,
        **fast_units(pl.col("price"), scale=the_shape.scale, window=config.window),
    ).with_columns(window_sum(pl.col("units"), window=config.window))
    units, total, unit = pl.col("units"), pl.col("window_sum"), pl.col("unit")
    return staged.select(
        *timestamps,
        close=pl.col("close") if floats else fast_close(units, unit),
        rolling_mean=fast_rolling_mean(total, unit, window=config.window),
        # A suspect row (a blank line, say) is marked rather than voided: the pipeline then goes
        # straight to reading the file beside its raw lines, without the general pass between.
        signal=pl.when(pl.col("suspect"))
        .then(pl.lit(SUSPECT_SIGNAL, dtype=pl.Int8))
        .when(pl.col("trusted") & pl.col("exact") & fast_sum_exact(total))
        .then(signal(units, total, window=config.window)),
        **_kept(the_shape),
    )


def _kept(the_shape: Shape) -> dict[str, pl.Expr]:
    """The kept columns under their own names, after the signals file's."""
    return {name: pl.col(kept_name(index)) for index, name in enumerate(the_shape.kept)}


def part_rows(part: Source, the_shape: Shape, *, quick_time: bool = False) -> pl.LazyFrame:
    """One file's rows in the common shape, whatever its kind and column types.

    With `quick_time`, they also carry `QUICK_TIME`: read straight from the file for the fast
    path (rows staged first, newest first, sorted or grouped, carry the parsed time alone).
    """
    columns: dict[str, pl.Expr] = {}
    if the_shape.group is not None:
        column = part.column(the_shape.group)
        assert column is not None  # noqa: S101 - the pipeline checks every file has it
        columns[GROUP_TEXT] = column.cast(pl.String)
    if the_shape.keys:
        assert part.timestamp is not None  # noqa: S101 - keys only when every file has times
        keys = part.timestamp.keys if the_shape.width is not None else part.timestamp.int_keys
        padded = (*keys, *(keys[0] for _ in range(the_shape.keys - len(keys))))
        columns |= dict(zip(the_shape.key_names, padded, strict=True))
    if the_shape.whole_rows:
        columns["_whole"] = part.whole_row()
    columns |= {kept_name(index): kept_value(part, name) for index, name in enumerate(the_shape.kept)}
    if the_shape.timestamps:
        assert part.timestamp is not None  # noqa: S101 - `has_timestamps` was checked
        columns["timestamp"] = part.timestamp.parsed
        columns["_present"] = part.timestamp.present
        if quick_time:
            untrimmed = part.timestamp.untrimmed
            columns[QUICK_TIME] = untrimmed if untrimmed is not None else part.timestamp.parsed
        if the_shape.text_times:  # some file's dates read day first and month first: keep text
            columns["_written"] = (
                part.timestamp.written if part.timestamp.written is not None else pl.lit(None)
            )
    rows = part.frame_with(columns).select(
        fixed_point(pl.col("close"), dtype=part.close_dtype, scale=the_shape.scale),
        close_as_float(pl.col("close"), dtype=part.close_dtype),
        "suspect",
        *columns,
    )
    if the_shape.group is not None:
        rows = with_group_names(rows)
    if not the_shape.timestamps:
        return rows
    # A second stage, so the timestamp is parsed once (streaming does not share subexpressions).
    rows = rows.with_columns(_unreadable=pl.col("timestamp").is_null() & pl.col("_present")).drop("_present")
    if not the_shape.text_times:
        return rows
    as_text = pl.coalesce(
        pl.col("_written").cast(pl.String), pl.col("timestamp").dt.to_string("%Y-%m-%d %H:%M:%S")
    )
    return rows.with_columns(timestamp=as_text).drop("_written")


def with_group_names(rows: Frame) -> Frame:
    """`rows` with their `GROUP`: `GROUP_TEXT` trimmed like every value, none where empty.

    `"BTC "` and the as-shipped `"BTC` are the group BTC. The trimmed text is a stage of its own
    (streaming does not share subexpressions).
    """
    trimmed = pl.col(GROUP_TEXT).str.strip_chars(VALUE_PADDING).alias(GROUP)
    group = pl.col(GROUP)
    return rows.with_columns(trimmed).with_columns(
        pl.when(group.str.len_bytes() > 0).then(group).alias(GROUP)
    )


def sort_key(the_shape: Shape) -> pl.Expr:
    """One column to sort rows by time (within a group: ties between symbols are no repeats)."""
    key = pl.col("_key0")
    if the_shape.group is None:
        return key.alias(SORT_KEY)
    text = key if the_shape.width is not None else key.cast(pl.String).str.zfill(20)
    return pl.concat_str(text, pl.lit("\x00"), pl.col(GROUP).fill_null(""), ignore_nulls=False).alias(
        SORT_KEY
    )


def _counts(
    rows: pl.LazyFrame, *, windows: tuple[int, ...], the_shape: Shape, grouped: bool, runs: Runs
) -> pl.LazyFrame:
    """The counts of `windows`, the config's first (see `plan_rows`)."""
    if runs is not Runs.ONE:
        return _counts_in_runs(rows, windows=windows, the_shape=the_shape, carried=runs is Runs.BATCH)
    price, total = pl.col("price"), pl.col("window_sum")
    aggregates: dict[str, pl.Expr] = {
        "rows": pl.len(),
        "missing": price.null_count(),
        "full_windows": pl.len() - total.null_count(),
        "signals": above_mean(price, total, window=windows[0]).sum(),
        "nonpositive": (price <= 0).sum(),
    }
    for window in windows[1:]:  # a sweep's others: their figures straight from the running sums
        swept, full = other_window(window)
        full_windows, signals = window_columns(window, windows[0])
        aggregates[full_windows] = full.sum()
        aggregates[signals] = (other_above(window, swept) & full).sum()
    if len(windows) > 1:
        aggregates["not_narrow"] = pl.col("_not_narrow").sum()
    aggregates |= {
        "largest_price": pl.max_horizontal(price.max().abs(), price.min().abs()),
        "suspect": pl.col("suspect").sum(),
        "unreadable_timestamps": pl.col("_unreadable").sum() if the_shape.timestamps else pl.lit(0),
    }
    # One group (a hive folder's): counted as one series, which streams where a `group_by` holds
    # its rows.
    aggregates |= _order(the_shape)
    if grouped:
        return rows.select(pl.col(GROUP).first().alias("group"), **aggregates)
    return rows.select(**aggregates)


def _counts_in_runs(
    rows: pl.LazyFrame, *, windows: tuple[int, ...], the_shape: Shape, carried: bool
) -> pl.LazyFrame:
    """`_counts` per group of rows that come in runs of whole groups (see `groups`).

    Each row's facts (its order against the row before, too) are worked out in a stage of their
    own, so the groups only add up columns: a grouped aggregation of anything more falls out
    of the streaming engine and holds every row (1 GiB at 50M rows).
    """
    price = pl.col("price")
    timed = the_shape.keys > 0
    odd = _odd_width(the_shape)
    by_window: dict[str, pl.Expr] = {}  # per window, its full windows and signals, and their names
    named: dict[str, str] = {}
    for window in windows:
        full_windows, signals = window_columns(window, windows[0])
        if window == windows[0]:  # the run's own
            total = pl.col("window_sum")
            full, above = total.is_not_null(), above_mean(price, total, window=window)
        else:
            total, full = other_window(window)
            above = other_above(window, total) & full
        by_window[f"_{full_windows}"] = full.fill_null(value=False)
        by_window[f"_{signals}"] = above.fill_null(value=False)
        named |= {full_windows: f"_{full_windows}", signals: f"_{signals}"}
    swept = len(windows) > 1
    facts = by_window | {
        **({"not_narrow": pl.col("_not_narrow")} if swept else {}),
        "_missing": price.is_null(),
        "_nonpositive": (price <= 0).fill_null(value=False),
        # Int128 has no grouped max that streams: the max of each price's high 64 bits gives
        # an upper bound, enough for the check on Int128 sums (`largest_price`): a price below
        # 2**64 units reads as 2**64, and only a window of over 2**63 rows could then overflow.
        "_size": (price.abs() // _HIGH).cast(pl.Int64),
        "_late": _late(the_shape).fill_null(value=False),
        "_odd": odd if odd is not None and not the_shape.parsed_order else pl.lit(value=False),
        "_no_time": pl.col("_key0").is_null() if timed else pl.lit(value=False),
        "_unreadable": pl.col("_unreadable") if the_shape.timestamps else pl.lit(value=False),
    }
    sums = (
        *by_window,
        *(["not_narrow"] if swept else []),
        *("_missing", "_nonpositive", "_late", "_odd", "_no_time", "_unreadable", "suspect"),
    )
    size = pl.len()
    if carried:  # rows counted in the batch before: masked out (a filter copies every column)
        mine = ~pl.col(CARRIED)
        facts = {name: fact & mine for name, fact in facts.items() if name != "_size"} | {
            "_size": facts["_size"],  # the group's own price, counted before: the max holds
            "suspect": pl.col("suspect") & mine,
        }
        size = mine.sum()
    counted = (
        rows.with_columns(**facts)
        .group_by(RANK)
        .agg(
            *([] if carried else [pl.col(GROUP).first().alias("group")]),
            size.alias("rows"),
            pl.col("_size").max().alias("largest_price"),
            *(pl.col(name).sum() for name in sums),
        )
        .filter(pl.col("rows") > 0)  # a group with carried rows only (or none at all)
        .sort(RANK)
    )
    return counted.select(
        RANK if carried else "group",
        "rows",
        missing="_missing",
        **{name: pl.col(fact) for name, fact in named.items()},
        **({"not_narrow": pl.col("not_narrow")} if swept else {}),
        nonpositive="_nonpositive",
        largest_price=(pl.col("largest_price").cast(pl.Int128) + 1) * _HIGH,
        suspect="suspect",
        unreadable_timestamps="_unreadable",
        times_missing="_no_time",
        times_odd="_odd",
        in_order=pl.col("_late") == 0,
    )


def added_up(counts: list[pl.DataFrame], names: list[str | None]) -> pl.DataFrame:
    """The counts of batches of runs of groups, by `RANK` (see `Runs.BATCH`), each group's added up.

    Named from `names`, the groups in order of first appearance, as `_counts_in_runs` names them.
    """
    name = pl.lit(pl.Series(names, dtype=pl.String)).gather(pl.col(RANK)).alias("group")
    columns = [column for column in counts[0].columns if column != RANK]
    return (
        pl.concat(counts)
        .group_by(RANK)
        .agg(
            pl.col("largest_price").max(),
            pl.col("in_order").all(),
            pl.exclude("largest_price", "in_order").cast(pl.Int64).sum(),
        )
        .sort(RANK)
        .select(name, *columns)
    )


def _late(the_shape: Shape) -> pl.Expr:
    """Rows whose time is not later than the time of the row before, in the same group.

    Null where either time is missing or unreadable: those rows are errors of their own.
    """
    if not the_shape.keys:
        return pl.lit(value=False)
    same = pl.col(RANK) == pl.col(RANK).shift(1)
    if the_shape.parsed_order:
        keys = [pl.col("timestamp").cast(pl.Int64)]
    else:
        keys = [pl.col(name) for name in the_shape.key_names]
    return pl.any_horizontal([same & (key <= key.shift(1)) for key in keys])


def _order(the_shape: Shape) -> dict[str, pl.Expr]:
    """Whether the rows' times rise strictly, as the rows stream past: no parse, no second pass."""
    if not the_shape.keys:
        return {"times_missing": pl.lit(0), "times_odd": pl.lit(0), "in_order": pl.lit(value=True)}
    row = pl.col(ROW).cast(pl.Int64)
    if the_shape.parsed_order:
        return {
            "times_missing": pl.col("_key0").null_count(),
            "times_odd": pl.lit(0, dtype=pl.UInt32),  # every time parsed: their order is the proof
            "in_order": _rising(pl.col("timestamp").cast(pl.Int64), row),
        }
    checks = []
    for name in the_shape.key_names:
        key = pl.col(name)
        if the_shape.width is None:
            # Integers rise strictly exactly when key - row never falls.
            checks.append((key - row).is_sorted())
        else:
            # Ties broken by the row, falling: an equal time is out of order too.
            checks.append(pl.struct(key.alias("k"), (-row).alias("r")).is_sorted())
    odd = _odd_width(the_shape)
    return {
        "times_missing": pl.col("_key0").null_count(),
        # Text keys of another width: their order is checked by parsing them.
        "times_odd": odd.sum() if odd is not None else pl.lit(0, dtype=pl.UInt32),
        "in_order": pl.all_horizontal(checks),
    }


def _odd_width(the_shape: Shape) -> pl.Expr | None:
    """Rows whose text key is not as wide as the first values' (None where keys are not text)."""
    if not the_shape.keys or the_shape.width is None:
        return None
    return pl.col("_key0").str.len_bytes() != the_shape.width


def _rising(times: pl.Expr, row: pl.Expr) -> pl.Expr:
    """Whether integer `times` rise strictly row by row; unreadable (null) times are left to the counts."""
    # Integers rise strictly exactly when time - row never falls.
    return (times - row).filter(times.is_not_null()).is_sorted()


def _all_or_none(flags: Iterable[bool]) -> bool | None:
    """True if every flag is, False if none is, None if some are."""
    seen = set(flags)
    return None if len(seen) > 1 else seen.pop() if seen else False


def folder_values(data: Input, group: str | None) -> list[str] | None:
    """Each file's hive folder value of `group`, if `group` is a folder key (not a column) of all."""
    if group is None:
        return None
    key = normal_name(group)
    if not all(key in part.partition and key not in part.names for part in data.parts):
        return None
    return [part.partition[key] for part in data.parts]
