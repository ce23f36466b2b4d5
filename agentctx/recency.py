"""The recency signal: files changed in the working tree or in the last commits.

Computing it takes git runs (``git status`` walks the tree: ~40 ms on pytest), so
``index`` stores the result in the index, keyed by HEAD and the index generation. A
query reads it for nothing while neither has moved, and computes it live otherwise
(after a run of the git hook, which skips it, or in a layout ``githead`` cannot read).
Kept free of heavy imports: ``index`` checks the key on every no-op run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .githead import read_head

if TYPE_CHECKING:
    from .store import IndexStore

META_SCORES = "recency"  # JSON {path: score}
META_KEY = "recency_key"  # "<HEAD>:<index generation>:v<version>" the scores were computed at
RECENT_COMMITS = 20
# A change of more files than this (one commit, or the indexed files the working tree changes)
# says nothing about what is being worked on: the import of a tree, a shallow clone's only
# commit, a formatter run over the repository, a `git init` with everything untracked. Left
# out, as the history signal leaves out its sweeping commits. On a single-commit Django (3,802
# files) it had lifted every file alike: the same ranks, half the query time spent on it.
SWEEPING_CHANGE = 50
# Bump when what the scores mean changes: stored scores of another version are recomputed.
RECENCY_VERSION = 2


def recency_scores(root: Path, paths: set[str], commits: int = RECENT_COMMITS) -> dict[str, float]:
    """Files of ``paths`` changed in the working tree or staged, untracked ones included
    (1.0), or changed by the last ``commits`` commits (0.5, decaying with age). A working
    tree changing more than ``SWEEPING_CHANGE`` of ``paths``, or a commit changing more than
    that many files, counts for nothing."""
    from .errors import NotARepositoryError
    from .gitutil import GitError, root_prefix, run_git

    try:
        prefix = root_prefix(root)
        status = run_git(  # the pathspec keeps the walk (and the untracked scan) to root
            root,
            "status",
            "--porcelain=v1",
            "-z",
            "--no-renames",
            "-uall",
            "--",
            ".",
            check=False,
            timeout=10,
        )
        log = run_git(
            root,
            "log",
            f"-n{commits}",
            "--name-only",
            "-z",
            "--format=%x1e",
            check=False,
            timeout=10,
        )
    except (GitError, NotARepositoryError):
        return {}
    if status.returncode != 0:
        return {}

    def under_root(raw: bytes) -> str | None:
        path = os.fsdecode(raw.strip(b"\n"))  # paths are from the work tree's top with -z
        return path[len(prefix) :] if path.startswith(prefix) else None

    out: dict[str, float] = {}
    # Of the working tree, only indexed files count: an untracked virtualenv or build output
    # that is not ignored must not hide the files being edited.
    changed = [
        path
        for entry in status.stdout.split(b"\0")
        if len(entry) > 3 and (path := under_root(entry[3:])) is not None and path in paths
    ]
    if len(changed) <= SWEEPING_CHANGE:
        out.update(dict.fromkeys(changed, 1.0))
    if log.returncode == 0:
        for age, block in enumerate(log.stdout.split(b"\x1e")[1:]):
            files = [raw for raw in block.split(b"\0") if raw.strip(b"\n")]
            if len(files) > SWEEPING_CHANGE:
                continue
            for raw in files:
                path = under_root(raw)
                if path in paths and path not in out:
                    out[path] = 0.5 / (1 + 0.25 * age)
    return out


def _key(store: IndexStore, root: Path) -> str | None:
    head = read_head(root)
    return None if head is None else f"{head}:{store.generation()}:v{RECENCY_VERSION}"


def stored_recency(store: IndexStore, root: Path) -> dict[str, float] | None:
    """The scores ``index`` stored, if HEAD and the index are still where they were."""
    key = _key(store, root)
    if key is None or store.meta(META_KEY) != key:
        return None
    try:
        data = json.loads(store.meta(META_SCORES) or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    return {str(path): float(score) for path, score in data.items()}


def refresh_recency(store: IndexStore, root: Path) -> bool:
    """Store the scores for the current HEAD and generation; False when already there
    (or when HEAD cannot be read without git: queries then compute them live)."""
    key = _key(store, root)
    if key is None or store.meta(META_KEY) == key:
        return False
    scores = recency_scores(root, set(store.file_paths()))
    store.set_meta({META_SCORES: json.dumps(scores, sort_keys=True), META_KEY: key})
    return True
