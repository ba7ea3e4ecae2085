"""Run the plan: collect its counts (and sink its signals) in one scan, and handle flagged rows.

(The line-by-line diagnosis in `lines` runs plans of its own, only when this one fails or flags.)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

import polars as pl

from signal_job.computing import groups
from signal_job.computing.background import in_background
from signal_job.computing.ladder import ScanFailed, climbed, explain_suspects, without_blank_lines
from signal_job.computing.order import in_time_order
from signal_job.computing.plan import (
    GROUP,
    SIGNAL_COLUMNS,
    SIGNALS_METADATA,
    Plan,
    Runs,
    Shape,
    added_up,
    all_rows,
    fast_counts,
    kept_columns,
    part_rows,
    partitions,
    plan,
    plan_rows,
    shape,
)
from signal_job.computing.route import Counting, Groups, Route, Signals, counting, decide, takes_fast_path
from signal_job.computing.staging import staging_folder, unwritable, writing_staged
from signal_job.computing.sweep_sums import window_columns
from signal_job.config import Config
from signal_job.errors import ConfigError, InputError, counted, names_text
from signal_job.formats import FileFormat, sink
from signal_job.partial import MAX_WINDOW, Counts, Edges, edge_rows
from signal_job.reading.headers import normal_name
from signal_job.reading.inputs import Input, check_folder_column

log = logging.getLogger(__name__)

# Polars' own engine (where the counting runs is the route's `Engine`).
PolarsEngine = Literal["streaming", "in-memory"]
_INT128_MAX = 2**127 - 1


GroupCounts = list[tuple[str | None, Counts]]  # per `group_by` value, in order of first appearance


@dataclass(frozen=True)
class Result:
    """The counts of a run: over all rows, and per `group_by` value (empty if not grouped).

    Those of the config's window; a sweep's route counts more windows, each in `windows`.
    """

    total: Counts
    groups: GroupCounts
    edges: Edges | None = None  # the closes at both ends of the series, if asked for
    # Every window the route counts (the config's too), by window: its counts over all rows and per group.
    windows: dict[int, tuple[Counts, GroupCounts]] = field(default_factory=dict)


class SignalsNotWritten(Exception):
    """The signals file could not be written (the input read fine)."""

    def __init__(self, error: Exception) -> None:
        """Keep the writer's `error` for the message."""
        super().__init__(str(error))
        self.error = error

    def __reduce__(self) -> tuple[type[SignalsNotWritten], tuple[Exception]]:
        """Pickled with its error (it crosses from a Dask worker), not with the message alone."""
        return SignalsNotWritten, (self.error,)


def run(
    data: Input,
    config: Config,
    *,
    signals: Path | None = None,
    engine: PolarsEngine = "streaming",
    edges: bool = False,
    route: Route | None = None,
    signals_format: FileFormat = FileFormat.PARQUET,
) -> Result:
    """Count the signals of `data`, writing each row's signal to `signals` if given, in one scan.

    The run takes `route`, or the one `route.decide` gives it. With `edges`, the result also
    holds the closes at both ends of a single series (see `partial`), so that series can be
    stitched to the ones before and after it. Raises `InputError` naming the file and line of
    a bad row. `signals` is written as `signals_format`, and may be left half written on error:
    the caller writes to a temporary file.
    """
    if signals is not None and signals_format is not FileFormat.PARQUET:
        return _converted(
            lambda staged: run(data, config, signals=staged, engine=engine, edges=edges, route=route),
            signals,
            signals_format,
            engine=engine,
        )
    check_group(data, config)
    _check_kept(data, config)
    if route is None:
        route = decide(data, config, signals=signals is not None)
    series = partitions(data, config)
    if len(series) == 1:
        result = _run_series(data, config, route, signals=signals, engine=engine, edges=edges)
        if result.total.rows == 0 and not edges:  # one file of several may have no rows
            raise no_rows(data)
        return result
    if edges:
        msg = f"input {data.spec} holds {len(series)} series; edges are those of one series"
        raise ValueError(msg)
    results = _run_each(series, config, route, signals=signals, engine=engine)
    windows = {
        window: (
            sum((result.windows[window][0] for result in results), Counts(0, 0, 0, 0)),
            [group for result in results for group in result.windows[window][1]],
        )
        for window in route.counted_windows(config.window)
    }
    total, groups = windows[config.window]
    if total.rows == 0:
        raise no_rows(data)
    return Result(total, groups, windows=windows)


def _converted(
    run: Callable[[Path], Result], signals: Path, kind: FileFormat, *, engine: PolarsEngine
) -> Result:
    """`run` writing its Parquet signals file in a staging folder, then that file streamed into `signals`.

    Every route writes Parquet, which the fast path reads back for its counts; a CSV or Arrow
    file is one more streamed pass over the signals alone, never over the input.
    """
    with staging_folder() as folder:
        staged = folder / "signals.parquet"
        try:
            result = run(staged)
        except SignalsNotWritten as exc:  # what could not be written is under TMPDIR
            problem = unwritable(exc.error)
            if problem is not None:
                raise problem from exc
            raise
        try:
            with signals.open("wb") as handle:
                frame = pl.scan_parquet(staged, glob=False)
                in_background(lambda: sink(frame, handle, kind).collect(engine=engine))
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SignalsNotWritten(exc) from exc
    return result


def queries(data: Input, config: Config, route: Route) -> list[tuple[str, pl.LazyFrame]]:
    """The first Polars queries a run of `data` on `route` collects, named, to explain it (`job.explain`).

    Over its first series, its rows as the files give them: rows that are staged first are read
    from the staged files instead, by the same plan. A `group_by` column's groups are listed first;
    how they are counted waits on that listing.
    """
    check_group(data, config)  # as a run does: the plan assumes every file has the column
    series = partitions(data, config)[0]
    signals = route.signals.choice is not Signals.NONE
    the_shape = shape(series, config, timestamps=signals)
    if route.groups.choice is Groups.COLUMN:
        rows = all_rows(series, the_shape)
        return [("listing the groups", groups.listing_query(rows))]
    fast = signals and takes_fast_path(route, config, the_shape)
    the_plan = plan(
        series,
        config,
        the_shape=the_shape,
        fast=fast,
        windows=route.swept,
        means=route.means,
        narrow=route.narrow,
    )
    if the_plan.fast_signals is not None:
        return [("signals, fast path", the_plan.fast_signals)]
    named = [("counts", the_plan.counts)]
    if signals:
        named.append(("signals", the_plan.signals))
    if the_plan.repeats is not None:
        named.append(("repeats", the_plan.repeats))
    return named


def _run_each(
    series: list[Input], config: Config, route: Route, *, signals: Path | None, engine: PolarsEngine
) -> list[Result]:
    """Run one series after another, each in flat memory; then join their signals files."""
    if signals is None:
        return [_run_series(part, config, route, signals=None, engine=engine) for part in series]
    with staging_folder() as folder:
        pieces = _pieces(folder, len(series))
        try:
            results = [
                _run_series(part, config, route, signals=piece, engine=engine)
                for part, piece in zip(series, pieces, strict=True)
            ]
        except SignalsNotWritten as exc:  # what could not be written is a piece, under TMPDIR
            staged = unwritable(exc.error)
            if staged is not None:
                raise staged from exc
            raise
        try:
            _join(pieces, signals, engine=engine)
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise SignalsNotWritten(exc) from exc
    return results


def _pieces(folder: Path, count: int) -> list[Path]:
    """The files of `count` signals files to be joined, in a staging folder (see `_join`)."""
    return [folder / f"{index}.parquet" for index in range(count)]


def _join(pieces: list[Path], signals: Path, *, engine: PolarsEngine) -> None:
    """The signals files `pieces`, one after the other, written into `signals`."""
    write_signals(pl.scan_parquet(pieces, glob=False), signals, engine=engine)


@contextmanager
def signals_sink(query: pl.LazyFrame, signals: Path) -> Iterator[pl.LazyFrame]:
    """A lazy sink of `query` into the signals file `signals`, marked as one: to collect with others.

    Polars writes into a file this process opened, never one it creates by name: a run stopped
    mid-query can remove its temporary file, and no late write brings it back.
    """
    with signals.open("wb") as handle:
        yield query.sink_parquet(handle, metadata=SIGNALS_METADATA, lazy=True)


def write_signals(query: pl.LazyFrame, signals: Path, *, engine: PolarsEngine) -> None:
    """Write `query` into the signals file `signals` (see `signals_sink`)."""
    with signals_sink(query, signals) as sink:
        in_background(lambda: sink.collect(engine=engine))


def _run_series(
    data: Input,
    config: Config,
    route: Route,
    *,
    signals: Path | None,
    engine: PolarsEngine,
    edges: bool = False,
) -> Result:
    """Run the plan over one series, through the ladder's second rung and its explanation (`ladder.climbed`).

    `_run` climbs the first rung, `_collect` the third.
    """
    return climbed(
        data,
        lambda each: _run(each, config, route, signals=signals, engine=engine, edges=edges),
        alone=lambda part: _collect(part, config, route, signals=None, engine="streaming"),
    )


def _run(
    data: Input,
    config: Config,
    route: Route,
    *,
    signals: Path | None,
    engine: PolarsEngine,
    edges: bool = False,
) -> Result:
    frame, repeats = _collect(data, config, route, signals=signals, engine=engine)
    # Files with nothing but blank lines after the header are not scanned (`reading.blank`): their
    # lines count here. (Scanned, a file of several tickers would have left them out as rows of none.)
    blank_lines = sum(part.blank_lines or 0 for part in data.parts if part.tickers == 1)
    if sum(frame["suspect"]):
        # Blank lines, or malformed rows: the ladder's first rung, in one streaming pass; any
        # row still flagged is malformed.
        rows_with_blank_lines = sum(frame["rows"]) + repeats
        data = without_blank_lines(data)
        frame, repeats = _collect(data, config, route, signals=signals, engine=engine)
        if sum(frame["suspect"]):
            raise explain_suspects(data)
        blank_lines += rows_with_blank_lines - sum(frame["rows"]) - repeats
    frame, repeats = _in_time_order(data, config, route, frame, repeats, signals=signals, engine=engine)
    groups = [(row.pop("group", None), row) for row in frame.iter_rows(named=True)]
    _check_counts(data, groups, window=config.window)
    windows = {}
    for window in route.counted_windows(config.window):  # a run's one window, as each of a sweep's
        full, signaled = window_columns(window, config.window)
        counts = [(name, _counted_row(row, full=full, signaled=signaled)) for name, row in groups]
        total = sum((c for _, c in counts), Counts(0, 0, 0, 0, blank_lines=blank_lines, repeats=repeats))
        windows[window] = (total, counts if config.group_by else [])
    total, counts = windows[config.window]
    ends = _edges(data, config, route, total.rows + total.repeats, engine=engine) if edges else None
    return Result(total, counts, ends, windows)


def _counted_row(row: dict[str, int], *, full: str = "full_windows", signaled: str = "signals") -> Counts:
    """The `Counts` of one row of a counts query (the whole series', or one group's).

    `full` and `signaled` name the columns of the window counted (a sweep's other windows').
    """
    return Counts(row["rows"], row[full], row["missing"], row[signaled], nonpositive=row["nonpositive"])


def _edges(data: Input, config: Config, route: Route, rows: int, *, engine: PolarsEngine) -> Edges:
    """The closes (and times) of the first and last rows of one series, `rows` long, in time order."""
    reach = edge_rows(config.window)
    take = max(reach, 1)  # one at least, for the first and last times
    the_shape = shape(data, config, timestamps=True)
    times = ["timestamp"] if the_shape.timestamps else []
    with in_time_order(data, config, the_shape, limits=route.limits) as frames:
        files = frames if frames is not None else [part_rows(part, the_shape) for part in data.parts]
        picked = [frame.select("price", *times) for frame in files]
        # Two collects, not one: collected together, the two would share one full scan.
        head = in_background(lambda: pl.concat(picked).head(take).collect(engine=engine))
        tail = _tail(picked, rows, take, engine=engine)

    def closes(values: list[int | None]) -> tuple[Decimal | None, ...]:
        # From text: exact at any number of digits, where arithmetic would round past 28.
        return tuple(None if value is None else Decimal(f"{value}e-{the_shape.scale}") for value in values)

    first = head["timestamp"][0] if times and head.height else None
    last = tail["timestamp"][-1] if times and tail.height else None
    # `take` rows were read at each end for the times; the closes are the `reach` nearest the end.
    ends = tail["price"].to_list()
    return Edges(
        head=closes(head["price"].to_list()[:reach]),
        tail=closes(ends[max(0, len(ends) - reach) :] if reach else []),
        first=first,
        last=last,
    )


def _tail(files: list[pl.LazyFrame], rows: int, take: int, *, engine: PolarsEngine) -> pl.DataFrame:
    """The last `take` of the `rows` rows of `files` in turn, read from the last files only.

    A slice reaches into a single file without parsing the rows before it; over several files
    it parses them all (measured 1.3 s for 12 files of 1M rows), so each file from the last is
    counted (a fast count) and sliced alone until enough rows are found.
    """

    def collected(query: pl.LazyFrame) -> pl.DataFrame:
        return in_background(lambda: query.collect(engine=engine))

    if len(files) == 1:
        return collected(files[0].slice(max(0, rows - take), take))
    found: list[pl.DataFrame] = []
    wanted = take
    for frame in reversed(files):
        if wanted == 0:
            break
        length = collected(frame.select(pl.len())).item()
        found.insert(0, collected(frame.slice(max(0, length - wanted), wanted)))
        wanted -= found[0].height
    return pl.concat(found)


def _in_time_order(
    data: Input,
    config: Config,
    route: Route,
    frame: pl.DataFrame,
    repeats: int,
    *,
    signals: Path | None,
    engine: PolarsEngine,
) -> tuple[pl.DataFrame, int]:
    """The counts of rows proven in time order; else raise the error naming the first row out of it."""
    in_order = frame["in_order"].all() and not frame["times_missing"].sum()
    if in_order and not frame["times_odd"].sum():
        return frame, repeats
    if shape(data, config).width is not None:
        # Times compared as text, some not written like the first ones (or out of order as
        # text): text order is no proof either way; the parsed times decide. With `sort: true`
        # they also order the rows, so that pass counts (and writes the signals) again.
        again, again_repeats = _collect(
            data,
            config,
            route,
            signals=signals if config.reading.sort else None,
            engine=engine,
            parse_times=True,
        )
        if again["in_order"].all() and not again["times_missing"].sum():
            return again, again_repeats
    from signal_job.computing import order  # noqa: PLC0415 - rarely needed: kept off the start-up path

    raise order.explain(data, config)


def _collect(
    data: Input,
    config: Config,
    route: Route,
    *,
    signals: Path | None,
    engine: PolarsEngine,
    parse_times: bool = False,
    allow_narrow: bool = True,
) -> tuple[pl.DataFrame, int]:
    """The counts, one row per group, and the rows left out as repeats; the signals file too if asked.

    Files that run newest first, or every file with `sort: true`, are staged oldest first first.
    A sweep counts its other windows in Int64 where its route says so (`route.narrow`), and
    again in Int128 (`allow_narrow` off) if some close does not fit that (`plan.plan_rows`): one
    more scan, for closes with a ninth decimal or past 9.2e10 over the window.
    """
    the_shape = shape(data, config, timestamps=signals is not None, parse_times=parse_times)
    try:
        with (
            in_time_order(data, config, the_shape, limits=route.limits) as ordered,
            _in_series(data, config, route, the_shape, ordered, signals=signals, engine=engine) as (
                series,
                together,
            ),
        ):
            if isinstance(series, pl.DataFrame):  # counted already, batch by batch
                return _filled(series), 0
            on_fast_path = signals is not None and takes_fast_path(route, config, the_shape)
            plans = [
                plan(
                    data,
                    config,
                    the_shape=the_shape,
                    frames=frames,
                    fast=on_fast_path,
                    runs=runs,
                    windows=route.swept,
                    means=route.means,
                    narrow=allow_narrow and route.narrow,
                )
                for frames, runs in series
            ]
            fast_signals = plans[0].fast_signals
            if signals is not None and fast_signals is not None:
                fast = _fast(fast_signals, the_shape, signals, engine=engine)
                if fast is not None:
                    return fast, 0
            queries = _queries(plans)
            if signals is None:
                results = _counted(plans, together=together, engine=engine)
            elif len(plans) > 1:
                results = _sink_each(plans, queries, signals, engine=engine)
            else:
                with signals_sink(plans[0].signals, signals) as sink:
                    results = in_background(lambda: pl.collect_all([sink, *queries], engine=engine))[1:]
    except (pl.exceptions.PolarsError, OSError) as exc:
        if signals is None:
            raise ScanFailed(exc) from exc
        # Reading or writing? If the counts alone collect, the writing failed (e.g. disk full).
        _collect(data, config, route, signals=None, engine=engine)
        raise SignalsNotWritten(exc) from exc
    counts = _filled(pl.concat(results[: len(plans)]))
    if allow_narrow and "not_narrow" in counts.columns and counts["not_narrow"].sum():
        log.info(
            "%s too large for Int64 sums or with more than 8 decimals: counting again in Int128",
            counted(int(counts["not_narrow"].sum()), "close"),
        )
        return _collect(
            data, config, route, signals=signals, engine=engine, parse_times=parse_times, allow_narrow=False
        )
    return counts, sum(int(repeats.item()) for repeats in results[len(plans) :])


def _filled(counts: pl.DataFrame) -> pl.DataFrame:
    """`counts` with nothing counted as 0 (a sum over no rows is null)."""
    return counts.with_columns(pl.exclude("in_order", "group").fill_null(0))


def _queries(plans: list[Plan]) -> list[pl.LazyFrame]:
    """The plans' counts, then their repeats (see `_collect`)."""
    return [*(each.counts for each in plans), *(each.repeats for each in plans if each.repeats is not None)]


def _counted(plans: list[Plan], *, together: bool, engine: PolarsEngine) -> list[pl.DataFrame]:
    """The results of `_queries`: collected together (sharing one scan), or plan after plan."""

    def collected(some: list[Plan]) -> list[pl.DataFrame]:
        return in_background(lambda: pl.collect_all(_queries(some), engine=engine))

    if together:
        return collected(plans)
    each = [collected([one]) for one in plans]
    return [results[0] for results in each] + [repeats for results in each for repeats in results[1:]]


def _sink_each(
    plans: list[Plan], queries: list[pl.LazyFrame], signals: Path, *, engine: PolarsEngine
) -> list[pl.DataFrame]:
    """Collect `queries` while each plan writes its signals, all from one scan; then join them.

    Each plan's signals go to a file of their own, opened here (see `_collect`), in a staging
    folder, so that a run killed meanwhile leaves nothing the next run does not remove.
    """
    with staging_folder() as folder, ExitStack() as files:
        pieces = _pieces(folder, len(plans))
        handles = [files.enter_context(piece.open("wb")) for piece in pieces]
        sinks = [
            each.signals.sink_parquet(handle, compression=groups.COMPRESSION, lazy=True)
            for each, handle in zip(plans, handles, strict=True)
        ]
        with writing_staged():  # the pieces; the signals file is written by `_join`
            results = in_background(lambda: pl.collect_all([*sinks, *queries], engine=engine))[len(sinks) :]
        files.close()
        _join(pieces, signals, engine=engine)
    return results


@contextmanager
def _in_series(
    data: Input,
    config: Config,
    route: Route,
    the_shape: Shape,
    frames: list[pl.LazyFrame] | None,
    *,
    signals: Path | None,
    engine: PolarsEngine,
) -> Iterator[tuple[list[tuple[list[pl.LazyFrame] | None, Runs]] | pl.DataFrame, bool]]:
    """The frames to plan, each with how its rows come, and whether to collect them together.

    One series, unless a `group_by` column's groups are taken apart (see `groups`), as the route
    counts them once they are listed: few groups are each filtered from the rows, collected
    together to share one scan; more are counted batch by batch (the counts are then given
    instead of frames), or else staged in buckets of whole groups, counted one bucket after
    another (a signals file reads them as one).
    """
    if route.groups.choice is not Groups.COLUMN:
        yield [(frames, Runs.ONE)], route.together
        return
    rows = all_rows(data, the_shape, frames)
    assert route.listing is not None  # noqa: S101 - a `group_by` column's route lists its groups
    found = groups.first_appearance(rows, listing=route.listing.choice, limits=route.limits, engine=engine)
    route = counting(
        route,
        groups=found.height,
        window=config.window,
        signals=signals is not None,
        whole_rows=the_shape.whole_rows,
        csv=any(part.layout is not None for part in data.parts),
    )
    assert route.counting is not None  # noqa: S101 - decided just now
    log.info("groups of %s: %s (%s)", config.group_by, route.counting.choice, route.counting.why)
    if route.counting.choice is Counting.FILTERS:
        yield [([group_rows], Runs.ONE) for group_rows in groups.each_group(rows, found)], route.together
        return
    apart = signals is None
    if apart:  # no signals file: close as written is not needed (-1.8 s at 50M rows staged)
        rows = rows.drop("close")
    if route.counting.choice is Counting.BATCHES:
        yield _counted_in_batches(rows, found, config, route, the_shape, engine=engine), route.together
        return
    with groups.in_group_runs(rows, found, limits=route.limits, engine=engine, apart=apart) as runs:
        frames_of: list[tuple[list[pl.LazyFrame] | None, Runs]] = (
            [([bucket], Runs.GROUPS) for bucket in runs] if apart else [(runs, Runs.GROUPS)]
        )
        yield frames_of, route.together


def _counted_in_batches(
    rows: pl.LazyFrame,
    found: pl.DataFrame,
    config: Config,
    route: Route,
    the_shape: Shape,
    *,
    engine: PolarsEngine,
) -> pl.DataFrame:
    """The counts of each of the groups `found` in `rows`, taken batch by batch (see `groups.in_batches`).

    Never with `duplicates: drop`: a carried row may be a repeat, left out in its own batch.
    """
    counts: list[pl.DataFrame] = []

    def counted(batch: pl.DataFrame, *, narrow: bool) -> pl.DataFrame:
        the_plan = plan_rows(
            batch.lazy(), config, the_shape, runs=Runs.BATCH, windows=route.swept, narrow=narrow
        )
        batch_counts = the_plan.counts.collect(engine="in-memory")
        if narrow and batch_counts["not_narrow"].sum():  # see `_collect`
            return counted(batch, narrow=False)
        return batch_counts

    def count(batch: pl.DataFrame) -> None:
        counts.append(counted(batch, narrow=route.narrow))

    groups.in_batches(rows, found, count, window=config.window, limits=route.limits, engine=engine)
    return added_up(counts, found[GROUP].to_list())


def _fast(
    fast_signals: pl.LazyFrame, the_shape: Shape, signals: Path, *, engine: PolarsEngine
) -> pl.DataFrame | None:
    """Write the signals on the fast path and read the counts back from the file written.

    One scan of the input, not two. None if some row needs the general path (which then
    writes the file again: the ladder's third rung, see `ladder`).
    """
    write_signals(fast_signals, signals, engine=engine)
    counts = in_background(
        lambda: fast_counts(pl.scan_parquet(signals, glob=False), the_shape).collect(engine=engine)
    )
    untrusted = int(counts["untrusted"].item())
    if untrusted:
        log.debug("%d rows need the general path for the signals", untrusted)
        return None
    return counts.drop("untrusted")


def _check_kept(data: Input, config: Config) -> None:
    """Refuse a kept column that the signals have already, or that a file lacks, before any work."""
    kept = kept_columns(data, config)
    taken = {*SIGNAL_COLUMNS, *([normal_name(config.group_by)] if config.group_by else [])}
    for name in kept:
        if normal_name(name) in taken:
            msg = f"column {name!r} cannot be kept beside the signals: they have a column of that name"
            raise ConfigError(msg)
        for part in data.parts:
            if part.column(name) is None:
                found = names_text(part.column_names())
                msg = f"input file {part.path} has no column {name!r} to keep; columns found: {found}"
                raise InputError(msg)


def check_group(data: Input, config: Config) -> None:
    """Refuse a `group_by` that the input cannot give, or tickers in one file without one, before any work."""
    several = next((part for part in data.parts if part.tickers > 1), None)
    if several is not None and (config.group_by is None or normal_name(config.group_by) != "ticker"):
        tickers = names_text(part.partition["ticker"] for part in data.parts if part.path == several.path)
        msg = (
            f"input file {several.path} holds {several.tickers} tickers ({tickers}), each its own series; "
            "set group_by: ticker in the config"
        )
        raise InputError(msg)
    if config.group_by is None:
        return
    if config.group_by.lower() in SIGNAL_COLUMNS:
        msg = (
            f"config key 'group_by' cannot be {config.group_by!r}: the signals file has a column of that name"
        )
        raise ConfigError(msg)
    for part in data.parts:
        if part.column(config.group_by) is None:
            found = names_text(part.column_names())
            msg = (
                f"input file {part.path} has no column {config.group_by!r} to group by; "
                f"columns found: {found}"
            )
            raise InputError(msg)
    check_folder_column(data, config.group_by)


def no_rows(data: Input) -> InputError:
    """The error of an input with no rows in any file."""
    if len(data.parts) > 1:
        return InputError(f"input {data.spec} has no rows in any of its {len(data.parts)} files")
    single = data.parts[0]
    what = "has a header but no data rows" if single.layout else "has no rows"
    return InputError(f"input file {single.path} {what}")


def _check_counts(data: Input, groups: list[tuple[object, dict[str, int]]], *, window: int) -> None:
    # Int128 wraps around silently; the sums are exact while window * max|price| fits.
    for _, row in groups:
        if row["largest_price"] * min(window, MAX_WINDOW, row["rows"]) > _INT128_MAX:
            msg = f"input {data.spec} has close values too large for an exact sum over {window} rows"
            raise InputError(msg)
    unreadable = sum(row["unreadable_timestamps"] for _, row in groups)
    if unreadable:
        from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

        raise lines.explain_timestamps(data.parts, unreadable)
