"""Run one whole process and measure it: wall time and the OS's peak RSS of the finished child."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

HERE = Path(__file__).parent
PYTHON = sys.executable
CONSOLE_SCRIPT = str(Path(sys.executable).with_name("signal-job"))
# Measure as users run: with Python's bytecode cache, which some sandboxes switch off.
# (and without a scheduler address from outside: the dask rows say where they run).
ENV = {
    name: value
    for name, value in os.environ.items()
    if name not in {"PYTHONDONTWRITEBYTECODE", "DASK_SCHEDULER_ADDRESS"}
}


@dataclass(frozen=True)
class Implementation:
    """One way of computing the job, as a command over an input file."""

    name: str
    spelling: str  # which file of the dataset it reads: csv, parquet, ... (a field of `Dataset`)
    kind: str  # job (writes a metrics document), floor or startup
    # With --cache: each run starts from a copy of the kept cache (see `start_cache`), or from none.
    cache: Literal["kept", "empty"] | None = None

    def command(self, path: Path, config: Path, output: Path, log: Path) -> list[str]:
        """The command line that runs it on `path`; grouped runs use `config`'s grouped twin."""
        if self.spelling.startswith("symbol") and not self.name.endswith(UNGROUPED):
            config = config.with_name(GROUPED_CONFIG)
        paths = [
            "--input",
            str(path),
            "--config",
            str(config),
            "--output",
            str(output),
            "--log-file",
            str(log),
        ]
        if self.writes_signals:
            paths += ["--signals", str(output.with_name("signals.parquet"))]
        if self.cache:
            paths += ["--cache", str(output.with_name(CACHE))]
        if self.name.endswith(HASH):
            paths += ["--hash"]
        if DASK in self.name:  # attached to the benchmark's own scheduler, or a cluster of its own
            attached = self.name.endswith(ATTACHED)
            workers = "1" if ONE_WORKER in self.name else "2"
            where = ["--address", os.environ[SCHEDULER]] if attached else ["--workers", workers]
            paths += ["--engine", "dask", *where]
        if self.name.startswith("signal-job"):
            return [CONSOLE_SCRIPT, "run", *paths]
        if self.name.startswith("pandas"):
            return [PYTHON, str(HERE / "pandas_job.py"), *paths]
        if self.name == "duckdb":
            return [PYTHON, str(HERE / "duckdb_job.py"), *paths]
        if self.name.startswith("polars floor"):
            return [PYTHON, str(HERE / "polars_floor.py"), str(path), *paths[-2:]]
        return [PYTHON, "-c", "import polars, orjson, yaml, typer"]

    @property
    def writes_signals(self) -> bool:
        """Whether it also writes every row's signal to a Parquet file."""
        return self.name.endswith(SIGNALS)

    def start_cache(self, output: Path, kept: Path | None) -> None:
        """Before a run, outside its time: its cache folder afresh, a copy of `kept` or empty."""
        if not self.cache:
            return
        folder = output.with_name(CACHE)
        shutil.rmtree(folder, ignore_errors=True)
        if self.cache == "kept":
            assert kept is not None, "a re-run needs the cache of the run before"
            shutil.copytree(kept, folder)


SIGNALS = " --signals"
UNGROUPED = " ungrouped"  # a grouped spelling run without `group_by`, to compare with
DASK = " dask"
ONE_WORKER = " 1 worker"  # a local cluster of one worker instead of two: how dask scales here
HASH = " --hash"
ATTACHED = " attached"
SCHEDULER = "DASK_SCHEDULER_ADDRESS"  # set by the benchmark when it runs a scheduler of its own
GROUPED_CONFIG = "config_grouped.yaml"  # the same with `group_by: symbol`
CACHE = "cache"  # a run's --cache folder, beside its output
IMPLEMENTATIONS = (
    Implementation("signal-job", "csv", "job"),
    Implementation("signal-job parquet", "parquet", "job"),
    Implementation("signal-job parquet float", "parquet_float", "job"),
    Implementation("signal-job as shipped", "shipped", "job"),
    Implementation("pandas", "csv", "job"),
    Implementation("duckdb", "csv", "job"),
    Implementation("polars floor", "csv", "floor"),
    Implementation("bare imports", "csv", "startup"),
    # The same, also writing each row's timestamp, close, rolling mean and signal to Parquet.
    Implementation(f"signal-job{SIGNALS}", "csv", "job"),
    Implementation(f"pandas{SIGNALS}", "csv", "job"),
    Implementation(f"polars floor{SIGNALS}", "csv", "floor"),
    # group_by symbol: a symbol column inside the file (staged into buckets of whole groups), or
    # hive folders; and the symbol table run as one series, the time to compare with.
    Implementation("signal-job group_by column", "symbols", "job"),
    Implementation("signal-job group_by folders", "symbol_tree", "job"),
    Implementation("signal-job group_by 1000 symbols", "symbols_1000", "job"),
    Implementation(f"signal-job symbols{UNGROUPED}", "symbols", "job"),
    # Time order: the same file without a time column (nothing to check), newest first (staged
    # and read back oldest first), and with blank lines between its rows (memory must not grow).
    Implementation("signal-job no time column", "untimed", "job"),
    Implementation("signal-job newest first", "newest_first", "job"),
    Implementation("signal-job blank lines", "blank_lines", "job"),
    # Many small files (daily files, say): the same rows in 100 files, against one file.
    Implementation("signal-job 100 files", "csv_parts", "job"),
    Implementation("signal-job parquet 100 files", "parquet_parts", "job"),
    # --engine dask: a local cluster of 2 workers started by each run, or a running one.
    Implementation(f"signal-job{DASK}", "csv", "job"),
    Implementation(f"signal-job{DASK}{ATTACHED}", "csv", "job"),
    Implementation(f"signal-job{DASK} 100 files", "csv_parts", "job"),
    Implementation(f"signal-job{DASK}{ATTACHED} 100 files", "csv_parts", "job"),
    Implementation(f"signal-job{DASK}{ONE_WORKER} 100 files", "csv_parts", "job"),
    Implementation("signal-job 50 files", "csv_50", "job"),
    Implementation(f"signal-job{DASK} 50 files", "csv_50", "job"),
    # --hash: every input byte hashed beside the query, against the same run without it.
    Implementation(f"signal-job{HASH}", "csv", "job"),
    # Incremental re-runs: a month of daily files, the last one new. A full run without a cache;
    # a re-run whose cache holds the first 30 files' counts (it counts one file); a run that fills
    # an empty cache; and the new file alone, the least a re-run must do.
    Implementation("signal-job 31 files", "days", "job"),
    Implementation("signal-job 31 files --cache re-run", "days", "job", cache="kept"),
    Implementation("signal-job 31 files --cache empty", "days", "job", cache="empty"),
    Implementation("signal-job 31st file alone", "last_day", "job"),
)


@dataclass
class Runs:
    """Every measured run of one implementation on one file."""

    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    document: dict[str, object] | None = None
    answers: set[str] = field(default_factory=set)  # every run's document but its latency, as JSON


def answer(document: dict[str, object] | None) -> str:
    """What a run answered: its metrics document without the time it took, as sorted JSON."""
    rest = {key: value for key, value in (document or {}).items() if key != "latency_ms"}
    return json.dumps(rest, sort_keys=True)


def run_once(command: list[str], output: Path) -> tuple[float, float, dict[str, object] | None]:
    """Run `command`; return wall seconds, peak RSS in MiB and the metrics document it wrote."""
    output.unlink(missing_ok=True)
    spawned = subprocess.run(
        [PYTHON, "-S", str(HERE / "spawn.py"), *command], capture_output=True, text=True, check=True, env=ENV
    )
    result = json.loads(spawned.stdout)
    if result["exit_code"] != 0:
        msg = f"{' '.join(command)} failed:\n{result['stderr']}"
        raise RuntimeError(msg)
    document = json.loads(output.read_text()) if output.exists() else None
    return result["seconds"], result["peak_kib"] / 1024, document  # ru_maxrss is in KiB on Linux
