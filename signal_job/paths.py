"""A run's paths, checked before anything is written: outputs resolved, inputs found, none the same.

`prepare` looks at every path before the run writes anything: the outputs (links followed) and
every file the input and config name, so that no output ever overwrites an input, nor another
output. Where two clash, `spared` gives the outputs that the refused run still writes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from signal_job.errors import ClashError, InputError, OutputError
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
    table: Path | None = None  # a sweep's results, as a table (.csv or .parquet)

    def outputs(self) -> dict[Option, Path]:
        """Each output path by the option that names it."""
        named = {
            Option.OUTPUT: self.output,
            Option.LOG_FILE: self.log_file,
            Option.SIGNALS: self.signals,
            Option.METRICS_FILE: self.metrics_file,
            Option.GROUPS: self.groups,
            Option.TABLE: self.table,
        }
        return {option: path for option, path in named.items() if path is not None}


Unusable = dict[Option, OutputError]  # by option, outputs that can never be written (a folder, a socket)


@dataclass(frozen=True)
class Prepared:
    """The run's paths, checked: outputs resolved, input files found, none of them the same."""

    paths: Paths
    outputs: dict[Option, Target]  # by option, the outputs that can be written
    unusable: Unusable
    found: Found | None  # the input's files, or
    input_problem: InputError | None  # why they could not be found (reported once the config is read)
    signals_folder: bool = False  # the signals path names a dataset's folder (a dask run), not a file


def prepare(paths: Paths, *, signals_folder: bool = False) -> Prepared:
    """Resolve every path before anything is written; raise `ClashError` if an output is an input.

    With `signals_folder` (a dask run), the signals path names the folder of a signals dataset.
    """
    outputs, unusable = _resolved(paths, signals_folder=signals_folder)
    found, problem = _found(paths)
    _check(outputs, _read(paths, found), signals_folder=signals_folder)
    return Prepared(paths, outputs, unusable, found, problem, signals_folder)


def spared(paths: Paths, clash: ClashError, *, signals_folder: bool = False) -> Prepared:
    """What a run refused for `clash` still writes, as any failed run does: the outputs no clash names.

    A path that a clash names is never written, as it may be a file the run reads; but the output
    still takes the error document where it only shares its file with another output, which is
    then left alone: that file is no input, and the document is what it is for. Every other clash
    among the outputs is found and left alone too.
    """
    outputs, unusable = _resolved(paths, signals_folder=signals_folder)
    read = _read(paths, _found(paths)[0])
    left = _named(clash)
    while True:
        kept = {option: out for option, out in outputs.items() if option not in left}
        try:
            _check(kept, read, signals_folder=signals_folder)
        except ClashError as another:
            left |= _named(another)
            continue
        unusable = {option: exc for option, exc in unusable.items() if option not in left}
        return Prepared(paths, kept, unusable, None, None, signals_folder)


def _named(clash: ClashError) -> set[Option]:
    """The options whose paths a clash leaves alone: both, but the output where two outputs share a file."""
    return set(clash.options) - ({Option.OUTPUT} if clash.shared else set())


def _resolved(paths: Paths, *, signals_folder: bool) -> tuple[dict[Option, Target], Unusable]:
    """Each output's target, or why it can never be written (a folder, a socket), by option."""
    outputs: dict[Option, Target] = {}
    unusable: Unusable = {}
    for option, path in paths.outputs().items():
        try:
            if option is Option.SIGNALS and signals_folder:
                outputs[option] = folder_target(path)
            elif option in (Option.GROUPS, Option.TABLE):
                table = target(option, path)
                table_format(path, option=option)  # a name that says no format can never be written
                outputs[option] = table
            else:
                outputs[option] = target(option, path)
        except OutputError as exc:
            unusable[option] = exc
    return outputs, unusable


def _found(paths: Paths) -> tuple[Found | None, InputError | None]:
    """The input's files, or why they could not be found."""
    try:
        # Objects are listed once the config is read: its storage_options may be needed to reach
        # them. They are never outputs, which are local paths.
        return (None if isinstance(paths.input, Url) else find_files(paths.input)), None
    except InputError as exc:
        return None, exc


def _read(paths: Paths, found: Found | None) -> list[tuple[Option, Path, Identity]]:
    """Every local file the run reads (the config, the input's files), by option, with its identity."""
    read: list[tuple[Option, Path, Identity]] = []
    if paths.config is not None:
        try:
            read.append((Option.CONFIG, paths.config, identity(paths.config.stat())))
        except OSError:
            pass  # reading the config says what is wrong
    if found is not None:
        local = [path for path in found.files if isinstance(path, Path)]
        read.extend((Option.INPUT, path, key) for path, key in zip(local, found.identities, strict=True))
    return read


def _check(
    outputs: dict[Option, Target], read: list[tuple[Option, Path, Identity]], *, signals_folder: bool
) -> None:
    """Raise `ClashError` if an output is a file the run reads, another output, or inside the dataset."""
    check_clashes(outputs.values(), read)
    if signals_folder and Option.SIGNALS in outputs:
        others: dict[Option, Path] = {
            option: out.path for option, out in outputs.items() if option is not Option.SIGNALS
        }
        check_inside(outputs[Option.SIGNALS], others)


def is_stdout(out: Target) -> bool:
    """Whether `out` is the file this process's stdout writes to (`/dev/stdout`, or its file by name)."""
    if out.status is None:
        return False
    try:
        here = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or None when started without one
        return False
    return (here.st_dev, here.st_ino) == (out.status.st_dev, out.status.st_ino)
