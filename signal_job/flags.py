"""The command line's options: each flag's spelling, type and checks, and which need another.

cli.py's commands take these; this module holds no command. Flags are spelled here and in cli.py
only: the core names options by `Option`, and `FLAGS` puts them in the command line's words.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer

# typer (0.27 and 0.28 alike) carries its own copy of click; its errors and contexts are these.
from typer._click import Context, Parameter
from typer._click.core import ParameterSource
from typer._click.exceptions import NoSuchOption
from typer.core import TyperCommand

from signal_job.errors import JobError
from signal_job.options import NEEDS, Option, Spelling
from signal_job.reading.storage import Location, location
from signal_job.reporting.pictures import MAX_SIDE


def path_option(*names: str, envvar: str, help: str) -> typer.models.OptionInfo:
    """A path option: its flags, its variable and its help, shown with the variable."""
    # Never check paths here (typer's `readable=True` refuses a write-only log with exit 2):
    # the job checks each one and reports it in the error document.
    option: typer.models.OptionInfo = typer.Option(
        *names, envvar=envvar, help=help, readable=False, writable=False, exists=False
    )
    return option


# Schedulers often pass settings in the environment; a flag given on the command line wins.
InputOption = Annotated[
    str,
    path_option(
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
    path_option("--config", "-c", envvar="SIGNAL_JOB_CONFIG", help="YAML with seed, window and version."),
]
# Outputs are text, not `Path`: a URL (s3://bucket/key) must reach the job as written.
OutputOption = Annotated[
    str,
    path_option(
        "--output",
        "-o",
        envvar="SIGNAL_JOB_OUTPUT",
        help="Where to write the metrics JSON, a path or an object (s3://bucket/key.json); "
        "- for stdout only (it always goes to stdout too).",
    ),
]
SignalsOption = Annotated[
    str | None,
    path_option(
        "--signals",
        envvar="SIGNAL_JOB_SIGNALS",
        help="Also write each row's timestamp, close, rolling mean and signal here, a path or an "
        "object (s3://...): Parquet, CSV or Arrow by the name's ending (.parquet, .csv, .arrow); "
        "with --engine dask, a folder of Parquet parts.",
    ),
]
GroupsOption = Annotated[
    str | None,
    path_option(
        "--groups",
        envvar="SIGNAL_JOB_GROUPS",
        help="With group_by: also write every group's rows, signals, rate (value), full windows and "
        "missing closes here, as a table (a path or an object): CSV (.csv), Parquet (.parquet) or "
        "Arrow (.arrow), by the name's ending.",
    ),
]
LogOption = Annotated[
    str,
    path_option(
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
    path_option(
        "--cache",
        envvar="SIGNAL_JOB_CACHE",
        help="A folder keeping each input file's counts: a re-run over a grown folder reads only new files.",
    ),
]
MetricsFileOption = Annotated[
    str | None,
    path_option(
        "--metrics-file",
        envvar="SIGNAL_JOB_METRICS_FILE",
        help="Also write the run as a Prometheus textfile here (node-exporter's textfile collector).",
    ),
]


def label_pairs(texts: list[str] | None) -> list[tuple[str, str]]:
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


def check_labels(texts: list[str] | None) -> list[str] | None:
    """Check `--metrics-label` as typer parses it: a bad label is a usage error (exit 2)."""
    label_pairs(texts)  # a bad one is a usage error, before anything runs
    return texts


MetricsLabelOption = Annotated[
    list[str] | None,
    typer.Option(
        "--metrics-label",
        envvar="SIGNAL_JOB_METRICS_LABELS",
        callback=check_labels,
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
        Option.PLOT: "--plot",
        Option.FROM: "--from",
        Option.TO: "--to",
        Option.GROUP: "--group",
        Option.WIDTH: "--width",
        Option.HEIGHT: "--height",
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


def settings_given(values: list[str] | None) -> list[str] | None:
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
        callback=settings_given,
        help="Set one config key over the config file's, its value read as YAML reads it (--set window=20, "
        "--set 'version=\"2.0\"'); repeatable, the last one of a key wins.",
    ),
]


class RunCommand(TyperCommand):
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


def unneeded(ctx: Context) -> list[str]:
    """Refuse an option given with nothing to act on (`NEEDS`); say those that variables set, ignored.

    On the command line, such an option is a usage error that names what it needs. Set by a
    variable, it is ignored with a DEBUG line in the log: a container's environment
    (DASK_SCHEDULER_ADDRESS, MLFLOW_EXPERIMENT_NAME) serves every run of the image, the local
    ones and the untracked ones too.
    """
    flags = {flag: option for option, flag in FLAGS.names.items()}
    params = {
        flags[param.opts[0]]: param
        for param in ctx.command.params
        if param.opts and param.name and param.opts[0] in flags
    }
    values = {option: ctx.params.get(str(param.name)) for option, param in params.items()}
    ignored = []
    for need in NEEDS:
        if need.option not in params or need.other not in params or need.met(values):
            continue  # an option this command has not (a sweep's), or its need met
        option, other = params[need.option], params[need.other]
        source = ctx.get_parameter_source(str(option.name))
        if source is ParameterSource.COMMANDLINE:
            by = ctx.get_parameter_source(str(other.name)) is ParameterSource.ENVIRONMENT
            ctx.fail(FLAGS(need.said(getattr(other, "envvar", None) if by else None)))
        if source is ParameterSource.ENVIRONMENT:
            ignored.append(f"{getattr(option, 'envvar', None)} is ignored: {FLAGS(need.said())}")
    return ignored


def no_stdin_clash(input_path: str, config_path: object, cache: object | None) -> None:
    """Refuse what standard input (`--input -`) cannot serve: the config too, or a cache by file."""
    if input_path == "-" and str(config_path) in STDIN_NAMES:
        msg = "standard input cannot hold both the candles (--input -) and the config; give the config a file"
        raise typer.BadParameter(msg, param_hint="'--config'")
    if input_path == "-" and cache is not None:  # its entries are by file: each run's copy is new
        msg = "keeps each input file's counts by its path, which standard input (--input -) has not"
        raise typer.BadParameter(msg, param_hint="'--cache'")


def pair(setting: str) -> tuple[str, str]:
    """A `--set` value (KEY=VALUE, checked as typer parses it) as its key and its value's text."""
    key, _, value = setting.partition("=")
    return key, value


STDIN_NAMES = ("-", "/dev/stdin", "/dev/fd/0", "/proc/self/fd/0")


def unless_dash(text: str) -> Location | None:
    """None for `-`: the document on stdout alone (`--output -`), the log on stderr alone (`--log-file -`)."""
    return None if text == "-" else location(text)


def given(text: str | None) -> Location | None:
    """An output as given: a path, or an object's URL (s3://...); None if not asked for."""
    return None if text is None else location(text)


def no_stdout(**paths: str | None) -> None:
    """Refuse `-` for an output that stdout cannot carry: stdout carries the metrics document."""
    for name, path in paths.items():
        if path == "-":
            flag = "--" + name.replace("_", "-")
            msg = "- would write to stdout, which carries the metrics document; give a file name"
            raise typer.BadParameter(msg, param_hint=f"'{flag}'")


def windows_given(text: str | None) -> str | None:
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
        callback=windows_given,
        help="The windows to sweep, e.g. 5,10,20,50 or the range 5:200:5 (the stop included); "
        "at most 1,000. Default: the config's windows key.",
    ),
]
TableOption = Annotated[
    str | None,
    path_option(
        "--table",
        envvar="SIGNAL_JOB_TABLE",
        help="Also write the results as a table, a row per window (and group), a path or an object: "
        "CSV (.csv), Parquet (.parquet) or Arrow (.arrow), by the name's ending.",
    ),
]


def time_given(text: str | None) -> str | None:
    """Check `--from` and `--to` as typer parses them: a time that cannot be read is a usage error."""
    if text is not None:
        from datetime import datetime  # noqa: PLC0415

        try:
            datetime.fromisoformat(text)
        except ValueError:
            msg = f"{text!r} is not a time: give one such as 2024-01-01 or 2024-01-01T09:30"
            raise typer.BadParameter(msg) from None
    return text


PlotOption = Annotated[
    str | None,
    path_option(
        "--plot",
        envvar="SIGNAL_JOB_PLOT",
        help="Also draw the run's picture here, from what it computed: PNG (.png), SVG (.svg) or a "
        "self-contained page (.html), by the name's ending; 'signal-job\\[plot]' (docs/plot.md).",
    ),
]
SweepPlotOption = Annotated[
    str | None,
    path_option(
        "--plot",
        envvar="SIGNAL_JOB_SWEEP_PLOT",  # not run's: a sweep must not draw over a run's picture
        help="Also draw the sweep's picture here, its rate against the window: PNG (.png), SVG (.svg) "
        "or a self-contained page (.html), by the name's ending; 'signal-job\\[plot]' (docs/plot.md).",
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", callback=time_given, help="Draw the rows from this time on (2024-01-01T09:30)."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", callback=time_given, help="Draw the rows up to this time (included)."),
]
GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="Draw only this group (a value of the config's group_by)."),
]
WidthOption = Annotated[
    int,
    typer.Option(
        "--width", min=1, max=MAX_SIDE, help="The picture's width in pixels (width x height: 2**26 at most)."
    ),
]
HeightOption = Annotated[
    int, typer.Option("--height", min=1, max=MAX_SIDE, help="The picture's height in pixels.")
]
