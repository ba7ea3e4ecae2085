"""The options of a run, named in the core's own words; each face spells them in its own.

Below the faces, a message names an option only through `Option`. Formatted into the message
(`f"{Option.SIGNALS} is not written with {Option.CACHE}"`), a member leaves a placeholder; where
an error leaves the run (its document, its log line, the exception raised), the job puts every
placeholder in the words of the face that asked for the run, its `Spelling`: the command line's
user reads its flags (`flags.FLAGS`), the Python caller its keyword arguments (`api.KEYWORDS`), such
as `signals` and `engine="dask"`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass

# A placeholder holds the option's name (and value) between NULs, which no path can hold and
# a quoted value never does.
_MARK = "\x00"


class Option(enum.Enum):
    """An option of a run (or of generating candles), by its name in the core."""

    INPUT = "input"
    CONFIG = "config"
    OUTPUT = "output"
    LOG_FILE = "log_file"
    SIGNALS = "signals"
    METRICS_FILE = "metrics_file"
    METRICS_LABEL = "metrics_label"  # a label on every series of the metrics file
    GROUPS = "groups"  # every group's counts, as a table
    ENGINE = "engine"
    ADDRESS = "address"
    WORKERS = "workers"
    CACHE = "cache"
    HASH = "hash"
    MLFLOW = "mlflow"
    MLFLOW_EXPERIMENT = "mlflow_experiment"
    MLFLOW_RUN_NAME = "mlflow_run_name"
    MLFLOW_REQUIRED = "mlflow_required"  # a run that cannot be tracked fails
    FORCE = "force"  # replace an existing file of candles
    WINDOWS = "windows"  # a sweep's windows
    TABLE = "table"  # a sweep's results, as a table
    MEANS = "means"  # a sweep's signals file holds each window's rolling mean
    PLOT = "plot"  # a picture of the run (or of the sweep), or the file `plot` draws
    FROM = "from"  # a picture's first time
    TO = "to"  # a picture's last time
    GROUP = "group"  # the one group a picture draws
    WIDTH = "width"  # a picture's size in pixels
    HEIGHT = "height"

    def __str__(self) -> str:
        """The option's placeholder in a message, for a face's `Spelling` to replace."""
        return f"{_MARK}{self.value}{_MARK}"

    def __format__(self, spec: str) -> str:
        """The placeholder, as in `str`: what an f-string puts in a message."""
        return format(str(self), spec)

    def given(self, value: str) -> str:
        """The placeholder of the option given `value`: `Option.ENGINE.given("dask")`."""
        return f"{_MARK}{self.value}={value}{_MARK}"


_PLACEHOLDER = re.compile(
    rf"{_MARK}(?P<name>{'|'.join(option.value for option in Option)})(?:=(?P<value>[^{_MARK}]*))?{_MARK}"
)


@dataclass(frozen=True)
class Spelling:
    """How a face writes the options: each by its name, and an option given a value as `valued` says."""

    names: Mapping[Option, str]  # every option
    valued: str  # the name and the value, e.g. "{name} {value}" or '{name}="{value}"'
    # Texts the face names otherwise, in turn: a frame given in Python is staged as a file, whose
    # temporary path means nothing to the caller (see `signal_job.reading.frames`).
    renamed: tuple[tuple[str, str], ...] = ()

    def __call__(self, text: str) -> str:
        """`text` with each option's placeholder in this face's words."""

        def spelled(found: re.Match[str]) -> str:
            name = self.names[Option(found["name"])]
            value = found["value"]
            return name if value is None else self.valued.format(name=name, value=value)

        text = _PLACEHOLDER.sub(spelled, text)
        for old, new in self.renamed:
            text = text.replace(old, new)
        return text


@dataclass(frozen=True)
class Needs:
    """`option` acts only with `other` given (as `value`, if one is named); or, `without`, not given."""

    option: Option
    other: Option
    value: str | None = None
    without: bool = False
    why: str = ""

    def met(self, values: Mapping[Option, object]) -> bool:
        """Whether the other option is as this option needs it, given each option's value."""
        other = values[self.other]
        given = bool(other) if self.value is None else str(other) == self.value
        return given != self.without

    def said(self, by: str | None = None) -> str:
        """What is missing, with placeholders (a face spells them); `by`, the variable that gave the other."""
        other = self.other if self.value is None else self.other.given(self.value)
        if self.without:
            said = f"{self.option} does nothing with {other}" + (f" (from {by})" if by else "")
        else:
            said = f"{self.option} needs {other}"
        return said + (f": {self.why}" if self.why else "")


# Options that act only together with another: alone, they would silently do nothing, so each
# face refuses them (the command line as a usage error, Python as a ValueError). One entry per
# option and what it needs (add one for a new option that needs another).
NEEDS = (
    Needs(Option.WORKERS, Option.ENGINE, "dask"),
    Needs(Option.WORKERS, Option.ADDRESS, without=True, why="a running scheduler has its own workers"),
    Needs(Option.ADDRESS, Option.ENGINE, "dask"),
    Needs(Option.MLFLOW_EXPERIMENT, Option.MLFLOW),
    Needs(Option.MLFLOW_RUN_NAME, Option.MLFLOW),
    Needs(Option.MLFLOW_REQUIRED, Option.MLFLOW),
    Needs(Option.METRICS_LABEL, Option.METRICS_FILE),
)


def unmet(values: Mapping[Option, object]) -> list[Needs]:
    """The needs of `NEEDS` that options given in `values` (None or False: not given) leave unmet."""
    return [
        need
        for need in NEEDS
        if need.option in values and need.other in values and values[need.option] and not need.met(values)
    ]
