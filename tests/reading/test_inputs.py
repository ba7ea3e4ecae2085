from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from signal_job.computing.pipeline import run
from signal_job.computing.plan import SIGNALS_METADATA
from signal_job.config import Reading
from signal_job.errors import ConfigError, InputError
from signal_job.reading.inputs import check_folder_column, needs_times, open_input
from tests.conftest import DATA, make_config


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_a_single_file_is_one_part_with_no_partition() -> None:
    data = open_input(DATA / "candles.csv")
    assert [part.path for part in data.parts] == [DATA / "candles.csv"]
    assert data.parts[0].partition == {}
    assert data.describe().startswith("29,")


def test_a_folder_takes_its_data_files_and_skips_hidden_and_marker_files(tmp_path: Path) -> None:
    write(tmp_path / "b" / "x.csv", "close\n1\n")
    write(tmp_path / "a.csv", "close\n2\n")
    write(tmp_path / "_SUCCESS", "")
    write(tmp_path / ".hidden.csv", "close\n9\n")
    write(tmp_path / "_tmp" / "y.csv", "close\n9\n")
    write(tmp_path / "README.md", "not data")
    data = open_input(tmp_path)
    assert [Path(str(part.path)).relative_to(tmp_path).as_posix() for part in data.parts] == [
        "a.csv",
        "b/x.csv",
    ]
    assert "2 files (CSV)" in data.describe()


def test_hive_folders_become_columns_for_group_by(tmp_path: Path) -> None:
    frame = pl.DataFrame({"close": [1.0, 2.0, 3.0]})
    for symbol in ("BTC", "ETH"):
        for day in ("2024-01-01", "2024-01-02"):
            folder = tmp_path / f"symbol={symbol}" / f"date={day}"
            folder.mkdir(parents=True)
            frame.write_parquet(folder / "part.parquet")
    data = open_input(tmp_path)
    assert data.parts[0].partition == {"symbol": "BTC", "date": "2024-01-01"}
    assert "symbol" in data.column_names()
    result = run(data, make_config(3, group_by="symbol"))
    # Each symbol is its own series across its two days: 1, 2, 3, 1, 2, 3.
    assert [(name, counts.rows, counts.full_windows) for name, counts in result.groups] == [
        ("BTC", 6, 4),
        ("ETH", 6, 4),
    ]


def test_a_glob_counts_hive_folders_from_its_fixed_part(tmp_path: Path) -> None:
    write(tmp_path / "symbol=BTC" / "a.csv", "close\n1\n")
    data = open_input(tmp_path / "symbol=*" / "*.csv")
    assert data.parts[0].partition == {"symbol": "BTC"}


def test_a_glob_that_matches_nothing_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input pattern .*\*\.csv matches no files"):
        open_input(tmp_path / "*.csv")


def test_a_folder_without_data_files_says_what_it_looked_for(tmp_path: Path) -> None:
    write(tmp_path / "notes.md", "")
    with pytest.raises(InputError, match=r"holds no data files \(looked for \.csv"):
        open_input(tmp_path)


def test_a_bad_file_among_many_is_named_with_its_line(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "close\n1\n2\n")
    write(tmp_path / "b.csv", "close\n1\nabc\n")
    with pytest.raises(InputError, match=r"b\.csv line 3: close value 'abc' is not a number"):
        run(open_input(tmp_path), make_config(2))


def test_blank_lines_in_one_file_of_many_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "close\n1\n2\n")
    write(tmp_path / "b.csv", "close\n3\n\n4\n")
    counts = run(open_input(tmp_path), make_config(2)).total
    assert (counts.rows, counts.blank_lines, counts.signals) == (4, 1, 3)


def test_files_with_and_without_timestamps_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "timestamp,close\n2024-01-01 00:00:00,1\n")
    write(tmp_path / "b.csv", "close\n1\n")
    for signals in (True, False):  # the rows of b.csv could not be put in time order
        with pytest.raises(InputError, match=r"b\.csv has no timestamp column, but .*a\.csv has one"):
            open_input(tmp_path, timestamps=signals)


@pytest.mark.parametrize("reading", [Reading(sort=True), Reading(duplicates="drop")])
def test_files_with_and_without_timestamps_under_a_key_that_needs_times_name_the_key(
    tmp_path: Path, reading: Reading
) -> None:
    write(tmp_path / "a.csv", "timestamp,close\n2024-01-01 00:00:00,1\n")
    write(tmp_path / "b.csv", "close\n1\n")
    write(tmp_path / "c.csv", "close\n1\n")
    key = "sort" if reading.sort else "duplicates"
    with pytest.raises(
        ConfigError, match=rf"config key '{key}' needs times, but input file .*b\.csv has no time"
    ):
        open_input(tmp_path, reading=reading)


def test_timestamp_column_none_under_a_key_that_needs_times_is_named(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "timestamp,close\n2024-01-01 00:00:00,1\n")
    reading = Reading(timestamp_column="none", sort=True)
    error = needs_times(open_input(tmp_path, reading=reading).parts, reading)
    assert error is not None
    assert str(error).endswith(
        "timestamp_column: none reads input file "
        f"{tmp_path / 'a.csv'} without them: sort: true sorts the rows by their times; remove sort: true "
        "from the config, or timestamp_column: none"
    )
    assert needs_times(open_input(tmp_path).parts, Reading(sort=True, duplicates="drop")) is None


def test_times_that_do_not_read_are_refused_unless_the_config_says_to_leave_them(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "timestamp,close\nsoon,1\n")
    write(tmp_path / "b.csv", "timestamp,close\nlater,2\n")
    with pytest.raises(InputError, match=r"holds times like 'soon', which this job does not read"):
        open_input(tmp_path)
    data = open_input(tmp_path, reading=Reading(timestamp_column="none"))
    assert [part.path.name for part in data.parts] == ["a.csv", "b.csv"]
    assert data.order == "path"


def test_a_time_column_that_reads_is_taken_over_one_that_does_not(tmp_path: Path) -> None:
    write(
        tmp_path / "c.csv", "unix,date,close\n1704067260,2024-01-01 11-PM,1\n1704067200,2024-01-01 10-PM,2\n"
    )
    reading = open_input(tmp_path / "c.csv").parts[0].timestamp
    assert reading is not None
    assert (reading.column, reading.descending) == ("unix", True)


def test_files_whose_dates_read_day_or_month_first_are_ordered_when_both_agree(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "timestamp,close\n01/02/2024 00:00,1\n")
    write(tmp_path / "b.csv", "timestamp,close\n01/01/2024 00:00,2\n")
    assert [part.path.name for part in open_input(tmp_path).parts] == ["b.csv", "a.csv"]
    write(tmp_path / "c.csv", "timestamp,close\n03/01/2024 00:00,2\n")  # 3 January or 1 March
    with pytest.raises(
        InputError, match="depends on whether their dates are written day first or month first"
    ):
        open_input(tmp_path)


def test_files_whose_times_are_read_at_once_take_the_spelling_of_the_file_before(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "timestamp,close\n2024-01-20 00:00:00,1\n")
    write(tmp_path / "b.csv", "timestamp,close\n13/01/2024 00:00,2\n")  # day first
    write(tmp_path / "c.csv", "timestamp,close\n01/02/2024 00:00,3\n")  # as b.csv: 1 February
    for name in "defg":  # more files than are read at once
        write(tmp_path / f"{name}.csv", f"timestamp,close\n0{'defg'.index(name) + 2}/02/2024 00:00,4\n")
    data = open_input(tmp_path)
    assert [part.path.name for part in data.parts] == [
        "b.csv",
        "a.csv",
        "c.csv",
        "d.csv",
        "e.csv",
        "f.csv",
        "g.csv",
    ]
    formats = {part.path.name: part.timestamp.format for part in data.parts if part.timestamp}
    assert formats["a.csv"] == "%Y-%m-%d %H:%M:%S"
    assert {formats[name] for name in "bcdefg" for name in [f"{name}.csv"]} == {"%d/%m/%Y %H:%M"}


def test_of_several_files_whose_times_do_not_read_the_first_is_named(tmp_path: Path) -> None:
    for name, time in zip(
        "abcdef", ["2024-01-01", "soon", "2024-01-03", "never", "2024-01-05", "x"], strict=True
    ):
        write(tmp_path / f"{name}.csv", f"timestamp,close\n{time},1\n")
    with pytest.raises(InputError, match=r"b\.csv: column 'timestamp' holds times like 'soon'"):
        open_input(tmp_path)


def test_a_file_whose_name_looks_like_a_pattern_is_a_file(tmp_path: Path) -> None:
    path = write(tmp_path / "candles[2024].csv", "close\n1\n2\n")
    assert [part.path for part in open_input(path).parts] == [path]


def test_signals_files_are_not_read_from_a_folder_or_glob(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "close\n1\n")
    frame = pl.DataFrame({"close": [1.0], "rolling_mean": [None], "signal": [0]})
    frame.write_parquet(tmp_path / "signals.parquet", metadata=SIGNALS_METADATA)
    frame.write_parquet(tmp_path / "b.parquet")  # the same columns, but not the job's: data
    for spec in (tmp_path, tmp_path / "*"):
        assert [part.path.name for part in open_input(spec).parts] == ["a.csv", "b.parquet"]


def test_files_sort_by_the_text_of_their_paths(tmp_path: Path) -> None:
    write(tmp_path / "a" / "x.csv", "close\n1\n")
    write(tmp_path / "a-b" / "x.csv", "close\n1\n")
    assert [Path(str(part.path)).parent.name for part in open_input(tmp_path).parts] == ["a-b", "a"]


def test_group_by_a_missing_column_lists_the_columns(tmp_path: Path) -> None:
    with pytest.raises(
        InputError, match=r"has no column 'symbol' to group by; columns found: 'timestamp', 'open'"
    ):
        run(open_input(DATA / "candles.csv"), make_config(2, group_by="symbol"))


def test_group_by_a_signals_column_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="'group_by' cannot be 'close'"):
        run(open_input(DATA / "candles.csv"), make_config(2, group_by="close"))


def test_group_by_matches_column_names_in_any_case(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "Symbol,close\nA,1\nB,5\nA,2\nB,4\n")
    result = run(open_input(tmp_path / "a.csv"), make_config(2, group_by="SYMBOL"))
    assert [(name, c.signals) for name, c in result.groups] == [("A", 1), ("B", 0)]


def test_rows_without_a_group_value_form_their_own_group(tmp_path: Path) -> None:
    write(tmp_path / "a.csv", "symbol,close\nA,1\n,5\nA,2\n,6\n")
    result = run(open_input(tmp_path / "a.csv"), make_config(2, group_by="symbol"))
    assert [(name, c.rows, c.signals) for name, c in result.groups] == [("A", 2, 1), (None, 2, 1)]


def test_a_hive_folder_and_a_column_of_the_group_that_disagree_are_refused_at_the_first_such_line(
    tmp_path: Path,
) -> None:
    path = write(tmp_path / "Symbol=BTC" / "a.csv", "symbol,close\nBTC,1\n\nBTC ,2\nETH,3\nSOL,4\n")
    with pytest.raises(InputError) as refused:
        check_folder_column(open_input(tmp_path), "symbol")
    assert str(refused.value) == (
        f"input file {path} line 5: column 'symbol' says 'ETH', but the file is in the folder "
        f"{tmp_path / 'Symbol=BTC'}: two sources for one row's group; keep one of them (move the file "
        "out of the folder, or remove the column), or make the column say 'BTC' on every row"
    )


def test_an_empty_group_value_in_a_hive_folder_of_the_group_disagrees(tmp_path: Path) -> None:
    write(tmp_path / "symbol=BTC" / "a.csv", "symbol,close\nBTC,1\n,2\n")
    with pytest.raises(InputError, match=r"a\.csv line 3: column 'symbol' is empty, but the file is in"):
        check_folder_column(open_input(tmp_path), "symbol")


def test_a_column_that_agrees_with_its_hive_folder_is_read_as_before(tmp_path: Path) -> None:
    write(tmp_path / "symbol=BTC" / "a.csv", 'symbol,close\nBTC,1\n"BTC",2\n\n BTC ,3\n')
    pl.DataFrame({"symbol": ["ETH", "ETH"], "close": [1.0, 2.0]}).write_parquet(
        write(tmp_path / "symbol=ETH" / "b.parquet", "")
    )
    data = open_input(tmp_path)
    check_folder_column(data, "symbol")
    result = run(data, make_config(2, group_by="symbol"))
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("BTC", 3, 2),
        ("ETH", 2, 1),
    ]


def test_a_parquet_file_in_a_hive_folder_of_another_group_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path / "symbol=BTC" / "b.parquet", "")
    pl.DataFrame({"symbol": ["BTC", None], "close": [1.0, 2.0]}).write_parquet(path)
    with pytest.raises(InputError, match=r"b\.parquet row 2: column 'symbol' is empty, but the file is in"):
        run(open_input(tmp_path), make_config(2, group_by="symbol"))
