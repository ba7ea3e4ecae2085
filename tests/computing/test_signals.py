from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_job.computing.pipeline import PolarsEngine
from signal_job.computing.signals import (
    fast_close,
    fast_rolling_mean,
    fast_sum_exact,
    fast_units,
    fixed_point,
    signal,
    window_sum,
)
from signal_job.partial import MAX_WINDOW
from signal_job.reading.numbers import SCALE
from signal_job.reference import reference_signals
from tests.conftest import examples

ENGINES: tuple[PolarsEngine, ...] = ("in-memory", "streaming")


def signals_of(closes: Sequence[str | None], window: int, engine: PolarsEngine) -> list[int]:
    frame = pl.LazyFrame({"close": closes}, schema={"close": pl.String})
    price = fixed_point(pl.col("close"), dtype=pl.String())
    plan = frame.select(signal(price, window_sum(price, window=window), window=window))
    signals: list[int] = plan.collect(engine=engine)["signal"].to_list()
    return signals


@st.composite
def plateau_series(draw: st.DrawFn) -> tuple[list[str | None], int]:
    """Prices with 2 to 8 decimals in long flat runs, a few gaps, and a window up to past the end."""
    decimals = draw(st.integers(2, 8))
    runs = draw(
        st.lists(
            st.tuples(st.integers(1, 10**13) | st.none(), st.integers(1, 12)),
            min_size=1,
            max_size=12,
        )
    )
    closes: list[str | None] = []
    for units, length in runs:
        text = None if units is None else f"{Decimal(units).scaleb(-decimals):f}"
        closes += [text] * length
    window = draw(st.integers(1, len(closes) + 3))
    return closes, window


@settings(max_examples=examples(300), deadline=None)
@given(plateau_series())
def test_signals_match_the_exact_reference_on_every_engine(case: tuple[list[str | None], int]) -> None:
    closes, window = case
    expected = reference_signals([None if c is None else Decimal(c) for c in closes], window)
    for engine in ENGINES:
        assert signals_of(closes, window, engine) == expected


def test_flat_window_is_never_a_signal_where_float_rolling_mean_says_it_is() -> None:
    # Polars' float rolling_mean leaves the last window's mean an ulp below 44221.07 and
    # reports close > mean on a window where every close is the same.
    closes = ["41208.9", "43326.95", "47214.84", "47111.92", "49364.41"] + ["44221.07"] * 7
    for engine in ENGINES:
        assert signals_of(closes, 5, engine)[-6:] == [0] * 6


def test_first_window_minus_one_rows_are_never_signals() -> None:
    assert signals_of(["1", "2", "3", "4", "5"], 3, "streaming") == [0, 0, 1, 1, 1]


def test_window_of_one_never_signals() -> None:
    assert signals_of(["1", "3", "2", "5"], 1, "streaming") == [0, 0, 0, 0]


def test_window_holding_a_missing_value_gives_no_signal() -> None:
    assert signals_of(["1", "2", None, "4", "5", "6"], 2, "streaming") == [0, 1, 0, 0, 1, 1]


def test_window_longer_than_the_rows_gives_no_signal() -> None:
    assert signals_of(["1", "2", "3"], 4, "streaming") == [0, 0, 0]


def test_absurd_window_is_capped_without_overflow() -> None:
    assert signals_of(["1", "2", "3"], MAX_WINDOW * 10**20, "streaming") == [0, 0, 0]


def test_window_sum_is_null_until_full() -> None:
    frame = pl.DataFrame({"price": [1, 2, 3]}, schema={"price": pl.Int128})
    assert frame.select(window_sum(pl.col("price"), window=2))["window_sum"].to_list() == [None, 3, 5]


@pytest.mark.parametrize(
    ("values", "dtype", "expected"),
    [
        (
            ["45000.12", " 1.5 ", '"2"', "", None],
            pl.String(),
            [45000_12 * 10**16, 15 * 10**17, 2 * 10**18, None, None],
        ),
        ([45000.12, 0.1], pl.Float64(), [45000_12 * 10**16, 10**17]),
        ([4500012, -3, None], pl.Int64(), [4500012, -3, None]),
        ([Decimal("45000.12"), None], pl.Decimal(10, 2), [45000_12, None]),
    ],
)
def test_fixed_point_is_exact_for_every_source_type(
    values: list[object], dtype: pl.DataType, expected: list[int | None]
) -> None:
    frame = pl.DataFrame({"close": values}, schema={"close": dtype})
    assert frame.select(fixed_point(pl.col("close"), dtype=dtype))["price"].to_list() == expected


def fast_of(closes: Sequence[str | None], window: int, engine: PolarsEngine) -> pl.DataFrame:
    """The fast path's columns for `closes` read exactly (as text): exact, close, mean, signal."""
    price = fixed_point(pl.col("close"), dtype=pl.String())
    units, total, unit = pl.col("units"), pl.col("window_sum"), pl.col("unit")
    return (
        pl.LazyFrame({"close": closes}, schema={"close": pl.String})
        .select(**fast_units(price, scale=SCALE, window=window))
        .with_columns(window_sum(units, window=window))
        .select(
            "exact",
            sum_exact=fast_sum_exact(total),
            close=fast_close(units, unit),
            rolling_mean=fast_rolling_mean(total, unit, window=window),
            signal=signal(units, total, window=window),
        )
        .collect(engine=engine)
    )


def exact_means(closes: Sequence[str | None], window: int) -> list[Fraction | None]:
    means: list[Fraction | None] = []
    for end in range(1, len(closes) + 1):
        frame = closes[max(0, end - window) : end]
        full = len(frame) == window and all(close is not None for close in frame)
        means.append(
            sum((Fraction(close) for close in frame if close), Fraction(0)) / window if full else None
        )
    return means


def check_means(written: list[float | None], closes: Sequence[str | None], window: int) -> None:
    """Each mean the fast path vouches for correctly rounded: its sum of 10**-8 units below 2**53,
    or a whole number of 10**-4 units."""
    for mean, exact in zip(written, exact_means(closes, window), strict=True):
        if exact is None:
            assert mean is None
            continue
        units = exact * window * 10**8
        assert units.denominator == 1
        if abs(units) <= 2**53 - 1 or units % 10**4 == 0:
            assert mean == float(exact)


@settings(max_examples=examples(300), deadline=None)
@given(plateau_series())
def test_the_fast_path_is_exact_wherever_it_vouches_for_every_row(case: tuple[list[str | None], int]) -> None:
    closes, window = case
    expected = reference_signals([None if c is None else Decimal(c) for c in closes], window)
    for engine in ENGINES:
        fast = fast_of(closes, window, engine)
        if not fast["exact"].all():
            continue  # the pipeline takes the general path for such a file
        assert fast["signal"].to_list() == expected
        assert fast["close"].to_list() == [None if c is None else float(c) for c in closes]
        check_means(fast["rolling_mean"].to_list(), closes, window)


def test_a_flat_window_on_the_fast_path_has_its_close_as_mean_bit_for_bit() -> None:
    closes = ["41208.9", "43326.95", "47214.84", "47111.92", "49364.41"] + ["44221.07"] * 7
    fast = fast_of(closes, 5, "streaming")
    assert fast["exact"].all()
    assert fast["signal"].to_list()[-6:] == [0] * 6
    assert fast["rolling_mean"].to_list()[-3:] == [44221.07] * 3


@pytest.mark.parametrize(
    ("close", "window", "why"),
    [
        ("1.0000000001", 5, "a 10th decimal"),
        ("100000.000000000001", 5, "16 significant digits: the same double as 100000"),
        ("100000000", 5, "10**16 units of 10**-8: past 2**53"),
        ("100000", 100_000_000, "window * units past 2**63"),
    ],
)
def test_the_fast_path_does_not_vouch_for_a_price_it_cannot_hold_exactly(
    close: str, window: int, why: str
) -> None:
    fast = fast_of(["1", close, None], window, "streaming")
    assert fast["exact"].to_list() == [True, False, True], why


def test_the_fast_path_vouches_for_tiny_large_and_whole_prices() -> None:
    closes = ["0.00000001", "9999999.99999999", "-5", "42", "0.5000"]
    assert fast_of(closes, 5, "streaming")["exact"].all()
    prices = pl.LazyFrame({"price": [12, 10**8, 90_071_992]}, schema={"price": pl.Int128})
    whole = prices.select(**fast_units(pl.col("price"), scale=0, window=1)).collect()
    assert whole["exact"].to_list() == [True, False, True]
    assert whole["units"].to_list() == [12 * 10**8, None, 90_071_992 * 10**8]


@settings(max_examples=examples(200), deadline=None)
@given(
    prices=st.lists(
        st.integers(2 * 10**9, 9 * 10**9).map(lambda cents: f"{cents // 100}.{cents % 100:02}"),
        min_size=1,
        max_size=30,
    ),
    window=st.integers(5, 100),
)
def test_large_prices_of_few_decimals_stay_on_the_fast_path_with_correctly_rounded_means(
    prices: list[str], window: int
) -> None:
    # Prices of 20 to 90 million with 2 decimals: every full window's sum passes 2**53 units of 10**-8.
    fast = fast_of(prices, window, "streaming")
    assert fast["exact"].all()
    assert fast["sum_exact"].all()
    assert fast["signal"].to_list() == reference_signals([Decimal(price) for price in prices], window)
    check_means(fast["rolling_mean"].to_list(), prices, window)


def test_the_fast_path_holds_large_prices_but_not_a_sum_past_2_to_the_53() -> None:
    # 4.5 * 10**15 units of 10**-8 each: one Float64, but two of them sum past 2**53, to a
    # number of units that is not whole in 10**-4 (8 decimals).
    closes = ["45035996.27370496", "45035996.27370497", "1", "2"]
    fast = fast_of(closes, 2, "streaming")
    assert fast["exact"].all()
    assert fast["sum_exact"].to_list() == [True, False, True, True]  # the pipeline falls back
    assert fast_of(["90071992.54740992"], 1, "streaming")["exact"].to_list() == [False]  # 2**53 units
