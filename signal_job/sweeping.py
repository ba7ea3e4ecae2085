"""A sweep: many windows over one read of the input, each counted exactly as a run of that window.

The job's own sequence (`job.execute`) with a sweep's steps: the config, its windows (given, else
the config's `windows` key), the counts of every window in one scan (`job.count`, on a route that
sweeps them), then the sweep's document and table (`reporting.sweeps`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import partial

from signal_job import job
from signal_job.config import Config
from signal_job.errors import ConfigError
from signal_job.options import Option
from signal_job.paths import Prepared
from signal_job.reporting import report
from signal_job.reporting.outputs import Pending
from signal_job.reporting.sweeps import Swept, log_sweep, sweep_document, sweep_table
from signal_job.windows import checked_windows, parse_windows

log = logging.getLogger(__name__)

# Windows as a face gives them: text ("5,10,20", "5:200:5"), a list, or none (the config's key).
Given = str | Sequence[int] | None


def steps(given: Given, *, means: bool = False) -> job.Steps:
    """A sweep's steps over the windows `given`, for a `job.Request`; `means` in its signals file."""
    return partial(_steps, given=given, means=means)


def windows_of(config: Config, given: Given) -> tuple[int, ...]:
    """The sweep's windows: those given, else the config's `windows`; `ConfigError` if neither or bad."""
    if isinstance(given, str):
        return parse_windows(given, what=str(Option.WINDOWS))
    if given is not None:
        if not all(isinstance(each, int) and not isinstance(each, bool) for each in given):
            msg = f"{Option.WINDOWS} must be whole numbers, such as [5, 10, 20], not {list(given)!r}"
            raise ConfigError(msg, version=config.version)
        return checked_windows(list(given), what=str(Option.WINDOWS))
    if config.windows is None:
        msg = (
            f"a sweep needs its windows: give {Option.WINDOWS} (such as 5,10,20 or the range 5:200:5), "
            "or set the windows key in the config"
        )
        raise ConfigError(msg, version=config.version)
    return config.windows


def _steps(
    prepared: Prepared, request: job.Request, pending: Pending, *, given: Given, means: bool
) -> job.Outcome:
    """The sweep's steps: config, windows, the counts of every window in one scan, its document."""
    config = job.configured(prepared, request)
    try:
        if means and request.paths.signals is None:
            msg = f"{Option.MEANS} adds each window's rolling mean to the signals file: give {Option.SIGNALS}"
            raise ConfigError(msg)
        windows = windows_of(config, given)
        if request.paths.signals is not None:
            _check_group_name(config, windows)
    except ConfigError as exc:
        exc.version = config.version
        raise
    log.info("windows: %s", ", ".join(map(str, windows)))
    # The largest window sizes what every window needs: the rows carried between batches of groups.
    largest = replace(config, window=max(windows))
    counted = job.count(prepared, request, pending, largest, windows=windows, means=means)
    result = counted.result
    if request.paths.signals is not None:
        log.info("signals written to %s", request.paths.signals)
    swept = [Swept(window, *result.windows[window]) for window in windows]
    log_sweep(swept)
    warnings = [
        *(
            warning
            for each in swept
            for warning in report.short_windows(
                each.total, each.groups, window=each.window, group_by=config.group_by
            )
        ),
        *report.nonpositive_closes(result.total.nonpositive, first=counted.first_nonpositive),
    ]
    grouped = config.group_by is not None
    document = sweep_document(
        version=config.version,
        swept=swept,
        grouped=grouped,
        latency_ms=job.latency(request, config),
        seed=config.seed,
        inputs=counted.inputs,
        warnings=warnings,
    )
    table = partial(sweep_table, swept, grouped=grouped)
    return job.Outcome(document, swept[0].total, tables={Option.TABLE: table})


def _check_group_name(config: Config, windows: tuple[int, ...]) -> None:
    """Refuse a `group_by` named as one of the sweep's signal columns, which it would stand beside."""
    if config.group_by is None:
        return
    taken = {f"{kind}_{window}" for window in windows for kind in ("signal", "rolling_mean")}
    if config.group_by.lower() in taken:
        msg = (
            f"config key 'group_by' cannot be {config.group_by!r} in a sweep with {Option.SIGNALS}: "
            "the signals file has a column of that name"
        )
        raise ConfigError(msg)
