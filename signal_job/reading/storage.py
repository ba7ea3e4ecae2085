"""Inputs in object storage (`s3://`, `gs://`, `az://`, `https://`): found by listing, read in ranges.

Polars scans such objects itself; what the job reads on its own (an object's first bytes, to
tell its kind and spelling; its bytes again, only to name a bad line) comes through obstore, a
binding of the same Rust `object_store` that Polars uses. It is the optional extra
`cloud`, imported only for such an input. Credentials and endpoints come from the
standard environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`) and the config's
`storage_options`, which both readers are given alike. The job's outputs in object storage are
put through the same stores (`put_object`, `delete_object`; see `reporting.uploads`).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import unquote

from signal_job.errors import InputError, first_line, install_hint
from signal_job.reading.names import DATA_SUFFIXES, GLOB_CHARACTERS, hidden, is_data, matches

if TYPE_CHECKING:
    from obstore.store import ObjectStore

# Object stores by scheme, as Polars names them.
SCHEMES = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "az": "azure",
    "azure": "azure",
    "abfs": "azure",
    "abfss": "azure",
    "http": "http",
    "https": "http",
}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_ENDPOINT_KEYS = ("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint")
_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT")
_READ_BUFFER = 256 * 1024
# A store that accepts connections but never answers would hold each call for 3 minutes
# (object_store's default retry timeout): fail within about half a minute instead.
_CLIENT: Any = {"connect_timeout": "5s", "timeout": "30s"}  # obstore's ClientConfig
_RETRY: Any = {
    "max_retries": 3,
    "retry_timeout": timedelta(seconds=30),
}  # a ranged read of this much at a time


@dataclass(frozen=True)
class Url:
    """An object, or a prefix or glob of objects, in object storage, with the options to reach it."""

    text: str  # as given, e.g. s3://bucket/daily/
    # Credentials may be among them: never shown, and not part of what the URL is.
    options: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    tag: str = field(default="", compare=False)  # the object's ETag or modification time, once listed

    def __str__(self) -> str:
        """The URL as shown (messages, logs, documents): without a password or a query string."""
        return shown(self.text)

    @property
    def scheme(self) -> str:
        """The store's kind: s3, gcs, azure or http."""
        found = _SCHEME.match(self.text)
        name = found[1].lower() if found else ""
        if name not in SCHEMES:
            schemes = ", ".join(f"{scheme}://" for scheme in SCHEMES)
            msg = f"input {self} names a storage this job cannot read ({name}://); it reads {schemes}"
            raise InputError(msg)
        return SCHEMES[name]

    @property
    def root(self) -> str:
        """The bucket (or container, or host): `s3://bucket`."""
        scheme, _, rest = self.text.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}"

    @property
    def key(self) -> str:
        """The object's key (or the prefix, or the pattern) within its bucket."""
        return self.text.partition("://")[2].partition("/")[2]

    @property
    def name(self) -> str:
        """The last part of the key."""
        return self.key.rstrip("/").rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        """The name's suffix, as `Path.suffix`."""
        return PurePosixPath(self.name).suffix

    def storage_options(self) -> dict[str, str] | None:
        """The options for Polars' readers, if any were given."""
        return dict(self.options) or None

    def at(self, key: str, tag: str = "") -> Url:
        """The object `key` in the same bucket, with the same options."""
        return replace(self, text=f"{self.root}/{key}", tag=tag)

    def folders_below(self, root: Url) -> tuple[str, ...]:
        """The folder names between `root` (a prefix) and this object."""
        below = self.key.removeprefix(root.key.rstrip("/")).strip("/")
        return tuple(below.split("/")[:-1])


Location = Path | Url  # where an input file is: on a disk, or in object storage


def location(text: str | os.PathLike[str]) -> Location:
    """`text` as a URL if it has a scheme (`s3://`), else as a path (`file://` too).

    An unknown scheme is refused when the URL is first read (`find_objects`), in the error document.
    """
    if not isinstance(text, str):
        return Path(text)
    found = _SCHEME.match(text)
    if found is None:
        return Path(text)
    if found[1].lower() == "file":
        return _file_path(text[found.end() :])
    return Url(found[1].lower() + text[len(found[1]) :])  # Polars reads only lower-case schemes


def _file_path(rest: str) -> Path:
    """The path a `file://` URL names, from what follows `file://`: its escapes (`%20`) decoded.

    `file:///data/x.csv` and `file://localhost/data/x.csv` name `/data/x.csv` (RFC 8089); any
    other host is taken as the start of a relative path, as before.
    """
    host, slash, path = rest.partition("/")
    if host.lower() == "localhost" and slash:
        rest = slash + path
    return Path(unquote(rest))


def shown(text: str) -> str:
    """A URL fit to show, in messages, logs and documents.

    A password (`user:secret@host`) and a query string (a presigned URL's signature) are secrets.
    """
    scheme, separator, rest = text.partition("://")
    if not separator:
        return text
    host, slash, path = rest.partition("/")
    if "@" in host:
        user, _, place = host.rpartition("@")
        host = f"{user.partition(':')[0]}:***@{place}" if ":" in user else host
    path, question, _ = path.partition("?")
    return f"{scheme}://{host}{slash}{path}{'?***' if question else ''}"


def polars_path(where: Location) -> str | Path:
    """`where` as a Polars reader takes it."""
    return where.text if isinstance(where, Url) else where


def polars_options(where: Location) -> dict[str, str] | None:
    """`storage_options` for a Polars reader of `where`."""
    return where.storage_options() if isinstance(where, Url) else None


def find_objects(url: Url) -> tuple[list[Url], Url | None]:
    """The objects `url` names, in key order, and the prefix that hive folders hang from.

    A single object; every data object below a prefix (a URL ending in `/`, or naming no object
    but a prefix); or the objects a glob matches (`*`, `?`, `[...]` within a name, `**` for any
    folders), as for local paths.
    """
    key = url.key
    scheme = url.scheme  # an unknown scheme is refused here
    if not url.root.partition("://")[2]:
        msg = f"input {url} names no bucket (or host): write it as {scheme}://BUCKET/KEY"
        raise InputError(msg)
    if scheme == "http":
        if "?" in key or "@" in url.root:
            msg = (
                f"input {url}: URLs with a query string (presigned URLs) or credentials are not read; "
                "download the file, or give an s3://, gs:// or az:// URL with credentials in the "
                "environment or storage_options"
            )
            raise InputError(msg)
        if GLOB_CHARACTERS.intersection(key) or not key or key.endswith("/"):
            msg = f"input {url}: over http(s), name one file; folders and globs need s3://, gs:// or az://"
            raise InputError(msg)
        return [url.at(key, now(url)[0])], None
    if GLOB_CHARACTERS.intersection(key):
        fixed = key[: min(key.index(c) for c in GLOB_CHARACTERS if c in key)].rpartition("/")[0]
        prefix = url.at(f"{fixed}/" if fixed else "")
        matched = [found for found in _listing(url, prefix.key) if _matches(found.key, key)]
        if not matched:
            msg = f"input pattern {url} matches no objects"
            raise InputError(msg)
        return matched, prefix
    if key and not key.endswith("/"):
        try:
            return [url.at(key, _meta(url)[0])], None
        except FileNotFoundError:
            pass  # perhaps a prefix, named without its final `/`
    prefix = url.at(f"{key.rstrip('/')}/" if key.strip("/") else "")
    listed = _listing(url, prefix.key)
    if not listed and not url.text.endswith("/"):
        msg = f"input {url} does not exist: no such object, nor objects below it"
        raise InputError(msg)
    # As in a local folder: no hidden or private names on the way, a data file's suffix.
    data = [
        found
        for found in listed
        if not any(hidden(name) for name in (*found.folders_below(prefix), found.name))
        and is_data(found.name)
    ]
    if not data:
        msg = f"input folder {url} holds no data files (looked for {', '.join(DATA_SUFFIXES)})"
        raise InputError(msg)
    return data, prefix


def open_object(url: Url) -> tuple[BinaryIO, int]:
    """The object opened to read from its start, and its size; in ranges: what is not read is not fetched."""
    obstore, store = _obstore(), _store(url.root, url.options)
    try:
        file = obstore.open_reader(store, url.key, buffer_size=_READ_BUFFER)
    except Exception as exc:  # obstore raises its own kinds, and OSError subclasses
        raise problem(exc, url) from exc
    return io.BufferedReader(_Reader(file, url), buffer_size=_READ_BUFFER), int(file.size)


def put_object(url: Url, data: bytes | Path) -> None:
    """Put `data` (bytes, or a local file's) as the object `url`, whole or not at all.

    One request, or for a large file a multipart upload that the store shows only once it is
    completed, at the end. The store's own exception is raised as it is (the caller words it).
    """
    obstore, store = _obstore(), _store(url.root, url.options)
    obstore.put(store, url.key, data)


def probe_bucket(url: Url) -> None:
    """List at most one object below `url`'s key: the bucket is there and answers; else the store's error."""
    obstore, store = _obstore(), _store(url.root, url.options)
    next(iter(obstore.list(store, prefix=url.key, chunk_size=1)), None)


def delete_object(url: Url) -> None:
    """Delete the object `url`; the store's own exception is raised as it is."""
    obstore, store = _obstore(), _store(url.root, url.options)
    obstore.delete(store, url.key)


def open_bytes(where: Location) -> BinaryIO:
    """The file's bytes from the start, on a disk or in object storage."""
    return open_object(where)[0] if isinstance(where, Url) else where.open("rb")


def problem(exc: BaseException, url: Url) -> InputError:
    """What went wrong reading `url`, for a person (not the store's whole response)."""
    text = str(exc)
    if "NoSuchBucket" in text:
        return InputError(f"cannot read input {url}: no such bucket {url.root}")
    if "Range request not supported" in text:
        return InputError(
            f"cannot read input {url}: its server does not serve byte ranges, which reading over "
            "http(s) needs; download the file and give its local path"
        )
    if isinstance(exc, FileNotFoundError) or "NoSuchKey" in text:
        return InputError(f"input file {url} does not exist")
    if isinstance(exc, PermissionError) or "AccessDenied" in text or "403 Forbidden" in text:
        return InputError(
            f"cannot read input {url}: access denied; check the credentials (the standard environment "
            "variables, or storage_options in the config)"
        )
    if "error sending request" in text or "Connection refused" in text or "dns error" in text:
        endpoint = (_endpoint(dict(url.options)) if url.scheme == "s3" else None) or url.root
        return InputError(f"cannot reach the storage at {endpoint} for input {url}: {_short(text)}")
    return InputError(f"cannot read input {url}: {_short(text)}")


class _Reader(io.RawIOBase):
    """An obstore reader as a raw stream, for `io.BufferedReader` and `gzip`."""

    def __init__(self, file: Any, url: Url) -> None:
        self._file = file
        self._url = url

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = memoryview(self._file.read(len(buffer)))
        except Exception as exc:  # a job error, as any other failure to read an input
            raise problem(exc, self._url) from exc
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def now(url: Url) -> tuple[str, int]:
    """The object's ETag (or modification time) and size as the store has them now."""
    try:
        return _meta(url)
    except FileNotFoundError as exc:
        raise problem(exc, url) from exc


def _meta(url: Url) -> tuple[str, int]:
    """The object's tag and size; FileNotFoundError if there is no such object (no bucket: an error)."""
    obstore, store = _obstore(), _store(url.root, url.options)
    try:
        meta = obstore.head(store, url.key)
    except FileNotFoundError as exc:
        if "NoSuchBucket" in str(exc):
            raise problem(exc, url) from exc
        raise
    except Exception as exc:  # obstore raises its own kinds, and OSError subclasses
        raise problem(exc, url) from exc
    return _tag(meta), int(meta["size"])


def _tag(meta: Any) -> str:
    """What tells one version of an object from another: its ETag, else its modification time."""
    return str(meta.get("e_tag") or meta["last_modified"].isoformat())


def _listing(url: Url, prefix: str) -> list[Url]:
    """Every object below `prefix`, in key order."""
    obstore, store = _obstore(), _store(url.root, url.options)
    try:
        pages = list(obstore.list(store, prefix=prefix or None))
    except Exception as exc:
        raise problem(exc, url) from exc
    found = [url.at(meta["path"], _tag(meta)) for page in pages for meta in page]
    return sorted(found, key=lambda one: one.key)


def _matches(key: str, pattern: str) -> bool:
    """Whether `key` matches a glob, part by part: a wildcard stays within one name; `**` spans folders."""
    names, parts = key.split("/"), pattern.split("/")
    if parts[-1] == "**":
        parts.append("*")

    def match(name_at: int, part_at: int) -> bool:
        if part_at == len(parts):
            return name_at == len(names)
        part = parts[part_at]
        if part == "**":
            return any(match(at, part_at + 1) for at in range(name_at, len(names)))
        if name_at == len(names):
            return False
        return matches(names[name_at], part) and match(name_at + 1, part_at + 1)

    return match(0, 0)


def _endpoint(options: dict[str, str]) -> str | None:
    for key in _ENDPOINT_KEYS:
        for spelled in (key, key.upper()):
            if spelled in options:
                return options[spelled]
    return next((os.environ[name] for name in _ENDPOINT_VARIABLES if os.environ.get(name)), None)


def _store(root: str, options: tuple[tuple[str, str], ...]) -> ObjectStore:
    from obstore.store import from_url  # noqa: PLC0415 - an optional extra

    config: Any = dict(options)  # checked by obstore, which names a key it does not know
    # An endpoint given as http:// (a local S3 API, MinIO) is a choice: allow it, as Polars does.
    # So is a URL the user wrote as http://.
    plain_http = root.startswith("http://") or (
        root.startswith("s3") and (_endpoint(config) or "").startswith("http://")
    )
    try:
        store: ObjectStore = from_url(
            root,
            config=config or None,
            client_options=_CLIENT | {"allow_http": plain_http},
            retry_config=_RETRY,
        )
    except Exception as exc:
        given = " with the config's storage_options" if options else ""
        msg = f"cannot use storage {root}{given}: {_short(str(exc))}"
        raise InputError(msg) from exc
    return store


def _obstore() -> Any:
    try:
        import obstore  # noqa: PLC0415 - an optional extra, only for inputs in object storage
    except ImportError as exc:
        msg = f"inputs in object storage need the cloud extra: {install_hint('cloud')}"
        raise InputError(msg) from exc
    return obstore


def _short(text: str) -> str:
    """The store's message without the response body it quotes."""
    return first_line(Exception(text.split("<?xml", 1)[0].strip().rstrip(":")))
