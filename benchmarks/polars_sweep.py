"""A sweep as plain Polars does it: a float rolling mean column per window, in one streaming scan.

    polars_sweep.py --input PATH --windows 5:100:5 --output OUT

What a user would write instead of `signal-job sweep`: `rolling_mean` of close read as Float64,
one column per window, each signal counted; no checks. Its document holds a result per window,
as the sweep's does, so the benchmark shows where its floats count other signals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl


def windows_of(text: str) -> list[int]:
    """`5,10` or `5:100:5` (the stop included), as `signal-job sweep --windows` reads them."""
    windows: list[int] = []
    for item in text.split(","):
        start, _, rest = item.partition(":")
        stop, _, step = rest.partition(":")
        windows += range(int(start), int(stop or start) + 1, int(step or 1))
    return windows


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--input", "--windows", "--output"):
        parser.add_argument(option, required=True)
    args = parser.parse_args()
    windows = windows_of(args.windows)
    close = pl.col("close")
    counts = (
        pl.scan_csv(args.input)
        .select(
            pl.len().alias("rows"),
            *((close > close.rolling_mean(window)).sum().alias(str(window)) for window in windows),
        )
        .collect(engine="streaming")
        .row(0, named=True)
    )
    rows = counts["rows"]
    results = [
        {"window": window, "signals": counts[str(window)], "value": round(counts[str(window)] / rows, 4)}
        for window in windows
    ]
    document = {"rows_processed": rows, "results": results}
    Path(args.output).write_text(json.dumps(document, indent=2))


if __name__ == "__main__":
    main()
