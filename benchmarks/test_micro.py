"""Micro-benchmarks of the job's pieces (pytest-benchmark): `pytest benchmarks -m benchmark`.

Not tests of speed: they time the pieces so a change can be compared; nothing asserts a time.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from signal_job.config import load_config
from signal_job.pipeline import count, signal_counts
from signal_job.signals import PRICE
from signal_job.sources import open_source
from signal_job.synthetic import candles

pytestmark = pytest.mark.benchmark
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def million() -> pl.LazyFrame:
    closes = next(candles(1_000_000, seed=1))["close"].cast(PRICE)
    return pl.LazyFrame({"close": closes})


@pytest.mark.parametrize("engine", ["streaming", "in-memory"])
def test_signal_plan_on_a_million_rows_held_in_memory(
    benchmark: BenchmarkFixture, million: pl.LazyFrame, engine: str
) -> None:
    plan = signal_counts(million, window=5, dtype=PRICE)
    result = benchmark(plan.collect, engine=engine)
    assert result["rows"].item() == 1_000_000


def test_whole_count_of_the_bundled_file(benchmark: BenchmarkFixture) -> None:
    counts = benchmark(lambda: count(open_source(PROJECT / "data.csv"), window=5))
    assert counts.rows == 10_000


def test_sniffing_the_as_shipped_fixture(benchmark: BenchmarkFixture) -> None:
    source = benchmark(open_source, PROJECT / "tests" / "data" / "shipped.csv")
    assert source.layout is not None
    assert source.layout.wrapped


def test_loading_the_config(benchmark: BenchmarkFixture) -> None:
    assert benchmark(load_config, PROJECT / "config.yaml").window == 5
