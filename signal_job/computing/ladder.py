"""The fallback ladder: what a read of the rows falls back to when its first try does not hold.

A plan first reads each file as its first lines were sniffed. Three things only a read of every
row can find, and each has one rung, climbed in this order by the local run (`pipeline`) and by
the signals dataset's parts (`dataset`) alike:

1. Rows flagged `suspect` (a blank line, or a row cut short or running long): the CSV files are
   read again beside their raw lines, blank lines left out (`without_blank_lines`); a row still
   flagged is malformed, and named.
2. A failed scan, where some file's close was sniffed as a plain number (padding further down
   fails that parse): the files are read again with close as text, trimmed (`with_text_close`).
   The local run retries its series at once; a dataset's part reports it, and its whole series
   is written again as text, as the local run reads it.
3. A row the fast signals path cannot vouch for (`route.Signals.FAST`): the general path writes
   the signals again (every part of a dataset's series, where any part needs it).

A failure past the last rung is explained by `reading.lines`, naming the file and line. The local
run and an inspect (`profile`) climb the second rung and explain a failure past it alike
(`climbed`), each with its own read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from signal_job.errors import InputError, first_line
from signal_job.reading.inputs import Input

log = logging.getLogger(__name__)

_T = TypeVar("_T")


class ScanFailed(Exception):
    """A read of the input failed in Polars (or reading the file)."""

    def __init__(self, error: Exception) -> None:
        """Keep Polars' `error` for the diagnosis."""
        super().__init__(str(error))
        self.error = error


def without_blank_lines(data: Input) -> Input:
    """`data` read beside its raw lines, blank lines left out (rung 1; CSV files only)."""
    return data.replace_parts(
        [replace(part, drop_blank_lines=part.layout is not None) for part in data.parts]
    )


def with_text_close(data: Input) -> Input | None:
    """`data` with close read as text wherever it was sniffed as a number (rung 2); None if nowhere."""
    text_parts = [part.with_text_close() for part in data.parts]
    if not any(text_parts):
        return None
    return data.replace_parts([text or part for text, part in zip(text_parts, data.parts, strict=True)])


def climbed(data: Input, read: Callable[[Input], _T], *, alone: Callable[[Input], object]) -> _T:
    """`read(data)`; on a `ScanFailed`, again with close as text (rung 2), then explained.

    `read` climbs rung 1 itself; `alone` reads one file once (rung 1 not climbed), raising
    `ScanFailed`, to find the file that fails on its own (see `explain`).
    """
    try:
        return read(data)
    except ScanFailed as failure:
        error = failure.error
    text = with_text_close(data)
    if text is not None:
        data = text
        try:
            return read(data)
        except ScanFailed as failure:
            error = failure.error
    # Polars' own message, not its traceback: the error raised next names the line (an expected error).
    log.debug("scan of %s failed: %s", data.spec, first_line(error))
    raise explain(data, error, alone=alone) from error


def explain_suspects(data: Input) -> InputError:
    """The error of the first file with a malformed row."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    for part in data.parts:
        found = lines.explain_suspects(part)
        if found is not None:
            return found
    return InputError(f"input {data.spec} has malformed rows that could not be located")


def explain(data: Input, error: Exception, *, alone: Callable[[Input], object]) -> InputError:
    """The error of the first file that fails on its own (read by `alone`), naming its line."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    if len(data.parts) == 1:
        return lines.explain_failure(data.parts[0], error)
    for part in data.parts:
        try:
            alone(data.replace_parts([part]))
        except ScanFailed as failure:
            return lines.explain_failure(part, failure.error)
    # Each file reads alone: the failure came in the pass that leaves blank lines out.
    for part in data.parts:
        found = lines.explain_suspects(part)
        if found is not None:
            return found
    return InputError(f"cannot read input {data.spec}: {first_line(error)}")
