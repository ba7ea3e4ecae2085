"""The exports of the tools people use, written by these tests from the real candles, read with no config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from signal_job.computing.pipeline import PolarsEngine, run
from signal_job.config import Reading
from signal_job.errors import InputError
from signal_job.reading.inputs import open_input
from tests.conftest import ENGINES, REAL_ROWS, REAL_SIGNALS, make_config

Writer = Callable[[pl.DataFrame, Path], None]
UTC = pl.col("timestamp").str.to_datetime("%Y-%m-%d %H:%M:%S", time_zone="UTC")
MS = UTC.dt.epoch("ms")


def lines(path: Path, head: str, frame: pl.DataFrame, *, sep: str = ",", eol: str = "\n") -> None:
    body = [sep.join(row) for row in frame.rows()]
    path.write_bytes(eol.join([*([head] if head else []), *body, ""]).encode())


def columns(frame: pl.DataFrame, *exprs: pl.Expr | str) -> pl.DataFrame:
    return frame.select(
        [(pl.col(e) if isinstance(e, str) else e).alias(f"c{i}") for i, e in enumerate(exprs)]
    )


def yfinance(frame: pl.DataFrame, path: Path) -> None:
    rows = columns(
        frame, pl.concat_str("timestamp", pl.lit("+00:00")), "close", "high", "low", "open", "volume_btc"
    )
    tickers = ",".join(["Ticker", *["BTC-USD"] * 5])
    lines(path, f"Price,Close,High,Low,Open,Volume\n{tickers}\nDate,,,,,", rows)


def binance(unit: int) -> Writer:
    def write(frame: pl.DataFrame, path: Path) -> None:
        open_time, close_time = (MS * unit).cast(pl.String), ((MS + 59_999) * unit).cast(pl.String)
        rest = [pl.lit("100"), pl.lit("1.0"), pl.lit("2.0"), pl.lit("0")]
        k = columns(
            frame, open_time, "open", "high", "low", "close", "volume_btc", close_time, "volume_usd", *rest
        )
        lines(path, "", k)

    return write


def kraken(frame: pl.DataFrame, path: Path) -> None:
    k = columns(
        frame, (MS // 1000).cast(pl.String), "open", "high", "low", "close", "volume_btc", pl.lit("12")
    )
    lines(path, "", k)


def metatrader(frame: pl.DataFrame, path: Path) -> None:
    date = pl.col("timestamp").str.slice(0, 10).str.replace_all("-", ".")
    rows = columns(
        frame, date, pl.col("timestamp").str.slice(11, 8), "open", "high", "low", "close", pl.lit("9")
    )
    lines(path, "<DATE>\t<TIME>\t<OPEN>\t<HIGH>\t<LOW>\t<CLOSE>\t<TICKVOL>", rows, sep="\t", eol="\r\n")


def investing(frame: pl.DataFrame, path: Path) -> None:
    def grouped(name: str) -> pl.Expr:
        return pl.col(name).map_elements(lambda value: f"{float(value):,.2f}", return_dtype=pl.String)

    rows = columns(
        frame.reverse(), UTC.dt.strftime("%m/%d/%Y %H:%M"), *map(grouped, ("close", "open", "high", "low"))
    ).select(pl.all().map_elements(lambda value: f'"{value}"', return_dtype=pl.String))
    lines(path, '"Date","Price","Open","High","Low"', rows)


def cryptodatadownload(frame: pl.DataFrame, path: Path) -> None:
    rows = columns(
        frame.reverse(), MS.cast(pl.String), "timestamp", pl.lit("BTC/USD"), "open", "high", "low", "close"
    )
    lines(path, "https://www.CryptoDataDownload.com\nunix,date,symbol,open,high,low,close", rows)


def european(frame: pl.DataFrame, path: Path) -> None:
    comma = [pl.col(name).str.replace(".", ",", literal=True) for name in ("open", "high", "low", "close")]
    rows = columns(frame, UTC.dt.strftime("%d.%m.%Y %H:%M"), *comma)
    lines(path, "Date;Open;High;Low;Close", rows, sep=";")


LAYOUTS: dict[str, Writer] = {
    "yfinance.csv": yfinance,
    "binance.csv": binance(1),
    "binance_us.csv": binance(1000),
    "kraken.csv": kraken,
    "metatrader.csv": metatrader,
    "investing.csv": investing,
    "cryptodatadownload.csv": cryptodatadownload,
    "european.csv": european,
}


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> pl.DataFrame:
    return pl.read_csv(shared_data / "btcusd_1m_10k.csv", infer_schema=False)


@pytest.fixture(scope="module")
def exports(candles: pl.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("exports")
    for name, write in LAYOUTS.items():
        write(candles, folder / name)
    return folder


def signals_of(path: Path, out: Path, **config: object) -> pl.DataFrame:
    reading = config.pop("reading", None)
    the_config = make_config(5, reading=reading, **config)  # type: ignore[arg-type]
    run(open_input(path, reading=the_config.reading, timestamps=True), the_config, signals=out)
    return pl.read_parquet(out)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", LAYOUTS)
def test_each_export_gives_the_clean_files_result_with_no_config(
    exports: Path, name: str, engine: PolarsEngine
) -> None:
    total = run(open_input(exports / name), make_config(5), engine=engine).total
    assert (total.rows, total.signals) == (REAL_ROWS, REAL_SIGNALS)


@pytest.mark.parametrize("name", LAYOUTS)
def test_each_export_writes_the_clean_files_signals(
    exports: Path, shared_data: Path, tmp_path: Path, name: str
) -> None:
    clean = signals_of(shared_data / "btcusd_1m_10k.csv", tmp_path / "clean.parquet")
    signals = signals_of(exports / name, tmp_path / "signals.parquet")
    if name == "investing.csv":  # 1-7 January: day or month first cannot be told, so kept as text
        assert signals["timestamp"][0] == "01/01/2024 00:00"
        signals, clean = signals.drop("timestamp"), clean.drop("timestamp")
    assert_frame_equal(signals, clean)


def test_a_line_before_the_header_is_skipped_and_logged(
    exports: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="signal_job"):
        open_input(exports / "cryptodatadownload.csv")
    assert "skipped line 1 ('https://www.CryptoDataDownload.com'): it is not the header" in caplog.text
    assert "runs newest first: it is read oldest first" in caplog.text


def two_tickers(candles: pl.DataFrame, path: Path) -> None:
    def eth(name: str) -> pl.Expr:
        return (pl.col(name).cast(pl.Float64) / 20).round(2).cast(pl.String)

    stamp = pl.concat_str("timestamp", pl.lit("+00:00"))
    rows = columns(candles, stamp, "close", eth("close"), "high", eth("high"), "low", eth("low"))
    tickers = ",".join(["Ticker", *["BTC-USD", "ETH-USD"] * 3])
    lines(path, f"Price,Close,Close,High,High,Low,Low\n{tickers}\nDate,,,,,,", rows)


def test_a_yfinance_file_of_several_tickers_needs_group_by_ticker(
    candles: pl.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "two.csv"
    two_tickers(candles, path)
    with pytest.raises(
        InputError,
        match=r"holds 2 tickers \('BTC-USD', 'ETH-USD'\), each its own series; set group_by: ticker",
    ):
        run(open_input(path), make_config(5))
    result = run(open_input(path), make_config(5, group_by="ticker"))
    btc, eth = result.groups
    assert (btc[0], btc[1].rows, btc[1].signals) == ("BTC-USD", REAL_ROWS, REAL_SIGNALS)
    assert (eth[0], eth[1].rows) == ("ETH-USD", REAL_ROWS)
    signals = signals_of(path, tmp_path / "s.parquet", group_by="ticker")
    assert signals.columns == ["ticker", "timestamp", "close", "rolling_mean", "signal"]
    assert signals.filter(pl.col("ticker") == "BTC-USD")["signal"].sum() == REAL_SIGNALS


def test_decimal_commas_that_could_be_thousands_need_the_config_key(tmp_path: Path) -> None:
    path = tmp_path / "ambiguous.csv"
    path.write_text("Date;Close\n01.01.2024 00:00;1,250\n01.01.2024 00:01;1,500\n01.01.2024 00:02;1,750\n")
    with pytest.raises(
        InputError,
        match=r"values like '1,250' read as well with a decimal comma as with a thousands separator",
    ):
        open_input(path)
    as_decimals = run(open_input(path, reading=Reading(decimal_comma=True)), make_config(2)).total
    as_thousands = run(open_input(path, reading=Reading(decimal_comma=False)), make_config(2)).total
    assert as_decimals == as_thousands  # the same order either way; here only the reading differs
    assert (as_decimals.rows, as_decimals.signals) == (3, 2)


def test_a_headerless_file_that_is_not_ohlc_needs_header_false_and_close_column(tmp_path: Path) -> None:
    path = tmp_path / "plain.csv"
    path.write_text("1,5\n2,3\n3,4\n")
    with pytest.raises(
        InputError, match=r"has no header line naming a 'close' column .*set header: false and close_column"
    ):
        open_input(path)
    total = run(open_input(path, reading=Reading(header=False, close_column=2)), make_config(2)).total
    assert (total.rows, total.signals) == (3, 1)


def test_close_by_position_reads_a_headerless_file_of_tickers_and_dates_from_its_first_row(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ticks.csv"
    path.write_text("BTC,2024-01-01,5\nBTC,2024-01-02,3\nBTC,2024-01-03,4\n")
    total = run(open_input(path, reading=Reading(close_column=3)), make_config(2)).total
    assert (total.rows, total.signals) == (3, 1)  # the first row is data, not a header


def test_close_and_time_columns_named_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "named.csv"
    path.write_text("when,last\n2024-01-01 00:02:00,3\n2024-01-01 00:01:00,1\n2024-01-01 00:00:00,2\n")
    reading = Reading(close_column="Last", timestamp_column="when")
    data = open_input(path, reading=reading)
    assert data.parts[0].timestamp is not None
    assert data.parts[0].timestamp.descending
    total = run(data, make_config(2, reading=reading)).total
    assert (total.rows, total.signals) == (3, 1)  # 2, 1, 3 in time order: only 3 is above its mean


def test_a_ticker_without_a_close_on_some_rows_has_no_rows_there(tmp_path: Path) -> None:
    # A stock beside a coin: yfinance leaves the stock's cells empty on weekends.
    path = tmp_path / "two.csv"
    rows = [
        ("2024-01-05", "10", "1"),
        ("2024-01-06", "11", ""),
        ("2024-01-07", "12", ""),
        ("2024-01-08", "13", "3"),
    ]
    body = "".join(f"{day} 00:00:00+00:00,{btc},{stock}\n" for day, btc, stock in rows)
    path.write_text("Price,Close,Close\nTicker,BTC-USD,AAPL\nDate,,\n" + body)
    result = run(open_input(path), make_config(2, group_by="ticker"))
    assert [(name, group.rows, group.missing, group.signals) for name, group in result.groups] == [
        ("BTC-USD", 4, 0, 3),
        ("AAPL", 2, 0, 1),
    ]
