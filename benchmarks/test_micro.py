"""Micro-benchmarks of the job's pieces (pytest-benchmark): `pytest benchmarks -m benchmark`.

Not tests of speed: they time the pieces so a change can be compared; nothing asserts a time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from signal_job.computing.pipeline import run
from signal_job.computing.plan import plan
from signal_job.config import Config, load_config
from signal_job.reading.inputs import open_input
from signal_job.reading.sources import open_source
from signal_job.synthetic import write_candles

pytestmark = pytest.mark.benchmark
PROJECT = Path(__file__).resolve().parents[1]


CONFIG = Config(seed=1, window=5, version="bench")


@pytest.fixture(scope="module")
def million(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("million") / "candles.parquet"
    write_candles(path, rows=1_000_000, seed=1)
    return path


@pytest.mark.parametrize("engine", ["streaming", "in-memory"])
def test_signal_plan_on_a_million_rows_of_parquet(
    benchmark: BenchmarkFixture, million: Path, engine: str
) -> None:
    counts = plan(open_input(million), CONFIG).counts
    result = benchmark(counts.collect, engine=engine)
    assert result["rows"].item() == 1_000_000


def test_whole_count_of_the_bundled_file(benchmark: BenchmarkFixture) -> None:
    result = benchmark(lambda: run(open_input(PROJECT / "data.csv"), CONFIG))
    assert result.total.rows == 10_000


def test_sniffing_the_as_shipped_fixture(benchmark: BenchmarkFixture) -> None:
    source = benchmark(open_source, PROJECT / "tests" / "data" / "shipped.csv")
    assert source.layout is not None
    assert source.layout.wrapped


def test_loading_the_config(benchmark: BenchmarkFixture) -> None:
    assert benchmark(load_config, PROJECT / "config.yaml").window == 5
