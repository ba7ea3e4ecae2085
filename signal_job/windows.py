"""Windows as given in text (`5,10,20`, the range `5:200:5`) or as a list, checked; spans of time as text."""

from __future__ import annotations

import re

from signal_job.errors import ConfigError, shorten

# A sweep counts every window in one scan: a thousand is far past any comparison a reader makes,
# and a range of a million is refused before it is expanded.
MAX_WINDOWS = 1_000
_WINDOWS_TEXT = 20_000  # characters of a windows text: a thousand windows written out
_ITEM_TEXT = 100  # characters of one window or range: far past any window a series could fill
_RANGE = re.compile(r"(\d+):(\d+)(?::(\d+))?")


def parse_windows(text: str, *, what: str) -> tuple[int, ...]:
    """A sweep's windows from text: windows and ranges apart by commas, in the order given.

    `5,10,20` or `5:200:5` (start:stop:step, the stop included; the step 1 if left out). `what`
    names the text in messages (an option or a config key). Raises `ConfigError` for an empty
    list, a window under 1, a range that runs backwards or would give more than `MAX_WINDOWS`
    windows (before it is expanded), and windows given twice, naming them.
    """
    if len(text) > _WINDOWS_TEXT:
        msg = f"{what} is {len(text):,} characters long; a sweep takes at most {MAX_WINDOWS:,} windows"
        raise ConfigError(msg)
    items = [item.strip() for item in text.split(",")]
    if not any(items):
        msg = f"{what} names no window; give windows such as 5,10,20 or a range such as 5:200:5"
        raise ConfigError(msg)
    windows: list[int] = []
    for item in items:
        windows += _windows_of(item, what=what, before=len(windows))
    return checked_windows(windows, what=what)


def _windows_of(item: str, *, what: str, before: int) -> list[int]:
    """The windows of one item of a windows text: a window, or a range; `before` windows came earlier."""
    if len(item) > _ITEM_TEXT:  # Python refuses to read an integer of over 4,300 digits
        found = None
    elif item.isdecimal() and item.isascii():
        return [int(item)]
    else:
        found = _RANGE.fullmatch(item)
    if found is None:
        msg = (
            f"{what} has {shorten(item)}, which is neither a window (a whole number, such as 20) nor "
            "a range (start:stop:step, such as 5:200:5)"
        )
        raise ConfigError(msg)
    start, stop = int(found[1]), int(found[2])
    step = int(found[3]) if found[3] is not None else 1
    if start < 1 or step < 1 or stop < start:
        msg = (
            f"{what} has the range {item!r}, which gives no window: a range runs from a start of at "
            "least 1 up to a stop no smaller, by a step of at least 1 (such as 5:200:5)"
        )
        raise ConfigError(msg)
    count = (stop - start) // step + 1
    if before + count > MAX_WINDOWS:
        msg = (
            f"{what} has the range {item!r} of {count:,} windows; a sweep takes at most "
            f"{MAX_WINDOWS:,} windows, all counted in one scan: take a larger step"
        )
        raise ConfigError(msg)
    return list(range(start, stop + 1, step))


def checked_windows(windows: list[int], *, what: str) -> tuple[int, ...]:
    """`windows` as a sweep takes them; `ConfigError` for none, one under 1, too many or repeats."""
    if not windows:
        msg = f"{what} names no window; give windows such as 5,10,20 or a range such as 5:200:5"
        raise ConfigError(msg)
    small = next((window for window in windows if window < 1), None)
    if small is not None:
        msg = f"{what} has the window {small}; a window is at least 1 row"
        raise ConfigError(msg)
    if len(windows) > MAX_WINDOWS:
        msg = f"{what} names {len(windows):,} windows; a sweep takes at most {MAX_WINDOWS:,}"
        raise ConfigError(msg)
    repeated = sorted({window for window in windows if windows.count(window) > 1})
    if repeated:
        twice = ", ".join(map(str, repeated[:10])) + (", ..." if len(repeated) > 10 else "")  # noqa: PLR2004
        msg = f"{what} names {'a window' if len(repeated) == 1 else 'windows'} more than once: {twice}"
        raise ConfigError(msg)
    return tuple(windows)


_SPAN_UNITS = (("d", 86_400_000_000), ("h", 3_600_000_000), ("m", 60_000_000))
_SECOND = 1_000_000


def span_text(microseconds: int) -> str:
    """A span of time as the job writes it: units d, h, m and s, largest first (`1h30m`, `0.5s`, `0s`).

    Exact to the microsecond: seconds carry their fraction (`1m0.25s`).
    """
    parts = []
    left = microseconds
    for unit, size in _SPAN_UNITS:
        whole, left = divmod(left, size)
        if whole:
            parts.append(f"{whole}{unit}")
    if left or not parts:
        seconds, fraction = divmod(left, _SECOND)
        text = f"{seconds}.{fraction:06d}".rstrip("0").rstrip(".") if fraction else str(seconds)
        parts.append(f"{text}s")
    return "".join(parts)
