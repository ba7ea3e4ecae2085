"""Name the line behind a failure (a failed scan, malformed rows, unreadable timestamps) or a warning.

The scan yields one row per line after the header (blank lines included), so row i of the
scan is line `data_line + 1 + i` of the file; these lazy queries name lines that way.
"""

from __future__ import annotations

import decimal
import gzip
from collections.abc import Sequence
from dataclasses import replace

import polars as pl

from signal_job.errors import InputError, first_line
from signal_job.reading.numbers import PRICE, SCALE, VALUE_PADDING
from signal_job.reading.sources import Source, raw_blank, raw_fields, scan_lines
from signal_job.reading.storage import open_bytes

_PREVIEW = 80


def explain_failure(source: Source, exc: BaseException) -> InputError:
    """An `InputError` naming the line (or row) behind a scan that failed with `exc`."""
    try:
        found = _first_culprit(source)
    except (pl.exceptions.PolarsError, OSError):
        found = _nul_error(source)  # the line scan fails on NUL bytes; else report the scan's message
    return found or InputError(f"cannot read input file {source.path}: {first_line(exc)}")


def explain_suspects(source: Source) -> InputError | None:
    """The error behind rows that a scan without blank lines still flagged, if this file has any."""
    if source.layout is None or source.scan is None:  # a file without data rows flags none
        return None
    try:
        unpaired = _unpaired(source)
        if unpaired is not None:
            return unpaired
        bad = _malformed_lines(source).head(1).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        return _nul_error(source) or InputError(f"cannot read input file {source.path}: {first_line(exc)}")
    return _line_error(source, bad.row(0, named=True)) if bad.height else None


def _unpaired(source: Source) -> InputError | None:
    """The error for a file whose rows and lines do not pair up (a quoted field spans lines)."""
    assert source.scan is not None  # noqa: S101 - callers check: a file without data rows has none
    rows, lines = pl.collect_all([source.scan.select(pl.len()), _line_scan(source).select(pl.len())])
    if rows.item() == lines.item():
        return None
    msg = f"input file {source.path} has quoted fields that span lines, which are not supported"
    return InputError(msg)


def explain_timestamps(parts: Sequence[Source], count: int) -> InputError:
    """An `InputError` naming the first of `count` timestamps that do not read like their file's first."""
    for part in parts:
        if part.timestamp is None:
            continue
        raw = part.timestamp.raw
        columns = {
            "bad": part.timestamp.parsed.is_null() & part.timestamp.present,
            "value": raw.cast(pl.String),
        }
        # Rows as the scan numbers them, blank lines included, so `_where` names the line.
        unfiltered = replace(part, drop_blank_lines=False)
        found = unfiltered.frame_with(columns).with_row_index("row").filter("bad").head(1).collect()
        if found.height:
            row, value = found["row"][0], found["value"][0]
            return InputError(
                f"input file {part.path} {where(part, row)}: timestamp {value!r} does not read as "
                f"{part.timestamp.spelling}, as the first ones do ({count} such values in all)"
            )
    return InputError(f"the input has {count} timestamps that do not read as date-times")


def first_nonpositive(parts: Sequence[Source]) -> str | None:
    """Where the first close of 0 or below is, in the files' order (`input file x.csv line 4`); None if none.

    Only once the counts found some: a pass of its own, file by file up to the first such close,
    reading close as the job does (text to 18 decimals). A file that fails to read is passed by.
    """
    for part in parts:
        source = replace(part.with_text_close() or part, drop_blank_lines=False)
        close = pl.col("close")
        if source.close_dtype == pl.String:
            close = close.str.strip_chars(VALUE_PADDING).cast(PRICE, strict=False)
        elif source.close_dtype.is_float():  # as the job reads a float: its shortest decimal
            close = close.cast(pl.String).cast(PRICE, strict=False)
        try:
            found = source.frame_with({}, row_index="row").filter(close <= 0).select("row").head(1).collect()
        except (pl.exceptions.PolarsError, OSError):
            continue
        if found.height:
            return f"input file {part.path} {where(part, int(found['row'][0]))}"
    return None


def _first_culprit(source: Source) -> InputError | None:
    """The error of whichever comes first: a malformed line or a close that is not a number."""
    culprits: list[tuple[int, InputError]] = []
    if source.layout is not None and source.scan is not None:
        unpaired = _unpaired(source)
        if unpaired is not None:
            return unpaired
        bad = _malformed_lines(source).head(1).collect()
        if bad.height:
            row = bad.row(0, named=True)
            culprits.append((row["row"], _line_error(source, row)))
    found = _first_bad_close(source)
    if found is not None:
        row_index, value = found
        at = f"input file {source.path} {where(source, row_index)}"
        culprits.append((row_index, InputError(f"{at}: {_value_problem(value)}")))
    return min(culprits, key=lambda culprit: culprit[0])[1] if culprits else None


def _line_scan(source: Source) -> pl.LazyFrame:
    assert source.layout is not None  # noqa: S101 - callers check: only CSV has lines
    return scan_lines(source.path, skip=source.layout.data_line, eol=source.layout.eol)


def _malformed_lines(source: Source) -> pl.LazyFrame:
    """Lines that are not blank and hold the wrong number of fields, or invalid UTF-8."""
    layout = source.layout
    assert layout is not None  # noqa: S101
    line = pl.col("line")
    fields = raw_fields(line, layout)
    invalid = line.str.contains("\ufffd", literal=True).fill_null(value=False)
    return (
        _line_scan(source)
        .with_row_index("row")
        .with_columns(fields=fields, invalid=invalid)
        .filter(~raw_blank(line, layout) & ((pl.col("fields") != len(layout.columns)) | pl.col("invalid")))
    )


def _line_error(source: Source, row: dict[str, object]) -> InputError:
    at = f"input file {source.path} {where(source, int(str(row['row'])))}"
    if row["invalid"]:
        return InputError(f"{at} is not valid UTF-8 text; save the file as UTF-8")
    assert source.layout is not None  # noqa: S101
    text = str(row["line"]).strip(source.layout.padding)
    preview = text if len(text) <= _PREVIEW else text[:_PREVIEW] + "..."
    columns = len(source.layout.columns)
    problem = f"has {row['fields']} fields but the header has {columns}: {preview!r}"
    if "\r" in text:
        problem += "; a carriage return (CR) inside the line: the file mixes line endings"
    return InputError(f"{at} {problem}")


def _nul_error(source: Source) -> InputError | None:
    """The line of the file's first NUL byte, found by reading its bytes (only to name the line)."""
    if source.layout is None or source.kind not in ("csv", "gzip"):
        return None
    eol = source.layout.eol.encode()
    line = 1
    try:
        with (
            open_bytes(source.path) as raw,
            gzip.GzipFile(fileobj=raw) if source.kind == "gzip" else raw as file,
        ):
            while block := file.read(1 << 20):
                at = block.find(b"\x00")
                if at >= 0:
                    line += block.count(eol, 0, at)
                    msg = (
                        f"input file {source.path} line {line} holds NUL bytes (\\x00): it is not a text line"
                    )
                    return InputError(msg)
                line += block.count(eol)
    except (OSError, EOFError, InputError):
        return None
    return None


def _first_bad_close(source: Source) -> tuple[int, str] | None:
    """The first row whose close is there but is not a number, read as the fast scan reads it."""
    text = pl.col("close").cast(pl.String).str.strip_chars(VALUE_PADDING)
    bad = (
        replace(source.with_text_close() or source, drop_blank_lines=False)
        .frame.with_row_index("row")
        .filter(text.str.len_bytes() > 0, text.cast(PRICE, strict=False).is_null())
        .select("row", pl.col("close").cast(pl.String))
        .head(1)
        .collect()
    )
    if not bad.height:
        return None
    row, value = bad.row(0)
    return int(row), str(value)


def where(source: Source, row: int) -> str:
    """Where row `row` of the scan (blank lines counted) is, for a message: its line, or its row."""
    if source.layout is None:
        return f"row {row + 1}"
    return f"line {source.layout.data_line + 1 + row}"


def _value_problem(value: str) -> str:
    try:
        number = decimal.Decimal(value.strip(VALUE_PADDING))
    except decimal.InvalidOperation:
        return f"close value {value!r} is not a number"
    if not number.is_finite():
        return f"close value {value!r} is not a finite number"
    digits = PRICE.precision - SCALE
    if number.adjusted() + 1 > digits:
        return f"close value {value!r} is too large: prices may have at most {digits} digits before the point"
    return f"close value {value!r} is not a number"
