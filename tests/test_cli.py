from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
import typer
from typer.testing import CliRunner

from signal_job import __version__
from signal_job.cli import app
from signal_job.flags import FLAGS
from signal_job.options import NEEDS, Needs, Option
from tests.conftest import CONSOLE_SCRIPT, DATA, REAL_ROWS, WriteFile

PROJECT = Path(__file__).resolve().parents[1]


def invoke(*args: str) -> tuple[int, bytes, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes, result.stderr


def run_args(tmp_path: Path, input_path: Path, config: Path) -> list[str]:
    return [
        "run",
        "--input", str(input_path),
        "--config", str(config),
        "--output", str(tmp_path / "metrics.json"),
        "--log-file", str(tmp_path / "run.log"),
    ]  # fmt: skip


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def signals_args(tmp_path: Path, input_path: Path, config: Path) -> list[str]:
    return [*run_args(tmp_path, input_path, config), "--signals", str(tmp_path / "out" / "signals.parquet")]


def test_success_writes_the_document_to_the_file_and_stdout(tmp_path: Path, config_file: Path) -> None:
    code, stdout, stderr = invoke(*run_args(tmp_path, DATA / "candles.csv", config_file))
    assert code == 0
    assert stdout == (tmp_path / "metrics.json").read_bytes()
    document = orjson.loads(stdout)
    task_keys = ["version", "rows_processed", "metric", "value", "latency_ms", "seed", "status"]
    assert list(document) == [*task_keys, "inputs"]  # the task's keys, in order; what was read after them
    assert document["rows_processed"] == 400
    assert document["status"] == "success"
    assert isinstance(document["latency_ms"], int)
    assert document["latency_ms"] >= 0
    assert "status: success" in stderr


def test_log_file_records_every_step(tmp_path: Path, config_file: Path) -> None:
    invoke(*run_args(tmp_path, DATA / "blank_lines.csv", config_file))
    log = (tmp_path / "run.log").read_text()
    for expected in (
        "starting",
        "seed=42 window=5 version=v1",
        "blank_lines.csv: 29,862 bytes",
        "rows: 400 (",
        "blank lines skipped",
        "rows with a full window of 5: 396",
        "missing close values: 0",
        "signals: ",
        "signal rate: ",
        "latency: ",
        "status: success",
    ):
        assert expected in log
    routes = [line for line in log.splitlines() if " INFO route: " in line]
    assert [line.split(" INFO ")[1] for line in routes] == [
        "route: engine local; staging none; counted by series; signals none"
    ]


def test_log_file_is_appended_to(tmp_path: Path, config_file: Path) -> None:
    for _ in range(2):
        invoke(*run_args(tmp_path, DATA / "candles.csv", config_file))
    assert (tmp_path / "run.log").read_text().count("status: success") == 2


def test_missing_values_are_logged_as_a_warning(
    tmp_path: Path, write_file: WriteFile, config_file: Path
) -> None:
    data = write_file("gaps.csv", "t,close,v\n1,1,1\n2,,1\n3,3,1\n")
    _, _, stderr = invoke(*run_args(tmp_path, data, config_file))
    assert "WARNING missing close values: 1" in stderr


@pytest.mark.parametrize("with_signals", [False, True], ids=["", "with-signals"])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("timestamp,close\n1,2\n2,abc\n", "line 3: close value 'abc' is not a number"),
    ],
    ids=["missing", "bad-line"],
)
def test_bad_input_gives_exit_1_and_the_error_document_on_stdout_and_in_the_file(
    tmp_path: Path, config_file: Path, content: str | None, message: str, with_signals: bool
) -> None:
    data = tmp_path / "data.csv"
    if content is not None:
        data.write_text(content)
    (tmp_path / "out").mkdir()
    args = (
        signals_args(tmp_path, data, config_file) if with_signals else run_args(tmp_path, data, config_file)
    )
    code, stdout, stderr = invoke(*args)
    assert code == 1
    document = orjson.loads(stdout)
    assert (document["status"], document["version"]) == ("error", "v1")
    assert message in document["error_message"]
    assert stdout == (tmp_path / "metrics.json").read_bytes()
    assert "Traceback" not in stderr
    assert f"ERROR {document['error_message']}" in stderr
    assert names(tmp_path / "out") == []  # no signals file, not even a temporary one


def test_bad_config_gives_an_error_document_with_an_unknown_version(
    tmp_path: Path, write_file: WriteFile
) -> None:
    config = write_file("config.yaml", "seed: 42\nwindw: 5\nversion: 9\n")
    code, stdout, _ = invoke(*run_args(tmp_path, DATA / "candles.csv", config))
    assert code == 1
    assert orjson.loads(stdout) == {
        "version": "unknown",
        "status": "error",
        "error_message": (
            f"config file {config} has an unknown key 'windw' (did you mean 'window'?); "
            "the keys are 'seed', 'window', 'version' and, optionally, 'group_by', 'close_column', "
            "'timestamp_column', 'timestamp_format', 'header', 'decimal_comma', 'sort', 'duplicates', "
            "'storage_options', 'windows'"
        ),
    }


def test_failed_run_replaces_an_old_success_document(
    tmp_path: Path, write_file: WriteFile, config_file: Path
) -> None:
    assert invoke(*run_args(tmp_path, DATA / "candles.csv", config_file))[0] == 0
    invoke(*run_args(tmp_path, write_file("empty.csv", ""), config_file))
    assert orjson.loads((tmp_path / "metrics.json").read_bytes())["status"] == "error"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "config.yaml",
        "empty.csv",
        "metrics.json",
        "run.log",
    ]


def test_unwritable_output_still_prints_the_error_document(tmp_path: Path, config_file: Path) -> None:
    args = run_args(tmp_path, DATA / "candles.csv", config_file)
    args[args.index("--output") + 1] = str(tmp_path)
    code, stdout, stderr = invoke(*args)
    assert code == 1
    document = orjson.loads(stdout)
    assert document["status"] == "error"
    assert document["version"] == "v1"
    assert "is a folder; give a file name such as" in document["error_message"]
    assert "Traceback" not in stderr


def test_unwritable_log_file_gives_the_error_document(tmp_path: Path, config_file: Path) -> None:
    args = run_args(tmp_path, DATA / "candles.csv", config_file)
    args[args.index("--log-file") + 1] = str(tmp_path)
    code, stdout, _ = invoke(*args)
    assert code == 1
    assert orjson.loads(stdout)["error_message"].startswith(f"log path {tmp_path} is a folder")
    assert orjson.loads((tmp_path / "metrics.json").read_bytes())["status"] == "error"


def test_usage_error_exits_2() -> None:
    assert invoke("run", "--window", "5")[0] == 2


@pytest.mark.parametrize(
    ("data", "config", "message"),
    [
        ("timestamp,close\n1,2\n2,abc\n", "seed: 1\nwindow: 5\nversion: v1\n", "line 3"),
        (None, "seed: 1\nwindow: 5\nversion: v1\n", "does not exist"),
        ("timestamp,close\n1,2\n", "seed: 1\nwindow: -5\nversion: v1\n", "window"),
    ],
    ids=["malformed-row", "missing-file", "bad-config"],
)
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_an_expected_error_logs_no_traceback_even_at_debug_level(
    tmp_path: Path, data: str | None, config: str, message: str, log_format: str
) -> None:
    if data is not None:
        (tmp_path / "in.csv").write_text(data)
    (tmp_path / "config.yaml").write_text(config)
    done = console("run", "--input", "in.csv", "--log-format", log_format, cwd=tmp_path)
    assert done.returncode == 1
    assert message in json.loads(done.stdout)["error_message"]
    logged = (tmp_path / "run.log").read_text()
    assert message in logged  # the log file takes every level, DEBUG included
    assert "Traceback" not in logged
    assert "traceback" not in logged
    assert b"Traceback" not in done.stderr


def console(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, check=False, timeout=120
    )


def test_console_script_runs_the_bundled_example_with_its_defaults(tmp_path: Path) -> None:
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    done = console("run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (tmp_path / "metrics.json").read_bytes()
    assert orjson.loads(done.stdout)["rows_processed"] == 10_000
    # The script exits without interpreter teardown: everything must be flushed before.
    assert "status: success" in (tmp_path / "run.log").read_text()
    assert b"status: success" in done.stderr
    assert b"Traceback" not in done.stderr


def test_explain_prints_the_route_and_its_queries_and_writes_nothing(
    tmp_path: Path, config_file: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    args = [*signals_args(tmp_path, DATA / "candles.csv", config_file), "--explain"]
    code, stdout, stderr = invoke(*args)
    assert code == 0, stderr
    text = stdout.decode()
    assert text.startswith(f"route of a run over {DATA / 'candles.csv'} (")
    assert "  engine:    local (the default: one scan in this process)\n" in text
    assert "  signals:   fast (Int64 prices, exact Float64 means, one file;" in text
    assert "Polars query, signals, fast path, over the rows:" in text
    assert "Csv SCAN" in text
    assert names(tmp_path) == ["config.yaml", "out"]  # no metrics, log or signals file
    assert names(out) == []


def test_explain_of_a_bad_config_is_the_error_document(tmp_path: Path, write_file: WriteFile) -> None:
    config = write_file("config.yaml", "seed: 1\nwindow: 0\nversion: v\n")
    code, stdout, _ = invoke(*run_args(tmp_path, DATA / "candles.csv", config), "--explain")
    assert code == 1
    document = orjson.loads(stdout)
    assert document["status"] == "error"
    assert "window" in document["error_message"]
    assert names(tmp_path) == ["config.yaml"]


def test_console_script_explains_a_grouped_run_without_running_it(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 3\nversion: v\ngroup_by: symbol\n")
    rows = [f"2024-01-01 00:{i:02}:00,{'AB'[i % 2]},{i}" for i in range(6)]
    (tmp_path / "data.csv").write_text("timestamp,symbol,close\n" + "\n".join(rows) + "\n")
    done = console("run", "--explain", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"  groups:    column (symbol is a column: its groups are taken apart)\n" in done.stdout
    assert b"  counting:  decided once the groups are listed:" in done.stdout
    assert b"Polars query, listing the groups, over the rows:" in done.stdout
    assert names(tmp_path) == ["config.yaml", "data.csv"]


def test_console_script_explains_a_group_column_the_input_lacks_as_the_error_document(tmp_path: Path) -> None:
    # It ended in an AssertionError's traceback: explain planned before the check a run makes.
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 3\nversion: v\ngroup_by: symbol\n")
    (tmp_path / "data.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n")
    done = console("run", "--explain", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert b"Traceback" not in done.stderr
    message = orjson.loads(done.stdout)["error_message"]
    assert message.startswith("input file data.csv has no column 'symbol' to group by"), message
    assert names(tmp_path) == ["config.yaml", "data.csv"]


def test_console_script_usage_error_exits_2(tmp_path: Path) -> None:
    done = console("run", "--no-such-option", cwd=tmp_path)
    assert done.returncode == 2
    assert b"No such option" in done.stderr


def test_version_is_shown_by_its_flag_and_in_the_help(tmp_path: Path) -> None:
    done = console("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.decode()) == (0, f"signal-job {__version__}\n")
    assert f"signal-job {__version__}" in console("--help", cwd=tmp_path).stdout.decode()


def usage_error(stderr: bytes | str) -> str:
    """The message of typer's usage error: its panel's lines, which it wraps to the terminal, joined."""
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    return " ".join(line.strip("│ ") for line in text.splitlines() if line.startswith("│"))


@pytest.mark.parametrize("spelling", [["--input"], ["-i"], []])
def test_a_glob_the_shell_expanded_gets_a_hint_to_quote_it(tmp_path: Path, spelling: list[str]) -> None:
    files = [f"{day}.csv" for day in ("mon", "tue", "wed", "thu")]
    for name in files:
        shutil.copy(DATA / "candles.csv", tmp_path / name)
    given = [*spelling, *files] if spelling else [f"--input={files[0]}", *files[1:]]
    done = console("run", *given, "--output", "m.json", cwd=tmp_path)
    assert done.returncode == 2
    error = usage_error(done.stderr)
    assert "--input takes one path, but 4 came (mon.csv tue.csv wed.csv ...)" in error
    assert "quote it" in error
    assert b"Traceback" not in done.stderr
    assert not (tmp_path / "m.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sginals", "s.parquet"], "No such option: --sginals (Possible options: --signals)"),
        (
            ["--ouptut", "s.parquet"],
            "No such option: --ouptut (Possible options: --groups, --input, --output)",
        ),
        (["--window", "10"], "No such option: --window; window is a config key: give it as --set window=10"),
        (
            ["--group-by=symbol"],
            "No such option: --group-by; group_by is a config key: give it as --set group_by=symbol",
        ),
    ],
    ids=["misspelt", "misspelt-output", "config-key", "config-key-with-its-value"],
)
def test_an_unknown_option_gets_typers_own_error_with_its_suggestion(
    tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "s.parquet").write_bytes(b"")  # a path that exists is still no glob
    done = console("run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert usage_error(done.stderr) == message
    assert b"Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "strays"),
    [
        (["missing.csv"], "missing.csv"),
        (["--input", "data.csv", "missing.csv"], "missing.csv"),
        (["data.csv", "missing.csv"], "data.csv missing.csv"),
    ],
)
def test_a_stray_argument_that_is_no_existing_file_gets_typers_own_error(
    tmp_path: Path, args: list[str], strays: str
) -> None:
    shutil.copy(DATA / "candles.csv", tmp_path / "data.csv")
    done = console("run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert usage_error(done.stderr) == f"Got unexpected extra argument(s) ({strays})"


def test_a_quoted_glob_still_reads_every_file_it_matches(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text('seed: 1\nwindow: 5\nversion: "v1"\n')
    header, *rows = (DATA / "candles.csv").read_text().splitlines(keepends=True)
    (tmp_path / "days").mkdir()
    (tmp_path / "days" / "a.csv").write_text("".join([header, *rows[:200]]))
    (tmp_path / "days" / "b.csv").write_text("".join([header, *rows[200:]]))
    done = console("run", "--input", "days/*.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    assert (document["inputs"]["files"], document["rows_processed"]) == (2, 400)


def test_console_script_on_the_real_file_prints_the_published_document(
    shared_data: Path, tmp_path: Path
) -> None:
    for name in ("btcusd_1m_10k.csv", "btcusd_1m_10k_as_shipped.csv"):
        args = run_args(tmp_path, shared_data / name, PROJECT / "config.yaml")
        done = console(*args, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        document = json.loads(done.stdout)
        assert isinstance(document.pop("latency_ms"), int)
        inputs = document.pop("inputs")
        assert (inputs["files"], inputs["bytes"]) == (1, (shared_data / name).stat().st_size)
        assert document == {
            "version": "v1",
            "rows_processed": REAL_ROWS,
            "metric": "signal_rate",
            "value": 0.4989,
            "seed": 42,
            "status": "success",
        }
        assert done.stdout == (tmp_path / "metrics.json").read_bytes()


def test_closes_of_zero_or_below_are_a_warning_naming_the_first_line_and_the_run_succeeds(
    tmp_path: Path,
) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 2\nversion: v2\n")
    (tmp_path / "in.csv").write_text("timestamp,close\n1,5\n2,6\n\n3,0\n4,7\n5,-2.5\n6,8\n")
    done = console("run", "--input", "in.csv", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["status"] == "success"
    assert (document["rows_processed"], document["value"]) == (6, 0.5)
    assert document["warnings"] == [
        "2 close values are 0 or negative (the first: input file in.csv line 5): not a price unless "
        "the market's prices can go negative; counted as any other close"
    ]
    assert f"WARNING {document['warnings'][0]}" in (tmp_path / "run.log").read_text()
    assert b"WARNING 2 close values are 0 or negative" in done.stderr


def test_closes_of_zero_or_below_read_from_standard_input_are_named_by_it(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 2\nversion: v2\n")
    candles = b"timestamp,close\n1,5\n2,6\n3,0\n"
    for command in ("run", "sweep"):
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), command, "-i", "-", "-o", "-", "--log-file", "-", "--set", "windows=[2]"],
            input=candles,
            cwd=tmp_path,
            capture_output=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        warning = json.loads(done.stdout)["warnings"][-1]
        assert warning.startswith("1 close value is 0 or negative (the first: input file <stdin> line 4)"), (
            warning
        )


def test_console_script_error_has_no_traceback_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 5\nversion: v2\n")
    done = console("run", "--input", "nope.csv", cwd=tmp_path)
    assert done.returncode == 1
    assert json.loads(done.stdout)["version"] == "v2"
    assert b"Traceback" not in done.stderr
    assert b"does not exist" in done.stderr


def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    args = run_args(tmp_path, DATA / "candles.csv", PROJECT / "config.yaml")
    done = subprocess.run(
        [sys.executable, "-m", "signal_job", *args], capture_output=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows_processed"] == 400


def test_a_run_does_not_import_numpy(tmp_path: Path) -> None:
    # numpy costs ~90 ms of start-up, a third of an everyday run; only `generate` needs it.
    args = run_args(tmp_path, DATA / "candles.csv", PROJECT / "config.yaml")
    probe = (
        "import sys\n"
        "from signal_job import cli\n"
        "try:\n"
        "    cli.app(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stderr.write(f'numpy imported: {\"numpy\" in sys.modules}\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, check=False, timeout=120)
    assert b"status: success" in done.stderr
    assert b"numpy imported: False" in done.stderr


def test_generate_writes_seeded_candles(tmp_path: Path) -> None:
    code, _, stderr = invoke("generate", "--rows", "50", "--seed", "3", "--output", str(tmp_path / "x.csv"))
    assert code == 0
    assert "wrote 50 candles" in stderr
    assert len((tmp_path / "x.csv").read_text().splitlines()) == 51


def test_generate_refuses_an_unknown_format(tmp_path: Path) -> None:
    code, _, stderr = invoke("generate", "--rows", "5", "--output", str(tmp_path / "x.xlsx"))
    assert code == 1
    assert "cannot tell the format" in stderr


def test_environment_variables_configure_the_run_and_flags_win(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNAL_JOB_INPUT", str(DATA / "candles.csv"))
    monkeypatch.setenv("SIGNAL_JOB_CONFIG", str(config_file))
    monkeypatch.setenv("SIGNAL_JOB_OUTPUT", str(tmp_path / "from_env.json"))
    monkeypatch.setenv("SIGNAL_JOB_LOG_FILE", str(tmp_path / "env.log"))
    code, stdout, _ = invoke("run", "--output", str(tmp_path / "from_flag.json"))
    assert code == 0
    assert (tmp_path / "from_flag.json").read_bytes() == stdout
    assert not (tmp_path / "from_env.json").exists()
    assert (tmp_path / "env.log").is_file()
    assert orjson.loads(stdout)["rows_processed"] == 400


def test_the_groups_table_is_named_by_its_flag_or_variable(
    tmp_path: Path, write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = write_file("symbols.csv", "timestamp,symbol,close\n1,A,1\n1,B,2\n2,A,3\n2,B,1\n")
    config = write_file("config.yaml", "seed: 1\nwindow: 2\nversion: v\ngroup_by: symbol\n")
    monkeypatch.setenv("SIGNAL_JOB_GROUPS", str(tmp_path / "from_env.csv"))
    assert invoke(*run_args(tmp_path, data, config))[0] == 0
    assert pl.read_csv(tmp_path / "from_env.csv")["group"].to_list() == ["A", "B"]
    code, _, stderr = invoke(*run_args(tmp_path, data, config), "--groups", str(tmp_path / "flag.parquet"))
    assert code == 0
    assert pl.read_parquet(tmp_path / "flag.parquet")["signals"].to_list() == [1, 0]
    assert f"groups table written to {tmp_path / 'flag.parquet'}" in stderr


def test_unexpected_failure_still_gives_the_error_document(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        message = "boom"
        raise RuntimeError(message)

    monkeypatch.setattr("signal_job.computing.pipeline.run", explode)
    code, stdout, stderr = invoke(*run_args(tmp_path, DATA / "candles.csv", config_file))
    assert code == 1
    assert "unexpected error, please report it: RuntimeError: boom" in orjson.loads(stdout)["error_message"]
    assert "Traceback" not in stderr
    assert "Traceback" in (tmp_path / "run.log").read_text()


def test_file_names_that_are_not_utf8_give_a_readable_error_document(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("seed: 1\nwindow: 5\nversion: v2\n")
    done = subprocess.run(
        [os.fsencode(CONSOLE_SCRIPT), b"run", b"--input", b"caf\xe9.csv"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error_message"] == "input file caf\\udce9.csv does not exist"
    assert b"Traceback" not in done.stderr
    assert "does not exist" in (tmp_path / "run.log").read_text()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("out", "signals path {tmp}/out is a folder; give a file name such as"),
        ("missing/s.parquet", "output folder {tmp}/missing does not exist"),
        ("metrics.json", "--output and --signals name the same file"),
        ("run.log", "--log-file and --signals name the same file"),
        ("config.yaml", "--signals {tmp}/config.yaml is the config file of this run"),
    ],
)
def test_unusable_signals_path_gives_the_error_document(
    tmp_path: Path, config_file: Path, where: str, message: str
) -> None:
    (tmp_path / "out").mkdir()
    args = [*run_args(tmp_path, DATA / "candles.csv", config_file), "--signals", str(tmp_path / where)]
    code, stdout, stderr = invoke(*args)
    assert code == 1
    assert message.format(tmp=tmp_path) in orjson.loads(stdout)["error_message"]
    assert "Traceback" not in stderr


def test_console_script_writes_the_signals_in_the_format_their_name_says(tmp_path: Path) -> None:
    shutil.copy(DATA / "candles.csv", tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text('seed: 1\nwindow: 5\nversion: "v1"\n')
    for name in ("s.parquet", "s.csv", "s.arrow"):
        done = console("run", "--signals", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    parquet = pl.read_parquet(tmp_path / "s.parquet")
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "timestamp,close,rolling_mean,signal"
    types = {"close": pl.Float64, "rolling_mean": pl.Float64, "signal": pl.Int8}
    assert pl.read_csv(tmp_path / "s.csv", try_parse_dates=True, schema_overrides=types).equals(parquet)
    assert pl.read_ipc(tmp_path / "s.arrow").equals(parquet)


def test_a_signals_name_of_no_known_format_is_refused_before_any_work(
    tmp_path: Path, config_file: Path
) -> None:
    args = [*run_args(tmp_path, DATA / "candles.csv", config_file), "--signals", str(tmp_path / "s.txt")]
    code, stdout, stderr = invoke(*args)
    assert code == 1
    message = orjson.loads(stdout)["error_message"]
    assert message.startswith(f"--signals {tmp_path}/s.txt ends in '.txt'; the signals file is written in")
    assert ".csv, .gz, .zst, .parquet, .arrow, .ipc, .feather" in message
    assert "input " not in stderr  # refused before the input is opened
    assert names(tmp_path) == ["config.yaml", "metrics.json", "run.log"]


def test_a_failed_run_removes_the_csv_signals_file_of_an_earlier_run(
    tmp_path: Path, config_file: Path
) -> None:
    args = [*run_args(tmp_path, DATA / "candles.csv", config_file), "--signals", str(tmp_path / "s.csv")]
    assert invoke(*args)[0] == 0
    assert (tmp_path / "s.csv").exists()
    args[2] = str(tmp_path / "missing.csv")
    assert invoke(*args)[0] == 1
    assert not (tmp_path / "s.csv").exists()


def test_console_script_reads_a_glob_of_daily_files_per_symbol(tmp_path: Path) -> None:
    frame = pl.read_csv(DATA / "candles.csv").with_columns(day=pl.col("timestamp").str.slice(0, 13))
    for symbol, scale in (("BTC", 1.0), ("ETH", 0.05)):
        for (day,), part in frame.group_by("day", maintain_order=True):
            folder = tmp_path / "data" / f"symbol={symbol}"
            folder.mkdir(parents=True, exist_ok=True)
            part.drop("day").with_columns(pl.col("close") * scale).write_parquet(folder / f"{day}.parquet")
    config = tmp_path / "config.yaml"
    config.write_text('seed: 1\nwindow: 5\nversion: "v1"\n')
    done = console("run", "--input", "data/**/*.parquet", "--signals", "s.parquet", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert b"'symbol' column but no group_by is configured: windows cross symbols" in done.stderr
    message = json.loads(done.stdout)["error_message"]
    assert "input files overlap in time: " in message
    assert "set group_by: symbol for one series per symbol" in message
    config.write_text('seed: 1\nwindow: 5\nversion: "v1"\ngroup_by: symbol\n')
    done = console("run", "--input", "data/**/*.parquet", "--signals", "s.parquet", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert b"symbol=BTC: rows 400, signals" in done.stderr
    assert b"symbol=ETH: rows 400, signals" in done.stderr
    signals = pl.read_parquet(tmp_path / "s.parquet")
    assert signals.columns == ["symbol", "timestamp", "close", "rolling_mean", "signal"]
    assert json.loads(done.stdout)["rows_processed"] == signals.height == 800


@pytest.mark.parametrize(
    ("redirect", "code", "logged"),
    [(">&-", 0, None), ("> /dev/full", 1, "the metrics document could not be printed to stdout")],
    ids=["closed", "full"],
)
def test_a_stdout_that_is_closed_or_full_gives_no_traceback(
    tmp_path: Path, redirect: str, code: int, logged: str | None
) -> None:
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    done = subprocess.run(
        ["/bin/sh", "-c", f'"$0" run {redirect}', str(CONSOLE_SCRIPT)],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == code, done.stderr
    assert b"Traceback" not in done.stderr
    assert orjson.loads((tmp_path / "metrics.json").read_bytes())["status"] == "success"
    if logged is not None:
        assert logged.encode() in done.stderr
        log = (tmp_path / "run.log").read_text()
        assert logged in log
        assert log.rstrip().endswith("status: success (not printed: exit code 1)")


def test_generate_refuses_to_replace_a_file_naming_its_flags(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("real data")
    code, _, stderr = invoke("generate", "--rows", "5", "--output", str(tmp_path / "data.csv"))
    assert code == 1
    assert (
        stderr
        == f"error: {tmp_path / 'data.csv'} already exists; give another --output, or --force to replace it\n"
    )


def test_generate_counts_its_candles_in_number(tmp_path: Path) -> None:
    code, _, stderr = invoke("generate", "--rows", "1", "--output", str(tmp_path / "one.csv"))
    assert (code, stderr.strip()) == (0, f"wrote 1 candle to {tmp_path / 'one.csv'}")


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["-idays/a.csv", "days/b.csv"], "--input takes one path, but 2 came (days/a.csv days/b.csv)"),
        (
            ["days/a.csv", "days/b.csv"],
            "run takes no paths of its own (days/a.csv days/b.csv): give the input as --input",
        ),
        (["--output", "--input", "days/a.csv", "days/b.csv"], "run takes no paths of its own (days/a.csv"),
        (
            ["-i", "days/a.csv", "days/b.csv", "-i", "data.csv"],
            "--input takes one path, but 2 came (days/a.csv days/b.csv)",
        ),
    ],
    ids=["joined-short-option", "no-input-option", "input-taken-as-a-value", "input-given-again"],
)
def test_paths_outside_input_get_a_hint_that_says_how_to_give_them(
    tmp_path: Path, args: list[str], hint: str
) -> None:
    (tmp_path / "days").mkdir()
    for name in ("a.csv", "b.csv"):
        shutil.copy(DATA / "candles.csv", tmp_path / "days" / name)
    done = console("run", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert hint in usage_error(done.stderr)


def test_help_is_shown_even_where_paths_look_like_an_expanded_glob(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("close\n1\n")
    (tmp_path / "b.csv").write_text("close\n1\n")
    done = console("run", "--help", "--input", "a.csv", "b.csv", cwd=tmp_path)
    assert done.returncode == 0
    assert b"Usage: signal-job run [OPTIONS]" in done.stdout


@pytest.mark.parametrize(("chosen", "morsel"), [(None, "25000"), ("100000", "100000")])
def test_polars_morsels_are_small_unless_chosen(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch, chosen: str | None, morsel: str
) -> None:
    name = "POLARS_IDEAL_MORSEL_SIZE"
    # Undone after the test, as the run's own setting is. (Polars took its morsel size from the
    # environment as this process imported it: Polars' own default, lest a later test slow.)
    monkeypatch.setenv(name, "100000")
    if chosen is None:
        monkeypatch.delenv(name)
    args = ["run", "--input", str(DATA / "decimal_close.parquet"), "--config", str(config_file)]
    code, _, _ = invoke(*args, "--output", str(tmp_path / "m.json"), "--log-file", str(tmp_path / "run.log"))
    assert (code, os.environ.get(name)) == (0, morsel)


@pytest.mark.parametrize(("spelling", "prefetch"), [("local", "2"), ("object", None), ("chosen", "7")])
def test_parquet_prefetch_is_capped_for_local_inputs_unless_chosen(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch, spelling: str, prefetch: str | None
) -> None:
    name = "POLARS_ROW_GROUP_PREFETCH_SIZE"
    monkeypatch.setenv(name, "7")  # undone after the test, as the run's own setting is
    if spelling != "chosen":
        monkeypatch.delenv(name)
    where = "ftp://host/candles.parquet" if spelling == "object" else str(DATA / "decimal_close.parquet")
    args = ["run", "--input", where, "--config", str(config_file), "--output", str(tmp_path / "m.json")]
    code, _, _ = invoke(*args, "--log-file", str(tmp_path / "run.log"))
    assert code == (1 if spelling == "object" else 0)
    assert os.environ.get(name) == prefetch


RUN: Any = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
RUN_OPTIONS: dict[str, Any] = {param.opts[0]: param for param in RUN.params if param.opts}


# A value each option of NEEDS takes ("2" unless listed): an option whose own check refuses "2" needs one.
EXAMPLES = {"--engine": "dask", "--metrics-label": "job=nightly", "--metrics-file": "job.prom"}


def flag(option: Option) -> str:
    return FLAGS.names[option]


def given(option: Option, value: str | None = None) -> list[str]:
    name = flag(option)
    return [name] if RUN_OPTIONS[name].is_flag else [name, value or EXAMPLES.get(name, "2")]


def needing(need: Needs, *, met: bool) -> list[str]:
    """`need`'s option on the command line, `need` met or not, every other need of what is given met."""
    meets = {other: [] if other.without else given(other.other, other.value) for other in NEEDS}
    args = given(need.option) + (meets[need] if met else given(need.other) if need.without else [])
    for other in NEEDS:  # added once each, the options they add checked in turn
        if other is not need and flag(other.option) in args:
            args += meets[other]
    return args


def without_variables() -> dict[str, str | None]:
    """The environment of a run that no variable of its options reaches."""
    return {param.envvar: None for param in RUN.params if isinstance(getattr(param, "envvar", None), str)}


def test_every_option_that_needs_another_names_options_of_run() -> None:
    assert len(NEEDS) >= 4
    for need in NEEDS:
        assert {flag(need.option), flag(need.other)} <= set(RUN_OPTIONS), need
        choices = getattr(RUN_OPTIONS[flag(need.other)].type, "choices", None)
        assert need.value is None or choices is None or need.value in choices, need


@pytest.mark.parametrize("need", NEEDS, ids=lambda need: FLAGS(need.said()))
def test_an_option_given_without_what_it_needs_is_a_usage_error_naming_it(
    tmp_path: Path, config_file: Path, need: Needs
) -> None:
    args = needing(need, met=False)
    result = CliRunner().invoke(app, [*run_args(tmp_path, DATA / "candles.csv", config_file), *args])
    assert result.exit_code == 2, (args, result.output)
    assert usage_error(result.stderr) == FLAGS(need.said())
    assert result.stderr.startswith("Usage: ")
    assert "run [OPTIONS]" in result.stderr.splitlines()[0]
    assert "Traceback" not in result.output
    assert names(tmp_path) == ["config.yaml"]  # nothing run, nothing written


@pytest.mark.parametrize("need", NEEDS, ids=lambda need: FLAGS(need.said()))
def test_an_option_given_with_what_it_needs_is_taken(config_file: Path, need: Needs) -> None:
    args = ["run", "--input", str(DATA / "candles.csv"), "--config", str(config_file), "--explain"]
    result = CliRunner().invoke(app, [*args, *needing(need, met=True)], env=without_variables())
    assert result.exit_code == 0, result.output


IGNORABLE = [need for need in NEEDS if RUN_OPTIONS[flag(need.option)].envvar and not need.without]


@pytest.mark.parametrize("need", IGNORABLE, ids=lambda need: FLAGS(need.said()))
def test_a_variable_that_sets_an_option_without_what_it_needs_is_ignored_with_a_debug_line(
    tmp_path: Path, config_file: Path, need: Needs
) -> None:
    variable = RUN_OPTIONS[flag(need.option)].envvar
    value = (
        "1" if RUN_OPTIONS[flag(need.option)].is_flag else given(need.option)[-1]
    )  # a flag's variable: a boolean
    env = {**without_variables(), variable: value}
    result = CliRunner().invoke(app, run_args(tmp_path, DATA / "candles.csv", config_file), env=env)
    assert result.exit_code == 0, result.output
    log = (tmp_path / "run.log").read_text()
    assert f" DEBUG {variable} is ignored: {FLAGS(need.said())}\n" in log
    assert f"{variable} is ignored" not in result.stderr  # the console shows INFO and above


def test_ignorable_variables_include_those_of_the_dask_scheduler_and_the_mlflow_experiment() -> None:
    variables = {RUN_OPTIONS[flag(need.option)].envvar for need in IGNORABLE}
    assert {"DASK_SCHEDULER_ADDRESS", "MLFLOW_EXPERIMENT_NAME"} <= variables


def test_an_option_that_a_variable_makes_do_nothing_says_which_variable(tmp_path: Path) -> None:
    env = {**without_variables(), "DASK_SCHEDULER_ADDRESS": "tcp://127.0.0.1:9"}
    result = CliRunner().invoke(app, ["run", "--engine", "dask", "--workers", "2"], env=env)
    assert result.exit_code == 2
    assert usage_error(result.stderr) == (
        "--workers does nothing with --address (from DASK_SCHEDULER_ADDRESS): "
        "a running scheduler has its own workers"
    )


def test_console_script_refuses_workers_without_the_dask_engine(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_bytes(b"earlier")
    done = console("run", "--workers", "2", cwd=tmp_path)
    assert done.returncode == 2
    assert usage_error(done.stderr) == "--workers needs --engine dask"
    assert b"Traceback" not in done.stderr
    assert (tmp_path / "metrics.json").read_bytes() == b"earlier"


def test_set_overrides_config_keys_for_one_run(
    tmp_path: Path, config_file: Path, write_file: WriteFile
) -> None:
    text = config_file.read_text()
    args = [
        *run_args(tmp_path, DATA / "candles.csv", config_file),
        "--set",
        "window=20",
        "--set",
        'version="2.0"',
    ]
    code, stdout, _ = invoke(*args)
    assert code == 0
    window_20 = write_file("window20.yaml", 'seed: 42\nwindow: 20\nversion: "2.0"\n')
    expected = orjson.loads(invoke(*run_args(tmp_path, DATA / "candles.csv", window_20))[1])
    document = orjson.loads(stdout)
    assert (document["version"], document["value"]) == ("2.0", expected["value"]) != ("v1", 0.0)
    assert config_file.read_text() == text
    assert "INFO config keys set by --set: window, version\n" in (tmp_path / "run.log").read_text()


def test_a_bad_set_value_fails_the_run_with_the_error_document_naming_it(
    tmp_path: Path, config_file: Path
) -> None:
    code, stdout, _ = invoke(*run_args(tmp_path, DATA / "candles.csv", config_file), "--set", "window=0")
    assert code == 1
    assert orjson.loads(stdout) == {
        "version": "v1",
        "status": "error",
        "error_message": "config key 'window' in --set window must be at least 1, not 0",
    }
    assert (tmp_path / "metrics.json").read_bytes() == stdout


def test_set_applies_to_explain(tmp_path: Path, config_file: Path) -> None:
    rows = [f"2024-01-01 00:{i:02}:00,{'AB'[i % 2]},{i}" for i in range(6)]
    (tmp_path / "data.csv").write_text("timestamp,symbol,close\n" + "\n".join(rows) + "\n")
    args = ["run", "--input", str(tmp_path / "data.csv"), "--config", str(config_file), "--explain"]
    result = CliRunner().invoke(app, [*args, "--set", "group_by=symbol"])
    assert result.exit_code == 0, result.output
    assert "  groups:    column (symbol is a column: its groups are taken apart)\n" in result.stdout
    result = CliRunner().invoke(app, [*args, "--set", "window=0"])
    assert result.exit_code == 1
    message = "config key 'window' in --set window must be at least 1, not 0"
    assert orjson.loads(result.stdout)["error_message"] == message


@pytest.mark.parametrize("setting", ["window", "=3", ""])
def test_set_without_a_key_and_an_equals_sign_is_a_usage_error(tmp_path: Path, setting: str) -> None:
    code, _, stderr = invoke("run", "--output", str(tmp_path / "m.json"), "--set", setting)
    assert code == 2
    assert (
        usage_error(stderr)
        == f"Invalid value for '--set': {setting!r} is not KEY=VALUE, e.g. --set window=20"
    )
    assert not (tmp_path / "m.json").exists()


def test_console_script_sets_the_window_of_the_bundled_example(tmp_path: Path) -> None:
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    done = console("run", "--set", "window=20", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    assert (document["rows_processed"], document["value"]) == (REAL_ROWS, 0.4944)
    assert (tmp_path / "config.yaml").read_bytes() == (PROJECT / "config.yaml").read_bytes()


def piped(*args: str, cwd: Path, stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    """The console script with `stdin` on its standard input."""
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def stdin_work(tmp_path: Path, empty_tmpdir: Path) -> Path:
    """A folder with a config, and an empty TMPDIR where standard input's copy goes (and must not stay)."""
    (tmp_path / "config.yaml").write_text('seed: 1\nwindow: 5\nversion: "v1"\n')
    return tmp_path


@pytest.mark.parametrize("packed", [False, True], ids=["csv", "gzip"])
def test_input_dash_reads_the_candles_from_standard_input(
    stdin_work: Path, empty_tmpdir: Path, *, packed: bool
) -> None:
    data = (DATA / "candles.csv").read_bytes()
    done = piped("run", "--input", "-", cwd=stdin_work, stdin=gzip.compress(data) if packed else data)
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    assert document["rows_processed"] == 400
    assert document["value"] == orjson.loads(console_run_of(DATA / "candles.csv", stdin_work))["value"]
    assert [each["path"] for each in document["inputs"]["list"]] == ["<stdin>"]
    assert b"input -: " in done.stderr
    assert list(empty_tmpdir.iterdir()) == []  # the copy went with the run


def console_run_of(path: Path, cwd: Path) -> bytes:
    done = console("run", "--input", str(path), "--output", "-", "--log-file", "-", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_bad_line_on_standard_input_is_named_as_stdin_and_its_copy_removed(
    stdin_work: Path, empty_tmpdir: Path
) -> None:
    done = piped(
        "run", "--input", "-", cwd=stdin_work, stdin=b"timestamp,close\n2024-01-01,1\n2024-01-02,x\n"
    )
    assert done.returncode == 1
    assert (
        orjson.loads(done.stdout)["error_message"]
        == "input file <stdin> line 3: close value 'x' is not a number"
    )
    assert b"Traceback" not in done.stderr
    assert list(empty_tmpdir.iterdir()) == []


def test_input_dash_with_stdin_closed_is_a_job_error(stdin_work: Path) -> None:
    done = subprocess.run(
        ["/bin/sh", "-c", '"$0" run --input - <&-', str(CONSOLE_SCRIPT)],
        cwd=stdin_work,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 1
    message = orjson.loads(done.stdout)["error_message"]
    assert message == "--input - reads standard input, but this process has none (it is closed)"


def test_an_output_that_is_the_file_on_standard_input_is_refused(stdin_work: Path) -> None:
    data = stdin_work / "data.csv"
    shutil.copy(DATA / "candles.csv", data)
    with data.open("rb") as stdin:
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), "run", "--input", "-", "--output", "data.csv"],
            cwd=stdin_work,
            stdin=stdin,
            capture_output=True,
            check=False,
        )
    assert done.returncode == 1
    assert (
        "--output data.csv is an input file of this run (<stdin>"
        in orjson.loads(done.stdout)["error_message"]
    )
    assert data.read_bytes() == (DATA / "candles.csv").read_bytes()


def test_output_dash_prints_the_document_only_and_log_file_dash_writes_no_log(stdin_work: Path) -> None:
    shutil.copy(DATA / "candles.csv", stdin_work / "data.csv")
    done = console("run", "--output", "-", "--log-file", "-", cwd=stdin_work)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["rows_processed"] == 400
    assert b"status: success" in done.stderr  # the console log stays on stderr
    assert names(stdin_work) == ["config.yaml", "data.csv", "tmp"]  # no metrics.json, no run.log


@pytest.mark.parametrize("option", ["--signals", "--groups", "--metrics-file"])
def test_dash_for_an_output_that_stdout_cannot_carry_is_a_usage_error(
    tmp_path: Path, config_file: Path, option: str
) -> None:
    code, stdout, stderr = invoke(*run_args(tmp_path, DATA / "candles.csv", config_file), option, "-")
    assert code == 2
    assert stdout == b""
    said = " ".join(stderr.replace("│", " ").split())  # typer draws the message in a box
    assert (
        f"Invalid value for '{option}': - would write to stdout, which carries the metrics document" in said
    )
    assert names(tmp_path) == ["config.yaml"]


def test_input_dash_with_the_config_on_standard_input_too_is_a_usage_error(tmp_path: Path) -> None:
    code, stdout, stderr = invoke(
        "run", "--input", "-", "--config", "/dev/stdin", "--output", str(tmp_path / "m")
    )
    assert code == 2
    assert stdout == b""
    said = " ".join(stderr.replace("│", " ").split())
    assert "standard input cannot hold both the candles (--input -) and the config" in said
    assert names(tmp_path) == []


def test_input_dash_with_a_cache_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = invoke("run", "--input", "-", "--cache", str(tmp_path / "kept"))
    assert code == 2
    said = " ".join(stderr.replace("│", " ").split())
    assert "Invalid value for '--cache': keeps each input file's counts by its path" in said
    assert names(tmp_path) == []
