"""Benchmark inputs: seeded synthetic candles at each size, cached, in every spelling measured."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

import signal_job
from signal_job.reading.sources import scan_lines
from signal_job.synthetic import write_candles

# The datasets (gigabytes at 10M rows and above) live outside the checkout, in the user's cache
# folder, unless this variable names another (a shared disk, a folder kept between checkouts).
CACHE_VARIABLE = "SIGNAL_JOB_BENCH_CACHE"
SEED = 20240101
SUFFIXES = {"k": 1_000, "m": 1_000_000}
SYMBOLS = 4
MANY_SYMBOLS = 1000
BLANK_LINES_PER_ROW = 6.4  # 64M blank lines at 10M rows, where the job once took 2 GiB
PARTS = 100  # the candles as many small files (daily files, say), in one folder
FIFTY = 50  # the same in fewer, larger files: the layout issue 13's dask goal names
DAYS = 31  # a month of daily files: the first 30 counted before (--cache), the last one new
DAY = "day{:02}.csv"  # day00.csv ... day30.csv
BEFORE_LAST_DAY = "day[0-2]?.csv"  # day00.csv ... day29.csv: every daily file but the last

# Issue 30's hostile inputs, the same at every size: each a header and no data rows.
LONG_LINE_FIELDS = 5_000_000  # `close,` then `1,` 5M times: one 10 MB line, no line break
BLANK_GZIP_LINES = 2**30  # a gzip of a header and 2^30 blank lines: 1 MB on disk, 1 GiB inside
BLANK_ONLY_LINES = 64 * 2**20  # a header and 64M blank lines
HOSTILE_HEADER = b"timestamp,close\n"
# Issue 30, item 8: a run of a million groups in a column, 3 rows each, in turn (its log and memory).
MILLION_GROUPS = 1_000_000
HOSTILE = frozenset({"long_line", "blank_gzip", "blank_only", "header_only", "many_groups"})

# The spellings made from the Parquet file.
PARQUET_MADE = frozenset(
    {"parquet", "parquet_float", "parquet_parts", "symbols", "symbol_tree", "symbols_1000", "signals"}
)

Progress = Callable[[int], None]


def parse_size(text: str) -> int:
    """'10k' -> 10_000, '1m' -> 1_000_000, '2500' -> 2500."""
    text = text.strip().lower()
    if text[-1:] in SUFFIXES:
        return int(float(text[:-1]) * SUFFIXES[text[-1]])
    return int(text)


def label(rows: int) -> str:
    """10_000 -> '10k', 50_000_000 -> '50M'."""
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    if rows >= 1_000 and rows % 1_000 == 0:
        return f"{rows // 1_000}k"
    return str(rows)


@dataclass(frozen=True)
class Dataset:
    """The same candles in the three spellings the benchmark reads."""

    rows: int
    csv: Path
    parquet: Path  # close as Decimal(18, 2), as the generator writes it
    parquet_float: Path  # close as Float64, as pandas writes prices
    shipped: Path  # every line wrapped in quotes, CRLF, no final newline: the task's own file
    symbols: Path  # Parquet with a `symbol` column, SYMBOLS symbols taking turns row by row
    symbol_tree: Path  # the same rows in hive folders, symbol=S0/part.parquet, ...
    symbols_1000: Path  # Parquet with a `symbol` column, MANY_SYMBOLS symbols taking turns row by row
    untimed: Path  # the clean CSV with its time column renamed: no time order to check
    newest_first: Path  # the clean CSV newest first, as Investing.com and many brokers write it
    blank_lines: Path  # the clean CSV with BLANK_LINES_PER_ROW blank lines after each row
    csv_parts: Path  # a folder of PARTS CSV files, the clean CSV's rows in turn
    csv_50: Path  # a folder of FIFTY CSV files, the clean CSV's rows in turn
    parquet_parts: Path  # a folder of PARTS Parquet files, the Parquet file's rows in turn
    days: Path  # a folder of DAYS CSV files named DAY, the clean CSV's rows in turn
    long_line: Path  # HOSTILE: one line of LONG_LINE_FIELDS fields
    blank_gzip: Path  # HOSTILE: a header and BLANK_GZIP_LINES blank lines, gzip-compressed
    blank_only: Path  # HOSTILE: a header and BLANK_ONLY_LINES blank lines
    header_only: Path  # HOSTILE: the header alone, what the others are measured over
    many_groups: Path  # HOSTILE: MILLION_GROUPS symbols taking turns, 3 rows each (a symbol column)
    signals: Path  # the signals file of a run over the Parquet file (window 5), as `run --signals` writes it

    @property
    def days_before_last(self) -> Path:
        """A glob of every daily file but the last: what a run the day before read."""
        return self.days / BEFORE_LAST_DAY

    @property
    def last_day(self) -> Path:
        """The last daily file alone: the least a re-run after it arrived must read."""
        return self.days / DAY.format(DAYS - 1)


def cache_folder() -> Path:
    """Where the datasets are kept: `$SIGNAL_JOB_BENCH_CACHE`, else the user's cache folder.

    That is `$XDG_CACHE_HOME/signal-job/benchmarks`, or `~/.cache/signal-job/benchmarks` when the
    variable is unset or not an absolute path (the XDG base directory rule).
    """
    chosen = os.environ.get(CACHE_VARIABLE)
    if chosen:
        return Path(chosen).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "signal-job" / "benchmarks"


def dataset(
    rows: int, spellings: set[str], *, folder: Path, progress: Callable[[str, int], Progress]
) -> Dataset:
    """Make (or reuse from `folder`, the cache) the files of `spellings` for `rows` candles."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"candles_{label(rows)}_{SEED}"
    files = Dataset(
        rows,
        csv=stem.with_suffix(".csv"),
        parquet=stem.with_suffix(".parquet"),
        parquet_float=Path(f"{stem}_float.parquet"),
        shipped=Path(f"{stem}_shipped.csv"),
        symbols=Path(f"{stem}_symbols.parquet"),
        symbol_tree=Path(f"{stem}_symbols"),
        symbols_1000=Path(f"{stem}_symbols_1000.parquet"),
        untimed=Path(f"{stem}_untimed.csv"),
        newest_first=Path(f"{stem}_newest_first.csv"),
        blank_lines=Path(f"{stem}_blank_lines.csv"),
        csv_parts=Path(f"{stem}_csv_parts"),
        csv_50=Path(f"{stem}_csv_50"),
        parquet_parts=Path(f"{stem}_parquet_parts"),
        days=Path(f"{stem}_days"),
        long_line=folder / "hostile_long_line.csv",
        blank_gzip=folder / "hostile_blank_lines.csv.gz",
        blank_only=folder / "hostile_blank_lines.csv",
        header_only=folder / "hostile_header.csv",
        many_groups=folder / "hostile_million_groups.csv",
        signals=Path(f"{stem}_signals.parquet"),
    )
    _write_hostile(files, spellings)
    if not spellings - HOSTILE:
        return files  # no candles needed
    if not files.csv.exists():  # every other spelling is made from it
        write_candles(files.csv, rows=rows, seed=SEED, progress=progress(f"CSV {label(rows)}", rows))
    if spellings & PARQUET_MADE and not files.parquet.exists():
        write_candles(files.parquet, rows=rows, seed=SEED, progress=progress(f"Parquet {label(rows)}", rows))
    if "parquet_float" in spellings and not files.parquet_float.exists():
        floats = pl.scan_parquet(files.parquet).with_columns(pl.col("close").cast(pl.Float64))
        floats.sink_parquet(files.parquet_float)
    if "shipped" in spellings and not files.shipped.exists():
        _write_shipped(files.csv, files.shipped)
    if spellings & {"symbols", "symbol_tree"} and not files.symbol_tree.exists():
        _write_symbols(files.parquet, files.symbols, files.symbol_tree)
    if "symbols_1000" in spellings and not files.symbols_1000.exists():
        _write_symbol_table(files.parquet, files.symbols_1000, MANY_SYMBOLS)
    if "untimed" in spellings and not files.untimed.exists():
        _write_untimed(files.csv, files.untimed)
    if "newest_first" in spellings and not files.newest_first.exists():
        temporary = files.newest_first.with_name(f".{files.newest_first.name}.tmp")
        pl.read_csv(files.csv, infer_schema=False).reverse().write_csv(temporary)
        temporary.replace(files.newest_first)
    if "blank_lines" in spellings and not files.blank_lines.exists():
        _write_blank_lines(files.csv, files.blank_lines)
    if "signals" in spellings and not files.signals.exists():
        _write_signals(files.parquet, files.signals)
    _write_folders(files, spellings)
    return files


def _write_hostile(files: Dataset, spellings: set[str]) -> None:
    """The hostile files asked for, by streams of 16 MiB."""
    block = b"\n" * (16 << 20)
    if "long_line" in spellings and not files.long_line.exists():
        _write_atomically(files.long_line, lambda out: out.write(b"close," + b"1," * LONG_LINE_FIELDS))
    if "blank_only" in spellings and not files.blank_only.exists():
        _write_atomically(
            files.blank_only,
            lambda out: out.writelines([HOSTILE_HEADER] + [block] * (BLANK_ONLY_LINES // len(block))),
        )
    if "blank_gzip" in spellings and not files.blank_gzip.exists():

        def compressed(out: BinaryIO) -> None:
            with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as packed:
                packed.write(HOSTILE_HEADER)
                for _ in range(BLANK_GZIP_LINES // len(block)):
                    packed.write(block)

        _write_atomically(files.blank_gzip, compressed)
    if "header_only" in spellings and not files.header_only.exists():
        _write_atomically(files.header_only, lambda out: out.write(HOSTILE_HEADER))
    if "many_groups" in spellings and not files.many_groups.exists():
        _write_atomically(files.many_groups, _write_million_groups)


def _write_million_groups(out: BinaryIO) -> None:
    """MILLION_GROUPS symbols taking turns, a minute apart each turn: every group's times rise."""
    row = pl.int_range(3 * MILLION_GROUPS, eager=True).alias("row").to_frame()
    turn = pl.col("row") // MILLION_GROUPS
    table = row.select(
        timestamp=(pl.lit(datetime(2024, 1, 1)) + pl.duration(minutes=turn)).dt.strftime("%Y-%m-%d %H:%M:%S"),
        symbol=pl.format("S{}", pl.col("row") % MILLION_GROUPS),
        close=(100 + pl.col("row") * 37 % 23).cast(pl.String),
    )
    table.write_csv(out)


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    temporary = target.with_name(f".{target.name}.tmp")
    with temporary.open("wb") as out:
        write(out)
    temporary.replace(target)


def _write_folders(files: Dataset, spellings: set[str]) -> None:
    """The spellings that are folders of many files, the one file's rows in turn."""
    if "csv_parts" in spellings and not files.csv_parts.exists():
        _write_csv_parts(files.csv, files.csv_parts, rows=files.rows, parts=PARTS, name="part{:03}.csv")
    if "csv_50" in spellings and not files.csv_50.exists():
        _write_csv_parts(files.csv, files.csv_50, rows=files.rows, parts=FIFTY, name="part{:02}.csv")
    if spellings & {"days", "last_day"} and not files.days.exists():
        _write_csv_parts(files.csv, files.days, rows=files.rows, parts=DAYS, name=DAY)
    if "parquet_parts" in spellings and not files.parquet_parts.exists():
        _write_parquet_parts(files.parquet, files.parquet_parts, rows=files.rows)


def _write_csv_parts(clean: Path, folder: Path, *, rows: int, parts: int, name: str) -> None:
    """The clean CSV's rows in `parts` files of equal size, each with the header, in one pass."""
    temporary = folder.with_name(f".{folder.name}.tmp")
    temporary.mkdir()
    per_part = -(-rows // parts)
    with clean.open("rb") as source:
        header = source.readline()
        for number in range(parts):
            with (temporary / name.format(number)).open("wb") as out:
                out.write(header)
                out.writelines(line for _, line in zip(range(per_part), source, strict=False))
    temporary.replace(folder)


def _write_parquet_parts(table: Path, folder: Path, *, rows: int) -> None:
    """The Parquet file's rows in PARTS files of equal size."""
    temporary = folder.with_name(f".{folder.name}.tmp")
    temporary.mkdir()
    per_part = -(-rows // PARTS)
    for number in range(PARTS):
        pl.scan_parquet(table).slice(number * per_part, per_part).sink_parquet(
            temporary / f"part{number:03}.parquet"
        )
    temporary.replace(folder)


def _write_untimed(clean: Path, target: Path) -> None:
    """The same bytes with the header's `timestamp` renamed, so the job finds no time column."""
    temporary = target.with_name(f".{target.name}.tmp")
    with clean.open("rb") as source, temporary.open("wb") as out:
        out.write(source.readline().replace(b"timestamp", b"t", 1))
        while block := source.read(1 << 24):
            out.write(block)
    temporary.replace(target)


def _write_blank_lines(clean: Path, target: Path) -> None:
    """The rows with blank lines between them, BLANK_LINES_PER_ROW per row on average."""
    temporary = target.with_name(f".{target.name}.tmp")
    gap = int(BLANK_LINES_PER_ROW)
    with clean.open("rb") as source, temporary.open("wb") as out:
        out.write(source.readline())
        for number, line in enumerate(source):
            out.write(line)
            out.write(b"\n" * (gap + (1 if number % 5 < 2 else 0)))  # 6, 7, ... averages 6.4
    temporary.replace(target)


def _write_symbol_table(candles: Path, table: Path, symbols: int) -> None:
    """The candles as `symbols` series taking turns row by row, in one table with a symbol column."""
    symbol = pl.format("S{}", pl.int_range(pl.len()) % symbols).alias("symbol")
    temporary = table.with_name(f".{table.name}.tmp")
    pl.scan_parquet(candles).with_columns(symbol).sink_parquet(temporary)
    temporary.replace(table)


def _write_symbols(candles: Path, table: Path, tree: Path) -> None:
    """The candles as SYMBOLS interleaved series: one table with a symbol column, and a hive tree."""
    _write_symbol_table(candles, table, SYMBOLS)
    temporary = tree.with_name(f".{tree.name}.tmp")
    for number in range(SYMBOLS):
        folder = temporary / f"symbol=S{number}"
        folder.mkdir(parents=True, exist_ok=True)
        rows = pl.scan_parquet(table).filter(pl.col("symbol") == f"S{number}").drop("symbol")
        rows.sink_parquet(folder / "part.parquet")
    temporary.replace(tree)


def _write_shipped(clean: Path, target: Path) -> None:
    """Rewrite a clean CSV in the as-shipped spelling, streaming, then drop the final CRLF."""
    temporary = target.with_name(f".{target.name}.tmp")
    wrapped = scan_lines(clean).select(pl.concat_str(pl.lit('"'), pl.col("line"), pl.lit('"')))
    wrapped.sink_csv(temporary, include_header=False, quote_style="never", line_terminator="\r\n")
    os.truncate(temporary, temporary.stat().st_size - 2)
    temporary.replace(target)


def _write_signals(candles: Path, target: Path) -> None:
    """The signals file of a run over the candles, window 5, written by the job itself (to plot)."""
    temporary = target.with_name(f".{target.name}.tmp.parquet")
    signal_job.run(candles, config={"seed": 42, "window": 5, "version": "bench"}, signals=temporary)
    temporary.replace(target)
