"""Every group's counts as a table, CSV or Parquet as the file's name says, written like every output."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from signal_job.errors import OutputError
from signal_job.options import Option
from signal_job.reporting.outputs import Target, write

if TYPE_CHECKING:
    from signal_job.partial import Counts

TableFormat = Literal["csv", "parquet"]
FORMATS: dict[str, TableFormat] = {".csv": "csv", ".parquet": "parquet"}


def table_format(path: Path, *, option: Option = Option.GROUPS) -> TableFormat:
    """The table's format, told by the name's ending; `OutputError` for any other ending.

    `option` names the table in the message: the groups table, or a sweep's (`Option.TABLE`).
    """
    suffix = path.suffix.lower()
    if suffix in FORMATS:
        return FORMATS[suffix]
    ending = f"ends in {suffix!r}" if suffix else "has no ending"
    what, example = ("groups table", "groups.csv") if option is Option.GROUPS else ("table", "sweep.csv")
    msg = (
        f"{option} {path} {ending}; the {what} is written as CSV or Parquet, as its "
        f"name's ending says: give a name ending in .csv or .parquet, such as {example}"
    )
    raise OutputError(msg)


def group_table(groups: Sequence[tuple[str | None, Counts]], kind: TableFormat) -> bytes:
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
    if kind == "csv":
        return frame.write_csv().encode()
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def write_group_table(groups: Sequence[tuple[str | None, Counts]], out: Target) -> None:
    """Write the groups table to `out` whole (atomically for a file), or raise `OutputError`."""
    write(out, group_table(groups, table_format(out.path)))
