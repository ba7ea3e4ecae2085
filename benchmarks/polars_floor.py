"""The floor: the cost of merely reading the close column with Polars' lazy CSV scan.

With `--signals PATH`: the cost of the plainest Polars signals file (float rolling mean, no
checks), sunk to Parquet from the same streaming scan.
"""

from __future__ import annotations

import sys

import polars as pl

WINDOW = 5

if __name__ == "__main__":
    scan = pl.scan_csv(sys.argv[1])
    if "--signals" in sys.argv:
        mean = pl.col("close").rolling_mean(WINDOW)
        scan.select(
            pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"),
            "close",
            rolling_mean=mean,
            signal=(pl.col("close") > mean).fill_null(value=False).cast(pl.Int8),
        ).sink_parquet(sys.argv[sys.argv.index("--signals") + 1], engine="streaming")
    else:
        print(scan.select(pl.col("close").sum()).collect(engine="streaming").item())
