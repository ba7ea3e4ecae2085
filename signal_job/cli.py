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
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Annotated  # noqa: E402

import typer  # noqa: E402

# typer (0.27 and 0.28 alike) carries its own copy of click; its errors and contexts are these.
from typer._click import Context, Parameter  # noqa: E402
from typer._click.core import ParameterSource  # noqa: E402
from typer._click.exceptions import NoSuchOption  # noqa: E402
from typer.core import TyperCommand  # noqa: E402

from signal_job.errors import JobError, Terminated, counted  # noqa: E402
from signal_job.options import Option, Spelling  # noqa: E402
from signal_job.reading.storage import Location, location  # noqa: E402
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
            "on a disk or in object storage (s3://bucket/prefix/, gs://, az://, https://); "
            "- reads standard input."
        ),
    ),
]
ConfigOption = Annotated[
    Path,
    _path_option("--config", "-c", envvar="SIGNAL_JOB_CONFIG", help="YAML with seed, window and version."),
]
# Outputs are text, not `Path`: a URL (s3://bucket/key) must reach the job as written.
OutputOption = Annotated[
    str,
    _path_option(
        "--output",
        "-o",
        envvar="SIGNAL_JOB_OUTPUT",
        help="Where to write the metrics JSON, a path or an object (s3://bucket/key.json); "
        "- for stdout only (it always goes to stdout too).",
    ),
]
SignalsOption = Annotated[
    str | None,
    _path_option(
        "--signals",
        envvar="SIGNAL_JOB_SIGNALS",
        help="Also write each row's timestamp, close, rolling mean and signal here, a path or an "
        "object (s3://...): Parquet, CSV or Arrow by the name's ending (.parquet, .csv, .arrow); "
        "with --engine dask, a folder of Parquet parts.",
    ),
]
GroupsOption = Annotated[
    str | None,
    _path_option(
        "--groups",
        envvar="SIGNAL_JOB_GROUPS",
        help="With group_by: also write every group's rows, signals, rate (value), full windows and "
        "missing closes here, as a table (a path or an object): CSV (.csv), Parquet (.parquet) or "
        "Arrow (.arrow), by the name's ending.",
    ),
]
LogOption = Annotated[
    str,
    _path_option(
        "--log-file", envvar="SIGNAL_JOB_LOG_FILE", help="Log file (appended to); - for none (stderr only)."
    ),
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
    str | None,
    _path_option(
        "--metrics-file",
        envvar="SIGNAL_JOB_METRICS_FILE",
        help="Also write the run as a Prometheus textfile here (node-exporter's textfile collector).",
    ),
]


def _label_pairs(texts: list[str] | None) -> list[tuple[str, str]]:
    """`--metrics-label` values (NAME=VALUE) as pairs, checked as Prometheus reads them; else exit 2."""
    if not texts:
        return []
    from signal_job.reporting.prometheus import checked_labels  # noqa: PLC0415 - only when given

    pairs = []
    for text in texts:
        name, equals, value = text.partition("=")
        if not equals:
            msg = f"{text!r} is not NAME=VALUE, e.g. job=nightly"
            raise typer.BadParameter(msg)
        pairs.append((name, value))
    try:
        return list(checked_labels(pairs).items())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _check_labels(texts: list[str] | None) -> list[str] | None:
    _label_pairs(texts)  # a bad one is a usage error, before anything runs
    return texts


MetricsLabelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics-label",
        envvar="SIGNAL_JOB_METRICS_LABELS",
        callback=_check_labels,
        help="With --metrics-file: a label NAME=VALUE on every series (job=nightly), so two jobs on one "
        "node differ; repeat it for more. The variable takes several, separated by spaces.",
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
RunNameOption = Annotated[
    str | None,
    typer.Option(
        "--mlflow-run-name",
        envvar="SIGNAL_JOB_MLFLOW_RUN_NAME",
        help="With --mlflow: the MLflow run's name (default: the config's version and window, v1 window=5).",
    ),
]
RequiredOption = Annotated[
    bool,
    typer.Option(
        "--mlflow-required",
        envvar="SIGNAL_JOB_MLFLOW_REQUIRED",
        help="With --mlflow: a run that cannot be tracked fails (exit 1, the error document); "
        "else that is a warning.",
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
        Option.METRICS_LABEL: "--metrics-label",
        Option.GROUPS: "--groups",
        Option.ENGINE: "--engine",
        Option.ADDRESS: "--address",
        Option.WORKERS: "--workers",
        Option.CACHE: "--cache",
        Option.HASH: "--hash",
        Option.MLFLOW: "--mlflow",
        Option.MLFLOW_EXPERIMENT: "--mlflow-experiment",
        Option.MLFLOW_RUN_NAME: "--mlflow-run-name",
        Option.MLFLOW_REQUIRED: "--mlflow-required",
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


def _settings(values: list[str] | None) -> list[str] | None:
    """Each `--set` as given, once it is KEY=VALUE; else a usage error."""
    for value in values or ():
        key, equals, _ = value.partition("=")
        if not equals or not key:
            msg = f"{value!r} is not KEY=VALUE, e.g. --set window=20"
            raise typer.BadParameter(msg)
    return values


SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        callback=_settings,
        help="Set one config key over the config file's, its value read as YAML reads it (--set window=20, "
        "--set 'version=\"2.0\"'); repeatable, the last one of a key wins.",
    ),
]
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # SIGTERM last: once it is caught, so is SIGINT


class _RunCommand(TyperCommand):
    """`run`, whose parsing errors say what the user most likely meant."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Parse as typer does; paths left over get a hint when a shell made them of a glob."""
        given = list(args)  # the parser consumes `args`
        ctx.allow_extra_args = True  # the strays are said below, in words that fit them
        try:
            rest = super().parse_args(ctx, args)
        except NoSuchOption as exc:
            _config_key_hint(exc, given)
            raise
        if ctx.args:
            ctx.fail(_strays(given, ctx.args, self.params))
        return rest


def _config_key_hint(exc: NoSuchOption, args: list[str]) -> None:
    """Point an unknown option that is a config key (`--window 10`) to `--set`."""
    from signal_job.config import KEYS, OPTIONAL_KEYS  # noqa: PLC0415 - only on this error

    key = exc.option_name.removeprefix("--").replace("-", "_")
    if not exc.option_name.startswith("--") or key not in KEYS + OPTIONAL_KEYS:
        return
    value = "VALUE"
    for index, arg in enumerate(args):
        if arg.startswith(f"{exc.option_name}="):
            value = arg.partition("=")[2]
        elif arg == exc.option_name and index + 1 < len(args) and not args[index + 1].startswith("-"):
            value = args[index + 1]
    exc.message = f"{exc.message}; {key} is a config key: give it as --set {key}={value}"
    exc.possibilities = None


def _strays(args: list[str], strays: list[str], params: list[Parameter]) -> str:
    """What to say of the `strays` that `run` was given outside its options (`args`)."""
    quote = "quote it so the job expands it, e.g. --input 'data/*.csv'"
    paths = _input_paths(args, params)
    if len(paths) > 1 and all(os.path.lexists(path) for path in paths):
        shown = " ".join(paths[:3]) + (" ..." if len(paths) > 3 else "")  # noqa: PLR2004
        return f"--input takes one path, but {len(paths)} came ({shown}): the shell expanded a glob; {quote}"
    if all(os.path.lexists(path) for path in strays):
        shown = " ".join(strays[:3]) + (" ..." if len(strays) > 3 else "")  # noqa: PLR2004
        return f"run takes no paths of its own ({shown}): give the input as --input PATH; for a glob, {quote}"
    return f"Got unexpected extra argument(s) ({' '.join(repr(arg)[1:-1] for arg in strays)})"  # typer's


def _input_paths(args: list[str], params: list[Parameter]) -> list[str]:
    """--input's value and the paths right after it: what a shell makes of `--input data/*.csv`."""
    taking = {name for param in params if _takes_a_value(param) for name in param.opts}
    inputs = {name for param in params if FLAGS.names[Option.INPUT] in param.opts for name in param.opts}
    paths: list[str] = []
    following = False  # the paths seen now come right after --input's value
    index = 0
    while index < len(args):
        arg = args[index]
        joined = arg[:2] in taking and not arg.startswith("--") and len(arg) > 2  # noqa: PLR2004 - -idays/a.csv
        assigned = arg.startswith("--") and arg.partition("=")[0] in taking and "=" in arg
        if arg in taking or joined or assigned:
            name = arg[:2] if joined else arg.partition("=")[0]
            if name in inputs and len(paths) > 1:  # --input again: the paths before it are the problem
                break
            following = name in inputs
            if following:
                paths = [arg[2:] if joined else arg.partition("=")[2] if assigned else args[index + 1]]
            index += 1 if joined or assigned else 2
            continue
        if arg.startswith("-"):
            following = False
        elif following:
            paths.append(arg)
        index += 1
    return paths


def _takes_a_value(param: Parameter) -> bool:
    return param.param_type_name == "option" and not getattr(param, "is_flag", False)


@dataclass(frozen=True)
class Needs:
    """`option` acts only with `other` given (as `value`, if one is named); or, `without`, not given."""

    option: str
    other: str
    value: str | None = None
    without: bool = False
    why: str = ""

    def met(self, values: dict[str, object]) -> bool:
        """Whether the other option is as this option needs it, given each option's value by its flag."""
        other = values[self.other]
        given = bool(other) if self.value is None else str(other) == self.value
        return given != self.without

    def said(self, by: str | None = None) -> str:
        """What is missing, as a usage error says it; `by`, the variable that gave the other option."""
        if self.without:
            said = f"{self.option} does nothing with {self.other}" + (f" (from {by})" if by else "")
        else:
            said = f"{self.option} needs {self.other}" + (f" {self.value}" if self.value else "")
        return said + (f": {self.why}" if self.why else "")


# Options that act only together with another: alone, they would silently do nothing. Given on the
# command line, such an option is a usage error that names what it needs. Set by a variable, it is
# ignored with a DEBUG line in the log: a container's environment (DASK_SCHEDULER_ADDRESS,
# MLFLOW_EXPERIMENT_NAME) serves every run of the image, the local ones and the untracked ones too.
# One entry per option and what it needs (add one for a new option that needs another).
NEEDS = (
    Needs("--workers", "--engine", "dask"),
    Needs("--workers", "--address", without=True, why="a running scheduler has its own workers"),
    Needs("--address", "--engine", "dask"),
    Needs("--mlflow-experiment", "--mlflow"),
    Needs("--mlflow-run-name", "--mlflow"),
    Needs("--mlflow-required", "--mlflow"),
    Needs("--metrics-label", "--metrics-file"),
)


def _unneeded(ctx: Context) -> list[str]:
    """Refuse an option given with nothing to act on (`NEEDS`); say those that variables set, ignored."""
    params = {param.opts[0]: param for param in ctx.command.params if param.opts and param.name}
    values = {flag: ctx.params.get(str(param.name)) for flag, param in params.items()}
    ignored = []
    for need in NEEDS:
        if need.met(values):
            continue
        option, other = params[need.option], params[need.other]
        source = ctx.get_parameter_source(str(option.name))
        if source is ParameterSource.COMMANDLINE:
            by = ctx.get_parameter_source(str(other.name)) is ParameterSource.ENVIRONMENT
            ctx.fail(need.said(getattr(other, "envvar", None) if by else None))
        if source is ParameterSource.ENVIRONMENT:
            ignored.append(f"{getattr(option, 'envvar', None)} is ignored: {need.said()}")
    return ignored


@app.command(cls=_RunCommand)
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
) -> None:
    """Compute the signal rate of the input and write the metrics document.

    The document goes to the output file and to stdout; logs go to stderr and the log file.
    With --signals, every row's signal also goes to a Parquet file, from the same scan.
    Exit code 0 on success, 1 on any job error, 2 on a usage error, 130 or 143 when stopped
    by SIGINT or SIGTERM. No output is ever written over an input. With --explain, the route
    the run would take is printed instead, and nothing is run.
    """
    ignored = _unneeded(ctx)
    _take_stop_signals()
    from signal_job.paths import Paths  # noqa: PLC0415
    from signal_job.tuning import tune_polars  # noqa: PLC0415

    _no_stdout(signals=signals, metrics_file=metrics_file, groups=groups)
    if input_path == "-" and str(config_path) in _STDIN_NAMES:
        msg = "standard input cannot hold both the candles (--input -) and the config; give the config a file"
        raise typer.BadParameter(msg, param_hint="'--config'")
    if input_path == "-" and cache is not None:  # its entries are by file: each run's copy is new
        msg = "keeps each input file's counts by its path, which standard input (--input -) has not"
        raise typer.BadParameter(msg, param_hint="'--cache'")
    paths = Paths(
        location(input_path),
        config_path,
        _unless_dash(output),
        _unless_dash(log_file),
        _given(signals),
        _given(metrics_file),
        _given(groups),
    )
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job  # noqa: PLC0415 - keeps Polars off `--help` and `generate`
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
        metrics_labels=dict(_label_pairs(metrics_labels)),
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

    overrides = Overrides(tuple(_pair(each) for each in settings or ()), named="--set")
    if overrides.pairs:
        log.info("config keys set by --set: %s", ", ".join(dict(overrides.pairs)))
    return overrides


def _pair(setting: str) -> tuple[str, str]:
    key, _, value = setting.partition("=")
    return key, value


_STDIN_NAMES = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def _unless_dash(text: str) -> Location | None:
    """None for `-`: the document on stdout alone (`--output -`), the log on stderr alone (`--log-file -`)."""
    return None if text == "-" else location(text)


def _given(text: str | None) -> Location | None:
    """An output as given: a path, or an object's URL (s3://...); None if not asked for."""
    return None if text is None else location(text)


def _no_stdout(**paths: str | None) -> None:
    """Refuse `-` for an output that stdout cannot carry: stdout carries the metrics document."""
    for name, path in paths.items():
        if path == "-":
            flag = "--" + name.replace("_", "-")
            msg = "- would write to stdout, which carries the metrics document; give a file name"
            raise typer.BadParameter(msg, param_hint=f"'{flag}'")


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
    str | None,
    _path_option(
        "--table",
        envvar="SIGNAL_JOB_TABLE",
        help="Also write the results as a table, a row per window (and group), a path or an object: "
        "CSV (.csv), Parquet (.parquet) or Arrow (.arrow), by the name's ending.",
    ),
]


@app.command()
def sweep(
    input_path: InputOption = "data.csv",
    config_path: ConfigOption = Path("config.yaml"),
    output: Annotated[
        str,
        _path_option(
            "--output",
            "-o",
            envvar="SIGNAL_JOB_OUTPUT",
            help="Where to write the sweep's JSON, a path or an object (s3://...); - for stdout only.",
        ),
    ] = "sweep.json",
    log_file: LogOption = "run.log",
    windows: WindowsOption = None,
    *,
    signals: Annotated[
        str | None,
        _path_option(
            "--signals",
            envvar="SIGNAL_JOB_SIGNALS",
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

    _no_stdout(signals=signals, metrics_file=metrics_file, table=table)
    paths = Paths(
        location(input_path),
        config_path,
        _unless_dash(output),
        _unless_dash(log_file),
        _given(signals),
        _given(metrics_file),
        table=_given(table),
    )
    tune_polars(paths.input)  # before the run imports Polars
    from signal_job import job, sweeping  # noqa: PLC0415 - keeps Polars off `--help`
    from signal_job.engines import Where  # noqa: PLC0415

    logs = _console(log_format, "starting a sweep")
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
