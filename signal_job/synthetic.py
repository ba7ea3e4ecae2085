"""Seeded synthetic one-minute BTC/USD-like candles, with the flat stretches of quiet markets."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import polars as pl
from polars.io.plugins import register_io_source

from signal_job.errors import OutputError, first_line
from signal_job.formats import KNOWN, format_of, sink
from signal_job.options import Option

COLUMNS = ("timestamp", "open", "high", "low", "close", "volume_btc", "volume_usd")
START = "2024-01-01 00:00:00"
START_PRICE = 42_000.0
CHUNK_ROWS = 1_000_000
# Per-minute volatility of the log price while the market moves (about BTC's in 2024).
VOLATILITY = 0.0007
# Mean lengths, in minutes, of moving and of flat stretches (the close unchanged).
MEAN_MOVING, MEAN_FLAT = 9.0, 3.0
_SCHEMA = {
    "timestamp": pl.String(),
    "open": pl.Decimal(18, 2),
    "high": pl.Decimal(18, 2),
    "low": pl.Decimal(18, 2),
    "close": pl.Decimal(18, 2),
    "volume_btc": pl.Decimal(18, 6),
    "volume_usd": pl.Decimal(18, 2),
}


def candles(rows: int, *, seed: int, chunk_rows: int = CHUNK_ROWS) -> Iterator[pl.DataFrame]:
    """Yield `rows` candles in chunks; the same `rows` and `seed` always give the same candles."""
    rng = np.random.default_rng(seed)
    log_price = np.log(START_PRICE)
    previous_close = START_PRICE
    start = np.datetime64(START, "s")
    for offset in range(0, rows, chunk_rows):
        n = min(chunk_rows, rows - offset)
        moving = _moving_mask(rng, n)
        steps = rng.normal(0.0, VOLATILITY, n) * moving
        log_path = log_price + np.cumsum(steps)
        log_price = log_path[-1]
        close = np.round(np.exp(log_path), 2)
        opens = np.concatenate(([previous_close], close[:-1]))
        previous_close = close[-1]
        wick = np.abs(rng.normal(0.0, VOLATILITY / 2, (2, n))) * close * moving
        volume = np.round(rng.lognormal(1.0, 1.0, n) * np.where(moving, 1.0, 0.2) + 0.001, 6)
        minutes = start + (offset + np.arange(n)) * np.timedelta64(60, "s")
        yield pl.DataFrame(
            {
                "timestamp": np.datetime_as_string(minutes).astype(object),
                "open": opens,
                "high": np.round(np.maximum(opens, close) + wick[0], 2),
                "low": np.round(np.minimum(opens, close) - wick[1], 2),
                "close": close,
                "volume_btc": volume,
                "volume_usd": np.round(volume * close, 2),
            }
        ).with_columns(
            pl.col("timestamp").str.replace("T", " ", literal=True),
            *(pl.col(name).cast(dtype) for name, dtype in _SCHEMA.items() if name != "timestamp"),
        )


def candles_frame(rows: int, *, seed: int, progress: Callable[[int], None] | None = None) -> pl.LazyFrame:
    """The candles as a lazy frame, generated chunk by chunk as a sink consumes them."""

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        _batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        for chunk in candles(rows if n_rows is None else min(rows, n_rows), seed=seed):
            if progress is not None:
                progress(chunk.height)
            frame = chunk if with_columns is None else chunk.select(with_columns)
            yield frame if predicate is None else frame.filter(predicate)

    return register_io_source(source, schema=_SCHEMA)


def write_candles(
    path: Path,
    *,
    rows: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    force: bool = False,
) -> None:
    """Write candles to `path` (CSV, .csv.gz, .csv.zst, Parquet or Arrow), atomically.

    An existing file is replaced only with `force`: it may be real data.
    """
    if not force and (path.exists() or path.is_symlink()):
        msg = f"{path} already exists; give another {Option.OUTPUT}, or {Option.FORCE} to replace it"
        raise OutputError(msg)
    kind = format_of(path)
    if kind is None:
        msg = f"cannot tell the format of {path}; use one of the endings {KNOWN}"
        raise OutputError(msg)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")
    try:
        sink(candles_frame(rows, seed=seed, progress=progress), temporary, kind).collect()
        temporary.replace(path)
    except (OSError, pl.exceptions.PolarsError) as exc:
        temporary.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else first_line(exc)
        msg = f"cannot write {path}: {reason}"
        raise OutputError(msg) from exc
    except BaseException:  # a stop (SIGTERM, Ctrl-C): no half-written file left behind either
        temporary.unlink(missing_ok=True)
        raise


def _moving_mask(rng: np.random.Generator, n: int) -> np.ndarray:
    """True on minutes where the price moves, False on flat stretches of geometric length."""
    runs = int(n / (MEAN_MOVING + MEAN_FLAT) * 1.5) + 16
    while True:
        moving = rng.geometric(1 / MEAN_MOVING, runs)
        flat = rng.geometric(1 / MEAN_FLAT, runs)
        lengths = np.column_stack((moving, flat)).ravel()
        if lengths.sum() >= n:
            break
        runs *= 2
    states = np.tile([True, False], runs)
    return np.repeat(states, lengths)[:n]
