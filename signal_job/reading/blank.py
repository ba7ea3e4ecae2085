"""Tell a CSV file with nothing after its header but blank lines from its bytes, before Polars reads it.

Polars reads each blank line as a row of nulls: a header and 64M blank lines took 2.5 GiB
and a gzip of 2^30 of them minutes, only to find no data rows. The bytes after the header tell
the same at the speed of reading (and decompressing) them, in flat memory: every one is padding
or a line end. The first line that holds anything else ends the look, so for a file with rows
the first bytes, already read to sniff it, are enough.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from signal_job.errors import InputError
from signal_job.reading.sniff import CsvLayout
from signal_job.reading.storage import Location, open_bytes

CHUNK = 8 << 20  # decompressed bytes looked at a time
_READ = 1 << 20  # compressed bytes read a time


def blank_lines(
    path: Location, kind: str, layout: CsvLayout, head: bytes, *, complete: bool, chunk: int = CHUNK
) -> int | None:
    """How many lines follow the header if every one is blank; None if any holds something else.

    `head` holds the file's first bytes (decompressed), `complete` says they are all of it. A
    blank line holds only the layout's padding, as `sources.raw_blank` sees it; the count is the
    scan's, one row a line (a last line without its line end counts, an empty one does not). A
    zstd file (no decompressor here) or one that cannot be read through says None: the scan
    then reads it, and says what is wrong with it. `chunk`: the bytes looked at a time.
    """
    if kind not in ("csv", "gzip"):
        return None
    lines = _Lines(layout)
    if not lines.feed(head):
        return None
    if complete:
        return lines.count()
    lines = _Lines(layout)
    try:
        for some in _chunks(path, gzipped=kind == "gzip", size=chunk):
            if not lines.feed(some):
                return None
    except (OSError, EOFError, zlib.error, InputError):  # the scan says what is wrong
        return None
    return lines.count()


class _Lines:
    """The lines after the header, fed chunk by chunk: counted while all are blank."""

    def __init__(self, layout: CsvLayout) -> None:
        self.eol = layout.eol.encode()
        self.blank = (layout.padding + layout.eol).encode()
        self.header = layout.data_line  # lines before the first data line, still to pass
        self.lines = 0
        self.open = False  # the last line seen has no line end yet

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes; False as soon as one of them is not blank."""
        while self.header and chunk:
            end = chunk.find(self.eol)
            if end < 0:
                return True
            chunk = chunk[end + 1 :]
            self.header -= 1
        if not chunk:
            return True
        if chunk.translate(None, self.blank):
            return False
        self.lines += _count(chunk, self.eol)
        self.open = not chunk.endswith(self.eol)
        return True

    def count(self) -> int:
        """The lines after the header: all blank."""
        return self.lines + self.open


def _count(chunk: bytes, eol: bytes) -> int:
    """The line ends in `chunk`: numpy counts a byte three times as fast as `bytes.count`."""
    import numpy as np  # noqa: PLC0415 - only for files whose first bytes are blank: off the start-up path

    return int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == eol[0]))


def _chunks(path: Location, *, gzipped: bool, size: int) -> Iterator[bytes]:
    """The file's bytes from the start, decompressed, `size` at most at a time."""
    with open_bytes(path) as file:
        if not gzipped:
            while chunk := file.read(size):
                yield chunk
            return
        # zlib itself, not `gzip.GzipFile`: twice as fast; each member of the file in turn.
        stream, started = zlib.decompressobj(wbits=31), False
        pending = b""
        while True:
            if not pending:
                pending = file.read(_READ)
                if not pending:
                    break
            chunk = stream.decompress(pending, size)
            pending, started = stream.unconsumed_tail, True
            if stream.eof:
                pending = stream.unused_data
                stream, started = zlib.decompressobj(wbits=31), False
            if chunk:
                yield chunk
        if started:
            raise EOFError  # cut short in a member: the scan says how
