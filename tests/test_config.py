from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from signal_job.config import Config, Overrides, Reading, RunConfig, as_mapping, load_config, resolve_config
from signal_job.errors import ConfigError
from tests.conftest import WriteFile


def test_valid_config_loads(write_file: WriteFile) -> None:
    path = write_file("config.yaml", 'seed: 42\nwindow: 5\nversion: "v1"\n')
    assert load_config(path) == Config(seed=42, window=5, version="v1")


def test_group_by_is_optional_and_trimmed(write_file: WriteFile) -> None:
    path = write_file("config.yaml", 'seed: 42\nwindow: 5\nversion: "v1"\ngroup_by: " symbol "\n')
    assert load_config(path) == Config(seed=42, window=5, version="v1", group_by="symbol")
    path = write_file("null.yaml", 'seed: 42\nwindow: 5\nversion: "v1"\ngroup_by:\n')
    assert load_config(path).group_by is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("seed: true\nwindow: 5\nversion: v1\n", r"'seed' .* must be an integer, not boolean True"),
        ("seed: 42\nwindow: yes\nversion: v1\n", r"'window' .* must be an integer, not boolean True"),
        ('seed: 42\nwindow: "5"\nversion: v1\n', r"'window' .* must be an integer, not string '5'"),
        ("seed: 42\nwindow: 5.5\nversion: v1\n", r"'window' .* must be an integer, not number 5.5"),
        ("seed: 42\nwindow: 0\nversion: v1\n", r"'window' .* must be at least 1, not 0"),
        ("seed: 42\nwindow: -3\nversion: v1\n", r"'window' .* must be at least 1, not -3"),
        ("seed: -1\nwindow: 5\nversion: v1\n", r"'seed' .* must be at least 0, not -1"),
        ("seed:\nwindow: 5\nversion: v1\n", r"'seed' .* must be an integer, not empty value None"),
        (
            "seed: 42\nwindw: 5\nversion: v1\n",
            r"an unknown key 'windw' \(did you mean 'window'\?\); the keys are 'seed', 'window'",
        ),
        ("seed: 42\nversion: v1\n", r"is missing 'window'"),
        ('seed: 42\nwindow: 5\nversion: ""\n', r"'version' .* must be a non-empty string"),
        ('seed: 42\nwindow: 5\nversion: "  "\n', r"'version' .* must be a non-empty string"),
        ("seed: 42\nwindow: 5\nversion: 1.0\n", r'must be a non-empty string \(quote it: version: "1.0"\)'),
        ("", r"is empty; it needs 'seed', 'window', 'version'"),
        ("- 42\n- 5\n", r"must be a mapping of .*, not a list"),
        ("just text\n", r"must be a mapping of .*, not a string"),
        ("seed: 42\nwindow: 5\nwindow: 6\nversion: v1\n", r"duplicate key 'window' at line 3"),
        ("seed: 42\nwindow: [5\nversion: v1\n", r"is not valid YAML at line 3, column \d+"),
        ("seed: 42\n\twindow: 5\n", r"not valid YAML at line 2, column 1"),  # a tab indents
        (f"seed: {2**64}\nwindow: 5\nversion: v1\n", r"'seed' .* must be at most 18446744073709551615"),
        (
            'seed: 1\nwindow: 5\nversion: "\\ud800"\n',
            r"'version' .* must be a non-empty string",
        ),  # lone surrogate
        (
            "seed: 42\nwindow: 5\nversion: v1\ngroup_by: 3\n",
            r"'group_by' .* must be a column name, not integer 3",
        ),
        ('seed: 42\nwindow: 5\nversion: v1\ngroup_by: " "\n', r"'group_by' .* must be a column name"),
    ],
)
def test_invalid_config_is_refused_with_a_clear_message(
    write_file: WriteFile, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_file("config.yaml", text))


def test_error_keeps_the_version_when_it_was_valid(write_file: WriteFile) -> None:
    path = write_file("config.yaml", "seed: 42\nwindow: 0\nversion: v7\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.version == "v7"


def test_error_has_no_version_when_the_version_is_bad(write_file: WriteFile) -> None:
    path = write_file("config.yaml", "seed: 42\nwindow: 5\nversion: 3\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.version is None


def test_missing_config_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config file .*nope.yaml does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_config_path_that_is_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a regular file"):
        load_config(tmp_path)


def test_config_that_is_not_utf8_is_refused(write_file: WriteFile) -> None:
    path = write_file("config.yaml", b"seed: 42\nversion: \xff\n")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path)


def test_large_window_and_64_bit_seed_are_accepted(write_file: WriteFile) -> None:
    path = write_file("config.yaml", f"seed: {2**64 - 1}\nwindow: 1000000000000\nversion: x\n")
    assert load_config(path) == Config(seed=2**64 - 1, window=10**12, version="x")


def test_merge_keys_work_as_in_safe_load_and_may_be_overridden(write_file: WriteFile) -> None:
    path = write_file("config.yaml", "<<: {seed: 1, window: 3}\nwindow: 4\nversion: v1\n")
    assert load_config(path) == Config(seed=1, window=4, version="v1")


def test_unhashable_key_is_a_yaml_error_with_its_place(write_file: WriteFile) -> None:
    path = write_file("config.yaml", "? [a, b]\n: 1\n")
    with pytest.raises(ConfigError, match=r"not valid YAML at line \d+, column \d+: found unhashable key"):
        load_config(path)


BOMB = "\n".join(
    ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["seed: 1", "window: *a8", "version: v"]
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (BOMB, r"expands to more than 1,000 values \(YAML aliases, line \d+\)"),
        ("seed: 1\nwindow: " + "[" * 100 + "]" * 100, r"nests values more than 20 levels deep \(line 2\)"),
        ("seed: 1\nwindow: " + "1" * 5000, r"line 2 holds a value of 5,000 characters \('1111"),
        ("x: &x [*x]\nseed: 1", r"holds a value that contains itself \(a YAML alias, line 1\)"),
        ("seed: 1\nversion: \x00", r"not valid YAML: it holds the character U\+0000, .* \(character 18\)"),
        (
            "windw: 1\n" + "\n".join(f"k{i}: 1" for i in range(30)),
            r"unknown keys 'windw', 'k0', .*, \.\.\. \(31 in all\) \(did you mean 'window'\?\);",
        ),
    ],
    ids=["alias-bomb", "deep", "huge-scalar", "self-reference", "nul", "many-unknown-keys"],
)
def test_hostile_yaml_is_refused_before_it_is_expanded(
    write_file: WriteFile, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(write_file("config.yaml", text))
    assert len(str(caught.value)) < 500  # values quoted shortened, never whole


def test_a_value_in_a_message_is_quoted_shortened(write_file: WriteFile) -> None:
    path = write_file("config.yaml", f"seed: 1\nwindow: '{'x' * 200}'\nversion: v\n")
    with pytest.raises(ConfigError, match=r"must be an integer, not string 'xxxx[x]*\.\.\.$"):
        load_config(path)


def test_a_fifo_config_is_read_once_its_writer_closes_it(tmp_path: Path) -> None:
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["sh", "-c", f"sleep 0.2; printf 'seed: 1\\nwindow: 3\\n' > {fifo}"])  # noqa: S607
    try:
        with pytest.raises(ConfigError, match="is missing 'version'"):  # the whole text, not a first part
            load_config(fifo, deadline=5)
    finally:
        writer.wait(timeout=10)


def test_a_fifo_config_that_nobody_writes_is_an_error_at_its_deadline(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.yaml")
    started = time.monotonic()
    message = (
        r"config file .*config.yaml is a FIFO \(named pipe\) that did not end within 0.3 seconds \(0 bytes"
    )
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "config.yaml", deadline=0.3)
    assert 0.3 <= time.monotonic() - started < 3


def test_a_run_config_reads_its_file_once_and_keeps_the_text(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text('seed: 1\nwindow: 3\nversion: "v7"\n')
    configured = RunConfig(path, None)
    assert configured.resolve() == Config(seed=1, window=3, version="v7")
    path.unlink()  # as a pipe, read once: nothing left to read
    assert (configured.version(), configured.text()) == ("v7", 'seed: 1\nwindow: 3\nversion: "v7"\n')


def test_a_run_config_that_cannot_be_read_says_why_each_time_and_reads_once(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "config.yaml")
    configured = RunConfig(tmp_path / "config.yaml", None, deadline=0.2)
    started = time.monotonic()
    for _ in range(3):
        with pytest.raises(ConfigError, match=r"did not end within 0\.2 seconds"):
            configured.resolve()
    assert configured.version() is None
    assert time.monotonic() - started < 1.5  # one wait, not four


def test_reading_keys_are_read_into_the_config(write_file: WriteFile) -> None:
    text = (
        "seed: 1\nwindow: 5\nversion: v\nclose_column: 5\ntimestamp_column: Date\nheader: false\n"
        "decimal_comma: true\nsort: true\nduplicates: drop\ntimestamp_format: '%d/%m/%Y %H:%M'\n"
    )
    assert load_config(write_file("config.yaml", text)).reading == Reading(
        close_column=5,
        timestamp_column="Date",
        timestamp_format="%d/%m/%Y %H:%M",
        header=False,
        decimal_comma=True,
        sort=True,
        duplicates="drop",
    )


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("close_column: 0", "'close_column' .* must be at least 1, not 0"),
        ("close_column: [1]", "'close_column' .* must be a column name or a position"),
        ("header: yes please", "'header' .* must be true or false, not string 'yes please'"),
        ("sort: 1", "'sort' .* must be true or false, not integer 1"),
        ("duplicates: keep", "'duplicates' .* must be one of refuse, drop, not string 'keep'"),
        ("timestamp_format: dd/mm/yyyy", "'timestamp_format' .* must be a strftime format"),
    ],
)
def test_bad_reading_keys_are_refused(write_file: WriteFile, line: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write_file("config.yaml", f"seed: 1\nwindow: 5\nversion: v\n{line}\n"))


@pytest.mark.parametrize(
    "reading",
    [
        Reading(),
        Reading(close_column=2, header=False, sort=True, duplicates="drop"),
        Reading(timestamp_format="%d/%m/%Y %H:%M", storage_options=(("aws_region", "eu-west-1"),)),
    ],
)
def test_a_config_object_reads_back_as_itself(reading: Reading) -> None:
    config = Config(seed=7, window=3, version="v2", group_by="symbol", reading=reading)
    assert resolve_config(None, config) == config
    assert resolve_config(None, as_mapping(config)) == config


def overrides(*settings: str) -> Overrides:
    """The overrides of `--set` settings, as the command line makes them."""
    return Overrides(
        tuple((key, value) for key, _, value in (each.partition("=") for each in settings)), "--set"
    )


def test_overrides_set_keys_over_the_file_typed_as_yaml_types_them(config_file: Path) -> None:
    given = overrides("window=20", 'version="2.0"', "sort=true", "close_column=Last", "group_by=")
    assert resolve_config(config_file, None, given) == Config(
        seed=42, window=20, version="2.0", reading=Reading(close_column="Last", sort=True)
    )


def test_the_last_override_of_a_key_wins(config_file: Path) -> None:
    assert resolve_config(config_file, None, overrides("window=[", "window=7")).window == 7


def test_overrides_may_give_a_key_the_file_lacks(write_file: WriteFile) -> None:
    path = write_file("config.yaml", "seed: 1\nversion: v\n")
    assert resolve_config(path, None, overrides("window=3")) == Config(seed=1, window=3, version="v")


def test_overrides_set_keys_over_a_config_given_in_python() -> None:
    given = {"seed": 1, "window": 5, "version": "v"}
    assert resolve_config(None, given, overrides("window=9")) == Config(seed=1, window=9, version="v")


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("window=0", "config key 'window' in --set window must be at least 1, not 0"),
        ("window=", "config key 'window' in --set window must be an integer, not empty value None"),
        ("window=[1,2]", "config key 'window' in --set window must be an integer, not list [1, 2]"),
        ("window=5.0", "config key 'window' in --set window must be an integer, not number 5.0"),
        ("window='5'", "config key 'window' in --set window must be an integer, not string '5'"),
        ("seed=yes", "config key 'seed' in --set seed must be an integer, not boolean True"),
        (
            "version=1.0",
            "config key 'version' in --set version must be a non-empty string "
            "(quote it: 'version=\"1.0\"'), not 1.0",
        ),
        (
            "duplicates=keep",
            "config key 'duplicates' in --set duplicates must be one of refuse, drop, not string",
        ),
        ("window=[1", "--set window is not valid YAML at line 1, column 3: expected ',' or ']'"),
        ("window={a: 1, a: 2}", "--set window is not valid YAML at line 1, column 8: duplicate key 'a'"),
    ],
)
def test_an_override_is_checked_as_the_file_is_naming_where_it_came_from(
    config_file: Path, setting: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_config(config_file, None, overrides(setting))
    assert str(caught.value).startswith(message)


def test_an_unknown_override_key_is_the_same_error_as_in_the_file(
    config_file: Path, write_file: WriteFile
) -> None:
    path = write_file("typo.yaml", "seed: 1\nwindow: 5\nversion: v\nwindw: 3\n")
    with pytest.raises(ConfigError) as in_file:
        load_config(path)
    with pytest.raises(ConfigError) as overridden:
        resolve_config(config_file, None, overrides("windw=3"))
    named, _, said = str(in_file.value).partition(" has ")
    assert (named, said[:40]) == (f"config file {path}", "an unknown key 'windw' (did you mean 'wi")
    assert str(overridden.value) == f"--set has {said}"
    assert overridden.value.version == "v1"  # the file's: the run's version, were it to run


def test_a_bad_override_keeps_the_files_version_unless_it_sets_a_bad_one(config_file: Path) -> None:
    for setting, version in (("window=0", "v1"), ("version=2.0", None), ("window=[", "v1")):
        with pytest.raises(ConfigError) as caught:
            resolve_config(config_file, None, overrides(setting))
        assert caught.value.version == version, setting


def test_a_config_with_overrides_has_no_text_as_read(config_file: Path) -> None:
    # The text a tracked run records must be its config: with overrides, it is rebuilt from the keys.
    assert RunConfig(config_file, None).text() == config_file.read_text()
    assert RunConfig(config_file, None, overrides("window=20")).text() is None


BOMB_VALUE = "[" + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)) + "]"


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        (
            'window=[&a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"], ' + BOMB_VALUE[1:],
            r"--set window expands to more than 1,000 values \(YAML aliases, line 1\)",
        ),
        ("window=" + "[" * 100 + "]" * 100, r"--set window nests values more than 20 levels deep \(line 1\)"),
        (
            "version=" + "v" * 300,
            r"--set version line 1 holds a value of 300 characters \('vvv.*values are at most 256$",
        ),
        ("version=" + "v" * 70_000, r"--set version is 70,000 characters, more than the 64 KiB allowed$"),
        ("window=&x [*x]", r"--set window holds a value that contains itself \(a YAML alias, line 1\)"),
        (
            "window=!!python/object/apply:os.system [echo]",
            r"--set window is not valid YAML .*could not determine a constructor",
        ),
        ("window=\x00", r"--set window is not valid YAML: it holds the character U\+0000"),
        ("window=\udcff", r"--set window is not valid YAML: it holds the character U\+DCFF"),
    ],
    ids=["alias-bomb", "deep", "long-scalar", "huge", "self-reference", "python-tag", "nul", "not-utf8"],
)
def test_a_hostile_override_is_refused_before_it_is_expanded(
    config_file: Path, setting: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        resolve_config(config_file, None, overrides(setting))
    assert len(str(caught.value)) < 300  # values quoted shortened, never whole


def test_the_windows_key_reads_a_list_or_text_and_reads_back_as_itself() -> None:
    base = {"seed": 1, "window": 5, "version": "v"}
    assert resolve_config(None, {**base, "windows": [20, 5]}).windows == (20, 5)
    config = resolve_config(None, {**base, "windows": "2,5:15:5"})
    assert config.windows == (2, 5, 10, 15)
    assert resolve_config(None, as_mapping(config)) == config
    assert resolve_config(None, base).windows is None
