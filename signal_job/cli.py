"""The command line: parse arguments, set up logging, turn errors into documents and exit codes."""

from __future__ import annotations

import time

# Latency counts from the command's start, before the heavy imports below.
_STARTED = time.perf_counter()

import contextlib  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Annotated  # noqa: E402

import typer  # noqa: E402

# typer (0.27 and 0.28 alike) carries its own copy of click; its errors and contexts are these.
from signal_job.errors import JobError, Terminated, counted  # noqa: E402
from signal_job.flags import (  # noqa: E402
    FLAGS,
    AddressOption,
    CacheOption,
    ConfigOption,
    EngineName,
    EngineOption,
    ExperimentOption,
    ExplainOption,
    FromOption,
    GroupOption,
    GroupsOption,
    HashOption,
    HeightOption,
    InputOption,
    LogFormatName,
    LogFormatOption,
    LogOption,
    MetricsFileOption,
    MetricsLabelOption,
    MlflowOption,
    OutputOption,
    PlotOption,
    RequiredOption,
    RunCommand,
    RunNameOption,
    SetOption,
    SignalsOption,
    SweepPlotOption,
    TableOption,
    ToOption,
    WidthOption,
    WindowsOption,
    WorkersOption,
    given,
    label_pairs,
    no_stdin_clash,
    no_stdout,
    pair,
    path_option,
    unless_dash,
    unneeded,
)
from signal_job.reading.storage import location  # noqa: E402
from signal_job.reporting.pictures import HEIGHT, WIDTH, too_many_pixels  # noqa: E402
from signal_job.version import __version__  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

    from signal_job.config import Config, Overrides
    from signal_job.engines import Where
    from signal_job.paths import Paths
    from signal_job.reporting.logs import Logs

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


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # SIGTERM last: once it is caught, so is SIGINT


@app.command(cls=RunCommand)
def run(
    input_path: InputOption = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: OutputOption = "metrics.json",
    log_file: LogOption = "run.log",
    signals: SignalsOption = None,
    *,
    ctx: typer.Context,
    engine: EngineOption = EngineName.local,
    address: AddressOption = None,
    workers: WorkersOption = None,
    cache: CacheOption = None,
    metrics_file: MetricsFileOption = None,
    metrics_labels: MetricsLabelOption = None,
    groups: GroupsOption = None,
    log_format: LogFormatOption = LogFormatName.text,
    hash_inputs: HashOption = False,
    mlflow: MlflowOption = None,
    mlflow_experiment: ExperimentOption = None,
    mlflow_run_name: RunNameOption = None,
    mlflow_required: RequiredOption = False,
    explain: ExplainOption = False,
    settings: SetOption = None,
    plot: PlotOption = None,
) -> None:
    """Compute the signal rate of the input and write the metrics document.

    The document goes to the output file and to stdout; logs go to stderr and the log file.
    With --signals, every row's signal also goes to a Parquet file, from the same scan.
    Exit code 0 on success, 1 on any job error, 2 on a usage error, 130 or 143 when stopped
    by SIGINT or SIGTERM. No output is ever written over an input. With --explain, the route
    the run would take is printed instead, and nothing is run.
    """
    ignored = unneeded(ctx)
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    no_stdout(signals=signals, metrics_file=metrics_file, groups=groups, plot=plot)
    no_stdin_clash(input_path, config_path, cache)
    paths = Paths(
        location(input_path),
        config_path,
        unless_dash(output),
        unless_dash(log_file),
        given(signals),
        given(metrics_file),
        given(groups),
        plot=given(plot),
    )
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job, plotting  # noqa: PLC0415 - keeps Polars off `--help` and `generate`
    from signal_job.engines import Where  # noqa: PLC0415

    logs = _console(log_format, "starting")
    for each in ignored:
        log.debug("%s", each)
    overrides = _overrides(settings)
    where = Where("dask" if engine is EngineName.dask else "local", address, workers, cache)
    if explain:
        _explain(paths, where, overrides)
    request = job.Request(
        paths,
        started=_STARTED,
        spelling=FLAGS,
        overrides=overrides,
        where=where,
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment, run_name=mlflow_run_name, required=mlflow_required),
        metrics_labels=dict(label_pairs(metrics_labels)),
        steps=plotting.pictured(job.run_steps, plot),
    )
    hooks = job.Hooks(logs, show=_print, ready=_act_on_stop_signals, before_writing=_stop_taking_signals)
    raise typer.Exit(job.execute(request, hooks).code)


def _console(log_format: LogFormatName, starting: str) -> Logs:
    """The command's logs (and progress bars, where a terminal shows them), its first line said."""
    from signal_job import progress  # noqa: PLC0415 - once a command runs
    from signal_job.reporting.logs import Logs  # noqa: PLC0415

    json_logs = log_format is LogFormatName.json
    logs = Logs("json" if json_logs else "text")
    progress.enable(progress.wanted(json_logs=json_logs))
    log.info("signal-job %s %s", __version__, starting)
    return logs


def _overrides(settings: list[str] | None) -> Overrides:
    """The config keys `--set` gives, logged by name only: a value may be a secret (storage_options)."""
    from signal_job.config import Overrides  # noqa: PLC0415

    overrides = Overrides(tuple(pair(each) for each in settings or ()), named="--set")
    if overrides.pairs:
        log.info("config keys set by --set: %s", ", ".join(dict(overrides.pairs)))
    return overrides


def _explain(
    paths: Paths,
    where: Where,
    overrides: Overrides,
    windows: Callable[[Config], tuple[int, ...]] | None = None,
) -> None:
    """Print the run's route and its queries, and exit 0; a job error prints the error document.

    `windows`, a sweep's, from its config.
    """
    from signal_job import job  # noqa: PLC0415 - as in `run`
    from signal_job.reporting.metrics import error_document, render  # noqa: PLC0415

    try:
        text = job.explain(paths, where=where, overrides=overrides, spelling=FLAGS, windows=windows)
    except JobError as exc:
        log.error("%s", exc)
        _print(render(error_document(version=exc.version, message=str(exc))))
        raise typer.Exit(1) from exc
    typer.echo(text, nl=False)
    raise typer.Exit(0)


@app.command()
def sweep(
    input_path: InputOption = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: Annotated[
        str,
        path_option(
            "--output",
            "-o",
            envvar="SIGNAL_JOB_SWEEP_OUTPUT",  # not run's: a sweep must not replace its document
            help="Where to write the sweep's JSON, a path or an object (s3://...); - for stdout only.",
        ),
    ] = "sweep.json",
    log_file: LogOption = "run.log",
    windows: WindowsOption = None,
    *,
    signals: Annotated[
        str | None,
        path_option(
            "--signals",
            envvar="SIGNAL_JOB_SWEEP_SIGNALS",  # not run's: a run's signals file is another
            help="Also write each row's timestamp, close and a signal column per window (signal_5, ...) "
            "here, from the same scan: Parquet, CSV or Arrow by the name's ending.",
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
    settings: SetOption = None,
    plot: SweepPlotOption = None,
    ctx: typer.Context,
) -> None:
    """Count the signal rate of many windows in one read of the input, each exactly as run counts it.

    The document (run's keys, then a result per window) goes to the output file and to stdout;
    logs go to stderr and the log file. Exit codes as run's. With --engine dask, each file is
    counted on the cluster for every window, then stitched (--signals: a folder, a part per
    file). With --mlflow, a run with a child run per window; with --cache, each file's counts
    kept per window, so a re-run counts only new files and windows (docs/sweep.md).
    """
    ignored = unneeded(ctx)
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    no_stdout(signals=signals, metrics_file=metrics_file, table=table, plot=plot)
    no_stdin_clash(input_path, config_path, cache)
    paths = Paths(
        location(input_path),
        config_path,
        unless_dash(output),
        unless_dash(log_file),
        given(signals),
        given(metrics_file),
        table=given(table),
        plot=given(plot),
    )
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job, plotting, sweeping  # noqa: PLC0415 - keeps Polars off `--help`
    from signal_job.engines import Where  # noqa: PLC0415

    logs = _console(log_format, "starting a sweep")
    for each in ignored:
        log.debug("%s", each)
    overrides = _overrides(settings)
    where = Where("dask" if engine is EngineName.dask else "local", address, workers, cache)
    if explain:
        _explain(paths, where, overrides, windows=lambda config: sweeping.windows_of(config, windows))
    request = job.Request(
        paths,
        started=_STARTED,
        spelling=FLAGS,
        overrides=overrides,
        where=where,
        hashing=hash_inputs,
        tracking=job.tracking(mlflow, mlflow_experiment),
        steps=plotting.pictured(sweeping.steps(windows, means=means), plot, swept=True),
    )
    hooks = job.Hooks(logs, show=_print, ready=_act_on_stop_signals, before_writing=_stop_taking_signals)
    raise typer.Exit(job.execute(request, hooks).code)


@app.command()
def inspect(
    input_path: Annotated[
        str,
        typer.Argument(
            metavar="INPUT",
            envvar="SIGNAL_JOB_INPUT",
            help="Candles, as run's --input: a file, a quoted glob, a folder, s3://...; - for stdin.",
        ),
    ] = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: Annotated[
        str,
        path_option(
            "--output",
            "-o",
            envvar="SIGNAL_JOB_INSPECT_OUTPUT",  # not run's: an inspect must not replace a run's document
            help="Also write the inspect's JSON here, a path or an object (s3://...); - for stdout only.",
        ),
    ] = "-",
    log_file: Annotated[
        str,
        path_option(
            "--log-file", envvar="SIGNAL_JOB_INSPECT_LOG_FILE", help="Log file (appended to); - for none."
        ),
    ] = "-",
    *,
    log_format: LogFormatOption = LogFormatName.text,
    settings: SetOption = None,
) -> None:
    """Show what the job sees in the input before any window is chosen, in one read of it.

    The layout read (delimiter, header, close and time columns), rows, blank lines, empty closes
    and closes of 0 or below, the price range, the time range and order, the regular spacing, the
    gaps and repeated times; per group with the config's group_by. The JSON document goes to
    stdout (and to --output), a short summary to stderr. Exit codes as run's.
    """
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    no_stdin_clash(input_path, config_path, None)
    paths = Paths(location(input_path), config_path, unless_dash(output), unless_dash(log_file))
    tune_polars(paths.input)  # before the inspect imports Polars
    from signal_job import inspecting, job  # noqa: PLC0415 - keeps Polars off `--help`

    logs = _console(log_format, "inspecting")
    request = job.Request(
        paths,
        started=_STARTED,
        spelling=FLAGS,
        overrides=_overrides(settings),
        steps=inspecting.steps(),
    )
    hooks = job.Hooks(logs, show=_print, ready=_act_on_stop_signals, before_writing=_stop_taking_signals)
    raise typer.Exit(job.execute(request, hooks).code)


@app.command()
def plot(
    source: Annotated[
        Path,
        typer.Argument(
            metavar="SOURCE",
            help="A signals file (run's or sweep's --signals), or a sweep's document (.json) or --table.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="The picture: PNG (.png), SVG (.svg) or a page (.html)."),
    ] = Path("plot.png"),
    *,
    start: FromOption = None,
    end: ToOption = None,
    group: GroupOption = None,
    width: WidthOption = WIDTH,
    height: HeightOption = HEIGHT,
    log_format: LogFormatOption = LogFormatName.text,
) -> None:
    r"""Draw a signals file (close, rolling mean, signals) or a sweep (rate against window) as a picture.

    Any length: a signals file is reduced to one point per pixel column in two streaming passes,
    each point keeping its rows' first, last, lowest and highest values. Needs the plot extra
    ('signal-job\[plot]'). Exit 1 with the error document on stdout if it cannot be drawn.
    """
    too_many = too_many_pixels(width, height)
    if too_many is not None:  # before any work, as a side past its bound is
        raise typer.BadParameter(too_many, param_hint="'--width' x '--height'")
    _act_on_stop_signals()  # nothing half-written on a stop: the picture is written whole or not at all
    logs = _console(log_format, "drawing")
    logs.drop_buffer()
    from signal_job import plotting  # noqa: PLC0415 - Polars only once a picture is drawn
    from signal_job.reporting.metrics import error_document, render  # noqa: PLC0415

    asked = plotting.Asked(width=width, height=height, start=start, end=end, group=group)
    try:
        plotting.plot(source, output, asked)
    except JobError as exc:
        message = FLAGS(str(exc))
        log.error("%s", message)
        _print(render(error_document(version=None, message=message)))
        raise typer.Exit(1) from exc
    finally:
        logs.close()


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


def main() -> None:
    """Entry point of the `signal-job` console script: run the app, then exit at once."""
    _take_stop_signals()  # kept from the start: a stop during start-up still ends in the document
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
