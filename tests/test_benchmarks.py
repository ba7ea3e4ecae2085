"""The benchmark tool (benchmarks/) leaves the checkout clean and says what it lacks in one line."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks import bench
from benchmarks.bench import EXTRA, RESULTS, records_folder
from benchmarks.correctness import FLOAT_SWEEPS, reference_sweep, sweep_wrong_signals
from benchmarks.datasets import CACHE_VARIABLE, cache_folder, dataset
from benchmarks.docs import FIGURES, blocks, documents, rendered
from benchmarks.float_sweep import row_signals, windows_of
from benchmarks.measure import SWEEP_TOOLS, Implementation, Place, Program, run_once
from benchmarks.presets import PRESETS, TARGETS
from benchmarks.report import _correctness_table
from signal_job.reference import reference_signals
from tests.conftest import PROJECT, examples

# Runs benchmarks.bench as `python -m benchmarks.bench ARGS` would, with the benchmark extra's
# modules unimportable, as in a venv with only `pip install .`: None in sys.modules blocks an import.
WITHOUT_EXTRA = (
    "import runpy, sys\n"
    "for module in sys.argv[1].split(','):\n"
    "    sys.modules[module] = None\n"
    "sys.argv = ['bench', *sys.argv[2:]]\n"
    "runpy.run_module('benchmarks.bench', run_name='__main__', alter_sys=True)\n"
)


def bench_without_extra(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    blocked = ",".join(sorted({*EXTRA.values(), "dask"}))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "HOME": str(cwd)}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA, blocked, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("option", ["--help", "--list"])
def test_help_and_the_presets_need_no_benchmark_extra(option: str, tmp_path: Path) -> None:
    done = bench_without_extra(option, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert ("usage: bench" if option == "--help" else "alternatives:") in done.stdout


def test_a_run_without_the_benchmark_extra_is_one_line_naming_it_and_makes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = bench_without_extra("--sizes", "1k", "--data", str(data), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert re.fullmatch(
        r"a benchmark run needs the benchmark extra \(signal-job\[dask\], pandas, .*rich missing\): "
        r"pip install -e '\.\[benchmark\]' in this checkout\n",
        done.stderr,
    )
    assert not data.exists()  # stopped before any dataset was made


def test_the_extra_a_run_checks_is_the_benchmark_extra_of_pyproject() -> None:
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = {
        re.split(r"[<>=!~ ]", requirement)[0] for requirement in extras["optional-dependencies"]["benchmark"]
    }
    assert set(EXTRA) == names - {"pytest-benchmark"}  # that one serves `pytest benchmarks` alone


def test_the_datasets_go_to_the_users_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CACHE_VARIABLE, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == tmp_path / "xdg" / "signal-job" / "benchmarks"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # not absolute: ignored, as XDG says
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == tmp_path / "home" / ".cache" / "signal-job" / "benchmarks"
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "shared"))  # e.g. a disk the team keeps them on
    assert cache_folder() == tmp_path / "shared"
    assert PROJECT not in cache_folder().parents


def test_a_dataset_is_made_in_the_folder_given(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    made = dataset(
        1_000, {"csv", "header_only"}, folder=folder, progress=lambda _what, _total: lambda _done: None
    )
    assert {made.csv.parent, made.header_only.parent} == {folder}
    assert pl.read_csv(made.csv).height == 1_000
    assert not (PROJECT / "benchmarks" / ".cache" / made.csv.name).exists()


def test_records_go_into_the_checkout_only_with_record(tmp_path: Path) -> None:
    assert records_folder(record=True, results=None, data=tmp_path) == RESULTS
    assert records_folder(record=False, results=tmp_path / "mine", data=tmp_path) == tmp_path / "mine"
    assert records_folder(record=False, results=None, data=tmp_path) == tmp_path / "results"
    assert RESULTS == PROJECT / "benchmarks" / "results"


@pytest.mark.parametrize("document", documents(), ids=lambda path: str(path.relative_to(PROJECT)))
def test_the_docs_figures_are_those_rendered_from_the_recorded_results(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    assert rendered(text) == text, (
        f"{document}: run `python -m benchmarks.docs` (a figure differs from the records)"
    )


def test_every_figure_is_shown_and_the_readme_headline_is_one() -> None:
    shown = [
        match["name"] for document in documents() for match in blocks(document.read_text(encoding="utf-8"))
    ]
    assert sorted(shown) == sorted(FIGURES)  # each once: one place of truth per figure
    assert [match["name"] for match in blocks((PROJECT / "README.md").read_text(encoding="utf-8"))] == [
        "headline"
    ]


def test_a_figure_typed_by_hand_is_rendered_again_from_the_record() -> None:
    typed = "before\n<!-- bench:hash -->\nHashing costs nothing: 0.5x.\n<!-- /bench -->\nafter\n"
    figure = FIGURES["hash"](RESULTS)
    assert rendered(typed) == f"before\n<!-- bench:hash -->\n{figure}<!-- /bench -->\nafter\n"
    assert "`python -m benchmarks.bench --preset hash --record`" in " ".join(figure.split())  # how measured
    with pytest.raises(LookupError, match="no figure named 'nothing'"):
        rendered("<!-- bench:nothing -->\n<!-- /bench -->\n")


# A plateau after prices near 40,000, then one after prices near 0.1: float rolling means drift
# off the plateau's price there (the exact mean is the price: no signal), so a float tool counts
# signals that are not there.
PLATEAU = [f"{40000 + (i * 7919) % 100000 / 100:.2f}" for i in range(60)] + ["40000.07"] * 60
PLATEAU += [f"{0.1 + i / 10:.1f}" for i in range(30)] + ["0.3"] * 30
WINDOWS = "2,3,5:10:5"  # 2, 3, 5, 10


def plateau_file(folder: Path) -> Path:
    path = folder / "plateau.csv"
    rows = (f"2024-01-01 {i // 60:02}:{i % 60:02}:00,{close}" for i, close in enumerate(PLATEAU))
    path.write_text("timestamp,close\n" + "\n".join(rows) + "\n")
    return path


def float_sweep(tool: str) -> Implementation:
    program = next(program for program, name in SWEEP_TOOLS.items() if name == tool)
    return Implementation(f"{tool} sweep", program, "csv", windows=WINDOWS)


@pytest.mark.parametrize(
    "tool", ["polars", "pandas", "duckdb", pytest.param("vectorbt", marks=pytest.mark.slow)]
)
def test_each_float_sweep_program_writes_a_result_per_window_of_the_signals_it_gives_per_row(
    tool: str, tmp_path: Path
) -> None:
    pytest.importorskip(tool)  # duckdb and vectorbt come with the benchmark extra
    path, place = plateau_file(tmp_path), Place(tmp_path, PROJECT)
    implementation = float_sweep(tool)
    command = implementation.command(path, place)
    _, _, document = run_once(command, place.output, env=implementation.environment(place), cwd=tmp_path)
    windows = windows_of(WINDOWS)
    signals = [int(sum(column)) for column in row_signals(tool, str(path), windows)]
    assert document == {
        "rows_processed": len(PLATEAU),
        "results": [
            {"window": window, "signals": count, "value": round(count / len(PLATEAU), 4)}
            for window, count in zip(windows, signals, strict=True)
        ],
    }


@given(
    closes=st.lists(
        st.none() | st.sampled_from(["0.1", "0.10", "0.3", "2", "40000.07", "-1.5"]).map(Decimal), max_size=40
    ),
    windows=st.lists(st.integers(1, 12), min_size=1, max_size=4),
)
@settings(max_examples=examples(200), deadline=None)
def test_the_sweeps_exact_reference_is_the_decimal_reference_of_each_window(
    closes: list[Decimal | None], windows: list[int]
) -> None:
    assert reference_sweep(closes, windows) == [reference_signals(closes, window) for window in windows]


@pytest.mark.slow  # vectorbt's import and numba take seconds
def test_a_sweeps_wrong_signals_are_none_for_signal_job_and_add_up_for_each_float_tool(
    tmp_path: Path,
) -> None:
    for module in ("duckdb", "vectorbt"):
        pytest.importorskip(module)
    report = sweep_wrong_signals(plateau_file(tmp_path), WINDOWS)
    truth = report["exact reference"]
    assert list(report) == ["exact reference", "signal-job sweep", *FLOAT_SWEEPS]
    assert report["signal-job sweep"] == truth == {"signals": truth["signals"], "false": 0, "missed": 0}
    for name in FLOAT_SWEEPS:
        counted = report[name]
        assert counted["signals"] == truth["signals"] + counted["false"] - counted["missed"], name
    # On the plateaus the floats count signals the exact means do not give.
    assert report["polars float rolling_mean"]["false"] > 0
    assert report["vectorbt MA.run"]["false"] > 0


def test_a_sweep_presets_wrong_signals_are_a_row_per_algorithm_and_sweep() -> None:
    counted = {"signals": 10, "false": 2, "missed": 1}
    correctness = {"rows": 200_000, "sweeps": [{"windows": "5:100:5", "algorithms": {"pandas": counted}}]}
    table = _correctness_table(correctness)
    assert "| pandas | 5:100:5 | 10 | 2 | 1 |" in table
    assert table[1] == "Wrong signals on 200,000 plateau-heavy rows, summed over each sweep's windows:"


def test_the_sweep_preset_runs_each_float_tools_two_sweeps_with_goals_of_time_and_memory() -> None:
    sweep = PRESETS["sweep"]
    assert sweep.correctness
    swept = {(i.program, i.windows) for i in sweep.implementations}
    assert {(program, w) for program in SWEEP_TOOLS for w in ("5:100:5", "2:200:2")} <= swept
    goals = {
        (goal.subject.windows, goal.base.program, goal.measure, goal.limit)
        for goal in TARGETS
        if goal.base and goal.base.program in SWEEP_TOOLS
    }
    expected = {
        (w, program, measure, 1.0)
        for program in SWEEP_TOOLS
        for w in ("5:100:5", "2:200:2")
        for measure in ("time", "memory")
    }
    assert goals == expected
    # Each such goal is measured: at some size the preset runs its sweep and the tool's side by side.
    for goal in TARGETS:
        if goal.base and goal.base.program in SWEEP_TOOLS:
            runs = [
                sweep.at(rows).implementations
                for rows in goal.sizes
                if any(r.rows == rows for r in sweep.runs)
            ]
            assert any({goal.subject, goal.base} <= set(run) for run in runs), goal


@pytest.mark.parametrize(("limit", "kept"), [(10_000_000, False), (50_000_000, True)])
def test_pandas_max_rows_stops_the_pandas_sweep_as_the_pandas_job(limit: int, kept: bool) -> None:
    options = argparse.Namespace(sizes="50m", only=None, repeats=None, pandas_max_rows=limit)
    (run,) = bench._runs(PRESETS["sweep"], options)
    programs = {i.program for i in run.implementations}
    assert (Program.PANDAS_SWEEP in programs) is kept
    assert Program.POLARS_SWEEP in programs


@pytest.mark.parametrize(
    ("program", "windows"), [(Program.PANDAS_SWEEP, None), (Program.PANDAS, "5:100:5"), (Program.FLOOR, "5")]
)
def test_windows_are_refused_where_a_program_has_no_use_for_them_and_needed_by_a_float_sweep(
    program: Program, windows: str | None
) -> None:
    with pytest.raises(ValueError, match="windows are for signal-job and the float sweeps"):
        Implementation("row", program, "csv", windows=windows)
