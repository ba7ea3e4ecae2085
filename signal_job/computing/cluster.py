"""Count on a Dask cluster: one task per file, the windows across files stitched exactly.

Each file is counted alone by the local pipeline on a worker (its own blank lines, time order
and errors, named with its file and line), which also returns its edges (`halo`). The driver
takes the files in the order the local run reads them, refuses files that overlap in time, and
adds the windows that cross the boundaries: the same counts as the local run, exactly.

Dask is an optional extra (`signal-job[dask]`), imported only here and only for a dask run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from signal_job.computing.halo import Edges, overlap, stitch
from signal_job.computing.pipeline import Counts, Result, run
from signal_job.computing.plan import folder_values, partitions
from signal_job.config import Config
from signal_job.errors import ConfigError, EngineError, InputError, counted, first_line
from signal_job.reading.inputs import Input

if TYPE_CHECKING:
    from distributed import Client, Future

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
_CONNECT_SECONDS = 10


def count_file(data: Input, config: Config) -> tuple[Counts, Edges]:
    """One file's own counts and its edges (a worker's task; also usable locally)."""
    result = run(data, config, edges=True)
    assert result.edges is not None  # noqa: S101 - asked for
    return result.total, result.edges


def combine(series: Input, pieces: list[tuple[Counts, Edges]], window: int) -> Counts:
    """The counts of a series from its files' own, in order: theirs plus the windows across files."""
    edges = [found for _, found in pieces]
    clash = overlap(edges)
    if clash is not None:
        before, after = series.parts[clash - 1], series.parts[clash]
        msg = (
            f"input files overlap in time: {after.path} starts at {edges[clash].first} but "
            f"{before.path} ends at {edges[clash - 1].last}; the job computes windows only over rows "
            "in time order: remove the overlap"
        )
        raise InputError(msg)
    crossing = stitch(edges, window)
    total = sum((counts for counts, _ in pieces), Counts(0, 0, 0, 0))
    return total + Counts(0, crossing.full_windows, 0, crossing.signals)


def run_on_dask(data: Input, config: Config, *, address: str | None, workers: int | None) -> Result:
    """The counts of `data` from a Dask cluster: at `address`, or a local one of `workers` processes."""
    _check_config(config, data)
    series = partitions(data, config)
    with _client(address, workers) as client:
        files = [
            [series_input.replace_parts([part]) for part in series_input.parts] for series_input in series
        ]
        futures = [[client.submit(count_file, one, config, pure=False) for one in each] for each in files]
        log.info("dask: %s on %s", counted(sum(map(len, files)), "task"), _describe(client))
        pieces = [_gather(client, each, inputs) for each, inputs in zip(futures, files, strict=True)]
    totals = [combine(each, found, config.window) for each, found in zip(series, pieces, strict=True)]
    total = sum(totals, Counts(0, 0, 0, 0))
    if config.group_by is None:
        return Result(total, [])
    names = [each.parts[0].partition.get(config.group_by.lower()) for each in series]
    return Result(total, list(zip(names, totals, strict=True)))


def _check_config(config: Config, data: Input) -> None:
    """Refuse what needs rows of several files at once; a group is a hive folder, not a column."""
    if config.reading.sort:
        msg = "sort: true sorts the rows of all files together; it runs on --engine local only"
        raise ConfigError(msg)
    if config.reading.duplicates == "drop":
        msg = "duplicates: drop compares rows across files; it runs on --engine local only"
        raise ConfigError(msg)
    if config.group_by is not None and folder_values(data, config.group_by) is None:
        msg = (
            f"group_by: {config.group_by} is a column inside the files; on --engine dask a group "
            f"must be a hive folder ({config.group_by}=VALUE/...): use --engine local"
        )
        raise ConfigError(msg)


@contextmanager
def _client(address: str | None, workers: int | None) -> Iterator[Client]:
    try:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - an optional extra
    except ImportError as exc:
        msg = "--engine dask needs the dask extra: pip install 'signal-job[dask]'"
        raise EngineError(msg) from exc
    if address is not None:
        try:
            client = Client(address, timeout=f"{_CONNECT_SECONDS}s")
        except (OSError, TimeoutError) as exc:
            msg = f"cannot reach the Dask scheduler at {address}: {first_line(exc)}"
            raise EngineError(msg) from exc
        with client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers or DEFAULT_WORKERS,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        host="127.0.0.1",
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        yield client


def _gather(
    client: Client, futures: list[Future[tuple[Counts, Edges]]], inputs: list[Input]
) -> list[tuple[Counts, Edges]]:
    """The tasks' results, in order; a worker that died is an error naming its file."""
    from distributed.scheduler import KilledWorker  # noqa: PLC0415 - an optional extra

    results = []
    for future, one in zip(futures, inputs, strict=True):
        try:
            results.append(client.gather(future))
        except KilledWorker as exc:
            msg = f"a Dask worker died while reading input file {one.parts[0].path}: {first_line(exc)}"
            raise EngineError(msg) from exc
    return results


def _describe(client: Client) -> str:
    info = client.scheduler_info()
    return f"{counted(len(info.get('workers', {})), 'worker')} at {info.get('address', 'an unknown address')}"
