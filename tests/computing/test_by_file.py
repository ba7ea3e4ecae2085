"""Counting file by file: files counted alone and stitched equal the local run; the cache of files' counts."""

from __future__ import annotations

import functools
import gzip
import itertools
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signal_job.computing.by_file import combine, count_file, count_here, run_by_file
from signal_job.computing.pipeline import run
from signal_job.config import Config
from signal_job.errors import ConfigError, InputError
from signal_job.partial import Piece
from signal_job.reading.inputs import Input, open_input
from tests.conftest import CONSOLE_SCRIPT, PROJECT, examples, make_config

START = datetime(2024, 1, 1)


def candles(closes: Sequence[str | None], start: int = 0) -> pl.DataFrame:
    stamps = [
        (START + timedelta(minutes=start + i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(closes))
    ]
    return pl.DataFrame(
        {"timestamp": stamps, "close": closes}, schema={"timestamp": pl.String, "close": pl.String}
    )


def write_split(folder: Path, closes: list[str | None], cuts: list[int], kinds: list[str]) -> Path:
    """`closes` split at `cuts` into files of mixed kinds, named against their time order."""
    folder.mkdir()
    points = sorted({cut % (len(closes) + 1) for cut in cuts} - {0, len(closes)})
    bounds = [0, *points, len(closes)]
    names = [f"{chr(ord('z') - index)}" for index in range(len(bounds) - 1)]  # later files sort first
    for index, (start, end) in enumerate(itertools.pairwise(bounds)):
        frame = candles(closes[start:end], start)
        kind = kinds[index % len(kinds)]
        path = folder / f"{names[index]}.{kind}"
        if kind == "parquet":
            frame.with_columns(pl.col("close").cast(pl.Decimal(18, 3))).write_parquet(path)
        elif kind == "csv.gz":
            path.write_bytes(gzip.compress(frame.write_csv().encode()))
        else:
            frame.write_csv(path)
    return folder


def split_real_file(tmp_path: Path) -> Path:
    """The bundled 10,000 candles split into uneven daily-ish files of three kinds."""
    shipped = (PROJECT / "data.csv").read_bytes().decode()
    clean = "\n".join(line.strip('"') for line in shipped.split("\r\n")) + "\n"
    frame = pl.read_csv(clean.encode(), schema_overrides={"close": pl.String})
    folder = tmp_path / "days"
    folder.mkdir()
    bounds = [0, 3, 1500, 1503, 4000, 9999, 10_000]
    for index, (start, end) in enumerate(itertools.pairwise(bounds)):
        part = frame.slice(start, end - start)
        if index % 2:
            part.with_columns(pl.col("close").cast(pl.Decimal(18, 2))).write_parquet(
                folder / f"{9 - index}.parquet"
            )
        else:
            part.write_csv(folder / f"{9 - index}.csv")
    return folder


prices = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "0.125", "10.5", "3.000", "0", "-2.5"]))


@dataclass(frozen=True)
class Split:
    """A series of `closes` to cut at `cuts` into files of `kinds` in turn, and a window."""

    closes: list[str | None]
    cuts: list[int]
    kinds: list[str]
    window: int

    def write(self, folder: Path) -> Path:
        return write_split(folder, self.closes, self.cuts, self.kinds)


def splits(closes: st.SearchStrategy[str | None]) -> st.SearchStrategy[Split]:
    """A series of `closes` cut at random points into files of mixed kinds, and a window."""
    return st.builds(
        Split,
        closes=st.lists(closes, min_size=1, max_size=50),
        cuts=st.lists(st.integers(0, 1000), max_size=8),
        kinds=st.permutations(["csv", "parquet", "csv.gz"]),
        window=st.integers(1, 7),
    )


@settings(
    max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(splits(prices))
def test_files_counted_alone_and_stitched_equal_the_local_run(
    tmp_path_factory: pytest.TempPathFactory, split: Split
) -> None:
    data = open_input(split.write(tmp_path_factory.mktemp("split") / "series"))
    config = make_config(split.window)
    local = run(data, config).total
    files = [data.replace_parts([part]) for part in data.parts]
    pieces = [count_file(one, config) for one in files]
    assert combine(files, pieces, split.window) == local


@settings(
    max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(splits(prices), st.integers(1, 5))
def test_shares_of_consecutive_files_counted_together_and_stitched_equal_the_local_run(
    tmp_path_factory: pytest.TempPathFactory, split: Split, tasks: int
) -> None:
    data = open_input(split.write(tmp_path_factory.mktemp("split") / "series"))
    config = make_config(split.window)
    counted: list[Input] = []

    def counter(units: list[Input], config: Config) -> list[Piece]:
        counted.extend(units)
        return count_here(units, config)

    assert run_by_file(data, config, count=counter, why="a test", tasks=lambda: tasks) == run(data, config)
    # Every file once, in order, in no more shares than files or about `tasks`.
    assert [part for unit in counted for part in unit.parts] == list(data.parts)
    assert len(counted) <= min(len(data.parts), tasks + 1)


def test_shares_with_files_written_newest_first_or_with_blank_lines_equal_the_local_run(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    closes = [str(value % 7) for value in range(40)]
    candles(closes[:15]).write_csv(folder / "a.csv")
    newest_first = candles(closes[15:22], 15).reverse().write_csv()
    (folder / "b.csv").write_text(newest_first.replace("\n", "\n\n", 3))
    candles(closes[22:24], 22).write_csv(folder / "c.csv")  # shorter than the window
    candles(closes[24:], 24).reverse().write_csv(folder / "d.csv")
    data = open_input(folder)
    for tasks in (1, 2, 3):
        in_shares = functools.partial(int, tasks)
        assert run_by_file(data, make_config(5), why="a test", tasks=in_shares) == run(data, make_config(5))


def test_shares_that_overlap_in_time_are_refused_naming_the_files_that_meet(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    candles(["1", "2"], 0).write_csv(folder / "a.csv")
    candles(["3", "4"], 2).write_csv(folder / "b.csv")
    candles(["5", "6"], 3).write_csv(folder / "c.csv")  # starts at the minute b.csv ends
    candles(["7", "8"], 5).write_csv(folder / "d.csv")
    data = open_input(folder)
    with pytest.raises(InputError, match=r"overlap in time: .*c\.csv starts at .* but .*b\.csv ends at"):
        run_by_file(data, make_config(2), why="a test", tasks=lambda: 2)


def test_files_that_overlap_in_time_are_refused_naming_both(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    candles(["1", "2", "3"], 0).write_csv(folder / "a.csv")
    candles(["4", "5"], 2).write_csv(folder / "b.csv")  # starts at the minute a.csv ends
    data = open_input(folder)
    units = [data.replace_parts([part]) for part in data.parts]
    pieces = [count_file(unit, make_config(2)) for unit in units]
    with pytest.raises(InputError, match=r"overlap in time: .*b\.csv starts at .* but .*a\.csv ends at"):
        combine(units, pieces, 2)


def test_count_file_raises_the_files_own_error(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,abc\n")
    with pytest.raises(InputError, match=r"line 3"):
        count_file(open_input(path), make_config(2))


def days_with_a_file_of_no_rows(tmp_path: Path) -> Path:
    """A folder of three daily files, the middle one a header alone."""
    folder = tmp_path / "days"
    folder.mkdir()
    candles(["1", "2", "3"]).write_csv(folder / "a.csv")
    (folder / "b.csv").write_text("timestamp,close\n")
    candles(["4", "5"], 3).write_csv(folder / "c.csv")
    return folder


def test_a_folder_with_a_file_of_no_rows_counts_the_others(tmp_path: Path) -> None:
    data = open_input(days_with_a_file_of_no_rows(tmp_path))
    assert run_by_file(data, make_config(2), why="a test") == run(data, make_config(2))


class Counted:
    """A counter that counts here and remembers which files it was given."""

    def __init__(self) -> None:
        self.files: list[str] = []

    def __call__(self, files: list[Input], config: Config) -> list[Piece]:
        self.files += [one.parts[0].path.name for one in files]
        return count_here(files, config)


def daily(folder: Path, days: int, *, start: int = 0) -> None:
    folder.mkdir(exist_ok=True)
    for day in range(start, start + days):
        closes = [str(100 + (day * 7 + minute * 3) % 11) for minute in range(30)]
        candles(closes, day * 30).write_csv(folder / f"day{day:02}.csv")


def test_a_rerun_over_a_grown_folder_counts_only_the_new_file(tmp_path: Path) -> None:
    folder, kept = tmp_path / "days", tmp_path / "cache"
    daily(folder, 5)
    first = Counted()
    run_by_file(open_input(folder), make_config(7), count=first, kept=kept, why="--cache")
    assert len(first.files) == 5
    daily(folder, 1, start=5)
    again = Counted()
    grown = open_input(folder)
    result = run_by_file(grown, make_config(7), count=again, kept=kept, why="--cache")
    assert again.files == ["day05.csv"]
    assert result == run(grown, make_config(7))  # the windows across into day05 came from the cache


def test_closes_of_zero_or_below_are_counted_file_by_file_and_kept_in_the_cache(tmp_path: Path) -> None:
    folder, kept = tmp_path / "days", tmp_path / "cache"
    write_split(folder, ["1", "0", "2", "-1", "3", "-0.5", "4", "0.00"], [2, 5], ["csv", "parquet", "csv.gz"])
    data = open_input(folder)
    first = Counted()
    counted = run_by_file(data, make_config(3), count=first, kept=kept, why="--cache")
    again = Counted()
    from_cache = run_by_file(data, make_config(3), count=again, kept=kept, why="--cache")
    assert (len(first.files), again.files) == (3, [])
    assert (
        counted.total.nonpositive
        == from_cache.total.nonpositive
        == run(data, make_config(3)).total.nonpositive
        == 4
    )


def test_a_changed_file_or_config_is_counted_again(tmp_path: Path) -> None:
    folder, kept = tmp_path / "days", tmp_path / "cache"
    daily(folder, 3)
    run_by_file(open_input(folder), make_config(4), kept=kept, why="--cache")
    changed = folder / "day01.csv"
    changed.write_text(changed.read_text().replace(",101\n", ",109\n"))
    counter = Counted()
    data = open_input(folder)
    assert run_by_file(data, make_config(4), count=counter, kept=kept, why="--cache") == run(
        data, make_config(4)
    )
    assert counter.files == ["day01.csv"]
    other_window = Counted()
    run_by_file(data, make_config(5), count=other_window, kept=kept, why="--cache")
    assert len(other_window.files) == 3


def test_a_cache_entry_that_does_not_read_is_counted_again(tmp_path: Path) -> None:
    folder, kept = tmp_path / "days", tmp_path / "cache"
    daily(folder, 2)
    run_by_file(open_input(folder), make_config(3), kept=kept, why="--cache")
    for entry in kept.glob("*.json"):
        entry.write_bytes(entry.read_bytes()[:20])
    counter = Counted()
    data = open_input(folder)
    assert run_by_file(data, make_config(3), count=counter, kept=kept, why="--cache") == run(
        data, make_config(3)
    )
    assert len(counter.files) == 2


def test_a_cache_folder_that_cannot_be_written_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "days"
    daily(folder, 2)
    blocker = tmp_path / "cache"
    blocker.write_text("a file, not a folder")
    data = open_input(folder)
    with caplog.at_level(logging.WARNING):
        result = run_by_file(data, make_config(3), kept=blocker, why="--cache")
    assert result == run(data, make_config(3))
    assert "cannot keep the counts of" in caplog.text


def test_by_file_refuses_a_group_column(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    candles(["1", "2"]).with_columns(symbol=pl.lit("A")).write_csv(path)
    with pytest.raises(ConfigError, match=r"group_by: symbol is a column inside the files; with --cache"):
        run_by_file(open_input(path), make_config(2, group_by="symbol"), why="--cache")


def test_the_console_script_keeps_counts_with_cache_and_gives_the_plain_document(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    daily(folder, 4)
    config = tmp_path / "config.yaml"
    config.write_text('seed: 1\nwindow: 6\nversion: "v"\n')

    def console(*more: str) -> subprocess.CompletedProcess[bytes]:
        args = ["run", "--input", str(folder), "--config", str(config), "--output", str(tmp_path / "m.json")]
        args += ["--log-file", str(tmp_path / "run.log"), *more]
        return subprocess.run([str(CONSOLE_SCRIPT), *args], capture_output=True, check=False, timeout=120)

    plain = orjson.loads(console().stdout)
    first, second = console("--cache", str(tmp_path / "kept")), console("--cache", str(tmp_path / "kept"))
    for done in (first, second):
        assert done.returncode == 0, done.stderr
        document = orjson.loads(done.stdout)
        assert {**document, "latency_ms": 0} == {**plain, "latency_ms": 0}
    assert b"0 of 4 files counted before" in first.stderr
    assert b"4 of 4 files counted before" in second.stderr
    refused = console("--cache", str(tmp_path / "kept"), "--signals", str(tmp_path / "s.parquet"))
    assert refused.returncode == 1
    assert "not written with --cache on the local engine" in orjson.loads(refused.stdout)["error_message"]
