"""The signal as Polars expressions, in exact fixed-point integers rather than float means.

close > mean(window) is tested as window * close > sum(window) on prices scaled to integer
units of 10**-18, so a flat window (every close equal) compares equal, never greater, and the
result is the same on every engine, thread count and chunking.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from signal_job.partial import MAX_WINDOW
from signal_job.reading.numbers import PRICE, SCALE, VALUE_PADDING


def natural_scale(dtype: pl.DataType) -> int:
    """The decimals of one price unit for a close of type `dtype`: its own scale where it has one."""
    if isinstance(dtype, pl.Decimal):
        return dtype.scale
    return 0 if dtype.is_integer() else SCALE


def fixed_point(close: pl.Expr, *, dtype: pl.DataType, scale: int | None = None) -> pl.Expr:
    """`close` (of type `dtype`) as an Int128 count of price units of 10**-scale; null stays null.

    The comparison only needs one unit for the whole series, so by default a decimal keeps its
    own scale and integers count whole units; files of one series with different types share
    the largest scale of them (see `natural_scale`).
    """
    if scale is None:
        scale = natural_scale(dtype)
    if isinstance(dtype, pl.Decimal) and dtype.scale == scale:
        return close.to_physical().alias("price")
    if dtype.is_integer() and scale == 0:
        return close.cast(pl.Int128).alias("price")
    if dtype == pl.String:
        text = close.str.strip_chars(VALUE_PADDING)
        close = pl.when(text.str.len_bytes() > 0).then(text)
    elif dtype.is_float():
        # The shortest decimal that reads back as the same float: the price as it was written.
        close = close.cast(pl.String)
    return close.cast(pl.Decimal(PRICE.precision, scale)).to_physical().alias("price")


def window_sum(price: pl.Expr, *, window: int) -> pl.Expr:
    """Trailing sum over `window` rows, null until the window is full or if it holds a null."""
    size = min(window, MAX_WINDOW)
    return price.rolling_sum(size, min_samples=size).alias("window_sum")


def above_mean(price: pl.Expr, total: pl.Expr, *, window: int) -> pl.Expr:
    """Close above the window's mean, as `window * price > total`; null while the window is not full."""
    return (price * min(window, MAX_WINDOW) > total).alias("above_mean")


def signal(price: pl.Expr, total: pl.Expr, *, window: int) -> pl.Expr:
    """1 where the window is full and close is above its mean, else 0 (Int8)."""
    return above_mean(price, total, window=window).fill_null(value=False).cast(pl.Int8).alias("signal")


def close_as_float(close: pl.Expr, *, dtype: pl.DataType) -> pl.Expr:
    """`close` as the nearest Float64: a float as it is, any other type rounded once."""
    if dtype.is_float():
        return close.cast(pl.Float64).alias("close")
    if dtype == pl.String:
        close = fixed_point(close, dtype=dtype)
        return as_float(close, scale=SCALE).alias("close")
    return close.cast(pl.Float64).alias("close")


def as_float(units: pl.Expr, *, scale: int) -> pl.Expr:
    """Price units of 10**-scale as the nearest Float64 (through Decimal, which rounds once)."""
    # A decimal literal from text: a Decimal object would make Polars import numpy (~90 ms).
    unit = pl.lit(f"{Decimal(1).scaleb(-scale):f}").cast(pl.Decimal(PRICE.precision, scale))
    return (units.cast(pl.Decimal(PRICE.precision, 0), strict=False) * unit).cast(pl.Float64)


def rolling_mean(total: pl.Expr, *, window: int, scale: int) -> pl.Expr:
    """The window's mean as Float64, null while `total` is; exactly close on a flat window.

    The mean's whole units are converted like close itself, so a window of equal prices shows
    a mean equal to its close; the remainder adds at most one rounding in the last place.
    """
    size = min(window, MAX_WINDOW)
    whole = total // size
    fraction = (total - whole * size).cast(pl.Float64) / size * 10.0**-scale
    return (as_float(whole, scale=scale) + fraction).alias("rolling_mean")


# The fast path for signals files: prices in units of 10**-8 as Int64, summed as Int64 and
# shown through Float64 arithmetic that is exact (see `fast_units`). A row it cannot vouch
# for is flagged, and the pipeline then runs the general Int128 path above instead.
FAST_SCALE = 8
_FAST_UNIT = 10.0**FAST_SCALE
_FLOAT_EXACT = 2**53 - 1  # every integer up to this is a Float64
INT64_MAX = 2**63 - 1
_COARSE = 10**4  # units of 10**-4 for a window's sum where those of 10**-8 pass 2**53


def fast_window(window: int) -> bool:
    """Whether a window this long can run on the fast path: `window * 10**8` is a Float64."""
    return bool(window * 10**FAST_SCALE <= _FLOAT_EXACT)


def fast_units(price: pl.Expr, *, scale: int, window: int) -> dict[str, pl.Expr]:
    """`price` (Int128 units of 10**-scale) as Int64 `units` of 10**-8, and whether that is `exact`.

    Exact means: no digit past the 8th decimal is dropped, |units| < 2**53 and window * |units|
    < 2**63. Then `units / 10**8` is the Float64 nearest the price (one correctly rounded
    division of exact operands: the reader's own rounding), and a window's sum and the test
    `window * units > sum` are exact in Int64 (the mean also needs the sum below 2**53:
    `fast_sum_exact`). The test is on the exact decimal, never on a double: a close of 16
    significant digits can round to the double of an 8-decimal price. A missing price is
    exact (null).
    """
    limit = min(_FLOAT_EXACT, INT64_MAX // min(window, MAX_WINDOW))
    if scale >= FAST_SCALE:
        step = 10 ** (scale - FAST_SCALE)
        units = price // step
        exact = (price % step == 0) & (units.abs() <= limit)
    else:
        factor = 10 ** (FAST_SCALE - scale)
        exact = price.abs() <= limit // factor
        units = pl.when(exact).then(price) * factor
    return {
        "units": units.cast(pl.Int64, strict=False),
        "exact": price.is_null() | exact,
        # Division by a literal is computed as a product with its reciprocal, which is not
        # correctly rounded; dividing by a column is. Null where the price is (as is units).
        "unit": price.is_not_null().cast(pl.Float64) * _FAST_UNIT,
    }


def fast_close(units: pl.Expr, unit: pl.Expr) -> pl.Expr:
    """The close as the Float64 nearest it, from exact `units` (see `fast_units`)."""
    return (units.cast(pl.Float64) / unit).alias("close")


def fast_rolling_mean(total: pl.Expr, unit: pl.Expr, *, window: int) -> pl.Expr:
    """The window's mean, correctly rounded: an exact sum over the exact `window * 10**8`.

    A sum past 2**53 that is a whole number of `_COARSE` units is divided by it first: the
    same fraction, of operands still exact. Only where `fast_sum_exact(total)`; elsewhere the
    pipeline takes the general path.
    """
    size = min(window, MAX_WINDOW)
    fine = total.cast(pl.Float64) / (unit * size)
    # `unit.sign()` is 1 (null where unit is): a column, as IEEE division needs (see `fast_units`).
    coarse = (total // _COARSE).cast(pl.Float64) / (unit.sign() * float(size * 10**FAST_SCALE // _COARSE))
    return pl.when(total.abs() <= _FLOAT_EXACT).then(fine).otherwise(coarse).alias("rolling_mean")


def fast_sum_exact(total: pl.Expr) -> pl.Expr:
    """Whether a window's mean is one rounding: its sum of units a Float64, or whole `_COARSE` units.

    The latter (every sum of prices of at most 4 decimals) is below 2**63 / 10**4 < 2**53 in
    those units (see `fast_units`): large prices with long windows stay on the fast path.
    """
    return total.is_null() | (total.abs() <= _FLOAT_EXACT) | (total % _COARSE == 0)
