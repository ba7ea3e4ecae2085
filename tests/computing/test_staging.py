"""Staging folders: removed on exit, and never brought back by a writer that finishes late."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing import staging
from signal_job.computing.staging import staging_folder


def partitioned(rows: int) -> pl.LazyFrame:
    return pl.LazyFrame({"a": range(rows), "bucket": [index % 3 for index in range(rows)]})


def failed_staging() -> Path:
    """The folder handed to a staging that ended with an error."""
    try:
        with staging_folder() as folder:
            raise RuntimeError
    except RuntimeError:
        return folder
    raise AssertionError


def test_files_written_in_the_folder_are_there_until_it_is_left(empty_tmpdir: Path) -> None:
    with staging_folder() as folder:
        partitioned(10).sink_parquet(pl.PartitionBy(folder, key="bucket"))
        (real,) = empty_tmpdir.iterdir()
        assert sorted(path.parent.name for path in real.rglob("*.parquet")) == [
            "bucket=0",
            "bucket=1",
            "bucket=2",
        ]
        assert (
            pl.scan_parquet(folder / "bucket=1" / "00000000.parquet").select(pl.len()).collect().item() == 3
        )
    assert list(empty_tmpdir.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="folders are named through /proc/self/fd on Linux only")
def test_a_writer_finishing_after_a_failure_cannot_bring_the_folder_back(empty_tmpdir: Path) -> None:
    # What a failed partitioned sink's late writer does: make its folders, then write its file.
    seen = failed_staging()
    with pytest.raises(FileNotFoundError):
        partitioned(10).sink_parquet(pl.PartitionBy(seen, key="bucket"))
    assert list(empty_tmpdir.iterdir()) == []


def test_descriptors_kept_after_a_failure_are_closed_later(
    empty_tmpdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging, "_parked", [])
    failed_staging()
    assert len(staging._parked) == 1
    with staging_folder():
        pass
    assert len(staging._parked) == 1  # still within LATE_WRITER_SECONDS
    monkeypatch.setattr(staging, "LATE_WRITER_SECONDS", 0.0)
    with staging_folder():
        pass
    assert staging._parked == []
