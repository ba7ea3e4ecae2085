"""Pictures of real runs: the plot command, run and sweep with a picture, signal_job.plot."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import polars as pl
import pytest
from matplotlib.collections import LineCollection
from matplotlib.image import imread

import signal_job
from signal_job import job, plotting
from signal_job.computing import buckets
from signal_job.errors import ConfigError, InputError
from signal_job.reporting.pictures import run_figure, sweep_figure
from tests.conftest import CONSOLE_SCRIPT, PROJECT

CONFIG = {"seed": 42, "window": 5, "version": "v1"}


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A folder holding the bundled data.csv and config.yaml, as a fresh clone has them."""
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    return tmp_path


def console(
    folder: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], cwd=folder, capture_output=True, check=False, timeout=120, env=env
    )


def data_of(values: object) -> list[float]:
    """An artist's data as plain numbers."""
    return [float(value) for value in np.asarray(values, dtype=float)]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def not_blank(path: Path) -> bool:
    pixels = imread(io.BytesIO(path.read_bytes()), format="png")
    return bool(pixels[..., :3].var() > 0.001)


def reduction(signals: Path, width: int) -> pl.DataFrame:
    """The signals file's buckets, as `computing.buckets` reduces them (on the in-memory engine)."""
    rows = buckets.numbered(pl.scan_parquet(signals))
    shape = buckets.shape_of(pl.Schema(pl.read_parquet_schema(signals)), what="s")
    spans = buckets.spans(rows, shape).collect(engine="in-memory")
    return buckets.buckets(rows, shape, spans, width=width).collect(engine="in-memory")


def grouped_signals(folder: Path) -> Path:
    """A signals file of three tickers' runs over the candles (BTC, ETH, SOL)."""
    candles = pl.read_csv(PROJECT / "tests" / "data" / "candles.csv")
    tickers = pl.concat(
        candles.with_columns(pl.lit(name).alias("ticker"), pl.col("close") * (index + 1))
        for index, name in enumerate(("BTC", "ETH", "SOL"))
    )
    tickers.write_csv(folder / "tickers.csv")
    signal_job.run(
        folder / "tickers.csv",
        config={**CONFIG, "group_by": "ticker"},
        signals=folder / "tickers.parquet",
    )
    return folder / "tickers.parquet"


def test_the_drawn_data_is_the_reduction_of_the_signals_file(bundled: Path) -> None:
    signal_job.run(bundled / "data.csv", config=CONFIG, signals=bundled / "s.parquet")
    picture = plotting.run_picture(
        pl.scan_parquet(bundled / "s.parquet"), "s.parquet", plotting.Asked(width=400)
    )
    figure = run_figure(picture, width=400)
    expected = reduction(bundled / "s.parquet", 400)
    top = figure.axes[0]
    lines = {line.get_gid(): data_of(line.get_ydata()) for line in top.get_lines()}
    pairs = expected.select(pl.concat_list("close_first", "close_last").explode())["close_first"].to_list()
    assert lines["close"] == pairs
    ranges = next(item for item in top.collections if item.get_gid() == "close_range")
    assert isinstance(ranges, LineCollection)
    assert [segment[:, 1].tolist() for segment in ranges.get_segments()] == [
        [low, high] for low, high in expected.select("close_min", "close_max").iter_rows()
    ]
    assert expected.height == 400
    assert figure.get_suptitle() == "s.parquet: signal rate 0.4989, window 5"  # the run's, and its window


def test_run_with_signals_and_plot_draws_the_picture_beside_the_document(bundled: Path) -> None:
    done = console(bundled, "run", "--signals", "s.parquet", "--plot", "run.png")
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["value"] == 0.4989
    assert png_size(bundled / "run.png") == (1200, 600)
    assert not_blank(bundled / "run.png")
    assert pl.read_parquet(bundled / "s.parquet").height == 10_000
    assert not [path.name for path in bundled.iterdir() if path.name.startswith(".")]


def test_run_plot_without_signals_stages_them_under_tmpdir_and_removes_them(
    bundled: Path, empty_tmpdir: Path
) -> None:
    done = console(bundled, "run", "--plot", "run.html")  # TMPDIR is the empty folder
    assert done.returncode == 0, done.stderr
    assert (bundled / "run.html").read_bytes().startswith(b"<!doctype html>")
    assert sorted(path.name for path in bundled.iterdir()) == [
        "config.yaml",
        "data.csv",
        "metrics.json",
        "run.html",
        "run.log",
        "tmp",
    ]
    assert list(empty_tmpdir.iterdir()) == []


def test_sweep_with_plot_draws_its_rate_against_the_window(bundled: Path) -> None:
    done = console(bundled, "sweep", "--windows", "5:50:5", "--plot", "sweep.svg")
    assert done.returncode == 0, done.stderr
    assert "<svg" in (bundled / "sweep.svg").read_text()


@pytest.mark.parametrize("source", ["sweep.json", "table.csv", "table.parquet"])
def test_a_sweeps_document_and_its_table_draw_the_same_lines(bundled: Path, source: str) -> None:
    result = signal_job.sweep(
        bundled / "data.csv", windows=[5, 10, 20], config=CONFIG, output=bundled / "sweep.json"
    )
    signal_job.sweep(bundled / "data.csv", windows=[5, 10, 20], config=CONFIG, table=bundled / "table.csv")
    signal_job.sweep(
        bundled / "data.csv", windows=[5, 10, 20], config=CONFIG, table=bundled / "table.parquet"
    )
    lines = plotting.sweep_lines(result.document["results"])
    assert [(line.windows, line.rates) for line in lines] == [([5, 10, 20], [0.4989, 0.4978, 0.4944])]
    figure = sweep_figure(lines, title="t")
    assert [data_of(line.get_ydata()) for line in figure.axes[1].get_lines()] == [[0.9996, 0.9991, 0.9981]]
    done = console(bundled, "plot", source, "--output", "sweep.png", "--width", "500", "--height", "300")
    assert done.returncode == 0, done.stderr
    assert png_size(bundled / "sweep.png") == (500, 300)
    assert not_blank(bundled / "sweep.png")


def test_plot_of_a_signals_file_has_the_asked_size(bundled: Path) -> None:
    signal_job.run(bundled / "data.csv", config=CONFIG, signals=bundled / "s.csv")
    done = console(bundled, "plot", "s.csv", "-o", "run.png", "--width", "640", "--height", "360")
    assert done.returncode == 0, done.stderr
    assert png_size(bundled / "run.png") == (640, 360)
    assert not_blank(bundled / "run.png")


def test_a_time_range_and_a_group_pick_the_rows_drawn(tmp_path: Path) -> None:
    signals = grouped_signals(tmp_path)
    asked = plotting.Asked(width=50, start="2024-01-01T00:10", end="2024-01-01T00:59:59", group="ETH")
    picture = plotting.run_picture(pl.scan_parquet(signals), "t", asked)
    assert [panel.name for panel in picture.panels] == ["ETH"]
    assert sum(picture.panels[0].rows) == 50
    assert picture.window == "5"  # told by the warm-up of the means
    every = plotting.run_picture(pl.scan_parquet(signals), "t", plotting.Asked(width=50))
    assert [panel.name for panel in every.panels] == ["BTC", "ETH", "SOL"]


def test_the_python_api_draws_and_names_its_own_arguments(tmp_path: Path) -> None:
    signals = grouped_signals(tmp_path)
    assert signal_job.plot(signals, tmp_path / "p.png", width=300, height=200) == tmp_path / "p.png"
    assert png_size(tmp_path / "p.png") == (300, 200)
    signal_job.run(PROJECT / "data.csv", config=CONFIG, signals=tmp_path / "one.parquet")
    with pytest.raises(InputError, match=r"has no groups to pick one from with group$"):
        signal_job.plot(tmp_path / "one.parquet", tmp_path / "q.png", group="BTC")
    assert not (tmp_path / "q.png").exists()


def test_run_plot_with_an_unknown_ending_fails_before_the_work_and_leaves_nothing(bundled: Path) -> None:
    done = console(bundled, "run", "--signals", "s.parquet", "--plot", "run.jpg")
    assert done.returncode == 1
    document = orjson.loads(done.stdout)
    assert document["version"] == "v1"  # the config's, read before the picture was refused
    assert (
        document["error_message"] == "picture run.jpg ends in '.jpg': give a name ending in .png, .svg, .html"
    )
    assert not (bundled / "s.parquet").exists()
    assert not (bundled / "run.jpg").exists()


def test_run_plot_on_dask_needs_a_signals_dataset_and_before_any_cluster_starts(bundled: Path) -> None:
    done = console(bundled, "run", "--plot", "run.png", "--engine", "dask")
    assert done.returncode == 1
    document = orjson.loads(done.stdout)
    assert document["error_message"] == (
        "--plot with --engine dask is drawn from the signals dataset the workers write: give --signals "
        "a folder they can write to"
    )
    assert document["version"] == "v1"  # the config's, as every run's error once it is read
    assert not (bundled / "run.png").exists()


@pytest.mark.slow  # starts a local Dask cluster
def test_run_plot_on_dask_draws_the_signals_dataset_as_the_local_run_draws_its_file(bundled: Path) -> None:
    here = console(bundled, "run", "--signals", "s.parquet", "--plot", "here.png", "--output", "here.json")
    assert here.returncode == 0, here.stderr
    there = console(
        bundled,
        "run",
        "--engine",
        "dask",
        "--workers",
        "1",
        "--signals",
        "dataset",
        "--plot",
        "there.png",
        "--output",
        "there.json",
    )
    assert there.returncode == 0, there.stderr
    assert (bundled / "dataset").is_dir()
    assert (bundled / "there.png").read_bytes() == (bundled / "here.png").read_bytes()


def test_run_plot_with_a_local_cache_says_the_signals_are_not_written_there(bundled: Path) -> None:
    done = console(bundled, "run", "--plot", "run.png", "--cache", "kept")
    assert done.returncode == 1
    assert (
        "--plot is drawn from the run's signals, which are not written with --cache on the local engine"
        in (orjson.loads(done.stdout)["error_message"])
    )
    assert not (bundled / "run.png").exists()


@pytest.mark.parametrize("args", [["plot", "s.parquet"], ["run", "--plot", "run.png"]])
def test_without_the_plot_extra_a_picture_fails_naming_it(bundled: Path, args: list[str]) -> None:
    signal_job.run(bundled / "data.csv", config=CONFIG, signals=bundled / "s.parquet")
    probe = (
        "import sys; sys.modules['matplotlib'] = None; sys.modules['matplotlib.figure'] = None\n"
        "from signal_job.cli import main\n"
        "sys.argv = ['signal-job', *sys.argv[1:]]; main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args], cwd=bundled, capture_output=True, check=False, timeout=120
    )
    assert done.returncode == 1, done.stderr
    message = orjson.loads(done.stdout)["error_message"]
    assert message.startswith("a picture needs the plot extra: pip install '.[plot]' from a checkout")
    assert not (bundled / "plot.png").exists()
    assert not (bundled / "run.png").exists()
    assert b"Traceback" not in done.stderr


def test_a_grouped_sweeps_results_make_a_line_per_group_and_rows_without_a_value_are_named() -> None:
    results = [
        {"window": window, "value": 0.5, "rows": 10, "full_windows": 10 - window, "groups": groups}
        for window, groups in (
            (
                5,
                [
                    {"group": "A", "value": 0.4, "rows": 6, "full_windows": 2},
                    {"group": None, "value": 0.5, "rows": 4, "full_windows": 0},
                ],
            ),
            (
                2,
                [
                    {"group": "A", "value": 0.3, "rows": 6, "full_windows": 5},
                    {"group": None, "value": 0.25, "rows": 4, "full_windows": 3},
                ],
            ),
        )
    ]
    lines = plotting.sweep_lines(results)
    assert [(line.name, line.windows, line.rates, line.full) for line in lines] == [
        ("A", [2, 5], [0.3, 0.4], [5 / 6, 2 / 6]),
        ("(no value)", [2, 5], [0.25, 0.5], [0.75, 0.0]),
    ]
    figure = sweep_figure(lines, title="t")
    assert [line.get_label() for line in figure.axes[0].get_lines()] == ["A", "(no value)"]


def test_a_panel_of_the_rows_without_a_group_value_is_named_so() -> None:
    frame = pl.LazyFrame(
        {
            "ticker": ["A", None, "A", None],
            "close": [1.0, 2.0, 3.0, 4.0],
            "rolling_mean": [None, None, 2.0, 3.0],
            "signal": [0, 0, 1, 1],
        }
    )
    picture = plotting.run_picture(frame, "f", plotting.Asked(width=10))
    assert [panel.name for panel in picture.panels] == ["A", "(no value)"]
    assert not picture.timed  # no timestamp column: the rows' numbers
    assert [list(panel.starts) for panel in picture.panels] == [[0, 2], [1, 3]]
    assert picture.window == "2"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"start": "yesterday"}, "start 'yesterday' is not a time: give one such as 2024-01-01"),
        ({"end": "soon"}, "end 'soon' is not a time"),
        ({"width": 0}, "width must be from 1 to 32768 pixels, not 0"),
        (
            {"width": 32768, "height": 32768},
            "width x height: 32768 x 32768 is 1,073,741,824 pixels, more than the 67,108,864",
        ),
    ],
)
def test_the_python_api_refuses_settings_it_cannot_read_naming_its_arguments(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}"):
        signal_job.plot(tmp_path / "s.parquet", tmp_path / "p.png", **arguments)
    assert list(tmp_path.iterdir()) == []


def sweep_entry(window: object, **given: object) -> dict[str, object]:
    """One window's entry of a sweep's results, as the document holds it; `given` replaces its keys."""
    return {"window": window, "rows": 10, "signals": 5, "value": 0.5, "full_windows": 9, **given}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"results": {"a": 1}}, "its results are dict, not a list of windows"),
        ([1, 2], "it has no results key"),
        ({"results": [sweep_entry(5), 3]}, "result 2 is 3, not an object of window, value, rows"),
        ({"results": [sweep_entry("x")]}, "result 1 has window 'x', not a whole number"),
        ({"results": [sweep_entry(5.5)]}, "result 1 has window 5.5, not a whole number"),
        ({"results": [sweep_entry(5, value=None)]}, "result 1 has value empty, not a number"),
        ({"results": [sweep_entry(5, rows="10")]}, "result 1 has rows '10', not a number"),
        ({"results": [sweep_entry(5, groups={"A": 1})]}, "result 1 has groups {'A': 1}, not a list"),
        (
            {"results": [sweep_entry(5, groups=[{"group": "A", "value": 0.5, "rows": 4}])]},
            "result 1, group 1 has full_windows empty, not a number",
        ),
    ],
)
def test_a_malformed_sweep_document_is_an_input_error_naming_the_file_and_the_entry(
    tmp_path: Path, document: object, message: str
) -> None:
    (tmp_path / "sweep.json").write_bytes(orjson.dumps(document))
    said = f"input file {tmp_path / 'sweep.json'} is not a sweep's document"
    with pytest.raises(InputError, match=re.escape(said) + ".*" + re.escape(message)):
        signal_job.plot(tmp_path / "sweep.json", tmp_path / "p.png")
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize(
    ("name", "column", "message"),
    [
        ("table.csv", "value", "row 2 has value empty, not a number"),
        ("table.parquet", "full_windows", "row 2 has full_windows empty, not a number"),
    ],
)
def test_a_sweep_table_with_an_empty_number_is_an_input_error_naming_its_row(
    tmp_path: Path, name: str, column: str, message: str
) -> None:
    table = pl.DataFrame([sweep_entry(5), sweep_entry(10)]).with_columns(
        pl.when(pl.col("window") == 10).then(None).otherwise(pl.col(column)).alias(column)
    )
    (table.write_csv if name.endswith(".csv") else table.write_parquet)(tmp_path / name)
    said = f"input file {tmp_path / name} is not a sweep's table: {message}"
    with pytest.raises(InputError, match=f"^{re.escape(said)}$"):
        signal_job.plot(tmp_path / name, tmp_path / "p.png")


def grouped_sweep(folder: Path) -> Path:
    """A sweep's document by hand: windows 5 and 10, groups A and B."""
    groups = [{"group": name, "rows": 5, "value": 0.4, "full_windows": 3} for name in ("A", "B")]
    document = {"results": [sweep_entry(window, groups=groups) for window in (5, 10)]}
    (folder / "sweep.json").write_bytes(orjson.dumps(document))
    return folder / "sweep.json"


def test_a_group_draws_that_groups_line_of_a_sweep_only(tmp_path: Path) -> None:
    signal_job.plot(grouped_sweep(tmp_path), tmp_path / "b.svg", group="B")
    drawn = (tmp_path / "b.svg").read_text()
    assert 'id="rate:B"' in drawn
    assert 'id="rate:A"' not in drawn
    with pytest.raises(InputError, match=r"sweep .*sweep\.json has no group 'C'; its groups: 'A', 'B'$"):
        signal_job.plot(tmp_path / "sweep.json", tmp_path / "c.svg", group="C")
    (tmp_path / "all.json").write_bytes(orjson.dumps({"results": [sweep_entry(5)]}))
    with pytest.raises(InputError, match=r"all\.json has no groups to pick one from with group$"):
        signal_job.plot(tmp_path / "all.json", tmp_path / "c.svg", group="A")
    assert not (tmp_path / "c.svg").exists()


@pytest.mark.parametrize(
    ("arguments", "named"), [({"start": "2024-01-02"}, "start"), ({"end": "2024-01-02"}, "end")]
)
def test_a_time_range_of_a_sweep_is_refused_naming_the_argument(
    tmp_path: Path, arguments: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigError, match=f"has results by window, not rows by time: {named} picks rows"):
        signal_job.plot(grouped_sweep(tmp_path), tmp_path / "p.png", **arguments)
    assert not (tmp_path / "p.png").exists()


def test_a_sweeps_picture_has_its_own_variable_never_a_runs(bundled: Path) -> None:
    environment = {**os.environ, "SIGNAL_JOB_PLOT": "run.png"}
    done = console(bundled, "sweep", "--windows", "5,10", env=environment)
    assert done.returncode == 0, done.stderr
    assert not (bundled / "run.png").exists()
    done = console(
        bundled, "sweep", "--windows", "5,10", env={**environment, "SIGNAL_JOB_SWEEP_PLOT": "s.svg"}
    )
    assert done.returncode == 0, done.stderr
    assert 'id="rate:all rows"' in (bundled / "s.svg").read_text()
    assert not (bundled / "run.png").exists()


def test_the_faces_add_a_picture_to_the_steps_only_for_a_path() -> None:
    assert plotting.pictured(job.run_steps, None) is job.run_steps
    assert plotting.pictured(job.run_steps, "run.png") is not job.run_steps
