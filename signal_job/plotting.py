"""Pictures: of a signals file or a sweep (the `plot` command), of a run or a sweep as it ends (its picture).

A signals file is reduced to at most one bucket per pixel column (`computing.buckets`, two
streaming passes) and drawn (`reporting.pictures`); a sweep's document or table is drawn as its
rate against the window. A run's picture is drawn from the signals file it writes, before that
file goes in place, and goes in place with the document; without a signals file asked for, the
run writes one in a staging folder under TMPDIR for the picture, removed after. Nothing reads the
input a second time.
"""

from __future__ import annotations

import logging
import stat
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import polars as pl

from signal_job import job
from signal_job.computing import buckets as cut
from signal_job.computing.staging import staging_folder
from signal_job.errors import (
    ClashError,
    ConfigError,
    InputError,
    JobError,
    counted,
    file_problem,
    first_line,
    names_text,
    shorten,
)
from signal_job.formats import FileFormat, format_of
from signal_job.options import Option
from signal_job.paths import Prepared
from signal_job.reporting import pictures
from signal_job.reporting.outputs import Pending, Target, atomic, target, write
from signal_job.safe_files import identity, kind_of

if TYPE_CHECKING:
    from os import PathLike

log = logging.getLogger(__name__)

_SWEEP_COLUMNS = ("window", "rows", "value", "full_windows")


@dataclass(frozen=True)
class Asked:
    """What a face asks of a picture: its size, and which rows of a signals file it draws."""

    width: int = pictures.WIDTH
    height: int = pictures.HEIGHT
    start: str | datetime | None = None  # the first time drawn (ISO 8601 text, or a datetime)
    end: str | datetime | None = None  # the last
    group: str | None = None  # the one group drawn

    def checked(self) -> Asked:
        """These settings, the times read; `ConfigError` for a size out of bounds or a time unread."""
        for option, side in ((Option.WIDTH, self.width), (Option.HEIGHT, self.height)):
            if not 1 <= side <= pictures.MAX_SIDE:
                msg = f"{option} must be from 1 to {pictures.MAX_SIDE} pixels, not {side}"
                raise ConfigError(msg)
        too_many = pictures.too_many_pixels(self.width, self.height)
        if too_many is not None:
            msg = f"{Option.WIDTH} x {Option.HEIGHT}: {too_many}"
            raise ConfigError(msg)
        return replace(self, start=_time(self.start, Option.FROM), end=_time(self.end, Option.TO))


def _time(value: str | datetime | None, option: Option) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        msg = f"{option} {value!r} is not a time: give one such as 2024-01-01 or 2024-01-01T09:30"
        raise ConfigError(msg) from None


@dataclass(frozen=True)
class Drawn:
    """What a picture shows: its rows (a sweep's: its windows), and at most how many rows a point holds."""

    rows: int
    per_point: int


def plot(source: Path, picture: Path, asked: Asked = Asked()) -> Drawn:
    """Draw `source` (a signals file, a sweep's document or table) into `picture`, whole or not at all.

    Raises `InputError` for a source that is none of these, an empty range or an unknown group;
    `OutputError` for a picture that cannot be written (an unknown ending, no plot extra),
    `ClashError` for a picture that is the source.
    """
    asked = asked.checked()
    out = target(Option.PLOT, picture)
    try:
        status = source.stat()
    except OSError as exc:
        raise InputError(file_problem(exc, "input file", source)) from exc
    if out.status is not None and identity(out.status) == identity(status):
        msg = f"picture {picture} is the input file {source}: the job never writes over what it reads"
        raise ClashError(msg, options=(Option.PLOT, Option.INPUT))
    if not stat.S_ISREG(status.st_mode):  # a FIFO would block the read, a folder holds no table
        msg = f"input file {source} is {kind_of(status)}, not a regular file"
        raise InputError(msg)
    kind = pictures.picture_kind(picture)  # after the clash, which says more
    if source.suffix.lower() == ".json":
        data, drawn = _sweep_document_picture(source, kind, asked)
    else:
        frame = _scan(source, format_of(source), what=f"input file {source}")
        names = list(_schema(frame, source))
        if all(name in names for name in _SWEEP_COLUMNS):
            data, drawn = _sweep_table_picture(frame, source, kind, asked)
        else:
            data, drawn = signals_picture(frame, str(source), kind, asked)
    write(out, data)
    log.info("picture written to %s", picture)
    return drawn


def _scan(path: Path, kind: FileFormat | None, *, what: str) -> pl.LazyFrame:
    """The rows of a table the job wrote (Parquet, Arrow or CSV, by `kind`), lazily."""
    if kind is FileFormat.PARQUET:
        return pl.scan_parquet(path)
    if kind is FileFormat.IPC:
        return pl.scan_ipc(path)
    if kind in (FileFormat.CSV, FileFormat.CSV_GZIP, FileFormat.CSV_ZSTD):
        return pl.scan_csv(path, try_parse_dates=True)
    msg = (
        f"{what} is not a signals file, a sweep's document or its table: give .parquet, .arrow, .csv or .json"
    )
    raise InputError(msg)


def _schema(frame: pl.LazyFrame, path: Path) -> pl.Schema:
    try:
        return frame.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"input file {path} cannot be read as a table: {first_line(exc)}"
        raise InputError(msg) from exc


def signals_picture(
    frame: pl.LazyFrame, source: str, kind: str, asked: Asked, *, window: int | None = None
) -> tuple[bytes, Drawn]:
    """The picture of a signals file's rows (`frame`) named `source`: its bytes, and what it shows."""
    picture = run_picture(frame, source, asked, window=window)
    data = pictures.draw_run(picture, kind=kind, width=asked.width, height=asked.height)
    rows = [count for panel in picture.panels for count in panel.rows]
    return data, Drawn(sum(rows), max(rows, default=0))


def run_picture(
    frame: pl.LazyFrame, source: str, asked: Asked, *, window: int | None = None
) -> pictures.RunPicture:
    """What the picture of a signals file's rows (`frame`, named `source`) shows: its reduction, in panels.

    `window`, the run's (else the file's names or its first means tell it).
    """
    asked = asked.checked()
    what = f"signals file {source}"
    shape = cut.shape_of(_schema(frame, Path(source)), what=source)
    rows = cut.numbered(frame)
    selected = _selected(shape, asked, what=what, schema=frame.collect_schema())
    try:
        spans = rows.pipe(cut.spans, shape, selected=selected).collect(engine="streaming")
        _check_rows(spans, shape, asked, what=what)
        reduced = cut.buckets(rows, shape, spans, width=asked.width, selected=selected).collect(
            engine="streaming"
        )
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"{what} cannot be read: {first_line(exc)}"
        raise InputError(msg) from exc
    return _run_picture(reduced, shape, source, window=window or _window(spans, shape))


def _selected(shape: cut.Shape, asked: Asked, *, what: str, schema: pl.Schema) -> pl.Expr | None:
    """The rows the picture draws: those of the group asked for, between the times asked for."""
    picks = []
    if asked.group is not None:
        if shape.group is None:
            msg = f"{what} has no groups to pick one from with {Option.GROUP}"
            raise InputError(msg)
        picks.append(pl.col(shape.group).cast(pl.String) == asked.group)
    for option, when, keep in ((Option.FROM, asked.start, "ge"), (Option.TO, asked.end, "le")):
        if when is None:
            continue
        if shape.time is None or not schema[shape.time].is_temporal():
            msg = f"{what} has no times, so {option} cannot pick its rows"
            raise InputError(msg)
        bound = pl.lit(when).cast(schema[shape.time])
        picks.append(getattr(pl.col(shape.time), keep)(bound))
    return pl.all_horizontal(picks) if picks else None


def _check_rows(spans: pl.DataFrame, shape: cut.Shape, asked: Asked, *, what: str) -> None:
    if asked.group is not None and shape.group is not None:
        names = spans[shape.group].cast(pl.String).to_list()
        if asked.group not in names:
            msg = f"{what} has no group {asked.group!r}; its groups: {names_text(names)}"
            raise InputError(msg)
    if int(spans[cut.ROWS].sum()) == 0:
        times = f" from {asked.start}" if asked.start else ""
        times += f" to {asked.end}" if asked.end else ""
        msg = f"{what} has no rows{times}" + (f" in group {asked.group!r}" if asked.group else "")
        raise InputError(msg)


def _window(spans: pl.DataFrame, shape: cut.Shape) -> int | None:
    """A run's window, from the warm-up of its groups; a sweep's file has one per signal (None here)."""
    if not shape.means or shape.windows[0] is not None or cut.WARM_UP not in spans.columns:
        return None
    warm_up = spans[cut.WARM_UP].drop_nulls()
    return None if warm_up.is_empty() else int(warm_up.min()) + 1  # type: ignore[arg-type]


def _run_picture(
    reduced: pl.DataFrame, shape: cut.Shape, source: str, *, window: int | None
) -> pictures.RunPicture:
    """The picture's panels, one per group (up to `MAX_PANELS`), and its title's rate and window."""
    timed = shape.time is not None and reduced.schema[cut.FIRST_TIME].is_temporal()
    rows = int(reduced[cut.ROWS].sum())
    if shape.windows[0] is None:
        rate = f"{int(reduced[shape.signals[0]].sum()) / rows:.4f}"
        said = str(window) if window is not None else "unknown"
    else:
        rate = ", ".join(
            f"{int(reduced[name].sum()) / rows:.4f} ({each})"
            for name, each in zip(shape.signals, shape.windows, strict=True)
        )
        said = f"{shape.windows[0]} drawn"
    parts = reduced.partition_by(shape.group, maintain_order=True) if shape.group else [reduced]
    panels = [_panel(part, shape, timed=timed) for part in parts[: pictures.MAX_PANELS]]
    left = [_group_name(part, shape.group) for part in parts[pictures.MAX_PANELS :]] if shape.group else []
    return pictures.RunPicture(source, panels, rate, said, timed=timed, left_out=left)


def _panel(part: pl.DataFrame, shape: cut.Shape, *, timed: bool) -> pictures.Panel:
    def band(name: str) -> pictures.Band:
        return pictures.Band(*(part[f"{name}_{end}"].to_list() for end in ("first", "last", "min", "max")))

    starts, ends = (cut.FIRST_TIME, cut.LAST_TIME) if timed else (cut.FIRST_ROW, cut.LAST_ROW)
    return pictures.Panel(
        name=_group_name(part, shape.group) if shape.group else None,
        starts=part[starts].to_list(),
        ends=part[ends].to_list(),
        rows=part[cut.ROWS].to_list(),
        signals=part[shape.signals[0]].to_list(),
        close=band(cut.CLOSE),
        mean=band(shape.means[0]) if shape.means else None,
    )


def _group_name(part: pl.DataFrame, group: str) -> str:
    """A panel's group as the picture names it; the rows with no group value, as such."""
    value = part[group][0]
    return "(no value)" if value is None else str(value)


def _sweep_document_picture(source: Path, kind: str, asked: Asked) -> tuple[bytes, Drawn]:
    what = f"input file {source} is not a sweep's document"
    try:
        document = orjson.loads(source.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        msg = f"{what} (with its results): {first_line(exc)}"
        raise InputError(msg) from exc
    if not isinstance(document, dict) or "results" not in document:
        msg = f"{what} (with its results): it has no results key"
        raise InputError(msg)
    lines = sweep_lines(document["results"], what=what, entry="result")
    return _sweep_drawn(lines, f"sweep {source}", kind, asked)


def sweep_lines(results: object, *, what: str = "sweep", entry: str = "result") -> list[pictures.SweepLine]:
    """A sweep document's `results` as lines: one per group if grouped, else one of all rows.

    Each entry is checked as it is read: `InputError` saying `what` is wrong, naming the `entry`
    ("result 2", "row 2") and its key, for results that are not a list of a sweep's entries.
    """
    if not isinstance(results, list):
        msg = f"{what}: its results are {type(results).__name__}, not a list of windows"
        raise InputError(msg)
    named: dict[str | None, list[tuple[int, float, float]]] = {}
    for index, each in enumerate(results, start=1):
        where = f"{what}: {entry} {index:,}"
        window, point = _sweep_point(each, where)
        groups = each.get("groups")
        if groups is None:  # one line, of all rows
            named.setdefault(None, []).append((window, *point))
            continue
        if not isinstance(groups, list):
            msg = f"{where} has groups {_shown(groups)}, not a list"
            raise InputError(msg)
        for place, group in enumerate(groups, start=1):
            _, point = _sweep_point(group, f"{where}, group {place:,}", window=window)
            name = "(no value)" if group.get("group") is None else str(group["group"])
            named.setdefault(name, []).append((window, *point))
    return [_sweep_line(name, points) for name, points in named.items()]


def _sweep_point(each: object, where: str, *, window: int | None = None) -> tuple[int, tuple[float, float]]:
    """An entry's window, and its rate and share of rows with a full window; `InputError` if it has none."""
    if not isinstance(each, Mapping):
        msg = f"{where} is {_shown(each)}, not an object of window, value, rows and full_windows"
        raise InputError(msg)
    if window is None:
        window = each.get("window")
        if not isinstance(window, int) or isinstance(window, bool):
            msg = f"{where} has window {_shown(window)}, not a whole number"
            raise InputError(msg)
    numbers = {}
    for key in ("value", "rows", "full_windows"):
        number = each.get(key)
        if not isinstance(number, int | float) or isinstance(number, bool):
            msg = f"{where} has {key} {_shown(number)}, not a number"
            raise InputError(msg)
        numbers[key] = float(number)
    rows = numbers["rows"]
    return window, (numbers["value"], numbers["full_windows"] / rows if rows else 0.0)


def _shown(value: object) -> str:
    """A value as a message shows it: empty, or its JSON-like text, cut short."""
    return "empty" if value is None else shorten(value)


def _sweep_line(name: str | None, points: list[tuple[int, float, float]]) -> pictures.SweepLine:
    points = sorted(points)
    return pictures.SweepLine(
        name,
        windows=[window for window, _, _ in points],
        rates=[rate for _, rate, _ in points],
        full=[full for _, _, full in points],
    )


def _sweep_table_picture(frame: pl.LazyFrame, source: Path, kind: str, asked: Asked) -> tuple[bytes, Drawn]:
    try:
        entries = frame.collect().to_dicts()
    except (pl.exceptions.PolarsError, OSError) as exc:
        msg = f"input file {source} cannot be read as a sweep's table: {first_line(exc)}"
        raise InputError(msg) from exc
    grouped = bool(entries) and "group" in entries[0]
    results = [{**entry, "groups": [entry]} if grouped else entry for entry in entries]
    lines = sweep_lines(results, what=f"input file {source} is not a sweep's table", entry="row")
    return _sweep_drawn(lines, f"sweep {source}", kind, asked)


def _sweep_drawn(lines: list[pictures.SweepLine], title: str, kind: str, asked: Asked) -> tuple[bytes, Drawn]:
    """A sweep's picture: its lines, or the one of the group asked for (a sweep has no times to pick)."""
    for option, when in ((Option.FROM, asked.start), (Option.TO, asked.end)):
        if when is not None:
            msg = f"{title} has results by window, not rows by time: {option} picks rows of a signals file"
            raise ConfigError(msg)
    if not lines:
        msg = f"{title} has no results to draw"
        raise InputError(msg)
    if asked.group is not None:
        names = [line.name for line in lines if line.name is not None]
        if not names:
            msg = f"{title} has no groups to pick one from with {Option.GROUP}"
            raise InputError(msg)
        lines = [line for line in lines if line.name == asked.group]
        if not lines:
            msg = f"{title} has no group {asked.group!r}; its groups: {names_text(names)}"
            raise InputError(msg)
    titled = f"{title}: signal rate and rows with a full window, by window"
    data = pictures.draw_sweep(lines, title=titled, kind=kind, width=asked.width, height=asked.height)
    return data, Drawn(rows=len(lines[0].windows), per_point=1)


def pictured(inner: job.Steps, plot: str | PathLike[str] | None, *, swept: bool = False) -> job.Steps:
    """A run's (or a sweep's) steps `inner`, drawing its picture too when a `plot` path is given.

    The faces' one way to add a picture; matplotlib is imported only as the picture is drawn.
    """
    return inner if plot is None else steps(inner, swept=swept)


def steps(inner: job.Steps, asked: Asked = Asked(), *, swept: bool = False) -> job.Steps:
    """`inner` (a run's or a sweep's steps), then its picture, written to go in place with the document."""
    return partial(_pictured, inner=inner, asked=asked, swept=swept)


def _pictured(
    prepared: Prepared, request: job.Request, pending: Pending, *, inner: job.Steps, asked: Asked, swept: bool
) -> job.Outcome:
    """Run `inner`; draw its picture from the signals it wrote (a sweep's from its results).

    Raises `JobError` carrying the config's version, as the steps do.
    """
    try:
        if Option.PLOT in prepared.unusable:
            raise prepared.unusable[Option.PLOT]
        out = prepared.outputs[Option.PLOT]
        assert isinstance(out, Target)  # noqa: S101 - a URL is unusable (see `paths`)
        kind = pictures.picture_kind(out.path)
        asked = asked.checked()
        if swept:
            outcome = inner(prepared, request, pending)
            lines = sweep_lines(outcome.document["results"], what=f"sweep of {request.paths.input}")
            data, _ = _sweep_drawn(lines, f"sweep of {request.paths.input}", kind, asked)
        else:
            outcome, data = _drawn_run(prepared, request, pending, inner=inner, kind=kind, asked=asked)
        with atomic(out, pending=pending) as temporary:
            temporary.write_bytes(data)
    except JobError as exc:
        if exc.version is None:
            exc.version = request.configured.version()
        raise
    log.info("picture written to %s", out.path)
    return outcome


def _drawn_run(
    prepared: Prepared, request: job.Request, pending: Pending, *, inner: job.Steps, kind: str, asked: Asked
) -> tuple[job.Outcome, bytes]:
    """The run's outcome and its picture, from the signals file it writes (or stages, if none is asked)."""
    signals = prepared.outputs.get(Option.SIGNALS)
    if request.where.name != "local" and signals is None:
        # The workers write the signals: into a folder they can reach, which only the user knows.
        msg = (
            f"{Option.PLOT} with {Option.ENGINE.given('dask')} is drawn from the signals dataset the "
            f"workers write: give {Option.SIGNALS} a folder they can write to"
        )
        raise ConfigError(msg)
    if request.where.name == "local" and request.where.cache is not None:
        msg = (
            f"{Option.PLOT} is drawn from the run's signals, which are not written with {Option.CACHE} "
            f"on the local engine: run without {Option.CACHE}, or with {Option.ENGINE.given('dask')} "
            f"and {Option.SIGNALS}"
        )
        raise ConfigError(msg)
    if signals is not None and not isinstance(signals, Target):
        msg = (
            f"{Option.PLOT} is drawn from a signals file on this machine: give {Option.SIGNALS} a local path"
        )
        raise ConfigError(msg)
    if signals is not None:
        outcome = inner(prepared, request, pending)
        return outcome, _from_signals(pending, signals, kind, asked, request)
    with staging_folder() as folder, Pending() as own:  # the staged signals go with the folder
        staged = target(Option.SIGNALS, folder / "signals.parquet")
        # An output the route writes, not a path the run reports: the staged file is not kept.
        with_signals = replace(prepared, outputs={**prepared.outputs, Option.SIGNALS: staged})
        outcome = inner(with_signals, request, own)
        return outcome, _from_signals(own, staged, kind, asked, request)


def _from_signals(pending: Pending, signals: Target, kind: str, asked: Asked, request: job.Request) -> bytes:
    """The picture of the signals the run wrote for `signals`, still held beside their place."""
    written = pending.staged(signals)
    assert written is not None  # noqa: S101 - a run's signals wait in `pending`
    window = request.configured.resolve().window
    if written.is_dir():  # a signals dataset (Dask's): its parts in the order of the rows
        frame = pl.scan_parquet(written / "part-*.parquet")
    else:
        frame = _scan(written, format_of(signals.path), what=f"signals file {signals.path}")
    # Titled by the run's input, as given: the picture of `run` whether or not it kept its signals.
    data, drawn = signals_picture(frame, str(request.paths.input), kind, asked, window=window)
    log.info("picture of %s, up to %s a point", counted(drawn.rows, "row"), counted(drawn.per_point, "row"))
    return data
