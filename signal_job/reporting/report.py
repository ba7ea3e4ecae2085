"""What a run reports: its document and Prometheus file written, its result and its warnings logged.

The job says when; these say what, from plain values: the document, the outputs' targets, the
counts (of the whole input and of each group).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from signal_job.errors import InputError, OutputError, counted, names_text
from signal_job.reporting.logs import FIELDS
from signal_job.reporting.metrics import Document, error_document, render
from signal_job.reporting.outputs import Target, write
from signal_job.reporting.uploads import RemoteTarget, put
from signal_job.safe_files import read_regular

if TYPE_CHECKING:
    from signal_job.partial import Counts
    from signal_job.reading.inputs import Input

log = logging.getLogger(__name__)

Groups = Sequence[tuple[str | None, "Counts"]]  # each group_by value's counts, in order

# Columns that usually name a series; windows over them mix symbols unless grouped.
_SERIES_COLUMNS = ("symbol", "ticker")
# Per-group lines beyond the first go to the log file only, and beyond the second to none: a run
# of a million groups wrote 84 MB of log (every group's counts go to the groups table instead).
GROUPS_ON_CONSOLE = 50
GROUPS_IN_LOG_FILE = 1_000
# Groups listed in the document's `groups`: as many as the log file's, so a document of a million
# groups stays small (every group's counts go to the groups table, or the Python result).
GROUPS_IN_DOCUMENT = GROUPS_IN_LOG_FILE
# Of an earlier metrics file, read for its last success: enough, whatever else it holds.
_PREVIOUS_BYTES = 1 << 20


def write_document(
    document: Document, out: Target | RemoteTarget | None, *, unusable: OutputError | None, printed: bool
) -> Document:
    """Write the document to `out` (replacing an older one); the document as it ends.

    `unusable` says why an output asked for can never be written (then `out` is None); `printed`,
    that `out` is the stdout the caller prints the document to, so it is left to it. A success
    whose document cannot be written ends as the error document saying so.
    """
    try:
        if out is None:
            if unusable is None:  # none asked for (the Python API)
                return document
            raise unusable
        if printed:
            log.info("metrics written to stdout (%s)", out.path)
            return document
        if isinstance(out, RemoteTarget):
            put(out, render(document))
        else:
            write(out, render(document))
    except OutputError as exc:
        if isinstance(out, Target) and out.status is not None and not out.special:
            exc = OutputError(f"{exc}; {out.path} still holds an earlier run's document")
        log.error("%s", exc)
        if document["status"] == "success":
            return error_document(version=document["version"], message=str(exc))
    else:
        log.info("metrics written to %s", out.path)
    return document


def write_metrics_file(
    document: Document,
    out: Target | None,
    *,
    counts: Counts | None,
    groups: Groups,
    labels: dict[str, str] | None = None,
) -> Document:
    """Write the Prometheus textfile for a run that ends with `document`; the document as it ends.

    `out` is None when none was asked for (or it can never be written: the run already failed on
    it). `labels` go on every series. A success whose metrics file cannot be written ends as the
    error document saying so.
    """
    if out is None:
        return document
    from signal_job.reporting.prometheus import Group, textfile  # noqa: PLC0415 - only when asked for

    previous = None
    if out.status is not None and not out.special:
        with contextlib.suppress(OSError, InputError, OutputError):  # no earlier file to read: none
            head = read_regular(out.real, what="metrics file", limit=_PREVIOUS_BYTES, error=OutputError)
            previous = head.decode("utf-8", errors="replace")
    shown = [Group(name, each.rows, each.signals, each.rate) for name, each in groups]
    signals = counts.signals if counts is not None else None
    data = textfile(
        document, signals=signals, groups=shown, now=time.time(), previous=previous, labels=labels
    )
    try:
        write(out, data)
    except OutputError as exc:
        log.error("%s", exc)
        if document["status"] == "success":
            return error_document(version=document["version"], message=str(exc))
        return document
    log.info("Prometheus metrics written to %s", out.path)
    return document


def with_groups(
    document: Document, groups: Groups, *, group_by: str | None, table: object | None, ask: str
) -> Document:
    """`document` with its `groups` (each group's counts, in the log's order) before any `warnings`.

    At most `GROUPS_IN_DOCUMENT`; where there are more, a warning says how many are listed and
    where every one is: the groups `table` written, or how to `ask` for one (in the words of the
    face that ran the job). Nothing without `group_by`.
    """
    if group_by is None:
        return document
    listed = [
        {"group": name, "rows_processed": each.rows, "signals": each.signals, "value": each.rate}
        for name, each in itertools.islice(groups, GROUPS_IN_DOCUMENT)
    ]
    warnings = document.get("warnings", [])
    if len(groups) > GROUPS_IN_DOCUMENT:
        more = (
            f"groups lists the first {GROUPS_IN_DOCUMENT:,} of {counted(len(groups), 'group')} of "
            f"{group_by}: every group's counts {f'in {table}' if table is not None else f'with {ask}'}"
        )
        log.warning("%s", more)
        warnings = [*warnings, more]
    kept = {key: value for key, value in document.items() if key != "warnings"}
    return kept | {"groups": listed} | ({"warnings": warnings} if warnings else {})


def _more_groups(count: int, *, table: object | None, ask: str) -> str:
    """The line after the groups logged: how many more, how many of them in the log file, where all are."""
    more = counted(count - GROUPS_ON_CONSOLE, "group")
    every = f"every group in {table}" if table is not None else f"every group's counts with {ask}"
    if count <= GROUPS_IN_LOG_FILE:
        return f"... {more} more in the log file" + (f"; {every}" if table is not None else "")
    logged = GROUPS_IN_LOG_FILE - GROUPS_ON_CONSOLE
    return f"... {more} more: the next {logged:,} in the log file; {every}"


def log_status(document: Document, *, shown: bool) -> None:
    """The run's last line: its status (and that the document could not be printed, if so)."""
    fields = {key: document[key] for key in ("status", "version", "error_message") if key in document}
    log.info(
        "status: %s%s",
        document["status"],
        "" if shown else " (not printed: exit code 1)",
        extra={FIELDS: fields},
    )


def warn_of_mixed_series(data: Input, group_by: str | None) -> None:
    """Warn where the input has a column naming symbols but no group_by keeps their windows apart."""
    if group_by is not None:
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


def short_windows(total: Counts, groups: Groups, *, window: int, group_by: str | None) -> list[str]:
    """Warn (log and document) where no row has a full window: every signal there is 0."""
    if total.full_windows == 0:
        if total.rows < window:
            why = f"the window of {window} is longer than the input's {counted(total.rows, 'row')}"
        elif groups and all(each.rows < window for _, each in groups):
            why = f"the window of {window} is longer than every group of {group_by}"
        else:
            why = f"missing close values break every window of {window}"
        warnings = [f"{why}: no row has a full window, so every signal is 0"]
    else:
        short = [name for name, each in groups if each.full_windows == 0]
        if not short:
            return []
        names = names_text(["(missing)" if name is None else name for name in short], limit=5)
        warnings = [
            f"{counted(len(short), 'group')} of {group_by} ({names}) "
            f"{'has' if len(short) == 1 else 'have'} no row with a full window of {window}: "
            "every signal there is 0"
        ]
    for warning in warnings:
        log.warning("%s", warning)
    return warnings


def nonpositive_closes(count: int, *, first: str | None) -> list[str]:
    """Warn (log and document) of `count` closes of 0 or below, the `first` of them where it was found.

    A warning, not an error: some markets' prices do go negative, and such closes count as any other.
    """
    if not count:
        return []
    at = f" (the first: {first})" if first is not None else ""
    warning = (
        f"{counted(count, 'close value')} {'is' if count == 1 else 'are'} 0 or negative{at}: "
        "not a price unless the market's prices can go negative; counted as any other close"
    )
    log.warning("%s", warning, extra={FIELDS: {"nonpositive_closes": count}})
    return [warning]


def log_result(
    total: Counts,
    groups: Groups,
    *,
    window: int,
    group_by: str | None,
    table: object | None = None,  # a path, or a URL
    ask: str = "",
) -> None:
    """The counts, each group's first (the next ones to the log file only), then the whole input's.

    Where groups go unlogged, the last line says where every group's counts are: the groups
    `table` written, or else how to `ask` for one (in the words of the face that ran the job).
    """
    for index, (name, group) in enumerate(itertools.islice(groups, GROUPS_IN_LOG_FILE)):
        level = logging.INFO if index < GROUPS_ON_CONSOLE else logging.DEBUG
        log.log(
            level,
            "%s=%s: rows %d, signals %d, signal rate %.4f",
            group_by,
            "(missing)" if name is None else name,
            group.rows,
            group.signals,
            group.rate,
            extra={
                FIELDS: {
                    "group": name,
                    "rows": group.rows,
                    "signals": group.signals,
                    "signal_rate": group.rate,
                }
            },
        )
    if len(groups) > GROUPS_ON_CONSOLE:
        log.info("%s", _more_groups(len(groups), table=table, ask=ask))
    log.info("rows: %d (%s skipped)", total.rows, counted(total.blank_lines, "blank line"))
    log.info("rows with a full window of %d: %d", window, total.full_windows)
    if total.missing:
        log.warning("missing close values: %d (their windows give no signal)", total.missing)
    else:
        log.info("missing close values: 0")
    if groups:
        log.info("groups: %d", len(groups))
    fields = {
        "rows": total.rows,
        "signals": total.signals,
        "signal_rate": total.rate,
        "full_windows": total.full_windows,
        "missing": total.missing,
        "blank_lines": total.blank_lines,
    }
    log.info("signals: %d, signal rate: %.4f", total.signals, total.rate, extra={FIELDS: fields})
