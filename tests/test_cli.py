from __future__ import annotations

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
from signal_job import cli as cli_module
from signal_job.cli import app
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


def test_error_traceback_goes_to_the_log_file_only(
    tmp_path: Path, write_file: WriteFile, config_file: Path
) -> None:
    data = write_file("text.csv", "timestamp,close\n1,2\n2,abc\n")
    _, _, stderr = invoke(*run_args(tmp_path, data, config_file))
    assert "Traceback" not in stderr
    assert "Traceback" in (tmp_path / "run.log").read_text()


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


def test_console_script_usage_error_exits_2(tmp_path: Path) -> None:
    done = console("run", "--no-such-option", cwd=tmp_path)
    assert done.returncode == 2
    assert b"No such option" in done.stderr


def test_version_is_shown_by_its_flag_and_in_the_help(tmp_path: Path) -> None:
    done = console("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout.decode()) == (0, f"signal-job {__version__}\n")
    assert f"signal-job {__version__}" in console("--help", cwd=tmp_path).stdout.decode()


@pytest.mark.parametrize("spelling", [["--input"], ["-i"], []])
def test_a_glob_the_shell_expanded_gets_a_hint_to_quote_it(tmp_path: Path, spelling: list[str]) -> None:
    files = [f"{day}.csv" for day in ("mon", "tue", "wed", "thu")]
    given = [*spelling, *files] if spelling else [f"--input={files[0]}", *files[1:]]
    done = console("run", *given, "--output", "m.json", cwd=tmp_path)
    assert done.returncode == 2
    error = done.stderr.decode()
    assert "--input takes one path, but 4 came (mon.csv tue.csv wed.csv ...)" in error
    assert "quote it" in error
    assert "Traceback" not in error
    assert not (tmp_path / "m.json").exists()


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


def invoke_main(argv: list[str]) -> tuple[int, str, str]:
    """The console script's own entry (hint included), in a subprocess: it ends with os._exit."""
    done = subprocess.run([str(CONSOLE_SCRIPT), *argv], capture_output=True, check=False, timeout=120)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["-idays/a.csv", "days/b.csv"], "--input takes one path, but 2 came (days/a.csv days/b.csv)"),
        (
            ["days/a.csv", "days/b.csv"],
            "run takes no paths of its own (days/a.csv days/b.csv): give the input as --input",
        ),
        (["--output", "--input", "x.csv", "y.csv"], "run takes no paths of its own (x.csv y.csv)"),
        (["-i", "a.csv", "b.csv", "-i", "data.csv"], "--input takes one path, but 2 came (a.csv b.csv)"),
    ],
    ids=["joined-short-option", "no-input-option", "input-taken-as-a-value", "input-given-again"],
)
def test_paths_outside_input_get_a_hint_that_says_how_to_give_them(args: list[str], hint: str) -> None:
    code, _, stderr = invoke_main(["run", *args])
    assert code == 2
    assert hint in stderr


def test_help_is_shown_even_where_paths_look_like_an_expanded_glob() -> None:
    assert cli_module._expanded_glob(["run", "--help", "--input", "a.csv", "b.csv"]) is None


def test_every_option_of_run_that_takes_a_value_is_known_to_the_glob_hint() -> None:
    run: Any = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    options = [param for param in run.params if param.param_type_name == "option"]
    taking = {name for param in options if not param.is_flag for name in param.opts}
    assert taking == set(cli_module._VALUE_OPTIONS)


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
