"""The job from Python, for schedulers (Airflow, Dagster, Prefect) and notebooks.

`run` is the command line's own path (`signal_job.job.execute`) without the console: the same
checks, the same documents written the same way, the same messages (naming `run`'s keyword
arguments where the command line's name its flags), raised as the job's exceptions. It logs
through the standard `logging` module under the `signal_job` logger and configures nothing
global: no handlers, no levels, no signal handlers.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from signal_job.config import Config, RunConfig, as_mapping
from signal_job.errors import JobError, StagingError
from signal_job.options import Option, Spelling, unmet
from signal_job.paths import Paths
from signal_job.reading.storage import Location, location
from signal_job.reporting.pictures import HEIGHT, WIDTH
from signal_job.results import GroupResult, GroupResults, InspectResult, RunResult, SweepResult, WindowResult
from signal_job.tuning import tune_polars

if TYPE_CHECKING:
    from datetime import datetime

    import polars as pl


ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config
PathLike = str | os.PathLike[str]
# A Polars DataFrame or LazyFrame, or a pandas DataFrame (pandas is never imported to tell).
Frame = Any

# The options the job's messages name, as a Python caller gives them: `run`'s keyword arguments.
KEYWORDS = Spelling(
    {
        Option.INPUT: "input",
        Option.CONFIG: "config",
        Option.OUTPUT: "output",
        Option.LOG_FILE: "log_file",  # never named: a run from Python has no log file
        Option.SIGNALS: "signals",
        Option.METRICS_FILE: "metrics_file",
        Option.METRICS_LABEL: "metrics_labels",
        Option.GROUPS: "groups",
        Option.ENGINE: "engine",
        Option.ADDRESS: "address",
        Option.WORKERS: "workers",
        Option.CACHE: "cache",
        Option.HASH: "hash_inputs",
        Option.MLFLOW: "mlflow",
        Option.MLFLOW_EXPERIMENT: "mlflow_experiment",
        Option.MLFLOW_RUN_NAME: "mlflow_run_name",
        Option.MLFLOW_REQUIRED: "mlflow_required",
        Option.FORCE: "force",  # never named: `signal_job.synthetic.write_candles`'s, not `run`'s
        Option.WINDOWS: "windows",  # `sweep`'s
        Option.TABLE: "table",  # `sweep`'s
        Option.MEANS: "means",  # `sweep`'s
        Option.PLOT: "plot",
        Option.FROM: "start",  # `plot`'s (`from` is Python's word)
        Option.TO: "end",  # `plot`'s
        Option.GROUP: "group",  # `plot`'s
        Option.WIDTH: "width",  # `plot`'s
        Option.HEIGHT: "height",  # `plot`'s
    },
    valued='{name}="{value}"',
)


def explain(
    input: PathLike | Frame = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    signals: PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    cache: PathLike | None = None,
) -> str:
    """How `run` with these arguments would go, without running it: the explain text of the command line.

    That is its route, with the reason for each choice, and the Polars queries it starts with.
    Nothing is written, but a frame given as the input: staged as a run stages it (one Parquet
    file under TMPDIR, removed after), whose route this is. Raises the job's errors as `run` does.
    """
    given = _given(config)
    engine = _engine(engine)
    with _input(input, counted_here=engine == "local" and cache is None) as (where_from, frame, spelling):
        paths = Paths(
            input=where_from,
            config=_config_file(config),
            output=None,
            log_file=None,
            signals=None if signals is None else Path(signals),
        )
        from signal_job import job  # noqa: PLC0415 - Polars only once a run starts
        from signal_job.engines import Where  # noqa: PLC0415

        where = Where(engine, cache=None if cache is None else Path(cache))
        return job.explain(paths, config=given, where=where, spelling=spelling, frame=frame)


def _given(config: ConfigSource) -> Mapping[str, Any] | Config | None:
    """The config given as a mapping or a `Config`; None for a path; else a `TypeError`."""
    given = config if isinstance(config, Config | Mapping) else None
    if given is None and not isinstance(config, str | os.PathLike):
        msg = f"config must be a path, a mapping or a Config, not {type(config).__name__}"
        raise TypeError(msg)
    return given


def _engine(engine: str) -> Literal["local", "dask"]:
    if engine not in ("local", "dask"):
        msg = f"engine must be 'local' or 'dask', not {engine!r}"
        raise ValueError(msg)
    return "dask" if engine == "dask" else "local"


def _check_workers(workers: int | None) -> None:
    """Refuse `workers` below 1, the range the command line takes too."""
    if workers is not None and workers < 1:
        msg = f"workers must be at least 1, not {workers}"
        raise ValueError(msg)


def _check_needs(  # noqa: PLR0917 - the arguments every run and sweep takes, in their order
    engine: str,
    workers: int | None,
    address: str | None,
    mlflow: str | None,
    mlflow_experiment: str | None,
    more: Mapping[Option, object] | None = None,
) -> None:
    """Refuse `workers` below 1, and an argument given with nothing to act on (`options.NEEDS`).

    As the command line does; `more`, the call's other arguments that need another.
    """
    _check_workers(workers)
    given = {
        Option.ENGINE: engine,
        Option.WORKERS: workers,
        Option.ADDRESS: address,
        Option.MLFLOW: mlflow,
        Option.MLFLOW_EXPERIMENT: mlflow_experiment,
        **(more or {}),
    }
    missing = unmet(given)
    if missing:
        raise ValueError(KEYWORDS(missing[0].said()))


def _config_file(config: ConfigSource) -> Path | None:
    """The config's file, where `config` names one (not a mapping or a `Config`)."""
    return Path(config) if isinstance(config, str | os.PathLike) else None


def _where_to(output: PathLike | None) -> Location | None:
    """An output as given: a path, or an object's URL (s3://...), as the command line takes it."""
    return None if output is None else location(output)


def _labels(given: Mapping[str, str] | None) -> dict[str, str]:
    from signal_job.reporting.prometheus import checked_labels  # noqa: PLC0415 - only when given

    try:
        return checked_labels((given or {}).items())
    except ValueError as exc:
        msg = f"metrics_labels: {exc}"
        raise ValueError(msg) from exc


def run(
    input: PathLike | Frame = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    output: PathLike | None = None,
    signals: PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    address: str | None = None,
    workers: int | None = None,
    cache: PathLike | None = None,
    metrics_file: PathLike | None = None,
    metrics_labels: Mapping[str, str] | None = None,
    groups: PathLike | None = None,
    hash_inputs: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str | None = None,
    mlflow_run_name: str | None = None,
    mlflow_required: bool = False,
    plot: PathLike | None = None,
) -> RunResult:
    """Run the job on `input` (a file, a glob or a folder, an s3://... URL, or a frame) and return its result.

    A frame (a Polars DataFrame or LazyFrame, or a pandas DataFrame, through Polars) is read as a
    Parquet file of its rows would be, with the same checks: it is staged as one under TMPDIR
    for the run (streamed from a LazyFrame: one pass over its rows, its size on disk), and its
    messages name it as the input frame. It is counted in this process: not with
    `engine="dask"` nor `cache`. Its document's `inputs` fingerprint hashes its staged bytes.
    `config` is a YAML file's path, a mapping of the same keys, or a `Config`. With `output`,
    the metrics document is written there (a failed run writes the error document, replacing
    an older success, as the command line does); with `signals`, every row's signal is written
    there (Parquet; with `engine="dask"` a folder of parts, a dataset). No output may be a file the
    run reads. `engine="dask"` counts the files on the Dask cluster at `address`, or on a local
    one of `workers` processes; `cache`, a folder, keeps each file's counts so that a re-run
    reads only new files (see docs/cluster.md); `metrics_file`, a Prometheus textfile of the run,
    with `metrics_labels` ({"job": "nightly"}) on every series (a bad one is a `ValueError`);
    `groups`, with a config's `group_by`, a table of every group's counts (.csv or .parquet);
    `hash_inputs` hashes every input byte into the document's `inputs` fingerprint (see
    docs/operations.md). With `mlflow`, a tracking URI, the run is logged to MLflow in the
    experiment `mlflow_experiment` (default "signal-job") as the run `mlflow_run_name` (default
    "v1 window=5", the config's version and window); a tracking failure is a logged warning, or
    with `mlflow_required` the run's `TrackingError`. With `plot`, a picture of the run (.png, .svg,
    .html) is drawn from the signals it computed, with the plot extra (see docs/plot.md).

    Raises the job's `JobError` subclasses (`ConfigError`, `InputError`, `OutputError`,
    `EngineError`, `ClashError`, `StagingError`, `TrackingError`) with the messages the command
    line puts in its error document, naming these keyword arguments where it names its flags;
    `exc.version` is the config's version once known.
    """
    started = time.perf_counter()  # the call's start: `latency_ms` counts from here
    given = _given(config)
    engine = _engine(engine)
    _check_needs(
        engine,
        workers,
        address,
        mlflow,
        mlflow_experiment,
        {
            Option.MLFLOW_RUN_NAME: mlflow_run_name,
            Option.MLFLOW_REQUIRED: mlflow_required,
            Option.METRICS_FILE: metrics_file,
            Option.METRICS_LABEL: metrics_labels,
        },
    )
    labels = _labels(metrics_labels)
    with _input(input, counted_here=engine == "local" and cache is None) as (where_from, frame, spelling):
        paths = Paths(
            input=where_from,
            config=_config_file(config),
            output=_where_to(output),
            log_file=None,
            signals=_where_to(signals),
            metrics_file=_where_to(metrics_file),
            groups=_where_to(groups),
            plot=_where_to(plot),
        )
        from signal_job import job, plotting  # noqa: PLC0415 - Polars only once a run starts
        from signal_job.engines import Where  # noqa: PLC0415

        where = Where(engine, address, workers, None if cache is None else Path(cache))
        request = job.Request(
            paths,
            started=started,
            spelling=spelling,
            config=given,
            where=where,
            hashing=hash_inputs or frame is not None,  # a staged file's times and name say nothing
            tracking=job.tracking(
                mlflow, mlflow_experiment, run_name=mlflow_run_name, required=mlflow_required
            ),
            metrics_labels=labels,
            frame=frame,
            steps=plotting.pictured(job.run_steps, plot),
        )
        outcome = job.execute(request)
    if outcome.error is not None:
        raise outcome.error
    assert outcome.counts is not None  # noqa: S101 - a success has its counts
    document = outcome.document
    return RunResult(
        rows=outcome.counts.rows,
        signals=outcome.counts.signals,
        rate=document["value"],
        latency_ms=document["latency_ms"],
        version=document["version"],
        seed=document["seed"],
        document=document,
        warnings=list(document.get("warnings", [])),
        groups=GroupResults(outcome.groups),
    )


@contextmanager
def _input(
    input: PathLike | Frame, *, counted_here: bool
) -> Iterator[tuple[Location, Frame | None, Spelling]]:
    """Where the run reads `input`, the frame to stage there (if a frame), and its messages' words.

    Polars' defaults are set first (before a pandas frame's conversion imports Polars). A frame's
    staging folder is held until the run is over: its signals and document are placed by then.
    """
    if isinstance(input, str | os.PathLike):
        where_from = location(input)
        tune_polars(where_from)  # before the run imports Polars
        yield where_from, None, KEYWORDS
        return
    tune_polars(Path(tempfile.gettempdir()))  # a frame is read from a local file
    from signal_job.computing.staging import staging_folder  # noqa: PLC0415
    from signal_job.reading.frames import STAGED_NAME, is_frame, renamed  # noqa: PLC0415

    if not is_frame(input):
        msg = (
            "input must be a path (a file, a glob or a folder), a URL, or a frame (a Polars DataFrame "
            f"or LazyFrame, or a pandas DataFrame), not {type(input).__name__}"
        )
        raise TypeError(msg)
    if not counted_here:
        msg = 'a frame is counted in this process: give it without engine="dask" and without cache'
        raise ValueError(msg)
    with ExitStack() as held:
        try:
            folder: Path | None = held.enter_context(staging_folder())
        except StagingError as exc:  # the run still ends in the error document that says so
            folder, unstaged = None, exc
        if folder is None:
            yield Path(tempfile.gettempdir()) / STAGED_NAME, unstaged, KEYWORDS
            return
        # By its real name: the hashing of the input runs in a child process, where this
        # process's descriptors (the folder's name through one) do not exist.
        staged = folder.resolve() / STAGED_NAME
        yield staged, input, replace(KEYWORDS, renamed=renamed(staged))


def signals(
    input: PathLike | Frame = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    window: int | None = None,
    keep: Iterable[str] | bool = (),
) -> pl.LazyFrame:
    """Every row's signal as a Polars LazyFrame: the rows that `run(..., signals=...)` writes, exact.

    `input` and `config` are `run`'s (a frame too); `window`, if given, replaces the config's.
    The columns are the signals file's: the `group_by` column (with one), `timestamp` (where the
    input has times), `close`, `rolling_mean` and `signal`; then the input columns named in
    `keep` (any case), or with `keep=True` the input's `open`, `high`, `low` and `volume...`
    columns, each read as numbers as close is (Float64; a value that is not a number is null).

    What it costs: one run of the job on this process (the local engine: a Dask run's signals are
    a dataset of parts, so there is no `engine`), its signals written as a Parquet file under
    TMPDIR, read whole into memory and removed. The frame returned holds the rows: collecting it
    reads neither the input nor a file again, and costs the signals' size in memory (about 25
    bytes a row, 8 more for each column kept). Raises the job's errors as `run` does.
    """
    started = time.perf_counter()
    given = _given(_windowed(config, window))
    kept = keep if isinstance(keep, bool) else _kept(keep)
    with _input(input, counted_here=True) as (where_from, frame, spelling):
        import polars as pl  # noqa: PLC0415 - only once a run starts

        from signal_job import job  # noqa: PLC0415
        from signal_job.computing.staging import staging_folder  # noqa: PLC0415

        with staging_folder() as folder:
            written = folder.resolve() / "signals.parquet"  # a real name, as a frame's (see `_input`)
            paths = Paths(
                input=where_from,
                config=Path(config) if given is None and isinstance(config, str | os.PathLike) else None,
                output=None,
                log_file=None,
                signals=written,
            )
            request = job.Request(
                paths, started=started, spelling=spelling, config=given, frame=frame, keep=kept
            )
            outcome = job.execute(request)
            if outcome.error is not None:
                raise outcome.error
            return pl.read_parquet(written).lazy()


def _kept(keep: Iterable[str]) -> tuple[str, ...]:
    """The column names in `keep`, each a string (a lone string is one name, not its letters)."""
    names = (keep,) if isinstance(keep, str) else tuple(keep)
    wrong = next((name for name in names if not isinstance(name, str)), None)
    if wrong is not None:
        msg = f"keep must name columns (strings), or be True or False, not {type(wrong).__name__}"
        raise TypeError(msg)
    return names


def _windowed(config: ConfigSource, window: int | None) -> ConfigSource:
    """`config` with its window replaced by `window` (checked as the config's own), if given."""
    if window is None:
        return config
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:  # as the config's key
        msg = f"window must be an integer of at least 1, not {window!r}"
        raise ValueError(msg)
    given = _given(config)
    if given is None:  # a file's keys, read and checked as a run reads them
        assert isinstance(config, str | os.PathLike)  # noqa: S101 - `_given` says so
        given = RunConfig(Path(config), None).resolve()
    keys = as_mapping(given) if isinstance(given, Config) else dict(given)
    return {**keys, "window": window}


def sweep(
    input: PathLike = "data.csv",
    *,
    windows: str | Sequence[int] | None = None,
    config: ConfigSource = "config.yaml",
    output: PathLike | None = None,
    signals: PathLike | None = None,
    means: bool = False,
    table: PathLike | None = None,
    metrics_file: PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    address: str | None = None,
    workers: int | None = None,
    cache: PathLike | None = None,
    hash_inputs: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str | None = None,
    plot: PathLike | None = None,
) -> SweepResult:
    """Count the signal rate of many windows in one read of `input`, each exactly as `run` counts it.

    `windows`: a list of windows (`[5, 10, 20]`) or their text (`"5,10,20"`, the range
    `"5:200:5"`, its stop included), at most 1,000; None takes the config's `windows` key. With
    `output`, the sweep's document is written there; with `signals`, every row's timestamp, close
    and a signal column per window (`signal_5`, ...), Parquet, and with `means` each window's
    rolling mean (`rolling_mean_5`, ...) too; with `table`, its results as a table (.csv or
    .parquet); with `metrics_file`, a Prometheus textfile, each result labelled by its window;
    with `mlflow`, a tracking URI, a run in `mlflow_experiment` with a child run per window; with
    `cache`, a folder keeping each file's counts per window (a re-run counts only new files and
    windows). `engine="dask"` counts each file on the Dask cluster at `address` (or a local one of
    `workers` processes) for every window, as `run` does (`signals` is then a folder, a part per
    input file, as `run` writes it there). `input`,
    `config` and `hash_inputs` are `run`'s (see docs/sweep.md). With `plot`, a picture of the rate
    and of the rows with a full window against the window (docs/plot.md). Raises the job's errors as `run`
    does, naming these keyword arguments.
    """
    started = time.perf_counter()
    if not isinstance(input, str | os.PathLike):
        msg = f"sweep reads a path (a file, a glob or a folder) or a URL, not {type(input).__name__}"
        raise TypeError(msg)
    _check_needs(engine, workers, address, mlflow, mlflow_experiment)
    given = _given(config)
    paths = Paths(
        input=location(input),
        config=_config_file(config),
        output=_where_to(output),
        log_file=None,
        signals=_where_to(signals),
        metrics_file=_where_to(metrics_file),
        table=_where_to(table),
        plot=_where_to(plot),
    )
    tune_polars(paths.input)  # before the sweep imports Polars
    from signal_job import job, plotting, sweeping  # noqa: PLC0415 - Polars only once a sweep starts
    from signal_job.engines import Where  # noqa: PLC0415

    request = job.Request(
        paths,
        started=started,
        spelling=KEYWORDS,
        config=given,
        where=Where(_engine(engine), address, workers, None if cache is None else Path(cache)),
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
        steps=plotting.pictured(sweeping.steps(windows, means=means), plot, swept=True),
    )
    outcome = job.execute(request)
    if outcome.error is not None:
        raise outcome.error
    document = outcome.document
    return SweepResult(
        rows=document["rows_processed"],
        results=tuple(_window_result(entry) for entry in document["results"]),
        latency_ms=document["latency_ms"],
        version=document["version"],
        seed=document["seed"],
        document=document,
    )


def inspect(
    input: PathLike = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    output: PathLike | None = None,
) -> InspectResult:
    """What the job sees in `input` before any window is chosen, in one read of it (docs/inspect.md).

    The layout read, rows, blank lines, empty closes and closes of 0 or below, the price range,
    the time range, the regular spacing, the gaps and repeated times; per group with the config's
    `group_by`. `input` and `config` are `run`'s; with `output`, the document is written there.
    Raises the job's errors as `run` does.
    """
    started = time.perf_counter()
    if not isinstance(input, str | os.PathLike):
        msg = f"inspect reads a path (a file, a glob or a folder) or a URL, not {type(input).__name__}"
        raise TypeError(msg)
    paths = Paths(input=location(input), config=_config_file(config), output=_where_to(output), log_file=None)
    tune_polars(paths.input)  # before the inspect imports Polars
    from signal_job import inspecting, job  # noqa: PLC0415 - Polars only once an inspect starts

    request = job.Request(
        paths, started=started, spelling=KEYWORDS, config=_given(config), steps=inspecting.steps()
    )
    outcome = job.execute(request)
    if outcome.error is not None:
        raise outcome.error
    return InspectResult.of(outcome.document)


def _window_result(entry: dict[str, Any]) -> WindowResult:
    groups = tuple(
        GroupResult(each["group"], each["rows"], each["signals"], each["value"], each["full_windows"])
        for each in entry.get("groups", [])
    )
    return WindowResult(
        entry["window"], entry["rows"], entry["signals"], entry["value"], entry["full_windows"], groups
    )


def plot(
    input: PathLike,
    output: PathLike = "plot.png",
    *,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    group: str | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Path:
    """Draw `input`, a signals file (a run's or a sweep's) or a sweep's document or table, into `output`.

    `output`'s ending picks PNG (.png), SVG (.svg) or a self-contained HTML page (.html); `width`
    and `height` are in pixels. For a signals file, `start` and `end` (times, ISO 8601 text or
    datetimes, both included) and `group` pick the rows drawn. The picture is written whole or not
    at all, and never over `input`. Needs the plot extra (matplotlib); see docs/plot.md. Returns
    `output`; raises the job's errors (`InputError` for a file that is none of these, an empty
    range or an unknown group; `OutputError`, `ConfigError`, `ClashError`) naming these arguments.
    """
    from signal_job import plotting  # noqa: PLC0415 - Polars only once a picture is drawn

    asked = plotting.Asked(width=width, height=height, start=start, end=end, group=group)
    try:
        plotting.plot(Path(input), Path(output), asked)
    except JobError as exc:
        exc.args = (KEYWORDS(str(exc)), *exc.args[1:])
        raise
    return Path(output)
