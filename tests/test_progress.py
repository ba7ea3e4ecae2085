"""Progress bars: on an interactive terminal (a real pseudo-terminal here), never elsewhere."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from tests.conftest import CONSOLE_SCRIPT, PROJECT


def on_a_terminal(cwd: Path, *args: str) -> tuple[int, str]:
    """The console script run with a pseudo-terminal as stdin, stdout and stderr; its exit code and output."""
    master, slave = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "TERM": "xterm"}
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *args], cwd=cwd, stdin=slave, stdout=slave, stderr=slave, env=env
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # the terminal closed with the process
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    code = process.wait(timeout=120)
    reader.join(timeout=10)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def days(tmp_path: Path, count: int = 12) -> Path:
    """The bundled candles as `count` files of consecutive rows."""
    lines = (PROJECT / "data.csv").read_bytes().split(b"\r\n")
    folder = tmp_path / "days"
    folder.mkdir()
    size = -(-(len(lines) - 1) // count)
    for index in range(count):
        rows = lines[1 + index * size : 1 + (index + 1) * size]
        (folder / f"{index:02}.csv").write_bytes(b"\r\n".join([lines[0], *rows]))
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    return folder


def test_a_run_over_many_files_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    days(tmp_path)
    code, shown = on_a_terminal(tmp_path, "run", "--input", "days", "--cache", "kept")
    assert code == 0, shown
    assert "opening input files" in shown
    assert "counting files" in shown
    assert "12/12" in shown
    assert '"rows_processed": 10000' in shown


@pytest.mark.slow
def test_generate_shows_its_progress_on_a_terminal(tmp_path: Path) -> None:
    code, shown = on_a_terminal(tmp_path, "generate", "--rows", "2000000", "--output", "c.parquet")
    assert code == 0, shown
    assert "generating c.parquet" in shown
    assert "rows" in shown


def test_no_bar_in_a_pipe_or_with_json_logs(tmp_path: Path) -> None:
    days(tmp_path)
    piped = subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--input", "days", "--cache", "kept"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert piped.returncode == 0
    assert b"opening input files" not in piped.stderr
    assert b"\x1b[" not in piped.stderr  # no terminal codes at all
    code, shown = on_a_terminal(tmp_path, "run", "--input", "days", "--log-format", "json")
    assert code == 0, shown
    assert "opening input files" not in shown


def test_a_dask_run_shows_its_tasks_on_a_terminal(tmp_path: Path) -> None:
    days(tmp_path)
    code, shown = on_a_terminal(tmp_path, "run", "--input", "days", "--engine", "dask", "--workers", "1")
    assert code == 0, shown
    assert "dask: reading input" in shown
    assert "2/2" in shown
