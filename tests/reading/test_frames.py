"""A frame as the input (Polars, or pandas through Polars): the same checks and results as a file."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import signal_job
from signal_job.reference import reference_signals
from tests.conftest import PROJECT, REAL_ROWS, REAL_SIGNALS, examples

CONFIG = {"seed": 42, "window": 5, "version": "v1"}
TIMES = [f"2024-01-01 00:0{minute}:00" for minute in range(4)]


@pytest.fixture(scope="module")
def candles() -> pl.DataFrame:
    """The bundled candles as a notebook reads them (the file wraps each line in quotes: unwrapped)."""
    lines = (PROJECT / "data.csv").read_bytes().decode().split("\r\n")
    return pl.read_csv("\n".join(line.strip('"') for line in lines).encode())


def frame_message(frame: pl.DataFrame, config: dict[str, object] | None = None) -> str:
    with pytest.raises(signal_job.InputError) as refused:
        signal_job.run(frame, config=config or CONFIG)
    return str(refused.value)


def file_message(frame: pl.DataFrame, path: Path, config: dict[str, object] | None = None) -> str:
    frame.write_parquet(path)
    with pytest.raises(signal_job.InputError) as refused:
        signal_job.run(path, config=config or CONFIG)
    return str(refused.value).replace(f"input file {path}", "input frame")


@pytest.mark.parametrize("kind", ["polars", "lazy", "pandas"])
def test_a_frame_gives_the_bundled_result_of_the_same_rows_in_a_file(
    candles: pl.DataFrame, kind: str
) -> None:
    frame = {"polars": candles, "lazy": candles.lazy(), "pandas": candles.to_pandas()}[kind]
    result = signal_job.run(frame, config=CONFIG)
    assert (result.rows, result.signals, result.rate) == (REAL_ROWS, REAL_SIGNALS, 0.4989)
    assert result.document["inputs"]["list"][0]["path"] == "input frame"


def test_a_pandas_frame_indexed_by_its_times_is_read_with_them(candles: pl.DataFrame) -> None:
    timed = candles.with_columns(pl.col("timestamp").str.to_datetime()).to_pandas().set_index("timestamp")
    shuffled = timed.iloc[[1, 0, *range(2, len(timed))]]
    with pytest.raises(signal_job.InputError, match=r"^input frame row 2: timestamp '2024-.*' is earlier"):
        signal_job.run(shuffled, config=CONFIG)
    assert signal_job.run(timed, config=CONFIG).signals == REAL_SIGNALS


@pytest.mark.parametrize(
    ("closes", "message"),
    [
        ([1.0, float("nan"), 2.0, 3.0], "input frame row 2: close value 'NaN' is not a finite number"),
        ([1.0, 2.0, float("-inf"), 3.0], "input frame row 3: close value '-inf' is not a finite number"),
        (["1.5", "2", "x", "3"], "input frame row 3: close value 'x' is not a number"),
    ],
)
def test_a_frame_s_bad_close_is_refused_naming_its_row_as_a_file_s_is(
    tmp_path: Path, closes: list[object], message: str
) -> None:
    frame = pl.DataFrame({"timestamp": TIMES, "close": closes}, strict=False)
    assert frame_message(frame) == message
    assert file_message(frame, tmp_path / "same.parquet") == message


def test_a_frame_out_of_time_order_is_refused_unless_the_config_sorts_it(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {"timestamp": [TIMES[1], TIMES[0], TIMES[2], TIMES[3]], "close": [1.0, 2.0, 3.0, 4.0]}
    )
    message = frame_message(frame)
    assert message.startswith("input frame row 2: timestamp '2024-01-01 00:00:00' is earlier than")
    assert file_message(frame, tmp_path / "same.parquet") == message
    sort = {**CONFIG, "window": 2, "sort": True}
    assert (
        signal_job.run(frame, config=sort).signals
        == signal_job.run(tmp_path / "same.parquet", config=sort).signals
    )


def test_a_frame_whose_rows_fail_to_compute_writes_the_error_document(tmp_path: Path) -> None:
    broken = pl.LazyFrame({"close": ["1", "a"]}).select(pl.col("close").str.to_integer())
    output = tmp_path / "metrics.json"
    with pytest.raises(signal_job.InputError, match=r"^cannot read the input frame: strict integer parsing"):
        signal_job.run(broken, config=CONFIG, output=output)
    document = orjson.loads(output.read_bytes())
    assert (document["status"], document["version"]) == ("error", "v1")
    assert document["error_message"].startswith("cannot read the input frame: ")


def test_a_frame_s_groups_are_counted_as_a_file_s(tmp_path: Path) -> None:
    frame = pl.DataFrame(
        {
            "symbol": ["A", "B"] * 4,
            "timestamp": [t for t in TIMES for _ in "AB"],
            "close": [1, 9, 2, 8, 3, 7, 4, 6],
        }
    )
    frame.write_parquet(tmp_path / "same.parquet")
    config = {**CONFIG, "window": 2, "group_by": "symbol"}
    by_frame = signal_job.run(frame, config=config)
    by_file = signal_job.run(tmp_path / "same.parquet", config=config)
    assert (by_frame.rows, by_frame.signals) == (by_file.rows, by_file.signals) == (8, 3)


def test_a_frame_is_staged_under_tmpdir_and_nothing_is_left_there(empty_tmpdir: Path) -> None:
    signal_job.run(pl.DataFrame({"close": [1.0, 2.0, 3.0]}), config=CONFIG)
    with pytest.raises(signal_job.InputError):
        signal_job.run(pl.DataFrame({"close": [1.0, float("nan")]}), config=CONFIG)
    assert list(empty_tmpdir.iterdir()) == []


def test_a_frame_is_not_counted_on_dask_nor_with_a_cache(tmp_path: Path) -> None:
    frame = pl.DataFrame({"close": [1.0, 2.0]})
    for options in ({"engine": "dask"}, {"cache": tmp_path / "cache"}):
        with pytest.raises(ValueError, match=r"^a frame is counted in this process: give it without"):
            signal_job.run(frame, config=CONFIG, **options)
    with pytest.raises(TypeError, match=r"^input must be a path .* not list$"):
        signal_job.run([1.0, 2.0], config=CONFIG)


def test_a_run_of_a_polars_frame_never_imports_pandas() -> None:
    probe = (
        "import sys, polars as pl, signal_job\n"
        "frame = pl.DataFrame({'close': [1.0, 2.0, 3.0]})\n"
        "signal_job.run(frame, config={'seed': 1, 'window': 2, 'version': 'v'})\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True, timeout=120)
    assert done.stdout.decode().split() == ["False"]


def test_latency_covers_computing_a_lazy_frame() -> None:
    def slowly(batch: pl.Series) -> pl.Series:
        time.sleep(0.3)
        return batch

    frame = pl.LazyFrame({"close": [1.0, 2.0, 3.0]}).select(pl.col("close").map_batches(slowly))
    started = time.perf_counter()
    result = signal_job.run(frame, config=CONFIG)
    took_ms = (time.perf_counter() - started) * 1000
    assert 300 <= result.latency_ms <= took_ms + 1


# Prices as a notebook holds them: floats of a few decimals (or their text), some missing, each
# row at its own minute and of one of two symbols; any window, grouped or not.
rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.decimals(min_value=-50, max_value=50, places=2, allow_nan=False)),
        st.sampled_from("AB"),
    ),
    min_size=1,
    max_size=30,
)


@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=rows, window=st.integers(1, 6), as_text=st.booleans(), grouped=st.booleans())
def test_a_random_frame_gives_the_file_run_and_the_reference(
    tmp_path: Path, rows: list[tuple[Decimal | None, str]], window: int, as_text: bool, grouped: bool
) -> None:
    closes = [None if close is None else (str(close) if as_text else float(close)) for close, _ in rows]
    times = [datetime(2024, 1, 1) + timedelta(minutes=index) for index in range(len(rows))]
    frame = pl.DataFrame(
        {"timestamp": times, "symbol": [symbol for _, symbol in rows], "close": closes},
        schema={
            "timestamp": pl.Datetime("us"),
            "symbol": pl.String,
            "close": pl.String if as_text else pl.Float64,
        },
    )
    path = tmp_path / "candles.csv"
    path.write_text(
        "timestamp,symbol,close\n"
        + "".join(
            f"{time:%Y-%m-%d %H:%M:%S},{symbol},{'' if close is None else close}\n"
            for time, (_, symbol), close in zip(times, rows, closes, strict=True)
        )
    )
    config = {**CONFIG, "window": window, **({"group_by": "symbol"} if grouped else {})}
    by_frame = signal_job.run(frame, config=config)
    by_file = signal_job.run(path, config=config)
    assert (by_frame.rows, by_frame.signals, by_frame.groups) == (
        by_file.rows,
        by_file.signals,
        by_file.groups,
    )
    assert_frame_equal(
        signal_job.signals(frame, config=config).collect(), signal_job.signals(path, config=config).collect()
    )
    series = (
        [[close for close, symbol in rows if symbol == each] for each in "AB"]
        if grouped
        else [[c for c, _ in rows]]
    )
    assert by_frame.signals == sum(sum(reference_signals(prices, window)) for prices in series)


def test_explain_of_a_frame_is_the_route_of_its_rows_in_one_parquet_file(
    candles: pl.DataFrame, tmp_path: Path, empty_tmpdir: Path
) -> None:
    text = signal_job.explain(candles, config=CONFIG)
    assert text.startswith("route of a run over input frame (")
    assert "Parquet SCAN [input frame]" in text
    assert str(empty_tmpdir) not in text
    assert list(empty_tmpdir.iterdir()) == []  # the staged frame is gone
    candles.write_parquet(tmp_path / "same.parquet")
    as_file = signal_job.explain(tmp_path / "same.parquet", config=CONFIG)
    same = re.sub(
        r"\([\d,]+ bytes", "(N bytes", as_file.replace(str(tmp_path / "same.parquet"), "input frame")
    )
    assert re.sub(r"\([\d,]+ bytes", "(N bytes", text) == same


def test_an_output_that_can_never_be_written_is_refused_before_the_frame_is_computed(tmp_path: Path) -> None:
    computed: list[int] = []

    def record(batch: pl.Series) -> pl.Series:
        computed.append(len(batch))
        return batch

    frame = pl.LazyFrame({"close": [1.0, 2.0]}).select(
        pl.col("close").map_batches(record, return_dtype=pl.Float64)
    )
    with pytest.raises(signal_job.OutputError, match=r"is a folder"):
        signal_job.run(frame, config=CONFIG, signals=tmp_path)
    assert computed == []
    assert signal_job.run(frame, config=CONFIG).rows == 2
    assert computed == [2]


def test_a_frame_that_cannot_be_staged_ends_in_the_error_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "file"))  # no folder can be made in it
    output = tmp_path / "metrics.json"
    with pytest.raises(signal_job.StagingError, match=r"^cannot write to the temporary folder ") as refused:
        signal_job.run(pl.DataFrame({"close": [1.0]}), config=CONFIG, output=output)
    document = orjson.loads(output.read_bytes())
    assert document == {"version": "v1", "status": "error", "error_message": str(refused.value)}
