"""Windows of long functions: vectors for the body a chunk's own vector never reads.

A chunk is embedded as its header, signature, docstring and the head of its body, capped
at ~256 MiniLM tokens (``chunk.embed_text_for``). Past that cap, a long function's lines
(the branch that handles a case, the message it raises) are in no vector: a report about
them can only find the function by its name or by BM25. Each function or method of code
whose body goes on past its vector's text gets up to ``MAX_WINDOWS`` more vectors: its
header and signature, then the next stretch of its body. A chunk's dense score is the
best of its own cosine and its windows' ("MaxP": a long document scores as its best
passage, Dai & Callan, SIGIR 2019).

Windows are derived data, like ``outline.bin``: ``windows.bin`` beside the index holds
each window's chunk id, embed hash and vector, stamped with the index's content key.
A query uses it only when the stamp is the index's current key; otherwise it ranks by
the chunks' own vectors, as an index without windows does. Writers rebuild it after every
change, reusing the vectors of windows whose text is unchanged (then the embedding
cache's), so only new windows are embedded.
"""

from __future__ import annotations

import marshal
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .categories import file_category
from .chunk import body_lines, body_share, embed_hash, embed_pieces
from .store.db import write_derived

if TYPE_CHECKING:
    import numpy as np

    from .store import IndexStore

WINDOWS_FILE = "windows.bin"
MAX_WINDOWS = 3  # per function: a 400-line function's first ~1,000 lines of body at most
WINDOW_KINDS = ("function", "method")
MIN_WINDOW_BODY = 40  # characters of new body: less is the header's vector again
_FORMAT = 1
_MAGIC = b"agentctx-windows\n"


def window_texts(
    path: str,
    qualname: str,
    kind: str,
    signature: str,
    docstring: str,
    text: str,
    max_chars: int = 1200,
) -> list[str]:
    """The texts of ``text``'s windows: none unless it is a function or method of code
    whose body goes on past what ``embed_text_for`` puts in its vector."""
    if kind not in WINDOW_KINDS or file_category(path) != "code":
        return []
    pieces = embed_pieces(path, qualname, kind, signature, docstring)
    body = "\n".join(body_lines(signature, docstring, text))
    rest = body[body_share(pieces, max_chars) :]  # what the chunk's own text stops short of
    head = "\n".join(pieces[:2]) if signature else pieces[0]  # header (and signature)
    room = max_chars - len(head) - 1
    out: list[str] = []
    while len(out) < MAX_WINDOWS and room > 200 and len(rest.strip()) >= MIN_WINDOW_BODY:
        out.append(f"{head}\n{rest[:room].strip()}")
        rest = rest[room:]
    return out


class Window(NamedTuple):
    chunk: int
    hash: str
    text: str


Source = tuple[str, str]  # a chunk's (embed hash, content hash): what its windows are cut from


def plan(
    store: IndexStore, old: Windows | None
) -> tuple[dict[int, Source], list[tuple[int, str, np.ndarray]], list[Window]]:
    """What the index's chunks call for now: every candidate chunk's source, the rows of
    ``old`` still valid (their chunk unchanged: not cut again), and the windows of the
    chunks that are new or changed since (texts read for those only)."""
    sources = {cid: (eh, ch) for cid, eh, ch in store.window_candidates(WINDOW_KINDS)}
    kept: list[tuple[int, str, np.ndarray]] = []
    done: set[int] = set()
    if old is not None:
        done = {cid for cid, src in old.sources.items() if sources.get(cid) == src}
        # (a chunk whose windows were waiting is in no source: cut again, never kept)
        kept = [
            (cid, old.hashes[i], old.vectors[i])
            for i, cid in enumerate(old.ids.tolist())
            if cid in done
        ]
    fresh = [
        Window(cid, embed_hash(t), t)
        for cid, path, qualname, kind, signature, docstring, text in store.window_sources(
            sorted(set(sources) - done)
        )
        for t in window_texts(path, qualname, kind, signature, docstring, text)
    ]
    return sources, kept, fresh


class Stamp(NamedTuple):
    """What a windows file was made for: the index's content key, and how many of the
    windows it called for had no vector then (left for a run allowed to embed them)."""

    key: tuple[object, ...]
    missing: int
    total: int = 0  # windows called for (with a vector or missing)


class Windows(NamedTuple):
    """Windows as read from ``windows.bin``: ``ids[i]`` is the chunk of ``vectors[i]``."""

    stamp: Stamp
    ids: np.ndarray  # int64
    hashes: list[str]
    vectors: np.ndarray  # float32, (n, dim)
    # the chunks whose windows are all here (none, for some), as they were cut from
    sources: dict[int, Source]

    def by_hash(self) -> dict[str, np.ndarray]:
        return dict(zip(self.hashes, self.vectors, strict=True))


# The file: magic, then two length-prefixed marshal blobs, (format, key, missing, n, dim,
# total) and (the n embed hashes, the sources), then n chunk ids (int64) and n vectors
# (float32).


def _blob(data: bytes, pos: int) -> tuple[object, int]:
    size = int.from_bytes(data[pos : pos + 8], "little")
    if size <= 0 or pos + 8 + size > len(data):
        raise ValueError("truncated")
    return marshal.loads(data[pos + 8 : pos + 8 + size]), pos + 8 + size


def _head(data: bytes) -> tuple[Stamp, int, int, int]:
    """(stamp, count, dimension, where the hashes start); ValueError if not ours."""
    if not data.startswith(_MAGIC):
        raise ValueError("not a windows file")
    head, pos = _blob(data, len(_MAGIC))
    fmt, key, missing, n, dim, total = head  # type: ignore[misc]
    if fmt != _FORMAT:
        raise ValueError("another format")
    return Stamp(tuple(key), int(missing), int(total)), int(n), int(dim), pos


def read_stamp(store: IndexStore) -> Stamp | None:
    """The stamp of the windows file (its first few hundred bytes), or None. No numpy."""
    try:
        with open(store.index_dir / WINDOWS_FILE, "rb") as f:
            data = f.read(4096)
        return _head(data)[0]
    except (OSError, ValueError, TypeError, EOFError):
        return None


def read(store: IndexStore, dim: int, *, vectors_only: bool = False) -> Windows | None:
    """The windows file as it is (whatever its stamp), or None: missing, of another format
    or dimension, or damaged. ``vectors_only``: without the hashes and sources (a query
    needs the chunk ids and vectors alone)."""
    import numpy as np

    try:
        data = (store.index_dir / WINDOWS_FILE).read_bytes()
        stamp, n, d, pos = _head(data)
        size = int.from_bytes(data[pos : pos + 8], "little")
        hashes: list[str] = []
        sources: list[tuple[int, str, str]] = []
        if not vectors_only:
            (hashes, sources), _ = _blob(data, pos)  # type: ignore[misc]
            if not isinstance(hashes, list) or len(hashes) != n:
                return None
        pos += 8 + size
        if d != dim or pos + 8 * n + 4 * n * dim != len(data):
            return None
        ids = np.frombuffer(data, dtype=np.int64, count=n, offset=pos)
        matrix = np.frombuffer(data, dtype=np.float32, count=n * dim, offset=pos + 8 * n)
        return Windows(
            stamp, ids, hashes, matrix.reshape(n, dim), {c: (e, h) for c, e, h in sources}
        )
    except (OSError, ValueError, TypeError, EOFError):
        return None


def write(
    store: IndexStore,
    stamp: Stamp,
    rows: Sequence[tuple[int, str, np.ndarray]],
    dim: int,
    sources: Mapping[int, Source] | None = None,
) -> None:
    """Write ``rows`` (chunk id, embed hash, vector) under ``stamp``, atomically;
    ``sources``: the chunks whose windows ``rows`` hold in full, as they were cut from."""
    import numpy as np

    head = marshal.dumps((_FORMAT, tuple(stamp.key), stamp.missing, len(rows), dim, stamp.total))
    srcs = [(c, e, h) for c, (e, h) in sorted((sources or {}).items())]
    hashes = marshal.dumps(([h for _, h, _ in rows], srcs))
    ids = np.asarray([cid for cid, _, _ in rows], dtype=np.int64)
    vectors = (
        np.stack([np.asarray(v, dtype=np.float32).reshape(dim) for _, _, v in rows])
        if rows
        else np.zeros((0, dim), dtype=np.float32)
    )
    data = b"".join(
        (
            _MAGIC,
            len(head).to_bytes(8, "little"),
            head,
            len(hashes).to_bytes(8, "little"),
            hashes,
            ids.tobytes(),
            vectors.tobytes(),
        )
    )
    write_derived(store.index_dir / WINDOWS_FILE, data)


def key_of(store: IndexStore) -> tuple[object, ...]:
    """What windows are made for: the index's content and the model of its vectors."""
    return (*store.content_key(), store.meta("embedder") or "")


_last: tuple[tuple[str, tuple[object, ...]], Windows] | None = None


def current(store: IndexStore, dim: int) -> Windows | None:
    """The windows of the index as it is now, or None when the file is missing or stale
    (kept in this process per index and key)."""
    global _last
    key = key_of(store)
    where = str(store.index_dir)
    if _last is not None and _last[0] == (where, key):
        return _last[1]
    found = read(store, dim, vectors_only=True)
    if found is None or found.stamp.key != key:
        return None
    _last = ((where, key), found)
    return found


def best_of(
    heads: Sequence[tuple[int, float]], windows: Windows, query: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """The dense list with each chunk at the best of its own cosine and its windows'.

    ``heads`` are the chunks' top ``k`` by their own vectors. Exact for the top ``k``: a
    chunk outside ``heads`` scores at most the ``k``-th head's cosine by its own vector,
    so only a window can bring it in, and then at that window's cosine. Ties keep the
    heads' order (``heads`` itself when no window scores above its chunk)."""
    import numpy as np

    if not len(windows.ids):
        return list(heads)
    scores = windows.vectors @ np.asarray(query, dtype=np.float32).reshape(-1)
    floor = heads[-1][1] if len(heads) >= k else -np.inf
    best = dict(heads)
    raised = False
    for i in np.flatnonzero(scores > floor):
        cid, s = int(windows.ids[i]), float(scores[i])
        if s > best.get(cid, -np.inf):
            best[cid] = s
            raised = True
    if not raised:
        return list(heads)
    return sorted(best.items(), key=lambda x: -x[1])[:k]  # stable: heads first among ties
