"""Measure signal-job against its alternatives and floors, as whole processes, one preset at a time.

    python -m benchmarks.bench                                  # the preset `alternatives`
    python -m benchmarks.bench --preset issue16 --against 8217531 --record
    python -m benchmarks.bench --list                           # every preset and what it runs

Each implementation runs once untimed, then in timed rounds, all of a size side by side, the
order rotated each round. With --against REV, every signal-job row gets a twin run from a
temporary worktree of REV, right beside it in each round, and the tables give paired ratios.
The datasets are made once into $SIGNAL_JOB_BENCH_CACHE, or the user's cache folder
($XDG_CACHE_HOME/signal-job/benchmarks, ~/.cache/signal-job/benchmarks), or --data DIR. The
records (PRESET.json, PRESET.md, latest.*) go to --results DIR, or results/ in that data
folder; only --record writes them into the checkout, to benchmarks/results/. The markdown is
printed, and where the records went. A run needs the benchmark extra: pip install -e '.[benchmark]'.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.baseline import Baseline, checkout
from benchmarks.datasets import DAYS, Dataset, cache_folder, dataset, label, parse_size
from benchmarks.measure import (
    CONFIG,
    ENV,
    GROUPED_CONFIG,
    WINDOW,
    Implementation,
    Place,
    Program,
    Runs,
    answer,
    imported_from,
    run_once,
)
from benchmarks.presets import DEFAULT, PRESETS, Preset, Run, repeats
from benchmarks.records import document, write
from benchmarks.report import add_ratios, figures, markdown

if TYPE_CHECKING:  # rich is the benchmark extra's: imported once a run is sure to have it
    from rich.console import Console
    from rich.progress import Progress

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"
CORRECTNESS_ROWS = 200_000
# What a run imports of the benchmark extra (pyproject.toml's `benchmark`; pytest-benchmark is the
# micro-benchmarks'), by the name pip installs and the module Python imports. --help and --list
# need none of them.
EXTRA = {
    "signal-job[dask]": "distributed",
    "pandas": "pandas",
    "pyarrow": "pyarrow",
    "duckdb": "duckdb",
    "matplotlib": "matplotlib",
    "vectorbt": "vectorbt",
    "rich": "rich",
}

PANDAS_PROGRAMS = frozenset({Program.PANDAS, Program.PANDAS_SWEEP})  # what --pandas-max-rows stops

Unit = tuple[Implementation, ...]  # a row, or a row and its twin from the baseline: run back to back


def main() -> None:
    """Parse the options, measure, write the records."""
    args = _arguments()
    if args.list:
        print(_listing())
        return
    _require_extra()
    preset = PRESETS[args.preset]
    runs = _runs(preset, args)
    from rich.console import Console

    console = Console(stderr=True)
    data_folder = args.data or cache_folder()
    attached = any(i.attached for run in runs for i in run.implementations)
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="signal-job-bench-")))
        base = stack.enter_context(checkout(args.against, PROJECT)) if args.against else None
        progress = stack.enter_context(_progress(console))
        scheduler = stack.enter_context(_scheduler(PROJECT, work)) if attached else None
        twin_scheduler = stack.enter_context(_scheduler(base.tree, work)) if attached and base else None
        place = Place(work, PROJECT, base.tree if base else None, scheduler, twin_scheduler)
        _prepare(place)
        results = []
        for run in runs:
            results += _measure_run(run, base, place, progress, data_folder)
        correctness = None
        if preset.correctness and not args.no_correctness:
            correctness = _correctness(preset, progress, data_folder)
    add_ratios(results)
    record = document(preset, sys.argv[1:], results, correctness, base)
    folder = records_folder(record=args.record, results=args.results, data=data_folder)
    write(folder, preset.name, record)
    print(markdown(record))
    print(f"records written to {folder}", file=sys.stderr)


def records_folder(*, record: bool, results: Path | None, data: Path) -> Path:
    """Where a run's records go: into the checkout only with --record; else --results, or the cache."""
    if record:
        return RESULTS
    return results or data / "results"


def missing_extra() -> list[str]:
    """The benchmark extra's packages that cannot be imported here (none once it is installed)."""
    return [package for package, module in EXTRA.items() if importlib.util.find_spec(module) is None]


def _require_extra() -> None:
    """Stop with one line, before any work, when the benchmark extra is not installed."""
    missing = missing_extra()
    if missing:
        msg = (
            f"a benchmark run needs the benchmark extra ({', '.join(missing)} missing): "
            "pip install -e '.[benchmark]' in this checkout"
        )
        raise SystemExit(msg)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--preset", default=DEFAULT, choices=sorted(PRESETS), help="what to measure")
    parser.add_argument("--list", action="store_true", help="list the presets and what they run")
    parser.add_argument(
        "--sizes", help="row counts, e.g. 10k,10m: the preset's rows at those sizes (all of them elsewhere)"
    )
    parser.add_argument("--repeats", type=int, help="timed rounds (default: the preset's, or by size)")
    parser.add_argument("--only", help="comma-separated implementation names of the preset")
    parser.add_argument("--against", metavar="REV", help="also run each signal-job row from commit REV")
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--record", action="store_true", help="write the records to benchmarks/results/ (git-tracked)"
    )
    where.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="write the records here (default: results/ in the data folder)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help="keep the datasets here (default: $SIGNAL_JOB_BENCH_CACHE, or ~/.cache/signal-job/benchmarks)",
    )
    parser.add_argument(
        "--pandas-max-rows",
        type=parse_size,
        default=10_000_000,
        help="skip pandas (the job and the sweep) above this",
    )
    parser.add_argument("--no-correctness", action="store_true", help="skip the wrong-signals count")
    return parser.parse_args()


def _listing() -> str:
    lines = []
    for preset in PRESETS.values():
        lines += [f"{preset.name}: {preset.purpose}" + (" (and wrong signals)" if preset.correctness else "")]
        for run in preset.runs:
            names = ", ".join(i.name for i in run.implementations)
            lines.append(f"  {label(run.rows)} x {run.repeats or repeats(run.rows)}: {names}")
    return "\n".join(lines)


def _runs(preset: Preset, args: argparse.Namespace) -> list[Run]:
    """The preset's runs, narrowed by --sizes, --only, --repeats and --pandas-max-rows."""
    sizes = [parse_size(size) for size in args.sizes.split(",")] if args.sizes else None
    chosen = [preset.at(rows) for rows in sizes] if sizes else list(preset.runs)
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - {i.name for i in preset.implementations}
    if unknown:
        names = ", ".join(i.name for i in preset.implementations)
        msg = f"--only: {', '.join(sorted(unknown))} not in the preset {preset.name} ({names})"
        raise SystemExit(msg)
    runs = []
    for run in chosen:
        kept = tuple(
            i
            for i in run.implementations
            if (only is None or i.name in only)
            and not (i.program in PANDAS_PROGRAMS and run.rows > args.pandas_max_rows)
        )
        if kept:
            runs.append(Run(run.rows, kept, args.repeats or run.repeats or repeats(run.rows)))
    return runs


def _prepare(place: Place) -> None:
    """The configs in the scratch folder; each tree's runs import that tree's package."""
    settings = f'seed: 42\nwindow: {WINDOW}\nversion: "bench"\n'
    (place.work / CONFIG).write_text(settings)
    (place.work / GROUPED_CONFIG).write_text(settings + "group_by: symbol\n")
    job = Implementation("signal-job", Program.SIGNAL_JOB, "csv")
    trees = [job, dataclasses.replace(job, baseline=True)] if place.baseline else [job]
    for implementation in trees:
        found, expected = imported_from(place, implementation), implementation.tree(place) / "signal_job"
        if found != expected.resolve():
            msg = f"runs from {expected.parent} would import signal_job from {found}"
            raise SystemExit(msg)


def _measure_run(
    run: Run, base: Baseline | None, place: Place, progress: Progress, folder: Path
) -> list[dict[str, Any]]:
    """Every row of one size: measured side by side, each twin beside its row; datasets in `folder`."""
    units: list[Unit] = [
        (i, _twin(i, base)) if base and i.program is Program.SIGNAL_JOB else (i,) for i in run.implementations
    ]
    spellings = {i.spelling for unit in units for i in unit}
    data = dataset(
        run.rows,
        spellings,
        folder=folder,
        progress=lambda what, total: _bar(progress, f"generating {what}", total),
    )
    assert run.repeats
    measured = _measure(data, units, run.repeats, place, progress)
    rows = []
    for unit in units:
        for implementation in unit:
            path = _input(data, implementation)
            runs = measured[implementation]
            row: dict[str, Any] = {
                "rows": run.rows,
                "implementation": implementation.name,
                "input": implementation.spelling,
                "program": implementation.program.value,
                "signals": implementation.signals,
                "tree": base.rev if implementation.baseline and base else "measured",
                "twin_of": unit[0].name if implementation.baseline else None,
            }
            row.update(figures(run.rows, size=_size(path), seconds=runs.seconds, peaks=runs.peak_mib))
            row.update(_document_fields(runs.document))
            if implementation.baseline:
                row["same_answer"] = runs.answers == measured[unit[0]].answers
            rows.append(row)
    return rows


def _twin(implementation: Implementation, base: Baseline) -> Implementation:
    return dataclasses.replace(implementation, name=f"{implementation.name} @ {base.rev}", baseline=True)


@contextlib.contextmanager
def _scheduler(tree: Path, work: Path) -> Iterator[str]:
    """A Dask scheduler and 2 workers, each its own process on 127.0.0.1, for the attached runs.

    The workers run the tasks, so they import `tree`'s package, as the runs sent to them do.
    """
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    quiet, env = subprocess.DEVNULL, {**ENV, "PYTHONPATH": str(tree)}
    processes = [
        subprocess.Popen(command, stdout=quiet, stderr=quiet, env=env, cwd=work)
        for command in (scheduler, worker, worker)
    ]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            found = client.run(lambda: __import__("signal_job").__file__)
        expected = tree.resolve() / "signal_job"
        if {Path(file).resolve().parent for file in found.values()} != {expected}:
            msg = f"the workers for {tree} import signal_job from {sorted(found.values())}"
            raise SystemExit(msg)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _measure(
    data: Dataset, units: list[Unit], rounds: int, place: Place, progress: Progress
) -> dict[Implementation, Runs]:
    runs = {implementation: Runs() for unit in units for implementation in unit}
    kept = {
        tree: _kept_cache(data, place, baseline=tree)
        for tree in {i.baseline for i in runs if i.cache == "kept"}
    }
    task = progress.add_task(f"measuring {label(data.rows)} rows", total=(rounds + 1) * len(runs))
    for round_number in range(rounds + 1):
        # Rotate the order each round so no row always runs first (cold) or last; a row and its
        # twin run back to back, which of them first alternating round by round.
        shift = round_number % len(units)
        for unit in units[shift:] + units[:shift]:
            for implementation in unit if round_number % 2 == 0 else unit[::-1]:
                path = _input(data, implementation)
                command = implementation.command(path, place)
                # Before the clock: run_once times the command only.
                implementation.start_cache(place, kept.get(implementation.baseline))
                seconds, peak, document = run_once(
                    command,
                    place.output,
                    env=implementation.environment(place),
                    cwd=place.work,
                    exit_code=implementation.exit_code,
                )
                runs[implementation].answers.add(answer(document))
                if round_number:  # round 0 warms the page cache and the bytecode caches
                    runs[implementation].seconds.append(seconds)
                    runs[implementation].peak_mib.append(peak)
                    runs[implementation].document = document
                progress.advance(task)
    _check_cached_answers(runs)
    return runs


def _kept_cache(data: Dataset, place: Place, *, baseline: bool) -> Path:
    """The cache a run over every daily file but the last leaves: each re-run starts from a copy."""
    kept = place.work / f"cache_{label(data.rows)}_before_last{'_baseline' if baseline else ''}"
    shutil.rmtree(kept, ignore_errors=True)
    fill = Implementation("the days before", Program.SIGNAL_JOB, "days", baseline=baseline)
    command = [*fill.command(data.days_before_last, place), "--cache", str(kept)]
    run_once(command, place.output, env=fill.environment(place), cwd=place.work)
    entries = len(list(kept.glob("*.json")))
    if entries != DAYS - 1:
        msg = f"the run over {data.days_before_last} kept {entries} files' counts, not {DAYS - 1}"
        raise RuntimeError(msg)
    return kept


def _check_cached_answers(runs: dict[Implementation, Runs]) -> None:
    """Every run with a cache answers as the full run over the same files, to the last digit."""
    full = {
        (i.spelling, i.baseline): r.answers
        for i, r in runs.items()
        if i.program is Program.SIGNAL_JOB and not i.cache
    }
    for implementation, measured in runs.items():
        expected = full.get((implementation.spelling, implementation.baseline), measured.answers)
        if implementation.cache and (len(measured.answers) != 1 or measured.answers != expected):
            msg = (
                f"{implementation.name} answered {sorted(measured.answers)}, the full run {sorted(expected)}"
            )
            raise RuntimeError(msg)


def _correctness(preset: Preset, progress: Progress, folder: Path) -> dict[str, Any]:
    """Each algorithm's wrong signals on the plateau file: of a run's window, or of each sweep run."""
    from benchmarks.correctness import sweep_wrong_signals, wrong_signals  # pandas, DuckDB...: only here

    plateau = dataset(
        CORRECTNESS_ROWS,
        {"csv"},
        folder=folder,
        progress=lambda what, total: _bar(progress, f"generating {what}", total),
    )
    sweeps = list(dict.fromkeys(i.windows for i in preset.implementations if i.windows))
    task = progress.add_task(f"correctness on {label(CORRECTNESS_ROWS)} rows", total=len(sweeps) or 1)
    if not sweeps:
        algorithms = wrong_signals(plateau.csv, WINDOW)
        progress.advance(task)
        return {"rows": CORRECTNESS_ROWS, "window": WINDOW, "algorithms": algorithms}
    counted = []
    for windows in sweeps:
        counted.append({"windows": windows, "algorithms": sweep_wrong_signals(plateau.csv, windows)})
        progress.advance(task)
    return {"rows": CORRECTNESS_ROWS, "sweeps": counted}


def _input(data: Dataset, implementation: Implementation) -> Path:
    path: Path = getattr(data, implementation.spelling)
    return path


def _size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size


def _document_fields(document: dict[str, Any] | None) -> dict[str, Any]:
    if not document:
        return {}
    fields = {"rows_processed": document.get("rows_processed"), "value": document.get("value")}
    return fields | ({"error_message": document["error_message"]} if "error_message" in document else {})


def _progress(console: Console) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Bars on a terminal only: in a pipe or a CI log, the records say what ran.
    return Progress(*columns, console=console, transient=False, disable=not console.is_terminal)


def _bar(progress: Progress, description: str, total: int) -> Any:
    task = progress.add_task(description, total=total)
    return lambda done: progress.advance(task, done)


if __name__ == "__main__":
    main()
