"""An inspect: what the job sees in the input before any window is chosen, as a document and a summary.

The job's own sequence (`job.execute`) with an inspect's steps: the config (for how to read the
input, and its `group_by`), the input opened as a run opens it (`counting.open_data`, standard
input's copy included), one read of its rows (`computing.profile`), then the document and a few
log lines for a person (docs/inspect.md).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal
from typing import Any

from signal_job import counting, job
from signal_job.computing.gaps import Gaps
from signal_job.computing.profile import Profile, Series, profile
from signal_job.config import Config
from signal_job.errors import JobError, counted
from signal_job.paths import STDIN, STDIN_NAME, Prepared
from signal_job.reading.inputs import Input
from signal_job.reading.sources import Source
from signal_job.reporting.logs import FIELDS
from signal_job.reporting.metrics import Document
from signal_job.reporting.outputs import Pending
from signal_job.windows import span_text

log = logging.getLogger(__name__)

_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_KINDS = {"csv": "CSV", "gzip": "CSV (gzip)", "zstd": "CSV (zstd)", "parquet": "Parquet", "ipc": "Arrow IPC"}
# A gap this many times the spacing is worth a warning: a window of rows reaches across it.
WIDE_GAP = 10
_LISTED_GROUPS = 20  # groups the log lists one by one; the document has them all


def steps() -> job.Steps:
    """An inspect's steps, for a `job.Request`."""
    return _steps


def _steps(prepared: Prepared, request: job.Request, pending: Pending) -> job.Outcome:
    """The config, the input opened and read once, the inspect's document."""
    del pending  # an inspect writes its document alone
    config = job.configured(prepared, request)
    try:
        with counting.stdin_spooled(prepared) as spooled:
            data = counting.open_data(spooled, config, frame=request.frame)
            found = profile(data, config)
            files = layouts(data, stdin=prepared.paths.input == STDIN)
    except JobError as exc:
        exc.version = config.version
        raise
    order = time_order(data, config)
    log_summary(found, order=order, group_by=config.group_by)
    document: Document = {
        "version": config.version,
        "status": "success",
        "input": STDIN_NAME if prepared.paths.input == STDIN else str(prepared.paths.input),
        "files": len({str(part.path) for part in data.parts}),
        "layouts": files,
        "rows": found.total.rows,
        "blank_lines": found.blank_lines,
        "repeated_rows": found.repeated_rows,
        **series_entry(found.total, order=order),
    }
    if config.group_by is not None:
        document["group_by"] = config.group_by
        document["groups"] = [{"group": name, **series_entry(each)} for name, each in found.groups]
    warnings = wide_gaps(found, group_by=config.group_by)
    if warnings:
        document["warnings"] = warnings
    return job.Outcome(document)


def layouts(data: Input, *, stdin: bool = False) -> list[dict[str, Any]]:
    """How the files are written, each way once, with how many files are written so (and the first)."""
    found: dict[tuple[tuple[str, Any], ...], dict[str, Any]] = {}
    seen: set[str] = set()
    for part in data.parts:
        if str(part.path) in seen:  # a file of several tickers is one file
            continue
        seen.add(str(part.path))
        layout = layout_of(part)
        key = tuple(layout.items())
        if key not in found:
            found[key] = {**layout, "files": 0, "first_file": STDIN_NAME if stdin else str(part.path)}
        found[key]["files"] += 1
    return list(found.values())


def layout_of(part: Source) -> dict[str, Any]:
    """How one file is written, as the reading decided it: its kind, columns, close and time columns."""
    entry: dict[str, Any] = {"kind": _KINDS.get(part.kind, part.kind)}
    if part.layout is not None:
        csv = part.layout
        entry |= {
            "delimiter": _DELIMITERS[csv.delimiter],
            "header_line": None if csv.header_line is None else csv.header_line + 1,
            "wrapped_in_quotes": csv.wrapped,
            "columns": len(csv.columns),
            "close_column": csv.columns[csv.close_index],
            "numbers": csv.numbers.describe() if not csv.numbers.plain else "plain",
        }
    else:
        entry |= {"columns": len(part.names), "close_column": part.close}
    timestamp = part.timestamp
    entry |= {
        "time_column": None if timestamp is None else timestamp.column,
        "time_written": None if timestamp is None else timestamp.spelling,
        "newest_first": None if timestamp is None else timestamp.descending,
    }
    return entry


def time_order(data: Input, config: Config) -> str | None:
    """How the rows were put in time order: as written, read back (newest first), or sorted."""
    if not data.has_timestamps:
        return None
    if config.reading.sort:
        return "sorted (sort: true)"
    descending = [part.timestamp is not None and part.timestamp.descending for part in data.parts]
    if all(descending):
        return "newest first, read back oldest first"
    return "oldest first, some files newest first (read back)" if any(descending) else "oldest first"


def series_entry(series: Series, *, order: str | None = None) -> dict[str, Any]:
    """One series' entry in the document: rows, closes, times and gaps."""
    entry: dict[str, Any] = {
        "rows": series.rows,
        "empty_closes": series.missing,
        "nonpositive_closes": series.nonpositive,
        "close": {"lowest": _decimal(series.lowest), "highest": _decimal(series.highest)},
    }
    if series.gaps is None:
        return entry | {"time": None, "gaps": None}
    time: dict[str, Any] = {"first": _time(series.first), "last": _time(series.last)}
    if order is not None:
        time["order"] = order
    return entry | {"time": time, "gaps": gaps_entry(series.gaps)}


def gaps_entry(gaps: Gaps) -> dict[str, Any]:
    """The document's `gaps` of one series (see `computing.gaps` for what each means)."""
    largest = gaps.largest
    return {
        "spacing": None if gaps.spacing is None else span_text(_us(gaps.spacing)),
        "irregular": gaps.irregular,
        "intervals": gaps.intervals,
        "regular": gaps.regular,
        "gaps": gaps.gaps,
        "missing": gaps.missing,
        "off_grid": gaps.off_grid,
        "repeated_times": gaps.repeated,
        "largest": None
        if largest is None
        else {
            "from": _time(largest.start),
            "to": _time(largest.end),
            "length": span_text(_us(largest.length)),
        },
    }


def wide_gaps(found: Profile, *, group_by: str | None) -> list[str]:
    """A warning for each series whose largest gap is over `WIDE_GAP` spacings: windows of rows span it."""
    named = found.groups if group_by is not None else [(None, found.total)]
    warnings = []
    for name, series in named:
        gaps = series.gaps
        if gaps is None or gaps.spacing is None or gaps.largest is None:
            continue
        if gaps.largest.length > WIDE_GAP * gaps.spacing:
            of = f"{group_by} {name}: " if group_by is not None else ""
            warnings.append(
                f"{of}a gap of {span_text(_us(gaps.largest.length))} from {_time(gaps.largest.start)} to "
                f"{_time(gaps.largest.end)}, over {WIDE_GAP} times the spacing of "
                f"{span_text(_us(gaps.spacing))}: a window of rows reaches across it"
            )
    return warnings


def log_summary(found: Profile, *, order: str | None, group_by: str | None) -> None:
    """A few lines for a person: rows, closes, times, gaps; per group where there are groups."""
    log_series("", found.total, order=order)
    if found.blank_lines or found.repeated_rows:
        log.info(
            "left out: %s, %s",
            counted(found.blank_lines, "blank line"),
            counted(found.repeated_rows, "repeated row"),
        )
    for name, series in found.groups[:_LISTED_GROUPS]:
        log_series(f"{group_by} {name}: ", series)
    if len(found.groups) > _LISTED_GROUPS:
        more = len(found.groups) - _LISTED_GROUPS
        log.info("... and %s more groups (every group is in the document)", f"{more:,}")
    for warning in wide_gaps(found, group_by=group_by):
        log.warning("%s", warning)


def log_series(prefix: str, series: Series, *, order: str | None = None) -> None:
    """The summary of one series: a line for its rows and closes, one for its times and gaps."""
    entry = series_entry(series, order=order)
    odd = [
        *([counted(series.missing, "empty close")] if series.missing else []),
        *([counted(series.nonpositive, "close") + " of 0 or below"] if series.nonpositive else []),
    ]
    log.info(
        "%s%s, close from %s to %s%s",
        prefix,
        counted(series.rows, "row"),
        entry["close"]["lowest"],
        entry["close"]["highest"],
        f" ({', '.join(odd)})" if odd else "",
        extra={FIELDS: entry},
    )
    if series.gaps is None:
        log.info("%sno time column: no time order, no gaps", prefix)
        return
    said = f" ({order})" if order is not None else ""
    first, last = _time(series.first), _time(series.last)
    log.info("%stimes %s to %s%s: %s", prefix, first, last, said, gaps_text(series.gaps))


def gaps_text(gaps: Gaps) -> str:
    """The gaps of one series in words."""
    repeated = f", {counted(gaps.repeated, 'repeated time')}" if gaps.repeated else ""
    if gaps.irregular:
        largest = f", the longest {span_text(_us(gaps.largest.length))}" if gaps.largest else ""
        return f"irregular: no interval is half of them{largest}{repeated}"
    if gaps.spacing is None:
        return f"too few distinct times for a spacing{repeated}"
    text = f"spacing {span_text(_us(gaps.spacing))}"
    if gaps.largest is None:
        return f"{text}, no gap{repeated}"
    share = gaps.missing / (gaps.intervals - gaps.repeated + gaps.missing) if gaps.missing else 0.0
    return (
        f"{text}, {counted(gaps.gaps, 'gap')} missing {counted(gaps.missing, 'interval')} ({share:.1%}), "
        f"the largest {span_text(_us(gaps.largest.length))} from {_time(gaps.largest.start)} to "
        f"{_time(gaps.largest.end)}{repeated}"
    )


def _us(span: Any) -> int:
    """A timedelta in whole microseconds (exact: no float)."""
    return int((span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(sep=" ")


def _decimal(value: Decimal | None) -> str | None:
    """A close exact as a decimal in text (a JSON number would be read back as a float)."""
    return None if value is None else format(value, "f")
