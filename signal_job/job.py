"""One run of the job: its paths checked, then config, input, counts (and signals file), the document.

`execute` is the one path that the command line and the Python API share. It takes the run's
`Request` (what to read and write, and how) and the face's `Hooks`, and returns the run's
`Outcome` whatever its end: the error is in it, not raised. The steps live elsewhere (the paths
and their checks in `paths`, the config in `config`, the counting in `computing/`, the document,
the Prometheus file and the log lines in `reporting/`); this module runs them in order and turns
an error into the error document. The signals, written while the input is read, wait beside
their place until the document is ready, and go in place with it in one turn. How the run goes
is its route's (`computing/route`), decided once here, logged, and executed by the engine it
names; `explain` shows it instead.

`Where` is what the face asked for: here (`local`) or on a Dask cluster (`dask`), each file's
counts kept or not (`cache`). From it and the input, the route decides the `Engine` (local,
cache or dask). Neither is Polars' own streaming or in-memory engine (`pipeline.PolarsEngine`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from signal_job.computing import pipeline
from signal_job.computing.route import Engine, Route, decide, describe, explained
from signal_job.config import Config, Given, RunConfig, resolve_config
from signal_job.engines import ENGINES, Where
from signal_job.errors import (
    ClashError,
    ConfigError,
    JobError,
    OutputError,
    Terminated,
    counted,
)
from signal_job.options import Option, Spelling
from signal_job.partial import Counts
from signal_job.paths import Paths, Prepared, is_stdout, prepare, spared
from signal_job.reading.files import find_files
from signal_job.reading.inputs import Input, distinct_files, open_input
from signal_job.reading.storage import Url
from signal_job.reporting import report
from signal_job.reporting.fingerprints import Hasher, facts, summary
from signal_job.reporting.folders import remove_stale_dataset
from signal_job.reporting.logs import FIELDS, Logs
from signal_job.reporting.metrics import Document, error_document, render, success_document
from signal_job.reporting.outputs import Pending, remove_stale_signals, together, write
from signal_job.reporting.tables import TableFormat, table_format, write_group_table

if TYPE_CHECKING:
    from signal_job.reporting.tracking import Tracking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One run as a face asks for it: what it reads and writes, and how."""

    paths: Paths
    started: float  # the `perf_counter()` the latency counts from
    spelling: Spelling  # the face's words for the options that its messages name
    config: Given | None = None  # stands in for `paths.config`
    where: Where = field(default_factory=Where)
    hashing: bool = False  # hash every input byte into the document's fingerprint
    tracking: Tracking | None = None  # log the ended run to MLflow
    # The steps from the config to the success document: a run's (`run_steps`), or a sweep's.
    steps: Steps | None = None

    @cached_property
    def configured(self) -> RunConfig:
        """The run's config, its file read at most once: a pipe (`/dev/stdin`) gives its text once."""
        return RunConfig(self.paths.config, self.config)


@dataclass(frozen=True)
class Hooks:
    """What the command line does around a run; the Python API gives none."""

    logs: Logs | None = None  # gets the log file attached once the paths are checked
    # Prints the rendered document and says whether it could: an output that is stdout is left
    # to it, and a failed print is logged while the log is open.
    show: Callable[[bytes], bool] | None = None
    # Called once the paths are checked, where a stop can still write the error document (the
    # CLI acts on stop signals from there).
    ready: Callable[[], None] | None = None
    before_writing: Callable[[], None] | None = None  # the run is over (the CLI stops taking signals)


@dataclass(frozen=True)
class Outcome:
    """How a run ended: its document (success or error), what it counted and wrote, its exit code."""

    document: Document
    counts: Counts | None = None  # of a successful run
    groups: list[tuple[str | None, Counts]] = field(default_factory=list)  # per group_by value
    signals: os.stat_result | None = None  # the signals file (or folder) the run wrote
    error: BaseException | None = None  # a `JobError`, `Terminated`, or a bug
    code: int = 0  # the exit code: 0, 1, or 128 + the number of the signal that stopped it
    # Tables a success writes with its document, by option: their bytes in a format (CSV or Parquet).
    tables: dict[Option, Callable[[TableFormat], bytes]] = field(default_factory=dict)


Steps = Callable[[Prepared, Request, Pending], Outcome]


def execute(request: Request, hooks: Hooks = Hooks()) -> Outcome:
    """Run the job and write its document, whatever the end; the error is returned, not raised."""
    folder = request.where.name == "dask"
    refused = False  # a run refused before it starts is not tracked
    with Pending() as pending:  # the signals, written ahead: placed with the document, else removed
        try:
            prepared = prepare(request.paths, signals_folder=folder)
        except ClashError as exc:
            refused = True
            prepared = spared(request.paths, exc, signals_folder=folder)
            ended = _refused(exc, request, hooks, prepared)
        else:
            ended = _ended(prepared, request, hooks, pending)
        if hooks.before_writing is not None:
            hooks.before_writing()
        document, ended = _committed(ended, prepared, pending, prints=hooks.show is not None)
    error = ended.error
    if document["status"] != "success" and error is None:  # the document could not be written
        error = OutputError(document["error_message"], version=document["version"])
    shown = hooks.show is None or hooks.show(render(document))
    report.log_status(document, shown=shown)
    if request.tracking is not None and not refused:  # once the document is final, while the log is open
        _track(request.tracking, request, document, ended.counts)
    if hooks.logs is not None:
        hooks.logs.close()
    if error is not None:
        return Outcome(document, error=error, code=ended.code or 1)
    return replace(ended, document=document, code=0 if shown else 1)


def _refused(exc: ClashError, request: Request, hooks: Hooks, prepared: Prepared) -> Outcome:
    """A run whose paths clash: it fails as any run does, in the outputs that `prepared` spares.

    Nothing is written to a path the clash names: it may be an input.
    """
    if hooks.logs is not None:
        if Option.LOG_FILE in prepared.outputs:
            try:
                hooks.logs.attach(prepared.outputs[Option.LOG_FILE])
            except OutputError as problem:  # the clash is the run's error; this one is only said
                log.error("%s", problem)
        else:
            hooks.logs.drop_buffer()
    _in_words(exc, request.spelling)
    log.error("%s", exc)
    exc.version = _version(request)
    return _failed(exc, exc.version, str(exc), code=1)


def _ended(prepared: Prepared, request: Request, hooks: Hooks, pending: Pending) -> Outcome:
    """Run the job: its outcome, or the error document, the error and the exit code (a signal sets it)."""
    paths = prepared.paths
    try:
        if hooks.ready is not None:
            hooks.ready()
        if hooks.logs is not None and paths.log_file is not None:
            if Option.LOG_FILE in prepared.unusable:
                raise prepared.unusable[Option.LOG_FILE]
            hooks.logs.attach(prepared.outputs[Option.LOG_FILE])
        for option in (Option.METRICS_FILE, Option.GROUPS, Option.TABLE):  # before the work, never reported
            if option in prepared.unusable:
                raise prepared.unusable[option]
        outcome = (request.steps or run_steps)(prepared, request, pending)
        problem = hooks.logs.problem() if hooks.logs is not None else None
        if problem is not None:  # a full disk under the log: the run is not to be trusted
            problem.version = outcome.document["version"]
            raise problem
    except JobError as exc:
        if exc.version is None and isinstance(exc, OutputError):
            exc.version = _version(request)
        _in_words(exc, request.spelling)
        log.error("%s", exc)
        log.debug("traceback", exc_info=True)
        return _failed(exc, exc.version, str(exc), code=1)
    except Terminated as exc:
        log.error("%s", exc)
        return _failed(exc, _version(request), str(exc), code=128 + exc.number)
    except KeyboardInterrupt as exc:  # Ctrl-C in a notebook (Python API): the caller gets it back
        log.error("interrupted by KeyboardInterrupt")
        return _failed(exc, _version(request), "interrupted by KeyboardInterrupt", code=130)
    except Exception as exc:  # a bug must still end in the error document, not a traceback
        where = f" (traceback in {paths.log_file})" if paths.log_file is not None else ""
        message = f"unexpected error, please report it: {type(exc).__name__}: {exc}{where}"
        log.error("%s", message)
        log.debug("traceback", exc_info=True)
        return _failed(exc, _version(request), message, code=1)
    return outcome


def _in_words(exc: JobError, spelling: Spelling) -> None:
    """Put the options that `exc` names in the words of the face that asked for the run (`spelling`).

    Once, as the error leaves the run: its log line, its document and the exception raised.
    """
    exc.args = (spelling(str(exc)), *exc.args[1:])


def _failed(error: BaseException, version: str | None, message: str, *, code: int) -> Outcome:
    return Outcome(error_document(version=version, message=message), error=error, code=code)


def _version(request: Request) -> str | None:
    return request.configured.version()


def _committed(
    ended: Outcome, prepared: Prepared, pending: Pending, *, prints: bool
) -> tuple[Document, Outcome]:
    """Put the run's outputs in place in one turn: its signals, groups table, Prometheus file, document.

    In turn with other runs that write into the same folders (`together`), so the last of them
    has all of its files in place, never its document beside another run's signals. A failure
    writes its error document and removes the signals file it found or wrote. The document as it
    ends, and the outcome (an error if the signals could not be put in place).
    """
    written = [out for option, out in prepared.outputs.items() if option is not Option.LOG_FILE]
    with together(written):
        ended = _tabled(_placed(ended, prepared, pending), prepared)
        document = _written(ended, prepared, prints=prints)
        if document["status"] != "success" and Option.SIGNALS in prepared.outputs:
            remove = remove_stale_dataset if prepared.signals_folder else remove_stale_signals
            remove(prepared.outputs[Option.SIGNALS], ended.signals)
    return document, ended


def _placed(ended: Outcome, prepared: Prepared, pending: Pending) -> Outcome:
    """The outcome once a success's signals are in place (a failure's are removed), or the error if not."""
    if ended.error is not None:
        pending.drop()
        return ended
    try:
        pending.place()
    except OutputError as exc:
        return _unplaced(ended, exc)
    signals = prepared.outputs.get(Option.SIGNALS)
    return replace(ended, signals=signals.current() if signals is not None else None)


def _unplaced(ended: Outcome, exc: OutputError) -> Outcome:
    """A success one of whose outputs could not be put in place: that error ends the run."""
    exc.version = ended.document["version"]
    log.error("%s", exc)
    return _failed(exc, exc.version, str(exc), code=1)


def _tabled(ended: Outcome, prepared: Prepared) -> Outcome:
    """The outcome once a success's groups table is written (if asked for), or the error if it is not."""
    if ended.error is not None:
        return ended
    out = prepared.outputs.get(Option.GROUPS)
    try:
        if out is not None:
            write_group_table(ended.groups, out)
            log.info("groups table written to %s", out.path)
        for option, table in ended.tables.items():
            out = prepared.outputs.get(option)
            if out is not None:
                write(out, table(table_format(out.path, option=option)))
                log.info("table written to %s", out.path)
    except OutputError as exc:
        return _unplaced(ended, exc)
    return ended


def _written(outcome: Outcome, prepared: Prepared, *, prints: bool) -> Document:
    """Write the Prometheus file, then the document; the document as it ends (an error if either failed).

    Where the caller `prints` the document, an output that is this process's stdout is left to it.
    """
    out, metrics = prepared.outputs.get(Option.OUTPUT), prepared.outputs.get(Option.METRICS_FILE)
    counts, groups = outcome.counts, outcome.groups
    document = report.write_metrics_file(outcome.document, metrics, counts=counts, groups=groups)
    unusable = prepared.unusable.get(Option.OUTPUT)
    printed = prints and out is not None and is_stdout(out)
    written = report.write_document(document, out, unusable=unusable, printed=printed)
    if written["status"] != document["status"]:  # the document failed to write: say so there too
        report.write_metrics_file(written, metrics, counts=counts, groups=groups)
    return written


def _track(tracking: Tracking, request: Request, document: Document, counts: Counts | None) -> None:
    """Log the ended run to MLflow (a failure to is a warning, never the run's)."""
    from signal_job.reporting.tracking import log_run  # noqa: PLC0415 - only when tracking

    config = request.configured.known()
    log_run(
        tracking,
        document,
        config=config,
        config_text=None if config is None else request.configured.text(),  # as read: a pipe's once
        input=str(request.paths.input),
        engine=request.where.name,
        counts=counts,
        started=request.started,
    )


def tracking(uri: str | None, experiment: str | None) -> Tracking | None:
    """MLflow settings, if a tracking URI was given: their module is imported only then."""
    if not uri:
        return None
    from signal_job.reporting.tracking import Tracking  # noqa: PLC0415 - a plain run never pays for it

    return Tracking.of(uri, experiment)


def run_steps(prepared: Prepared, request: Request, pending: Pending) -> Outcome:
    """The run's steps: config, input, counts (and the signals file), the success document.

    Raises `JobError`, carrying the config's version once the config has been read.
    """
    paths = prepared.paths
    config = configured(prepared, request)
    result, inputs = count(prepared, request, pending, config)
    total, groups = result.total, result.groups
    ask = request.spelling(f"{Option.GROUPS.given('groups.csv')} (or .parquet)")
    report.log_result(
        total, groups, window=config.window, group_by=config.group_by, table=paths.groups, ask=ask
    )
    if paths.signals is not None:
        log.info("signals written to %s", paths.signals)
    latency_ms = latency(request, config)
    document = success_document(
        version=config.version,
        rows=total.rows,
        value=total.rate,
        latency_ms=latency_ms,
        seed=config.seed,
        inputs=inputs,
        warnings=report.short_windows(total, groups, window=config.window, group_by=config.group_by),
    )
    return Outcome(document, total, groups)


def configured(prepared: Prepared, request: Request) -> Config:
    """The run's config, read (or checked, as given) and logged."""
    paths = prepared.paths
    config = request.configured.resolve()
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
    return config


def count(
    prepared: Prepared,
    request: Request,
    pending: Pending,
    config: Config,
    *,
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> tuple[pipeline.Result, dict[str, Any]]:
    """The counts of the input (the signals file written to `pending`), and what was read.

    `windows`, a sweep's, are counted in the same scan (the config's window their largest);
    `means`, its signals file holds their rolling means. Raises `JobError`, carrying the config's
    version.
    """
    try:
        _check_group_table(prepared, config)
        data = _open(prepared, config)
        route = _route(data, prepared, config, request.where, windows=windows, means=means)
        log.info("route: %s", describe(route), extra={FIELDS: {"route": route.as_dict()}})
        return _fingerprinted(
            data,
            lambda: _compute(data, prepared, config, request.where, route, pending=pending),
            hashing=request.hashing,
        )
    except JobError as exc:
        exc.version = config.version
        raise


def latency(request: Request, config: Config) -> int:
    """The run's latency so far in milliseconds, logged."""
    latency_ms = round((time.perf_counter() - request.started) * 1000)
    log.info(
        "latency: %d ms", latency_ms, extra={FIELDS: {"latency_ms": latency_ms, "version": config.version}}
    )
    return latency_ms


def _check_group_table(prepared: Prepared, config: Config) -> None:
    """Refuse a groups table where the run has no groups, before any work."""
    if Option.GROUPS in prepared.outputs and config.group_by is None:
        msg = (
            f"{Option.GROUPS} asks for a table of every group's counts, but the config sets no "
            f"group_by, so the run has no groups: set group_by in the config (the column naming "
            f"the series), or leave out {Option.GROUPS}"
        )
        raise ConfigError(msg)


def _open(prepared: Prepared, config: Config) -> Input:
    """The input's files, found and opened, in order."""
    if prepared.input_problem is not None:
        raise prepared.input_problem
    if Option.SIGNALS in prepared.unusable:
        raise prepared.unusable[Option.SIGNALS]
    found = prepared.found
    if found is None:  # in object storage: listed now, with the config's storage_options
        assert isinstance(prepared.paths.input, Url)  # noqa: S101 - else found, or a problem
        found = find_files(replace(prepared.paths.input, options=config.reading.storage_options))
    data = open_input(found, reading=config.reading, timestamps=Option.SIGNALS in prepared.outputs)
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
    data: Input, compute: Callable[[], pipeline.Result], *, hashing: bool
) -> tuple[pipeline.Result, dict[str, Any]]:
    """`compute()`, and what it read: the files' facts, their bytes hashed alongside with `hashing`."""
    files = distinct_files(data)
    hasher = Hasher([source.path for source in files]) if hashing else None
    try:
        result = compute()
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
    return result, inputs


def _route(
    data: Input,
    prepared: Prepared,
    config: Config,
    where: Where,
    *,
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> Route:
    """How the run goes (see `route`): decided once, from what was asked for and what was found."""
    engine = Engine.LOCAL if where.cache is None else Engine.CACHE
    if where.name == "dask":
        engine = Engine.DASK
    signals = Option.SIGNALS in prepared.outputs
    cached = where.cache is not None
    return decide(data, config, signals=signals, engine=engine, cached=cached, windows=windows, means=means)


def explain(
    paths: Paths,
    *,
    spelling: Spelling,
    config: Given | None = None,
    where: Where = Where(),
    windows: Callable[[Config], tuple[int, ...]] | None = None,
) -> str:
    """What a run would do, without running it: its route with the reasons, and the Polars queries.

    Nothing is written; the config is read and the input opened (its files found and sniffed).
    `windows`, of a sweep: its windows, from the config. Raises `JobError` as a run would, naming
    options in the face's `spelling`.
    """
    try:
        prepared = prepare(paths, signals_folder=where.name == "dask")
        known = resolve_config(paths.config, config)
        try:
            swept = None if windows is None else windows(known)
            if swept is not None:
                known = replace(known, window=max(swept))
            data = _open(prepared, known)
            route = _route(data, prepared, known, where, windows=swept)
            queries = pipeline.queries(data, known, route)
        except JobError as exc:
            exc.version = known.version
            raise
    except JobError as exc:
        _in_words(exc, spelling)
        raise
    lines = [f"route of a run over {paths.input} ({data.describe()}):", explained(route)]
    over = "each file (alone)" if route.engine.choice is not Engine.LOCAL else "the rows"
    if route.engine.choice is Engine.LOCAL and route.series.choice > 1:
        over = "the first series"
    for name, query in queries:
        lines += ["", f"Polars query, {name}, over {over}:", query.explain(engine="streaming")]
    return "\n".join(lines) + "\n"


def _compute(
    data: Input, prepared: Prepared, config: Config, where: Where, route: Route, *, pending: Pending
) -> pipeline.Result:
    """The counts by the engine `route` names; the signals, if asked for, written whole to `pending`."""
    engine = ENGINES[route.engine.choice]
    return engine(data, config, route, where, prepared.outputs.get(Option.SIGNALS), pending)
