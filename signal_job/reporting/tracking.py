"""MLflow tracking (the mlflow extra): each run's params, metrics, tags and documents, its start to its end.

The MLflow run is opened as the job starts, on a thread of its own, so that its start and end
are the job's and the job does not wait for mlflow's import (about a second) to start its work;
it is closed, FINISHED or FAILED, as the job ends. mlflow is imported only when a run is
tracked. Tracking does not change a run's end unless it is required: whatever fails (the extra
missing, a server down or refusing, a bad URI) is one warning in the log, and the document and
the exit code stay as they were. A required run fails instead, before its work if the MLflow
run cannot even be opened.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from signal_job.config import Config, as_mapping
from signal_job.errors import TrackingError, first_line, install_hint
from signal_job.options import Option
from signal_job.reporting.metrics import Document, render
from signal_job.version import __version__

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from signal_job.partial import Counts

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "signal-job"
# mlflow's defaults (120 s a request, 7 retries with doubling backoff) wait minutes for a server
# that is down; a batch job must end. A value the user set is kept.
HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
}
_LONGEST = 5_000  # characters of a param or tag value: mlflow refuses longer ones (6,000 or 8,000)
_REDACTED = "(not logged)"


@dataclass(frozen=True)
class Tracking:
    """Where runs go: an MLflow tracking URI (sqlite:///mlflow.db, http://host:5000) and an experiment.

    `run_name` names the MLflow run (by default the config's version and window, "v1 window=5");
    `required`: a run that cannot be tracked fails.
    """

    uri: str
    experiment: str = DEFAULT_EXPERIMENT
    run_name: str | None = None
    required: bool = False

    @classmethod
    def of(
        cls,
        uri: str | None,
        experiment: str | None = None,
        *,
        run_name: str | None = None,
        required: bool = False,
    ) -> Tracking | None:
        """The settings from the options (or their variables); None, no tracking, without a URI."""
        if not uri:
            return None
        return cls(uri, experiment or DEFAULT_EXPERIMENT, run_name or None, required)

    def hide(self, text: str) -> str:
        """`text` (the URI, a message quoting it) without the URI's password (http://user:secret@host)."""
        password = urlsplit(self.uri).password
        return text.replace(f":{password}@", ":***@") if password else text

    @property
    def where(self) -> str:
        """Where runs go, for a message."""
        return f"MLflow at {self.hide(self.uri)}, experiment {self.experiment!r}"


def run_name(config: Config | None, document: Document | None = None) -> str:
    """The MLflow run's default name: the config's version and window ("v1 window=5").

    A sweep's (its `document` has results) names its windows' count ("v1 sweep of 40 windows").
    """
    if config is None:
        return "config not read"
    if document is not None and "results" in document:
        return f"{config.version} sweep of {len(document['results'])} windows"
    return f"{config.version} window={config.window}"


class Tracked:
    """One job's MLflow run: opened on a thread of its own as the job starts, closed as it ends.

    Every mlflow call is made on that one thread.
    """

    def __init__(self, tracking: Tracking, *, started: float) -> None:
        """Open the run on its thread, starting at `started` (seconds since the epoch)."""
        self.tracking = tracking
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="mlflow")
        self._opened: Future[tuple[MlflowClient, str]] = self._thread.submit(
            self._open, round(started * 1000)
        )

    def _open(self, start_time: int) -> tuple[MlflowClient, str]:
        with _bounded_http():
            from mlflow.tracking import MlflowClient  # noqa: PLC0415 - only for a tracked run

            client = MlflowClient(tracking_uri=self.tracking.uri)
            experiment = _experiment_id(client, self.tracking.experiment)
            run = client.create_run(experiment, start_time=start_time, run_name=self.tracking.run_name)
            return client, run.info.run_id

    def problem(self) -> TrackingError | None:
        """For a required run, wait for it to be opened: the error if it could not be, else None.

        Any other run goes on meanwhile: its open is waited for when it is closed.
        """
        if not self.tracking.required:
            return None
        try:
            self._opened.result()
        except Exception as exc:  # whatever mlflow raised is said in the message
            return self._failed(exc)
        return None

    def close(
        self,
        document: Document,
        *,
        config: Config | None,
        config_text: str | None,
        input: str,
        engine: str,
        counts: Counts | None,
        latency: int,
    ) -> TrackingError | None:
        """Log the ended run (its `document`) and close it, FINISHED or FAILED; a failure is a warning.

        `config` is the run's config if it could be read (None when reading it is what failed),
        and `config_text` the text of the file it was read from (None when given in Python);
        `counts` are those of a successful run. Returns the error of a required run not tracked.
        """
        record = {"config": config, "input": input, "engine": engine, "counts": counts, "latency": latency}
        done = self._thread.submit(self._log, document, config_text=config_text, **record)
        try:
            run_id = done.result()
        except Exception as exc:  # tracking fails the job only when required
            return self._failed(exc)
        log.info("run tracked in %s: run %s", self.tracking.where, run_id)
        return None

    def amend(self, document: Document) -> None:
        """Mark the run FAILED with `document`'s error: the job failed after it was logged (best effort)."""
        done = self._thread.submit(self._amend, document)
        with suppress(Exception):
            done.result()

    def shut(self) -> None:
        """Let the thread go (waiting for an open still under way)."""
        self._thread.shutdown(wait=True)

    def _log(self, document: Document, *, config_text: str | None, **record: Any) -> str:
        client, run_id = self._opened.result()
        try:
            with _bounded_http():
                name = self.tracking.run_name or run_name(record["config"], document)
                client.update_run(run_id, name=name)
                client.log_batch(run_id, **_record(document, **record))
                client.log_text(run_id, render(document).decode(), "metrics.json")
                config = record["config"]
                if config is not None:
                    client.log_text(run_id, _config_text(config, config_text), "config.yaml")
                if config is not None and document["status"] == "success" and "results" in document:
                    experiment = client.get_run(run_id).info.experiment_id
                    _log_windows(client, experiment, run_id, document, config)  # a sweep's windows
                client.set_terminated(run_id, _status(document), end_time=round(time.time() * 1000))
        except BaseException:
            with suppress(Exception), _bounded_http():  # a run half logged says so in MLflow
                client.set_terminated(run_id, "FAILED", end_time=round(time.time() * 1000))
            raise
        return run_id

    def _amend(self, document: Document) -> None:
        client, run_id = self._opened.result()
        with _bounded_http():
            client.log_text(run_id, render(document).decode(), "metrics.json")
            client.set_tag(run_id, "status", document["status"])
            client.set_tag(run_id, "error_message", _cut(document.get("error_message", "")))
            client.set_terminated(run_id, "FAILED")

    def _failed(self, exc: Exception) -> TrackingError | None:
        """Say why the run was not tracked: a warning, or for a required run the error returned."""
        if isinstance(exc, ImportError):  # mlflow, or a store's library (sqlalchemy), is missing
            hint = install_hint("mlflow")
            problem = f"MLflow tracking needs the mlflow extra ({hint}): {exc}; run not tracked"
        else:
            why = self.tracking.hide(f"{type(exc).__name__}: {first_line(exc)}")
            problem = f"run not tracked in {self.tracking.where}: {why}"
        if self.tracking.required:
            return TrackingError(f"{problem}, and {Option.MLFLOW_REQUIRED} makes that a failure")
        log.warning("%s", problem)
        if not isinstance(exc, ImportError):
            log.debug("traceback:\n%s", self.tracking.hide("".join(traceback.format_exception(exc))).rstrip())
        return None


def _status(document: Document) -> str:
    return "FINISHED" if document["status"] == "success" else "FAILED"


def _log_windows(
    client: MlflowClient, experiment: str, parent: str, document: Document, config: Config
) -> None:
    """A sweep's child run per window under its run (`parent`), as hyperparameter searches log them.

    Each has params window, seed and version and metrics signal_rate, signals and full_windows, so
    the MLflow UI compares the windows side by side.
    """
    from mlflow.entities import Metric, Param  # noqa: PLC0415 - mlflow only when tracking

    now = int(time.time() * 1000)
    for entry in document["results"]:
        tags = {"mlflow.parentRunId": parent, "window": str(entry["window"])}
        child = client.create_run(experiment, tags=tags, run_name=f"window {entry['window']}").info.run_id
        params = {"window": entry["window"], "seed": config.seed, "version": config.version}
        metrics = {key: entry[key] for key in ("signals", "full_windows", "rows")}
        metrics["signal_rate"] = entry["value"]
        client.log_batch(
            child,
            params=[Param(key, _cut(value)) for key, value in params.items()],
            metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        )
        client.set_terminated(child, "FINISHED")


def _experiment_id(client: MlflowClient, name: str) -> str:
    """The experiment's id, created on first use (another run may create it at the same time)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    try:
        return str(client.create_experiment(name))
    except Exception:
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return str(found.experiment_id)


def _record(
    document: Document,
    *,
    config: Config | None,
    input: str,
    engine: str,
    counts: Counts | None,
    latency: int,
) -> dict[str, Any]:
    """The run's params, metrics and tags, as `MlflowClient.log_batch` takes them."""
    from mlflow.entities import Metric, Param, RunTag  # noqa: PLC0415 - mlflow only when tracking

    params: dict[str, object] = {"input": input, "engine": engine}
    swept = "results" in document  # a sweep's: its windows, each in a child run
    if config is not None:
        params |= {"window": config.window, "seed": config.seed, "version": config.version}
        if swept:
            params["window"] = ",".join(str(entry["window"]) for entry in document["results"])
        if config.group_by is not None:
            params["group_by"] = config.group_by
    metrics: dict[str, float] = {"latency_ms": latency}
    if counts is not None and document["status"] == "success" and not swept:  # else no one value
        metrics |= {"signal_rate": document["value"], "rows": counts.rows, "signals": counts.signals}
    elif counts is not None and document["status"] == "success":
        metrics["rows"] = counts.rows
    tags = {"status": document["status"], "signal_job_version": __version__}
    if "error_message" in document:
        tags["error_message"] = document["error_message"]
    if "inputs" in document:  # what was read: runs on the same input bytes (or files) share it
        tags["inputs_fingerprint"] = document["inputs"]["fingerprint"]
        metrics |= {"input_files": document["inputs"]["files"], "input_bytes": document["inputs"]["bytes"]}
    now = int(time.time() * 1000)
    return {
        "params": [Param(key, _cut(value)) for key, value in params.items()],
        "metrics": [Metric(key, float(value), now, 0) for key, value in metrics.items()],
        "tags": [RunTag(key, _cut(value)) for key, value in tags.items()],
    }


def _cut(value: object) -> str:
    text = str(value)
    return text if len(text) <= _LONGEST else f"{text[: _LONGEST - 3]}..."


def _config_text(config: Config, text: str | None) -> str:
    """The config as read (`text`), unless storage_options may hold credentials (then rebuilt)."""
    if text is not None and not config.reading.storage_options:
        return text
    keys = as_mapping(config)
    if config.reading.storage_options:
        keys["storage_options"] = {name: _REDACTED for name, _ in config.reading.storage_options}
    return yaml.safe_dump(keys, sort_keys=False)


@contextmanager
def _bounded_http() -> Iterator[None]:
    """Bound mlflow's HTTP timeouts and retries while tracking, unless the user set them."""
    added = [name for name in HTTP_DEFAULTS if name not in os.environ]
    for name in added:
        os.environ[name] = HTTP_DEFAULTS[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
