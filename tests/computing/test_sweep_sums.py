"""A sweep's other windows from running sums: full where a row's run of present prices is long enough."""

from __future__ import annotations

import polars as pl
import pytest

from signal_job.computing.pipeline import PolarsEngine
from signal_job.computing.sweep_sums import narrow_sums, other_above, other_window, running_sums
from tests.conftest import ENGINES


@pytest.mark.parametrize("engine", ENGINES)
def test_a_window_is_full_from_the_rows_since_the_last_missing_price_or_the_groups_start(
    engine: PolarsEngine,
) -> None:
    prices = [3, 1, None, 4, 1, 5, 9, 2, 6]
    ranks = [0, 0, 0, 0, 0, 1, 1, 1, 1]
    rows = pl.LazyFrame({"price": prices, "_rank": ranks}, schema={"price": pl.Int128, "_rank": pl.UInt32})
    summed = running_sums(rows, pl.col("price"), scale=0, largest=3, narrow=True, rank="_rank")
    total, full = other_window(3)
    found = summed.select(
        total=pl.when(full).then(total), above=other_above(3, total) & full, length="_length"
    ).collect(engine=engine)
    assert found["length"].to_list() == [1, 2, 0, 1, 2, 1, 2, 3, 4]
    assert found["total"].to_list() == [None] * 7 + [16, 17]
    assert found["above"].to_list() == [False] * 7 + [False, True]  # 3*2 > 16 no; 3*6 > 17 yes


def test_sums_are_narrow_up_to_windows_of_9223_rows_of_8_decimal_prices() -> None:
    assert narrow_sums((5, 9223, 20_000), 18)
    assert not narrow_sums((5, 9224, 20_000), 18)
    assert not narrow_sums((20_000,), 2)  # no other window: nothing to sum
