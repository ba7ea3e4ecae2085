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
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

from signal_job import counting
from signal_job.computing import pipeline
from signal_job.computing.route import Engine, explained
from signal_job.config import Config, Given, Overrides, RunConfig, resolve_config
from signal_job.engines import Where
from signal_job.errors import (
    ClashError,
    JobError,
    OutputError,
    Terminated,
    TrackingError,
)
from signal_job.formats import FileFormat
from signal_job.options import Option, Spelling
from signal_job.partial import Counts
from signal_job.paths import Paths, Prepared, is_stdout, prepare, spared
from signal_job.reporting import report
from signal_job.reporting.folders import remove_stale_dataset
from signal_job.reporting.logs import FIELDS, Logs
from signal_job.reporting.metrics import Document, error_document, render, success_document
from signal_job.reporting.outputs import Pending, Target, remove_stale_signals, together, write
from signal_job.reporting.pictures import remove_stale_picture
from signal_job.reporting.tables import table_format, write_group_table
from signal_job.reporting.uploads import RemoteTarget, put, remove_stale_signals_object

if TYPE_CHECKING:
    from signal_job.reporting.tracking import Tracked, Tracking

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Request:
    """One run as a face asks for it: what it reads and writes, and how."""

    paths: Paths
    started: float  # the `perf_counter()` the latency counts from
    spelling: Spelling  # the face's words for the options that its messages name
    config: Given | None = None  # stands in for `paths.config`
    overrides: Overrides = field(default_factory=Overrides)  # config keys set over the file's (the CLI's)
    where: Where = field(default_factory=Where)
    hashing: bool = False  # hash every input byte into the document's fingerprint
    # On every series of the metrics file, checked by the face (`prometheus.checked_labels`).
    metrics_labels: Mapping[str, str] = field(default_factory=dict)
    tracking: Tracking | None = None  # track the run in MLflow, from its start to its end
    # An input given as a frame (Python API): staged as the Parquet file `paths.input` as the run
    # opens its input, in a folder that the face holds for the run (see `reading.frames`).
    # A Polars DataFrame or LazyFrame, a pandas DataFrame; or the `StagingError` of its folder,
    # which the run ends with once its paths are checked, as any error (in its error document).
    frame: object | None = None
    keep: tuple[str, ...] | bool = ()  # input columns the signals keep (see `Config.keep`)
    # The steps from the config to the success document: a run's (`run_steps`), or a sweep's.
    steps: Steps | None = None

    @cached_property
    def configured(self) -> RunConfig:
        """The run's config, its file read at most once: a pipe (`/dev/stdin`) gives its text once."""
        return RunConfig(self.paths.config, self.config, self.overrides)


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
    picture: os.stat_result | None = None  # the picture the run drew (`plotting`), once in place
    error: BaseException | None = None  # a `JobError`, `Terminated`, or a bug
    code: int = 0  # the exit code: 0, 1, or 128 + the number of the signal that stopped it
    # Tables a success writes with its document, by option: their bytes in a format (CSV or Parquet).
    tables: dict[Option, Callable[[FileFormat], bytes]] = field(default_factory=dict)


Steps = Callable[[Prepared, Request, Pending], Outcome]


def execute(request: Request, hooks: Hooks = Hooks()) -> Outcome:
    """Run the job and write its document, whatever the end; the error is returned, not raised."""
    folder = request.where.name == "dask"
    tracked = None  # a run refused before it starts is not tracked
    with Pending() as pending:  # the signals, written ahead: placed with the document, else removed
        try:
            prepared = prepare(request.paths, signals_folder=folder)
        except ClashError as exc:
            prepared = spared(request.paths, exc, signals_folder=folder)
            _spelled(prepared, request.spelling)
            ended = _refused(exc, request, hooks, prepared)
        else:
            _spelled(prepared, request.spelling)
            tracked = _opened(request)
            ended = _ended(prepared, request, hooks, pending, tracked)
        if hooks.before_writing is not None:
            hooks.before_writing()
        if tracked is not None:  # logged before the document is written: a required run may fail on it
            ended = _tracked(tracked, request, ended)
        logged = ended.document["status"]
        document, ended = _committed(
            ended,
            _reached(prepared, request),
            pending,
            prints=hooks.show is not None,
            labels=dict(request.metrics_labels),
        )
    if tracked is not None:
        if document["status"] != logged:  # logged as a success, then failed to put its outputs in place
            tracked.amend(document)
        tracked.shut()
    error = ended.error
    if document["status"] != "success" and error is None:  # the document could not be written
        error = OutputError(document["error_message"], version=document["version"])
    shown = hooks.show is None or hooks.show(render(document))
    report.log_status(document, shown=shown)
    if hooks.logs is not None:
        hooks.logs.close()
    if error is not None:
        return Outcome(document, error=error, code=ended.code or 1)
    return replace(ended, document=document, code=0 if shown else 1)


def _refused(exc: ClashError, request: Request, hooks: Hooks, prepared: Prepared) -> Outcome:
    """A run whose paths clash: it fails as any run does, in the outputs that `prepared` spares.

    Nothing is written to a path the clash names: it may be an input.
    """
    log_file = _local(prepared, Option.LOG_FILE)
    if hooks.logs is not None:
        if log_file is not None:
            try:
                hooks.logs.attach(log_file)
            except OutputError as problem:  # the clash is the run's error; this one is only said
                log.error("%s", problem)
        else:
            hooks.logs.drop_buffer()
    _in_words(exc, request.spelling)
    log.error("%s", exc)
    exc.version = _version(request)
    return _failed(exc, exc.version, str(exc), code=1)


def _ended(
    prepared: Prepared, request: Request, hooks: Hooks, pending: Pending, tracked: Tracked | None
) -> Outcome:
    """Run the job: its outcome, or the error document, the error and the exit code (a signal sets it)."""
    paths = prepared.paths
    # Python finds TMPDIR by writing a probe file there, once: done while a stop is still held, so
    # that a stop never leaves the probe behind in the folder where the run stages its rows.
    tempfile.gettempdir()
    try:
        if hooks.ready is not None:
            hooks.ready()
        _before_the_work(prepared, request, hooks, tracked)
        outcome = (request.steps or run_steps)(prepared, request, pending)
        problem = hooks.logs.problem() if hooks.logs is not None else None
        if problem is not None:  # a full disk under the log: the run is not to be trusted
            problem.version = outcome.document["version"]
            raise problem
    except JobError as exc:
        if exc.version is None and isinstance(exc, OutputError):
            exc.version = _version(request)
        _in_words(exc, request.spelling)
        # An expected error's message says all there is: no traceback, not even in the log file.
        log.error("%s", exc)
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


def _before_the_work(prepared: Prepared, request: Request, hooks: Hooks, tracked: Tracked | None) -> None:
    """Attach the log file; refuse what would leave the work unreported or untracked, before it starts."""
    log_file = _local(prepared, Option.LOG_FILE)
    if hooks.logs is not None and prepared.paths.log_file is not None:
        if Option.LOG_FILE in prepared.unusable:
            raise prepared.unusable[Option.LOG_FILE]
        assert log_file is not None  # noqa: S101 - usable, so resolved
        hooks.logs.attach(log_file)
    elif hooks.logs is not None:  # no log file: the console alone
        hooks.logs.drop_buffer()
    untracked = tracked.problem() if tracked is not None else None
    if untracked is not None:  # a required run whose MLflow run cannot be opened: no work to lose
        untracked.version = _version(request)
        raise untracked
    for option in (Option.METRICS_FILE, Option.GROUPS, Option.TABLE):  # before the work, never reported
        if option in prepared.unusable:
            raise prepared.unusable[option]


def _spelled(prepared: Prepared, spelling: Spelling) -> None:
    """Put the options that the errors of unusable outputs name in the face's words, ahead of their use.

    The document's own (an output that can never be written) is said as it is written, not raised.
    """
    for exc in prepared.unusable.values():
        _in_words(exc, spelling)


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
    ended: Outcome, prepared: Prepared, pending: Pending, *, prints: bool, labels: dict[str, str]
) -> tuple[Document, Outcome]:
    """Put the run's outputs in place in one turn: its signals, groups table, Prometheus file, document.

    In turn with other runs that write into the same folders (`together`), so the last of them
    has all of its files in place, never its document beside another run's signals. A failure
    writes its error document and removes the signals file it found or wrote. The document as it
    ends, and the outcome (an error if the signals could not be put in place).
    """
    written = [
        out
        for option, out in prepared.outputs.items()
        if option is not Option.LOG_FILE and isinstance(out, Target)
    ]
    with together(written):
        ended = _tabled(_placed(ended, prepared, pending), prepared)
        document = _written(ended, prepared, prints=prints, labels=labels)
        signals = prepared.outputs.get(Option.SIGNALS)
        if document["status"] != "success" and signals is not None:
            if isinstance(signals, RemoteTarget):
                remove_stale_signals_object(signals)
            elif prepared.signals_folder:
                remove_stale_dataset(signals, ended.signals)
            else:
                remove_stale_signals(signals, ended.signals)
        picture = prepared.outputs.get(Option.PLOT)
        if document["status"] != "success" and isinstance(picture, Target):
            remove_stale_picture(picture, ended.picture)
    return document, ended


def _local(prepared: Prepared, option: Option) -> Target | None:
    """The output `option` names, a local file (the log and Prometheus files are never objects)."""
    out = prepared.outputs.get(option)
    assert out is None or isinstance(out, Target)  # noqa: S101 - paths refuses them as URLs
    return out


def _reached(prepared: Prepared, request: Request) -> Prepared:
    """`prepared`, its outputs in object storage reached with the config's `storage_options`, as the input."""
    config = request.configured.known()
    if config is None or not config.reading.storage_options:
        return prepared
    options = config.reading.storage_options
    outputs = {
        option: out.with_options(options) if isinstance(out, RemoteTarget) else out
        for option, out in prepared.outputs.items()
    }
    return replace(prepared, outputs=outputs)


def _placed(ended: Outcome, prepared: Prepared, pending: Pending) -> Outcome:
    """The outcome once a success's signals are in place (a failure's are removed), or the error if not."""
    if ended.error is not None:
        pending.drop()
        return ended
    try:
        pending.place()
    except OutputError as exc:
        return _unplaced(ended, exc)
    signals, picture = prepared.outputs.get(Option.SIGNALS), prepared.outputs.get(Option.PLOT)
    return replace(
        ended,
        signals=signals.current() if isinstance(signals, Target) else None,
        picture=picture.current() if isinstance(picture, Target) else None,
    )


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
                data = table(table_format(out.path, option=option))
                if isinstance(out, RemoteTarget):
                    put(out, data)
                else:
                    write(out, data)
                log.info("table written to %s", out.path)
    except OutputError as exc:
        return _unplaced(ended, exc)
    return ended


def _written(outcome: Outcome, prepared: Prepared, *, prints: bool, labels: dict[str, str]) -> Document:
    """Write the Prometheus file (`labels` on every series), then the document; the document as it ends.

    An error if either failed. Where the caller `prints` the document, an output that is this
    process's stdout is left to it.
    """
    out, metrics = prepared.outputs.get(Option.OUTPUT), _local(prepared, Option.METRICS_FILE)
    counts, groups = outcome.counts, outcome.groups
    document = report.write_metrics_file(
        outcome.document, metrics, counts=counts, groups=groups, labels=labels
    )
    unusable = prepared.unusable.get(Option.OUTPUT)
    printed = prints and out is not None and is_stdout(out)
    written = report.write_document(document, out, unusable=unusable, printed=printed)
    if written["status"] != document["status"]:  # the document failed to write: say so there too
        report.write_metrics_file(written, metrics, counts=counts, groups=groups, labels=labels)
    return written


def _opened(request: Request) -> Tracked | None:
    """The run's MLflow run, if tracked, opened now on a thread of its own from the job's start."""
    if request.tracking is None:
        return None
    from signal_job.reporting.tracking import Tracked  # noqa: PLC0415 - only when tracking

    started = time.time() - (time.perf_counter() - request.started)  # the command's start, in epoch time
    return Tracked(request.tracking, started=started)


def _tracked(tracked: Tracked, request: Request, ended: Outcome) -> Outcome:
    """The outcome once the ended run is logged to MLflow: a required run not tracked fails on that."""
    if isinstance(ended.error, TrackingError):  # its MLflow run was never opened
        return ended
    config = request.configured.known()
    document = ended.document
    problem = tracked.close(
        document,
        config=config,
        config_text=None if config is None else request.configured.text(),  # as read: a pipe's once
        input=str(request.paths.input),
        engine=request.where.name,
        counts=ended.counts,
        latency=document.get("latency_ms", round((time.perf_counter() - request.started) * 1000)),
    )
    if problem is None:
        return ended
    _in_words(problem, request.spelling)
    if ended.error is not None:  # the run's own error stands
        log.warning("%s", problem)
        return ended
    problem.version = document["version"]
    log.error("%s", problem)
    return _failed(problem, problem.version, str(problem), code=1)


def tracking(
    uri: str | None, experiment: str | None, *, run_name: str | None = None, required: bool = False
) -> Tracking | None:
    """MLflow settings, if a tracking URI was given: their module is imported only then."""
    if not uri:
        return None
    from signal_job.reporting.tracking import Tracking  # noqa: PLC0415 - a plain run never pays for it

    return Tracking.of(uri, experiment, run_name=run_name, required=required)


def run_steps(prepared: Prepared, request: Request, pending: Pending) -> Outcome:
    """The run's steps: config, input, counts (and the signals file), the success document.

    Raises `JobError`, carrying the config's version once the config has been read.
    """
    paths = prepared.paths
    config = replace(configured(prepared, request), keep=request.keep)
    counted = count(prepared, request, pending, config)
    total, groups = counted.result.total, counted.result.groups
    ask = request.spelling(f"{Option.GROUPS.given('groups.csv')} (or .parquet)")
    report.log_result(
        total, groups, window=config.window, group_by=config.group_by, table=paths.groups, ask=ask
    )
    if paths.signals is not None:
        log.info("signals written to %s", paths.signals)
    document = success_document(
        version=config.version,
        rows=total.rows,
        value=total.rate,
        latency_ms=latency(request, config),
        seed=config.seed,
        inputs=counted.inputs,
        warnings=[
            *report.short_windows(total, groups, window=config.window, group_by=config.group_by),
            *report.nonpositive_closes(total.nonpositive, first=counted.first_nonpositive),
        ],
    )
    document = report.with_groups(document, groups, group_by=config.group_by, table=paths.groups, ask=ask)
    return Outcome(document, total, groups)


def count(
    prepared: Prepared,
    request: Request,
    pending: Pending,
    config: Config,
    *,
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> counting.Counted:
    """The input's counts (`counting.count`), taken as `request` asks: where, hashed, of a frame."""
    return counting.count(
        prepared,
        config,
        pending,
        where=request.where,
        spelling=request.spelling,
        hashing=request.hashing,
        frame=request.frame,
        windows=windows,
        means=means,
    )


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


def latency(request: Request, config: Config) -> int:
    """The run's latency so far in milliseconds, logged."""
    latency_ms = round((time.perf_counter() - request.started) * 1000)
    log.info(
        "latency: %d ms", latency_ms, extra={FIELDS: {"latency_ms": latency_ms, "version": config.version}}
    )
    return latency_ms


def explain(
    paths: Paths,
    *,
    spelling: Spelling,
    config: Given | None = None,
    overrides: Overrides = Overrides(),
    where: Where = Where(),
    frame: object | None = None,
    windows: Callable[[Config], tuple[int, ...]] | None = None,
) -> str:
    """What a run would do, without running it: its route with the reasons, and the Polars queries.

    Nothing is written but a `frame` given as the input, staged as a run stages it; the config is
    read and the input opened (its files found and sniffed). Raises `JobError` as a run would,
    naming options (and a staged frame) in the face's `spelling`. `windows`, of a sweep: its
    windows, from the config.
    """
    try:
        prepared = prepare(paths, signals_folder=where.name == "dask")
        known = resolve_config(paths.config, config, overrides)
        try:
            swept = None if windows is None else windows(known)
            if swept is not None:
                known = replace(known, window=max(swept))
            with counting.stdin_spooled(prepared) as spooled:
                data = counting.open_data(spooled, known, frame=frame)
                route = counting.route_of(data, spooled, known, where, windows=swept)
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
    return spelling("\n".join(lines) + "\n")
