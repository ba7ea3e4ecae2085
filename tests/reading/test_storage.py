"""Inputs in object storage, read from a real S3 API (moto's server) started on 127.0.0.1."""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import itertools
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest

import signal_job
from signal_job.computing.pipeline import run
from signal_job.errors import IMAGE_VARIABLE, ConfigError, InputError
from signal_job.reading.inputs import open_input
from signal_job.reading.sources import open_source
from signal_job.reading.storage import Url, find_objects, location, shown
from tests.conftest import CONSOLE_SCRIPT, CREDENTIALS, PROJECT, Bucket, free_port, make_config, start_moto

CONFIG = {"seed": 42, "window": 5, "version": "v1"}


def shipped() -> bytes:
    return (PROJECT / "data.csv").read_bytes()


def parquet(frame: pl.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.write_parquet(out)
    return out.getvalue()


def clean_frame() -> pl.DataFrame:
    text = "\n".join(line.strip('"') for line in shipped().decode().split("\r\n")) + "\n"
    return pl.read_csv(text.encode(), schema_overrides={"close": pl.String})


def split_into_objects(bucket: Bucket, prefix: str) -> None:
    """The bundled candles as uneven CSV, gzip and Parquet objects, named against time order."""
    frame = clean_frame()
    bounds = [0, 3, 1500, 1503, 4000, 9999, 10_000]
    for index, (start, end) in enumerate(itertools.pairwise(bounds)):
        part = frame.slice(start, end - start)
        name = f"{prefix}{9 - index}"
        if index % 3 == 0:
            bucket.put(f"{name}.csv", part.write_csv().encode())
        elif index % 3 == 1:
            bucket.put(f"{name}.parquet", parquet(part.with_columns(pl.col("close").cast(pl.Decimal(18, 2)))))
        else:
            bucket.put(f"{name}.csv.gz", gzip.compress(part.write_csv().encode()))


def local_document(tmp_path: Path) -> dict[str, Any]:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    return without_latency(signal_job.run(tmp_path / "data.csv", config=CONFIG).document)


def without_latency(document: dict[str, Any]) -> dict[str, Any]:
    """The document but its latency and what was read (paths differ, by design)."""
    return {key: value for key, value in document.items() if key not in ("latency_ms", "inputs")}


def error_of(input_url: str, **config: object) -> str:
    with pytest.raises(InputError) as caught:
        signal_job.run(input_url, config={**CONFIG, **config})
    return str(caught.value)


def test_the_as_shipped_file_from_s3_gives_the_local_document(bucket: Bucket, tmp_path: Path) -> None:
    url = bucket.put("btc/data.csv", shipped())
    document = signal_job.run(url, config=CONFIG, hash_inputs=True).document
    assert without_latency(document) == local_document(tmp_path)
    [entry] = document["inputs"]["list"]
    assert entry["path"] == url
    assert entry["etag"].strip('"') == bucket.client.head_object(Bucket=bucket.name, Key="btc/data.csv")[
        "ETag"
    ].strip('"')
    local = signal_job.run(tmp_path / "data.csv", config=CONFIG, hash_inputs=True).document["inputs"]
    assert document["inputs"]["fingerprint"] == local["fingerprint"]  # the same bytes


def test_sniffing_an_object_reads_a_range_never_the_whole_object(bucket: Bucket, server_log: Path) -> None:
    url = bucket.put("big/candles.csv", shipped() * 30)  # 23 MB
    source = open_source(Url(url))
    assert source.size == len(shipped()) * 30
    assert source.layout is not None
    assert source.layout.wrapped
    # The server's own log: each GET of the object answered 206 (Partial Content), never 200.
    gets = [
        line for line in server_log.read_text().splitlines() if f"GET /{bucket.name}/big/candles.csv" in line
    ]
    assert gets
    assert all(line.endswith("206 -") for line in gets), gets


def test_a_gzip_object_is_sniffed_from_its_first_bytes(bucket: Bucket, tmp_path: Path) -> None:
    url = bucket.put("btc/data.csv.gz", gzip.compress(shipped()))
    assert without_latency(signal_job.run(url, config=CONFIG).document) == local_document(tmp_path)


@pytest.mark.parametrize("spelled", ["{b}/days/", "{b}/days", "{b}/days/[0-9]*", "{b}/**/[0-9]*"])
def test_a_split_series_under_a_prefix_gives_the_local_document(
    bucket: Bucket, tmp_path: Path, spelled: str
) -> None:
    split_into_objects(bucket, "days/")
    bucket.put("days/_SUCCESS", b"")
    bucket.put("days/.hidden.csv", b"close\n1\n")
    url = spelled.format(b=bucket.url().rstrip("/"))
    assert without_latency(signal_job.run(url, config=CONFIG).document) == local_document(tmp_path)


def test_a_glob_matches_within_one_name_and_double_star_spans_folders(bucket: Bucket) -> None:
    for key in ("a/x.csv", "a/b/y.csv", "a/b/c/z.parquet", "a/.h.csv"):
        bucket.put(key, b"close\n1\n")
    keys = {
        url: [str(found) for found in find_objects(Url(bucket.url(url)))[0]] for url in ("a/*.csv", "a/**/*")
    }
    assert keys["a/*.csv"] == [bucket.url("a/x.csv")]
    assert keys["a/**/*"] == [bucket.url(key) for key in ("a/b/c/z.parquet", "a/b/y.csv", "a/x.csv")]


def test_hive_prefixes_group_the_objects_as_local_folders_do(bucket: Bucket, tmp_path: Path) -> None:
    frame = clean_frame()
    halves = {"symbol=AAA/part.csv": frame.head(6000), "symbol=BBB/part.csv": frame.tail(4000)}
    for key, half in halves.items():
        bucket.put(f"hive/{key}", half.write_csv().encode())
        (tmp_path / key).parent.mkdir()
        half.write_csv(tmp_path / key)
    config = make_config(5, group_by="symbol")
    remote = run(open_input(location(bucket.url("hive/"))), config)
    assert [name for name, _ in remote.groups] == ["AAA", "BBB"]
    assert remote == run(open_input(tmp_path), config)


def test_the_signals_file_of_an_object_equals_the_local_one(bucket: Bucket, tmp_path: Path) -> None:
    url = bucket.put("btc/data.csv", shipped())
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    signal_job.run(tmp_path / "data.csv", config=CONFIG, signals=tmp_path / "local.parquet")
    signal_job.run(url, config=CONFIG, signals=tmp_path / "remote.parquet")
    assert pl.read_parquet(tmp_path / "remote.parquet").equals(pl.read_parquet(tmp_path / "local.parquet"))


def test_a_signals_file_in_the_prefix_is_not_read_as_input(bucket: Bucket, tmp_path: Path) -> None:
    bucket.put("btc/data.csv", shipped())
    signal_job.run(bucket.url("btc/data.csv"), config=CONFIG, signals=tmp_path / "s.parquet")
    bucket.put("btc/s.parquet", (tmp_path / "s.parquet").read_bytes())
    assert without_latency(signal_job.run(bucket.url("btc/"), config=CONFIG).document) == local_document(
        tmp_path
    )
    assert "is a signals file that signal-job wrote" in error_of(bucket.url("btc/s.parquet"))


def test_the_cache_keeps_objects_by_etag(bucket: Bucket, tmp_path: Path) -> None:
    split_into_objects(bucket, "days/")
    kept = tmp_path / "kept"
    first = signal_job.run(bucket.url("days/"), config=CONFIG, cache=kept)
    entries = sorted(kept.iterdir())
    again = signal_job.run(bucket.url("days/"), config=CONFIG, cache=kept)
    assert sorted(kept.iterdir()) == entries  # nothing counted anew
    assert (again.rows, again.signals) == (first.rows, first.signals) == (10_000, 4_989)
    bucket.put("days/9.csv", clean_frame().head(2).write_csv().encode())  # a new ETag: counted again
    changed = signal_job.run(bucket.url("days/"), config=CONFIG, cache=kept)
    assert len(list(kept.iterdir())) == len(entries) + 1
    assert changed.rows == 10_000 - 3 + 2


def test_storage_options_in_the_config_reach_the_store(
    bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = bucket.put("btc/data.csv", shipped())
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    for name in (*CREDENTIALS, "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name)
    options = {
        "aws_endpoint_url": endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_region": "us-east-1",
    }
    assert signal_job.run(url, config={**CONFIG, "storage_options": options}).rows == 10_000
    problem = error_of(url, storage_options={**options, "no_such_option": "x"})
    assert "'no_such_option' is not valid" in problem


def test_storage_options_must_be_a_mapping_and_never_show_a_value() -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        signal_job.run("s3://b/x.csv", config={**CONFIG, "storage_options": "secret"})
    with pytest.raises(ConfigError) as caught:
        signal_job.run(
            "s3://b/x.csv", config={**CONFIG, "storage_options": {"aws_secret_access_key": ["hunter2"]}}
        )
    assert "hunter2" not in str(caught.value)


def test_missing_objects_and_buckets_are_job_errors_naming_them(bucket: Bucket) -> None:
    assert (
        error_of(bucket.url("nope.csv"))
        == f"input {bucket.url('nope.csv')} does not exist: no such object, nor objects below it"
    )
    assert "no such bucket s3://no-such-bucket" in error_of("s3://no-such-bucket/x.csv")
    bucket.put("other/readme.md", b"not data")
    assert "holds no data files" in error_of(bucket.url("other/"))
    assert (
        error_of(bucket.url("other/*.csv")) == f"input pattern {bucket.url('other/*.csv')} matches no objects"
    )


def test_an_unknown_scheme_is_refused_naming_the_ones_read() -> None:
    assert "ftp://" in error_of("ftp://host/data.csv")
    assert (
        error_of("s3:///x.csv") == "input s3:///x.csv names no bucket (or host): write it as s3://BUCKET/KEY"
    )
    assert location("file:///data/x.csv") == Path("/data/x.csv")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file:///data/x.csv", "/data/x.csv"),
        ("file://localhost/data/x.csv", "/data/x.csv"),
        ("FILE://LocalHost/data/x.csv", "/data/x.csv"),
        ("file:///data/my%20candles.csv", "/data/my candles.csv"),
        ("file:///data/100%.csv", "/data/100%.csv"),  # not an escape: kept
        ("file://data/x.csv", "data/x.csv"),
        ("file://localhost", "localhost"),  # no path: not the current folder
    ],
)
def test_a_file_url_names_the_local_path(url: str, path: str) -> None:
    assert location(url) == Path(path)


def test_an_unreachable_endpoint_is_a_job_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", closed)
    assert f"cannot reach the storage at {closed}" in error_of("s3://candles/x.csv")


def test_credentials_the_store_refuses_are_an_access_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This server checks every request's credentials: the test's are unknown to it.
    server, address = start_moto(tmp_path / "strict.log", INITIAL_NO_AUTH_ACTION_COUNT="0")
    try:
        for name, value in {**CREDENTIALS, "AWS_ENDPOINT_URL": address}.items():
            monkeypatch.setenv(name, value)
        assert "access denied; check the credentials" in error_of("s3://candles/x.csv")
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_console_script_reads_from_s3_and_fails_cleanly(bucket: Bucket, tmp_path: Path) -> None:
    url = bucket.put("btc/data.csv", shipped())
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')

    def console(input_url: str) -> subprocess.CompletedProcess[bytes]:
        args = ["run", "--input", input_url, "--output", "m.json", "--log-file", "run.log"]
        return subprocess.run(
            [str(CONSOLE_SCRIPT), *args], cwd=tmp_path, capture_output=True, check=False, timeout=120
        )

    done = console(url)
    assert done.returncode == 0, done.stderr
    assert without_latency(orjson.loads(done.stdout)) == local_document(tmp_path)
    failed = console(bucket.url("missing.csv"))
    assert failed.returncode == 1
    assert "does not exist" in orjson.loads(failed.stdout)["error_message"]
    assert b"Traceback" not in failed.stderr


@pytest.mark.parametrize(
    ("image", "advice"),
    [
        ("", b"pip install '.[cloud]' from a checkout of signal-job, or 'signal_job-"),
        ("1", b"rebuild the image with the build argument EXTRAS=cloud"),
    ],
)
def test_without_the_cloud_extra_the_message_says_how_to_install_it_here(image: str, advice: bytes) -> None:
    probe = (
        "import sys; sys.modules['obstore'] = None\n"
        "import signal_job\n"
        "try:\n"
        "    signal_job.run('s3://candles/x.csv', config={'seed': 1, 'window': 5, 'version': 'v'})\n"
        "except signal_job.InputError as exc:\n"
        "    print(exc)\n"
    )
    env = {**os.environ, IMAGE_VARIABLE: image}
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, check=False, timeout=120
    )
    assert b"inputs in object storage need the cloud extra: " + advice in done.stdout, done.stderr
    assert b"signal-job[cloud]" not in done.stdout  # on no index: pip would find nothing


def test_dask_counts_objects_exactly_across_their_boundaries(bucket: Bucket, tmp_path: Path) -> None:
    split_into_objects(bucket, "days/")
    result = signal_job.run(bucket.url("days/"), config=CONFIG, engine="dask", workers=2)
    assert without_latency(result.document) == local_document(tmp_path)


# Hostile objects: odd keys, empty and truncated objects, folder markers.


def test_an_upper_case_scheme_reads_as_lower_case(bucket: Bucket, tmp_path: Path) -> None:
    url = bucket.put("btc/data.csv", shipped())
    upper = url.replace("s3://", "S3://")
    assert without_latency(signal_job.run(upper, config=CONFIG).document) == local_document(tmp_path)


@pytest.mark.parametrize("key", ["a b/ü ñ.csv", "x%20y.csv", "q[1].csv", "deep/" * 20 + "d.csv"])
def test_odd_keys_read_as_named(bucket: Bucket, tmp_path: Path, key: str) -> None:
    url = bucket.put(key, shipped())
    bucket.put("x y.csv", b"close\n1\n")  # what a decoded `%20` would name instead
    assert without_latency(signal_job.run(url.replace("[", "[[]"), config=CONFIG).document) == local_document(
        tmp_path
    )


def test_empty_truncated_and_marker_objects_are_job_errors(bucket: Bucket) -> None:
    bucket.put("days/", b"")  # a folder marker, as consoles create: not data
    bucket.put("days/a.csv", b"")
    assert error_of(bucket.url("days/")) == f"input file {bucket.url('days/a.csv')} is empty"
    bucket.put("cut/a.csv.gz", gzip.compress(shipped())[:5000])
    assert bucket.url("cut/a.csv.gz") in error_of(bucket.url("cut/"))


def test_the_dask_signals_dataset_of_objects_equals_the_local_signals_file(
    bucket: Bucket, tmp_path: Path
) -> None:
    split_into_objects(bucket, "days/")
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    signal_job.run(tmp_path / "data.csv", config=CONFIG, signals=tmp_path / "local.parquet")
    signal_job.run(bucket.url("days/"), config=CONFIG, engine="dask", workers=2, signals=tmp_path / "dataset")
    local = pl.read_parquet(tmp_path / "local.parquet")
    assert pl.read_parquet(tmp_path / "dataset").equals(local)


# Over http(s): one file, from a real HTTP server on 127.0.0.1 (Python's, taught byte ranges).


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Python's file server, serving `Range: bytes=a-b` as object stores' HTTP readers need."""

    def send_head(self) -> Any:
        wanted = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if wanted is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        start_text, _, end_text = wanted.removeprefix("bytes=").partition("-")
        start, end = int(start_text), min(int(end_text) if end_text else size - 1, size - 1)
        with path.open("rb") as file:
            file.seek(start)
            body = file.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(RangeHandler, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_one_file_over_http_gives_the_local_document(http_folder: tuple[str, Path], tmp_path: Path) -> None:
    address, folder = http_folder
    shutil.copy(PROJECT / "data.csv", folder / "data.csv")
    gzip_path = folder / "data.csv.gz"
    gzip_path.write_bytes(gzip.compress(shipped()))
    for name in ("data.csv", "data.csv.gz"):
        document = signal_job.run(f"{address}/{name}", config=CONFIG).document
        assert without_latency(document) == local_document(tmp_path)
    assert error_of(f"{address}/missing.csv") == f"input file {address}/missing.csv does not exist"
    assert "over http(s), name one file" in error_of(f"{address}/")


def test_a_server_without_byte_ranges_is_a_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(PROJECT / "data.csv", folder / "data.csv")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        assert "its server does not serve byte ranges" in error_of(url)
    finally:
        server.shutdown()
        server.server_close()


def test_an_object_rewritten_while_the_job_reads_it_is_an_error(bucket: Bucket, tmp_path: Path) -> None:
    slow = gzip.compress(shipped() + b"\n" * 100_000_000, compresslevel=1)  # seconds to read
    url = bucket.put("btc/slow.csv.gz", slow)
    (tmp_path / "config.yaml").write_text('seed: 42\nwindow: 5\nversion: "v1"\n')
    args = ["run", "--input", url, "--output", "m.json", "--log-file", "run.log"]
    process = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *args], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    log = tmp_path / "run.log"
    deadline = time.monotonic() + 30
    while not (log.exists() and f"input {url}:" in log.read_text(errors="replace")):
        assert time.monotonic() < deadline, "the run did not open its input"
        time.sleep(0.02)
    bucket.put("btc/slow.csv.gz", gzip.compress(shipped()))  # another upload under the same key
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    message = orjson.loads(stdout)["error_message"]
    assert message.startswith(f"input file {url} changed while the job read it (")


def test_urls_are_shown_without_passwords_or_signatures() -> None:
    with_password = "https://alice:s3cr3t@127.0.0.1:1/data.csv"  # noqa: S105 - the secret to hide
    presigned = "https://host.example/data.csv?X-Amz-Signature=abc123&X-Amz-Credential=AKIA"
    assert shown(with_password) == "https://alice:***@127.0.0.1:1/data.csv"
    assert shown(presigned) == "https://host.example/data.csv?***"
    for url in (with_password, presigned):
        message = error_of(url)
        assert "s3cr3t" not in message
        assert "abc123" not in message
        assert "presigned URLs" in message
