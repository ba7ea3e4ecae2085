"""A folder of files' own counts and edges, so a re-run reads only the files that are new.

An entry is keyed by what makes a file's counts: its path, size, modification time and inode
(an object's URL, size and ETag), the config keys that change how it is read and counted, and
the job's version. A file changed in any of these gets a new key; entries of files no longer
read are left (they are small: a few hundred bytes plus the window's closes at each end). An
entry that does not read is counted again. Writes are atomic (a temporary file renamed), so
concurrent runs may share a folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import tempfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

from signal_job.config import Config
from signal_job.partial import Counts, Edges, Piece
from signal_job.reading.inputs import Input
from signal_job.reading.storage import Url
from signal_job.version import __version__

log = logging.getLogger(__name__)

_FORMAT = 1


def key(data: Input, config: Config) -> str | None:
    """The entry's name for a single-file input under `config`; None if the file cannot be stat'ed."""
    part = data.parts[0]
    if isinstance(part.path, Url):  # listed with its ETag (or modification time), which a change renews
        where: list[object] = [part.path.text, part.size, part.path.tag]
    else:
        try:
            status = part.path.stat()
        except OSError:
            return None
        where = [str(part.path.resolve()), status.st_size, status.st_mtime_ns, status.st_ino, status.st_dev]
    # How the bytes are reached (credentials among them) does not change what they count.
    reading = {
        name: value for name, value in dataclasses.asdict(config.reading).items() if name != "storage_options"
    }
    identity = [
        _FORMAT,
        __version__,
        *where,
        sorted(part.partition.items()),
        config.window,
        config.group_by,
        reading,
    ]
    return hashlib.blake2b(orjson.dumps(identity, default=str), digest_size=20).hexdigest()


def load(folder: Path, data: Input, config: Config) -> Piece | None:
    """The file's counts and edges kept in `folder`, or None if none are (or they do not read)."""
    name = key(data, config)
    if name is None:
        return None
    try:
        entry = orjson.loads((folder / f"{name}.json").read_bytes())
        return _piece(entry)
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, ArithmeticError):
        log.debug(
            "cache entry %s of %s does not read: counting again", name, data.parts[0].path, exc_info=True
        )
        return None


def store(folder: Path, data: Input, config: Config, piece: Piece) -> None:
    """Keep the file's counts and edges in `folder`; a folder that cannot be written is a warning."""
    name = key(data, config)
    if name is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name_of_temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        temporary = Path(name_of_temporary)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(orjson.dumps(_entry(piece, data)))
            temporary.replace(folder / f"{name}.json")
        except BaseException:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
    except OSError as exc:
        log.warning("cannot keep the counts of %s in cache %s: %s", data.parts[0].path, folder, exc.strerror)


def _entry(piece: Piece, data: Input) -> dict[str, Any]:
    counts, edges = piece
    return {
        "file": str(data.parts[0].path),  # for a person looking in the folder
        "counts": dataclasses.asdict(counts),
        "head": [_decimal_text(value) for value in edges.head],
        "tail": [_decimal_text(value) for value in edges.tail],
        "first": _time_text(edges.first),
        "last": _time_text(edges.last),
    }


def _piece(entry: dict[str, Any]) -> Piece:
    counts = Counts(**{field.name: int(entry["counts"][field.name]) for field in dataclasses.fields(Counts)})
    edges = Edges(
        head=tuple(None if value is None else Decimal(value) for value in entry["head"]),
        tail=tuple(None if value is None else Decimal(value) for value in entry["tail"]),
        first=_time_value(entry["first"]),
        last=_time_value(entry["last"]),
    )
    return counts, edges


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _time_text(value: object) -> dict[str, str] | None:
    """A time as kept: a datetime, or the text of dates read both day and month first."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    return {"text": str(value)}


def _time_value(kept: dict[str, str] | None) -> datetime | str | None:
    if kept is None:
        return None
    if "datetime" in kept:
        return datetime.fromisoformat(kept["datetime"])
    return kept["text"]
