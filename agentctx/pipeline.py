"""The only wiring: discover -> parse -> chunk -> embed -> store.

``build_index`` turns a tree into an up-to-date ``.agentctx/`` index, touching only
what changed, down to the symbol. It never prints: progress goes to a ``Reporter``
the caller supplies, and the result is an ``IndexReport`` the CLI renders.
"""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from .background import Background
from .chunk import CHUNK_VERSION, chunk_file
from .config import Settings
from .discover import (
    SourceText,
    TreeStamp,
    decode_source,
    discover,
    ensure_excluded,
    issue_templates,
    read_source,
)
from .embed import Embedder, get_embedder
from .errors import (
    AgentctxError,
    BudgetError,
    ExitCode,
    IndexReadOnlyError,
    LockedError,
    UsageError,
)
from .messages import MESSAGES_VERSION
from .models import MODULE_SYMBOL, Bundle, Chunk, Hit, SourceFile
from .parse import PARSER_VERSION, language_for, parse_file
from .recency import refresh_recency
from .store import FileRecord, IndexStore, StoredChunk
from .store.db import (
    DB_NAME,
    FAISS_FILE,
    LEXICAL_VERSION,
    TREE_FILE,
    discard_index,
    history_mark,
    write_derived,
)
from .textutil import valid_text

if TYPE_CHECKING:
    import numpy as np

    from .budget import Fitted
    from .embed.cache import EmbeddingCache
    from .gitutil import StagedEntry
    from .outline import FileChildren, OutlineEntry
    from .query import QuerySignals
    from .store.vectors import VectorIndex
    from .tokens import Tokenizer


class Reporter(Protocol):
    """Progress sink. The CLI implements it with Rich on stderr; tests may record it."""

    def stage(self, name: str, total: int | None = None) -> None:
        """A stage starts (``total`` units of work, if known)."""

    def advance(self, n: int = 1) -> None:
        """``n`` units of the current stage are done."""

    def notice(self, message: str) -> None:
        """A one-line fact the user should see (rebuilds, skipped work...)."""


class NullReporter:
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def notice(self, message: str) -> None:
        pass


class Interrupted(AgentctxError):
    exit_code = ExitCode.INTERRUPTED


@dataclass(frozen=True, slots=True)
class SymbolRef:
    path: str
    symbol: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "symbol": self.symbol}


@dataclass(slots=True)
class IndexReport:
    """Everything a run did, for the one-line summary and ``--json``."""

    root: str
    created: bool = False
    files_total: int = 0
    symbols_total: int = 0
    chunks_total: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    files_added: list[str] = field(default_factory=list)
    files_modified: list[str] = field(default_factory=list)
    files_removed: list[str] = field(default_factory=list)
    files_unchanged: int = 0
    files_read: int = 0
    files_touched: int = 0  # stat changed, content identical
    symbols_added: list[SymbolRef] = field(default_factory=list)
    symbols_modified: list[SymbolRef] = field(default_factory=list)
    symbols_removed: list[SymbolRef] = field(default_factory=list)
    symbols_unchanged: int = 0  # in files that changed
    chunks_embedded: int = 0
    chunks_from_cache: int = 0
    chunks_pending: int = 0
    windows_total: int = 0  # vectors of long functions' bodies (see windows.py)
    windows_embedded: int = 0
    windows_from_cache: int = 0
    windows_pending: int = 0
    bytes_embedded: int = 0
    bytes_full_refresh: int = 0
    decode_errors: list[str] = field(default_factory=list)
    parse_errors: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    embedder: str = ""
    staged: dict[str, int | bool] | None = None  # --staged: what was staged, what was relevant
    history: dict[str, object] | None = None  # git history read this run (None: not looked at)

    @property
    def changed(self) -> bool:
        return bool(self.files_added or self.files_modified or self.files_removed)

    def as_dict(self) -> dict[str, object]:
        return {
            "root": self.root,
            "created": self.created,
            "files": {
                "total": self.files_total,
                "added": self.files_added,
                "modified": self.files_modified,
                "removed": self.files_removed,
                "unchanged": self.files_unchanged,
                "read": self.files_read,
                "touched": self.files_touched,
                "skipped": self.skipped,
                "decode_errors": self.decode_errors,
                "parse_errors": self.parse_errors,
            },
            "symbols": {
                "total": self.symbols_total,
                "by_language": self.languages,
                "added": [s.as_dict() for s in self.symbols_added],
                "modified": [s.as_dict() for s in self.symbols_modified],
                "removed": [s.as_dict() for s in self.symbols_removed],
                "unchanged": self.symbols_unchanged,
            },
            "chunks": {
                "total": self.chunks_total,
                "embedded": self.chunks_embedded,
                "from_cache": self.chunks_from_cache,
                "pending": self.chunks_pending,
            },
            "windows": {
                "total": self.windows_total,
                "embedded": self.windows_embedded,
                "from_cache": self.windows_from_cache,
                "pending": self.windows_pending,
            },
            "bytes_embedded": self.bytes_embedded,
            "bytes_full_refresh": self.bytes_full_refresh,
            "embedder": self.embedder,
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
            "notices": self.notices,
            **({"staged": self.staged} if self.staged is not None else {}),
            **({"history": self.history} if self.history is not None else {}),
        }


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start


def _chunk_recipe(settings: Settings) -> str:
    return (
        f"parser{PARSER_VERSION}:chunk{CHUNK_VERSION}:chars{settings.embed_max_chars}"
        f":lex{LEXICAL_VERSION}:msg{MESSAGES_VERSION}"
    )


@dataclass(slots=True)
class _Plan:
    """What discovery and the manifest say must be looked at (no file read yet)."""

    current: dict[str, SourceFile]
    manifest: dict[str, FileRecord]
    removed: list[str]
    candidates: list[SourceFile]  # stat changed (or re-parse forced): to be read
    known_skips: dict[str, tuple[int, int, str]]
    skipped: Counter[str]


@dataclass(slots=True)
class _Changes:
    """The writes one run commits in a single transaction."""

    stored: dict[str, list[StoredChunk]]
    removed: list[str]
    upserts: list[Chunk] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    keep_vectors: set[int] = field(default_factory=set)
    files: list[FileRecord] = field(default_factory=list)
    new_skips: list[tuple[str, int, int, str]] = field(default_factory=list)
    unskipped: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (
            self.files
            or self.removed
            or self.upserts
            or self.deletes
            or self.new_skips
            or self.unskipped
        )

    def stale_vectors(self) -> list[int]:
        """Ids whose vector is invalid from now on (FAISS must drop them too)."""
        stale = [c.id for c in self.upserts if c.id not in self.keep_vectors]
        stale += self.deletes
        stale += [c.id for p in self.removed for c in self.stored.get(p, [])]
        return stale

    def commit(self, store: IndexStore) -> None:
        if not self.empty():
            store.apply(
                files=self.files,
                removed_paths=self.removed,
                upserts=self.upserts,
                deletes=self.deletes,
                keep_vectors=self.keep_vectors,
                skipped=self.new_skips,
                unskipped=self.unskipped,
            )


def build_index(
    settings: Settings,
    *,
    reporter: Reporter | None = None,
    embed: bool = True,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    staged: bool = False,
    max_embed: int | None = None,
    announce_pending: bool = True,
) -> IndexReport:
    """Bring ``settings.root``'s index up to date; returns what changed.

    Unchanged files (same size and mtime) are not read. Changed files are re-parsed;
    only chunks whose own content changed are re-written, and only those whose
    embedded text changed are re-embedded (the user-level cache answers first).
    With ``embed=False`` the symbol and lexical indexes are updated and vectors are
    left pending for a later run; with ``max_embed`` they are embedded (by the small,
    torch-free engine) only when at most that many are pending (after the embedding
    cache's), else left pending with a notice (``announce_pending``; a caller that says
    it in its own words turns it off).

    With ``staged=True`` only the files staged in git are re-indexed, from their staged
    content (the git hook): see ``_plan_staged``. Nothing else is looked at, and when
    nothing relevant is staged it returns before opening the index.
    """
    rep = reporter or NullReporter()
    timer = _Timer()
    started = time.perf_counter()
    report = IndexReport(root=valid_text(str(settings.root)))  # shown and in JSON: UTF-8
    if max_embed is not None and max_embed < 0:
        raise UsageError(f"max_embed must be 0 or more, got {max_embed}")

    db_path = settings.index_dir / DB_NAME
    entries: list[StagedEntry] = []
    if staged:  # first: nothing relevant staged must cost no import and no open
        if rebuild:
            raise UsageError("--staged cannot be combined with --rebuild")
        with timer("discover"):
            entries = _staged_relevant(settings, report)
        if entries and not db_path.exists():
            assert report.staged is not None
            report.staged["no_index"] = True  # said once by the CLI, never by a quiet hook
        if not entries or not db_path.exists():
            report.seconds = dict(timer.seconds)
            report.seconds["total"] = time.perf_counter() - started
            return report
    # cheap: the model loads on first use
    emb = embedder or get_embedder(settings.embedder, settings.resolved_cache_dir)
    report.embedder = emb.model_id
    if rebuild and db_path.exists():
        discard_index(db_path)
    created = not db_path.exists()
    with IndexStore.open(
        settings.index_dir, writer=True, lock_timeout=settings.lock_timeout
    ) as store:
        report.created = created or bool(store.notices)  # notices: it was rebuilt
        for message in store.notices:
            report.notices.append(message)
            rep.notice(message)
        if created:
            ensure_excluded(settings.root)  # outside git, .agentctx/.gitignore suffices
        if staged:  # a commit never re-parses everything nor drops vectors: `index` will
            new_recipe = None
            embed = embed and _same_embedder(store, emb, report, rep)
        else:
            new_recipe = _check_recipe(store, settings, emb, report, rep)
        reparse_all = new_recipe is not None and store.meta("chunk_recipe") is not None
        # The generation the centroid norms may be remembered at now (after any model change
        # dropped vectors): still valid at the end if no vector comes or goes.
        generation_before = store.meta("generation", "0") or "0"
        faiss_in_sync = (
            store.meta("faiss_generation") == str(store.generation())
            and (settings.index_dir / FAISS_FILE).is_file()
        )

        read: Callable[[SourceFile], SourceText | str] = read_source
        with timer("discover"):
            rep.stage("discover")
            if staged:
                plan, read = _plan_staged(store, settings, entries)
            else:
                plan = _plan(store, settings, reparse_all)
        with timer("parse"):
            changes = _parse_changes(store, plan, settings, report, rep, reparse_all, read)
        report.skipped = dict(sorted(plan.skipped.items()))
        with timer("store"):
            rep.stage("store")
            changes.commit(store)
            if new_recipe is not None:  # only once the re-parse is committed
                store.set_meta({"chunk_recipe": new_recipe})
        # From here the symbol and lexical indexes are current: readers can use them.
        if not staged:  # a commit is being made: HEAD moves after, the next run reads it
            with timer("history"):
                report.history = _update_history(store, settings)

        new_vectors: list[int] = []
        with timer("embed"):
            if embed and max_embed is not None:
                waiting = store.pending_count()
                if waiting > max_embed:  # what the cache has costs no model: take it
                    new_vectors = _fill_from_cache(store, emb, settings, report, max_embed)
                    waiting = store.pending_count()
                if waiting > max_embed:
                    embed = False
                    if max_embed and announce_pending:  # 0 asks for exactly this
                        msg = (
                            f"{waiting} chunk{'s' if waiting != 1 else ''} left pending "
                            f"embedding (more than {max_embed}); ranked lexically until "
                            "`agentctx index` embeds them"
                        )
                        report.notices.append(msg)
                        rep.notice(msg)
            if embed:
                new_vectors += _embed_pending(
                    store, emb, settings, report, rep, small=max_embed is not None
                )
        report.chunks_pending = store.pending_count()

        stale = changes.stale_vectors()
        synced: VectorIndex | None = None  # the index just written, if any
        with timer("store"):
            if stale or new_vectors or not faiss_in_sync:
                synced = _sync_faiss(store, emb.dim, faiss_in_sync, stale, new_vectors)
            elif store.meta("faiss_generation") != str(store.generation()):
                # Only files, skips or kept chunks were written: the vectors the file
                # mirrors are unchanged, so it stays current (no rebuild at each query).
                store.set_meta({"faiss_generation": store.generation()})

        if not staged:  # last: the key includes the generation embedding may have bumped
            with timer("recency"):
                refresh_recency(store, settings.root)
        # after every write: the file is stamped with the index's content key (the git
        # hook leaves it to the next run, which embeds its few new windows)
        if embed and not staged and store.meta("embedder") == emb.model_id:
            with timer("windows"):
                _update_windows(store, emb, settings, report, rep, max_embed=max_embed)
        store.remember_counts()  # for the queries that follow
        _remember_file_norms(
            store, emb, synced, generation_before, bool(stale or new_vectors), staged, timer
        )
        if not staged and str(store.generation()) != generation_before:
            with timer("outline"):  # the snapshot the next query reads (and this process's)
                from .retrieve import load_outline

                load_outline(store)
        report.files_total, report.symbols_total, report.languages = store.counts()
        report.chunks_total = store.chunk_count()
        report.files_unchanged = (
            report.files_total - len(report.files_added) - len(report.files_modified)
        )
        if report.changed or report.chunks_embedded or report.chunks_from_cache:
            report.bytes_full_refresh = store.embed_bytes_total()
        read_now = {f.path for f in plan.candidates}
        report.decode_errors.extend(
            p
            for p, r in plan.manifest.items()
            if r.decode_errors and p in plan.current and p not in read_now
        )
        report.decode_errors.sort()
    report.seconds = dict(timer.seconds)
    report.seconds["total"] = time.perf_counter() - started
    return report


def _update_history(store: IndexStore, settings: Settings) -> dict[str, object]:
    """File histories from git (see history.py); off with ``history_commits = 0``."""
    from .githead import read_head

    limit = settings.history_commits
    head = store.meta("history_head") or ""  # history.META_HEAD, META_LIMIT
    mark = history_mark(limit)
    if limit > 0 and store.meta("history_limit") == mark and read_head(settings.root) == head:
        return {"head": head, "commits": 0, "files": 0, "rebuilt": False}  # no git, no import
    from .history import clear_history, update_history

    if limit <= 0:
        if store.history_count():
            clear_history(store)
        return {"head": "", "commits": 0, "files": 0, "rebuilt": False}
    up = update_history(store, settings.root, limit=limit)
    return {"head": up.head, "commits": up.commits, "files": up.files, "rebuilt": up.rebuilt}


def _plan(store: IndexStore, settings: Settings, reparse_all: bool) -> _Plan:
    """Discover the tree and decide, from stat data alone, which files must be read.

    The last discovery's stamp (``TREE_FILE``) spares the walk while it holds; a new one
    is left for the next run. Only writers plan, so only they write it."""
    stamp_file = settings.index_dir / TREE_FILE
    previous = None
    with suppress(OSError):
        previous = TreeStamp.loads(stamp_file.read_bytes())
    found = discover(settings.root, max_file_size=settings.max_file_size, previous=previous)
    if found.stamp is not None and found.stamp is not previous:
        write_derived(stamp_file, found.stamp.dumps())
    manifest = store.manifest()
    known_skips = store.skipped()
    skipped: Counter[str] = Counter(s.reason for s in found.skipped)
    current = {f.path: f for f in found.files}
    candidates: list[SourceFile] = []
    for f in found.files:
        rec = manifest.get(f.path)
        same_stat = rec is not None and (rec.size, rec.mtime_ns) == (f.size, f.mtime_ns)
        if same_stat and not reparse_all:
            continue
        skip = known_skips.get(f.path)
        if skip is not None and (skip[0], skip[1]) == (f.size, f.mtime_ns):
            skipped[skip[2]] += 1  # read once before (binary...): not again until it changes
            continue
        candidates.append(f)
    removed = sorted(set(manifest) - set(current))
    return _Plan(current, manifest, removed, candidates, known_skips, skipped)


UNMATCHED_STAT = (-1, -1)  # (size, mtime_ns) of no file: the next full run re-reads it


def _staged_relevant(settings: Settings, report: IndexReport) -> list[StagedEntry]:
    """Staged entries under the root that ``index`` would look at (no file opened)."""
    from .staged import select_staged

    selection = select_staged(settings.root)
    report.staged = {"no_index": False, **selection.counts()}
    return list(selection.relevant)


def _plan_staged(
    store: IndexStore, settings: Settings, entries: list[StagedEntry]
) -> tuple[_Plan, Callable[[SourceFile], SourceText | str]]:
    """Plan a run over the staged entries only, with their staged blobs as content.

    A file record gets the staged content's hash. Its stat is the working tree's when
    that file holds the same bytes; otherwise ``UNMATCHED_STAT``, so the next plain
    ``index`` re-reads the file and indexes what is in the working tree.
    """
    from .gitutil import blob_sizes, read_blobs

    manifest = store.manifest()
    known = store.skipped()
    skipped: Counter[str] = Counter()
    files = [e for e in entries if e.status != "D"]
    sizes = blob_sizes(settings.root, [e.blob for e in files])
    small = [e for e in files if (sizes.get(e.blob) or 0) <= settings.max_file_size]
    blobs = read_blobs(settings.root, [e.blob for e in small])
    current: dict[str, SourceFile] = {}
    candidates: list[SourceFile] = []
    sources: dict[str, SourceText | str] = {}
    removed = [e.path for e in entries if e.status == "D" and e.path in manifest]
    for e in files:
        data = blobs.get(e.blob)
        if data is None:
            if sizes.get(e.blob) is not None:  # too large (present in git, not read)
                skipped["too-large"] += 1
                if e.path in manifest:
                    removed.append(e.path)
            continue
        source = decode_source(data)
        abs_path = settings.root / e.path
        size, mtime_ns = _same_bytes_stat(abs_path, data)
        f = SourceFile(e.path, abs_path, size, mtime_ns)
        current[e.path] = f
        rec = manifest.get(e.path)
        if isinstance(source, SourceText):
            if rec is not None and rec.sha256 == source.sha256:
                unmatched = (size, mtime_ns) == UNMATCHED_STAT
                if unmatched or (rec.size, rec.mtime_ns) == (size, mtime_ns):
                    continue  # indexed already (by a watcher, or an earlier run)
        elif rec is None and known.get(e.path) == (size, mtime_ns, source):
            skipped[source] += 1
            continue
        sources[e.path] = source
        candidates.append(f)
    staged_paths = {e.path for e in entries}
    known_skips = {p: v for p, v in known.items() if p in staged_paths}
    return (
        _Plan(current, manifest, sorted(removed), candidates, known_skips, skipped),
        lambda f: sources[f.path],
    )


def _same_bytes_stat(path: os.PathLike[str], data: bytes) -> tuple[int, int]:
    """(size, mtime_ns) of the working tree file if it holds exactly ``data``."""
    try:
        before = os.lstat(path)
        if not stat.S_ISREG(before.st_mode) or before.st_size != len(data):
            return UNMATCHED_STAT
        with open(path, "rb") as fh:
            same = fh.read(len(data) + 1) == data
        after = os.lstat(path)
    except OSError:
        return UNMATCHED_STAT
    if same and (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
        return before.st_size, before.st_mtime_ns
    return UNMATCHED_STAT


def _same_embedder(store: IndexStore, emb: Embedder, report: IndexReport, rep: Reporter) -> bool:
    """True when ``emb`` made the stored vectors (or none exist yet): it may add to them."""
    model = store.meta("embedder")
    if model is None:
        store.set_meta({"embedder": emb.model_id, "dim": emb.dim})
        return True
    if model == emb.model_id and store.meta("dim") == str(emb.dim):
        return True
    msg = (
        f"index was embedded with {model}, not {emb.model_id}: new symbols left pending "
        "(`agentctx index` re-embeds with the configured model)"
    )
    report.notices.append(msg)
    rep.notice(msg)
    return False


def _parse_changes(
    store: IndexStore,
    plan: _Plan,
    settings: Settings,
    report: IndexReport,
    rep: Reporter,
    reparse_all: bool,
    read: Callable[[SourceFile], SourceText | str] = read_source,
) -> _Changes:
    """Read and parse the candidate files; diff their chunks against the stored ones."""
    changes = _Changes(
        stored=store.chunks_for_paths([f.path for f in plan.candidates] + plan.removed),
        removed=list(plan.removed),
        unskipped=[p for p in plan.known_skips if p not in plan.current],
    )
    for path in plan.removed:
        _report_removed(report, path, changes.stored[path])
    if plan.candidates:
        rep.stage("parse", len(plan.candidates))
    for f in plan.candidates:
        rec = plan.manifest.get(f.path)
        source = read(f)
        report.files_read += 1
        rep.advance()
        if not isinstance(source, SourceText):  # binary, unreadable or vanished
            plan.skipped[source] += 1
            if source != "vanished":
                changes.new_skips.append((f.path, f.size, f.mtime_ns, source))
            if rec is not None:  # was indexed: it leaves the index
                changes.removed.append(f.path)
                _report_removed(report, f.path, changes.stored[f.path])
            continue
        if f.path in plan.known_skips:
            changes.unskipped.append(f.path)
        if source.decode_errors:
            report.decode_errors.append(f.path)
        same_content = rec is not None and rec.sha256 == source.sha256
        if same_content and not reparse_all:
            report.files_touched += 1  # new mtime, same bytes: refresh the stat only
            changes.files.append(replace(rec, size=f.size, mtime_ns=f.mtime_ns))
            continue
        parsed = parse_file(f.path, source.text, language_for(f.path))
        if parsed.has_errors:
            report.parse_errors.append(f.path)
        if rec is None:
            report.files_added.append(f.path)
        elif not same_content:
            report.files_modified.append(f.path)
        _diff_chunks(
            f.path,
            chunk_file(parsed, settings.embed_max_chars),
            changes.stored.get(f.path, []),
            changes,
            report,
        )
        changes.files.append(
            FileRecord(
                f.path,
                f.size,
                f.mtime_ns,
                source.sha256,
                parsed.language,
                source.decode_errors,
                parsed.has_errors,
            )
        )
    return changes


def _diff_chunks(
    path: str,
    chunks: list[Chunk],
    stored: list[StoredChunk],
    changes: _Changes,
    report: IndexReport,
) -> None:
    """Classify one file's new chunks against its stored ones (symbol-level diff)."""
    old = {c.id: c for c in stored}
    for c in chunks:
        before = old.pop(c.id, None)
        if c.qualname != MODULE_SYMBOL:
            ref = SymbolRef(path, c.qualname)
            if before is None:
                report.symbols_added.append(ref)
            elif before.content_hash != c.content_hash:
                report.symbols_modified.append(ref)
            else:
                report.symbols_unchanged += 1
        if before is not None and before.embed_hash == c.embed_hash:
            changes.keep_vectors.add(c.id)
        changes.upserts.append(c)
    for gone in old.values():
        changes.deletes.append(gone.id)
        if gone.qualname != MODULE_SYMBOL:
            report.symbols_removed.append(SymbolRef(path, gone.qualname))


def _report_removed(report: IndexReport, path: str, stored: list[StoredChunk]) -> None:
    report.files_removed.append(path)
    report.symbols_removed.extend(
        SymbolRef(path, c.qualname) for c in stored if c.qualname != MODULE_SYMBOL
    )


def _check_recipe(
    store: IndexStore, settings: Settings, emb: Embedder, report: IndexReport, rep: Reporter
) -> str | None:
    """Drop vectors if the model changed; detect a changed chunking recipe.

    Returns the new recipe when it differs from the stored one (every file must then
    be re-parsed; the caller records it once that is committed), else None.
    """
    recipe = _chunk_recipe(settings)
    old_recipe = store.meta("chunk_recipe")
    old_model = store.meta("embedder")
    updates: dict[str, str | int] = {}
    if old_recipe is not None and old_recipe != recipe:
        msg = "parser or chunking settings changed; re-parsing every file"
        report.notices.append(msg)
        rep.notice(msg)
    if old_model != emb.model_id or store.meta("dim") != str(emb.dim):
        if old_model is not None:
            msg = f"embedder changed ({old_model} -> {emb.model_id}); vectors will be recomputed"
            report.notices.append(msg)
            rep.notice(msg)
            store.drop_vectors()
        updates["embedder"] = emb.model_id
        updates["dim"] = emb.dim
    if updates:
        store.set_meta(updates)
    return recipe if old_recipe != recipe else None


def _fill_from_cache(
    store: IndexStore,
    emb: Embedder,
    settings: Settings,
    report: IndexReport,
    max_misses: int,
    page: int = 256,
) -> list[int]:
    """Store the vectors the embedding cache has for pending chunks; the ids filled.

    For a run that embeds at most ``max_misses`` chunks itself (``pack``, the commit hook)
    when more are pending: a branch switched back, or an index rebuilt, finds most of its
    vectors in the cache and needs no model for them. The lookup stops once more than
    ``max_misses`` chunks have missed, so a fresh clone's first ``pack`` does not look up
    thousands of chunks the cache has never seen.
    """
    cache = _embedding_cache(settings, emb)
    if cache is None:
        return []
    filled: list[int] = []
    misses = 0
    try:
        last = -1
        while misses <= max_misses and (part := store.pending_hashes(after=last, limit=page)):
            last = part[-1][0]
            stored, _ = _store_cached(store, cache, part)
            filled.extend(stored)
            misses += len(part) - len(stored)
    finally:
        cache.close()
    report.chunks_from_cache += len(filled)
    return filled


def _embedding_cache(settings: Settings, emb: Embedder) -> EmbeddingCache | None:
    """The user-level embedding cache for ``emb``'s model, unless settings turn it off."""
    if not settings.cache:
        return None
    from .embed.cache import EmbeddingCache

    return EmbeddingCache(settings.resolved_cache_dir, emb.model_id, emb.dim)


def _store_cached(
    store: IndexStore, cache: EmbeddingCache, pending: Sequence[tuple[Any, ...]]
) -> tuple[list[int], Collection[str]]:
    """Store the vectors ``cache`` has for ``pending`` chunks (rows that start with id and
    embed hash), 2,048 a transaction; the ids stored and the hashes the cache had."""
    hits = cache.get_many(row[1] for row in pending)
    found = [(row[0], row[1], hits[row[1]].tobytes()) for row in pending if row[1] in hits]
    for start in range(0, len(found), 2048):
        store.put_vectors(found[start : start + 2048])
    return [cid for cid, _, _ in found], hits.keys()


def _embed_pending(
    store: IndexStore,
    emb: Embedder,
    settings: Settings,
    report: IndexReport,
    rep: Reporter,
    small: bool = False,
) -> list[int]:
    """Embed every pending chunk, cache first; each batch is committed on its own.

    ``small``: load the engine meant for a handful of texts whatever their number (a
    commit hook must not pay for torch).
    """
    if store.is_remembered("pending") and not store.pending_count():
        return []  # a no-op run: no join over every chunk (~20 ms on pytest), no numpy
    pending = store.pending()
    if not pending:
        return []
    import numpy as np

    done: list[int] = []
    cache = _embedding_cache(settings, emb)
    try:
        todo = pending
        if cache is not None:
            done, had = _store_cached(store, cache, pending)
            report.chunks_from_cache += len(done)
            todo = [p for p in pending if p[1] not in had]
        if not todo:
            return done
        todo.sort(key=lambda p: (len(p[2]), p[0]))
        try:
            for batch, vectors in _embedded_batches(
                emb, todo, settings, cache, rep, stage="embed", small=small
            ):
                rows = [
                    (cid, h, vectors[i].astype(np.float32).tobytes())
                    for i, (cid, h, _) in enumerate(batch)
                ]
                store.put_vectors(rows)
                done.extend(cid for cid, _, _ in batch)
                report.chunks_embedded += len(batch)
                report.bytes_embedded += sum(len(t.encode("utf-8", "replace")) for _, _, t in batch)
        except KeyboardInterrupt:
            left = len(todo) - report.chunks_embedded
            raise Interrupted(
                f"interrupted: embedded {report.chunks_embedded} of {len(todo)} chunks; "
                f"{left} left pending",
                hint="the index keeps every finished vector; run `agentctx index` to resume",
            ) from None
    finally:
        if cache is not None:
            cache.close()
    return done


def _embedded_batches(
    emb: Embedder,
    items: Sequence[tuple[Any, str, str]],
    settings: Settings,
    cache: EmbeddingCache | None,
    rep: Reporter,
    *,
    stage: str,
    small: bool,
) -> Iterator[tuple[Sequence[tuple[Any, str, str]], np.ndarray]]:
    """Embed ``items`` (key, embed hash, text), sorted by length, ``settings.batch_size``
    at a time; yield each batch with its vectors, which ``cache`` keeps, and count it on
    the progress bar once the caller has stored it. ``small``: the engine meant for a
    handful of texts whatever their number (a commit hook or a query must not pay for
    torch).

    Similar lengths batch together (less padding), but the batches run in a fixed shuffled
    order: every stretch of the run then costs about the same per text, so the progress ETA
    is honest from the first batches on."""
    size = settings.batch_size
    batches = [items[i : i + size] for i in range(0, len(items), size)]
    random.Random(len(items)).shuffle(batches)
    rep.stage("load model")
    _load_model(emb, 1 if small else len(items))
    rep.stage(stage, len(items))
    for batch in batches:
        vectors: np.ndarray = emb.embed_batch([t for _, _, t in batch])
        if cache is not None:
            cache.put_many((h, vectors[i]) for i, (_, h, _) in enumerate(batch))
        yield batch, vectors
        rep.advance(len(batch))


def _update_windows(
    store: IndexStore,
    emb: Embedder,
    settings: Settings,
    report: IndexReport,
    rep: Reporter,
    *,
    max_embed: int | None,
) -> None:
    """Bring ``windows.bin`` (the vectors of long functions' bodies, see ``windows``) to
    the index's content. Only the chunks new or changed since the file was written are cut
    again; a window whose text some vector already has (the file's, then the embedding
    cache's) is not embedded; the rest are, unless more than ``max_embed`` are left:
    those wait for a run allowed to embed them (the file says how many). A current file
    costs a read of its first bytes."""
    from . import windows

    key = windows.key_of(store)
    stamp = windows.read_stamp(store)
    done = stamp is not None and stamp.key == key
    if done and (not stamp.missing or (max_embed is not None and stamp.missing > max_embed)):
        report.windows_total, report.windows_pending = stamp.total, stamp.missing
        return
    import numpy as np

    old = windows.read(store, emb.dim)
    if old is not None and old.stamp.key[-1:] != key[-1:]:
        old = None  # another model's vectors
    sources, rows, fresh = windows.plan(store, old)
    have: dict[str, np.ndarray] = old.by_hash() if old is not None else {}
    todo = {w.hash: w.text for w in fresh if w.hash not in have}
    cache = _embedding_cache(settings, emb) if todo else None
    try:
        if cache is not None:
            found = cache.get_many(todo)
            have.update(found)
            report.windows_from_cache += len(found)
            todo = {h: t for h, t in todo.items() if h not in found}
        if todo and (max_embed is None or len(todo) <= max_embed):
            items = sorted(((h, h, t) for h, t in todo.items()), key=lambda x: (len(x[2]), x[0]))
            small = max_embed is not None
            try:
                for batch, vectors in _embedded_batches(
                    emb, items, settings, cache, rep, stage="embed windows", small=small
                ):
                    for (h, _, _), vec in zip(batch, vectors, strict=True):
                        have[h] = np.asarray(vec, dtype=np.float32)
                        del todo[h]
                    report.windows_embedded += len(batch)
            except KeyboardInterrupt:
                raise Interrupted(
                    f"interrupted: embedded {report.windows_embedded} of {len(items)} windows "
                    "of long functions",
                    hint="every chunk's own vector is kept; run `agentctx index` to finish",
                ) from None
    finally:
        if cache is not None:
            cache.close()
    rows += [(w.chunk, w.hash, have[w.hash]) for w in fresh if w.hash in have]
    rows.sort(key=lambda r: r[0])
    waiting = {w.chunk for w in fresh if w.hash in todo}  # cut again by the next run
    complete = {cid: src for cid, src in sources.items() if cid not in waiting}
    report.windows_total = len(rows) + sum(1 for w in fresh if w.hash in todo)
    report.windows_pending = len(todo)
    stamp = windows.Stamp(key, len(todo), report.windows_total)
    windows.write(store, stamp, rows, emb.dim, complete)


def _remember_file_norms(
    store: IndexStore,
    emb: Embedder,
    synced: VectorIndex | None,
    generation_before: str,
    vectors_changed: bool,
    staged: bool,
    timer: _Timer,
) -> None:
    """Keep the centroid signal's per-file norms current for the queries that follow.

    When no vector came or went they are the same as before this run: carried over (no
    numpy, no faiss, not even parsed). Otherwise computed, except by the git hook (the next
    run does it).
    """
    if store.is_remembered("file_norms"):
        return
    if not vectors_changed and store.carry_over("file_norms", generation_before):
        return
    if not staged and store.vector_count() and emb.model_id == store.meta("embedder"):
        with timer("centroids"):
            from .retrieve import remember_file_norms

            remember_file_norms(store, emb.dim, synced)


def _sync_faiss(
    store: IndexStore, dim: int, in_sync: bool, stale: list[int], new: list[int]
) -> VectorIndex:
    """Bring ``vectors.faiss`` in line with the database: a delta when possible."""
    from .store.vectors import VectorIndex

    path = store.index_dir / FAISS_FILE
    vi = None
    if in_sync and path.is_file():
        try:
            import faiss

            vi = VectorIndex(faiss.read_index(str(path)), dim)
        except Exception:
            vi = None
    if vi is not None and vi.dim == dim:
        vi.remove(set(stale) | set(new))
        if new:
            import numpy as np

            ids: list[int] = []
            blobs: list[bytes] = []
            for cid, blob in store.vectors_for(new):
                ids.append(cid)
                blobs.append(blob)
            if ids:
                vi.add(ids, np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), dim))
        if vi.ntotal != store.vector_count():
            vi = None
    if vi is None:
        vi = VectorIndex.from_store(store, dim)
    vi.save(store)
    return vi


# ---------------------------------------------------------------------------- query side

# Pending chunks a pack/search embeds itself before answering: what the small numpy
# engine does in a few seconds without loading torch. More are `agentctx index`'s job.
EMBED_ON_QUERY_LIMIT = 64


@dataclass(slots=True)
class SearchResult:
    hits: list[Hit]
    below_threshold: int
    notes: list[str]
    latency_ms: dict[str, float]
    keep_terms: set[str]
    children: FileChildren  # the outline by file
    outline: Mapping[int, OutlineEntry] = field(default_factory=dict)  # what it ranked from


@dataclass(slots=True)
class PackResult:
    bundle: Bundle
    text: str  # rendered markdown or xml (for json: the markdown it describes)
    tokens_used: int
    stats: dict[str, object]
    hits: list[Hit]  # the full ranked list the bundle was cut from (best first)


def _refresh(
    settings: Settings,
    embedder: Embedder | None,
    notes: list[str],
    rep: Reporter,
    *,
    vectors: bool = True,
) -> None:
    """Bring the index up to date before answering, without ever blocking for long.

    A missing or largely unembedded index takes the vectors the embedding cache has
    (another clone, a branch switched back, an index rebuilt) and is otherwise built
    lexically first (minutes of embedding are `agentctx index`'s job); a locked index
    is used as it is. With ``vectors=False`` (an answer that needs symbols only) nothing
    is embedded.
    """
    db = settings.index_dir / DB_NAME
    try:
        report = build_index(
            replace(settings, lock_timeout=min(settings.lock_timeout, 2.0)),
            reporter=rep,
            embed=vectors,
            embedder=embedder,
            # more pending than this: what the embedding cache has, and no model
            max_embed=EMBED_ON_QUERY_LIMIT if vectors else None,
            announce_pending=False,  # the note below says it
        )
    except LockedError:
        notes.append("index is being updated by another process; answered from the current index")
        return
    except (IndexReadOnlyError, sqlite3.OperationalError) as exc:
        if not db.exists():
            raise
        notes.append(f"the index cannot be updated here ({exc}); answered from it as it is")
        return
    if report.chunks_pending and vectors:
        notes.append(
            f"{report.chunks_pending} symbols are not embedded yet and were ranked lexically "
            "(run `agentctx index` to embed them)"
        )


# The title's own vector is added to the whole text's at this weight: a line the body gains
# or loses cannot move it (measured with benchmarks/neutral_lines_blind.json).
TITLE_VECTOR_WEIGHT = 0.6


def query_vector(emb: Embedder, signals: QuerySignals, query: str) -> np.ndarray:
    """The dense query: the text as ``parse_query`` cleaned it, plus its title's vector
    (``TITLE_VECTOR_WEIGHT``) when a body follows the title; unit length."""
    import numpy as np

    text = signals.clean_text or query
    if not signals.title_text or TITLE_VECTOR_WEIGHT <= 0:
        return emb.embed_batch([text])[0]
    # one call: the numpy engine packs both texts in one pass (the title's few tokens cost
    # ~3 ms there, ~14 ms as a pass of its own)
    vec, title = emb.embed_batch([text, signals.title_text])
    mixed = vec + TITLE_VECTOR_WEIGHT * title
    norm = float(np.linalg.norm(mixed))
    return (mixed / norm).astype(vec.dtype) if norm > 0 else vec


# The query's vector is made on a thread of its own while the outline is read and BM25,
# the symbol tables and the file signals run; the dense list is searched last. Only their
# time outside the interpreter overlaps (SQLite's, mostly: numpy's pass needs it between
# its ~3,000 small operations), so the gain grows with the index. Paired per report in
# process (benchmarks/query_path.py --overlap): Django 3.1 and sympy -49 to -110 ms (p50
# ~450 -> ~360 ms on Django), xarray -25 ms, pytest none. False: made before them, here.
QUERY_VECTOR_THREAD = True


def _load_model(emb: Embedder, total: int) -> None:
    """Load the engine that embeds ``total`` texts, where the backend loads on demand."""
    prepare = getattr(emb, "prepare", None)
    load = getattr(emb, "load", None)
    if callable(prepare):
        prepare(total)
    elif callable(load):
        load()


def search(
    settings: Settings,
    query: str,
    *,
    min_score: float | None = None,
    limit: int = 400,
    refresh: bool = True,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
    weights: Mapping[str, float] | None = None,
) -> SearchResult:
    """Ranked hits for a query: the shared front half of ``search`` and ``pack``.

    ``weights`` override the ranking's list weights (``rank.DEFAULT_WEIGHTS``).
    """
    from .query import parse_query
    from .rank import DEFAULT_MIN_SCORE, rank
    from .retrieve import identifier_terms, retrieve

    rep = reporter or NullReporter()
    emb = embedder or get_embedder(settings.embedder, settings.resolved_cache_dir)
    notes: list[str] = []
    lat: dict[str, float] = {}
    t0 = time.perf_counter()
    query = valid_text(query)  # a library caller's lone surrogates (client.*_args mend the CLI's)
    signals = parse_query(query, issue_templates(settings.root))
    lat["parse"] = time.perf_counter() - t0
    t = time.perf_counter()
    if refresh:
        _refresh(settings, emb, notes, rep)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        lat["load"] = time.perf_counter() - t
        pending: Background[np.ndarray] | None = None
        t = time.perf_counter()
        if store.vector_count() and store.meta("embedder") == emb.model_id:
            # The model loads here: loading is Python (numpy's import, mostly), and
            # beside the other lists it held them back as long as it saved. Its pass then
            # runs beside them (see QUERY_VECTOR_THREAD).
            _load_model(emb, 2)
            pending = Background(
                query_vector,
                emb,
                signals,
                query,
                name="agentctx-query-vector",
                threaded=QUERY_VECTOR_THREAD,
            )
        elif store.vector_count():
            notes.append(f"index was embedded with {store.meta('embedder')}; ranked lexically")
        lat["embed_query"] = time.perf_counter() - t  # loading the model, in a new process
        t = time.perf_counter()
        cands = retrieve(
            store,
            signals,
            root=settings.root,
            query_vector=None if pending is None else pending.get,
            dim=emb.dim,
        )
        # ... and the wait for the vector: what of making it the other lists did not hide
        waited = pending.waited if pending is not None else 0.0
        lat["embed_query"] += waited
        lat["retrieve"] = time.perf_counter() - t - waited
        t = time.perf_counter()
        hits, below = rank(
            cands,
            weights=weights,
            min_score=DEFAULT_MIN_SCORE if min_score is None else min_score,
            limit=limit,
        )
        children = cands.files()  # grouped by rank already; sorted per file when asked
        lat["rank"] = time.perf_counter() - t
    if not cands.dense_available and pending is None and not notes:
        notes.append("no vectors in the index yet; ranked lexically")
    elif not refresh and cands.pending and cands.dense_available:  # (a refresh says it itself)
        notes.append(
            f"{cands.pending} symbols are not embedded yet and were ranked lexically "
            "(run `agentctx index` to embed them)"
        )
    return SearchResult(
        hits,
        below,
        notes,
        {k: v * 1000 for k, v in lat.items()},
        identifier_terms(signals),
        children,
        cands.outline,
    )


def pack(
    settings: Settings,
    query: str,
    *,
    budget: int = 8000,
    tokenizer: str = "cl100k_base",
    fmt: str = "markdown",
    min_score: float | None = None,
    refresh: bool = True,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
    stats: bool = True,
) -> PackResult:
    """A context bundle for ``query`` that fits ``budget`` tokens exactly.

    ``stats``: also the token accounting of ``--stats`` and ``--format json`` (what the
    bundle saved against the files in full). It reads and counts every file the bundle
    touches: ~50 ms of a ~140 ms pack on pytest, so a plain ``pack`` goes without.
    """
    return pack_many(
        settings,
        query,
        [budget],
        tokenizer=tokenizer,
        fmt=fmt,
        min_score=min_score,
        refresh=refresh,
        embedder=embedder,
        reporter=reporter,
        stats=stats,
    )[budget]


def pack_many(
    settings: Settings,
    query: str,
    budgets: Sequence[int],
    *,
    tokenizer: str = "cl100k_base",
    fmt: str = "markdown",
    min_score: float | None = None,
    refresh: bool = True,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
    stats: bool = True,
    weights: Mapping[str, float] | None = None,
) -> dict[int, PackResult]:
    """Bundles for ``query`` at several budgets from one search (what ``bench`` needs).

    Each result's ``latency_ms`` is what a single ``pack`` at that budget takes: the
    shared search stages plus its own fitting. A budget too small for the header
    raises BudgetError only when it is the only one asked; otherwise it is left out
    of the result.
    """
    from .budget import fit
    from .rank import DEFAULT_MIN_SCORE, helpers_first
    from .tokens import get_tokenizer

    query = valid_text(query)  # the bundle's header shows it: stdout takes no lone surrogates
    for budget in budgets:
        if budget <= 0:
            raise BudgetError(f"budget must be a positive number of tokens, got {budget}")
    tok = get_tokenizer(tokenizer)
    found = search(
        settings,
        query,
        min_score=min_score,
        refresh=refresh,
        embedder=embedder,
        reporter=reporter,
        weights=weights,
    )
    t = time.perf_counter()
    with IndexStore.open(settings.index_dir, writer=False) as store:
        chunks = store.load_chunks([h.id for h in found.hits])
    order = helpers_first(found.hits, found.children)  # the ranking itself is returned
    load_ms = (time.perf_counter() - t) * 1000
    heads = _HeadReader(settings, chunks)

    def children(chunk: Chunk) -> list[tuple[int, int]]:
        return _direct_children(chunk, found.children.get(chunk.path, []))

    out: dict[int, PackResult] = {}
    for budget in dict.fromkeys(budgets):
        lat = dict(found.latency_ms)
        t = time.perf_counter()
        try:
            fitted = fit(
                query=query,
                repo=settings.root.name,
                hits=order,
                chunks=chunks,
                children=children,
                keep_terms=found.keep_terms,
                tok=tok,
                budget=budget,
                fmt=fmt,
                below_threshold=found.below_threshold,
                notes=found.notes,
                account=stats,
                heads=heads,
            )
        except BudgetError:
            if len(budgets) == 1:
                raise
            continue
        lat["fit"] = load_ms + (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        numbers = _pack_stats(
            settings, fitted, tok, DEFAULT_MIN_SCORE if min_score is None else min_score, stats
        )
        lat["render"] = (time.perf_counter() - t) * 1000
        numbers["latency_ms"] = {k: round(v, 1) for k, v in lat.items()}
        out[budget] = PackResult(
            fitted.bundle, fitted.text, fitted.tokens_used, numbers, found.hits
        )
    return out


class _HeadReader:
    """Files' module chunks for ``fit`` (only when it has budget left for them), read once
    per file by id: a module chunk's id follows from its path alone."""

    def __init__(self, settings: Settings, known: Mapping[int, Chunk]) -> None:
        self.settings, self.known = settings, known
        self.read: dict[str, Chunk | None] = {}

    def __call__(self, paths: Sequence[str]) -> dict[str, Chunk]:
        from .chunk import chunk_id

        ids = {chunk_id(p, MODULE_SYMBOL, 0): p for p in paths if p not in self.read}
        found = {i: self.known[i] for i in ids if i in self.known}
        missing = [i for i in ids if i not in found]
        if missing:
            with IndexStore.open(self.settings.index_dir, writer=False) as store:
                found.update(store.load_chunks(missing))
        for i, path in ids.items():
            self.read[path] = found.get(i)
        return {p: c for p in paths if (c := self.read.get(p)) is not None}


def _pack_stats(
    settings: Settings, fitted: Fitted, tok: Tokenizer, min_score: float, account: bool = True
) -> dict:
    """Token accounting in the shape of the product brief (``account``), and the counts."""
    counts = {
        "items": {
            d: sum(1 for i in fitted.bundle.items if i.detail == d)
            for d in ("full", "skeleton", "signature", "mention")
        },
        "left_out": fitted.bundle.left_out,
        "below_threshold": fitted.bundle.below_threshold,
    }
    if not account:
        return counts
    original = 0
    for path in sorted({i.path for i in fitted.bundle.items}):
        try:
            original += tok.count(
                (settings.root / path).read_text(encoding="utf-8", errors="replace")
            )
        except OSError:
            continue
    summarized = sum(
        max(0, fitted.full_tokens.get((i.path, i.symbol, i.start_line), i.tokens) - i.tokens)
        for i in fitted.bundle.items
        if i.detail != "full"
    )
    used = fitted.tokens_used
    selective = max(0, original - used - summarized)
    return {
        "context_optimization": {
            "original_context_size": original,
            "optimized_context_size": used,
            "reduction_percentage": round(100.0 * (original - used) / original, 2)
            if original
            else 0.0,
            "optimization_techniques": [
                {
                    "technique": "code_summarization",
                    "applied_to": "non-focus code sections",
                    "tokens_saved": summarized,
                },
                {
                    "technique": "selective_context_inclusion",
                    "strategy": f"relevance score > {min_score}",
                    "tokens_saved": selective,
                },
            ],
        },
        **counts,
    }


def pack_diff(
    settings: Settings,
    *,
    rev: str | None = None,
    staged: bool = False,
    query: str | None = None,
    budget: int = 8000,
    tokenizer: str = "cl100k_base",
    fmt: str = "markdown",
    min_score: float | None = None,
    refresh: bool = True,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
    stats: bool = True,
) -> PackResult:
    """A bundle for a change: changed symbols in full, their neighbourhood as skeletons.

    The change is the working tree against ``rev`` (default HEAD), or the staged one.
    Callers, callees, enclosing classes and the tests that reference the changed
    symbols follow as skeletons; with a ``query``, its ranked hits come after them.
    ``stats`` as for ``pack``.
    """
    from .budget import fit
    from .categories import is_secondary
    from .diffctx import (
        DiffSpec,
        Neighbour,
        changed_symbols,
        collect_changes,
        neighbours,
        require_changes,
    )
    from .rank import DEFAULT_MIN_SCORE
    from .retrieve import FileChildren, load_outline
    from .tokens import get_tokenizer

    if budget <= 0:
        raise BudgetError(f"budget must be a positive number of tokens, got {budget}")
    tok = get_tokenizer(tokenizer)
    rep = reporter or NullReporter()
    spec = DiffSpec(rev=rev, staged=staged)
    lat: dict[str, float] = {}
    t = time.perf_counter()
    changes = collect_changes(settings.root, spec, max_file_size=settings.max_file_size)
    require_changes(changes, spec)
    ctx = changed_symbols(changes, spec, max_chars=settings.embed_max_chars)
    lat["diff"] = time.perf_counter() - t

    notes: list[str] = []
    found: SearchResult | None = None
    if query is not None:
        found = search(
            settings,
            query,
            min_score=min_score,
            refresh=refresh,
            embedder=embedder,
            reporter=rep,
        )
        notes.extend(found.notes)
    elif refresh:  # the neighbourhood needs symbols, not vectors: never load the model
        t = time.perf_counter()
        _refresh(settings, embedder, notes, rep, vectors=False)
        lat["load"] = time.perf_counter() - t

    t = time.perf_counter()
    outline: Mapping[int, OutlineEntry] = {}
    reused = False  # the question's search's outline and symbol tables, not read again
    near: list[Neighbour] = []
    chunks: dict[int, Chunk] = {}
    extra: list[Hit] = []  # the question's hits beyond the change and its neighbourhood
    if (settings.index_dir / DB_NAME).exists():
        with IndexStore.open(settings.index_dir, writer=False) as store:
            if found is not None and found.outline:  # read just now, after its refresh
                outline, reused = found.outline, True
            else:
                outline = load_outline(store)
            near = neighbours(outline, ctx, is_test=is_secondary)
            if found is not None:
                taken = {c.id for c in ctx.changed} | {n.id for n in near}
                extra = [h for h in found.hits if h.id not in taken]
            chunks = store.load_chunks([n.id for n in near] + [h.id for h in extra])
    else:
        notes.append("no index yet: showing the changed symbols only (run `agentctx index`)")
    lat["neighbours"] = time.perf_counter() - t

    t = time.perf_counter()
    hits: list[Hit] = []
    for c in ctx.changed:  # a module remainder (imports, constants) after the symbols
        chunks[c.id] = c
        score = 0.95 if c.qualname == MODULE_SYMBOL else 1.0
        hits.append(
            Hit(c.id, c.path, c.qualname, c.kind, c.start_line, c.end_line, score, ("diff",))
        )
    hits.sort(key=lambda h: -h.score)
    caps: dict[int, str] = {}
    for n in near:
        e = outline[n.id]
        hits.append(
            Hit(n.id, e.path, e.qualname, e.kind, e.start_line, e.end_line, n.score, (n.reason,))
        )
        caps[n.id] = "skeleton"
    scale = min(n.score for n in near) if near else 0.25  # the question's hits come last
    hits.extend(replace(h, score=h.score * scale) for h in extra)
    below = found.below_threshold if found is not None else 0
    if ctx.removed:
        shown = ", ".join(f"{p}::{q}" for p, q in ctx.removed[:12])
        more = f" and {len(ctx.removed) - 12} more" if len(ctx.removed) > 12 else ""
        notes.append(f"removed by the change: {shown}{more}")
    notes.extend(ctx.notes)

    # Symbol line ranges per file for skeletons: a changed file's from its new side.
    hit_paths = {h.path for h in hits}
    known = found.children if found is not None and reused else FileChildren(outline)
    table = {path: known[path] for path in hit_paths if path in known}
    for path, cs in ctx.file_chunks.items():
        table[path] = [(c.start_line, c.end_line, c.parent, c.qualname) for c in cs]

    def children(chunk: Chunk) -> list[tuple[int, int]]:
        return _direct_children(chunk, table.get(chunk.path, []))

    names = {c.name.lower() for c in ctx.changed if c.qualname != MODULE_SYMBOL and len(c.name) > 2}
    keep = names | (found.keep_terms if found is not None else set())
    title = f"{spec.describe()}: {len(ctx.changed)} changed symbols in {len(ctx.file_chunks)} files"
    fitted = fit(
        query=f"{title}\n{query}" if query else title,
        repo=settings.root.name,
        hits=hits,
        chunks=chunks,
        children=children,
        keep_terms=keep,
        tok=tok,
        budget=budget,
        fmt=fmt,
        below_threshold=below,
        notes=notes,
        max_detail=caps,
        account=stats,
    )
    lat["fit"] = time.perf_counter() - t
    numbers = _pack_stats(
        settings, fitted, tok, DEFAULT_MIN_SCORE if min_score is None else min_score, stats
    )
    ms = {k: v * 1000 for k, v in lat.items()}
    if found is not None:
        ms = {**found.latency_ms, **ms}
    numbers["latency_ms"] = {k: round(v, 1) for k, v in ms.items()}
    numbers["diff"] = {
        "spec": spec.describe(),
        "files": len(ctx.files),
        "changed_symbols": len(ctx.changed),
        "neighbours": {
            r: sum(1 for n in near if n.reason == r) for r in ("callee", "caller", "parent", "test")
        },
        "removed_symbols": len(ctx.removed),
    }
    return PackResult(fitted.bundle, fitted.text, fitted.tokens_used, numbers, hits)


def _direct_children(
    chunk: Chunk, entries: list[tuple[int, int, str | None, str]]
) -> list[tuple[int, int]]:
    """Line ranges of the symbols directly inside ``chunk`` (for its skeleton)."""
    inside = sorted(
        (a, b)
        for a, b, _parent, q in entries
        if chunk.start_line <= a
        and b <= chunk.end_line
        and (a, b) != (chunk.start_line, chunk.end_line)
        and q != chunk.qualname
    )
    direct: list[tuple[int, int]] = []
    for a, b in inside:
        if direct and b <= direct[-1][1]:
            continue
        direct.append((a, b))
    return direct
