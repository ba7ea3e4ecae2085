"""What a successful run (a sweep, an inspect) returns to Python: its counts or figures, and its document."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, overload

if TYPE_CHECKING:
    from signal_job.partial import Counts


@dataclass(frozen=True, slots=True)
class GroupResult:
    """One `group_by` value's counts: its rows alone give these, as the groups table says."""

    group: str | None  # the value, trimmed; None for the rows with none
    rows: int
    signals: int
    rate: float  # rounded as the document's value is
    full_windows: int  # its rows with a full window


_SHOWN = 3  # results a repr shows


class GroupResults(Sequence[GroupResult]):
    """Every group's `GroupResult`, in order, each made as it is asked for.

    A run may have a million groups: made all at once, their results took 1.6 s (measured on a
    busy 2-core machine) that the caller may never want. Equal to any sequence of the same
    results (a tuple, a list).
    """

    def __init__(self, counted: Sequence[tuple[str | None, Counts]] = ()) -> None:
        """The results of the groups `counted`, each a name and its counts."""
        self._counted = counted

    def __len__(self) -> int:
        """How many groups."""
        return len(self._counted)

    @overload
    def __getitem__(self, index: int) -> GroupResult: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[GroupResult, ...]: ...
    def __getitem__(self, index: int | slice) -> GroupResult | tuple[GroupResult, ...]:
        """The group at `index` (or those of a slice)."""
        if isinstance(index, slice):
            return tuple(_result(*each) for each in self._counted[index])
        return _result(*self._counted[index])

    def __eq__(self, other: object) -> bool:
        """Whether `other` is a sequence of the same results, in order."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(
            mine == theirs for mine, theirs in zip(self, other, strict=True)
        )

    __hash__ = None  # type: ignore[assignment] # equal to lists, which have none

    def __repr__(self) -> str:
        """How many, and the first results."""
        shown = ", ".join(repr(each) for each in self[:_SHOWN])
        return f"GroupResults({len(self):,} groups: {shown}{', ...' if len(self) > _SHOWN else ''})"


def _result(name: str | None, counts: Counts) -> GroupResult:
    return GroupResult(name, counts.rows, counts.signals, counts.rate, counts.full_windows)


@dataclass(frozen=True)
class RunResult:
    """A successful run: its counts and the metrics document the command line writes."""

    rows: int  # rows_processed
    signals: int  # rows whose close is above the rolling mean
    rate: float  # the signal rate, rounded half-to-even to 4 decimals: the document's value
    latency_ms: int
    version: str
    seed: int
    document: dict[str, Any]  # the metrics document, keys in their documented order
    # With the config's group_by: every group, in the order of the document's `groups` (which
    # lists at most the first 1,000); empty without.
    groups: GroupResults = field(default_factory=GroupResults)
    warnings: list[str] = field(default_factory=list)  # the document's: a result to read with care


@dataclass(frozen=True)
class WindowResult:
    """One window's figures in a sweep: exactly what `run` with that window gives."""

    window: int
    rows: int
    signals: int
    rate: float  # the signal rate, rounded half-to-even to 4 decimals: the entry's value
    full_windows: int  # rows with a full window
    groups: tuple[GroupResult, ...] = ()  # with a config's group_by, in order of first appearance


@dataclass(frozen=True)
class SweepResult:
    """A successful sweep: a result per window, in the order asked, and the document."""

    rows: int  # rows_processed
    results: tuple[WindowResult, ...]
    latency_ms: int
    version: str
    seed: int
    document: dict[str, Any]  # the sweep's document, keys in their documented order

    def result(self, window: int) -> WindowResult:
        """The result of `window`; `KeyError` if it was not swept."""
        for each in self.results:
            if each.window == window:
                return each
        raise KeyError(window)


@dataclass(frozen=True, slots=True)
class GapsResult:
    """The gaps in one series' times, as an inspect's document says them (docs/inspect.md)."""

    spacing: str | None  # the regular spacing as the document writes it ("1m"); None if none
    irregular: bool  # no interval is half of them: no spacing is guessed
    intervals: int  # between consecutive rows
    regular: int  # intervals of exactly the spacing
    gaps: int  # intervals longer than the spacing
    missing: int  # the spacings missing in them
    off_grid: int  # positive intervals that are no multiple of the spacing
    repeated_times: int  # rows at the time of the row before
    largest: tuple[datetime, datetime] | None  # the rows the largest gap lies between
    largest_length: str | None  # its length as the document writes it ("2h58m")

    @classmethod
    def of(cls, gaps: Mapping[str, Any]) -> GapsResult:
        """The gaps of a document's `gaps` entry."""
        largest = gaps["largest"]
        return cls(
            spacing=gaps["spacing"],
            irregular=gaps["irregular"],
            intervals=gaps["intervals"],
            regular=gaps["regular"],
            gaps=gaps["gaps"],
            missing=gaps["missing"],
            off_grid=gaps["off_grid"],
            repeated_times=gaps["repeated_times"],
            largest=None
            if largest is None
            else (datetime.fromisoformat(largest["from"]), datetime.fromisoformat(largest["to"])),
            largest_length=None if largest is None else largest["length"],
        )


@dataclass(frozen=True, slots=True)
class SeriesResult:
    """One series of an inspect (all rows, or one group): its closes, times and gaps."""

    group: str | None  # the group, trimmed; None for all rows (or the rows of no group)
    rows: int
    empty_closes: int
    nonpositive_closes: int  # closes of 0 or below
    lowest_close: Decimal | None  # exact
    highest_close: Decimal | None
    first: datetime | None  # None where the input has no time column
    last: datetime | None
    gaps: GapsResult | None  # None where the input has no time column

    @classmethod
    def of(cls, entry: Mapping[str, Any], group: str | None = None) -> SeriesResult:
        """The series of a document's entry (the document itself, or one of its `groups`)."""
        time, close = entry["time"], entry["close"]
        return cls(
            group=group,
            rows=entry["rows"],
            empty_closes=entry["empty_closes"],
            nonpositive_closes=entry["nonpositive_closes"],
            lowest_close=None if close["lowest"] is None else Decimal(close["lowest"]),
            highest_close=None if close["highest"] is None else Decimal(close["highest"]),
            first=None if time is None else datetime.fromisoformat(time["first"]),
            last=None if time is None else datetime.fromisoformat(time["last"]),
            gaps=None if entry["gaps"] is None else GapsResult.of(entry["gaps"]),
        )


@dataclass(frozen=True)
class InspectResult:
    """A successful inspect: what the job sees in the input, and the document the command line prints."""

    total: SeriesResult  # every row
    groups: tuple[SeriesResult, ...]  # with the config's group_by, in order of first appearance
    blank_lines: int
    repeated_rows: int  # identical rows left out (duplicates: drop)
    layouts: list[dict[str, Any]]  # how the files are written, each way once
    # How the rows were put in time order ("oldest first", ...); None without a time column.
    time_order: str | None
    input: str  # as the document names it
    files: int
    group_by: str | None  # the config's
    version: str
    warnings: list[str]  # the document's: a gap that windows of rows reach across
    document: dict[str, Any]

    @classmethod
    def of(cls, document: dict[str, Any]) -> InspectResult:
        """The result that an inspect's document says."""
        time = document["time"]
        return cls(
            total=SeriesResult.of(document),
            groups=tuple(SeriesResult.of(each, each["group"]) for each in document.get("groups", [])),
            blank_lines=document["blank_lines"],
            repeated_rows=document["repeated_rows"],
            layouts=document["layouts"],
            time_order=None if time is None else time["order"],
            input=document["input"],
            files=document["files"],
            group_by=document.get("group_by"),
            version=document["version"],
            warnings=document.get("warnings", []),
            document=document,
        )
