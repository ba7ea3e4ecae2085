"""A run's paths, checked before anything is written: outputs resolved, inputs found, none the same.

`prepare` looks at every path before the run writes anything: the outputs (links followed) and
every file the input and config name, so that no output ever overwrites an input, nor another
output.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from signal_job.errors import InputError, OutputError
from signal_job.options import Option
from signal_job.reading.files import Found, find_files
from signal_job.reading.storage import Location, Url
from signal_job.reporting.folders import check_inside, folder_target
from signal_job.reporting.outputs import Target, check_clashes, target
from signal_job.reporting.tables import table_format
from signal_job.safe_files import Identity, identity


@dataclass(frozen=True)
class Paths:
    """What one run reads and writes, as given."""

    input: Location  # a file, a glob or a folder; on a disk or in object storage (s3://...)
    config: Path | None  # None: the config was given as a mapping or a `Config`
    output: Path | None  # None: the document is only returned (Python API)
    log_file: Path | None  # None: records go to the `signal_job` logger only
    signals: Path | None = None
    metrics_file: Path | None = None  # a Prometheus textfile
    groups: Path | None = None  # every group's counts, as a table (.csv or .parquet)

    def outputs(self) -> dict[Option, Path]:
        """Each output path by the option that names it."""
        named = {
            Option.OUTPUT: self.output,
            Option.LOG_FILE: self.log_file,
            Option.SIGNALS: self.signals,
            Option.METRICS_FILE: self.metrics_file,
            Option.GROUPS: self.groups,
        }
        return {option: path for option, path in named.items() if path is not None}


@dataclass(frozen=True)
class Prepared:
    """The run's paths, checked: outputs resolved, input files found, none of them the same."""

    paths: Paths
    outputs: dict[Option, Target]  # by option, the outputs that can be written
    unusable: dict[Option, OutputError]  # by option, outputs that never can be (a folder, a socket)
    found: Found | None  # the input's files, or
    input_problem: InputError | None  # why they could not be found (reported once the config is read)
    signals_folder: bool = False  # the signals path names a dataset's folder (a dask run), not a file


def prepare(paths: Paths, *, signals_folder: bool = False) -> Prepared:
    """Resolve every path before anything is written; raise `ClashError` if an output is an input.

    With `signals_folder` (a dask run), the signals path names the folder of a signals dataset.
    """
    outputs: dict[Option, Target] = {}
    unusable: dict[Option, OutputError] = {}
    for option, path in paths.outputs().items():
        try:
            if option is Option.SIGNALS and signals_folder:
                outputs[option] = folder_target(path)
            elif option is Option.GROUPS:
                table = target(option, path)
                table_format(path)  # a name that says no format can never be written
                outputs[option] = table
            else:
                outputs[option] = target(option, path)
        except OutputError as exc:
            unusable[option] = exc
    found, problem = None, None
    try:
        # Objects are listed once the config is read: its storage_options may be needed to reach
        # them. They are never outputs, which are local paths.
        found = None if isinstance(paths.input, Url) else find_files(paths.input)
    except InputError as exc:
        problem = exc
    read: list[tuple[Option, Path, Identity]] = []
    if paths.config is not None:
        try:
            read.append((Option.CONFIG, paths.config, identity(paths.config.stat())))
        except OSError:
            pass  # reading the config says what is wrong
    if found is not None:
        local = [path for path in found.files if isinstance(path, Path)]
        read.extend((Option.INPUT, path, key) for path, key in zip(local, found.identities, strict=True))
    check_clashes(outputs.values(), read)
    if signals_folder and Option.SIGNALS in outputs:
        others: dict[Option, Path] = {
            option: out.path for option, out in outputs.items() if option is not Option.SIGNALS
        }
        check_inside(outputs[Option.SIGNALS], others)
    return Prepared(paths, outputs, unusable, found, problem, signals_folder)


def is_stdout(out: Target) -> bool:
    """Whether `out` is the file this process's stdout writes to (`/dev/stdout`, or its file by name)."""
    if out.status is None:
        return False
    try:
        here = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or None when started without one
        return False
    return (here.st_dev, here.st_ino) == (out.status.st_dev, out.status.st_ino)
