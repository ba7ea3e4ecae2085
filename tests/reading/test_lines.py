from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from signal_job.errors import InputError
from signal_job.reading.inputs import open_input
from signal_job.reading.lines import first_nonpositive
from tests.conftest import WriteFile, counts_of

HEADER = "timestamp,open,close,volume\n"


def run(path: Path, window: int = 2) -> None:
    counts_of(path, window)


def rows(n: int) -> str:
    return "".join(f"2024-01-01 00:{i:02d},1.0,{i}.5,9\n" for i in range(n))


def test_non_numeric_close_names_the_line_and_value(write_file: WriteFile) -> None:
    path = write_file("bad.csv", HEADER + rows(5) + "2024-01-02,1.0,abc,9\n" + rows(3))
    with pytest.raises(InputError, match=r"bad.csv line 7: close value 'abc' is not a number"):
        run(path)


def test_line_numbers_count_blank_lines_above_the_bad_value(write_file: WriteFile) -> None:
    path = write_file("bad.csv", "\n" + HEADER + "\n" + rows(2) + "  \n" + "x,1,1.2.3,9\n")
    with pytest.raises(InputError, match=r"line 7: close value '1.2.3' is not a number"):
        run(path)


def test_non_numeric_close_in_wrapped_lines_names_the_line(write_file: WriteFile) -> None:
    lines = [f'"{line}"' for line in (HEADER + rows(3) + "x,1,oops,9\n").splitlines()]
    with pytest.raises(InputError, match=r"line 5: close value 'oops' is not a number"):
        run(write_file("shipped.csv", "\r\n".join(lines)))


def test_padded_close_that_is_not_a_number_names_the_line(write_file: WriteFile) -> None:
    path = write_file("padded.csv", "close,b\n 1.5 ,1\n 2x ,1\n")
    with pytest.raises(InputError, match=r"line 3: close value ' 2x ' is not a number"):
        run(path)


@pytest.mark.parametrize("value", ["NaN", "inf", "-Infinity"])
def test_non_finite_close_is_refused(write_file: WriteFile, value: str) -> None:
    path = write_file("nan.csv", HEADER + rows(2) + f"x,1,{value},9\n")
    with pytest.raises(InputError, match=rf"line 4: close value '{value}' is not a finite number"):
        run(path)


def test_close_too_long_for_exact_prices_is_refused(write_file: WriteFile) -> None:
    path = write_file("big.csv", HEADER + rows(1) + "x,1,123456789012345678901.5,9\n")
    with pytest.raises(
        InputError, match=r"line 3: close value .* is too large: prices may have at most 20 digits"
    ):
        run(path)


def test_row_with_fewer_fields_names_the_line(write_file: WriteFile) -> None:
    path = write_file("short.csv", HEADER + rows(4) + "2024-01-02,1.0,3.5\n" + rows(2))
    with pytest.raises(InputError, match=r"line 6 has 3 fields but the header has 4: '2024-01-02,1.0,3.5'"):
        run(path)


def test_row_with_more_fields_names_the_line(write_file: WriteFile) -> None:
    path = write_file("long.csv", HEADER + rows(4) + "2024-01-02,1,000.5,3.5,9\n" + rows(2))
    with pytest.raises(InputError, match=r"line 6 has 5 fields but the header has 4"):
        run(path)


def test_quoted_delimiters_do_not_count_as_fields(write_file: WriteFile) -> None:
    path = write_file("quoted.csv", 'note,close,volume\n"a, b",1.5,\n"c",2.5,\nd,3.5,1\n')
    assert counts_of(path, 2).rows == 3


def test_wrapped_row_with_fewer_fields_names_the_line(write_file: WriteFile) -> None:
    text = '"a,close,b"\r\n"1,2.5,3"\r\n"1,2.5"\r\n"1,3.5,3"'
    with pytest.raises(InputError, match="line 3 has 2 fields but the header has 3"):
        run(write_file("shipped.csv", text))


def test_invalid_utf8_names_the_line(write_file: WriteFile) -> None:
    content = (HEADER + rows(3)).encode() + b"2024-01-02\xff\xfe,1,2.5,9\n" + rows(2).encode()
    with pytest.raises(InputError, match="line 5 is not valid UTF-8 text"):
        run(write_file("latin.csv", content))


def test_invalid_utf8_in_a_compressed_file_names_the_line(tmp_path: Path) -> None:
    content = (HEADER + rows(3)).encode() + b"2024-01-02,1,2.5,9\xe9\n"
    path = tmp_path / "latin.csv.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(InputError, match="line 5 is not valid UTF-8 text"):
        run(path)


def test_non_numeric_close_in_parquet_names_the_row(tmp_path: Path) -> None:
    pl.DataFrame({"close": [1.0, 2.0, float("nan")]}).write_parquet(tmp_path / "nan.parquet")
    with pytest.raises(InputError, match=r"row 3: close value 'NaN' is not a finite number"):
        run(tmp_path / "nan.parquet")


def test_text_close_in_parquet_that_is_not_a_number_names_the_row(tmp_path: Path) -> None:
    pl.DataFrame({"close": ["1.5", "x"]}).write_parquet(tmp_path / "text.parquet")
    with pytest.raises(InputError, match=r"row 2: close value 'x' is not a number"):
        run(tmp_path / "text.parquet")


def test_quoted_data_line_in_a_plain_file_is_a_malformed_row(write_file: WriteFile) -> None:
    path = write_file("q.csv", 'a,close,b\n1,1,x\n"2,2,y"\n3,3,z\n')
    with pytest.raises(InputError, match="line 3 has 1 fields but the header has 3"):
        run(path)


def test_the_earlier_of_a_bad_value_and_a_bad_row_is_reported(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match=r"line 2: close value 'abc' is not a number"):
        run(write_file("two.csv", "a,close,b\n1,abc,x\n1,2\n"))
    with pytest.raises(InputError, match="line 2 has 2 fields"):
        run(write_file("two.csv", "a,close,b\n1,2\n1,abc,x\n"))


def test_number_spellings_polars_does_not_read_are_not_numbers(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match=r"close value '1_000' is not a number$"):
        run(write_file("u.csv", "a,close\n1,1_000\n"))


@pytest.mark.parametrize("tail", [b"\x00" * 20 + b"\n", b"x,1,\x00,2\n", b"\x00" * 3000])
def test_nul_bytes_name_their_line(write_file: WriteFile, tail: bytes) -> None:
    path = write_file("nul.csv", (HEADER + rows(100) + "\n").encode() + tail)  # past the sniffed bytes
    with pytest.raises(InputError, match=r"nul\.csv line 103 holds NUL bytes"):
        run(path)


def test_nul_bytes_in_a_gzip_file_name_their_line(tmp_path: Path) -> None:
    path = tmp_path / "nul.csv.gz"
    path.write_bytes(gzip.compress((HEADER + rows(100)).encode() + b"\x00\x00\n"))
    with pytest.raises(InputError, match=r"nul\.csv\.gz line 102 holds NUL bytes"):
        run(path)


def test_a_stray_carriage_return_deep_in_the_file_is_named(write_file: WriteFile) -> None:
    # Past the first 64 KiB, which are all that sniffing reads.
    stray = "2024-01-02 00:00,1.0,2.5,9\r2024-01-02 00:01,1.0,2.5,9\n"
    path = write_file("cr.csv", HEADER + rows(3000) + stray)
    with pytest.raises(
        InputError, match=r"line 3002 has 7 fields but the header has 4: .*carriage return \(CR\)"
    ):
        run(path)


def test_a_row_of_empty_fields_is_a_row_with_a_missing_close_not_a_blank_line(write_file: WriteFile) -> None:
    header = HEADER.replace("timestamp", "label")  # a row without a time could not be put in order
    counts = counts_of(write_file("gaps.csv", header + rows(3) + ",,,\n\n" + rows(2)), 2)
    assert (counts.rows, counts.missing, counts.blank_lines) == (6, 1, 1)


def test_the_first_close_of_zero_or_below_is_named_by_its_line_blank_lines_counted(
    write_file: WriteFile,
) -> None:
    path = write_file("prices.csv", "\n" + HEADER + rows(2) + "\n  \n" + "x,1, -0.001 ,9\n" + "y,1,0,9\n")
    assert first_nonpositive(open_input(path).parts) == f"input file {path} line 7"


def test_a_close_of_zero_past_18_decimals_is_zero_and_one_just_above_is_not(write_file: WriteFile) -> None:
    path = write_file("tiny.csv", "close\n0.000000000000000001\n0.0000000000000000001\n")
    assert first_nonpositive(open_input(path).parts) == f"input file {path} line 3"


def test_the_first_close_of_zero_or_below_is_found_in_the_files_order(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("close\n1\n2\n")
    pl.DataFrame({"close": [3.5, 2.0, -0.0, -1.0]}).write_parquet(tmp_path / "b.parquet")
    assert first_nonpositive(open_input(tmp_path).parts) == f"input file {tmp_path / 'b.parquet'} row 3"


def test_no_close_of_zero_or_below_is_named_none(write_file: WriteFile) -> None:
    path = write_file("fine.csv", HEADER + rows(3) + "2024-01-02,1.0,,9\n")
    assert first_nonpositive(open_input(path).parts) is None
