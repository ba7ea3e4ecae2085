"""A file's time column: its spelling told once from the first values, parsed, and a cheap order key.

One explicit format for the whole file, never Polars' per-value guess, so every chunk and engine
reads the same instants. Parsed times are a naive Datetime in microseconds: values with a zone
or offset are turned into UTC, Unix epoch numbers are UTC, other text is kept as written.

Checking time order must not parse every value (that would cost a fifth of a plain run), so each
file also gets an order key: the text itself where it sorts as time (`2024-01-01 00:00:00`, all
of one width), else an integer count of nanoseconds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final, Literal

import polars as pl

from signal_job.config import Reading
from signal_job.errors import InputError, first_line, shorten
from signal_job.reading.numbers import VALUE_PADDING
from signal_job.reading.sources import Source

log = logging.getLogger(__name__)

# The time column's usual names, most telling first; `date` and `time` side by side make one.
TIME_NAMES = (
    "timestamp",
    "datetime",
    "date_time",
    "date",
    "time",
    "open_time",
    "open time",
    "unix",
    "gmt time",
)
_ISO = tuple(
    f"%Y-%m-%d{between}%H:%M:%S{fraction}{zone}"
    for zone in ("", "Z", "%#z")
    for between in (" ", "T")
    for fraction in ("", "%.f")
)
_YEAR_FIRST = (
    *_ISO,
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",  # MetaTrader
    "%Y.%m.%d %H:%M",
    "%Y.%m.%d",
)
# Day or month first: the values decide (a first field over 12 is a day), else `timestamp_format`.
_DAY_FIRST = tuple(
    f"%d{sep}%m{sep}%Y{time}" for sep in ("/", "-", ".") for time in (" %H:%M:%S", " %H:%M", "")
)
_MONTH_FIRST = tuple(fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m") for fmt in _DAY_FIRST)
FORMATS = _YEAR_FIRST + _DAY_FIRST + _MONTH_FIRST
# Unix epoch numbers: the unit is told by size (seconds until year 5138, then ms, us, ns).
EpochUnit = Literal["s", "ms", "us", "ns"]
_EPOCH_UNITS: tuple[tuple[int, EpochUnit], ...] = ((10**11, "s"), (10**14, "ms"), (10**17, "us"))
_EPOCH = datetime(1970, 1, 1)
_MICROSECONDS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
_NANOSECONDS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
SAMPLE_VALUES = 100
# Where the first values leave day and month undecided, this many more are read to decide.
DECIDING_VALUES = 200_000
TIME_UNIT: Final = "us"
DATETIME = pl.Datetime(TIME_UNIT)


@dataclass(frozen=True)
class TimestampReading:
    """How to read one file's times, and how they run."""

    parsed: pl.Expr  # Datetime, null where the value is missing or unreadable
    present: pl.Expr  # True where the file has a value (so a null `parsed` means unreadable)
    spelling: str  # for the log and messages
    first: datetime | None  # the first value read, to order files
    firsts: tuple[datetime | None, ...]  # the first value in each spelling still possible
    keys: tuple[pl.Expr, ...]  # sort as time: String of one `width`, or Int64 nanoseconds
    width: int | None  # the width of text keys; None for integer keys
    descending: bool  # the first values run newest first
    column: str  # the time column's name(s), for messages
    raw: pl.Expr  # the value as written, for messages
    written: pl.Expr | None = None  # the trimmed text, where the signals file keeps it as text

    @property
    def for_signals(self) -> pl.Expr:
        """The time as the signals file holds it: parsed, or as text where the spelling is undecided."""
        return self.written if self.written is not None else self.parsed

    @property
    def int_keys(self) -> tuple[pl.Expr, ...]:
        """The keys as Int64 nanoseconds, to compare with files whose keys are not text."""
        if self.width is None:
            return self.keys
        return (_nanoseconds(self.parsed),)


def read_timestamps(source: Source, reading: Reading = Reading()) -> TimestampReading | None:
    """How to read `source`'s time column, or None if it has none.

    Tells the spelling from the file's first values: for CSV those the sniffing read, for other
    files a small head read.
    """
    column, name, indices = _time_column(source, reading)
    if column is None:
        return None
    dtype: pl.DataType = pl.String() if source.layout is not None else _dtype(source, column)
    if isinstance(dtype, pl.Datetime | pl.Date):
        return _native(source, column, dtype, name)
    if dtype.is_integer():
        return _epoch(column, column.is_not_null(), _sample(source, column), name, column.cast(pl.String))
    if dtype != pl.String:
        msg = f"input file {source.path}: column {name!r} holds {dtype}, not date-times"
        raise InputError(msg)
    text = column.str.strip_chars(VALUE_PADDING)
    text = pl.when(text.str.len_bytes() > 0).then(text)
    raw = [value for value in _first_values(source, column, indices) if value.strip(VALUE_PADDING)]
    sample = pl.Series([value.strip(VALUE_PADDING) for value in raw], dtype=pl.String)
    if sample.len() and sample.str.contains(r"^-?\d+$").all():
        number = text.cast(pl.Int64, strict=False)
        return _epoch(number, text.is_not_null(), sample.cast(pl.Int64).to_list(), name, column)
    spellings = _spellings(source, text, sample, reading)
    # Compare the text as written where it needs no trimming (trimming every value costs).
    key, written = (column, raw) if raw == sample.to_list() else (text, sample.to_list())
    return _text((key, text, column), sample, written, spellings, name)


def _time_column(source: Source, reading: Reading) -> tuple[pl.Expr | None, str, tuple[str, ...]]:
    """The time column (or `date` and `time` joined), its name for messages, and its scan names."""
    wanted = reading.timestamp_column
    if wanted is not None:
        found = source.column_at(wanted)
        if found is None:
            msg = f"input file {source.path} has no column {wanted!r} (config key 'timestamp_column')"
            raise InputError(msg)
        return found, str(wanted), tuple(found.meta.root_names())
    names = source.names  # the file's own columns: a hive folder `date=...` labels a whole file
    if "date" in names and "time" in names and "timestamp" not in names and "datetime" not in names:
        date, time = pl.col(names["date"]), pl.col(names["time"])
        joined = pl.concat_str(
            date.str.strip_chars(VALUE_PADDING), pl.lit(" "), time.str.strip_chars(VALUE_PADDING)
        )
        return joined, "date and time", (names["date"], names["time"])
    for name in TIME_NAMES:
        if name in names:
            return pl.col(names[name]), name, (names[name],)
    return None, "", ()


def _first_values(source: Source, column: pl.Expr, scan_names: tuple[str, ...]) -> list[str]:
    """The column's first values as written: from the lines sniffing read, or a head read."""
    if source.layout is None or not scan_names:
        return [str(value) for value in _sample(source, column.cast(pl.String))]
    indices = [int(name.removeprefix("_")) for name in scan_names]
    values = []
    for row in source.layout.sample:
        fields = [row[index] if index < len(row) else "" for index in indices]
        values.append(
            " ".join(field.strip(VALUE_PADDING) for field in fields) if len(fields) > 1 else fields[0]
        )
    return values[:SAMPLE_VALUES]


def _spellings(source: Source, text: pl.Expr, sample: pl.Series, reading: Reading) -> list[str]:
    """The spelling that reads the first values; two if day and month order cannot be told."""
    if reading.timestamp_format is not None:
        return [reading.timestamp_format]
    best = _best(sample)
    if best is None:
        example = sample[0] if sample.len() else ""
        msg = (
            f"input file {source.path}: timestamp {shorten(example)} is not a date-time this job reads; "
            "write it like 2024-01-01 00:00:00, 2024-01-01T00:00:00Z or as Unix epoch numbers, "
            "or set timestamp_format in the config"
        )
        raise InputError(msg)
    if best not in _DAY_FIRST + _MONTH_FIRST or best.count(".") == 2:  # noqa: PLR2004 - dotted: day first
        return [best]
    other = (
        _MONTH_FIRST[_DAY_FIRST.index(best)] if best in _DAY_FIRST else _DAY_FIRST[_MONTH_FIRST.index(best)]
    )
    decided = _decide(source, text, best, other)
    if decided is not None:
        return [decided]
    log.warning(
        "input file %s: timestamps like %s read both day first and month first; the order is "
        "checked both ways and a signals file keeps them as text (set timestamp_format to say which)",
        source.path,
        shorten(sample[0]),
    )
    return [best, other]


def _best(sample: pl.Series) -> str | None:
    """The spelling that reads the most of the first values (and the very first among them)."""
    if not sample.len():
        return FORMATS[0]  # no values: any will do
    best, best_read = None, 0
    for spelling in FORMATS:
        values = pl.select(_parse(pl.lit(sample), spelling).alias("t")).to_series()
        if values[0] is not None and values.count() > best_read:
            best, best_read = spelling, values.count()
    return best


def _decide(source: Source, text: pl.Expr, first: str, second: str) -> str | None:
    """Day or month first, from more values: the spelling that reads them all, if only one does."""
    try:
        frame = (
            source.frame_with({"t": text})
            .select("t")
            .drop_nulls()
            .head(DECIDING_VALUES)
            .select(
                a=_parse(pl.col("t"), first).null_count(),
                b=_parse(pl.col("t"), second).null_count(),
            )
            .collect()
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {source.path}: {first_line(exc)}"
        raise InputError(msg) from exc
    first_fails, second_fails = frame.row(0)
    if first_fails == 0 and second_fails > 0:
        return first
    if second_fails == 0 and first_fails > 0:
        return second
    return None


def _text(
    columns: tuple[pl.Expr, pl.Expr, pl.Expr],
    sample: pl.Series,
    written: list[str],
    spellings: list[str],
    name: str,
) -> TimestampReading:
    """The reading of text times; `written` are the sampled values as the key column holds them."""
    key, text, column = columns  # compared as text (as written, or trimmed); trimmed; as written
    parsed = _parse(text, spellings[0])
    values = pl.select(_parse(pl.lit(sample), spellings[0])).to_series() if sample.len() else pl.Series([])
    widths = {len(value.encode()) for value in written}
    if len(spellings) == 1 and _sorts_as_text(spellings[0]) and len(widths) <= 1:
        keys: tuple[pl.Expr, ...] = (key,)
        width: int | None = widths.pop() if widths else 0
    else:
        keys, width = tuple(_nanoseconds(_parse(text, spelling)) for spelling in spellings), None
    firsts = tuple(
        pl.select(_parse(pl.lit(sample.head(1)), spelling)).item() if sample.len() else None
        for spelling in spellings
    )
    return TimestampReading(
        parsed=parsed,
        present=text.is_not_null(),
        spelling=" or ".join(f"text like {spelling}" for spelling in spellings),
        first=firsts[0],
        firsts=firsts,
        keys=keys,
        width=width,
        descending=_runs_down(values.drop_nulls().to_list()),
        column=name,
        raw=column,
        written=text if len(spellings) > 1 else None,
    )


def _sorts_as_text(spelling: str) -> bool:
    """Whether text in this spelling sorts as time: year first, fixed-width fields, no offsets."""
    return spelling.startswith("%Y") and "%#z" not in spelling and "%.f" not in spelling


def _native(source: Source, column: pl.Expr, dtype: pl.DataType, name: str) -> TimestampReading:
    spelling, parsed = "dates", column
    if isinstance(dtype, pl.Datetime):
        zone = dtype.time_zone
        spelling, parsed = (f"date-times in {zone}", _in_utc(column)) if zone else ("date-times", column)
    parsed = parsed.cast(DATETIME)  # a native column has no unreadable values
    sample = _sample(source, parsed)
    return TimestampReading(
        parsed=parsed,
        present=pl.lit(value=False),
        spelling=spelling,
        first=sample[0] if sample else None,
        firsts=(sample[0] if sample else None,),
        keys=(_nanoseconds(column),),
        width=None,
        descending=_runs_down(sample),
        column=name,
        raw=column.cast(pl.String),
    )


def _epoch(number: pl.Expr, present: pl.Expr, sample: list[int], name: str, raw: pl.Expr) -> TimestampReading:
    largest = max((abs(value) for value in sample), default=0)
    unit: EpochUnit = next((unit for limit, unit in _EPOCH_UNITS if largest < limit), "ns")
    parsed = pl.from_epoch(number, time_unit=unit).cast(DATETIME)
    names = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
    first = _EPOCH + timedelta(microseconds=sample[0] * _MICROSECONDS[unit]) if sample else None
    return TimestampReading(
        parsed=parsed,
        present=present,
        spelling=f"Unix epoch {names[unit]}",
        first=first,
        firsts=(first,),
        keys=(number.cast(pl.Int64) * _NANOSECONDS[unit],),
        width=None,
        descending=_runs_down(sample),
        column=name,
        raw=raw,
    )


def _runs_down(values: list[Any]) -> bool:
    """Whether the first values run strictly newest first (two or more of them)."""
    return len(values) > 1 and all(later < earlier for earlier, later in pairwise(values))


def _nanoseconds(times: pl.Expr) -> pl.Expr:
    return times.cast(pl.Datetime("ns")).to_physical()


def _parse(text: pl.Expr, spelling: str) -> pl.Expr:
    parsed = text.str.to_datetime(spelling, strict=False, time_unit=TIME_UNIT, cache=False)
    return _in_utc(parsed) if spelling.endswith("%#z") else parsed


def _dtype(source: Source, column: pl.Expr) -> pl.DataType:
    try:
        return source.scan.select(column).collect_schema().dtypes()[0]
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


def _in_utc(zoned: pl.Expr) -> pl.Expr:
    return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
