"""SQLite side of the index: manifest, chunks, lexical FTS5 table, vector blobs."""

from __future__ import annotations

import contextlib
import json
import marshal
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import IndexReadOnlyError, IndexStateError, LockedError
from ..messages import anchor
from ..models import Chunk
from ..textutil import terms_text

FORMAT_VERSION = 1
LEXICAL_VERSION = 1  # bump when the terms stored in the lexical index change
# Bump when what the history documents keep changes (2: references to issues and pull
# requests, `ref_1234`, from commits and merges): a store read with another version is
# rebuilt on the next refresh.
HISTORY_VERSION = 2


def history_mark(limit: int) -> str:
    """What the index records as the history's read state: the commit limit and version."""
    return f"{limit}:v{HISTORY_VERSION}"


DB_NAME = "index.db"
FAISS_FILE = "vectors.faiss"  # written by store.vectors; named here so callers need no numpy
LOCK_NAME = "lock"
# A snapshot of ``outline()`` for the next process, stamped with what it was read at:
# on sympy (44,582 chunks) SQLite takes ~110 ms to read those columns out of a 300 MB
# table, the snapshot ~30 ms.
OUTLINE_FILE = "outline.bin"
# The last discovery's stamp (``discover.TreeStamp``): lets the next refresh skip the walk.
TREE_FILE = "tree.bin"
# (id, path, qualname, name, kind, start, end, parent, refs-json): a chunk without its text
OutlineRow = tuple[int, str, str, str, str, int, int, str | None, str]
_OUTLINE_FORMAT = 2  # 2: columns (``outline_columns``); 1 was rows
# The columns of an outline, as the store's snapshot keeps them (see ``outline_columns``):
# ids, the distinct paths, each chunk's path (an index into them), qualnames, names, kinds,
# start lines, end lines, parents, the references of all chunks as one text (each chunk's
# JSON list, joined by newlines), where each chunk's list starts in it (one more: the end),
# and the chunks whose list the fast reading cannot take (escapes: decoded when looked at).
OutlineColumns = tuple[
    list[int],
    list[str],
    list[int],
    list[str],
    list[str],
    list[str],
    list[int],
    list[int],
    list[str | None],
    str,
    list[int],
    list[int],
]


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    language TEXT NOT NULL,
    decode_errors INTEGER NOT NULL DEFAULT 0,
    parse_errors INTEGER NOT NULL DEFAULT 0
);
-- files read once and left out (binary...): not read again until they change
CREATE TABLE skipped (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL,
    language TEXT NOT NULL,
    qualname TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    signature TEXT NOT NULL,
    docstring TEXT NOT NULL,
    refs TEXT NOT NULL,
    parent TEXT,
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    embed_hash TEXT NOT NULL,
    embed_text TEXT NOT NULL   -- what is embedded; kept so a model change can re-embed
);
CREATE INDEX chunks_path ON chunks(path);
CREATE TABLE vectors (id INTEGER PRIMARY KEY, embed_hash TEXT NOT NULL, vec BLOB NOT NULL);
CREATE VIRTUAL TABLE lexical USING fts5(
    name, path, signature, doc, body, tokenize = "unicode61 tokenchars '_'"
);
"""
# Added after format 1 shipped: created on open by writers when missing (no rebuild).
# One history document (commit-message terms, see history.py) per indexed file.
_HISTORY_SCHEMA = """
CREATE TABLE IF NOT EXISTS history_paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE VIRTUAL TABLE IF NOT EXISTS history USING fts5(
    text, tokenize = "unicode61 tokenchars '_'"
);
"""
# Added after format 1 shipped, like the history: the message templates of code chunks
# (``messages.message_templates``), looked up by their longest word. An index written
# before has none until the chunk recipe (``pipeline._chunk_recipe``) re-parses it.
_MESSAGES_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    chunk INTEGER NOT NULL, anchor TEXT NOT NULL, template TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_anchor ON messages(anchor);
CREATE INDEX IF NOT EXISTS messages_chunk ON messages(chunk);
"""


@dataclass(frozen=True, slots=True)
class FileRecord:
    """One manifest row: the cheap (size, mtime) pre-check and the content hash behind it."""

    path: str
    size: int
    mtime_ns: int
    sha256: str
    language: str
    decode_errors: bool = False
    parse_errors: bool = False


@dataclass(frozen=True, slots=True)
class StoredChunk:
    """What the incremental diff needs of a stored chunk."""

    id: int
    qualname: str
    content_hash: str
    embed_hash: str


class IndexStore:
    """One open index database. Use ``IndexStore.open`` (a context manager)."""

    def __init__(self, index_dir: Path, conn: sqlite3.Connection, lock_fd: int | None) -> None:
        self.index_dir = index_dir
        self.conn = conn
        self._lock_fd = lock_fd
        self.notices: list[str] = []  # user-facing facts about this open (rebuilds...)

    # ---------------------------------------------------------------- opening
    @classmethod
    def open(
        cls,
        index_dir: Path,
        *,
        writer: bool,
        lock_timeout: float = 30.0,
        create: bool = True,
    ) -> IndexStore:
        """Open (and for writers create or repair) the index under ``index_dir``.

        Writers hold an exclusive ``flock`` on ``.agentctx/lock`` for the life of the
        store; the kernel drops it if the process dies, so a stale lock cannot exist.
        A database of another format version, or one that is not a database, is
        moved aside and rebuilt by writers; readers get an ``IndexStateError``.
        """
        db_path = index_dir / DB_NAME
        lock_fd = None
        notices: list[str] = []
        if writer:
            try:
                index_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise IndexStateError(f"cannot create {index_dir}: {exc.strerror}") from None
            _write_readme(index_dir)
            lock_fd = _acquire_lock(index_dir / LOCK_NAME, lock_timeout)
        elif not db_path.exists():
            raise IndexStateError(f"no index under {index_dir}", hint="run `agentctx index` first")
        try:
            conn, problem = _connect(db_path, create=create and writer)
            if problem is not None:
                if not writer:
                    raise IndexStateError(
                        f"the index at {index_dir} is unusable ({problem})",
                        hint="run `agentctx index` to rebuild it",
                    )
                notices.append(f"index at {index_dir.name}/ was {problem}; rebuilding it")
                discard_index(db_path)
                conn, problem = _connect(db_path, create=True)
                if problem is not None:
                    raise IndexStateError(f"cannot create the index: {problem}")
        except BaseException:
            _release_lock(lock_fd)
            raise
        store = cls(index_dir, conn, lock_fd)
        store.notices.extend(notices)
        if writer:
            try:
                conn.executescript(_HISTORY_SCHEMA + _MESSAGES_SCHEMA)
            except sqlite3.OperationalError as exc:
                store.close()
                raise IndexReadOnlyError(
                    f"cannot write the index at {index_dir}: {exc}",
                    hint="check the permissions of the .agentctx directory and the free space",
                ) from None
        return store

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            _release_lock(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> IndexStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------- meta
    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, values: dict[str, str | int]) -> None:
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                [(k, str(v)) for k, v in values.items()],
            )

    def generation(self) -> int:
        return int(self.meta("generation", "0") or 0)

    # --------------------------------------------------------------- manifest
    def manifest(self) -> dict[str, FileRecord]:
        rows = self.conn.execute(
            "SELECT path, size, mtime_ns, sha256, language, decode_errors, parse_errors FROM files"
        )
        return {
            r[0]: FileRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), bool(r[6])) for r in rows
        }

    def file_stat(self, path: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of ``path`` when it was last indexed; None if it is not."""
        row = self.conn.execute(
            "SELECT size, mtime_ns FROM files WHERE path = ?", (path,)
        ).fetchone()
        return (int(row[0]), int(row[1])) if row else None

    def skipped(self) -> dict[str, tuple[int, int, str]]:
        """path -> (size, mtime_ns, reason) of files skipped after reading them."""
        rows = self.conn.execute("SELECT path, size, mtime_ns, reason FROM skipped")
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def chunks_for_paths(self, paths: Sequence[str]) -> dict[str, list[StoredChunk]]:
        out: dict[str, list[StoredChunk]] = {p: [] for p in paths}
        for batch in _batches(list(paths), 500):
            marks = ",".join("?" * len(batch))
            rows = self.conn.execute(
                f"SELECT path, id, qualname, content_hash, embed_hash FROM chunks "
                f"WHERE path IN ({marks})",
                batch,
            )
            for path, cid, qualname, chash, ehash in rows:
                out[path].append(StoredChunk(cid, qualname, chash, ehash))
        return out

    def drop_vectors(self) -> None:
        """Forget every vector (the embedding model changed)."""
        with self.conn:
            self.conn.execute("DELETE FROM vectors")
            self._bump_generation()

    # ----------------------------------------------------------------- writes
    def apply(
        self,
        *,
        files: Iterable[FileRecord],
        removed_paths: Iterable[str],
        upserts: Iterable[Chunk],
        deletes: Iterable[int],
        keep_vectors: set[int],
        skipped: Iterable[tuple[str, int, int, str]] = (),
        unskipped: Iterable[str] = (),
    ) -> None:
        """Apply one run's parse results in a single transaction.

        ``keep_vectors`` are upserted chunks whose embedded text did not change:
        their vector stays valid (it is keyed by the embed hash too).
        """
        with self.conn:
            cur = self.conn.cursor()
            for path in removed_paths:
                ids = [r[0] for r in cur.execute("SELECT id FROM chunks WHERE path = ?", (path,))]
                self._delete_chunks(cur, ids)
                cur.execute("DELETE FROM files WHERE path = ?", (path,))
            self._delete_chunks(cur, list(deletes))
            for c in upserts:
                keep = c.id in keep_vectors
                if not keep:
                    cur.execute("DELETE FROM vectors WHERE id = ?", (c.id,))
                cur.execute(
                    "INSERT OR REPLACE INTO chunks(id, path, language, qualname, name, kind, "
                    "start_line, end_line, signature, docstring, refs, parent, text, "
                    "content_hash, embed_hash, embed_text) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        c.id,
                        c.path,
                        c.language,
                        c.qualname,
                        c.name,
                        c.kind,
                        c.start_line,
                        c.end_line,
                        c.signature,
                        c.docstring,
                        json.dumps(list(c.references)),
                        c.parent,
                        c.text,
                        c.content_hash,
                        c.embed_hash,
                        c.embed_text,
                    ),
                )
                cur.execute("DELETE FROM messages WHERE chunk = ?", (c.id,))
                cur.executemany(
                    "INSERT INTO messages(chunk, anchor, template) VALUES (?,?,?)",
                    [(c.id, anchor(t), t) for t in c.messages],
                )
                cur.execute("DELETE FROM lexical WHERE rowid = ?", (c.id,))
                cur.execute(
                    "INSERT INTO lexical(rowid, name, path, signature, doc, body) "
                    "VALUES (?,?,?,?,?,?)",
                    (
                        c.id,
                        terms_text([c.qualname]),
                        terms_text([c.path]),
                        terms_text([c.signature]),
                        terms_text([c.docstring]),
                        terms_text([c.own_text or c.text]),
                    ),
                )
            cur.executemany(
                "INSERT OR REPLACE INTO files(path, size, mtime_ns, sha256, language, "
                "decode_errors, parse_errors) VALUES (?,?,?,?,?,?,?)",
                [
                    (
                        f.path,
                        f.size,
                        f.mtime_ns,
                        f.sha256,
                        f.language,
                        f.decode_errors,
                        f.parse_errors,
                    )
                    for f in files
                ],
            )
            cur.executemany(
                "INSERT OR REPLACE INTO skipped(path, size, mtime_ns, reason) VALUES (?,?,?,?)",
                list(skipped),
            )
            cur.executemany("DELETE FROM skipped WHERE path = ?", [(p,) for p in unskipped])
            self._bump_generation()

    def _delete_chunks(self, cur: sqlite3.Cursor, ids: list[int]) -> None:
        for batch in _batches(ids, 500):
            marks = ",".join("?" * len(batch))
            cur.execute(f"DELETE FROM chunks WHERE id IN ({marks})", batch)
            cur.execute(f"DELETE FROM vectors WHERE id IN ({marks})", batch)
            cur.execute(f"DELETE FROM lexical WHERE rowid IN ({marks})", batch)
            cur.execute(f"DELETE FROM messages WHERE chunk IN ({marks})", batch)

    def _bump_generation(self) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('generation', "
            "CAST(COALESCE((SELECT CAST(value AS INTEGER) FROM meta WHERE key='generation'), 0)"
            " + 1 AS TEXT))"
        )

    # ---------------------------------------------------------------- vectors
    _PENDING = (
        "FROM chunks c LEFT JOIN vectors v ON v.id = c.id "
        "WHERE (v.id IS NULL OR v.embed_hash != c.embed_hash)"
    )

    def window_candidates(self, kinds: Sequence[str]) -> list[tuple[int, str, str]]:
        """(id, embed hash, content hash) of the chunks of ``kinds`` that may be too long
        for their embedded text (``windows.window_texts`` decides), by id. A body goes on
        past that text only if the text, header, signature and docstring together pass
        its ~1,200 characters: the rest cannot (a header is its path, its qualified name
        and their words: at most three times the name, and ~21 characters more)."""
        marks = ",".join("?" * len(kinds))
        return self.conn.execute(
            "SELECT id, embed_hash, content_hash FROM chunks "
            f"WHERE kind IN ({marks}) AND length(text) + length(path) + 3 * length(qualname)"
            " + length(signature) + min(length(docstring), 600) > 1150 ORDER BY id",
            tuple(kinds),
        ).fetchall()

    def window_sources(
        self, ids: Sequence[int]
    ) -> Iterator[tuple[int, str, str, str, str, str, str]]:
        """(id, path, qualname, kind, signature, docstring, text) of chunks ``ids``."""
        for batch in _batches(list(ids), 500):
            marks = ",".join("?" * len(batch))
            yield from self.conn.execute(
                "SELECT id, path, qualname, kind, signature, docstring, text FROM chunks "
                f"WHERE id IN ({marks}) ORDER BY id",
                batch,
            )

    def pending(self) -> list[tuple[int, str, str]]:
        """(id, embed_hash, embed_text) of chunks with no current vector, by id.

        A chunk is pending from the moment its row is written until its vector is
        committed: retrieval ranks such chunks lexically meanwhile.
        """
        return list(
            self.conn.execute(
                f"SELECT c.id, c.embed_hash, c.embed_text {self._PENDING} ORDER BY c.id"
            )
        )

    def pending_hashes(self, after: int = -1, limit: int = 256) -> list[tuple[int, str]]:
        """(id, embed_hash) of up to ``limit`` pending chunks with ids above ``after``, by
        id: ``pending`` without the texts, a page at a time."""
        sql = f"SELECT c.id, c.embed_hash {self._PENDING} AND c.id > ? ORDER BY c.id LIMIT ?"
        return list(self.conn.execute(sql, (after, limit)))

    def pending_count(self) -> int:
        sql = f"SELECT COUNT(*) {self._PENDING}"
        return int(self.remembered("pending", lambda: self.conn.execute(sql).fetchone()[0]))

    def embed_bytes_total(self) -> int:
        """Bytes of embedded text over all chunks: what a full refresh would embed."""
        row = self.conn.execute("SELECT SUM(LENGTH(CAST(embed_text AS BLOB))) FROM chunks")
        return int(row.fetchone()[0] or 0)

    def put_vectors(self, items: Sequence[tuple[int, str, bytes]]) -> None:
        """Store one batch of vectors (one transaction: an interruption keeps it)."""
        with self.conn:
            self.conn.executemany(
                "INSERT OR REPLACE INTO vectors(id, embed_hash, vec) VALUES (?,?,?)", items
            )
            self._bump_generation()

    def vectors(self) -> Iterator[tuple[int, bytes]]:
        yield from self.conn.execute("SELECT id, vec FROM vectors ORDER BY id")

    def vectors_for(self, ids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        for batch in _batches(list(ids), 500):
            marks = ",".join("?" * len(batch))
            yield from self.conn.execute(
                f"SELECT id, vec FROM vectors WHERE id IN ({marks})", batch
            )

    def vector_count(self) -> int:
        sql = "SELECT COUNT(*) FROM vectors"
        return int(self.remembered("vectors", lambda: self.conn.execute(sql).fetchone()[0]))

    # ------------------------------------------------------------------ stats
    def counts(self) -> tuple[int, int, dict[str, int]]:
        """(files, symbols, symbols per language). Module chunks are not counted as symbols."""

        def count() -> list[object]:
            files = self.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
            per_lang = self.conn.execute(
                "SELECT language, COUNT(*) FROM chunks WHERE qualname != '<module>' "
                "GROUP BY language ORDER BY COUNT(*) DESC, language"
            ).fetchall()
            return [files, per_lang]

        files, per_lang = self.remembered("counts", count)
        langs = {str(lang): int(n) for lang, n in per_lang}
        return int(files), sum(langs.values()), langs

    def remember_counts(self) -> None:
        """Compute and store the remembered counts (a writer, after its last write), so the
        queries that follow read them instead of counting."""
        self.pending_count()
        self.vector_count()
        self.counts()

    def remembered(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` (JSON-able), remembered in ``meta`` with the generation it was
        computed at. Every write to files, chunks or vectors bumps the generation in its
        own transaction, so the value is exact while the generation is unchanged: a query
        reads it instead of scanning every chunk (the pending count's join alone took
        ~10 ms per call on pytest's 6,400 chunks, and a default ``pack`` made four).
        Only writers store it (they hold the lock, so nothing changes in between)."""
        gen, found, value = self._recall(name)
        if found:
            return value
        value = compute()
        if self._lock_fd is not None and not self.conn.in_transaction:
            self.set_meta({f"remembered:{name}": json.dumps([gen, value])})
        return value

    def is_remembered(self, name: str) -> bool:
        """Whether ``remembered(name, ...)`` would answer without computing (the value is
        not parsed)."""
        return self._recall(name, load=False)[1]

    def recall(self, name: str) -> Any:
        """The remembered value if it is current, else None."""
        _, found, value = self._recall(name)
        return value if found else None

    def carry_over(self, name: str, since: str) -> bool:
        """Restamp a value remembered at generation ``since`` with the current one, for a
        writer whose writes since then left it valid; the value is neither parsed nor
        recomputed. False when nothing was remembered at ``since``."""
        key = f"remembered:{name}"
        saved, stamp = self.meta(key), _stamp(since)
        if self._lock_fd is None or not saved or not saved.startswith(stamp):
            return False
        self.set_meta({key: _stamp(str(self.generation())) + saved[len(stamp) :]})
        return True

    def _recall(self, name: str, *, load: bool = True) -> tuple[str, bool, Any]:
        """(current generation, found for it, value if ``load``)."""
        gen, saved = self.conn.execute(
            "SELECT (SELECT value FROM meta WHERE key = 'generation'), "
            "(SELECT value FROM meta WHERE key = ?)",
            (f"remembered:{name}",),
        ).fetchone()
        gen = gen or "0"
        if saved and saved.startswith(_stamp(gen)):  # stale values are never parsed
            if not load:
                return gen, True, None
            try:
                at, value = json.loads(saved)
            except (ValueError, TypeError):
                pass
            else:
                if at == gen:
                    return gen, True, value
        return gen, False, None

    def chunk_paths(self) -> dict[int, str]:
        """Chunk id -> path, for every chunk."""
        return dict(self.conn.execute("SELECT id, path FROM chunks"))

    def module_text(self, path: str) -> str:
        """The top-level code of a file (its module chunk), empty when it has none."""
        rows = self.conn.execute(
            "SELECT text FROM chunks WHERE path = ? AND kind = 'module' ORDER BY start_line",
            (path,),
        )
        return "\n".join(r[0] for r in rows)

    def chunk_count(self) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    # ------------------------------------------------------------ retrieval
    _CHUNK_COLS = (
        "id, path, language, qualname, name, kind, start_line, end_line, signature, "
        "docstring, refs, parent, text, content_hash, embed_hash"
    )

    @staticmethod
    def _chunk(row: tuple) -> Chunk:
        return Chunk(
            id=row[0],
            path=row[1],
            language=row[2],
            qualname=row[3],
            name=row[4],
            kind=row[5],
            start_line=row[6],
            end_line=row[7],
            signature=row[8],
            docstring=row[9],
            references=decode_refs(row[10]),
            parent=row[11],
            text=row[12],
            content_hash=row[13],
            embed_text="",
            embed_hash=row[14],
        )

    def load_chunks(self, ids: Sequence[int]) -> dict[int, Chunk]:
        """Full records (with source text) of the given chunks."""
        out: dict[int, Chunk] = {}
        for batch in _batches(list(ids), 500):
            marks = ",".join("?" * len(batch))
            for row in self.conn.execute(
                f"SELECT {self._CHUNK_COLS} FROM chunks WHERE id IN ({marks})", batch
            ):
                out[row[0]] = self._chunk(row)
        return out

    def chunks_in_files(self, paths: Sequence[str]) -> list[Chunk]:
        out: list[Chunk] = []
        for batch in _batches(list(paths), 500):
            marks = ",".join("?" * len(batch))
            rows = self.conn.execute(
                f"SELECT {self._CHUNK_COLS} FROM chunks WHERE path IN ({marks})", batch
            )
            out.extend(self._chunk(r) for r in rows)
        out.sort(key=lambda c: (c.path, c.start_line, -c.end_line, c.id))
        return out

    def outline(self) -> list[OutlineRow]:
        """(id, path, qualname, name, kind, start, end, parent, refs-json) of every chunk."""
        return list(
            self.conn.execute(
                "SELECT id, path, qualname, name, kind, start_line, end_line, parent, refs "
                "FROM chunks"
            )
        )

    def content_key(self) -> tuple[int, str, int]:
        """What identifies the chunks' content: the database file (a rebuilt index is a new
        file; its creation time tells a reused inode apart) and the generation, which every
        write to files, chunks or vectors bumps."""
        try:
            inode = (self.index_dir / DB_NAME).stat().st_ino
        except OSError:
            inode = -1
        return inode, self.meta("created", "") or "", self.generation()

    def snapshot_outline(
        self, key: tuple[int, str, int] | None = None
    ) -> tuple[tuple[int, str, int], OutlineColumns]:
        """(content key, the columns of ``outline()``), from ``outline.bin`` when that was
        written at this key; else read from the database and the snapshot written for the
        next process. ``key``: the ``content_key()`` the caller has just read.

        The key is read before the rows, so a write in between can only make the rows
        newer than their key: the next reader then finds the key outdated and reads again.
        A snapshot that is missing, of another key or format, or damaged is never trusted;
        one that cannot be written (a read-only index) costs nothing but the write.
        """
        if key is None:
            key = self.content_key()
        stamp = marshal.dumps((_OUTLINE_FORMAT, key))
        path = self.index_dir / OUTLINE_FILE
        with contextlib.suppress(Exception), open(path, "rb") as f:
            # marshal.load(f) would read a file in pieces of a few bytes: bytes at once
            if f.read(len(stamp) + 1) == stamp + b"\n":
                columns = marshal.loads(f.read())
                if _outline_shaped(columns):
                    return key, columns
        columns = outline_columns(self.outline())
        write_derived(path, stamp + b"\n" + marshal.dumps(columns))
        return key, columns

    def lexical_search(
        self, terms: Sequence[str], limit: int, weights: Sequence[float]
    ) -> list[tuple[int, float]]:
        """BM25 over the FTS5 columns (name, path, signature, doc, body); best first.

        Scores are returned positive (FTS5's bm25 is "lower is better").
        """
        w = ", ".join(str(float(x)) for x in weights)
        sql = (
            f"SELECT rowid, bm25(lexical, {w}) AS s FROM lexical WHERE lexical MATCH ? "
            "ORDER BY s LIMIT ?"
        )
        return [(int(key), s) for key, s in self._bm25(sql, terms, limit)]

    def phrase_chunks(
        self, words: Sequence[str], needle: str, limit: int = 500
    ) -> list[tuple[int, str, str, str]]:
        """(id, path, language, text) of chunks whose own body has ``words`` in a row and whose text
        contains ``needle`` exactly; the phrase narrows the search so no text is scanned."""
        if not words or any('"' in w for w in words):
            return []
        sql = (
            "SELECT c.id, c.path, c.language, c.text FROM lexical "
            "JOIN chunks c ON c.id = lexical.rowid "
            "WHERE lexical MATCH ? AND instr(c.text, ?) > 0 LIMIT ?"
        )
        expr = 'body : "' + " ".join(words) + '"'
        try:
            return self.conn.execute(sql, (expr, needle, limit)).fetchall()
        except sqlite3.OperationalError:  # odd terms
            return []

    def message_templates(self, words: Iterable[str], limit: int) -> list[tuple[int, str]]:
        """(chunk id, template) of the message templates whose anchor is one of ``words``
        (at most ``limit``); none from an index written before templates were kept."""
        keys = sorted(set(words))
        out: list[tuple[int, str]] = []
        try:
            for batch in _batches(keys, 500):
                marks = ",".join("?" * len(batch))
                out += self.conn.execute(
                    f"SELECT chunk, template FROM messages WHERE anchor IN ({marks}) LIMIT ?",
                    (*batch, limit - len(out)),
                ).fetchall()
                if len(out) >= limit:
                    break
        except sqlite3.OperationalError:  # no such table: a reader of an older index
            return []
        return out

    def _bm25(self, sql: str, terms: Sequence[str], limit: int) -> list[tuple[object, float]]:
        """Run an FTS5 ``MATCH ? ... LIMIT ?`` query for any of ``terms``; scores positive."""
        expr = _any_of(terms)
        if not expr:
            return []
        try:
            rows = self.conn.execute(sql, (expr, limit)).fetchall()
        except sqlite3.OperationalError:  # no such table (an older index), odd terms
            return []
        return [(r[0], -float(r[1])) for r in rows]

    # ---------------------------------------------------------------- history
    def history_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM history_paths").fetchone()[0])

    def history_docs(self, paths: Sequence[str]) -> dict[str, str]:
        return self._pairs_in(
            "SELECT p.path, h.text FROM history_paths p JOIN history h ON h.rowid = p.id "
            "WHERE p.path IN ({marks})",
            paths,
        )

    def put_history(self, docs: dict[str, str], *, state: dict[str, str], replace: bool) -> None:
        """Write file documents (all of them when ``replace``) and, in the same
        transaction, the meta entries saying what they are current with."""
        with self.conn:
            cur = self.conn.cursor()
            if replace:
                cur.execute("DELETE FROM history")
                cur.execute("DELETE FROM history_paths")
            else:
                self._delete_history(cur, list(docs))
            for path, text in sorted(docs.items()):
                cur.execute("INSERT INTO history_paths(path) VALUES (?)", (path,))
                cur.execute("INSERT INTO history(rowid, text) VALUES (?, ?)", (cur.lastrowid, text))
            cur.executemany(
                "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(state.items())
            )

    def _delete_history(self, cur: sqlite3.Cursor, paths: list[str]) -> None:
        for batch in _batches(paths, 500):
            marks = ",".join("?" * len(batch))
            ids = [
                r[0]
                for r in cur.execute(
                    f"SELECT id FROM history_paths WHERE path IN ({marks})", batch
                ).fetchall()
            ]
            if ids:
                id_marks = ",".join("?" * len(ids))
                cur.execute(f"DELETE FROM history WHERE rowid IN ({id_marks})", ids)
                cur.execute(f"DELETE FROM history_paths WHERE id IN ({id_marks})", ids)

    def history_search(self, terms: Sequence[str], limit: int) -> list[tuple[str, float]]:
        """BM25 of the files' history documents; best first, scores positive.

        Empty for an index written before history existed (until a writer opens it).
        """
        sql = (
            "SELECT p.path, bm25(history) AS s FROM history JOIN history_paths p "
            "ON p.id = history.rowid JOIN files f ON f.path = p.path "
            "WHERE history MATCH ? ORDER BY s LIMIT ?"
        )
        return [(str(path), s) for path, s in self._bm25(sql, terms, limit)]

    def history_files(self, term: str, limit: int) -> list[str]:
        """Indexed files whose history document holds ``term`` (a ``ref_1234``); at most
        ``limit``: more means the term says little about any one of them."""
        sql = (
            "SELECT p.path FROM history JOIN history_paths p ON p.id = history.rowid "
            "JOIN files f ON f.path = p.path WHERE history MATCH ? LIMIT ?"
        )
        if not term.replace("_", "").isalnum():
            return []
        try:
            rows = self.conn.execute(sql, (f'"{term}"', limit)).fetchall()
        except sqlite3.OperationalError:  # no history table (an older index)
            return []
        return [str(r[0]) for r in rows]

    def file_paths(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT path FROM files ORDER BY path")]

    def file_sizes(self, paths: Sequence[str]) -> dict[str, int]:
        return self._pairs_in("SELECT path, size FROM files WHERE path IN ({marks})", paths)

    def _pairs_in(self, sql: str, keys: Sequence[str]) -> dict:
        """Two-column ``sql`` whose ``{marks}`` is an IN list of ``keys``, run in batches."""
        out: dict = {}
        for batch in _batches(list(keys), 500):
            marks = ",".join("?" * len(batch))
            out.update(self.conn.execute(sql.format(marks=marks), batch).fetchall())
        return out


def _any_of(terms: Sequence[str]) -> str:
    """An FTS5 query matching any of ``terms`` (each quoted; "" when there are none)."""
    return " OR ".join(f'"{t}"' for t in dict.fromkeys(terms) if t and '"' not in t)


# SQLite result codes (primary) that say the file cannot be opened or written, not that
# its content is bad: SQLITE_PERM, BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
_ACCESS_ERRORS = frozenset({3, 5, 6, 8, 10, 13, 14})


def _connect(db_path: Path, *, create: bool) -> tuple[sqlite3.Connection, str | None]:
    """Connect and check the format; returns (conn, problem) where problem explains misuse."""
    fresh = not db_path.exists() or db_path.stat().st_size == 0
    if fresh and not create:
        return sqlite3.connect(":memory:"), "missing"
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(db_path, timeout=30.0)
        conn.execute("PRAGMA busy_timeout = 30000")
        if fresh:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.executescript(_SCHEMA)
            with conn:
                conn.execute(
                    "INSERT INTO meta(key, value) VALUES ('format_version', ?), "
                    "('generation', '0'), ('created', ?)",
                    (str(FORMAT_VERSION), str(int(time.time()))),
                )
            return conn, None
        conn.execute("PRAGMA synchronous = NORMAL")
        row = conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
    except sqlite3.OperationalError as exc:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        if (getattr(exc, "sqlite_errorcode", 14) & 0xFF) not in _ACCESS_ERRORS:  # no `meta`...
            return sqlite3.connect(":memory:"), f"corrupt ({exc})"
        # Cannot open or write (permissions, a read-only mount, no space): the file
        # may be perfectly good, so it is never treated as corrupt (and discarded).
        if not create and not fresh:
            ro = _connect_immutable(db_path)
            if ro is not None:
                return ro, None
        raise IndexReadOnlyError(
            f"cannot use the index at {db_path.parent}: {exc}",
            hint="check the permissions of the .agentctx directory and the free space",
        ) from None
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()
        return sqlite3.connect(":memory:"), f"corrupt ({exc})"
    if row is None or row[0] != str(FORMAT_VERSION):
        found = row[0] if row else "unknown"
        conn.close()
        return sqlite3.connect(":memory:"), (
            f"in format v{found}, this agentctx reads v{FORMAT_VERSION}"
        )
    return conn, None


def _connect_immutable(db_path: Path) -> sqlite3.Connection | None:
    """A read-only connection where SQLite cannot create its WAL index (a read-only
    checkout): nothing can write the index there, so reading it as immutable is safe."""
    from urllib.parse import quote

    try:
        conn = sqlite3.connect(f"file:{quote(str(db_path))}?mode=ro&immutable=1", uri=True)
        row = conn.execute("SELECT value FROM meta WHERE key = 'format_version'").fetchone()
    except sqlite3.DatabaseError:
        return None
    if row is None or row[0] != str(FORMAT_VERSION):
        conn.close()
        return None
    return conn


def discard_index(db_path: Path) -> None:
    """Delete the database (and its WAL files) and the derived FAISS file."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(str(db_path) + suffix)
    for derived in (FAISS_FILE, OUTLINE_FILE, TREE_FILE):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(db_path.parent / derived)


def _stamp(generation: str) -> str:
    """How ``json.dumps([generation, value])`` starts: ``["12", ``."""
    return json.dumps([generation])[:-1] + ", "


def decode_refs(stored: str) -> tuple[str, ...]:
    """The names a chunk refers to, from the JSON list ``apply`` stores.

    ``json.dumps`` writes ``["a", "b"]``; a name that needs escaping (a quote, a
    backslash, anything non-ASCII) brings a backslash, so without one the list splits
    exactly on ``", "``. A third of a query's outline load (6,400 chunks) was
    ``json.loads``.
    """
    if stored == "[]":
        return ()
    if not _plain(stored):
        return tuple(json.loads(stored))
    return tuple(stored[2:-2].split('", "'))


def _acquire_lock(path: Path, timeout: float) -> int:
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise IndexReadOnlyError(
            f"cannot open the index lock {path}: {exc.strerror}",
            hint="check the permissions of the .agentctx directory",
        ) from None
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if time.monotonic() >= deadline:
                holder = _lock_holder(fd)
                os.close(fd)
                raise _locked_error(holder, timeout, path) from None
            time.sleep(0.05)
            continue
        # Who holds it and since when, for the message another writer gets.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n{time.time():.3f}\n".encode(), 0)
        return fd


def _lock_holder(fd: int) -> tuple[int, float | None] | None:
    """(pid, start time) the holder wrote into the lock file, if readable."""
    try:
        lines = os.pread(fd, 256, 0).decode("ascii").split()
        pid = int(lines[0])
        started = float(lines[1]) if len(lines) > 1 else None
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return pid, started


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    return True


def _locked_error(
    holder: tuple[int, float | None] | None, timeout: float, path: Path
) -> LockedError:
    """The message names the holder: its pid, how long it has held the lock, and
    whether it is still alive (a dead pid means a child it forked kept the lock)."""
    waited = f"waited {timeout:g}s"
    if holder is None:
        return LockedError(
            "another agentctx process is updating this index",
            hint=f"{waited}; let it finish or pass a longer --lock-timeout",
        )
    pid, started = holder
    held = f", for {_age(time.time() - started)}" if started is not None else ""
    if not _pid_alive(pid):
        return LockedError(
            f"another process is updating this index: pid {pid} took the lock{held} and has "
            "exited, but a process it started still holds it",
            hint=f"{waited}; `fuser {path}` names it; the lock is released when it exits",
        )
    return LockedError(
        f"another agentctx process (pid {pid}{held}) is updating this index",
        hint=f"{waited}; let it finish or pass a longer --lock-timeout",
    )


def _age(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def _release_lock(fd: int | None) -> None:
    if fd is None:
        return
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def write_derived(path: Path, data: bytes) -> None:
    """Write a derived file of the index atomically (temp file + ``os.replace``), or not at
    all: a read-only index or a full disk costs the next reader a recomputation only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _write_readme(index_dir: Path) -> None:
    readme = index_dir / "README"
    if readme.exists():
        return
    text = (
        "This directory is agentctx's index of the enclosing repository.\n"
        "It is derived data: delete it at any time; `agentctx index` rebuilds it.\n"
    )
    tmp = readme.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, readme)
    gitignore = index_dir / ".gitignore"
    if not gitignore.exists():
        tmp = index_dir / ".gitignore.tmp"
        tmp.write_text("*\n")
        os.replace(tmp, gitignore)


def _batches(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _plain(stored: str) -> bool:
    """Whether a stored list holds each name as ``"name"`` between real quotes (no escapes):
    then it splits exactly on ``", "`` (``decode_refs``), and a search of the text finds
    exactly the chunks that refer to a name (``outline_columns``)."""
    return stored == "[]" or (stored.startswith('["') and "\\" not in stored)


def _outline_shaped(columns: object) -> bool:
    """Whether a snapshot's content has the shape ``outline_columns`` gives (a damaged or
    foreign file that still unmarshals is not trusted)."""
    if not isinstance(columns, tuple) or len(columns) != 12:
        return False
    n = len(columns[0])
    return (
        all(isinstance(c, list) for i, c in enumerate(columns) if i != 9)
        and isinstance(columns[9], str)
        and all(len(columns[i]) == n for i in (2, 3, 4, 5, 6, 7, 8))
        and len(columns[10]) == n + 1
        and (not n or columns[10][-1] == len(columns[9]))
    )


def outline_columns(rows: Iterable[Sequence[object]]) -> OutlineColumns:
    """The columns of (id, path, qualname, name, kind, start, end, parent, refs) rows."""
    ids: list[int] = []
    table: dict[str, int] = {}
    codes: list[int] = []
    quals: list[str] = []
    names: list[str] = []
    kinds: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    parents: list[str | None] = []
    refs: list[str] = []
    offsets = [0]
    odd: list[int] = []
    kind_of: dict[str, str] = {}  # one string per kind: the snapshot writes it once
    at = 0
    for row, (cid, path, qual, name, kind, start, end, parent, stored) in enumerate(rows):
        ids.append(cid)  # type: ignore[arg-type]
        codes.append(table.setdefault(path, len(table)))  # type: ignore[arg-type]
        quals.append(qual)  # type: ignore[arg-type]
        names.append(name)  # type: ignore[arg-type]
        kinds.append(kind_of.setdefault(kind, kind))  # type: ignore[arg-type]
        starts.append(start)  # type: ignore[arg-type]
        ends.append(end)  # type: ignore[arg-type]
        parents.append(parent)  # type: ignore[arg-type]
        text = stored if isinstance(stored, str) and stored else "[]"
        if not _plain(text) or "\n" in text:
            odd.append(row)
        refs.append(text)
        at += len(text) + 1
        offsets.append(at)
    return (
        ids,
        list(table),
        codes,
        quals,
        names,
        kinds,
        starts,
        ends,
        parents,
        "\n".join(refs) + ("\n" if refs else ""),
        offsets,
        odd,
    )
