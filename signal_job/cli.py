"""The command line: parse arguments, set up logging, turn errors into documents and exit codes."""

from __future__ import annotations

import time

# Latency counts from the command's start, before the heavy imports below.
_STARTED = time.perf_counter()

import contextlib  # noqa: E402
import enum  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Annotated  # noqa: E402

import typer  # noqa: E402

from signal_job.errors import JobError, Terminated, counted  # noqa: E402
from signal_job.options import Option, Spelling  # noqa: E402
from signal_job.reading.storage import location  # noqa: E402
from signal_job.version import __version__  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from signal_job.config import Config
    from signal_job.engines import Where
    from signal_job.paths import Paths

log = logging.getLogger("signal_job")

app = typer.Typer(
    help=f"signal-job {__version__}: turn OHLCV candles into exact trading signals and their rate.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"signal-job {__version__}")
        raise typer.Exit


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit."),
    ] = False,
) -> None:
    """Options before the command."""


def _path_option(*names: str, envvar: str, help: str) -> typer.models.OptionInfo:
    # Never check paths here (typer's `readable=True` refuses a write-only log with exit 2):
    # the job checks each one and reports it in the error document.
    option: typer.models.OptionInfo = typer.Option(
        *names, envvar=envvar, help=help, readable=False, writable=False, exists=False
    )
    return option


# Schedulers often pass settings in the environment; a flag given on the command line wins.
InputOption = Annotated[
    str,
    _path_option(
        "--input",
        "-i",
        envvar="SIGNAL_JOB_INPUT",
        help=(
            "Candles: CSV, Parquet or Arrow IPC; a file, a quoted glob ('data/*.csv') or a folder, "
            "on a disk or in object storage (s3://bucket/prefix/, gs://, az://, https://)."
        ),
    ),
]
ConfigOption = Annotated[
    Path,
    _path_option("--config", "-c", envvar="SIGNAL_JOB_CONFIG", help="YAML with seed, window and version."),
]
OutputOption = Annotated[
    Path, _path_option("--output", "-o", envvar="SIGNAL_JOB_OUTPUT", help="Where to write the metrics JSON.")
]
SignalsOption = Annotated[
    Path | None,
    _path_option(
        "--signals",
        envvar="SIGNAL_JOB_SIGNALS",
        help="Also write each row's timestamp, close, rolling mean and signal here (Parquet; "
        "with --engine dask, a folder of Parquet parts).",
    ),
]
GroupsOption = Annotated[
    Path | None,
    _path_option(
        "--groups",
        envvar="SIGNAL_JOB_GROUPS",
        help="With group_by: also write every group's rows, signals, rate (value), full windows and "
        "missing closes here, as a table: CSV (.csv) or Parquet (.parquet), by the name's ending.",
    ),
]
LogOption = Annotated[
    Path, _path_option("--log-file", envvar="SIGNAL_JOB_LOG_FILE", help="Log file (appended to).")
]


class EngineName(enum.StrEnum):
    """Where the counting runs."""

    local = "local"
    dask = "dask"


class LogFormatName(enum.StrEnum):
    """How log records are written."""

    text = "text"
    json = "json"


LogFormatOption = Annotated[
    LogFormatName,
    typer.Option(
        "--log-format",
        envvar="SIGNAL_JOB_LOG_FORMAT",
        help="text, or json: one JSON object per line on the console and in the log file.",
    ),
]
HashOption = Annotated[
    bool,
    typer.Option(
        "--hash",
        envvar="SIGNAL_JOB_HASH",
        help="Also hash every input byte (XXH3-128) into the document's input fingerprint.",
    ),
]
EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        envvar="SIGNAL_JOB_ENGINE",
        help="local (this process), or dask (files counted on a Dask cluster; 'signal-job\\[dask]').",
    ),
]
AddressOption = Annotated[
    str | None,
    typer.Option(
        "--address",
        envvar="DASK_SCHEDULER_ADDRESS",
        help="With --engine dask: a running scheduler (tcp://host:8786); else a local cluster starts.",
    ),
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers", min=1, help="With --engine dask and no --address: worker processes (default 2)."
    ),
]
CacheOption = Annotated[
    Path | None,
    _path_option(
        "--cache",
        envvar="SIGNAL_JOB_CACHE",
        help="A folder keeping each input file's counts: a re-run over a grown folder reads only new files.",
    ),
]
MetricsFileOption = Annotated[
    Path | None,
    _path_option(
        "--metrics-file",
        envvar="SIGNAL_JOB_METRICS_FILE",
        help="Also write the run as a Prometheus textfile here (node-exporter's textfile collector).",
    ),
]
MlflowOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow",
        envvar="MLFLOW_TRACKING_URI",
        help="Log the run to MLflow at this tracking URI (sqlite:///mlflow.db, http://host:5000); "
        "'signal-job\\[mlflow]'.",
    ),
]
ExperimentOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow-experiment",
        envvar="MLFLOW_EXPERIMENT_NAME",
        help="With --mlflow: the experiment (default signal-job).",
    ),
]
# The options the job's messages name, as this command line spells them: its flags.
FLAGS = Spelling(
    {
        Option.INPUT: "--input",
        Option.CONFIG: "--config",
        Option.OUTPUT: "--output",
        Option.LOG_FILE: "--log-file",
        Option.SIGNALS: "--signals",
        Option.METRICS_FILE: "--metrics-file",
        Option.GROUPS: "--groups",
        Option.ENGINE: "--engine",
        Option.ADDRESS: "--address",
        Option.WORKERS: "--workers",
        Option.CACHE: "--cache",
        Option.HASH: "--hash",
        Option.MLFLOW: "--mlflow",
        Option.MLFLOW_EXPERIMENT: "--mlflow-experiment",
        Option.FORCE: "--force",
        Option.WINDOWS: "--windows",
        Option.TABLE: "--table",
        Option.MEANS: "--means",
    },
    valued="{name} {value}",
)
ExplainOption = Annotated[
    bool,
    typer.Option(
        "--explain",
        help="Print how the run would go (its route, with reasons, and the Polars queries) and exit; "
        "nothing is run or written.",
    ),
]
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # SIGTERM last: once it is caught, so is SIGINT


@app.command()
def run(
    input_path: InputOption = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: OutputOption = Path("metrics.json"),
    log_file: LogOption = Path("run.log"),
    signals: SignalsOption = None,
    *,
    engine: EngineOption = EngineName.local,
    address: AddressOption = None,
    workers: WorkersOption = None,
    cache: CacheOption = None,
    metrics_file: MetricsFileOption = None,
    groups: GroupsOption = None,
    log_format: LogFormatOption = LogFormatName.text,
    hash_inputs: HashOption = False,
    mlflow: MlflowOption = None,
    mlflow_experiment: ExperimentOption = None,
    explain: ExplainOption = False,
) -> None:
    """Compute the signal rate of the input and write the metrics document.

    The document goes to the output file and to stdout; logs go to stderr and the log file.
    With --signals, every row's signal also goes to a Parquet file, from the same scan.
    Exit code 0 on success, 1 on any job error, 2 on a usage error, 130 or 143 when stopped
    by SIGINT or SIGTERM. No output is ever written over an input. With --explain, the route
    the run would take is printed instead, and nothing is run.
    """
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    paths = Paths(location(input_path), config_path, output, log_file, signals, metrics_file, groups)
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job, progress  # noqa: PLC0415 - keeps Polars off `--help` and `generate`
    from signal_job.engines import Where  # noqa: PLC0415
    from signal_job.reporting.logs import Logs  # noqa: PLC0415

    logs = Logs("json" if log_format is LogFormatName.json else "text")
    progress.enable(progress.wanted(json_logs=log_format is LogFormatName.json))
    log.info("signal-job %s starting", __version__)
    where = Where("dask" if engine is EngineName.dask else "local", address, workers, cache)
    if explain:
        _explain(paths, where)
    request = job.Request(
        paths,
        started=_STARTED,
        spelling=FLAGS,
        where=where,
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
    )
    hooks = job.Hooks(logs, show=_print, ready=_act_on_stop_signals, before_writing=_stop_taking_signals)
    raise typer.Exit(job.execute(request, hooks).code)


def _explain(paths: Paths, where: Where, windows: Callable[[Config], tuple[int, ...]] | None = None) -> None:
    """Print the run's route and its queries, and exit 0; a job error prints the error document.

    `windows`, a sweep's, from its config.
    """
    from signal_job import job  # noqa: PLC0415 - as in `run`
    from signal_job.reporting.metrics import error_document, render  # noqa: PLC0415

    try:
        text = job.explain(paths, where=where, spelling=FLAGS, windows=windows)
    except JobError as exc:
        log.error("%s", exc)
        _print(render(error_document(version=exc.version, message=str(exc))))
        raise typer.Exit(1) from exc
    typer.echo(text, nl=False)
    raise typer.Exit(0)


def _windows(text: str | None) -> str | None:
    """Check `--windows` as typer parses it: a bad list is a usage error (exit 2), as a bad number is."""
    if text is not None:
        from signal_job.windows import parse_windows  # noqa: PLC0415 - as the job's imports, when used

        try:
            parse_windows(text, what="the list")
        except JobError as exc:
            raise typer.BadParameter(str(exc)) from exc
    return text


WindowsOption = Annotated[
    str | None,
    typer.Option(
        "--windows",
        callback=_windows,
        help="The windows to sweep, e.g. 5,10,20,50 or the range 5:200:5 (the stop included); "
        "at most 1,000. Default: the config's windows key.",
    ),
]
TableOption = Annotated[
    Path | None,
    _path_option(
        "--table",
        envvar="SIGNAL_JOB_TABLE",
        help="Also write the results as a table, a row per window (and group): CSV (.csv) or Parquet "
        "(.parquet), by the name's ending.",
    ),
]


@app.command()
def sweep(
    input_path: InputOption = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: Annotated[
        Path,
        _path_option("--output", "-o", envvar="SIGNAL_JOB_OUTPUT", help="Where to write the sweep's JSON."),
    ] = Path("sweep.json"),
    log_file: LogOption = Path("run.log"),
    windows: WindowsOption = None,
    *,
    signals: Annotated[
        Path | None,
        _path_option(
            "--signals",
            envvar="SIGNAL_JOB_SIGNALS",
            help="Also write each row's timestamp, close and a signal column per window (signal_5, ...) "
            "here, as Parquet, from the same scan.",
        ),
    ] = None,
    means: Annotated[
        bool,
        typer.Option("--means", help="With --signals: each window's rolling mean too (rolling_mean_5, ...)."),
    ] = False,
    table: TableOption = None,
    engine: EngineOption = EngineName.local,
    address: AddressOption = None,
    workers: WorkersOption = None,
    cache: CacheOption = None,
    metrics_file: MetricsFileOption = None,
    log_format: LogFormatOption = LogFormatName.text,
    hash_inputs: HashOption = False,
    mlflow: MlflowOption = None,
    mlflow_experiment: ExperimentOption = None,
    explain: ExplainOption = False,
) -> None:
    """Count the signal rate of many windows in one read of the input, each exactly as run counts it.

    The document (run's keys, then a result per window) goes to the output file and to stdout;
    logs go to stderr and the log file. Exit codes as run's. With --engine dask, each file is
    counted on the cluster for every window, then stitched (no --signals there yet). With --mlflow,
    a run with a child run per window; with --cache, each file's counts kept per window, so a
    re-run counts only new files and windows (docs/sweep.md).
    """
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    paths = Paths(location(input_path), config_path, output, log_file, signals, metrics_file, table=table)
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job, progress, sweeping  # noqa: PLC0415 - keeps Polars off `--help`
    from signal_job.engines import Where  # noqa: PLC0415
    from signal_job.reporting.logs import Logs  # noqa: PLC0415

    logs = Logs("json" if log_format is LogFormatName.json else "text")
    progress.enable(progress.wanted(json_logs=log_format is LogFormatName.json))
    log.info("signal-job %s starting a sweep", __version__)
    where = Where("dask" if engine is EngineName.dask else "local", address, workers, cache)
    if explain:
        _explain(paths, where, windows=lambda config: sweeping.windows_of(config, windows))
    request = job.Request(
        paths,
        started=_STARTED,
        spelling=FLAGS,
        where=where,
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
        steps=sweeping.steps(windows, means=means),
    )
    hooks = job.Hooks(logs, show=_print, ready=_act_on_stop_signals, before_writing=_stop_taking_signals)
    raise typer.Exit(job.execute(request, hooks).code)


# A scheduler's SIGTERM (or Ctrl-C) unwinds like an error: temporary files go, the error
# document replaces any older success, and the exit code says which signal it was. Until the
# run's paths are checked, no document can be written safely: a stop is kept until then (a
# second one stops at once, with no document, as when the job could not start).
_early_stops: list[int] = []
_acting_on_stops = False


def _take_stop_signals() -> None:
    for number in _STOP_SIGNALS:
        signal.signal(number, _stop)


def _act_on_stop_signals() -> None:
    """From here on a stop signal stops the run at once; one that came earlier, now."""
    global _acting_on_stops  # noqa: PLW0603 - the signal handler's one piece of state
    _acting_on_stops = True
    if _early_stops:
        _stop(_early_stops[0], None)


def _stop(number: int, _frame: object) -> None:
    if not _acting_on_stops and not _early_stops:  # a second stop does not wait (a slow folder)
        _early_stops.append(number)
        return
    _stop_taking_signals()  # once: the unwinding must not be interrupted again
    raise Terminated(number, signal.Signals(number).name)


def _stop_taking_signals() -> None:
    """From here on a stop signal is ignored: the run is over, or unwinding, and must finish writing."""
    for number in _STOP_SIGNALS:
        signal.signal(number, signal.SIG_IGN)


def _print(data: bytes) -> bool:
    """Print the document; False if stdout is there but cannot take it (a full disk, a closed pipe)."""
    if sys.stdout is None:  # started with stdout closed: nobody to print to
        return True
    try:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        log.error("the metrics document could not be printed to stdout: %s", exc)
        return False
    return True


@app.command()
def generate(
    rows: Annotated[int, typer.Option(min=1, help="Number of one-minute candles.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random generator.")] = 42,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="By ending: .csv, .csv.gz, .csv.zst, .parquet, .arrow, .feather."
        ),
    ] = Path("candles.csv"),
    force: Annotated[bool, typer.Option("--force", help="Replace the output if it exists.")] = False,
) -> None:
    """Write seeded synthetic BTC/USD-like candles, with realistic flat stretches."""
    _act_on_stop_signals()  # nothing to write on a stop: the file is left half written
    from signal_job import progress  # noqa: PLC0415
    from signal_job.synthetic import write_candles  # noqa: PLC0415 - numpy only here

    progress.enable(progress.wanted(json_logs=False))
    try:
        with progress.steps(f"generating {output}", rows, unit="rows") as advance:
            write_candles(output, rows=rows, seed=seed, force=force, progress=advance)
    except JobError as exc:
        typer.echo(f"error: {FLAGS(str(exc))}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {counted(rows, 'candle')} to {output}", err=True)


# `run`'s options that take a value, so that a value is never taken for a stray path.
_VALUE_OPTIONS = frozenset(
    {
        "--input",
        "-i",
        "--config",
        "-c",
        "--output",
        "-o",
        "--log-file",
        "--signals",
        "--metrics-file",
        "--groups",
        "--log-format",
        "--engine",
        "--address",
        "--workers",
        "--cache",
        "--mlflow",
        "--mlflow-experiment",
    }
)
_SHORT = ("-i", "-c", "-o")  # also written with their value joined: -idays/a.csv


def _expanded_glob(args: list[str]) -> str | None:
    """The hint for paths that a shell made of an unquoted glob, or gave without --input."""
    if not args or args[0] != "run" or "--help" in args:
        return None
    paths: list[str] = []  # --input's value and the stray paths right after it
    strays: list[str] = []  # paths that follow no option
    taking = False  # the paths seen now belong to --input
    index = 1
    while index < len(args):
        arg = args[index]
        joined = arg[:2] in _SHORT and arg[2:3] not in ("", "-")
        if arg in _VALUE_OPTIONS or joined:
            taking = arg == "--input" or arg.startswith("-i")
            if taking and len(paths) > 1:  # a later --input: the paths before it are the problem
                break
            if taking:
                paths = [arg[2:]] if joined else args[index + 1 : index + 2]
            index += 1 if joined else 2
            continue
        if arg.startswith("--input="):
            paths, taking = [arg.removeprefix("--input=")], True
        elif arg.startswith("-"):
            taking = False
        else:
            (paths if taking else strays).append(arg)
        index += 1
    quote = "quote it so the job expands it, e.g. --input 'data/*.csv'"
    if len(paths) > 1:
        shown = " ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")  # noqa: PLR2004
        return f"--input takes one path, but {len(paths)} came ({shown}): the shell expanded a glob; {quote}"
    if strays:
        shown = " ".join(strays[:3]) + (" ..." if len(strays) > 3 else "")  # noqa: PLR2004
        return f"run takes no paths of its own ({shown}): give the input as --input PATH; for a glob, {quote}"
    return None


def main() -> None:
    """Entry point of the `signal-job` console script: run the app, then exit at once."""
    _take_stop_signals()  # kept from the start: a stop during start-up still ends in the document
    hint = _expanded_glob(sys.argv[1:])
    if hint is not None:  # typer would only say "Got unexpected extra argument"
        sys.stderr.write(f"Usage: signal-job run [OPTIONS]\nError: {hint}\n")
        sys.stderr.flush()
        os._exit(2)
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    except Terminated as exc:  # stopped before the run could write its error document
        code = 128 + exc.number
    else:
        code = 0
    if _early_stops and not _acting_on_stops:  # stopped while showing help or the version
        code = 128 + _early_stops[0]
    if isinstance(code, str):
        sys.stderr.write(f"{code}\n")
    # Tearing down an interpreter that holds Polars takes ~40 ms, a fifth of an everyday run;
    # everything is written and flushed here, so skip it (as mypy's hard_exit does).
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):  # closed, or already reported
            stream.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
