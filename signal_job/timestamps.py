"""The `timestamp` column read as a date-time; its spelling is told once, from the first values.

One explicit format for the whole file, never Polars' per-value guess, so every chunk and engine
reads the same instants. Every file gives the same type, a naive Datetime in microseconds: values
with a zone or offset are turned into UTC, Unix epoch numbers are UTC, other text is kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import polars as pl

from signal_job.errors import InputError, first_line
from signal_job.signals import VALUE_PADDING
from signal_job.sources import Source

# Tried in order on the first values. Whole seconds come before fractions: Polars parses them
# several times faster. A zone (`Z`, `+01:00`) is read, then turned into UTC.
FORMATS = (
    *(
        f"%Y-%m-%d{between}%H:%M:%S{fraction}{zone}"
        for zone in ("", "Z", "%#z")
        for between in (" ", "T")
        for fraction in ("", "%.f")
    ),
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S%.f",
)
# Unix epoch numbers: the unit is told by size (seconds until year 5138, then ms, us, ns).
EpochUnit = Literal["s", "ms", "us", "ns"]
_EPOCH_UNITS: tuple[tuple[int, EpochUnit], ...] = ((10**11, "s"), (10**14, "ms"), (10**17, "us"))
_EPOCH = datetime(1970, 1, 1)
_MICROSECONDS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
SAMPLE_VALUES = 100
TIME_UNIT: Final = "us"
DATETIME = pl.Datetime(TIME_UNIT)


@dataclass(frozen=True)
class TimestampReading:
    """How to read one file's `timestamp` column, and its first value."""

    parsed: pl.Expr  # Datetime, null where the value is missing or unreadable
    present: pl.Expr  # True where the file has a value (so a null `parsed` means unreadable)
    spelling: str  # for the log and messages
    first: datetime | None  # the first value read, to order files


def read_timestamps(source: Source) -> TimestampReading | None:
    """How to read `source`'s `timestamp` column, or None if it has none.

    Reads the file's first values (a small head read, not a scan) to tell the spelling.
    """
    column = source.column("timestamp")
    if column is None:
        return None
    dtype = _dtype(source)
    if isinstance(dtype, pl.Datetime | pl.Date):
        spelling, parsed = "dates", column
        if isinstance(dtype, pl.Datetime):
            zone = dtype.time_zone
            spelling, parsed = (f"date-times in {zone}", _in_utc(column)) if zone else ("date-times", column)
        parsed = parsed.cast(DATETIME)  # a native column has no unreadable values
        return TimestampReading(parsed, pl.lit(value=False), spelling, _first(_sample(source, parsed)))
    if dtype.is_integer():
        return _epoch(column, column.is_not_null(), _sample(source, column))
    if dtype != pl.String:
        msg = f"input file {source.path}: column 'timestamp' holds {dtype}, not date-times"
        raise InputError(msg)
    text = column.str.strip_chars(VALUE_PADDING)
    text = pl.when(text.str.len_bytes() > 0).then(text)
    sample = pl.Series([str(value) for value in _sample(source, text)], dtype=pl.String)
    if sample.len() and sample.str.contains(r"^-?\d+$").all():
        return _epoch(text.cast(pl.Int64, strict=False), text.is_not_null(), sample.cast(pl.Int64).to_list())
    # The spelling that reads the most of the first values (the very first among them): a stray
    # value is then named with its line by the scan, rather than blamed on the whole file.
    best, best_read = (None, 0) if sample.len() else (FORMATS[0], 0)  # no values: any will do
    for spelling in FORMATS:
        read = _parse(pl.lit(sample), spelling).alias("t")
        values = pl.select(read).to_series()
        if values.len() and values[0] is not None and values.count() > best_read:
            best, best_read = spelling, values.count()
    if best is None:
        example = sample[0] if sample.len() else ""
        msg = (
            f"input file {source.path}: timestamp {example!r} is not a date-time this job reads; "
            "write it like 2024-01-01 00:00:00, 2024-01-01T00:00:00Z or as Unix epoch numbers"
        )
        raise InputError(msg)
    first = pl.select(_parse(pl.lit(sample.head(1)), best)).to_series()[0] if sample.len() else None
    return TimestampReading(_parse(text, best), text.is_not_null(), f"text like {best}", first)


def _parse(text: pl.Expr, spelling: str) -> pl.Expr:
    parsed = text.str.to_datetime(spelling, strict=False, time_unit=TIME_UNIT)
    return _in_utc(parsed) if spelling.endswith("%#z") else parsed


def _dtype(source: Source) -> pl.DataType:
    name = source.names.get("timestamp")
    if name is None:
        return pl.String()  # a hive folder `timestamp=...`
    try:
        return source.scan.collect_schema()[name]
    except pl.exceptions.PolarsError as exc:
        msg = f"cannot read input file {source.path}: {first_line(exc)}"
        raise InputError(msg) from exc


def _sample(source: Source, values: pl.Expr) -> list[Any]:
    """The first present values, read from the file's first rows only."""
    try:
        frame = source.frame_with({"t": values}).select("t").drop_nulls().head(SAMPLE_VALUES).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {source.path}: {first_line(exc)}"
        raise InputError(msg) from exc
    return frame["t"].to_list()


def _first(sample: list[Any]) -> datetime | None:
    return sample[0] if sample else None


def _epoch(number: pl.Expr, present: pl.Expr, sample: list[int]) -> TimestampReading:
    largest = max((abs(value) for value in sample), default=0)
    unit: EpochUnit = next((unit for limit, unit in _EPOCH_UNITS if largest < limit), "ns")
    parsed = pl.from_epoch(number, time_unit=unit).cast(DATETIME)
    names = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
    first = _EPOCH + timedelta(microseconds=sample[0] * _MICROSECONDS[unit]) if sample else None
    return TimestampReading(parsed, present, f"Unix epoch {names[unit]}", first)


def _in_utc(zoned: pl.Expr) -> pl.Expr:
    return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
