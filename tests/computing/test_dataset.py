"""The signals dataset written file by file: read back, it is the local run's signals file, bit for bit."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signal_job.computing.by_file import count_here, run_by_file
from signal_job.computing.dataset import Task, units, write_part
from signal_job.computing.pipeline import PolarsEngine, SignalsNotWritten, run
from signal_job.computing.plan import shape
from signal_job.config import Config
from signal_job.errors import InputError
from signal_job.partial import Piece
from signal_job.reading.inputs import Input, open_input
from tests.computing.test_by_file import Split, candles, days_with_a_file_of_no_rows, split_real_file, splits
from tests.conftest import ENGINES, examples, make_config


def assert_same_bits(local: pl.DataFrame, dataset: pl.DataFrame) -> None:
    """Every column, dtype and value equal; floats compared by their bits (-0.0 is not 0.0)."""
    assert local.schema == dataset.schema
    assert local.equals(dataset)
    for name, dtype in local.schema.items():
        if dtype.is_float():
            assert local[name].to_numpy().tobytes() == dataset[name].to_numpy().tobytes(), name


def local_and_dataset(
    folder: Path, config: Config, out: Path, engine: PolarsEngine = "streaming"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The local run's signals file and the dataset written file by file, for the input at `folder`."""
    out.mkdir()
    data = open_input(folder, timestamps=True)
    local = run(data, config, signals=out / "local.parquet", engine=engine)
    (out / "parts").mkdir()
    assert run_by_file(data, config, why="a test", signals=out / "parts") == local
    return pl.read_parquet(out / "local.parquet"), pl.read_parquet(out / "parts")


prices = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "0.125", "10.5", "3.000", "7.005"]))


@settings(
    max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(splits(prices))
def test_a_dataset_of_files_written_alone_is_the_local_signals_file(
    tmp_path_factory: pytest.TempPathFactory, split: Split
) -> None:
    base = tmp_path_factory.mktemp("split")
    assert_same_bits(
        *local_and_dataset(split.write(base / "series"), make_config(split.window), base / "out")
    )


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("window", [1, 5, 1600, 20_000])
def test_the_real_file_split_into_parts_is_the_local_signals_file(
    tmp_path: Path, engine: PolarsEngine, window: int
) -> None:
    folder = split_real_file(tmp_path)  # files of 3 rows among them: windows span several
    local, dataset = local_and_dataset(folder, make_config(window), tmp_path / "out", engine)
    assert dataset.height == 10_000
    assert_same_bits(local, dataset)


def decimals(path: Path, closes: list[str], start: int) -> None:
    candles(closes, start).with_columns(pl.col("close").cast(pl.Decimal(18, 2))).write_parquet(path)


def test_one_file_off_the_fast_path_puts_the_whole_series_on_the_general_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    # Two-decimal prices, whose means the general path often rounds one ulp off the fast path's.
    closes = [f"{(i * 7919) % 99_991 / 100:.2f}" for i in range(60)]
    decimals(folder / "a.parquet", closes[:30], 0)
    # A window's sum past 2**53 units of 10**-8 is off the fast path.
    decimals(folder / "b.parquet", ["95000000.00", *closes[31:]], 30)
    with caplog.at_level(logging.DEBUG, logger="signal_job"):
        local, dataset = local_and_dataset(folder, make_config(5), tmp_path / "out")
    assert "written again, as the local run writes them" in caplog.text
    assert_same_bits(local, dataset)


def test_a_value_that_fails_the_sniffed_type_reads_every_file_as_text_as_the_local_run_does(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    closes = [str(100 + i % 7) for i in range(600)]
    candles(closes[:300]).write_csv(folder / "a.csv")  # integers: sniffed as such
    later = candles(closes[300:], 300).with_columns(
        close=pl.when(pl.int_range(pl.len()) == 250).then(pl.lit(" 101.25 ")).otherwise("close")
    )
    later.write_csv(folder / "b.csv")  # a padded decimal past the lines sniffing reads
    with caplog.at_level(logging.DEBUG, logger="signal_job"):
        local, dataset = local_and_dataset(folder, make_config(4), tmp_path / "out")
    assert "written again" in caplog.text
    assert_same_bits(local, dataset)


def test_blank_lines_and_a_newest_first_file_give_the_local_rows(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    candles([str(10 + i % 4) for i in range(20)]).write_csv(folder / "a.csv")
    lines = candles([f"{10 + i % 6}.5" for i in range(20)], 20).write_csv().splitlines()
    lines[5:5] = [""]
    lines[9:9] = ["  "]
    (folder / "b.csv").write_text("\n".join(lines) + "\n")
    candles([str(10 + i % 5) for i in range(20)], 40).reverse().write_csv(folder / "c.csv")
    local, dataset = local_and_dataset(folder, make_config(6), tmp_path / "out")
    assert dataset.height == 60
    assert_same_bits(local, dataset)


def test_hive_groups_give_a_part_per_file_in_the_local_order(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    for symbol, closes in (("BTC", ["5", "5", "6", "7", "7", "8"]), ("ETH", ["2", "1", "3", "3"])):
        (tree / f"symbol={symbol}").mkdir(parents=True)
        candles(closes[:3]).write_csv(tree / f"symbol={symbol}" / "1.csv")
        candles(closes[3:], 3).write_csv(tree / f"symbol={symbol}" / "2.csv")
    local, dataset = local_and_dataset(tree, make_config(2, group_by="symbol"), tmp_path / "out")
    assert sorted(path.name for path in (tmp_path / "out" / "parts").iterdir()) == [
        f"part-0000{index}.parquet" for index in range(4)
    ]
    assert dataset.columns[0] == "symbol"
    assert_same_bits(local, dataset)


def test_a_file_of_no_rows_has_no_part(tmp_path: Path) -> None:
    folder = days_with_a_file_of_no_rows(tmp_path)
    local, dataset = local_and_dataset(folder, make_config(2), tmp_path / "out")
    assert len(list((tmp_path / "out" / "parts").iterdir())) == 2
    assert_same_bits(local, dataset)


def test_a_file_that_changes_between_counting_and_writing_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    candles(["1", "2", "3"]).write_csv(folder / "a.csv")
    candles(["4", "5"], 3).write_csv(folder / "b.csv")
    data = open_input(folder, timestamps=True)

    def count_then_grow(files: list[Input], config: Config) -> list[Piece]:
        counted = count_here(files, config)
        candles(["4", "5", "6"], 3).write_csv(folder / "b.csv")
        return counted

    (tmp_path / "parts").mkdir()
    with pytest.raises(InputError, match=r"b\.csv changed while the job read it: 2 rows counted, then 3"):
        run_by_file(data, make_config(2), count=count_then_grow, why="a test", signals=tmp_path / "parts")


def test_units_are_whole_or_refused() -> None:
    assert units(Decimal("1.25"), 2) == 125
    assert (
        units(Decimal("12345678901234567890.123456789012345678"), 18)
        == 12345678901234567890123456789012345678
    )
    with pytest.raises(ValueError, match="not a whole number"):
        units(Decimal("1.255"), 2)


def test_a_part_that_cannot_be_written_is_a_signals_error_not_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "a.parquet"
    candles(["1", "2", "3"]).with_columns(pl.col("close").cast(pl.Decimal(18, 2))).write_parquet(path)
    data = open_input(path, timestamps=True)
    full = tmp_path / "part-00000.parquet"
    full.symlink_to("/dev/full")  # every write fails: No space left on device
    task = Task(data, (), shape(data, make_config(2), timestamps=True), full)
    with pytest.raises(SignalsNotWritten, match="No space left on device"):
        write_part(task, make_config(2))
