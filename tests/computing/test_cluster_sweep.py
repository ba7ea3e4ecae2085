"""A sweep on Dask: each file counted for every window by a task, the windows stitched on the driver."""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import signal_job
from signal_job.computing.by_file import sweep_by_file
from signal_job.computing.cluster import sweep_on_dask
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.computing.test_by_file_sweep import write_files
from tests.conftest import make_config

# Each test starts a local cluster: CI runs them (-m slow), as tests/computing/test_cluster.py.
pytestmark = pytest.mark.slow

VALUES = [None if i % 17 == 5 else str(1 + (i * 7) % 11) for i in range(120)]


def test_a_sweep_on_dask_is_the_local_sweeps_and_the_references_and_a_cache_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_files(tmp_path / "in", VALUES, [7, 40, 41, 90])
    windows = (9, 2, 30)
    config = replace(make_config(1), window=max(windows))
    on_dask = sweep_on_dask(open_input(path), config, windows, address=None, workers=1)
    here = sweep_by_file(open_input(path), config, windows, kept=None, why="test")
    assert on_dask == here
    exact = [None if value is None else Decimal(value) for value in VALUES]
    for window in windows:
        assert on_dask.windows[window][0].signals == sum(reference_signals(exact, window))
    kept = tmp_path / "cache"
    sweep_on_dask(open_input(path), config, windows, address=None, workers=1, kept=kept)
    more = (9, 2, 30, 4)
    with caplog.at_level(logging.INFO, logger="signal_job"):
        again = sweep_on_dask(open_input(path), config, more, address=None, workers=1, kept=kept)
    assert "the others counted once for the windows new to them (4)" in caplog.text
    assert again.windows[4][0].signals == sum(reference_signals(exact, 4))
    assert {window: again.windows[window] for window in windows} == here.windows


def test_the_api_sweeps_on_dask_as_it_does_here(tmp_path: Path) -> None:
    path = write_files(tmp_path / "in", VALUES, [50])
    config = {"seed": 1, "window": 5, "version": "v"}
    on_dask = signal_job.sweep(path, windows="3:12:3", config=config, engine="dask", workers=1)
    here = signal_job.sweep(path, windows="3:12:3", config=config)
    assert on_dask.results == here.results


def test_a_sweeps_signals_on_dask_are_a_dataset_holding_the_local_sweeps_signals(tmp_path: Path) -> None:
    path = write_files(tmp_path / "in", VALUES, [7, 40, 41, 90])
    config = {"seed": 1, "window": 5, "version": "v"}
    folder, single = tmp_path / "dataset", tmp_path / "signals.parquet"
    on_dask = signal_job.sweep(
        path, windows="9,2,30", config=config, engine="dask", workers=1, signals=folder, means=True
    )
    here = signal_job.sweep(path, windows="9,2,30", config=config, signals=single, means=True)
    assert on_dask.results == here.results
    assert len(list(folder.glob("part-*.parquet"))) == 5  # a part per input file
    assert_frame_equal(pl.read_parquet(folder), pl.read_parquet(single))
