"""What is staged, and which of it ``index --staged`` must look at.

Git says what the next commit changes; discovery's ignore rules say which of those
paths agentctx indexes. No source file is opened and nothing heavy is imported, so
the pre-commit hook can answer "nothing relevant" in a few milliseconds (the
``agentctx`` entry point asks this before it even loads the CLI).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .discover import IgnoreMatcher
from .gitutil import StagedEntry, staged_entries


@dataclass(frozen=True, slots=True)
class StagedSelection:
    """The staged entries under a root, split by what ``index --staged`` does with them."""

    relevant: tuple[StagedEntry, ...]  # files to re-index from their blob, and deletions
    ignored: int  # paths discovery ignores (.gitignore, .agentctxignore, .agentctx/...)
    deferred: int  # symlinks and submodules: left to the next full ``index``
    total: int

    def counts(self) -> dict[str, int | bool]:
        return {
            "paths": self.total,
            "relevant": len(self.relevant),
            "ignored": self.ignored,
            "deferred": self.deferred,
        }


def select_staged(root: Path) -> StagedSelection:
    """Staged entries under ``root`` (``GIT_INDEX_FILE`` honoured), classified."""
    entries = staged_entries(root)
    matcher = IgnoreMatcher(root)
    relevant: list[StagedEntry] = []
    ignored = deferred = 0
    for e in entries:
        if matcher.ignored(e.path):
            ignored += 1
        elif e.status == "D" or e.is_file:
            relevant.append(e)
        else:
            deferred += 1
    return StagedSelection(tuple(relevant), ignored, deferred, len(entries))
