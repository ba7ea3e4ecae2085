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
    """The metrics document or the log file cannot be written."""
