"""What a run reports of its groups: log lines and document entries up to a bound, then where all are."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from signal_job.partial import Counts
from signal_job.reporting.metrics import success_document
from signal_job.reporting.report import (
    GROUPS_IN_DOCUMENT,
    GROUPS_IN_LOG_FILE,
    GROUPS_ON_CONSOLE,
    log_result,
    nonpositive_closes,
    with_groups,
)

ONE = Counts(rows=3, full_windows=2, missing=0, signals=1)
ASK = "--groups groups.csv (or .parquet)"


def logged(
    caplog: pytest.LogCaptureFixture, groups: int, table: Path | None = None
) -> list[logging.LogRecord]:
    caplog.set_level(logging.DEBUG, logger="signal_job")
    named = [(f"S{index}", ONE) for index in range(groups)]
    log_result(
        sum((each for _, each in named), ONE), named, window=2, group_by="symbol", table=table, ask=ASK
    )
    return caplog.records


def group_lines(records: list[logging.LogRecord], level: int) -> int:
    return sum(
        1 for record in records if record.getMessage().startswith("symbol=S") and record.levelno == level
    )


def test_a_few_groups_are_each_logged_with_no_line_after_them(caplog: pytest.LogCaptureFixture) -> None:
    records = logged(caplog, GROUPS_ON_CONSOLE)
    assert group_lines(records, logging.INFO) == GROUPS_ON_CONSOLE
    assert not [record for record in records if record.getMessage().startswith("...")]


def test_groups_past_the_console_go_to_the_log_file_as_before(caplog: pytest.LogCaptureFixture) -> None:
    records = logged(caplog, 300)
    assert (group_lines(records, logging.INFO), group_lines(records, logging.DEBUG)) == (50, 250)
    assert "... 250 groups more in the log file" in [record.getMessage() for record in records]


def test_many_groups_log_a_bounded_number_of_lines_and_say_where_every_group_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = logged(caplog, 20_000)
    assert (group_lines(records, logging.INFO), group_lines(records, logging.DEBUG)) == (
        GROUPS_ON_CONSOLE,
        GROUPS_IN_LOG_FILE - GROUPS_ON_CONSOLE,
    )
    summary = "... 19,950 groups more: the next 950 in the log file; every group's counts with " + ASK
    assert [record.levelno for record in records if record.getMessage() == summary] == [logging.INFO]


@pytest.mark.parametrize(
    ("groups", "summary"),
    [
        (300, "... 250 groups more in the log file; every group in out/groups.csv"),
        (20_000, "... 19,950 groups more: the next 950 in the log file; every group in out/groups.csv"),
    ],
)
def test_the_line_after_the_groups_names_the_table_written(
    caplog: pytest.LogCaptureFixture, groups: int, summary: str
) -> None:
    assert summary in [record.getMessage() for record in logged(caplog, groups, Path("out/groups.csv"))]


def test_closes_of_zero_or_below_are_one_warning_naming_the_first_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    warnings = nonpositive_closes(2, first="input file a.csv line 4")
    assert warnings == [
        "2 close values are 0 or negative (the first: input file a.csv line 4): not a price unless "
        "the market's prices can go negative; counted as any other close"
    ]
    assert [(record.levelno, record.getMessage()) for record in caplog.records] == [
        (logging.WARNING, warnings[0])
    ]
    assert nonpositive_closes(1, first=None)[0].startswith("1 close value is 0 or negative: ")
    assert nonpositive_closes(0, first=None) == []


def a_document(warnings: list[str] | None = None) -> dict[str, object]:
    return success_document(
        version="v", rows=6, value=0.5, latency_ms=1, seed=1, inputs={}, warnings=warnings
    )


def test_the_document_lists_each_group_after_the_seed_s_keys_and_before_its_warnings() -> None:
    groups = [("BTC", ONE), (None, Counts(rows=3, full_windows=0, missing=3, signals=0))]
    document = with_groups(a_document(["short"]), groups, group_by="symbol", table=None, ask=ASK)
    assert list(document) == [*a_document(), "groups", "warnings"]
    assert document["groups"] == [
        {"group": "BTC", "rows_processed": 3, "signals": 1, "value": 0.3333},
        {"group": None, "rows_processed": 3, "signals": 0, "value": 0.0},
    ]
    assert document["warnings"] == ["short"]


def test_a_run_without_group_by_has_no_groups_in_its_document() -> None:
    assert with_groups(a_document(), [], group_by=None, table=None, ask=ASK) == a_document()


@pytest.mark.parametrize(
    ("table", "where"), [(None, f"with {ASK}"), (Path("out/groups.csv"), "in out/groups.csv")]
)
def test_the_document_lists_a_bounded_number_of_groups_and_says_where_every_group_is(
    table: Path | None, where: str
) -> None:
    named = [(f"S{index}", ONE) for index in range(GROUPS_IN_DOCUMENT + 1)]
    document = with_groups(a_document(), named, group_by="symbol", table=table, ask=ASK)
    assert [each["group"] for each in document["groups"]] == [name for name, _ in named[:GROUPS_IN_DOCUMENT]]
    assert document["warnings"] == [
        f"groups lists the first 1,000 of 1,001 groups of symbol: every group's counts {where}"
    ]
