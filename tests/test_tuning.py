from __future__ import annotations

import os
from pathlib import Path

import pytest

from signal_job.reading.storage import location
from signal_job.tuning import tune_polars

NAMES = ("POLARS_CSV_CHUNK_SIZE", "POLARS_IDEAL_MORSEL_SIZE", "POLARS_ROW_GROUP_PREFETCH_SIZE")


@pytest.fixture
def unset(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Polars' variables unset, and put back after the test (a run's own setting is for good)."""
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize(
    ("input", "prefetch"), [("days/", "2"), ("data.csv", "2"), ("s3://bucket/days/", None)]
)
def test_local_inputs_prefetch_two_row_groups_and_objects_polars_default(
    unset: pytest.MonkeyPatch, input: str, prefetch: str | None
) -> None:
    tune_polars(location(input))
    assert [os.environ.get(name) for name in NAMES] == [str(8 << 20), "25000", prefetch]


def test_a_value_already_set_is_kept(unset: pytest.MonkeyPatch) -> None:
    unset.setenv("POLARS_IDEAL_MORSEL_SIZE", "100000")
    tune_polars(Path("data.csv"))
    assert os.environ["POLARS_IDEAL_MORSEL_SIZE"] == "100000"
