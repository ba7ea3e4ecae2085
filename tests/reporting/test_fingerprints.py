"""What a run read: the document's `inputs`, from real files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import xxhash

import signal_job
from signal_job.reporting.fingerprints import MAX_LISTED, FileFacts, summary
from tests.conftest import PROJECT

CONFIG = {"seed": 1, "window": 5, "version": "v"}


def inputs_of(path: Path, *, hashed: bool = False) -> dict[str, Any]:
    inputs: dict[str, Any] = signal_job.run(path, config=CONFIG, hash_inputs=hashed).document["inputs"]
    return inputs


def test_every_run_records_each_file_its_size_and_time(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    inputs = inputs_of(tmp_path / "data.csv")
    size = (tmp_path / "data.csv").stat().st_size
    assert (inputs["files"], inputs["bytes"]) == (1, size)
    assert inputs["fingerprint"].startswith("meta-blake2b:")
    [entry] = inputs["list"]
    assert entry["path"] == str(tmp_path / "data.csv")
    assert entry["size"] == size
    assert entry["modified"].endswith("+00:00")
    assert "xxh3_128" not in entry


def test_the_hash_is_of_every_byte_and_a_changed_byte_changes_it(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    shutil.copy(PROJECT / "data.csv", path)
    first = inputs_of(path, hashed=True)
    assert first["list"][0]["xxh3_128"] == xxhash.xxh3_128_hexdigest(path.read_bytes())
    assert first == inputs_of(path, hashed=True)  # the same files: the same fingerprint
    status = path.stat()
    data = bytearray(path.read_bytes())
    data[-3] = ord("9") if data[-3] != ord("9") else ord("8")  # a digit of the last close
    path.write_bytes(bytes(data))
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))  # same size, same time
    assert inputs_of(path)["fingerprint"] == inputs_of(path)["fingerprint"]
    changed = inputs_of(path, hashed=True)
    assert changed["fingerprint"] != first["fingerprint"]
    assert changed["list"][0]["modified"] == first["list"][0]["modified"]


def test_the_same_bytes_elsewhere_hash_alike_but_their_metadata_differs(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        shutil.copy(PROJECT / "data.csv", tmp_path / name / "data.csv")
    hashed = [inputs_of(tmp_path / name / "data.csv", hashed=True)["fingerprint"] for name in ("a", "b")]
    plain = [inputs_of(tmp_path / name / "data.csv")["fingerprint"] for name in ("a", "b")]
    assert hashed[0] == hashed[1]
    assert plain[0] != plain[1]


def test_files_are_listed_once_each_in_the_order_they_were_read(tmp_path: Path) -> None:
    lines = (PROJECT / "data.csv").read_bytes().split(b"\r\n")
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "b.csv").write_bytes(b"\r\n".join(lines[:5001]))  # earlier rows, later name
    (tmp_path / "days" / "a.csv").write_bytes(b"\r\n".join([lines[0], *lines[5001:]]))
    inputs = inputs_of(tmp_path / "days", hashed=True)
    assert [Path(entry["path"]).name for entry in inputs["list"]] == ["b.csv", "a.csv"]
    assert inputs["bytes"] == sum(entry["size"] for entry in inputs["list"])


def test_a_long_list_is_cut_but_the_count_and_fingerprint_cover_every_file() -> None:
    found = [FileFacts(f"/d/{index}.csv", 10, "2024-01-01T00:00:00+00:00") for index in range(MAX_LISTED + 5)]
    inputs = summary(found, hashed=False)
    assert (inputs["files"], inputs["bytes"], len(inputs["list"])) == (
        MAX_LISTED + 5,
        10 * (MAX_LISTED + 5),
        MAX_LISTED,
    )
    assert summary(found[:-1], hashed=False)["fingerprint"] != inputs["fingerprint"]
