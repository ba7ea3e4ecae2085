"""Safe file helpers: a regular file read without blocking; a killed run's temporary files removed."""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signal_job import safe_files
from signal_job.errors import ConfigError
from signal_job.safe_files import folders_locked, read_regular, read_small, remove_orphans


@pytest.fixture(autouse=True)
def _clean_again() -> None:
    safe_files._CLEANED.clear()  # each test's folder is new; let every run look for orphans again


def test_read_regular_refuses_what_is_not_a_small_regular_file(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * 100)
    assert read_regular(tmp_path / "big", what="config file", limit=100, error=ConfigError) == b"x" * 100
    with pytest.raises(ConfigError, match="holds 100 bytes, more than the 0 KiB allowed"):
        read_regular(tmp_path / "big", what="config file", limit=99, error=ConfigError)
    with pytest.raises(ConfigError, match="is a character device, not a regular file"):
        read_regular(Path("/dev/zero"), what="config file", limit=100, error=ConfigError)
    with pytest.raises(ConfigError, match="is a folder, not a regular file"):
        read_regular(tmp_path, what="config file", limit=100, error=ConfigError)


def test_read_small_reads_a_pipe_or_a_device_to_its_end_within_its_deadline(tmp_path: Path) -> None:
    read, write = os.pipe()
    os.write(write, b"seed: 1\n")
    os.close(write)
    with os.fdopen(read, "rb"):
        assert small(Path(f"/dev/fd/{read}"), deadline=1) == b"seed: 1\n"
    assert small(Path("/dev/null"), deadline=1) == b""
    with pytest.raises(
        ConfigError, match=r"^config file /dev/zero is a character device that gives more than"
    ):
        small(Path("/dev/zero"), deadline=1)
    (tmp_path / "x").write_bytes(b"x" * 100)
    assert small(tmp_path / "x", deadline=1) == b"x" * 100  # a regular file as before
    with pytest.raises(ConfigError, match="is a folder, not a regular file"):
        small(tmp_path, deadline=1)


def test_read_small_gives_up_on_a_pipe_whose_writer_does_not_close_it() -> None:
    read, write = os.pipe()
    os.write(write, b"seed: 1\n")
    try:
        with pytest.raises(ConfigError, match=r"did not end within 0.2 seconds \(8 bytes read\)"):
            small(Path(f"/dev/fd/{read}"), deadline=0.2)
    finally:
        os.close(read)
        os.close(write)


def test_read_small_refuses_a_pipe_that_gives_more_than_the_limit() -> None:
    writer = subprocess.Popen(["yes"], stdout=subprocess.PIPE)  # noqa: S607 - never ends by itself
    assert writer.stdout is not None
    try:
        with pytest.raises(
            ConfigError, match=r"is a FIFO \(named pipe\) that gives more than the 1 KiB allowed"
        ):
            small(Path(f"/dev/fd/{writer.stdout.fileno()}"), deadline=5)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()


def small(path: Path, *, deadline: float) -> bytes:
    """`path` read as a config is, with a limit of 1 KiB."""
    return read_small(path, what="config file", limit=1024, error=ConfigError, deadline=deadline)


def temporary_of(owner: str, name: str = "signals.parquet") -> str:
    return f".{name}.{owner}.abc123.tmp"


def aged(path: Path) -> Path:
    """As if written a minute ago: older than a run takes to lock its new files."""
    past = time.time() - 60
    os.utime(path, (past, past))
    return path


def test_leftovers_nobody_holds_are_removed_and_held_or_new_ones_kept(tmp_path: Path) -> None:
    host = safe_files._host()
    gone = [
        tmp_path / temporary_of(f"sj{host}-4242-1"),
        tmp_path / (temporary_of(f"sj{host}-4242-1") + ".3"),  # a piece of one
        tmp_path / temporary_of("sj00000000-4242-1"),  # a container that is gone
    ]
    held = tmp_path / temporary_of(f"sj{host}-1-1")
    unrelated = tmp_path / ".signals.parquet.something.tmp"
    for path in (*gone, held, unrelated):
        path.write_text("")
        aged(path)
    folder = tmp_path / temporary_of(f"sj{host}-4242-1", "signal-job")
    (folder / "part0").mkdir(parents=True)
    (folder / safe_files.OWNER).write_text("")
    aged(folder)
    new = tmp_path / temporary_of(f"sj{host}-4243-1")
    new.write_text("")  # its run may not hold it yet
    lock = os.open(held, os.O_RDONLY)
    safe_files.hold(lock)  # as a live run holds its files
    try:
        remove_orphans(tmp_path)
    finally:
        os.close(lock)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in (held, new, unrelated))


def test_a_leftover_named_with_this_processes_pid_is_removed(tmp_path: Path) -> None:
    # In a container every run is PID 1 on a new host name: names cannot tell a live run.
    orphan = tmp_path / temporary_of(safe_files.owner())
    orphan.write_text("")
    aged(orphan)
    remove_orphans(tmp_path)
    assert not orphan.exists()


def test_a_fifo_named_like_a_leftover_is_kept_and_does_not_block(tmp_path: Path) -> None:
    # Opening a FIFO for reading waits for a writer: the sweep must never try.
    fifo = tmp_path / temporary_of("sjdeadbeef-4242-1")
    os.mkfifo(fifo)
    aged(fifo)
    reader = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from signal_job.safe_files import remove_orphans;"
            f" from pathlib import Path; remove_orphans(Path({str(tmp_path)!r}))",
        ],
        timeout=30,
        check=True,
    )
    assert reader.returncode == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def locked_elsewhere(folder: Path) -> bool:
    """Whether another open of `folder` finds it locked."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def test_folders_are_locked_while_the_block_runs_and_leave_nothing(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    with folders_locked([second, first, first / ".", tmp_path / "missing"]):  # one folder once
        assert locked_elsewhere(first)
        assert locked_elsewhere(second)
    assert not locked_elsewhere(first)
    assert not locked_elsewhere(second)
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["a", "b"]


def test_a_lock_held_past_patience_is_gone_without_and_said(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another run, stopped in its turn
    try:
        started = time.monotonic()
        with folders_locked([tmp_path], patience=0.2):
            waited = time.monotonic() - started
    finally:
        os.close(fd)
    assert 0.2 <= waited < 5
    assert f"another run kept {tmp_path} locked for 0.2 s" in caplog.text
