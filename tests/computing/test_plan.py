from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing.pipeline import PolarsEngine, Result, SignalsNotWritten, run
from signal_job.computing.plan import QUICK_TIME, part_rows, partitions, plan, shape
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.conftest import DATA, ENGINES, REAL_ROWS, REAL_SIGNALS, WriteFile, examples, make_config

START = datetime(2024, 1, 1)


def run_with_signals(
    path: Path, out: Path, window: int = 5, *, group_by: str | None = None, engine: PolarsEngine = "streaming"
) -> tuple[Result, pl.DataFrame]:
    result = run(open_input(path, timestamps=True), make_config(window, group_by), signals=out, engine=engine)
    return result, pl.read_parquet(out)


def write_candles(path: Path, closes: Sequence[str | None], *, symbol: str | None = None) -> Path:
    stamps = [(START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(closes))]
    frame = pl.DataFrame({"timestamp": stamps, "close": closes})
    if symbol is not None:
        frame = frame.with_columns(symbol=pl.lit(symbol))
    frame.write_csv(path)
    return path


def check_against_reference(signals: pl.DataFrame, closes: Sequence[str | None], window: int) -> None:
    """Every column of the signals file against the exact reference."""
    exact = [None if close is None else Decimal(close) for close in closes]
    assert signals["signal"].to_list() == reference_signals(exact, window)
    assert signals["close"].to_list() == [None if close is None else float(close) for close in closes]
    for i, mean in enumerate(signals["rolling_mean"].to_list()):
        frame = exact[max(0, i - window + 1) : i + 1]
        if len(frame) < window or None in frame:
            assert mean is None, i
            continue
        true_mean: Fraction = (
            sum((Fraction(value) for value in frame if value is not None), Fraction(0)) / window
        )
        assert abs(Fraction(mean) - true_mean) <= Fraction(math.ulp(float(true_mean))), i
        if len(set(frame)) == 1:
            assert mean == signals["close"][i], f"a flat window's mean must equal close at row {i}"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("window", [1, 3, 30, 401])
def test_signals_file_matches_the_exact_reference(tmp_path: Path, engine: PolarsEngine, window: int) -> None:
    result, signals = run_with_signals(DATA / "candles.csv", tmp_path / "s.parquet", window, engine=engine)
    closes = pl.read_csv(DATA / "candles.csv", schema_overrides={"close": pl.String})["close"].to_list()
    assert signals.columns == ["timestamp", "close", "rolling_mean", "signal"]
    assert signals.schema["timestamp"] == pl.Datetime("us")
    assert signals.schema["signal"] == pl.Int8
    assert signals["timestamp"][1] == START + timedelta(minutes=1)
    check_against_reference(signals, closes, window)
    assert signals["signal"].sum() == result.total.signals


def test_signals_of_the_real_file_sum_to_the_published_count(tmp_path: Path, shared_data: Path) -> None:
    for name in ("btcusd_1m_10k.csv", "btcusd_1m_10k_as_shipped.csv"):
        result, signals = run_with_signals(shared_data / name, tmp_path / "s.parquet")
        assert (signals.height, signals["signal"].sum()) == (REAL_ROWS, REAL_SIGNALS)
        assert result.total.signals == REAL_SIGNALS
        assert signals["timestamp"].is_sorted()
        assert signals["timestamp"].null_count() == 0


prices = st.lists(
    st.one_of(
        st.none(),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal(100000), places=2, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=examples(60), deadline=None)
@given(
    steps=st.lists(st.tuples(prices, st.integers(1, 6)), min_size=1, max_size=6), window=st.integers(1, 12)
)
def test_signals_of_flat_runs_and_gaps_match_the_reference(
    steps: list[tuple[list[Decimal | None], int]], window: int
) -> None:
    # Each drawn price repeats a few times: flat stretches, where float means go wrong.
    closes = [
        None if price is None else str(price)
        for run_, repeat in steps
        for price in run_
        for _ in range(repeat)
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = write_candles(Path(folder) / "c.csv", closes)
        result, signals = run_with_signals(path, Path(folder) / "s.parquet", window)
    check_against_reference(signals, closes, window)
    assert signals["signal"].sum() == result.total.signals


def test_signals_do_not_depend_on_engine_or_chunk_size(tmp_path: Path) -> None:
    _, expected = run_with_signals(DATA / "blank_lines.csv", tmp_path / "a.parquet", 3)
    _, in_memory = run_with_signals(DATA / "blank_lines.csv", tmp_path / "b.parquet", 3, engine="in-memory")
    assert_frame_equal(in_memory, expected)
    with pl.Config(streaming_chunk_size=7):
        _, chunked = run_with_signals(DATA / "blank_lines.csv", tmp_path / "c.parquet", 3)
    assert_frame_equal(chunked, expected)


def test_signals_of_a_file_without_timestamps_have_no_timestamp_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("close\n1\n2\n2\n")
    _, signals = run_with_signals(path, tmp_path / "s.parquet", 2)
    assert signals.columns == ["close", "rolling_mean", "signal"]
    assert signals["rolling_mean"].to_list() == [None, 1.5, 2.0]
    assert signals["signal"].to_list() == [0, 1, 0]


def test_blank_lines_are_not_rows_of_the_signals_file(tmp_path: Path, write_file: WriteFile) -> None:
    path = write_file("b.csv", "timestamp,close\n2024-01-01 00:00:00,1\n\n  \n2024-01-01 00:01:00,2\n")
    result, signals = run_with_signals(path, tmp_path / "s.parquet", 2)
    assert result.total.blank_lines == 2
    assert signals["close"].to_list() == [1.0, 2.0]
    assert signals["signal"].to_list() == [0, 1]


@pytest.mark.parametrize(
    "name", ["candles.csv.gz", "decimal_close.parquet", "float_close.parquet", "cents_close.parquet"]
)
def test_signals_of_every_kind_of_file_equal_the_csv_signals(tmp_path: Path, name: str) -> None:
    _, expected = run_with_signals(DATA / "candles.csv", tmp_path / "a.parquet")
    _, got = run_with_signals(DATA / name, tmp_path / "b.parquet")
    assert got["signal"].to_list() == expected["signal"].to_list()
    if name != "cents_close.parquet":  # prices in cents: same signals, other numbers
        assert got["close"].to_list() == expected["close"].to_list()


def test_each_group_gets_its_own_windows_equal_to_running_it_alone(tmp_path: Path) -> None:
    btc = ["5", "5", "6", "6", "7", None, "7", "7", "8", "6"]
    eth = ["2", "1", "1", "3", "3", "3", "4", "2"]
    alone = {
        "BTC": run_with_signals(write_candles(tmp_path / "btc.csv", btc), tmp_path / "b.parquet", 3),
        "ETH": run_with_signals(write_candles(tmp_path / "eth.csv", eth), tmp_path / "e.parquet", 3),
    }
    # Interleave the two series row by row in one file, as research datasets hold them.
    both = (
        pl.concat(
            [
                pl.read_csv(tmp_path / "btc.csv").with_columns(
                    symbol=pl.lit("BTC"), order=pl.int_range(0, 10) * 2
                ),
                pl.read_csv(tmp_path / "eth.csv").with_columns(
                    symbol=pl.lit("ETH"), order=pl.int_range(0, 8) * 2 + 1
                ),
            ]
        )
        .sort("order")
        .drop("order")
    )
    both.write_csv(tmp_path / "both.csv")
    result, signals = run_with_signals(tmp_path / "both.csv", tmp_path / "s.parquet", 3, group_by="symbol")
    # One run of rows per group, in order of first appearance; file order within each.
    assert signals["symbol"].to_list() == ["BTC"] * 10 + ["ETH"] * 8
    for symbol, (alone_result, alone_signals) in alone.items():
        assert dict(result.groups)[symbol] == alone_result.total
        group = signals.filter(pl.col("symbol") == symbol).drop("symbol")
        assert_frame_equal(group, alone_signals)
    assert result.total.signals == sum(c.signals for c in dict(result.groups).values())
    assert result.total.rows == 18


def test_groups_in_the_in_memory_engine_equal_the_streaming_engine(tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "candles.csv").with_columns(symbol=pl.Series(["A", "B", "C", "A"] * 100))
    frame.write_parquet(tmp_path / "g.parquet")
    streaming = run_with_signals(tmp_path / "g.parquet", tmp_path / "a.parquet", 4, group_by="symbol")
    in_memory = run_with_signals(
        tmp_path / "g.parquet", tmp_path / "b.parquet", 4, group_by="symbol", engine="in-memory"
    )
    assert streaming[0] == in_memory[0]
    assert_frame_equal(streaming[1], in_memory[1])
    assert [name for name, _ in streaming[0].groups] == ["A", "B", "C"]


def split_by_day(source: Path, folder: Path, *, name: str = "{day}.csv") -> None:
    frame = pl.read_csv(source, schema_overrides={"close": pl.String})
    frame = frame.with_columns(day=pl.col("timestamp").str.slice(0, 13))  # an hour per file: 7 files
    folder.mkdir()
    for (day,), part in frame.group_by("day", maintain_order=True):
        part.drop("day").write_csv(folder / name.format(day=str(day).replace(" ", "_")))


@pytest.mark.parametrize("spec", ["{folder}", "{folder}/*.csv", "{folder}/**/*.csv"])
def test_a_series_split_into_files_equals_the_whole_file(tmp_path: Path, spec: str) -> None:
    split_by_day(DATA / "candles.csv", tmp_path / "days")
    whole, whole_signals = run_with_signals(DATA / "candles.csv", tmp_path / "a.parquet", 7)
    parts, parts_signals = run_with_signals(
        Path(spec.format(folder=tmp_path / "days")), tmp_path / "b.parquet", 7
    )
    assert parts == whole
    assert_frame_equal(parts_signals, whole_signals)


def test_files_are_ordered_by_first_timestamp_not_by_name(tmp_path: Path) -> None:
    # Names that sort wrongly: part_10 before part_2 in path order.
    split_by_day(DATA / "candles.csv", tmp_path / "days")
    files = sorted((tmp_path / "days").iterdir())
    for number, path in enumerate(files, start=1):
        path.rename(path.with_name(f"part_{number * 5}.csv"))
    data = open_input(tmp_path / "days")
    assert data.order == "time"
    whole = run(open_input(DATA / "candles.csv"), make_config(7))
    assert run(data, make_config(7)) == whole


def test_files_without_timestamps_are_read_in_path_order(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("close\n1\n")
    (tmp_path / "a.csv").write_text("close\n3\n2\n")
    data = open_input(tmp_path)
    assert data.order == "path"
    assert [part.path.name for part in data.parts] == ["a.csv", "b.csv"]
    assert run(data, make_config(2)).total.signals == 0  # 3, 2, 1: never above the mean


def test_mixed_kinds_of_files_make_one_series(tmp_path: Path) -> None:
    split_by_day(DATA / "candles.csv", tmp_path / "days")
    files = sorted((tmp_path / "days").iterdir())
    pl.read_csv(files[0], schema_overrides={"close": pl.Decimal(10, 2)}).write_parquet(
        files[0].with_suffix(".parquet")
    )
    files[0].unlink()
    whole = run(open_input(DATA / "candles.csv"), make_config(7))
    assert run(open_input(tmp_path / "days"), make_config(7)) == whole


def test_plan_is_lazy_and_reads_only_the_columns_it_needs() -> None:
    # close, the last field and a field too many (to tell blank and malformed lines), and time.
    the_plan = plan(open_input(DATA / "candles.csv"), make_config(5))
    assert "PROJECT 4/8 COLUMNS" in the_plan.counts.explain()


def test_hive_folders_of_the_group_run_one_by_one_like_a_symbol_column(tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "candles.csv").with_columns(symbol=pl.Series(["A", "B", "C", "A"] * 100))
    frame.write_parquet(tmp_path / "column.parquet")
    for (symbol,), rows in frame.group_by("symbol", maintain_order=True):
        folder = tmp_path / "tree" / f"symbol={symbol}"
        folder.mkdir(parents=True)
        rows.drop("symbol").head(50).write_parquet(folder / "1.parquet")
        rows.drop("symbol").slice(50).write_parquet(folder / "2.parquet")
    config = make_config(4, group_by="symbol")
    tree = open_input(tmp_path / "tree", timestamps=True)
    assert [[p.path.name for p in part.parts] for part in partitions(tree, config)] == [
        ["1.parquet", "2.parquet"]
    ] * 3
    by_column = run_with_signals(tmp_path / "column.parquet", tmp_path / "a.parquet", 4, group_by="symbol")
    (tmp_path / "out").mkdir()
    by_folder = run_with_signals(tmp_path / "tree", tmp_path / "out" / "b.parquet", 4, group_by="symbol")
    assert [path.name for path in (tmp_path / "out").iterdir()] == ["b.parquet"]  # the pieces are gone
    assert by_folder[0] == by_column[0]
    # Folder by folder: each symbol's rows together, in file order within the symbol.
    assert_frame_equal(by_folder[1], by_column[1].sort("symbol", maintain_order=True))


def test_a_signals_file_that_cannot_be_written_is_told_from_a_bad_input(tmp_path: Path) -> None:
    with pytest.raises(SignalsNotWritten, match=r"missing"):
        run(
            open_input(DATA / "candles.csv", timestamps=True),
            make_config(),
            signals=tmp_path / "missing" / "s.parquet",
        )


def test_a_group_by_column_inside_the_files_keeps_the_input_whole(tmp_path: Path) -> None:
    (tmp_path / "symbol=A").mkdir()
    (tmp_path / "symbol=A" / "x.csv").write_text("symbol,close\nB,1\n")
    data = open_input(tmp_path)
    assert partitions(data, make_config(2, group_by="symbol")) == [data]
    assert partitions(data, make_config(2)) == [data]


def test_group_values_are_trimmed_like_every_value(tmp_path: Path) -> None:
    path = tmp_path / "pad.csv"
    path.write_text('symbol,close\nBTC,1\n"BTC ",2\n BTC,3\n,4\n  ,5\n')
    result = run(open_input(path), make_config(2, group_by="symbol"))
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("BTC", 3, 2),
        (None, 2, 1),
    ]


def test_only_rows_read_straight_from_the_files_carry_the_fast_paths_time(tmp_path: Path) -> None:
    # Rows staged first (newest first, sorted, grouped) are written to disk: a second parse of
    # every time, staged beside the first, would cost for nothing.
    data = open_input(write_candles(tmp_path / "c.csv", ["1", "2", "3"]), timestamps=True)
    the_shape = shape(data, make_config(2), timestamps=True)
    assert QUICK_TIME not in part_rows(data.parts[0], the_shape).collect_schema()
    read = part_rows(data.parts[0], the_shape, quick_time=True).collect()
    assert read[QUICK_TIME].equals(read["timestamp"], check_names=False)
