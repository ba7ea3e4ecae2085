from __future__ import annotations

from signal_job.reporting.metrics import error_document, render, success_document


def test_success_document_has_its_keys_in_order() -> None:
    document = success_document(version="v1", rows=10000, value=0.4989, latency_ms=57, seed=42)
    assert render(document) == (
        b'{\n  "version": "v1",\n  "rows_processed": 10000,\n  "metric": "signal_rate",\n'
        b'  "value": 0.4989,\n  "latency_ms": 57,\n  "seed": 42,\n  "status": "success"\n}\n'
    )


def test_error_document_without_a_version_says_unknown() -> None:
    assert render(error_document(version=None, message="bad")) == (
        b'{\n  "version": "unknown",\n  "status": "error",\n  "error_message": "bad"\n}\n'
    )
