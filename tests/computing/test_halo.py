from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from signal_job.computing.halo import Crossing, Edges, edge_rows, overlap, stitch
from signal_job.reference import reference_signals


def full_windows(closes: list[Decimal | None], window: int) -> int:
    return sum(
        1
        for end in range(window - 1, len(closes))
        if all(value is not None for value in closes[end - window + 1 : end + 1])
    )


def edges_of(closes: Sequence[Decimal | None], window: int) -> Edges:
    reach = edge_rows(window)
    return Edges(head=tuple(closes[:reach]), tail=tuple(closes[len(closes) - reach :]) if reach else ())


def split(closes: list[Decimal | None], cuts: list[int]) -> list[list[Decimal | None]]:
    points = sorted({cut % (len(closes) + 1) for cut in cuts})
    bounds = [0, *points, len(closes)]
    return [closes[start:end] for start, end in itertools.pairwise(bounds) if end > start]


prices = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "0.1", "10.125", "3.0"]).map(Decimal))


@given(
    st.lists(prices, min_size=1, max_size=80),
    st.lists(st.integers(0, 1000), max_size=12),
    st.integers(1, 9),
)
def test_files_counted_alone_and_stitched_equal_the_whole_series(
    closes: list[Decimal | None], cuts: list[int], window: int
) -> None:
    files = split(closes, cuts)
    own_signals = sum(sum(reference_signals(file, window)) for file in files)
    own_full = sum(full_windows(file, window) for file in files)
    crossing = stitch([edges_of(file, window) for file in files], window)
    assert own_signals + crossing.signals == sum(reference_signals(closes, window))
    assert own_full + crossing.full_windows == full_windows(closes, window)


def test_a_window_crosses_several_files_shorter_than_it() -> None:
    one, two, three = [Decimal(1)], [Decimal(1)], [Decimal(1), Decimal(5)]
    # Window 4 ends on 5 with 1, 1, 1 from three files: one full window, a signal.
    assert stitch([edges_of(f, 4) for f in (one, two, three)], 4) == Crossing(full_windows=1, signals=1)


def test_a_flat_window_across_files_is_not_above_its_mean() -> None:
    flat = [Decimal("44077.36")] * 3
    assert stitch([edges_of(flat, 3), edges_of(flat, 3)], 3) == Crossing(full_windows=2, signals=0)


def test_a_window_of_one_row_never_crosses() -> None:
    assert stitch([edges_of([Decimal(1)], 1), edges_of([Decimal(2)], 1)], 1) == Crossing(0, 0)


def test_overlap_names_the_first_file_not_after_the_one_before() -> None:
    times = [datetime(2024, 1, day) for day in (1, 2, 3, 4, 4, 5)]
    files = [
        Edges((), (), first=times[0], last=times[1]),
        Edges((), (), first=times[2], last=times[3]),
        Edges((), (), first=times[4], last=times[5]),
    ]
    assert overlap(files) == 2
    assert overlap(files[:2]) is None
    assert overlap([Edges((), ()), Edges((), ())]) is None  # no times: nothing to compare
