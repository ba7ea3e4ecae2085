"""Which line names a CSV file's columns, as the tools people use write them.

- A plain header: the first line, or a later one after a line that is no header (a URL, a
  title, as CryptoDataDownload writes), which is skipped and logged.
- yfinance (>= 0.2.51): `Price,Close,...` / `Ticker,BTC-USD,...` / `Date,,,...`; with several
  tickers each has its own close column.
- No header at all (Binance klines, Kraken OHLCVT): an epoch time, then four columns that
  behave as open, high, low and close (low <= open, close <= high on every sampled row).
Names are matched trimmed, unquoted, lower-cased, and `<CLOSE>` (MetaTrader) as `close`.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from signal_job.config import Reading
from signal_job.errors import InputError, counted, names_text, shorten
from signal_job.reading.numbers import VALUE_PADDING, number_format

DELIMITERS = (",", ";", "\t", "|")
# Blanks around a whole line: a carriage return and spaces or tabs, unless tabs separate fields.
PADDING = " \t\r"
# Lines before the header that may be skipped (a URL, a title): never more, never data.
MAX_SKIPPED = 5
# The longest field (a column name, a value) of the first lines, read to find the header: a header
# may be wide, many columns, but no name or price of a file of candles comes near this. It is also
# Python's csv module's own limit, past which it fails.
MAX_FIELD = 131_072
# The most fields a line of the first lines may have. A file of candles has a handful of columns
# (yfinance's, with a thousand tickers, some thousands); past this Polars needs gigabytes for the
# schema alone (1M columns: 1 GiB for 5 rows), so a wider line is refused by name, counted at
# string speed.
MAX_COLUMNS = 100_000
_OHLC_NAMES = ("timestamp", "open", "high", "low", "close")
_EPOCH = re.compile(r"^\d{9,19}$")


@dataclass(frozen=True)
class Header:
    """Where a file's header is and what it names."""

    delimiter: str
    wrapped: bool  # every line is one quoted field holding the whole row (the as-shipped file)
    line: int | None  # 0-based index of the header line; None for a file without one
    data_line: int  # 0-based index of the first data line
    columns: tuple[str, ...]  # names as written (trimmed); made up for a file without a header
    skipped: tuple[int, ...] = ()  # lines before the header that are not data, for the log
    tickers: tuple[str, ...] = field(default=())  # yfinance: each column's ticker ("" for none)


class FieldTooLong(ValueError):
    """A line of the first lines holds a field longer than `MAX_FIELD` characters."""

    def __init__(self, line: str) -> None:
        """Keep the `line` that holds it, to name it by its number."""
        super().__init__(f"a field longer than {MAX_FIELD:,} characters")
        self.line = line


class TooManyFields(ValueError):
    """A line of the first lines holds more than `MAX_COLUMNS` fields."""

    def __init__(self, line: str, count: int) -> None:
        """Keep the `line`, to name it by its number, and how many fields it holds."""
        super().__init__(f"{count:,} fields, more than {MAX_COLUMNS:,}")
        self.line = line
        self.count = count


@contextmanager
def bounded_fields(texts: list[str], origin: str) -> Iterator[None]:
    """A field too long in one of `texts` (the file's first lines) as an `InputError` naming its line."""
    try:
        yield
    except FieldTooLong as exc:
        msg = (
            f"{origin} line {texts.index(exc.line) + 1} has a field longer than {MAX_FIELD:,} "
            "characters, the most a column name or value may have in the first lines, where the job "
            f"finds the header (the line starts {shorten(exc.line.strip(PADDING), 40)}): check that "
            "this is a CSV file of candles"
        )
        raise InputError(msg) from None
    except TooManyFields as exc:
        start = shorten(exc.line.strip(PADDING), 40)
        msg = (
            f"{origin} line {texts.index(exc.line) + 1} has {exc.count:,} fields, more than the "
            f"{MAX_COLUMNS:,} columns the job reads (the line starts {start}): check that this is a "
            "CSV file of candles"
        )
        raise InputError(msg) from None


def normal_name(name: str) -> str:
    """A column name as the job matches it: trimmed, unquoted, lower-cased, `<CLOSE>` as `close`."""
    if name.isalnum():  # nothing to trim: 40% less time a name, for headers of millions of them
        return name.lower()
    return name.strip().strip('"').strip().removeprefix("<").removesuffix(">").strip().lower()


def line_padding(delimiter: str) -> str:
    """The blanks around a line of a file with this delimiter."""
    return PADDING.replace(delimiter, "")


def find_header(texts: list[str], origin: str, reading: Reading) -> Header:
    """The header of a file from its first lines (decoded, without line ends)."""
    with bounded_fields(texts, origin):
        return _find_header(texts, origin, reading)


def _find_header(texts: list[str], origin: str, reading: Reading) -> Header:
    lines = [index for index, text in enumerate(texts) if text.strip(PADDING)]
    if not lines:
        msg = f"{origin} has no header line: it is blank"
        raise InputError(msg)
    if reading.header is False:
        return _headerless(texts, lines, origin, reading, told=True)
    for position, index in enumerate(lines[: MAX_SKIPPED + 1]):
        delimiter, wrapped, names = split_header(texts[index])
        if _names_close(names, reading):
            skipped = tuple(lines[:position])
            if any(_looks_like_data(texts[line], delimiter, len(names)) for line in skipped):
                break  # data above the header: not a header after all
            plain = Header(delimiter, wrapped, index, index + 1, names, skipped)
            return _yfinance(texts, lines, position, plain) or plain
    if reading.header is True:
        delimiter, wrapped, names = split_header(texts[lines[0]])
        return Header(delimiter, wrapped, lines[0], lines[0] + 1, names)
    # Close by position and no line names it: the first line has a price there, so no header.
    return _headerless(texts, lines, origin, reading, told=isinstance(reading.close_column, int))


def split_header(text: str) -> tuple[str, bool, tuple[str, ...]]:
    """The delimiter, whether lines are wrapped in quotes, and the names of one header line."""
    trimmed = text.strip(PADDING)
    wrapped = _is_wrapped(trimmed)
    delimiter = _delimiter(trimmed[1:-1] if wrapped else trimmed)
    names = tuple(name.strip(VALUE_PADDING) for name in fields(text, delimiter, wrapped=wrapped))
    return delimiter, wrapped, names


def fields(line: str, delimiter: str, *, wrapped: bool) -> list[str]:
    """The fields of one line, its padding and (when wrapped) its outer quotes removed.

    Raise `FieldTooLong` if one is longer than `MAX_FIELD` characters.
    """
    text = line.strip(line_padding(delimiter))
    # Counted before any split: a 10 MB line of 5M fields is refused in milliseconds. Quoted
    # delimiters count here too, so a line past the limit that holds quotes is split to be sure.
    if text.count(delimiter) >= MAX_COLUMNS and '"' not in (text[1:-1] if wrapped else text):
        raise TooManyFields(line, text.count(delimiter) + 1)
    found = _split(text, delimiter, line=line, wrapped=wrapped)
    if len(found) > MAX_COLUMNS:
        raise TooManyFields(line, len(found))
    return found


def _split(text: str, delimiter: str, *, line: str, wrapped: bool) -> list[str]:
    if wrapped:
        return bounded(text[1:-1].split(delimiter) if len(text) >= 2 else [text], line)  # noqa: PLR2004
    return split_csv(text, delimiter, line=line)


def split_csv(text: str, delimiter: str, *, line: str) -> list[str]:
    """The fields of `text` (`line`, or part of it) as CSV; `FieldTooLong` if one is too long."""
    try:
        values = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        if len(text) <= MAX_FIELD:  # no field of it can be too long: another failure
            raise
        raise FieldTooLong(line) from None
    return bounded(values, line)


def bounded(values: list[str], line: str) -> list[str]:
    """`values`, the fields of `line`; `FieldTooLong` if one is longer than `MAX_FIELD` characters.

    (The csv module stops at that length itself, unless a program raised its limit.)
    """
    if len(line) > MAX_FIELD and values and max(map(len, values)) > MAX_FIELD:  # C speed, for wide lines
        raise FieldTooLong(line)
    return values


def close_index(columns: tuple[str, ...], origin: str, reading: Reading, *, several: bool = False) -> int:
    """The close column: named `close` (or `reading.close_column`), or Investing.com's `Price`.

    With `several` (one close per ticker), the first of them.
    """
    wanted = reading.close_column
    if isinstance(wanted, int):
        if wanted > len(columns):
            found = counted(len(columns), "column")
            msg = f"{origin} has {found}, so no column {wanted} (config key 'close_column')"
            raise InputError(msg)
        return wanted - 1
    name = normal_name(wanted) if wanted else "close"
    matches = [i for i, column in enumerate(columns) if normal_name(column) == name]
    if not matches and wanted is None and _price_is_close(columns):
        matches = [i for i, column in enumerate(columns) if normal_name(column) == "price"]
    if not matches:
        key = f" (config key 'close_column' says {shorten(wanted)})" if wanted else ""
        msg = f"{origin} has no {shorten(name)} column{key}; columns found: {names_text(columns)}"
        raise InputError(msg)
    if len(matches) > 1 and not several:
        named = " and ".join(f"{columns[i]!r} (column {i + 1})" for i in matches[:5])
        msg = (
            f"{origin} has {len(matches)} columns that match {name!r}: {named}; keep one, or set close_column"
        )
        raise InputError(msg)
    return matches[0]


def _names_close(names: tuple[str, ...], reading: Reading) -> bool:
    """Whether a line is the header: it names close (as the config says).

    Where the config gives close by position, the header is the line whose field there is a name:
    in a data line it is a price, however many other fields are text (tickers, dates).
    """
    wanted = reading.close_column
    normal = {normal_name(name) for name in names}
    if isinstance(wanted, str):
        return normal_name(wanted) in normal
    if isinstance(wanted, int):
        return wanted <= len(names) and bool(names[wanted - 1]) and not _number(names[wanted - 1])
    return "close" in normal or _price_is_close(names)


def _price_is_close(columns: tuple[str, ...]) -> bool:
    """Investing.com calls the close `Price`, beside `Open`, `High` and `Low`."""
    normal = {normal_name(name) for name in columns}
    return "close" not in normal and {"price", "open", "high", "low"} <= normal


def _yfinance(texts: list[str], lines: list[int], position: int, plain: Header) -> Header | None:
    """The three header lines that yfinance writes.

    Names, tickers and the index's name alone; or, with `group_by='ticker'`, the tickers first.
    """

    def split(line: int) -> list[str]:
        return fields(texts[line], plain.delimiter, wrapped=plain.wrapped)

    def tickers(line: int) -> bool:
        return normal_name(split(line)[0]) == "ticker"

    def index(line: int) -> bool:
        values = split(line)
        return bool(values[0].strip()) and not any(value.strip() for value in values[1:])

    after = lines[position + 1 : position + 3]
    if len(after) == 2 and tickers(after[0]) and index(after[1]):  # noqa: PLR2004
        ticker_line, index_line, skipped = after[0], after[1], plain.skipped
    elif position and after and tickers(lines[position - 1]) and index(after[0]):
        ticker_line, index_line, skipped = lines[position - 1], after[0], plain.skipped[:-1]
    else:
        return None
    return replace(
        plain,
        data_line=index_line + 1,
        columns=(split(index_line)[0].strip(VALUE_PADDING), *plain.columns[1:]),
        skipped=skipped,
        tickers=("", *(ticker.strip() for ticker in split(ticker_line)[1:])),
    )


def _looks_like_data(text: str, delimiter: str, width: int) -> bool:
    values = fields(text, delimiter, wrapped=False)
    return len(values) == width and sum(1 for value in values if _number(value)) > width // 2


def _headerless(texts: list[str], lines: list[int], origin: str, reading: Reading, *, told: bool) -> Header:
    """A file without a header: its columns named by position, or by the OHLC rule."""
    first = texts[lines[0]]
    delimiter, wrapped, values = split_header(first)
    width = len(values)
    rows = [fields(texts[index], delimiter, wrapped=wrapped) for index in lines[:200]]
    names = tuple(f"column_{i + 1}" for i in range(width))
    if _ohlc(rows):
        names = (*_OHLC_NAMES, *names[len(_OHLC_NAMES) :])
    elif not told and not _looks_like_data(first, delimiter, width):
        msg = (
            f"{origin} has no 'close' column; columns found: {names_text(values)} "
            "(set close_column in the config if close has another name)"
        )
        raise InputError(msg)
    elif not told:
        msg = (
            f"{origin} has no header line naming a 'close' column "
            f"(it starts {shorten(first.strip(PADDING), 60)}); if it has no header, set header: false "
            "and close_column (a position, 1 for the first) in the config"
        )
        raise InputError(msg)
    return Header(delimiter, wrapped, None, lines[0], names)


def _ohlc(rows: list[list[str]]) -> bool:
    """An epoch time, then open, high, low, close that behave as such on every row."""
    if not rows or any(len(row) < len(_OHLC_NAMES) for row in rows):
        return False
    if not all(_EPOCH.match(row[0].strip(VALUE_PADDING)) for row in rows):
        return False
    try:
        numbers = number_format(value for row in rows for value in row[1:5])
    except ValueError:
        return False
    for row in rows:
        parsed = [numbers.parse(value) for value in row[1:5]]
        if any(value is None for value in parsed):
            return False
        low, high = parsed[2], parsed[1]
        assert low is not None  # noqa: S101 - checked above
        assert high is not None  # noqa: S101
        if not all(low <= value <= high for value in parsed if value is not None):
            return False
    return True


def _number(value: str) -> bool:
    text = value.strip(VALUE_PADDING).strip('"')
    if text.replace(".", "", 1).replace(",", "", 1).lstrip("+-").isdigit():
        return True
    try:
        float(text.replace(",", "."))  # 1e5, 1,5E-3, nan: prices a header never names
    except ValueError:
        return False
    return True


def _is_wrapped(trimmed: str) -> bool:
    inner = trimmed[1:-1]
    return (
        len(trimmed) >= 2  # noqa: PLR2004
        and trimmed[0] == trimmed[-1] == '"'
        and '"' not in inner
        and any(d in inner for d in DELIMITERS)
    )


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties go to the earlier, more common one
    return best if counts[best] else ","
