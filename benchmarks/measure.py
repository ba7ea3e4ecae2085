"""Run one whole process and measure it: wall time and the OS's peak RSS of the finished child."""

from __future__ import annotations

import enum
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
# Measure as users run: with Python's bytecode cache, which some sandboxes switch off, and
# without a scheduler address from outside (the dask rows say where they run).
ENV = {
    name: value
    for name, value in os.environ.items()
    if name not in {"PYTHONDONTWRITEBYTECODE", "DASK_SCHEDULER_ADDRESS", "PYTHONPATH"}
}
CONFIG = "config.yaml"
WINDOW = 5  # the window of the configs the runs read
GROUPED_CONFIG = "config_grouped.yaml"  # the same with `group_by: symbol`
CACHE = "cache"  # a run's --cache folder, beside its output


class Program(enum.Enum):
    """What a row runs."""

    SIGNAL_JOB = "signal-job run"  # `python -m signal_job run`, from the tree measured
    PANDAS = "pandas_job.py"  # the original task's algorithm in pandas
    DUCKDB = "duckdb_job.py"  # the job as one DuckDB query
    FLOOR = "polars_floor.py"  # Polars reading close as Float64 (with signals: the float sink)
    FLOOR_FIELDS = "polars_floor.py --fields"  # ... and the time column and each row's last field
    # The same sweep in each float tool (with `windows`): what a user would write instead.
    POLARS_SWEEP = "float_sweep.py --tool polars"  # a Float64 rolling mean column per window
    PANDAS_SWEEP = "float_sweep.py --tool pandas"  # a loop of `rolling(window).mean()`
    DUCKDB_SWEEP = "float_sweep.py --tool duckdb"  # one query, an `avg(close) OVER` per window
    VECTORBT_SWEEP = "float_sweep.py --tool vectorbt"  # `vbt.MA.run` of every window, in memory
    IMPORTS = "bare imports"  # python importing polars, orjson, yaml and typer: start-up
    PLOT = "signal-job plot"  # a picture of a signals file (PNG, the default size)


# The float sweeps' programs, by their `--tool`.
SWEEP_TOOLS = {
    Program.POLARS_SWEEP: "polars",
    Program.PANDAS_SWEEP: "pandas",
    Program.DUCKDB_SWEEP: "duckdb",
    Program.VECTORBT_SWEEP: "vectorbt",
}


@dataclass(frozen=True)
class Place:
    """Where the runs happen: a scratch folder, the trees they run from, a running dask scheduler."""

    work: Path  # holds the configs, and each run's output, log, signals file and cache
    tree: Path  # the checkout measured: its `signal_job` package is the one run
    baseline: Path | None = None  # the tree of `--against REV`, for the twin rows
    # The addresses of the schedulers the benchmark runs for attached rows, if any: one whose
    # workers import the tree measured, one for the baseline's.
    scheduler: str | None = None
    baseline_scheduler: str | None = None

    @property
    def output(self) -> Path:
        """Each run's metrics document."""
        return self.work / "metrics.json"

    @property
    def log(self) -> Path:
        """Each run's log file."""
        return self.work / "run.log"


@dataclass(frozen=True)
class Implementation:
    """One way of computing the job, as a command over one spelling of the dataset.

    Every field says what the command does; `name` is only what the tables show.
    """

    name: str
    program: Program
    spelling: str  # which file of the dataset it reads: a field of `datasets.Dataset`
    signals: bool = False  # also writes each row's time, close, rolling mean and signal to Parquet
    grouped: bool = False  # the config with `group_by: symbol`
    hash: bool = False  # --hash
    engine: Literal["local", "dask"] = "local"
    workers: int = 2  # dask: the workers of the local cluster each run starts
    attached: bool = False  # dask: attached to the benchmark's own scheduler instead
    # --cache: each run starts from a copy of the kept cache (see `start_cache`), or from none.
    cache: Literal["kept", "empty"] | None = None
    baseline: bool = False  # run from the tree of `--against REV` rather than the one measured
    refused: bool = False  # the input is bad: every run must exit 1, with the error document
    windows: str | None = None  # `sweep --windows WINDOWS` rather than `run`: many windows in one read

    @property
    def exit_code(self) -> int:
        """The exit code every run of it must give."""
        return 1 if self.refused else 0

    def __post_init__(self) -> None:
        """Refuse fields the program has no use for: a preset says only what it runs."""
        job = self.program is Program.SIGNAL_JOB
        job_only = (
            self.grouped or self.hash or self.engine != "local" or self.cache or self.baseline or self.refused
        )
        if job_only and not job:
            msg = f"{self.name}: only signal-job takes group_by, --hash, --engine, --cache, a tree, a refusal"
            raise ValueError(msg)
        if (self.program in SWEEP_TOOLS) != bool(self.windows) and not job:
            msg = f"{self.name}: windows are for signal-job and the float sweeps, which need them"
            raise ValueError(msg)
        if self.signals and self.program not in {Program.SIGNAL_JOB, Program.PANDAS, Program.FLOOR}:
            msg = f"{self.name}: {self.program.value} writes no signals file"
            raise ValueError(msg)
        if self.attached and self.engine != "dask":
            msg = f"{self.name}: only a dask run attaches to a scheduler"
            raise ValueError(msg)

    def command(self, path: Path, place: Place) -> list[str]:  # noqa: PLR0911 - one command a program
        """The command line that runs it on `path`."""
        config = place.work / (GROUPED_CONFIG if self.grouped else CONFIG)
        paths = ["--input", str(path), "--config", str(config)]
        paths += ["--output", str(place.output), "--log-file", str(place.log)]
        signals = ["--signals", str(place.work / "signals.parquet")] if self.signals else []
        if self.program is Program.SIGNAL_JOB:
            command = ["run"] if self.windows is None else ["sweep", "--windows", self.windows]
            return [PYTHON, "-m", "signal_job", *command, *paths, *signals, *self._options(place)]
        if self.program is Program.PANDAS:
            return [PYTHON, str(HERE / "pandas_job.py"), *paths, *signals]
        if self.program is Program.DUCKDB:
            return [PYTHON, str(HERE / "duckdb_job.py"), *paths]
        if self.program is Program.FLOOR:
            return [PYTHON, str(HERE / "polars_floor.py"), str(path), *signals]
        if self.program in SWEEP_TOOLS:
            assert self.windows, "refused by __post_init__"
            script, tool = str(HERE / "float_sweep.py"), ["--tool", SWEEP_TOOLS[self.program]]
            windows, output = ["--windows", self.windows], ["--output", str(place.output)]
            return [PYTHON, script, *tool, "--input", str(path), *windows, *output]
        if self.program is Program.FLOOR_FIELDS:
            return [PYTHON, str(HERE / "polars_floor.py"), str(path), "--fields"]
        if self.program is Program.PLOT:
            picture = ["--output", str(place.work / "plot.png")]
            return [PYTHON, "-m", "signal_job", "plot", str(path), *picture]
        return [PYTHON, "-c", "import polars, orjson, yaml, typer"]

    def _options(self, place: Place) -> list[str]:
        options = ["--hash"] if self.hash else []
        if self.cache:
            options += ["--cache", str(place.work / CACHE)]
        if self.engine == "dask":
            if self.attached:
                address = place.baseline_scheduler if self.baseline else place.scheduler
                assert address, "an attached run needs the benchmark's scheduler"
                options += ["--engine", "dask", "--address", address]
            else:
                options += ["--engine", "dask", "--workers", str(self.workers)]
        return options

    def tree(self, place: Place) -> Path:
        """The checkout whose `signal_job` it runs."""
        if self.baseline:
            assert place.baseline, "a baseline row needs the tree of --against"
            return place.baseline
        return place.tree

    def environment(self, place: Place) -> dict[str, str]:
        """The benchmark's environment, with the tree it runs first on Python's path."""
        return {**ENV, "PYTHONPATH": str(self.tree(place))}

    def start_cache(self, place: Place, kept: Path | None) -> None:
        """Before a run, outside its time: its cache folder afresh, a copy of `kept` or empty."""
        if not self.cache:
            return
        folder = place.work / CACHE
        shutil.rmtree(folder, ignore_errors=True)
        if self.cache == "kept":
            assert kept is not None, "a re-run needs the cache of the run before"
            shutil.copytree(kept, folder)


@dataclass
class Runs:
    """Every measured run of one implementation on one file, in the order of the rounds."""

    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    document: dict[str, object] | None = None
    answers: set[str] = field(default_factory=set)  # every run's document but its latency, as JSON


def answer(document: dict[str, object] | None) -> str:
    """What a run answered: its metrics document without the time it took, as sorted JSON."""
    rest = {key: value for key, value in (document or {}).items() if key != "latency_ms"}
    return json.dumps(rest, sort_keys=True)


def run_once(
    command: list[str], output: Path, *, env: dict[str, str], cwd: Path, exit_code: int = 0
) -> tuple[float, float, dict[str, object] | None]:
    """Run `command`, which must exit `exit_code`: wall seconds, peak RSS in MiB, the metrics document.

    `cwd` is a scratch folder: `python -m` puts the working folder first on the path, and a
    checkout there would shadow the tree that PYTHONPATH names.
    """
    output.unlink(missing_ok=True)
    spawned = subprocess.run(
        [PYTHON, "-S", str(HERE / "spawn.py"), *command],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        cwd=cwd,
    )
    result = json.loads(spawned.stdout)
    if result["exit_code"] != exit_code:
        msg = f"{' '.join(command)} exited {result['exit_code']}, not {exit_code}:\n{result['stderr']}"
        raise RuntimeError(msg)
    document = json.loads(output.read_text()) if output.exists() else None
    return result["seconds"], result["peak_kib"] / 1024, document  # ru_maxrss is in KiB on Linux


def imported_from(place: Place, implementation: Implementation) -> Path:
    """The folder of the `signal_job` package that `implementation`'s runs import."""
    probe = [PYTHON, "-c", "import signal_job; print(signal_job.__file__)"]
    found = subprocess.run(
        probe,
        capture_output=True,
        text=True,
        check=True,
        env=implementation.environment(place),
        cwd=place.work,
    )
    return Path(found.stdout.strip()).resolve().parent
