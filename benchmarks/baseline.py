"""The tree of another commit, for `--against REV`: a temporary git worktree outside the checkout."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Baseline:
    """A commit checked out in a folder of its own, removed when the run ends."""

    rev: str  # as the user wrote it
    commit: str
    tree: Path


@contextlib.contextmanager
def checkout(rev: str, project: Path) -> Iterator[Baseline]:
    """Check `rev` out, detached, in a temporary folder; remove the worktree and the folder after."""
    commit = _git(project, "rev-parse", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="signal-job-baseline-"))
    tree = folder / "tree"
    _git(project, "worktree", "add", "--detach", str(tree), commit)
    try:
        yield Baseline(rev, commit, tree)
    finally:
        removed = subprocess.run(
            ["git", "worktree", "remove", "--force", str(tree)], cwd=project, capture_output=True, check=False
        )
        shutil.rmtree(folder, ignore_errors=True)
        if removed.returncode:
            print(f"could not remove the worktree {tree}; `git worktree prune` forgets it", file=sys.stderr)


def _git(project: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=project, capture_output=True, text=True, check=False)
    if done.returncode:
        msg = f"git {' '.join(args)}: {done.stderr.strip()}"
        raise SystemExit(msg)
    return done.stdout.strip()
