"""The input's counts: the input opened, the route decided, the counts taken, what was read.

What a run (`job.run_steps`) and a sweep (`sweeping`) both do between their config and their
document: find and open the input (its files; a copy of standard input; a frame staged as a
file), decide the route once (`computing.route`), count on the engine it names (`engines`), and
say what was read (the files' facts, their bytes hashed on request).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from signal_job.computing import pipeline
from signal_job.computing.route import Engine, Route, decide, describe
from signal_job.computing.staging import spooled, writing_staged
from signal_job.config import Config
from signal_job.engines import ENGINES, Where
from signal_job.errors import ConfigError, InputError, JobError, StagingError, counted
from signal_job.options import Option, Spelling
from signal_job.paths import STDIN, STDIN_NAME, Prepared
from signal_job.reading.files import find_files
from signal_job.reading.frames import NAMED as FRAME
from signal_job.reading.frames import as_lazy, frame_error, stage_frame
from signal_job.reading.inputs import Input, distinct_files, open_input
from signal_job.reading.storage import Url
from signal_job.reporting import report
from signal_job.reporting.fingerprints import Hasher, facts, summary
from signal_job.reporting.logs import FIELDS
from signal_job.reporting.outputs import Pending
from signal_job.reporting.uploads import RemoteTarget, check_reachable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    """What `count` found: the counts, what was read, and where the first close of 0 or below is."""

    result: pipeline.Result
    inputs: dict[str, Any]
    first_nonpositive: str | None  # None where no close is 0 or below


def count(
    prepared: Prepared,
    config: Config,
    pending: Pending,
    *,
    where: Where,
    spelling: Spelling,
    hashing: bool = False,
    frame: object | None = None,
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> Counted:
    """The counts of the input (the signals file written to `pending`), and what was read.

    The input opened (its files; a standard input's copy; a `frame` staged as a file), the route
    decided and logged, the counts taken on its engine, the files' facts (their bytes hashed too,
    with `hashing`) named in the face's `spelling`. `windows`, a sweep's, are counted in the same
    scan (the config's window their largest); `means`, its signals file holds their rolling means.
    Raises `JobError`, carrying the config's version.
    """
    paths = prepared.paths
    try:
        check_group_table(prepared, config)
        check_objects(prepared, config)
        with stdin_spooled(prepared) as spooled:
            data = open_data(spooled, config, frame=frame)
            route = route_of(data, spooled, config, where, windows=windows, means=means)
            log.info("route: %s", describe(route), extra={FIELDS: {"route": route.as_dict()}})
            result, inputs = fingerprinted(
                data,
                lambda: compute(data, spooled, config, where, route, pending=pending),
                hashing=hashing,
            )
            first = first_nonpositive(data) if result.total.nonpositive else None
            if first is not None and paths.input == STDIN:  # named as the input, not by its copy
                first = first.replace(str(distinct_files(data)[0].path), STDIN_NAME)
    except JobError as exc:
        exc.version = config.version
        raise
    if first is not None:  # a staged frame's file, as the face names it
        first = spelling(first)
    for listed in inputs["list"]:  # a staged frame's file, as the face names it
        listed["path"] = spelling(listed["path"])
    if paths.input == STDIN:  # the copy is gone: the document names what was read
        for each in inputs.get("list", []):
            each["path"] = STDIN_NAME
    return Counted(result, inputs, first)


def first_nonpositive(data: Input) -> str | None:
    """Where the input's first close of 0 or below is: looked for only once the counts found one."""
    from signal_job.reading import lines  # noqa: PLC0415 - rarely needed: kept off the start-up path

    return lines.first_nonpositive(data.parts)


def check_objects(prepared: Prepared, config: Config) -> None:
    """Refuse outputs in object storage whose bucket does not exist or does not answer, before any work."""
    for out in prepared.outputs.values():
        if isinstance(out, RemoteTarget):
            check_reachable(out.with_options(config.reading.storage_options))


def check_group_table(prepared: Prepared, config: Config) -> None:
    """Refuse a groups table where the run has no groups, before any work."""
    if Option.GROUPS in prepared.outputs and config.group_by is None:
        msg = (
            f"{Option.GROUPS} asks for a table of every group's counts, but the config sets no "
            f"group_by, so the run has no groups: set group_by in the config (the column naming "
            f"the series), or leave out {Option.GROUPS}"
        )
        raise ConfigError(msg)


@contextmanager
def stdin_spooled(prepared: Prepared) -> Iterator[Prepared]:
    """`prepared`, its input found; where that is standard input, in a copy removed at the block's end.

    Messages name the copy as standard input, never by its temporary path.
    """
    if prepared.paths.input != STDIN or prepared.input_problem is not None:
        yield prepared
        return
    try:
        stream = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # None when started with it closed
        msg = f"{Option.INPUT} {STDIN} reads standard input, but this process has none (it is closed)"
        raise InputError(msg) from None
    with spooled(stream) as copy:
        try:
            yield replace(prepared, found=find_files(copy))
        except JobError as exc:
            exc.args = (str(exc).replace(str(copy), STDIN_NAME), *exc.args[1:])
            raise


def open_data(prepared: Prepared, config: Config, *, frame: object | None = None) -> Input:
    """The input's files, found and opened, in order; a `frame` staged first as the input's file."""
    if prepared.input_problem is not None and frame is None:
        raise prepared.input_problem
    if Option.SIGNALS in prepared.unusable:
        raise prepared.unusable[Option.SIGNALS]
    if frame is not None:  # not before an unusable output is refused: it is work
        assert isinstance(prepared.paths.input, Path)  # noqa: S101 - a staging folder's file
        _stage(frame, prepared.paths.input)
    found = prepared.found if frame is None else find_files(prepared.paths.input)
    if found is None:  # in object storage: listed now, with the config's storage_options
        assert isinstance(prepared.paths.input, Url)  # noqa: S101 - else found, or a problem
        found = find_files(replace(prepared.paths.input, options=config.reading.storage_options))
    data = open_input(found, reading=config.reading, timestamps=Option.SIGNALS in prepared.outputs)
    files = distinct_files(data)
    given = str(prepared.paths.input) if frame is None else "frame"  # never a temporary path
    fields = {"input": given, "files": len(files), "bytes": sum(source.size for source in files)}
    log.info(
        "%s: %s", FRAME if frame is not None else f"input {given}", data.describe(), extra={FIELDS: fields}
    )
    report.warn_of_mixed_series(data, config.group_by)
    return data


def _stage(frame: object, path: Path) -> None:
    """Write the input `frame` to `path`: a full disk is the staging folder's error, any other the frame's."""
    import polars as pl  # noqa: PLC0415 - imported already: a run has started

    if isinstance(frame, StagingError):
        raise frame
    try:
        with writing_staged():
            stage_frame(as_lazy(frame), path)
    except (pl.exceptions.PolarsError, OSError, ValueError, TypeError, ImportError) as exc:
        raise frame_error(exc) from exc


def fingerprinted(
    data: Input, compute: Callable[[], pipeline.Result], *, hashing: bool
) -> tuple[pipeline.Result, dict[str, Any]]:
    """`compute()`, and what it read: the files' facts, their bytes hashed alongside with `hashing`."""
    files = distinct_files(data)
    hasher = Hasher([source.path for source in files]) if hashing else None
    try:
        result = compute()
        hashes = hasher.result() if hasher is not None else None
    finally:
        if hasher is not None:
            hasher.stop()
    found = facts(files, hashes)
    inputs = summary(found, hashed=hashing)
    log.info(
        "inputs: %s, %s bytes, fingerprint %s",
        counted(inputs["files"], "file"),
        f"{inputs['bytes']:,}",
        inputs["fingerprint"],
        extra={
            FIELDS: {"files": inputs["files"], "bytes": inputs["bytes"], "fingerprint": inputs["fingerprint"]}
        },
    )
    for each in found:
        log.debug("read %s", each.path, extra={FIELDS: each.as_dict()})
    return result, inputs


def route_of(
    data: Input,
    prepared: Prepared,
    config: Config,
    where: Where,
    *,
    windows: tuple[int, ...] | None = None,
    means: bool = False,
) -> Route:
    """How the run goes (see `route`): decided once, from what was asked for and what was found."""
    engine = Engine.LOCAL if where.cache is None else Engine.CACHE
    if where.name == "dask":
        engine = Engine.DASK
    signals = Option.SIGNALS in prepared.outputs
    cached = where.cache is not None
    return decide(data, config, signals=signals, engine=engine, cached=cached, windows=windows, means=means)


def compute(
    data: Input, prepared: Prepared, config: Config, where: Where, route: Route, *, pending: Pending
) -> pipeline.Result:
    """The counts by the engine `route` names; the signals, if asked for, written whole to `pending`."""
    engine = ENGINES[route.engine.choice]
    return engine(data, config, route, where, prepared.outputs.get(Option.SIGNALS), pending)
