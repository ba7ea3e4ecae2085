"""Benchmark signal-job against pandas, DuckDB and the Polars floor, as whole processes.

    python -m benchmarks.bench                      # 10k, 1M and 10M rows
    python -m benchmarks.bench --sizes 10m,50m,100m --only "signal-job,polars floor"

Each implementation runs a few times per size, in interleaved order after one untimed warm-up
round; medians are reported. Results go to benchmarks/results/ (latest.json, latest.md,
latency.png) and the markdown table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from benchmarks.correctness import wrong_signals
from benchmarks.datasets import DAYS, Dataset, dataset, label, parse_size
from benchmarks.measure import (
    ATTACHED,
    CONSOLE_SCRIPT,
    GROUPED_CONFIG,
    IMPLEMENTATIONS,
    SCHEDULER,
    Implementation,
    Runs,
    answer,
    run_once,
)
from benchmarks.report import add_ratios, figures, markdown, plot, targets

RESULTS = Path(__file__).parent / "results"
WINDOW = 5
CORRECTNESS_ROWS = 200_000


def main() -> None:
    """Parse the options, measure, write the results."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10k,1m,10m", help="row counts, e.g. 10k,1m,10m,50m,100m")
    parser.add_argument("--repeats", type=int, help="timed runs per implementation (default by size)")
    parser.add_argument("--only", help="comma-separated implementation names")
    parser.add_argument(
        "--pandas-max-rows", type=parse_size, default=10_000_000, help="skip pandas above this"
    )
    parser.add_argument("--no-correctness", action="store_true", help="skip the wrong-signals check")
    parser.add_argument("--name", default="latest", help="results: NAME.json, NAME.md")
    args = parser.parse_args()
    sizes = [parse_size(size) for size in args.sizes.split(",")]
    chosen = [i for i in IMPLEMENTATIONS if not args.only or i.name in args.only.split(",")]
    console = Console(stderr=True)
    attached = any(i.name.endswith(ATTACHED) for i in chosen)
    with (
        tempfile.TemporaryDirectory() as scratch,
        _progress(console) as progress,
        _scheduler() if attached else contextlib.nullcontext(),
    ):
        work = Path(scratch)
        (work / "config.yaml").write_text(f'seed: 42\nwindow: {WINDOW}\nversion: "bench"\n')
        grouped = f'seed: 42\nwindow: {WINDOW}\nversion: "bench"\ngroup_by: symbol\n'
        (work / GROUPED_CONFIG).write_text(grouped)
        results = []
        for rows in sizes:
            implementations = [i for i in chosen if i.name != "pandas" or rows <= args.pandas_max_rows]
            spellings = {i.spelling for i in implementations}
            data = dataset(
                rows, spellings, progress=lambda what, total: _bar(progress, f"generating {what}", total)
            )
            runs = _measure(data, implementations, _repeats(rows, args.repeats), work, progress)
            for implementation, measured in runs.items():
                path = _input(data, implementation)
                row = figures(
                    rows,
                    implementation.name,
                    implementation.spelling,
                    size=_size(path),
                    seconds=measured.seconds,
                    peaks=measured.peak_mib,
                )
                row.update(_document_fields(measured.document))
                results.append(row)
        add_ratios(results)
        checks = targets(results)
        correctness = None
        if not args.no_correctness:
            plateau = dataset(
                CORRECTNESS_ROWS,
                {"csv"},
                progress=lambda what, total: _bar(progress, f"generating {what}", total),
            )
            task = progress.add_task(f"correctness on {label(CORRECTNESS_ROWS)} rows", total=1)
            correctness = wrong_signals(plateau.csv, WINDOW)
            progress.advance(task)
    _write(args.name, results, checks, correctness, sizes)
    print(markdown(results, checks, correctness))


@contextlib.contextmanager
def _scheduler() -> Iterator[None]:
    """A Dask scheduler and 2 workers, each its own process on 127.0.0.1, for the attached runs."""
    from distributed import Client

    dask = str(Path(sys.executable).with_name("dask"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"]
    worker = [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
    quiet = subprocess.DEVNULL
    processes = [
        subprocess.Popen(command, stdout=quiet, stderr=quiet) for command in (scheduler, worker, worker)
    ]
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        os.environ[SCHEDULER] = address
        yield
    finally:
        os.environ.pop(SCHEDULER, None)
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _measure(
    data: Dataset, implementations: list[Implementation], repeats: int, work: Path, progress: Progress
) -> dict[Implementation, Runs]:
    runs = {implementation: Runs() for implementation in implementations}
    kept = _kept_cache(data, work) if any(i.cache == "kept" for i in implementations) else None
    task = progress.add_task(f"measuring {label(data.rows)} rows", total=(repeats + 1) * len(implementations))
    for round_number in range(repeats + 1):
        # Rotate the order each round so no implementation always runs first (cold) or last.
        shift = round_number % len(implementations)
        for implementation in implementations[shift:] + implementations[:shift]:
            output, log = work / "metrics.json", work / "run.log"
            command = implementation.command(_input(data, implementation), work / "config.yaml", output, log)
            implementation.start_cache(output, kept)  # before the clock: run_once times the command only
            seconds, peak, document = run_once(command, output)
            runs[implementation].answers.add(answer(document))
            if round_number:  # round 0 warms the page cache and the bytecode caches
                runs[implementation].seconds.append(seconds)
                runs[implementation].peak_mib.append(peak)
                runs[implementation].document = document
            progress.advance(task)
    _check_cached_answers(runs)
    return runs


def _kept_cache(data: Dataset, work: Path) -> Path:
    """The cache a run over every daily file but the last leaves: each re-run starts from a copy."""
    kept = work / f"cache_{label(data.rows)}_before_last"
    shutil.rmtree(kept, ignore_errors=True)
    output = work / "metrics.json"
    command = [CONSOLE_SCRIPT, "run", "--input", str(data.days_before_last), "--config"]
    command += [str(work / "config.yaml"), "--output", str(output), "--log-file", str(work / "run.log")]
    run_once([*command, "--cache", str(kept)], output)
    entries = len(list(kept.glob("*.json")))
    if entries != DAYS - 1:
        msg = f"the run over {data.days_before_last} kept {entries} files' counts, not {DAYS - 1}"
        raise RuntimeError(msg)
    return kept


def _check_cached_answers(runs: dict[Implementation, Runs]) -> None:
    """Every run with a cache answers as the full run over the same files, to the last digit."""
    full = {i.spelling: r.answers for i, r in runs.items() if i.name.startswith("signal-job") and not i.cache}
    for implementation, measured in runs.items():
        expected = full.get(implementation.spelling, measured.answers)
        if implementation.cache and (len(measured.answers) != 1 or measured.answers != expected):
            msg = (
                f"{implementation.name} answered {sorted(measured.answers)}, the full run {sorted(expected)}"
            )
            raise RuntimeError(msg)


def _input(data: Dataset, implementation: Implementation) -> Path:
    path: Path = getattr(data, implementation.spelling)
    return path


def _size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    if path.is_dir():
        return sum(file.stat().st_size for file in path.rglob("*") if file.is_file())
    return path.stat().st_size


def _repeats(rows: int, chosen: int | None) -> int:
    if chosen:
        return chosen
    return 15 if rows <= 100_000 else 7 if rows <= 1_000_000 else 5 if rows <= 10_000_000 else 3


def _document_fields(document: dict[str, Any] | None) -> dict[str, Any]:
    if not document:
        return {}
    return {"rows_processed": document.get("rows_processed"), "value": document.get("value")}


def _write(
    name: str, results: list[dict[str, Any]], checks: list[dict[str, Any]], correctness: Any, sizes: list[int]
) -> None:
    RESULTS.mkdir(exist_ok=True)
    document = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "versions": _versions(),
        "git": _git(),
        "window": WINDOW,
        "sizes": sizes,
        "results": results,
        "targets": checks,
        "correctness": {"rows": CORRECTNESS_ROWS, "window": WINDOW, "algorithms": correctness},
    }
    (RESULTS / f"{name}.json").write_text(json.dumps(document, indent=2) + "\n")
    (RESULTS / f"{name}.md").write_text(markdown(results, checks, correctness))
    plot(results, RESULTS / ("latency.png" if name == "latest" else f"latency_{name}.png"))


def _machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kib = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 2**20, 1),
    }


def _versions() -> dict[str, str]:
    packages = ("signal-job", "polars", "pandas", "pyarrow", "duckdb", "numpy", "typer", "orjson", "pyyaml")
    found = {"python": platform.python_version()}
    for package in packages:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def _git() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            # From the project's root: the paths below are relative to it.
            ["git", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=RESULTS.parent.parent,
        ).stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "signal_job", "benchmarks", ":!benchmarks/results")),
    }


def _progress(console: Console) -> Progress:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Bars on a terminal only: in a pipe or a CI log, the records say what ran.
    return Progress(*columns, console=console, transient=False, disable=not console.is_terminal)


def _bar(progress: Progress, description: str, total: int) -> Any:
    task = progress.add_task(description, total=total)
    return lambda done: progress.advance(task, done)


if __name__ == "__main__":
    main()
