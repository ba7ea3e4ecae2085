from __future__ import annotations

import gzip
import logging
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing.plan import SIGNALS_METADATA
from signal_job.errors import InputError
from signal_job.reading.files import find_files, is_signals_file


def tree(root: Path, *names: str) -> Path:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("close\n1\n")
    return root


def found(spec: Path) -> list[str]:
    return [str(path) for path in find_files(spec).files]


def test_a_folder_gives_its_data_files_in_path_order_without_hidden_or_private_ones(tmp_path: Path) -> None:
    tree(tmp_path, "b.csv", "a/c.parquet", "a/.hidden.csv", "_tmp/d.csv", "notes.md", ".x/e.csv")
    assert found(tmp_path) == [f"{tmp_path}/a/c.parquet", f"{tmp_path}/b.csv"]


def test_a_glob_matches_like_the_shell_and_recursive_globs_search_every_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree(tmp_path, "a.csv", "a.txt", "x/b.csv", "x/y/c.csv", ".hidden/d.csv")
    monkeypatch.chdir(tmp_path)
    assert found(Path("*.csv")) == ["a.csv"]
    assert found(Path("**/*.csv")) == ["a.csv", "x/b.csv", "x/y/c.csv"]
    assert found(Path("x/**")) == ["x/b.csv", "x/y/c.csv"]
    assert found(Path("?/b.csv")) == ["x/b.csv"]


def test_a_link_loop_is_entered_once_and_each_file_read_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tree(tmp_path, "in/a.csv", "in/sub/b.csv")
    (tmp_path / "in" / "loop").symlink_to(".")
    (tmp_path / "in" / "sub" / "up").symlink_to("..")
    (tmp_path / "in" / "again.csv").symlink_to("a.csv")
    caplog.set_level(logging.INFO)
    assert found(tmp_path / "in") == [f"{tmp_path}/in/a.csv", f"{tmp_path}/in/sub/b.csv"]
    assert "in/again.csv is the same file as" in caplog.text
    assert "leads to a folder already read (a link): not read again" in caplog.text
    assert [Path(p).name for p in found(tmp_path / "in" / "**" / "*.csv")] == ["a.csv", "b.csv"]


def test_a_link_to_a_folder_elsewhere_is_followed(tmp_path: Path) -> None:
    tree(tmp_path, "in/a.csv", "elsewhere/b.csv")
    (tmp_path / "in" / "more").symlink_to(tmp_path / "elsewhere")
    assert found(tmp_path / "in") == [f"{tmp_path}/in/a.csv", f"{tmp_path}/in/more/b.csv"]


def test_a_broken_link_among_the_data_files_is_an_error(tmp_path: Path) -> None:
    tree(tmp_path, "in/a.csv")
    (tmp_path / "in" / "gone.csv").symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(
        InputError, match=r"gone\.csv is a broken link: its target .*nowhere\.csv does not exist"
    ):
        find_files(tmp_path / "in")


def test_a_fifo_among_the_data_files_is_refused(tmp_path: Path) -> None:
    tree(tmp_path, "in/a.csv")
    os.mkfifo(tmp_path / "in" / "pipe.csv")
    with pytest.raises(InputError, match=r"pipe\.csv is a FIFO \(named pipe\), not a regular file"):
        find_files(tmp_path / "in")


def test_a_name_that_is_not_utf8_is_refused_by_name(tmp_path: Path) -> None:
    tree(tmp_path, os.fsdecode(b"in/caf\xe9.csv"))
    with pytest.raises(InputError, match=r"caf\\udce9\.csv has a name that is not valid UTF-8"):
        find_files(tmp_path / "in")


def test_signals_files_are_skipped_and_refused_when_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tree(tmp_path, "in/a.csv")
    pl.DataFrame({"close": [1.0]}).write_parquet(tmp_path / "in" / "s.csv", metadata=SIGNALS_METADATA)
    caplog.set_level(logging.INFO)
    assert found(tmp_path / "in") == [f"{tmp_path}/in/a.csv"]
    assert "skipped" in caplog.text
    assert is_signals_file(tmp_path / "in" / "s.csv")
    with pytest.raises(InputError, match="is a signals file that signal-job wrote"):
        find_files(tmp_path / "in" / "s.csv")


SIGNALS_CSV = "timestamp,close,rolling_mean,signal\n2024-01-01T00:00:00.000000,1.0,,0\n"


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("s.csv", lambda path: path.write_text(SIGNALS_CSV)),
        ("s.csv.gz", lambda path: path.write_bytes(gzip.compress(SIGNALS_CSV.encode()))),
        ("s.arrow", lambda path: pl.read_csv(SIGNALS_CSV.encode()).write_ipc(path)),
    ],
    ids=["csv", "gzip", "arrow"],
)
def test_signals_files_in_csv_or_arrow_are_known_by_their_columns_and_never_read_as_input(
    tmp_path: Path, name: str, write: Callable[[Path], object]
) -> None:
    tree(tmp_path, "in/a.csv")
    write(tmp_path / "in" / name)
    assert is_signals_file(tmp_path / "in" / name)
    assert found(tmp_path / "in") == [f"{tmp_path}/in/a.csv"]
    with pytest.raises(InputError, match="is a signals file that signal-job wrote"):
        find_files(tmp_path / "in" / name)


def test_candles_whose_columns_end_otherwise_are_no_signals_file(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("timestamp,close,signal,rolling_mean\n2024-01-01,1,0,1\n")
    assert not is_signals_file(tmp_path / "c.csv")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("missing.csv", "input file {tmp}/missing.csv does not exist"),
        ("*.parquet", "input pattern {tmp}/*.parquet matches no files"),
        ("empty", "input folder {tmp}/empty holds no data files"),
    ],
)
def test_an_input_that_names_nothing_says_so(tmp_path: Path, spec: str, message: str) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=message.format(tmp=tmp_path).replace("*", r"\*")):
        find_files(tmp_path / spec)
