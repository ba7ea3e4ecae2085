"""`signal-job inspect` and `signal_job.inspect`: what the job sees before a window is chosen."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

import signal_job
from signal_job.cli import app
from signal_job.errors import ConfigError, InputError
from tests.conftest import CONSOLE_SCRIPT, DATA, PROJECT, REAL_ROWS, Bucket

CONFIG = {"seed": 42, "window": 5, "version": "v1"}
HOLES = (
    "timestamp,close\n"
    "2024-01-01 00:00:00,10\n2024-01-01 00:01:00,11\n2024-01-01 00:02:00,12\n"
    "2024-01-01 03:00:00,13\n2024-01-01 03:01:00,0\n2024-01-01 03:03:00,14.25\n"
)


def invoke(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes, result.stderr


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A folder with a file with holes and a config, as a user's working folder."""
    (tmp_path / "holes.csv").write_text(HOLES)
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    return tmp_path


def inspect_args(work: Path, *args: str) -> list[str]:
    return ["inspect", str(work / "holes.csv"), "--config", str(work / "config.yaml"), *args]


def test_the_console_script_inspects_the_bundled_data_which_has_no_gaps(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path)
    shutil.copy(PROJECT / "config.yaml", tmp_path)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "inspect"], cwd=tmp_path, capture_output=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert list(document)[:2] == ["version", "status"]
    assert (document["rows"], document["blank_lines"], document["files"]) == (REAL_ROWS, 0, 1)
    assert document["layouts"][0] | {"first_file": None} == {
        "kind": "CSV",
        "delimiter": "comma",
        "header_line": 1,
        "wrapped_in_quotes": True,
        "columns": 7,
        "close_column": "close",
        "numbers": "plain",
        "time_column": "timestamp",
        "time_written": "text like %Y-%m-%d %H:%M:%S",
        "newest_first": False,
        "files": 1,
        "first_file": None,
    }
    assert document["close"] == {"lowest": "41939.28", "highest": "50949.16"}
    assert document["time"] == {
        "first": "2024-01-01 00:00:00",
        "last": "2024-01-07 22:39:00",
        "order": "oldest first",
    }
    assert document["gaps"] | {"intervals": None} == {
        "spacing": "1m",
        "irregular": False,
        "intervals": None,
        "regular": REAL_ROWS - 1,
        "gaps": 0,
        "missing": 0,
        "off_grid": 0,
        "repeated_times": 0,
        "largest": None,
    }
    assert b"spacing 1m, no gap" in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml", "data.csv"]  # wrote nothing


def test_a_file_with_holes_says_the_intervals_missing_and_warns_of_a_wide_gap(work: Path) -> None:
    code, stdout, stderr = invoke(*inspect_args(work))
    assert code == 0, stderr
    document = orjson.loads(stdout)
    assert (document["empty_closes"], document["nonpositive_closes"]) == (0, 1)
    assert document["close"] == {"lowest": "0", "highest": "14.25"}
    gaps = document["gaps"]
    assert (gaps["spacing"], gaps["gaps"], gaps["missing"]) == ("1m", 2, 177 + 1)
    assert gaps["largest"] == {"from": "2024-01-01 00:02:00", "to": "2024-01-01 03:00:00", "length": "2h58m"}
    assert document["warnings"] == [
        "a gap of 2h58m from 2024-01-01 00:02:00 to 2024-01-01 03:00:00, over 10 times the spacing "
        "of 1m: a window of rows reaches across it"
    ]
    assert "2 gaps missing 178 intervals" in stderr
    assert "WARNING a gap of 2h58m" in stderr


def test_the_document_is_written_to_output_as_it_is_printed(work: Path) -> None:
    code, stdout, _ = invoke(*inspect_args(work, "--output", str(work / "seen.json")))
    assert code == 0
    assert (work / "seen.json").read_bytes() == stdout


def test_group_by_from_set_gives_each_groups_figures(tmp_path: Path) -> None:
    (tmp_path / "mixed.csv").write_text(
        "timestamp,symbol,close\n"
        "2024-01-01 00:00:00,BTC,1\n2024-01-01 00:00:00,ETH,2\n"
        "2024-01-01 00:01:00,BTC,3\n2024-01-01 00:05:00,ETH,4\n2024-01-01 00:06:00,ETH,5\n"
    )
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    code, stdout, stderr = invoke(
        "inspect",
        str(tmp_path / "mixed.csv"),
        "-c",
        str(tmp_path / "config.yaml"),
        "--set",
        "group_by=symbol",
    )
    assert code == 0, stderr
    document = orjson.loads(stdout)
    assert document["group_by"] == "symbol"
    figures = [
        (each["group"], each["rows"], each["close"]["highest"], each["gaps"]["missing"])
        for each in document["groups"]
    ]
    assert figures == [("BTC", 2, "3", 0), ("ETH", 3, "5", 4)]
    assert "symbol ETH: 3 rows" in stderr


def test_a_bad_input_is_runs_error_document_and_exit_code(work: Path) -> None:
    (work / "holes.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,x1\n")
    code, stdout, stderr = invoke(*inspect_args(work, "--output", str(work / "seen.json")))
    assert code == 1
    document = orjson.loads(stdout)
    assert list(document) == ["version", "status", "error_message"]
    assert "line 3" in document["error_message"]
    assert "Traceback" not in stderr
    assert orjson.loads((work / "seen.json").read_bytes()) == document


def test_a_missing_input_is_runs_error(work: Path) -> None:
    code, stdout, _ = invoke("inspect", str(work / "nothing.csv"), "--config", str(work / "config.yaml"))
    assert code == 1
    assert "nothing.csv" in orjson.loads(stdout)["error_message"]


def test_standard_input_is_inspected_and_named_as_such(work: Path) -> None:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "inspect", "-", "--config", str(work / "config.yaml")],
        input=HOLES.encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert (document["input"], document["layouts"][0]["first_file"]) == ("<stdin>", "<stdin>")
    assert document["gaps"]["missing"] == 178


@pytest.mark.parametrize(
    "name", ["candles.csv.gz", "candles.csv.zst", "candles.feather", "float_close.parquet"]
)
def test_other_kinds_of_files_are_inspected_as_run_reads_them(name: str) -> None:
    seen = signal_job.inspect(DATA / name, config=CONFIG)
    assert seen.total.rows == 400
    assert seen.layouts[0]["close_column"] == "close"


def test_a_folder_of_files_counts_the_gap_between_two_files(tmp_path: Path) -> None:
    folder = tmp_path / "days"
    folder.mkdir()
    (folder / "a.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n")
    (folder / "b.csv").write_text("timestamp,close\n2024-01-01 00:04:00,1\n2024-01-01 00:05:00,2\n")
    seen = signal_job.inspect(folder, config=CONFIG)
    assert seen.total.gaps is not None
    assert (seen.total.gaps.missing, seen.total.gaps.largest) == (
        2,
        (datetime(2024, 1, 1, 0, 1), datetime(2024, 1, 1, 0, 4)),
    )
    assert seen.document["files"] == 2
    assert [layout["files"] for layout in seen.layouts] == [2]
    assert signal_job.inspect(str(folder / "*.csv"), config=CONFIG).total == seen.total  # a glob


def test_the_api_returns_typed_figures(work: Path) -> None:
    seen = signal_job.inspect(work / "holes.csv", config=CONFIG)
    assert isinstance(seen, signal_job.InspectResult)
    assert (seen.total.rows, seen.total.lowest_close, seen.total.highest_close) == (
        6,
        Decimal(0),
        Decimal("14.25"),
    )
    assert seen.total.first == datetime(2024, 1, 1)
    assert seen.total.gaps is not None
    assert (seen.total.gaps.spacing, seen.total.gaps.missing) == ("1m", 178)
    assert seen.groups == ()


def test_the_api_raises_runs_errors(work: Path) -> None:
    back = work / "back.csv"
    back.write_text("timestamp,close\n2024-01-01 00:01:00,1\n2024-01-01 00:00:00,2\n2024-01-01 00:03:00,2\n")
    with pytest.raises(InputError, match="line 3"):
        signal_job.inspect(back, config=CONFIG)
    with pytest.raises(ConfigError, match="window"):
        signal_job.inspect(work / "holes.csv", config={"seed": 1, "version": "v"})


def test_an_input_in_object_storage_is_inspected(bucket: Bucket) -> None:
    url = bucket.put("candles/holes.csv", HOLES.encode())
    seen = signal_job.inspect(url, config=CONFIG)
    assert seen.total.gaps is not None
    assert (seen.total.rows, seen.total.gaps.missing) == (6, 178)


def test_an_inspect_imports_none_of_the_optional_integrations(work: Path) -> None:
    probe = (
        "import sys, signal_job\n"
        "signal_job.inspect(sys.argv[1], config={'seed': 1, 'window': 5, 'version': 'v'})\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(work / "holes.csv")], capture_output=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.decode().split()).isdisjoint(
        {"dask", "distributed", "obstore", "mlflow", "xxhash"}
    )


def test_the_summary_goes_to_the_log_file_when_one_is_given(work: Path) -> None:
    code, _, _ = invoke(*inspect_args(work, "--log-file", str(work / "inspect.log"), "--log-format", "json"))
    assert code == 0
    records = [json.loads(line) for line in (work / "inspect.log").read_text().splitlines()]
    said = [record["message"] for record in records]
    assert any("2 gaps missing 178 intervals" in message for message in said)
    assert [record["level"] for record in records if "a gap of 2h58m" in record["message"]] == ["WARNING"]


def test_a_file_of_several_tickers_is_inspected_per_ticker(tmp_path: Path) -> None:
    path = tmp_path / "yf.csv"
    path.write_text(
        "Price,Close,Close\nTicker,BTC-USD,ETH-USD\nDate,,\n2024-01-01,1,2\n2024-01-02,3,4\n2024-01-05,5,6\n"
    )
    seen = signal_job.inspect(path, config={**CONFIG, "group_by": "ticker"})
    assert [
        (group.group, group.rows, group.gaps.spacing if group.gaps else None) for group in seen.groups
    ] == [
        ("BTC-USD", 3, "1d"),
        ("ETH-USD", 3, "1d"),
    ]
    assert seen.document["files"] == 1
