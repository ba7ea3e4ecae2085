"""The docs' performance figures, rendered from the recorded benchmark runs: `python -m benchmarks.docs`.

A figure in README.md, docs/*.md or benchmarks/README.md stands between `<!-- bench:NAME -->` and
`<!-- /bench -->`, where NAME is one of FIGURES: a function of the records in benchmarks/results/
(what `python -m benchmarks.bench --record` writes) that names the command and commit that
measured it. This command rewrites every such block from the records; `--check` rewrites
nothing and exits 1 naming the blocks that differ. tests/test_benchmarks.py runs the check, so
a figure typed by hand, or left behind by a new record, fails the tests.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
RESULTS = PROJECT / "benchmarks" / "results"
BLOCK = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench -->)", re.DOTALL)
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


def _paragraph(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, break_on_hyphens=False, break_long_words=False) + "\n"


def _mib(value: float) -> str:
    return f"{value:,.0f} MiB"


def headline(results: Path) -> str:
    """README's Performance: the job against pandas and its float rivals, and against the Polars floors."""
    old, new = load("alternatives", results), load("issue16", results)
    job, pandas = ("signal-job", M10), ("pandas", M10)
    wrong = old.data["correctness"]["algorithms"]
    falses = [f"{wrong[name]['false']:,}" for name in ("pandas", "duckdb", "polars float rolling_mean")]
    return _paragraph(
        f"""On 10M rows of CSV the job took {old.seconds(*job) / old.seconds(*pandas):.2f}x the time of the
        same job in pandas ({old.seconds(*job):.1f} s against {old.seconds(*pandas):.1f} s) with
        {old.peak(*job) / old.peak(*pandas):.2f}x its memory ({_mib(old.peak(*job))} against
        {_mib(old.peak(*pandas))}), and on {old.data["correctness"]["rows"]:,} rows with flat stretches it
        counts {wrong["signal-job"]["false"] or "no"} false signal, where the float rolling means of pandas,
        DuckDB and Polars count {falses[0]}, {falses[1]} and {falses[2]} {old.measured_by}. Runs have
        checked every row and the time order since: the plain 10M-row run took
        {new.goal("10M: signal-job / polars floor, time"):.2f}x a Polars scan that sums `close` and
        checks nothing ({new.goal("10M: signal-job / polars floor time+last"):.2f}x one that also reads
        the time column and each row's last field), and `--signals`
        {new.goal("10M: signal-job --signals / polars floor --signals"):.2f}x the plainest Polars float
        signals file {new.measured_by}."""
    )


ALTERNATIVES = (
    ("signal-job", "signal-job"),
    ("signal-job parquet", "signal-job parquet"),
    ("pandas", "pandas"),
    ("duckdb", "duckdb"),
    ("polars floor", "polars floor"),
    ("signal-job `--signals`", "signal-job --signals"),
    ("pandas `--signals`", "pandas --signals"),
)


def alternatives_table(results: Path) -> str:
    """benchmarks/README.md: the job and the alternatives at 10M rows."""
    record = load("alternatives", results)
    lines = [
        f"Measured by {record.measured_by[1:-1]}:",
        "",
        "| 10M rows | wall s | peak MiB | x pandas | x polars floor |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for shown, name in ALTERNATIVES:
        row = record.row(name, M10)
        lines.append(
            f"| {shown} | {row['median_s']:.3f} | {row['median_peak_mib']:,.0f} "
            f"| {row['x_pandas']:.2f} | {row['x_floor']:.2f} |"
        )
    return "\n".join(lines) + "\n"


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
    return _paragraph(
        f"""What it saves: over 31 daily files of 10M rows in all ({record.data["machine"]["usable_cpus"]}
        cores), a re-run after the 31st file arrived takes {record.seconds(rerun, M10):.2f} s against
        {record.seconds(full, M10):.2f} s for a full run
        ({record.seconds(rerun, M10) / record.seconds(full, M10):.2f}x), in {_mib(record.peak(rerun, M10))}
        against {_mib(record.peak(full, M10))}; at 1M rows, {record.seconds(rerun, 1_000_000):.2f} s against
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
    peaks = [_mib(record.peak(name, M50)) for name in ("signal-job --hash", "signal-job")]
    return _paragraph(
        f"""Hashing every byte costs little beside the run: {ratio[M10]:.2f}x the same run without `--hash`
        at 10M rows ({size:,.0f} MB), {ratio[M50]:.2f}x at 50M, in {peaks[0]} against {peaks[1]}
        {record.measured_by}."""
    )


def groups(results: Path) -> str:
    """docs/signals.md: group_by in a column, a few groups and many, against the same file ungrouped."""
    record = load("groups", results)
    ungrouped = record.seconds("signal-job symbols ungrouped", M50)
    few, many = "signal-job group_by column", "signal-job group_by 1000 symbols"
    return _paragraph(
        f"""At 50M rows of 4 symbols a run took {record.seconds(few, M50) / ungrouped:.2f}x the time of the
        same file run ungrouped, in {_mib(record.peak(few, M50))}; at 50M rows of 1,000 symbols
        {record.seconds(many, M50):.1f} s and {_mib(record.peak(many, M50))},
        {record.seconds(many, M50) / ungrouped:.2f}x the ungrouped run {record.measured_by}."""
    )


FIGURES: dict[str, Callable[[Path], str]] = {
    "headline": headline,
    "alternatives": alternatives_table,
    "cache": cache,
    "hash": hashing,
    "groups": groups,
}


def documents() -> list[Path]:
    """The documents whose figures are rendered: the same the docs test runs the commands of."""
    return [
        PROJECT / "README.md",
        *sorted((PROJECT / "docs").glob("*.md")),
        PROJECT / "benchmarks" / "README.md",
    ]


def blocks(text: str) -> Iterator[re.Match[str]]:
    """The marked figures of a document's text."""
    return BLOCK.finditer(text)


def rendered(text: str, results: Path = RESULTS) -> str:
    """`text` with every marked figure rendered again from the records in `results`."""

    def render(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in FIGURES:
            msg = f"no figure named {name!r} (known: {', '.join(FIGURES)})"
            raise LookupError(msg)
        return f"{match[1]}{FIGURES[name](results)}{match[4]}"

    return BLOCK.sub(render, text)


def main() -> None:
    """Rewrite the docs' figures from the records, or with --check say which differ."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a figure differs")
    args = parser.parse_args()
    stale = []
    for document in documents():
        text = document.read_text(encoding="utf-8")
        new = rendered(text)
        if new != text:
            stale.append(str(document.relative_to(PROJECT)))
            if not args.check:
                document.write_text(new, encoding="utf-8")
    if stale:
        print(
            ("differ from the records: " if args.check else "rewritten: ") + ", ".join(stale), file=sys.stderr
        )
        if args.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
