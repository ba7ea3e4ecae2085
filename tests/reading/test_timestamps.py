from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import polars as pl
import pytest

from signal_job.computing.pipeline import run
from signal_job.config import Reading
from signal_job.errors import ConfigError, InputError
from signal_job.reading.inputs import open_input
from signal_job.reading.sources import open_source
from signal_job.reading.timestamps import FORMATS, SAMPLE_VALUES, read_timestamps
from tests.conftest import DATA, make_config

FIRST = datetime(2024, 1, 1, 0, 0)


def parsed(path: Path) -> list[datetime | None]:
    source = open_source(path)
    reading = read_timestamps(source)
    assert reading is not None
    return source.frame_with({"t": reading.parsed}).collect()["t"].to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01 00:00:00", FIRST),
        ("2024-01-01T00:00:00", FIRST),
        ("2024-01-01 00:00:00.250", FIRST.replace(microsecond=250_000)),
        ("2024-01-01T00:00:00Z", FIRST),
        ("2024-01-01T01:00:00+01:00", FIRST),  # turned into UTC
        ("2024-01-01 00:00", FIRST),
        ("2024-01-01", FIRST),
        ("1704067200", FIRST),  # Unix seconds
        ("1704067200000", FIRST),  # Unix milliseconds
    ],
)
def test_timestamp_spellings_read_as_the_same_instant(tmp_path: Path, text: str, expected: datetime) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"timestamp,close\n{text},1\n")
    assert parsed(path) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-01 00:05:00",
        "2024-01-01T00:05:00Z",
        "2024-01-01T01:05:00+01:00",
        "2024-01-01 00:05",
        "2024/01/01 00:05:00.250",
    ],
)
def test_times_read_as_written_are_the_trimmed_times_or_none(tmp_path: Path, text: str) -> None:
    # The first values are unpadded, so the times are also read untrimmed (the fast path's cheap
    # reading): that reading must be the trimmed time wherever it reads anything at all.
    padded = [f"  {text}", f"{text} ", f"\t{text}", f"{text}\t", f" {text} ", text]
    path = tmp_path / "c.csv"
    path.write_text(
        "timestamp,close\n" + "".join(f"{value},1\n" for value in [*[text] * SAMPLE_VALUES, *padded])
    )
    source = open_source(path)
    reading = read_timestamps(source)
    assert reading is not None
    assert reading.untrimmed is not None
    frame = source.frame_with({"t": reading.parsed, "quick": reading.untrimmed}).collect()
    assert frame["t"].null_count() == 0
    assert frame["quick"][0] == frame["t"][0]
    assert frame["quick"][-1] == frame["t"][-1]
    assert frame.filter(pl.col("quick").is_not_null() & (pl.col("quick") != pl.col("t"))).height == 0


def test_times_whose_first_values_are_padded_are_not_read_untrimmed() -> None:
    source = open_source(DATA / "padded.csv")
    reading = read_timestamps(source)
    assert reading is not None
    assert reading.untrimmed is None


def test_as_shipped_quotes_around_timestamps_are_trimmed() -> None:
    assert parsed(DATA / "shipped.csv")[0] == FIRST


def test_fractions_after_the_sampled_whole_seconds_are_named_not_dropped(tmp_path: Path) -> None:
    # The first values pick whole seconds; a later fraction must not be dropped or misread.
    rows = "".join(f"2024-01-01 {m // 60:02}:{m % 60:02}:00,1\n" for m in range(SAMPLE_VALUES))
    path = tmp_path / "c.csv"
    path.write_text(f"timestamp,close\n{rows}2024-01-02 00:00:00.5,2\n")
    line = SAMPLE_VALUES + 2
    with pytest.raises(
        InputError, match=rf"line {line}: timestamp '2024-01-02 00:00:00.5' does not read as text"
    ):
        run(open_input(path, timestamps=True), make_config(1), signals=tmp_path / "s.parquet")


def test_parquet_datetime_and_date_columns_are_kept(tmp_path: Path) -> None:
    zoned = pl.Series([datetime(2024, 1, 1, 1, tzinfo=UTC)]).dt.convert_time_zone("Europe/Paris")
    pl.DataFrame({"timestamp": zoned, "close": [1.0]}).write_parquet(tmp_path / "z.parquet")
    pl.DataFrame({"timestamp": [date(2024, 1, 1)], "close": [1.0]}).write_parquet(tmp_path / "d.parquet")
    pl.DataFrame({"timestamp": [1704067200000], "close": [1.0]}).write_parquet(tmp_path / "i.parquet")
    assert parsed(tmp_path / "z.parquet") == [datetime(2024, 1, 1, 1)]
    assert parsed(tmp_path / "d.parquet") == [FIRST]
    assert parsed(tmp_path / "i.parquet") == [FIRST]


def test_parquet_date_and_time_columns_are_combined(tmp_path: Path) -> None:
    minutes = [time(0, 2), time(0, 1), time(0, 0)]  # newest first, each day alone not ordered
    pl.DataFrame({"date": [date(2024, 1, 1)] * 3, "time": minutes, "close": [3.0, 2.0, 1.0]}).write_parquet(
        tmp_path / "p.parquet"
    )
    data = open_input(tmp_path / "p.parquet", timestamps=True)
    reading = data.parts[0].timestamp
    assert reading is not None
    assert (reading.column, reading.descending) == ("date and time", True)
    assert parsed(tmp_path / "p.parquet") == [datetime(2024, 1, 1, 0, 2), datetime(2024, 1, 1, 0, 1), FIRST]


def test_a_parquet_date_time_named_date_is_read_alone_beside_a_time(tmp_path: Path) -> None:
    stamps = [datetime(2024, 1, 1, 0, minute) for minute in range(3)]
    pl.DataFrame({"date": stamps, "time": [time(9)] * 3, "close": [1.0, 2.0, 3.0]}).write_parquet(
        tmp_path / "p.parquet"
    )
    reading = open_input(tmp_path / "p.parquet", timestamps=True).parts[0].timestamp
    assert reading is not None
    assert reading.column == "date"


def test_unreadable_first_timestamps_are_refused_with_examples(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("timestamp,close\nyesterday,1\n")
    with pytest.raises(
        InputError,
        match=r"holds times like 'yesterday', which this job does not read; set timestamp_format",
    ):
        open_input(path, timestamps=True)


def test_timestamps_of_another_type_are_refused(tmp_path: Path) -> None:
    pl.DataFrame({"timestamp": [True], "close": [1.0]}).write_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError, match="column 'timestamp' holds Boolean, not date-times"):
        open_input(tmp_path / "b.parquet", timestamps=True)


def test_a_file_without_timestamp_column_has_no_reading(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text("t,close\n2024-01-01,1\n")
    assert read_timestamps(open_source(tmp_path / "c.csv")) is None


def test_an_epoch_too_long_for_64_bits_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("timestamp,close\n99999999999999999999,1\n")
    with pytest.raises(
        InputError, match=r"holds times like '99999999999999999999', which this job does not read"
    ):
        open_input(path)


def test_epoch_seconds_and_fractions_are_ordered_in_microseconds(tmp_path: Path) -> None:
    (tmp_path / "far.csv").write_text("timestamp,close\n9300000000,1\n9300000060,2\n")  # year 2264
    (tmp_path / "fractions.csv").write_text("timestamp,close\n1704067200.5,1\n1704067200.25,2\n")
    far = open_input(tmp_path / "far.csv").parts[0].timestamp
    fractions = open_input(tmp_path / "fractions.csv").parts[0].timestamp
    assert far is not None
    assert not far.descending
    assert fractions is not None
    assert fractions.descending


def test_a_timestamp_format_that_does_not_read_the_values_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("timestamp,close\n2024-01-01 00:00:00,1\n")
    with pytest.raises(
        InputError, match=r"timestamp '2024-01-01 00:00:00' does not read as timestamp_format '%d/%m/%Y'"
    ):
        open_input(path, reading=Reading(timestamp_format="%d/%m/%Y"))
    with pytest.raises(ConfigError, match=r"'timestamp_format' '%Y-%m-%d %I-%p' is not a format"):
        open_input(path, reading=Reading(timestamp_format="%Y-%m-%d %I-%p"))


def test_every_built_in_spelling_is_a_format_polars_reads() -> None:
    for spelling in FORMATS:
        pl.select(pl.lit("2024-01-01").str.to_datetime(spelling, strict=False))


def test_a_file_of_ambiguous_dates_takes_the_spelling_of_the_file_before_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def day_first(days: range) -> str:
        return "".join(f"{day:02}/01/2024 00:00,{day % 4}\n" for day in days)

    (tmp_path / "a.csv").write_text("timestamp,close\n" + day_first(range(1, 20)))  # 13/01 says day first
    (tmp_path / "b.csv").write_text(
        "timestamp,close\n" + "".join(f"{d:02}/02/2024 00:00,{d % 3}\n" for d in range(1, 12))
    )
    data = open_input(tmp_path)
    assert [part.timestamp.format for part in data.parts if part.timestamp] == ["%d/%m/%Y %H:%M"] * 2
    assert "read both day first and month first" not in caplog.text
    signals = tmp_path / "s.parquet"
    run(data, make_config(3), signals=signals)
    times = pl.read_parquet(signals)["timestamp"]
    assert times.dtype == pl.Datetime("us")
    assert times[-1] == datetime(2024, 2, 11)  # 11/02 read as the 11th of February, as in a.csv


def test_a_file_alone_with_ambiguous_dates_still_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "b.csv"
    path.write_text("timestamp,close\n" + "".join(f"{d:02}/02/2024 00:00,{d % 3}\n" for d in range(1, 12)))
    reading = read_timestamps(open_source(path))
    assert reading is not None
    assert reading.format is None  # day first and month first both kept
    assert "read both day first and month first" in caplog.text


def test_a_file_after_a_day_first_one_is_still_read_month_first_where_its_own_dates_say_so(
    tmp_path: Path,
) -> None:
    december = "".join(f"{d:02}/12/2023 00:00,{d % 4}\n" for d in range(13, 32))
    (tmp_path / "a.csv").write_text("timestamp,close\n" + december)
    days = [f"01/{d:02}/2024 00:00" for d in range(1, 32)] + [f"02/{d:02}/2024 00:00" for d in range(1, 29)]
    (tmp_path / "b.csv").write_text(
        "timestamp,close\n" + "".join(f"{day},{i % 5}\n" for i, day in enumerate(days))
    )
    data = open_input(tmp_path)
    formats = [part.timestamp.format for part in data.parts if part.timestamp]
    assert formats == ["%d/%m/%Y %H:%M", "%m/%d/%Y %H:%M"]
    assert run(data, make_config(3)).total.rows == 19 + 59
