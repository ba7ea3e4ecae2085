"""The command line: parse arguments, set up logging, turn errors into documents and exit codes."""

from __future__ import annotations

import time

# Latency counts from the command's start, before the heavy imports below.
_STARTED = time.perf_counter()

import logging  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Annotated  # noqa: E402

import typer  # noqa: E402

from signal_job import __version__  # noqa: E402
from signal_job.errors import JobError, OutputError  # noqa: E402
from signal_job.metrics import Document, error_document, render, write_atomic  # noqa: E402

log = logging.getLogger("signal_job")

app = typer.Typer(
    help="Turn OHLCV candles into exact trading signals and their rate.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# Schedulers often pass settings in the environment; a flag given on the command line wins.
InputOption = Annotated[
    Path,
    typer.Option(
        "--input",
        "-i",
        envvar="SIGNAL_JOB_INPUT",
        help="Candles: CSV, Parquet or Arrow IPC; a file, a quoted glob ('data/*.csv') or a folder.",
    ),
]
ConfigOption = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="SIGNAL_JOB_CONFIG", help="YAML with seed, window and version."),
]
OutputOption = Annotated[
    Path, typer.Option("--output", "-o", envvar="SIGNAL_JOB_OUTPUT", help="Where to write the metrics JSON.")
]
SignalsOption = Annotated[
    Path | None,
    typer.Option(
        "--signals",
        envvar="SIGNAL_JOB_SIGNALS",
        help="Also write each row's timestamp, close, rolling mean and signal here (Parquet).",
    ),
]
LogOption = Annotated[
    Path, typer.Option("--log-file", envvar="SIGNAL_JOB_LOG_FILE", help="Log file (appended to).")
]


@app.command()
def run(
    input_path: InputOption = Path("data.csv"),
    config_path: ConfigOption = Path("config.yaml"),
    output: OutputOption = Path("metrics.json"),
    log_file: LogOption = Path("run.log"),
    signals: SignalsOption = None,
) -> None:
    """Compute the signal rate of the input and write the metrics document.

    The document goes to the output file and to stdout; logs go to stderr and the log file.
    With --signals, every row's signal also goes to a Parquet file, from the same scan.
    Exit code 0 on success, 1 on any job error, 2 on a usage error.
    """
    # Polars' streaming CSV reader keeps several read-ahead chunks in flight; its default chunk
    # size puts ~400 MiB in flight on a 10M-row file, 8 MiB chunks ~220 MiB at the same speed.
    os.environ.setdefault("POLARS_CSV_CHUNK_SIZE", str(8 << 20))
    # A scheduler's or `docker stop`'s SIGTERM unwinds like an error, so temporary files go too.
    signal.signal(signal.SIGTERM, _terminate)
    log_problem = _configure_logging(log_file)
    log.info("signal-job %s starting", __version__)
    files = {"--input": input_path, "--config": config_path, "--output": output, "--log-file": log_file}
    problem = log_problem or _clash(signals, files)
    document = _job_document(input_path, config_path, signals, own_files=[output, log_file], problem=problem)
    status = _write_and_print(document, output)
    if status != "success" and signals is not None:
        from signal_job import job  # noqa: PLC0415 - keeps Polars off `--help` and `generate`

        job.remove_stale_signals(signals)
    log.info("status: %s", status)
    raise typer.Exit(0 if status == "success" else 1)


def _terminate(number: int, _frame: object) -> None:
    raise SystemExit(128 + number)


def _job_document(
    input_path: Path,
    config_path: Path,
    signals: Path | None,
    *,
    own_files: list[Path],
    problem: OutputError | None,
) -> Document:
    """Run the job; every failure, even a bug, becomes the error document."""
    from signal_job import job  # noqa: PLC0415 - keeps Polars off `--help` and `generate`

    try:
        if problem is not None:
            raise problem
        return job.run(input_path, config_path, started=_STARTED, signals=signals, own_files=own_files)
    except JobError as exc:
        log.error("%s", exc)
        log.debug("traceback", exc_info=True)
        return error_document(version=exc.version, message=str(exc))
    except Exception as exc:  # a bug must still end in the error document, not a traceback
        message = (
            f"unexpected error, please report it: {type(exc).__name__}: {exc} (traceback in {own_files[-1]})"
        )
        log.error("%s", message)
        log.debug("traceback", exc_info=True)
        return error_document(version=None, message=message)


def _clash(signals: Path | None, files: dict[str, Path]) -> OutputError | None:
    """The problem if the signals file would overwrite another file of the run."""
    if signals is None:
        return None
    for option, path in files.items():
        if signals.resolve() == path.resolve():
            return OutputError(f"--signals and {option} name the same file {path}; give each its own")
    return None


def _write_and_print(document: Document, output: Path) -> str:
    """Write the document atomically and print it; return the final status."""
    try:
        data = render(document)
    except TypeError as exc:  # every field is checked before; this is a last line of defence
        log.debug("traceback", exc_info=True)
        document = error_document(version=None, message=f"cannot write the metrics document: {exc}")
        data = render(document)
    try:
        write_atomic(output, data)
    except OutputError as exc:
        log.error("%s", exc)
        if document["status"] == "success":
            document = error_document(version=document["version"], message=str(exc))
            data = render(document)
    else:
        log.info("metrics written to %s", output)
    sys.stdout.buffer.write(data)
    sys.stdout.flush()
    return str(document["status"])


@app.command()
def generate(
    rows: Annotated[int, typer.Option(min=1, help="Number of one-minute candles.")] = 10_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the random generator.")] = 42,
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", help="By ending: .csv, .csv.gz, .csv.zst, .parquet, .arrow, .feather."
        ),
    ] = Path("data.csv"),
) -> None:
    """Write seeded synthetic BTC/USD-like candles, with realistic flat stretches."""
    from signal_job.synthetic import write_candles  # noqa: PLC0415 - numpy only here

    try:
        write_candles(output, rows=rows, seed=seed)
    except JobError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"wrote {rows:,} candles to {output}", err=True)


def _configure_logging(log_file: Path) -> OutputError | None:
    """Log INFO to stderr and DEBUG to the file; return the problem if the file cannot be opened."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.INFO)
    console.setFormatter(formatter)
    log.addHandler(console)
    try:
        # A path that is not UTF-8 (surrogate-escaped) must not break the log.
        file_handler = logging.FileHandler(log_file, encoding="utf-8", errors="backslashreplace")
    except OSError as exc:
        return OutputError(f"cannot write log file {log_file}: {exc.strerror}")
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(formatter)
    log.addHandler(file_handler)
    return None


def main() -> None:
    """Entry point of the `signal-job` console script: run the app, then exit at once."""
    try:
        app()
    except SystemExit as exit_:
        code = exit_.code
    else:
        code = 0
    if isinstance(code, str):
        sys.stderr.write(f"{code}\n")
    # Tearing down an interpreter that holds Polars takes ~40 ms, a fifth of an everyday run;
    # everything is written and flushed here, so skip it (as mypy's hard_exit does).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0 if code is None else 1)
