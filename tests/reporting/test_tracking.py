"""MLflow tracking against a real local store (sqlite), read back with mlflow's own client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import mlflow.artifacts
import orjson
import pytest
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

import signal_job
from signal_job.cli import app
from signal_job.errors import install_hint
from signal_job.reporting.tracking import HTTP_DEFAULTS
from tests.conftest import CONSOLE_SCRIPT, DATA, PROJECT, WriteFile
from tests.test_cli import run_args

# mlflow's sqlite store uses a loader that SQLAlchemy 2.1 deprecates: harmless, and not ours to change.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The ``noload`` loader strategy is deprecated:DeprecationWarning"
)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One sqlite store for the module: creating its tables takes seconds. Tests use their own experiment."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        # A sqlite store puts artifacts in ./mlruns of where the process first opened it (mlflow
        # keeps one store per URI): beside the database, not in the project.
        patch.chdir(folder)
        MlflowClient(uri).search_experiments()  # creates the tables
    return uri


@pytest.fixture(autouse=True)
def _quiet_mlflow(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No usage telemetry, no tracking settings from the caller's shell; relative paths in tmp_path."""
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", *HTTP_DEFAULTS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def run_job(tmp_path: Path, input_path: Path, config: Path, *extra: str) -> tuple[int, bytes]:
    result = CliRunner().invoke(app, [*run_args(tmp_path, input_path, config), *extra])
    return result.exit_code, result.stdout_bytes


def runs_of(store: str, experiment: str) -> list[Run]:
    client = MlflowClient(store)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment!r}"
    return list(client.search_runs([found.experiment_id]))


def artifact(run: Run, name: str) -> str:
    return mlflow.artifacts.load_text(f"{run.info.artifact_uri}/{name}")


def artifacts(store: str, run: Run) -> set[str]:
    return {item.path for item in MlflowClient(store).list_artifacts(run.info.run_id)}


def test_a_tracked_run_logs_its_params_metrics_tags_and_documents(
    tmp_path: Path, store: str, write_file: WriteFile
) -> None:
    rows = "".join(f"{minute},{symbol},{100 + minute % 7}\n" for minute in range(20) for symbol in "AB")
    data = write_file("candles.csv", "timestamp,symbol,close\n" + rows)
    config = write_file("config.yaml", "# daily\nseed: 7\nwindow: 3\nversion: v2\ngroup_by: symbol\n")
    code, stdout = run_job(tmp_path, data, config, "--mlflow", store, "--mlflow-experiment", "success")
    assert code == 0
    document = orjson.loads(stdout)
    (run,) = runs_of(store, "success")
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "input": str(data),
        "engine": "local",
        "window": "3",
        "seed": "7",
        "version": "v2",
        "group_by": "symbol",
    }
    metrics = run.data.metrics
    assert metrics["signal_rate"] == document["value"]
    assert metrics["rows"] == document["rows_processed"] == 40
    assert metrics["signals"] == round(document["value"] * 40)
    assert metrics["latency_ms"] == document["latency_ms"]
    assert run.data.tags["status"] == "success"
    assert run.data.tags["signal_job_version"] == signal_job.__version__
    inputs = orjson.loads(stdout)["inputs"]
    assert run.data.tags["inputs_fingerprint"] == inputs["fingerprint"]
    assert (metrics["input_files"], metrics["input_bytes"]) == (inputs["files"], inputs["bytes"])
    assert artifacts(store, run) == {"metrics.json", "config.yaml"}
    assert artifact(run, "metrics.json").encode() == (tmp_path / "metrics.json").read_bytes() == stdout
    assert artifact(run, "config.yaml") == config.read_text()  # the file as written, comments too
    log = (tmp_path / "run.log").read_text()
    assert f"run tracked in MLflow at {store}, experiment 'success': run {run.info.run_id}" in log


@pytest.mark.parametrize(
    ("config_text", "input_name", "params"),
    [
        ("seed: 1\nwindw: 5\nversion: v1\n", "candles.csv", {"input", "engine"}),
        (
            "seed: 1\nwindow: 5\nversion: v1\n",
            "missing.csv",
            {"input", "engine", "window", "seed", "version"},
        ),
    ],
    ids=["config-unreadable", "input-missing"],
)
def test_a_failed_run_is_logged_with_status_error_and_its_message(
    tmp_path: Path, store: str, write_file: WriteFile, *, config_text: str, input_name: str, params: set[str]
) -> None:
    config = write_file("config.yaml", config_text)
    experiment = f"failed-{input_name}"
    code, stdout = run_job(
        tmp_path, DATA / input_name, config, "--mlflow", store, "--mlflow-experiment", experiment
    )
    assert code == 1
    document = orjson.loads(stdout)
    (run,) = runs_of(store, experiment)
    assert run.info.status == "FAILED"
    assert run.data.tags["status"] == "error"
    assert run.data.tags["error_message"] == document["error_message"]
    assert set(run.data.params) == params  # what is known of a run whose config may not be read
    assert set(run.data.metrics) == {"latency_ms"}
    assert artifact(run, "metrics.json").encode() == stdout


def test_the_experiment_comes_from_the_option_else_its_variable_else_signal_job(
    tmp_path: Path, store: str, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # tracking on, with no option at all
    assert run_job(tmp_path, DATA / "candles.csv", config_file)[0] == 0
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-variable")
    assert run_job(tmp_path, DATA / "candles.csv", config_file)[0] == 0
    assert run_job(tmp_path, DATA / "candles.csv", config_file, "--mlflow-experiment", "from-option")[0] == 0
    assert [len(runs_of(store, name)) for name in ("signal-job", "from-variable", "from-option")] == [1, 1, 1]


def test_the_python_api_tracks_a_run_and_never_logs_storage_credentials(tmp_path: Path, store: str) -> None:
    config = {"seed": 1, "window": 5, "version": "v3", "storage_options": {"aws_secret_access_key": "s3cr3t"}}
    result = signal_job.run(DATA / "candles.csv", config=config, mlflow=store, mlflow_experiment="api")
    (run,) = runs_of(store, "api")
    assert run.data.metrics["rows"] == result.rows
    assert orjson.loads(artifact(run, "metrics.json")) == result.document
    logged = artifact(run, "config.yaml")
    assert "aws_secret_access_key: (not logged)" in logged
    assert "s3cr3t" not in logged
    assert not set(HTTP_DEFAULTS) & set(os.environ)  # bounded while tracking only


def test_an_artifact_store_that_refuses_is_a_warning_and_the_run_is_marked_failed(
    tmp_path: Path, store: str, config_file: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    MlflowClient(store).create_experiment("blocked", artifact_location=str(blocked))
    code, stdout = run_job(
        tmp_path, DATA / "candles.csv", config_file, "--mlflow", store, "--mlflow-experiment", "blocked"
    )
    assert code == 0
    assert orjson.loads(stdout)["status"] == "success"
    (run,) = runs_of(store, "blocked")
    assert run.info.status == "FAILED"  # half logged, and saying so
    assert "WARNING run not tracked in MLflow at" in (tmp_path / "run.log").read_text()


def test_a_missing_extra_is_a_warning_that_says_how_to_install_it(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("mlflow", "mlflow.tracking"):
        monkeypatch.setitem(sys.modules, name, None)  # what an install without the extra finds
    code, stdout = run_job(tmp_path, DATA / "candles.csv", config_file, "--mlflow", "sqlite:///mlflow.db")
    assert code == 0
    assert orjson.loads(stdout)["status"] == "success"
    log = (tmp_path / "run.log").read_text()
    assert "WARNING MLflow tracking needs the mlflow extra (pip install '.[mlflow]' from a checkout" in log
    assert not (tmp_path / "mlflow.db").exists()


def imported(stderr: bytes) -> set[str]:
    """The top-level packages a process imported, from its `-X importtime` lines."""
    lines = stderr.decode().splitlines()
    return {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines if line.startswith("import time:")}


def console(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[bytes]:
    """The console script on the bundled example, as a user runs it, with -X importtime."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "SIGNAL_JOB_"))}
    env |= {"PYTHONPROFILEIMPORTTIME": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    return subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "run",
            "--input",
            str(PROJECT / "data.csv"),
            "--config",
            str(PROJECT / "config.yaml"),
            *extra,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,  # mlflow's retries, bounded by the job: seconds, never minutes
    )


@pytest.mark.slow
def test_a_tracking_server_that_is_down_is_a_warning_and_the_run_succeeds(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    done = console(tmp_path, "--mlflow", f"http://127.0.0.1:{port}")
    assert done.returncode == 0, done.stderr
    document = orjson.loads(done.stdout)
    assert document["status"] == "success"
    assert done.stdout == (tmp_path / "metrics.json").read_bytes()
    assert "warnings" not in document
    log = (tmp_path / "run.log").read_text()
    assert f"WARNING run not tracked in MLflow at http://127.0.0.1:{port}, experiment 'signal-job'" in log
    assert b"Traceback" not in done.stderr
    assert "mlflow" in imported(done.stderr)  # the probe below sees mlflow where it is imported


def test_a_run_without_tracking_never_imports_mlflow(tmp_path: Path) -> None:
    done = console(tmp_path)
    assert done.returncode == 0, done.stderr
    modules = imported(done.stderr)
    assert "signal_job" in modules
    assert not {"mlflow", "sqlalchemy", "alembic"} & modules


def test_a_run_is_named_by_its_version_and_window_unless_given_a_name(
    tmp_path: Path, store: str, config_file: Path
) -> None:
    data = DATA / "candles.csv"
    assert run_job(tmp_path, data, config_file, "--mlflow", store, "--mlflow-experiment", "named")[0] == 0
    given = ("--mlflow-run-name", "nightly backfill")
    assert (
        run_job(tmp_path, data, config_file, "--mlflow", store, "--mlflow-experiment", "named", *given)[0]
        == 0
    )
    assert sorted(run.info.run_name for run in runs_of(store, "named")) == ["nightly backfill", "v1 window=5"]


def log_times(log: Path) -> dict[str, int]:
    """Each JSON log record's time in epoch milliseconds, by the start of its message."""
    times: dict[str, int] = {}
    for line in log.read_text().splitlines():
        record = orjson.loads(line)
        stamp = datetime.fromisoformat(record["time"]).timestamp()
        times.setdefault(record["message"].split(" ")[0].rstrip(":"), round(stamp * 1000))
    return times


def test_the_mlflow_run_starts_and_ends_with_the_job(tmp_path: Path, store: str) -> None:
    before = time.time() * 1000
    done = console(tmp_path, "--mlflow", store, "--mlflow-experiment", "times", "--log-format", "json")
    after = time.time() * 1000
    assert done.returncode == 0, done.stderr
    (run,) = runs_of(store, "times")
    logged = log_times(tmp_path / "run.log")
    # Opened as the job started (before its first log line), closed once it had its result.
    assert before <= run.info.start_time <= logged["signal-job"]
    assert logged["latency"] <= run.info.end_time <= after
    assert run.info.status == "FINISHED"


def test_a_failed_job_closes_its_mlflow_run_failed_at_its_end(tmp_path: Path, store: str) -> None:
    before = time.time() * 1000
    done = console(tmp_path, "--mlflow", store, "--mlflow-experiment", "fails", "--input", "missing.csv")
    after = time.time() * 1000
    assert done.returncode == 1
    (run,) = runs_of(store, "fails")
    assert run.info.status == "FAILED"
    assert before <= run.info.start_time <= run.info.end_time <= after
    assert "missing.csv does not exist" in run.data.tags["error_message"]


def unusable_uris(tmp_path: Path) -> list[str]:
    """A sqlite store under a file (not a folder), and a scheme MLflow does not know."""
    (tmp_path / "a-file").touch()
    return [f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}", "nowhere-scheme://x"]


@pytest.mark.parametrize("which", [0, 1], ids=["sqlite-under-a-file", "unknown-scheme"])
def test_a_required_run_that_cannot_be_tracked_fails_before_its_work_with_the_error_document(
    tmp_path: Path, which: int
) -> None:
    uri = unusable_uris(tmp_path)[which]
    done = console(tmp_path, "--mlflow", uri, "--mlflow-required", "--signals", "s.parquet")
    assert done.returncode == 1
    document = orjson.loads(done.stdout)
    assert document["status"] == "error"
    assert document["version"] == "v1"
    message = document["error_message"]
    assert message.startswith(f"run not tracked in MLflow at {uri}, experiment 'signal-job': ")
    assert message.endswith(", and --mlflow-required makes that a failure")
    log = (tmp_path / "run.log").read_text()
    assert "rows:" not in log  # no work done whose record would be lost
    assert f"ERROR {message}" in log
    assert b"Traceback" not in done.stderr
    assert "Traceback" not in log
    assert not (tmp_path / "s.parquet").exists()


@pytest.mark.parametrize("which", [0, 1], ids=["sqlite-under-a-file", "unknown-scheme"])
def test_without_required_a_run_that_cannot_be_tracked_succeeds_with_a_warning(
    tmp_path: Path, which: int
) -> None:
    uri = unusable_uris(tmp_path)[which]
    done = console(tmp_path, "--mlflow", uri)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["status"] == "success"
    assert (
        f"WARNING run not tracked in MLflow at {uri}, experiment 'signal-job': "
        in (tmp_path / "run.log").read_text()
    )


def test_a_required_run_whose_record_is_refused_at_its_end_fails_and_leaves_no_signals(
    tmp_path: Path, store: str, config_file: Path
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    MlflowClient(store).create_experiment("blocked-required", artifact_location=str(blocked))
    args = ("--mlflow", store, "--mlflow-experiment", "blocked-required", "--mlflow-required")
    code, stdout = run_job(
        tmp_path, DATA / "candles.csv", config_file, *args, "--signals", str(tmp_path / "s.parquet")
    )
    assert code == 1
    document = orjson.loads(stdout)
    assert document["status"] == "error"
    assert "run not tracked in MLflow at" in document["error_message"]
    assert document["error_message"].endswith("--mlflow-required makes that a failure")
    assert orjson.loads((tmp_path / "metrics.json").read_bytes()) == document
    assert not (tmp_path / "s.parquet").exists()
    (run,) = runs_of(store, "blocked-required")
    assert run.info.status == "FAILED"


def test_a_required_run_without_the_extra_fails_saying_how_to_install_it(
    tmp_path: Path, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("mlflow", "mlflow.tracking"):
        monkeypatch.setitem(sys.modules, name, None)  # what an install without the extra finds
    code, stdout = run_job(
        tmp_path, DATA / "candles.csv", config_file, "--mlflow", "sqlite:///mlflow.db", "--mlflow-required"
    )
    assert code == 1
    message = orjson.loads(stdout)["error_message"]
    assert message.startswith(f"MLflow tracking needs the mlflow extra ({install_hint('mlflow')})")
    assert message.endswith("--mlflow-required makes that a failure")


def test_the_python_api_names_the_run_and_raises_a_tracking_error_when_required(
    tmp_path: Path, store: str
) -> None:
    config = {"seed": 1, "window": 7, "version": "v9"}
    signal_job.run(DATA / "candles.csv", config=config, mlflow=store, mlflow_experiment="api-named")
    signal_job.run(
        DATA / "candles.csv",
        config=config,
        mlflow=store,
        mlflow_experiment="api-named",
        mlflow_run_name="mine",
    )
    assert sorted(run.info.run_name for run in runs_of(store, "api-named")) == ["mine", "v9 window=7"]
    with pytest.raises(signal_job.TrackingError, match=r", and mlflow_required makes that a failure$"):
        signal_job.run(
            DATA / "candles.csv", config=config, mlflow=unusable_uris(tmp_path)[0], mlflow_required=True
        )


def test_a_run_logged_as_a_success_whose_document_cannot_be_written_is_marked_failed(
    tmp_path: Path, store: str
) -> None:
    done = console(tmp_path, "--mlflow", store, "--mlflow-experiment", "unwritten", "--output", "/dev/full")
    assert done.returncode == 1
    document = orjson.loads(done.stdout)
    assert "cannot write output file /dev/full" in document["error_message"]
    (run,) = runs_of(store, "unwritten")
    assert run.info.status == "FAILED"
    assert run.data.tags["status"] == "error"
    assert run.data.tags["error_message"] == document["error_message"]
    assert orjson.loads(artifact(run, "metrics.json")) == document


def test_a_tracked_sweep_is_a_parent_run_with_a_child_run_per_window(tmp_path: Path, store: str) -> None:
    config = {"seed": 7, "window": 5, "version": "v3"}
    swept = signal_job.sweep(
        DATA / "candles.csv", windows=[5, 20, 3], config=config, mlflow=store, mlflow_experiment="sweep"
    )
    found = runs_of(store, "sweep")
    (parent,) = [run for run in found if "mlflow.parentRunId" not in run.data.tags]
    children = [run for run in found if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(found) == 4
    assert parent.info.status == "FINISHED"
    assert parent.data.params["window"] == "5,20,3"
    assert "signal_rate" not in parent.data.metrics
    assert parent.data.metrics["rows"] == 400
    by_window = {run.data.params["window"]: run for run in children}
    assert set(by_window) == {"5", "20", "3"}
    for result in swept.results:
        child = by_window[str(result.window)]
        assert child.info.status == "FINISHED"
        assert child.info.run_name == f"window {result.window}"
        assert child.data.params == {"window": str(result.window), "seed": "7", "version": "v3"}
        assert child.data.metrics["signal_rate"] == result.rate
        assert child.data.metrics["signals"] == result.signals
        assert child.data.metrics["full_windows"] == result.full_windows
