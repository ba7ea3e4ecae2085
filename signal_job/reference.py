"""A tiny exact reference of the signal, in plain Python decimals, for tests and benchmarks.

Slow on purpose: one loop, no Polars, so it can judge the fast plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext


def reference_signals(closes: Sequence[Decimal | None], window: int) -> list[int]:
    """1 where the `window` rows ending here are all present and close > their mean, else 0."""
    signals = []
    with localcontext(prec=200):  # the default 28 digits would round long sums
        for i, close in enumerate(closes):
            signals.append(_signal(closes, i, close, window))
    return signals


def _signal(closes: Sequence[Decimal | None], i: int, close: Decimal | None, window: int) -> int:
    frame = closes[max(0, i - window + 1) : i + 1]
    if close is None or len(frame) < window or any(value is None for value in frame):
        return 0
    total = sum((value for value in frame if value is not None), Decimal(0))
    return int(close * window > total)
