from __future__ import annotations

import itertools
import pickle
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signal_job.partial import Counts, Crossing, Edges, combine, edge_rows, overlap, stitch
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


def counted_alone(file: list[Decimal | None], window: int) -> Counts:
    missing = sum(value is None for value in file)
    return Counts(len(file), full_windows(file, window), missing, sum(reference_signals(file, window)))


def test_combine_adds_the_files_own_counts_and_the_windows_across_them() -> None:
    closes: list[Decimal | None] = [Decimal(value) for value in ("1", "2", "3", "1", "5", "4")]
    closes.insert(3, None)
    files = [closes[:2], closes[2:5], closes[5:]]
    pieces = [(counted_alone(file, 3), edges_of(file, 3)) for file in files]
    assert combine(pieces, 3) == counted_alone(closes, 3)


def test_counts_add_up_their_closes_of_zero_or_below() -> None:
    one, other = Counts(3, 2, 0, 1, nonpositive=2), Counts(4, 3, 1, 2, nonpositive=1)
    assert (one + other).nonpositive == 3


def test_a_piece_is_plain_data_that_pickles() -> None:
    # The cache keeps pieces and Dask ships them between processes.
    edges = Edges((Decimal("1.5"), None), (Decimal(2),), first=datetime(2024, 1, 1), last="02/01/2024")
    piece = (Counts(3, 1, 1, 1, blank_lines=2, repeats=1), edges)
    assert pickle.loads(pickle.dumps(piece)) == piece  # noqa: S301 - bytes this test made


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


@pytest.mark.parametrize(
    ("signals", "rows", "rate"),
    [(4989, 10000, 0.4989), (1, 3, 0.3333), (2, 3, 0.6667), (1, 32, 0.0312), (3, 32, 0.0938), (0, 5, 0.0)],
)
def test_rate_rounds_the_exact_fraction_half_to_even(signals: int, rows: int, rate: float) -> None:
    assert Counts(rows=rows, full_windows=rows, missing=0, signals=signals).rate == rate


@given(st.integers(1, 10**12).flatmap(lambda rows: st.tuples(st.integers(0, rows), st.just(rows))))
def test_rate_equals_rounding_the_fraction(case: tuple[int, int]) -> None:
    signals, rows = case
    expected = float(round(Fraction(signals, rows), 4))
    assert Counts(rows=rows, full_windows=rows, missing=0, signals=signals).rate == expected
