"""User-level embedding cache keyed by (model id, hash of the embedded text).

Lives in the user cache dir, shared across repositories and branches: switching a
branch back and forth re-embeds nothing. Backed by diskcache (SQLite, safe across
processes). A broken cache is never fatal: it degrades to a miss.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


class EmbeddingCache:
    """``get_many``/``put_many`` over float32 vectors; counts hits and misses."""

    def __init__(self, directory: Path, model_id: str, dim: int) -> None:
        self.model_id = model_id
        self.dim = dim
        self.hits = 0
        self.misses = 0
        self._cache: Any = None
        try:
            import diskcache

            directory.mkdir(parents=True, exist_ok=True)
            self._cache = diskcache.Cache(str(directory / "embeddings"), size_limit=2**30)
        except Exception:
            self._cache = None

    def _key(self, embed_hash: str) -> str:
        return f"{self.model_id}:{embed_hash}"

    def get_many(self, hashes: Iterable[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for h in hashes:
            blob = None
            if self._cache is not None:
                try:
                    blob = self._cache.get(self._key(h))
                except Exception:
                    blob = None
            if isinstance(blob, bytes) and len(blob) == 4 * self.dim:
                found[h] = np.frombuffer(blob, dtype=np.float32)
                self.hits += 1
            else:
                self.misses += 1
        return found

    def put_many(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        if self._cache is None:
            return
        try:
            with self._cache.transact():
                for h, vec in items:
                    self._cache.set(self._key(h), np.asarray(vec, dtype=np.float32).tobytes())
        except Exception:
            return

    def close(self) -> None:
        if self._cache is not None:
            with contextlib.suppress(Exception):
                self._cache.close()
