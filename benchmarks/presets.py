"""The benchmark's scenarios: the implementations it can run, the presets that run them, the goals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from benchmarks.datasets import BLANK_GZIP_LINES, BLANK_ONLY_LINES, HOSTILE_HEADER, LONG_LINE_FIELDS
from benchmarks.measure import Implementation, Program

K, M = 1_000, 1_000_000
JOB = Program.SIGNAL_JOB

# What users would otherwise run, and the floors: the same job in pandas and DuckDB, Polars
# reading what the job reads and checking nothing, and the start-up of the imports alone.
SIGNAL_JOB = Implementation("signal-job", JOB, "csv")
PARQUET = Implementation("signal-job parquet", JOB, "parquet")
PARQUET_FLOAT = Implementation("signal-job parquet float", JOB, "parquet_float")
SHIPPED = Implementation("signal-job as shipped", JOB, "shipped")
PANDAS = Implementation("pandas", Program.PANDAS, "csv")
DUCKDB = Implementation("duckdb", Program.DUCKDB, "csv")
FLOOR = Implementation("polars floor", Program.FLOOR, "csv")
FLOOR_FIELDS = Implementation("polars floor time+last", Program.FLOOR_FIELDS, "csv")
IMPORTS = Implementation("bare imports", Program.IMPORTS, "csv")
# The same, also writing each row's timestamp, close, rolling mean and signal to Parquet.
SIGNALS = Implementation("signal-job --signals", JOB, "csv", signals=True)
PANDAS_SIGNALS = Implementation("pandas --signals", Program.PANDAS, "csv", signals=True)
FLOOR_SIGNALS = Implementation("polars floor --signals", Program.FLOOR, "csv", signals=True)
# group_by symbol: a symbol column inside the file, or hive folders; and the 4-symbol table run
# as one series, the time to compare with.
GROUPED = Implementation("signal-job group_by column", JOB, "symbols", grouped=True)
GROUPED_FOLDERS = Implementation("signal-job group_by folders", JOB, "symbol_tree", grouped=True)
GROUPED_1000 = Implementation("signal-job group_by 1000 symbols", JOB, "symbols_1000", grouped=True)
UNGROUPED = Implementation("signal-job symbols ungrouped", JOB, "symbols")
# Time order: the same bytes without a time column (nothing to check), newest first (staged and
# read back oldest first), and with blank lines between the rows (memory must not grow).
UNTIMED = Implementation("signal-job no time column", JOB, "untimed")
NEWEST_FIRST = Implementation("signal-job newest first", JOB, "newest_first")
BLANK_LINES = Implementation("signal-job blank lines", JOB, "blank_lines")
# Many small files (daily files, say): the same rows in 100 or 50 files, against one file.
CSV_PARTS = Implementation("signal-job 100 files", JOB, "csv_parts")
PARQUET_PARTS = Implementation("signal-job parquet 100 files", JOB, "parquet_parts")
CSV_50 = Implementation("signal-job 50 files", JOB, "csv_50")
# --engine dask: a local cluster started by each run, or the benchmark's own running one.
DASK = Implementation("signal-job dask", JOB, "csv", engine="dask")
DASK_ATTACHED = Implementation("signal-job dask attached", JOB, "csv", engine="dask", attached=True)
DASK_PARTS = Implementation("signal-job dask 100 files", JOB, "csv_parts", engine="dask")
DASK_ATTACHED_PARTS = Implementation(
    "signal-job dask attached 100 files", JOB, "csv_parts", engine="dask", attached=True
)
DASK_ONE_WORKER_PARTS = Implementation(
    "signal-job dask 1 worker 100 files", JOB, "csv_parts", engine="dask", workers=1
)
DASK_50 = Implementation("signal-job dask 50 files", JOB, "csv_50", engine="dask")
# --hash: every input byte hashed beside the query.
HASH = Implementation("signal-job --hash", JOB, "csv", hash=True)
# Incremental re-runs: a month of daily files, the last one new. A full run without a cache; a
# re-run whose cache holds the first 30 files' counts (it counts one file); a run that fills an
# empty cache; and the new file alone, the least a re-run must do.
DAYS = Implementation("signal-job 31 files", JOB, "days")
DAYS_RERUN = Implementation("signal-job 31 files --cache re-run", JOB, "days", cache="kept")
DAYS_EMPTY = Implementation("signal-job 31 files --cache empty", JOB, "days", cache="empty")
LAST_DAY = Implementation("signal-job 31st file alone", JOB, "last_day")
# Issue 30's hostile inputs (`datasets.HOSTILE`), each refused: the 10 MB line for its 5M fields, the
# others as "has a header but no data rows".
LONG_LINE = Implementation("signal-job 10 MB line", JOB, "long_line", refused=True)
BLANK_GZIP = Implementation("signal-job gzip of 2^30 blank lines", JOB, "blank_gzip", refused=True)
BLANK_ONLY = Implementation("signal-job 64M blank lines", JOB, "blank_only", refused=True)
HEADER_ONLY = Implementation("signal-job header alone", JOB, "header_only", refused=True)
# Issue 26: choosing the window, 20 and 100 windows in one read, against one run of one window.
SWEEP_20 = Implementation("signal-job sweep 20 windows", JOB, "csv", windows="5:100:5")
SWEEP_100 = Implementation("signal-job sweep 100 windows", JOB, "csv", windows="2:200:2")
# The same sweeps as users would write them in each float tool (benchmarks/float_sweep.py), no
# checks: plain Polars, a Float64 rolling mean column per window; a pandas loop of `rolling`; one
# DuckDB query with an `avg(close) OVER` per window; vectorbt's `MA.run`, every window in memory.
POLARS_SWEEP_20 = Implementation("polars floats 20 windows", Program.POLARS_SWEEP, "csv", windows="5:100:5")
POLARS_SWEEP_100 = Implementation("polars floats 100 windows", Program.POLARS_SWEEP, "csv", windows="2:200:2")
# Issue 28: a picture of a run's signals file, reduced to a bucket per pixel column.
PLOT = Implementation("signal-job plot", Program.PLOT, "signals")
PANDAS_SWEEP_20 = Implementation(
    "pandas rolling loop 20 windows", Program.PANDAS_SWEEP, "csv", windows="5:100:5"
)
PANDAS_SWEEP_100 = Implementation(
    "pandas rolling loop 100 windows", Program.PANDAS_SWEEP, "csv", windows="2:200:2"
)
DUCKDB_SWEEP_20 = Implementation(
    "duckdb window avg 20 windows", Program.DUCKDB_SWEEP, "csv", windows="5:100:5"
)
DUCKDB_SWEEP_100 = Implementation(
    "duckdb window avg 100 windows", Program.DUCKDB_SWEEP, "csv", windows="2:200:2"
)
VECTORBT_SWEEP_20 = Implementation(
    "vectorbt MA.run 20 windows", Program.VECTORBT_SWEEP, "csv", windows="5:100:5"
)
VECTORBT_SWEEP_100 = Implementation(
    "vectorbt MA.run 100 windows", Program.VECTORBT_SWEEP, "csv", windows="2:200:2"
)
# Issue 30, item 8: a million groups in a column (the log keeps 1,000 group lines of them).
MILLION = Implementation("signal-job a million groups", JOB, "many_groups", grouped=True)


@dataclass(frozen=True)
class Run:
    """The implementations a preset measures at one size, side by side, round by round."""

    rows: int
    implementations: tuple[Implementation, ...]
    repeats: int | None = None  # timed rounds after the warm-up; None: by size (`repeats`)


@dataclass(frozen=True)
class Preset:
    """A named scenario: what it is for, and which implementations run at which sizes."""

    name: str
    purpose: str
    runs: tuple[Run, ...]
    correctness: bool = False  # also count each algorithm's wrong signals on a plateau file

    def __post_init__(self) -> None:
        """Names identify rows in the tables: one name, one implementation."""
        for run in self.runs:
            names = [i.name for i in run.implementations]
            assert len(set(names)) == len(names), f"{self.name}: a name repeats in {names}"

    @property
    def implementations(self) -> tuple[Implementation, ...]:
        """Every implementation of every run, each once, in order."""
        return tuple(dict.fromkeys(i for run in self.runs for i in run.implementations))

    def at(self, rows: int) -> Run:
        """The run at `rows`; at a size the preset does not name, all its implementations."""
        return next((run for run in self.runs if run.rows == rows), Run(rows, self.implementations))


def repeats(rows: int) -> int:
    """Timed rounds by size, where a preset does not fix them."""
    return 15 if rows <= 100 * K else 7 if rows <= M else 5 if rows <= 10 * M else 3


def _at(
    sizes: tuple[int, ...], *implementations: Implementation, repeats: int | None = None
) -> tuple[Run, ...]:
    return tuple(Run(rows, implementations, repeats) for rows in sizes)


SWEEP_ROWS = (SIGNAL_JOB, SWEEP_20, SWEEP_100)
FLOAT_SWEEPS_20 = (POLARS_SWEEP_20, PANDAS_SWEEP_20, DUCKDB_SWEEP_20, VECTORBT_SWEEP_20)
FLOAT_SWEEPS_100 = (POLARS_SWEEP_100, PANDAS_SWEEP_100, DUCKDB_SWEEP_100, VECTORBT_SWEEP_100)
ISSUE16_BOTH = (SIGNAL_JOB, FLOOR, FLOOR_FIELDS, SIGNALS, FLOOR_SIGNALS, GROUPED, GROUPED_1000, UNGROUPED)
ISSUE16_10M = (CSV_PARTS, PARQUET, PARQUET_PARTS, BLANK_LINES)
DASK_ROWS = (SIGNAL_JOB, CSV_PARTS, CSV_50, DASK, DASK_ATTACHED, DASK_PARTS, DASK_ATTACHED_PARTS, DASK_50)
PRESETS = {
    preset.name: preset
    for preset in (
        Preset(
            "alternatives",
            "the job against pandas, DuckDB and the Polars floors, in each spelling of the file",
            _at(
                (10 * K, M, 10 * M),
                SIGNAL_JOB,
                PARQUET,
                PARQUET_FLOAT,
                SHIPPED,
                PANDAS,
                DUCKDB,
                FLOOR,
                IMPORTS,
                SIGNALS,
                PANDAS_SIGNALS,
                FLOOR_SIGNALS,
            ),
            correctness=True,
        ),
        Preset(
            "issue16",
            "issue 16's rows against their comparisons: floors, ungrouped, one file, no blank lines",
            (Run(10 * M, ISSUE16_BOTH + ISSUE16_10M, 5), Run(50 * M, ISSUE16_BOTH, 5)),
        ),
        Preset(
            "fast",
            "the plain run and the signals file's fast path, Parquet, 100 files, time order, blank lines",
            _at(
                (10 * M,),
                SIGNAL_JOB,
                PARQUET,
                FLOOR,
                SIGNALS,
                FLOOR_SIGNALS,
                UNTIMED,
                BLANK_LINES,
                CSV_PARTS,
                PARQUET_PARTS,
            ),
        ),
        Preset(
            "groups",
            "group_by: 4 symbols in a column or hive folders, 1,000 symbols, against the file ungrouped",
            _at((10 * M, 50 * M), PARQUET, GROUPED, GROUPED_FOLDERS, GROUPED_1000, UNGROUPED),
        ),
        Preset(
            "trust",
            "what checking rows costs: time order, newest first, blank lines, the as-shipped spelling",
            _at(
                (10 * M, 50 * M),
                SIGNAL_JOB,
                SHIPPED,
                FLOOR,
                SIGNALS,
                FLOOR_SIGNALS,
                UNTIMED,
                NEWEST_FIRST,
                BLANK_LINES,
            ),
        ),
        Preset(
            "dask",
            "--engine dask (a local cluster, or attached) against the local engine; 1 worker or 2",
            (
                Run(10 * K, DASK_ROWS, 5),
                Run(10 * M, DASK_ROWS),
                Run(50 * M, (*DASK_ROWS, DASK_ONE_WORKER_PARTS)),
            ),
        ),
        Preset(
            "cache",
            "--cache: a re-run over 31 daily files, one new, against a full run and the new file alone",
            _at((10 * M, M), DAYS, DAYS_RERUN, DAYS_EMPTY, LAST_DAY, IMPORTS, repeats=15),
        ),
        Preset("hash", "--hash against the same run without it", _at((10 * M, 50 * M), SIGNAL_JOB, HASH)),
        Preset(
            "sweep",
            "signal-job sweep: 20 and 100 windows in one read against one run of one window, and the "
            "same sweeps in plain Polars, pandas, DuckDB and vectorbt",
            (
                Run(M, (*SWEEP_ROWS, *FLOAT_SWEEPS_20, *FLOAT_SWEEPS_100), 5),
                # vectorbt holds a float column per window and per copy of close: 100 windows over
                # 10M rows would take ~20 GiB (2 GiB at 1M, measured), 20 windows ~8 GiB.
                Run(
                    10 * M,
                    (*SWEEP_ROWS, *FLOAT_SWEEPS_20, POLARS_SWEEP_100, PANDAS_SWEEP_100, DUCKDB_SWEEP_100),
                ),
                # At 50M vectorbt's columns would pass the machine's 23 GiB and DuckDB's 100 windows
                # near it, ~16 min a run (350 MiB and 20 s at 1M); pandas stops at --pandas-max-rows.
                Run(
                    50 * M,
                    (*SWEEP_ROWS, POLARS_SWEEP_20, PANDAS_SWEEP_20, POLARS_SWEEP_100, PANDAS_SWEEP_100),
                ),
            ),
            correctness=True,
        ),
        Preset(
            "plot",
            "signal-job plot of a run's signals file (a 1200 x 600 PNG): time and peak memory",
            _at((10 * M, 50 * M), PLOT),
        ),
        Preset(
            "hostile",
            "issue 30's inputs: without data rows (a 10 MB line, 2^30 blank lines gzipped, 64M blank "
            "lines), and a million groups in a column",
            # Rows: 0, what the files hold (each the same at any size).
            _at((0,), LONG_LINE, BLANK_GZIP, BLANK_ONLY, HEADER_ONLY, MILLION, repeats=3),
        ),
    )
}
DEFAULT = "alternatives"


@dataclass(frozen=True)
class Target:
    """A goal: `subject` measured against `base` (or alone), at each of `sizes`.

    time: the median of the rounds' time ratios, subject / base; memory: the same of peak memory;
    peak: the subject's largest peak, MiB; over: the median of the rounds' differences in
    seconds, subject - base; growth: the subject's largest peak over its largest peak at 10M rows.
    """

    subject: Implementation
    measure: Literal["time", "memory", "peak", "over", "growth"]
    limit: float | None  # None: measured and shown, with no goal
    base: Implementation | None = None
    sizes: tuple[int, ...] = (10 * M,)
    issue: int | None = None  # the issue that set the goal, where it is tracked there


BOTH = (10 * M, 50 * M)
# Issue 30: the answer at 100 MB/s of decompressed input or faster, over the same answer for
# the header alone (start-up, the config, the documents): these many seconds at most.
RATE = 100e6
OVER_LONG_LINE = round((len(b"close,") + 2 * LONG_LINE_FIELDS) / RATE, 3)  # 0.1 s
OVER_BLANK_GZIP = round((len(HOSTILE_HEADER) + BLANK_GZIP_LINES) / RATE, 3)  # 10.737 s
OVER_BLANK_ONLY = round((len(HOSTILE_HEADER) + BLANK_ONLY_LINES) / RATE, 3)  # 0.671 s
TARGETS = (
    # Issue 16: exact at the speed of float (the rows of its table).
    Target(SIGNAL_JOB, "time", 1.1, FLOOR, issue=16),
    Target(SIGNAL_JOB, "time", 1.2, FLOOR, (50 * M,), issue=16),
    Target(SIGNAL_JOB, "time", None, FLOOR_FIELDS, BOTH, issue=16),
    Target(SIGNALS, "time", 1.0, FLOOR_SIGNALS, BOTH, issue=16),
    Target(GROUPED, "peak", 400, sizes=BOTH, issue=16),
    Target(GROUPED_1000, "peak", 400, sizes=BOTH, issue=16),
    Target(GROUPED, "time", 1.5, UNGROUPED, BOTH, issue=16),
    Target(GROUPED_1000, "time", 1.5, UNGROUPED, BOTH, issue=16),
    Target(CSV_PARTS, "time", 1.5, SIGNAL_JOB, issue=16),
    Target(PARQUET_PARTS, "time", 1.5, PARQUET, issue=16),
    Target(BLANK_LINES, "memory", 1.15, SIGNAL_JOB, issue=16),  # flat: as without blank lines
    # Against the alternatives, at 10M rows and at the everyday 10,000.
    Target(SIGNAL_JOB, "time", 0.45, PANDAS),
    Target(SIGNAL_JOB, "memory", 0.2, PANDAS),
    Target(SIGNAL_JOB, "time", 0.6, PANDAS, (10 * K,)),
    Target(SIGNAL_JOB, "time", 1.2, IMPORTS, (10 * K,)),
    Target(SHIPPED, "time", 1.1, SIGNAL_JOB),
    Target(PARQUET, "time", 0.4, SIGNAL_JOB),
    Target(SIGNAL_JOB, "time", 1.05, UNTIMED),
    # Memory stays flat from 10M to 50M rows, under 400 MiB, with or without a signals file.
    Target(SIGNAL_JOB, "growth", 1.15, sizes=(50 * M,)),
    Target(SIGNAL_JOB, "peak", 400, sizes=(50 * M,)),
    Target(SIGNALS, "growth", 1.15, sizes=(50 * M,)),
    Target(SIGNALS, "peak", 400, sizes=(50 * M,)),
    # Dask: seconds over the local engine on the same files.
    Target(DASK, "over", 2.5, SIGNAL_JOB, (10 * K, *BOTH)),
    Target(DASK_ATTACHED, "over", 1.0, SIGNAL_JOB, (10 * K, *BOTH)),
    Target(DASK_PARTS, "over", 2.5, CSV_PARTS, (10 * K, *BOTH)),
    Target(DASK_ATTACHED_PARTS, "over", 2.0, CSV_PARTS, (10 * K, *BOTH)),
    Target(DASK_50, "over", 2.0, CSV_50, (10 * K, *BOTH)),
    # Incremental re-runs.
    Target(DAYS_RERUN, "time", 0.25, DAYS),
    Target(DAYS_RERUN, "over", 0.1, LAST_DAY, (M, 10 * M)),
    Target(DAYS_EMPTY, "time", 1.5, DAYS),
    Target(HASH, "time", 1.1, SIGNAL_JOB, BOTH),
    # Issue 26: a sweep is one read; memory flat from 10M to 50M rows, under 400 MiB for 100 windows.
    Target(SWEEP_20, "time", 1.5, SIGNAL_JOB, BOTH, issue=26),
    Target(SWEEP_100, "time", 3.0, SIGNAL_JOB, BOTH, issue=26),
    Target(SWEEP_100, "peak", 400, sizes=BOTH, issue=26),
    Target(SWEEP_100, "growth", 1.15, sizes=(50 * M,), issue=26),
    # Issue 26: against the same sweep in each float tool, faster and in less memory, at each size
    # both run (the preset says which).
    *(
        Target(sweep, measure, 1.0, other, (M, *BOTH), issue=26)
        for sweep, others in ((SWEEP_20, FLOAT_SWEEPS_20), (SWEEP_100, FLOAT_SWEEPS_100))
        for other in others
        for measure in ("time", "memory")
    ),
    # Issue 28: a picture of any length in flat memory (the 50M-row file's peak as the 10M one's).
    Target(PLOT, "peak", 400, sizes=BOTH, issue=28),
    Target(PLOT, "growth", 1.15, sizes=(50 * M,), issue=28),
    # Issue 30: inputs that took minutes or gigabytes to say they have no data rows.
    Target(LONG_LINE, "over", OVER_LONG_LINE, HEADER_ONLY, (0,), issue=30),
    Target(BLANK_GZIP, "over", OVER_BLANK_GZIP, HEADER_ONLY, (0,), issue=30),
    Target(BLANK_ONLY, "over", OVER_BLANK_ONLY, HEADER_ONLY, (0,), issue=30),
    Target(LONG_LINE, "peak", 400, sizes=(0,), issue=30),
    Target(BLANK_GZIP, "peak", 400, sizes=(0,), issue=30),
    Target(BLANK_ONLY, "peak", 400, sizes=(0,), issue=30),
)
