from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing.pipeline import PolarsEngine
from signal_job.errors import InputError
from signal_job.reading import sources
from signal_job.reading.sources import open_source
from tests.conftest import DATA, REAL_ROWS, REAL_SIGNALS, WriteFile, counts_of

SPELLINGS = [
    "shipped.csv",
    "wrapped_lf.csv",
    "crlf.csv",
    "cr.csv",
    "cr.csv.gz",
    "padded.csv",
    "padded_shipped.csv",
    "blank_lines.csv",
    "leading_blank_lines.csv",
    "bom_upper.csv",
    "title_case.csv",
    "semicolon.csv",
    "tab.tsv",
    "pipe.csv",
    "candles.csv.gz",
    "candles.csv.zst",
    "float_close.parquet",
    "decimal_close.parquet",
    "cents_close.parquet",
    "candles.arrow",
    "candles.feather",
]


@pytest.mark.parametrize("name", SPELLINGS)
def test_every_spelling_gives_the_rows_and_signals_of_the_clean_file(name: str) -> None:
    expected = counts_of(DATA / "candles.csv", 5)
    got = counts_of(DATA / name, 5)
    assert (got.rows, got.full_windows, got.missing, got.signals) == (
        expected.rows,
        expected.full_windows,
        expected.missing,
        expected.signals,
    )


@pytest.mark.parametrize("engine", ["streaming", "in-memory"])
def test_as_shipped_real_file_gives_the_published_result(shared_data: Path, engine: PolarsEngine) -> None:
    counts = counts_of(shared_data / "btcusd_1m_10k_as_shipped.csv", 5, engine)
    assert (counts.rows, counts.signals, counts.rate) == (REAL_ROWS, REAL_SIGNALS, 0.4989)


def real_variants(clean: list[str]) -> dict[str, bytes]:
    header, rows = clean[0], clean[1:]
    blank = [header]
    for i, row in enumerate(rows):
        blank += [row, "", "  "] if i % 500 == 0 else [row]
    return {
        "shipped_lf.csv": "\n".join(f'"{line}"' for line in clean).encode(),
        "shipped_final_newline.csv": ("\r\n".join(f'"{line}"' for line in clean) + "\r\n").encode(),
        "padded.csv": ("\n".join(f"  {line} " for line in clean) + "\n").encode(),
        "blank.csv": ("\n".join(["", *blank, "", " "]) + "\n").encode(),
        "bom.csv": b"\xef\xbb\xbf" + ("\n".join([header.upper(), *rows]) + "\n").encode(),
        "crlf.csv": ("\r\n".join(clean) + "\r\n").encode(),
        "semicolon.csv": ("\n".join(line.replace(",", ";") for line in clean) + "\n").encode(),
        "tab.tsv": ("\n".join(line.replace(",", "\t") for line in clean) + "\n").encode(),
        "pipe.csv": ("\n".join(line.replace(",", "|") for line in clean) + "\n").encode(),
        "real.csv.gz": gzip.compress(("\n".join(clean) + "\n").encode()),
    }


def test_every_spelling_of_the_real_rows_gives_the_published_result(
    shared_data: Path, tmp_path: Path
) -> None:
    clean_path = shared_data / "btcusd_1m_10k.csv"
    frame = pl.read_csv(clean_path, schema_overrides={"close": pl.String})
    variants = real_variants(clean_path.read_text().splitlines())
    for name, content in variants.items():
        (tmp_path / name).write_bytes(content)
    frame.lazy().sink_csv(tmp_path / "real.csv.zst", compression="zstd", check_extension=False)
    frame.with_columns(pl.col("close").cast(pl.Float64)).write_parquet(tmp_path / "real.parquet")
    frame.with_columns(pl.col("close").cast(pl.Decimal(12, 2))).write_ipc(tmp_path / "real.arrow")
    for path in sorted(tmp_path.iterdir()):
        counts = counts_of(path, 5)
        assert (path.name, counts.rows, counts.signals) == (path.name, REAL_ROWS, REAL_SIGNALS)


def test_csv_scan_reads_only_the_columns_it_needs() -> None:
    plan = open_source(DATA / "candles.csv").frame.explain()
    assert "PROJECT 3/8 COLUMNS" in plan


def test_describe_names_the_kind_and_spelling() -> None:
    assert open_source(DATA / "shipped.csv").describe().startswith("CSV, comma-separated")
    assert open_source(DATA / "candles.csv.gz").describe().startswith("gzip-compressed CSV")
    assert open_source(DATA / "float_close.parquet").describe() == "Parquet"


def test_missing_input_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"input file .*nope.csv does not exist"):
        open_source(tmp_path / "nope.csv")


def test_input_that_is_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, not a regular file"):
        open_source(tmp_path)


def test_empty_input_is_refused(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="is empty"):
        open_source(write_file("empty.csv", ""))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("book.xlsx", b"PK\x03\x04rest", r"is a zip archive or Excel workbook; supported inputs: CSV"),
        ("old.feather", b"FEA1rest", "is a Feather v1 file"),
        ("data.bin", b"\x00\x01\x02binary", "is not a text file; supported inputs: .*Parquet"),
        ("fake.parquet", b"a,close\n1,2\n", r"is named .parquet but is not a Parquet file"),
        ("fake.arrow", b"a,close\n1,2\n", r"is named .arrow but is not a Arrow IPC file"),
    ],
)
def test_unsupported_files_say_what_is_supported(
    write_file: WriteFile, name: str, content: bytes, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        open_source(write_file(name, content))


def test_parquet_without_close_lists_its_columns(tmp_path: Path) -> None:
    pl.DataFrame({"price": [1.0]}).write_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputError, match=r"has no 'close' column; columns found: 'price'"):
        open_source(tmp_path / "p.parquet")


def test_parquet_with_two_close_columns_is_refused(tmp_path: Path) -> None:
    pl.DataFrame({"close": [1.0], "Close": [2.0]}).write_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputError, match="has 2 columns that match 'close'"):
        open_source(tmp_path / "p.parquet")


def test_parquet_close_that_is_not_numeric_is_refused(tmp_path: Path) -> None:
    pl.DataFrame({"close": [True]}).write_parquet(tmp_path / "p.parquet")
    with pytest.raises(InputError, match="holds Boolean, not numbers"):
        open_source(tmp_path / "p.parquet")


def test_corrupt_parquet_is_reported(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="cannot read Parquet file"):
        open_source(write_file("bad.parquet", b"PAR1 not really"))


def test_corrupt_gzip_is_reported(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="cannot read input file"):
        open_source(write_file("bad.csv.gz", b"\x1f\x8b\x08\x00broken"))


def test_a_header_wider_than_the_first_read_is_read_whole(write_file: WriteFile) -> None:
    columns = [f"c{i}" for i in range(100_000)]
    columns[70_000] = "close"
    row = ",".join("1" for _ in columns)
    source = open_source(write_file("wide.csv", ",".join(columns) + "\n" + row + "\n"))
    assert source.layout is not None
    assert source.layout.close_index == 70_000
    assert source.frame.select("close").collect().item() == 1


def test_a_first_line_that_never_ends_is_refused(
    write_file: WriteFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources, "MAX_HEAD_BYTES", 256 * 1024)
    with pytest.raises(InputError, match="has no line break in its first 262,144 bytes; is it a CSV file"):
        open_source(write_file("long.csv", "x" * 300_000 + "\n1\n"))


def test_three_close_columns_are_counted_in_the_message(write_file: WriteFile) -> None:
    with pytest.raises(InputError, match="has 3 columns that match 'close'"):
        open_source(write_file("three.csv", "close,Close,CLOSE\n1,2,3\n"))


def test_mixed_line_endings_are_refused_naming_the_first_bare_cr(write_file: WriteFile) -> None:
    path = write_file("mixed.csv", "timestamp,close\n1,2\n2,3\r3,4\n")
    with pytest.raises(
        InputError, match=r"mixed\.csv mixes line endings: line 3 ends in a bare carriage return"
    ):
        open_source(path)


def test_a_bare_cr_file_says_so_in_its_description() -> None:
    assert open_source(DATA / "cr.csv").describe().endswith("lines end in CR")


def _compressed(tmp_path: Path, name: str, text: str) -> list[Path]:
    """`text` as `name`.csv, .csv.gz and .csv.zst."""
    plain = tmp_path / f"{name}.csv"
    plain.write_text(text)
    (tmp_path / f"{name}.csv.gz").write_bytes(gzip.compress(text.encode()))
    lines = pl.LazyFrame({"line": text.splitlines()})
    zstd = tmp_path / f"{name}.csv.zst"
    lines.sink_csv(zstd, include_header=False, quote_style="never", compression="zstd")
    return [plain, tmp_path / f"{name}.csv.gz", zstd]


def test_a_compressed_file_is_sniffed_from_the_same_first_lines_as_a_plain_one(tmp_path: Path) -> None:
    # A long field past the first 64 KiB is the scan's, in every kind: zstd too reads no further.
    rows = [f"2024-01-01 00:0{i}:00,{'x' * 200_000 if i == 1 else 'n'},{i}" for i in range(1, 7)]
    for path in _compressed(tmp_path, "long", "\n".join(["timestamp,note,close", *rows]) + "\n"):
        source = open_source(path)
        assert source.layout is not None
        assert (path.name, source.layout.sample) == (path.name, ())
        assert counts_of(path, 2).rows == 6


def test_a_field_longer_than_the_limit_in_the_first_lines_is_refused_in_every_kind(tmp_path: Path) -> None:
    text = "timestamp," + "x" * (10 * 1024 * 1024) + ",close\n2024-01-01 00:00:00,n,1\n"
    for path in _compressed(tmp_path, "wide", text):
        with pytest.raises(InputError, match=rf"file .*{path.name} line 1 has a field longer than 131,072"):
            open_source(path)
