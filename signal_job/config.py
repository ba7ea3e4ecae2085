"""The job's YAML config: `seed`, `window` and `version`, optionally `group_by`, each checked strictly."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from signal_job.errors import ConfigError, file_problem

KEYS = ("seed", "window", "version")
OPTIONAL_KEYS = ("group_by",)


@dataclass(frozen=True)
class Config:
    """What one run needs to know besides its files."""

    seed: int
    window: int
    version: str
    group_by: str | None = None  # a column naming the series (e.g. `symbol`): one window per value


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
            msg = f"duplicate key {key!r} at line {line}"
            raise yaml.constructor.ConstructorError(None, None, msg, key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"config file {path} is not UTF-8 text (byte {exc.start})"
        raise ConfigError(msg) from exc
    except OSError as exc:
        raise ConfigError(file_problem(exc, "config file", path)) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        msg = f"config file {path} is not valid YAML{where}: {exc.problem or exc.context}"
        raise ConfigError(msg) from exc
    except yaml.YAMLError as exc:
        msg = f"config file {path} is not valid YAML: {exc}"
        raise ConfigError(msg) from exc
    return parse_config(data, origin=str(path))


def parse_config(data: object, *, origin: str) -> Config:
    """Validate an already parsed YAML document; `origin` names it in messages."""
    if data is None:
        msg = f"config file {origin} is empty; it needs {_keys_text()}"
        raise ConfigError(msg)
    if not isinstance(data, dict):
        msg = f"config file {origin} must be a mapping of {_keys_text()}, not a {_yaml_type(data)}"
        raise ConfigError(msg)
    version = data.get("version")
    known_version = version if _is_version(version) else None
    unknown = [key for key in data if key not in KEYS + OPTIONAL_KEYS]
    if unknown:
        names = ", ".join(repr(key) for key in unknown)
        msg = (
            f"config file {origin} has unknown key(s) {names}; "
            f"the keys are {_keys_text()} and optionally 'group_by'"
        )
        raise ConfigError(msg, version=known_version)
    missing = [key for key in KEYS if key not in data]
    if missing:
        names = ", ".join(repr(key) for key in missing)
        msg = f"config file {origin} is missing {names}"
        raise ConfigError(msg, version=known_version)
    # The metrics document echoes the seed; JSON readers (and numpy) take at most 64 bits.
    seed = _integer(data["seed"], "seed", origin, known_version, minimum=0, maximum=2**64 - 1)
    window = _integer(data["window"], "window", origin, known_version, minimum=1)
    if known_version is None:
        hint = ' (quote it: version: "1.0")' if isinstance(version, int | float) else ""
        msg = f"config key 'version' in {origin} must be a non-empty string{hint}, not {version!r}"
        raise ConfigError(msg)
    group_by = data.get("group_by")
    if group_by is not None and (not isinstance(group_by, str) or not group_by.strip()):
        msg = f"config key 'group_by' in {origin} must be a column name, not {_describe(group_by)}"
        raise ConfigError(msg, version=known_version)
    return Config(
        seed=seed,
        window=window,
        version=known_version,
        group_by=group_by.strip() if group_by is not None else None,
    )


def _integer(
    value: object, key: str, origin: str, version: str | None, *, minimum: int, maximum: int | None = None
) -> int:
    # YAML reads `yes`/`true` as booleans, which Python counts as integers: refuse them.
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"config key {key!r} in {origin} must be an integer, not {_describe(value)}"
        raise ConfigError(msg, version=version)
    if value < minimum:
        msg = f"config key {key!r} in {origin} must be at least {minimum}, not {value}"
        raise ConfigError(msg, version=version)
    if maximum is not None and value > maximum:
        msg = f"config key {key!r} in {origin} must be at most {maximum}, not {value}"
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
    return f"{_yaml_type(value)} {value!r}"


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
