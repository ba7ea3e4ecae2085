"""How many signals each implementation's algorithm gets wrong on a plateau-heavy file.

Each algorithm is run in-process, row by row, exactly as its job computes the signal, and
compared with the exact reference in Python decimals (signal_job.reference). A sweep's are
counted over all its windows: signal-job's from the signals file of `signal_job.sweep`, each
float tool's by the functions its benchmark program counts with (benchmarks/float_sweep.py).
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

import signal_job
from benchmarks.float_sweep import row_signals, windows_of
from signal_job.computing.signals import fixed_point, signal, window_sum
from signal_job.reading.numbers import PRICE
from signal_job.reference import reference_signals

# The float sweeps by the names the tables show, and their `float_sweep.py --tool`.
FLOAT_SWEEPS = {
    "polars float rolling_mean": "polars",
    "pandas rolling loop": "pandas",
    "duckdb window avg": "duckdb",
    "vectorbt MA.run": "vectorbt",
}

DUCKDB_ROWS = """
SELECT CASE WHEN count(close) OVER w = $window AND close > avg(close) OVER w THEN 1 ELSE 0 END AS signal
FROM read_csv($path)
WINDOW w AS (ORDER BY timestamp ROWS BETWEEN $preceding PRECEDING AND CURRENT ROW)
ORDER BY timestamp
"""


def algorithms(path: Path, window: int) -> dict[str, list[int]]:
    """Per-row signals of every algorithm on `path`."""
    import duckdb  # the benchmark extra's: the tests import this module without it

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
    truth = reference_signals(_closes(path), window)
    report = {"exact reference": {"signals": sum(truth), "false": 0, "missed": 0}}
    for name, got in algorithms(path, window).items():
        false = sum(1 for g, t in zip(got, truth, strict=True) if g and not t)
        missed = sum(1 for g, t in zip(got, truth, strict=True) if t and not g)
        report[name] = {"signals": sum(got), "false": false, "missed": missed}
    return report


def sweep_wrong_signals(path: Path, windows: str) -> dict[str, dict[str, int]]:
    """For each algorithm of a sweep: signals, false and missed signals, summed over `windows`."""
    swept = windows_of(windows)
    truth = np.array(reference_sweep(_closes(path), swept), dtype=bool)
    report = {"exact reference": {"signals": int(truth.sum()), "false": 0, "missed": 0}}
    algorithms = {"signal-job sweep": _job_sweep(path, windows, swept)}
    algorithms |= {name: row_signals(tool, str(path), swept) for name, tool in FLOAT_SWEEPS.items()}
    for name, signals in algorithms.items():
        got = np.array([np.asarray(column, dtype=bool) for column in signals])
        report[name] = {
            "signals": int(got.sum()),
            "false": int((got & ~truth).sum()),
            "missed": int((truth & ~got).sum()),
        }
    return report


def reference_sweep(closes: Sequence[Decimal | None], windows: Sequence[int]) -> list[list[int]]:
    """`reference_signals` of each window, from running sums of the prices in exact integers.

    The same answer in O(rows) a window rather than O(rows x window): a hundred windows over the
    plateau file take seconds, not hours. Python integers, never rounded, at any size.
    """
    exponent = min((int(c.as_tuple().exponent) for c in closes if c is not None), default=0)
    prices = np.array([0 if c is None else int(c.scaleb(-exponent)) for c in closes], dtype=object)
    rows = len(prices)
    # A window is full where the row's run of present prices is at least as long.
    missing = np.array([c is None for c in closes], dtype=bool)
    last_missing = np.maximum.accumulate(np.where(missing, np.arange(rows), -1)) if rows else missing
    run = np.arange(rows) - last_missing
    sums = np.concatenate((np.zeros(1, dtype=object), np.cumsum(prices)))  # sums[i]: the first i prices
    signals = []
    for window in windows:
        before = np.concatenate(
            (np.zeros(min(window - 1, rows), dtype=object), sums[: max(rows - window + 1, 0)])
        )
        above = (prices * window > sums[1:] - before).astype(bool)
        signals.append([int(s) for s in (above & (run >= window))])
    return signals


def _job_sweep(path: Path, windows: str, swept: Sequence[int]) -> list[Sequence[bool]]:
    """signal-job's signals per window, from a sweep's signals file; its counts must agree with it."""
    with tempfile.TemporaryDirectory(prefix="signal-job-correctness-") as folder:
        file = Path(folder) / "signals.parquet"
        config = {"seed": 42, "window": swept[0], "version": "bench"}
        result = signal_job.sweep(str(path), windows=windows, config=config, signals=file)
        frame = pl.read_parquet(file)
    columns = [frame[f"signal_{window}"].fill_null(0).to_numpy() == 1 for window in swept]
    for window, column in zip(swept, columns, strict=True):
        if int(column.sum()) != result.result(window).signals:
            msg = (
                f"window {window}: the sweep counted {result.result(window).signals}, its file {column.sum()}"
            )
            raise RuntimeError(msg)
    return columns


def _closes(path: Path) -> list[Decimal | None]:
    closes = pl.read_csv(path, columns=["close"], schema_overrides={"close": pl.String})["close"]
    return [None if c is None else Decimal(c) for c in closes]
