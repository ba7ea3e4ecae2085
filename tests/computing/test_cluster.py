"""The dask engine against the local run, on real clusters on 127.0.0.1 (scheduler, workers)."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import polars as pl
import pytest

import signal_job
from signal_job.computing.cluster import run_on_dask
from signal_job.computing.pipeline import PolarsEngine, run
from signal_job.errors import IMAGE_VARIABLE, ClashError, ConfigError, InputError, OutputError
from signal_job.options import Option
from signal_job.reading.inputs import open_input
from tests.computing.test_by_file import candles, split_real_file, write_split
from tests.computing.test_dataset import assert_same_bits
from tests.conftest import CONSOLE_SCRIPT, ENGINES, PROJECT, make_config

DASK = Path(sys.executable).with_name("dask")

# Every test here starts a cluster (processes or a LocalCluster): seconds each, about a minute in
# all. CI runs them (-m slow); the everyday loop meets Dask in tests/reading/test_storage.py.
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A real scheduler and two workers, each its own process (`dask scheduler`, `dask worker`)."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    port = address.rsplit(":", 1)[1]
    processes = [
        subprocess.Popen(
            [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
    ]
    processes += [
        subprocess.Popen(
            [str(DASK), "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        for _ in range(2)
    ]
    try:
        _wait_for_workers(address, 2)
        yield address
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def _wait_for_workers(address: str, count: int) -> None:
    from distributed import Client

    deadline = time.monotonic() + 60
    while True:
        try:
            with Client(address, timeout="2s") as client:
                client.wait_for_workers(count, timeout=max(1.0, deadline - time.monotonic()))
                return
        except (OSError, TimeoutError):
            if time.monotonic() > deadline:
                raise


def console(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], cwd=cwd, capture_output=True, check=False, timeout=180
    )


def run_args(tmp_path: Path, data: Path, *more: str) -> list[str]:
    config = tmp_path / "config.yaml"
    if not config.exists():
        config.write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    return ["run", "--input", str(data), "--config", str(config), "--output", str(tmp_path / "m.json"),
            "--log-file", str(tmp_path / "run.log"), *more]  # fmt: skip


def leftovers(folder: Path) -> list[str]:
    """Temporary files or folders a run left beside its outputs (their names start with a dot)."""
    return sorted(path.name for path in folder.iterdir() if path.name.startswith("."))


def test_dask_attached_to_a_running_scheduler_gives_the_local_document(
    tmp_path: Path, scheduler: str
) -> None:
    folder = split_real_file(tmp_path)
    local = console(*run_args(tmp_path, folder), cwd=tmp_path)
    on_dask = console(*run_args(tmp_path, folder, "--engine", "dask", "--address", scheduler), cwd=tmp_path)
    assert on_dask.returncode == 0, on_dask.stderr
    local_document, dask_document = orjson.loads(local.stdout), orjson.loads(on_dask.stdout)
    for document in (local_document, dask_document):
        del document["latency_ms"]
    assert dask_document == local_document
    assert dask_document["rows_processed"] == 10_000
    assert dask_document["value"] == 0.4989
    # Six files, in shares of consecutive files: at most two tasks per worker.
    tasks = re.search(rb"dask: (\d+) tasks? of 6 files on 2 workers", on_dask.stderr)
    assert tasks is not None, on_dask.stderr
    assert 2 <= int(tasks[1]) <= 4


def test_dask_reads_standard_input_from_its_copy_by_its_real_name(tmp_path: Path, scheduler: str) -> None:
    # The workers are other processes: the copy must not be named through the job's own descriptor.
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--input", "-", "--engine", "dask", "--address", scheduler],
        cwd=tmp_path,
        input=(PROJECT / "data.csv").read_bytes(),
        capture_output=True,
        check=False,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert (orjson.loads(done.stdout)["rows_processed"], orjson.loads(done.stdout)["value"]) == (
        10_000,
        0.4989,
    )


def test_dask_address_from_the_environment(tmp_path: Path, scheduler: str) -> None:
    folder = split_real_file(tmp_path)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *run_args(tmp_path, folder, "--engine", "dask")],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=180,
        env={**os.environ, "DASK_SCHEDULER_ADDRESS": scheduler},
    )
    assert done.returncode == 0, done.stderr
    assert scheduler.encode() in done.stderr


def test_dask_starts_a_local_cluster_when_given_no_address(tmp_path: Path) -> None:
    folder = split_real_file(tmp_path)
    env = {name: value for name, value in os.environ.items() if name != "DASK_SCHEDULER_ADDRESS"}
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), *run_args(tmp_path, folder, "--engine", "dask", "--workers", "2")],
        cwd=tmp_path,
        capture_output=True,
        check=False,
        timeout=180,
        env={**env, "SIGNAL_JOB_ENGINE": "dask"},
    )
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["value"] == 0.4989
    assert b"on 2 workers at tcp://127.0.0.1:" in done.stderr


def test_a_bad_line_on_a_worker_is_the_local_error(tmp_path: Path, scheduler: str) -> None:
    folder = split_real_file(tmp_path)
    bad = sorted(folder.glob("*.csv"))[0]
    lines = bad.read_text().splitlines()
    lines[5] = lines[5].replace(",", ",x", 4)
    bad.write_text("\n".join(lines) + "\n")
    local = console(*run_args(tmp_path, folder, "--signals", "local.parquet"), cwd=tmp_path)
    on_dask = console(
        *run_args(tmp_path, folder, "--engine", "dask", "--address", scheduler, "--signals", "signals"),
        cwd=tmp_path,
    )
    assert local.returncode == on_dask.returncode == 1
    assert orjson.loads(on_dask.stdout) == orjson.loads(local.stdout)
    assert f"{bad.name}".encode() in on_dask.stdout
    assert b"Traceback" not in on_dask.stderr
    assert not (tmp_path / "signals").exists()
    assert leftovers(tmp_path) == []


def test_hive_groups_on_dask_equal_the_local_groups(tmp_path: Path, scheduler: str) -> None:
    tree = tmp_path / "tree"
    for symbol, closes in (("BTC", ["5", "5", "6", "7", "7", "8"]), ("ETH", ["2", "1", "3", "3"])):
        (tree / f"symbol={symbol}").mkdir(parents=True)
        candles(closes[:3]).write_csv(tree / f"symbol={symbol}" / "1.csv")
        candles(closes[3:], 3).write_csv(tree / f"symbol={symbol}" / "2.csv")
    data = open_input(tree)
    config = make_config(2, group_by="symbol")
    on_dask = run_on_dask(data, config, address=scheduler, workers=None)
    assert on_dask == run(data, config)
    assert [name for name, _ in on_dask.groups] == ["BTC", "ETH"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (make_config(2, group_by="symbol"), r"group_by: symbol is a column inside the files"),
        (
            make_config(2, reading=make_config().reading.__class__(sort=True)),
            rf"sort: true .* does not run with {Option.ENGINE.given('dask')}",
        ),
    ],
)
def test_what_needs_rows_of_several_files_is_refused_on_dask(
    tmp_path: Path, config: object, message: str
) -> None:
    path = tmp_path / "s.csv"
    candles(["1", "2"]).with_columns(symbol=pl.lit("A")).write_csv(path)
    with pytest.raises(ConfigError, match=message):
        run_on_dask(open_input(path), config, address="tcp://127.0.0.1:1", workers=None)  # type: ignore[arg-type]


def test_an_unreachable_scheduler_is_a_job_error(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    with socket.socket() as held:  # bound, never listening: refused, and no other test can take it
        held.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{held.getsockname()[1]}"
        done = console(
            *run_args(tmp_path, tmp_path / "data.csv", "--engine", "dask", "--address", address), cwd=tmp_path
        )
    assert done.returncode == 1
    assert f"cannot reach the Dask scheduler at {address}" in orjson.loads(done.stdout)["error_message"]
    assert b"Traceback" not in done.stderr


def test_an_address_where_a_worker_answers_is_not_taken_for_a_scheduler(
    tmp_path: Path, scheduler: str
) -> None:
    # Found when a scheduler's port, freed, was taken by a worker of another test's cluster.
    from distributed import Client

    with Client(scheduler, timeout="10s") as client:
        worker = next(iter(client.scheduler_info()["workers"]))
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    done = console(
        *run_args(tmp_path, tmp_path / "data.csv", "--engine", "dask", "--address", worker), cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout
    message = orjson.loads(done.stdout)["error_message"]
    said = f"cannot reach the Dask scheduler at {worker}: what answers there is not a Dask scheduler"
    assert message.startswith(said), message
    assert b"Traceback" not in done.stderr


def run_python(tmp_path: Path, probe: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`python -c probe args` in a folder holding the bundled data.csv."""
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    command = [sys.executable, "-c", probe, *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, check=False, timeout=120)


@pytest.mark.parametrize(
    ("image", "advice"),
    [
        ("", "pip install '.[dask]' from a checkout of signal-job, or 'signal_job-"),
        ("1", "rebuild the image with the build argument EXTRAS=dask (docs/docker.md)"),
    ],
)
def test_without_the_dask_extra_the_message_says_how_to_install_it_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, image: str, advice: str
) -> None:
    monkeypatch.setenv(IMAGE_VARIABLE, image)  # the Dockerfile sets it in the image
    probe = (
        "import sys; sys.modules['distributed'] = None\n"
        "from signal_job.cli import main\n"
        "sys.argv = ['signal-job', *sys.argv[1:]]; main()\n"
    )
    done = run_python(tmp_path, probe, *run_args(tmp_path, tmp_path / "data.csv", "--engine", "dask"))
    assert done.returncode == 1
    assert f"--engine dask needs the dask extra: {advice}" in orjson.loads(done.stdout)["error_message"]


def test_the_python_api_runs_on_dask_too(tmp_path: Path, scheduler: str) -> None:
    folder = split_real_file(tmp_path)
    result = signal_job.run(
        folder, config={"seed": 1, "window": 5, "version": "v"}, engine="dask", address=scheduler
    )
    assert (result.rows, result.signals) == (10_000, 4_989)


def test_dask_with_a_cache_sends_only_new_files(tmp_path: Path, scheduler: str) -> None:
    folder = split_real_file(tmp_path)
    kept = tmp_path / "kept"
    config = make_config(5)
    first = run_on_dask(open_input(folder), config, address=scheduler, workers=None, kept=kept)
    extra = folder / "0.csv"  # later than every other file
    candles(["1", "2"], 10_001).write_csv(extra)
    grown = open_input(folder)
    again = run_on_dask(grown, config, address=scheduler, workers=None, kept=kept)
    assert first.total.rows == 10_000
    assert again == run(grown, config)
    assert len(list(kept.glob("*.json"))) == 7  # six files, then the one added


def test_closes_of_zero_or_below_on_dask_give_the_local_warning(tmp_path: Path, scheduler: str) -> None:
    closes: list[str | None] = [str(i % 5 - 1) for i in range(40)]  # -1, 0, 1, 2, 3 again and again
    folder = write_split(tmp_path / "days", closes, [7, 20, 33], ["csv", "parquet", "csv.gz"])
    local = console(*run_args(tmp_path, folder), cwd=tmp_path)
    on_dask = console(*run_args(tmp_path, folder, "--engine", "dask", "--address", scheduler), cwd=tmp_path)
    assert on_dask.returncode == local.returncode == 0, on_dask.stderr
    warnings = orjson.loads(on_dask.stdout)["warnings"]
    assert warnings == orjson.loads(local.stdout)["warnings"]
    # The files' order is their names' (z.csv first); the first line there is line 2.
    assert warnings[0].startswith(
        f"16 close values are 0 or negative (the first: input file {folder / 'z.csv'} line 2)"
    )


def test_the_python_api_refuses_an_unknown_engine() -> None:
    with pytest.raises(ValueError, match=r"engine must be 'local' or 'dask', not 'spark'"):
        signal_job.run(PROJECT / "data.csv", config={"seed": 1, "window": 5, "version": "v"}, engine="spark")  # type: ignore[arg-type]


def test_a_local_cluster_starts_when_the_dashboard_port_is_taken(tmp_path: Path) -> None:
    # Another cluster, or a notebook's, holds 8787 (or this holder could not bind: then one does).
    with socket.socket() as holder:
        with contextlib.suppress(OSError):
            holder.bind(("127.0.0.1", 8787))
            holder.listen()
        folder = split_real_file(tmp_path)
        result = signal_job.run(folder, config=make_config(5), engine="dask", workers=1)
    assert (result.rows, result.signals) == (10_000, 4_989)


def test_the_signals_dataset_on_dask_is_the_local_signals_file(tmp_path: Path, scheduler: str) -> None:
    folder = split_real_file(tmp_path)
    local = console(*run_args(tmp_path, folder, "--signals", "local.parquet"), cwd=tmp_path)
    on_dask = console(
        *run_args(
            tmp_path, folder, "--engine", "dask", "--address", scheduler, "--signals", "signals.parquet"
        ),
        cwd=tmp_path,
    )
    assert on_dask.returncode == 0, on_dask.stderr
    local_document, dask_document = (orjson.loads(done.stdout) for done in (local, on_dask))
    assert {**dask_document, "latency_ms": 0} == {**local_document, "latency_ms": 0}
    assert (tmp_path / "signals.parquet").is_dir()  # a folder of parts, whatever its name
    assert_same_bits(
        pl.read_parquet(tmp_path / "local.parquet"), pl.read_parquet(tmp_path / "signals.parquet")
    )
    assert re.search(
        rb"dask: \d+ tasks? of 6 files on 2 workers at .*, writing their signals", on_dask.stderr
    )
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("engine", ENGINES)
def test_a_split_series_of_mixed_files_has_the_local_signals_on_dask(
    tmp_path: Path, scheduler: str, engine: PolarsEngine
) -> None:
    closes: list[str | None] = [str(100 + (i * 37) % 23) + ("" if i % 3 else ".125") for i in range(60)]
    closes[17] = closes[40] = None
    # Files of 1 to 25 rows, a window of 8: windows span up to four files.
    folder = write_split(tmp_path / "days", closes, [1, 3, 5, 6, 30, 55], ["csv", "parquet", "csv.gz"])
    data = open_input(folder, timestamps=True)
    config = make_config(8)
    local = run(data, config, signals=tmp_path / "local.parquet", engine=engine)
    (tmp_path / "parts").mkdir()
    assert run_on_dask(data, config, address=scheduler, workers=None, signals=tmp_path / "parts") == local
    assert_same_bits(pl.read_parquet(tmp_path / "local.parquet"), pl.read_parquet(tmp_path / "parts"))


def test_a_dataset_is_replaced_by_a_later_run_and_removed_by_a_failed_one(
    tmp_path: Path, scheduler: str
) -> None:
    folder = split_real_file(tmp_path)
    signals = tmp_path / "signals"
    config = {"seed": 1, "window": 5, "version": "v"}
    signal_job.run(folder, config=config, engine="dask", address=scheduler, signals=signals)
    signal_job.run(folder, config={**config, "window": 3}, engine="dask", address=scheduler, signals=signals)
    signal_job.run(folder, config={**config, "window": 3}, signals=tmp_path / "local.parquet")
    assert_same_bits(pl.read_parquet(tmp_path / "local.parquet"), pl.read_parquet(signals))
    bad = sorted(folder.glob("*.csv"))[-1]
    lines = bad.read_text().splitlines()
    lines[2] = lines[2].replace(",", ",x", 4)
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=rf"{bad.name} line 3") as on_dask:
        signal_job.run(folder, config=config, engine="dask", address=scheduler, signals=signals)
    with pytest.raises(InputError) as here:
        signal_job.run(folder, config=config)
    assert str(on_dask.value) == str(here.value)
    assert not signals.exists()  # no dataset beside an error: the earlier one is removed
    assert leftovers(tmp_path) == []


def run_refused_before_a_cluster(tmp_path: Path, **more: Path) -> None:
    """A dask run writing the dataset `signals`, at a scheduler no one listens on: refused before it."""
    signal_job.run(
        tmp_path / "data.csv",
        config={"seed": 1, "window": 5, "version": "v"},
        engine="dask",
        address="tcp://127.0.0.1:1",
        signals=tmp_path / "signals",
        **more,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda path: path.write_text("x"),
            r'signals dataset .* is a file; with engine="dask", signals names a folder',
        ),
        (
            lambda path: (path.mkdir(), (path / "notes.txt").write_text("mine")),
            r"holds 'notes.txt', which is no part of a signals dataset",
        ),
    ],
    ids=["a-file", "a-folder-of-other-files"],
)
def test_a_signals_path_that_is_not_a_dataset_is_refused_and_kept(
    tmp_path: Path, make: Callable[[Path], object], message: str
) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    make(tmp_path / "signals")
    before = sorted(str(path) for path in tmp_path.rglob("*"))
    with pytest.raises(OutputError, match=message):
        run_refused_before_a_cluster(tmp_path)
    assert sorted(str(path) for path in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("option", ["output", "cache"])
def test_an_output_or_cache_inside_the_dataset_folder_is_refused(tmp_path: Path, option: str) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    inside = tmp_path / "signals" / "inside"
    with pytest.raises(ClashError, match=rf"^{option} .*inside is inside the signals dataset"):
        run_refused_before_a_cluster(tmp_path, **{option: inside})
    assert not (tmp_path / "signals").exists()


def test_signals_with_a_cache_on_dask_count_only_new_files_but_write_every_part(
    tmp_path: Path, scheduler: str, caplog: pytest.LogCaptureFixture
) -> None:
    folder = split_real_file(tmp_path)
    config = {"seed": 1, "window": 5, "version": "v"}
    kept = tmp_path / "kept"
    signal_job.run(folder, config=config, engine="dask", address=scheduler, cache=kept)
    with caplog.at_level(logging.INFO, logger="signal_job"):
        signal_job.run(
            folder, config=config, engine="dask", address=scheduler, cache=kept, signals=tmp_path / "s"
        )
    assert "6 of 6 files counted before" in caplog.text
    signal_job.run(folder, config=config, signals=tmp_path / "local.parquet")
    assert_same_bits(pl.read_parquet(tmp_path / "local.parquet"), pl.read_parquet(tmp_path / "s"))


def test_signals_with_a_cache_on_the_local_engine_are_refused_saying_what_writes_them(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    with pytest.raises(
        ConfigError, match=r'^signals is not written with cache on the local engine: .* engine="dask"'
    ):
        signal_job.run(
            tmp_path / "data.csv",
            config={"seed": 1, "window": 5, "version": "v"},
            cache=tmp_path / "kept",
            signals=tmp_path / "s.parquet",
        )
    assert not (tmp_path / "s.parquet").exists()


@pytest.fixture
def one_worker() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A scheduler that fails a task at its first dead worker, and one worker process (no nanny)."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    scheduler = subprocess.Popen(
        [str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = subprocess.Popen(
        [
            str(DASK),
            "worker",
            address,
            "--nthreads",
            "1",
            "--no-dashboard",
            "--host",
            "127.0.0.1",
            "--no-nanny",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        _wait_for_workers(address, 1)
        yield address, worker
    finally:
        for process in (worker, scheduler):
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def test_a_worker_killed_while_writing_the_signals_is_a_job_error_that_leaves_no_dataset(
    tmp_path: Path, one_worker: tuple[str, subprocess.Popen[bytes]]
) -> None:
    address, worker = one_worker
    folder = split_real_file(tmp_path)
    kept = tmp_path / "kept"
    # Every file counted now, so that the run below sends its worker nothing but signals tasks.
    run_on_dask(open_input(folder), make_config(5), address=address, workers=None, kept=kept)
    signals = tmp_path / "signals"
    signals.mkdir()  # a dataset of an earlier run, which a failed run must not leave behind
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    signal_job.run(
        tmp_path / "data.csv",
        config={"seed": 1, "window": 5, "version": "v"},
        signals=signals / "part-00000.parquet",
    )
    # Stopped, the worker takes its task and cannot finish it: killed then, it dies with it in hand.
    os.kill(worker.pid, signal.SIGSTOP)
    args = run_args(tmp_path, folder, "--engine", "dask", "--address", address, "--cache", str(kept))
    job = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *args, "--signals", str(signals)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    from distributed import Client

    with Client(address, timeout="10s") as client:
        deadline = time.monotonic() + 60
        while not any(client.processing().values()):
            assert job.poll() is None, job.communicate()
            assert time.monotonic() < deadline, "the run sent no task"
            time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    stdout, stderr = job.communicate(timeout=60)
    assert job.returncode == 1, stderr
    message = orjson.loads(stdout)["error_message"]
    assert re.match(
        r"a Dask worker died while writing the signals of input files? '[^']*days/\d\.csv'", message
    )
    assert b"Traceback" not in stderr
    assert not signals.exists()
    assert leftovers(tmp_path) == []
