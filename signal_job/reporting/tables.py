"""Tables the job writes (every group's counts, the signals), in the format their names' endings say."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import PurePath, PurePosixPath
from typing import TYPE_CHECKING

from signal_job.errors import OutputError
from signal_job.formats import KNOWN, FileFormat, ending, format_of, sink
from signal_job.options import Option
from signal_job.reading.storage import Url
from signal_job.reporting.outputs import Target, write
from signal_job.reporting.uploads import RemoteTarget, put

if TYPE_CHECKING:
    from signal_job.partial import Counts

_WHAT = {
    Option.GROUPS: ("the groups table", "groups.csv"),
    Option.SIGNALS: ("the signals file", "signals.csv"),
    Option.TABLE: ("the table", "sweep.csv"),  # a sweep's results
}


def table_format(path: PurePath | Url, option: Option = Option.GROUPS) -> FileFormat:
    """The format of the table that `option` names, told by its name's ending; `OutputError` for another."""
    name = PurePosixPath(path.name) if isinstance(path, Url) else path
    kind = format_of(name)
    if kind is not None:
        return kind
    what, example = _WHAT[option]
    msg = (
        f"{option} {path} {ending(name)}; {what} is written in the format its name's ending says: "
        f"give a name ending in one of {KNOWN}, such as {example}"
    )
    raise OutputError(msg)


def group_table(groups: Sequence[tuple[str | None, Counts]], kind: FileFormat) -> bytes:
    """The table's bytes: each group's name, rows, signals, rate and full windows and missing closes.

    The rate (`value`) is rounded as the document's is; a group of rows with no group value has a
    null name.
    """
    import polars as pl  # noqa: PLC0415 - paths.py imports this module before Polars' environment is set

    counts = [each for _, each in groups]
    frame = pl.DataFrame(
        [
            pl.Series("group", [name for name, _ in groups], dtype=pl.String),
            pl.Series("rows", [each.rows for each in counts], dtype=pl.Int64),
            pl.Series("signals", [each.signals for each in counts], dtype=pl.Int64),
            pl.Series("value", [each.rate for each in counts], dtype=pl.Float64),
            pl.Series("full_windows", [each.full_windows for each in counts], dtype=pl.Int64),
            pl.Series("missing", [each.missing for each in counts], dtype=pl.Int64),
        ]
    )
    buffer = io.BytesIO()
    sink(frame.lazy(), buffer, kind).collect()
    return buffer.getvalue()


def write_group_table(groups: Sequence[tuple[str | None, Counts]], out: Target | RemoteTarget) -> None:
    """Write the groups table to `out` whole (a file atomically, an object in one put), else `OutputError`."""
    if isinstance(out, RemoteTarget):
        put(out, group_table(groups, table_format(out.url)))
    else:
        write(out, group_table(groups, table_format(out.path)))
