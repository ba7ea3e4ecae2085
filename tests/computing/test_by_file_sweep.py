"""A sweep file by file with a cache: each window stitched as a run's; only new windows counted."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing.by_file import run_by_file, sweep_by_file
from signal_job.computing.pipeline import run
from signal_job.computing.route import decide
from signal_job.config import Config
from signal_job.partial import Edges, within
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.conftest import examples, make_config

START = datetime(2024, 1, 1)
closes = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "10.25", "0.1", "7"]))


def write_files(folder: Path, values: list[str | None], cuts: list[int]) -> Path:
    """The closes a minute apart, split into files at `cuts`, named in time order."""
    folder.mkdir(parents=True)
    stamps = [(START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(values))]
    frame = pl.DataFrame(
        {"timestamp": stamps, "close": values}, schema={"timestamp": pl.String, "close": pl.String}
    )
    edges = sorted({0, *(cut for cut in cuts if 0 < cut < len(values)), len(values)})
    for index in range(len(edges) - 1):
        frame.slice(edges[index], edges[index + 1] - edges[index]).write_csv(folder / f"part-{index:02}.csv")
    return folder


def swept(path: Path, windows: tuple[int, ...], kept: Path, config: Config | None = None) -> dict[int, int]:
    config = replace(config or make_config(1), window=max(windows))
    result = sweep_by_file(open_input(path), config, windows, kept=kept, why="the cache")
    return {window: result.windows[window][0].signals for window in windows}


@settings(
    max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(closes, min_size=1, max_size=40),
    windows=st.lists(st.integers(1, 12), min_size=1, max_size=5, unique=True),
    cuts=st.lists(st.integers(1, 39), max_size=5),
    later=st.lists(st.integers(1, 12), max_size=3, unique=True),
)
def test_each_window_stitched_across_cached_files_is_the_references_and_a_runs(
    tmp_path_factory: pytest.TempPathFactory,
    values: list[str | None],
    windows: list[int],
    cuts: list[int],
    later: list[int],
) -> None:
    folder = tmp_path_factory.mktemp("cached")
    path = write_files(folder / "in", values, cuts)
    exact = [None if value is None else Decimal(value) for value in values]
    first = swept(path, tuple(windows), folder / "cache")
    again = tuple(dict.fromkeys([*later, *windows]))  # a re-run with more windows, some kept
    second = swept(path, again, folder / "cache")
    for window in again:
        assert second[window] == sum(reference_signals(exact, window))
        alone = run_by_file(open_input(path), make_config(window), why="the cache")
        assert second[window] == alone.total.signals
    assert {window: second[window] for window in windows} == first


def test_a_rerun_with_new_windows_counts_each_file_for_those_alone(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_files(tmp_path / "in", [str(1 + i % 5) for i in range(60)], [20, 40])
    kept = tmp_path / "cache"
    swept(path, (5, 20), kept)
    entries = {entry.name: entry.stat().st_mtime_ns for entry in kept.iterdir()}
    assert len(entries) == 6  # a file's entry per window
    with caplog.at_level(logging.INFO, logger="signal_job"):
        swept(path, (20, 3, 5), kept)
    again = "the others counted once for the windows new to them (3)"
    assert f"0 of 3 files counted before for every window; {again}" in caplog.text
    after = {entry.name: entry.stat().st_mtime_ns for entry in kept.iterdir()}
    assert len(after) == 9
    assert {name: after[name] for name in entries} == entries  # kept entries are not written again
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="signal_job"):
        swept(path, (3, 20), kept)
    assert "3 of 3 files counted before for every window" in caplog.text


def test_a_runs_cached_entry_serves_a_sweep_of_its_window(tmp_path: Path) -> None:
    path = write_files(tmp_path / "in", [str(1 + i % 5) for i in range(30)], [10])
    kept = tmp_path / "cache"
    run_by_file(open_input(path), make_config(5), kept=kept, why="the cache")
    before = {entry.name for entry in kept.iterdir()}
    swept(path, (5, 7), kept)
    assert before <= {entry.name for entry in kept.iterdir()}
    assert len(list(kept.iterdir())) == 4


def test_edges_cut_to_a_shorter_window_keep_the_closes_it_reaches() -> None:
    edges = Edges(
        head=(Decimal(1), None, Decimal(3)), tail=(Decimal(7), Decimal(8), Decimal(9)), first=None, last=None
    )
    assert within(edges, 3) == Edges(head=(Decimal(1), None), tail=(Decimal(8), Decimal(9)))
    assert within(edges, 1) == Edges(head=(), tail=())
    short = Edges(head=(Decimal(1),), tail=(Decimal(1),))
    assert within(short, 3) == short


def test_a_sweeps_signals_written_file_by_file_are_the_local_sweeps_rows(tmp_path: Path) -> None:
    # Each file's part starts with the closes before it (the largest window's halo), so windows
    # reaching back across a file's start give the signals of the whole series read as one.
    values = [None if i % 13 == 4 else str(1 + (i * 5) % 9) for i in range(80)]
    path = write_files(tmp_path / "in", values, [3, 30, 31, 60])
    windows = (7, 2, 25)
    config = replace(make_config(1), window=max(windows))
    folder, single = tmp_path / "dataset", tmp_path / "signals.parquet"
    folder.mkdir()
    by_file = sweep_by_file(
        open_input(path), config, windows, kept=None, why="test", signals=folder, means=True
    )
    data = open_input(path)
    local = run(
        data, config, signals=single, route=decide(data, config, signals=True, windows=windows, means=True)
    )
    assert by_file.windows == local.windows
    assert_frame_equal(pl.read_parquet(folder), pl.read_parquet(single))
    exact = [None if value is None else Decimal(value) for value in values]
    for window in windows:
        assert pl.read_parquet(folder)[f"signal_{window}"].to_list() == reference_signals(exact, window)
