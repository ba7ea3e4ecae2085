from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from signal_job.errors import OutputError
from signal_job.metrics import atomic_output, error_document, render, success_document, write_atomic


def test_success_document_has_its_keys_in_order() -> None:
    document = success_document(version="v1", rows=10000, value=0.4989, latency_ms=57, seed=42)
    assert render(document) == (
        b'{\n  "version": "v1",\n  "rows_processed": 10000,\n  "metric": "signal_rate",\n'
        b'  "value": 0.4989,\n  "latency_ms": 57,\n  "seed": 42,\n  "status": "success"\n}\n'
    )


def test_error_document_without_a_version_says_unknown() -> None:
    assert render(error_document(version=None, message="bad")) == (
        b'{\n  "version": "unknown",\n  "status": "error",\n  "error_message": "bad"\n}\n'
    )


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("old")
    write_atomic(path, b"new\n")
    assert path.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "metrics.json", b"{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "metrics.json").stat().st_mode) == 0o644


def test_failed_rename_keeps_the_old_file_and_removes_the_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("old")

    def refuse(_source: str, _target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError, match=r"cannot write output file .*: No space left on device"):
        write_atomic(path, b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_output_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a directory; give a file name"):
        write_atomic(tmp_path, b"{}")


def test_output_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"output folder .*nope does not exist"):
        write_atomic(tmp_path / "nope" / "metrics.json", b"{}")


def test_output_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match="is not a folder"):
        write_atomic(tmp_path / "file" / "metrics.json", b"{}")


def test_a_failing_block_keeps_the_old_file_and_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    path.write_text("old")

    def half_write_then_fail() -> None:
        with atomic_output(path, what="signals file") as temporary:
            temporary.write_text("half")
            raise FileNotFoundError(2, "an input vanished")  # not an output problem: not renamed

    with pytest.raises(FileNotFoundError):
        half_write_then_fail()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["signals.parquet"]


def test_a_write_that_fails_is_an_output_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_self: Path, _data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OutputError, match=r"cannot write output file .*: No space left on device"):
        write_atomic(tmp_path / "metrics.json", b"{}")
    assert list(tmp_path.iterdir()) == []
