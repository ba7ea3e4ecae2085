"""The job's logging for the command line: INFO to the console, DEBUG to the log file.

As text (the default), or as JSON: one object per line (time, level, logger, message, and the
run's fields that the record carries, such as rows, window, version, input), as log
collectors (Loki, Elasticsearch, Cloud Logging) ingest it.

The log file is attached only after the run's paths were checked (it must never be an input),
and records logged before that are kept in memory and written to it then. A log file that
cannot be written (a full disk) fails the run: the handler keeps the error instead of printing
Python's `--- Logging error ---` to the console.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from logging.handlers import MemoryHandler
from typing import IO, Literal

import orjson

from signal_job.errors import OutputError, readable
from signal_job.reporting.outputs import Target, open_log

LOGGER = "signal_job"
_FORMAT = "%(asctime)s %(levelname)s %(message)s"
FIELDS = "fields"  # a record's `extra` key for the run's fields, e.g. extra={FIELDS: {"rows": 10}}
LogFormat = Literal["text", "json"]


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, the run's fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS, None)
        if isinstance(fields, dict):
            entry.update({key: value for key, value in fields.items() if key not in entry})
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        shown = {key: readable(value) if isinstance(value, str) else value for key, value in entry.items()}
        return orjson.dumps(shown, default=lambda value: readable(str(value))).decode()


def formatter(kind: LogFormat) -> logging.Formatter:
    """The formatter of a log format."""
    return JsonFormatter() if kind == "json" else logging.Formatter(_FORMAT)


class LogFile(logging.StreamHandler[IO[str]]):
    """A log file handler that stops at the first failed write and keeps its error."""

    def __init__(self, stream: IO[str], out: Target) -> None:
        """Write to `stream`, the opened log file `out`."""
        super().__init__(stream)
        self.out = out
        self.error: OSError | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record, unless an earlier write failed."""
        if self.error is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Keep the first error (e.g. ENOSPC); never print a traceback."""
        exc = sys.exc_info()[1]
        if self.error is None:
            self.error = exc if isinstance(exc, OSError) else OSError(str(exc))

    def close(self) -> None:
        """Flush and close the file, keeping a failure to do so."""
        if not self.stream.closed:
            try:
                self.stream.flush()
                self.stream.close()
            except OSError as exc:
                self.error = self.error or exc
        super().close()

    def problem(self) -> OutputError | None:
        """The failure to write the log, as the run's error, if there was one."""
        if self.error is None:
            return None
        return OutputError(f"cannot write log file {self.out.path}: {self.error.strerror or self.error}")


class _Stderr(logging.StreamHandler[IO[str]]):
    """The console: whatever `sys.stderr` is at each record, so a progress bar can print lines above it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


class Logs:
    """The CLI's logging: the console from the start, the log file once attached."""

    def __init__(self, kind: LogFormat = "text") -> None:
        """Log INFO and above to stderr, and keep every record for the log file until it is attached."""
        self.kind = kind
        self.logger = logging.getLogger(LOGGER)
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False
        for handler in list(self.logger.handlers):
            self.logger.removeHandler(handler)
            handler.close()
        console = _Stderr()
        console.setLevel(logging.INFO)
        console.setFormatter(formatter(kind))
        self.logger.addHandler(console)
        self.buffer = MemoryHandler(capacity=100_000, flushLevel=logging.CRITICAL + 1, flushOnClose=False)
        self.logger.addHandler(self.buffer)
        self.file: LogFile | None = None

    def attach(self, out: Target) -> None:
        """Open the log file and write what was logged so far; raise `OutputError` if it cannot be opened."""
        self.logger.removeHandler(self.buffer)
        self.file = LogFile(open_log(out), out)
        self.file.setLevel(logging.DEBUG)
        self.file.setFormatter(formatter(self.kind))
        for record in self.buffer.buffer:
            self.file.handle(record)
        self.buffer.buffer.clear()
        self.logger.addHandler(self.file)

    def drop_buffer(self) -> None:
        """Forget the records kept for a log file that will not be written."""
        self.logger.removeHandler(self.buffer)
        self.buffer.buffer.clear()

    def problem(self) -> OutputError | None:
        """The log file's write failure so far, if any."""
        return self.file.problem() if self.file else None

    def close(self) -> OutputError | None:
        """Close the log file; its write failure, if any."""
        if self.file is None:
            return None
        self.file.close()
        return self.file.problem()
