"""Turn measured runs into figures, ratios, targets, a markdown table and a log-log plot."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.measure import SIGNALS

Row = dict[str, Any]
Check = Callable[[int, str, str, float, Callable[[Row], float | None]], None]
Value = Callable[[str], Callable[[Row], float | None]]


def figures(
    rows: int, name: str, spelling: str, *, size: int, seconds: list[float], peaks: list[float]
) -> Row:
    """One result row: medians, throughput; ratios are added by `add_ratios`."""
    median = statistics.median(seconds)
    return {
        "rows": rows,
        "implementation": name,
        "input": spelling,
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
    """Add each row's time and memory ratios to pandas and to the floor at the same size.

    A run that writes a signals file is compared with the pandas and floor runs that do too.
    """
    by_key = {(r["rows"], r["implementation"]): r for r in results}
    for row in results:
        also = SIGNALS if row["implementation"].endswith(SIGNALS) else ""
        for other, key in (
            ("pandas" + also, "x_pandas"),
            ("polars floor" + also, "x_floor"),
            ("bare imports", "x_imports"),
        ):
            base = by_key.get((row["rows"], other))
            row[key] = round(row["median_s"] / base["median_s"], 3) if base else None
        pandas = by_key.get((row["rows"], "pandas" + also))
        row["memory_x_pandas"] = (
            round(row["median_peak_mib"] / pandas["median_peak_mib"], 3) if pandas else None
        )


def targets(results: list[Row]) -> list[Row]:
    """Check the issue's targets against whatever sizes were measured."""
    by_key = {(r["rows"], r["implementation"]): r for r in results}
    checks: list[Row] = []

    def check(rows: int, name: str, what: str, limit: float, value: Callable[[Row], float | None]) -> None:
        row = by_key.get((rows, name))
        measured = value(row) if row else None
        if measured is not None:
            checks.append(
                {"target": what, "measured": round(measured, 3), "limit": limit, "met": measured <= limit}
            )

    def relative_to(other_name: str) -> Callable[[Row], float | None]:
        def value(row: Row) -> float | None:
            other = by_key.get((row["rows"], other_name))
            return row["median_s"] / other["median_s"] if other else None

        return value

    big, small = 10_000_000, 10_000
    check(big, "signal-job", "10M CSV: time / pandas <= 0.45", 0.45, lambda r: r["x_pandas"])
    check(big, "signal-job", "10M CSV: time / polars floor <= 1.15", 1.15, lambda r: r["x_floor"])
    check(big, "signal-job", "10M CSV: peak memory / pandas <= 0.2", 0.2, lambda r: r["memory_x_pandas"])
    check(
        big,
        "signal-job as shipped",
        "10M as shipped: time / clean CSV <= 1.1",
        1.1,
        relative_to("signal-job"),
    )
    check(
        big,
        "signal-job parquet",
        "10M Parquet: time / clean CSV <= 1/2.5 = 0.4",
        0.4,
        relative_to("signal-job"),
    )
    check(
        big,
        "signal-job",
        "10M CSV: time with its time order checked / without a time column <= 1.05",
        1.05,
        relative_to("signal-job no time column"),
    )
    check(
        big,
        f"signal-job{SIGNALS}",
        "10M CSV --signals: time / polars floor --signals <= 1.0",
        1.0,
        relative_to(f"polars floor{SIGNALS}"),
    )
    check(
        big,
        "signal-job 100 files",
        "10M in 100 CSV files: time / one file <= 1.5",
        1.5,
        relative_to("signal-job"),
    )
    check(
        big,
        "signal-job parquet 100 files",
        "10M in 100 Parquet files: time / one file <= 1.5",
        1.5,
        relative_to("signal-job parquet"),
    )
    for name, what in (
        ("signal-job group_by column", "4 symbols"),
        ("signal-job group_by 1000 symbols", "1,000 symbols"),
    ):
        for rows in (big, 50_000_000):
            millions = rows // 1_000_000
            check(rows, name, f"{millions}M group_by column, {what}: peak memory <= 400 MiB", 400, _peak)
        check(
            big,
            name,
            f"10M group_by column, {what}: time / the same file ungrouped <= 1.5",
            1.5,
            relative_to("signal-job symbols ungrouped"),
        )

    def minus(other_name: str) -> Callable[[Row], float | None]:
        def value(row: Row) -> float | None:
            other = by_key.get((row["rows"], other_name))
            return row["median_s"] - other["median_s"] if other else None

        return value

    for rows in (small, big, 50_000_000):
        size = f"{rows // 1000}k" if rows < 1_000_000 else f"{rows // 1_000_000}M"
        for name, local, limit, how in (
            ("signal-job dask", "signal-job", 2.5, "starting a 2-worker local cluster"),
            ("signal-job dask attached", "signal-job", 1.0, "attached to a running cluster"),
            ("signal-job dask 100 files", "signal-job 100 files", 2.5, "100 files, a local cluster"),
            ("signal-job dask attached 100 files", "signal-job 100 files", 2.0, "100 files, attached"),
            ("signal-job dask 50 files", "signal-job 50 files", 2.0, "50 files, a local cluster"),
        ):
            what = f"{size}: dask ({how}) - local, seconds <= {limit}"
            check(rows, name, what, limit, minus(local))
    _cache_targets(check, relative_to, minus)
    for rows in (big, 50_000_000):
        check(
            rows,
            "signal-job --hash",
            f"{rows // 1_000_000}M CSV: time with --hash / without <= 1.1",
            1.1,
            relative_to("signal-job"),
        )
    check(small, "signal-job", "10k: time / pandas <= 0.6", 0.6, lambda r: r["x_pandas"])
    check(small, "signal-job", "10k: time / bare imports <= 1.2", 1.2, lambda r: r["x_imports"])
    for name in ("signal-job", f"signal-job{SIGNALS}"):
        checks += _flat_memory(by_key, name)
    return checks


def _cache_targets(check: Check, relative_to: Value, minus: Value) -> None:
    """A re-run over 31 daily files, the first 30 counted before (--cache), reads one file."""
    rerun, full = "signal-job 31 files --cache re-run", "signal-job 31 files"
    check(
        10_000_000,
        rerun,
        "10M in 31 daily files, one new: re-run with --cache / full run <= 0.25",
        0.25,
        relative_to(full),
    )
    for rows in (1_000_000, 10_000_000):
        millions = rows // 1_000_000
        what = f"{millions}M in 31 daily files: re-run with --cache - the new file alone, seconds <= 0.1"
        check(rows, rerun, what, 0.1, minus("signal-job 31st file alone"))
    check(
        10_000_000,
        "signal-job 31 files --cache empty",
        "10M in 31 daily files: filling an empty cache / full run <= 1.5",
        1.5,
        relative_to(full),
    )


def _peak(row: Row) -> float:
    return float(row["max_peak_mib"])


def _flat_memory(by_key: dict[tuple[int, str], Row], name: str) -> list[Row]:
    """Memory stays flat from 10M to 50M rows, under the same bound with or without signals."""
    fifty, ten = by_key.get((50_000_000, name)), by_key.get((10_000_000, name))
    checks = []
    if fifty and ten:
        growth = fifty["max_peak_mib"] / ten["max_peak_mib"]
        checks.append(
            {
                "target": f"50M {name}: peak memory / 10M peak <= 1.15",
                "measured": round(growth, 3),
                "limit": 1.15,
                "met": growth <= 1.15,
            }
        )
    if fifty:
        peak = fifty["max_peak_mib"]
        checks.append(
            {
                "target": f"50M {name}: peak memory <= 400 MiB",
                "measured": peak,
                "limit": 400,
                "met": peak <= 400,
            }
        )
    return checks


def markdown(results: list[Row], checks: list[Row], correctness: dict[str, dict[str, int]] | None) -> str:
    """The tables benchmarks/README.md shows."""
    lines = [
        "| rows | implementation | input | wall s (median) | peak MiB | MB/s | rows/s | x pandas | x floor |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['implementation']} | {r['input']} | {r['median_s']:.3f} | "
            f"{r['median_peak_mib']:.0f} | {r['mb_per_s']:,.0f} | {r['rows_per_s']:,.0f} | "
            f"{_ratio(r['x_pandas'])} | {_ratio(r['x_floor'])} |"
        )
    if checks:
        lines += ["", "| target | measured | met |", "| --- | ---: | :---: |"]
        lines += [f"| {c['target']} | {c['measured']} | {'yes' if c['met'] else '**no**'} |" for c in checks]
    if correctness:
        lines += [
            "",
            "| algorithm | signals | false signals | missed signals |",
            "| --- | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {name} | {c['signals']:,} | {c['false']:,} | {c['missed']:,} |"
            for name, c in correctness.items()
        ]
    return "\n".join(lines) + "\n"


def plot(results: list[Row], path: Path) -> None:
    """Latency against rows, log-log, one line per implementation."""
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
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"
