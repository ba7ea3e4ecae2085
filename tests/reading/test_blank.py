from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_job.reading.blank import blank_lines
from signal_job.reading.sources import open_source, raw_blank, scan_lines
from tests.conftest import WriteFile, examples


def told(path: Path, data: bytes, *, head: int, chunk: int) -> int | None:
    """`blank_lines` for a file of (decompressed) bytes `data`, given its first `head` bytes."""
    source = open_source(path)
    assert source.layout is not None
    kind = "gzip" if path.suffix == ".gz" else "csv"
    return blank_lines(path, kind, source.layout, data[:head], complete=head >= len(data), chunk=chunk)


def scanned(path: Path) -> int | None:
    """What the scans say: the rows after the header if every raw line is blank, else None."""
    source = open_source(path)
    assert source.layout is not None
    lines = scan_lines(path, skip=source.layout.data_line, eol=source.layout.eol)
    blank = raw_blank(pl.col("line"), source.layout)
    found = lines.select(rows=pl.len(), blank=blank.all()).collect()
    return int(found["rows"].item()) if found["blank"].item() else None


BODY = st.lists(st.sampled_from([b"\n", b"\r\n", b" ", b"\t", b"\r\n\n", b"\n2024-01-01,1"]), max_size=30)


@settings(max_examples=examples(150), deadline=None)
@given(
    header=st.sampled_from([b"timestamp,close", b"timestamp\tclose", b"close", b"url\ntimestamp,close"]),
    end=st.sampled_from([b"", b"\n", b"\r\n"]),
    body=BODY,
    gzipped=st.booleans(),
    head=st.integers(0, 80),
    chunk=st.integers(1, 9),
)
def test_the_bytes_tell_what_the_scans_tell(
    tmp_path_factory: pytest.TempPathFactory,
    *,
    header: bytes,
    end: bytes,
    body: list[bytes],
    gzipped: bool,
    head: int,
    chunk: int,
) -> None:
    data = header + end + b"".join(body)
    path = tmp_path_factory.mktemp("blank") / ("f.csv.gz" if gzipped else "f.csv")
    path.write_bytes(gzip.compress(data) if gzipped else data)
    # In any chunks, from any head: the first data byte is found wherever it falls, and a
    # header line split across chunks is passed whole.
    assert told(path, data, head=head, chunk=chunk) == scanned(path)


def test_a_file_of_blank_lines_after_its_header_is_not_scanned(write_file: WriteFile) -> None:
    source = open_source(write_file("blank.csv", "timestamp,close\n\n  \r\n\t\n \t"))
    assert source.scan is None
    assert source.blank_lines == 4  # the last line has no line end
    assert source.frame.collect().height == 0


def test_a_file_with_a_row_after_many_blank_lines_is_scanned(write_file: WriteFile) -> None:
    source = open_source(write_file("late.csv", "timestamp,close\n" + "\n" * 200_000 + "2024-01-01,1\n"))
    assert source.scan is not None
    assert source.blank_lines is None


def test_a_gzip_of_several_members_is_read_through(write_file: WriteFile) -> None:
    data = gzip.compress(b"timestamp,close\n" + b"\n" * 100_000) + gzip.compress(b"\r\n" * 100_000)
    assert open_source(write_file("members.csv.gz", data)).blank_lines == 200_000
    with_row = data + gzip.compress(b"2024-01-01,1\n")
    assert open_source(write_file("row.csv.gz", with_row)).blank_lines is None


def test_a_gzip_cut_short_is_left_to_the_scan(write_file: WriteFile) -> None:
    data = gzip.compress(b"timestamp,close\n" + b"\n" * 200_000)
    assert open_source(write_file("cut.csv.gz", data[:-12])).blank_lines is None


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("quotes.csv", b'"timestamp,close"\n""\n'),  # blank to the scan, but quotes are not padding
        # Past the first bytes, which sniffing reads (and would refuse): found by reading on.
        ("nul.csv", b"timestamp,close\n" + b"\n" * 70_000 + b"\x00\n"),
        ("latin1.csv", b"timestamp,close\n" + b"\n" * 70_000 + b"\xe9\n"),
    ],
    ids=["quotes", "nul", "latin1"],
)
def test_lines_that_are_not_plainly_blank_are_left_to_the_scan(
    write_file: WriteFile, name: str, data: bytes
) -> None:
    assert open_source(write_file(name, data)).blank_lines is None


def test_a_zstd_file_is_left_to_the_scan(write_file: WriteFile) -> None:
    path = write_file("blank.csv", b"timestamp,close\n" + b"\n" * 1000)
    pl.scan_csv(path, has_header=False, schema={"line": pl.String}, separator="\x00").sink_csv(
        path.with_suffix(".csv.zst"), include_header=False, compression="zstd"
    )
    assert open_source(path.with_suffix(".csv.zst")).blank_lines is None
