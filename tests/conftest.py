"""Shared fixtures: the fixture files, the real data beside the project, small file writers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from signal_job.config import Config
from signal_job.inputs import open_input
from signal_job.pipeline import Counts, Engine, run

DATA = Path(__file__).parent / "data"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REAL_ROWS, REAL_SIGNALS = 10_000, 4_989

WriteFile = Callable[..., Path]
ENGINES: tuple[Engine, ...] = ("streaming", "in-memory")


def make_config(window: int = 5, group_by: str | None = None) -> Config:
    """A config as the job would read it."""
    return Config(seed=42, window=window, version="test", group_by=group_by)


def counts_of(path: Path, window: int = 5, engine: Engine = "streaming") -> Counts:
    """The counts of the input at `path` (a file, glob or folder), as the job computes them."""
    return run(open_input(path), make_config(window), engine=engine).total


@pytest.fixture(autouse=True)
def _detach_cli_log_handlers() -> Iterator[None]:
    """CLI tests point the job's logger at streams that close with them; detach after each test."""
    yield
    logger = logging.getLogger("signal_job")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


@pytest.fixture
def shared_data() -> Path:
    """The real 10,000-row BTC/USD files, which sit beside the project, not in it."""
    if not (SHARED_DATA / "btcusd_1m_10k.csv").is_file():
        pytest.skip("the real data in ../shared/data is not here (a fresh clone)")
    return SHARED_DATA


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write text (or bytes) to a file in a temporary folder and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A valid config with window 5."""
    path = tmp_path / "config.yaml"
    path.write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    return path
