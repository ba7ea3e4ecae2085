"""The metrics documents, as the job prints and writes them (writing is `signal_job.reporting.outputs`)."""

from __future__ import annotations

from typing import Any

import orjson

from signal_job.errors import readable

Document = dict[str, Any]


def success_document(
    *,
    version: str,
    rows: int,
    value: float,
    latency_ms: int,
    seed: int,
    inputs: dict[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> Document:
    """The document of a successful run, keys in their documented order.

    `inputs` (what was read: `signal_job.reporting.fingerprints`) follows the task's keys;
    `warnings` (a result to be read with care, e.g. no full window) adds a `warnings` key last.
    """
    document: Document = {
        "version": version,
        "rows_processed": rows,
        "metric": "signal_rate",
        "value": value,
        "latency_ms": latency_ms,
        "seed": seed,
        "status": "success",
    }
    if inputs is not None:
        document["inputs"] = inputs
    return document | ({"warnings": warnings} if warnings else {})


def error_document(*, version: str | None, message: str) -> Document:
    """The document of a failed run; `version` is the config's when it was read."""
    # A file name that is not UTF-8 reaches messages as surrogates, which JSON cannot carry.
    return {"version": version or "unknown", "status": "error", "error_message": readable(message)}


def render(document: Document) -> bytes:
    """The document as JSON bytes: indented two spaces, newline at the end."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
