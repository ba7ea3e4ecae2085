"""Staging folders: removed on exit, and never brought back by a writer that finishes late."""

from __future__ import annotations

import errno
import os
import shutil
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing import staging
from signal_job.computing.staging import not_staged, spooled, staging_folder, unwritable, writing_staged
from signal_job.errors import InputError, StagingError


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


def test_a_staging_folder_that_cannot_be_made_names_the_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("TMPDIR", str(tmp_path / "file"))
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "file"))  # as a Python caller may set it
    with pytest.raises(StagingError) as refused, staging_folder():
        pass
    assert str(refused.value) == (
        f"cannot write to the temporary folder {tmp_path / 'file'} (TMPDIR), where the run stages rows on "
        "disk: Not a directory; set TMPDIR to a folder this run can write"
    )


@pytest.mark.parametrize(
    ("error", "what_to_do"),
    [
        (
            pl.exceptions.ComputeError("parquet: underlying IO error: No space left on device (os error 28)"),
            "No space left on device; free space there, or set TMPDIR to a folder on a disk with more room",
        ),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "Disk quota exceeded; free space there (a disk quota"),
        (
            OSError(errno.EFBIG, "File too large"),
            "File too large; set TMPDIR to a folder on a disk that takes",
        ),
        (OSError("Read-only file system (os error 30)"), "Read-only file system; set TMPDIR to a folder on"),
    ],
)
def test_a_staged_write_the_disk_refuses_is_the_temporary_folder_s_error(
    empty_tmpdir: Path, error: Exception, what_to_do: str
) -> None:
    with pytest.raises(
        StagingError, match=rf"^cannot write to the temporary folder {empty_tmpdir} \(TMPDIR\)"
    ):
        with writing_staged():
            raise error
    assert what_to_do in str(unwritable(error))


@pytest.mark.parametrize(
    "error",
    [
        pl.exceptions.ComputeError("could not parse `abc` as dtype `decimal[38,18]` at column 'close'"),
        PermissionError(errno.EACCES, "Permission denied"),  # the input's, perhaps: not said to be TMPDIR's
    ],
)
def test_other_failures_of_a_staging_query_pass_as_they_are(error: Exception) -> None:
    with pytest.raises(type(error)), writing_staged():
        raise error
    assert unwritable(error) is None


def test_the_temporary_folder_is_named_with_what_tmpdir_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.delenv("TMPDIR", raising=False)
    assert f"folder {tmp_path} (TMPDIR is not set)," in str(not_staged(errno.ENOSPC))
    monkeypatch.setenv("TMPDIR", "/elsewhere")  # passed over by Python: not writable, or full
    assert f"folder {tmp_path} (TMPDIR is /elsewhere)," in str(not_staged(errno.ENOSPC))


@pytest.mark.parametrize(
    ("start", "name"),
    [
        (b"timestamp,close\n", "stdin.csv"),
        (b"\x1f\x8b\x08", "stdin.csv.gz"),
        (b"\x28\xb5\x2f\xfd", "stdin.csv.zst"),
        (b"PAR1", "stdin.parquet"),
        (b"ARROW1", "stdin.arrow"),
    ],
)
def test_a_stream_is_copied_whole_under_a_name_that_says_its_format(
    empty_tmpdir: Path, start: bytes, name: str
) -> None:
    data = start + bytes(range(256)) * 8000  # past one chunk
    read, write = os.pipe()

    def feed() -> None:
        with os.fdopen(write, "wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        with spooled(read) as copy:
            assert copy.name == name
            assert copy.read_bytes() == data
    finally:
        writer.join()
        os.close(read)
    assert list(empty_tmpdir.iterdir()) == []


def test_a_stream_that_cannot_be_read_is_an_input_error(empty_tmpdir: Path) -> None:
    read, write = os.pipe()
    os.close(read)
    with pytest.raises(InputError, match=r"^cannot read standard input: "), spooled(write):
        pass
    os.close(write)
    assert list(empty_tmpdir.iterdir()) == []


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors in /proc")
def test_a_stop_during_the_removal_still_removes_the_folder_and_closes_its_descriptors(
    empty_tmpdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stop (SIGTERM raises in this thread) may come while the folder is being removed.
    real = shutil.rmtree
    stops = iter([KeyboardInterrupt()])

    def interrupted(path: str, *, ignore_errors: bool = False) -> None:
        stop = next(stops, None)
        if stop is not None:
            raise stop
        real(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(shutil, "rmtree", interrupted)  # as staging calls it
    before = len(list(Path("/proc/self/fd").iterdir()))
    with pytest.raises(KeyboardInterrupt), staging_folder() as folder:
        (folder / "rows.parquet").write_bytes(b"x")
    assert list(empty_tmpdir.iterdir()) == []
    assert len(list(Path("/proc/self/fd").iterdir())) == before
