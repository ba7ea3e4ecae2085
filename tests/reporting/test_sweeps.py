"""A sweep's document, table and Prometheus samples, from plain counts."""

from __future__ import annotations

import io

import polars as pl
from prometheus_client.parser import text_string_to_metric_families

from signal_job.formats import FileFormat
from signal_job.partial import Counts
from signal_job.reporting.prometheus import textfile
from signal_job.reporting.sweeps import Swept, results, sweep_document, sweep_table

GROUPED = [
    Swept(5, Counts(10, 6, 0, 3), [("A", Counts(6, 2, 0, 1)), (None, Counts(4, 0, 0, 2))]),
    Swept(2, Counts(10, 9, 0, 5), [("A", Counts(6, 5, 0, 3)), (None, Counts(4, 3, 0, 2))]),
]


def test_the_document_has_runs_keys_but_value_then_results_then_warnings() -> None:
    document = sweep_document(
        version="v1", swept=GROUPED, grouped=False, latency_ms=7, seed=3, inputs={"files": 1}, warnings=["w"]
    )
    task = ["version", "rows_processed", "metric", "latency_ms", "seed", "status"]
    assert list(document) == [*task, "inputs", "results", "warnings"]
    assert document["results"] == [
        {"window": 5, "rows": 10, "value": 0.3, "signals": 3, "full_windows": 6},
        {"window": 2, "rows": 10, "value": 0.5, "signals": 5, "full_windows": 9},
    ]


def test_grouped_results_hold_each_groups_figures_and_none_for_the_rows_with_no_group() -> None:
    entry = results(GROUPED, grouped=True)[0]
    assert entry["groups"] == [
        {"group": "A", "rows": 6, "value": 0.1667, "signals": 1, "full_windows": 2},
        {"group": None, "rows": 4, "value": 0.5, "signals": 2, "full_windows": 0},
    ]


def test_the_grouped_table_has_a_row_per_window_and_group_in_order() -> None:
    frame = pl.read_parquet(io.BytesIO(sweep_table(GROUPED, FileFormat.PARQUET, grouped=True)))
    assert frame.columns == ["window", "group", "rows", "value", "signals", "full_windows"]
    assert frame.select("window", "group").rows() == [(5, "A"), (5, None), (2, "A"), (2, None)]
    assert frame.schema["value"] == pl.Float64


def test_the_prometheus_file_labels_each_result_by_its_window() -> None:
    document = sweep_document(
        version="v1", swept=GROUPED, grouped=True, latency_ms=7, seed=3, inputs=None, warnings=[]
    )
    text = textfile(document, signals=None, groups=[], now=1.0, previous=None).decode()
    found = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert found[("signal_job_signal_rate", (("version", "v1"), ("window", "5")))] == 0.3
    assert found[("signal_job_signals", (("version", "v1"), ("window", "2")))] == 5.0
    assert (
        found[("signal_job_signal_rate", (("group", "(missing)"), ("version", "v1"), ("window", "2")))] == 0.5
    )
    assert found[("signal_job_rows_processed", (("version", "v1"),))] == 10.0
    assert not any(name == "signal_job_signal_rate" and len(labels) == 1 for name, labels in found)
