"""A sweep as its users run it: `signal_job.sweep` and `signal-job sweep`, each window equal to `run`'s."""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import signal_job
from signal_job.cli import app
from signal_job.errors import ConfigError, InputError, OutputError
from signal_job.reference import reference_signals
from tests.conftest import CONSOLE_SCRIPT, DATA, PROJECT, REAL_ROWS, examples, under_polars_settings

CANDLES = DATA / "candles.csv"  # 400 rows
CONFIG = {"seed": 42, "window": 5, "version": "v1"}
TASK_KEYS = ["version", "rows_processed", "metric", "latency_ms", "seed", "status"]


def invoke(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with the candles and a config, as a user's working folder."""
    shutil.copy(CANDLES, tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    return tmp_path


def sweep_args(work: Path, *args: str) -> list[str]:
    return [
        "sweep",
        "--input", str(work / "data.csv"),
        "--config", str(work / "config.yaml"),
        "--output", str(work / "sweep.json"),
        "--log-file", str(work / "run.log"),
        *args,
    ]  # fmt: skip


def figures(result: signal_job.WindowResult) -> tuple[int, int, float, int]:
    return result.rows, result.signals, result.rate, result.full_windows


def test_the_bundled_data_swept_from_5_to_200_gives_each_window_what_run_gives() -> None:
    swept = signal_job.sweep(PROJECT / "data.csv", windows="5:200:5", config=CONFIG)
    assert [each.window for each in swept.results] == list(range(5, 201, 5))
    assert (swept.result(5).rows, swept.result(5).rate) == (REAL_ROWS, 0.4989)
    for window in (5, 10, 100, 200):
        alone = signal_job.run(PROJECT / "data.csv", config={**CONFIG, "window": window})
        assert (swept.result(window).signals, swept.result(window).rate) == (alone.signals, alone.rate)
        assert swept.result(window).rows == alone.rows == swept.rows


def test_the_document_has_runs_keys_then_a_result_per_window_in_the_order_asked(work: Path) -> None:
    code, stdout, _ = invoke(*sweep_args(work, "--windows", "20,5,10"))
    assert code == 0
    document = orjson.loads(stdout)
    assert stdout == (work / "sweep.json").read_bytes()
    assert list(document) == [*TASK_KEYS, "inputs", "results"]
    assert document["metric"] == "signal_rate"
    assert [entry["window"] for entry in document["results"]] == [20, 5, 10]
    assert list(document["results"][0]) == ["window", "rows", "value", "signals", "full_windows"]
    five = document["results"][1]
    assert (five["rows"], five["full_windows"]) == (400, 396)


def test_windows_given_win_over_the_configs_key_which_serves_without_them(work: Path) -> None:
    config = {**CONFIG, "windows": "3:9:3"}
    assert [each.window for each in signal_job.sweep(work / "data.csv", config=config).results] == [3, 6, 9]
    given = signal_job.sweep(work / "data.csv", windows=[7, 2], config=config)
    assert [each.window for each in given.results] == [7, 2]


def test_a_sweep_without_windows_is_an_error_naming_both_ways_to_give_them(work: Path) -> None:
    code, stdout, _ = invoke(*sweep_args(work))
    assert code == 1
    message = orjson.loads(stdout)["error_message"]
    assert "a sweep needs its windows: give --windows" in message
    assert "windows key in the config" in message
    with pytest.raises(ConfigError, match="give windows"):
        signal_job.sweep(work / "data.csv", config=CONFIG)


def test_windows_given_twice_are_an_error_naming_them(work: Path) -> None:
    code, _, stderr = invoke(*sweep_args(work, "--windows", "5,10,5:20:5"))
    assert code == 2
    assert "more than once: 5, 10" in stderr
    assert not (work / "sweep.json").exists()
    with pytest.raises(ConfigError, match=r"^windows names windows more than once: 5, 10$"):
        signal_job.sweep(work / "data.csv", windows=[5, 10, 10, 5], config=CONFIG)
    with pytest.raises(
        ConfigError, match="config key 'windows' in the config mapping names a window more than"
    ):
        signal_job.sweep(work / "data.csv", config={**CONFIG, "windows": [4, 4]})


def test_a_window_longer_than_the_rows_is_warned_of_as_run_warns(work: Path) -> None:
    swept = signal_job.sweep(work / "data.csv", windows=[5, 1000], config=CONFIG)
    alone = signal_job.run(work / "data.csv", config={**CONFIG, "window": 1000})
    assert swept.document["warnings"] == alone.document["warnings"]
    assert "window of 1000 is longer than the input's 400 rows" in swept.document["warnings"][0]
    assert (swept.result(1000).rate, swept.result(1000).full_windows) == (0.0, 0)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_the_table_holds_the_documents_results(work: Path, suffix: str) -> None:
    table = work / f"sweep{suffix}"
    swept = signal_job.sweep(work / "data.csv", windows="5:15:5", config=CONFIG, table=table)
    frame = pl.read_csv(table) if suffix == ".csv" else pl.read_parquet(table)
    assert frame.columns == ["window", "rows", "value", "signals", "full_windows"]
    assert frame.to_dicts() == [
        {key: entry[key] for key in frame.columns} for entry in swept.document["results"]
    ]


def test_a_table_of_another_ending_fails_the_sweep_before_any_work(work: Path) -> None:
    code, stdout, _ = invoke(*sweep_args(work, "--windows", "5", "--table", str(work / "sweep.txt")))
    assert code == 1
    message = orjson.loads(stdout)["error_message"]
    assert message.startswith("--table ")
    assert "give a name ending in one of .csv, .gz, .zst, .parquet, .arrow" in message
    assert not (work / "sweep.txt").exists()
    with pytest.raises(OutputError, match=r"^table .* ends in '\.txt'"):
        signal_job.sweep(work / "data.csv", windows="5", config=CONFIG, table=work / "sweep.txt")


def grouped_input(folder: Path) -> Path:
    rows = 90
    frame = pl.DataFrame(
        {
            "timestamp": [f"2024-01-01 {i // 60:02}:{i % 60:02}:00" for i in range(rows)],
            "symbol": [("AAA", "BBB", "CCC")[i % 3] for i in range(rows)],
            "close": [float((i * 7) % 11) for i in range(rows)],
        }
    )
    path = folder / "grouped.csv"
    frame.write_csv(path)
    return path


def test_with_group_by_each_window_holds_each_groups_figures_as_run_gives_them(tmp_path: Path) -> None:
    path = grouped_input(tmp_path)
    config = {**CONFIG, "group_by": "symbol"}
    table = tmp_path / "sweep.csv"
    swept = signal_job.sweep(path, windows=[3, 40], config=config, table=table)
    for window in (3, 40):
        groups = signal_job.run(path, config={**config, "window": window}, groups=tmp_path / "g.csv")
        expected = pl.read_csv(tmp_path / "g.csv")
        mine = swept.result(window).groups
        assert [each.group for each in mine] == expected["group"].to_list()
        assert [each.signals for each in mine] == expected["signals"].to_list()
        assert [each.full_windows for each in mine] == expected["full_windows"].to_list()
        assert swept.result(window).signals == groups.signals
    assert "groups of symbol" not in json.dumps(swept.document)
    longer = "the window of 40 is longer than every group of symbol"
    assert swept.document["warnings"][0] == f"{longer}: no row has a full window, so every signal is 0"
    # The run of the largest window warns of the same: its short window, and the closes of 0 or below.
    assert (
        swept.document["warnings"]
        == signal_job.run(path, config={**config, "window": 40}).document["warnings"]
    )
    assert pl.read_csv(table).columns == ["window", "group", "rows", "value", "signals", "full_windows"]
    assert pl.read_csv(table).height == 6


def test_a_bad_input_is_runs_error_document_and_exit_code(work: Path) -> None:
    (work / "data.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:00:00,2\n")
    code, stdout, stderr = invoke(*sweep_args(work, "--windows", "2,3"))
    assert code == 1
    document = orjson.loads(stdout)
    assert list(document) == ["version", "status", "error_message"]
    assert "line 3" in document["error_message"]
    assert "Traceback" not in stderr
    assert orjson.loads((work / "sweep.json").read_bytes()) == document
    with pytest.raises(InputError, match="line 3"):
        signal_job.sweep(work / "data.csv", windows="2,3", config=CONFIG)


def test_explain_shows_the_sweeps_route_and_runs_nothing(work: Path) -> None:
    code, stdout, _ = invoke(*sweep_args(work, "--windows", "5,50", "--explain"))
    assert code == 0
    assert b"windows:   5, 50 (a sweep of 2 windows" in stdout
    assert not (work / "sweep.json").exists()


def test_the_console_script_sweeps_the_bundled_data(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path)
    shutil.copy(PROJECT / "config.yaml", tmp_path)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "sweep", "--windows", "5:200:5"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    five = document["results"][0]
    assert (five["window"], five["rows"], five["value"]) == (5, REAL_ROWS, 0.4989)
    assert len(document["results"]) == 40
    assert b"Traceback" not in done.stderr


closes = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "10.25", "0.1", "7"]))


def write_split(folder: Path, values: list[str | None], cuts: list[int]) -> Path:
    """The closes, a minute apart, in files split at `cuts`, in a folder read in name order."""
    folder.mkdir()
    stamps = [f"2024-01-01 {i // 60:02}:{i % 60:02}:00" for i in range(len(values))]
    frame = pl.DataFrame(
        {"timestamp": stamps, "close": values}, schema={"timestamp": pl.String, "close": pl.String}
    )
    edges = [0, *sorted(set(cuts)), len(values)]
    for index, (start, end) in enumerate(itertools.pairwise(edges)):
        if end > start or index == 0:
            frame.slice(start, end - start).write_csv(folder / f"part-{index:02}.csv")
    return folder


@settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    values=st.lists(closes, min_size=1, max_size=50),
    windows=st.lists(st.integers(1, 15), min_size=1, max_size=8, unique=True),
    cuts=st.lists(st.integers(1, 49), max_size=3),
)
def test_every_window_of_a_sweep_is_runs_and_the_references(
    tmp_path_factory: pytest.TempPathFactory, values: list[str | None], windows: list[int], cuts: list[int]
) -> None:
    folder = write_split(
        tmp_path_factory.mktemp("split") / "in", values, [c for c in cuts if c < len(values)]
    )
    swept = signal_job.sweep(folder, windows=windows, config=CONFIG)
    exact = [None if value is None else Decimal(value) for value in values]
    for window in windows:
        alone = signal_job.run(folder, config={**CONFIG, "window": window})
        mine = swept.result(window)
        assert (mine.rows, mine.signals, mine.rate) == (alone.rows, alone.signals, alone.rate)
        assert mine.signals == sum(reference_signals(exact, window))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    values=st.lists(closes, min_size=5, max_size=40),
    windows=st.lists(st.integers(1, 12), min_size=2, max_size=5, unique=True),
)
def test_the_console_scripts_sweep_equals_its_runs(
    tmp_path_factory: pytest.TempPathFactory, values: list[str | None], windows: list[int]
) -> None:
    folder = write_split(tmp_path_factory.mktemp("console") / "in", values, [len(values) // 2])
    (folder.parent / "config.yaml").write_text('seed: 1\nwindow: 5\nversion: "v"\n')

    def console(*args: str) -> dict[str, Any]:
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), *args, "--input", str(folder)],
            cwd=folder.parent,
            capture_output=True,
            check=True,
            timeout=120,
        )
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    swept = console("sweep", "--windows", ",".join(map(str, windows)))
    for entry in swept["results"]:
        (folder.parent / "config.yaml").write_text(f'seed: 1\nwindow: {entry["window"]}\nversion: "v"\n')
        alone = console("run")
        assert (entry["rows"], entry["value"]) == (alone["rows_processed"], alone["value"])


def test_a_sweep_does_not_depend_on_threads_or_morsels() -> None:
    code = (
        "import json, sys, signal_job; "
        "config = {'seed': 1, 'window': 5, 'version': 'v'}; "
        "s = signal_job.sweep(sys.argv[1], windows='1:40:3', config=config); "
        "print(json.dumps([[r.window, r.signals, r.full_windows] for r in s.results]))"
    )
    results = under_polars_settings(code, str(CANDLES))
    assert results[0] == results[1] == results[2]
    assert len(results[0]) == 14


def test_signals_hold_a_column_per_window_exactly_as_runs_signals_files(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path)
    out = tmp_path / "swept.parquet"
    signal_job.sweep(tmp_path / "data.csv", windows=[5, 20, 10], config=CONFIG, signals=out, means=True)
    swept = pl.read_parquet(out)
    assert swept.columns == [
        "timestamp", "close",
        "rolling_mean_5", "signal_5", "rolling_mean_20", "signal_20", "rolling_mean_10", "signal_10",
    ]  # fmt: skip
    for window in (5, 20, 10):
        alone = tmp_path / f"run{window}.parquet"
        signal_job.run(tmp_path / "data.csv", config={**CONFIG, "window": window}, signals=alone)
        expected = pl.read_parquet(alone)
        assert swept.select("timestamp", "close").equals(expected.select("timestamp", "close"))
        assert swept[f"signal_{window}"].equals(expected["signal"], check_names=False)
        assert swept[f"rolling_mean_{window}"].equals(expected["rolling_mean"], check_names=False)


def test_signals_without_means_hold_the_signal_columns_only(work: Path) -> None:
    code, _, _ = invoke(*sweep_args(work, "--windows", "3,4", "--signals", str(work / "s.parquet")))
    assert code == 0
    assert pl.read_parquet(work / "s.parquet").columns == ["timestamp", "close", "signal_3", "signal_4"]


def test_means_without_signals_is_an_error_naming_both(work: Path) -> None:
    code, stdout, _ = invoke(*sweep_args(work, "--windows", "3,4", "--means"))
    assert code == 1
    assert orjson.loads(stdout)["error_message"] == (
        "--means adds each window's rolling mean to the signals file: give --signals"
    )
    with pytest.raises(
        ConfigError, match=r"^means adds each window's rolling mean to the signals file: give signals$"
    ):
        signal_job.sweep(work / "data.csv", windows="3", config=CONFIG, means=True)


def test_a_failed_sweep_leaves_no_signals_file(work: Path) -> None:
    (work / "data.csv").write_text(
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:02:00,2\n2024-01-01 00:01:00,3\n"
    )
    code, _, _ = invoke(*sweep_args(work, "--windows", "2", "--signals", str(work / "s.parquet")))
    assert code == 1
    assert sorted(path.name for path in work.iterdir()) == [
        "config.yaml",
        "data.csv",
        "run.log",
        "sweep.json",
    ]


def test_the_metrics_file_carries_a_window_label_per_result(work: Path) -> None:
    code, _, _ = invoke(*sweep_args(work, "--windows", "5,20", "--metrics-file", str(work / "sweep.prom")))
    assert code == 0
    text = (work / "sweep.prom").read_text()
    assert 'signal_job_signal_rate{version="v1",window="5"} ' in text
    assert 'signal_job_signals{version="v1",window="20"} ' in text


def test_a_cached_sweep_gives_each_window_what_run_gives_and_a_rerun_reads_no_file_again(
    tmp_path: Path,
) -> None:
    folder = write_split(tmp_path / "days", [str(1 + i % 7) for i in range(90)], [30, 60])
    cache = tmp_path / "cache"
    first = signal_job.sweep(folder, windows=[5, 20], config=CONFIG, cache=cache)
    again = signal_job.sweep(folder, windows=[5, 20, 40], config=CONFIG, cache=cache)
    for window in (5, 20, 40):
        alone = signal_job.run(folder, config={**CONFIG, "window": window})
        assert (again.result(window).signals, again.result(window).rate) == (alone.signals, alone.rate)
    assert [figures(each) for each in first.results] == [figures(each) for each in again.results[:2]]
    assert len(list(cache.iterdir())) == 9  # three files, three windows each


def test_a_plain_sweep_imports_none_of_the_optional_integrations_nor_numpy(tmp_path: Path) -> None:
    # As a plain run (tests/test_api.py): each is imported only where it is used.
    optional = {
        "dask",
        "distributed",
        "obstore",
        "boto3",
        "botocore",
        "xxhash",
        "mlflow",
        "sqlalchemy",
        "numpy",
        "matplotlib",  # the plot extra's: only a picture imports it
    }
    shutil.copy(PROJECT / "data.csv", tmp_path)
    probe = (
        "import sys, signal_job\n"
        "signal_job.sweep(sys.argv[1], windows='5:50:5', config={'seed': 1, 'window': 5, 'version': 'v'},\n"
        "                 table=sys.argv[2])\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(tmp_path / "data.csv"), str(tmp_path / "t.parquet")],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.decode().split()).isdisjoint(optional)


def test_a_group_by_named_as_a_signal_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "named.csv"
    path.write_text("timestamp,signal_3,close\n2024-01-01 00:00:00,A,1\n")
    config = {**CONFIG, "group_by": "signal_3"}
    with pytest.raises(ConfigError, match="cannot be 'signal_3' in a sweep with signals: the signals file"):
        signal_job.sweep(path, windows="3", config=config, signals=tmp_path / "s.parquet")


@pytest.mark.parametrize(
    ("given", "said"),
    [
        (["--workers", "2"], "--workers needs --engine dask"),
        (["--address", "tcp://127.0.0.1:1"], "--address needs --engine dask"),
        (["--mlflow-experiment", "x"], "--mlflow-experiment needs --mlflow"),
        (["--input", "-", "--cache", "cache"], "keeps each input file's counts by its path"),
        (["--input", "-", "--config", "-"], "standard input cannot hold both the candles"),
    ],
)
def test_an_option_a_sweep_cannot_act_on_is_a_usage_error_as_in_run(
    work: Path, given: list[str], said: str
) -> None:
    code, stdout, stderr = invoke(*sweep_args(work, "--windows", "3,5"), *given)
    assert code == 2, stderr
    assert said in " ".join(stderr.replace("│", " ").split())
    assert stdout == b""
    assert sorted(path.name for path in work.iterdir()) == ["config.yaml", "data.csv"]


def test_a_sweep_reads_its_own_variables_never_runs_document_or_signals(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A container that sets run's outputs must not have a sweep write over them.
    monkeypatch.chdir(work)
    monkeypatch.setenv("SIGNAL_JOB_OUTPUT", "metrics.json")
    monkeypatch.setenv("SIGNAL_JOB_SIGNALS", "signals.parquet")
    monkeypatch.setenv("SIGNAL_JOB_SWEEP_OUTPUT", "swept.json")
    code, _, stderr = invoke("sweep", "--windows", "3,5", "--log-file", "-")
    assert code == 0, stderr
    assert sorted(path.name for path in work.iterdir()) == ["config.yaml", "data.csv", "swept.json"]


def test_the_python_sweep_refuses_workers_below_one_and_a_frame_by_name(work: Path) -> None:
    with pytest.raises(ValueError, match="workers must be at least 1, not 0"):
        signal_job.sweep(work / "data.csv", windows=[3], config=CONFIG, engine="dask", workers=0)
    with pytest.raises(TypeError, match="sweep reads a path"):
        signal_job.sweep(pl.DataFrame({"close": [1.0]}), windows=[3], config=CONFIG)  # type: ignore[arg-type] # a frame, as a notebook might try
