"""A model-free embedder: hashed bag of identifier terms, L2-normalized.

Deterministic and instant. Useful where torch is unavailable and for fast unit
tests; retrieval quality is far below the real model, which remains the default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..textutil import terms

if TYPE_CHECKING:
    import numpy as np


class HashingEmbedder:
    model_id = "hashing-v1"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in terms(text):
                digest = hashlib.blake2b(term.encode(), digest_size=8).digest()
                value = int.from_bytes(digest, "big")
                out[row, value % self.dim] += 1.0 if (value >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
        return out
