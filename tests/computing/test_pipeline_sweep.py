"""A sweep in the pipeline: many windows counted in one scan, each exactly as a run of it counts."""

from __future__ import annotations

import logging
import math
import random
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signal_job.computing.pipeline import PolarsEngine, Result, queries, run
from signal_job.computing.route import Limits, decide, describe, explained
from signal_job.config import Config, Reading
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.conftest import ENGINES, PROJECT, examples, make_config

START = datetime(2024, 1, 1)
# Each way a `group_by` column's groups are counted: filtered, in batches, staged in buckets.
GROUP_LIMITS = {
    "filtered": Limits(filtered_csv_groups=64),
    "batched": Limits(filtered_groups=0, batch_rows=3, batch_per_carried=0),
    "staged": Limits(filtered_groups=0, max_carried=0, bucket_rows=5, max_writers=2),
}
LAYOUTS = ("files", "newest_first", "sort", "duplicates", "column", "hive")

closes = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "10.25", "0.1", "7"]))
rows_of = st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), closes), min_size=1, max_size=40)
windows_of = st.lists(st.integers(1, 12), min_size=1, max_size=6, unique=True)


def stamps(count: int) -> list[str]:
    return [(START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(count)]


def write(folder: Path, layout: str, rows: list[tuple[str, str | None]], files: int) -> Path:
    """The rows as `layout` lays them out in `folder`: the input to read."""
    frame = pl.DataFrame(
        {"timestamp": stamps(len(rows)), "symbol": [s for s, _ in rows], "close": [c for _, c in rows]},
        schema={"timestamp": pl.String, "symbol": pl.String, "close": pl.String},
    )
    folder.mkdir()
    if layout == "hive":
        for symbol in ("A", "B", "C"):
            part = frame.filter(pl.col("symbol") == symbol).drop("symbol")
            if part.height:
                (folder / f"symbol={symbol}").mkdir()
                part.write_csv(folder / f"symbol={symbol}" / "part.csv")
        return folder
    if layout == "newest_first":
        frame = frame.reverse()
    elif layout == "sort":
        frame = frame.sample(fraction=1.0, shuffle=True, seed=len(rows))
    elif layout == "duplicates":  # every third row repeated, as overlapping exports repeat them
        frame = pl.concat([frame, frame.gather_every(3)]).sort("timestamp", maintain_order=True)
    size = -(-frame.height // files)
    for index in range(files):
        piece = frame.slice(index * size, size)
        if piece.height or index == 0:
            piece.write_csv(folder / f"part-{index:02}.csv")
    return folder


def config_of(layout: str, window: int) -> Config:
    if layout == "sort":
        return make_config(window, reading=Reading(sort=True))
    if layout == "duplicates":
        return make_config(window, reading=Reading(duplicates="drop"))
    return make_config(window, "symbol" if layout in ("column", "hive") else None)


def swept(path: Path, config: Config, windows: tuple[int, ...], **options: object) -> Result:
    """The pipeline's result over `path` for all of `windows` at once."""
    limits = options.pop("limits", Limits())
    assert isinstance(limits, Limits)
    data = open_input(path)
    config = replace(config, window=max(windows))
    route = decide(data, config, windows=windows, limits=limits)
    return run(data, config, route=route, **options)  # type: ignore[arg-type]


def exact(rows: list[tuple[str, str | None]], window: int, *, grouped: bool) -> dict[str | None, int]:
    """The decimal reference's signals: of each group (by symbol), or of the whole series as None."""
    closes: dict[str | None, list[Decimal | None]] = {}
    for symbol, close in rows:
        closes.setdefault(symbol if grouped else None, []).append(None if close is None else Decimal(close))
    return {name: sum(reference_signals(values, window)) for name, values in closes.items()}


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows_of,
    windows=windows_of,
    layout=st.sampled_from(LAYOUTS),
    files=st.integers(1, 4),
    counting=st.sampled_from(sorted(GROUP_LIMITS)),
)
def test_each_window_of_a_sweep_counts_what_a_run_of_that_window_counts(  # noqa: PLR0917 - hypothesis
    tmp_path_factory: pytest.TempPathFactory,
    engine: PolarsEngine,
    rows: list[tuple[str, str | None]],
    windows: list[int],
    layout: str,
    files: int,
    counting: str,
) -> None:
    path = write(tmp_path_factory.mktemp("sweep") / "in", layout, rows, files)
    limits = GROUP_LIMITS[counting]
    result = swept(path, config_of(layout, 1), tuple(windows), limits=limits, engine=engine)
    grouped = layout in ("column", "hive")
    assert list(result.windows) == windows  # in the order asked
    for window in windows:
        config = config_of(layout, window)
        data = open_input(path)
        alone = run(data, config, route=decide(data, config, limits=limits), engine=engine)
        assert result.windows[window] == (alone.total, alone.groups)
        total, groups = result.windows[window]
        reference = exact(rows, window, grouped=grouped)
        if grouped:
            assert {name: each.signals for name, each in groups} == reference
        else:
            assert total.signals == reference[None]
        assert total.rows == len(rows)


def test_a_run_counts_its_window_alone_and_holds_it_as_its_only_window(tmp_path: Path) -> None:
    path = write(tmp_path / "in", "files", [("A", str(i % 7)) for i in range(30)], 2)
    data = open_input(path)
    result = run(data, make_config(4))
    assert result.windows == {4: (result.total, result.groups)}
    assert decide(data, make_config(4)).windows is None


def test_a_sweep_is_one_scan_whose_counts_carry_a_column_pair_per_window(tmp_path: Path) -> None:
    path = write(tmp_path / "in", "files", [("A", str(i % 7)) for i in range(30)], 1)
    data = open_input(path)
    config = make_config(20)
    route = decide(data, config, windows=(5, 20, 10))
    named = queries(data, config, route)
    assert [name for name, _ in named] == ["counts"]
    columns = named[0][1].collect_schema().names()
    assert {"full_windows", "signals", "full_windows_5", "signals_5", "full_windows_10", "signals_10"} <= set(
        columns
    )
    assert "3 windows swept" in describe(route)
    assert "windows:   5, 20, 10 (a sweep of 3 windows" in explained(route)


def test_a_sweep_route_needs_its_largest_window_as_the_config_window(tmp_path: Path) -> None:
    path = write(tmp_path / "in", "files", [("A", "1")], 1)
    with pytest.raises(ValueError, match="largest of its windows, 20, not 5"):
        decide(open_input(path), make_config(5), windows=(5, 20))


def test_a_sweep_over_many_groups_in_batches_carries_the_largest_windows_rows(tmp_path: Path) -> None:
    generator = random.Random(7)  # noqa: S311 - test data
    rows: list[tuple[str, str | None]] = [
        (generator.choice("ABC"), str(generator.randint(1, 9))) for _ in range(200)
    ]
    path = write(tmp_path / "in", "column", rows, 1)
    windows = (3, 30, 11)
    result = swept(path, make_config(1, "symbol"), windows, limits=GROUP_LIMITS["batched"])
    for window in windows:
        assert {name: each.signals for name, each in result.windows[window][1]} == exact(
            rows, window, grouped=True
        )


@pytest.mark.parametrize(
    ("big", "counted_again"),
    [
        # Near 2**61 units: the other windows' Int64 running sums wrap within four rows, yet each
        # window of two has its sum inside Int64: exact in the one scan.
        (2**61, False),
        # Near 2**62: a window of two may pass Int64, so the sweep counts again in Int128.
        (2**62, True),
        # Near 2**125: the Int128 running sum wraps too, yet every window of up to three (the
        # largest, counted by a rolling sum) has a sum inside it, as the run's own check requires.
        (2**125, True),
    ],
)
def test_prices_whose_running_sums_wrap_around_still_give_exact_window_sums(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, big: int, *, counted_again: bool
) -> None:
    values = [big, big - 1, big + 3, big, big - 7, big + 1, big, big + 2]
    path = tmp_path / "big.parquet"
    close = pl.Series("close", [Decimal(value) for value in values], dtype=pl.Decimal(38, 0))
    pl.DataFrame({"timestamp": stamps(len(values)), "close": close}).write_parquet(path)
    windows = (3, 2, 1)
    with caplog.at_level(logging.INFO):
        result = swept(path, make_config(1), windows)
    exact_closes: list[Decimal | None] = [Decimal(value) for value in values]
    for window in windows:
        assert result.windows[window][0].signals == sum(reference_signals(exact_closes, window))
        assert result.windows[window][0].full_windows == len(values) - window + 1
    assert ("counting again in Int128" in caplog.text) is counted_again


@pytest.mark.parametrize(("nine", "counted_again"), [("1.00000001", False), ("1.000000001", True)])
def test_a_csvs_prices_are_summed_in_int64_units_of_8_decimals_and_a_ninth_is_counted_in_int128(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, nine: str, *, counted_again: bool
) -> None:
    # A CSV's closes are read with 18 decimals; the sweep sums its other windows in units of
    # 10**-8 and counts again in Int128 when a close has a ninth decimal (a difference below 10**-8).
    values = ["1", nine, "1", "1.00000002", nine, "1", "0.99999999", nine]
    path = tmp_path / "nine.csv"
    pl.DataFrame({"timestamp": stamps(len(values)), "close": values}).write_csv(path)
    windows = (4, 3, 2)
    with caplog.at_level(logging.INFO):
        result = swept(path, make_config(1), windows)
    exact_closes: list[Decimal | None] = [Decimal(value) for value in values]
    for window in windows:
        assert result.windows[window][0].signals == sum(reference_signals(exact_closes, window))
    assert ("counting again in Int128" in caplog.text) is counted_again


@settings(
    max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=rows_of,
    windows=windows_of,
    layout=st.sampled_from(LAYOUTS),
    files=st.integers(1, 3),
    counting=st.sampled_from(sorted(GROUP_LIMITS)),
)
def test_a_sweeps_signals_file_holds_each_windows_signals_as_a_runs_file_does(  # noqa: PLR0917 - hypothesis
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str | None]],
    windows: list[int],
    layout: str,
    files: int,
    counting: str,
) -> None:
    folder = tmp_path_factory.mktemp("signals")
    path = write(folder / "in", layout, rows, files)
    limits = GROUP_LIMITS[counting]
    data = open_input(path, timestamps=True)
    config = replace(config_of(layout, 1), window=max(windows))
    route = decide(data, config, signals=True, windows=tuple(windows), means=True, limits=limits)
    run(data, config, route=route, signals=folder / "swept.parquet")
    swept = pl.read_parquet(folder / "swept.parquet")
    names = [f"{kind}_{window}" for window in windows for kind in ("rolling_mean", "signal")]
    assert swept.columns[-len(names) :] == names
    for window in windows:
        alone = replace(config, window=window)
        out = folder / f"run{window}.parquet"
        run(data, alone, route=decide(data, alone, signals=True, limits=limits), signals=out)
        expected = pl.read_parquet(out)
        assert swept[f"signal_{window}"].to_list() == expected["signal"].to_list()
        mine, theirs = swept[f"rolling_mean_{window}"].to_list(), expected["rolling_mean"].to_list()
        assert [value is None for value in mine] == [value is None for value in theirs]
        # The general path's mean is within a rounding of the fast path's, which a run may take.
        assert all(
            a is None or b is None or math.isclose(a, b, rel_tol=1e-15)
            for a, b in zip(mine, theirs, strict=True)
        )


def test_a_sweeps_rolling_means_are_the_runs_own_to_the_last_bit_on_the_bundled_data(tmp_path: Path) -> None:
    # The other windows are summed in Int64 units of 10**-8; their means come from those sums in
    # the prices' own units, so each equals the mean a run of that window writes (not one unit
    # in the last place off, as a mean of the 8-decimal sums would be on a seventh of the rows).
    data = open_input(PROJECT / "data.csv")
    windows = (3, 7, 8)
    config = make_config(max(windows))
    route = decide(data, config, signals=True, windows=windows, means=True)
    assert route.narrow
    run(data, config, signals=tmp_path / "sweep.parquet", route=route)
    swept = pl.read_parquet(tmp_path / "sweep.parquet")
    for window in windows:
        one = make_config(window)
        run(data, one, signals=tmp_path / f"{window}.parquet", route=decide(data, one, signals=True))
        alone = pl.read_parquet(tmp_path / f"{window}.parquet")
        assert swept[f"rolling_mean_{window}"].equals(alone["rolling_mean"]), window
        assert swept[f"signal_{window}"].equals(alone["signal"]), window
