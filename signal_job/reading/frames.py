"""A frame given in Python (Polars, or pandas through Polars) as an input: staged as one Parquet file.

Staged, the frame is a Parquet input like any other: its close column found and typed as a
Parquet file's (a float close read as the shortest decimal that reads back as it, a text close
parsed as text is), its times, order, duplicates and groups checked, its route decided, by the
same code. Writing it costs one pass over its rows (streamed from a `LazyFrame`) and its size on
disk under TMPDIR, for the length of the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from signal_job.errors import InputError, first_line

# The staged file's name in its staging folder; messages name it as this.
STAGED_NAME = "frame.parquet"
NAMED = "input frame"


def is_frame(value: object) -> bool:
    """Whether `value` is a Polars DataFrame or LazyFrame, or a pandas DataFrame (pandas not imported)."""
    return isinstance(value, pl.DataFrame | pl.LazyFrame) or _is_pandas(value)


def _is_pandas(value: object) -> bool:
    kind = type(value)
    return kind.__name__ == "DataFrame" and kind.__module__.split(".")[0] == "pandas"


def as_lazy(value: Any) -> pl.LazyFrame:
    """`value` (see `is_frame`) as a Polars LazyFrame; a named pandas index becomes a column."""
    if isinstance(value, pl.LazyFrame):
        return value
    if isinstance(value, pl.DataFrame):
        return value.lazy()
    # A time index (as `df.set_index("timestamp")` leaves it) is a column to Polars only if named.
    return pl.from_pandas(value, include_index=value.index.name is not None).lazy()


def stage_frame(frame: pl.LazyFrame, path: Path) -> None:
    """Write `frame` to the Parquet file `path`, streamed (Polars' errors raised as they are)."""
    frame.sink_parquet(path)


def frame_error(exc: BaseException) -> InputError:
    """The error of a frame whose rows could not be computed or staged: the input's, said as the frame's.

    A column that fails to compute, or of a type Parquet cannot hold (a pandas column of objects).
    """
    return InputError(f"cannot read the {NAMED}: {first_line(exc)}")


def renamed(path: Path) -> tuple[tuple[str, str], ...]:
    """The texts that name the frame staged at `path`, and how messages name it instead."""
    return ((f"input file {path}", NAMED), (str(path), NAMED))
