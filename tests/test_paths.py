"""A run's paths: checked before anything is written, and what a refused run still writes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from signal_job.errors import ClashError
from signal_job.options import Option
from signal_job.paths import Paths, prepare, spared
from tests.conftest import DATA


@pytest.fixture
def work(tmp_path: Path) -> Path:
    shutil.copy(DATA / "candles.csv", tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 5\nversion: v\n")
    return tmp_path


def paths(
    work: Path,
    output: str | None = None,
    log_file: str | None = None,
    signals: str | None = None,
    metrics_file: str | None = None,
) -> Paths:
    """The run's paths in `work`: data.csv read with config.yaml, and the outputs named."""
    written = [None if name is None else work / name for name in (output, log_file, signals, metrics_file)]
    return Paths(work / "data.csv", work / "config.yaml", *written)


def refused(given: Paths, *, signals_folder: bool = False) -> tuple[ClashError, set[Option]]:
    """The clash `prepare` raises, and the outputs that the refused run still writes."""
    with pytest.raises(ClashError) as clash:
        prepare(given, signals_folder=signals_folder)
    return clash.value, set(spared(given, clash.value, signals_folder=signals_folder).outputs)


def test_a_refused_run_writes_every_output_but_the_one_that_is_an_input(work: Path) -> None:
    given = paths(work, output="m.json", log_file="run.log", signals="data.csv", metrics_file="j.prom")
    clash, kept = refused(given)
    assert (clash.options, clash.shared) == ((Option.SIGNALS, Option.INPUT), False)
    assert kept == {Option.OUTPUT, Option.LOG_FILE, Option.METRICS_FILE}


def test_every_clash_is_left_alone_not_only_the_one_reported(work: Path) -> None:
    given = paths(work, output="m.json", log_file="data.csv", metrics_file="config.yaml")
    clash, kept = refused(given)
    assert clash.options == (Option.LOG_FILE, Option.INPUT)  # the first: the message names one
    assert kept == {Option.OUTPUT}  # the metrics file is the config: never written either


def test_an_output_that_is_an_input_is_never_written(work: Path) -> None:
    _, kept = refused(paths(work, output="data.csv", log_file="run.log"))
    assert kept == {Option.LOG_FILE}


@pytest.mark.parametrize("other", ["log_file", "signals", "metrics_file"])
def test_the_output_keeps_its_file_when_another_output_names_it_too(work: Path, other: str) -> None:
    clash, kept = refused(paths(work, output="m.json", **{other: "m.json"}))
    assert clash.shared
    assert kept == {Option.OUTPUT}


def test_two_outputs_sharing_a_file_that_is_an_input_are_both_left(work: Path) -> None:
    _, kept = refused(paths(work, output="data.csv", signals="data.csv"))
    assert kept == set()


def test_an_output_inside_the_signals_dataset_is_left_with_the_dataset(work: Path) -> None:
    given = paths(work, output="signals/m.json", signals="signals", metrics_file="j.prom")
    clash, kept = refused(given, signals_folder=True)
    assert (clash.options, clash.shared) == ((Option.OUTPUT, Option.SIGNALS), False)
    assert kept == {Option.METRICS_FILE}


@pytest.mark.parametrize("name", ["s.txt", "signals"])
def test_a_signals_file_whose_name_says_no_format_can_never_be_written(work: Path, name: str) -> None:
    prepared = prepare(paths(work, signals=name))
    assert set(prepared.unusable) == {Option.SIGNALS}
    assert "the signals file is written in the format its name's ending says" in str(
        prepared.unusable[Option.SIGNALS]
    )


@pytest.mark.parametrize(
    ("name", "usable"), [("s.csv", False), ("s.arrow", False), ("s.parquet", True), ("s", True)]
)
def test_a_signals_dataset_is_a_folder_of_parquet_parts_whatever_its_name(
    work: Path, name: str, *, usable: bool
) -> None:
    prepared = prepare(paths(work, signals=name), signals_folder=True)
    assert (Option.SIGNALS in prepared.outputs) is usable
    if not usable:
        assert "names a folder of Parquet parts" in str(prepared.unusable[Option.SIGNALS])
