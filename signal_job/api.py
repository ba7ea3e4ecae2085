"""The job from Python, for schedulers (Airflow, Dagster, Prefect) and notebooks.

`run` is the command line's own path (`signal_job.job.execute`) without the console: the same
checks, the same documents written the same way, the same messages (naming `run`'s keyword
arguments where the command line's name its flags), raised as the job's exceptions. It logs
through the standard `logging` module under the `signal_job` logger and configures nothing
global: no handlers, no levels, no signal handlers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from signal_job.config import Config
from signal_job.options import Option, Spelling
from signal_job.paths import Paths
from signal_job.reading.storage import location
from signal_job.tuning import tune_polars

ConfigSource = str | os.PathLike[str] | Mapping[str, Any] | Config
PathLike = str | os.PathLike[str]

# The options the job's messages name, as a Python caller gives them: `run`'s keyword arguments.
KEYWORDS = Spelling(
    {
        Option.INPUT: "input",
        Option.CONFIG: "config",
        Option.OUTPUT: "output",
        Option.LOG_FILE: "log_file",  # never named: a run from Python has no log file
        Option.SIGNALS: "signals",
        Option.METRICS_FILE: "metrics_file",
        Option.GROUPS: "groups",
        Option.ENGINE: "engine",
        Option.ADDRESS: "address",
        Option.WORKERS: "workers",
        Option.CACHE: "cache",
        Option.HASH: "hash_inputs",
        Option.MLFLOW: "mlflow",
        Option.MLFLOW_EXPERIMENT: "mlflow_experiment",
        Option.FORCE: "force",  # never named: `signal_job.synthetic.write_candles`'s, not `run`'s
        Option.WINDOWS: "windows",  # `sweep`'s
        Option.TABLE: "table",  # `sweep`'s
        Option.MEANS: "means",  # `sweep`'s
    },
    valued='{name}="{value}"',
)


@dataclass(frozen=True)
class RunResult:
    """A successful run: its counts and the metrics document the command line writes."""

    rows: int  # rows_processed
    signals: int  # rows whose close is above the rolling mean
    rate: float  # the signal rate, rounded half-to-even to 4 decimals: the document's value
    latency_ms: int
    version: str
    seed: int
    document: dict[str, Any]  # the metrics document, keys in their documented order


def explain(
    input: PathLike = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    signals: PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    cache: PathLike | None = None,
) -> str:
    """How `run` with these arguments would go, without running it: the explain text of the command line.

    That is its route, with the reason for each choice, and the Polars queries it starts with.
    Nothing is written. Raises the job's errors as `run` does.
    """
    given = _given(config)
    paths = Paths(
        input=location(input),
        config=Path(config) if isinstance(config, str | os.PathLike) else None,
        output=None,
        log_file=None,
        signals=None if signals is None else Path(signals),
    )
    tune_polars(paths.input)  # as a run would be
    from signal_job import job  # noqa: PLC0415 - Polars only once a run starts
    from signal_job.engines import Where  # noqa: PLC0415

    where = Where(_engine(engine), cache=None if cache is None else Path(cache))
    return job.explain(paths, config=given, where=where, spelling=KEYWORDS)


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


def run(
    input: PathLike = "data.csv",
    *,
    config: ConfigSource = "config.yaml",
    output: PathLike | None = None,
    signals: PathLike | None = None,
    engine: Literal["local", "dask"] = "local",
    address: str | None = None,
    workers: int | None = None,
    cache: PathLike | None = None,
    metrics_file: PathLike | None = None,
    groups: PathLike | None = None,
    hash_inputs: bool = False,
    mlflow: str | None = None,
    mlflow_experiment: str | None = None,
) -> RunResult:
    """Run the job on `input` (a file, a glob or a folder, or an s3://... URL) and return its result.

    `config` is a YAML file's path, a mapping of the same keys, or a `Config`. With `output`,
    the metrics document is written there (a failed run writes the error document, replacing
    an older success, as the command line does); with `signals`, every row's signal is written
    there (Parquet; with `engine="dask"` a folder of parts, a dataset). No output may be a file the
    run reads. `engine="dask"` counts the files on the Dask cluster at `address`, or on a local
    one of `workers` processes; `cache`, a folder, keeps each file's counts so that a re-run
    reads only new files (see docs/cluster.md); `metrics_file`, a Prometheus textfile of the run;
    `groups`, with a config's `group_by`, a table of every group's counts (.csv or .parquet);
    `hash_inputs` hashes every input byte into the document's `inputs` fingerprint (see
    docs/operations.md). With `mlflow`, a tracking URI, the run is logged to MLflow in the
    experiment `mlflow_experiment` (default "signal-job"); a tracking failure is a logged warning.

    Raises the job's `JobError` subclasses (`ConfigError`, `InputError`, `OutputError`,
    `EngineError`, `ClashError`, `StagingError`) with the messages the command line puts in its
    error document, naming these keyword arguments where it names its flags; `exc.version` is the
    config's version once known.
    """
    started = time.perf_counter()
    given = _given(config)
    engine = _engine(engine)
    paths = Paths(
        input=location(input),
        config=Path(config) if isinstance(config, str | os.PathLike) else None,
        output=None if output is None else Path(output),
        log_file=None,
        signals=None if signals is None else Path(signals),
        metrics_file=None if metrics_file is None else Path(metrics_file),
        groups=None if groups is None else Path(groups),
    )
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job  # noqa: PLC0415 - Polars only once a run starts
    from signal_job.engines import Where  # noqa: PLC0415

    where = Where(engine, address, workers, None if cache is None else Path(cache))
    request = job.Request(
        paths,
        started=started,
        spelling=KEYWORDS,
        config=given,
        where=where,
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
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
    )


@dataclass(frozen=True)
class GroupResult:
    """One group's figures for one window of a sweep."""

    group: str | None  # None: the rows with no group value
    rows: int
    signals: int
    rate: float  # rounded as a run's document rounds it
    full_windows: int


@dataclass(frozen=True)
class WindowResult:
    """One window's figures in a sweep: exactly what `run` with that window gives."""

    window: int
    rows: int
    signals: int
    rate: float  # the signal rate, rounded half-to-even to 4 decimals: the entry's value
    full_windows: int  # rows with a full window
    groups: tuple[GroupResult, ...] = ()  # with a config's group_by, in order of first appearance


@dataclass(frozen=True)
class SweepResult:
    """A successful sweep: a result per window, in the order asked, and the document."""

    rows: int  # rows_processed
    results: tuple[WindowResult, ...]
    latency_ms: int
    version: str
    seed: int
    document: dict[str, Any]  # the sweep's document, keys in their documented order

    def result(self, window: int) -> WindowResult:
        """The result of `window`; `KeyError` if it was not swept."""
        for each in self.results:
            if each.window == window:
                return each
        raise KeyError(window)


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
    `workers` processes) for every window, as `run` does (no `signals` there yet). `input`,
    `config` and `hash_inputs` are `run`'s (see docs/sweep.md). Raises the job's errors as `run`
    does, naming these keyword arguments.
    """
    started = time.perf_counter()
    given = _given(config)
    paths = Paths(
        input=location(input),
        config=Path(config) if isinstance(config, str | os.PathLike) else None,
        output=None if output is None else Path(output),
        log_file=None,
        signals=None if signals is None else Path(signals),
        metrics_file=None if metrics_file is None else Path(metrics_file),
        table=None if table is None else Path(table),
    )
    tune_polars(paths.input)  # before the sweep imports Polars
    from signal_job import job, sweeping  # noqa: PLC0415 - Polars only once a sweep starts
    from signal_job.engines import Where  # noqa: PLC0415

    request = job.Request(
        paths,
        started=started,
        spelling=KEYWORDS,
        config=given,
        where=Where(_engine(engine), address, workers, None if cache is None else Path(cache)),
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
        steps=sweeping.steps(windows, means=means),
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


def _window_result(entry: dict[str, Any]) -> WindowResult:
    groups = tuple(
        GroupResult(each["group"], each["rows"], each["signals"], each["value"], each["full_windows"])
        for each in entry.get("groups", [])
    )
    return WindowResult(
        entry["window"], entry["rows"], entry["signals"], entry["value"], entry["full_windows"], groups
    )
