"""How a run goes, decided once and named: the `Route`, with the reason for each of its choices.

A run can go several ways: on this process, file by file with a cache, or on Dask; as one series
or one per hive folder; with its files staged oldest first or sorted; with a `group_by` column's
groups filtered, counted in batches or staged in buckets; with its signals file written on the
fast path or the general one. `decide` makes every such choice from facts it can name (the
config, the files' metadata, what was asked for), before a row is read; the few that wait on
the rows (how many groups a column holds) are made here too, by `counting` once the groups are
listed. Every threshold lives in `Limits`. The code that runs a route never decides again, and
tests choose a way by handing over a route (or limits), not by patching constants.

The route is logged once per run (`describe`) and shown, with the Polars queries, by `job.explain`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from signal_job.computing.plan import Shape, folder_values, partitions, shape
from signal_job.computing.signals import fast_window
from signal_job.computing.sweep_sums import narrow_sums
from signal_job.config import Config
from signal_job.errors import counted
from signal_job.partial import edge_rows
from signal_job.reading.inputs import Input, needs_times

_T = TypeVar("_T")


class Engine(enum.StrEnum):
    """Where the counting runs (Polars' own engine, streaming or in-memory, is another matter)."""

    LOCAL = "local"  # one scan in this process
    CACHE = "cache"  # file by file in this process, each file's counts kept in a folder
    DASK = "dask"  # file by file on a Dask cluster


class Staging(enum.StrEnum):
    """How rows come to be in time order before the plan reads them."""

    NONE = "none"  # as the files are
    REVERSE = "reverse"  # newest-first files staged, read back oldest first
    SORT = "sort"  # every row sorted by time on disk (`sort: true`)


class Groups(enum.StrEnum):
    """What a `group_by` names."""

    NONE = "none"
    FOLDERS = "folders"  # hive folders: one series per folder value
    COLUMN = "column"  # a column inside the files: its groups are taken apart (see `Counting`)


class Listing(enum.StrEnum):
    """How a `group_by` column's groups are listed, in order of first appearance."""

    COMPARE = "compare"  # each row compared with the few texts the first rows show
    HASH = "hash"  # every row's text counted in a hash table


class Counting(enum.StrEnum):
    """How the rows are counted."""

    SERIES = "series"  # each series in one query; series of hive folders one after another
    FILTERS = "filters"  # each group filtered from the rows, all sharing one scan
    BATCHES = "batches"  # batches in file order, each led by its groups' last rows
    BUCKETS = "buckets"  # whole groups staged in buckets, counted one bucket after another


class Signals(enum.StrEnum):
    """How the signals file is written."""

    NONE = "none"  # not asked for
    FAST = "fast"  # Int64 prices, exact Float64 means; the general path where a row is not vouched for
    GENERAL = "general"  # Int128 prices, for every row


@dataclass(frozen=True)
class Limits:
    """Every threshold a route is decided by, and the sizes its steps work in."""

    # A `group_by` column: up to `filtered_groups` groups of Parquet or Arrow files, each is
    # filtered from the rows (64 filters at 50M rows: 9.4 s against 19.6 s staged; 1,000 at 10M
    # rows: 26 s against 5.3 s; 60 groups at 1.2M rows: 178 MiB). CSV files, up to
    # `filtered_csv_groups`: each filter of a CSV scan holds rows as the others read (4 groups at
    # 10M rows: 6.0 s and 1.4 GiB, in batches 3.0 s and 553 MiB; 60 groups at 1.2M rows: 5.2 GiB,
    # in batches 262 MiB).
    filtered_groups: int = 64
    filtered_csv_groups: int = 0
    # More are counted in batches of `batch_rows` (1,000 groups at 10M rows: 495 MiB, against
    # 612 MiB in batches of 2**20, at the same speed) while at most `max_carried` rows are
    # carried from batch to batch; a batch is at least `batch_per_carried` times as long as the
    # rows it carries, which it sorts with its own.
    batch_rows: int = 1 << 18
    max_carried: int = 1 << 18
    batch_per_carried: int = 4
    # Else staged in buckets of at most `bucket_rows` rows (one group alone may be larger), at
    # most `max_writers` written at a time (each open writer holds buffers).
    bucket_rows: int = 1 << 20
    max_writers: int = 16
    # Groups whose texts the first `head_rows` rows all show are listed by comparison, up to
    # `few_texts` texts: each comparison costs about a twelfth of the hashed count.
    few_texts: int = 6
    head_rows: int = 10_000
    # Staging for time order holds one piece reversed, or one run sorted, in memory at once.
    piece_rows: int = 1 << 20
    run_rows: int = 1 << 21


@dataclass(frozen=True)
class Step(Generic[_T]):
    """One choice of a route, and why it was made."""

    choice: _T
    why: str


@dataclass(frozen=True)
class Route:
    """How one run goes; each step names its choice and its reason."""

    engine: Step[Engine]
    series: Step[int]  # series that share no window (hive folders of `group_by`), run in turn
    staging: Step[Staging]
    groups: Step[Groups]
    listing: Step[Listing] | None  # a `group_by` column only
    # None until a `group_by` column's groups are listed (see `counting`).
    counting: Step[Counting] | None
    signals: Step[Signals]
    limits: Limits = Limits()
    # A sweep's windows, counted together in one scan; None: a run, of the config's window alone.
    windows: Step[tuple[int, ...]] | None = None
    means: bool = False  # a sweep's signals file holds each window's rolling mean too
    narrow: bool = False  # a sweep's other windows from Int64 running sums (see `_windows`)

    @property
    def swept(self) -> tuple[int, ...]:
        """A sweep's windows, in the order asked; none on a run's route."""
        return self.windows.choice if self.windows is not None else ()

    @property
    def together(self) -> bool:
        """Whether the queries of several groups are collected together, sharing one scan."""
        return self.counting is None or self.counting.choice in (Counting.SERIES, Counting.FILTERS)

    def steps(self) -> dict[str, Step[Any] | None]:
        """The steps by name, in the order a run takes them."""
        steps: dict[str, Step[Any] | None] = {
            "engine": self.engine,
            "series": self.series,
            "staging": self.staging,
            "groups": self.groups,
            "listing": self.listing,
            "counting": self.counting,
            "signals": self.signals,
        }
        if self.windows is not None:
            steps["windows"] = self.windows
        return steps

    def as_dict(self) -> dict[str, Any]:
        """The route's choices, for the JSON log."""
        return {name: None if step is None else _plain(step.choice) for name, step in self.steps().items()}

    def counted_windows(self, window: int) -> tuple[int, ...]:
        """The windows this route counts, `window` (the config's) alone on a run's."""
        return self.windows.choice if self.windows is not None else (window,)


def _plain(choice: object) -> object:
    """A step's choice as JSON takes it: a number or windows as they are, an enum as its text."""
    return choice if isinstance(choice, int | tuple) else str(choice)


def decide(
    data: Input,
    config: Config,
    *,
    signals: bool = False,
    engine: Engine = Engine.LOCAL,
    cached: bool = False,
    limits: Limits = Limits(),
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> Route:
    """The route of a run over `data`, from what the config, the files and the request say.

    `engine` is the engine asked for: `Engine.DASK`, `Engine.CACHE` (a cache folder with the
    local engine) or `Engine.LOCAL`; `signals`, whether a signals file is asked for; `cached`,
    whether a cache folder is given (with Dask too). Nothing is read but the files' metadata
    (their headers and first rows, read when they were opened). Raises `ConfigError` where the
    config asks the local engine for what the files cannot give (`sort: true` or `duplicates:
    drop` without times); the engines that count file by file refuse those keys themselves,
    whatever the files. `windows`, a sweep's: counted together, `config.window` their largest;
    `means`, its signals file holds each window's rolling mean.
    """
    if windows is not None and config.window != max(windows):
        largest = max(windows)
        msg = f"a sweep's config window must be the largest of its windows, {largest}, not {config.window}"
        raise ValueError(msg)
    if engine is Engine.LOCAL:
        untimed = needs_times(data.parts, config.reading)
        if untimed is not None:
            raise untimed
    the_shape = shape(data, config, timestamps=signals)
    groups = _groups(data, config)
    column = groups.choice is Groups.COLUMN
    return Route(
        engine=_engine(engine, kept_per_file=cached or signals),
        series=_series(data, config),
        staging=staging(data, config),
        groups=groups,
        listing=_listing(limits) if column else None,
        counting=None if column else Step(Counting.SERIES, "no group_by column: each series in one query"),
        signals=_signals(config, the_shape, asked=signals, on=engine, swept=windows is not None),
        limits=limits,
        windows=None if windows is None else _windows(windows, the_shape.scale),
        means=means,
        narrow=windows is not None and narrow_sums(windows, the_shape.scale),
    )


def _windows(windows: tuple[int, ...], scale: int) -> Step[tuple[int, ...]]:
    others = (
        "differences of Int64 running sums (Int128, and a second scan, if a close is too large or has "
        "more than 8 decimals)"
        if narrow_sums(windows, scale)
        else "differences of Int128 running sums (windows too long for Int64)"
    )
    return Step(
        windows,
        f"a sweep of {counted(len(windows), 'window')}: each its own window sum in the one scan "
        f"(the largest's a rolling sum, the others' {others}); files, groups and batches sized for "
        f"the largest, {max(windows):,}",
    )


def forced(route: Route, **steps: Any) -> Route:
    """`route` with some steps chosen by the caller (a test), each said to be so."""
    chosen: dict[str, Any] = {name: Step(choice, "chosen by the caller") for name, choice in steps.items()}
    return replace(route, **chosen)


def _engine(asked: Engine, *, kept_per_file: bool) -> Step[Engine]:
    if asked is Engine.DASK:
        tasks = (
            "a task per file" if not in_shares(kept_per_file=kept_per_file) else "shares of consecutive files"
        )
        return Step(asked, f"asked for: the files counted on a Dask cluster, in {tasks}, then stitched")
    if asked is Engine.CACHE:
        return Step(asked, "a cache folder: files counted one by one, each file's counts kept")
    return Step(asked, "the default: one scan in this process")


def in_shares(*, kept_per_file: bool) -> bool:
    """Whether files counted on a cluster go in shares of consecutive files, one query a share.

    One query per file costs more (1.3x the work for 12 files), but a cache keeps each file's
    counts, and a signals dataset each file's part.
    """
    return not kept_per_file


def _series(data: Input, config: Config) -> Step[int]:
    series = len(partitions(data, config))
    if series > 1:
        return Step(series, f"group_by {config.group_by} is a hive folder key: one series per folder value")
    return Step(1, "one series")


def staging(data: Input, config: Config) -> Step[Staging]:
    """Whether `data`'s rows are staged before their plan: newest-first files reversed, or sorted."""
    if config.reading.sort:
        return Step(Staging.SORT, "sort: true: every row sorted by time on disk first")
    newest_first = sum(part.timestamp is not None and part.timestamp.descending for part in data.parts)
    if newest_first:
        files = "the file runs" if len(data.parts) == 1 else f"{newest_first} of {len(data.parts)} files run"
        return Step(Staging.REVERSE, f"{files} newest first: staged, then read oldest first")
    if data.has_timestamps:
        return Step(Staging.NONE, "the rows run oldest first as they are")
    return Step(Staging.NONE, "no time column: the rows are taken in file order")


def _groups(data: Input, config: Config) -> Step[Groups]:
    if config.group_by is None:
        return Step(Groups.NONE, "no group_by")
    if folder_values(data, config.group_by) is not None:
        return Step(Groups.FOLDERS, f"{config.group_by} names hive folders: each folder is one group")
    return Step(Groups.COLUMN, f"{config.group_by} is a column: its groups are taken apart")


def _listing(limits: Limits) -> Step[Listing]:
    if limits.few_texts == 0:
        return Step(Listing.HASH, "every row's text counted in a hash table")
    return Step(
        Listing.COMPARE,
        f"each row compared with the texts of the first {limits.head_rows:,} rows if they show at most "
        f"{limits.few_texts}, else (or if a later row shows another) counted in a hash table",
    )


def compares(limits: Limits, texts: int) -> bool:
    """Whether a column whose first rows show `texts` texts is listed by comparison with them."""
    return texts <= limits.few_texts


def counting(
    route: Route, *, groups: int, window: int, signals: bool, whole_rows: bool, csv: bool = False
) -> Route:
    """The route once a `group_by` column is listed: how its `groups` are counted.

    `csv`: some of the files are CSV (see `Limits.filtered_csv_groups`). A counting the caller
    chose (see `forced`) stays.
    """
    if route.counting is not None and route.counting.choice is not Counting.SERIES:
        return route
    limits = route.limits
    most = limits.filtered_csv_groups if csv else limits.filtered_groups
    if 0 < groups <= most:
        why = f"{counted(groups, 'group')}, at most {most}: each filtered from one scan"
        return replace(route, counting=Step(Counting.FILTERS, why))
    # Filters of a CSV scan hold rows as the others read them (see `Limits.filtered_csv_groups`).
    csv_note = "CSV, never filtered apart: " if csv and 0 < groups <= limits.filtered_groups else ""
    carried = groups * carried_rows(window)
    if not signals and not whole_rows and carried <= limits.max_carried:
        why = (
            f"{csv_note}{counted(groups, 'group')}, {carried:,} rows carried from batch to batch (at most "
            f"{limits.max_carried:,}): counted in batches of {batch_rows(limits, groups, window):,} rows"
        )
        return replace(route, counting=Step(Counting.BATCHES, why))
    if signals:
        reason = "a signals file"
    elif whole_rows:
        reason = "duplicates: drop"
    else:
        reason = f"{carried:,} rows carried (over {limits.max_carried:,})"
    why = (
        f"{csv_note}{counted(groups, 'group')}, {reason}: whole groups staged in buckets of "
        f"{limits.bucket_rows:,} rows"
    )
    return replace(route, counting=Step(Counting.BUCKETS, why))


def carried_rows(window: int) -> int:
    """How many of each group's last rows lead it into the next batch: its windows, and its time before."""
    return max(edge_rows(window), 1)


def batch_rows(limits: Limits, groups: int, window: int) -> int:
    """Rows per batch: `limits.batch_rows`, or more where many rows are carried."""
    return max(limits.batch_rows, limits.batch_per_carried * groups * carried_rows(window))


def fast_fits(config: Config, the_shape: Shape) -> str | None:
    """Why the fast path cannot write these rows' signals file; None where it can.

    It needs one series whose time order is proven on parsed times, closes of one kind, and a
    window whose sums stay exact in Float64.
    """
    if config.group_by is not None:
        return "group_by"
    if the_shape.whole_rows:
        return "duplicates: drop"
    if not (the_shape.keys == 0 or the_shape.parsed_order):
        return "time order is checked on the times as written"
    if the_shape.float_close is None:
        return "some files' closes are floats and others decimals"
    if not fast_window(config.window):
        return f"a window of {config.window:,} rows is too long for exact Float64 means"
    return None


def takes_fast_path(route: Route, config: Config, the_shape: Shape) -> bool:
    """Whether rows of `the_shape` are written on the fast path on this route."""
    return route.signals.choice is Signals.FAST and fast_fits(config, the_shape) is None


def _signals(
    config: Config, the_shape: Shape, *, asked: bool, on: Engine, swept: bool = False
) -> Step[Signals]:
    if not asked:
        return Step(Signals.NONE, "no signals file asked for")
    if on is Engine.CACHE:
        return Step(Signals.NONE, "not written with a cache")
    where = "a part per file" if on is Engine.DASK else "one file"
    if swept:
        return Step(Signals.GENERAL, f"a sweep: a signal column per window, exact Int128 sums, {where}")
    unfit = fast_fits(config, the_shape)
    if unfit is not None:
        return Step(Signals.GENERAL, f"{unfit}: exact Int128 sums for every row, {where}")
    return Step(
        Signals.FAST,
        f"Int64 prices, exact Float64 means, {where}; the general path if a row is not vouched for",
    )


def describe(route: Route) -> str:
    """The route on one line, for the log."""
    parts = [f"engine {route.engine.choice}"]
    if route.series.choice > 1:
        parts.append(f"{route.series.choice} series")
    parts.append(f"staging {route.staging.choice}")
    if route.groups.choice is not Groups.NONE:
        parts.append(f"groups by {route.groups.choice}")
    if route.listing is not None:
        parts.append(f"listed by {route.listing.choice}")
    parts.append(f"counted by {route.counting.choice}" if route.counting else "counted as the groups decide")
    parts.append(f"signals {route.signals.choice}")
    if route.windows is not None:
        parts.append(f"{counted(len(route.windows.choice), 'window')} swept")
    return "; ".join(parts)


def explained(route: Route) -> str:
    """The route, a step a line with its reason, to explain a run (`job.explain`)."""
    lines = []
    for name, step in route.steps().items():
        if step is None:
            if name == "counting":
                lines.append(f"  {name + ':':10} {_pending(route)}")
            continue
        choice = ", ".join(map(str, step.choice)) if isinstance(step.choice, tuple) else step.choice
        lines.append(f"  {name + ':':10} {choice} ({step.why})")
    return "\n".join(lines)


def _pending(route: Route) -> str:
    limits = route.limits
    return (
        f"decided once the groups are listed: filters for at most {limits.filtered_groups}; batches "
        f"while at most {limits.max_carried:,} rows are carried and no signals file or duplicates: drop; "
        "else buckets"
    )
