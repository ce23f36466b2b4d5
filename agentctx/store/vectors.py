"""The FAISS side of the index: the only module that imports faiss.

``IndexIDMap2(IndexFlatIP)`` over L2-normalized vectors, so inner product is cosine
similarity and single chunks can be removed and re-added by their 63-bit id. The
file is derived from the vector blobs in ``index.db``: it is written atomically and
stamped with the database generation it mirrors; a stale, missing or unreadable
file is rebuilt from the blobs (milliseconds for tens of thousands of vectors).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..textutil import is_utf8
from .db import FAISS_FILE, IndexStore

FAISS_NAME = FAISS_FILE


def _faiss() -> Any:
    import faiss

    return faiss


class VectorIndex:
    """An in-memory FAISS index plus what it mirrors."""

    def __init__(self, index: Any, dim: int, *, mapped: bool = False) -> None:
        self.index = index
        self.dim = dim
        self.mapped = mapped  # the file's vectors mapped, not read: never changed (see load)

    @classmethod
    def empty(cls, dim: int) -> VectorIndex:
        faiss = _faiss()
        return cls(faiss.IndexIDMap2(faiss.IndexFlatIP(dim)), dim)

    @classmethod
    def from_store(cls, store: IndexStore, dim: int) -> VectorIndex:
        """Rebuild from the blobs in the database (the source of truth)."""
        vi = cls.empty(dim)
        ids: list[int] = []
        rows: list[bytes] = []
        for cid, blob in store.vectors():
            if len(blob) == 4 * dim:
                ids.append(cid)
                rows.append(blob)
            if len(ids) >= 8192:
                vi._add_blobs(ids, rows)
                ids, rows = [], []
        vi._add_blobs(ids, rows)
        return vi

    @classmethod
    def load(cls, store: IndexStore, dim: int) -> tuple[VectorIndex, bool]:
        """The saved file if it mirrors the database, else a rebuild. Returns (index, rebuilt).

        For queries: the file's vectors are memory-mapped, not read (a query touches each
        once; reading them was most of a cold query's FAISS time, 45 of 52 ms at 44,000
        vectors), so the index is read-only. Writers rewrite the file with
        ``os.replace``, which leaves a mapped old file intact until it is let go. The
        file is read by ``MappedFlat`` without importing faiss (~45 ms of a cold query);
        FAISS reads what that does not recognise.
        """
        path = store.index_dir / FAISS_NAME
        saved = store.meta("faiss_generation")
        if saved is not None and saved == str(store.generation()) and path.is_file():
            flat = MappedFlat.open(path, dim)
            if flat is not None and flat.ntotal == store.vector_count():
                return cls(flat, dim, mapped=True), False
            faiss = _faiss()
            flag = getattr(faiss, "IO_FLAG_MMAP_IFC", None)
            try:
                if is_utf8(str(path)):
                    index = faiss.read_index(str(path), *(() if flag is None else (flag,)))
                else:  # (see save)
                    with open(path, "rb") as f:
                        reader = faiss.PyCallbackIOReader(f.read)
                        index = faiss.read_index(reader)
                        del reader
                    flag = None
                if index.d == dim and index.ntotal == store.vector_count():
                    return cls(index, dim, mapped=flag is not None), False
            except Exception:
                pass
        return cls.from_store(store, dim), True

    def _add_blobs(self, ids: list[int], blobs: list[bytes]) -> None:
        self._writable()
        if not ids:
            return
        matrix = np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(ids), self.dim)
        self.index.add_with_ids(matrix, np.asarray(ids, dtype=np.int64))

    def _writable(self) -> None:
        # FAISS aborts the process (a C++ assertion) when a mapped index is resized.
        if self.mapped:
            raise RuntimeError("a memory-mapped vector index is read-only")

    def remove(self, ids: Iterable[int]) -> None:
        self._writable()
        arr = np.fromiter(ids, dtype=np.int64)
        if arr.size:
            self.index.remove_ids(arr)

    def add(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        self._writable()
        if len(ids):
            self.index.add_with_ids(
                np.ascontiguousarray(vectors, dtype=np.float32), np.asarray(ids, dtype=np.int64)
            )

    def matrix(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors): every stored vector, the matrix a read-only view of FAISS's own
        storage (no copy), valid while this index is unchanged."""
        n = self.ntotal
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.dim), dtype=np.float32)
        if isinstance(self.index, MappedFlat):
            return self.index.ids.astype(np.int64), self.index.vectors
        faiss = _faiss()
        flat = faiss.downcast_index(self.index.index)
        vectors = faiss.rev_swig_ptr(flat.get_xb(), n * self.dim).reshape(n, self.dim)
        vectors.flags.writeable = False
        return faiss.vector_to_array(self.index.id_map).astype(np.int64), vectors

    def cosines(self, query: np.ndarray) -> np.ndarray:
        """Every stored vector's cosine with one normalized ``query``, in the row order of
        ``matrix()``. A mapped index reuses the product its last search made for it."""
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(self.dim)
        if isinstance(self.index, MappedFlat):
            return self.index.product(q)
        return self.matrix()[1] @ q

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k (id, cosine) for one normalized query vector."""
        if self.ntotal == 0 or k <= 0:
            return []
        q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, self.dim)
        scores, ids = self.index.search(q, min(k, self.ntotal))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i != -1]

    def save(self, store: IndexStore) -> None:
        """Write atomically, then record which database generation the file mirrors."""
        if isinstance(self.index, MappedFlat):
            raise RuntimeError("a memory-mapped vector index is read-only")
        path = store.index_dir / FAISS_NAME
        tmp = path.with_name(f".{FAISS_NAME}.{os.getpid()}.tmp")
        try:
            faiss = _faiss()
            if is_utf8(str(tmp)):
                faiss.write_index(self.index, str(tmp))
            else:  # faiss takes a path as UTF-8 only: a directory named in another encoding
                with open(tmp, "wb") as f:
                    writer = faiss.PyCallbackIOWriter(f.write)
                    faiss.write_index(self.index, writer)
                    del writer  # flushes its buffer into f
            os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        store.set_meta({"faiss_generation": store.generation()})


class MappedFlat:
    """A saved ``IndexIDMap2(IndexFlatIP)`` answered with numpy, its file mapped, no faiss.

    A flat index is a matrix of vectors and a list of ids, and FAISS writes both as plain
    little-endian arrays: ``IxM2`` and its header, ``IxFI`` and its header, the vectors
    (their size in 4-byte words), the ids (their count). ``open`` accepts exactly that
    layout (inner product, the expected dimension, sizes that add up to the file's);
    anything else is left to FAISS. Search is one matrix-vector product and a partial
    sort; equal scores come last-stored first, as FAISS orders a full result (within a
    float32 rounding of FAISS's own products: near-ties may order differently).
    """

    _HEADER = struct.Struct("<iqqq?i")  # d, ntotal, two unused, is_trained, metric (0: IP)

    def __init__(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self.ids = ids
        self.vectors = vectors
        self.ntotal = len(ids)
        self._last: tuple[bytes, np.ndarray] | None = None  # the last query and its product

    def product(self, query: np.ndarray) -> np.ndarray:
        """``vectors @ query`` (float32, one row per vector), kept for the same query: a
        search and the centroid scores of one query read the matrix once."""
        key = query.tobytes()
        if self._last is None or self._last[0] != key:
            self._last = (key, self.vectors @ query)
        return self._last[1]

    @classmethod
    def open(cls, path: Path, dim: int) -> MappedFlat | None:
        try:
            size = path.stat().st_size
            with open(path, "rb") as f:
                head = f.read(4 + cls._HEADER.size + 4 + cls._HEADER.size + 8)
            at = 0
            counts: list[int] = []
            for fourcc in (b"IxM2", b"IxFI"):
                if head[at : at + 4] != fourcc:
                    return None
                d, ntotal, _, _, trained, metric = cls._HEADER.unpack_from(head, at + 4)
                if d != dim or metric != 0 or not trained:
                    return None
                counts.append(ntotal)
                at += 4 + cls._HEADER.size
            n = counts[0]
            (words,) = struct.unpack_from("<Q", head, at)
            start = at + 8
            if counts[1] != n or words != n * dim or size != start + 4 * words + 8 + 8 * n:
                return None
            data = np.memmap(path, dtype=np.uint8, mode="r")
            (count,) = struct.unpack_from("<Q", data, start + 4 * words)
            if count != n:
                return None
            vectors = data[start : start + 4 * words].view("<f4").reshape(n, dim)
            ids = data[start + 4 * words + 8 :].view("<i8")
        except (OSError, ValueError, struct.error):
            return None
        return cls(ids.view(np.ndarray), vectors.view(np.ndarray))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """FAISS's answer shape: (scores, ids), each (1, k), best first."""
        scores = self.product(np.ascontiguousarray(queries[0], dtype=np.float32))
        if k < len(scores):
            top = np.argpartition(-scores, k - 1)[:k]
            top = top[np.lexsort((-top, -scores[top]))]
        else:
            top = np.lexsort((-np.arange(len(scores)), -scores))
        return scores[top][None, :], self.ids[top][None, :]
