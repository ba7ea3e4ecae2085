"""The engines a route can name, one small function each: here, here with a cache, on Dask.

Each takes the input, the config, the route, where the face asked the counting to run and the
signals output, and returns the counts; the signals file (or folder) it writes waits beside its
place (`Pending`) until the job puts it there with the document. Choosing one is a lookup in
`ENGINES` by the route's `Engine`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from signal_job.computing import pipeline
from signal_job.computing.route import Engine, Route
from signal_job.config import Config
from signal_job.errors import ConfigError, OutputError, first_line
from signal_job.formats import FileFormat
from signal_job.options import Option
from signal_job.paths import Out
from signal_job.reading.inputs import Input
from signal_job.reporting.folders import building, check_inside
from signal_job.reporting.outputs import Pending, atomic
from signal_job.reporting.tables import table_format
from signal_job.reporting.uploads import RemoteTarget, staged_upload


@dataclass(frozen=True)
class Where:
    """Where a face asks the counting to run: here (`local`), or on Dask at `address` or of `workers`."""

    name: Literal["local", "dask"] = "local"
    address: str | None = None  # a running scheduler, e.g. tcp://host:8786
    workers: int | None = None  # else a local cluster of this many worker processes
    cache: Path | None = None  # a folder keeping each file's counts: a re-run reads only new files


def _here(
    data: Input, config: Config, route: Route, _where: Where, signals: Out | None, pending: Pending
) -> pipeline.Result:
    """The local engine: one scan in this process, the signals file written beside its place.

    (An object's signals are written under TMPDIR, and uploaded when they are put in place.)
    """
    kind = FileFormat.PARQUET
    staged: AbstractContextManager[Path | None] = nullcontext()
    if isinstance(signals, RemoteTarget):
        kind = table_format(signals.url, Option.SIGNALS)
        signals = signals.with_options(config.reading.storage_options)
        staged = staged_upload(signals, pending=pending)
    elif signals is not None:
        kind = table_format(signals.path, Option.SIGNALS)
        staged = atomic(signals, pending=pending)
    with staged as temporary:
        try:
            result = pipeline.run(data, config, signals=temporary, route=route, signals_format=kind)
        except pipeline.SignalsNotWritten as exc:
            assert signals is not None  # noqa: S101 - only a signals file is written
            msg = f"cannot write signals file {signals.path}: {first_line(exc.error)}"
            raise OutputError(msg) from exc
    return result


def _cached(
    data: Input, config: Config, route: Route, where: Where, signals: Out | None, _pending: Pending
) -> pipeline.Result:
    """The cache engine: file by file in this process, each file's counts kept in `where.cache`."""
    if signals is not None:
        msg = (
            f"{Option.SIGNALS} is not written with {Option.CACHE} on the local engine: run without "
            f"{Option.CACHE} for the signals file, or with {Option.ENGINE.given('dask')} for a signals "
            "dataset (a folder)"
        )
        raise ConfigError(msg)
    from signal_job.computing import by_file  # noqa: PLC0415 - only for a cached run

    if route.windows is not None:
        assert where.cache is not None  # noqa: S101 - the route's engine is the cache's
        return by_file.sweep_by_file(data, config, route.swept, kept=where.cache, why=str(Option.CACHE))
    return by_file.run_by_file(data, config, kept=where.cache, why=str(Option.CACHE))


def _on_dask(  # noqa: PLR0917 - the engines' one signature (`Run`)
    data: Input, config: Config, route: Route, where: Where, signals: Out | None, pending: Pending
) -> pipeline.Result:
    """The Dask engine: the files counted on a cluster; the signals dataset's folder built beside it."""
    assert not isinstance(signals, RemoteTarget)  # noqa: S101 - refused as a dataset (see `paths`)
    from signal_job.computing import cluster  # noqa: PLC0415 - dask only when asked for

    def counted(folder: Path | None) -> pipeline.Result:
        if route.windows is not None:  # a sweep's: a signal column per window
            return cluster.sweep_on_dask(
                data,
                config,
                route.swept,
                address=where.address,
                workers=where.workers,
                kept=where.cache,
                signals=folder,
                means=route.means,
            )
        return cluster.run_on_dask(
            data, config, address=where.address, workers=where.workers, kept=where.cache, signals=folder
        )

    if signals is None:
        return counted(None)
    if where.cache is not None:
        check_inside(signals, {Option.CACHE: where.cache})
    with building(signals, pending=pending) as folder:  # swapped in whole with the document
        try:
            result = counted(folder)
        except pipeline.SignalsNotWritten as exc:
            msg = f"cannot write signals dataset {signals.path}: {first_line(exc)}"
            raise OutputError(msg) from exc
    return result


# Each engine: the input, the config, the route, what the face asked for, the signals output and
# where its signals wait until the document is ready (see `reporting.outputs.Pending`).
Run = Callable[[Input, Config, Route, Where, Out | None, Pending], pipeline.Result]
ENGINES: dict[Engine, Run] = {
    Engine.LOCAL: _here,
    Engine.CACHE: _cached,
    Engine.DASK: _on_dask,
}
