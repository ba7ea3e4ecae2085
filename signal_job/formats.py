"""The file formats a table the job writes may take, told by the name's ending: one rule for every output.

`generate`'s candles, the signals file and the groups table all pick their format here, and write it
with the matching Polars sink, so that a name never says one format while the bytes are another.
"""

from __future__ import annotations

import enum
from pathlib import Path, PurePath
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


class FileFormat(enum.Enum):
    """How a table is written: CSV (plain or compressed), Parquet or Arrow IPC (Feather v2)."""

    CSV = "CSV"
    CSV_GZIP = "CSV (gzip)"
    CSV_ZSTD = "CSV (zstd)"
    PARQUET = "Parquet"
    IPC = "Arrow IPC"


# Polars writes Feather v2, which is the Arrow IPC file format, with `sink_ipc`.
SUFFIXES: dict[str, FileFormat] = {
    ".csv": FileFormat.CSV,
    ".gz": FileFormat.CSV_GZIP,
    ".zst": FileFormat.CSV_ZSTD,
    ".parquet": FileFormat.PARQUET,
    ".arrow": FileFormat.IPC,
    ".ipc": FileFormat.IPC,
    ".feather": FileFormat.IPC,
}
KNOWN = ", ".join(SUFFIXES)  # for messages: ".csv, .gz, ..."


def format_of(name: PurePath | str) -> FileFormat | None:
    """The format that the name's ending says (in any case), None for an ending not in `SUFFIXES`."""
    return SUFFIXES.get(PurePath(name).suffix.lower())


def ending(name: PurePath | str) -> str:
    """The name's ending, in words for a message: "ends in '.txt'" or "has no ending"."""
    suffix = PurePath(name).suffix
    return f"ends in {suffix!r}" if suffix else "has no ending"


def sink(
    frame: pl.LazyFrame,
    to: str | Path | IO[bytes],
    kind: FileFormat,
    *,
    metadata: dict[str, str] | None = None,
) -> pl.LazyFrame:
    """The lazy sink of `frame` into `to` as `kind`: collecting it streams the rows there.

    `metadata` is Parquet's; CSV keeps Polars' shortest exact text of each float and the full
    precision of each time, so the values read back as they were.
    """
    if kind is FileFormat.PARQUET:
        return frame.sink_parquet(to, metadata=metadata, lazy=True)
    if kind is FileFormat.IPC:
        return frame.sink_ipc(to, lazy=True)
    if kind is FileFormat.CSV_GZIP:
        return frame.sink_csv(to, compression="gzip", check_extension=False, lazy=True)
    if kind is FileFormat.CSV_ZSTD:
        return frame.sink_csv(to, compression="zstd", check_extension=False, lazy=True)
    return frame.sink_csv(to, check_extension=False, lazy=True)
