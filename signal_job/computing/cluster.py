"""Count on a Dask cluster: one task per share of the files, the windows across files stitched exactly.

The tasks are `by_file.count_here` (the local pipeline, on a worker), and with a signals dataset
`dataset.write_here` (each file's part, written by the worker into the dataset's folder); the
driver stitches their results as a local run by file does. Dask is the optional extra
`dask`, imported only here and only for a dask run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from signal_job.computing.by_file import (
    check_config,
    count_here,
    count_windows_here,
    run_by_file,
    shares,
    sweep_by_file,
)
from signal_job.computing.dataset import Task, Written, write_here
from signal_job.computing.pipeline import Result
from signal_job.config import Config
from signal_job.errors import EngineError, counted, first_line, install_hint, names_text
from signal_job.options import Option
from signal_job.partial import Piece
from signal_job.progress import steps
from signal_job.reading.inputs import Input

if TYPE_CHECKING:
    from distributed import Client

log = logging.getLogger(__name__)

DEFAULT_WORKERS = 2
TASKS_PER_WORKER = 2  # shares of the files per worker: enough to even out their sizes, few round trips
_CONNECT_SECONDS = 10
_WHY = Option.ENGINE.given("dask")
_Item = TypeVar("_Item")
_Out = TypeVar("_Out")


def run_on_dask(
    data: Input,
    config: Config,
    *,
    address: str | None,
    workers: int | None,
    kept: Path | None = None,
    signals: Path | None = None,
) -> Result:
    """The counts of `data` from a Dask cluster: at `address`, or a local one of `workers` processes.

    Each task counts a share of consecutive files (`TASKS_PER_WORKER` shares per worker, of about
    equal size) as one series; with `kept` (a cache folder), each file alone, and files counted
    before are not sent.
    With `signals`, a folder the workers can write to, each file's signals are then written
    there, a part per file, by tasks in shares too.
    """
    check_config(config, data, why=_WHY)  # before a cluster starts
    with ExitStack() as stack:
        cluster = _OnDask(stack, address, workers)
        return run_by_file(
            data,
            config,
            count=cluster.count,
            kept=kept,
            why=_WHY,
            signals=signals,
            write=cluster.write,
            tasks=cluster.tasks,
        )


def sweep_on_dask(
    data: Input,
    config: Config,
    windows: tuple[int, ...],
    *,
    address: str | None,
    workers: int | None,
    kept: Path | None = None,
    signals: Path | None = None,
    means: bool = False,
) -> Result:
    """A sweep's counts of `data` from a Dask cluster: each file counted for every window by a task.

    The windows across files are stitched on the driver from each file's edges of the largest
    window (its halo), as a local sweep by file does (`by_file.sweep_by_file`). With `signals`, a
    folder the workers can write to, each file's signals (a column per window) are then written
    there, a part per file, as a run's are.
    """
    check_config(config, data, why=_WHY)  # before a cluster starts
    with ExitStack() as stack:
        cluster = _OnDask(stack, address, workers)
        return sweep_by_file(
            data,
            config,
            windows,
            kept=kept,
            why=_WHY,
            count=cluster.count_windows,
            signals=signals,
            write=cluster.write,
            means=means,
        )


class _OnDask:
    """The cluster, started or attached to when first needed (a cache may leave nothing to count)."""

    def __init__(self, stack: ExitStack, address: str | None, workers: int | None) -> None:
        self._stack, self._address, self._workers = stack, address, workers
        self._client: Client | None = None

    def tasks(self) -> int:
        """How many tasks the files are cut into: `TASKS_PER_WORKER` for each worker."""
        return TASKS_PER_WORKER * max(1, len(self._started().scheduler_info().get("workers", {})))

    def _started(self) -> Client:
        if self._client is None:
            self._client = self._stack.enter_context(_client(self._address, self._workers))
        return self._client

    def count(self, files: list[Input], config: Config) -> list[Piece]:
        """Each file's counts and edges, by tasks of `count_here` on shares of the files."""
        return self._map(count_here, files, config, file=lambda one: one, doing="reading input", note="")

    def count_windows(
        self, files: list[Input], config: Config, windows: tuple[int, ...]
    ) -> list[dict[int, Piece]]:
        """Each file's counts and edges for each of `windows`, by tasks of `count_windows_here`."""
        task = partial(count_windows_here, windows=windows)
        return self._map(task, files, config, file=lambda one: one, doing="reading input", note="")

    def write(self, tasks: list[Task], config: Config) -> list[Written]:
        """Each file's signals part, by tasks of `write_here` on shares of the files."""
        return self._map(
            write_here,
            tasks,
            config,
            file=lambda task: task.data,
            doing="writing the signals of input",
            note=", writing their signals",
        )

    def _map(
        self,
        function: Callable[[list[_Item], Config], list[_Out]],
        items: list[_Item],
        config: Config,
        *,
        file: Callable[[_Item], Input],
        doing: str,
        note: str,
    ) -> list[_Out]:
        """`function` over `items` in shares of about equal bytes, one task each; results in order."""
        client = self._started()
        cut = shares(items, self.tasks(), size=lambda item: file(item).size)
        log.info(
            "dask: %s of %s on %s%s",
            counted(len(cut), "task"),
            counted(sum(len(file(item).parts) for item in items), "file"),
            _describe(client),
            note,
        )
        futures = [client.submit(function, share, config, pure=False) for share in cut]
        results: list[_Out] = []
        with steps(f"dask: {doing}", len(futures), unit="tasks") as advance:  # on a terminal only
            for future, share in zip(futures, cut, strict=True):
                results += _result(client, future, [file(item) for item in share], doing=doing)
                advance(1)
        return results


@contextmanager
def _client(address: str | None, workers: int | None) -> Iterator[Client]:
    try:
        from distributed import Client, LocalCluster  # noqa: PLC0415 - an optional extra
    except ImportError as exc:
        msg = f"{_WHY} needs the dask extra: {install_hint('dask')}"
        raise EngineError(msg) from exc
    if address is not None:
        try:
            client = Client(address, timeout=f"{_CONNECT_SECONDS}s")
        except (OSError, TimeoutError) as exc:
            msg = f"cannot reach the Dask scheduler at {address}: {first_line(exc)}"
            raise EngineError(msg) from exc
        except Exception as exc:  # distributed's handshake with something else fails its own way
            # Something else listens there: a worker's port (TypeError), another service.
            msg = (
                f"cannot reach the Dask scheduler at {address}: what answers there is not a Dask "
                f"scheduler ({type(exc).__name__}: {first_line(exc)})"
            )
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


def _result(client: Client, future: object, share: list[Input], *, doing: str) -> list[Any]:
    """A task's results; a worker that died is an error naming the files it was `doing`."""
    from distributed.scheduler import KilledWorker  # noqa: PLC0415 - an optional extra

    try:
        results: list[Any] = client.gather(future)
    except KilledWorker as exc:
        # Paths in full: cut short, a path loses its file's name.
        paths = [str(part.path) for one in share for part in one.parts]
        files = names_text(paths, limit=5, width=1000)
        what = "file" if len(paths) == 1 else "files"
        msg = f"a Dask worker died while {doing} {what} {files}: {first_line(exc)}"
        raise EngineError(msg) from exc
    return results


def _describe(client: Client) -> str:
    info = client.scheduler_info()
    return f"{counted(len(info.get('workers', {})), 'worker')} at {info.get('address', 'an unknown address')}"
