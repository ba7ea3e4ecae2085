from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from signal_job.errors import OutputError
from signal_job.options import Option
from signal_job.synthetic import COLUMNS, candles, write_candles

PROJECT = Path(__file__).resolve().parents[1]


def frame(rows: int, seed: int, chunk_rows: int = 1_000_000) -> pl.DataFrame:
    return pl.concat(list(candles(rows, seed=seed, chunk_rows=chunk_rows)))


def test_same_seed_gives_the_same_candles_and_another_seed_does_not() -> None:
    assert_frame_equal(frame(500, 1), frame(500, 1))
    assert not frame(500, 1).equals(frame(500, 2))


def test_candles_have_the_real_files_columns_and_consecutive_minutes() -> None:
    data = frame(300, 5, chunk_rows=100)
    assert tuple(data.columns) == COLUMNS
    times = data["timestamp"].str.to_datetime("%Y-%m-%d %H:%M:%S")
    assert times[0].isoformat() == "2024-01-01T00:00:00"
    assert times.diff().drop_nulls().unique().to_list() == [timedelta(minutes=1)]


def test_candles_are_consistent_across_chunks() -> None:
    data = frame(300, 5, chunk_rows=70)
    assert data.height == 300
    assert data["open"].slice(1).equals(data["close"].slice(0, 299))
    checks = data.select(
        high=(pl.col("high") >= pl.max_horizontal("open", "close")).all(),
        low=(pl.col("low") <= pl.min_horizontal("open", "close")).all(),
        volume=(pl.col("volume_btc") > 0).all(),
    )
    assert checks.row(0) == (True, True, True)


def test_candles_have_realistic_flat_stretches() -> None:
    close = frame(20_000, 42)["close"]
    flat = (close == close.shift(1)).fill_null(value=False)
    share = flat.mean()
    assert share is not None
    assert 0.1 < float(share) < 0.4  # type: ignore[arg-type]
    runs = flat.rle()
    assert runs.struct.field("len").filter(runs.struct.field("value")).max() >= 5  # type: ignore[operator]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".csv.zst", ".parquet", ".arrow"])
def test_every_format_holds_the_same_rows(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"candles{suffix}"
    write_candles(path, rows=250, seed=9)
    read = (
        pl.read_parquet(path) if suffix == ".parquet" else pl.read_ipc(path) if suffix == ".arrow" else None
    )
    if read is None:
        read = pl.read_csv(path, schema=frame(1, 9).schema)
    assert_frame_equal(read, frame(250, 9))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="cannot tell the format"):
        write_candles(tmp_path / "x.json", rows=5, seed=1)


def test_unwritable_target_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "taken.csv").mkdir()  # the candles are written, then cannot replace a folder
    with pytest.raises(OutputError, match=r"cannot write .*taken.csv"):
        write_candles(tmp_path / "taken.csv", rows=5, seed=1, force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["taken.csv"]
    with pytest.raises(OutputError, match="cannot write"):
        write_candles(tmp_path / "missing" / "x.csv", rows=5, seed=1)


def test_progress_reports_every_row(tmp_path: Path) -> None:
    seen: list[int] = []
    write_candles(tmp_path / "x.parquet", rows=1_500, seed=1, progress=seen.append)
    assert sum(seen) == 1_500


def test_an_existing_file_is_replaced_only_when_forced(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("real data")
    with pytest.raises(
        OutputError, match=rf"data\.csv already exists; give another {Option.OUTPUT}, or {Option.FORCE}"
    ):
        write_candles(path, rows=10, seed=1)
    assert path.read_text() == "real data"
    write_candles(path, rows=10, seed=1, force=True)
    assert len(path.read_text().splitlines()) == 11
