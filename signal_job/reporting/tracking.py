"""MLflow tracking (the mlflow extra): each run's params, metrics, tags and documents, once it ends.

mlflow is imported only when a run is tracked: it costs about a second of start-up. Tracking
never changes a run's end: whatever fails (the extra missing, a server down or refusing, a bad
URI) is one warning in the log, and the document and the exit code stay as they were.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import yaml

from signal_job.config import Config, as_mapping
from signal_job.errors import first_line
from signal_job.reporting.metrics import Document, render
from signal_job.version import __version__

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from signal_job.partial import Counts

log = logging.getLogger(__name__)

DEFAULT_EXPERIMENT = "signal-job"
INSTALL = "pip install 'signal-job[mlflow]'"
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
    """Where runs go: an MLflow tracking URI (sqlite:///mlflow.db, http://host:5000) and an experiment."""

    uri: str
    experiment: str = DEFAULT_EXPERIMENT

    @classmethod
    def of(cls, uri: str | None, experiment: str | None = None) -> Tracking | None:
        """The settings from the options (or their variables); None, no tracking, without a URI."""
        if not uri:
            return None
        return cls(uri, experiment or DEFAULT_EXPERIMENT)

    def hide(self, text: str) -> str:
        """`text` (the URI, a message quoting it) without the URI's password (http://user:secret@host)."""
        password = urlsplit(self.uri).password
        return text.replace(f":{password}@", ":***@") if password else text


def log_run(
    tracking: Tracking,
    document: Document,
    *,
    config: Config | None,
    config_text: str | None,
    input: str,
    engine: str,
    counts: Counts | None,
    started: float,
) -> None:
    """Log the ended run to MLflow; log a warning instead of raising, whatever fails.

    `config` is the run's config if it could be read (None when reading it is what failed), and
    `config_text` the text of the file it was read from (None when given in Python); `counts` are those of
    a successful run; `started` is the `perf_counter()` that the run's latency counts from.
    """
    latency = document.get("latency_ms", round((time.perf_counter() - started) * 1000))
    where = f"MLflow at {tracking.hide(tracking.uri)}, experiment {tracking.experiment!r}"
    run_id = None
    try:
        with _bounded_http():
            from mlflow.tracking import MlflowClient  # noqa: PLC0415 - only for a tracked run

            client = MlflowClient(tracking_uri=tracking.uri)
            experiment = _experiment_id(client, tracking.experiment)
            run_id = client.create_run(experiment).info.run_id
            record = _record(
                document, config=config, input=input, engine=engine, counts=counts, latency=latency
            )
            client.log_batch(run_id, **record)
            client.log_text(run_id, render(document).decode(), "metrics.json")
            if config is not None:
                client.log_text(run_id, _config_text(config, config_text), "config.yaml")
            if config is not None and document["status"] == "success" and "results" in document:
                _log_windows(client, experiment, run_id, document, config)
            client.set_terminated(run_id, "FINISHED" if document["status"] == "success" else "FAILED")
    except ImportError as exc:  # mlflow, or a store's library (sqlalchemy), is missing
        log.warning("MLflow tracking needs the mlflow extra (%s): %s; run not tracked", INSTALL, exc)
        return
    except Exception as exc:  # tracking must never fail the job
        log.warning(
            "run not tracked in %s: %s", where, tracking.hide(f"{type(exc).__name__}: {first_line(exc)}")
        )
        log.debug("traceback:\n%s", tracking.hide("".join(traceback.format_exception(exc))).rstrip())
        if run_id is not None:  # a run half logged says so in MLflow
            with suppress(Exception), _bounded_http():
                client.set_terminated(run_id, "FAILED")
        return
    log.info("run tracked in %s: run %s", where, run_id)


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
