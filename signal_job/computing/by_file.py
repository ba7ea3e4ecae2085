"""Count an input file by file: each file alone, then the windows across files stitched exactly.

Each file is counted alone by the local pipeline (its own blank lines, time order and errors,
named with its file and line), which also returns its edges (`partial`). The files are taken in the
order the local run reads them; files that overlap in time are refused; the windows that cross
each boundary are counted from the edges. The result is the local run's, exactly.

Counting file by file lets the files be counted elsewhere (`cluster`: one Dask task per file)
and each file's counts be kept (`cache`), so that a re-run over a grown folder reads only the
new files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from signal_job import partial
from signal_job.computing import cache
from signal_job.computing.dataset import Writer, write_dataset, write_here
from signal_job.computing.pipeline import Result, no_rows, run
from signal_job.computing.plan import folder_values, partitions
from signal_job.computing.route import decide, in_shares
from signal_job.config import Config
from signal_job.errors import ConfigError, InputError, counted
from signal_job.options import Option
from signal_job.partial import Counts, Piece, overlap, within
from signal_job.progress import steps
from signal_job.reading.inputs import Input

log = logging.getLogger(__name__)

# Counts inputs of one series each (a file, or consecutive files), in order: here, or on a cluster.
Counter = Callable[[list[Input], Config], list[Piece]]
_Item = TypeVar("_Item")


def count_file(data: Input, config: Config) -> Piece:
    """One file's own counts and its edges (or those of consecutive files of one series, together)."""
    result = run(data, config, edges=True)
    assert result.edges is not None  # noqa: S101 - asked for
    return result.total, result.edges


def count_here(files: list[Input], config: Config) -> list[Piece]:
    """Each file counted in this process, one after another (also a worker's task, on its share)."""
    pieces = []
    with steps("counting files", len(files)) as advance:  # a bar only where enabled: never on a worker
        for one in files:
            pieces.append(count_file(one, config))
            advance(1)
    return pieces


def combine(files: list[Input], pieces: list[Piece], window: int) -> Counts:
    """The counts of a series from those of its files counted alone, in order, and their edges.

    Theirs, plus the windows across the files' boundaries (`partial.combine`); files that overlap
    in time are refused.
    """
    edges = [found for _, found in pieces]
    clash = overlap(edges)
    if clash is not None:
        before, after = files[clash - 1].parts[-1], files[clash].parts[0]
        msg = (
            f"input files overlap in time: {after.path} starts at {edges[clash].first} but "
            f"{before.path} ends at {edges[clash - 1].last}; the job computes windows only over rows "
            f"in time order: remove the overlap, or run without {Option.ENGINE.given('dask')} and "
            f"{Option.CACHE}, with sort: true (and duplicates: drop if the files repeat rows)"
        )
        raise InputError(msg)
    return partial.combine(pieces, window)


def run_by_file(
    data: Input,
    config: Config,
    *,
    count: Counter = count_here,
    kept: Path | None = None,
    why: str,
    signals: Path | None = None,
    write: Writer = write_here,
    tasks: Callable[[], int] | None = None,
) -> Result:
    """The counts of `data`, file by file with `count`; with `kept`, a cache folder of files' counts.

    With `signals`, a folder, each file's signals are then written there by `write` (see
    `dataset`): all files are read again, those the cache kept too. `why` names what asked for
    this (an option), for the messages that refuse what it cannot do. With `tasks` (how many
    tasks count at once), when nothing is kept or written per file, each series is counted in
    about that many shares of consecutive files instead, each in one query: one query per file
    costs more (measured 1.3x the work for 12 files).
    """
    check_config(config, data, why=why)
    series = partitions(data, config)
    if tasks is not None and in_shares(kept_per_file=kept is not None or signals is not None):
        files = _in_shares(series, tasks())
    else:
        files = [[each.replace_parts([part]) for part in each.parts] for each in series]
    flat = [one for each in files for one in each]
    found = [cache.load(kept, one, config) if kept is not None else None for one in flat]
    missing = [one for one, piece in zip(flat, found, strict=True) if piece is None]
    if kept is not None:
        log.info(
            "cache %s: %s of %s counted before", kept, len(flat) - len(missing), counted(len(flat), "file")
        )
    computed = iter(count(missing, config) if missing else [])
    pieces: list[Piece] = []
    for one, before in zip(flat, found, strict=True):
        piece = before if before is not None else next(computed)
        if before is None and kept is not None:
            cache.store(kept, one, config, piece)
        pieces.append(piece)
    per_series = _by_series(files, pieces)
    totals = [combine(each, mine, config.window) for each, mine in zip(files, per_series, strict=True)]
    total = sum(totals, Counts(0, 0, 0, 0))
    if total.rows == 0:
        raise no_rows(data)
    if signals is not None:
        write_dataset(list(zip(series, files, per_series, strict=True)), config, signals, write=write)
    groups = list(zip(_folder_names(series, config), totals, strict=False))
    return Result(total, groups, windows={config.window: (total, groups)})


def sweep_by_file(
    data: Input,
    config: Config,
    windows: tuple[int, ...],
    *,
    kept: Path | None,
    why: str,
    count: SweepCounter | None = None,
    signals: Path | None = None,
    write: Writer = write_here,
    means: bool = False,
) -> Result:
    """A sweep's counts of `data` file by file with `count`; with `kept`, a cache folder of files' counts.

    With `signals`, a folder, each file's signals (a column per window, with `means` their
    rolling means too) are then written there by `write`, as `run_by_file` writes a run's.

    The cache keeps an entry per file and window (a run's entry of that window serves too): a
    re-run with new windows counts each file once for the windows it has no entry of, and none
    for the others. Every window is then stitched across the files as a run's is, from edges of
    the largest window cut to its own (`partial.within`). `config.window` is the largest window.
    """
    check_config(config, data, why=why)
    series = partitions(data, config)
    files = [[each.replace_parts([part]) for part in each.parts] for each in series]
    flat = [one for each in files for one in each]
    found = [
        {
            window: cache.load(kept, one, replace(config, window=window)) if kept else None
            for window in windows
        }
        for one in flat
    ]
    # Files are counted in one batch per set of windows they lack (all files and windows, uncached).
    lacking: dict[tuple[int, ...], list[int]] = {}
    for index, kept_pieces in enumerate(found):
        missing = tuple(window for window in windows if kept_pieces[window] is None)
        if missing:
            lacking.setdefault(missing, []).append(index)
    for missing, indexes in lacking.items():
        new = (count or count_windows_here)([flat[index] for index in indexes], config, missing)
        for index, pieces in zip(indexes, new, strict=True):
            for window, piece in pieces.items():
                if kept is not None:
                    cache.store(kept, flat[index], replace(config, window=window), piece)
            found[index] |= pieces
    if kept is not None:
        again = ", ".join(str(window) for window in windows if any(window in missing for missing in lacking))
        log.info(
            "cache %s: %s of %s counted before for every window%s",
            kept,
            len(flat) - sum(len(indexes) for indexes in lacking.values()),
            counted(len(flat), "file"),
            f"; the others counted once for the windows new to them ({again})" if again else "",
        )
    complete = [{window: piece for window, piece in each.items() if piece is not None} for each in found]
    names = _folder_names(series, config)
    by_window = {}
    for window in windows:
        per_series = _by_series(files, [each[window] for each in complete])  # every file has each window
        totals = [combine(each, mine, window) for each, mine in zip(files, per_series, strict=True)]
        by_window[window] = (sum(totals, Counts(0, 0, 0, 0)), list(zip(names, totals, strict=False)))
    total, groups = by_window[config.window]
    if total.rows == 0:
        raise no_rows(data)
    if signals is not None:  # the largest window's pieces: its edges reach back furthest
        largest = _by_series(files, [each[config.window] for each in complete])
        parts = list(zip(series, files, largest, strict=True))
        write_dataset(parts, config, signals, write=write, windows=windows, means=means)
    return Result(total, groups, windows=by_window)


def _by_series(files: list[list[Input]], flat: list[_Item]) -> list[list[_Item]]:
    """`flat`, one item per file of `files` (each series' files, in order), cut back into series."""
    cut: list[list[_Item]] = []
    start = 0
    for each in files:
        cut.append(flat[start : start + len(each)])
        start += len(each)
    return cut


def _folder_names(series: list[Input], config: Config) -> list[str | None]:
    """Each series' `group_by` value, from its hive folders; none without a `group_by`."""
    if config.group_by is None:
        return []
    return [each.parts[0].partition.get(config.group_by.lower()) for each in series]


# Counts inputs of one series each, for a sweep's windows: each file's pieces by window.
SweepCounter = Callable[[list[Input], Config, tuple[int, ...]], list[dict[int, Piece]]]


def count_windows_here(
    files: list[Input], config: Config, windows: tuple[int, ...]
) -> list[dict[int, Piece]]:
    """Each file's own counts of each of `windows` in one scan, each with its edges (also a worker's task)."""
    pieces = []
    with steps("counting files", len(files)) as advance:  # a bar only where enabled: never on a worker
        for one in files:
            largest = replace(config, window=max(windows))
            result = run(one, largest, edges=True, route=decide(one, largest, windows=windows))
            assert result.edges is not None  # noqa: S101 - asked for
            pieces.append(
                {window: (result.windows[window][0], within(result.edges, window)) for window in windows}
            )
            advance(1)
    return pieces


def _in_shares(series: list[Input], tasks: int) -> list[list[Input]]:
    """Each series cut into shares of consecutive files, about `tasks` shares in all, by bytes."""
    total = sum(each.size for each in series) or 1
    return [
        [
            each.replace_parts(share)
            for share in shares(list(each.parts), -(-tasks * each.size // total), size=lambda part: part.size)
        ]
        for each in series
    ]


def shares(items: list[_Item], count: int, *, size: Callable[[_Item], int]) -> list[list[_Item]]:
    """`items` cut into runs of consecutive ones of about 1/`count` of their bytes each, in order."""
    share_size = -(-sum(size(one) for one in items) // max(count, 1))
    cut: list[list[_Item]] = [[]]
    held = 0  # bytes in the last share
    for one in items:
        if cut[-1] and held >= share_size:
            cut.append([])
            held = 0
        cut[-1].append(one)
        held += size(one)
    return cut


def check_config(config: Config, data: Input, *, why: str) -> None:
    """Refuse what needs rows of several files at once; a group is a hive folder, not a column."""
    if config.reading.sort:
        msg = f"sort: true sorts the rows of all files together; it does not run with {why}"
        raise ConfigError(msg)
    if config.reading.duplicates == "drop":
        msg = f"duplicates: drop compares rows across files; it does not run with {why}"
        raise ConfigError(msg)
    if config.group_by is not None and folder_values(data, config.group_by) is None:
        msg = (
            f"group_by: {config.group_by} is a column inside the files; with {why} a group must be a "
            f"hive folder ({config.group_by}=VALUE/...)"
        )
        raise ConfigError(msg)
