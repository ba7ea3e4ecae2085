"""One run of the job: its paths checked, then config, input, counts (and signals file), the document.

`prepare` looks at every path before anything is written: the outputs (links followed) and
every file the input and config name, so that no output ever overwrites an input. `run` then
computes the metrics document, logging each step.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from signal_job.computing import pipeline
from signal_job.config import Config, load_config
from signal_job.errors import InputError, JobError, OutputError, first_line
from signal_job.reading.files import Found, Identity, find_files, identity
from signal_job.reading.inputs import Input, open_input
from signal_job.reporting.metrics import Document, success_document
from signal_job.reporting.outputs import Target, atomic, check_clashes, target

log = logging.getLogger(__name__)

# Columns that usually name a series; windows over them mix symbols unless grouped.
_SERIES_COLUMNS = ("symbol", "ticker")
# Per-group lines beyond this go to the log file only.
_GROUPS_ON_CONSOLE = 50


@dataclass(frozen=True)
class Paths:
    """What one run reads and writes, as given."""

    input: Path  # a file, a glob or a folder
    config: Path
    output: Path
    log_file: Path
    signals: Path | None = None

    def outputs(self) -> dict[str, Path]:
        """Each output path by the option that names it."""
        named = {"--output": self.output, "--log-file": self.log_file}
        return named | ({"--signals": self.signals} if self.signals else {})


@dataclass(frozen=True)
class Prepared:
    """The run's paths, checked: outputs resolved, input files found, none of them the same."""

    paths: Paths
    outputs: dict[str, Target]  # by option, the outputs that can be written
    unusable: dict[str, OutputError]  # by option, outputs that never can be (a folder, a socket)
    found: Found | None  # the input's files, or
    input_problem: InputError | None  # why they could not be found (reported once the config is read)


@dataclass(frozen=True)
class Done:
    """What a successful run leaves: its document, and the signals file it wrote."""

    document: Document
    signals: os.stat_result | None = field(default=None)


def prepare(paths: Paths) -> Prepared:
    """Resolve every path before anything is written; raise `ClashError` if an output is an input."""
    outputs: dict[str, Target] = {}
    unusable: dict[str, OutputError] = {}
    for option, path in paths.outputs().items():
        try:
            outputs[option] = target(option, path)
        except OutputError as exc:
            unusable[option] = exc
    found, problem = None, None
    try:
        found = find_files(paths.input)
    except InputError as exc:
        problem = exc
    read: list[tuple[str, Path, Identity]] = []
    try:
        read.append(("--config", paths.config, identity(paths.config.stat())))
    except OSError:
        pass  # reading the config says what is wrong
    if found is not None:
        read.extend(("--input", path, key) for path, key in zip(found.files, found.identities, strict=True))
    check_clashes(outputs.values(), read)
    return Prepared(paths, outputs, unusable, found, problem)


def run(prepared: Prepared, *, started: float) -> Done:
    """Compute the metrics document; `started` is the `perf_counter()` the latency counts from.

    With a signals path, also write each row's signal there (Parquet). Raises `JobError`,
    carrying the config's version once the config has been read.
    """
    paths = prepared.paths
    config = load_config(paths.config)
    grouping = f" group_by={config.group_by}" if config.group_by else ""
    log.info(
        "config %s: seed=%d window=%d version=%s%s",
        paths.config,
        config.seed,
        config.window,
        config.version,
        grouping,
    )
    try:
        result, written = _compute(prepared, config)
    except JobError as exc:
        exc.version = config.version
        raise
    _log_result(result, config)
    if paths.signals is not None:
        log.info("signals written to %s", paths.signals)
    latency_ms = round((time.perf_counter() - started) * 1000)
    log.info("latency: %d ms", latency_ms)
    document = success_document(
        version=config.version,
        rows=result.total.rows,
        value=result.total.rate,
        latency_ms=latency_ms,
        seed=config.seed,
    )
    return Done(document, written)


def config_version(path: Path) -> str | None:
    """The config's version if it can be read, for an error document; None otherwise."""
    try:
        return load_config(path).version
    except JobError:
        return None


def _compute(prepared: Prepared, config: Config) -> tuple[pipeline.Result, os.stat_result | None]:
    """The counts, and the signals file written (atomically) if asked for."""
    if prepared.input_problem is not None:
        raise prepared.input_problem
    assert prepared.found is not None  # noqa: S101 - found, or a problem
    if "--signals" in prepared.unusable:
        raise prepared.unusable["--signals"]
    signals = prepared.outputs.get("--signals")
    data = open_input(prepared.found, reading=config.reading, timestamps=signals is not None)
    log.info("input %s: %s", prepared.paths.input, data.describe())
    _warn_of_mixed_series(data, config)
    with atomic(signals) if signals else nullcontext() as temporary:
        try:
            result = pipeline.run(data, config, signals=temporary)
        except pipeline.SignalsNotWritten as exc:
            msg = f"cannot write signals file {prepared.paths.signals}: {first_line(exc.error)}"
            raise OutputError(msg) from exc
    return result, signals.current() if signals else None


def _warn_of_mixed_series(data: Input, config: Config) -> None:
    if config.group_by is not None:
        return
    for name in _SERIES_COLUMNS:
        if name not in data.column_names():
            continue
        seen = data.parts[0].first_values(name)
        if seen is not None and len(set(seen)) == 1 and len(data.parts) == 1:
            log.info("the input has a %r column with one value in its first rows (%s)", name, seen[0])
        else:
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
