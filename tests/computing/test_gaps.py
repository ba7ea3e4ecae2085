from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from itertools import pairwise

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_job.computing.gaps import Gap, Gaps, gaps_of, interval_table, with_intervals
from tests.conftest import examples

START = datetime(2024, 1, 1)
MINUTE = timedelta(minutes=1)


def table_of(times: list[datetime]) -> pl.DataFrame:
    rows = pl.LazyFrame({"t": times}, schema={"t": pl.Datetime("us")})
    return interval_table(with_intervals(rows, pl.col("t"))).collect(engine="streaming")


def minutes(*offsets: float) -> list[datetime]:
    return [START + offset * MINUTE for offset in offsets]


def reference(times: list[datetime]) -> Gaps:
    """The gaps of sorted `times`, row by row in plain Python, as docs/inspect.md defines them."""
    steps = [later - earlier for earlier, later in pairwise(times)]
    positive = [step for step in steps if step > timedelta(0)]
    seen = Counter(positive)
    repeated = len(steps) - len(positive)
    spacing = min(seen, key=lambda step: (-seen[step], step)) if seen else None
    if spacing is not None and seen[spacing] * 2 < len(positive):
        spacing = None
    if spacing is None:
        longest = max(positive, default=None)
        largest = next(
            (Gap(a, b) for a, b in pairwise(times) if longest is not None and b - a == longest), None
        )
        return Gaps(len(steps), repeated, None, 0, 0, 0, 0, largest)
    missing = 0
    for earlier, later in pairwise(times):  # whole spacings that fit in the interval, less one
        fits = 0
        while earlier + (fits + 1) * spacing <= later:
            fits += 1
        missing += max(fits - 1, 0)
    longer = [step for step in positive if step > spacing]
    largest = next((Gap(a, b) for a, b in pairwise(times) if longer and b - a == max(longer)), None)
    return Gaps(
        intervals=len(steps),
        repeated=repeated,
        spacing=spacing,
        regular=seen[spacing],
        gaps=len(longer),
        missing=missing,
        off_grid=sum(1 for step in positive if step % spacing),
        largest=largest,
    )


def test_a_row_every_minute_has_a_spacing_of_a_minute_and_no_gap() -> None:
    gaps = gaps_of(table_of(minutes(*range(10))))
    assert gaps == Gaps(9, 0, MINUTE, 9, 0, 0, 0, None)


def test_a_hole_of_an_hour_misses_59_minutes_and_is_the_largest_gap() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 2, 62, 63, 64, 65)))
    assert (gaps.spacing, gaps.gaps, gaps.missing) == (MINUTE, 1, 59)
    assert gaps.largest == Gap(START + 2 * MINUTE, START + 62 * MINUTE)
    assert gaps.largest.length == timedelta(hours=1)


def test_an_interval_that_is_no_multiple_misses_the_whole_spacings_inside_less_one() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 2, 3, 5.5)))  # 2.5 minutes: 2 whole minutes, 1 missing
    assert (gaps.missing, gaps.off_grid) == (1, 1)


def test_an_interval_shorter_than_the_spacing_is_off_the_grid_and_misses_nothing() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 2, 3, 3.5, 4.5)))
    assert (gaps.spacing, gaps.missing, gaps.off_grid, gaps.largest) == (MINUTE, 0, 1, None)


def test_rows_at_the_time_of_the_row_before_are_repeated_times_not_intervals() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 1, 1, 2)))
    assert (gaps.intervals, gaps.repeated, gaps.regular) == (4, 2, 2)


def test_times_with_no_dominant_interval_are_irregular_and_nothing_is_called_missing() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 3, 6, 10, 15)))  # 1, 2, 3, 4, 5 minutes
    assert gaps.irregular
    assert (gaps.spacing, gaps.missing, gaps.gaps) == (None, 0, 0)
    assert gaps.largest == Gap(START + 10 * MINUTE, START + 15 * MINUTE)  # the longest, said as it is


def test_the_most_common_interval_covering_half_of_them_is_the_spacing() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 2, 4, 7)))  # 1, 1, 2, 3 minutes: a minute is half
    assert gaps.spacing == MINUTE
    assert not gaps.irregular


def test_one_row_or_one_time_has_no_spacing_and_is_not_irregular() -> None:
    for times in (minutes(0), minutes(0, 0, 0)):
        gaps = gaps_of(table_of(times))
        assert gaps.spacing is None
        assert not gaps.irregular


def test_the_largest_gap_is_the_first_of_the_longest() -> None:
    gaps = gaps_of(table_of(minutes(0, 1, 5, 6, 10)))
    assert gaps.largest == Gap(START + MINUTE, START + 5 * MINUTE)


def test_tables_of_parts_add_up_to_the_table_of_the_whole() -> None:
    times = minutes(0, 1, 2, 5, 6, 9, 10, 11)
    parts = pl.concat([table_of(times[:4]), table_of(times[3:])])  # the boundary interval in one
    assert gaps_of(parts) == gaps_of(table_of(times))


def test_intervals_never_reach_into_another_run() -> None:
    rows = pl.LazyFrame(
        {"t": minutes(0, 1, 2, 0, 1, 2, 12), "run": [0, 0, 0, 1, 1, 1, 1]},
        schema={"t": pl.Datetime("us"), "run": pl.Int8},
    )
    table = interval_table(with_intervals(rows, pl.col("t"), run=pl.col("run")), by=["run"]).collect()
    assert gaps_of(table.filter(pl.col("run") == 0)).missing == 0
    assert gaps_of(table.filter(pl.col("run") == 1)).missing == 9
    assert gaps_of(table).intervals == 5  # no interval from one run's last row to the next's first


# Sorted times on a grid of seconds: mostly one step, with holes and repeats at random.
steps = st.lists(
    st.one_of(st.just(60), st.just(60), st.just(60), st.integers(0, 900)), min_size=0, max_size=60
)


@settings(max_examples=examples(300), deadline=None)
@given(first=st.integers(0, 10**9), steps=steps)
def test_gaps_match_a_plain_python_reference(first: int, steps: list[int]) -> None:
    times = [START + timedelta(seconds=first)]
    for step in steps:
        times.append(times[-1] + timedelta(seconds=step))
    assert gaps_of(table_of(times)) == reference(times)
