from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signal_job.computing.gaps import Gap
from signal_job.computing.profile import profile
from signal_job.computing.route import Limits
from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.inputs import open_input
from tests.computing.test_gaps import reference
from tests.conftest import REAL_ROWS, WriteFile, examples, make_config

START = datetime(2024, 1, 1)
MINUTE = timedelta(minutes=1)


def stamp(time: datetime) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S")


def test_the_bundled_data_has_a_minute_spacing_and_no_gap(shared_data: Path) -> None:
    found = profile(open_input(shared_data / "btcusd_1m_10k_as_shipped.csv"), make_config())
    total = found.total
    assert (total.rows, total.missing, total.nonpositive) == (REAL_ROWS, 0, 0)
    assert (total.first, total.last) == (START, START + (REAL_ROWS - 1) * MINUTE)
    assert (total.lowest, total.highest) == (Decimal("41939.28"), Decimal("50949.16"))
    assert total.gaps is not None
    assert (total.gaps.spacing, total.gaps.missing, total.gaps.largest) == (MINUTE, 0, None)
    assert (found.blank_lines, found.repeated_rows, found.groups) == (0, 0, [])


def test_a_file_with_holes_counts_the_minutes_missing(write_file: WriteFile) -> None:
    path = write_file(
        "holes.csv",
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n"
        "2024-01-01 03:01:00,3\n2024-01-01 03:02:00,4\n2024-01-01 03:05:00,5\n",
    )
    gaps = profile(open_input(path), make_config()).total.gaps
    assert gaps is not None
    assert (gaps.spacing, gaps.gaps, gaps.missing) == (MINUTE, 2, 179 + 2)
    assert gaps.largest == Gap(START + MINUTE, START + 181 * MINUTE)


def test_closes_are_exact_as_written_with_blanks_and_empty_and_negative_ones(write_file: WriteFile) -> None:
    path = write_file(
        "odd.csv",
        "timestamp,close\n2024-01-01 00:00:00,0.123456789012345678\n\n"
        "2024-01-01 00:01:00,\n2024-01-01 00:02:00,-2.5\n2024-01-01 00:03:00,0\n   \n",
    )
    found = profile(open_input(path), make_config())
    total = found.total
    assert (total.rows, total.missing, total.nonpositive, found.blank_lines) == (4, 1, 2, 2)
    assert (total.lowest, total.highest) == (Decimal("-2.5"), Decimal("0.123456789012345678"))


def test_a_newest_first_file_is_read_oldest_first(write_file: WriteFile) -> None:
    path = write_file(
        "newest.csv",
        "timestamp,close\n2024-01-01 00:09:00,1\n2024-01-01 00:05:00,2\n"
        "2024-01-01 00:04:00,3\n2024-01-01 00:03:00,4\n",
    )
    total = profile(open_input(path), make_config()).total
    assert total.gaps is not None
    assert (total.first, total.gaps.missing, total.gaps.largest) == (
        START + 3 * MINUTE,
        3,
        Gap(START + 5 * MINUTE, START + 9 * MINUTE),
    )


def test_repeated_times_are_counted_not_refused(write_file: WriteFile) -> None:
    path = write_file(
        "repeats.csv",
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n2024-01-01 00:01:00,3\n",
    )
    gaps = profile(open_input(path), make_config()).total.gaps
    assert gaps is not None
    assert gaps.repeated == 1


def test_identical_rows_left_out_with_duplicates_drop_are_counted(write_file: WriteFile) -> None:
    path = write_file(
        "dupes.csv",
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,2\n2024-01-01 00:01:00,2\n",
    )
    found = profile(open_input(path), make_config(reading=Reading(duplicates="drop")))
    assert (found.total.rows, found.repeated_rows) == (2, 1)
    assert found.total.gaps is not None
    assert found.total.gaps.repeated == 0


def test_rows_out_of_time_order_fail_as_a_run_does(write_file: WriteFile) -> None:
    path = write_file(
        "back.csv",
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:02:00,2\n2024-01-01 00:01:00,3\n",
    )
    with pytest.raises(InputError, match=r"back\.csv line 4: timestamp '2024-01-01 00:01:00' is earlier"):
        profile(open_input(path), make_config())
    found = profile(open_input(path), make_config(reading=Reading(sort=True)))
    assert found.total.gaps is not None
    assert found.total.gaps.missing == 0


def test_a_close_that_is_no_number_is_named_as_a_run_names_it(write_file: WriteFile) -> None:
    path = write_file("bad.csv", "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,abc\n")
    with pytest.raises(InputError, match=r"bad\.csv line 3"):
        profile(open_input(path), make_config())


def test_an_unreadable_time_is_named_as_a_run_names_it(write_file: WriteFile) -> None:
    path = write_file("times.csv", "timestamp,close\n2024-01-01 00:00:00,1\n2024-13-45 00:01:00,2\n")
    with pytest.raises(InputError, match=r"times\.csv line 3: timestamp '2024-13-45 00:01:00' does not read"):
        profile(open_input(path), make_config())


def test_a_file_failing_only_without_its_blank_lines_is_named_among_several(tmp_path: Path) -> None:
    # Each file reads alone; the quoted line break fails only the read beside the raw lines.
    (tmp_path / "a.csv").write_text("timestamp,close,note\n2024-01-01 00:00:00,1,x\n")
    (tmp_path / "b.csv").write_text(
        'timestamp,close,note\n2024-01-01 00:01:00,1,x\n\n2024-01-01 00:02:00,2,"two\nlines"\n'
    )
    with pytest.raises(InputError, match=r"input file \S*b\.csv has quoted fields that span lines"):
        profile(open_input(tmp_path), make_config())


def test_a_file_without_a_time_column_has_no_gaps(write_file: WriteFile) -> None:
    found = profile(open_input(write_file("closes.csv", "close\n1\n2\n")), make_config())
    assert (found.total.rows, found.total.first, found.total.gaps) == (2, None, None)


def test_a_file_with_a_header_and_no_rows_fails_as_a_run_does(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="has a header but no data rows"):
        profile(open_input(write_file("empty.csv", "timestamp,close\n")), make_config())


def test_hive_folders_of_group_by_are_groups(tmp_path: Path) -> None:
    for symbol, times in (("A", (0, 1, 2)), ("B", (0, 5))):
        folder = tmp_path / f"symbol={symbol}"
        folder.mkdir()
        lines = "".join(f"{stamp(START + offset * MINUTE)},1\n" for offset in times)
        (folder / "part.csv").write_text("timestamp,close\n" + lines)
    found = profile(open_input(tmp_path), make_config(group_by="symbol"))
    assert [(name, series.rows) for name, series in found.groups] == [("A", 3), ("B", 2)]
    assert [series.gaps.missing for _, series in found.groups if series.gaps] == [0, 0]  # B: one interval
    assert found.total.gaps is not None
    assert (found.total.gaps.spacing, found.total.gaps.missing) == (MINUTE, 4)


# Sorted times on a grid of seconds: mostly one step, with holes and repeats at random.
steps = st.lists(st.one_of(st.just(60), st.just(60), st.integers(0, 600)), min_size=1, max_size=40)


def times_of(first: int, steps: list[int]) -> list[datetime]:
    times = [START + timedelta(seconds=first)]
    for step in steps:
        times.append(times[-1] + timedelta(seconds=step))
    return times


closes = st.one_of(
    st.decimals(min_value=-1000, max_value=10**6, places=4, allow_nan=False).map(str),
    st.just(""),  # an empty close
)


@settings(max_examples=examples(60), deadline=None)
@given(
    first=st.integers(0, 10**8),
    steps=steps,
    cuts=st.lists(st.integers(1, 40), max_size=4),
    prices=st.lists(closes, min_size=41, max_size=41),
    newest_first=st.booleans(),
)
def test_a_series_split_into_files_matches_the_reference_over_the_whole_series(
    first: int, steps: list[int], cuts: list[int], prices: list[str], newest_first: bool
) -> None:
    times = times_of(first, steps)
    prices = prices[: len(times)]
    # Files split where two rows differ in time: files of one series must not overlap.
    bounds = sorted({cut for cut in cuts if cut < len(times) and times[cut] > times[cut - 1]})
    with tempfile.TemporaryDirectory() as folder:
        for index, (start, end) in enumerate(zip([0, *bounds], [*bounds, len(times)], strict=True)):
            rows = [
                f"{stamp(time)},{price}\n"
                for time, price in zip(times[start:end], prices[start:end], strict=True)
            ]
            if newest_first and len(set(times[start:end])) == end - start:  # only where it tells
                rows.reverse()
            (Path(folder) / f"{index:02}.csv").write_text("timestamp,close\n" + "".join(rows))
        found = profile(open_input(Path(folder)), make_config())
    assert found.total.gaps == reference(times)
    assert (found.total.rows, found.total.first, found.total.last) == (len(times), times[0], times[-1])
    written = [Decimal(price) for price in prices if price]
    assert (found.total.lowest, found.total.highest) == (
        min(written, default=None),
        max(written, default=None),
    )
    assert (found.total.missing, found.total.nonpositive) == (
        prices.count(""),
        sum(1 for price in written if price <= 0),
    )


def test_irregular_times_are_said_so_in_the_profile(write_file: WriteFile) -> None:
    path = write_file(
        "ticks.csv",
        "timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:00:07,1\n2024-01-01 00:00:09,1\n"
        "2024-01-01 00:01:00,1\n2024-01-01 00:01:30,1\n",
    )
    gaps = profile(open_input(path), make_config()).total.gaps
    assert gaps is not None
    assert gaps.irregular
    assert (gaps.spacing, gaps.missing) == (None, 0)


# Each way a `group_by` column's groups are listed and taken apart: past two texts listed by hash,
# in one run of whole groups, in runs staged in buckets.
WAYS = {
    "hashed": Limits(few_texts=2),
    "runs": Limits(),
    "staged": Limits(bucket_rows=8),
}


@pytest.mark.parametrize("way", WAYS)
@settings(max_examples=examples(60), deadline=None)
@given(series=st.lists(st.tuples(st.integers(0, 10**6), steps), min_size=1, max_size=3))
def test_gaps_per_group_match_the_reference_of_each_group(
    way: str, series: list[tuple[int, list[int]]]
) -> None:
    every = {f"S{index}": times_of(first, steps) for index, (first, steps) in enumerate(series)}
    rows = [(time, name) for name, times in every.items() for time in times]
    rows.sort(key=lambda row: row[0])  # interleaved by time; each group's rows keep their order
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mixed.csv"
        path.write_text("timestamp,symbol,close\n" + "".join(f"{stamp(t)},{n},1\n" for t, n in rows))
        found = profile(open_input(path), make_config(group_by="symbol"), limits=WAYS[way])
    assert {name: group.gaps for name, group in found.groups} == {
        name: reference(times) for name, times in every.items()
    }
    assert [name for name, _ in found.groups] == sorted(every, key=lambda name: (every[name][0], name))
    assert {name: (group.rows, group.first, group.last) for name, group in found.groups} == {
        name: (len(times), times[0], times[-1]) for name, times in every.items()
    }


@pytest.mark.parametrize("way", WAYS)
def test_groups_without_times_blank_lines_and_repeats_are_counted_each_way(
    write_file: WriteFile, way: str
) -> None:
    untimed = write_file("untimed.csv", "symbol,close\nA,1\nB,2\n\nA,-3\nB,\nA,5\n")
    found = profile(open_input(untimed), make_config(group_by="symbol"), limits=WAYS[way])
    assert [(name, each.rows, each.missing, each.nonpositive, each.gaps) for name, each in found.groups] == [
        ("A", 3, 0, 1, None),
        ("B", 2, 1, 0, None),
    ]
    assert (found.blank_lines, found.total.lowest, found.total.highest) == (1, Decimal(-3), Decimal(5))
    timed = write_file(
        "timed.csv",
        "timestamp,symbol,close\n2024-01-01 00:00:00,A,1\n2024-01-01 00:00:00,B,2\n"
        "2024-01-01 00:00:00,B,2\n2024-01-01 00:01:00,A,1\n2024-01-01 00:01:00,B,2\n"
        "2024-01-01 00:04:00,A,1\n",
    )
    config = make_config(group_by="symbol", reading=Reading(duplicates="drop"))
    found = profile(open_input(timed), config, limits=WAYS[way])
    assert found.repeated_rows == 1
    assert [(name, each.rows, each.gaps.missing if each.gaps else None) for name, each in found.groups] == [
        ("A", 3, 2),
        ("B", 2, 0),
    ]
