"""Git history as a retrieval signal: what past commits said about each file.

A bug report often uses the words of the commits that changed the code at fault
("redirect", "chunked encoding", "xfail marker"). Each file HEAD tracks under the
root gets a history document: the terms of the messages of the commits that changed
it, newest first; queries score the indexed ones.
Commits that sweep many files (reformatting, renames of a package) say little about
any one of them and are left out. Renames are followed, so a file keeps the history
it had under its old name. The documents live in the index's ``history`` FTS5 table
and are searched with BM25 like the lexical index (``IndexStore.history_search``).

Kept up to date incrementally: the index records the commit it has read up to, and a
later run reads only the commits since (a no-op run reads HEAD from ``.git`` and runs
no git). When that commit is no longer an ancestor of HEAD (a rebase, another
branch), a file under the root was renamed, or the ``history_commits`` limit changed,
the documents are rebuilt from the newest commits. Outside git nothing is stored.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import NotARepositoryError
from .gitutil import GitError, root_prefix, run_git
from .store.db import history_mark
from .textutil import STOP_TERMS, reference_terms, terms

if TYPE_CHECKING:
    from .store import IndexStore

SWEEPING_COMMIT = 20  # a commit changing more files than this is left out
MAX_TERMS = 20000  # per file document, newest kept
META_HEAD = "history_head"  # the commit the documents are current with ("": none)
META_LIMIT = "history_limit"  # the limit and version they were read with (`history_mark`)

_RS, _US = "\x1e", "\x1f"
_STATUS = re.compile(r"[ACDMRTUXB][0-9]*")
# Merge commits whose message may hold a reference (`textutil.reference_terms`): only their
# first-parent diffs are computed ("Merge branch 'main'" has nothing to give).
_MERGES_WITH_REFERENCES = (
    "--merges",
    "--diff-merges=first-parent",
    "-E",
    "--grep=#[1-9][0-9]|/(pull|issues|merge_requests)/[1-9]",
)


@dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    message: str
    paths: tuple[str, ...]  # as they are named after the commit
    renames: tuple[tuple[str, str], ...] = ()  # (old, new)


@dataclass(slots=True)
class HistoryUpdate:
    """What one refresh did, for the index report."""

    head: str = ""
    commits: int = 0  # read this run
    files: int = 0  # documents written
    rebuilt: bool = False


def head_commit(root: Path) -> str:
    """HEAD's commit, or "" outside git, in a repository without commits or without git."""
    try:
        proc = run_git(root, "rev-parse", "--verify", "-q", "HEAD^{commit}", check=False)
    except GitError:
        return ""
    return proc.stdout.decode().strip() if proc.returncode == 0 else ""


def read_commits(
    root: Path, rev_range: str, limit: int, *, merges: bool = False, grep: str | None = None
) -> list[Commit]:
    """Non-merge commits of ``rev_range``, newest first, paths from the work tree's top
    (all of them, so that a commit's size and renames into ``root`` are seen whole).

    ``merges``: the merge commits instead, each with the files it brought to its first
    parent (a pull request's whole change, under "Merge pull request #1746 from ...").
    ``grep``: only those whose message matches this extended regular expression (``git log
    -E --grep``); ``limit`` counts those.
    """
    proc = run_git(
        root,
        "-c",
        "core.quotepath=off",
        "log",
        *(_MERGES_WITH_REFERENCES if merges else ("--no-merges",)),
        *(("-E", f"--grep={grep}") if grep else ()),
        "--name-status",
        "-M",
        "-z",
        f"-n{limit}",
        f"--format={_RS}%H{_US}%B{_US}",
        rev_range,
        "--",
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        return []
    return parse_log(proc.stdout.decode("utf-8", "replace"))


def parse_log(out: str) -> list[Commit]:
    """Parse ``git log -z --name-status --format=<RS>%H<US>%B<US>`` output."""
    commits: list[Commit] = []
    for record in out.split(_RS)[1:]:
        sha, _, rest = record.partition(_US)
        message, _, changes = rest.partition(_US)
        fields = [f for f in changes.split("\0") if f and f != "\n"]
        paths: list[str] = []
        renames: list[tuple[str, str]] = []
        i = 0
        while i < len(fields):
            status = fields[i].strip()
            if not _STATUS.fullmatch(status):
                i += 1  # not a status letter: resynchronise on the next field
                continue
            if status[0] in "RC" and i + 2 < len(fields):
                old, new = fields[i + 1], fields[i + 2]
                paths.append(new)
                if status[0] == "R":
                    renames.append((old, new))
                i += 3
            elif i + 1 < len(fields):
                paths.append(fields[i + 1])
                i += 2
            else:
                break
        commits.append(Commit(sha.strip(), message.strip(), tuple(paths), tuple(renames)))
    return commits


def message_terms(message: str) -> list[str]:
    """The terms of a commit message the documents keep (the lexical tokenizer's), then
    the issues and pull requests it refers to (``ref_1234``: a report naming #1234 finds
    the files of the change that fixed or made it)."""
    words = [t for t in terms(message) if len(t) > 1 and t not in STOP_TERMS and not t.isdigit()]
    return words + reference_terms(message)


def file_documents(
    commits: Iterable[Commit],
    prefix: str = "",
    keep: set[str] | None = None,
    merges: Iterable[Commit] = (),
) -> dict[str, list[str]]:
    """Terms per file under the root (``prefix`` below the work tree's top; paths
    relative to the root, as they are named now), newest commit first; only the files
    of ``keep`` when given. ``merges`` add only the references their messages hold
    (``Merge pull request #1746``), after the commits' terms: their words (a branch name,
    a title the commits repeat) were measured to add nothing to the ranking.

    Walking from the newest commit back, a rename ``old -> new`` means that older
    commits naming ``old`` changed what is now ``new``.
    """
    docs: dict[str, list[str]] = defaultdict(list)
    alias: dict[str, str] = {}  # a name in older commits -> the current name

    def add(commit: Commit, words: list[str]) -> None:
        if not words or len(commit.paths) > SWEEPING_COMMIT:
            return
        for top_path in dict.fromkeys(alias.get(p, p) for p in commit.paths):
            if not top_path.startswith(prefix):
                continue
            path = top_path[len(prefix) :]
            if (keep is None or path in keep) and len(docs[path]) < MAX_TERMS:
                docs[path].extend(words[: MAX_TERMS - len(docs[path])])

    for commit in commits:
        add(commit, message_terms(commit.message))
        for old, new in commit.renames:
            alias[old] = alias.get(new, new)
    for merge in merges:  # named as after the merge; renames since, as the commits know them
        add(merge, reference_terms(merge.message))
    return {p: words for p, words in docs.items() if words}


def tracked_files(root: Path, rev: str) -> set[str] | None:
    """The files of ``rev``'s tree under ``root``, relative to it (None: git failed)."""
    proc = run_git(root, "ls-tree", "-r", "-z", "--name-only", rev, check=False)
    if proc.returncode != 0:
        return None
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def update_history(store: IndexStore, root: Path, *, limit: int) -> HistoryUpdate:
    """Bring the history documents of the files under ``root`` up to HEAD.

    Never fails the run: when git cannot be read, the documents stay as they are.
    (The caller skips this, and the import, when ``githead.read_head`` shows that
    HEAD is still the commit recorded under ``META_HEAD``, read with the same limit.)
    """
    known = store.meta(META_HEAD) or ""
    if store.meta(META_LIMIT) != history_mark(limit):
        known = ""  # read with another limit or by another version: rebuilt
    try:
        return _update(store, root, known, limit)
    except (GitError, NotARepositoryError):  # git gone, repository moved mid-run
        return HistoryUpdate(head=known)


def clear_history(store: IndexStore) -> None:
    """No documents and no recorded state (history turned off)."""
    store.put_history({}, state={META_HEAD: "", META_LIMIT: ""}, replace=True)


def _update(store: IndexStore, root: Path, known: str, limit: int) -> HistoryUpdate:
    head = head_commit(root)
    update = HistoryUpdate(head=head)
    if not head:  # recorded too, so that the next run's check needs no git
        mark = history_mark(limit)
        if known or store.history_count() or store.meta(META_LIMIT) != mark:
            store.put_history({}, state={META_HEAD: "", META_LIMIT: mark}, replace=True)
        return update
    if head == known:
        return update
    incremental = bool(known) and _is_ancestor(root, known, head)
    commits = read_commits(root, f"{known}..{head}" if incremental else head, limit)
    prefix = root_prefix(root)
    if incremental and any(new.startswith(prefix) for c in commits for _, new in c.renames):
        # A file under the root was renamed: read it all again, so that the new name
        # carries the history from before the rename.
        incremental = False
        commits = read_commits(root, head, limit)
    merges = read_commits(root, f"{known}..{head}" if incremental else head, limit, merges=True)
    # The files HEAD tracks, indexed or not: one that leaves the index for a while
    # (stashed, moved away, ignored) keeps its history; queries score indexed files.
    docs = file_documents(commits, prefix, tracked_files(root, head), merges)
    if incremental:
        older = store.history_docs(list(docs))
        merged = {}
        for path, words in docs.items():
            old = older.get(path, "").split()
            merged[path] = (words + old)[:MAX_TERMS]
        docs = merged
    store.put_history(
        {p: " ".join(words) for p, words in docs.items()},
        state={META_HEAD: head, META_LIMIT: history_mark(limit)},
        replace=not incremental,
    )
    update.commits = len(commits)
    update.files = len(docs)
    update.rebuilt = not incremental
    return update


def _is_ancestor(root: Path, old: str, new: str) -> bool:
    try:
        proc = run_git(root, "merge-base", "--is-ancestor", old, new, check=False)
    except GitError:
        return False
    return proc.returncode == 0


def history_scores(
    store: IndexStore, query_terms: Sequence[str], limit: int = 100
) -> dict[str, float]:
    """Files whose history matches the query, best scoring 1.0 (empty without history)."""
    hits = store.history_search(query_terms, limit)
    if not hits:
        return {}
    best = hits[0][1]
    return {path: s / best for path, s in hits if s > 0} if best > 0 else {}
