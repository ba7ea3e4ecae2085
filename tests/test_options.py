"""The core names options by `Option`; only the faces spell them: the CLI as flags, the API as keywords."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import typer

import signal_job
from signal_job.api import KEYWORDS
from signal_job.cli import app
from signal_job.flags import FLAGS
from signal_job.options import Option, Spelling

PACKAGE = Path(signal_job.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z]")
# Options that no run from Python is given, so that `run` has no keyword for them.
NOT_RUNS = {Option.LOG_FILE: "a run from Python logs to the signal_job logger", Option.FORCE: "generate's"}


def test_a_spelling_puts_each_option_and_its_value_in_the_faces_words() -> None:
    text = f"{Option.SIGNALS} is not written with {Option.CACHE}; try {Option.ENGINE.given('dask')}"
    words = Spelling(
        {**dict.fromkeys(Option, "?"), Option.SIGNALS: "s", Option.CACHE: "c", Option.ENGINE: "e"},
        "{name}:{value}",
    )
    assert words(text) == "s is not written with c; try e:dask"


def test_a_spelling_renames_what_its_face_names_otherwise_after_the_options() -> None:
    words = Spelling(
        dict.fromkeys(Option, "o"), "{name}={value}", renamed=(("input file /t/f", "input frame"),)
    )
    assert words(f"input file /t/f row 2, {Option.SIGNALS}") == "input frame row 2, o"


@pytest.mark.parametrize(
    "text",
    [
        "input file a{signals}b.csv does not exist",
        "--signals",
        "\x00nothing\x00 \x00signals",
        "\x00signals=\x01",
    ],
)
def test_text_without_placeholders_is_left_as_it_is(text: str) -> None:
    assert FLAGS(text) == KEYWORDS(text) == text


def test_each_face_spells_every_option() -> None:
    assert set(FLAGS.names) == set(KEYWORDS.names) == set(Option)


def test_the_command_line_spells_an_option_as_its_flag() -> None:
    group: Any = typer.main.get_command(app)
    flags = {name for command in group.commands.values() for param in command.params for name in param.opts}
    assert set(FLAGS.names.values()) <= flags
    assert FLAGS(f"with {Option.ENGINE.given('dask')}, {Option.SIGNALS}") == "with --engine dask, --signals"


def test_the_api_spells_an_option_as_runs_or_sweeps_or_plots_keyword_argument() -> None:
    keywords = (
        set(inspect.signature(signal_job.run).parameters)
        | set(inspect.signature(signal_job.sweep).parameters)
        | set(inspect.signature(signal_job.plot).parameters)
    )
    for option, name in KEYWORDS.names.items():
        assert (name in keywords) != (option in NOT_RUNS), option
    assert KEYWORDS(f"with {Option.ENGINE.given('dask')}, {Option.HASH}") == 'with engine="dask", hash_inputs'


def strings_in(path: Path) -> list[tuple[int, str]]:
    """Every string constant of a module, docstrings and the text of f-strings included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_no_module_below_the_command_line_spells_a_flag() -> None:
    command_line = {"cli.py", "flags.py"}  # the commands, and their options' spellings
    below = [path for path in sorted(PACKAGE.rglob("*.py")) if path.name not in command_line]
    assert len(below) > 30
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {text[:60]!r}"
        for path in below
        for line, text in strings_in(path)
        if FLAG.search(text)
    ]
    assert not found, "name options by signal_job.options.Option, not by their flags:\n" + "\n".join(found)
