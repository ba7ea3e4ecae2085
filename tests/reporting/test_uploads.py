"""Outputs in object storage, written to a real S3 API (moto's server) started on 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import signal_job
from signal_job.errors import OutputError
from signal_job.options import Option
from signal_job.reading.storage import Url
from signal_job.reporting.uploads import RemoteTarget, check_reachable, put, remote_target
from tests.conftest import CONSOLE_SCRIPT, CREDENTIALS, DATA, Bucket, free_port

CONFIG = 'seed: 1\nwindow: 5\nversion: "v1"\n'


def job(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), "run", "--log-file", "-", *args],
        cwd=cwd,
        capture_output=True,
        check=False,
        timeout=120,
    )


def keys(bucket: Bucket) -> list[str]:
    return [each["Key"] for each in bucket.client.list_objects_v2(Bucket=bucket.name).get("Contents", [])]


def body(bucket: Bucket, key: str) -> bytes:
    data: bytes = bucket.client.get_object(Bucket=bucket.name, Key=key)["Body"].read()
    return data


@pytest.fixture
def work(tmp_path: Path, empty_tmpdir: Path) -> Path:
    """A folder with local candles and a config; TMPDIR empty, where an object's signals wait."""
    shutil.copy(DATA / "candles.csv", tmp_path / "data.csv")
    (tmp_path / "config.yaml").write_text(CONFIG)
    return tmp_path


def test_a_run_over_a_local_input_puts_its_document_and_signals_as_objects(
    bucket: Bucket, work: Path, empty_tmpdir: Path
) -> None:
    done = job("--output", bucket.url("out/m.json"), "--signals", bucket.url("out/s.csv"), cwd=work)
    assert done.returncode == 0, done.stderr
    assert sorted(keys(bucket)) == ["out/m.json", "out/s.csv"]
    assert body(bucket, "out/m.json") == done.stdout
    assert orjson.loads(done.stdout)["rows_processed"] == 400
    local = job("--output", "m.json", "--signals", "s.parquet", cwd=work)
    assert local.returncode == 0, local.stderr
    types = {"close": pl.Float64, "rolling_mean": pl.Float64, "signal": pl.Int8}
    written = pl.read_csv(body(bucket, "out/s.csv"), try_parse_dates=True, schema_overrides=types)
    assert_frame_equal(written, pl.read_parquet(work / "s.parquet"))
    assert list(empty_tmpdir.iterdir()) == []  # the signals' temporary file went with the upload
    assert b"metrics written to s3://" in done.stderr


def test_a_groups_table_is_put_as_an_object(bucket: Bucket, work: Path) -> None:
    (work / "symbols.csv").write_text(
        "timestamp,symbol,close\n"
        + "".join(f"2024-01-01 00:{i // 2:02}:00,{'AB'[i % 2]},{100 + i % 7}\n" for i in range(40))
    )
    (work / "config.yaml").write_text(CONFIG + "group_by: symbol\n")
    done = job("--input", "symbols.csv", "--groups", bucket.url("g.arrow"), cwd=work)
    assert done.returncode == 0, done.stderr
    table = pl.read_ipc(body(bucket, "g.arrow"))
    assert table["group"].to_list() == ["A", "B"]
    assert table["rows"].sum() == 40


def test_a_failed_run_puts_the_error_document_and_deletes_the_earlier_signals_object(
    bucket: Bucket, work: Path, empty_tmpdir: Path
) -> None:
    outputs = ("--output", bucket.url("m.json"), "--signals", bucket.url("s.parquet"))
    assert job(*outputs, cwd=work).returncode == 0
    assert sorted(keys(bucket)) == ["m.json", "s.parquet"]
    (work / "data.csv").write_text("timestamp,close\n2024-01-01 00:00:00,1\n2024-01-01 00:01:00,x\n")
    done = job(*outputs, cwd=work)
    assert done.returncode == 1
    document = orjson.loads(body(bucket, "m.json"))
    assert document["status"] == "error"
    assert document["error_message"] == "input file data.csv line 3: close value 'x' is not a number"
    assert keys(bucket) == ["m.json"]  # no signals object beside an error document, not even half of one
    assert list(empty_tmpdir.iterdir()) == []


def test_signals_for_a_missing_bucket_fail_the_run_before_any_work_and_leave_no_object(
    bucket: Bucket, work: Path
) -> None:
    done = job("--output", bucket.url("m.json"), "--signals", "s3://no-such-bucket/s.parquet", cwd=work)
    assert done.returncode == 1
    message = "cannot write signals file s3://no-such-bucket/s.parquet: no such bucket s3://no-such-bucket"
    assert orjson.loads(done.stdout)["error_message"] == message
    assert orjson.loads(body(bucket, "m.json"))["error_message"] == message
    assert keys(bucket) == ["m.json"]
    assert b"route:" not in done.stderr  # refused before any work
    assert b"Traceback" not in done.stderr


def test_a_document_for_a_missing_bucket_is_a_clear_error_on_stdout(bucket: Bucket, work: Path) -> None:
    done = job("--output", "s3://no-such-bucket/m.json", cwd=work)
    assert done.returncode == 1
    message = "cannot write output file s3://no-such-bucket/m.json: no such bucket s3://no-such-bucket"
    assert orjson.loads(done.stdout)["error_message"] == message
    assert b"route:" not in done.stderr
    assert b"Traceback" not in done.stderr


def test_a_store_that_does_not_answer_is_refused_before_any_work(
    work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    with pytest.raises(
        OutputError, match=r"^cannot write signals file s3://b/s\.csv: cannot reach the storage"
    ):
        check_reachable(RemoteTarget(Option.SIGNALS, Url("s3://b/s.csv")))


def test_a_bucket_that_exists_passes_the_check_with_no_object_yet(bucket: Bucket) -> None:
    check_reachable(RemoteTarget(Option.OUTPUT, Url(bucket.url("not/yet.json"))))
    assert keys(bucket) == []


def test_storage_options_in_the_config_reach_the_store_of_the_outputs(
    bucket: Bucket, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for name in (*CREDENTIALS, "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    options = (
        f"  aws_endpoint_url: {endpoint}\n  aws_access_key_id: testing\n  aws_secret_access_key: testing\n"
    )
    (work / "config.yaml").write_text(CONFIG + "storage_options:\n" + options + "  aws_region: us-east-1\n")
    done = job("--output", bucket.url("m.json"), "--signals", bucket.url("s.arrow"), cwd=work)
    assert done.returncode == 0, done.stderr
    assert sorted(keys(bucket)) == ["m.json", "s.arrow"]


def test_put_of_a_missing_bucket_writes_nothing_and_says_which(bucket: Bucket, tmp_path: Path) -> None:
    (tmp_path / "s.parquet").write_bytes(b"PAR1" * 1000)
    out = RemoteTarget(Option.SIGNALS, Url("s3://no-such-bucket/s.parquet"))
    with pytest.raises(
        OutputError, match=r"^cannot write signals file s3://no-such-bucket/s\.parquet: no such"
    ):
        put(out, tmp_path / "s.parquet")
    put(RemoteTarget(Option.SIGNALS, Url(bucket.url("s.parquet"))), tmp_path / "s.parquet")
    assert body(bucket, "s.parquet") == b"PAR1" * 1000


@pytest.mark.parametrize(
    ("option", "url", "message"),
    [
        (Option.OUTPUT, "s3://bucket/", "names no object: give the bucket and the object's key, such as "),
        (Option.OUTPUT, "s3:///m.json", "names no object"),
        (Option.SIGNALS, "s3://bucket/s*.csv", "names no object"),
        (
            Option.OUTPUT,
            "https://host/m.json",
            "outputs are written to object storage at s3://, gs:// or az://",
        ),
        (
            Option.OUTPUT,
            "ftp://host/m.json",
            "outputs are written to object storage at s3://, gs:// or az://",
        ),
        (Option.LOG_FILE, "s3://bucket/run.log", "this output is written only to this machine's disk"),
        (Option.METRICS_FILE, "s3://bucket/j.prom", "this output is written only to this machine's disk"),
    ],
)
def test_an_output_url_that_can_name_no_object_is_refused(option: Option, url: str, message: str) -> None:
    with pytest.raises(OutputError, match=rf"^{option} {re.escape(url)}:? .*{message}"):
        remote_target(option, Url(url))


def test_the_python_api_puts_its_document_and_signals_as_objects_too(bucket: Bucket, work: Path) -> None:
    config = {"seed": 1, "window": 5, "version": "v1"}
    output, signals = bucket.url("api/m.json"), bucket.url("api/s.parquet")
    result = signal_job.run(work / "data.csv", config=config, output=output, signals=signals)
    assert sorted(keys(bucket)) == ["api/m.json", "api/s.parquet"]
    assert orjson.loads(body(bucket, "api/m.json")) == result.document
    written = pl.read_parquet(body(bucket, "api/s.parquet"))
    assert (written.height, int(written["signal"].sum())) == (result.rows, result.signals)
