from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest

from signal_job.reading.numbers import AmbiguousNumbers, NumberFormat, number_format


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["44077.36", "1e3", "", "-0.5"], NumberFormat()),
        (["44,077.36", "999.50"], NumberFormat(".", ",")),  # Investing.com
        (["44910,83", "44921,5"], NumberFormat(",", "")),  # a European spreadsheet
        (["44.910,83", "910,5"], NumberFormat(",", ".")),
        (["44 910,83"], NumberFormat(",", " ")),
        (["44,077,000", "12"], NumberFormat(".", ",")),  # whole numbers in groups of three
    ],
)
def test_the_format_is_told_from_the_values(values: list[str], expected: NumberFormat) -> None:
    assert number_format(values) == expected


def test_values_that_read_either_way_are_ambiguous_unless_the_config_says() -> None:
    with pytest.raises(AmbiguousNumbers):
        number_format(["1,250", "1,500"])
    assert number_format(["1,250"], decimal_comma=True) == NumberFormat(",", "")
    assert number_format(["1,250"], decimal_comma=False) == NumberFormat(".", ",")
    assert number_format(["1.250,5"], decimal_comma=True) == NumberFormat(",", ".")


@pytest.mark.parametrize(
    ("number_format_", "text", "value"),
    [
        (NumberFormat(".", ","), "44,077.36", "44077.36"),
        (NumberFormat(",", "."), "1.234.567,891234567", "1234567.891234567"),
        (NumberFormat(",", ""), "0,000000001", "0.000000001"),
    ],
)
def test_separators_are_removed_as_text_so_values_stay_exact(
    number_format_: NumberFormat, text: str, value: str
) -> None:
    normalized = pl.select(number_format_.normalized(pl.lit(text)).cast(pl.Decimal(38, 18))).item()
    assert normalized == Decimal(value)
    assert number_format_.parse(text) == Decimal(value)


def test_a_dot_with_three_digits_is_ambiguous_where_fields_are_separated_by_semicolons() -> None:
    with pytest.raises(AmbiguousNumbers):
        number_format(["998", "1.001"], semicolons=True)
    assert number_format(["998", "1.001"]) == NumberFormat()  # elsewhere a decimal point
    assert number_format(["145.123"]) == NumberFormat()  # MetaTrader's JPY pairs, tab-separated


@pytest.mark.parametrize("values", [["0.123", "0.456"], ["-0.123"], ["0.5", "1.234"]])
def test_a_dot_after_a_leading_zero_is_a_decimal_point_even_where_fields_are_separated_by_semicolons(
    values: list[str],
) -> None:
    assert number_format(values, semicolons=True) == NumberFormat()
    assert number_format(["0,123"]) == NumberFormat(",", "")  # nor is a comma after a zero a grouping


def test_a_decimal_comma_file_reads_a_dot_as_thousands() -> None:
    assert number_format(["0,5", "1.234"]) == NumberFormat(",", ".")
