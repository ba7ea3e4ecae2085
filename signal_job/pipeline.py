"""The job's one lazy plan over the input, its collection, and what to do when it flags rows.

(The line-by-line diagnosis in `lines` runs plans of its own, only when this one fails or flags.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import polars as pl

from signal_job.errors import InputError
from signal_job.signals import MAX_WINDOW, above_mean, fixed_point, window_sum
from signal_job.sources import Source

log = logging.getLogger(__name__)

Engine = Literal["streaming", "in-memory"]
_INT128_MAX = 2**127 - 1


@dataclass(frozen=True)
class Counts:
    """What one run counted: the numbers behind the metrics document and the log."""

    rows: int
    full_windows: int
    missing: int
    signals: int
    blank_lines: int = 0

    @property
    def rate(self) -> float:
        """Signals per row, rounded half-to-even to 4 decimals from the exact fraction."""
        quotient, remainder = divmod(self.signals * 10_000, self.rows)
        if 2 * remainder > self.rows or (2 * remainder == self.rows and quotient % 2):
            quotient += 1
        return quotient / 10_000


def signal_counts(
    frame: pl.LazyFrame, *, window: int, dtype: pl.DataType, suspect: pl.Expr | None = None
) -> pl.LazyFrame:
    """The whole computation as one lazy plan: a single row of counts over `frame`'s `close`.

    `suspect` flags rows for a closer look; its count comes out of the same scan. Each stage
    is computed once: the streaming engine does not share common subexpressions.
    """
    price, total = pl.col("price"), pl.col("window_sum")
    return (
        frame.with_columns(fixed_point(pl.col("close"), dtype=dtype))
        .with_columns(window_sum(price, window=window))
        .select(
            rows=pl.len(),
            missing=price.null_count(),
            full_windows=pl.len() - total.null_count(),
            signals=above_mean(price, total, window=window).sum(),
            largest_price=pl.max_horizontal(price.max().abs(), price.min().abs()),
            suspect=(pl.lit(value=False) if suspect is None else suspect).sum(),
        )
    )


class _ScanFailed(Exception):
    """A plan over the input failed in Polars (or reading the file)."""

    def __init__(self, error: Exception) -> None:
        """Keep Polars' `error` for the diagnosis."""
        super().__init__(str(error))
        self.error = error


def count(source: Source, *, window: int, engine: Engine = "streaming") -> Counts:
    """Run the plan over `source` and return its counts, or raise `InputError` naming the line."""
    try:
        return _count(source, window=window, engine=engine)
    except _ScanFailed as failure:
        error = failure.error
    # Close values were sniffed as plain numbers; padding further down the file fails that
    # parse, so read them as text to trim before calling the file malformed.
    text_source = source.with_text_close()
    if text_source is not None:
        try:
            return _count(text_source, window=window, engine=engine)
        except _ScanFailed as failure:
            error = failure.error
    from signal_job import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    log.debug("scan of %s failed", source.path, exc_info=error)
    raise lines.explain_failure(text_source or source, error) from error


def _count(source: Source, *, window: int, engine: Engine) -> Counts:
    plan = signal_counts(source.frame, window=window, dtype=source.close_dtype, suspect=source.suspect)
    result = _collect(plan, engine)
    blank_lines = 0
    if result["suspect"]:
        # Blank lines and short rows both leave the last field empty; only a line check can
        # tell them from rows whose last field is simply empty, and it raises on bad rows.
        from signal_job import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

        report = lines.check_lines(source)
        if report.rows != result["rows"]:
            msg = f"input file {source.path} has quoted fields that span lines, which are not supported"
            raise InputError(msg)
        blank_lines = report.blank_rows.len()
        if blank_lines:
            kept = source.frame.with_row_index("_row").filter(
                ~pl.col("_row").is_in(report.blank_rows.implode())
            )
            result = _collect(signal_counts(kept, window=window, dtype=source.close_dtype), engine)
    counts = Counts(
        rows=result["rows"],
        full_windows=result["full_windows"],
        missing=result["missing"],
        signals=result["signals"],
        blank_lines=blank_lines,
    )
    _check_counts(counts, result["largest_price"], window=window, source=source)
    return counts


def _collect(plan: pl.LazyFrame, engine: Engine) -> dict[str, int]:
    try:
        frame = plan.collect(engine=engine)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise _ScanFailed(exc) from exc
    return {name: value or 0 for name, value in frame.row(0, named=True).items()}


def _check_counts(counts: Counts, largest_price: int, *, window: int, source: Source) -> None:
    if counts.rows == 0:
        what = "has a header but no data rows" if source.layout else "has no rows"
        msg = f"input file {source.path} {what}"
        raise InputError(msg)
    # Int128 wraps around silently; the sums are exact while window * max|price| fits.
    if largest_price * min(window, MAX_WINDOW, counts.rows) > _INT128_MAX:
        msg = f"input file {source.path} has close values too large for an exact sum over {window} rows"
        raise InputError(msg)
