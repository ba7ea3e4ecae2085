"""Pictures: their format by ending, their size, never blank, their data readable from their artists."""

from __future__ import annotations

import io
import re
import struct
from datetime import datetime, timedelta

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import imread
from matplotlib.lines import Line2D
from matplotlib.patches import StepPatch

from signal_job.errors import OutputError
from signal_job.reporting.pictures import (
    MARK,
    MAX_PANELS,
    Band,
    Panel,
    RunPicture,
    SweepLine,
    draw_run,
    draw_sweep,
    picture_kind,
    run_figure,
    sweep_figure,
)

START = datetime(2024, 1, 1)


def data_of(values: object) -> list[float]:
    """An artist's data as plain numbers."""
    return [float(value) for value in np.asarray(values, dtype=float)]


def png_size(data: bytes) -> tuple[int, int]:
    """A PNG's width and height, from its header chunk."""
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def not_blank(data: bytes) -> bool:
    """Whether a PNG's pixels vary: something is drawn on it."""
    pixels = imread(io.BytesIO(data), format="png")
    return bool(pixels[..., :3].var() > 0.001)


def panel(name: str | None, rows: list[int], *, timed: bool = True) -> Panel:
    starts: list[datetime] | list[int]
    ends: list[datetime] | list[int]
    firsts = [sum(rows[:index]) for index in range(len(rows))]
    if timed:
        starts = [START + timedelta(minutes=first) for first in firsts]
        ends = [
            START + timedelta(minutes=first + count - 1) for first, count in zip(firsts, rows, strict=True)
        ]
    else:
        starts, ends = firsts, [first + count - 1 for first, count in zip(firsts, rows, strict=True)]
    values = [100.0 + index for index in range(len(rows))]
    close = Band(
        values, [value + 0.5 for value in values], [value - 3 for value in values], [v + 3 for v in values]
    )
    mean = Band([None, *values[1:]], [None, *values[1:]], [None, *values[1:]], [None, *values[1:]])
    return Panel(name, starts, ends, rows, [count // 2 for count in rows], close, mean)


def picture(panels: list[Panel], *, timed: bool = True, left_out: tuple[str, ...] = ()) -> RunPicture:
    return RunPicture("s.parquet", panels, "0.4989", "5", timed=timed, left_out=left_out)


@pytest.mark.parametrize(("name", "kind"), [("run.png", "png"), ("a/b.SVG", "svg"), ("page.html", "html")])
def test_the_ending_picks_the_pictures_format(name: str, kind: str) -> None:
    assert picture_kind(name) == kind


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("run.jpg", "picture run.jpg ends in '.jpg': give a name ending in .png, .svg, .html"),
        ("run", "has no ending"),
    ],
)
def test_an_unknown_ending_is_refused_naming_the_known_ones(name: str, message: str) -> None:
    with pytest.raises(OutputError, match=re.escape(message)):
        picture_kind(name)


@pytest.mark.parametrize(("width", "height"), [(1200, 600), (640, 480), (333, 211)])
def test_a_png_has_the_asked_size_and_is_not_blank(width: int, height: int) -> None:
    data = draw_run(picture([panel(None, [3, 4, 5, 2])]), kind="png", width=width, height=height)
    assert png_size(data) == (width, height)
    assert not_blank(data)


def test_an_svg_is_an_svg_of_the_asked_size() -> None:
    data = draw_run(picture([panel(None, [1, 1, 1])]), kind="svg", width=800, height=400).decode()
    assert "<svg" in data
    assert 'width="576pt" height="288pt"' in data  # 800 x 400 pixels at 72 points an inch of 100 pixels


@pytest.mark.parametrize("kind", ["png", "svg", "html"])
def test_every_picture_bears_the_jobs_mark_in_its_first_bytes(kind: str) -> None:
    data = draw_run(picture([panel(None, [2, 2])]), kind=kind, width=300, height=200)
    assert MARK.encode() in data[:4096]


def test_the_html_page_holds_the_picture_and_reaches_for_nothing_outside() -> None:
    page = draw_run(picture([panel("A", [2, 2])]), kind="html", width=500, height=300).decode()
    assert re.search(r"""(src|href)\s*=\s*["']?https?://""", page, re.IGNORECASE) is None
    assert 'src="data:image/png;base64,' in page
    assert 'width="500" height="300"' in page


def test_the_drawn_lines_are_each_buckets_first_and_last_value_and_its_extremes() -> None:
    figure = run_figure(picture([panel(None, [1, 4, 4], timed=False)], timed=False))
    top = figure.axes[0]
    close = next(line for line in top.get_lines() if line.get_gid() == "close")
    assert isinstance(close, Line2D)
    assert data_of(close.get_xdata()) == [0, 0, 1, 4, 5, 8]
    assert data_of(close.get_ydata()) == [100.0, 100.5, 101.0, 101.5, 102.0, 102.5]
    ranges = next(item for item in top.collections if item.get_gid() == "close_range")
    assert isinstance(ranges, LineCollection)
    # Only the buckets of many rows: one row has no range to show.
    assert [segment.tolist() for segment in ranges.get_segments()] == [
        [[2.5, 98.0], [2.5, 104.0]],
        [[6.5, 99.0], [6.5, 105.0]],
    ]
    share = next(patch for patch in figure.axes[1].patches if patch.get_gid() == "signal_share")
    assert isinstance(share, StepPatch)
    assert data_of(share.get_data()[0]) == [0.0, 0.5, 0.5]


def test_groups_past_the_limit_are_named_not_drawn() -> None:
    panels = [panel(f"G{index}", [2, 2]) for index in range(MAX_PANELS)]
    figure = run_figure(picture(panels, left_out=("late", "later")), height=1800)
    assert len(figure.axes) == 2 * MAX_PANELS
    foot = figure.get_supxlabel()
    assert "2 more groups not drawn (at most 12 panels): 'late', 'later'" in foot
    assert "each point holds up to 2 rows" in foot


def test_the_title_says_the_rate_and_the_window() -> None:
    figure = run_figure(picture([panel(None, [1, 1])]))
    assert figure.get_suptitle() == "s.parquet: signal rate 0.4989, window 5"


def test_a_sweeps_picture_draws_rate_and_full_windows_per_group() -> None:
    lines = [
        SweepLine("A", [5, 10, 20], [0.5, 0.49, 0.48], [0.99, 0.98, 0.96]),
        SweepLine("B", [5, 10, 20], [0.45, 0.5, 0.52], [0.9, 0.8, 0.6]),
    ]
    figure = sweep_figure(lines, title="sweep")
    rate, full = figure.axes
    assert {line.get_gid(): data_of(line.get_ydata()) for line in rate.get_lines()} == {
        "rate:A": [0.5, 0.49, 0.48],
        "rate:B": [0.45, 0.5, 0.52],
    }
    assert [data_of(line.get_xdata()) for line in full.get_lines()] == [[5, 10, 20]] * 2
    data = draw_sweep(lines, title="sweep", kind="png", width=640, height=480)
    assert png_size(data) == (640, 480)
    assert not_blank(data)


def test_without_matplotlib_a_picture_names_the_plot_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "matplotlib.figure", None)
    with pytest.raises(OutputError, match=r"a picture needs the plot extra: pip install '\.\[plot\]'"):
        draw_run(picture([panel(None, [1])]), kind="png")


@pytest.mark.parametrize("step", [timedelta(days=1), timedelta(seconds=1)])
@pytest.mark.parametrize("rows", [[1, 1, 1], [2, 2, 2]])
def test_the_last_buckets_signal_share_spans_its_rows_as_the_others_do(
    step: timedelta, rows: list[int]
) -> None:
    firsts = [sum(rows[:index]) for index in range(len(rows))]
    starts = [START + step * first for first in firsts]
    ends = [START + step * (first + count - 1) for first, count in zip(firsts, rows, strict=True)]
    values = [100.0] * len(rows)
    close = Band(values, values, values, values)
    drawn = Panel(None, starts, ends, rows, [1] * len(rows), close, None)
    figure = run_figure(picture([drawn]))
    share = next(patch for patch in figure.axes[1].patches if patch.get_gid() == "signal_share")
    assert isinstance(share, StepPatch)
    widths = np.diff(np.asarray(share.get_data()[1], dtype=float))
    day_share = step / timedelta(days=1)  # matplotlib's x is in days
    assert widths == pytest.approx([rows[0] * day_share] * len(rows), rel=1e-6)
