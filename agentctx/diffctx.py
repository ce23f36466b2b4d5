"""Context for a change: what `pack --diff` / `pack --staged` builds a bundle around.

The change comes from git (the working tree, or the staged index, against a
revision). Each changed file's new side is parsed on the spot, so the changed
symbols are exact even when the index lags behind the tree (or, for ``--staged``,
holds the working tree's version). A symbol is *changed* when a changed line falls
in its own text (not only in a nested symbol). Its callers, callees and the tests
that reference it come from the index's outline.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .chunk import chunk_file
from .discover import SourceText, decode_source
from .errors import NotFoundError
from .gitutil import (
    EMPTY_TREE,
    HUNK_HEADER,
    has_head,
    read_blobs,
    resolve_rev,
    root_prefix,
    run_git,
    unquote_path,
)
from .models import MODULE_SYMBOL, Chunk
from .outline import Outline, OutlineEntry
from .parse import language_for, parse_file
from .textutil import is_utf8

# Scores of the items around the change. Changed symbols score 1.0; the others are
# capped at skeletons by the caller (``fit(max_detail=...)``) whatever their score.
# Order: what the change calls, what calls it, the enclosing class, the tests.
CALLEE_SCORE = 0.28
CALLER_SCORE = 0.27
TEST_SCORE = 0.24
PARENT_SCORE = 0.26
MAX_TARGETS = 3  # a reference resolving to more symbols than this is too ambiguous
MAX_CALLERS = 40  # per changed name; beyond that the name is too common to be a signal


@dataclass(frozen=True, slots=True)
class DiffSpec:
    """Which change: the working tree against ``rev`` (default HEAD), or the staged one."""

    rev: str | None = None
    staged: bool = False

    def describe(self) -> str:
        if self.staged:
            return "the staged change"
        return f"the working-tree change against {self.rev or 'HEAD'}"


@dataclass(slots=True)
class FileChange:
    path: str  # relative to the indexed root
    status: str  # A, M, D, T; "?" for an untracked file
    new_text: str | None  # None: deleted, binary or unreadable
    old_text: str | None
    hunks: list[tuple[int, int]] = field(default_factory=list)  # new-side line ranges


@dataclass(slots=True)
class DiffContext:
    spec: DiffSpec
    files: list[FileChange]
    changed: list[Chunk]  # symbols whose own text changed (new side), in file order
    file_chunks: dict[str, list[Chunk]]  # every chunk of each changed file (new side)
    removed: list[tuple[str, str]]  # (path, qualname) present before, gone now
    notes: list[str] = field(default_factory=list)


def parse_hunks(patch: bytes) -> dict[str, list[tuple[int, int]]]:
    """New-side changed line ranges per path (work-tree relative) from ``git diff -U0``.

    A pure deletion (``+c,0``) becomes the single line ``c`` (the deletion sits right
    after it), or line 1 at the top of the file.
    """
    out: dict[str, list[tuple[int, int]]] = defaultdict(list)
    current: str | None = None
    old_path: str | None = None
    for line in patch.split(b"\n"):
        if line.startswith(b"--- "):
            raw = line[4:].removesuffix(b"\t")  # git ends a name with a space in a TAB
            old_path = None if raw == b"/dev/null" else os.fsdecode(unquote_path(raw))[2:]
            continue
        if line.startswith(b"+++ "):
            raw = line[4:].removesuffix(b"\t")
            current = old_path if raw == b"/dev/null" else os.fsdecode(unquote_path(raw))[2:]
            continue
        m = HUNK_HEADER.match(line)
        if m and current is not None:
            start = int(m["new"])
            count = 1 if m["new_n"] is None else int(m["new_n"])
            if count == 0:
                out[current].append((max(start, 1), max(start, 1)))
            else:
                out[current].append((start, start + count - 1))
    return dict(out)


def collect_changes(root: Path, spec: DiffSpec, *, max_file_size: int) -> list[FileChange]:
    """The changed files under ``root`` with both sides' text and the new-side hunks."""
    prefix = root_prefix(root)
    if spec.rev is not None and not spec.staged:
        base = resolve_rev(root, spec.rev)
    else:
        base = "HEAD" if has_head(root) else EMPTY_TREE
    sides: tuple[str, ...] = ("--cached", base) if spec.staged else (base,)
    common = ("-c", "core.quotepath=off")
    names = run_git(
        root, *common, "diff", "--name-status", "-z", "--no-renames", *sides, "--", "."
    ).stdout.split(b"\0")
    status: dict[str, str] = {}
    for i in range(0, len(names) - 1, 2):
        full = os.fsdecode(names[i + 1])
        if full.startswith(prefix):
            status[full] = names[i].decode()[:1]
    if not spec.staged:  # new files the user has not added yet are part of the change
        untracked = run_git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".")
        for rel in untracked.stdout.split(b"\0"):
            if rel:
                status.setdefault(prefix + os.fsdecode(rel), "?")
    # a name below the root that is not UTF-8 is never indexed (discover skips it), nor
    # shown; the root's own directories may be named anyhow
    status = {path: st for path, st in status.items() if is_utf8(path[len(prefix) :])}
    if not status:
        return []
    patch = run_git(
        root,
        *common,
        "diff",
        "-U0",
        "--no-color",
        "--no-renames",
        "--no-ext-diff",
        *sides,
        "--",
        ".",
    ).stdout
    hunks = parse_hunks(patch)

    specs: list[str] = []
    for full, st in status.items():
        if st not in ("A", "?"):
            specs.append(f"{base}:{full}")
        if spec.staged and st != "D":
            specs.append(f":{full}")
    blobs = read_blobs(root, specs)

    def text_of(data: bytes | None) -> str | None:  # decoded as the indexer does (BOM...)
        if data is None or len(data) > max_file_size:
            return None
        source = decode_source(data)
        return source.text if isinstance(source, SourceText) else None

    changes: list[FileChange] = []
    for full in sorted(status):
        st = status[full]
        rel = full[len(prefix) :]
        old = None if st in ("A", "?") else text_of(blobs.get(f"{base}:{full}"))
        new: str | None = None
        if st != "D":
            if spec.staged:
                new = text_of(blobs.get(f":{full}"))
            else:
                try:
                    with open(root / rel, "rb") as fh:
                        new = text_of(fh.read(max_file_size + 1))
                except OSError:
                    new = None
        ranges = hunks.get(full, [])
        if new is not None and (st in ("A", "?") or not ranges):
            ranges = [(1, max(1, new.count("\n") + 1))]  # new, or a change git shows no lines of
        changes.append(FileChange(rel, st, new, old, sorted(ranges)))
    return changes


def _own_intervals(chunks: Sequence[Chunk]) -> dict[int, list[tuple[int, int]]]:
    """Each chunk's lines minus those of the chunks nested in it."""
    out: dict[int, list[tuple[int, int]]] = {}
    for c in chunks:
        inner = sorted(
            (o.start_line, o.end_line)
            for o in chunks
            if o is not c
            and c.start_line <= o.start_line
            and o.end_line <= c.end_line
            and (o.start_line, o.end_line) != (c.start_line, c.end_line)
        )
        own: list[tuple[int, int]] = []
        pos = c.start_line
        for a, b in inner:
            if a > pos:
                own.append((pos, a - 1))
            pos = max(pos, b + 1)
        if pos <= c.end_line:
            own.append((pos, c.end_line))
        out[c.id] = own
    return out


def _touches(own: Iterable[tuple[int, int]], hunks: Sequence[tuple[int, int]]) -> bool:
    return any(ha <= b and hb >= a for a, b in own for ha, hb in hunks)


def changed_symbols(
    changes: Sequence[FileChange], spec: DiffSpec, *, max_chars: int
) -> DiffContext:
    """Parse each changed file's new side and pick the symbols the hunks touch."""
    ctx = DiffContext(spec, list(changes), [], {}, [])
    for ch in changes:
        if ch.new_text is None:
            if ch.status == "D":
                ctx.notes.append(f"deleted: {ch.path}")
            else:
                ctx.notes.append(f"changed (binary or too large, not shown): {ch.path}")
            continue
        parsed = parse_file(ch.path, ch.new_text, language_for(ch.path))
        chunks = chunk_file(parsed, max_chars)
        ctx.file_chunks[ch.path] = chunks
        own = _own_intervals(chunks)
        for c in chunks:
            if _touches(own[c.id], ch.hunks):
                ctx.changed.append(c)
        if ch.old_text is not None:
            before = parse_file(ch.path, ch.old_text, language_for(ch.path))
            now = {s.qualname for s in parsed.symbols}
            for s in before.symbols:
                if s.qualname not in now and s.qualname != MODULE_SYMBOL:
                    ctx.removed.append((ch.path, s.qualname))
    ctx.removed = sorted(set(ctx.removed))
    return ctx


@dataclass(frozen=True, slots=True)
class Neighbour:
    id: int
    score: float
    reason: str  # callee | caller | test | parent


def neighbours(
    outline: Mapping[int, OutlineEntry], ctx: DiffContext, *, is_test: Callable[[str], bool]
) -> list[Neighbour]:
    """What the changed symbols call, what calls them, their tests and enclosing classes.

    Names resolve through the index outline; a reference matching more than
    ``MAX_TARGETS`` symbols is ambiguous and ignored (same-file matches win).
    """
    changed_keys = {(c.path, c.qualname) for c in ctx.changed}
    whole = Outline.of(outline)
    by_name: dict[str, list[OutlineEntry]] = defaultdict(list)
    for e in whole.named({ref for c in ctx.changed for ref in c.references}):
        if e.qualname != MODULE_SYMBOL:
            by_name[e.name].append(e)
    by_key: dict[tuple[str, str], OutlineEntry] = {}  # the last of a key wins, as in a dict
    for path in {c.path for c in ctx.changed if c.parent}:
        for e in whole.entries_of(path):
            by_key[(e.path, e.qualname)] = e
    users = whole.referrers(
        {c.name for c in ctx.changed if c.qualname != MODULE_SYMBOL and len(c.name) >= 3}
    )

    found: dict[int, tuple[float, str, int]] = {}  # id -> (score, reason, links)

    def add(e: OutlineEntry, score: float, reason: str) -> None:
        if (e.path, e.qualname) in changed_keys:
            return
        old = found.get(e.id)
        if old is None:
            found[e.id] = (score, reason, 1)
        else:
            best = max((old[0], old[1]), (score, reason))
            found[e.id] = (best[0], best[1], old[2] + 1)

    for c in ctx.changed:
        if c.parent:
            parent = by_key.get((c.path, c.parent))
            if parent is not None:
                add(parent, PARENT_SCORE, "parent")
        for ref in c.references:
            targets = by_name.get(ref, [])
            local = [t for t in targets if t.path == c.path]
            targets = local or targets
            if 0 < len(targets) <= MAX_TARGETS:
                for t in targets:
                    add(t, CALLEE_SCORE, "callee")
        if c.qualname == MODULE_SYMBOL or len(c.name) < 3:
            continue
        callers = users.get(c.name, [])
        # A class's references include its methods': the method is the real caller.
        inner = {(u.path, u.parent) for u in callers if u.parent}
        callers = [u for u in callers if (u.path, u.qualname) not in inner]
        if len(callers) > MAX_CALLERS:
            callers = [u for u in callers if u.path == c.path or is_test(u.path)][:MAX_CALLERS]
        for u in callers:
            if u.qualname == MODULE_SYMBOL and not is_test(u.path):
                continue  # an import line is not a use worth showing
            add(
                u,
                TEST_SCORE if is_test(u.path) else CALLER_SCORE,
                "test" if is_test(u.path) else "caller",
            )
    out = [
        Neighbour(cid, score + 0.001 * min(links - 1, 9), reason)
        for cid, (score, reason, links) in found.items()
    ]
    out.sort(key=lambda n: (-n.score, n.id))
    return out


def require_changes(changes: Sequence[FileChange], spec: DiffSpec) -> None:
    if not changes:
        raise NotFoundError(
            f"nothing to pack: no changes in {spec.describe()}",
            hint="edit something first, or pick another revision with --diff REV",
        )


__all__ = [
    "DiffContext",
    "DiffSpec",
    "FileChange",
    "Neighbour",
    "changed_symbols",
    "collect_changes",
    "neighbours",
    "parse_hunks",
    "require_changes",
]
