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

from signal_job.computing.by_file import Piece, check_config, count_here, run_by_file
from signal_job.computing.pipeline import Result
from signal_job.config import Config
from signal_job.errors import EngineError, counted, first_line, names_text
from signal_job.reading.inputs import Input

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
TASKS_PER_WORKER = 2  # shares of the files per worker: enough to even out their sizes, few round trips
_CONNECT_SECONDS = 10
_WHY = "--engine dask"


def run_on_dask(
    data: Input, config: Config, *, address: str | None, workers: int | None, kept: Path | None = None
) -> Result:
    """The counts of `data` from a Dask cluster: at `address`, or a local one of `workers` processes.

    Each task counts a share of consecutive files (`TASKS_PER_WORKER` shares per worker, of about
    equal size), each file alone; with `kept` (a cache folder), files counted before are not sent.
    """
    check_config(config, data, why=_WHY)  # before a cluster starts

    def count(files: list[Input], config: Config) -> list[Piece]:
        with _client(address, workers) as client:
            workers_now = max(1, len(client.scheduler_info().get("workers", {})))
            shares = _shares(files, TASKS_PER_WORKER * workers_now)
            log.info(
                "dask: %s of %s on %s",
                counted(len(shares), "task"),
                counted(len(files), "file"),
                _describe(client),
            )
            futures = [client.submit(count_here, share, config, pure=False) for share in shares]
            return [
                piece
                for future, share in zip(futures, shares, strict=True)
                for piece in _result(client, future, share)
            ]

    return run_by_file(data, config, count=count, kept=kept, why=_WHY)


def _shares(files: list[Input], tasks: int) -> list[list[Input]]:
    """`files` cut into runs of consecutive files of about 1/`tasks` of their bytes each, in order."""
    size = -(-sum(one.parts[0].size for one in files) // tasks)
    shares: list[list[Input]] = [[]]
    held = 0  # bytes in the last share
    for one in files:
        if shares[-1] and held >= size:
            shares.append([])
            held = 0
        shares[-1].append(one)
        held += one.parts[0].size
    return shares


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
        # The scheduler's HTTP server binds a port even without a dashboard (8787 unless told):
        # another cluster or notebook on this machine must not make the run fail.
        dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False},
        host="127.0.0.1",
        silence_logs=logging.ERROR,
    )
    with cluster, Client(cluster) as client:
        yield client


def _result(client: Client, future: object, share: list[Input]) -> list[Piece]:
    """A task's results; a worker that died is an error naming the files it was reading."""
    from distributed.scheduler import KilledWorker  # noqa: PLC0415 - an optional extra

    try:
        pieces: list[Piece] = client.gather(future)
    except KilledWorker as exc:
        files = names_text(str(one.parts[0].path) for one in share)
        msg = f"a Dask worker died while reading input {files}: {first_line(exc)}"
        raise EngineError(msg) from exc
    return pieces


def _describe(client: Client) -> str:
    info = client.scheduler_info()
    return f"{counted(len(info.get('workers', {})), 'worker')} at {info.get('address', 'an unknown address')}"
