"""A sweep as the float tools do it: what a user would write instead of `signal-job sweep`.

    float_sweep.py --tool pandas --input PATH --windows 5:100:5 --output OUT

polars: close read as Float64, a `rolling_mean` column per window, counted in one streaming scan.
pandas: the CSV read whole, then a loop of `close.rolling(window).mean()`, one window at a time.
duckdb: one query, an `avg(close) OVER` each window's frame in timestamp order, counted where the
frame is full. vectorbt: `vbt.MA.run(close, window=[...])`, every window at once, in memory (numba).
No checks. Each writes a result per window (rows_processed, results: window, signals, value), as
the sweep's document does, so the benchmark shows where its floats count other signals; the same
functions give benchmarks.correctness each row's signal. A tool's imports are made only for it:
each process pays for what its tool loads, as a user's script would.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import polars as pl

Signals = list[Sequence[bool]]  # a row's signal per row, one sequence per window, in their order


def windows_of(text: str) -> list[int]:
    """`5,10` or `5:100:5` (the stop included), as `signal-job sweep --windows` reads them."""
    windows: list[int] = []
    for item in text.split(","):
        start, _, rest = item.partition(":")
        stop, _, step = rest.partition(":")
        windows += range(int(start), int(stop or start) + 1, int(step or 1))
    return windows


def polars_signals(windows: Sequence[int]) -> list[pl.Expr]:
    """A signal column per window: close above its Float64 rolling mean (null before it is full)."""
    close = pl.col("close")
    return [(close > close.rolling_mean(window)).alias(str(window)) for window in windows]


def duckdb_query(windows: Sequence[int], *, counted: bool) -> str:
    """One query over every window: each row's signals in time order, or their counts and the rows.

    A window is full from its row number on (the files have no missing close): one count for all.
    """
    signals = ",\n       ".join(
        f"CASE WHEN row_number() OVER (ORDER BY timestamp) >= {w} AND close > avg(close) OVER w{w} "
        f"THEN 1 ELSE 0 END AS s{w}"
        for w in windows
    )
    frames = ",\n       ".join(
        f"w{w} AS (ORDER BY timestamp ROWS BETWEEN {w - 1} PRECEDING AND CURRENT ROW)" for w in windows
    )
    rows = f"SELECT timestamp,\n       {signals}\nFROM read_csv($path)\nWINDOW {frames}"
    if not counted:
        return f"{rows}\nORDER BY timestamp"
    return f"SELECT count(*), {', '.join(f'sum(s{w})' for w in windows)}\nFROM ({rows})"


def count_polars(path: str, windows: Sequence[int]) -> tuple[int, list[int]]:
    counts = (
        pl.scan_csv(path)
        .select(pl.len(), *(signal.sum() for signal in polars_signals(windows)))
        .collect(engine="streaming")
        .row(0)
    )
    return counts[0], list(counts[1:])


def count_duckdb(path: str, windows: Sequence[int]) -> tuple[int, list[int]]:
    import duckdb

    counts = duckdb.execute(duckdb_query(windows, counted=True), {"path": path}).fetchone()
    assert counts is not None, "a count query returns a row"
    return counts[0], [int(count) for count in counts[1:]]


def signals_pandas(path: str, windows: Sequence[int]) -> tuple[int, Signals]:
    import pandas as pd

    close = pd.read_csv(path)["close"]
    return len(close), [(close > close.rolling(window).mean()).to_numpy() for window in windows]


def signals_vectorbt(path: str, windows: Sequence[int]) -> tuple[int, Signals]:
    import pandas as pd
    import vectorbt as vbt

    close = pd.read_csv(path)["close"]
    means = vbt.MA.run(close, window=list(windows)).ma.to_numpy()  # a column per window
    above = close.to_numpy()[:, None] > means  # NaN, before a window is full: no signal
    return len(close), list(above.T)


Counter = Callable[[str, Sequence[int]], tuple[int, list[int]]]  # the rows, and a count per window


def _counted(signals: Callable[[str, Sequence[int]], tuple[int, Signals]]) -> Counter:
    """Count the signals a tool gives per row: what a user of an in-memory tool does."""

    def count(path: str, windows: Sequence[int]) -> tuple[int, list[int]]:
        rows, each = signals(path, windows)
        return rows, [int(sum(column)) for column in each]

    return count


TOOLS: dict[str, Counter] = {
    "polars": count_polars,
    "pandas": _counted(signals_pandas),
    "duckdb": count_duckdb,
    "vectorbt": _counted(signals_vectorbt),
}


def row_signals(tool: str, path: str, windows: Sequence[int]) -> Signals:
    """Each row's signal per window, as `tool` computes what it counts (for the wrong signals)."""
    if tool == "polars":
        signals = (signal.fill_null(value=False) for signal in polars_signals(windows))
        frame = pl.scan_csv(path).select(signals).collect(engine="streaming")  # as counted: in batches
        return [column.to_list() for column in frame.iter_columns()]
    if tool == "duckdb":
        import duckdb

        rows = duckdb.execute(duckdb_query(windows, counted=False), {"path": path}).fetchnumpy()
        return [rows[f"s{window}"] == 1 for window in windows]
    return {"pandas": signals_pandas, "vectorbt": signals_vectorbt}[tool](path, windows)[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tool", required=True, choices=sorted(TOOLS))
    for option in ("--input", "--windows", "--output"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    windows = windows_of(args.windows)
    rows, counts = TOOLS[args.tool](args.input, windows)
    results: list[dict[str, Any]] = [
        {"window": window, "signals": signals, "value": round(signals / rows, 4)}
        for window, signals in zip(windows, counts, strict=True)
    ]
    document = {"rows_processed": rows, "results": results}
    Path(args.output).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
