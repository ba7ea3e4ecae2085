"""The docs' performance figures, rendered from the recorded benchmark runs: `python -m benchmarks.docs`.

A figure in README.md, docs/*.md or benchmarks/README.md stands between `<!-- bench:NAME -->` and
`<!-- /bench -->`, where NAME is one of FIGURES: a function of the records in benchmarks/results/
(what `python -m benchmarks.bench --record` writes) that names the command and commit that
measured it. This command rewrites every such block from the records; `--check` rewrites
nothing and exits 1 naming the blocks that differ. tests/test_benchmarks.py runs the check, so
a figure typed by hand, or left behind by a new record, fails the tests.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.figures import RESULTS, cache, groups, hashing, headline, plot, sweep
from benchmarks.tables import alternatives_table, hostile_table, issue16_table

PROJECT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"(<!-- bench:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /bench -->)", re.DOTALL)

FIGURES: dict[str, Callable[[Path], str]] = {
    "headline": headline,
    "alternatives": alternatives_table,
    "issue16": issue16_table,
    "hostile": hostile_table,
    "cache": cache,
    "hash": hashing,
    "groups": groups,
    "sweep": sweep,
    "plot": plot,
}


def documents() -> list[Path]:
    """The documents whose figures are rendered: the same the docs test runs the commands of."""
    return [
        PROJECT / "README.md",
        *sorted((PROJECT / "docs").glob("*.md")),
        PROJECT / "benchmarks" / "README.md",
    ]


def blocks(text: str) -> Iterator[re.Match[str]]:
    """The marked figures of a document's text."""
    return BLOCK.finditer(text)


def rendered(text: str, results: Path = RESULTS) -> str:
    """`text` with every marked figure rendered again from the records in `results`."""

    def render(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in FIGURES:
            msg = f"no figure named {name!r} (known: {', '.join(FIGURES)})"
            raise LookupError(msg)
        return f"{match[1]}{FIGURES[name](results)}{match[4]}"

    return BLOCK.sub(render, text)


def main() -> None:
    """Rewrite the docs' figures from the records, or with --check say which differ."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a figure differs")
    args = parser.parse_args()
    stale = []
    for document in documents():
        text = document.read_text(encoding="utf-8")
        new = rendered(text)
        if new != text:
            stale.append(str(document.relative_to(PROJECT)))
            if not args.check:
                document.write_text(new, encoding="utf-8")
    if stale:
        print(
            ("differ from the records: " if args.check else "rewritten: ") + ", ".join(stale), file=sys.stderr
        )
        if args.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
