"""The signals as a dataset of parts, one per file, each written alone: the local signals file's rows.

A run file by file (`by_file`, on a Dask cluster) writes one Parquet part per file. A file's
first `window - 1` rows have windows that start in the files before it; the driver knows those
files' last closes from their edges (`partial.closes_before`), and the part is written by the local
plan over those closes and then the file's rows, the leading rows left out of the part. So every
row, at the files' boundaries too, is the local signals file's, bit for bit.

The local run makes two choices for a whole series, and so does the dataset: whether close is
read as text (a value further down some file fails the type sniffed from its first lines), and
whether the fast path writes the signals (every row of the series allows it; see `plan`). Each
part says what it found; the parts of a series that disagree are written again, as the local
run writes them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Context, Decimal, localcontext
from pathlib import Path

import polars as pl

from signal_job.computing.background import in_background
from signal_job.computing.ladder import with_text_close, without_blank_lines
from signal_job.computing.order import in_time_order
from signal_job.computing.pipeline import SignalsNotWritten, run, signals_sink, write_signals
from signal_job.computing.plan import SUSPECT_SIGNAL, Shape, all_rows, plan_rows, shape
from signal_job.computing.route import Limits, fast_fits
from signal_job.config import Config
from signal_job.errors import InputError, counted
from signal_job.partial import Counts, Edges, closes_before
from signal_job.reading.inputs import Input

log = logging.getLogger(__name__)

_EXACT = Context(prec=200)  # closes scaled to units: exact, however many digits


@dataclass(frozen=True)
class Task:
    """One file's part to write: the file, the closes before it, how its series is written, where."""

    data: Input  # one file
    before: tuple[Decimal | None, ...]  # the closes of the `window - 1` rows before it, in time order
    the_shape: Shape  # its series' shape, as the local run reads the whole series
    out: Path
    general: bool = False  # the general path, as the series takes it
    windows: tuple[int, ...] = ()  # a sweep's, each a signal column (see `plan.plan_rows`)
    means: bool = False  # a sweep's rolling mean beside each signal column


@dataclass(frozen=True)
class Written:
    """What writing a part found: its rows, and whether the fast path wrote them."""

    rows: int
    fast: bool
    text: bool = False  # close must be read as text (for the whole series): nothing was written


# Writes the parts of `Task`s: here, one after another, or on a cluster.
Writer = Callable[[list[Task], Config], list[Written]]


def write_here(tasks: list[Task], config: Config) -> list[Written]:
    """Each part written in this process, one after another (also a worker's task, on its share)."""
    return [write_part(task, config) for task in tasks]


def write_part(task: Task, config: Config) -> Written:
    """Write one file's part; raise the local run's error if the file no longer reads.

    The fallback ladder as the local run climbs it (see `ladder`): a file that has blank lines
    (or rows whose last field is empty) is read again beside its raw lines; one whose close
    fails the type sniffed reports it, to be written again as text with its series.
    """
    try:
        written, suspect = _write(task, config)
        if suspect:
            written, suspect = _write(replace(task, data=without_blank_lines(task.data)), config)
    except (pl.exceptions.PolarsError, OSError) as exc:
        if with_text_close(task.data) is not None:
            return Written(rows=0, fast=False, text=True)
        run(task.data, config)  # the file's own error, naming its line, if it fails to read now
        raise SignalsNotWritten(exc) from exc
    return written


def _write(task: Task, config: Config) -> tuple[Written, int]:
    """Write the part on the fast path if it may, else the general one; and the suspect rows seen."""
    the_shape, skip = task.the_shape, len(task.before)
    # A sweep's signals take the general path, as a local sweep's do (`route`).
    fast = not task.general and not task.windows and fast_fits(config, the_shape) is None
    with in_time_order(task.data, config, the_shape, limits=Limits()) as frames:
        rows = all_rows(task.data, the_shape, frames)
        lead = _lead(task.before, rows.collect_schema(), scale=the_shape.scale)
        the_plan = plan_rows(
            pl.concat([lead, rows], how="vertical"),
            config,
            the_shape,
            fast=fast,
            windows=task.windows,
            means=task.means,
        )
        if the_plan.fast_signals is not None:
            _sink(the_plan.fast_signals.slice(skip), task.out)
            found = pl.scan_parquet(task.out).select(
                rows=pl.len(),
                suspect=(pl.col("signal") == SUSPECT_SIGNAL).sum(),
                untrusted=pl.col("signal").null_count(),
            )
            counts = in_background(found.collect).row(0, named=True)
            if counts["suspect"] or not counts["untrusted"]:
                return Written(counts["rows"], fast=True), counts["suspect"]
        suspect = rows.select(pl.col("suspect").sum())
        with signals_sink(the_plan.signals.slice(skip), task.out) as sink:
            found_suspect = in_background(lambda: pl.collect_all([sink, suspect], engine="streaming"))[
                1
            ].item()
    return Written(_rows(task.out), fast=False), int(found_suspect)


def _sink(signals: pl.LazyFrame, out: Path) -> None:
    # Into a file opened at once (see `signals_sink`): once the driver has moved the dataset's
    # folder away (a failed run), no late task can create a part in it.
    write_signals(signals, out, engine="streaming")


def _rows(out: Path) -> int:
    return int(pl.scan_parquet(out).select(pl.len()).collect().item())


def _lead(before: tuple[Decimal | None, ...], schema: pl.Schema, *, scale: int) -> pl.LazyFrame:
    """The closes before a file as rows of its `schema`: their prices, every other column empty."""
    columns = {name: pl.Series(name, [None] * len(before), dtype=dtype) for name, dtype in schema.items()}
    prices = [None if close is None else units(close, scale) for close in before]
    columns["price"] = pl.Series("price", prices, dtype=schema["price"])
    return pl.DataFrame(columns).lazy()


def units(close: Decimal, scale: int) -> int:
    """`close` as a whole number of price units of 10**-scale (the plan's `price`)."""
    with localcontext(_EXACT):
        value = close.scaleb(scale)
    if not _whole(value):
        msg = f"close {close} is not a whole number of units of 10**-{scale}"
        raise ValueError(msg)
    return int(value)


@dataclass
class _Series:
    """One series' parts as they are being written, and how the series is written."""

    data: Input
    files: list[Input]
    pieces: list[tuple[Counts, Edges]]
    first: int  # the index of its first file among all files
    text: bool = False
    general: bool = False
    written: dict[int, Written] = field(default_factory=dict)  # by the file's index in the series

    def tasks(
        self,
        config: Config,
        folder: Path,
        width: int,
        which: list[int],
        *,
        swept: tuple[int, ...],
        means: bool,
    ) -> list[Task]:
        """The tasks of the files at `which`, as the series is now to be written (a sweep's: `swept`)."""
        files, data = self.files, self.data
        if self.text:
            files = [with_text_close(one) or one for one in files]
            data = with_text_close(data) or data
        the_shape = shape(data, config, timestamps=True)
        before = closes_before([edges for _, edges in self.pieces], config.window)
        return [
            Task(
                files[index],
                before[index],
                the_shape,
                folder / f"part-{self.first + index:0{width}}.parquet",
                general=self.general,
                windows=swept,
                means=means,
            )
            for index in which
        ]

    def settle(self, done: dict[int, Written]) -> list[int]:
        """Take the parts just written; the files to write again, as the local run writes the series."""
        self.written |= done
        if not self.text and any(one.text for one in done.values()):
            self.text, self.written = True, {}
            return self.with_rows()
        fast = [index for index, one in self.written.items() if one.fast]
        if fast and len(fast) < len(self.written):  # the local run takes the general path for all
            self.general = True
            return fast
        return []

    def with_rows(self) -> list[int]:
        """The files that have rows (a file of none has no part)."""
        return [index for index, (counts, _) in enumerate(self.pieces) if counts.rows]

    def check(self) -> None:
        """Each part has the rows its file was counted with; else the file changed meanwhile."""
        for index, one in self.written.items():
            counted_rows = self.pieces[index][0].rows
            if one.rows != counted_rows:
                path = self.files[index].parts[0].path
                msg = (
                    f"input file {path} changed while the job read it: {counted(counted_rows, 'row')} "
                    f"counted, then {counted(one.rows, 'row')} read for the signals; run the job again"
                )
                raise InputError(msg)


def write_dataset(
    series: list[tuple[Input, list[Input], list[tuple[Counts, Edges]]]],
    config: Config,
    folder: Path,
    *,
    write: Writer = write_here,
    windows: tuple[int, ...] = (),
    means: bool = False,
) -> None:
    """Write every file's part into `folder`: each series' files, counted with their pieces.

    Parts are named `part-00000.parquet` on, in the order of the local signals file's rows, so
    that the folder read as one (`pl.scan_parquet(folder)`) holds them in that order. A sweep's
    parts hold a signal column for each of its `windows` (and their rolling means with `means`),
    as a local sweep's signals file does; the pieces are then those of `config.window`, the largest.
    """
    width = max(5, len(str(sum(len(files) for _, files, _ in series) - 1)))
    states: list[_Series] = []
    first = 0
    for data, files, pieces in series:
        state = _Series(data, files, pieces, first)
        state.text = _read_as_text([edges for _, edges in pieces], shape(data, config).scale)
        states.append(state)
        first += len(files)
    pending = {index: state.with_rows() for index, state in enumerate(states)}
    while pending:
        tasks = {
            index: states[index].tasks(config, folder, width, which, swept=windows, means=means)
            for index, which in pending.items()
        }
        results = iter(write([task for each in tasks.values() for task in each], config))
        again = {}
        for index, which in pending.items():
            redo = states[index].settle({one: next(results) for one in which})
            if redo:
                again[index] = redo
        if again:
            log.debug(
                "signals of %s written again, as the local run writes them", counted(len(again), "series")
            )
        pending = again
    for state in states:
        state.check()


def _read_as_text(edges: list[Edges], scale: int) -> bool:
    """Whether some file's closes were read as text: more decimals than the series' types hold."""
    closes = [close for one in edges for close in (*one.head, *one.tail) if close is not None]
    with localcontext(_EXACT):
        return not all(_whole(close.scaleb(scale)) for close in closes)


def _whole(value: Decimal) -> bool:
    return value == value.to_integral_value()
