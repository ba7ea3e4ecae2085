"""One run of the job: config, input, counts, the metrics document; each step logged."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from signal_job import pipeline
from signal_job.config import load_config
from signal_job.errors import JobError
from signal_job.metrics import Document, success_document
from signal_job.sources import open_source

log = logging.getLogger(__name__)


def run(input_path: Path, config_path: Path, *, started: float) -> Document:
    """Compute the metrics document; `started` is the `perf_counter()` the latency counts from.

    Raises `JobError`, carrying the config's version once the config has been read.
    """
    config = load_config(config_path)
    log.info(
        "config %s: seed=%d window=%d version=%s", config_path, config.seed, config.window, config.version
    )
    try:
        source = open_source(input_path)
        log.info("input %s: %s bytes, %s", input_path, f"{source.size:,}", source.describe())
        counts = pipeline.count(source, window=config.window)
    except JobError as exc:
        exc.version = config.version
        raise
    log.info("rows: %d (%d blank lines skipped)", counts.rows, counts.blank_lines)
    log.info("rows with a full window of %d: %d", config.window, counts.full_windows)
    if counts.missing:
        log.warning("missing close values: %d (their windows give no signal)", counts.missing)
    else:
        log.info("missing close values: 0")
    log.info("signals: %d, signal rate: %.4f", counts.signals, counts.rate)
    latency_ms = round((time.perf_counter() - started) * 1000)
    log.info("latency: %d ms", latency_ms)
    return success_document(
        version=config.version,
        rows=counts.rows,
        value=counts.rate,
        latency_ms=latency_ms,
        seed=config.seed,
    )
