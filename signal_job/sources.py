"""Input files: tell the kind from the first bytes, then scan it lazily with the right options.

Every source becomes the same lazy frame with a `close` column, so the pipeline has one shape;
its other columns are there by name for the plan to ask for. CSV frames carry two helper columns,
`_last` (the row's last field) and `_overflow` (a field beyond the header's count), from which
`Source.suspect` flags rows that may be blank lines or malformed rows; `signal_job.lines` looks
at those only when there are any.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from signal_job.errors import InputError, file_problem, first_line
from signal_job.signals import PRICE
from signal_job.sniff import SAMPLE_LINES, CsvLayout, sniff_csv

if TYPE_CHECKING:
    from signal_job.timestamps import TimestampReading

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
HEAD_BYTES = 64 * 1024
# A byte that never separates fields, so a CSV scan with it yields each line whole.
LINE_SEPARATOR = "\x00"


@dataclass(frozen=True)
class Source:
    """One input file, ready to scan: a lazy frame with `close`, and what is known of it."""

    path: Path
    size: int
    kind: str
    scan: pl.LazyFrame  # every column of the file, under the names in `names`
    names: dict[str, str]  # column name, trimmed and lower-cased -> its name in `scan`
    close: str  # the name of close in `scan`
    close_dtype: pl.DataType
    suspect: pl.Expr  # True on rows that may be blank lines or rows of the wrong length
    layout: CsvLayout | None = None
    partition: dict[str, str] = field(default_factory=dict)  # hive `key=value` folders above it
    skipped_rows: pl.Series | None = None  # rows of `scan` that are blank lines, once known
    timestamp: TimestampReading | None = None  # how to read its `timestamp` column, once asked

    @property
    def frame(self) -> pl.LazyFrame:
        """The rows: `close`, plus the helper columns `suspect` reads for CSV."""
        return self.frame_with({})

    def frame_with(self, columns: Mapping[str, pl.Expr]) -> pl.LazyFrame:
        """The rows with `close` (and the CSV helpers) and `columns`, blank lines left out."""
        helpers = []
        if self.layout is not None:
            last = f"_{len(self.layout.columns) - 1}"
            helpers = [pl.col(last).alias("_last"), pl.col("_overflow")]
        scan = self.scan
        if self.skipped_rows is not None and self.skipped_rows.len():
            scan = scan.with_row_index("_row").filter(~pl.col("_row").is_in(self.skipped_rows.implode()))
        return scan.select(
            pl.col(self.close).alias("close"),
            *helpers,
            *(expr.alias(name) for name, expr in columns.items()),
        )

    def column(self, name: str) -> pl.Expr | None:
        """The column `name` (any case, trimmed) of the file or of its hive folders, if any."""
        key = normal_name(name)
        if key in self.names:
            return pl.col(self.names[key])
        if key in self.partition:
            return pl.lit(self.partition[key], dtype=pl.String)
        return None

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
        scan = _scan_csv(self.path, self.layout, close_dtype=pl.String())
        return replace(self, scan=scan, close_dtype=pl.String())


def open_source(path: Path) -> Source:
    """Check the input file, detect its kind and spelling, and plan its scan."""
    size, head, complete = _read_head(path)
    if size == 0:
        msg = f"input file {path} is empty"
        raise InputError(msg)
    kind = _kind(path, head)
    if kind in ("parquet", "ipc"):
        return _columnar_source(path, size, kind)
    lines = _head_lines(path, head, complete=complete) if kind == "csv" else _decompressed_head_lines(path)
    layout = sniff_csv(lines, origin=f"input file {path}")
    close_dtype: pl.DataType = pl.String() if layout.close_is_text else PRICE
    scan = _scan_csv(path, layout, close_dtype=close_dtype)
    names: dict[str, str] = {}
    for index, column in enumerate(layout.columns):
        names.setdefault(normal_name(column), f"_{index}")
    suspect = pl.col("_last").is_null() | pl.col("_overflow").is_not_null()
    return Source(path, size, kind, scan, names, f"_{layout.close_index}", close_dtype, suspect, layout)


def normal_name(name: str) -> str:
    """A column name as the job matches it: trimmed, unquoted, lower-cased."""
    return name.strip().strip('"').strip().lower()


def _read_head(path: Path) -> tuple[int, bytes, bool]:
    """The file's size, its first bytes, and whether they are the whole file."""
    try:
        with path.open("rb") as file:
            size = os.fstat(file.fileno()).st_size
            head = file.read(HEAD_BYTES)
    except OSError as exc:
        raise InputError(file_problem(exc, "input file", path)) from exc
    return size, head, len(head) == size


def _head_lines(path: Path, head: bytes, *, complete: bool) -> list[str | None]:
    """The first lines of a plain text file from its first bytes: much cheaper than a scan."""
    lines = head.decode("utf-8", errors="replace").split("\n")
    if not complete:
        if len(lines) == 1:
            kib = HEAD_BYTES // 1024
            msg = f"input file {path} has no line break in its first {kib} KiB; is it a CSV file?"
            raise InputError(msg)
        lines.pop()  # cut off mid-line (perhaps mid-character) by the read
    elif lines[-1] == "":
        lines.pop()  # after the final newline
    return [line.removesuffix("\r") or None for line in lines[:SAMPLE_LINES]]


def _decompressed_head_lines(path: Path) -> list[str | None]:
    """The first lines of a compressed CSV, decompressed by Polars (`None` for an empty line)."""
    try:
        return scan_lines(path).head(SAMPLE_LINES).collect()["line"].to_list()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"cannot read input file {path}: {first_line(exc)}"
        raise InputError(msg) from exc


def scan_lines(path: Path, *, skip: int = 0) -> pl.LazyFrame:
    """A lazy frame of the file's raw lines, one row per line, in a column `line`."""
    return pl.scan_csv(
        path,
        has_header=False,
        separator=LINE_SEPARATOR,
        quote_char=None,
        schema={"line": pl.String},
        skip_lines=skip,
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    )


def _kind(path: Path, head: bytes) -> str:
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


def _columnar_source(path: Path, size: int, kind: str) -> Source:
    scan = pl.scan_parquet(path) if kind == "parquet" else pl.scan_ipc(path)
    try:
        schema = scan.collect_schema()
    except pl.exceptions.PolarsError as exc:
        msg = f"cannot read {_KIND_NAMES[kind]} file {path}: {first_line(exc)}"
        raise InputError(msg) from exc
    matches = [name for name in schema if normal_name(name) == "close"]
    if len(matches) != 1:
        found = ", ".join(repr(name) for name in schema) or "none"
        problem = f"{len(matches)} columns that match 'close'" if matches else "no 'close' column"
        msg = f"input file {path} has {problem}; columns found: {found}"
        raise InputError(msg)
    dtype = schema[matches[0]]
    if not (dtype.is_numeric() or dtype == pl.String):
        msg = f"input file {path}: column {matches[0]!r} holds {dtype}, not numbers"
        raise InputError(msg)
    names: dict[str, str] = {}
    for name in schema:
        names.setdefault(normal_name(name), name)
    return Source(path, size, kind, scan, names, matches[0], dtype, pl.lit(value=False))


def _scan_csv(path: Path, layout: CsvLayout, *, close_dtype: pl.DataType) -> pl.LazyFrame:
    # Positional names: header names may repeat, differ in case or carry padding and quotes.
    names = [f"_{i}" for i in range(len(layout.columns))]
    schema: dict[str, pl.DataType] = {name: pl.String() for name in names}
    schema[names[layout.close_index]] = close_dtype
    # Catches a field beyond the header's count; an empty one reads as null, so only rows whose
    # extra fields start empty get past it, and those never shift close out of its column.
    schema["_overflow"] = pl.String()
    return pl.scan_csv(
        path,
        has_header=False,
        skip_lines=layout.header_line + 1,
        schema=schema,
        separator=layout.delimiter,
        quote_char=layout.quote_char,
        truncate_ragged_lines=True,
        missing_columns="insert",
    )
