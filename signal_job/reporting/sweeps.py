"""What a sweep reports: one result per window (per group too), in its document, its table and its log."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from signal_job.formats import FileFormat, sink
from signal_job.partial import Counts
from signal_job.reporting.logs import FIELDS
from signal_job.reporting.metrics import Document

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Swept:
    """One window's counts: over all rows, and per `group_by` value (empty if not grouped)."""

    window: int
    total: Counts
    groups: Sequence[tuple[str | None, Counts]]


def _figures(counts: Counts) -> dict[str, Any]:
    """A result's figures, the value rounded as a run's document rounds it."""
    return {
        "rows": counts.rows,
        "value": counts.rate,
        "signals": counts.signals,
        "full_windows": counts.full_windows,
    }


def results(swept: Sequence[Swept], *, grouped: bool) -> list[dict[str, Any]]:
    """The document's `results`: one entry per window in the order asked, with its groups if `grouped`."""
    entries = []
    for each in swept:
        entry = {"window": each.window, **_figures(each.total)}
        if grouped:
            entry["groups"] = [{"group": name, **_figures(counts)} for name, counts in each.groups]
        entries.append(entry)
    return entries


def sweep_document(
    *,
    version: str,
    swept: Sequence[Swept],
    grouped: bool,
    latency_ms: int,
    seed: int,
    inputs: dict[str, Any] | None,
    warnings: list[str],
) -> Document:
    """A sweep's document: a run's keys but `value` (a sweep has one per window), then `results`.

    Every window's `rows` are the same rows; `rows_processed` holds them too.
    """
    document: Document = {
        "version": version,
        "rows_processed": swept[0].total.rows,
        "metric": "signal_rate",
        "latency_ms": latency_ms,
        "seed": seed,
        "status": "success",
    }
    if inputs is not None:
        document["inputs"] = inputs
    document["results"] = results(swept, grouped=grouped)
    return document | ({"warnings": warnings} if warnings else {})


def sweep_table(swept: Sequence[Swept], kind: FileFormat, *, grouped: bool) -> bytes:
    """The results as a table: a row per window (per window and group with `grouped`), in order.

    Columns window, [group], rows, value, signals, full_windows: the document's figures.
    """
    import polars as pl  # noqa: PLC0415 - as `tables`: only once a sweep writes its table

    lines = [
        {"window": each.window, **({"group": name} if grouped else {}), **_figures(counts)}
        for each in swept
        for name, counts in (each.groups if grouped else [(None, each.total)])
    ]
    schema: dict[str, Any] = {"window": pl.Int64, **({"group": pl.String} if grouped else {})}
    schema |= {"rows": pl.Int64, "value": pl.Float64, "signals": pl.Int64, "full_windows": pl.Int64}
    frame = pl.DataFrame(lines, schema=schema)
    buffer = io.BytesIO()
    sink(frame.lazy(), buffer, kind).collect()
    return buffer.getvalue()


def log_sweep(swept: Sequence[Swept]) -> None:
    """A line per window: its full windows, signals and rate (each group's are in the document)."""
    for each in swept:
        total = each.total
        log.info(
            "window %d: rows with a full window %d, signals %d, signal rate %.4f",
            each.window,
            total.full_windows,
            total.signals,
            total.rate,
            extra={
                FIELDS: {
                    "window": each.window,
                    "full_windows": total.full_windows,
                    "signals": total.signals,
                    "signal_rate": total.rate,
                }
            },
        )
    if swept:
        total = swept[0].total
        log.info("rows: %d, windows: %d", total.rows, len(swept))
