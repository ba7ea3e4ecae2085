"""The floors: the cost of merely reading with Polars' lazy CSV scan what the job reads, unchecked.

    polars_floor.py PATH                  # close as Float64, summed
    polars_floor.py PATH --fields         # ... and the time column and each row's last field, as text
    polars_floor.py PATH --signals OUT    # the plainest Polars signals file, sunk to Parquet

`--fields` reads the columns the job reads to check its rows (the time, for its order and width;
the last field, for short rows) and checks nothing: what the row checks cost beyond reading.
`--signals`: a float rolling mean, no checks, sunk to Parquet from the same streaming scan.
"""

from __future__ import annotations

import sys

import polars as pl

WINDOW = 5
TIME = "timestamp"

if __name__ == "__main__":
    scan = pl.scan_csv(sys.argv[1])
    if "--signals" in sys.argv:
        mean = pl.col("close").rolling_mean(WINDOW)
        scan.select(
            pl.col(TIME).str.to_datetime("%Y-%m-%d %H:%M:%S", time_unit="us"),
            "close",
            rolling_mean=mean,
            signal=(pl.col("close") > mean).fill_null(value=False).cast(pl.Int8),
        ).sink_parquet(sys.argv[sys.argv.index("--signals") + 1], engine="streaming")
    elif "--fields" in sys.argv:
        last = scan.collect_schema().names()[-1]
        text = pl.scan_csv(sys.argv[1], schema_overrides={TIME: pl.String, last: pl.String})
        # A null count needs each value read, and does nothing with it.
        read = text.select(pl.col("close").sum(), pl.col(TIME).null_count(), pl.col(last).null_count())
        print(read.collect(engine="streaming").row(0))
    else:
        print(scan.select(pl.col("close").sum()).collect(engine="streaming").item())
