from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import signal_job
from tests.conftest import CONSOLE_SCRIPT, PROJECT, REAL_ROWS, REAL_SIGNALS

CONFIG = {"seed": 42, "window": 5, "version": "v1"}


@pytest.fixture
def bundled(tmp_path: Path) -> Path:
    """A folder holding the bundled data.csv and config.yaml, as a fresh clone has them."""
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, tmp_path / name)
    return tmp_path


def cli_document(folder: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "run", *args], cwd=folder, capture_output=True, check=False, timeout=120
    )
    document: dict[str, object] = orjson.loads(done.stdout)
    return document


def test_a_run_returns_the_bundled_result_and_the_document_the_command_line_prints(bundled: Path) -> None:
    result = signal_job.run(bundled / "data.csv", config=bundled / "config.yaml")
    assert (result.rows, result.signals, result.rate) == (REAL_ROWS, REAL_SIGNALS, 0.4989)
    assert (result.version, result.seed) == ("v1", 42)
    printed = cli_document(bundled)
    assert list(result.document) == list(printed)
    assert {**result.document, "latency_ms": 0} == {**printed, "latency_ms": 0}
    assert result.document["latency_ms"] == result.latency_ms


def test_a_run_returns_the_documents_warnings_such_as_closes_of_zero_or_below(tmp_path: Path) -> None:
    data = tmp_path / "prices.csv"
    data.write_text("close\n2\n0\n3\n-1\n4\n")
    result = signal_job.run(data, config={**CONFIG, "window": 2})
    assert result.warnings == result.document["warnings"]
    assert result.warnings[0].startswith(
        f"2 close values are 0 or negative (the first: input file {data} line 3)"
    )
    assert signal_job.run(PROJECT / "data.csv", config=CONFIG).warnings == []


def test_a_config_path_mapping_or_config_object_give_the_same_result(bundled: Path) -> None:
    data = str(bundled / "data.csv")
    config = signal_job.Config(seed=42, window=5, version="v1")
    results = [signal_job.run(data, config=given) for given in (str(bundled / "config.yaml"), CONFIG, config)]
    assert {(r.rows, r.signals, r.version, r.seed) for r in results} == {(REAL_ROWS, REAL_SIGNALS, "v1", 42)}


def test_errors_are_the_jobs_exceptions_with_the_command_lines_messages(
    bundled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(bundled)
    with pytest.raises(signal_job.InputError) as missing:
        signal_job.run("missing.csv")  # the defaults: config.yaml, as the command line's
    assert missing.value.version == "v1"
    printed = cli_document(bundled, "--input", "missing.csv")
    assert printed == {"version": "v1", "status": "error", "error_message": str(missing.value)}
    assert str(missing.value) == "input file missing.csv does not exist"


def test_a_bad_config_mapping_is_checked_as_a_file_would_be(bundled: Path) -> None:
    with pytest.raises(
        signal_job.ConfigError, match=r"config key 'window' in the config mapping must be at least 1"
    ):
        signal_job.run(bundled / "data.csv", config={**CONFIG, "window": 0})
    with pytest.raises(signal_job.ConfigError, match=r"the config mapping is missing 'seed'"):
        signal_job.run(bundled / "data.csv", config={"window": 5, "version": "v1"})


def test_the_output_gets_the_document_and_a_failure_replaces_an_older_success(bundled: Path) -> None:
    output = bundled / "metrics.json"
    result = signal_job.run(bundled / "data.csv", config=CONFIG, output=output)
    assert orjson.loads(output.read_bytes()) == result.document
    (bundled / "bad.csv").write_text("close\n1\nnot a price\n")
    with pytest.raises(signal_job.InputError, match=r"bad\.csv line 3") as failed:
        signal_job.run(bundled / "bad.csv", config=CONFIG, output=output)
    written = orjson.loads(output.read_bytes())
    assert written == {"version": "v1", "status": "error", "error_message": str(failed.value)}


def test_an_output_that_is_the_input_is_refused_and_the_input_kept(bundled: Path) -> None:
    before = (bundled / "data.csv").read_bytes()
    with pytest.raises(signal_job.ClashError, match=r"data\.csv") as clash:
        signal_job.run(bundled / "data.csv", config=bundled / "config.yaml", output=bundled / "data.csv")
    assert clash.value.version == "v1"  # as the command line's error document says
    assert (bundled / "data.csv").read_bytes() == before


def test_messages_name_the_keyword_arguments_that_the_caller_gave_not_the_flags(bundled: Path) -> None:
    output = bundled / "metrics.json"
    with pytest.raises(signal_job.ConfigError) as refused:
        signal_job.run(
            bundled / "data.csv",
            config=CONFIG,
            output=output,
            signals=bundled / "s.parquet",
            cache=bundled / "kept",
        )
    message = (
        "signals is not written with cache on the local engine: run without cache for the signals "
        'file, or with engine="dask" for a signals dataset (a folder)'
    )
    assert str(refused.value) == message
    assert orjson.loads(output.read_bytes())["error_message"] == message  # the document says the same
    printed = cli_document(bundled, "--signals", "s.parquet", "--cache", "kept")
    assert printed["error_message"] == (
        "--signals is not written with --cache on the local engine: run without --cache for the "
        "signals file, or with --engine dask for a signals dataset (a folder)"
    )


def test_a_clash_names_the_keyword_argument_of_the_output(bundled: Path) -> None:
    with pytest.raises(signal_job.ClashError) as clash:
        signal_job.run(bundled / "data.csv", config=CONFIG, metrics_file=bundled / "data.csv")
    assert str(clash.value) == (
        f"metrics_file {bundled / 'data.csv'} is an input file of this run: the job never writes over "
        "what it reads; give metrics_file another path"
    )


def test_signals_are_written_as_the_command_line_writes_them(bundled: Path) -> None:
    signal_job.run(bundled / "data.csv", config=CONFIG, signals=bundled / "api.parquet")
    cli_document(bundled, "--signals", "cli.parquet")
    written = pl.read_parquet(bundled / "api.parquet")
    assert written.equals(pl.read_parquet(bundled / "cli.parquet"))
    assert written["signal"].sum() == REAL_SIGNALS


def test_a_run_configures_no_logging_and_no_signal_handlers(
    bundled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    logger, root = logging.getLogger("signal_job"), logging.getLogger()
    before = (list(logger.handlers), logger.level, logger.propagate, list(root.handlers), root.level)
    handlers = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    with caplog.at_level(logging.INFO, logger="signal_job"):
        signal_job.run(bundled / "data.csv", config=CONFIG)
    assert "signals: 4989, signal rate: 0.4989" in caplog.text  # through the standard logging module
    assert (list(logger.handlers), logger.level, logger.propagate) == before[:3]
    assert (list(root.handlers), root.level) == (before[3], before[4])
    assert {number: signal.getsignal(number) for number in handlers} == handlers


def test_importing_the_package_loads_neither_polars_nor_the_cli() -> None:
    code = "import sys, signal_job; print(sorted({'polars', 'typer', 'yaml'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, text=True)
    assert done.stdout.strip() == "[]"


def test_an_interrupt_mid_run_writes_the_error_document_and_is_raised_again(
    bundled: Path, caplog: pytest.LogCaptureFixture
) -> None:
    output, signals = bundled / "metrics.json", bundled / "s.parquet"
    signal_job.run(bundled / "data.csv", config=CONFIG, output=output, signals=signals)

    class CtrlC(logging.Handler):
        """Ctrl-C as the run reads its input: after its paths are checked, before its result."""

        def emit(self, record: logging.LogRecord) -> None:
            if record.getMessage().startswith("input "):
                raise KeyboardInterrupt

    logger = logging.getLogger("signal_job")
    logger.addHandler(handler := CtrlC())
    try:
        with caplog.at_level(logging.INFO, logger="signal_job"), pytest.raises(KeyboardInterrupt):
            signal_job.run(bundled / "data.csv", config=CONFIG, output=output, signals=signals)
    finally:
        logger.removeHandler(handler)
    assert orjson.loads(output.read_bytes()) == {
        "version": "v1",
        "status": "error",
        "error_message": "interrupted by KeyboardInterrupt",
    }
    assert not signals.exists()  # the earlier success's signals file went with its document


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            signal_job.Config(seed=42, window=0, version="v1"),
            "config key 'window' in the Config must be at least 1",
        ),
        (
            signal_job.Config(seed=2**70, window=5, version="v1"),
            "config key 'seed' in the Config must be at most",
        ),
        (
            signal_job.Config(seed=1, window=5, version=""),
            "config key 'version' in the Config must be a non-empty",
        ),
        (
            signal_job.Config(seed=1, window=5, version="v1", reading=None),  # type: ignore[arg-type]
            "the Config's reading must be a Reading, not NoneType",
        ),
    ],
)
def test_a_config_object_is_checked_as_a_file_would_be(bundled: Path, config: object, message: str) -> None:
    with pytest.raises(signal_job.ConfigError, match=message):
        signal_job.run(bundled / "data.csv", config=config)  # type: ignore[arg-type]


def test_the_package_lists_its_lazy_names() -> None:
    names = {"run", "signals", "explain", "RunResult", "GroupResult", "Config", "Reading", "InputError"}
    assert names <= set(dir(signal_job))


@pytest.mark.parametrize(("chosen", "morsel"), [(None, "25000"), ("100000", "100000")])
def test_a_run_sets_polars_memory_defaults_before_it_imports_polars(
    bundled: Path, chosen: str | None, morsel: str
) -> None:
    # Polars reads its morsel size as it is imported: what counts is the environment then.
    names = ("POLARS_CSV_CHUNK_SIZE", "POLARS_IDEAL_MORSEL_SIZE", "POLARS_ROW_GROUP_PREFETCH_SIZE")
    probe = (
        "import json, os, sys, signal_job\n"
        "seen = {}\n"
        "class Watch:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'polars' and not seen:\n"
        "            seen.update({each: os.environ.get(each) for each in sys.argv[2:]})\n"
        "sys.meta_path.insert(0, Watch())\n"
        "signal_job.run(sys.argv[1], config={'seed': 1, 'window': 5, 'version': 'v'})\n"
        "print(json.dumps(seen))\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in names}
    if chosen is not None:
        env["POLARS_IDEAL_MORSEL_SIZE"] = chosen
    done = subprocess.run(
        [sys.executable, "-c", probe, str(bundled / "data.csv"), *names],
        capture_output=True,
        check=False,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == dict(zip(names, [str(8 << 20), morsel, "2"], strict=True))


def test_a_plain_run_imports_none_of_the_optional_integrations(bundled: Path) -> None:
    # Each is imported only where it is used: dask (--engine dask), obstore (URLs), xxhash
    # (--hash), mlflow (--mlflow), and the test tools never leak into the package.
    optional = (
        "dask",
        "distributed",
        "obstore",
        "boto3",
        "botocore",
        "xxhash",
        "mlflow",
        "sqlalchemy",
        "rich",
        "pandas",  # a frame's, converted only when given one
        "matplotlib",  # a picture's (the plot extra), drawn only when asked for
    )
    probe = (
        "import sys, signal_job\n"
        "signal_job.run(sys.argv[1], config={'seed': 1, 'window': 5, 'version': 'v'})\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(bundled / "data.csv")],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert set(done.stdout.decode().split()).isdisjoint(optional)


def test_explain_is_the_text_of_the_command_line_s_explain(bundled: Path) -> None:
    text = signal_job.explain(bundled / "data.csv", config=CONFIG)
    assert text.startswith(f"route of a run over {bundled / 'data.csv'} (779,029 bytes")
    assert "  staging:   none (the rows run oldest first as they are)\n" in text
    assert "Polars query, counts, over the rows:" in text
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--explain"], cwd=bundled, capture_output=True, check=True, timeout=120
    )
    assert done.stdout.decode() == text.replace(str(bundled / "data.csv"), "data.csv")
    assert sorted(path.name for path in bundled.iterdir()) == ["config.yaml", "data.csv"]


def test_explain_of_a_cached_or_dask_run_names_its_engine(bundled: Path) -> None:
    cached = signal_job.explain(bundled / "data.csv", config=CONFIG, cache=bundled / "cache")
    assert "  engine:    cache (a cache folder: files counted one by one" in cached
    assert "over each file (alone):" in cached
    on_dask = signal_job.explain(bundled / "data.csv", config=CONFIG, engine="dask")
    assert (
        "  engine:    dask (asked for: the files counted on a Dask cluster, in shares of consecutive"
        in on_dask
    )
    assert not (bundled / "cache").exists()


SYMBOLS = (
    "timestamp,symbol,close\n"
    "2024-01-01 00:00:00,BTC,100\n2024-01-01 00:00:00,ETH,10\n"
    "2024-01-01 00:01:00,BTC,101\n2024-01-01 00:01:00,ETH,9\n"
    "2024-01-01 00:02:00,BTC,102\n2024-01-01 00:02:00,ETH,8\n"
)


def test_a_grouped_run_gives_each_group_s_counts_in_its_result_and_document(tmp_path: Path) -> None:
    (tmp_path / "symbols.csv").write_text(SYMBOLS)
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 2\nversion: "v1"\ngroup_by: symbol\n')
    result = signal_job.run(tmp_path / "symbols.csv", config=tmp_path / "config.yaml")
    assert result.groups == (
        signal_job.GroupResult("BTC", rows=3, signals=2, rate=0.6667, full_windows=2),
        signal_job.GroupResult("ETH", rows=3, signals=0, rate=0.0, full_windows=2),
    )
    assert result.document["groups"] == [
        {"group": "BTC", "rows_processed": 3, "signals": 2, "value": 0.6667},
        {"group": "ETH", "rows_processed": 3, "signals": 0, "value": 0.0},
    ]
    assert list(result.document)[7:] == ["inputs", "groups"]  # after the seed's keys
    printed = cli_document(tmp_path, "--input", "symbols.csv")
    assert {**printed, "latency_ms": 0} == {**result.document, "latency_ms": 0}


def test_more_groups_than_the_document_lists_are_all_in_the_result(tmp_path: Path) -> None:
    rows = "".join(f"g{index},{index % 7 + 1}\n" for index in range(1_001))
    (tmp_path / "many.csv").write_text("symbol,close\n" + rows)
    config = {**CONFIG, "window": 1, "group_by": "symbol"}
    result = signal_job.run(tmp_path / "many.csv", config=config)
    assert [each.group for each in result.groups] == [f"g{index}" for index in range(1_001)]
    assert len(result.document["groups"]) == 1_000
    assert result.document["warnings"] == [
        "groups lists the first 1,000 of 1,001 groups of symbol: every group's counts with "
        'groups="groups.csv" (or .parquet)'
    ]
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 1\nversion: "v1"\ngroup_by: symbol\n')
    printed = cli_document(tmp_path, "--input", "many.csv")
    assert printed["warnings"] == [
        "groups lists the first 1,000 of 1,001 groups of symbol: every group's counts with "
        "--groups groups.csv (or .parquet)"
    ]


def test_workers_below_one_are_refused_in_the_keyword_s_words(bundled: Path) -> None:
    with pytest.raises(ValueError, match=r"^workers must be at least 1, not 0$"):
        signal_job.run(bundled / "data.csv", config=CONFIG, engine="dask", workers=0)


@pytest.mark.parametrize(
    ("arguments", "said"),
    [
        ({"workers": 2}, 'workers needs engine="dask"'),
        ({"address": "tcp://127.0.0.1:1"}, 'address needs engine="dask"'),
        (
            {"engine": "dask", "address": "tcp://127.0.0.1:1", "workers": 2},
            "workers does nothing with address: a running scheduler has its own workers",
        ),
        ({"mlflow_experiment": "nightly"}, "mlflow_experiment needs mlflow"),
        ({"mlflow_run_name": "first"}, "mlflow_run_name needs mlflow"),
        ({"mlflow_required": True}, "mlflow_required needs mlflow"),
        ({"metrics_labels": {"job": "nightly"}}, "metrics_labels needs metrics_file"),
    ],
)
def test_an_argument_given_with_nothing_to_act_on_is_refused_before_any_work(
    bundled: Path, arguments: dict[str, object], said: str
) -> None:
    # As the command line refuses such an option (a usage error), never silently ignored.
    before = sorted(path.name for path in bundled.iterdir())
    with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
        signal_job.run(bundled / "data.csv", config=CONFIG, output=bundled / "m.json", **arguments)  # type: ignore[arg-type]
    if (
        "metrics_labels" not in arguments
        and "mlflow_run_name" not in arguments
        and "mlflow_required" not in arguments
    ):
        with pytest.raises(ValueError, match=f"^{re.escape(said)}$"):
            signal_job.sweep(bundled / "data.csv", windows="5,10", config=CONFIG, **arguments)  # type: ignore[arg-type]
    assert sorted(path.name for path in bundled.iterdir()) == before


def test_signals_returns_the_rows_the_signals_file_of_the_command_line_holds(bundled: Path) -> None:
    returned = signal_job.signals(bundled / "data.csv", config=bundled / "config.yaml")
    assert isinstance(returned, pl.LazyFrame)
    subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--signals", "written.parquet"], cwd=bundled, check=True, timeout=120
    )
    assert_frame_equal(returned.collect(), pl.read_parquet(bundled / "written.parquet"))
    assert returned.select(pl.col("signal").sum()).collect().item() == REAL_SIGNALS


def test_signals_of_a_frame_are_those_of_its_rows_in_a_file(tmp_path: Path) -> None:
    (tmp_path / "symbols.csv").write_text(SYMBOLS)
    config = {**CONFIG, "window": 2, "group_by": "symbol"}
    from_file = signal_job.signals(tmp_path / "symbols.csv", config=config).collect()
    from_frame = signal_job.signals(pl.read_csv(tmp_path / "symbols.csv"), config=config).collect()
    assert_frame_equal(from_frame, from_file)
    assert from_file.columns == ["symbol", "timestamp", "close", "rolling_mean", "signal"]
    assert from_file["signal"].to_list() == [0, 1, 1, 0, 0, 0]


def test_signals_window_replaces_the_config_s_whatever_its_form(bundled: Path, empty_tmpdir: Path) -> None:
    expected = signal_job.signals(bundled / "data.csv", config={**CONFIG, "window": 20}).collect()
    for config in (bundled / "config.yaml", CONFIG, signal_job.Config(seed=42, window=5, version="v1")):
        assert_frame_equal(
            signal_job.signals(bundled / "data.csv", config=config, window=20).collect(), expected
        )
    with pytest.raises(ValueError, match=r"^window must be an integer of at least 1, not 0$"):
        signal_job.signals(bundled / "data.csv", config=CONFIG, window=0)
    with pytest.raises(signal_job.InputError, match=r"^input file .*missing\.csv does not exist$"):
        signal_job.signals(bundled / "missing.csv", config=CONFIG)
    assert list(empty_tmpdir.iterdir()) == []  # the signals file staged is gone


def test_latency_counts_from_the_call_s_start_reading_the_config_included(bundled: Path) -> None:
    # The config comes through a pipe that is written 0.3 s after the call: the run waits for it.
    pipe = bundled / "config.pipe"
    os.mkfifo(pipe)

    def write_late() -> None:
        time.sleep(0.3)
        pipe.write_text('seed: 42\nwindow: 5\nversion: "v1"\n')

    writer = threading.Thread(target=write_late)
    run = signal_job.run  # imported first: the call starts as the writer does
    writer.start()
    started = time.perf_counter()
    result = run(bundled / "data.csv", config=pipe)
    took_ms = (time.perf_counter() - started) * 1000
    writer.join()
    assert 290 <= result.latency_ms <= took_ms + 1  # the writer's start and the call's: a few ms apart
    assert result.document["latency_ms"] == result.latency_ms


def candles_csv(rows: list[tuple[str, str, int]]) -> str:
    """Candles whose open is always twice their close: a kept column must stay with its row."""
    lines = [f"{time},{symbol},{2 * close},{close},{close * 10}" for time, symbol, close in rows]
    return "timestamp,symbol,Open,close,volume\n" + "\n".join(lines) + "\n"


MINUTES = [f"2024-01-01 00:{minute:02}:00" for minute in range(8)]
IN_ORDER = [(time, symbol, 3 + (index * 7) % 5) for index, time in enumerate(MINUTES) for symbol in "AB"]
ONE_SYMBOL = [row for row in IN_ORDER if row[1] == "A"]
LAYOUTS: dict[str, tuple[list[tuple[str, str, int]], dict[str, object]]] = {
    "in order": (ONE_SYMBOL, {}),
    "newest first": (ONE_SYMBOL[::-1], {}),
    "hive folders": (IN_ORDER, {"group_by": "market"}),
    "sorted": ([*IN_ORDER[5:], *IN_ORDER[:5]], {"sort": True, "group_by": "symbol"}),
    "repeats dropped": ([*IN_ORDER[:6], *IN_ORDER[4:]], {"duplicates": "drop", "group_by": "symbol"}),
    "groups": (IN_ORDER, {"group_by": "symbol"}),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_signals_keep_each_row_s_columns_beside_its_signal_on_every_route(
    tmp_path: Path, layout: str
) -> None:
    rows, keys = LAYOUTS[layout]
    if layout == "hive folders":  # each symbol's rows in a folder of its own market
        for symbol in "AB":
            (tmp_path / f"market={symbol}").mkdir()
            mine = [row for row in rows if row[1] == symbol]
            (tmp_path / f"market={symbol}" / "candles.csv").write_text(candles_csv(mine))
        given = tmp_path
    else:
        given = tmp_path / "candles.csv"
        given.write_text(candles_csv(rows))
    config = {**CONFIG, "window": 3, **keys}
    plain = signal_job.signals(given, config=config).collect()
    kept = signal_job.signals(given, config=config, keep=True).collect()
    assert kept.columns == [*plain.columns, "open", "volume"]
    assert_frame_equal(kept.select(plain.columns), plain)  # the signals are unchanged
    assert (kept["open"] == 2 * kept["close"]).all()
    assert (kept["volume"] == 10 * kept["close"]).all()


def test_signals_keep_named_columns_as_numbers_and_refuse_what_cannot_be_kept(tmp_path: Path) -> None:
    (tmp_path / "candles.csv").write_text(candles_csv(ONE_SYMBOL[:4]).replace(",10,5,50", ",n/a,5,50"))
    kept = signal_job.signals(tmp_path / "candles.csv", config=CONFIG, keep=["OPEN"]).collect()
    assert kept["OPEN"].to_list() == [6.0, None, 14.0, 8.0]
    with pytest.raises(
        signal_job.InputError, match=r"candles\.csv has no column 'high' to keep; columns found"
    ):
        signal_job.signals(tmp_path / "candles.csv", config=CONFIG, keep=["high"])
    with pytest.raises(signal_job.ConfigError, match=r"^column 'Close' cannot be kept beside the signals"):
        signal_job.signals(tmp_path / "candles.csv", config=CONFIG, keep="Close")


def test_closes_of_zero_or_below_in_a_frame_are_named_by_its_row() -> None:
    frame = pl.DataFrame({"close": [1.0, 0.0, 3.0]})
    result = signal_job.run(frame, config={"seed": 1, "window": 2, "version": "v"})
    assert result.warnings[-1].startswith("1 close value is 0 or negative (the first: input frame row 2)")
