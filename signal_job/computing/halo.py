"""Windows across file boundaries, stitched exactly from what each file counted alone.

A series split into files can be counted file by file (on other machines, in any order) and
still give the answer of the whole: each file counts the windows that lie inside it, and keeps
its edges, the closes of its first and last `window - 1` rows (its halo). Taken in time order,
the last closes of the files before and the first closes of a file make up every window that
crosses into it; `stitch` counts those exactly, in decimals, and adds them to the files' own.
A file shorter than the window is all edge: windows may cross several files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal, Inexact, localcontext

from signal_job.computing.signals import MAX_WINDOW

# Sums of closes are exact: a sum that had to be rounded raises rather than miscounts.
_EXACT = Context(prec=200, traps=[Inexact])


@dataclass(frozen=True)
class Edges:
    """A file's closes at its two ends, in time order (None: a row with no close), and its times."""

    head: tuple[Decimal | None, ...]  # the first min(rows, window - 1)
    tail: tuple[Decimal | None, ...]  # the last min(rows, window - 1)
    # The first and last row's time, if the rows have times (text where dates read both day
    # and month first, compared as the local run compares them).
    first: datetime | str | None = None
    last: datetime | str | None = None


@dataclass(frozen=True)
class Crossing:
    """What the windows across the file boundaries add to the files' own counts."""

    full_windows: int
    signals: int


def edge_rows(window: int) -> int:
    """How many rows at each end of a file the windows that cross into it can reach."""
    return min(window, MAX_WINDOW) - 1


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
