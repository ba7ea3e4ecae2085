"""The partial result of a part (its counts and its edges), and the one combine that adds them up.

A series split into files can be counted file by file (here, from a cache, on Dask workers, in
any order) and still give the answer of the whole: each file counts the windows that lie inside
it, and keeps its edges, the closes of its first and last `window - 1` rows (its halo). Taken in
time order, the last closes of the files before and the first closes of a file make up every
window that crosses into it; `stitch` counts those exactly, in decimals, and `combine` adds them
to the files' own. A file shorter than the window is all edge: windows may cross several files.
A `Piece` is plain data: the cache keeps it and Dask ships it as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext

# Polars counts rows in 32 bits, so no window longer than this can ever be full; capping keeps
# `window * price` inside Int128 for absurd windows without changing any result.
MAX_WINDOW = 2**32
# Sums of closes are exact: a sum that had to be rounded raises rather than miscounts.
_EXACT = Context(prec=200, traps=[Inexact])


@dataclass(frozen=True)
class Counts:
    """What one run (or one group, or one partition) counted; partial counts add up."""

    rows: int
    full_windows: int
    missing: int
    signals: int
    blank_lines: int = 0
    repeats: int = 0  # rows left out as repeats of the row before (`duplicates: drop`)
    # Closes of 0 or below, exactly as read (to 18 decimals): no price, but some markets go negative.
    nonpositive: int = 0

    @property
    def rate(self) -> float:
        """Signals per row, rounded half-to-even to 4 decimals from the exact fraction."""
        quotient, remainder = divmod(self.signals * 10_000, self.rows)
        if 2 * remainder > self.rows or (2 * remainder == self.rows and quotient % 2):
            quotient += 1
        return quotient / 10_000

    def __add__(self, other: Counts) -> Counts:
        """The counts of both together (windows never span the two)."""
        return Counts(
            rows=self.rows + other.rows,
            full_windows=self.full_windows + other.full_windows,
            missing=self.missing + other.missing,
            signals=self.signals + other.signals,
            blank_lines=self.blank_lines + other.blank_lines,
            repeats=self.repeats + other.repeats,
            nonpositive=self.nonpositive + other.nonpositive,
        )


@dataclass(frozen=True)
class Edges:
    """A file's closes at its two ends, in time order (None: a row with no close), and its times."""

    head: tuple[Decimal | None, ...]  # the first min(rows, window - 1)
    tail: tuple[Decimal | None, ...]  # the last min(rows, window - 1)
    # The first and last row's time, if the rows have times (text where dates read both day
    # and month first, compared as the local run compares them).
    first: datetime | str | None = None
    last: datetime | str | None = None


Piece = tuple[Counts, Edges]  # what one file counts alone, and its edges


@dataclass(frozen=True)
class Crossing:
    """What the windows across the file boundaries add to the files' own counts."""

    full_windows: int
    signals: int


def edge_rows(window: int) -> int:
    """How many rows at each end of a file the windows that cross into it can reach."""
    return min(window, MAX_WINDOW) - 1


def within(edges: Edges, window: int) -> Edges:
    """`edges` of a longer window cut to those of `window`: the closes its windows can reach."""
    reach = edge_rows(window)
    tail = edges.tail[len(edges.tail) - reach :] if reach else ()
    return Edges(head=edges.head[:reach], tail=tail, first=edges.first, last=edges.last)


def stitch(edges: Sequence[Edges], window: int) -> Crossing:
    """The full windows and signals of the windows that end in a file but start before it.

    `edges` are the files' edges in time order. A window is full when it holds `window` rows,
    none without a close; it signals when the close it ends on is above its mean.
    """
    size = min(window, MAX_WINDOW)
    reach = size - 1
    full = signals = 0
    for file, carry in zip(edges, closes_before(edges, window), strict=True):
        for index, close in enumerate(file.head):
            # Windows ending further in lie inside the file: counted there.
            needed = reach - index  # closes from the files before
            if needed > len(carry):
                continue
            frame = [*carry[len(carry) - needed :], *file.head[: index + 1]]
            if close is None or any(value is None for value in frame):
                continue
            full += 1
            with localcontext(_EXACT):
                total = sum((value for value in frame if value is not None), Decimal(0))
                signals += close * size > total
    return Crossing(full, signals)


def closes_before(edges: Sequence[Edges], window: int) -> list[tuple[Decimal | None, ...]]:
    """For each file, the closes of the last `window - 1` rows of the files before it, in time order.

    Fewer at the start of the series; a file shorter than that passes on the closes before it too.
    """
    reach = edge_rows(window)
    carry: tuple[Decimal | None, ...] = ()
    before = []
    for file in edges:
        before.append(carry)
        ends = file.head if len(file.head) < reach else file.tail  # a short file is all edge
        carry = (*carry, *ends)[-reach:] if reach else ()
    return before


def overlap(edges: Sequence[Edges]) -> int | None:
    """The index of the first file that does not start after the one before ends, if any."""
    for index in range(1, len(edges)):
        before, after = edges[index - 1].last, edges[index].first
        if before is not None and after is not None and not _later(after, before):
            return index
    return None


def _later(after: datetime | str, before: datetime | str) -> bool:
    if isinstance(after, datetime) and isinstance(before, datetime):
        return after > before
    return str(after) > str(before)  # text times sort as time (see `TimestampReading.keys`)


def combine(pieces: Sequence[Piece], window: int) -> Counts:
    """The counts of a series from the pieces of its files, in time order.

    Theirs, plus the windows across the files' boundaries.
    """
    crossing = stitch([edges for _, edges in pieces], window)
    total = sum((counts for counts, _ in pieces), Counts(0, 0, 0, 0))
    return total + Counts(0, crossing.full_windows, 0, crossing.signals)
