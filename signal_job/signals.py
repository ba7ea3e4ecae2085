"""The signal as Polars expressions, in exact fixed-point integers rather than float means.

close > mean(window) is tested as window * close > sum(window) on prices scaled to integer
units of 10**-18, so a flat window (every close equal) compares equal, never greater, and the
result is the same on every engine, thread count and chunking.
"""

from __future__ import annotations

import polars as pl

SCALE = 18
# Exact for every price written with up to 18 decimals and 20 integer digits.
PRICE = pl.Decimal(38, SCALE)
# Polars counts rows in 32 bits, so no window longer than this can ever be full; capping keeps
# `window * price` inside Int128 for absurd windows without changing any result.
MAX_WINDOW = 2**32
# Trimmed around a close value read as text: blanks and the quotes of the as-shipped spelling.
VALUE_PADDING = ' \t\r"'


def fixed_point(close: pl.Expr, *, dtype: pl.DataType) -> pl.Expr:
    """`close` (of type `dtype`) as an Int128 count of price units; null stays null.

    The unit is 10**-scale of a decimal column, 1 for integers and 10**-18 for text and floats:
    the comparison only needs one unit for the whole column, so decimals are not rescaled.
    """
    if isinstance(dtype, pl.Decimal):
        return close.to_physical().alias("price")
    if dtype.is_integer():
        return close.cast(pl.Int128).alias("price")
    if dtype == pl.String:
        text = close.str.strip_chars(VALUE_PADDING)
        close = pl.when(text.str.len_bytes() > 0).then(text)
    elif dtype.is_float():
        # The shortest decimal that reads back as the same float: the price as it was written.
        close = close.cast(pl.String)
    return close.cast(PRICE).to_physical().alias("price")


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
