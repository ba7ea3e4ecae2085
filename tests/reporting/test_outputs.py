from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl
import pytest

from signal_job import safe_files
from signal_job.computing.plan import SIGNALS_METADATA
from signal_job.errors import ClashError, OutputError
from signal_job.options import Option
from signal_job.reporting.outputs import (
    Pending,
    Target,
    atomic,
    check_clashes,
    remove_stale_signals,
    target,
    together,
    write,
)
from signal_job.safe_files import identity


@pytest.fixture(autouse=True)
def _clean_again() -> None:
    safe_files._CLEANED.clear()  # each test's folder is new; let every run look for orphans again


def out(path: Path, option: Option = Option.OUTPUT) -> Target:
    return target(option, path)


def test_write_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("old")
    write(out(path), b"new\n")
    assert path.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_written_file_has_ordinary_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write(out(tmp_path / "metrics.json"), b"{}\n")
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
        write(out(path), b"new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_output_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="is a folder; give a file name such as"):
        out(tmp_path)


def test_output_in_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"output folder .*nope does not exist"):
        write(out(tmp_path / "nope" / "metrics.json"), b"{}")


def test_output_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputError, match=r"Not a directory|is not a folder"):
        write(out(tmp_path / "file" / "metrics.json"), b"{}")


def test_a_failing_block_keeps_the_old_file_and_its_own_error(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    path.write_text("old")

    def half_write_then_fail() -> None:
        with atomic(out(path, Option.SIGNALS)) as temporary:
            temporary.write_text("half")
            raise FileNotFoundError(2, "an input vanished")  # not an output problem: not renamed

    with pytest.raises(FileNotFoundError):
        half_write_then_fail()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["signals.parquet"]


def test_a_pending_file_goes_in_place_only_when_placed_and_is_held_until_then(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    path.write_text("old")
    with Pending() as pending:
        with atomic(out(path, Option.SIGNALS), pending=pending) as temporary:
            temporary.write_text("new")
        assert path.read_text() == "old"  # until the run's document is ready
        safe_files._CLEANED.clear()
        os.utime(temporary, (0, 0))  # old, yet held: no other run takes it for a killed run's
        safe_files.remove_orphans(tmp_path)
        assert temporary.exists()
        pending.place()
    assert path.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["signals.parquet"]


def test_a_pending_file_never_placed_is_removed(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    path.write_text("old")
    with Pending() as pending, atomic(out(path, Option.SIGNALS), pending=pending) as temporary:
        temporary.write_text("new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["signals.parquet"]


def test_together_locks_each_folder_an_output_is_renamed_into(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    outs = [out(tmp_path / "a" / "m.json"), out(tmp_path / "b" / "s.parquet", Option.SIGNALS)]
    with together([*outs, out(Path("/dev/null"))]):  # a device is written directly: /dev not locked
        for folder in (tmp_path / "a", tmp_path / "b"):
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.close(fd)
        fd = os.open("/dev", os.O_RDONLY | os.O_DIRECTORY)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)


def test_a_write_that_fails_is_an_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"cannot write output file /dev/full: No space left on device"):
        write(out(Path("/dev/full")), b"{}")


def test_writing_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    real = tmp_path / "real" / "metrics.json"
    real.write_text("old")
    link = tmp_path / "metrics.json"
    link.symlink_to(real)
    write(out(link), b"new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["metrics.json"]


def test_a_dangling_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    link = tmp_path / "metrics.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    write(out(link), b"new")
    assert link.is_symlink()
    assert (tmp_path / "elsewhere.json").read_text() == "new"


def test_a_fifo_is_written_directly_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    read = f"print(open({str(fifo)!r}).read(), end='')"
    reader = subprocess.Popen([sys.executable, "-c", read], stdout=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:  # the reader opens the FIFO in its own time
            try:
                write(out(fifo), b"doc\n")
                break
            except OutputError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        assert reader.communicate(timeout=30)[0] == b"doc\n"
    finally:
        reader.kill()
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_fifo_that_nobody_reads_is_an_error_not_a_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "metrics.fifo"
    os.mkfifo(fifo)
    with pytest.raises(OutputError, match="it is a FIFO that no process reads"):
        write(out(fifo), b"doc\n")


def test_a_character_device_is_written_not_replaced() -> None:
    before = Path("/dev/null").stat()
    write(out(Path("/dev/null")), b"doc\n")
    assert stat.S_ISCHR(Path("/dev/null").stat().st_mode)
    assert identity(Path("/dev/null").stat()) == identity(before)


def test_a_file_in_a_folder_without_write_permission_is_overwritten_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("an old success document, longer than the new one")

    def read_only(**_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    write(out(path), b"error")
    assert path.read_text() == "error"


def test_an_output_that_is_an_input_is_a_clash_naming_both(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("close\n1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    hard = tmp_path / "hard.csv"
    hard.hardlink_to(data)
    read = [(Option.INPUT, data, identity(data.stat()))]
    for path in (data, link, hard, Path(f"{tmp_path}/./data.csv")):
        with pytest.raises(ClashError, match=rf"{Option.OUTPUT} .* is an input file of this run") as clash:
            check_clashes([out(path)], read)
        assert (clash.value.options, clash.value.shared) == ((Option.OUTPUT, Option.INPUT), False)


def test_two_outputs_that_are_one_file_clash_even_before_it_exists(tmp_path: Path) -> None:
    first, second = out(tmp_path / "m.json"), out(tmp_path / "." / "m.json", Option.LOG_FILE)
    with pytest.raises(
        ClashError, match=f"{Option.OUTPUT} and {Option.LOG_FILE} name the same file"
    ) as clash:
        check_clashes([first, second], [])
    assert (clash.value.options, clash.value.shared) == ((Option.OUTPUT, Option.LOG_FILE), True)


def test_distinct_outputs_do_not_clash(tmp_path: Path) -> None:
    check_clashes([out(tmp_path / "m.json"), out(tmp_path / "run.log", Option.LOG_FILE)], [])


def signals_file(path: Path) -> None:
    pl.DataFrame({"close": [1.0], "rolling_mean": [1.0], "signal": [0]}).write_parquet(
        path, metadata=SIGNALS_METADATA
    )


def test_a_stale_signals_file_is_removed_after_a_failed_run(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    signals_file(path)
    remove_stale_signals(out(path, Option.SIGNALS), ours=None)
    assert not path.exists()


def test_another_runs_new_signals_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    signals_file(path)
    found = out(path, Option.SIGNALS)
    replacement = tmp_path / "new.parquet"
    signals_file(replacement)
    replacement.replace(path)  # a concurrent run committed its file meanwhile
    remove_stale_signals(found, ours=None)
    assert path.exists()


def test_a_file_that_is_not_a_signals_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "signals.parquet"
    pl.DataFrame({"close": [1.0]}).write_parquet(path)
    remove_stale_signals(out(path, Option.SIGNALS), ours=None)
    assert path.exists()


def test_a_stale_signals_file_in_csv_is_removed_after_a_failed_run(tmp_path: Path) -> None:
    path = tmp_path / "signals.csv"
    path.write_text("timestamp,close,rolling_mean,signal\n2024-01-01T00:00:00.000000,1.0,,0\n")
    remove_stale_signals(out(path, Option.SIGNALS), ours=None)
    assert not path.exists()
