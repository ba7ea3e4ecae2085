"""The record of a benchmark run: where and on what it ran, its rows and goals, as JSON and markdown."""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.baseline import Baseline
from benchmarks.measure import WINDOW
from benchmarks.presets import TARGETS, Preset
from benchmarks.report import against, markdown, plot, targets

PROJECT = Path(__file__).resolve().parent.parent


def document(
    preset: Preset,
    arguments: list[str],
    results: list[dict[str, Any]],
    correctness: dict[str, Any] | None,
    base: Baseline | None,
) -> dict[str, Any]:
    """The record of a run: its command, machine, versions and commit, the rows, goals and pairs."""
    return {
        "preset": preset.name,
        "command": shlex.join(["python", "-m", "benchmarks.bench", *arguments]),
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": _machine(),
        "versions": _versions(),
        "git": _git(),
        "against": {"rev": base.rev, "commit": base.commit} if base else None,
        "window": WINDOW,
        "sizes": list(dict.fromkeys(r["rows"] for r in results)),
        "results": results,
        "targets": targets(results, TARGETS),
        "pairs": against(results),
        "correctness": correctness,
    }


def write(folder: Path, name: str, record: dict[str, Any]) -> None:
    """NAME.json, NAME.md and latest.* (with latest.png) in `folder`, replacing those before."""
    folder.mkdir(parents=True, exist_ok=True)
    text, tables = json.dumps(record, indent=2) + "\n", markdown(record)
    for stem in (name, "latest"):
        (folder / f"{stem}.json").write_text(text)
        (folder / f"{stem}.md").write_text(tables)
    plot(record["results"], folder / "latest.png")


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
        # From the project's root: the paths below are relative to it.
        done = subprocess.run(["git", *args], capture_output=True, text=True, check=False, cwd=PROJECT)
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--", "signal_job", "benchmarks", ":!benchmarks/results")),
    }
