"""Input files: tell the kind from the first bytes, then scan it lazily with the right options.

Every source becomes the same lazy frame with a `close` column, so the pipeline has one shape;
its other columns are there by name for the plan to ask for. CSV frames carry a `suspect` column,
true on rows whose last field is missing or that have a field too many: blank lines or malformed
rows. Only when there are any is the file read again with `drop_blank_lines`, each row beside its
raw line in one streaming pass, so blank lines drop out and any other suspect row is an error. A
CSV file with nothing but blank lines after its header is told from its bytes (`blank`) and not
scanned at all: its frame is empty.
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO

import polars as pl

from signal_job.config import Reading
from signal_job.errors import InputError, first_line
from signal_job.reading.blank import blank_lines
from signal_job.reading.headers import close_index, normal_name
from signal_job.reading.numbers import PRICE, VALUE_PADDING
from signal_job.reading.sniff import SAMPLE_LINES, CsvLayout, line_ending, sniff_csv, ticker_closes
from signal_job.reading.storage import Location, Url, open_bytes, open_object, polars_options, polars_path
from signal_job.safe_files import open_regular

if TYPE_CHECKING:
    from signal_job.reading.timestamp_reading import TimestampReading

SUPPORTED = (
    "CSV (.csv, .txt, .tsv, also gzip or zstd compressed: .csv.gz, .csv.zst), "
    "Parquet (.parquet) and Arrow IPC / Feather v2 (.arrow, .feather, .ipc)"
)
_MAGIC = {
    b"PAR1": "parquet",
    b"ARROW1": "ipc",
    b"\x1f\x8b": "gzip",
    b"\x28\xb5\x2f\xfd": "zstd",
}
_UNSUPPORTED_MAGIC = {
    b"FEA1": "a Feather v1 file (save it as Feather v2 / Arrow IPC)",
    b"\xff\xff\xff\xff": "an Arrow IPC stream (save it as an Arrow IPC file / Feather v2)",
    b"PK\x03\x04": "a zip archive or Excel workbook",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"SQLite format 3\x00": "an SQLite database",
    b"%PDF": "a PDF document",
    b"ORC": "an ORC file",
    b"Obj\x01": "an Avro file",
}
_COLUMNAR_SUFFIXES = {".parquet": "parquet", ".arrow": "ipc", ".feather": "ipc", ".ipc": "ipc"}
_KIND_NAMES = {
    "parquet": "Parquet",
    "ipc": "Arrow IPC",
    "csv": "CSV",
    "gzip": "gzip-compressed CSV",
    "zstd": "zstd-compressed CSV",
}
log = logging.getLogger(__name__)

HEAD_BYTES = 64 * 1024
# A header may be wide (100,000 columns is legal CSV): read on until a line break, up to this.
MAX_HEAD_BYTES = 64 * 1024 * 1024
# The raw line scan splits on NUL, so a line holding one has two fields: an error, as it should be.
LINE_SEPARATOR = "\x00"


@dataclass(frozen=True)
class Source:
    """One input file, ready to scan: a lazy frame with `close`, and what is known of it."""

    path: Location
    size: int
    kind: str
    scan: pl.LazyFrame | None  # every column of the file, under the names in `names`; None: no rows
    names: dict[str, str]  # column name, trimmed and lower-cased -> its name in `scan`
    close: str  # the name of close in `scan`
    close_dtype: pl.DataType
    layout: CsvLayout | None = None
    partition: dict[str, str] = field(default_factory=dict)  # hive `key=value` folders above it
    drop_blank_lines: bool = False  # read each row beside its raw line, leaving blank lines out
    tickers: int = 1  # the tickers of the file this source is one of (yfinance, several tickers)
    timestamp: TimestampReading | None = None  # how to read its `timestamp` column, once asked
    modified_ns: int | None = None  # a local file's modification time when it was opened
    # A CSV file with no data rows: the blank lines after its header (its `scan` is None).
    blank_lines: int | None = None

    @property
    def frame(self) -> pl.LazyFrame:
        """The rows: `close` and `suspect`."""
        return self.frame_with({})

    def frame_with(self, columns: Mapping[str, pl.Expr], *, row_index: str | None = None) -> pl.LazyFrame:
        """The rows with `close`, `suspect` and `columns`; with `drop_blank_lines`, blank lines left out.

        Without it, `suspect` flags rows that may be blank lines or malformed; with it, only
        malformed rows. `row_index` adds each row's index in the scan (blank lines counted), by
        which `signal_job.reading.lines.where` names its line.
        """
        close = pl.col(self.close)
        if self.layout is not None and not self.layout.numbers.plain:
            close = self.layout.numbers.normalized(close.str.strip_chars(VALUE_PADDING))
        selected = [
            close.alias("close"),
            *(expr.alias(name) for name, expr in columns.items()),
            *([pl.col(row_index)] if row_index else []),
        ]
        # One ticker among several (yfinance): a row where it has no close is another's row.
        # (No filter at all otherwise: even `filter(true)` keeps a head read from being cheap.)
        its_rows = pl.col(self.close).is_not_null() if self.tickers > 1 else pl.lit(value=True)
        suspect = pl.lit(value=False)
        if self.layout is not None:
            last, overflow = pl.col(f"_{len(self.layout.columns) - 1}"), pl.col("_overflow")
            suspect = last.is_null() | overflow.is_not_null()
        if self.scan is None:  # no data rows: nothing to read
            return self._no_rows([*selected, its_rows, suspect], row_index).select(*selected, suspect=suspect)
        scan = self.scan.with_row_index(row_index) if row_index else self.scan
        rows = scan.filter(its_rows) if self.tickers > 1 else scan
        if self.layout is None or not self.drop_blank_lines:
            return rows.select(*selected, suspect=suspect)
        raw = scan_lines(self.path, skip=self.layout.data_line, eol=self.layout.eol)
        # Polars refuses to pair frames of different lengths: quoted line breaks fail the scan.
        paired = pl.concat([scan, raw], how="horizontal")
        malformed = suspect & (raw_fields(pl.col("line"), self.layout) != len(self.layout.columns))
        kept = ~raw_blank(pl.col("line"), self.layout) & its_rows
        return paired.filter(kept).select(*selected, suspect=malformed)

    def _no_rows(self, exprs: list[pl.Expr], row_index: str | None) -> pl.LazyFrame:
        """An empty frame of the file's columns that `exprs` read, as its scan types them.

        Only those: a frame of every column costs seconds and gigabytes for millions of them.
        """
        assert self.layout is not None  # noqa: S101 - only a CSV file is told to have no rows
        close = f"_{self.layout.close_index}"
        names = {name for expr in exprs for name in expr.meta.root_names()}
        names.discard(row_index or "")
        dtypes = {name: self.close_dtype if name == close else pl.String() for name in sorted(names)}
        empty = pl.LazyFrame(schema=dtypes)
        return empty.with_row_index(row_index) if row_index else empty

    def column(self, name: str) -> pl.Expr | None:
        """The column `name` (any case, trimmed) of the file or of its hive folders, if any."""
        key = normal_name(name)
        if key in self.names:
            return pl.col(self.names[key])
        if key in self.partition:
            return pl.lit(self.partition[key], dtype=pl.String)
        return None

    def whole_row(self) -> pl.Expr:
        """Every column of the file as one struct, to tell rows identical in every column."""
        names = (
            [f"_{i}" for i in range(len(self.layout.columns))] if self.layout else list(self.names.values())
        )
        return pl.struct(names)

    def first_values(self, name: str) -> list[str] | None:
        """The column's first values (trimmed) from the lines sniffing read; None for other files."""
        scan_name = self.names.get(normal_name(name))
        if self.layout is None or scan_name is None:
            return None
        index = int(scan_name.removeprefix("_"))
        return [row[index].strip(VALUE_PADDING) for row in self.layout.sample if index < len(row)]

    def column_at(self, wanted: str | int) -> pl.Expr | None:
        """The column named `wanted`, or at 1-based position `wanted`, if there is one."""
        if isinstance(wanted, str):
            return self.column(wanted)
        names = (
            [f"_{i}" for i in range(len(self.layout.columns))] if self.layout else list(self.names.values())
        )
        return pl.col(names[wanted - 1]) if wanted <= len(names) else None

    def column_names(self) -> list[str]:
        """Every column name, trimmed and lower-cased, hive folder keys included."""
        return list(self.names) + [key for key in self.partition if key not in self.names]

    def describe(self) -> str:
        """The kind of file and, for CSV, its spelling, for the log."""
        name = _KIND_NAMES[self.kind]
        return f"{name}, {self.layout.describe()}" if self.layout else name

    def with_text_close(self) -> Source | None:
        """The same CSV source reading close as text to trim, if it read close as a number."""
        if self.layout is None or self.close_dtype == pl.String:
            return None
        if self.scan is None:  # no rows to read again
            return replace(self, close_dtype=pl.String())
        scan = _scan_csv(self.path, self.layout, close_dtype=pl.String())
        return replace(self, scan=scan, close_dtype=pl.String())


def open_source(path: Location, reading: Reading = Reading()) -> Source:
    """Check the input file, detect its kind and spelling, and plan its scan.

    `reading` holds the config's keys for what the file cannot tell (close_column, header, ...).
    """
    size, head, complete, modified_ns = _read_head(path)
    if size == 0:
        msg = f"input file {path} is empty"
        raise InputError(msg)
    kind = _kind(path, head)
    if kind in ("parquet", "ipc"):
        return replace(_columnar_source(path, size, kind, reading), modified_ns=modified_ns)
    if kind == "zstd":
        head, complete = _zstd_head(path), False
    elif kind == "gzip":
        head, complete = _gzip_head(path)
    lines, eol = _head_lines(path, head, complete=complete)
    layout = sniff_csv(lines, origin=f"input file {path}", eol=eol, reading=reading)
    for skipped in layout.skipped:
        log.info(
            "input file %s: skipped line %d (%r): it is not the header", path, skipped + 1, lines[skipped]
        )
    close_dtype: pl.DataType = pl.String() if layout.close_is_text else PRICE
    blank = blank_lines(path, kind, layout, head, complete=complete)
    scan = _scan_csv(path, layout, close_dtype=close_dtype) if blank is None else None
    names: dict[str, str] = {}
    for index, column in enumerate(layout.columns):
        key = normal_name(column)
        if key not in names:  # the first column of a name: no text made for the others
            names[key] = f"_{index}"
    close = f"_{layout.close_index}"
    return Source(
        path, size, kind, scan, names, close, close_dtype, layout, modified_ns=modified_ns, blank_lines=blank
    )


def split_tickers(source: Source) -> list[Source]:
    """One source per ticker of a yfinance file with several, each with the ticker as a column.

    Every other file is one source.
    """
    closes = ticker_closes(source.layout) if source.layout else []
    if len(closes) < 2:  # noqa: PLR2004
        return [source]
    return [
        replace(
            source, close=f"_{index}", partition={**source.partition, "ticker": ticker}, tickers=len(closes)
        )
        for ticker, index in closes
    ]


def raw_blank(line: pl.Expr, layout: CsvLayout) -> pl.Expr:
    """Whether a raw line is blank: nothing but padding (and, when wrapped, its quotes)."""
    text = line.str.strip_chars(layout.padding)
    if layout.wrapped:
        text = text.str.strip_chars('"')
    return text.is_null() | (text.str.len_bytes() == 0)


def raw_fields(line: pl.Expr, layout: CsvLayout) -> pl.Expr:
    """How many fields a raw line holds (delimiters inside quoted fields do not count)."""
    text = line.str.strip_chars(layout.padding)
    text = text.str.strip_chars('"') if layout.wrapped else text.str.replace_all(r'"[^"]*"', "")
    return text.str.count_matches(layout.delimiter, literal=True).fill_null(0) + 1


def scan_lines(path: Location, *, skip: int = 0, eol: str = "\n", ragged: bool = False) -> pl.LazyFrame:
    """A lazy frame of the file's raw lines, one row per line, in a column `line`.

    A line holding a NUL byte makes the scan fail (see `LINE_SEPARATOR`), unless `ragged`, which
    cuts it there; invalid UTF-8 reads as U+FFFD.
    """
    return pl.scan_csv(
        polars_path(path),
        has_header=False,
        separator=LINE_SEPARATOR,
        quote_char=None,
        schema={"line": pl.String},
        skip_lines=skip,
        eol_char=eol,
        encoding="utf8-lossy",
        truncate_ragged_lines=ragged,
        storage_options=polars_options(path),
        glob=False,  # a resolved file: `[` in its name is a character, not a pattern
    )


def _read_head(path: Location) -> tuple[int, bytes, bool, int | None]:
    """The file's size, first bytes (to a line break at least), whether they are all, and mtime.

    The modification time is a local file's (None for an object), to tell later if it changed.
    """
    if isinstance(path, Url):  # a ranged read: never the whole object
        file, size = open_object(path)
        with file:
            head = _read_to_line_break(file)
        return size, head, len(head) == size, None
    with open_regular(path, what="input file", error=InputError) as (local, status):
        head = _read_to_line_break(local)
    return status.st_size, head, len(head) == status.st_size, status.st_mtime_ns


def _read_to_line_break(file: BinaryIO | gzip.GzipFile) -> bytes:
    """`HEAD_BYTES`, or more, up to `MAX_HEAD_BYTES`, until they hold a line break."""
    head = file.read(HEAD_BYTES)
    while len(head) < MAX_HEAD_BYTES and b"\n" not in head and b"\r" not in head:
        more = file.read(len(head))
        if not more:
            break
        head += more
    return head


def _gzip_head(path: Location) -> tuple[bytes, bool]:
    try:
        with open_bytes(path) as compressed, gzip.GzipFile(fileobj=compressed) as file:
            head = _read_to_line_break(file)
            return head, not file.read(1)
    except (OSError, EOFError) as exc:
        msg = f"cannot read input file {path}: it is not a valid gzip file ({exc})"
        raise InputError(msg) from exc


def _zstd_head(path: Location) -> bytes:
    """The first lines of a zstd file, decompressed by Polars (the standard library cannot).

    Cut as a plain file's first bytes are (`_read_to_line_break`), so the same lines are sniffed.
    """
    try:
        lines = scan_lines(path, ragged=True).head(SAMPLE_LINES).collect()["line"].fill_null("").to_list()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {path}: {first_line(exc)}"
        raise InputError(msg) from exc
    return _read_to_line_break(io.BytesIO("\n".join(lines).encode() + b"\n"))


def _head_lines(path: Location, head: bytes, *, complete: bool) -> tuple[list[str | None], str]:
    """The first lines of a text file from its first bytes (much cheaper than a scan), and its line ending."""
    try:
        eol = line_ending(head, complete=complete)
    except ValueError as exc:
        msg = f"input file {path} {exc}"
        raise InputError(msg) from exc
    lines = head.decode("utf-8", errors="replace").split(eol)
    if not complete:
        if len(lines) == 1:
            msg = f"input file {path} has no line break in its first {len(head):,} bytes; is it a CSV file?"
            raise InputError(msg)
        lines.pop()  # cut off mid-line (perhaps mid-character) by the read
    elif lines[-1] == "":
        lines.pop()  # after the final line break
    return [line.removesuffix("\r") or None for line in lines[:SAMPLE_LINES]], eol


def _kind(path: Location, head: bytes) -> str:
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    for magic, what in _UNSUPPORTED_MAGIC.items():
        if head.startswith(magic):
            msg = f"input file {path} is {what}; supported inputs: {SUPPORTED}"
            raise InputError(msg)
    suffix = path.suffix.lower()
    if suffix in _COLUMNAR_SUFFIXES:
        name = _KIND_NAMES[_COLUMNAR_SUFFIXES[suffix]]
        msg = f"input file {path} is named {suffix} but is not a {name} file (its first bytes are wrong)"
        raise InputError(msg)
    if b"\x00" in head[:1024]:
        msg = f"input file {path} is not a text file; supported inputs: {SUPPORTED}"
        raise InputError(msg)
    return "csv"


def _columnar_source(path: Location, size: int, kind: str, reading: Reading) -> Source:
    options = polars_options(path)
    scan = (
        pl.scan_parquet(polars_path(path), storage_options=options, glob=False)
        if kind == "parquet"
        else pl.scan_ipc(polars_path(path), storage_options=options, glob=False)
    )
    try:
        schema = scan.collect_schema()
    except pl.exceptions.PolarsError as exc:
        msg = f"cannot read {_KIND_NAMES[kind]} file {path}: {first_line(exc)}"
        raise InputError(msg) from exc
    close = list(schema)[close_index(tuple(schema), f"input file {path}", reading)]
    dtype = schema[close]
    if not (dtype.is_numeric() or dtype == pl.String):
        msg = f"input file {path}: column {close!r} holds {dtype}, not numbers"
        raise InputError(msg)
    names: dict[str, str] = {}
    for name in schema:
        names.setdefault(normal_name(name), name)
    return Source(path, size, kind, scan, names, close, dtype)


def _scan_csv(path: Location, layout: CsvLayout, *, close_dtype: pl.DataType) -> pl.LazyFrame:
    # Positional names: header names may repeat, differ in case or carry padding and quotes.
    names = [f"_{i}" for i in range(len(layout.columns))]
    schema: dict[str, pl.DataType] = {name: pl.String() for name in names}
    schema[names[layout.close_index]] = close_dtype
    # Catches a field beyond the header's count; an empty one reads as null, so only rows whose
    # extra fields start empty get past it, and those never shift close out of its column.
    schema["_overflow"] = pl.String()
    return pl.scan_csv(
        polars_path(path),
        has_header=False,
        skip_lines=layout.data_line,
        schema=schema,
        separator=layout.delimiter,
        quote_char=layout.quote_char,
        truncate_ragged_lines=True,
        missing_columns="insert",
        eol_char=layout.eol,
        storage_options=polars_options(path),
        glob=False,  # a resolved file: `[` in its name is a character, not a pattern
    )
