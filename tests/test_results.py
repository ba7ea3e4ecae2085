"""What a run returns to Python: every group's result, made as it is asked for; an inspect's every figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import signal_job
from signal_job.partial import Counts
from signal_job.results import GroupResults, InspectResult, SeriesResult


def test_the_result_s_groups_are_a_sequence_each_made_as_it_is_asked_for() -> None:
    counted = [
        (f"S{index}", Counts(rows=4, full_windows=3, missing=0, signals=index % 4)) for index in range(10**6)
    ]
    groups = GroupResults(counted)
    assert (len(groups), groups[-1]) == (
        10**6,
        signal_job.GroupResult("S999999", rows=4, signals=3, rate=0.75, full_windows=3),
    )
    assert groups[:2] == (
        signal_job.GroupResult("S0", 4, 0, 0.0, 3),
        signal_job.GroupResult("S1", 4, 1, 0.25, 3),
    )
    assert GroupResults(counted[:2]) == [*groups[:2]]
    assert GroupResults() == () != groups
    assert (
        repr(GroupResults(counted[:1]))
        == "GroupResults(1 groups: GroupResult(group='S0', rows=4, signals=0, rate=0.0, full_windows=3))"
    )


def document_of(seen: InspectResult) -> dict[str, Any]:
    """The inspect document built back from the result's typed figures alone (not its `document`)."""

    def series(each: SeriesResult) -> dict[str, Any]:
        gaps, close = each.gaps, (each.lowest_close, each.highest_close)
        entry: dict[str, Any] = {
            "rows": each.rows,
            "empty_closes": each.empty_closes,
            "nonpositive_closes": each.nonpositive_closes,
            "close": dict(
                zip(("lowest", "highest"), (None if c is None else str(c) for c in close), strict=True)
            ),
            "time": None if each.first is None else {"first": str(each.first), "last": str(each.last)},
        }
        if gaps is None:
            return entry | {"gaps": None}
        largest = None
        if gaps.largest is not None:
            largest = {
                "from": str(gaps.largest[0]),
                "to": str(gaps.largest[1]),
                "length": gaps.largest_length,
            }
        return entry | {
            "gaps": {
                "spacing": gaps.spacing,
                "irregular": gaps.irregular,
                "intervals": gaps.intervals,
                "regular": gaps.regular,
                "gaps": gaps.gaps,
                "missing": gaps.missing,
                "off_grid": gaps.off_grid,
                "repeated_times": gaps.repeated_times,
                "largest": largest,
            }
        }

    total = series(seen.total)
    if total["time"] is not None:
        total["time"]["order"] = seen.time_order
    document = {
        "version": seen.version,
        "status": "success",
        "input": seen.input,
        "files": seen.files,
        "layouts": seen.layouts,
        "rows": seen.total.rows,
        "blank_lines": seen.blank_lines,
        "repeated_rows": seen.repeated_rows,
        **total,
    }
    if seen.group_by is not None:
        document["group_by"] = seen.group_by
        document["groups"] = [{"group": each.group, **series(each)} for each in seen.groups]
    return document | ({"warnings": seen.warnings} if seen.warnings else {})


def test_every_figure_of_an_inspect_s_document_is_in_its_result(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text(
        "timestamp,symbol,close\n2024-01-01 09:00:00,A,100.5\n2024-01-01 09:00:00,B,7\n"
        "2024-01-01 09:01:00,A,0\n2024-01-01 12:00:00,A,99.75\n2024-01-01 12:00:30,A,\n"
        "2024-01-01 12:01:30,A,99.5\n2024-01-01 12:01:30,A,99.5\n\n"
    )
    config = {"seed": 1, "window": 5, "version": "v1", "group_by": "symbol"}
    seen = signal_job.inspect(path, config=config)
    assert seen.total.gaps is not None
    assert (seen.total.gaps.regular, seen.total.gaps.off_grid, seen.time_order) == (2, 1, "oldest first")
    assert document_of(seen) == seen.document
    assert (seen.warnings, seen.blank_lines) == (seen.document["warnings"], 1)
    untimed = tmp_path / "untimed.csv"
    untimed.write_text("close\n1\n2\n")
    seen = signal_job.inspect(untimed, config={"seed": 1, "window": 5, "version": "v1"})
    assert (seen.time_order, seen.total.gaps, seen.group_by) == (None, None, None)
    assert document_of(seen) == seen.document
