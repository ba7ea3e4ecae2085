"""The reduction of a signals file to buckets: every bucket's extremes are the data's, on both engines."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing.buckets import Shape, buckets, numbered, shape_of, spans
from signal_job.computing.pipeline import PolarsEngine
from signal_job.errors import InputError
from tests.conftest import ENGINES, examples

START = datetime(2024, 1, 1)


def signals_frame(closes: list[float | None], groups: list[str] | None, window: int) -> pl.DataFrame:
    """A signals file as `run` writes it: each group's rolling mean over `window` and its signal."""
    frame = pl.DataFrame(
        {
            **({"ticker": groups} if groups is not None else {}),
            "timestamp": [START + timedelta(minutes=index) for index in range(len(closes))],
            "close": pl.Series(closes, dtype=pl.Float64),
        }
    )
    over = ["ticker"] if groups is not None else None
    mean = pl.col("close").rolling_mean(window)
    return frame.with_columns(
        (mean.over(over) if over else mean).alias("rolling_mean"),
    ).with_columns(
        (pl.col("close") > pl.col("rolling_mean")).fill_null(value=False).cast(pl.Int8).alias("signal")
    )


def reference(frame: pl.DataFrame, shape: Shape, width: int) -> list[dict[str, Any]]:
    """The buckets by hand: each group's rows in file order, cut at equal shares of its span."""
    rows = frame.with_row_index("_row").to_dicts()
    order: list[object] = []
    for row in rows:
        key = row[shape.group] if shape.group else None
        if key not in order:
            order.append(key)
    found = []
    for key in order:
        mine = [row for row in rows if (row[shape.group] if shape.group else None) == key]
        low, high = mine[0]["_row"], mine[-1]["_row"] + 1
        cut: dict[int, list[dict[str, Any]]] = {}
        for row in mine:
            cut.setdefault((row["_row"] - low) * width // (high - low), []).append(row)
        for bucket, inside in sorted(cut.items()):
            entry: dict[str, Any] = {**({shape.group: key} if shape.group else {}), "bucket": bucket}
            entry |= {"rows": len(inside), "first_row": inside[0]["_row"], "last_row": inside[-1]["_row"]}
            entry |= {"first_time": inside[0]["timestamp"], "last_time": inside[-1]["timestamp"]}
            for name in shape.values:
                values = [row[name] for row in inside if row[name] is not None]
                entry |= {
                    f"{name}_first": inside[0][name],
                    f"{name}_last": inside[-1][name],
                    f"{name}_min": min(values, default=None),
                    f"{name}_max": max(values, default=None),
                }
            entry |= {name: sum(row[name] for row in inside) for name in shape.signals}
            found.append(entry)
    return found


def reduced(frame: pl.DataFrame, width: int, engine: PolarsEngine) -> pl.DataFrame:
    rows = numbered(frame.lazy())
    shape = shape_of(frame.schema, what="signals")
    return buckets(rows, shape, spans(rows, shape).collect(engine=engine), width=width).collect(engine=engine)


closes = st.lists(st.one_of(st.none(), st.floats(1, 1e6, allow_nan=False)), min_size=1, max_size=80)


@settings(max_examples=examples(100), deadline=None)
@given(
    closes=closes,
    grouped=st.booleans(),
    window=st.integers(1, 6),
    width=st.integers(1, 30),
    engine=st.sampled_from(ENGINES),
    data=st.data(),
)
def test_every_bucket_holds_the_first_last_and_extremes_of_its_rows(
    closes: list[float | None], *, grouped: bool, window: int, width: int, engine: PolarsEngine, data: Any
) -> None:
    groups = data.draw(
        st.lists(st.sampled_from(["A", "B", None]), min_size=len(closes), max_size=len(closes))
    )
    groups = groups if grouped else None
    frame = signals_frame(closes, groups, window)
    shape = shape_of(frame.schema, what="signals")
    got = reduced(frame, width, engine)
    expected = pl.DataFrame(reference(frame, shape, width), schema=got.schema, orient="row")
    assert_frame_equal(got, expected, check_dtypes=False)
    assert got.height <= width * (3 if grouped else 1)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_file_keeps_a_one_row_spike_in_its_bucket(engine: PolarsEngine) -> None:
    prices = [100.0] * 100_000
    prices[31_337] = 250.0
    got = reduced(signals_frame(prices, None, 5), 100, engine)  # type: ignore[arg-type]
    assert got.height == 100
    assert got["rows"].to_list() == [1000] * 100
    spike = got.filter(pl.col("close_max") == 250.0)
    assert spike["bucket"].to_list() == [31]


def test_a_sweeps_signals_file_has_a_signal_and_a_mean_per_window() -> None:
    schema = pl.Schema({"timestamp": pl.Datetime(), "close": pl.Float64(), "rolling_mean_5": pl.Float64()})
    schema |= {"signal_5": pl.Int8(), "signal_10": pl.Int8()}
    shape = shape_of(pl.Schema(schema), what="sweep.parquet")
    assert shape == Shape(None, "timestamp", ("signal_5", "signal_10"), ("rolling_mean_5",))
    assert shape.windows == (5, 10)


def test_the_warm_up_of_each_group_tells_the_window() -> None:
    frame = signals_frame([float(index) for index in range(40)], ["A", "B"] * 20, 7)
    rows = numbered(frame.lazy())
    found = spans(rows, shape_of(frame.schema, what="s")).collect()
    assert found["warm_up"].to_list() == [6, 6]
    assert found["rows"].to_list() == [20, 20]


def test_a_time_range_keeps_only_its_rows_in_the_buckets() -> None:
    frame = signals_frame([float(index) for index in range(100)], None, 3)
    rows = numbered(frame.lazy())
    shape = shape_of(frame.schema, what="s")
    inside = pl.col("timestamp").is_between(START + timedelta(minutes=10), START + timedelta(minutes=19))
    found = spans(rows, shape, selected=inside).collect()
    got = buckets(rows, shape, found, width=5, selected=inside).collect()
    assert got["rows"].to_list() == [2] * 5
    assert got["first_row"].to_list() == [10, 12, 14, 16, 18]
    assert found["warm_up"].to_list() == [2]  # of all the rows: the range does not hide the window


@pytest.mark.parametrize(
    ("schema", "message"),
    [
        ({"timestamp": pl.Datetime(), "open": pl.Float64()}, "not a signals file: it needs a close column"),
        ({"close": pl.Float64(), "volume": pl.Float64()}, "and a signal column"),
        ({"close": pl.String(), "signal": pl.Int8()}, "its close column holds String, not numbers"),
    ],
)
def test_a_file_without_the_signals_columns_is_refused(schema: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        shape_of(pl.Schema(schema), what="candles.csv")
