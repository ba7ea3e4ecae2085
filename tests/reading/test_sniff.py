from __future__ import annotations

import pytest

from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.headers import MAX_FIELD
from signal_job.reading.sniff import CsvLayout, sniff_csv

HEADER = "timestamp,open,high,low,close,volume_btc,volume_usd"
ROW = "2024-01-01 00:00:00,1.5,2.5,1.0,2.0,3.0,6.0"


def sniff(*lines: str | None) -> CsvLayout:
    return sniff_csv(list(lines), origin="input file x.csv")


def test_clean_header_is_comma_separated_with_close_in_column_five() -> None:
    layout = sniff(HEADER, ROW)
    assert layout == CsvLayout(
        delimiter=",",
        wrapped=False,
        header_line=0,
        columns=tuple(HEADER.split(",")),
        close_index=4,
        close_is_text=False,
        sample=(tuple(ROW.split(",")),),
    )
    assert layout.quote_char == '"'


def test_lines_wrapped_in_quotes_are_detected_and_unquoted() -> None:
    layout = sniff(f'"{HEADER}"', f'"{ROW}"')
    assert layout.wrapped
    assert layout.quote_char is None
    assert layout.columns[0] == "timestamp"
    assert layout.columns[-1] == "volume_usd"
    assert not layout.close_is_text
    assert "wrapped in quotes" in layout.describe()


def test_every_field_quoted_is_ordinary_csv_quoting() -> None:
    layout = sniff('"timestamp","close"', '"2024","1.5"')
    assert not layout.wrapped
    assert layout.columns == ("timestamp", "close")


@pytest.mark.parametrize(("delimiter", "name"), [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_delimiter_is_detected_from_the_header(delimiter: str, name: str) -> None:
    layout = sniff(HEADER.replace(",", delimiter), ROW.replace(",", delimiter))
    assert layout.delimiter == delimiter
    assert layout.describe().startswith(f"{name}-separated")


def test_bom_padding_and_case_in_header_names_are_ignored() -> None:
    layout = sniff("\ufeff  Timestamp , CLOSE , Volume  ", "1,2,3")
    assert layout.columns == ("Timestamp", "CLOSE", "Volume")
    assert layout.close_index == 1


def test_leading_blank_lines_move_the_header_down() -> None:
    layout = sniff(None, "   ", HEADER, ROW)
    assert layout.header_line == 2
    assert "header on line 3" in layout.describe()


def test_padded_close_values_are_read_as_text() -> None:
    assert sniff("close,b", " 1.5 ,2").close_is_text
    assert sniff("a,close", "1,2.5  ").close_is_text


def test_close_at_the_edge_of_wrapped_lines_is_read_as_text() -> None:
    assert sniff('"close,b"', '"1.5,2"').close_is_text
    assert not sniff('"a,close,b"', '"1,1.5,2"').close_is_text


def test_single_column_file_has_no_delimiter_to_find() -> None:
    layout = sniff("close", "1.5")
    assert layout.columns == ("close",)
    assert layout.delimiter == ","


def test_missing_close_column_lists_the_columns_found() -> None:
    with pytest.raises(InputError, match=r"has no 'close' column; columns found: 'a', 'price'"):
        sniff("a,price", "1,2")


def test_two_columns_matching_close_are_refused() -> None:
    with pytest.raises(
        InputError,
        match=r"has 2 columns that match 'close': 'close' \(column 1\) and 'Close' \(column 3\); keep one",
    ):
        sniff("close,b,Close", "1,2,3")


def test_blank_sample_has_no_header() -> None:
    with pytest.raises(InputError, match="has no header line: it is blank"):
        sniff(None, "  ", None)


def test_invalid_utf8_in_the_header_names_the_line() -> None:
    with pytest.raises(InputError, match="line 2 is not valid UTF-8"):
        sniff(None, "time\ufffd,close")


def test_the_sample_holds_the_fields_as_the_scan_reads_them() -> None:
    wrapped = sniff(f'"{HEADER}"', f'"{ROW}"', "")
    assert wrapped.sample == (tuple(f'"{ROW}"'.split(",")),)  # the outer quotes stay, as in the scan
    quoted = sniff("a,close", '"x,y",1')
    assert quoted.sample == (("x,y", "1"),)


def test_a_data_field_longer_than_the_limit_in_the_first_lines_is_refused_naming_its_line() -> None:
    with pytest.raises(InputError, match=r"input file x.csv line 3 has a field longer than 131,072 char"):
        sniff(HEADER, ROW, ROW.replace("6.0", "6" * (MAX_FIELD + 1)))


def test_a_headerless_first_line_with_a_field_longer_than_the_limit_is_refused() -> None:
    reading = Reading(header=False, close_column=2)
    with pytest.raises(InputError, match=r"line 1 has a field longer than 131,072 .*\(the line starts '1,x"):
        sniff_csv(["1," + "x" * (MAX_FIELD + 1) + ",5", "2,y,6"], origin="input file x.csv", reading=reading)
