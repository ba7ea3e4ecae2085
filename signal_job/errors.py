"""The job's errors: each message tells the person running it what is wrong and where."""


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


def file_problem(exc: OSError, what: str, path: object) -> str:
    """Say why `what` (e.g. "input file") at `path` could not be opened, for the person running the job."""
    if isinstance(exc, FileNotFoundError):
        return f"{what} {path} does not exist"
    if isinstance(exc, IsADirectoryError):
        return f"{what} {path} is a directory, not a file"
    return f"cannot read {what} {path}: {exc.strerror}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Polars adds pages of hints), or its type."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
