"""Progress bars for long steps, on an interactive terminal only.

The command line turns them on (`enable`) when stderr is a terminal and logs are text: never
in a pipe, a file, CI, a container's log or JSON log mode, and never from the Python API. They
use rich, which typer already brings, imported only when a bar is shown. A bar is transient:
it is gone once its step ends, and log lines printed meanwhile go above it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_shown = False


def enable(on: bool) -> None:
    """Show bars from now on (or not)."""
    global _shown  # noqa: PLW0603 - one switch for the process, set by the command line
    _shown = on


def wanted(*, json_logs: bool) -> bool:
    """Whether bars suit this process: stderr is a terminal, and logs are not JSON."""
    stream = sys.stderr
    return not json_logs and stream is not None and stream.isatty()


@contextmanager
def steps(what: str, total: int, *, unit: str = "files") -> Iterator[Callable[[int], None]]:
    """A bar for a step of `total` units; yields `advance(n)`. Nothing at all unless enabled."""
    if not _shown or total < 2:  # noqa: PLR2004 - one step needs no bar
        yield _nothing
        return
    from rich.console import Console  # noqa: PLC0415 - only for a bar
    from rich.progress import (  # noqa: PLC0415
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(file=sys.stderr), transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(done: int = 1) -> None:
            bar.advance(task, done)

        yield advance


def _nothing(_done: int = 1) -> None:
    return None
