from __future__ import annotations

from pathlib import Path

import polars as pl

from signal_job.computing.ladder import with_text_close, without_blank_lines
from signal_job.reading.inputs import open_input
from tests.conftest import DATA


def test_only_csv_files_are_read_again_beside_their_raw_lines(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n\n2024-01-01 00:01:00,2\n")
    pl.DataFrame({"timestamp": ["2024-01-01 00:02:00"], "close": [3.0]}).write_parquet(tmp_path / "b.parquet")
    data = open_input(tmp_path)
    again = without_blank_lines(data)
    assert [part.drop_blank_lines for part in data.parts] == [False, False]
    assert [(part.path.name, part.drop_blank_lines) for part in again.parts] == [
        ("a.csv", True),
        ("b.parquet", False),
    ]


def test_close_is_read_as_text_only_where_it_was_sniffed_as_a_number(tmp_path: Path) -> None:
    data = open_input(DATA / "candles.csv")
    text = with_text_close(data)
    assert text is not None
    assert [part.close_dtype for part in text.parts] == [pl.String()]
    assert with_text_close(text) is None  # read as text already: no rung left
    assert with_text_close(open_input(DATA / "decimal_close.parquet")) is None
