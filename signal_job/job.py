"""One run of the job: its paths checked, then config, input, counts (and signals file), the document.

`execute` is the one path that the command line and the Python API share. It checks the run's
paths first (`paths.prepare`); `run` then computes the metrics document, logging each step, and
`execute` writes it, whatever the run's end.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from signal_job.computing import pipeline
from signal_job.config import Config, Given, known_config, resolve_config, version_of
from signal_job.errors import (
    ClashError,
    ConfigError,
    JobError,
    OutputError,
    Terminated,
    counted,
    first_line,
)
from signal_job.paths import Paths, Prepared, is_stdout, prepare
from signal_job.reading.files import find_files
from signal_job.reading.inputs import Input, distinct_files, open_input
from signal_job.reading.storage import Url
from signal_job.reporting import report
from signal_job.reporting.fingerprints import Hasher, facts, summary
from signal_job.reporting.folders import building, check_inside, remove_stale_dataset
from signal_job.reporting.logs import FIELDS, Logs
from signal_job.reporting.metrics import Document, error_document, render, success_document
from signal_job.reporting.outputs import Target, atomic, remove_stale_signals

if TYPE_CHECKING:
    from signal_job.reporting.tracking import Tracking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Engine:
    """Where the counting runs: here (`local`), or on a Dask cluster at `address` or of `workers`."""

    name: Literal["local", "dask"] = "local"
    address: str | None = None  # a running scheduler, e.g. tcp://host:8786
    workers: int | None = None  # else a local cluster of this many worker processes
    cache: Path | None = None  # a folder keeping each file's counts: a re-run reads only new files


@dataclass(frozen=True)
class Done:
    """What a successful run leaves: its document, and the signals file (or folder) it wrote."""

    document: Document
    signals: os.stat_result | None = field(default=None)
    counts: pipeline.Counts | None = None  # of a successful run
    groups: list[tuple[str | None, pipeline.Counts]] = field(default_factory=list)  # per group_by value


@dataclass(frozen=True)
class Outcome:
    """How a run ended: the document it wrote (success or error) and what to report."""

    document: Document
    counts: pipeline.Counts | None = None  # of a successful run
    error: BaseException | None = None  # a `JobError`, `Terminated`, or a bug
    code: int = 0  # the exit code: 0, 1, or 128 + the number of the signal that stopped it


def execute(
    paths: Paths,
    *,
    started: float,
    config: Given | None = None,
    logs: Logs | None = None,
    show: Callable[[bytes], bool] | None = None,
    ready: Callable[[], None] | None = None,
    before_writing: Callable[[], None] | None = None,
    engine: Engine = Engine(),
    hashing: bool = False,
    tracking: Tracking | None = None,
) -> Outcome:
    """Run the job and write its document, whatever the end; the error is returned, not raised.

    `config` stands in for `paths.config`; `logs` gets the log file attached once the paths are
    checked; `show` prints the rendered document and says whether it could (so an output that is
    stdout is left to it, and a failed print is logged while the log is open);
    `ready` is called once the paths are checked, where a stop can still write the error
    document (the CLI acts on stop signals from there); `before_writing` once the run is over
    (the CLI stops taking signals there). `hashing` hashes every input byte (`--hash`);
    `tracking` logs the ended run to MLflow.
    """
    try:
        prepared = prepare(paths, signals_folder=engine.name == "dask")
    except ClashError as exc:
        # Nothing is written to any path of this run: the clash may name an input.
        if logs is not None:
            logs.drop_buffer()
        log.error("%s", exc)
        exc.version = version_of(paths.config, config)
        document = error_document(version=exc.version, message=str(exc))
        if show is not None:
            show(render(document))
        return Outcome(document, error=exc, code=1)
    done, error, code = _done(
        prepared, config, logs, started=started, ready=ready, engine=engine, hashing=hashing
    )
    if before_writing is not None:
        before_writing()
    document = _written(done, prepared, prints=show is not None)
    if document["status"] != "success":
        if error is None:  # the document could not be written: that is the run's error
            error = OutputError(document["error_message"], version=document["version"])
        if "--signals" in prepared.outputs:
            remove = remove_stale_dataset if prepared.signals_folder else remove_stale_signals
            remove(prepared.outputs["--signals"], done.signals)
    shown = show is None or show(render(document))
    report.log_status(document, shown=shown)
    if tracking is not None:  # once the document is final, while the log file is open for a warning
        from signal_job.reporting.tracking import log_run  # noqa: PLC0415 - only when tracking

        known, read_from = known_config(paths.config, config), paths.config if config is None else None
        log_run(
            tracking,
            document,
            config=known,
            config_file=read_from,
            input=str(paths.input),
            engine=engine.name,
            counts=done.counts,
            started=started,
        )
    if logs is not None:
        logs.close()
    if error is not None:
        return Outcome(document, error=error, code=code or 1)
    return Outcome(document, counts=done.counts, code=0 if shown else 1)


def _done(
    prepared: Prepared,
    config: Given | None,
    logs: Logs | None,
    *,
    started: float,
    ready: Callable[[], None] | None,
    engine: Engine,
    hashing: bool,
) -> tuple[Done, BaseException | None, int]:
    """Run the job: its result, or the error document, the error and the exit code a signal sets."""
    paths = prepared.paths
    try:
        if ready is not None:
            ready()
        if logs is not None and paths.log_file is not None:
            if "--log-file" in prepared.unusable:
                raise prepared.unusable["--log-file"]
            logs.attach(prepared.outputs["--log-file"])
        if "--metrics-file" in prepared.unusable:  # before the work, which could never be reported
            raise prepared.unusable["--metrics-file"]
        done = run(prepared, started=started, config=config, engine=engine, hashing=hashing)
        problem = logs.problem() if logs is not None else None
        if problem is not None:  # a full disk under the log: the run is not to be trusted
            problem.version = done.document["version"]
            raise problem
    except JobError as exc:
        if exc.version is None and isinstance(exc, OutputError):
            exc.version = version_of(paths.config, config)
        log.error("%s", exc)
        log.debug("traceback", exc_info=True)
        return Done(error_document(version=exc.version, message=str(exc))), exc, 1
    except Terminated as exc:
        log.error("%s", exc)
        document = error_document(version=version_of(paths.config, config), message=str(exc))
        return Done(document), exc, 128 + exc.number
    except KeyboardInterrupt as exc:  # Ctrl-C in a notebook (Python API): the caller gets it back
        log.error("interrupted by KeyboardInterrupt")
        document = error_document(
            version=version_of(paths.config, config), message="interrupted by KeyboardInterrupt"
        )
        return Done(document), exc, 130
    except Exception as exc:  # a bug must still end in the error document, not a traceback
        where = f" (traceback in {paths.log_file})" if paths.log_file is not None else ""
        message = f"unexpected error, please report it: {type(exc).__name__}: {exc}{where}"
        log.error("%s", message)
        log.debug("traceback", exc_info=True)
        return Done(error_document(version=version_of(paths.config, config), message=message)), exc, 1
    return done, None, 0


def _written(done: Done, prepared: Prepared, *, prints: bool) -> Document:
    """Write the Prometheus file, then the document; the document as it ends (an error if either failed).

    Where the caller `prints` the document, an output that is this process's stdout is left to it.
    """
    out, metrics = prepared.outputs.get("--output"), prepared.outputs.get("--metrics-file")
    counts, groups = done.counts, done.groups
    document = report.write_metrics_file(done.document, metrics, counts=counts, groups=groups)
    unusable = prepared.unusable.get("--output")
    printed = prints and out is not None and is_stdout(out)
    written = report.write_document(document, out, unusable=unusable, printed=printed)
    if written["status"] != document["status"]:  # the document failed to write: say so there too
        report.write_metrics_file(written, metrics, counts=counts, groups=groups)
    return written


def tracking(uri: str | None, experiment: str | None) -> Tracking | None:
    """MLflow settings, if a tracking URI was given: their module is imported only then."""
    if not uri:
        return None
    from signal_job.reporting.tracking import Tracking  # noqa: PLC0415 - a plain run never pays for it

    return Tracking.of(uri, experiment)


def run(
    prepared: Prepared,
    *,
    started: float,
    config: Given | None = None,
    engine: Engine = Engine(),
    hashing: bool = False,
) -> Done:
    """Compute the metrics document; `started` is the `perf_counter()` the latency counts from.

    The config is `config`, else read from the config path. With a signals path, also write
    each row's signal there (Parquet: a file, or on dask a folder of parts); with `hashing`,
    hash every input byte. Raises `JobError`, carrying the config's version once the config
    has been read.
    """
    paths = prepared.paths
    config = resolve_config(paths.config, config)
    grouping = f" group_by={config.group_by}" if config.group_by else ""
    fields = {
        "seed": config.seed,
        "window": config.window,
        "version": config.version,
        "group_by": config.group_by,
    }
    log.info(
        "config %s: seed=%d window=%d version=%s%s",
        paths.config if paths.config is not None else "(given)",
        config.seed,
        config.window,
        config.version,
        grouping,
        extra={FIELDS: fields},
    )
    try:
        data = _open(prepared, config)
        result, written, inputs = _fingerprinted(
            data, lambda: _compute(data, prepared, config, engine), hashing=hashing
        )
    except JobError as exc:
        exc.version = config.version
        raise
    total, groups = result.total, result.groups
    report.log_result(total, groups, window=config.window, group_by=config.group_by)
    if paths.signals is not None:
        log.info("signals written to %s", paths.signals)
    latency_ms = round((time.perf_counter() - started) * 1000)
    log.info(
        "latency: %d ms", latency_ms, extra={FIELDS: {"latency_ms": latency_ms, "version": config.version}}
    )
    document = success_document(
        version=config.version,
        rows=total.rows,
        value=total.rate,
        latency_ms=latency_ms,
        seed=config.seed,
        inputs=inputs,
        warnings=report.short_windows(total, groups, window=config.window, group_by=config.group_by),
    )
    return Done(document, written, total, groups)


def _open(prepared: Prepared, config: Config) -> Input:
    """The input's files, found and opened, in order."""
    if prepared.input_problem is not None:
        raise prepared.input_problem
    if "--signals" in prepared.unusable:
        raise prepared.unusable["--signals"]
    found = prepared.found
    if found is None:  # in object storage: listed now, with the config's storage_options
        assert isinstance(prepared.paths.input, Url)  # noqa: S101 - else found, or a problem
        found = find_files(replace(prepared.paths.input, options=config.reading.storage_options))
    data = open_input(found, reading=config.reading, timestamps="--signals" in prepared.outputs)
    files = distinct_files(data)
    fields = {
        "input": str(prepared.paths.input),
        "files": len(files),
        "bytes": sum(source.size for source in files),
    }
    log.info("input %s: %s", prepared.paths.input, data.describe(), extra={FIELDS: fields})
    report.warn_of_mixed_series(data, config.group_by)
    return data


def _fingerprinted(
    data: Input, compute: Callable[[], tuple[pipeline.Result, os.stat_result | None]], *, hashing: bool
) -> tuple[pipeline.Result, os.stat_result | None, dict[str, Any]]:
    """`compute()`, and what it read: the files' facts, their bytes hashed alongside with `hashing`."""
    files = distinct_files(data)
    hasher = Hasher([source.path for source in files]) if hashing else None
    try:
        result, written = compute()
        hashes = hasher.result() if hasher is not None else None
    finally:
        if hasher is not None:
            hasher.stop()
    found = facts(files, hashes)
    inputs = summary(found, hashed=hashing)
    log.info(
        "inputs: %s, %s bytes, fingerprint %s",
        counted(inputs["files"], "file"),
        f"{inputs['bytes']:,}",
        inputs["fingerprint"],
        extra={
            FIELDS: {"files": inputs["files"], "bytes": inputs["bytes"], "fingerprint": inputs["fingerprint"]}
        },
    )
    for each in found:
        log.debug("read %s", each.path, extra={FIELDS: each.as_dict()})
    return result, written, inputs


def _compute(
    data: Input, prepared: Prepared, config: Config, engine: Engine
) -> tuple[pipeline.Result, os.stat_result | None]:
    """The counts, and the signals file written (atomically) if asked for."""
    signals = prepared.outputs.get("--signals")
    if engine.name == "dask" or engine.cache is not None:
        return _by_file(data, config, engine, signals=signals)
    with atomic(signals) if signals else nullcontext() as temporary:
        try:
            result = pipeline.run(data, config, signals=temporary)
        except pipeline.SignalsNotWritten as exc:
            msg = f"cannot write signals file {prepared.paths.signals}: {first_line(exc.error)}"
            raise OutputError(msg) from exc
    return result, signals.current() if signals else None


def _by_file(
    data: Input, config: Config, engine: Engine, *, signals: Target | None
) -> tuple[pipeline.Result, os.stat_result | None]:
    """The counts file by file: on a Dask cluster, or here with a cache of each file's counts.

    On dask, with the signals dataset's folder (built beside it, swapped in on success).
    """
    if engine.name != "dask":
        if signals is not None:
            msg = (
                "--signals is not written with --cache on the local engine: run without --cache for "
                "the signals file, or with --engine dask for a signals dataset (a folder)"
            )
            raise ConfigError(msg)
        from signal_job.computing import by_file  # noqa: PLC0415 - only for a cached run

        return by_file.run_by_file(data, config, kept=engine.cache, why="--cache"), None
    from signal_job.computing import cluster  # noqa: PLC0415 - dask only when asked for

    def on_dask(folder: Path | None) -> pipeline.Result:
        return cluster.run_on_dask(
            data, config, address=engine.address, workers=engine.workers, kept=engine.cache, signals=folder
        )

    if signals is None:
        return on_dask(None), None
    if engine.cache is not None:
        check_inside(signals, {"--cache": engine.cache})
    with building(signals) as folder:
        try:
            result = on_dask(folder)
        except pipeline.SignalsNotWritten as exc:
            msg = f"cannot write signals dataset {signals.path}: {first_line(exc)}"
            raise OutputError(msg) from exc
    return result, signals.current()
