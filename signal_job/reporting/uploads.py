"""Outputs in object storage (`s3://`, `gs://`, `az://`): each one object, put whole once it is ready.

The document and the groups table are put in one request. The signals file is written to a
temporary file under TMPDIR (where a local one is written beside its place) and uploaded when the
run puts its outputs in place, before the document: no reader sees half an object, nor a success
document before its signals. A failed run deletes the signals object it found, as it removes a
local one. Credentials and endpoints are the inputs' (`reading.storage`): the standard environment
variables and the config's `storage_options`. obstore is imported only for such an output.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from signal_job.errors import InputError, OutputError, first_line, install_hint
from signal_job.options import Option
from signal_job.reading.files import is_signals_file
from signal_job.reading.names import GLOB_CHARACTERS
from signal_job.reading.storage import SCHEMES, Url, delete_object, probe_bucket, put_object
from signal_job.reporting.outputs import Pending, handed_over
from signal_job.safe_files import owner, remove_orphans

log = logging.getLogger(__name__)

_WHAT = {
    Option.OUTPUT: "output file",
    Option.SIGNALS: "signals file",
    Option.GROUPS: "groups table",
    Option.TABLE: "table",
}
_EXAMPLE = {
    Option.OUTPUT: "metrics.json",
    Option.SIGNALS: "signals.parquet",
    Option.GROUPS: "groups.csv",
    Option.TABLE: "sweep.csv",
}
_STORES = ("s3", "gcs", "azure")


@dataclass(frozen=True)
class RemoteTarget:
    """One output of the run that is an object in storage, named by its URL."""

    option: Option  # `Option.OUTPUT`, `Option.SIGNALS`, `Option.GROUPS` or `Option.TABLE`
    url: Url

    @property
    def what(self) -> str:
        """What the output is, in words: "output file", "signals file", "groups table"."""
        return _WHAT[self.option]

    @property
    def path(self) -> Url:
        """Where it is written, as given: its URL (shown without secrets)."""
        return self.url

    @property
    def name(self) -> PurePosixPath:
        """The object's name, whose ending says a table's format."""
        return PurePosixPath(self.url.name)

    def with_options(self, options: tuple[tuple[str, str], ...]) -> RemoteTarget:
        """This output, reached with `options` (the config's `storage_options`) as the inputs are."""
        return replace(self, url=replace(self.url, options=options))


def remote_target(option: Option, url: Url) -> RemoteTarget:
    """The output `option` names at `url`; `OutputError` if no object can be written there."""
    if option not in _WHAT:
        msg = (
            f"{option} {url}: this output is written only to this machine's disk, not to object "
            f"storage; give a local path (the document, {Option.SIGNALS} and {Option.GROUPS} may be URLs)"
        )
        raise OutputError(msg)
    if SCHEMES.get(url.text.partition("://")[0].lower()) not in _STORES:
        msg = f"{option} {url}: outputs are written to object storage at s3://, gs:// or az:// only"
        raise OutputError(msg)
    bucket, key = url.root.partition("://")[2], url.key
    if not bucket or not key or key.endswith("/") or GLOB_CHARACTERS.intersection(key):
        example = f"{url.root if bucket else 's3://bucket'}/{_EXAMPLE[option]}"
        msg = f"{option} {url} names no object: give the bucket and the object's key, such as {example}"
        raise OutputError(msg)
    return RemoteTarget(option, url)


def put(out: RemoteTarget, data: bytes | Path) -> None:
    """Put `data` (bytes, or a local file's) as the object `out`, whole or not at all; else `OutputError`."""
    try:
        import obstore  # noqa: F401, PLC0415 - an optional extra, only for outputs in object storage
    except ImportError as exc:
        msg = f"outputs in object storage need the cloud extra: {install_hint('cloud')}"
        raise OutputError(msg) from exc
    try:
        put_object(out.url, data)
    except InputError as exc:  # the store could not be set up from the options
        raise OutputError(str(exc)) from exc
    except Exception as exc:  # obstore raises its own kinds, and OSError subclasses
        msg = f"cannot write {out.what} {out.url}: {_reason(exc, out.url)}"
        raise OutputError(msg) from exc
    log.debug("put %s", out.url)


def check_reachable(out: RemoteTarget) -> None:
    """Before any work, raise `OutputError` if `out`'s bucket does not exist or its store does not answer.

    Only those: credentials that may put objects but not list them are left to the put itself.
    """
    try:
        probe_bucket(out.url)
    except InputError as exc:  # the store could not be set up from the options
        raise OutputError(str(exc)) from exc
    except Exception as exc:  # obstore raises its own kinds, and OSError subclasses
        reason = _reason(exc, out.url)
        if reason.startswith(("no such bucket", "cannot reach")):
            msg = f"cannot write {out.what} {out.url}: {reason}"
            raise OutputError(msg) from exc
        log.debug("cannot list %s (%s); its put will tell", out.url, reason)


def _reason(exc: BaseException, url: Url) -> str:
    """Why a store refused a write, for a person (not the store's whole response)."""
    text = str(exc)
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return f"no such bucket {url.root}"
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "403 Forbidden" in text:
        return "access denied; check the credentials (the standard environment variables, or storage_options)"
    if "error sending request" in text or "Connection refused" in text or "dns error" in text:
        return f"cannot reach the storage: {first_line(Exception(text.split('<?xml', 1)[0]))}"
    return first_line(Exception(text.split("<?xml", 1)[0].strip().rstrip(":")))


def remove_stale_signals_object(out: RemoteTarget) -> None:
    """After a failed run, delete the signals object at `out`, so that it does not pass for a result.

    Only an object of signals (as a local file is told); a failure to is said, never the run's.
    """
    if not is_signals_file(out.url):
        return
    try:
        delete_object(out.url)
    except Exception as exc:
        log.warning(
            "cannot remove %s, the signals file of an earlier run: %s", out.url, _reason(exc, out.url)
        )
        return
    log.warning("removed %s, the signals file of an earlier run", out.url)


@contextmanager
def staged_upload(out: RemoteTarget, *, pending: Pending) -> Iterator[Path]:
    """A temporary file under TMPDIR to write `out` into; uploaded when `pending` places it, else removed.

    Named after its owner and locked, as every temporary file of the job: a later run removes the
    file of a run that was killed.
    """
    folder = Path(tempfile.gettempdir())
    remove_orphans(folder)
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{out.url.name[:100]}.{owner()}.", suffix=".tmp")
    except OSError as exc:
        msg = f"cannot write {out.what} {out.url}: cannot make its temporary file in {folder}: {exc.strerror}"
        raise OutputError(msg) from exc
    staged = _Upload(out, Path(name), handle)
    with handed_over(staged, handle, pending):
        yield staged.temporary


class _Upload:
    """A temporary file to upload as an object, locked by this process until uploaded or removed."""

    def __init__(self, out: RemoteTarget, temporary: Path, handle: int) -> None:
        self.out = out
        self.temporary = temporary
        self._handle: int | None = handle

    def place(self) -> None:
        """Upload the file as the object; `OutputError` if that fails. The file goes either way."""
        try:
            put(self.out, self.temporary)
        finally:
            self.drop()

    def drop(self) -> None:
        """Remove the file."""
        if self._handle is not None:
            self.temporary.unlink(missing_ok=True)
            os.close(self._handle)  # the lock goes with it
            self._handle = None
