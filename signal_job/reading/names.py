"""Which names are data, and how a glob matches a name: one rule on a disk and in object storage."""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import PurePosixPath

# What a folder's data files are called; anything else (`_SUCCESS`, `README.md`) is not data.
DATA_SUFFIXES = (".csv", ".txt", ".tsv", ".gz", ".zst", ".parquet", ".arrow", ".feather", ".ipc")
GLOB_CHARACTERS = frozenset("*?[")


def hidden(name: str) -> bool:
    """Whether a folder or file below an input folder is left out: hidden (`.x`) or private (`_x`)."""
    return name.startswith((".", "_"))


def is_data(name: str) -> bool:
    """Whether a file's name says it holds data (by its suffix)."""
    return PurePosixPath(name).suffix.lower() in DATA_SUFFIXES


def matches(name: str, part: str) -> bool:
    """Whether one name matches one part of a glob; as in glob, a wildcard never matches a leading dot."""
    if name.startswith(".") and not part.startswith("."):
        return False
    return fnmatchcase(name, part)
