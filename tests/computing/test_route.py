from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing.plan import shape
from signal_job.computing.route import (
    Counting,
    Engine,
    Groups,
    Limits,
    Listing,
    Route,
    Signals,
    Staging,
    counting,
    decide,
    describe,
    explained,
    fast_fits,
    forced,
)
from signal_job.config import Reading
from signal_job.errors import ConfigError
from signal_job.reading.inputs import open_input
from tests.conftest import DATA, make_config, run_with

CANDLES = DATA / "candles.csv"


def route_of(path: Path, window: int = 5, group_by: str | None = None, **options: object) -> Route:
    config = make_config(window, group_by, options.pop("reading", None))  # type: ignore[arg-type]
    return decide(open_input(path, reading=config.reading), config, **options)  # type: ignore[arg-type]


def test_a_plain_run_is_one_scan_in_this_process() -> None:
    route = route_of(CANDLES)
    assert route.engine.choice is Engine.LOCAL
    assert (route.series.choice, route.staging.choice, route.groups.choice) == (1, Staging.NONE, Groups.NONE)
    assert route.counting is not None
    assert route.counting.choice is Counting.SERIES
    assert route.signals.choice is Signals.NONE
    assert route.listing is None
    assert route.together


def test_the_engine_asked_for_is_the_route_s_with_its_reason() -> None:
    assert "Dask" in route_of(CANDLES, engine=Engine.DASK).engine.why
    cached = route_of(CANDLES, engine=Engine.CACHE, signals=True)
    assert cached.engine.choice is Engine.CACHE
    assert cached.signals.choice is Signals.NONE  # no signals file with a cache on the local engine


def test_a_newest_first_file_is_staged_and_sort_true_sorts(tmp_path: Path) -> None:
    newest_first = tmp_path / "newest_first.csv"
    pl.read_csv(CANDLES, infer_schema=False).reverse().write_csv(newest_first)
    reversed_route = route_of(newest_first)
    assert reversed_route.staging.choice is Staging.REVERSE
    assert "newest first" in reversed_route.staging.why
    assert route_of(CANDLES, reading=Reading(sort=True)).staging.choice is Staging.SORT


def test_a_file_without_times_is_taken_in_file_order(tmp_path: Path) -> None:
    path = tmp_path / "closes.csv"
    path.write_text("close\n1\n2\n3\n")
    step = route_of(path).staging
    assert (step.choice, step.why) == (Staging.NONE, "no time column: the rows are taken in file order")


@pytest.mark.parametrize(
    ("reading", "keys"),
    [
        (Reading(sort=True), "key 'sort' needs"),
        (Reading(duplicates="drop"), "key 'duplicates' needs"),
        (Reading(sort=True, duplicates="drop"), "keys 'sort' and 'duplicates' need"),
    ],
)
def test_keys_that_need_times_are_refused_on_a_file_without_any(
    tmp_path: Path, reading: Reading, keys: str
) -> None:
    path = tmp_path / "closes.csv"
    path.write_text("close\n10\n10\n11\n")
    with pytest.raises(ConfigError, match=rf"^config {keys} times, but input file .*closes\.csv has no time"):
        route_of(path, reading=reading)
    # The engines that count file by file refuse these keys themselves (see `by_file.check_config`).
    for engine in (Engine.CACHE, Engine.DASK):
        assert route_of(path, reading=reading, engine=engine).engine.choice is engine


def test_hive_folders_of_the_group_are_series_and_a_column_waits_for_its_listing(tmp_path: Path) -> None:
    for symbol in ("A", "B", "C"):
        (tmp_path / f"symbol={symbol}").mkdir()
        (tmp_path / f"symbol={symbol}" / "part.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n")
    folders = route_of(tmp_path, group_by="symbol")
    assert (folders.series.choice, folders.groups.choice) == (3, Groups.FOLDERS)
    column_file = tmp_path / "column.csv"
    column_file.write_text("timestamp,symbol,close\n2024-01-01 00:00:00,A,1\n")
    column = route_of(column_file, group_by="symbol")
    assert column.groups.choice is Groups.COLUMN
    assert column.listing is not None
    assert column.listing.choice is Listing.COMPARE
    assert column.counting is None  # decided once the groups are listed
    assert "decided once the groups are listed" in explained(column)


@pytest.mark.parametrize(
    ("groups", "signals", "whole_rows", "expected"),
    [
        (4, False, False, Counting.FILTERS),
        (64, True, False, Counting.FILTERS),
        (65, False, False, Counting.BATCHES),
        (65, True, False, Counting.BUCKETS),  # a signals file's groups are read as one series
        (65, False, True, Counting.BUCKETS),  # a carried row may be a repeat
        (0, False, False, Counting.BATCHES),  # no rows: one empty batch
    ],
)
def test_a_column_s_groups_are_counted_as_their_number_and_the_request_say(
    groups: int, signals: bool, whole_rows: bool, expected: Counting
) -> None:
    column = route_of(DATA / "candles.csv", group_by="close")
    decided = counting(column, groups=groups, window=3, signals=signals, whole_rows=whole_rows)
    assert decided.counting is not None
    assert decided.counting.choice is expected
    assert decided.together is (expected is Counting.FILTERS)


def test_groups_go_to_buckets_where_too_many_rows_would_be_carried() -> None:
    column = route_of(CANDLES, group_by="close", limits=Limits(filtered_groups=0, max_carried=8))
    # Window 3: 2 rows of each group carried; 4 groups carry 8, 5 carry 10.
    four = counting(column, groups=4, window=3, signals=False, whole_rows=False).counting
    five = counting(column, groups=5, window=3, signals=False, whole_rows=False).counting
    assert (four and four.choice, five and five.choice) == (Counting.BATCHES, Counting.BUCKETS)
    assert five is not None
    assert "10 rows carried (over 8)" in five.why


def test_a_counting_chosen_by_the_caller_stays() -> None:
    chosen = forced(route_of(CANDLES, group_by="close"), counting=Counting.BUCKETS)
    decided = counting(chosen, groups=3, window=3, signals=False, whole_rows=False)
    assert decided.counting == chosen.counting
    assert decided.counting is not None
    assert decided.counting.why == "chosen by the caller"


@pytest.mark.parametrize(
    ("window", "group_by", "reading", "unfit"),
    [
        (5, None, Reading(), None),
        (5, None, Reading(duplicates="drop"), "duplicates: drop"),
        (90_071_993, None, Reading(), "a window of 90,071,993 rows is too long for exact Float64 means"),
    ],
)
def test_the_fast_path_fits_or_says_why_not(
    window: int, group_by: str | None, reading: Reading, unfit: str | None
) -> None:
    config = make_config(window, group_by, reading)
    data = open_input(CANDLES, reading=reading, timestamps=True)
    assert fast_fits(config, shape(data, config, timestamps=True)) == unfit
    route = decide(data, config, signals=True)
    assert route.signals.choice is (Signals.FAST if unfit is None else Signals.GENERAL)
    if unfit is not None:
        assert route.signals.why.startswith(unfit)


def test_the_route_is_described_on_one_line_and_explained_a_step_a_line() -> None:
    route = route_of(CANDLES, signals=True)
    assert describe(route) == "engine local; staging none; counted by series; signals fast"
    lines = explained(route).splitlines()
    assert [line.split(":")[0].strip() for line in lines] == [
        "engine",
        "series",
        "staging",
        "groups",
        "counting",
        "signals",
    ]
    assert route.as_dict() == {
        "engine": "local",
        "series": 1,
        "staging": "none",
        "groups": "none",
        "listing": None,
        "counting": "series",
        "signals": "fast",
    }


def test_a_grouped_run_logs_how_its_groups_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "mixed.csv"
    rows = [f"2024-01-01 00:{i:02}:00,{'ABC'[i % 3]},{i}" for i in range(12)]
    path.write_text("timestamp,symbol,close\n" + "\n".join(rows) + "\n")
    config = make_config(2, "symbol")
    columnar = tmp_path / "mixed.parquet"
    pl.read_csv(path).write_parquet(columnar)
    with caplog.at_level(logging.INFO, logger="signal_job"):
        run_with(open_input(columnar), config, Limits())
        run_with(open_input(columnar), config, Limits(filtered_groups=0))
        run_with(open_input(path), config, Limits())  # a CSV scan is never filtered apart
    counted = [
        record.getMessage() for record in caplog.records if record.getMessage().startswith("groups of")
    ]
    assert counted[0].startswith("groups of symbol: filters (3 groups, at most 64: each filtered")
    assert counted[1].startswith("groups of symbol: batches (3 groups, 3 rows carried")
    assert counted[2].startswith("groups of symbol: batches (CSV, never filtered apart: 3 groups, 3 rows")


@pytest.mark.parametrize(("windows", "narrow"), [((5, 20, 9223, 10_000), True), ((5, 9224, 10_000), False)])
def test_a_sweep_sums_in_int64_units_up_to_windows_of_9223_rows_and_says_so(
    windows: tuple[int, ...], *, narrow: bool
) -> None:
    # The bundled CSV's closes are read with 18 decimals; Int64 units of 10**-8 leave room for a
    # price of ten million over 9,223 rows. The largest window is the run's own rolling sum.
    data = open_input(DATA)
    route = decide(data, make_config(max(windows)), windows=windows)
    assert route.narrow is narrow
    assert route.windows is not None
    assert ("Int64 running sums" in route.windows.why) is narrow
