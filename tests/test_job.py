"""The job's behaviour as a whole, through its Python API (`signal_job.run`, the command line's path).

What only the command line does (exit codes, the console, the log file, flags) is in test_cli.py.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import orjson
import polars as pl
import pytest

import signal_job
from signal_job.options import Option
from tests.conftest import DATA, WriteFile

CONFIG = {"seed": 42, "window": 5, "version": "v1"}

BAD_INPUTS: dict[str, tuple[str | bytes | None, str]] = {
    "missing.csv": (None, "does not exist"),
    "empty.csv": ("", "is empty"),
    "header.csv": ("timestamp,close\n", "has a header but no data rows"),
    "noclose.csv": ("timestamp,price\n1,2\n", "no 'close' column; columns found: 'timestamp', 'price'"),
    "text.csv": ("timestamp,close\n1,2\n2,abc\n", "line 3: close value 'abc' is not a number"),
    "short.csv": ("a,close,b\n1,2,3\n1,2\n", "line 3 has 2 fields but the header has 3"),
    "latin.csv": (b"a,close\n1,2\n\xe9t\xe9,3\n", "line 3 is not valid UTF-8"),
    "book.xlsx": (b"PK\x03\x04", "supported inputs"),
}


def names(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def warned(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for signals files, so that anything left behind shows."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("with_signals", [False, True], ids=["", "with-signals"])
@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_a_bad_input_raises_its_message_and_writes_the_error_document(
    tmp_path: Path, write_file: WriteFile, out: Path, name: str, with_signals: bool
) -> None:
    content, message = BAD_INPUTS[name]
    data = tmp_path / name if content is None else write_file(name, content)
    output = tmp_path / "metrics.json"
    with pytest.raises(signal_job.InputError) as failed:
        signal_job.run(
            data, config=CONFIG, output=output, signals=out / "s.parquet" if with_signals else None
        )
    assert message in str(failed.value)
    assert orjson.loads(output.read_bytes()) == {
        "version": "v1",
        "status": "error",
        "error_message": str(failed.value),
    }
    assert names(out) == []  # no signals file, not even a temporary one


def test_an_input_folder_without_data_files_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("not candles\n")
    with pytest.raises(signal_job.InputError, match="holds no data files"):
        signal_job.run(tmp_path, config=CONFIG)


def test_a_missing_config_file_is_a_config_error_with_an_unknown_version(tmp_path: Path) -> None:
    with pytest.raises(signal_job.ConfigError, match="does not exist") as failed:
        signal_job.run(DATA / "candles.csv", config=tmp_path / "none.yaml")
    assert failed.value.version is None


def test_missing_close_values_are_a_warning(write_file: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    data = write_file("gaps.csv", "t,close,v\n1,1,1\n2,,1\n3,3,1\n")
    with caplog.at_level(logging.INFO, logger="signal_job"):
        assert signal_job.run(data, config={**CONFIG, "window": 2}).rows == 3
    assert "missing close values: 1 (their windows give no signal)" in warned(caplog)


def test_a_window_longer_than_the_input_warns_in_the_log_and_the_document(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="signal_job"):
        result = signal_job.run(DATA / "candles.csv", config={**CONFIG, "window": 500})
    warning = (
        "the window of 500 is longer than the input's 400 rows: "
        "no row has a full window, so every signal is 0"
    )
    assert (result.rate, result.document["warnings"]) == (0.0, [warning])
    assert list(result.document)[-1] == "warnings"  # the seed contract's keys first, as always
    assert warning in warned(caplog)


def test_a_group_shorter_than_the_window_is_named_in_the_warning(
    write_file: WriteFile, caplog: pytest.LogCaptureFixture
) -> None:
    rows = "".join(
        f"2024-01-01 00:{minute:02}:00,{symbol},{1 + minute % 3}\n" for minute in range(6) for symbol in "AB"
    )
    data = write_file("groups.csv", "timestamp,symbol,close\n" + rows + "2024-01-01 00:00:00,C,1\n")
    with caplog.at_level(logging.INFO, logger="signal_job"):
        result = signal_job.run(data, config={**CONFIG, "window": 3, "group_by": "symbol"})
    warning = "1 group of symbol ('C') has no row with a full window of 3: every signal there is 0"
    assert result.document["warnings"] == [warning]
    assert warning in warned(caplog)


def test_counts_in_messages_agree_in_number(write_file: WriteFile, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="signal_job"):
        signal_job.run(write_file("one_blank.csv", "close\n1\n\n2\n"), config=CONFIG)
    assert "rows: 2 (1 blank line skipped)" in caplog.messages


def test_the_signals_file_holds_every_row_and_sums_to_the_count(out: Path) -> None:
    result = signal_job.run(DATA / "candles.csv", config=CONFIG, signals=out / "signals.parquet")
    signals = pl.read_parquet(out / "signals.parquet")
    assert signals.height == result.rows == 400
    assert signals["signal"].sum() == result.signals
    assert names(out) == ["signals.parquet"]  # no temporary file left


def test_a_failed_run_removes_an_earlier_signals_file(
    write_file: WriteFile, out: Path, caplog: pytest.LogCaptureFixture
) -> None:
    signal_job.run(DATA / "candles.csv", config=CONFIG, signals=out / "signals.parquet")
    with pytest.raises(signal_job.InputError), caplog.at_level(logging.INFO, logger="signal_job"):
        signal_job.run(write_file("bad.csv", "close\n1\nx\n"), config=CONFIG, signals=out / "signals.parquet")
    assert names(out) == []
    assert "the signals file of an earlier run" in caplog.text


def test_a_failed_run_keeps_a_file_that_is_not_a_signals_file(write_file: WriteFile, out: Path) -> None:
    precious = out / "signals.parquet"
    pl.DataFrame({"close": [1.0]}).write_parquet(precious)
    with pytest.raises(signal_job.InputError):
        signal_job.run(write_file("bad.csv", "close\n1\nx\n"), config=CONFIG, signals=precious)
    assert pl.read_parquet(precious).columns == ["close"]


@pytest.mark.parametrize("column", ["timestamp", "date"])
def test_a_bad_time_deep_in_the_file_names_its_line_and_leaves_no_signals_file(
    write_file: WriteFile, out: Path, column: str
) -> None:
    rows = "".join(f"2024-01-01 {m // 60:02}:{m % 60:02}:00,{m}\n" for m in range(300))
    data = write_file("c.csv", f"{column},close\n{rows}2024-13-01 00:00:00,1\n")
    with pytest.raises(
        signal_job.InputError, match=r"line 302: timestamp '2024-13-01 00:00:00' does not read as"
    ):
        signal_job.run(data, config=CONFIG, signals=out / "signals.parquet")
    assert names(out) == []


def test_a_signals_file_naming_the_input_is_refused_and_the_input_kept(tmp_path: Path) -> None:
    data = tmp_path / "candles.csv"
    shutil.copy(DATA / "candles.csv", data)
    with pytest.raises(signal_job.ClashError, match="is an input file of this run"):
        signal_job.run(data, config=CONFIG, signals=data)
    assert data.read_bytes() == (DATA / "candles.csv").read_bytes()


def test_a_clash_still_replaces_the_old_document_and_removes_the_old_signals(tmp_path: Path) -> None:
    data = tmp_path / "candles.csv"
    shutil.copy(DATA / "candles.csv", data)
    output, signals, metrics = tmp_path / "m.json", tmp_path / "s.parquet", tmp_path / "j.prom"
    signal_job.run(data, config=CONFIG, output=output, signals=signals, metrics_file=metrics)
    with pytest.raises(signal_job.ClashError, match="is an input file of this run") as clash:
        signal_job.run(data, config=CONFIG, output=output, signals=signals, metrics_file=data)
    assert clash.value.options == (Option.METRICS_FILE, Option.INPUT)
    assert orjson.loads(output.read_bytes())["error_message"] == str(clash.value)
    assert not signals.exists()  # as after any failure: it must not pass for this run's
    assert data.read_bytes() == (DATA / "candles.csv").read_bytes()


def test_a_signals_file_inside_the_input_folder_is_not_read_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    days = tmp_path / "days"
    days.mkdir()
    shutil.copy(DATA / "candles.csv", days / "a.csv")
    with caplog.at_level(logging.INFO, logger="signal_job"):
        rows = [signal_job.run(days, config=CONFIG, signals=days / "signals.parquet").rows for _ in range(2)]
    assert rows == [400, 400]
    assert "signals.parquet" in caplog.text  # the second run says what it skipped


def test_a_failed_metrics_write_leaves_no_signals_file(tmp_path: Path, out: Path) -> None:
    with pytest.raises(signal_job.OutputError, match="output folder"):
        signal_job.run(
            DATA / "candles.csv",
            config=CONFIG,
            output=tmp_path / "nowhere" / "metrics.json",
            signals=out / "signals.parquet",
        )
    assert names(out) == []


def test_groups_all_shorter_than_the_window_are_named_so_not_blamed_on_missing_closes(
    write_file: WriteFile,
) -> None:
    rows = "".join(
        f"2024-01-01 00:0{minute}:00,{symbol},{minute + 1}\n" for minute in range(3) for symbol in "AB"
    )
    data = write_file("short.csv", "timestamp,symbol,close\n" + rows)
    result = signal_job.run(data, config={**CONFIG, "window": 4, "group_by": "symbol"})
    assert result.document["warnings"] == [
        "the window of 4 is longer than every group of symbol: no row has a full window, so every signal is 0"
    ]


SYMBOLS = (
    "timestamp,symbol,close\n"
    "2024-01-01 00:00:00,BTC,100\n2024-01-01 00:00:00,ETH,10\n2024-01-01 00:00:00,,5\n"
    "2024-01-01 00:01:00,BTC,101\n2024-01-01 00:01:00,ETH,9\n2024-01-01 00:01:00,,6\n"
    "2024-01-01 00:02:00,BTC,102\n2024-01-01 00:02:00,ETH,\n"
)


@pytest.mark.parametrize("name", ["groups.csv", "groups.parquet"])
def test_the_groups_table_holds_every_groups_counts(write_file: WriteFile, tmp_path: Path, name: str) -> None:
    data = write_file("symbols.csv", SYMBOLS)
    signal_job.run(data, config={**CONFIG, "window": 2, "group_by": "symbol"}, groups=tmp_path / name)
    table = pl.read_csv(tmp_path / name) if name.endswith(".csv") else pl.read_parquet(tmp_path / name)
    assert table.rows() == [
        ("BTC", 3, 2, 0.6667, 2, 0),
        ("ETH", 3, 0, 0.0, 1, 1),
        (None, 2, 1, 0.5, 1, 0),  # the rows with no symbol
    ]
    assert table.columns == ["group", "rows", "signals", "value", "full_windows", "missing"]


def test_a_groups_table_without_group_by_is_refused_naming_the_keyword(
    write_file: WriteFile, tmp_path: Path
) -> None:
    data = write_file("symbols.csv", SYMBOLS)
    with pytest.raises(
        signal_job.ConfigError, match=r"^groups asks for a table of every group's counts, but the config"
    ):
        signal_job.run(data, config=CONFIG, groups=tmp_path / "groups.csv")
    assert not (tmp_path / "groups.csv").exists()


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        (
            "groups.txt",
            signal_job.OutputError,
            "groups {path} ends in '.txt'; the groups table is written in the format",
        ),
        ("symbols.csv", signal_job.ClashError, "groups {path} is an input file of this run"),
    ],
)
def test_a_groups_table_that_can_never_be_written_is_refused_before_any_work(
    write_file: WriteFile, tmp_path: Path, name: str, error: type[Exception], message: str
) -> None:
    data = write_file("symbols.csv", SYMBOLS)
    with pytest.raises(error) as caught:
        signal_job.run(data, config={**CONFIG, "group_by": "symbol"}, groups=tmp_path / name)
    assert str(caught.value).startswith(message.format(path=tmp_path / name))
    assert data.read_text() == SYMBOLS
    assert names(tmp_path) == ["symbols.csv"]
