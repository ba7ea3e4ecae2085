"""Work out how a CSV file is spelled from its first lines: line ends, delimiter, header, close, numbers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from signal_job.config import Reading
from signal_job.errors import InputError, counted
from signal_job.reading.headers import (
    PADDING,
    Header,
    bounded,
    bounded_fields,
    close_index,
    find_header,
    line_padding,
    split_csv,
)
from signal_job.reading.numbers import VALUE_PADDING, AmbiguousNumbers, NumberFormat, number_format

SAMPLE_LINES = 200


@dataclass(frozen=True)
class CsvLayout:
    """How one CSV file is spelled, enough to scan it with the right options."""

    delimiter: str
    wrapped: bool  # every line is one quoted field holding the whole row (the as-shipped file)
    header_line: int | None  # 0-based index of the header among the file's lines; None: no header
    columns: tuple[str, ...]  # header names as written, trimmed (made up for a file without one)
    close_index: int
    close_is_text: bool  # close values carry padding, quotes or separators: trimmed before parsing
    eol: str = "\n"  # "\n" for LF and CRLF, "\r" for bare CR (old Mac tools)
    # The first data rows' fields as the scan reads them: a sample of values that costs no scan.
    sample: tuple[tuple[str, ...], ...] = ()
    data_line: int = 1  # 0-based index of the first data line
    numbers: NumberFormat = field(default_factory=NumberFormat)
    skipped: tuple[int, ...] = ()  # 0-based lines before the header that are not data
    tickers: tuple[str, ...] = ()  # yfinance: each column's ticker ("" for none)

    @property
    def quote_char(self) -> str | None:
        """The quote character for the scan: none when quotes wrap whole lines."""
        return None if self.wrapped else '"'

    @property
    def padding(self) -> str:
        """The blanks trimmed from each line: never the delimiter itself."""
        return line_padding(self.delimiter)

    def describe(self) -> str:
        """A short human description for the log."""
        name = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[self.delimiter]
        parts = [
            f"{name}-separated",
            counted(len(self.columns), "column"),
            f"close is column {self.close_index + 1}",
        ]
        if self.wrapped:
            parts.append("every line wrapped in quotes")
        if self.header_line is None:
            parts.append("no header")
        elif self.header_line:
            parts.append(f"header on line {self.header_line + 1}")
        if self.data_line > (self.header_line or 0) + 1 and self.header_line is not None:
            parts.append(f"data from line {self.data_line + 1}")
        if not self.numbers.plain:
            parts.append(self.numbers.describe())
        if self.eol == "\r":
            parts.append("lines end in CR")
        return ", ".join(parts)


def line_ending(head: bytes, *, complete: bool) -> str:
    r"""The line ending of a file from its first bytes: "\n" (LF or CRLF) or "\r" (bare CR).

    Raise `ValueError` (saying why, to follow the file's name) for a file that mixes the two.
    """
    body = head if complete else head[:-1]  # the read may have cut a CR from its LF
    bare_cr = _BARE_CR.search(body)
    if bare_cr is None:
        return "\n"
    if b"\n" not in body:
        return "\r"
    line = body.count(b"\n", 0, bare_cr.start()) + 1
    msg = (
        f"mixes line endings: line {line} ends in a bare carriage return (CR) while others end "
        "in LF; save it with one kind of line ending"
    )
    raise ValueError(msg)


_BARE_CR = re.compile(rb"\r(?!\n)")


def sniff_csv(
    lines: list[str | None], *, origin: str, eol: str = "\n", reading: Reading = Reading()
) -> CsvLayout:
    """Detect the layout from the first lines of a file (`None` stands for an empty line)."""
    texts = [_decoded(line, number, origin) for number, line in enumerate(lines, start=1)]
    header = find_header(texts, origin, reading)
    close = close_index(header.columns, origin, reading, several=bool(header.tickers))
    padding = line_padding(header.delimiter)
    rows = [text for text in texts[header.data_line :] if text.strip(padding)]
    with bounded_fields(texts, origin):
        sample = tuple(tuple(_scan_fields(row, header.delimiter, wrapped=header.wrapped)) for row in rows)
    closes = _close_indices(header, close)
    numbers = _numbers(sample, closes, origin, reading, semicolons=header.delimiter == ";")
    padded = any(_close_is_padded(row, header.delimiter, close, wrapped=header.wrapped) for row in rows)
    at_edge = close in (0, len(header.columns) - 1)
    return CsvLayout(
        delimiter=header.delimiter,
        wrapped=header.wrapped,
        header_line=header.line,
        columns=header.columns,
        close_index=close,
        close_is_text=padded or (header.wrapped and at_edge) or not numbers.plain,
        eol=eol,
        sample=sample,
        data_line=header.data_line,
        numbers=numbers,
        skipped=header.skipped,
        tickers=header.tickers,
    )


def ticker_closes(layout: CsvLayout) -> list[tuple[str, int]]:
    """Each ticker of a yfinance file with its close column (none for other files)."""
    if not layout.tickers:
        return []
    name = layout.columns[layout.close_index]
    return [
        (ticker, index)
        for index, (column, ticker) in enumerate(zip(layout.columns, layout.tickers, strict=False))
        if column == name and ticker
    ]


def _close_indices(header: Header, close: int) -> list[int]:
    if not header.tickers:
        return [close]
    name = header.columns[close]
    return [index for index, column in enumerate(header.columns) if column == name] or [close]


def _numbers(
    sample: tuple[tuple[str, ...], ...],
    closes: list[int],
    origin: str,
    reading: Reading,
    *,
    semicolons: bool,
) -> NumberFormat:
    values = [row[index] for row in sample for index in closes if index < len(row)]
    try:
        return number_format(values, decimal_comma=reading.decimal_comma, semicolons=semicolons)
    except AmbiguousNumbers as exc:
        msg = (
            f"{origin}: close values like {exc.args[0]!r} read as well with a decimal comma as with a "
            "thousands separator; set decimal_comma: true or false in the config"
        )
        raise InputError(msg) from None


def _decoded(line: str | None, number: int, origin: str) -> str:
    text = (line or "").removeprefix("\ufeff")
    if "\ufffd" in text:
        msg = f"{origin} line {number} is not valid UTF-8 text; save the file as UTF-8"
        raise InputError(msg)
    return text


def _scan_fields(line: str, delimiter: str, *, wrapped: bool) -> list[str]:
    """The fields of one line as the scan reads them: quotes kept where they wrap the line.

    Raise `FieldTooLong` if one is longer than `MAX_FIELD` characters.
    """
    return bounded(line.split(delimiter), line) if wrapped else split_csv(line, delimiter, line=line)


def _close_is_padded(row: str, delimiter: str, close_index: int, *, wrapped: bool) -> bool:
    # The scan sees a plain line whole, padding included; a wrapped line's edge fields keep the
    # outer quotes whatever happens, so only its middle fields are looked at here.
    if wrapped:
        fields = row.strip(line_padding(delimiter)).split(delimiter)
    else:
        fields = split_csv(row.rstrip("\r"), delimiter, line=row)
    if close_index >= len(fields):
        return False
    value = fields[close_index]
    return value != value.strip(VALUE_PADDING)


__all__ = ["PADDING", "SAMPLE_LINES", "CsvLayout", "line_ending", "sniff_csv", "ticker_closes"]
