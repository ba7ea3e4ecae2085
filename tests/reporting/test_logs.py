"""Log formats: text by default, JSON lines for log collectors."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson

from signal_job.reporting.logs import FIELDS, JsonFormatter
from tests.conftest import CONSOLE_SCRIPT, PROJECT


def run_console(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    command = [str(CONSOLE_SCRIPT), "run", "--output", "m.json", "--log-file", "run.log", *args]
    return subprocess.run(
        command,
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def json_lines(data: bytes) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in data.splitlines()]


def test_json_logs_are_one_object_per_line_on_the_console_and_in_the_file(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    done = run_console(tmp_path, "--log-format", "json")
    assert done.returncode == 0, done.stderr
    console = json_lines(done.stderr)
    in_file = json_lines((tmp_path / "run.log").read_bytes())
    for record in console + in_file:
        assert {"time", "level", "logger", "message"} <= set(record)
        assert str(record["time"]).endswith("+00:00")
    assert [record["message"] for record in console] == [
        record["message"] for record in in_file if record["level"] != "DEBUG"
    ]
    result = next(record for record in console if "rows" in record and "signals" in record)
    assert (result["rows"], result["signals"], result["signal_rate"]) == (10_000, 4_989, 0.4989)
    config = next(record for record in console if "window" in record)
    assert (config["window"], config["seed"], config["version"]) == (5, 42, "v1")
    assert next(record for record in console if "input" in record)["input"] == "data.csv"
    route = next(record for record in console if "route" in record)
    assert route["message"] == "route: engine local; staging none; counted by series; signals none"
    steps = route["route"]  # each step by name (`Route.as_dict`, see tests/computing/test_route.py)
    assert isinstance(steps, dict)
    assert list(steps) == ["engine", "series", "staging", "groups", "listing", "counting", "signals"]
    assert (steps["engine"], steps["signals"]) == ("local", "none")
    assert console[-1]["status"] == "success"


def test_json_logs_from_the_environment_carry_the_error_of_a_failed_run(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    done = run_console(tmp_path, "--input", "missing.csv", env={"SIGNAL_JOB_LOG_FORMAT": "json"})
    assert done.returncode == 1
    console = json_lines(done.stderr)
    assert console[-1]["status"] == "error"
    assert console[-1]["error_message"] == "input file missing.csv does not exist"
    assert any(record["level"] == "ERROR" for record in console)
    assert b"Traceback" not in done.stderr


def test_a_record_with_surrogates_a_traceback_and_odd_fields_is_still_one_json_line() -> None:
    try:
        message = "boom"  # a real traceback to format
        raise ValueError(message)
    except ValueError:
        record = logging.LogRecord(
            "signal_job", logging.ERROR, __file__, 1, "file %s", ("bad\udcffname",), sys.exc_info()
        )
    record.__dict__[FIELDS] = {"input": Path("x\udcff.csv"), "message": "not the message"}
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = orjson.loads(line)
    assert parsed["message"] == "file bad\\udcffname"
    assert parsed["input"] == "x\\udcff.csv"
    assert "ValueError: boom" in parsed["traceback"]
