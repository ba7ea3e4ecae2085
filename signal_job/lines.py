"""Look at a file line by line: only when the fast scan failed, flagged rows or unreadable timestamps.

The scan yields one row per line after the header (blank lines included), so row i of the
scan is line `header_line + 2 + i` of the file; these lazy queries name lines that way.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from signal_job.errors import InputError, first_line
from signal_job.signals import PRICE, SCALE, VALUE_PADDING
from signal_job.sources import Source, scan_lines

_PREVIEW = 80


@dataclass(frozen=True)
class LineReport:
    """What the line check found in a file with no malformed lines."""

    rows: int  # lines after the header
    blank_rows: pl.Series  # 0-based scan rows that are blank or whitespace-only lines


def check_lines(source: Source) -> LineReport:
    """Raise `InputError` for the first malformed line; otherwise report the blank lines."""
    flagged, count = pl.collect_all([_flagged_lines(source), _line_scan(source).select(pl.len())])
    bad = flagged.filter(pl.col("bad") | pl.col("invalid"))
    if bad.height:
        raise _line_error(source, bad.row(0, named=True))
    blank = flagged.filter(pl.col("blank"))["row"]
    return LineReport(rows=count.item(), blank_rows=blank)


def explain_failure(source: Source, exc: BaseException) -> InputError:
    """An `InputError` naming the line (or row) behind a scan that failed with `exc`."""
    try:
        found = _first_culprit(source)
    except (pl.exceptions.PolarsError, OSError):
        found = None  # the diagnosis failed the same way: report the scan's own message
    return found or InputError(f"cannot read input file {source.path}: {first_line(exc)}")


def explain_timestamps(parts: Sequence[Source], count: int) -> InputError:
    """An `InputError` naming the first of `count` timestamps that do not read like their file's first."""
    for part in parts:
        raw = part.column("timestamp")
        if part.timestamp is None or raw is None:
            continue
        columns = {
            "bad": part.timestamp.parsed.is_null() & part.timestamp.present,
            "value": raw.cast(pl.String),
        }
        # Rows as the scan numbers them, blank lines included, so `_where` names the line.
        unfiltered = replace(part, skipped_rows=None)
        found = unfiltered.frame_with(columns).with_row_index("row").filter("bad").head(1).collect()
        if found.height:
            row, value = found["row"][0], found["value"][0]
            return InputError(
                f"input file {part.path} {_where(part, row)}: timestamp {value!r} does not read as "
                f"{part.timestamp.spelling} like the first ones ({count} such values in all)"
            )
    return InputError(f"the input has {count} timestamps that do not read as date-times")


def _first_culprit(source: Source) -> InputError | None:
    """The error of whichever comes first: a malformed line or a close that is not a number."""
    culprits: list[tuple[int, InputError]] = []
    if source.layout is not None:
        bad = _flagged_lines(source).filter(pl.col("bad") | pl.col("invalid")).head(1).collect()
        if bad.height:
            row = bad.row(0, named=True)
            culprits.append((row["row"], _line_error(source, row)))
    found = _first_bad_close(source)
    if found is not None:
        row_index, value = found
        where = f"input file {source.path} {_where(source, row_index)}"
        culprits.append((row_index, InputError(f"{where}: {_value_problem(value)}")))
    return min(culprits, key=lambda culprit: culprit[0])[1] if culprits else None


def _line_scan(source: Source) -> pl.LazyFrame:
    assert source.layout is not None  # noqa: S101 - callers check: only CSV has lines
    return scan_lines(source.path, skip=source.layout.header_line + 1)


def _flagged_lines(source: Source) -> pl.LazyFrame:
    layout = source.layout
    assert layout is not None  # noqa: S101
    trimmed = pl.col("line").str.strip_chars(layout.padding)
    if layout.wrapped:
        text = trimmed.str.strip_chars('"')
        blank = text.is_null() | (text.str.len_bytes() == 0)
    else:
        blank = trimmed.is_null() | (trimmed.str.len_bytes() == 0)
        # Delimiters inside quoted fields do not separate fields.
        text = trimmed.str.replace_all(r'"[^"]*"', "")
    fields = text.str.count_matches(layout.delimiter, literal=True) + 1
    return (
        _line_scan(source)
        .with_row_index("row")
        .with_columns(
            blank=blank,
            fields=fields,
            bad=~blank & (fields != len(layout.columns)),
            invalid=pl.col("line").str.contains("\ufffd", literal=True).fill_null(value=False),
        )
        .filter(pl.col("blank") | pl.col("bad") | pl.col("invalid"))
    )


def _line_error(source: Source, row: dict[str, object]) -> InputError:
    where = f"input file {source.path} {_where(source, int(str(row['row'])))}"
    if row["invalid"]:
        return InputError(f"{where} is not valid UTF-8 text; save the file as UTF-8")
    assert source.layout is not None  # noqa: S101
    text = str(row["line"]).strip(source.layout.padding)
    preview = text if len(text) <= _PREVIEW else text[:_PREVIEW] + "..."
    columns = len(source.layout.columns)
    return InputError(f"{where} has {row['fields']} fields but the header has {columns}: {preview!r}")


def _first_bad_close(source: Source) -> tuple[int, str] | None:
    """The first row whose close is there but is not a number, read as the fast scan reads it."""
    text = pl.col("close").cast(pl.String).str.strip_chars(VALUE_PADDING)
    bad = (
        (source.with_text_close() or source)
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


def _where(source: Source, row: int) -> str:
    if source.layout is None:
        return f"row {row + 1}"
    return f"line {source.layout.header_line + 2 + row}"


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
