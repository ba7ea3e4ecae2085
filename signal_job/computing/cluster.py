"""Count on a Dask cluster: one task per file, the windows across files stitched exactly.

The tasks are `by_file.count_file` (the local pipeline, on a worker); the driver stitches their
results as a local run by file does. Dask is an optional extra (`signal-job[dask]`), imported
only here and only for a dask run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from signal_job.computing.by_file import Piece, check_config, count_file, run_by_file
from signal_job.computing.pipeline import Result
from signal_job.config import Config
from signal_job.errors import EngineError, counted, first_line, names_text
from signal_job.reading.inputs import Input

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
TASKS_PER_WORKER = 2  # runs of files per worker: enough to even out their sizes, few query starts
_CONNECT_SECONDS = 10
_WHY = "--engine dask"


def run_on_dask(
    data: Input, config: Config, *, address: str | None, workers: int | None, kept: Path | None = None
) -> Result:
    """The counts of `data` from a Dask cluster: at `address`, or a local one of `workers` processes.

    Without a cache, each task counts a run of consecutive files (`TASKS_PER_WORKER` tasks per
    worker); with `kept` (a cache folder), one file each, and files counted before are not sent.
    """
    check_config(config, data, why=_WHY)  # before a cluster starts
    with _client(address, workers) as client:
        workers_now = max(1, len(client.scheduler_info().get("workers", {})))

        def count(units: list[Input], config: Config) -> list[Piece]:
            log.info("dask: %s on %s", counted(len(units), "task"), _describe(client))
            futures = [client.submit(count_file, one, config, pure=False) for one in units]
            return [_result(client, future, one) for future, one in zip(futures, units, strict=True)]

        tasks = TASKS_PER_WORKER * workers_now
        return run_by_file(data, config, count=count, kept=kept, why=_WHY, tasks=tasks)


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


def _result(client: Client, future: object, one: Input) -> Piece:
    """A task's result; a worker that died is an error naming its file."""
    from distributed.scheduler import KilledWorker  # noqa: PLC0415 - an optional extra

    try:
        piece: Piece = client.gather(future)
    except KilledWorker as exc:
        files = names_text(str(part.path) for part in one.parts)
        msg = f"a Dask worker died while reading input {files}: {first_line(exc)}"
        raise EngineError(msg) from exc
    return piece


def _describe(client: Client) -> str:
    info = client.scheduler_info()
    return f"{counted(len(info.get('workers', {})), 'worker')} at {info.get('address', 'an unknown address')}"
