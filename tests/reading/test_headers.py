from __future__ import annotations

import csv

import pytest

from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.headers import MAX_FIELD, close_index, find_header, normal_name


def header(*texts: str, reading: Reading | None = None):  # type: ignore[no-untyped-def]
    return find_header(list(texts), "input file x.csv", reading or Reading())


def test_a_title_line_before_the_header_is_skipped() -> None:
    found = header("https://www.CryptoDataDownload.com", "unix,date,close", "1,2024-01-01,3")
    assert (found.line, found.data_line, found.skipped, found.columns) == (
        1,
        2,
        (0,),
        ("unix", "date", "close"),
    )


def test_data_above_a_line_naming_close_is_not_skipped() -> None:
    with pytest.raises(InputError, match="has no header line naming a 'close' column"):
        header("1,2,3", "a,close,b", "1,2,3")


def test_yfinance_three_header_lines_name_the_date_and_the_tickers() -> None:
    found = header("Price,Close,Close", "Ticker,BTC-USD,ETH-USD", "Date,,", "2024-01-01,1,2")
    assert (found.data_line, found.columns, found.tickers) == (
        3,
        ("Date", "Close", "Close"),
        ("", "BTC-USD", "ETH-USD"),
    )


def test_a_headerless_file_of_epoch_and_ohlc_is_named_by_the_rule() -> None:
    found = header("1704067200,10,12,9,11,5", "1704067260,11,13,10,12,6")
    assert found.line is None
    assert found.columns[:5] == ("timestamp", "open", "high", "low", "close")


def test_a_headerless_file_whose_prices_do_not_behave_is_refused() -> None:
    with pytest.raises(InputError, match="set header: false and close_column"):
        header("1704067200,10,8,9,11,5")  # high below open


def test_metatrader_names_in_angle_brackets_and_investing_price_as_close() -> None:
    assert normal_name(' "<CLOSE>" ') == "close"
    assert close_index(("<DATE>", "<TIME>", "<CLOSE>"), "x", Reading()) == 2
    assert close_index(("Date", "Price", "Open", "High", "Low"), "x", Reading()) == 1


def test_the_config_names_close_by_name_or_position() -> None:
    assert close_index(("a", "Last"), "x", Reading(close_column="last")) == 1
    assert close_index(("a", "b", "c"), "x", Reading(close_column=3)) == 2
    with pytest.raises(InputError, match="has 3 columns, so no column 4"):
        close_index(("a", "b", "c"), "x", Reading(close_column=4))


def test_header_true_takes_the_first_line_even_without_close() -> None:
    found = header("a,b", "1,2", reading=Reading(header=True, close_column=2))
    assert (found.line, found.columns) == (0, ("a", "b"))


def test_yfinance_with_tickers_first_reads_the_same_columns() -> None:
    found = header("Ticker,BTC-USD,BTC-USD", "Price,Close,Open", "Date,,", "2024-01-01,1,2")
    assert (found.line, found.data_line, found.skipped) == (1, 3, ())
    assert (found.columns, found.tickers) == (("Date", "Close", "Open"), ("", "BTC-USD", "BTC-USD"))


def test_close_by_position_takes_the_line_of_names_as_the_header() -> None:
    found = header("timestamp,last", "2024-01-01,1", reading=Reading(close_column=2))
    assert (found.line, found.columns) == (0, ("timestamp", "last"))


@pytest.mark.parametrize("price", ["5", "5.25", "1e5", "1,5E-3", '"5"'])
def test_close_by_position_reads_a_narrow_line_of_text_and_a_price_as_data(price: str) -> None:
    # Two of three fields are text, but the field at the close position is a price.
    found = header(f"BTC,2024-01-01,{price}", f"BTC,2024-01-02,{price}", reading=Reading(close_column=3))
    assert found.line is None


def test_a_wide_header_of_many_short_names_is_read() -> None:
    names = [f"c{i}" for i in range(40_000)]  # a line of 228,890 characters, no name longer than 6
    found = header(",".join([*names, "close"]), ",".join(["1"] * 40_001))
    assert (len(found.columns), found.columns[-1]) == (40_001, "close")


@pytest.mark.parametrize("wrapped", [False, True])
def test_a_header_name_longer_than_the_limit_is_refused_naming_the_line(wrapped: bool) -> None:
    line = "timestamp," + "x" * (MAX_FIELD + 1) + ",close"
    with pytest.raises(InputError, match=r"input file x.csv line 2 has a field longer than 131,072 char"):
        header("https://example.com", f'"{line}"' if wrapped else line, "1,2,3")


def test_a_name_as_long_as_the_limit_is_read() -> None:
    found = header("timestamp," + "x" * MAX_FIELD + ",close", "1,2,3")
    assert len(found.columns[1]) == MAX_FIELD


def test_the_limit_holds_whatever_limit_a_program_gave_the_csv_module() -> None:
    previous = csv.field_size_limit(10 * MAX_FIELD)
    try:
        with pytest.raises(InputError, match=r"line 1 has a field longer than 131,072 characters"):
            header("close," + "x" * (MAX_FIELD + 1), "1,2")
    finally:
        csv.field_size_limit(previous)
