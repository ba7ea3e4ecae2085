"""One run of the job: config, input, counts (and signals file), the metrics document; each step logged."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from contextlib import nullcontext
from pathlib import Path

import polars as pl

from signal_job import pipeline
from signal_job.config import Config, load_config
from signal_job.errors import JobError, OutputError, first_line
from signal_job.inputs import Input, open_input
from signal_job.metrics import Document, atomic_output, success_document

log = logging.getLogger(__name__)

# Columns that usually name a series; windows over them mix symbols unless grouped.
_SERIES_COLUMNS = ("symbol", "ticker")
# Per-group lines beyond this go to the log file only.
_GROUPS_ON_CONSOLE = 50


def run(
    input_path: Path,
    config_path: Path,
    *,
    started: float,
    signals: Path | None = None,
    own_files: Sequence[Path] = (),
) -> Document:
    """Compute the metrics document; `started` is the `perf_counter()` the latency counts from.

    With `signals`, also write each row's signal there (Parquet). Neither it nor `own_files`
    (the log, say) is read as input from a folder or glob. Raises `JobError`, carrying the
    config's version once the config has been read.
    """
    config = load_config(config_path)
    grouping = f" group_by={config.group_by}" if config.group_by else ""
    log.info(
        "config %s: seed=%d window=%d version=%s%s",
        config_path,
        config.seed,
        config.window,
        config.version,
        grouping,
    )
    try:
        own = [*own_files, *([signals] if signals else [])]
        data = open_input(input_path, timestamps=signals is not None, exclude=own)
        log.info("input %s: %s", input_path, data.describe())
        _warn_of_mixed_series(data, config)
        with (
            atomic_output(signals, what="signals file", example="signals.parquet")
            if signals
            else nullcontext() as temporary
        ):
            try:
                result = pipeline.run(data, config, signals=temporary)
            except pipeline.SignalsNotWritten as exc:
                msg = f"cannot write signals file {signals}: {first_line(exc.error)}"
                raise OutputError(msg) from exc
    except JobError as exc:
        exc.version = config.version
        raise
    _log_result(result, config)
    if signals is not None:
        log.info("signals written to %s", signals)
    latency_ms = round((time.perf_counter() - started) * 1000)
    log.info("latency: %d ms", latency_ms)
    return success_document(
        version=config.version,
        rows=result.total.rows,
        value=result.total.rate,
        latency_ms=latency_ms,
        seed=config.seed,
    )


def _warn_of_mixed_series(data: Input, config: Config) -> None:
    if config.group_by is not None:
        return
    for name in _SERIES_COLUMNS:
        if name in data.column_names():
            log.warning(
                "the input has a %r column but no group_by is configured: windows cross symbols "
                "(set group_by: %s in the config for one series per %s)",
                name,
                name,
                name,
            )


def _log_result(result: pipeline.Result, config: Config) -> None:
    counts = result.total
    for index, (name, group) in enumerate(result.groups):
        level = logging.INFO if index < _GROUPS_ON_CONSOLE else logging.DEBUG
        log.log(
            level,
            "%s=%s: rows %d, signals %d, signal rate %.4f",
            config.group_by,
            "(missing)" if name is None else name,
            group.rows,
            group.signals,
            group.rate,
        )
    if len(result.groups) > _GROUPS_ON_CONSOLE:
        log.info("... %d more groups in the log file", len(result.groups) - _GROUPS_ON_CONSOLE)
    log.info("rows: %d (%d blank lines skipped)", counts.rows, counts.blank_lines)
    log.info("rows with a full window of %d: %d", config.window, counts.full_windows)
    if counts.missing:
        log.warning("missing close values: %d (their windows give no signal)", counts.missing)
    else:
        log.info("missing close values: 0")
    if result.groups:
        log.info("groups: %d", len(result.groups))
    log.info("signals: %d, signal rate: %.4f", counts.signals, counts.rate)


def remove_stale_signals(signals: Path) -> None:
    """Remove an earlier run's signals file after a failed run, so it does not pass for this one's.

    Only a Parquet file with the signals file's columns is removed: never a file that merely
    sits at the path given by mistake.
    """
    try:
        columns = list(pl.read_parquet_schema(signals)) if signals.is_file() else []
        if columns[-3:] == ["close", "rolling_mean", "signal"]:
            signals.unlink()
            log.warning("removed %s, the signals file of an earlier run", signals)
    except (OSError, pl.exceptions.PolarsError) as exc:
        log.debug("left %s in place: %s", signals, exc)
