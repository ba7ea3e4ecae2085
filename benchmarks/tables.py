"""The docs' performance tables (benchmarks/README.md), each rendered from a recorded benchmark run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.figures import M10, M50, Record, load, mib, paragraph, whole

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
            f"| {shown} | {row['median_s']:.3f} | {whole(row['median_peak_mib'])} "
            f"| {row['x_pandas']:.2f} | {row['x_floor']:.2f} |"
        )
    return "\n".join(lines) + "\n"


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
            extra = f" ({mib(record.peak(row.peak_of, size))})"
        cells.append(_bold(f"{goal['median']:.2f}x", goal["met"]) + extra)
        twin = f" ({mib(record.peak(f'{row.peak_of} @ {rev}', size))})" if row.peak_of else ""
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
        paragraph(
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
        peaks.append(" / ".join(_bold(whole(goal["median"]), goal["met"]) for goal in goals) + " MiB")
        twins.append(" / ".join(whole(goal["baseline"]["median"]) for goal in goals))
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
        paragraph(
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
        paragraph(
            f"""Measured by {record.measured_by[1:-1]} ([results/hostile.md](results/hostile.md)),
            medians of {rounds}:"""
        ).rstrip("\n"),
        "",
        "| input | wall s | peak MiB | goal |",
        "| --- | ---: | ---: | --- |",
    ]
    for shown, name in HOSTILE:
        goals = _hostile_goals(record, name)
        label = shown.format(mb=whole(record.row(name, 0)["file_bytes"] / 1e6))
        lines.append(f"| {label} | {record.seconds(name, 0):.3f} | {whole(record.peak(name, 0))} | {goals} |")
    return "\n".join(lines) + "\n"
