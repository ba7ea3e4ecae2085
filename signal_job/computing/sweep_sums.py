"""A sweep's other windows, each a difference of two running sums of the prices, in one scan.

The config's window (a sweep's largest) is a rolling sum, as a run's (see `plan`); every other
window of a sweep is counted from the columns `running_sums` adds, one subtraction and one
comparison per window and row. The sums are Int64 units of 10**-`NARROW_SCALE` where the route
allows (`narrow_sums`): twice as fast as Int128, and exact wherever no close is `_not_narrow`
(the pipeline counts again in Int128 where one is).
"""

from __future__ import annotations

import polars as pl

from signal_job.computing.signals import INT64_MAX, above_mean, rolling_mean, signal
from signal_job.partial import MAX_WINDOW

# A sweep's Int64 units (see `running_sums`): 8 decimals, as exchanges quote (a CSV's prices are
# read with 18, where no window's sum would fit Int64).
NARROW_SCALE = 8
# A sweep sums in Int64 units where a price of this many digits before the point still fits the
# longest window: in Int128 (twice the cost) only for windows past 9,223.
_NARROW_DIGITS = 7
_INDEX = "_index"  # a row's position in a sweep's rows, for the runs of present prices (`_length`)


def narrow_sums(windows: tuple[int, ...], scale: int) -> bool:
    """Whether a sweep's other windows are summed in Int64, for prices of `scale` decimals.

    Only a first guess: the sums stay exact either way, as a close that does not fit makes the
    pipeline count again in Int128 (see `plan.plan_rows`).
    """
    others = [window for window in windows if window != max(windows)]
    digits = narrow_scale(scale) + _NARROW_DIGITS
    return bool(others) and 10**digits * min(max(others), MAX_WINDOW) <= INT64_MAX


def window_columns(window: int, config_window: int) -> tuple[str, str]:
    """The counts' columns of a window's full windows and signals; a sweep's other windows' name it."""
    if window == config_window:
        return "full_windows", "signals"
    return f"full_windows_{window}", f"signals_{window}"


def narrow_scale(scale: int) -> int:
    """The decimals of a sweep's Int64 units for prices of `scale` decimals: at most `NARROW_SCALE`."""
    return min(scale, NARROW_SCALE)


def running_sums(
    rows: pl.LazyFrame, price: pl.Expr, *, scale: int, largest: int, narrow: bool, rank: str | None
) -> pl.LazyFrame:
    """`rows` with what a sweep's other windows are counted from (see `other_window`), the longest `largest`.

    Each of those windows is a difference of two running sums: a hundred windows cost a
    hundred subtractions, not a hundred rolling sums (measured 1.2 s against 7.3 s for 100
    windows over 2M rows). `_units` are the prices summed: with `narrow`, Int64 units of
    10**-`narrow_scale(scale)` (Int128 arithmetic costs about twice as much; a CSV's prices of
    18 decimals fit no window in Int64), and `_not_narrow` flags a price that is not a whole
    number of them or too large for an exact Int64 sum of `largest` rows. `_length` is the
    number of rows in a row's run of present prices (of its group, in runs of groups ranked by
    `rank`): a window is full where it is as long as the window, one comparison per window.
    Each stage on its own: the streaming engine does not share subexpressions.
    """
    index = pl.col(_INDEX)
    restart = pl.when(price.is_null()).then(index + 1).otherwise(0)
    if rank is not None:  # a group's first row starts a run (a missing price's: the row after)
        restart = pl.max_horizontal(restart, pl.when(pl.col(rank) != pl.col(rank).shift(1)).then(index))
    not_narrow = pl.lit(value=False)
    units = price
    if narrow:
        step = 10 ** (scale - narrow_scale(scale))
        limit = INT64_MAX // min(largest, MAX_WINDOW)
        units = (price // step if step > 1 else price).cast(pl.Int64, strict=False)
        not_narrow = price.abs() > limit * step
        if step > 1:
            not_narrow |= price % step != 0
        not_narrow = not_narrow.fill_null(value=False)
    return (
        rows.with_row_index(_INDEX)
        .with_columns(
            _units=units,
            _not_narrow=not_narrow,
            _running=units.fill_null(0).cum_sum(),
            _start=restart.cum_max(),
        )
        .with_columns(_before=pl.col("_running").shift(1, fill_value=0), _length=index + 1 - pl.col("_start"))
    )


def other_window(window: int) -> tuple[pl.Expr, pl.Expr]:
    """A sweep's other window: its sum, and whether it is full (no missing price, all of one group).

    Integers wrap around, so a running sum past the type's range still leaves every difference
    exact wherever the window's own sum fits: in Int64, while no price is `_not_narrow`; in Int128,
    which the pipeline checks for the largest window (`_check_counts`). Null for the first
    `window - 1` rows, as `window_sum` is.
    """
    size = min(window, MAX_WINDOW)
    total = pl.col("_running") - pl.col("_before").shift(size - 1)
    return total, pl.col("_length") >= size


def other_above(window: int, total: pl.Expr) -> pl.Expr:
    """A sweep's other window: close above its mean, in the type of its running sums."""
    return above_mean(pl.col("_units"), total, window=window)


def swept_signals(
    price: pl.Expr,
    windows: tuple[int, ...],
    config_window: int,
    scale: int,
    *,
    means: bool,
    narrow: bool,
) -> dict[str, pl.Expr]:
    """A sweep's signal columns: each window's, in the order asked, its rolling mean first with `means`.

    With `narrow`, the other windows' sums are of Int64 units (see `running_sums`); their means
    are taken from those sums in the prices' own units, so each is exactly the mean a run gives.
    """
    columns: dict[str, pl.Expr] = {}
    for window in windows:
        if window == config_window:  # the run's own
            total = pl.col("window_sum")
            signaled = signal(price, total, window=window)
        else:
            summed, full = other_window(window)
            total = pl.when(full).then(summed)
            signaled = (other_above(window, summed) & full).fill_null(value=False).cast(pl.Int8)
        if means:
            if narrow and window != config_window:  # back in the prices' own units, as a run's mean
                total = total.cast(pl.Int128) * 10 ** (scale - narrow_scale(scale))
            columns[f"rolling_mean_{window}"] = rolling_mean(total, window=window, scale=scale)
        columns[f"signal_{window}"] = signaled
    return {name: expression.alias(name) for name, expression in columns.items()}
