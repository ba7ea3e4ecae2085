"""Turn measured runs into figures, paired ratios, goals met or not, markdown tables and a plot."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.datasets import label
from benchmarks.measure import Program
from benchmarks.presets import Target

Row = dict[str, Any]
TEN_M = 10_000_000


def figures(rows: int, *, size: int, seconds: list[float], peaks: list[float]) -> Row:
    """One result row's figures: every run, medians, throughput; ratios are added later."""
    median = statistics.median(seconds)
    return {
        "rows": rows,
        "file_bytes": size,
        "seconds": [round(s, 4) for s in seconds],
        "median_s": round(median, 4),
        "peak_mib": [round(p, 1) for p in peaks],
        "median_peak_mib": round(statistics.median(peaks), 1),
        "max_peak_mib": round(max(peaks), 1),
        "mb_per_s": round(size / 1e6 / median, 1),
        "rows_per_s": round(rows / median),
    }


def add_ratios(results: list[Row]) -> None:
    """Add each row's ratios of medians to pandas, the float-only floor and the bare imports.

    A row that writes a signals file is compared with the pandas and floor rows that do too.
    """
    by_program = {(r["rows"], r["program"], r["signals"]): r for r in results if r["twin_of"] is None}
    for row in results:
        pandas = by_program.get((row["rows"], Program.PANDAS.value, row["signals"]))
        floor = by_program.get((row["rows"], Program.FLOOR.value, row["signals"]))
        imports = by_program.get((row["rows"], Program.IMPORTS.value, False))
        for key, base in (("x_pandas", pandas), ("x_floor", floor), ("x_imports", imports)):
            row[key] = round(row["median_s"] / base["median_s"], 3) if base else None
        row["memory_x_pandas"] = (
            round(row["median_peak_mib"] / pandas["median_peak_mib"], 3) if pandas else None
        )


def spread(values: Iterable[float]) -> Row:
    """The median, least and largest of `values`."""
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 3),
        "min": round(ordered[0], 3),
        "max": round(ordered[-1], 3),
    }


def paired(subject: Row, base: Row, key: str) -> Row:
    """The rounds' ratios subject / base of `key` (seconds, peak_mib): each round ran both."""
    return spread(a / b for a, b in zip(subject[key], base[key], strict=True))


def against(results: list[Row]) -> list[Row]:
    """Each twin run from the baseline tree beside its row: paired ratios this tree / baseline."""
    by_key = {(r["rows"], r["implementation"]): r for r in results}
    pairs = []
    for twin in results:
        if twin["twin_of"] is None:
            continue
        row = by_key[(twin["rows"], twin["twin_of"])]
        pairs.append(
            {
                "rows": row["rows"],
                "implementation": row["implementation"],
                "median_s": row["median_s"],
                "baseline_median_s": twin["median_s"],
                "time": paired(row, twin, "seconds"),
                "memory": paired(row, twin, "peak_mib"),
                "same_answer": twin["same_answer"],
            }
        )
    return pairs


def targets(results: list[Row], goals: Iterable[Target]) -> list[Row]:
    """Each goal at each size where its rows were measured; with twins, the baseline's figure too."""
    by_key = {(r["rows"], r["implementation"]): r for r in results}
    twins = {(r["rows"], r["twin_of"]): r for r in results if r["twin_of"]}
    checks: list[Row] = []
    for goal in goals:
        for rows in goal.sizes:
            subject = by_key.get((rows, goal.subject.name))
            base = by_key.get((rows, goal.base.name)) if goal.base else None
            if subject is None or (goal.base and base is None):
                continue
            measured = _measure(goal, subject, base, by_key)
            if measured is None:
                continue
            check = {"target": _text(goal, rows), "issue": goal.issue, **measured, "limit": goal.limit}
            check["met"] = None if goal.limit is None else measured["median"] <= goal.limit
            subject_twin = twins.get((rows, goal.subject.name))
            base_twin = twins.get((rows, goal.base.name)) if goal.base else None
            if subject_twin or base_twin:
                check["baseline"] = _measure(goal, subject_twin or subject, base_twin or base, by_key)
            checks.append(check)
    return checks


def _measure(goal: Target, subject: Row, base: Row | None, by_key: dict[tuple[int, str], Row]) -> Row | None:
    if goal.measure == "time" and base:
        return paired(subject, base, "seconds")
    if goal.measure == "memory" and base:
        return paired(subject, base, "peak_mib")
    if goal.measure == "over" and base:
        return spread(a - b for a, b in zip(subject["seconds"], base["seconds"], strict=True))
    if goal.measure == "peak":
        peaks = subject["peak_mib"]
        return {"median": max(peaks), "min": min(peaks), "max": max(peaks)}
    ten = by_key.get((TEN_M, subject["implementation"]))  # a twin's name holds its tree
    if goal.measure == "growth" and ten:
        growth = round(subject["max_peak_mib"] / ten["max_peak_mib"], 3)
        return {"median": growth, "min": growth, "max": growth}
    return None


def _text(goal: Target, rows: int) -> str:
    subject, base = goal.subject.name, goal.base.name if goal.base else ""
    what = {
        "time": f"{subject} / {base}, time",
        "memory": f"{subject} / {base}, peak memory",
        "peak": f"{subject}, peak MiB",
        "over": f"{subject} - {base}, seconds",
        "growth": f"{subject}, peak / its peak at 10M",
    }[goal.measure]
    return f"{label(rows)}: {what}" + ("" if goal.limit is None else f" <= {goal.limit:g}")


def markdown(document: dict[str, Any]) -> str:
    """The tables of one run, headed by the command and the commit that measured them."""
    git, machine, versions = document["git"], document["machine"], document["versions"]
    baseline = document.get("against")
    lines = [
        f"`{document['command']}` at {git['commit'][:7]}{' (uncommitted changes)' if git['dirty'] else ''}"
        + (f" against {_commit(baseline)}" if baseline else "")
        + f", {document['generated'][:10]}: {machine['usable_cpus']} CPUs ({machine['cpu']}), "
        f"{machine['memory_gib']} GiB, Python {versions['python']}, Polars {versions['polars']}; "
        "whole processes, medians of the timed rounds; ratios of goals are medians of the "
        "rounds' ratios (least-largest).",
        "",
        "| rows | implementation | input | wall s (median) | peak MiB | MB/s | rows/s | x pandas | x floor |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in document["results"]:
        lines.append(
            f"| {r['rows']:,} | {r['implementation']} | {r['input']} | {r['median_s']:.3f} | "
            f"{r['median_peak_mib']:.0f} | {r['mb_per_s']:,.0f} | {r['rows_per_s']:,.0f} | "
            f"{_ratio(r['x_pandas'])} | {_ratio(r['x_floor'])} |"
        )
    lines += _targets_table(document["targets"], baseline)
    lines += _against_table(document.get("pairs") or [], baseline)
    lines += _correctness_table(document.get("correctness"))
    return "\n".join(lines) + "\n"


def _correctness_table(correctness: Row | None) -> list[str]:
    """Each algorithm's wrong signals: of one window, or summed over each sweep's windows."""
    if not correctness:
        return []
    if "sweeps" not in correctness:
        lines = [
            "",
            "| algorithm | signals | false signals | missed signals |",
            "| --- | ---: | ---: | ---: |",
        ]
        return lines + [
            f"| {name} | {c['signals']:,} | {c['false']:,} | {c['missed']:,} |"
            for name, c in correctness["algorithms"].items()
        ]
    lines = [
        "",
        f"Wrong signals on {correctness['rows']:,} plateau-heavy rows, summed over each sweep's windows:",
        "",
        "| algorithm | windows | signals | false signals | missed signals |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for sweep in correctness["sweeps"]:
        lines += [
            f"| {name} | {sweep['windows']} | {c['signals']:,} | {c['false']:,} | {c['missed']:,} |"
            for name, c in sweep["algorithms"].items()
        ]
    return lines


def _targets_table(checks: list[Row], baseline: Row | None) -> list[str]:
    if not checks:
        return []
    twin = f" | at {baseline['rev']}" if baseline else ""
    lines = ["", f"| goal | issue | measured (least-largest) | met{twin} |"]
    lines.append("| --- | ---: | ---: | :---:" + (" | ---:" if baseline else "") + " |")
    for c in checks:
        met = "" if c["met"] is None else "yes" if c["met"] else "**no**"
        before = c.get("baseline")
        then = f" | {_spread(before) if before else ''}" if baseline else ""
        lines.append(f"| {c['target']} | {c['issue'] or ''} | {_spread(c)} | {met}{then} |")
    return lines


def _against_table(pairs: list[Row], baseline: Row | None) -> list[str]:
    if not pairs or not baseline:
        return []
    rev = baseline["rev"]
    lines = [
        "",
        f"| rows | implementation | wall s | at {rev} | time / {rev} | peak MiB / {rev} | same answer |",
        "| ---: | --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for p in pairs:
        lines.append(
            f"| {p['rows']:,} | {p['implementation']} | {p['median_s']:.3f} | {p['baseline_median_s']:.3f} | "
            f"{_spread(p['time'])} | {_spread(p['memory'])} | {'yes' if p['same_answer'] else '**no**'} |"
        )
    return lines


def _commit(baseline: Row) -> str:
    short, rev = baseline["commit"][:7], baseline["rev"]
    return short if baseline["commit"].startswith(rev) else f"{short} ({rev})"


def _spread(figure: Row) -> str:
    """A median and, where the rounds differ, their least and largest: `1.13 (1.04-1.22)`."""
    if figure["min"] == figure["max"]:
        return f"{figure['median']:g}"
    return f"{figure['median']:g} ({figure['min']:g}-{figure['max']:g})"


def plot(results: list[Row], path: Path) -> None:
    """Latency against rows, log-log, one line per implementation (rows of no rows left out)."""
    results = [r for r in results if r["rows"] > 0]  # a log scale has no 0: the hostile inputs
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for name in dict.fromkeys(r["implementation"] for r in results):
        points = sorted((r["rows"], r["median_s"]) for r in results if r["implementation"] == name)
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    seconds = FuncFormatter(lambda value, _: f"{value:g}")
    axes.yaxis.set_major_formatter(seconds)
    axes.yaxis.set_minor_formatter(seconds)
    axes.set_xlabel("rows")
    axes.set_ylabel("wall time, whole process (s, median)")
    axes.set_title("signal-job and the alternatives")
    axes.grid(visible=True, which="both", alpha=0.3)
    if results:
        axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
