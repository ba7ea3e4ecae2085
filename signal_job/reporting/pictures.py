"""Pictures of a run and of a sweep: PNG, SVG or a self-contained HTML page, drawn by matplotlib.

matplotlib is the `plot` extra's, imported only inside the drawing functions, with no pyplot (no
display, no global state): a `Figure` rendered by the Agg canvas for PNG, matplotlib's SVG
backend for SVG. A run's picture draws buckets of rows (see `computing.buckets`), each as its
first and last value joined by a line and its smallest and largest as a vertical bar, so a spike
of one row among millions stays in sight.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from signal_job.errors import OutputError, counted, install_hint, names_text
from signal_job.reporting.outputs import Target, same_version

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

log = logging.getLogger(__name__)

WIDTH, HEIGHT = 1200, 600  # the picture's default size, in pixels
MAX_SIDE = 2**15  # a side's pixels at most
# A picture's pixels at most (8192 x 8192): Agg holds 4 bytes a pixel, so 256 MiB of buffer; the
# largest sides together (32768 x 32768) would take 4 GiB before a line is drawn.
MAX_PIXELS = 2**26
MAX_PANELS = 12  # groups drawn at most, one panel each; the others are named under the picture
_DPI = 100
KINDS = (".png", ".svg", ".html")
# In every picture's first bytes (a PNG's text, an SVG's creator, a page's generator): a failed run
# removes an older picture at its path only if it bears this, as it does its signals file.
MARK = "signal-job picture"
_HEAD = 4096
_CLOSE, _MEAN, _SHARE = "#1f4e79", "#d9822b", "#2e8b57"


def picture_kind(path: PurePath | str) -> str:
    """The picture's format by the name's ending (`png`, `svg`, `html`); `OutputError` for another."""
    suffix = PurePath(path).suffix.lower()
    if suffix not in KINDS:
        said = f"ends in {PurePath(path).suffix!r}" if suffix else "has no ending"
        msg = f"picture {path} {said}: give a name ending in {', '.join(KINDS)}"
        raise OutputError(msg)
    return suffix.removeprefix(".")


def too_many_pixels(width: int, height: int) -> str | None:
    """What is wrong with a picture of `width` x `height` pixels past `MAX_PIXELS`; None if it is not."""
    pixels = width * height
    if pixels <= MAX_PIXELS:
        return None
    return f"{width} x {height} is {pixels:,} pixels, more than the {MAX_PIXELS:,} (8192 x 8192) allowed"


@dataclass(frozen=True)
class Band:
    """One series over the buckets: each bucket's first, last, smallest and largest value."""

    first: Sequence[float | None]
    last: Sequence[float | None]
    low: Sequence[float | None]
    high: Sequence[float | None]


@dataclass(frozen=True)
class Panel:
    """One group's buckets (or the whole file's): where each starts and ends, and what it holds."""

    name: str | None  # the group; None for a file without one
    starts: Sequence[datetime] | Sequence[int]  # each bucket's first time, or first row
    ends: Sequence[datetime] | Sequence[int]  # its last
    rows: Sequence[int]
    signals: Sequence[int]  # the rows with a signal, of the signal drawn
    close: Band
    mean: Band | None  # none in a sweep's signals file written without its means


@dataclass(frozen=True)
class RunPicture:
    """What a run's picture shows: its panels, the groups left out, and what the title says."""

    source: str  # the signals file, as named
    panels: Sequence[Panel]
    rate: str  # "0.4989", or a sweep's "0.4989 (5), 0.4978 (10)"
    window: str  # "5", or "unknown"
    timed: bool  # the x axis holds times, not row numbers
    left_out: Sequence[str] = ()  # groups past `MAX_PANELS`


@dataclass(frozen=True)
class SweepLine:
    """One line of a sweep's picture: a group's (or all rows') rate and full windows by window."""

    name: str | None
    windows: Sequence[int]
    rates: Sequence[float]
    full: Sequence[float]  # the share of rows with a full window


def _figure(width: int, height: int) -> Figure:
    try:
        from matplotlib.figure import Figure  # noqa: PLC0415 - the plot extra, only when drawing
    except ImportError as exc:
        msg = f"a picture needs the plot extra: {install_hint('plot')}"
        raise OutputError(msg) from exc
    return Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, layout="constrained")


def draw_run(picture: RunPicture, *, kind: str, width: int = WIDTH, height: int = HEIGHT) -> bytes:
    """The run's picture (`run_figure`) as the bytes of a `kind` file (see `picture_kind`)."""
    return _rendered(
        run_figure(picture, width=width, height=height), kind, title=f"signal-job: {picture.source}"
    )


def run_figure(picture: RunPicture, *, width: int = WIDTH, height: int = HEIGHT) -> Figure:
    """The run's figure, `width` x `height` pixels; its lines and bars carry their series' name as gid.

    Per panel: close and the rolling mean, and below them the share of each bucket's rows with a
    signal; the title says the signal rate and the window, the foot how many rows a bucket holds.
    """
    figure = _figure(width, height)
    panels = list(picture.panels)
    grid = figure.add_gridspec(2 * len(panels), 1, height_ratios=[4, 1] * len(panels))
    for index, panel in enumerate(panels):
        top = figure.add_subplot(grid[2 * index])
        strip = figure.add_subplot(grid[2 * index + 1], sharex=top)
        _draw_panel(top, strip, panel, timed=picture.timed)
    figure.suptitle(f"{picture.source}: signal rate {picture.rate}, window {picture.window}")
    figure.supxlabel(_foot(picture), fontsize="small")
    return figure


def _draw_panel(top: Axes, strip: Axes, panel: Panel, *, timed: bool) -> None:
    starts, ends = _x(panel.starts, timed=timed), _x(panel.ends, timed=timed)
    for band, name, color in ((panel.close, "close", _CLOSE), (panel.mean, "rolling_mean", _MEAN)):
        if band is None:
            continue
        wide = [index for index, rows in enumerate(panel.rows) if rows > 1]
        if wide:  # the extremes a bucket of many rows hides between its first and last value
            top.vlines(
                [(starts[index] + ends[index]) / 2 for index in wide],
                [_number(band.low[index]) for index in wide],
                [_number(band.high[index]) for index in wide],
                colors=color,
                alpha=0.35,
                linewidth=1,
                gid=f"{name}_range",
            )
        xs = [value for pair in zip(starts, ends, strict=True) for value in pair]
        ys = [_number(value) for pair in zip(band.first, band.last, strict=True) for value in pair]
        top.plot(xs, ys, color=color, linewidth=1, label=name.replace("_", " "), gid=name)
    top.set_title(panel.name if panel.name is not None else "", loc="left", fontsize="medium")
    top.legend(loc="upper left", fontsize="small")
    top.tick_params(labelbottom=False)
    shares = [
        signals / rows if rows else 0.0 for signals, rows in zip(panel.signals, panel.rows, strict=True)
    ]
    edges = [*starts, ends[-1] + _row_step(starts, ends, panel.rows)]
    strip.stairs(shares, edges, fill=True, color=_SHARE, alpha=0.6, gid="signal_share")
    strip.set_ylim(0, 1)
    strip.set_ylabel("signals", fontsize="small")
    if timed:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: PLC0415

        locator = AutoDateLocator()
        strip.xaxis.set_major_locator(locator)
        strip.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    else:
        strip.set_xlabel("row", fontsize="small")


def _row_step(starts: Sequence[float], ends: Sequence[float], rows: Sequence[int]) -> float:
    """The x a row spans, by the last bucket's own rows, else the median bucket's: where the strip ends.

    A bucket spans from its first row to the next bucket's; the last has no next, so it ends one
    row's step past its last row (a day with daily candles, a second with seconds). One bucket of
    one row has no step to tell: it gets a width of 1 (a row, or a day).
    """
    if rows[-1] > 1 and ends[-1] > starts[-1]:
        return (ends[-1] - starts[-1]) / (rows[-1] - 1)
    steps = sorted(
        (starts[index + 1] - starts[index]) / rows[index]
        for index in range(len(starts) - 1)
        if rows[index] and starts[index + 1] > starts[index]
    )
    return steps[len(steps) // 2] if steps else 1.0


def _x(values: Sequence[datetime] | Sequence[int], *, timed: bool) -> list[float]:
    """The x of each value: matplotlib's day numbers for times, the row number itself otherwise."""
    if not timed:
        return [float(value) for value in values]  # type: ignore[arg-type]
    from matplotlib.dates import date2num  # noqa: PLC0415

    return [float(date2num(value)) for value in values]


def _number(value: float | None) -> float:
    return float("nan") if value is None else value


def _foot(picture: RunPicture) -> str:
    """How many rows a bucket holds, and which groups are left out."""
    most = max((max(panel.rows, default=0) for panel in picture.panels), default=0)
    total = sum(sum(panel.rows) for panel in picture.panels)
    foot = f"{counted(total, 'row')} drawn; each point holds up to {counted(most, 'row')}"
    foot += "; the signal strip shows the share of a point's rows with a signal"
    if picture.left_out:
        foot += (
            f"\n{len(picture.left_out):,} more groups not drawn (at most {MAX_PANELS} panels): "
            f"{names_text(picture.left_out, limit=8)}"
        )
    return foot


def draw_sweep(
    lines: Sequence[SweepLine], *, title: str, kind: str, width: int = WIDTH, height: int = HEIGHT
) -> bytes:
    """A sweep's picture (`sweep_figure`) as the bytes of a `kind` file (see `picture_kind`)."""
    return _rendered(sweep_figure(lines, title=title, width=width, height=height), kind, title=title)


def sweep_figure(
    lines: Sequence[SweepLine], *, title: str, width: int = WIDTH, height: int = HEIGHT
) -> Figure:
    """A sweep's figure: the signal rate, and the share of rows with a full window, against the window."""
    figure = _figure(width, height)
    rate, full = figure.subplots(2, 1, sharex=True)
    for line in lines[:MAX_PANELS]:
        label = line.name if line.name is not None else "all rows"
        rate.plot(line.windows, line.rates, marker=".", label=label, gid=f"rate:{label}")
        full.plot(line.windows, line.full, marker=".", label=label, gid=f"full:{label}")
    rate.set_ylabel("signal rate")
    full.set_ylabel("rows with a full window")
    full.set_xlabel("window")
    rate.legend(fontsize="small")
    figure.suptitle(title)
    if len(lines) > MAX_PANELS:
        left = [line.name or "" for line in lines[MAX_PANELS:]]
        figure.supxlabel(
            f"{len(left):,} more groups not drawn: {names_text(left, limit=8)}", fontsize="small"
        )
    return figure


def _paletted(png: bytes) -> bytes:
    """A PNG in 256 colours: a line chart needs no more, and is a third of the size (README's picture)."""
    from PIL import Image  # noqa: PLC0415 - matplotlib's own dependency, so the plot extra's
    from PIL.PngImagePlugin import PngInfo  # noqa: PLC0415

    text = PngInfo()
    text.add_text("Software", MARK)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(buffer, "png", optimize=True, pnginfo=text)
    return buffer.getvalue()


def _rendered(figure: Figure, kind: str, *, title: str) -> bytes:
    """The figure as a PNG or SVG file, or an HTML page that holds the PNG itself (no network needed)."""
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Software": None} if kind != "svg" else {"Date": None, "Creator": MARK}
    with warnings.catch_warnings():
        # Many panels in a small picture: matplotlib then lays them out as it can, and says so.
        warnings.filterwarnings("ignore", "constrained_layout not applied", UserWarning)
        figure.savefig(buffer, format="svg" if kind == "svg" else "png", metadata=metadata)
    if kind == "svg":
        return buffer.getvalue()
    data = _paletted(buffer.getvalue())
    if kind == "png":
        return data
    inline = base64.b64encode(data).decode("ascii")
    width, height = (round(side * _DPI) for side in figure.get_size_inches())
    page = (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="{MARK}">'
        f"<title>{html.escape(title)}</title></head>\n"
        f'<body><img alt="{html.escape(title)}" width="{width}" height="{height}" '
        f'src="data:image/png;base64,{inline}"></body></html>\n'
    )
    return page.encode("utf-8")


def remove_stale_picture(out: Target, ours: os.stat_result | None) -> None:
    """After a failed run, remove the picture at `out`, so that an earlier run's does not pass for its own.

    Only a picture this job drew (`MARK`), found there before the run or put there by it: never
    another file, nor another run's new picture.
    """
    now = out.current()
    if now is None or not stat.S_ISREG(now.st_mode):
        return
    if not any(same_version(now, known) for known in (out.status, ours) if known is not None):
        return
    try:
        with out.real.open("rb") as file:
            marked = MARK.encode() in file.read(_HEAD)
        if marked:
            out.real.unlink()
    except OSError as exc:
        log.warning("cannot remove %s, the picture of an earlier run: %s", out.path, exc.strerror)
        return
    if marked:
        log.warning("removed %s, the picture of an earlier run", out.path)
