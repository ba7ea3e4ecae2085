"""The groups table: every group's counts, in the format its name says, read back with Polars."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from signal_job.errors import OutputError
from signal_job.formats import FileFormat
from signal_job.options import Option
from signal_job.partial import Counts
from signal_job.reporting.outputs import target
from signal_job.reporting.tables import group_table, table_format, write_group_table

GROUPS = [
    ("BTC", Counts(rows=3, full_windows=2, missing=0, signals=1)),
    (None, Counts(rows=7, full_windows=4, missing=1, signals=2)),  # rows with no group value
    ("ETH", Counts(rows=1, full_windows=0, missing=0, signals=0)),
]
EXPECTED = pl.DataFrame(
    {
        "group": ["BTC", None, "ETH"],
        "rows": [3, 7, 1],
        "signals": [1, 2, 0],
        "value": [0.3333, 0.2857, 0.0],  # rounded half-to-even to 4 decimals, as the document's value
        "full_windows": [2, 4, 0],
        "missing": [0, 1, 0],
    }
)


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("g.csv", FileFormat.CSV),
        ("G.CSV", FileFormat.CSV),
        ("g.csv.gz", FileFormat.CSV_GZIP),
        ("out/g.parquet", FileFormat.PARQUET),
        ("g.arrow", FileFormat.IPC),
        ("g.feather", FileFormat.IPC),
    ],
)
def test_the_format_is_told_by_the_names_ending(name: str, kind: FileFormat) -> None:
    assert table_format(Path(name)) is kind


@pytest.mark.parametrize(("name", "why"), [("g.txt", "ends in '.txt'"), ("groups", "has no ending")])
@pytest.mark.parametrize("option", [Option.GROUPS, Option.SIGNALS])
def test_another_ending_is_refused_by_name_with_the_endings_known(
    name: str, why: str, option: Option
) -> None:
    with pytest.raises(
        OutputError, match=rf"^{option} {name} {why}; .* ending in one of .csv, .gz, .zst, .parquet"
    ):
        table_format(Path(name), option)


def test_a_csv_table_holds_every_group_with_its_counts() -> None:
    data = group_table(GROUPS, FileFormat.CSV)
    assert data.decode().splitlines()[:2] == [
        "group,rows,signals,value,full_windows,missing",
        "BTC,3,1,0.3333,2,0",
    ]
    assert_frame_equal(pl.read_csv(io.BytesIO(data)), EXPECTED)


def test_a_parquet_table_holds_every_group_with_its_counts() -> None:
    assert_frame_equal(pl.read_parquet(io.BytesIO(group_table(GROUPS, FileFormat.PARQUET))), EXPECTED)


def test_an_arrow_table_holds_every_group_with_its_counts() -> None:
    assert_frame_equal(pl.read_ipc(io.BytesIO(group_table(GROUPS, FileFormat.IPC))), EXPECTED)


def test_a_gzip_csv_table_holds_every_group_with_its_counts() -> None:
    data = gzip.decompress(group_table(GROUPS, FileFormat.CSV_GZIP))
    assert_frame_equal(pl.read_csv(io.BytesIO(data)), EXPECTED)


def test_the_table_is_written_whole_where_its_target_says(tmp_path: Path) -> None:
    write_group_table(GROUPS, target(Option.GROUPS, tmp_path / "g.parquet"))
    assert_frame_equal(pl.read_parquet(tmp_path / "g.parquet"), EXPECTED)
    assert [path.name for path in tmp_path.iterdir()] == ["g.parquet"]  # no temporary file left
