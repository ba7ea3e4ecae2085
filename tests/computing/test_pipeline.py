from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing import pipeline as pipeline_module
from signal_job.computing.pipeline import PolarsEngine, run
from signal_job.computing.route import Signals, decide, forced
from signal_job.errors import InputError
from signal_job.formats import FileFormat
from signal_job.partial import Counts
from signal_job.reading.inputs import open_input
from signal_job.reading.timestamps import SAMPLE_VALUES
from signal_job.reference import reference_signals
from tests.conftest import (
    DATA,
    ENGINES,
    REAL_ROWS,
    REAL_SIGNALS,
    WriteFile,
    counts_of,
    examples,
    make_config,
    under_polars_settings,
)


def reference_counts(path: Path, window: int) -> int:
    closes = pl.read_csv(path, schema_overrides={"close": pl.String})["close"].to_list()
    return sum(reference_signals([None if c is None else Decimal(c) for c in closes], window))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("window", [1, 2, 5, 30, 399, 400, 401, 10**9])
def test_counts_match_the_exact_reference(engine: PolarsEngine, window: int) -> None:
    counts = counts_of(DATA / "candles.csv", window, engine)
    assert counts.rows == 400
    assert counts.full_windows == max(0, 400 - window + 1)
    assert counts.signals == reference_counts(DATA / "candles.csv", window)


def test_real_file_gives_the_published_result(shared_data: Path) -> None:
    for engine in ENGINES:
        counts = counts_of(shared_data / "btcusd_1m_10k.csv", 5, engine)
        assert (counts.rows, counts.signals, counts.rate) == (REAL_ROWS, REAL_SIGNALS, 0.4989)
        assert counts.full_windows == REAL_ROWS - 4
        assert counts.missing == 0


def test_real_file_matches_the_exact_reference_for_many_windows(shared_data: Path) -> None:
    path = shared_data / "btcusd_1m_10k.csv"
    for window in (2, 7, 60):
        assert counts_of(path, window).signals == reference_counts(path, window)


def test_streaming_chunk_size_does_not_change_the_counts() -> None:
    expected = counts_of(DATA / "candles.csv", 7)
    for size in (1, 3, 64):
        with pl.Config(streaming_chunk_size=size):
            assert counts_of(DATA / "candles.csv", 7) == expected


def test_thread_count_and_morsel_size_do_not_change_the_counts() -> None:
    code = (
        "import json, sys; from pathlib import Path; from tests.conftest import counts_of; "
        "c = counts_of(Path(sys.argv[1]), 7); print(json.dumps(c.__dict__))"
    )
    results = under_polars_settings(code, str(DATA / "candles.csv"))
    assert results[0] == results[1] == results[2]
    assert Counts(**results[0]) == counts_of(DATA / "candles.csv", 7)


def test_missing_close_values_count_as_rows_without_signals(write_file: WriteFile) -> None:
    path = write_file("gaps.csv", "timestamp,close,volume\n1,1,9\n2,2,9\n3,,9\n4,4,9\n5,5,9\n6,6,9\n")
    counts = counts_of(path, 2)
    assert counts == Counts(rows=6, full_windows=3, missing=1, signals=3, blank_lines=0)


def test_blank_lines_are_skipped_and_not_counted(write_file: WriteFile) -> None:
    text = "\n  \ntimestamp,close,volume\n\n1,1,9\n \t \n2,2,9\n\n3,,9\n4,4,9\n5,5,9\n6,6,9\n\n   \n"
    counts = counts_of(write_file("blank.csv", text), 2)
    # The two blank lines above the header are skipped too; blank_lines counts those below it.
    assert counts == Counts(rows=6, full_windows=3, missing=1, signals=3, blank_lines=5)


def test_empty_last_fields_are_not_malformed_rows(write_file: WriteFile) -> None:
    path = write_file("trailing.csv", "close,note\n1,\n2,x\n3,\n")
    assert counts_of(path, 2) == Counts(rows=3, full_windows=2, missing=0, signals=2)


def test_single_column_file_skips_empty_lines(write_file: WriteFile) -> None:
    path = write_file("close.csv", "close\n1\n\n2\n3\n\n")
    assert counts_of(path, 2) == Counts(rows=3, full_windows=2, missing=0, signals=2, blank_lines=2)


@pytest.mark.parametrize("engine", ENGINES)
def test_engines_agree_on_files_with_blank_lines_and_gaps(engine: PolarsEngine) -> None:
    assert counts_of(DATA / "blank_lines.csv", 3, engine) == counts_of(
        DATA / "blank_lines.csv", 3, "streaming"
    )


def test_header_without_rows_is_an_error(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="has a header but no data rows"):
        counts_of(write_file("header.csv", "timestamp,close\n"))


def test_header_and_blank_lines_only_is_an_error(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="has a header but no data rows"):
        counts_of(write_file("header.csv", "timestamp,close\n\n  \n"))


@pytest.mark.parametrize("signals", [False, True])
def test_a_file_of_blank_lines_among_others_counts_its_blank_lines(tmp_path: Path, signals: bool) -> None:
    # Never scanned (see `reading.blank`): its blank lines are counted as if it were, once.
    (tmp_path / "a.csv").write_text("timestamp,close\n1,1\n2,2\n\n")
    (tmp_path / "b.csv").write_text("timestamp,close\n\n \r\n\t\n")
    (tmp_path / "c.csv").write_text("timestamp,close\n3,3\n4,4\n")
    written = tmp_path / "s.parquet" if signals else None
    counts = run(open_input(tmp_path), make_config(2), signals=written).total
    assert counts == Counts(rows=4, full_windows=3, missing=0, signals=3, blank_lines=4)


def test_prices_too_large_for_exact_sums_are_refused(write_file: WriteFile) -> None:
    big = "9" * 20
    path = write_file("big.csv", "close\n" + f"{big}\n" * 3)
    with pytest.raises(InputError, match="too large for an exact sum over 2 rows"):
        counts_of(path, 2)


def test_padded_close_values_past_the_sniffed_lines_are_trimmed(write_file: WriteFile) -> None:
    rows = "".join(f"{i},{i % 7}.5,x\n" for i in range(250))
    for padded in ("251,7.5 ,x\n", "251, 7.5,x\n", '251,"7.5",x\n'):
        path = write_file("late.csv", "a,close,b\n" + rows + padded)
        assert counts_of(path, 2) == counts_of(
            write_file("clean.csv", "a,close,b\n" + rows + "251,7.5,x\n"), 2
        )


def test_padded_close_at_the_edges_past_the_sniffed_lines_is_trimmed(write_file: WriteFile) -> None:
    rows = "".join(f"{i % 7}.5,{i}\n" for i in range(250))
    path = write_file("first.csv", "close,b\n" + rows + "7.5  ,1\n")
    assert counts_of(path, 2).rows == 251
    rows = "".join(f"{i},{i % 7}.5\n" for i in range(250))
    path = write_file("last.csv", "a,close\n" + rows + "1,7.5  \n")
    assert counts_of(path, 2).rows == 251


def test_tab_separated_rows_with_empty_edge_fields_are_rows(write_file: WriteFile) -> None:
    path = write_file("t.tsv", "a\tclose\tb\n1\t2\t3\n1\t2\t\n4\t5\t6\n")
    assert counts_of(path, 2) == Counts(rows=3, full_windows=2, missing=0, signals=1)
    path = write_file("index.tsv", "\tclose\tb\n0\t2\t3\n1\t3\t4\n")
    assert counts_of(path, 2) == Counts(rows=2, full_windows=1, missing=0, signals=1)


def test_whitespace_only_close_cells_count_as_missing(write_file: WriteFile) -> None:
    path = write_file("ws.csv", "a,close\n1, 1.5 \n2,   \n3, 2 \n")
    assert counts_of(path, 1) == Counts(rows=3, full_windows=2, missing=1, signals=0)


def test_parquet_without_rows_says_so(tmp_path: Path) -> None:
    pl.DataFrame({"close": []}, schema={"close": pl.Float64}).write_parquet(tmp_path / "empty.parquet")
    with pytest.raises(InputError, match="has no rows"):
        counts_of(tmp_path / "empty.parquet")


@settings(max_examples=examples(60), deadline=None)
@given(
    st.lists(st.sampled_from(["1.25", "1.25", "1.5", "1.75", "2", None]), min_size=1, max_size=40),
    st.integers(1, 45),
    st.booleans(),
)
def test_counts_from_a_file_match_the_exact_reference(
    closes: list[str | None], window: int, blank_lines: bool
) -> None:
    lines = ["t,close,v"]
    for i, close in enumerate(closes):
        lines.append(f"{i},{close or ''},1")
        if blank_lines and i % 5 == 2:
            lines.append("  ")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.csv"
        path.write_text("\n".join(lines) + "\n")
        expected = sum(reference_signals([None if c is None else Decimal(c) for c in closes], window))
        for engine in ENGINES:
            counts = counts_of(path, window, engine)
            assert (counts.rows, counts.signals, counts.missing) == (
                len(closes),
                expected,
                closes.count(None),
            )


def test_quoted_line_breaks_with_blank_lines_are_refused_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("close,note\n1,x\n2,y\n")
    # Each half of the quoted field has the header's two fields: only the count of rows tells.
    (tmp_path / "b.csv").write_text('close,note\n3,"x\ny,z"\n\n4,z\n')
    with pytest.raises(InputError, match=r"b\.csv has quoted fields that span lines"):
        counts_of(tmp_path)


def signals_of(
    path: Path, window: int, engine: PolarsEngine, out: Path, *, general: bool = False
) -> tuple[Counts, pl.DataFrame]:
    """The counts and the signals file of a run; with `general`, on a route that takes the general path."""
    data, config = open_input(path), make_config(window)
    route = decide(data, config, signals=True)
    if general:
        route = forced(route, signals=Signals.GENERAL)
    counts = run(data, config, signals=out, engine=engine, route=route).total
    return counts, pl.read_parquet(out)


def candles_with_plateaus(write_file: WriteFile, closes: list[str]) -> Path:
    rows = "".join(f"2024-01-01 {i // 60:02}:{i % 60:02}:00,{close},1\n" for i, close in enumerate(closes))
    return write_file("plateaus.csv", "timestamp,close,volume\n" + rows)


@dataclass(frozen=True)
class OnBothPaths:
    """A signals run on the fast path (where it takes it), found equal to the general path's."""

    counts: Counts
    written: pl.DataFrame
    general_path: bool  # whether the fast path left the file to the general path


BothPaths = Callable[[Path, int, PolarsEngine], OnBothPaths]


@pytest.fixture
def both_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BothPaths:
    """Write a file's signals as the job does, then on the general path alone: they must be equal."""
    fast_path = pipeline_module._fast

    def on_both(path: Path, window: int, engine: PolarsEngine) -> OnBothPaths:
        kept: list[bool] = []  # whether each fast path's file was kept

        def fast(*args: Any, **kwargs: Any) -> pl.DataFrame | None:
            counts = fast_path(*args, **kwargs)
            kept.append(counts is not None)
            return counts

        with monkeypatch.context() as patched:
            patched.setattr(pipeline_module, "_fast", fast)
            counts, written = signals_of(path, window, engine, tmp_path / "fast.parquet")
        general_path = kept != [True]
        general_counts, general = signals_of(path, window, engine, tmp_path / "general.parquet", general=True)
        assert general_counts == counts
        assert written.equals(general)  # every column, bit for bit: timestamp, close, rolling_mean, signal
        return OnBothPaths(counts, written, general_path)

    return on_both


PLATEAUS = ["44221.07"] * 7 + ["44221.1", "44221.10", "0.00000001", "0.00000002"] * 3 + ["9999999.99"] * 5


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("extra", "fast"),
    [
        (None, True),
        ("1.0000000001", False),
        ("100000.000000000001", False),
        ("", True),
        ("90000000", False),
    ],
    ids=["8-decimals", "10-decimals", "16-digits", "missing", "sum-past-2-53"],
)
def test_a_signals_file_is_the_same_on_the_fast_path_and_the_general_path(
    write_file: WriteFile, both_paths: BothPaths, engine: PolarsEngine, extra: str | None, fast: bool
) -> None:
    closes = PLATEAUS if extra is None else [*PLATEAUS[:10], extra, *PLATEAUS[10:]]
    done = both_paths(candles_with_plateaus(write_file, closes), 5, engine)
    assert done.general_path is not fast
    expected = reference_signals([Decimal(c) if c else None for c in closes], 5)
    assert done.written["signal"].to_list() == expected
    assert done.counts.signals == sum(expected)


@pytest.mark.parametrize("engine", ENGINES)
def test_large_prices_of_two_decimals_take_the_fast_path_and_write_what_the_general_path_writes(
    write_file: WriteFile, both_paths: BothPaths, engine: PolarsEngine
) -> None:
    # Near 10 million, with a window of 20: each window's sum passes 2**53 units of 10**-8.
    closes = [f"{10_000_000 + (i * 7919) % 5000}.{(i * 31) % 100:02}" for i in range(300)]
    closes[100:140] = ["10001234.50"] * 40  # a plateau: its mean must be its close, bit for bit
    done = both_paths(candles_with_plateaus(write_file, closes), 20, engine)
    assert not done.general_path
    assert done.written["signal"].to_list() == reference_signals([Decimal(c) for c in closes], 20)
    assert done.written["rolling_mean"].to_list()[119:140] == [10001234.5] * 21


@pytest.mark.parametrize("engine", ENGINES)
def test_the_real_file_takes_the_fast_path_and_writes_what_the_general_path_writes(
    shared_data: Path, both_paths: BothPaths, engine: PolarsEngine
) -> None:
    done = both_paths(shared_data / "btcusd_1m_10k_as_shipped.csv", 5, engine)
    assert not done.general_path
    assert (done.counts.rows, done.counts.signals) == (REAL_ROWS, REAL_SIGNALS)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_time_padded_after_unpadded_ones_takes_the_general_path_and_is_read_trimmed(
    write_file: WriteFile, both_paths: BothPaths, engine: PolarsEngine
) -> None:
    # The fast path reads times as written; a padded one is left to the general path, which trims it.
    # (Past the first values, which decide how the times are read.)
    padded = SAMPLE_VALUES + 10
    rows = [
        f"2024-01-01 {minute // 60:02}:{minute % 60:02}:00,{1 + minute % 3}\n"
        for minute in range(padded + 20)
    ]
    rows[padded] = f"  {rows[padded].replace(',', ' ,', 1)}"
    done = both_paths(write_file("padded_later.csv", "timestamp,close\n" + "".join(rows)), 3, engine)
    assert done.general_path
    assert done.written["timestamp"][padded] == datetime(2024, 1, 1, padded // 60, padded % 60)
    assert done.written["timestamp"].null_count() == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:02:00,2\n2024-01-01 00:01:00,3\n", "line 4"),
        ("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,x\n", "line 3"),
        ("timestamp,close\n2024-01-01 00:00:00,1\n2024-13-01 00:01:00,2\n", "line 3"),
        ("timestamp,close\n2024-01-01 00:00:00,1\n,2\n", "line 3"),
    ],
    ids=["out-of-order", "bad-close", "bad-time", "no-time"],
)
def test_a_bad_row_on_the_fast_path_gets_the_general_paths_error(
    write_file: WriteFile, tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        run(open_input(write_file("bad.csv", content)), make_config(2), signals=tmp_path / "s.parquet")


@pytest.mark.parametrize(
    ("values", "dtype"),
    [
        ([44221.07, 44221.07, 44221.1, 44221.05, 44221.07, 44221.07], pl.Float32),
        ([-0.0, 0.0, 1e-20, 2.5, 2.5, 2.5], pl.Float64),
        ([1.25, 1.5, 1.75, 1.5, 1.25, 1.5], pl.Float64),
    ],
    ids=["float32", "signed-zero-and-tiny", "float64"],
)
def test_a_float_close_column_is_written_as_it_is_on_either_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: list[float], dtype: pl.DataType
) -> None:
    path = tmp_path / "floats.parquet"
    pl.DataFrame({"close": values}, schema={"close": dtype}).write_parquet(path)
    counts, written = signals_of(path, 3, "streaming", tmp_path / "fast.parquet")
    general_counts, general = signals_of(path, 3, "streaming", tmp_path / "general.parquet", general=True)
    assert counts == general_counts
    assert written["signal"].to_list() == general["signal"].to_list()
    # Bit for bit: -0.0 and 0.0 compare equal, so compare their bytes.
    assert written["close"].to_numpy().tobytes() == general["close"].to_numpy().tobytes()
    assert written["close"].to_list() == pl.Series(values, dtype=dtype).cast(pl.Float64).to_list()


def test_a_file_with_blank_lines_takes_the_fast_path_straight_to_the_raw_lines_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = counts_of(DATA / "blank_lines.csv", 5)
    general: list[object] = []
    collect_all = pl.collect_all

    def spy(*args: Any, **kwargs: Any) -> Any:
        general.append(args)
        return collect_all(*args, **kwargs)

    monkeypatch.setattr(pl, "collect_all", spy)
    counts, written = signals_of(DATA / "blank_lines.csv", 5, "streaming", tmp_path / "s.parquet")
    assert general == []  # the general plan never ran: one fast pass, then the raw-lines one
    assert counts == expected
    assert written.height == expected.rows
    assert written["signal"].is_in([0, 1]).all()


@pytest.mark.parametrize("engine", ENGINES)
def test_the_fast_path_sees_a_time_out_of_order_across_any_chunk_boundary(
    write_file: WriteFile, tmp_path: Path, engine: PolarsEngine
) -> None:
    times = [f"2024-01-01 00:{minute:02}:00" for minute in range(30)]
    for tie in range(1, 30):  # row `tie` repeats the time before it: out of order
        rows = "".join(f"{times[i - 1] if i == tie else times[i]},{i % 4}\n" for i in range(30))
        path = write_file("tie.csv", "timestamp,close\n" + rows)
        with pl.Config(streaming_chunk_size=3), pytest.raises(InputError, match=f"line {tie + 2}"):
            run(open_input(path), make_config(2), signals=tmp_path / "s.parquet", engine=engine)


# Zero, negative zero, negative, zero written with decimals, a missing close and a blank line.
NONPOSITIVE = ["3", "0", "2.5", "-1.25", "", "0.000", "4", "-0", "5", "1e-30"]


def nonpositive_candles(write_file: WriteFile) -> Path:
    rows = [f"2024-01-01 00:{i:02}:00,{close}\n" for i, close in enumerate(NONPOSITIVE)]
    return write_file("nonpositive.csv", "timestamp,close\n" + "".join(rows[:3]) + "\n" + "".join(rows[3:]))


@pytest.mark.parametrize("engine", ENGINES)
def test_closes_of_zero_or_below_are_counted_exactly_on_every_engine_and_chunk_size(
    write_file: WriteFile, engine: PolarsEngine
) -> None:
    path = nonpositive_candles(write_file)
    # 0, -1.25, 0.000, -0, and 1e-30, a price of 0 at 18 decimals; not the missing close.
    assert counts_of(path, 3, engine).nonpositive == 5
    for size in (1, 3):
        with pl.Config(streaming_chunk_size=size):
            assert counts_of(path, 3, engine).nonpositive == 5


def test_closes_of_zero_or_below_are_counted_alike_on_any_thread_count_and_morsel_size(
    write_file: WriteFile,
) -> None:
    code = (
        "import json, sys; from pathlib import Path; from tests.conftest import counts_of; "
        "c = counts_of(Path(sys.argv[1]), 3); print(json.dumps(c.__dict__))"
    )
    results = under_polars_settings(code, str(nonpositive_candles(write_file)))
    assert [result["nonpositive"] for result in results] == [5, 5, 5]


@pytest.mark.parametrize("engine", ENGINES)
def test_closes_of_zero_or_below_count_the_same_on_the_fast_path_and_the_general_path(
    write_file: WriteFile, both_paths: BothPaths, engine: PolarsEngine
) -> None:
    closes = ["44221.07", "0", "-0.5", "44221.1", "0.00", "-44221.07", "1", "2"]
    done = both_paths(candles_with_plateaus(write_file, closes), 3, engine)
    assert not done.general_path
    assert done.counts.nonpositive == 4


@pytest.mark.parametrize("engine", ENGINES)
def test_a_float_read_as_a_price_of_zero_counts_as_zero_on_either_path(
    tmp_path: Path, engine: PolarsEngine
) -> None:
    path = tmp_path / "floats.parquet"
    pl.DataFrame({"close": [2.5, 1e-20, 3.0, -1e-20, -0.0, 0.5]}).write_parquet(path)
    counts, _ = signals_of(path, 2, engine, tmp_path / "fast.parquet")
    general, _ = signals_of(path, 2, engine, tmp_path / "general.parquet", general=True)
    assert counts.nonpositive == general.nonpositive == counts_of(path, 2, engine).nonpositive == 3


def test_closes_of_zero_or_below_in_many_files_add_up(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    (folder / "a.csv").write_text("timestamp,close\n2024-01-01 00:00:00,0\n2024-01-01 00:01:00,2\n")
    (folder / "b.csv").write_text("timestamp,close\n2024-01-01 00:02:00,-3\n2024-01-01 00:03:00,-4\n")
    assert counts_of(folder, 2).nonpositive == 3


def read_signals(path: Path, kind: FileFormat) -> pl.DataFrame:
    """A signals file as a frame, whatever its format: CSV read back with the Parquet file's types."""
    if kind is FileFormat.PARQUET:
        return pl.read_parquet(path)
    if kind is FileFormat.IPC:
        return pl.read_ipc(path)
    types = {"close": pl.Float64, "rolling_mean": pl.Float64, "signal": pl.Int8}
    return pl.read_csv(path, try_parse_dates=True, schema_overrides=types)


@pytest.mark.parametrize("kind", [FileFormat.CSV, FileFormat.CSV_GZIP, FileFormat.CSV_ZSTD, FileFormat.IPC])
@pytest.mark.parametrize("choice", [Signals.FAST, Signals.GENERAL])
def test_a_signals_file_in_csv_or_arrow_holds_exactly_what_the_parquet_one_holds(
    write_file: WriteFile, tmp_path: Path, kind: FileFormat, choice: Signals
) -> None:
    closes = [*PLATEAUS, "", "0.1", "0.30000000000000004", "12345678.12345678"]
    data, config = open_input(candles_with_plateaus(write_file, closes)), make_config(5)
    route = forced(decide(data, config, signals=True), signals=choice)
    parquet = run(data, config, signals=tmp_path / "s.parquet", route=route)
    other = run(data, config, signals=tmp_path / "s.other", route=route, signals_format=kind)
    assert other == parquet
    assert_frame_equal(read_signals(tmp_path / "s.other", kind), pl.read_parquet(tmp_path / "s.parquet"))
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plateaus.csv", "s.other", "s.parquet"]


def test_a_grouped_run_writes_its_signals_as_csv_with_the_group_column_first(
    write_file: WriteFile, tmp_path: Path
) -> None:
    rows = "".join(
        f"2024-01-01 00:{i // 2:02}:00,{'BTC' if i % 2 else 'ETH'},{100 + i % 7}\n" for i in range(60)
    )
    data, config = (
        open_input(write_file("symbols.csv", "timestamp,symbol,close\n" + rows)),
        make_config(3, "symbol"),
    )
    run(data, config, signals=tmp_path / "s.parquet")
    run(data, config, signals=tmp_path / "s.csv", signals_format=FileFormat.CSV)
    written = read_signals(tmp_path / "s.csv", FileFormat.CSV)
    assert written.columns[0] == "symbol"
    assert_frame_equal(written, pl.read_parquet(tmp_path / "s.parquet"))
