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
_PLAIN = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_COMMA_DECIMAL = re.compile(r"^[+-]?\d+,\d+$")
_GROUPED = {
    (",", "."): re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"),  # 44,077.36
    (".", ","): re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"),  # 44.077,36
    (" ", ","): re.compile(r"^[+-]?\d{1,3}( \d{3})+(,\d+)?$"),  # 44 077,36
}


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


def number_format(values: Iterable[str], *, decimal_comma: bool | None = None) -> NumberFormat:
    """The format that reads every value (blanks left out), told from the values themselves.

    `decimal_comma` (the config's key) decides where the values cannot. Raises
    `AmbiguousNumbers` when they cannot and no key is given.
    """
    texts = [text for text in (value.strip(VALUE_PADDING) for value in values) if text]
    if decimal_comma is not None:
        return _told(texts, decimal_comma=decimal_comma)
    if all(_PLAIN.match(text) for text in texts):
        return NumberFormat()
    for (thousands, decimal), pattern in _GROUPED.items():
        grouped = [text for text in texts if pattern.match(text)]
        if grouped and any(decimal in text for text in grouped) and _all_read(texts, pattern, decimal):
            return NumberFormat(decimal, thousands)
    commas = [text for text in texts if not _PLAIN.match(text)]
    if all(_COMMA_DECIMAL.match(text) for text in commas):
        # A comma followed by other than three digits is no thousands separator.
        if any(len(text.split(",")[1]) != 3 for text in commas):  # noqa: PLR2004
            return NumberFormat(",", "")
        raise AmbiguousNumbers(commas[0])
    return _grouped_integers(texts)


def _told(texts: list[str], *, decimal_comma: bool) -> NumberFormat:
    """The format the config's `decimal_comma` says, with any thousands separator the values show."""
    if not decimal_comma:
        return NumberFormat(".", ",") if any("," in text for text in texts) else NumberFormat()
    grouped = any(_GROUPED[(".", ",")].match(text) for text in texts)
    return NumberFormat(",", "." if grouped else "")


def _grouped_integers(texts: list[str]) -> NumberFormat:
    """Whole numbers in groups of three (`44,077,000`): the separator is a thousands separator."""
    for (thousands, decimal), pattern in _GROUPED.items():
        if _all_read(texts, pattern, decimal):
            return NumberFormat(decimal, thousands)
    return NumberFormat()  # not numbers at all: the scan names the first bad value


def _all_read(texts: list[str], pattern: re.Pattern[str], decimal: str) -> bool:
    """Whether every value is grouped by `pattern`, or written without groups with `decimal`."""
    ungrouped = _PLAIN if decimal == "." else _COMMA_DECIMAL
    return all(pattern.match(text) or ungrouped.match(text) or text.lstrip("+-").isdigit() for text in texts)
