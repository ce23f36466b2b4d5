"""Embedding backends behind one small protocol, registered like plugins.

``get_embedder(name)`` returns a backend *without loading it*: the heavy model (torch,
sentence-transformers) is loaded on the first ``embed_batch`` call, so runs that embed
nothing never pay for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """What the pipeline needs from an embedding backend."""

    model_id: str  # stable id of model + text recipe: keys the cache and the stored vectors
    dim: int

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """float32 array (len(texts), dim), rows L2-normalized."""
        ...


# A factory gets the cache directory the settings name (None: the default), for whatever
# files it keeps there.
Factory = Callable[[Path | None], Embedder]
_REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Register a backend factory (built-ins use this too; a plugin would)."""
    _REGISTRY[name] = factory


def available() -> list[str]:
    return sorted(_REGISTRY)


def get_embedder(name: str, cache_dir: Path | None = None) -> Embedder:
    """The backend ``name``, not loaded yet; files it keeps go under ``cache_dir`` (the
    settings' ``resolved_cache_dir``; None: the default cache dir)."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ConfigError(
            f"unknown embedder {name!r}", hint=f"choose one of: {', '.join(available())}"
        ) from None
    return factory(cache_dir)


def _minilm(cache_dir: Path | None) -> Embedder:
    from .minilm import MiniLMEmbedder

    return MiniLMEmbedder(cache_dir)


def _torch(cache_dir: Path | None) -> Embedder:
    from .sentence import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


def _numpy(cache_dir: Path | None) -> Embedder:
    from .numpy_minilm import NumpyMiniLMEmbedder

    return NumpyMiniLMEmbedder(cache_dir=cache_dir)


def _hashing(cache_dir: Path | None) -> Embedder:
    from .hashing import HashingEmbedder

    return HashingEmbedder()


register("minilm", _minilm)  # numpy for small work, torch for bulk: same vectors
register("minilm-torch", _torch)
register("minilm-numpy", _numpy)
register("hash", _hashing)
