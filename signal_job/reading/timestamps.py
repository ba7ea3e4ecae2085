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
import re
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final, Literal

import polars as pl

from signal_job.config import Reading
from signal_job.errors import ConfigError, InputError, first_line, shorten
from signal_job.reading.numbers import VALUE_PADDING
from signal_job.reading.sources import Source
from signal_job.reading.timestamp_reading import TimestampReading, microseconds

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
    "%Y-%m-%d %I:%M %p",
    "%Y-%m-%d %I:%M:%S %p",
    "%b %d, %Y",  # Investing.com: Jan 05, 2024
    "%b %d, %Y %H:%M",
    "%d %b %Y",
    "%d %b %Y %H:%M",
    "%B %d, %Y",
)
# Day or month first: the values decide (a first field over 12 is a day), else `timestamp_format`.
_DAY_FIRST = tuple(
    f"%d{sep}%m{sep}%Y{time}"
    for sep in ("/", "-", ".")
    for time in (" %H:%M:%S", " %H:%M", "", " %I:%M %p", " %I:%M:%S %p")
)
_MONTH_FIRST = tuple(fmt.replace("%d", "%D").replace("%m", "%d").replace("%D", "%m") for fmt in _DAY_FIRST)
FORMATS = _YEAR_FIRST + _DAY_FIRST + _MONTH_FIRST
# Unix epoch numbers: the unit is told by size (seconds until year 5138, then ms, us, ns).
EpochUnit = Literal["s", "ms", "us", "ns"]
_EPOCH_UNITS: tuple[tuple[int, EpochUnit], ...] = ((10**11, "s"), (10**14, "ms"), (10**17, "us"))
_EPOCH = datetime(1970, 1, 1)
_MICROSECONDS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
_PER_MICROSECOND = {"s": 10**6, "ms": 10**3, "us": 1}
SAMPLE_VALUES = 100
# Where the first values leave day and month undecided, this many more are read to decide.
DECIDING_VALUES = 200_000
TIME_UNIT: Final = "us"
DATETIME = pl.Datetime(TIME_UNIT)


class UnreadableTimes(InputError):
    """A time column whose values this job does not read."""


def read_timestamps(
    source: Source, reading: Reading = Reading(), *, like: TimestampReading | None = None
) -> TimestampReading | None:
    """How to read `source`'s time column, or None if it has none (or the config says so).

    Tells the spelling from the file's first values: for CSV those the sniffing read, for other
    files a small head read. Of several time columns the first that reads is taken; a file whose
    time columns none read is refused, never read in an order nobody checked. `like`, the
    reading of the file before it in the same input: its spelling is taken where it reads every
    first value (files of one input share one; and trying it first spares trying them all).
    """
    candidates = _time_columns(source, reading)
    problems = []
    for column, name, scan_names in candidates:
        try:
            return _read(source, reading, column, name, scan_names, known=like.format if like else None)
        except UnreadableTimes as exc:
            problems.append(exc)
    if not problems:
        return None
    msg = (
        f"{problems[0]}; set timestamp_format in the config (or timestamp_column: none to read "
        "the rows in file order, unchecked)"
    )
    raise InputError(msg)


def _read(
    source: Source,
    reading: Reading,
    column: pl.Expr,
    name: str,
    scan_names: tuple[str, ...],
    *,
    known: str | None,
) -> TimestampReading:
    dtype: pl.DataType = pl.String() if source.layout is not None else _dtype(source, column)
    if isinstance(dtype, pl.Datetime | pl.Date):
        return _native(source, column, dtype, name)
    if dtype.is_integer():
        return _epoch(column, column.is_not_null(), _sample(source, column), name, column.cast(pl.String))
    if dtype.is_float():
        column = column.cast(pl.String)
    elif dtype != pl.String:
        msg = f"input file {source.path}: column {name!r} holds {dtype}, not date-times"
        raise UnreadableTimes(msg)
    text = column.str.strip_chars(VALUE_PADDING)
    text = pl.when(text.str.len_bytes() > 0).then(text)
    raw = [value for value in _first_values(source, column, scan_names) if value.strip(VALUE_PADDING)]
    sample = pl.Series([value.strip(VALUE_PADDING) for value in raw], dtype=pl.String)
    epochs = (
        sample.cast(pl.Int64, strict=False)
        if sample.len() and sample.str.contains(r"^-?\d+$").all()
        else None
    )
    if epochs is not None and not epochs.null_count():  # numbers too long for 64 bits are no epochs
        return _epoch(text.cast(pl.Int64, strict=False), text.is_not_null(), epochs.to_list(), name, column)
    if sample.len() and sample.str.contains(r"^-?\d+\.\d+$").all():
        return _float_epoch(text, sample.cast(pl.Float64).to_list(), name, column)
    spellings = _spellings(source, text, sample, reading, name, known=known)
    # Compare the text as written where it needs no trimming (trimming every value costs).
    key, written = (column, raw) if raw == sample.to_list() else (text, sample.to_list())
    return _text((key, text, column), sample, written, spellings, name)


def times_left_out(reading: Reading) -> bool:
    """Whether the config says to read no time column (`timestamp_column: none`)."""
    wanted = reading.timestamp_column
    return isinstance(wanted, str) and wanted.lower() == "none"


def _time_columns(source: Source, reading: Reading) -> list[tuple[pl.Expr, str, tuple[str, ...]]]:
    """The time columns to try, in order: the configured one, or by name (`date` and `time` joined)."""
    wanted = reading.timestamp_column
    if times_left_out(reading):
        log.info("input file %s: time order not checked (timestamp_column: none)", source.path)
        return []
    if wanted is not None:
        found = source.column_at(wanted)
        if found is None:
            msg = f"input file {source.path} has no column {wanted!r} (config key 'timestamp_column')"
            raise InputError(msg)
        return [(found, str(wanted), tuple(found.meta.root_names()))]
    names = source.names  # the file's own columns: a hive folder `date=...` labels a whole file
    candidates: list[tuple[pl.Expr, str, tuple[str, ...]]] = []
    if "date" in names and "time" in names:
        joined = _date_and_time(source, names["date"], names["time"])
        if joined is not None:
            candidates.append((joined, "date and time", (names["date"], names["time"])))
    candidates += [(pl.col(names[name]), name, (names[name],)) for name in TIME_NAMES if name in names]
    if len(candidates) > 1 and candidates[0][1] == "date and time" and {"timestamp", "datetime"} & set(names):
        candidates.append(candidates.pop(0))  # a full timestamp beats a date and a time apart
    return candidates


def _date_and_time(source: Source, date_name: str, time_name: str) -> pl.Expr | None:
    """A date column and a time column as one: text joined, or a Parquet Date and Time combined.

    None where they are of other kinds (a full date-time in `date`): each is then tried alone.
    """
    date, time = pl.col(date_name), pl.col(time_name)
    kinds: tuple[pl.DataType, pl.DataType] = (pl.String(), pl.String())
    if source.layout is None:
        kinds = (_dtype(source, date), _dtype(source, time))
    if kinds == (pl.String(), pl.String()):
        return pl.concat_str(
            date.str.strip_chars(VALUE_PADDING), pl.lit(" "), time.str.strip_chars(VALUE_PADDING)
        )
    if kinds == (pl.Date(), pl.Time()):
        return date.dt.combine(time, time_unit=TIME_UNIT)
    return None


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


def _spellings(
    source: Source, text: pl.Expr, sample: pl.Series, reading: Reading, name: str, *, known: str | None
) -> list[str]:
    """The spelling that reads the first values; two if day and month order cannot be told.

    `known`, the spelling of the input's file before, where it reads every one of them.
    """
    if known is not None and reading.timestamp_format is None and sample.len():
        if not pl.select(_parse(pl.lit(sample), known)).to_series().null_count():
            other = _other_order(known)
            # Day or month first is still decided from this file's own values where they can;
            # only where they cannot does the file before it decide.
            return [(other and _decide(source, text, known, other)) or known]
    if reading.timestamp_format is not None:
        try:
            read = pl.select(_parse(pl.lit(sample), reading.timestamp_format).alias("t")).to_series()
        except pl.exceptions.PolarsError as exc:
            given = shorten(reading.timestamp_format)
            msg = f"config key 'timestamp_format' {given} is not a format: {first_line(exc)}"
            raise ConfigError(msg) from exc
        if read.null_count():
            example = sample.filter(read.is_null())[0]
            msg = (
                f"input file {source.path}: timestamp {shorten(example)} does not read as "
                f"timestamp_format {shorten(reading.timestamp_format)}"
            )
            raise InputError(msg)
        return [reading.timestamp_format]
    best = _best(sample)
    if best is None:
        example = sample[0] if sample.len() else ""
        msg = (
            f"input file {source.path}: column {name!r} holds times like {shorten(example)}, "
            "which this job does not read"
        )
        raise UnreadableTimes(msg)
    other = _other_order(best)
    if other is None:
        return [best]
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


def _other_order(spelling: str) -> str | None:
    """The same spelling month first if it is day first, or day first if month first, else None."""
    if spelling not in _DAY_FIRST + _MONTH_FIRST or spelling.count(".") == 2:  # noqa: PLR2004 - dotted: day first
        return None
    if spelling in _DAY_FIRST:
        return _MONTH_FIRST[_DAY_FIRST.index(spelling)]
    return _DAY_FIRST[_MONTH_FIRST.index(spelling)]


def _best(sample: pl.Series) -> str | None:
    """The spelling that reads the most of the first values (and the very first among them)."""
    if not sample.len():
        return FORMATS[0]  # no values: any will do
    # Every spelling in one query: one collect per file rather than one per spelling (many
    # small files are opened one after another).
    read = pl.select(
        _parse(pl.lit(sample), spelling).alias(str(index)) for index, spelling in enumerate(FORMATS)
    )
    best, best_read = None, 0
    for spelling, values in zip(FORMATS, read.get_columns(), strict=True):
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
    if len(spellings) == 1 and _sorts_as_text(spellings[0], sample.to_list()) and len(widths) <= 1:
        keys: tuple[pl.Expr, ...] = (key,)
        width: int | None = widths.pop() if widths else 0
    else:
        keys, width = tuple(microseconds(_parse(text, spelling)) for spelling in spellings), None
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
        format=spellings[0] if len(spellings) == 1 else None,
        # The key is the column as written where the sampled values need no trimming.
        untrimmed=_parse(column, spellings[0]) if key is column and len(spellings) == 1 else None,
    )


def _sorts_as_text(spelling: str, sample: list[str]) -> bool:
    """Whether text in this spelling sorts as time, as every sampled value is written.

    Only zero-padded fields from the year down (`%Y %m %d %H %M %S`, in that order, and a final
    `Z`) sort as text, and only if each value has exactly that shape: `2024/9/30` sorts after
    `2024/10/1` as text, and `%I %p` (12-hour clocks) never sorts.
    """
    fields = _FIELD.findall(spelling)
    if not fields or fields[0] != "%Y" or any(field not in _SIGNIFICANCE for field in fields):
        return False  # another directive: an offset, a fraction, a month name, a 12-hour clock
    if fields != sorted(fields, key=_SIGNIFICANCE.index):
        return False
    shape = re.escape(spelling)
    for field in fields:
        shape = shape.replace(re.escape(field), r"\d{4}" if field == "%Y" else r"\d{2}")
    whole = re.compile(shape)
    return all(whole.fullmatch(value) for value in sample)


_FIELD = re.compile(r"%[#.]?[A-Za-z]")
_SIGNIFICANCE = ["%Y", "%m", "%d", "%H", "%M", "%S"]


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
        keys=(microseconds(column),),
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
        keys=(_epoch_microseconds(number.cast(pl.Int64), unit),),
        width=None,
        descending=_runs_down(sample),
        column=name,
        raw=raw,
    )


def _epoch_microseconds(number: pl.Expr, unit: EpochUnit) -> pl.Expr:
    """An epoch number in microseconds: exact for s, ms and us (below 10**11 s, no overflow)."""
    return number // 1000 if unit == "ns" else number * _PER_MICROSECOND[unit]


def _float_epoch(text: pl.Expr, sample: list[float], name: str, raw: pl.Expr) -> TimestampReading:
    """Epoch numbers written with a fraction (`1704067200.5`), read to the microsecond."""
    largest = max((abs(value) for value in sample), default=0)
    unit: EpochUnit = next((unit for limit, unit in _EPOCH_UNITS if largest < limit), "ns")
    per_second = {"s": 1.0, "ms": 1e3, "us": 1e6, "ns": 1e9}[unit]
    micros = (text.cast(pl.Float64, strict=False) * (1e6 / per_second)).round(0).cast(pl.Int64)
    first = _EPOCH + timedelta(seconds=sample[0] / per_second) if sample else None
    names = {"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}
    return TimestampReading(
        parsed=pl.from_epoch(micros, time_unit="us"),
        present=text.is_not_null(),
        spelling=f"Unix epoch {names[unit]} with a fraction",
        first=first,
        firsts=(first,),
        keys=(micros,),
        width=None,
        descending=_runs_down(sample),
        column=name,
        raw=raw,
    )


def _runs_down(values: list[Any]) -> bool:
    """Whether the first values run strictly newest first (two or more of them)."""
    return len(values) > 1 and all(later < earlier for earlier, later in pairwise(values))


def _parse(text: pl.Expr, spelling: str) -> pl.Expr:
    parsed = text.str.to_datetime(spelling, strict=False, time_unit=TIME_UNIT, cache=False)
    return _in_utc(parsed) if spelling.endswith("%#z") else parsed


def _dtype(source: Source, column: pl.Expr) -> pl.DataType:
    assert source.scan is not None  # noqa: S101 - asked of Parquet and Arrow files only: always scanned
    try:
        return source.scan.select(column).collect_schema().dtypes()[0]
    except pl.exceptions.PolarsError as exc:
        msg = f"cannot read input file {source.path}: {first_line(exc)}"
        raise InputError(msg) from exc


_HEAD_ROWS = 1_000


def _sample(source: Source, values: pl.Expr) -> list[Any]:
    """The first present values, read from the file's first rows only."""
    rows = source.frame_with({"t": values}).select("t")
    try:
        # The first rows are nearly always enough, and a head read is far cheaper than looking
        # for present values until SAMPLE_VALUES are found (ms per file: many files add up).
        head = rows.head(_HEAD_ROWS).collect()
        frame = head.drop_nulls().head(SAMPLE_VALUES)
        if frame.height < SAMPLE_VALUES and head.height == _HEAD_ROWS:
            frame = rows.drop_nulls().head(SAMPLE_VALUES).collect()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {source.path}: {first_line(exc)}"
        raise InputError(msg) from exc
    return frame["t"].to_list()


def _in_utc(zoned: pl.Expr) -> pl.Expr:
    return zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
