"""The run as a Prometheus textfile, the format node-exporter's textfile collector reads (`*.prom`).

Every run rewrites the file whole (atomically, as every output): its success (1 or 0), when it
ran, and on success its signal rate, rows, signals and latency, per group too; a sweep's rate and
signals per window (labelled `window`). The time of the
last success is carried over from the previous file when a run fails, so that an alert on
"no success for a day" keeps working across failures. Labels given for the run (`job="nightly"`)
go on every series, so the files of two jobs on one node tell their series apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from signal_job.reporting.metrics import Document

PREFIX = "signal_job"
LAST_SUCCESS = f"{PREFIX}_last_success_timestamp_seconds"
MISSING = "(missing)"  # the group of rows with no group value, as the log names it
_EXACT = 2**53
_SAMPLE = re.compile(rf"^{LAST_SUCCESS}(?:\{{.*\}})?\s+(\S+)")
# Prometheus' label names; those starting with __ are its own.
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
OWN_LABELS = ("version", "group")  # the labels the job sets itself


@dataclass(frozen=True)
class Group:
    """One group's counts, for its own series (labelled `group`)."""

    name: str | None
    rows: int
    signals: int
    rate: float


_HELP = {
    "success": "1 if the last run succeeded, else 0.",
    "last_run_timestamp_seconds": "When the last run ended, in seconds since the epoch.",
    "last_success_timestamp_seconds": "When a run last succeeded, in seconds since the epoch.",
    "signal_rate": "Share of rows whose close is above the rolling mean (the metrics document's value).",
    "rows_processed": "Rows the last successful run counted.",
    "signals": "Rows whose close is above the rolling mean, in the last successful run.",
    "latency_seconds": "How long the last successful run took, start to document.",
}


def checked_labels(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The labels given for every series, checked as Prometheus reads them; else a `ValueError` saying why.

    A name is a Prometheus label name, not one the job sets or Prometheus reserves, given once;
    a value is any text (escaped when written) but empty, which Prometheus reads as no label.
    """
    labels: dict[str, str] = {}
    for name, value in pairs:
        if not _LABEL_NAME.fullmatch(name):
            msg = (
                f"label name {name!r} is not a Prometheus label name: letters, digits and _, "
                "not starting with a digit"
            )
            raise ValueError(msg)
        if name.startswith("__") or name in OWN_LABELS:
            whose = "Prometheus'" if name.startswith("__") else "the job's own"
            msg = f"label name {name!r} is {whose}: choose another name"
            raise ValueError(msg)
        if name in labels:
            msg = f"label {name!r} is given twice"
            raise ValueError(msg)
        if not value:
            msg = f"label {name!r} has an empty value, which Prometheus reads as no label at all"
            raise ValueError(msg)
        labels[name] = value
    return labels


def textfile(
    document: Document,
    *,
    signals: int | None,
    groups: Sequence[Group],
    now: float,
    previous: str | None,
    labels: dict[str, str] | None = None,
) -> bytes:
    """The file for a run that ended with `document` at `now`; `previous`, the file it replaces.

    `labels` (from `checked_labels`) go on every series, beside the config's `version`.
    """
    version = str(document.get("version", "unknown"))
    labels = {"version": version, **(labels or {})}
    success = document.get("status") == "success"
    last = now if success else last_success(previous)
    samples: dict[str, list[tuple[dict[str, str], float]]] = {
        "success": [(labels, 1.0 if success else 0.0)],
        "last_run_timestamp_seconds": [(labels, now)],
        "last_success_timestamp_seconds": [] if last is None else [(labels, last)],
    }
    if success and "results" in document:
        samples |= _swept(document, labels)
    elif success:
        samples["signal_rate"] = [(labels, float(document["value"]))]
        samples["rows_processed"] = [(labels, float(document["rows_processed"]))]
        samples["signals"] = [(labels, float(signals))] if signals is not None else []
        samples["latency_seconds"] = [(labels, document["latency_ms"] / 1000)]
        for group in groups:
            # Not "": Prometheus reads an empty label as none, the total's series.
            named = {**labels, "group": MISSING if group.name is None else group.name}
            samples["signal_rate"].append((named, group.rate))
            samples["rows_processed"].append((named, float(group.rows)))
            samples["signals"].append((named, float(group.signals)))
    lines: list[str] = []
    for name, values in samples.items():
        if not values:
            continue
        metric = f"{PREFIX}_{name}"
        lines += [f"# HELP {metric} {_HELP[name]}", f"# TYPE {metric} gauge"]
        lines += [f"{metric}{{{_labels(each)}}} {_number(value)}" for each, value in values]
    return ("\n".join(lines) + "\n").encode()


def _swept(document: Document, labels: dict[str, str]) -> dict[str, list[tuple[dict[str, str], float]]]:
    """A sweep's samples, from its document: each result's rate and signals labelled by its `window`.

    A group's carry its `group` label too; the rows are the same for every window, so one sample.
    """
    rates, signals = [], []
    for entry in document["results"]:
        window = {**labels, "window": str(entry["window"])}
        rates.append((window, float(entry["value"])))
        signals.append((window, float(entry["signals"])))
        for group in entry.get("groups", []):
            named = {**window, "group": MISSING if group["group"] is None else group["group"]}
            rates.append((named, float(group["value"])))
            signals.append((named, float(group["signals"])))
    return {
        "signal_rate": rates,
        "rows_processed": [(labels, float(document["rows_processed"]))],
        "signals": signals,
        "latency_seconds": [(labels, document["latency_ms"] / 1000)],
    }


def last_success(previous: str | None) -> float | None:
    """The last success's time in a previous file, if it holds one that reads."""
    for line in (previous or "").splitlines():
        found = _SAMPLE.match(line)
        if found is not None:
            try:
                value = float(found[1])
            except ValueError:
                return None
            return value if math.isfinite(value) else None
    return None


def _labels(labels: dict[str, str]) -> str:
    return ",".join(f'{name}="{_escaped(value)}"' for name, value in labels.items())


def _escaped(value: str) -> str:
    # The exposition format escapes exactly these three in label values.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    # Counts as integers (exact below 2^53), everything else as the shortest repr that round-trips.
    return str(int(value)) if value.is_integer() and abs(value) < _EXACT else repr(float(value))
