from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_job.computing.pipeline import Engine
from signal_job.computing.signals import MAX_WINDOW, fixed_point, signal, window_sum
from signal_job.reference import reference_signals

ENGINES: tuple[Engine, ...] = ("in-memory", "streaming")


def signals_of(closes: Sequence[str | None], window: int, engine: Engine) -> list[int]:
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


@settings(max_examples=300, deadline=None)
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
