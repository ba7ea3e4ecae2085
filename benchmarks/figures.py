"""The docs' performance sentences, each rendered from a recorded benchmark run (benchmarks/results/).

Each names the command and commit that measured it; `python -m benchmarks.docs` puts them in the docs.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
WIDTH = 100
M10, M50 = 10_000_000, 50_000_000


@dataclass(frozen=True)
class Record:
    """One preset's recorded run (results/PRESET.json): its rows, goals and where it ran."""

    preset: str
    data: dict[str, Any]

    @property
    def measured_by(self) -> str:
        """The command and commit, as a figure names them: `(`python -m ...`, at 95dc921)`."""
        command = self.data.get("command") or f"python -m benchmarks.bench --preset {self.preset} --record"
        git = self.data["git"]
        changed = " with changes not yet committed" if git.get("dirty") else ""
        return f"(`{command}`, at {git['commit'][:7]}{changed})"

    def row(self, implementation: str, rows: int) -> dict[str, Any]:
        """The row of `implementation` at `rows`."""
        found = [
            r for r in self.data["results"] if r["implementation"] == implementation and r["rows"] == rows
        ]
        if len(found) != 1:
            msg = f"results/{self.preset}.json has {len(found)} rows {implementation!r} at {rows:,}"
            raise LookupError(msg)
        row: dict[str, Any] = found[0]
        return row

    def seconds(self, implementation: str, rows: int) -> float:
        """The median wall time of a row."""
        return float(self.row(implementation, rows)["median_s"])

    def peak(self, implementation: str, rows: int) -> float:
        """The median peak memory of a row, in MiB."""
        return float(self.row(implementation, rows)["median_peak_mib"])

    def goal(self, start: str) -> float:
        """The measured figure of the goal whose name starts with `start` (a median of ratios)."""
        found = [t for t in self.data["targets"] if t["target"].startswith(start)]
        if len(found) != 1:
            msg = f"results/{self.preset}.json has {len(found)} goals named {start!r}..."
            raise LookupError(msg)
        return float(found[0].get("median", found[0].get("measured")))


def load(preset: str, results: Path = RESULTS) -> Record:
    """The record of `preset` in `results`."""
    return Record(preset, json.loads((results / f"{preset}.json").read_text(encoding="utf-8")))


def paragraph(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, break_on_hyphens=False, break_long_words=False) + "\n"


def whole(value: float) -> str:
    """`value` rounded half up, with thousands separators: 314.5 -> "315", 1992.6 -> "1,993"."""
    return f"{int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"


def mib(value: float) -> str:
    return f"{whole(value)} MiB"


def headline(results: Path) -> str:
    """README's Performance: the job against pandas and its float rivals, and against the Polars floors."""
    old, new = load("alternatives", results), load("issue16", results)
    job, pandas = ("signal-job", M10), ("pandas", M10)
    wrong = old.data["correctness"]["algorithms"]
    falses = [f"{wrong[name]['false']:,}" for name in ("pandas", "duckdb", "polars float rolling_mean")]
    return paragraph(
        f"""On 10M rows of CSV the job took {old.seconds(*job) / old.seconds(*pandas):.2f}x the time of the
        same job in pandas ({old.seconds(*job):.1f} s against {old.seconds(*pandas):.1f} s) with
        {old.peak(*job) / old.peak(*pandas):.2f}x its memory ({mib(old.peak(*job))} against
        {mib(old.peak(*pandas))}), and on {old.data["correctness"]["rows"]:,} rows with flat stretches it
        counts {wrong["signal-job"]["false"] or "no"} false signal, where the float rolling means of pandas,
        DuckDB and Polars count {falses[0]}, {falses[1]} and {falses[2]} {old.measured_by}. Runs have
        checked every row and the time order since: the plain 10M-row run took
        {new.goal("10M: signal-job / polars floor, time"):.2f}x a Polars scan that sums `close` and
        checks nothing ({new.goal("10M: signal-job / polars floor time+last"):.2f}x one that also reads
        the time column and each row's last field), and `--signals`
        {new.goal("10M: signal-job --signals / polars floor --signals"):.2f}x the plainest Polars float
        signals file {new.measured_by}."""
    )


def cache(results: Path) -> str:
    """docs/cluster.md: what a --cache re-run saves over 31 daily files."""
    record = load("cache", results)
    full, rerun, empty = (
        "signal-job 31 files",
        "signal-job 31 files --cache re-run",
        "signal-job 31 files --cache empty",
    )
    alone = "signal-job 31st file alone"
    per_file_ms = (record.seconds(rerun, M10) - record.seconds(alone, M10)) / 30 * 1000
    return paragraph(
        f"""What it saves: over 31 daily files of 10M rows in all ({record.data["machine"]["usable_cpus"]}
        cores), a re-run after the 31st file arrived takes {record.seconds(rerun, M10):.2f} s against
        {record.seconds(full, M10):.2f} s for a full run
        ({record.seconds(rerun, M10) / record.seconds(full, M10):.2f}x), in {mib(record.peak(rerun, M10))}
        against {mib(record.peak(full, M10))}; at 1M rows, {record.seconds(rerun, 1_000_000):.2f} s against
        {record.seconds(full, 1_000_000):.2f} s. Its floor is the start-up and the new file
        ({record.seconds(alone, M10):.2f} s for that file alone), plus about {per_file_ms:.0f} ms for each
        of the 30 kept files, opened to put the files in order: that part grows with the number of
        files, not their rows. The first run, filling an empty cache, takes
        {record.seconds(empty, M10) / record.seconds(full, M10):.2f}x a full run {record.measured_by}."""
    )


def hashing(results: Path) -> str:
    """docs/operations.md: what --hash costs."""
    record = load("hash", results)
    size = record.row("signal-job", M10)["file_bytes"] / 1e6
    ratio = {
        rows: record.seconds("signal-job --hash", rows) / record.seconds("signal-job", rows)
        for rows in (M10, M50)
    }
    peaks = [mib(record.peak(name, M50)) for name in ("signal-job --hash", "signal-job")]
    return paragraph(
        f"""Hashing every byte costs little beside the run: {ratio[M10]:.2f}x the same run without `--hash`
        at 10M rows ({whole(size)} MB), {ratio[M50]:.2f}x at 50M, in {peaks[0]} against {peaks[1]}
        {record.measured_by}."""
    )


def groups(results: Path) -> str:
    """docs/signals.md: group_by in a column, a few groups and many, against the same file ungrouped."""
    record = load("groups", results)
    ungrouped = record.seconds("signal-job symbols ungrouped", M50)
    few, many = "signal-job group_by column", "signal-job group_by 1000 symbols"
    return paragraph(
        f"""At 50M rows of 4 symbols a run took {record.seconds(few, M50) / ungrouped:.2f}x the time of the
        same file run ungrouped, in {mib(record.peak(few, M50))}; at 50M rows of 1,000 symbols
        {record.seconds(many, M50):.1f} s and {mib(record.peak(many, M50))},
        {record.seconds(many, M50) / ungrouped:.2f}x the ungrouped run {record.measured_by}."""
    )


def sweep(results: Path) -> str:
    """docs/sweep.md: a sweep's time against one run, and its memory, at 10M and 50M rows."""
    record = load("sweep", results)
    few, many = "signal-job sweep 20 windows", "signal-job sweep 100 windows"

    def ratio(name: str, rows: int) -> str:
        return f"{record.goal(f'{rows // M10 * 10}M: {name} / signal-job, time'):.2f}x"

    floats = record.goal(f"10M: {many} / polars floats 100 windows, time")
    return paragraph(
        f"""Side by side, a sweep of 20 windows took {ratio(few, M10)} the time of one run of one window
        at 10M rows and {ratio(few, M50)} at 50M (the goal: 1.5x); 100 windows {ratio(many, M10)} and
        {ratio(many, M50)} (the goal: 3x), {floats:.2f}x the time of plain Polars' 100 float rolling
        means at 10M. Its memory grows with the rows: 100 windows peaked at {mib(record.peak(many, M10))}
        at 10M rows and {mib(record.peak(many, M50))} at 50M (the goal: flat, at most 400 MiB), where one
        run stays at {mib(record.peak("signal-job", M50))} {record.measured_by}."""
    )


def plot(results: Path) -> str:
    """docs/plot.md: a picture of a run's signals file at 10M and 50M rows."""
    record = load("plot", results)
    name = "signal-job plot"
    return paragraph(
        f"""`signal-job plot` drew the signals file of a 10M-row run in {record.seconds(name, M10):.1f} s
        and {mib(record.peak(name, M10))}, of a 50M-row run in {record.seconds(name, M50):.1f} s and
        {mib(record.peak(name, M50))} (a 1200 x 600 PNG; whole processes, start-up included)
        {record.measured_by}."""
    )
