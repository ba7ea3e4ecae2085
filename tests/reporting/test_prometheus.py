"""The Prometheus textfile, read back with prometheus_client's own parser."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

import signal_job
from signal_job.reporting.metrics import error_document, success_document
from signal_job.reporting.prometheus import Group, checked_labels, last_success, textfile
from tests.conftest import CONSOLE_SCRIPT, PROJECT

SUCCESS = success_document(version="v1", rows=10_000, value=0.4989, latency_ms=372, seed=42)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the file by name and labels, as Prometheus reads it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_success_gives_every_gauge_labelled_with_the_version() -> None:
    text = textfile(SUCCESS, signals=4989, groups=[], now=1_700_000_000.5, previous=None).decode()
    found = samples(text)
    version = (("version", "v1"),)
    assert found == {
        ("signal_job_success", version): 1.0,
        ("signal_job_last_run_timestamp_seconds", version): 1_700_000_000.5,
        ("signal_job_last_success_timestamp_seconds", version): 1_700_000_000.5,
        ("signal_job_signal_rate", version): 0.4989,
        ("signal_job_rows_processed", version): 10_000.0,
        ("signal_job_signals", version): 4989.0,
        ("signal_job_latency_seconds", version): 0.372,
    }
    assert all(family.type == "gauge" for family in text_string_to_metric_families(text))


def test_a_failure_keeps_the_last_success_and_drops_the_results() -> None:
    before = textfile(SUCCESS, signals=4989, groups=[], now=100.0, previous=None).decode()
    failed = error_document(version="v1", message="input file x.csv does not exist")
    found = samples(textfile(failed, signals=None, groups=[], now=200.0, previous=before).decode())
    version = (("version", "v1"),)
    assert found == {
        ("signal_job_success", version): 0.0,
        ("signal_job_last_run_timestamp_seconds", version): 200.0,
        ("signal_job_last_success_timestamp_seconds", version): 100.0,
    }


def test_a_failure_with_no_earlier_success_has_no_last_success() -> None:
    failed = error_document(version=None, message="bad")
    found = samples(textfile(failed, signals=None, groups=[], now=5.0, previous="garbage\n\x00").decode())
    assert set(found) == {
        ("signal_job_success", (("version", "unknown"),)),
        ("signal_job_last_run_timestamp_seconds", (("version", "unknown"),)),
    }
    assert last_success(f"signal_job_last_success_timestamp_seconds{{}} nan\n{'x' * 100}") is None


def test_groups_get_their_own_series_with_escaped_names() -> None:
    odd = 'a "b" \\ c\nd'
    groups = [Group("BTC", 6000, 3000, 0.5), Group(odd, 4000, 1989, 0.4973), Group(None, 1, 0, 0.0)]
    found = samples(textfile(SUCCESS, signals=4989, groups=groups, now=1.0, previous=None).decode())
    assert found[("signal_job_signal_rate", (("group", "BTC"), ("version", "v1")))] == 0.5
    assert found[("signal_job_rows_processed", (("group", odd), ("version", "v1")))] == 4000.0
    assert found[("signal_job_signals", (("group", "(missing)"), ("version", "v1")))] == 0.0


def run_console(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    command = [str(CONSOLE_SCRIPT), "run", "--output", "m.json", "--log-file", "run.log", *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, check=False, timeout=120)


def test_the_console_script_writes_the_file_and_a_later_failure_keeps_the_last_success(
    tmp_path: Path,
) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    ok = run_console(tmp_path, "--metrics-file", "job.prom")
    assert ok.returncode == 0, ok.stderr
    first = samples((tmp_path / "job.prom").read_text())
    version = (("version", orjson.loads(ok.stdout)["version"]),)
    assert first[("signal_job_success", version)] == 1.0
    assert first[("signal_job_rows_processed", version)] == 10_000.0
    assert first[("signal_job_signal_rate", version)] == 0.4989
    failed = run_console(tmp_path, "--metrics-file", "job.prom", "--input", "missing.csv")
    assert failed.returncode == 1
    after = samples((tmp_path / "job.prom").read_text())
    assert after[("signal_job_success", version)] == 0.0
    last = ("signal_job_last_success_timestamp_seconds", version)
    assert after[last] == first[last]
    assert ("signal_job_rows_processed", version) not in after
    assert [path.name for path in tmp_path.iterdir() if path.name.startswith(".")] == []  # no temporary left


def test_a_metrics_file_that_is_a_folder_fails_before_the_work(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    (tmp_path / "job.prom").mkdir()
    with pytest.raises(signal_job.OutputError, match=r"metrics path .*job.prom is a folder"):
        signal_job.run(
            tmp_path / "data.csv",
            config={"seed": 1, "window": 5, "version": "v"},
            metrics_file=tmp_path / "job.prom",
        )


def test_a_metrics_file_that_is_the_input_is_refused(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    before = (tmp_path / "data.csv").read_bytes()
    with pytest.raises(
        signal_job.ClashError,
        match=r"^metrics_file .* is an input file of this run: .*; give metrics_file another path$",
    ):
        signal_job.run(
            tmp_path / "data.csv",
            config={"seed": 1, "window": 5, "version": "v"},
            metrics_file=tmp_path / "data.csv",
        )
    assert (tmp_path / "data.csv").read_bytes() == before


def test_a_huge_or_odd_earlier_file_is_not_read_whole(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    huge = tmp_path / "job.prom"
    with huge.open("wb") as file:
        file.truncate(64 << 30)  # 64 GiB, sparse: reading it whole would exhaust memory
    result = signal_job.run(
        tmp_path / "data.csv", config={"seed": 1, "window": 5, "version": "v"}, metrics_file=huge
    )
    assert result.rows == 10_000
    assert samples(huge.read_text())[("signal_job_success", (("version", "v"),))] == 1.0


def every_sample(text: str) -> list[tuple[str, dict[str, str]]]:
    return [
        (sample.name, sample.labels)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def test_labels_given_go_on_every_series_escaped_as_prometheus_reads_them() -> None:
    odd = 'a "b" \\ c\nd'
    labels = checked_labels([("job", "nightly"), ("note", odd)])
    text = textfile(
        SUCCESS, signals=4989, groups=[Group("BTC", 1, 1, 1.0)], now=1.0, previous=None, labels=labels
    ).decode()
    found = every_sample(text)
    assert len(found) == 10  # seven series, and three of the group
    for _, each in found:
        assert each["job"] == "nightly"
        assert each["note"] == odd
        assert each["version"] == "v1"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ([("1job", "x")], "label name '1job' is not a Prometheus label name"),
        ([("job-name", "x")], "label name 'job-name' is not a Prometheus label name"),
        ([("", "x")], "label name '' is not a Prometheus label name"),
        ([("jöb", "x")], "label name 'jöb' is not a Prometheus label name"),
        ([("__name__", "x")], "label name '__name__' is Prometheus'"),
        ([("version", "x")], "label name 'version' is the job's own"),
        ([("group", "x")], "label name 'group' is the job's own"),
        ([("job", "a"), ("job", "b")], "label 'job' is given twice"),
        ([("job", "")], "label 'job' has an empty value"),
    ],
)
def test_a_label_prometheus_would_not_read_is_refused_saying_why(
    pairs: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        checked_labels(pairs)


def test_two_jobs_on_one_node_write_series_that_differ_by_their_labels(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    nightly = run_console(
        tmp_path,
        "--metrics-file",
        "nightly.prom",
        "--metrics-label",
        "job=nightly",
        "--metrics-label",
        "team=q",
    )
    hourly = subprocess.run(
        [
            str(CONSOLE_SCRIPT),
            "run",
            "--output",
            "h.json",
            "--log-file",
            "h.log",
            "--metrics-file",
            "hourly.prom",
        ],
        cwd=tmp_path,
        env={**os.environ, "SIGNAL_JOB_METRICS_LABELS": "job=hourly team=q"},
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert nightly.returncode == hourly.returncode == 0, (nightly.stderr, hourly.stderr)
    for name, job in (("nightly.prom", "nightly"), ("hourly.prom", "hourly")):
        found = every_sample((tmp_path / name).read_text())
        assert {(each["job"], each["team"], each["version"]) for _, each in found} == {(job, "q", "v1")}
    both = [
        *every_sample((tmp_path / "nightly.prom").read_text()),
        *every_sample((tmp_path / "hourly.prom").read_text()),
    ]
    assert len({(sample, tuple(sorted(each.items()))) for sample, each in both}) == len(
        both
    )  # no series twice


@pytest.mark.parametrize(
    ("label", "message"),
    [
        ("job", "'job' is not NAME=VALUE, e.g. job=nightly"),
        ("9=x", "label name '9' is not a Prometheus label name"),
        ("version=x", "label name 'version' is the job's own"),
    ],
)
def test_a_bad_label_on_the_command_line_is_a_usage_error_and_nothing_is_written(
    tmp_path: Path, label: str, message: str
) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    shutil.copy(PROJECT / "config.yaml", tmp_path / "config.yaml")
    done = run_console(tmp_path, "--metrics-file", "job.prom", "--metrics-label", label)
    assert done.returncode == 2
    assert message in " ".join(done.stderr.decode().replace("│", " ").split())
    assert b"Traceback" not in done.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == ["config.yaml", "data.csv"]


def test_the_python_api_takes_labels_as_a_mapping_and_refuses_a_bad_one(tmp_path: Path) -> None:
    shutil.copy(PROJECT / "data.csv", tmp_path / "data.csv")
    config = {"seed": 1, "window": 5, "version": "v"}
    out = tmp_path / "job.prom"
    signal_job.run(tmp_path / "data.csv", config=config, metrics_file=out, metrics_labels={"job": "notebook"})
    assert {each["job"] for _, each in every_sample(out.read_text())} == {"notebook"}
    with pytest.raises(ValueError, match=r"^metrics_labels: label name 'a b' is not a Prometheus label name"):
        signal_job.run(tmp_path / "data.csv", config=config, metrics_file=out, metrics_labels={"a b": "x"})
