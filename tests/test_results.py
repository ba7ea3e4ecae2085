"""What a run returns to Python: every group's result, made as it is asked for."""

from __future__ import annotations

import signal_job
from signal_job.partial import Counts
from signal_job.results import GroupResults


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
