"""The `timestamp` column read as a date-time; its spelling is told once, from the first values.

One explicit format for the whole file, never Polars' per-value guess, so every chunk and engine
reads the same instants. Every file gives the same type, a naive Datetime in microseconds: values
with a zone or offset are turned into UTC, Unix epoch numbers are UTC, other text is kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass
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
SAMPLE_VALUES = 100
TIME_UNIT: Final = "us"
DATETIME = pl.Datetime(TIME_UNIT)


@dataclass(frozen=True)
class TimestampReading:
    """How to read one file's `timestamp` column."""

    parsed: pl.Expr  # Datetime, null where the value is missing or unreadable
    unreadable: pl.Expr  # True where a value is there but does not read with this spelling
    spelling: str  # for the log and messages


def read_timestamps(source: Source) -> TimestampReading | None:
    """How to read `source`'s `timestamp` column, or None if it has none."""
    column = source.column("timestamp")
    if column is None:
        return None
    dtype = _dtype(source)
    if isinstance(dtype, pl.Datetime):
        parsed = _in_utc(column) if dtype.time_zone else column
        spelling = f"date-times in {dtype.time_zone}" if dtype.time_zone else "date-times"
        return TimestampReading(parsed.cast(DATETIME), pl.lit(value=False), spelling)
    if dtype == pl.Date:
        return TimestampReading(column.cast(DATETIME), pl.lit(value=False), "dates")
    if dtype.is_integer():
        return _epoch(source, column, column)
    if dtype != pl.String:
        msg = f"input file {source.path}: column 'timestamp' holds {dtype}, not date-times"
        raise InputError(msg)
    text = column.str.strip_chars(VALUE_PADDING)
    text = pl.when(text.str.len_bytes() > 0).then(text)
    sample = [str(value) for value in _sample(source, text)]
    if sample and all(value.lstrip("-").isdigit() for value in sample):
        return _epoch(source, text.cast(pl.Int64, strict=False), text, sample=[int(v) for v in sample])
    for spelling in FORMATS:
        values = pl.Series(sample, dtype=pl.String)
        if values.str.to_datetime(spelling, strict=False, time_unit=TIME_UNIT).null_count() == 0:
            parsed = text.str.to_datetime(spelling, strict=False, time_unit=TIME_UNIT)
            if spelling.endswith("%#z"):
                parsed = _in_utc(parsed)
            return TimestampReading(parsed, parsed.is_null() & text.is_not_null(), f"text like {spelling}")
    example = sample[0] if sample else ""
    msg = (
        f"input file {source.path}: timestamp {example!r} is not a date-time this job reads; "
        "write it like 2024-01-01 00:00:00, 2024-01-01T00:00:00Z or as Unix epoch numbers"
    )
    raise InputError(msg)


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


def _epoch(
    source: Source, number: pl.Expr, raw: pl.Expr, *, sample: list[int] | None = None
) -> TimestampReading:
    if sample is None:
        sample = _sample(source, number)
    largest = max((abs(value) for value in sample), default=0)
    unit: EpochUnit = next((unit for limit, unit in _EPOCH_UNITS if largest < limit), "ns")
    parsed = pl.from_epoch(number, time_unit=unit).cast(DATETIME)
    names = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
    return TimestampReading(parsed, number.is_null() & raw.is_not_null(), f"Unix epoch {names[unit]}")


def _in_utc(zoned: pl.Expr) -> pl.Expr:
    return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
