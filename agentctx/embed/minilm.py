"""The default ``minilm`` embedder: one model, two engines, chosen by the amount of work.

Both engines compute all-MiniLM-L6-v2 to within 1e-6 (same ``model_id``, same
vectors). The numpy engine starts in ~0.3 s without torch; torch costs ~5 s to
import and load but embeds bulk work at least as fast on two idle cores. So queries
and small incremental updates never pay for torch, and a first index does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .sentence import SentenceTransformerEmbedder

if TYPE_CHECKING:
    import numpy as np

    from .numpy_minilm import NumpyMiniLMEmbedder

SMALL_WORK = 64  # texts up to which the torch-free engine is used


class MiniLMEmbedder:
    model_id = SentenceTransformerEmbedder.model_id
    dim = SentenceTransformerEmbedder.dim
    max_tokens = SentenceTransformerEmbedder.max_tokens

    def __init__(self, cache_dir: Path | None = None) -> None:
        self._cache_dir = cache_dir  # the numpy engine's layout file goes there
        # Both engines are made on first use: a run that embeds nothing (a no-op `index`,
        # a hook with nothing to do) imports neither numpy (~90 ms) nor torch.
        self._numpy: NumpyMiniLMEmbedder | None = None
        self._torch: SentenceTransformerEmbedder | None = None

    def prepare(self, total: int) -> None:
        """Load the engine suited to ``total`` texts (before a progress bar starts)."""
        if total > SMALL_WORK:
            self._torch_engine().load()
        elif self._torch is None:  # once torch is loaded, embed_batch runs on it
            self._numpy_engine().load()

    def _numpy_engine(self) -> NumpyMiniLMEmbedder:
        if self._numpy is None:
            from .numpy_minilm import NumpyMiniLMEmbedder

            self._numpy = NumpyMiniLMEmbedder(cache_dir=self._cache_dir)
        return self._numpy

    def _torch_engine(self) -> SentenceTransformerEmbedder:
        if self._torch is None:
            self._torch = SentenceTransformerEmbedder()
        return self._torch

    @property
    def engine(self) -> str:
        return "torch" if self._torch is not None else "numpy"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        if self._torch is not None:
            return self._torch.embed_batch(texts)
        return self._numpy_engine().embed_batch(texts)
