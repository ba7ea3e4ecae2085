"""A signals dataset's folder: built beside the path, swapped in whole, a stale one removed."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from signal_job import safe_files
from signal_job.errors import OutputError
from signal_job.reporting.folders import building, folder_target, remove_stale_dataset
from signal_job.reporting.outputs import Pending
from tests.reporting.test_outputs import signals_file


@pytest.fixture(autouse=True)
def _clean_again() -> None:
    safe_files._CLEANED.clear()  # each test's folder is new; let every run look for orphans again


def dataset(folder: Path, parts: int = 2) -> Path:
    folder.mkdir()
    for index in range(parts):
        signals_file(folder / f"part-{index:05}.parquet")
    return folder


def test_a_built_dataset_replaces_the_old_one_whole_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals", parts=3)
    old = os.umask(0o022)
    try:
        with building(folder_target(path)) as folder:
            signals_file(folder / "part-00000.parquet")
    finally:
        os.umask(old)
    assert sorted(part.name for part in path.iterdir()) == ["part-00000.parquet"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert [entry.name for entry in tmp_path.iterdir()] == ["signals"]


def test_a_pending_dataset_is_swapped_in_only_when_placed(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals", parts=3)
    with Pending() as pending:
        with building(folder_target(path), pending=pending) as folder:
            signals_file(folder / "part-00000.parquet")
        assert len(list(path.iterdir())) == 3  # the old dataset, until the run's document is ready
        pending.place()
    assert sorted(part.name for part in path.iterdir()) == ["part-00000.parquet"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["signals"]


def test_a_pending_dataset_never_placed_is_removed(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals", parts=3)
    with Pending() as pending, building(folder_target(path), pending=pending) as folder:
        signals_file(folder / "part-00000.parquet")
    assert len(list(path.iterdir())) == 3
    assert [entry.name for entry in tmp_path.iterdir()] == ["signals"]


def test_a_failing_block_keeps_the_old_dataset_and_removes_its_folder(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals")

    def one_part_then_fail() -> None:
        with building(folder_target(path)) as folder:
            signals_file(folder / "part-00000.parquet")
            raise FileNotFoundError(2, "an input vanished")

    with pytest.raises(FileNotFoundError):
        one_part_then_fail()
    assert sorted(part.name for part in path.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]
    assert [entry.name for entry in tmp_path.iterdir()] == ["signals"]


def test_a_folder_that_gets_other_files_meanwhile_is_not_replaced(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals")
    found = folder_target(path)

    def build_while_another_writes() -> None:
        with building(found) as folder:
            signals_file(folder / "part-00000.parquet")
            (path / "notes.txt").write_text("someone's")

    with pytest.raises(OutputError, match=r"now holds files that are not signals parts"):
        build_while_another_writes()
    assert (path / "notes.txt").exists()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["signals"]


def test_a_dataset_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    found = folder_target(tmp_path / "nowhere" / "signals")
    with pytest.raises(OutputError, match=r"output folder .*nowhere does not exist"):
        building(found).__enter__()


def test_a_stale_dataset_is_removed_after_a_failed_run(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals")
    remove_stale_dataset(folder_target(path), ours=None)
    assert list(tmp_path.iterdir()) == []


def test_another_runs_new_dataset_is_kept(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals")
    found = folder_target(path)
    newer = dataset(tmp_path / "newer")
    path.rename(tmp_path / "older")
    newer.rename(path)  # a concurrent run swapped its dataset in meanwhile
    remove_stale_dataset(found, ours=None)
    assert sorted(part.name for part in path.iterdir()) == ["part-00000.parquet", "part-00001.parquet"]


def test_an_empty_folder_is_used_but_never_removed_as_stale(tmp_path: Path) -> None:
    path = tmp_path / "signals"
    path.mkdir()
    remove_stale_dataset(folder_target(path), ours=None)
    assert path.is_dir()


def test_a_part_that_is_not_a_signals_file_makes_the_folder_not_a_dataset(tmp_path: Path) -> None:
    path = dataset(tmp_path / "signals")
    (path / "part-00002.parquet").write_text("not parquet")
    with pytest.raises(
        OutputError, match=r"holds 'part-00002\.parquet', which is no part of a signals dataset"
    ):
        folder_target(path)
