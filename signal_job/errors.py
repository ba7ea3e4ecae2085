"""The job's errors: each message tells the person running it what is wrong and where."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from signal_job.version import __version__

if TYPE_CHECKING:
    from signal_job.options import Option


# Set by the Dockerfile: inside the image an extra comes with a rebuilt image, not with pip.
IMAGE_VARIABLE = "SIGNAL_JOB_IMAGE"


class JobError(Exception):
    """A failure of the job that the person running it can fix."""

    def __init__(self, message: str, *, version: str | None = None) -> None:
        """Keep `message` for the person running the job and the config's `version`, if read."""
        super().__init__(message)
        self.version = version


class ConfigError(JobError):
    """The YAML config is missing, malformed or holds a bad value."""


class InputError(JobError):
    """The input data file is missing, unreadable or malformed."""


class OutputError(JobError):
    """The metrics document, the signals file or the log file cannot be written."""


class EngineError(JobError):
    """The engine that runs the job (a Dask cluster) is missing, unreachable or failed."""


class TrackingError(JobError):
    """The run could not be tracked in MLflow, and tracking was required."""


class StagingError(OutputError):
    """The temporary folder (under TMPDIR) where a run stages rows on disk cannot be written."""


class ClashError(OutputError):
    """An output names a file the run reads, or another output: nothing may be written to either."""

    def __init__(self, message: str, *, options: tuple[Option, ...] = (), shared: bool = False) -> None:
        """Keep `message` and the two `options` that clash; `shared`: two outputs that are one file.

        (`options` has a default only so that a pickled error, rebuilt from its message, loads.)
        """
        super().__init__(message)
        self.options = options
        self.shared = shared


class Terminated(BaseException):
    """The run was stopped by a signal (SIGTERM, SIGINT); unwinds like an error, past `except Exception`."""

    def __init__(self, number: int, name: str) -> None:
        """Keep the signal's `number` (the exit code is 128 + number) and `name`."""
        super().__init__(f"terminated by {name}")
        self.number = number


def file_problem(exc: OSError, what: str, path: object) -> str:
    """Say why `what` (e.g. "input file") at `path` could not be opened, for the person running the job."""
    if isinstance(exc, FileNotFoundError):
        return f"{what} {path} does not exist"
    if isinstance(exc, IsADirectoryError):
        return f"{what} {path} is a folder, not a file"
    return f"cannot read {what} {path}: {exc.strerror}"


def counted(number: int, word: str, plural: str | None = None) -> str:
    """`number` and `word` in the right number: "1 file", "2 files", "1,000 rows"."""
    return f"{number:,} {word if number == 1 else plural or word + 's'}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Polars adds pages of hints), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def readable(text: str) -> str:
    """`text` with the surrogates of names that are not UTF-8 escaped: JSON cannot carry them."""
    return text.encode("utf-8", errors="backslashreplace").decode("utf-8")


def shorten(value: object, limit: int = 40) -> str:
    """`repr(value)` cut to about `limit` characters: messages quote values, never whole ones."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def names_text(names: Iterable[object], limit: int = 20, width: int = 40) -> str:
    """Names for a message (`'a', 'b', ... (300 in all)`), each cut to `width`, at most `limit` of them."""
    listed = [shorten(name, width) for name in names]
    if not listed:
        return "none"
    if len(listed) <= limit:
        return ", ".join(listed)
    return ", ".join(listed[:limit]) + f", ... ({len(listed):,} in all)"


def install_hint(extra: str) -> str:
    """How to get the optional `extra` (dask, cloud, mlflow) where the job runs: the one place that says it.

    The package is on no index, so `pip install 'signal-job[extra]'` finds nothing: from a checkout
    it is `.[extra]`, from a built wheel the wheel's file name with `[extra]`. Inside the image
    (`IMAGE_VARIABLE` set) pip cannot help: the image is rebuilt with the extra instead.
    """
    if os.environ.get(IMAGE_VARIABLE):
        return f"rebuild the image with the build argument EXTRAS={extra} (docs/docker.md)"
    wheel = f"signal_job-{__version__}-py3-none-any.whl"
    return f"pip install '.[{extra}]' from a checkout of signal-job, or '{wheel}[{extra}]' from its wheel"
