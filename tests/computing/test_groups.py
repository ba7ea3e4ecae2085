from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from signal_job.computing import groups
from signal_job.computing.groups import Bucket, buckets, rank
from signal_job.computing.pipeline import PolarsEngine
from signal_job.computing.plan import GROUP
from signal_job.computing.route import Limits, Listing
from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.conftest import ENGINES, examples, make_config, run_with, under_polars_settings

START = datetime(2024, 1, 1)


# Ways to take a `group_by` column's groups apart, chosen by the route's limits (see `route`).
FILTERED = Limits(bucket_rows=5, filtered_csv_groups=64)  # small buckets: staged if not filtered
TINY_BATCHES = Limits(filtered_groups=0, batch_rows=3, batch_per_carried=0)
# No group filtered or counted in batches; buckets of at most 5 rows, 2 written at a time: even
# small files are staged, in several passes.
TINY_BUCKETS = Limits(filtered_groups=0, max_carried=0, bucket_rows=5, max_writers=2)


def test_buckets_pack_whole_groups_in_order_and_a_large_group_alone() -> None:
    assert buckets([3, 3, 3, 10, 1, 1], rows=6) == [Bucket(0, 2), Bucket(2, 1), Bucket(3, 1), Bucket(4, 2)]
    assert buckets([], rows=6) == []


@given(st.lists(st.integers(1, 20), min_size=1, max_size=40), st.integers(1, 30))
def test_buckets_cover_every_group_once_within_their_size(sizes: list[int], rows: int) -> None:
    packed = buckets(sizes, rows=rows)
    assert [bucket.first for bucket in packed] == sorted({bucket.first for bucket in packed})
    assert sum(bucket.groups for bucket in packed) == len(sizes)
    for bucket in packed:
        held = sizes[bucket.first : bucket.first + bucket.groups]
        assert bucket.groups == 1 or sum(held) <= rows


def test_rank_numbers_groups_by_first_appearance_with_no_group_a_group_of_its_own() -> None:
    frame = pl.DataFrame({GROUP: ["b", None, "a", "b", None, "a"]})
    assert frame.select(rank(["b", None, "a"]))["_rank"].to_list() == [0, 1, 2, 0, 1, 2]
    nulls = pl.DataFrame({GROUP: [None, None]}, schema={GROUP: pl.String})
    assert nulls.with_columns(rank([None]))["_rank"].to_list() == [0, 0]


LABELS = st.lists(st.sampled_from(["BTC", "ETH", " BTC", "SOL", "", None]), max_size=30)


@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=LABELS, head=st.integers(1, 12), few=st.integers(0, 6))
def test_groups_found_from_the_first_rows_are_those_a_count_of_every_row_finds(
    labels: list[str | None], head: int, few: int
) -> None:
    rows = pl.LazyFrame({"_group_text": labels}, schema={"_group_text": pl.String})
    # Every row's text counted in a hash table.
    expected = groups.first_appearance(rows, listing=Listing.HASH, limits=Limits(), engine="streaming")
    # The first `head` rows show at most `few` texts: or else, or where a later row shows another
    # text, the hash table is used after all.
    limits = Limits(few_texts=few, head_rows=head)
    for engine in ENGINES:
        found = groups.first_appearance(rows, listing=Listing.COMPARE, limits=limits, engine=engine)
        assert_frame_equal(found, expected)


def test_groups_are_counted_by_comparison_only_where_the_first_rows_show_every_text() -> None:
    limits = Limits()
    shown = pl.LazyFrame({"_group_text": ["a", "b", "a", "b"]})
    assert groups._few_texts(shown, limits=limits, engine="streaming") is not None
    later = pl.LazyFrame({"_group_text": ["a"] * limits.head_rows + ["b"]})
    assert groups._few_texts(later, limits=limits, engine="streaming") is None
    many = pl.LazyFrame({"_group_text": [str(index) for index in range(limits.few_texts + 1)]})
    assert groups._few_texts(many, limits=limits, engine="streaming") is None


@pytest.fixture(params=["filtered", "batched", "staged"])
def apart(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Limits:
    """The limits of each way of taking a `group_by` column's groups apart (see `groups`)."""
    if request.param != "staged":  # filtered, or in batches (a signals file's sorted in memory)
        monkeypatch.setattr(groups, "_split", None)  # staging fails the test
    return {"filtered": FILTERED, "batched": TINY_BATCHES, "staged": TINY_BUCKETS}[str(request.param)]


def write_mixed(path: Path, rows: list[tuple[str, str | None]]) -> Path:
    """A CSV of (symbol, close) rows one minute apart: every group's times rise."""
    stamps = [(START + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(len(rows))]
    symbols = [symbol for symbol, _ in rows]
    closes = [close for _, close in rows]
    pl.DataFrame({"timestamp": stamps, "symbol": symbols, "close": closes}).write_csv(path)
    return path


def expected_groups(rows: list[tuple[str, str | None]], window: int) -> dict[str | None, list[int]]:
    """Each group's exact signals, in file order; an empty symbol is the group of no symbol."""
    closes: dict[str | None, list[Decimal | None]] = {}
    for symbol, close in rows:
        closes.setdefault(symbol or None, []).append(None if close is None else Decimal(close))
    return {name: reference_signals(values, window) for name, values in closes.items()}


closes = st.one_of(st.none(), st.sampled_from(["1", "2", "2.5", "3", "10.25", "0.1"]))
mixed_rows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "D", "E", ""]), closes), min_size=1, max_size=60
)


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=mixed_rows, window=st.integers(1, 6))
def test_groups_taken_apart_either_way_give_each_group_its_exact_signals(
    tmp_path: Path, apart: Limits, engine: PolarsEngine, rows: list[tuple[str, str | None]], window: int
) -> None:
    path = write_mixed(tmp_path / "mixed.csv", rows)
    out = tmp_path / "signals.parquet"
    data = open_input(path, timestamps=True)
    result = run_with(data, make_config(window, "symbol"), apart, signals=out, engine=engine)
    expected = expected_groups(rows, window)
    signals = pl.read_parquet(out)
    # One run of rows per group, groups in order of first appearance, file order within each.
    assert signals["symbol"].to_list() == [name for name, values in expected.items() for _ in values]
    assert [name for name, _ in result.groups] == list(expected)
    for name, exact in expected.items():
        mine = signals.filter(pl.col("symbol").eq_missing(name))
        assert mine["signal"].to_list() == exact
        assert dict(result.groups)[name].signals == sum(exact)
    assert result.total.rows == len(rows)


@pytest.mark.parametrize("engine", ENGINES)
@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=mixed_rows, window=st.integers(1, 6))
def test_groups_counted_either_way_give_each_group_its_exact_counts(
    tmp_path: Path, apart: Limits, engine: PolarsEngine, rows: list[tuple[str, str | None]], window: int
) -> None:
    path = write_mixed(tmp_path / "mixed.csv", rows)
    result = run_with(open_input(path), make_config(window, "symbol"), apart, engine=engine)
    expected = expected_groups(rows, window)
    assert [name for name, _ in result.groups] == list(expected)
    for name, exact in expected.items():
        counts = dict(result.groups)[name]
        assert (counts.rows, counts.signals) == (len(exact), sum(exact))
        assert counts.missing == sum(close is None for symbol, close in rows if (symbol or None) == name)
    assert result.total.rows == len(rows)


@pytest.fixture
def splits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of buckets of each pass that splits rows into buckets (`groups._split`), in turn."""
    found: list[int] = []
    split = groups._split

    def counted(rows: pl.LazyFrame, packed: list[Bucket], *args: object, **kwargs: object) -> object:
        found.append(len(packed))
        return split(rows, packed, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(groups, "_split", counted)
    return found


def test_groups_too_many_to_filter_or_count_in_batches_are_staged(tmp_path: Path, splits: list[int]) -> None:
    limits = Limits(bucket_rows=2, filtered_groups=3, filtered_csv_groups=3, max_carried=0)
    three = write_mixed(tmp_path / "3.csv", [(s, "1") for s in "ABCABC"])
    assert (splits, len(run_with(open_input(three), make_config(2, "symbol"), limits).groups)) == ([], 3)
    four = run_with(
        open_input(write_mixed(tmp_path / "4.csv", [(s, "1") for s in "ABCDABCD"])),
        make_config(2, "symbol"),
        limits,
    )
    assert (splits, len(four.groups)) == ([4], 4)


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The rows of each batch handed on by `groups.in_batches`, carried rows included, in turn."""
    found: list[int] = []
    in_batches = groups.in_batches

    def counted(rows: pl.LazyFrame, frame: pl.DataFrame, each: object, **kwargs: object) -> None:
        def seen(batch: pl.DataFrame) -> None:
            found.append(batch.height)
            each(batch)  # type: ignore[operator]

        in_batches(rows, frame, seen, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(groups, "in_batches", counted)
    return found


def test_many_groups_are_counted_in_batches_unless_too_many_rows_would_be_carried(
    tmp_path: Path, batches: list[int], splits: list[int]
) -> None:
    # Window 3: 2 rows of each group carried, 8 at most: 4 groups, not 5.
    limits = Limits(filtered_groups=0, bucket_rows=2, batch_rows=4, batch_per_carried=0, max_carried=8)
    four = write_mixed(tmp_path / "4.csv", [(s, "1") for s in "ABCDABCD"])
    assert len(run_with(open_input(four), make_config(3, "symbol"), limits).groups) == 4
    # 8 rows in batches of 4; the second led by the first's rows (1 of each group).
    assert (batches, splits) == ([4, 8], [])
    batches.clear()
    five = write_mixed(tmp_path / "5.csv", [(s, "1") for s in "ABCDEABCDE"])
    assert len(run_with(open_input(five), make_config(3, "symbol"), limits).groups) == 5
    assert (batches, splits) == ([], [5])


@pytest.mark.parametrize("engine", ENGINES)
def test_counts_in_batches_do_not_depend_on_the_batch_size(tmp_path: Path, engine: PolarsEngine) -> None:
    rows = [
        (f"S{i * 7 % 5}" if i % 11 else "", None if i % 13 == 0 else str(100 + i * 37 % 11))
        for i in range(300)
    ]
    data = open_input(write_mixed(tmp_path / "m.csv", rows))
    results = []
    for size in (1, 2, 7, 64, 1 << 18):
        limits = Limits(filtered_groups=0, batch_per_carried=0, batch_rows=size)
        results.append(run_with(data, make_config(6, "symbol"), limits, engine=engine))
    assert all(result == results[0] for result in results)
    expected = expected_groups(rows, 6)
    assert [(name, counts.signals) for name, counts in results[0].groups] == [
        (name, sum(exact)) for name, exact in expected.items()
    ]


def test_counts_in_batches_do_not_depend_on_threads_or_morsels(tmp_path: Path) -> None:
    rows = [(f"S{i * 7 % 5}", None if i % 13 == 0 else str(100 + i * 37 % 11)) for i in range(300)]
    path = write_mixed(tmp_path / "m.csv", rows)
    code = (
        "import json, sys; from pathlib import Path; from signal_job.computing.route import Limits; "
        "from signal_job.reading.inputs import open_input; from tests.conftest import make_config, run_with; "
        "limits = Limits(filtered_groups=0, batch_rows=16, batch_per_carried=0); "
        "result = run_with(open_input(Path(sys.argv[1])), make_config(6, 'symbol'), limits); "
        "print(json.dumps([(name, counts.__dict__) for name, counts in result.groups]))"
    )
    results = under_polars_settings(code, str(path))
    assert results[0] == results[1] == results[2]
    expected = expected_groups(rows, 6)
    assert [(name, counts["signals"]) for name, counts in results[0]] == [
        (name, sum(exact)) for name, exact in expected.items()
    ]


def test_a_time_going_back_across_batches_is_named(tmp_path: Path) -> None:
    limits = Limits(filtered_groups=0, batch_rows=2, batch_per_carried=0)
    lines = ["timestamp,symbol,close", "2024-01-01 00:05:00,A,1"]
    lines += [f"2024-01-01 00:0{i}:00,B,{i}" for i in range(6)]
    lines.append("2024-01-01 00:04:00,A,2")  # A's time goes back, 6 rows (3 batches) later
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"line 9"):
        run_with(open_input(path), make_config(2, "symbol"), limits)


@pytest.mark.parametrize("symbols", [3, 13])  # buckets of one group, and of several
def test_groups_filtered_sorted_in_memory_and_staged_write_the_same_signals(
    tmp_path: Path, symbols: int
) -> None:
    frame = pl.DataFrame(
        {
            "timestamp": [(START + timedelta(minutes=i)).isoformat(sep=" ") for i in range(400)],
            "symbol": [f"S{i * 7 % symbols}" for i in range(400)],
            "close": [str(100 + i * 37 % 11) for i in range(400)],
        }
    )
    frame.write_parquet(tmp_path / "s.parquet")
    data = open_input(tmp_path / "s.parquet", timestamps=True)
    config = make_config(4, "symbol")
    filtered = run_with(data, config, Limits(filtered_csv_groups=64), signals=tmp_path / "filtered.parquet")
    in_memory = run_with(data, config, Limits(filtered_groups=0), signals=tmp_path / "in_memory.parquet")
    staged_limits = Limits(filtered_groups=0, bucket_rows=50, max_writers=3)
    staged = run_with(data, config, staged_limits, signals=tmp_path / "staged.parquet")
    assert filtered == in_memory == staged
    expected = pl.read_parquet(tmp_path / "in_memory.parquet")
    assert_frame_equal(pl.read_parquet(tmp_path / "filtered.parquet"), expected)
    assert_frame_equal(pl.read_parquet(tmp_path / "staged.parquet"), expected)


def test_staged_groups_leave_no_temporary_files(
    tmp_path: Path, empty_tmpdir: Path, splits: list[int]
) -> None:
    path = write_mixed(tmp_path / "m.csv", [(symbol, "1") for symbol in "ABCABCDDEEAB"])
    run_with(open_input(path), make_config(2, "symbol"), TINY_BUCKETS)
    # Buckets A, B+C, D+E; 2 written at a time: A and B+C are split apart in a second pass.
    assert splits == [3, 2]
    assert list(empty_tmpdir.iterdir()) == []


def test_groups_written_to_a_signals_file_leave_no_temporary_files(
    tmp_path: Path, empty_tmpdir: Path, apart: Limits
) -> None:
    path = write_mixed(tmp_path / "m.csv", [(symbol, "1") for symbol in "ABCABCDDEEAB"])
    out = tmp_path / "out"
    out.mkdir()
    run_with(open_input(path), make_config(2, "symbol"), apart, signals=out / "signals.parquet")
    assert pl.read_parquet(out / "signals.parquet")["symbol"].to_list() == list("AAABBBCCDDEE")
    assert [each.name for each in out.iterdir()] == ["signals.parquet"]
    assert list(empty_tmpdir.iterdir()) == []


def test_a_group_out_of_time_order_is_named(tmp_path: Path, apart: Limits) -> None:
    path = tmp_path / "late.csv"
    lines = ["timestamp,symbol,close"]
    lines += [f"2024-01-01 00:0{i}:00,{'AB'[i % 2]},{i}" for i in range(8)]
    lines.insert(6, "2024-01-01 00:01:00,A,9")  # A's times go back; B's stay in order
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"line 7"):
        run_with(open_input(path), make_config(2, "symbol"), apart)


def test_equal_times_in_different_groups_are_in_order(tmp_path: Path, apart: Limits) -> None:
    path = tmp_path / "same.csv"
    rows = [f"2024-01-01 00:0{i // 3}:00,{'ABC'[i % 3]},{i}" for i in range(9)]
    path.write_text("timestamp,symbol,close\n" + "\n".join(rows) + "\n")
    result = run_with(open_input(path), make_config(2, "symbol"), apart)
    assert [(name, counts.rows) for name, counts in result.groups] == [("A", 3), ("B", 3), ("C", 3)]


def test_a_grouped_file_with_no_rows_is_the_usual_error(tmp_path: Path, apart: Limits) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("timestamp,symbol,close\n")
    with pytest.raises(InputError, match=r"has a header but no data rows"):
        run_with(open_input(path), make_config(2, "symbol"), apart)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_group_written_with_padding_is_one_group_and_blank_ones_are_no_group(
    tmp_path: Path, apart: Limits, engine: PolarsEngine
) -> None:
    path = tmp_path / "padded.csv"
    symbols = ["BTC", "  ", "BTC ", "ETH", "", "\tBTC", " ETH", "BTC"]
    lines = [f"2024-01-01 00:0{i}:00,{symbol},{i + 1}" for i, symbol in enumerate(symbols)]
    path.write_text("timestamp,symbol,close\n" + "\n".join(lines) + "\n")
    result = run_with(open_input(path), make_config(2, "symbol"), apart, engine=engine)
    # BTC: 1, 3, 6, 8 (each above the one before); no group: 2, 5; ETH: 4, 7.
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("BTC", 4, 3),
        (None, 2, 1),
        ("ETH", 2, 1),
    ]


@pytest.mark.parametrize(("digits", "refused"), [(20, True), (19, False)])
def test_grouped_prices_too_large_for_exact_sums_are_refused(
    tmp_path: Path, apart: Limits, digits: int, refused: bool
) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"{symbol},{'9' * digits}\n" for symbol in "ABAB")
    path.write_text("symbol,close\n" + rows)
    if refused:
        with pytest.raises(InputError, match="too large for an exact sum over 2 rows"):
            run_with(open_input(path), make_config(2, "symbol"), apart)
    else:
        assert run_with(open_input(path), make_config(2, "symbol"), apart).total.rows == 4


def test_overlapping_exports_of_several_symbols_drop_their_repeats_within_each_group(
    tmp_path: Path, apart: Limits
) -> None:
    # Two downloads of two symbols that overlap by one minute, concatenated: in file order the
    # repeated rows are not next to each other, within each symbol they are.
    first = [
        "2024-01-01 00:00:00,A,1",
        "2024-01-01 00:00:00,B,5",
        "2024-01-01 00:01:00,A,2",
        "2024-01-01 00:01:00,B,6",
    ]
    second = [
        "2024-01-01 00:01:00,A,2",
        "2024-01-01 00:01:00,B,6",
        "2024-01-01 00:02:00,A,3",
        "2024-01-01 00:02:00,B,4",
    ]
    path = tmp_path / "both.csv"
    path.write_text("timestamp,symbol,close\n" + "\n".join(first + second) + "\n")
    result = run_with(open_input(path), make_config(2, "symbol", Reading(duplicates="drop")), apart)
    assert (result.total.rows, result.total.repeats) == (6, 2)
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("A", 3, 2),
        ("B", 3, 1),
    ]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("signals", [False, True])
def test_closes_of_zero_or_below_are_counted_per_group_either_way_apart(
    tmp_path: Path, apart: Limits, engine: PolarsEngine, signals: bool
) -> None:
    rows: list[tuple[str, str | None]] = [
        ("A", "1"),
        ("B", "0"),
        ("A", "-2"),
        ("C", "3"),
        ("B", "-0.5"),
        ("", "0"),
        ("A", "2"),
    ]
    rows += [("C", str(i % 4 - 1)) for i in range(12)]  # -1, 0, 1, 2 again and again
    path = write_mixed(tmp_path / "mixed.csv", rows)
    out = tmp_path / "signals.parquet" if signals else None
    data = open_input(path, timestamps=signals)
    result = run_with(data, make_config(3, "symbol"), apart, signals=out, engine=engine)
    assert {name: each.nonpositive for name, each in result.groups} == {"A": 1, "B": 2, None: 1, "C": 6}
    assert result.total.nonpositive == 10
