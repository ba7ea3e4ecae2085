"""The formats of the tables the job writes: told by the name's ending, written by the matching sink."""

from __future__ import annotations

import io
from pathlib import Path, PurePath

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from signal_job.formats import FileFormat, ending, format_of, sink

FRAME = pl.DataFrame(
    {"x": [0.1, 0.30000000000000004, 5e-324, None], "s": pl.Series([1, 0, 1, 0], dtype=pl.Int8)}
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("a.csv", FileFormat.CSV),
        ("A.CSV", FileFormat.CSV),
        ("a.csv.gz", FileFormat.CSV_GZIP),
        ("a.csv.zst", FileFormat.CSV_ZSTD),
        ("a.parquet", FileFormat.PARQUET),
        ("a.arrow", FileFormat.IPC),
        ("a.ipc", FileFormat.IPC),
        ("a.feather", FileFormat.IPC),
        ("a.txt", None),
        ("a", None),
        ("dir.csv/a", None),
    ],
)
def test_the_format_is_the_one_the_names_ending_says(name: str, kind: FileFormat | None) -> None:
    assert format_of(PurePath(name)) is kind


def test_an_ending_is_said_in_words() -> None:
    assert ending("a.TXT") == "ends in '.TXT'"
    assert ending(Path("a")) == "has no ending"


@pytest.mark.parametrize("kind", list(FileFormat))
def test_every_format_reads_back_as_it_was_written(tmp_path: Path, kind: FileFormat) -> None:
    path = tmp_path / "t"
    sink(FRAME.lazy(), path, kind).collect()
    if kind is FileFormat.PARQUET:
        read = pl.read_parquet(path)
    elif kind is FileFormat.IPC:
        read = pl.read_ipc(path)
    else:
        read = pl.read_csv(path, schema_overrides=FRAME.schema)
    assert_frame_equal(read, FRAME)


def test_the_sink_writes_into_an_open_file_when_collected() -> None:
    buffer = io.BytesIO()
    query = sink(FRAME.lazy(), buffer, FileFormat.CSV)
    assert buffer.getvalue() == b""
    query.collect()
    assert buffer.getvalue().decode().splitlines()[:2] == ["x,s", "0.1,1"]
