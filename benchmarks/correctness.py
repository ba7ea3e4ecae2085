"""How many signals each implementation's algorithm gets wrong on a plateau-heavy file.

Each algorithm is run in-process, row by row, exactly as its job computes the signal, and
compared with the exact reference in Python decimals (signal_job.reference).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl

from signal_job.computing.signals import fixed_point, signal, window_sum
from signal_job.reading.numbers import PRICE
from signal_job.reference import reference_signals

DUCKDB_ROWS = """
SELECT CASE WHEN count(close) OVER w = $window AND close > avg(close) OVER w THEN 1 ELSE 0 END AS signal
FROM read_csv($path)
WINDOW w AS (ORDER BY timestamp ROWS BETWEEN $preceding PRECEDING AND CURRENT ROW)
ORDER BY timestamp
"""


def algorithms(path: Path, window: int) -> dict[str, list[int]]:
    """Per-row signals of every algorithm on `path`."""
    price = fixed_point(pl.col("close"), dtype=PRICE)
    exact = pl.scan_csv(path, schema_overrides={"close": PRICE}).select(
        signal(price, window_sum(price, window=window), window=window)
    )
    close = pl.col("close")
    polars_float = pl.scan_csv(path).select((close > close.rolling_mean(window)).fill_null(value=False))
    frame = pd.read_csv(path)
    pandas_signal = (frame["close"] > frame["close"].rolling(window=window).mean()).astype(int)
    params = {"path": str(path), "window": window, "preceding": window - 1}
    duck = duckdb.execute(DUCKDB_ROWS, params).fetchall()
    return {
        "signal-job": exact.collect(engine="streaming")["signal"].to_list(),
        "pandas": pandas_signal.to_list(),
        "duckdb": [row[0] for row in duck],
        "polars float rolling_mean": [int(v) for v in polars_float.collect(engine="streaming").to_series()],
    }


def wrong_signals(path: Path, window: int) -> dict[str, dict[str, int]]:
    """For each algorithm: signals, false signals and missed signals against the exact reference."""
    closes = pl.read_csv(path, columns=["close"], schema_overrides={"close": pl.String})["close"]
    truth = reference_signals([None if c is None else Decimal(c) for c in closes], window)
    report = {"exact reference": {"signals": sum(truth), "false": 0, "missed": 0}}
    for name, got in algorithms(path, window).items():
        false = sum(1 for g, t in zip(got, truth, strict=True) if g and not t)
        missed = sum(1 for g, t in zip(got, truth, strict=True) if t and not g)
        report[name] = {"signals": sum(got), "false": false, "missed": missed}
    return report
