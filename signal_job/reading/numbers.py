"""How a file writes its numbers: the decimal mark and any thousands separator, told from values.

`44,077.36` (Investing.com), `44910,83` and `44.910,83` (European spreadsheets) are read exactly:
the separators are removed as text before the value becomes a decimal, never through a float.
A file whose values could be either (`1,234`: one comma, three digits after it) is ambiguous:
the config's `decimal_comma` settles it; the job never guesses.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

SCALE = 18
# The exact type of every price read: up to 18 decimals and 20 integer digits.
PRICE = pl.Decimal(38, SCALE)
# Trimmed around a value read as text: blanks and the quotes of the as-shipped spelling.
VALUE_PADDING = ' \t\r"'


@dataclass(frozen=True)
class NumberFormat:
    """A file's decimal mark and thousands separator ("" for none)."""

    decimal: str = "."
    thousands: str = ""

    @property
    def plain(self) -> bool:
        """Whether numbers are written as Polars reads them: a point, no grouping."""
        return self.decimal == "." and not self.thousands

    def describe(self) -> str:
        """For the log, e.g. "decimal comma, thousands separated by '.'"."""
        mark = "decimal comma" if self.decimal == "," else "decimal point"
        return f"{mark}, thousands separated by {self.thousands!r}" if self.thousands else mark

    def normalized(self, text: pl.Expr) -> pl.Expr:
        """`text` written with a point and no grouping, so it casts to a decimal exactly."""
        if self.thousands:
            text = text.str.replace_all(self.thousands, "", literal=True)
        if self.decimal == ",":
            text = text.str.replace(",", ".", literal=True)
        return text

    def reads(self, text: str) -> bool:
        """Whether `text` (trimmed) is a number in this format."""
        decimal, thousands = re.escape(self.decimal), re.escape(self.thousands)
        exponent = r"([eE][+-]?\d+)?" if self.decimal == "." else ""
        plain = rf"[+-]?(\d+({decimal}\d*)?|{decimal}\d+){exponent}"
        # A leading group is never 0: `0.123` is no thousands-grouped 123.
        grouped = rf"[+-]?[1-9]\d{{0,2}}({thousands}\d{{3}})+({decimal}\d+)?" if self.thousands else None
        return bool(re.fullmatch(plain, text) or (grouped and re.fullmatch(grouped, text)))

    def parse(self, value: str) -> Decimal | None:
        """One value as a decimal, or None if it is not a number in this format."""
        text = value.strip(VALUE_PADDING)
        if self.thousands:
            text = text.replace(self.thousands, "")
        if self.decimal == ",":
            text = text.replace(",", ".", 1)
        try:
            number = Decimal(text)
        except InvalidOperation:
            return None
        return number if number.is_finite() else None


class AmbiguousNumbers(ValueError):
    """The values read as well with a decimal comma as with a thousands separator."""


# Every format a price may be written in, simplest first.
FORMATS = tuple(
    NumberFormat(decimal, thousands)
    for decimal, separators in ((".", ("", ",", " ")), (",", ("", ".", " ")))
    for thousands in separators
)


def number_format(
    values: Iterable[str], *, decimal_comma: bool | None = None, semicolons: bool = False
) -> NumberFormat:
    """The format that reads every value (blanks left out), told from the values themselves.

    Decimal commas are considered where some value has a comma, or fields are separated by `;`
    (as spreadsheets with decimal commas write them): elsewhere `1.001` is one and a thousandth.
    Where two formats read every value but give different numbers (`1,250`; `1.001` in a file
    with semicolons), the values are ambiguous: `decimal_comma` (the config's key) decides,
    else `AmbiguousNumbers` is raised.
    """
    texts = [text for text in (value.strip(VALUE_PADDING) for value in values) if text]
    formats = [f for f in FORMATS if decimal_comma is None or (f.decimal == ",") is decimal_comma]
    if decimal_comma is None and not semicolons and not any("," in text for text in texts):
        formats = [f for f in formats if f.decimal == "."]
    readers = [f for f in formats if all(f.reads(text) for text in texts)]
    if not readers:
        return formats[0]  # not numbers: the scan names the first bad value
    first = readers[0]
    for other in readers[1:]:
        for text in texts:
            if first.parse(text) != other.parse(text):
                raise AmbiguousNumbers(text)
    return first
