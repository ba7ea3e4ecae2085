"""Every shell block of README.md, docs/*.md and benchmarks/README.md runs as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
DOCUMENTS = (
    PROJECT / "README.md",
    *sorted((PROJECT / "docs").glob("*.md")),
    PROJECT / "benchmarks" / "README.md",
)
SHELLS = frozenset({"sh", "bash", "console"})
FLAGS = frozenset({"fails", "no-test", "slow"})
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


def run_block(block: Block, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the block with bash in `folder`, holding copies of data.csv and config.yaml."""
    for name in ("data.csv", "config.yaml"):
        shutil.copy(PROJECT / name, folder / name)
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIGNAL_JOB_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV_BIN.parent)
    # bash from PATH, as a reader runs the block.
    return subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + block.script()],  # noqa: S607
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
