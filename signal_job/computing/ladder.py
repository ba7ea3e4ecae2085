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

A failure past the last rung is explained by `reading.lines`, naming the file and line.
"""

from __future__ import annotations

from dataclasses import replace

from signal_job.reading.inputs import Input


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
