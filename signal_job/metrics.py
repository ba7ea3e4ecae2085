"""The metrics documents, and atomic writing of every output: readers never see a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from signal_job.errors import OutputError

Document = dict[str, Any]


def success_document(*, version: str, rows: int, value: float, latency_ms: int, seed: int) -> Document:
    """The document of a successful run, keys in their documented order."""
    return {
        "version": version,
        "rows_processed": rows,
        "metric": "signal_rate",
        "value": value,
        "latency_ms": latency_ms,
        "seed": seed,
        "status": "success",
    }


def error_document(*, version: str | None, message: str) -> Document:
    """The document of a failed run; `version` is the config's when it was read."""
    # A file name that is not UTF-8 reaches messages as surrogates, which JSON cannot carry.
    readable = message.encode("utf-8", errors="backslashreplace").decode("utf-8")
    return {"version": version or "unknown", "status": "error", "error_message": readable}


def render(document: Document) -> bytes:
    """The document as JSON bytes: indented two spaces, newline at the end."""
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one step: a temporary file beside it, then a rename."""
    with atomic_output(path) as temporary:
        try:
            temporary.write_bytes(data)
        except OSError as exc:  # e.g. the disk is full
            msg = f"cannot write output file {path}: {exc.strerror}"
            raise OutputError(msg) from exc


@contextmanager
def atomic_output(path: Path, *, what: str = "output file", example: str = "metrics.json") -> Iterator[Path]:
    """A temporary file beside `path` to write; it replaces `path` only if the block succeeds.

    On any error the temporary file is removed, so `path` is either the old file or the new one.
    """
    _check_target(path, what, example)
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(handle)
    except OSError as exc:
        msg = f"cannot write {what} {path}: {exc.strerror}"
        raise OutputError(msg) from exc
    temporary = Path(name)
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    try:
        with temporary.open("rb") as file:
            os.fsync(file.fileno())
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        temporary.chmod(0o666 & ~_umask())
        temporary.replace(path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        msg = f"cannot write {what} {path}: {exc.strerror}"
        raise OutputError(msg) from exc


def _check_target(path: Path, what: str, example: str) -> None:
    try:
        is_folder, parent_is_folder, parent_exists = path.is_dir(), path.parent.is_dir(), path.parent.exists()
    except OSError as exc:  # e.g. a folder this user may not look into
        msg = f"cannot write {what} {path}: {exc.strerror}"
        raise OutputError(msg) from exc
    if is_folder:
        kind = what.removesuffix(" file")
        msg = f"{kind} path {path} is a directory; give a file name such as {path / example}"
        raise OutputError(msg)
    if not parent_is_folder:
        problem = "is not a folder" if parent_exists else "does not exist"
        msg = f"output folder {path.parent} {problem}"
        raise OutputError(msg)


def _umask() -> int:
    # The only portable way to read the umask is to set it and put it back.
    mask = os.umask(0)
    os.umask(mask)
    return mask
