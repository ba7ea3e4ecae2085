"""The floor: the cost of merely reading the close column with Polars' lazy CSV scan."""

from __future__ import annotations

import sys

import polars as pl

if __name__ == "__main__":
    total = pl.scan_csv(sys.argv[1]).select(pl.col("close").sum()).collect(engine="streaming").item()
    print(total)
