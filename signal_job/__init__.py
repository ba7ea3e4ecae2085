"""signal-job: turn OHLCV candles into an exact trading-signal rate.

    import signal_job
    result = signal_job.run("data.csv", config="config.yaml")  # or a Polars or pandas frame
    result.rate, result.rows, result.document, result.groups
    signal_job.signals("data.csv", config="config.yaml")  # every row's signal, a LazyFrame
    swept = signal_job.sweep("data.csv", windows="5:200:5", config="config.yaml")
    seen = signal_job.inspect("data.csv", config="config.yaml")  # its spacing, gaps, price range

See docs/api.md. Importing the package is cheap: Polars loads when a run starts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from signal_job.errors import (
    ClashError,
    ConfigError,
    EngineError,
    InputError,
    JobError,
    OutputError,
    StagingError,
    TrackingError,
)
from signal_job.version import __version__

if TYPE_CHECKING:
    from signal_job.api import explain, inspect, plot, run, signals, sweep
    from signal_job.config import Config, Reading
    from signal_job.results import (
        GapsResult,
        GroupResult,
        InspectResult,
        RunResult,
        SeriesResult,
        SweepResult,
        WindowResult,
    )

__all__ = [
    "ClashError",
    "Config",
    "ConfigError",
    "EngineError",
    "GapsResult",
    "GroupResult",
    "InputError",
    "InspectResult",
    "JobError",
    "OutputError",
    "Reading",
    "RunResult",
    "SeriesResult",
    "StagingError",
    "SweepResult",
    "TrackingError",
    "WindowResult",
    "__version__",
    "explain",
    "inspect",
    "plot",
    "run",
    "signals",
    "sweep",
]
# A library's loggers stay silent until the application configures logging (Python's advice).
logging.getLogger(__name__).addHandler(logging.NullHandler())
_LAZY = {
    "run": "signal_job.api",
    "explain": "signal_job.api",
    "signals": "signal_job.api",
    "plot": "signal_job.api",
    "RunResult": "signal_job.results",
    "GroupResult": "signal_job.results",
    "sweep": "signal_job.api",
    "SweepResult": "signal_job.results",
    "WindowResult": "signal_job.results",
    "inspect": "signal_job.api",
    "InspectResult": "signal_job.results",
    "SeriesResult": "signal_job.results",
    "GapsResult": "signal_job.results",
    "Config": "signal_job.config",
    "Reading": "signal_job.config",
}


def __getattr__(name: str) -> Any:
    """The API's heavier names, imported on first use (PEP 562)."""
    if name in _LAZY:
        from importlib import import_module  # noqa: PLC0415

        return getattr(import_module(_LAZY[name]), name)
    msg = f"module 'signal_job' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    """The API's names, the lazy ones included (for completion in notebooks and shells)."""
    return sorted({*globals(), *_LAZY})
