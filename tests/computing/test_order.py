from __future__ import annotations

import random
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing.pipeline import PolarsEngine, Result
from signal_job.computing.route import Limits
from signal_job.config import Config, Reading
from signal_job.errors import InputError
from signal_job.reading.inputs import Input, open_input
from signal_job.reference import reference_signals
from tests.conftest import ENGINES, REAL_ROWS, REAL_SIGNALS, examples, make_config, run_with

CLEAN = "btcusd_1m_10k.csv"


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pl.DataFrame:
    """The real candles, every column as written."""
    return pl.read_csv(shared_data / CLEAN, infer_schema=False)


def write(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path)
    return path


# Staging in pieces and runs of a few thousand rows, so the real file needs several.
SMALL_PIECES = Limits(piece_rows=3_000, run_rows=2_500)


def run(data: Input, config: Config, **options: Any) -> Result:
    """`pipeline.run`, staging in `SMALL_PIECES`."""
    return run_with(data, config, SMALL_PIECES, **options)


def counts(
    path: Path, *, engine: PolarsEngine = "streaming", window: int = 5, reading: Reading | None = None
) -> tuple[int, int]:
    total = run(open_input(path), make_config(window, reading=reading), engine=engine).total
    return total.rows, total.signals


def signals_of(path: Path, out: Path, reading: Reading | None = None) -> pl.DataFrame:
    config = make_config(5, reading=reading)
    run(open_input(path, reading=config.reading, timestamps=True), config, signals=out)
    return pl.read_parquet(out)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_newest_first_file_gives_the_result_of_the_oldest_first_one(
    candles: pl.DataFrame, tmp_path: Path, engine: PolarsEngine
) -> None:
    path = write(candles.reverse(), tmp_path / "newest_first.csv")
    assert counts(path, engine=engine) == (REAL_ROWS, REAL_SIGNALS)


def test_a_newest_first_file_writes_its_signals_oldest_first(
    candles: pl.DataFrame, tmp_path: Path, shared_data: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(candles.reverse(), tmp_path / "newest_first.csv")
    with caplog.at_level("INFO", logger="signal_job"):
        newest_first = signals_of(path, tmp_path / "a.parquet")
    assert "newest_first.csv runs newest first: it is read oldest first" in caplog.text
    assert_frame_equal(newest_first, signals_of(shared_data / CLEAN, tmp_path / "b.parquet"))
    assert newest_first["timestamp"].is_sorted()


def test_rows_out_of_order_are_refused_naming_the_first_one(candles: pl.DataFrame, tmp_path: Path) -> None:
    rows = candles.with_row_index()
    swapped = pl.concat([rows.slice(0, 36), rows.slice(40, 1), rows.slice(36, 4), rows.slice(41)]).drop(
        "index"
    )
    path = write(swapped, tmp_path / "shuffled.csv")
    with pytest.raises(
        InputError,
        match=(
            r"shuffled\.csv line 39: timestamp '2024-01-01 00:36:00' is earlier than '2024-01-01 00:40:00' "
            r"on the line before, in a file that runs oldest first; .* set sort: true"
        ),
    ):
        counts(path)


def test_sort_true_puts_shuffled_rows_in_time_order_exactly(
    candles: pl.DataFrame, tmp_path: Path, shared_data: Path
) -> None:
    path = write(candles.sample(fraction=1.0, shuffle=True, seed=3), tmp_path / "shuffled.csv")
    assert counts(path, reading=Reading(sort=True)) == (REAL_ROWS, REAL_SIGNALS)
    assert_frame_equal(
        signals_of(path, tmp_path / "a.parquet", Reading(sort=True)),
        signals_of(shared_data / CLEAN, tmp_path / "b.parquet"),
    )


def test_a_repeated_span_is_refused_unless_repeats_are_dropped(candles: pl.DataFrame, tmp_path: Path) -> None:
    path = write(pl.concat([candles, candles.slice(9_000, 1_000)]), tmp_path / "overlap.csv")
    with pytest.raises(InputError, match=r"line 10002: timestamp '2024-01-07 06:00:00' is earlier than"):
        counts(path)
    with pytest.raises(
        InputError,
        match=(
            r"appears twice, on input file .*overlap\.csv line 9002 and .* line 10002: two rows for one "
            r"time\. If the input repeats rows .* set duplicates: drop"
        ),
    ):
        counts(path, reading=Reading(sort=True))
    assert counts(path, reading=Reading(sort=True, duplicates="drop")) == (REAL_ROWS, REAL_SIGNALS)


def test_repeated_rows_next_to_each_other_are_dropped_and_counted(
    candles: pl.DataFrame, tmp_path: Path
) -> None:
    twice = pl.concat([candles.slice(0, 5_000), candles.slice(4_999, 5_001)])  # row 5000 twice
    path = write(twice, tmp_path / "twice.csv")
    with pytest.raises(
        InputError, match=r"line 5002: timestamp '2024-01-04 11:19:00' is the same as on the line before"
    ):
        counts(path)
    total = run(open_input(path), make_config(5, reading=Reading(duplicates="drop"))).total
    assert (total.rows, total.signals, total.repeats) == (REAL_ROWS, REAL_SIGNALS, 1)


def test_two_different_rows_for_one_time_are_refused_even_when_dropping_repeats(
    candles: pl.DataFrame, tmp_path: Path
) -> None:
    other = candles.slice(4_999, 1).with_columns(close=pl.lit("1.5"))
    path = write(pl.concat([candles.slice(0, 5_000), other, candles.slice(5_000)]), tmp_path / "two.csv")
    with pytest.raises(
        InputError, match=r"line 5002: timestamp '2024-01-04 11:19:00' is the same as on the line before"
    ):
        counts(path, reading=Reading(duplicates="drop"))
    with pytest.raises(
        InputError, match=r"appears twice, .* line 5001 and .* line 5002, in rows that differ"
    ):
        counts(path, reading=Reading(sort=True, duplicates="drop"))


def test_a_row_without_a_time_is_refused_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "gap.csv"
    path.write_text("timestamp,close\n2024-01-01 00:00:00,1\n,2\n2024-01-01 00:02:00,3\n")
    for reading in (Reading(), Reading(sort=True)):
        with pytest.raises(InputError, match=r"gap\.csv line 3 has no timestamp; every row needs its time"):
            counts(path, reading=reading)


def test_files_that_overlap_in_time_are_refused_naming_both(candles: pl.DataFrame, tmp_path: Path) -> None:
    write(candles.slice(0, 6_000), tmp_path / "a.csv")
    write(candles.slice(5_000), tmp_path / "b.csv")
    with pytest.raises(
        InputError,
        match=(
            r"input files overlap in time: .*b\.csv starts at 2024-01-04 11:20:00 "
            r"but .*a\.csv ends at 2024-01-05 03:59:00"
        ),
    ):
        counts(tmp_path)


def test_a_newest_first_file_among_others_is_read_in_time_order(
    candles: pl.DataFrame, tmp_path: Path
) -> None:
    write(candles.slice(0, 3_000), tmp_path / "c.csv")
    write(candles.slice(3_000, 4_000).reverse(), tmp_path / "a.csv")
    write(candles.slice(7_000), tmp_path / "b.csv")
    data = open_input(tmp_path)
    assert [part.path.name for part in data.parts] == ["c.csv", "a.csv", "b.csv"]
    assert counts(tmp_path) == (REAL_ROWS, REAL_SIGNALS)


def test_each_group_runs_in_its_own_time_order(candles: pl.DataFrame, tmp_path: Path) -> None:
    both = pl.concat([candles.with_columns(symbol=pl.lit(name)) for name in ("A", "B")]).sort(
        "timestamp", "symbol"
    )
    path = write(both, tmp_path / "symbols.csv")
    result = run(open_input(path), make_config(5, "symbol"))
    assert [(name, group.rows, group.signals) for name, group in result.groups] == [
        ("A", REAL_ROWS, REAL_SIGNALS),
        ("B", REAL_ROWS, REAL_SIGNALS),
    ]
    swapped = pl.concat([both.slice(0, 100), both.slice(102, 1), both.slice(100, 2), both.slice(103)])
    with pytest.raises(
        InputError, match=r"line 103: timestamp '2024-01-01 00:50:00' is earlier than '2024-01-01 00:51:00'"
    ):
        run(open_input(write(swapped, tmp_path / "swapped.csv")), make_config(5, "symbol"))


def test_without_a_time_column_file_order_is_kept_and_said_unchecked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "closes.csv"
    path.write_text("close\n3\n1\n2\n")
    with caplog.at_level("INFO", logger="signal_job"):
        assert counts(path)[0] == 3
    assert "rows are read in file order, which is not checked" in caplog.text


def test_times_written_another_way_later_in_the_file_are_checked_by_their_value(tmp_path: Path) -> None:
    path = tmp_path / "widths.csv"
    lines = [f"2024-01-01 {hour:02}:00:00,{hour % 3}" for hour in range(10)]
    lines += [f"2024-01-01 {hour}:30:00,{hour % 3}" for hour in range(10, 12)]  # as wide: fine as text
    path.write_text("timestamp,close\n" + "\n".join([*lines, "2024-01-02 0:00:00,1"]) + "\n")
    assert counts(path)[0] == 13
    path.write_text("timestamp,close\n" + "\n".join([*lines, "2024-01-01 9:59:00,1"]) + "\n")
    with pytest.raises(
        InputError, match=r"line 14: timestamp '2024-01-01 9:59:00' is earlier than '2024-01-01 11:30:00'"
    ):
        counts(path)


@settings(max_examples=examples(40), deadline=None)
@given(
    closes=st.lists(st.sampled_from(["1.25", "1.5", "1.5", "2"]), min_size=2, max_size=60),
    window=st.integers(1, 8),
    how=st.sampled_from(
        ["oldest", "newest", "shuffled", "shuffled+sort", "repeats", "repeats+drop", "files"]
    ),
    seed=st.integers(0, 1_000),
)
def test_every_ordering_gives_the_exact_answer_or_its_documented_error(
    closes: list[str], window: int, how: str, seed: int
) -> None:
    stamps = [f"2024-01-01 {i // 60:02}:{i % 60:02}:00" for i in range(len(closes))]
    frame = pl.DataFrame({"timestamp": stamps, "close": closes})
    expected = sum(reference_signals([Decimal(close) for close in closes], window))
    shuffle = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    in_order = shuffle.equals(frame) or shuffle.equals(frame.reverse())
    rows = {
        "oldest": frame,
        "newest": frame.reverse(),
        "shuffled": shuffle,
        "shuffled+sort": shuffle,
        "repeats": pl.concat([frame, frame.tail(1)]),
        "repeats+drop": pl.concat([frame.head(len(closes) // 2 + 1), frame.slice(len(closes) // 2)]),
        "files": frame,
    }[how]
    readings = {"shuffled+sort": Reading(sort=True), "repeats+drop": Reading(duplicates="drop", sort=True)}
    reading = readings.get(how, Reading())
    with tempfile.TemporaryDirectory() as folder:
        if how == "files":
            cuts = sorted(random.Random(seed).sample(range(1, len(closes)), min(3, len(closes) - 1)))  # noqa: S311
            for index, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(closes)], strict=True)):
                part = rows.slice(start, end - start)
                write(part.reverse() if index % 2 else part, Path(folder) / f"{seed + 7 * index:05}.csv")
            path = Path(folder)
        else:
            path = write(rows, Path(folder) / "series.csv")
        refused = how == "repeats" or (how == "shuffled" and not in_order)
        if refused:
            with pytest.raises(InputError, match=r"time order|the same as on the line before|earlier than"):
                counts(path, window=window, reading=reading)
        else:
            assert counts(path, window=window, reading=reading) == (len(closes), expected)


def test_dates_without_leading_zeros_are_ordered_by_their_value(tmp_path: Path) -> None:
    # As text, 2024/9/30 sorts after 2024/10/1; as times it comes before.
    path = tmp_path / "unpadded.csv"
    stamps = ["2024/9/29 0:00", "2024/9/30 0:00", "2024/10/1 0:00", "2024/10/2 0:00"]
    path.write_text(
        "timestamp,close\n" + "".join(f"{t},{c}\n" for t, c in zip(stamps, (1, 2, 3, 4), strict=True))
    )
    assert counts(path, window=2) == (4, 3)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("timestamp,close\n" + "".join(f"{stamps[i]},{i + 1}\n" for i in (2, 3, 0, 1)))
    with pytest.raises(InputError, match=r"line 4: timestamp '2024/9/29 0:00' is earlier than"):
        counts(shuffled, window=2)
    assert counts(shuffled, window=2, reading=Reading(sort=True)) == (4, 3)


def test_twelve_hour_clocks_are_ordered_by_their_value(tmp_path: Path) -> None:
    path = tmp_path / "clock.csv"
    path.write_text("timestamp,close\n2024-01-01 01:00 PM,1\n2024-01-01 11:00 AM,2\n2024-01-01 12:00 PM,3\n")
    with pytest.raises(InputError, match=r"line 3: timestamp '2024-01-01 11:00 AM' is earlier than"):
        counts(path, window=2, reading=Reading(timestamp_format="%Y-%m-%d %I:%M %p"))


def test_a_readable_epoch_column_orders_a_file_whose_dates_do_not_read(tmp_path: Path) -> None:
    path = tmp_path / "cdd.csv"
    rows = [(1_704_070_800, "2024-01-01 01-AM", 3), (1_704_067_200, "2024-01-01 12-AM", 1)]
    path.write_text("unix,date,close\n" + "".join(f"{u},{d},{c}\n" for u, d, c in rows))
    assert counts(path, window=2) == (2, 1)  # read oldest first: 1 then 3


def test_times_out_of_order_only_as_text_are_judged_by_their_value(tmp_path: Path) -> None:
    # The same width as the first values, but padded differently: as text it sorts before them.
    path = tmp_path / "padding.csv"
    path.write_text("timestamp,close\n2024-01-01 09:00:00,1\n2024-01-01 10:00:00,2\n 2024-01-01 11:00:0,3\n")
    assert counts(path, window=2) == (3, 2)


@pytest.mark.parametrize("engine", ENGINES)
def test_sort_true_orders_times_of_another_width_by_their_value(tmp_path: Path, engine: PolarsEngine) -> None:
    # Sorted as text, a day's 9 o'clock rows follow its 23 o'clock ones: the first hundred values
    # are all as wide, so text keys are tried first; the parsed times must both order and count.
    minutes = [(day, hour, minute) for day in (1, 2) for hour in range(9, 24) for minute in range(60)]
    closes = {stamp: (stamp[1] * 7 + stamp[2] * 13) % 17 for stamp in minutes}
    written = sorted(minutes, key=lambda stamp: f"{stamp[0]} {stamp[1]}:{stamp[2]:02}")
    path = tmp_path / "sorted_as_text.csv"
    path.write_text(
        "timestamp,close\n" + "".join(f"2024-01-0{d} {h}:{m:02},{closes[d, h, m]}\n" for d, h, m in written)
    )
    expected = sum(reference_signals([Decimal(closes[stamp]) for stamp in minutes], 5))
    assert counts(path, engine=engine, reading=Reading(sort=True)) == (len(minutes), expected)
    written_signals = signals_of(path, tmp_path / "s.parquet", Reading(sort=True))
    assert written_signals["timestamp"].is_sorted()
    assert written_signals["signal"].sum() == expected


def test_a_signals_run_checks_the_parsed_times_where_a_later_spelling_sorts_wrongly_as_text(
    tmp_path: Path,
) -> None:
    # As wide as the first values and later as text, but an earlier time: only parsing tells.
    lines = [f"2024-01-01 {10 + minute // 60:02}:{minute % 60:02}:00,{minute % 7}" for minute in range(150)]
    path = tmp_path / "spelling.csv"
    path.write_text("timestamp,close\n" + "\n".join([*lines, "2024-01-1 09:00:00 ,5"]) + "\n")
    with pytest.raises(InputError, match=r"line 152: timestamp '2024-01-1 09:00:00' is earlier than"):
        signals_of(path, tmp_path / "a.parquet")
    ordered = signals_of(path, tmp_path / "b.parquet", Reading(sort=True))
    assert ordered["timestamp"].is_sorted()
    assert ordered["close"].head(2).to_list() == [5.0, 0.0]
