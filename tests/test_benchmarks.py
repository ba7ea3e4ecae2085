"""The benchmark tool (benchmarks/) leaves the checkout clean and says what it lacks in one line."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import polars as pl
import pytest

from benchmarks.bench import EXTRA, RESULTS, records_folder
from benchmarks.datasets import CACHE_VARIABLE, cache_folder, dataset
from benchmarks.docs import FIGURES, blocks, documents, rendered
from tests.conftest import PROJECT

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
