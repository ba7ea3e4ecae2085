"""The job's YAML config: `seed`, `window` and `version`, and optional keys, each checked strictly."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from signal_job.errors import ConfigError, JobError, first_line, names_text, shorten
from signal_job.safe_files import read_small
from signal_job.windows import checked_windows, parse_windows

KEYS = ("seed", "window", "version")
OPTIONAL_KEYS = (
    "group_by",
    "close_column",
    "timestamp_column",
    "timestamp_format",
    "header",
    "decimal_comma",
    "sort",
    "duplicates",
    "storage_options",
    "windows",
)
DUPLICATES = ("refuse", "drop")
# A config is a few short lines. Anything far larger is refused before it is expanded: a YAML
# alias bomb fits in 500 bytes and expands to gigabytes, deep nesting overflows the parser.
MAX_BYTES = 64 * 1024
MAX_DEPTH = 20
MAX_VALUES = 1_000  # scalars, lists and mappings, counting each alias as often as it is used
MAX_SCALAR = 256  # characters of one value
# A config given as a pipe (`/dev/stdin`, a shell's `<(...)`) is read until its writer closes it,
# within this many seconds: a pipe that nothing writes to is an error, not a hang.
DEADLINE = 10.0


@dataclass(frozen=True)
class Reading:
    """How to read the input where the file cannot tell; None means: tell from the file."""

    close_column: str | int | None = None  # a column name, or a 1-based position
    timestamp_column: str | int | None = None
    timestamp_format: str | None = None  # strftime, e.g. "%d/%m/%Y %H:%M", for ambiguous dates
    header: bool | None = None  # whether the first line names the columns
    decimal_comma: bool | None = None  # 44910,83 rather than 44910.83
    sort: bool = False  # put rows in time order first, rather than refuse a file out of order
    duplicates: str = "refuse"  # or "drop": keep one row of each run of identical rows
    # For inputs in object storage (s3://...): credentials, endpoint, region, as Polars names them.
    storage_options: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # secrets: never shown


@dataclass(frozen=True)
class Config:
    """What one run needs to know besides its files."""

    seed: int
    window: int
    version: str
    group_by: str | None = None  # a column naming the series (e.g. `symbol`): one window per value
    reading: Reading = Reading()
    # Input columns the signals keep beside their own, read as numbers; True: the OHLCV ones the
    # input has. Not a config key: what a face asks of one run (`signal_job.signals(keep=...)`).
    keep: tuple[str, ...] | bool = ()
    windows: tuple[int, ...] | None = None  # a sweep's windows (a run counts `window` alone)


# A config given in Python rather than by a path: checked as a file's would be.
Given = Config | Mapping[str, Any]


@dataclass(frozen=True)
class Overrides:
    """Config keys set over the file's for one run (the command line's `key=value`s), the last one winning.

    Each value is the text of a YAML value, typed as YAML types it (`20` an integer, `"1.0"` a
    string, an empty one null) and checked as the file's keys are; `named` is how messages name
    where the keys came from, in the words of the face that took them.
    """

    pairs: tuple[tuple[str, str], ...] = ()  # (key, YAML text of its value), in the order given
    named: str = "the overrides"

    def typed(self, version: str | None) -> tuple[dict[str, object], dict[str, str]]:
        """Each key's value as YAML types it, and how messages name it; `ConfigError` if one is bad.

        An error carries `version`, the version the run would have without these keys.
        """
        last = dict(self.pairs)  # a key set again replaces its value (a script appends overrides)
        unknown = [key for key in last if key not in KEYS + OPTIONAL_KEYS]
        if unknown:
            raise _unknown_keys(unknown, self.named, version)
        values: dict[str, object] = {}
        origins: dict[str, str] = {}
        for key, text in last.items():
            origin = f"{self.named} {key}"
            try:
                if len(text) > MAX_BYTES:  # as a file is refused before it is parsed
                    msg = (
                        f"{origin} is {len(text):,} characters, more than the {MAX_BYTES // 1024} KiB allowed"
                    )
                    raise ConfigError(msg)
                values[key], origins[key] = _parse_yaml(text, origin), origin
            except ConfigError as exc:
                exc.version = version
                raise
        return values, origins


def resolve_config(path: Path | None, given: Given | None, overrides: Overrides = Overrides()) -> Config:
    """The run's config: `given` (a `Config` or a mapping, checked as a file is), else read from `path`.

    With `overrides`, the keys they set replace the file's (or the given config's), checked alike.
    """
    return RunConfig(path, given, overrides).resolve()


def as_mapping(config: Config) -> dict[str, Any]:
    """`config` as the mapping of config keys it stands for (keys left unset left out), in their order."""
    if not isinstance(config.reading, Reading):
        msg = f"the Config's reading must be a Reading, not {type(config.reading).__name__}"
        raise ConfigError(msg)
    keys = {"seed": config.seed, "window": config.window, "version": config.version}
    if config.group_by is not None:
        keys["group_by"] = config.group_by
    if config.windows is not None:
        keys["windows"] = list(config.windows)
    defaults = Reading()
    for name in OPTIONAL_KEYS:
        if hasattr(defaults, name) and getattr(config.reading, name) != getattr(defaults, name):
            keys[name] = getattr(config.reading, name)
    pairs = keys.get("storage_options")
    if isinstance(pairs, tuple) and all(isinstance(pair, tuple) and len(pair) == 2 for pair in pairs):  # noqa: PLR2004
        keys["storage_options"] = dict(pairs)  # a Reading keeps them as pairs; the key is a mapping
    return keys


class RunConfig:
    """A run's config: given in Python, or read from its file once and kept.

    A pipe (`/dev/stdin`, a shell's `<(...)`) gives its text only once, and a run asks for its
    config again after the run: an error document's version, the tracked run's config.yaml.
    """

    def __init__(
        self,
        path: Path | None,
        given: Given | None,
        overrides: Overrides = Overrides(),
        *,
        deadline: float = DEADLINE,
    ) -> None:
        """The config `given`, else the file at `path` (a pipe must end within `deadline` seconds).

        `overrides` set keys over it.
        """
        self.path = path
        self.given = given
        self.overrides = overrides
        self.deadline = deadline
        self._read: str | ConfigError | None = None  # the file's text, or why it could not be read

    def text(self) -> str | None:
        """The config file's text as read; `ConfigError` if unread.

        None where that text is not the run's config: one given in Python, or keys overridden.
        """
        if self.given is not None or self.path is None or self.overrides.pairs:
            return None
        return self._file_text(self.path)

    def resolve(self) -> Config:
        """The config, checked (one given in Python as a file is); `ConfigError` if it is bad."""
        overrides = self.overrides
        if isinstance(self.given, Config):  # checked like a file: a dataclass takes any values
            data = as_mapping(self.given)
            return parse_config(data, origin="the Config", named="the Config", overrides=overrides)
        if self.given is not None:
            named = "the config mapping"
            return parse_config(dict(self.given), origin=named, named=named, overrides=overrides)
        assert self.path is not None  # noqa: S101 - a config path, or a config given
        return config_from_text(self._file_text(self.path), self.path, overrides)

    def _file_text(self, path: Path) -> str:
        """The file's text, read at the first call only; the same error each time if it cannot be."""
        if self._read is None:
            try:
                self._read = read_config(path, deadline=self.deadline)
            except ConfigError as exc:
                self._read = exc
        if isinstance(self._read, ConfigError):
            raise self._read
        return self._read

    def known(self) -> Config | None:
        """The config for a report: None if reading it is what failed."""
        try:
            return self.resolve()
        except JobError:
            return None

    def version(self) -> str | None:
        """The config's version for an error document, where it can be told."""
        config = self.known()
        return None if config is None else config.version


class _StrictLoader(yaml.SafeLoader):
    """A safe loader that refuses duplicate keys, which plain YAML silently overwrites."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *defaults` may be overridden by the keys written beside it
        key = loader.construct_object(key_node)
        try:
            duplicate = key in seen
        except TypeError:
            continue  # an unhashable key: construct_mapping below refuses it with a mark
        if duplicate:
            line = key_node.start_mark.line + 1
            msg = f"duplicate key {shorten(key)} at line {line}"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_config(path: Path, *, deadline: float = DEADLINE) -> Config:
    """Read and validate the config file at `path` (a pipe must end within `deadline` seconds)."""
    return config_from_text(read_config(path, deadline=deadline), path)


def read_config(path: Path, *, deadline: float = DEADLINE) -> str:
    """The config file's text: a regular file's, or a pipe's that ends within `deadline` seconds."""
    raw = read_small(path, what="config file", limit=MAX_BYTES, error=ConfigError, deadline=deadline)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"config file {path} is not UTF-8 text (byte {exc.start})"
        raise ConfigError(msg) from exc


def config_from_text(text: str, path: Path, overrides: Overrides = Overrides()) -> Config:
    """Validate the text of the config file at `path`, with `overrides` set over its keys."""
    return parse_config(_parse_yaml(text, f"config file {path}"), origin=str(path), overrides=overrides)


def _parse_yaml(text: str, origin: str) -> object:
    """The YAML document in `text`, refused if it is deep, huge or refers to itself."""
    try:
        _check_depth(text, origin)
        loader = _StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_size(node, origin)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        msg = f"{origin} is not valid YAML{where}: {exc.problem or exc.context}"
        raise ConfigError(msg) from exc
    except yaml.reader.ReaderError as exc:
        character = exc.character if isinstance(exc.character, int) else ord(exc.character)
        msg = (
            f"{origin} is not valid YAML: it holds the character U+{character:04X}, which YAML does "
            f"not allow (character {exc.position + 1})"
        )
        raise ConfigError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"{origin} is not valid YAML: {first_line(exc)}"
        raise ConfigError(msg) from exc


_OPENING = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSING = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_depth(text: str, origin: str) -> None:
    # The scanner reads tokens one by one (the composer recurses and would overflow first).
    depth = 0
    for token in yaml.scan(text, Loader=_StrictLoader):
        if isinstance(token, _OPENING):
            depth += 1
            if depth > MAX_DEPTH:
                line = token.start_mark.line + 1
                msg = (
                    f"{origin} nests values more than {MAX_DEPTH} levels deep (line {line}); "
                    "a config is a flat mapping"
                )
                raise ConfigError(msg)
        elif isinstance(token, _CLOSING):
            depth -= 1


def _check_size(root: yaml.Node, origin: str) -> None:
    """Count the values the document expands to, without expanding it; refuse long scalars and cycles."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = _children(node)
        if done:
            open_nodes.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
            if sizes[id(node)] > MAX_VALUES:
                line = node.start_mark.line + 1
                msg = (
                    f"{origin} expands to more than {MAX_VALUES:,} values (YAML aliases, line {line}); "
                    "a config is a few keys"
                )
                raise ConfigError(msg)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_nodes:
            msg = (
                f"{origin} holds a value that contains itself (a YAML alias, line {node.start_mark.line + 1})"
            )
            raise ConfigError(msg)
        if isinstance(node, yaml.ScalarNode) and len(node.value) > MAX_SCALAR:
            line = node.start_mark.line + 1
            msg = (
                f"{origin} line {line} holds a value of {len(node.value):,} characters "
                f"({shorten(node.value)}); values are at most {MAX_SCALAR}"
            )
            raise ConfigError(msg)
        open_nodes.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [item for pair in node.value for item in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def parse_config(
    data: object, *, origin: str, named: str | None = None, overrides: Overrides = Overrides()
) -> Config:
    """Validate an already parsed YAML document (or a mapping given in Python), `overrides` set over it.

    `origin` names it in messages about one key ("config key 'window' in <origin>"), `named`
    in messages about the whole (default: "config file <origin>"); a key that `overrides` set is
    named as they name it.
    """
    named = named or f"config file {origin}"
    if data is None:
        msg = f"{named} is empty; it needs {_keys_text()}"
        raise ConfigError(msg)
    if not isinstance(data, dict):
        msg = f"{named} must be a mapping of {_keys_text()}, not a {_yaml_type(data)}"
        raise ConfigError(msg)
    version = data.get("version")
    known_version = version if _is_version(version) else None
    unknown = [key for key in data if key not in KEYS + OPTIONAL_KEYS]
    if unknown:
        raise _unknown_keys(unknown, named, known_version)
    values, origins = overrides.typed(known_version)
    data = {**data, **values}
    version = data.get("version")
    known_version = version if _is_version(version) else None
    missing = [key for key in KEYS if key not in data]
    if missing:
        names = ", ".join(repr(key) for key in missing)
        msg = f"{named} is missing {names}"
        raise ConfigError(msg, version=known_version)
    # The metrics document echoes the seed; JSON readers (and numpy) take at most 64 bits.
    seed = _integer(
        data["seed"], "seed", origins.get("seed", origin), known_version, minimum=0, maximum=2**64 - 1
    )
    window = _integer(data["window"], "window", origins.get("window", origin), known_version, minimum=1)
    if known_version is None:
        quoted = "'version=\"1.0\"'" if "version" in origins else 'version: "1.0"'  # in the shell's quotes
        hint = f" (quote it: {quoted})" if isinstance(version, int | float) else ""
        where = origins.get("version", origin)
        msg = f"config key 'version' in {where} must be a non-empty string{hint}, not {shorten(version)}"
        raise ConfigError(msg)
    checked = {
        key: _CHECKS[key](data[key], key, origins.get(key, origin), known_version)
        for key in OPTIONAL_KEYS
        if key in data
    }
    group_by = checked.pop("group_by", None)
    assert group_by is None or isinstance(group_by, str)  # noqa: S101 - checked above
    windows = checked.pop("windows", None)
    reading = Reading(**{key: value for key, value in checked.items() if value is not None})
    return Config(
        seed=seed, window=window, version=known_version, group_by=group_by, reading=reading, windows=windows
    )


def _unknown_keys(unknown: list[Any], named: str, version: str | None) -> ConfigError:
    """The error for keys that are not config keys, the first one's likeliest meaning suggested."""
    names = names_text(unknown, limit=5)
    close = difflib.get_close_matches(str(unknown[0]), KEYS + OPTIONAL_KEYS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    optional = ", ".join(repr(key) for key in OPTIONAL_KEYS)
    msg = (
        f"{named} has {'an unknown key' if len(unknown) == 1 else 'unknown keys'} {names}{hint}; "
        f"the keys are {_keys_text()} and, optionally, {optional}"
    )
    return ConfigError(msg, version=version)


def _name(value: object, key: str, origin: str, version: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        msg = f"config key {key!r} in {origin} must be a column name, not {_describe(value)}"
        raise ConfigError(msg, version=version)
    return value.strip()


def _column(value: object, key: str, origin: str, version: str | None) -> str | int | None:
    """A column name, or a 1-based position."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _integer(value, key, origin, version, minimum=1, maximum=100_000)
    if value is not None and not isinstance(value, str):
        msg = (
            f"config key {key!r} in {origin} must be a column name or a position (1 for the first), "
            f"not {_describe(value)}"
        )
        raise ConfigError(msg, version=version)
    return _name(value, key, origin, version)


def _flag(value: object, key: str, origin: str, version: str | None) -> bool | None:
    if value is not None and not isinstance(value, bool):
        msg = f"config key {key!r} in {origin} must be true or false, not {_describe(value)}"
        raise ConfigError(msg, version=version)
    return value


def _format(value: object, key: str, origin: str, version: str | None) -> str | None:
    text = _name(value, key, origin, version)
    if text is not None and "%" not in text:
        example = "'%d/%m/%Y %H:%M'"
        msg = (
            f"config key {key!r} in {origin} must be a strftime format such as {example}, not {shorten(text)}"
        )
        raise ConfigError(msg, version=version)
    return text


def _duplicates(value: object, key: str, origin: str, version: str | None) -> str | None:
    if value is not None and value not in DUPLICATES:
        msg = f"config key {key!r} in {origin} must be one of {', '.join(DUPLICATES)}, not {_describe(value)}"
        raise ConfigError(msg, version=version)
    return value


def _storage_options(
    value: object, key: str, origin: str, version: str | None
) -> tuple[tuple[str, str], ...]:
    """A mapping of option names to scalar values, as text (what object stores take)."""
    if not isinstance(value, dict):
        example = "{aws_region: eu-west-1, aws_endpoint_url: 'http://127.0.0.1:9000'}"
        msg = (
            f"config key {key!r} in {origin} must be a mapping of option names to values, such as "
            f"{example}, not {_describe(value)}"
        )
        raise ConfigError(msg, version=version)
    for name, each in value.items():
        # Never the value in the message: it may be a secret.
        if not isinstance(name, str) or not isinstance(each, str | int | float | bool):
            msg = f"config key {key!r} in {origin}: option {shorten(name)} must have a text or number value"
            raise ConfigError(msg, version=version)
    text = {name: str(each).lower() if isinstance(each, bool) else str(each) for name, each in value.items()}
    return tuple(sorted(text.items()))


def _windows_key(value: object, key: str, origin: str, version: str | None) -> tuple[int, ...]:
    """The `windows` key: a list of windows, or their text (see `parse_windows`)."""
    what = f"config key {key!r} in {origin}"
    try:
        if isinstance(value, str):
            return parse_windows(value, what=what)
        if isinstance(value, int) and not isinstance(value, bool):
            return checked_windows([value], what=what)
        if isinstance(value, list) and all(
            isinstance(each, int) and not isinstance(each, bool) for each in value
        ):
            return checked_windows(value, what=what)
    except ConfigError as exc:
        exc.version = version
        raise
    msg = f'{what} must be a list of windows ([5, 10, 20]) or their text ("5:200:5"), not {_describe(value)}'
    raise ConfigError(msg, version=version)


_CHECKS: dict[str, Any] = {
    "group_by": _name,
    "close_column": _column,
    "timestamp_column": _column,
    "timestamp_format": _format,
    "header": _flag,
    "decimal_comma": _flag,
    "sort": _flag,
    "duplicates": _duplicates,
    "storage_options": _storage_options,
    "windows": _windows_key,
}


def _integer(
    value: object, key: str, origin: str, version: str | None, *, minimum: int, maximum: int | None = None
) -> int:
    # YAML reads `yes`/`true` as booleans, which Python counts as integers: refuse them.
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"config key {key!r} in {origin} must be an integer, not {_describe(value)}"
        raise ConfigError(msg, version=version)
    if value < minimum:
        msg = f"config key {key!r} in {origin} must be at least {minimum}, not {shorten(value)}"
        raise ConfigError(msg, version=version)
    if maximum is not None and value > maximum:
        msg = f"config key {key!r} in {origin} must be at most {maximum}, not {shorten(value)}"
        raise ConfigError(msg, version=version)
    return value


def _is_version(value: object) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    try:
        value.encode("utf-8")  # YAML escapes can spell lone surrogates, which JSON cannot carry
    except UnicodeEncodeError:
        return False
    return True


def _describe(value: object) -> str:
    return f"{_yaml_type(value)} {shorten(value)}"


def _yaml_type(value: object) -> str:
    names = {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        type(None): "empty value",
    }
    return names.get(type(value), "mapping" if isinstance(value, dict) else type(value).__name__)


def _keys_text() -> str:
    return ", ".join(f"'{key}'" for key in KEYS)
