"""A run's paths, checked before anything is written: outputs resolved, inputs found, none the same.

`prepare` looks at every path before the run writes anything: the outputs (links followed) and
every file the input and config name, so that no output ever overwrites an input, nor another
output. Where two clash, `spared` gives the outputs that the refused run still writes.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

from signal_job.errors import ClashError, InputError, OutputError
from signal_job.formats import FileFormat, ending, format_of
from signal_job.options import Option
from signal_job.reading.files import Found, find_files
from signal_job.reading.storage import Location, Url
from signal_job.reporting.folders import check_inside, folder_target
from signal_job.reporting.outputs import Target, check_clashes, target
from signal_job.reporting.tables import table_format
from signal_job.reporting.uploads import RemoteTarget, remote_target
from signal_job.safe_files import Identity, identity

# The input that names standard input (`-`, as command-line tools name it): copied to a staging
# file when the run starts (`computing.staging.spooled`).
STDIN = Path("-")
STDIN_NAME = "<stdin>"  # how messages name it, in place of the copy's path


@dataclass(frozen=True)
class Paths:
    """What one run reads and writes, as given."""

    input: Location  # a file, a glob or a folder; on a disk or in object storage (s3://...); or `STDIN`
    config: Path | None  # None: the config was given as a mapping or a `Config`
    # The document, the signals and the groups table may be objects in storage (s3://...).
    output: Location | None  # None: the document is only returned (Python API), or printed (`-`)
    log_file: Location | None  # None: records go to the `signal_job` logger only
    signals: Location | None = None
    metrics_file: Location | None = None  # a Prometheus textfile
    groups: Location | None = None  # every group's counts, as a table (CSV, Parquet, Arrow: by its ending)
    table: Location | None = None  # a sweep's results, as a table (CSV, Parquet, Arrow: by its ending)
    plot: Location | None = None  # a picture of the run: PNG, SVG or HTML, by its ending (a local file)

    def outputs(self) -> dict[Option, Location]:
        """Each output path by the option that names it."""
        named = {
            Option.OUTPUT: self.output,
            Option.LOG_FILE: self.log_file,
            Option.SIGNALS: self.signals,
            Option.METRICS_FILE: self.metrics_file,
            Option.GROUPS: self.groups,
            Option.TABLE: self.table,
            Option.PLOT: self.plot,
        }
        return {option: path for option, path in named.items() if path is not None}


Unusable = dict[Option, OutputError]  # by option, outputs that can never be written (a folder, a socket)
Out = Target | RemoteTarget  # an output: a local file (or folder), or an object in storage


@dataclass(frozen=True)
class Prepared:
    """The run's paths, checked: outputs resolved, input files found, none of them the same."""

    paths: Paths
    outputs: dict[Option, Out]  # by option, the outputs that can be written
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


def _resolved(paths: Paths, *, signals_folder: bool) -> tuple[dict[Option, Out], Unusable]:
    """Each output's target, or why it can never be written (a folder, a socket), by option."""
    outputs: dict[Option, Out] = {}
    unusable: Unusable = {}
    for option, path in paths.outputs().items():
        try:
            if isinstance(path, Url):
                _remote(option, path, outputs, signals_folder=signals_folder)
            elif option is Option.SIGNALS and signals_folder:
                _check_dataset_name(path)
                outputs[option] = folder_target(path)
            elif option in (Option.GROUPS, Option.TABLE):
                table = target(option, path)
                table_format(path, option=option)  # a name that says no format can never be written
                outputs[option] = table
            elif option is Option.SIGNALS:
                # Still compared with the other paths: a clash says more than the name's ending.
                outputs[option] = target(option, path)
                table_format(path, option)
            else:
                outputs[option] = target(option, path)
        except OutputError as exc:
            unusable[option] = exc
    return outputs, unusable


def _remote(option: Option, url: Url, outputs: dict[Option, Out], *, signals_folder: bool) -> None:
    """Add the output `option` names in object storage to `outputs`; `OutputError` if it cannot be one."""
    if option is Option.SIGNALS and signals_folder:
        msg = (
            f"{option} {url}: with {Option.ENGINE.given('dask')} the signals dataset is a folder on a "
            "disk the workers share, not in object storage; give a local path"
        )
        raise OutputError(msg)
    out = remote_target(option, url)
    if option in (Option.SIGNALS, Option.GROUPS, Option.TABLE):
        outputs[option] = out  # still compared with the other outputs, as a local one
        table_format(url, option)
    outputs[option] = out


def _check_dataset_name(path: Path) -> None:
    """A signals dataset is a folder of Parquet parts: a name that says another format is refused."""
    kind = format_of(path)
    if kind not in (None, FileFormat.PARQUET):
        msg = (
            f"signals dataset {path} {ending(path)}, but with {Option.ENGINE.given('dask')} {Option.SIGNALS} "
            "names a folder of Parquet parts: give a name without that ending, such as signals or "
            "signals.parquet"
        )
        raise OutputError(msg)


def _found(paths: Paths) -> tuple[Found | None, InputError | None]:
    """The input's files, or why they could not be found."""
    try:
        # Objects are listed once the config is read: its storage_options may be needed to reach
        # them. They are never outputs, which are local paths.
        # Standard input is copied once the run starts: it can be read only once.
        remote = isinstance(paths.input, Url) or paths.input == STDIN
        return (None if remote else find_files(paths.input)), None
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
    if paths.input == STDIN:  # `< data.csv`: that file is read, and never written
        try:
            status = os.fstat(sys.stdin.fileno())
        except (OSError, ValueError, AttributeError):  # closed, or None
            return read
        if stat.S_ISREG(status.st_mode):
            read.append((Option.INPUT, Path(STDIN_NAME), identity(status)))
    return read


def _check(
    outputs: dict[Option, Out], read: list[tuple[Option, Path, Identity]], *, signals_folder: bool
) -> None:
    """Raise `ClashError` if an output is a file the run reads, another output, or inside the dataset."""
    local = {option: out for option, out in outputs.items() if isinstance(out, Target)}
    check_clashes(local.values(), read)
    _check_objects([out for out in outputs.values() if isinstance(out, RemoteTarget)])
    if signals_folder and Option.SIGNALS in local:
        others: dict[Option, Path] = {
            option: out.path for option, out in local.items() if option is not Option.SIGNALS
        }
        check_inside(local[Option.SIGNALS], others)


def _check_objects(objects: list[RemoteTarget]) -> None:
    """Raise `ClashError` if two outputs name one object."""
    seen: dict[str, RemoteTarget] = {}
    for out in objects:
        if out.url.text in seen:
            first = seen[out.url.text]
            msg = f"{first.option} and {out.option} name the same object {out.url}; give each its own"
            raise ClashError(msg, options=(first.option, out.option), shared=True)
        seen[out.url.text] = out


def is_stdout(out: Out) -> bool:
    """Whether `out` is the file this process's stdout writes to (`/dev/stdout`, or its file by name)."""
    if isinstance(out, RemoteTarget) or out.status is None:
        return False
    try:
        here = os.fstat(sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # closed, or None when started without one
        return False
    return (here.st_dev, here.st_ino) == (out.status.st_dev, out.status.st_ino)
