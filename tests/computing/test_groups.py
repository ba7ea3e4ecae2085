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
from signal_job.computing.pipeline import Engine, run
from signal_job.computing.plan import GROUP
from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.inputs import open_input
from signal_job.reference import reference_signals
from tests.conftest import ENGINES, make_config, under_polars_settings

START = datetime(2024, 1, 1)


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


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(labels=LABELS, head=st.integers(1, 12), few=st.integers(0, 6))
def test_groups_found_from_the_first_rows_are_those_a_count_of_every_row_finds(
    monkeypatch: pytest.MonkeyPatch, labels: list[str | None], head: int, few: int
) -> None:
    rows = pl.LazyFrame({"_group_text": labels}, schema={"_group_text": pl.String})
    monkeypatch.setattr(groups, "FEW_TEXTS", 0)  # every row's text counted in a hash table
    expected = groups.first_appearance(rows, engine="streaming")
    # The first `head` rows show at most `few` texts: or else, or where a later row shows another
    # text, the hash table is used after all.
    monkeypatch.setattr(groups, "FEW_TEXTS", few)
    monkeypatch.setattr(groups, "_HEAD_ROWS", head)
    for engine in ENGINES:
        assert_frame_equal(groups.first_appearance(rows, engine=engine), expected)


def test_groups_are_counted_by_comparison_only_where_the_first_rows_show_every_text() -> None:
    shown = pl.LazyFrame({"_group_text": ["a", "b", "a", "b"]})
    assert groups._few_texts(shown, engine="streaming") is not None
    later = pl.LazyFrame({"_group_text": ["a"] * groups._HEAD_ROWS + ["b"]})
    assert groups._few_texts(later, engine="streaming") is None
    many = pl.LazyFrame({"_group_text": [str(index) for index in range(groups.FEW_TEXTS + 1)]})
    assert groups._few_texts(many, engine="streaming") is None


@pytest.fixture
def tiny_buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No group counted by filtering or in batches; buckets of at most 5 rows, 2 written at a
    time: even small files are staged, in several passes."""
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    monkeypatch.setattr(groups, "MAX_CARRIED", 0)
    monkeypatch.setattr(groups, "BUCKET_ROWS", 5)
    monkeypatch.setattr(groups, "MAX_WRITERS", 2)


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """No group counted by filtering; counts in batches of 3 rows (a signals file's groups are
    then sorted in memory: staging fails the test)."""
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    monkeypatch.setattr(groups, "BATCH_ROWS", 3)
    monkeypatch.setattr(groups, "BATCH_PER_CARRIED", 0)
    monkeypatch.setattr(groups, "_split", None)


@pytest.fixture(params=["filtered", "batched", "staged"])
def apart(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way of taking a `group_by` column's groups apart for their counts (see `groups`)."""
    if request.param == "staged":
        request.getfixturevalue("tiny_buckets")
    elif request.param == "batched":
        request.getfixturevalue("tiny_batches")
    else:  # small buckets, so that staging would be tried, and fail the test
        monkeypatch.setattr(groups, "BUCKET_ROWS", 5)
        monkeypatch.setattr(groups, "_split", None)
    return str(request.param)


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


@pytest.mark.usefixtures("apart")
@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=mixed_rows, window=st.integers(1, 6))
def test_groups_taken_apart_either_way_give_each_group_its_exact_signals(
    tmp_path: Path, engine: Engine, rows: list[tuple[str, str | None]], window: int
) -> None:
    path = write_mixed(tmp_path / "mixed.csv", rows)
    out = tmp_path / "signals.parquet"
    result = run(open_input(path, timestamps=True), make_config(window, "symbol"), signals=out, engine=engine)
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
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=mixed_rows, window=st.integers(1, 6))
def test_groups_counted_either_way_give_each_group_its_exact_counts(
    tmp_path: Path, apart: str, engine: Engine, rows: list[tuple[str, str | None]], window: int
) -> None:
    path = write_mixed(tmp_path / "mixed.csv", rows)
    result = run(open_input(path), make_config(window, "symbol"), engine=engine)
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


def test_groups_too_many_to_filter_or_count_in_batches_are_staged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, splits: list[int]
) -> None:
    monkeypatch.setattr(groups, "BUCKET_ROWS", 2)
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 3)
    monkeypatch.setattr(groups, "MAX_CARRIED", 0)
    three = run(
        open_input(write_mixed(tmp_path / "3.csv", [(s, "1") for s in "ABCABC"])), make_config(2, "symbol")
    )
    assert (splits, len(three.groups)) == ([], 3)
    four = run(
        open_input(write_mixed(tmp_path / "4.csv", [(s, "1") for s in "ABCDABCD"])), make_config(2, "symbol")
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
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batches: list[int], splits: list[int]
) -> None:
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    monkeypatch.setattr(groups, "BUCKET_ROWS", 2)
    monkeypatch.setattr(groups, "BATCH_ROWS", 4)
    monkeypatch.setattr(groups, "BATCH_PER_CARRIED", 0)
    monkeypatch.setattr(groups, "MAX_CARRIED", 8)  # window 3: 2 rows of each group carried
    four = write_mixed(tmp_path / "4.csv", [(s, "1") for s in "ABCDABCD"])
    assert len(run(open_input(four), make_config(3, "symbol")).groups) == 4
    # 8 rows in batches of 4; the second led by the first's rows (1 of each group).
    assert (batches, splits) == ([4, 8], [])
    batches.clear()
    five = write_mixed(tmp_path / "5.csv", [(s, "1") for s in "ABCDEABCDE"])
    assert len(run(open_input(five), make_config(3, "symbol")).groups) == 5
    assert (batches, splits) == ([], [5])


@pytest.mark.parametrize("engine", ENGINES)
def test_counts_in_batches_do_not_depend_on_the_batch_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    monkeypatch.setattr(groups, "BATCH_PER_CARRIED", 0)
    rows = [
        (f"S{i * 7 % 5}" if i % 11 else "", None if i % 13 == 0 else str(100 + i * 37 % 11))
        for i in range(300)
    ]
    data = open_input(write_mixed(tmp_path / "m.csv", rows))
    results = []
    for size in (1, 2, 7, 64, 1 << 18):
        monkeypatch.setattr(groups, "BATCH_ROWS", size)
        results.append(run(data, make_config(6, "symbol"), engine=engine))
    assert all(result == results[0] for result in results)
    expected = expected_groups(rows, 6)
    assert [(name, counts.signals) for name, counts in results[0].groups] == [
        (name, sum(exact)) for name, exact in expected.items()
    ]


def test_counts_in_batches_do_not_depend_on_threads_or_morsels(tmp_path: Path) -> None:
    rows = [(f"S{i * 7 % 5}", None if i % 13 == 0 else str(100 + i * 37 % 11)) for i in range(300)]
    path = write_mixed(tmp_path / "m.csv", rows)
    code = (
        "import json, sys; from pathlib import Path; from signal_job.computing import groups; "
        "from signal_job.computing.pipeline import run; from signal_job.reading.inputs import open_input; "
        "from tests.conftest import make_config; "
        "groups.FILTERED_GROUPS = 0; groups.BATCH_ROWS = 16; groups.BATCH_PER_CARRIED = 0; "
        "result = run(open_input(Path(sys.argv[1])), make_config(6, 'symbol')); "
        "print(json.dumps([(name, counts.__dict__) for name, counts in result.groups]))"
    )
    results = under_polars_settings(code, str(path))
    assert results[0] == results[1] == results[2]
    expected = expected_groups(rows, 6)
    assert [(name, counts["signals"]) for name, counts in results[0]] == [
        (name, sum(exact)) for name, exact in expected.items()
    ]


def test_a_time_going_back_across_batches_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    monkeypatch.setattr(groups, "BATCH_ROWS", 2)
    monkeypatch.setattr(groups, "BATCH_PER_CARRIED", 0)
    lines = ["timestamp,symbol,close", "2024-01-01 00:05:00,A,1"]
    lines += [f"2024-01-01 00:0{i}:00,B,{i}" for i in range(6)]
    lines.append("2024-01-01 00:04:00,A,2")  # A's time goes back, 6 rows (3 batches) later
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"line 9"):
        run(open_input(path), make_config(2, "symbol"))


@pytest.mark.parametrize("symbols", [3, 13])  # buckets of one group, and of several
def test_groups_filtered_sorted_in_memory_and_staged_write_the_same_signals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, symbols: int
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
    filtered = run(data, make_config(4, "symbol"), signals=tmp_path / "filtered.parquet")
    monkeypatch.setattr(groups, "FILTERED_GROUPS", 0)
    in_memory = run(data, make_config(4, "symbol"), signals=tmp_path / "in_memory.parquet")
    monkeypatch.setattr(groups, "BUCKET_ROWS", 50)
    monkeypatch.setattr(groups, "MAX_WRITERS", 3)
    staged = run(data, make_config(4, "symbol"), signals=tmp_path / "staged.parquet")
    assert filtered == in_memory == staged
    expected = pl.read_parquet(tmp_path / "in_memory.parquet")
    assert_frame_equal(pl.read_parquet(tmp_path / "filtered.parquet"), expected)
    assert_frame_equal(pl.read_parquet(tmp_path / "staged.parquet"), expected)


@pytest.mark.usefixtures("tiny_buckets")
def test_staged_groups_leave_no_temporary_files(
    tmp_path: Path, empty_tmpdir: Path, splits: list[int]
) -> None:
    path = write_mixed(tmp_path / "m.csv", [(symbol, "1") for symbol in "ABCABCDDEEAB"])
    run(open_input(path), make_config(2, "symbol"))
    # Buckets A, B+C, D+E; 2 written at a time: A and B+C are split apart in a second pass.
    assert splits == [3, 2]
    assert list(empty_tmpdir.iterdir()) == []


@pytest.mark.usefixtures("apart")
def test_groups_written_to_a_signals_file_leave_no_temporary_files(
    tmp_path: Path, empty_tmpdir: Path
) -> None:
    path = write_mixed(tmp_path / "m.csv", [(symbol, "1") for symbol in "ABCABCDDEEAB"])
    out = tmp_path / "out"
    out.mkdir()
    run(open_input(path), make_config(2, "symbol"), signals=out / "signals.parquet")
    assert pl.read_parquet(out / "signals.parquet")["symbol"].to_list() == list("AAABBBCCDDEE")
    assert [each.name for each in out.iterdir()] == ["signals.parquet"]
    assert list(empty_tmpdir.iterdir()) == []


@pytest.mark.usefixtures("apart")
def test_a_group_out_of_time_order_is_named(tmp_path: Path) -> None:
    path = tmp_path / "late.csv"
    lines = ["timestamp,symbol,close"]
    lines += [f"2024-01-01 00:0{i}:00,{'AB'[i % 2]},{i}" for i in range(8)]
    lines.insert(6, "2024-01-01 00:01:00,A,9")  # A's times go back; B's stay in order
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"line 7"):
        run(open_input(path), make_config(2, "symbol"))


@pytest.mark.usefixtures("apart")
def test_equal_times_in_different_groups_are_in_order(tmp_path: Path) -> None:
    path = tmp_path / "same.csv"
    rows = [f"2024-01-01 00:0{i // 3}:00,{'ABC'[i % 3]},{i}" for i in range(9)]
    path.write_text("timestamp,symbol,close\n" + "\n".join(rows) + "\n")
    result = run(open_input(path), make_config(2, "symbol"))
    assert [(name, counts.rows) for name, counts in result.groups] == [("A", 3), ("B", 3), ("C", 3)]


@pytest.mark.usefixtures("apart")
def test_a_grouped_file_with_no_rows_is_the_usual_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("timestamp,symbol,close\n")
    with pytest.raises(InputError, match=r"has a header but no data rows"):
        run(open_input(path), make_config(2, "symbol"))


@pytest.mark.usefixtures("apart")
@pytest.mark.parametrize("engine", ENGINES)
def test_a_group_written_with_padding_is_one_group_and_blank_ones_are_no_group(
    tmp_path: Path, engine: Engine
) -> None:
    path = tmp_path / "padded.csv"
    symbols = ["BTC", "  ", "BTC ", "ETH", "", "\tBTC", " ETH", "BTC"]
    lines = [f"2024-01-01 00:0{i}:00,{symbol},{i + 1}" for i, symbol in enumerate(symbols)]
    path.write_text("timestamp,symbol,close\n" + "\n".join(lines) + "\n")
    result = run(open_input(path), make_config(2, "symbol"), engine=engine)
    # BTC: 1, 3, 6, 8 (each above the one before); no group: 2, 5; ETH: 4, 7.
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("BTC", 4, 3),
        (None, 2, 1),
        ("ETH", 2, 1),
    ]


@pytest.mark.usefixtures("apart")
@pytest.mark.parametrize(("digits", "refused"), [(20, True), (19, False)])
def test_grouped_prices_too_large_for_exact_sums_are_refused(
    tmp_path: Path, digits: int, refused: bool
) -> None:
    path = tmp_path / "big.csv"
    rows = "".join(f"{symbol},{'9' * digits}\n" for symbol in "ABAB")
    path.write_text("symbol,close\n" + rows)
    if refused:
        with pytest.raises(InputError, match="too large for an exact sum over 2 rows"):
            run(open_input(path), make_config(2, "symbol"))
    else:
        assert run(open_input(path), make_config(2, "symbol")).total.rows == 4


@pytest.mark.usefixtures("apart")
def test_overlapping_exports_of_several_symbols_drop_their_repeats_within_each_group(tmp_path: Path) -> None:
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
    result = run(open_input(path), make_config(2, "symbol", Reading(duplicates="drop")))
    assert (result.total.rows, result.total.repeats) == (6, 2)
    assert [(name, counts.rows, counts.signals) for name, counts in result.groups] == [
        ("A", 3, 2),
        ("B", 3, 1),
    ]
