"""How to read one file's times: what `timestamps` decides for a file, and its `Source` carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl


@dataclass(frozen=True)
class TimestampReading:
    """How to read one file's times, and how they run."""

    parsed: pl.Expr  # Datetime, null where the value is missing or unreadable
    present: pl.Expr  # True where the file has a value (so a null `parsed` means unreadable)
    spelling: str  # for the log and messages
    first: datetime | None  # the first value read, to order files
    firsts: tuple[datetime | None, ...]  # the first value in each spelling still possible
    keys: tuple[pl.Expr, ...]  # sort as time: String of one `width`, or Int64 microseconds
    width: int | None  # the width of text keys; None for integer keys
    descending: bool  # the first values run newest first
    column: str  # the time column's name(s), for messages
    raw: pl.Expr  # the value as written, for messages
    written: pl.Expr | None = None  # the trimmed text, where the signals file keeps it as text
    format: str | None = None  # the one strftime spelling of text times, if decided
    # `parsed` from the text as written, where the first values need no trimming: the same
    # time where not null, and null where a value is padded too (trimming every value costs).
    untrimmed: pl.Expr | None = None

    @property
    def int_keys(self) -> tuple[pl.Expr, ...]:
        """The keys as Int64 microseconds, to compare with files whose keys are not text."""
        if self.width is None:
            return self.keys
        return (microseconds(self.parsed),)


def microseconds(times: pl.Expr) -> pl.Expr:
    """`times` as an Int64 count of microseconds, the integer order key of times."""
    # Microseconds fit Int64 for any year a candle has; nanoseconds overflow after 2262.
    return times.cast(pl.Datetime("us")).to_physical()
