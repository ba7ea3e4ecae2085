"""Shared fixtures: the fixture files, the real data beside the project, small file writers."""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from signal_job.computing.pipeline import PolarsEngine, Result, run
from signal_job.computing.route import Limits, decide
from signal_job.config import Config, Reading
from signal_job.partial import Counts
from signal_job.reading.inputs import Input, open_input

DATA = Path(__file__).parent / "data"
PROJECT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).with_name("signal-job")  # the installed console script
REAL_ROWS, REAL_SIGNALS = 10_000, 4_989

WriteFile = Callable[..., Path]
ENGINES: tuple[PolarsEngine, ...] = ("streaming", "in-memory")

# The everyday loop runs each property on a fifth of its examples; CI sets SIGNAL_JOB_FULL_TESTS=1
# and runs them at full size (docs/development.md).
FULL_TESTS = os.environ.get("SIGNAL_JOB_FULL_TESTS") == "1"


def examples(full: int) -> int:
    """How many examples a property tries: `full` in CI, a fifth (at least 10) in the everyday loop."""
    return full if FULL_TESTS else max(10, full // 5)


def make_config(window: int = 5, group_by: str | None = None, reading: Reading | None = None) -> Config:
    """A config as the job would read it, with `reading` keys (`Reading(sort=True)`, ...) if given."""
    return Config(seed=42, window=window, version="test", group_by=group_by, reading=reading or Reading())


# Polars settings that must not change a result; each is read once, as Polars is imported.
POLARS_SETTINGS = (
    ("POLARS_MAX_THREADS", "1"),
    ("POLARS_MAX_THREADS", "4"),
    ("POLARS_IDEAL_MORSEL_SIZE", "3"),
)


def under_polars_settings(code: str, *args: str) -> list[Any]:
    """What Python `code` prints as JSON, run with `args` in a process of its own per `POLARS_SETTINGS`."""
    results = []
    for name, value in POLARS_SETTINGS:
        env = {**os.environ, name: value}
        done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, check=True)
        results.append(json.loads(done.stdout))
    return results


def run_with(data: Input, config: Config, limits: Limits, **options: Any) -> Result:
    """`pipeline.run` on the route decided with `limits`: how a test chooses a way, by its thresholds."""
    route = decide(data, config, signals=options.get("signals") is not None, limits=limits)
    return run(data, config, route=route, **options)


def counts_of(path: Path, window: int = 5, engine: PolarsEngine = "streaming") -> Counts:
    """The counts of the input at `path` (a file, glob or folder), as the job computes them."""
    return run(open_input(path), make_config(window), engine=engine).total


@pytest.fixture(autouse=True)
def _detach_cli_log_handlers() -> Iterator[None]:
    """CLI tests point the job's logger at streams that close with them; detach after each test."""
    yield
    logger = logging.getLogger("signal_job")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.propagate = True


@pytest.fixture(scope="session")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The task's real 10,000 BTC/USD candles: the bundled data.csv as shipped, and unwrapped.

    As shipped, every line is wrapped in quotes, lines end in CRLF and the last has no newline;
    the clean spelling (plain CSV, LF, final newline) is derived from it byte for byte.
    """
    folder = tmp_path_factory.mktemp("real")
    shipped = (PROJECT / "data.csv").read_bytes()
    (folder / "btcusd_1m_10k_as_shipped.csv").write_bytes(shipped)
    clean = "\n".join(line.strip('"') for line in shipped.decode().split("\r\n")) + "\n"
    (folder / "btcusd_1m_10k.csv").write_text(clean)
    return folder


@pytest.fixture
def write_file(tmp_path: Path) -> WriteFile:
    """Write text (or bytes) to a file in a temporary folder and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def empty_tmpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty folder set as the run's `TMPDIR`, where its staging goes (and must not stay)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr("tempfile.tempdir", None)
    return folder


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A valid config with window 5."""
    path = tmp_path / "config.yaml"
    path.write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    return path


# A real S3 API for inputs and outputs in object storage: moto's server, on 127.0.0.1.
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
_buckets = itertools.count()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_moto(log: Path, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server as a process on a free port of 127.0.0.1, and its endpoint, once it answers."""
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return server, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    server.kill()
    pytest.fail(f"moto_server did not start: {log.read_text()}")


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("moto") / "server.log"


@pytest.fixture(scope="module")
def endpoint(server_log: Path) -> Iterator[str]:
    server, address = start_moto(server_log)
    yield address
    server.terminate()
    server.wait(timeout=10)


@dataclass
class Bucket:
    """A fresh bucket on the S3 server, with the environment pointing at it."""

    name: str
    client: Any  # boto3's S3 client: sets up the objects, as a user's upload would

    def put(self, key: str, body: bytes) -> str:
        self.client.put_object(Bucket=self.name, Key=key, Body=body)
        return self.url(key)

    def url(self, key: str = "") -> str:
        return f"s3://{self.name}/{key}"


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    import boto3

    for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3")
    name = f"candles-{os.getpid()}-{next(_buckets)}"
    client.create_bucket(Bucket=name)
    return Bucket(name, client)
