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
from decimal import ROUND_HALF_UP, Decimal
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


def _whole(value: float) -> str:
    """`value` rounded half up, with thousands separators: 314.5 -> "315", 1992.6 -> "1,993"."""
    return f"{int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)):,}"


def _mib(value: float) -> str:
    return f"{_whole(value)} MiB"


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
            f"| {shown} | {row['median_s']:.3f} | {_whole(row['median_peak_mib'])} "
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
        at 10M rows ({_whole(size)} MB), {ratio[M50]:.2f}x at 50M, in {peaks[0]} against {peaks[1]}
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


@dataclass(frozen=True)
class GoalRow:
    """A row of issue 16's table: a goal at each size (`{size}` in its name), and what it measured."""

    label: str
    goal: str
    sizes: tuple[int, ...] = (M10, M50)
    shown: str | None = None  # the row whose median seconds follow the ratio
    peak_of: str | None = None  # the row whose median peak follows it (a memory goal)


ISSUE16 = (
    GoalRow("plain run / polars floor", "{size}: signal-job / polars floor, time", shown="signal-job"),
    GoalRow("plain run / polars floor time+last", "{size}: signal-job / polars floor time+last, time"),
    GoalRow(
        "`--signals` / polars floor `--signals`",
        "{size}: signal-job --signals / polars floor --signals",
        shown="signal-job --signals",
    ),
    GoalRow(
        "group_by column, 4 symbols / ungrouped", "{size}: signal-job group_by column / signal-job symbols"
    ),
    GoalRow(
        "group_by column, 1,000 symbols / ungrouped",
        "{size}: signal-job group_by 1000 symbols / signal-job symbols",
        shown="signal-job group_by 1000 symbols",
    ),
    GoalRow("100 CSV files / one file", "{size}: signal-job 100 files / signal-job,", sizes=(M10,)),
    GoalRow(
        "100 Parquet files / one Parquet file",
        "{size}: signal-job parquet 100 files / signal-job parquet,",
        sizes=(M10,),
    ),
    GoalRow(
        "blank lines (64M at 10M rows), peak memory / plain run",
        "{size}: signal-job blank lines / signal-job, peak memory",
        sizes=(M10,),
        peak_of="signal-job blank lines",
    ),
)
PEAKS = ("{size}: signal-job group_by column, peak MiB", "{size}: signal-job group_by 1000 symbols, peak MiB")


def _goal(record: Record, name: str) -> dict[str, Any]:
    (found,) = [t for t in record.data["targets"] if t["target"].startswith(name)]
    goal: dict[str, Any] = found
    return goal


def _ratio(limit: float) -> str:
    """A goal's ratio as the presets write it: 1.0, 1.15, 1.5."""
    return f"{limit:.1f}" if float(limit).is_integer() else f"{limit:g}"


def _bold(text: str, met: bool | None) -> str:
    return f"**{text}**" if met else text


def _goal_cells(record: Record, row: GoalRow, rev: str) -> tuple[list[str], str, str]:
    """The cells of a row at each size, its baseline cell, and its goal, e.g. `(1.1x at 10M, 1.2x at 50M)`."""
    cells, baseline, limits = [], [], []
    for size in row.sizes:
        goal = _goal(record, row.goal.format(size=f"{size // 1_000_000}M"))
        extra = ""
        if row.shown:
            extra = f" ({record.seconds(row.shown, size):.3f} s)"
        if row.peak_of:
            extra = f" ({_mib(record.peak(row.peak_of, size))})"
        cells.append(_bold(f"{goal['median']:.2f}x", goal["met"]) + extra)
        twin = f" ({_mib(record.peak(f'{row.peak_of} @ {rev}', size))})" if row.peak_of else ""
        baseline.append(f"{goal['baseline']['median']:.2f}x{twin}")
        limits.append((goal["limit"], size))
    if limits[0][0] is None:
        goal_text = "(no goal: the row checks stay)"
    elif len({limit for limit, _ in limits}) == 1:
        goal_text = f"({_ratio(limits[0][0])}x)"
    else:
        each = [f"{_ratio(limit)}x at {size // 1_000_000}M" for limit, size in limits]
        goal_text = f"({', '.join(each)})"
    return cells, ", ".join(baseline), goal_text


def issue16_table(results: Path) -> str:
    """benchmarks/README.md: issue 16's goals, at the commit measured and at the one it was run against."""
    record = load("issue16", results)
    rev = record.data["against"]["rev"]
    machine, rounds = record.data["machine"], len(record.row("signal-job", M10)["seconds"])
    lines = [
        _paragraph(
            f"""`{record.data["command"]}`, on a {machine["usable_cpus"]}-core {machine["cpu"]}
            machine, Polars {record.data["versions"]["polars"]} ([results/issue16.md](results/issue16.md)):
            the goals of issue 16 as medians of the rounds' ratios (least-largest), {rounds} timed rounds;
            the last column is the same goal measured at {rev}, in the same rounds."""
        ),
        "",
        f"| row (goal) | 10M rows | 50M rows | at {rev} (10M, 50M) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for row in ISSUE16:
        cells, baseline, goal_text = _goal_cells(record, row, rev)
        lines.append(
            f"| {row.label} {goal_text} | {' | '.join(cells + [''] * (2 - len(cells)))} | {baseline} |"
        )
    peaks, twins = [], []
    for size in (M10, M50):
        goals = [_goal(record, name.format(size=f"{size // 1_000_000}M")) for name in PEAKS]
        peaks.append(" / ".join(_bold(_whole(goal["median"]), goal["met"]) for goal in goals) + " MiB")
        twins.append(" / ".join(_whole(goal["baseline"]["median"]) for goal in goals))
    limit = _goal(record, PEAKS[0].format(size="10M"))["limit"]
    lines.insert(
        -3,
        f"| group_by peak memory, 4 / 1,000 symbols ({limit:g} MiB) | {peaks[0]} | {peaks[1]} "
        f"| {', '.join(twins)} MiB |",
    )
    pairs = record.data["pairs"]
    medians = [pair["time"]["median"] for pair in pairs]
    same = (
        "every document the same"
        if all(pair["same_answer"] for pair in pairs)
        else "not every document the same"
    )
    lines += [
        "",
        _paragraph(
            f"""(**bold**: goal met; the group_by peaks are the largest of the rounds.) Each signal-job
            row and its twin at {rev} ran back to back: their paired time ratios (medians) are
            {min(medians):.2f}-{max(medians):.2f}, {same}."""
        ).rstrip("\n"),
    ]
    return "\n".join(line.rstrip("\n") for line in lines) + "\n"


HOSTILE = (
    ("a 10 MB line without a line break (5,000,002 columns)", "signal-job 10 MB line"),
    ("a gzip of a header and 2^30 blank lines ({mb} MB on disk)", "signal-job gzip of 2^30 blank lines"),
    ("a header and 64M blank lines", "signal-job 64M blank lines"),
    ("the header alone", "signal-job header alone"),
    ("a million groups in a column, 3 rows each ({mb} MB)", "signal-job a million groups"),
)


def _met(met: bool | None) -> str:
    return "**met**" if met else "not met"


def _hostile_goals(record: Record, name: str) -> str:
    """A hostile row's goals as measured: seconds over the header alone, and the peak."""
    goals = {t["target"]: t for t in record.data["targets"]}
    over = next((g for n, g in goals.items() if n.startswith(f"0: {name} - signal-job header alone")), None)
    peak = next((g for n, g in goals.items() if n.startswith(f"0: {name}, peak MiB")), None)
    said = []
    if over:
        said.append(
            f"{over['median']:.2f} s over the header alone, {over['limit']:g} s allowed: {_met(over['met'])}"
        )
    if peak:
        said.append(f"peak {peak['limit']:g} MiB: {_met(peak['met'])}")
    return "; ".join(said)


def hostile_table(results: Path) -> str:
    """benchmarks/README.md: issue 30's inputs without data rows, and a million groups."""
    record = load("hostile", results)
    rounds = len(record.row("signal-job header alone", 0)["seconds"])
    lines = [
        _paragraph(
            f"""Measured by {record.measured_by[1:-1]} ([results/hostile.md](results/hostile.md)),
            medians of {rounds}:"""
        ).rstrip("\n"),
        "",
        "| input | wall s | peak MiB | goal |",
        "| --- | ---: | ---: | --- |",
    ]
    for shown, name in HOSTILE:
        goals = _hostile_goals(record, name)
        label = shown.format(mb=_whole(record.row(name, 0)["file_bytes"] / 1e6))
        lines.append(
            f"| {label} | {record.seconds(name, 0):.3f} | {_whole(record.peak(name, 0))} | {goals} |"
        )
    return "\n".join(lines) + "\n"


FIGURES: dict[str, Callable[[Path], str]] = {
    "headline": headline,
    "alternatives": alternatives_table,
    "issue16": issue16_table,
    "hostile": hostile_table,
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
