"""Work out how a CSV file is spelled from its first lines: delimiter, quoting, header, close."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from signal_job.errors import InputError, names_text
from signal_job.signals import VALUE_PADDING

DELIMITERS = (",", ";", "\t", "|")
# Blanks around a whole line: a carriage return and spaces or tabs, unless tabs separate fields.
PADDING = " \t\r"
SAMPLE_LINES = 200


@dataclass(frozen=True)
class CsvLayout:
    """How one CSV file is spelled, enough to scan it with the right options."""

    delimiter: str
    wrapped: bool  # every line is one quoted field holding the whole row (the as-shipped file)
    header_line: int  # 0-based index of the header among the file's lines
    columns: tuple[str, ...]  # header names as written, trimmed
    close_index: int
    close_is_text: bool  # close values carry padding or quotes, so they are trimmed before parsing
    eol: str = "\n"  # "\n" for LF and CRLF, "\r" for bare CR (old Mac tools)
    # The first data rows' fields as the scan reads them: a sample of values that costs no scan.
    sample: tuple[tuple[str, ...], ...] = ()

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
            f"{len(self.columns)} columns",
            f"close is column {self.close_index + 1}",
        ]
        if self.wrapped:
            parts.append("every line wrapped in quotes")
        if self.header_line:
            parts.append(f"header on line {self.header_line + 1}")
        if self.eol == "\r":
            parts.append("lines end in CR")
        return ", ".join(parts)


def line_padding(delimiter: str) -> str:
    """The blanks around a line of a file with this delimiter."""
    return PADDING.replace(delimiter, "")


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


def sniff_csv(lines: list[str | None], *, origin: str, eol: str = "\n") -> CsvLayout:
    """Detect the layout from the first lines of a file (`None` stands for an empty line)."""
    texts = [_decoded(line, number, origin) for number, line in enumerate(lines, start=1)]
    # A header is never blanks alone, whatever the delimiter.
    header_line = next((i for i, text in enumerate(texts) if text.strip(PADDING)), None)
    if header_line is None:
        msg = f"{origin} has no header line: it is blank"
        if len(lines) >= SAMPLE_LINES:
            msg = f"{origin} has no header line in its first {SAMPLE_LINES} lines"
        raise InputError(msg)
    trimmed = texts[header_line].strip(PADDING)
    wrapped = _is_wrapped(trimmed)
    delimiter = _delimiter(trimmed[1:-1] if wrapped else trimmed)
    columns = tuple(
        name.strip(VALUE_PADDING) for name in _fields(texts[header_line], delimiter, wrapped=wrapped)
    )
    close_index = _close_index(columns, origin)
    padding = line_padding(delimiter)
    rows = [text for text in texts[header_line + 1 :] if text.strip(padding)]
    padded = any(_close_is_padded(row, delimiter, close_index, wrapped=wrapped) for row in rows)
    at_edge = close_index in (0, len(columns) - 1)
    return CsvLayout(
        delimiter=delimiter,
        wrapped=wrapped,
        header_line=header_line,
        columns=columns,
        close_index=close_index,
        close_is_text=padded or (wrapped and at_edge),
        eol=eol,
        sample=tuple(tuple(_scan_fields(row, delimiter, wrapped=wrapped)) for row in rows),
    )


def _decoded(line: str | None, number: int, origin: str) -> str:
    text = (line or "").removeprefix("\ufeff")
    if "\ufffd" in text:
        msg = f"{origin} line {number} is not valid UTF-8 text; save the file as UTF-8"
        raise InputError(msg)
    return text


def _is_wrapped(trimmed: str) -> bool:
    inner = trimmed[1:-1]
    return (
        len(trimmed) >= 2  # noqa: PLR2004
        and trimmed[0] == trimmed[-1] == '"'
        and '"' not in inner
        and any(d in inner for d in DELIMITERS)
    )


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier, more common one
    return best if counts[best] else ","


def _fields(line: str, delimiter: str, *, wrapped: bool) -> list[str]:
    """The fields of one line, its padding and (when wrapped) its outer quotes removed."""
    text = line.strip(line_padding(delimiter))
    if wrapped:
        return text[1:-1].split(delimiter) if len(text) >= 2 else [text]  # noqa: PLR2004
    return next(csv.reader([text], delimiter=delimiter), [])


def _scan_fields(line: str, delimiter: str, *, wrapped: bool) -> list[str]:
    """The fields of one line as the scan reads them: quotes kept where they wrap the line."""
    if wrapped:
        return line.split(delimiter)
    return next(csv.reader([line], delimiter=delimiter), [])


def _close_index(columns: tuple[str, ...], origin: str) -> int:
    matches = [i for i, name in enumerate(columns) if name.lower() == "close"]
    if not matches:
        found = names_text(columns)
        msg = f"{origin} has no 'close' column; columns found: {found}"
        raise InputError(msg)
    if len(matches) > 1:
        named = " and ".join(f"{columns[i]!r} (column {i + 1})" for i in matches)
        msg = f"{origin} has {len(matches)} columns that match 'close': {named}; keep one"
        raise InputError(msg)
    return matches[0]


def _close_is_padded(row: str, delimiter: str, close_index: int, *, wrapped: bool) -> bool:
    # The scan sees a plain line whole, padding included; a wrapped line's edge fields keep the
    # outer quotes whatever happens, so only its middle fields are looked at here.
    if wrapped:
        fields = row.strip(line_padding(delimiter)).split(delimiter)
    else:
        fields = next(csv.reader([row.rstrip("\r")], delimiter=delimiter), [])
    if close_index >= len(fields):
        return False
    value = fields[close_index]
    return value != value.strip(VALUE_PADDING)
