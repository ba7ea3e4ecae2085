"""A sweep's windows from text, at most a thousand, malformed refused; spans of time as text."""

from __future__ import annotations

import re

import pytest

from signal_job.errors import ConfigError
from signal_job.windows import checked_windows, parse_windows, span_text


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("5:20:5", (5, 10, 15, 20)),
        ("3, 1:2", (3, 1, 2)),
        ("4:10:4", (4, 8)),
        ("1:1000", tuple(range(1, 1001))),
    ],
)
def test_windows_text_gives_windows_and_ranges_in_order(text: str, windows: tuple[int, ...]) -> None:
    assert parse_windows(text, what="w") == windows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1:1001", "the range '1:1001' of 1,001 windows; a sweep takes at most 1,000"),
        ("1:500,501:1001", "the range '501:1001' of 501 windows"),
        ("7,,8", "has '', which is neither a window"),
        ("0:5", "which gives no window"),
    ],
)
def test_windows_text_past_a_thousand_or_malformed_is_refused(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_windows(text, what="w")


def test_a_list_of_windows_is_checked_as_text_is() -> None:
    assert checked_windows([20, 5], what="w") == (20, 5)
    with pytest.raises(ConfigError, match=r"^w names windows more than once: 5, 20$"):
        checked_windows([5, 20, 5, 20], what="w")
    with pytest.raises(ConfigError, match=r"^w has the window 0; a window is at least 1 row$"):
        checked_windows([3, 0], what="w")
    with pytest.raises(ConfigError, match=r"^w names no window"):
        checked_windows([], what="w")


@pytest.mark.parametrize(
    ("microseconds", "text"),
    [
        (0, "0s"),
        (60_000_000, "1m"),
        (5_400_000_000, "1h30m"),
        (86_400_000_000 * 3 + 1_000_000, "3d1s"),
        (500_000, "0.5s"),
        (60_250_000, "1m0.25s"),
        (1, "0.000001s"),
    ],
)
def test_a_span_is_written_in_units_largest_first_exact_to_the_microsecond(
    microseconds: int, text: str
) -> None:
    assert span_text(microseconds) == text
