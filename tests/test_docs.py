"""Every shell block of README.md, docs/*.md and benchmarks/README.md runs as written."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DOCUMENTS = (
    PROJECT / "README.md",
    *sorted((PROJECT / "docs").glob("*.md")),
    PROJECT / "benchmarks" / "README.md",
)
SHELLS = frozenset({"sh", "bash", "console"})
FLAGS = frozenset({"fails", "no-test", "slow"})
# A `json output` block shows what the shell block right before it prints: its last document.
OUTPUT = "output"
# Keys of a shown document that differ from run to run (or machine to machine): not compared.
UNSTATED = frozenset({"latency_ms", "inputs"})
# What a comment on a block's last run states, e.g. `signal-job run ...   # rows 10000, value 0.4989`.
STATED = {
    "rows_processed": re.compile(r"\brows (\d+)\b"),
    "value": re.compile(r"\bvalue (\d+(?:\.\d+)?)\b"),
}
RUN_LINE = re.compile(r"\b(signal-job|python -m signal_job) run\b")
# The Quick start, the docker commands and the benchmark runs: keep this number small.
MAX_NOT_RUN = 6
# The folder of the venv's python, not of the interpreter it links to: signal-job is installed there.
VENV_BIN = Path(sys.executable).parent
QUICK_START = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/signal-job run",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/ruff check . "
    "&& .venv/bin/mypy && .venv/bin/pytest -n auto",
)
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a document: its language, the words after it, and its text."""

    document: Path
    number: int
    line: int
    language: str
    flags: tuple[str, ...]
    text: str

    @property
    def id(self) -> str:
        """The file, the block's number and line in it, and its first line, for pytest's test ids."""
        first = self.text.splitlines()[0] if self.text.strip() else ""
        return f"{self.document.relative_to(PROJECT)} block {self.number}, line {self.line}: {first[:50]}"

    def script(self) -> str:
        """The commands: the text itself, or the `$ ` lines of a console block."""
        if self.language != "console":
            return self.text
        return "\n".join(line[2:] for line in self.text.splitlines() if line.startswith("$ "))


def blocks_of(document: Path) -> list[Block]:
    """The fenced code blocks of a markdown document, in order."""
    blocks: list[Block] = []
    opening: str | None = None
    start, info, lines = 0, list[str](), list[str]()
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), start=1):
        match = FENCE.match(line)
        if opening is None and match:
            opening, start, info, lines = match["fence"], number, match["info"].split(), []
        elif opening is not None and match and match["fence"] == opening and not match["info"].strip():
            language, flags = (info[0], tuple(info[1:])) if info else ("", ())
            blocks.append(Block(document, len(blocks) + 1, start, language, flags, "\n".join(lines) + "\n"))
            opening = None
        elif opening is not None:
            lines.append(line)
    assert opening is None, f"{document}: a code block is not closed"
    return blocks


SHELL_BLOCKS = [block for document in DOCUMENTS for block in blocks_of(document) if block.language in SHELLS]
RUN = [block for block in SHELL_BLOCKS if "no-test" not in block.flags]


def shown_outputs(documents: tuple[Path, ...]) -> dict[str, Block]:
    """The `json output` blocks, by the id of the shell block before each: what it prints."""
    found = {}
    for document in documents:
        blocks = blocks_of(document)
        for before, block in itertools.pairwise(blocks):
            if block.language == "json" and OUTPUT in block.flags:
                assert before.language in SHELLS, f"{block.id}: an output block follows no shell block"
                found[before.id] = block
    return found


SHOWN = shown_outputs(DOCUMENTS)


def stated_runs(block: Block) -> list[tuple[str, dict[str, Any]]]:
    """What the block states its runs print: (the script up to that run, the values stated).

    A comment on a run (`signal-job run ...   # rows 10000, value 0.4989: as data.csv`) states
    values of the document that run prints; a `json output` block after the block, those of the
    block's last document (latency and what differs by machine aside).
    """
    found: list[tuple[str, dict[str, Any]]] = []
    lines = block.script().splitlines()
    runs = [number for number, line in enumerate(lines) if RUN_LINE.search(line.partition("#")[0])]
    for number in runs:
        comment = lines[number].partition("#")[2]
        stated = {
            key: json.loads(match[1]) for key, pattern in STATED.items() if (match := pattern.search(comment))
        }
        # The block's last run prints its last document: the whole block runs (its clean-up too).
        script = block.script() if number == runs[-1] else "\n".join(lines[: number + 1]) + "\n"
        if stated:
            found.append((script, stated))
    if block.id in SHOWN:
        shown = json.loads(SHOWN[block.id].text)
        found.append((block.script(), {key: value for key, value in shown.items() if key not in UNSTATED}))
    return found


def printed_documents(stdout: str) -> list[dict[str, Any]]:
    """Every JSON object printed on stdout, in order (a metrics document is one, over several lines)."""
    decoder, found, start = json.JSONDecoder(), [], stdout.find("{")
    while start != -1:
        try:
            document, end = decoder.raw_decode(stdout, start)
        except ValueError:
            end = start + 1
        else:
            found.append(document)
        start = stdout.find("{", end)
    return [document for document in found if isinstance(document, dict)]


def differences(stated: dict[str, Any], stdout: str) -> dict[str, tuple[Any, Any]]:
    """The stated keys whose value the last printed document does not hold: key -> (stated, printed)."""
    printed = printed_documents(stdout)
    last = printed[-1] if printed else {}
    return {key: (value, last.get(key)) for key, value in stated.items() if last.get(key) != value}


def run_block(block: Block, folder: Path, script: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the block (or `script`, its first lines) with bash in `folder`, with data.csv and config.yaml."""
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, folder / name)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNAL_JOB_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    # bash from PATH, as a reader runs the block.
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + (script or block.script())],  # noqa: S607
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_documents_are_found_with_shell_blocks_to_run() -> None:
    assert all(document.is_file() for document in DOCUMENTS)
    # A parser that found nothing would leave the parametrized test empty: a skip, not a failure.
    assert len(RUN) >= 10
    assert (VENV_BIN / "signal-job").is_file(), f"signal-job is not installed in {VENV_BIN}"


def test_shell_blocks_carry_only_known_flags() -> None:
    unknown = {block.id: block.flags for block in SHELL_BLOCKS if not set(block.flags) <= FLAGS}
    assert not unknown, f"flags other than {sorted(FLAGS)}: {unknown}"
    both = [block.id for block in SHELL_BLOCKS if {"fails", "no-test"} <= set(block.flags)]
    assert not both, f"a block is either run (and fails) or not run: {both}"


def test_only_a_few_marked_blocks_are_not_run() -> None:
    not_run = [block.id for block in SHELL_BLOCKS if "no-test" in block.flags]
    assert len(not_run) <= MAX_NOT_RUN, f"{len(not_run)} blocks marked no-test: {not_run}"


def test_readme_quick_start_holds_the_commands_ci_runs() -> None:
    # .ci/run takes the second line of the first block after "## Quick start" as CI's test command.
    readme = PROJECT / "README.md"
    heading = readme.read_text(encoding="utf-8").splitlines().index("## Quick start") + 1
    first = next(block for block in blocks_of(readme) if block.line > heading)
    assert tuple(first.text.splitlines()) == QUICK_START


# A block marked slow (a cluster started, a server waited for) runs with the slow tests, in CI.
PARAMS = [
    pytest.param(block, marks=[pytest.mark.slow] if "slow" in block.flags else [], id=block.id)
    for block in RUN
]


@pytest.mark.parametrize("block", PARAMS)
def test_shell_block_runs_as_written(block: Block, tmp_path: Path) -> None:
    result = run_block(block, tmp_path)
    shown = f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    if "fails" in block.flags:
        # A job error: exit 1 and the error document, so a setup command that fails does not pass.
        assert result.returncode == 1, f"{block.id} is marked to fail with a job error: {shown}"
        assert '"status": "error"' in result.stdout, f"{block.id} printed no error document: {shown}"
    else:
        assert result.returncode == 0, f"{block.id} must run as written: {shown}"
    for number, (script, stated) in enumerate(stated_runs(block)):
        if script == block.script():
            printed = result.stdout
        else:  # a run in the middle of the block: the block up to it, in a folder of its own
            (folder := tmp_path / f"up-to-{number}").mkdir()
            printed = run_block(block, folder, script).stdout
        wrong = differences(stated, printed)
        assert not wrong, f"{block.id} printed other values than the docs state (stated, printed): {wrong}"


def test_the_readme_example_shows_what_a_bare_run_prints() -> None:
    (example,) = [
        block for block in RUN if block.document.name == "README.md" and block.text == "signal-job run\n"
    ]
    assert stated_runs(example) == [
        (
            "signal-job run\n",
            {
                "version": "v1",
                "rows_processed": 10000,
                "metric": "signal_rate",
                "value": 0.4989,
                "seed": 42,
                "status": "success",
            },
        )
    ]


def test_a_document_that_differs_from_what_the_docs_state_is_caught() -> None:
    text = "signal-job run --input x.csv   # rows 10000, value 0.5: half\nsignal-job run --explain\n"
    block = Block(PROJECT / "README.md", 0, 1, "sh", (), text)
    (stated,) = stated_runs(block)
    assert stated == (
        "signal-job run --input x.csv   # rows 10000, value 0.5: half\n",
        {"rows_processed": 10000, "value": 0.5},
    )
    printed = 'log\n{\n  "rows_processed": 10000,\n  "value": 0.4989,\n  "latency_ms": 9\n}\n'
    assert differences(stated[1], printed) == {"value": (0.5, 0.4989)}
    assert differences({"rows_processed": 10000}, printed) == {}
    assert differences({"value": 0.4989}, "no document") == {"value": (0.4989, None)}
