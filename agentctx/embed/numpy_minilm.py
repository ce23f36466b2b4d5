"""all-MiniLM-L6-v2 in pure numpy: the same vectors as the sentence-transformers backend, no torch.

A cold ``pack`` embeds one query; importing torch and sentence-transformers to do that
costs seconds, while this forward pass (BERT encoder, mean pooling over the attention
mask, L2 normalization, exactly what sentence-transformers runs for this model) needs
only numpy, a WordPiece tokenizer (``wordpiece.py`` for a query, the Rust ``tokenizers``
library for an index) and the model file, mapped in memory. Both backends share
``model_id``, so vectors stored by one are valid for the other.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cachefiles import mark_used, prune_siblings
from ..config import default_cache_dir
from ..errors import ModelError
from .sentence import MODEL_PACKAGE, SentenceTransformerEmbedder, model_dir
from .wordpiece import WordPiece

# Tokens per internal forward pass (rows x padded length). Texts are sorted by length and
# cut into groups under this budget: short queries share one pass, long chunks take two
# rows each. Small passes keep activations in cache: on 1,000-char code chunks 512 gave
# 13.3 chunks/s, 2048 gave 11.8 and 8192 gave 11.1 (2-core EPYC, one BLAS thread).
_TOKENS_PER_PASS = 512
_PYTHON_TEXTS = 8  # at most this many texts (a query) are tokenized in Python (see _Tokenizer)
_PAD_LIMIT = 1.5  # a padded pass of more than this times its texts' tokens is packed instead
_MASKED = np.float32(-1e9)  # attention bias for padding: exp() of it is exactly 0
# Attention runs over blocks of query rows so that each small matrix product has at most this
# many multiply-adds. OpenBLAS runs products below ~2 * 262,144 on the calling thread; above
# it, its worker threads wake for every one of the rows*heads tiny products, and on a busy
# 2-core machine that made attention 20-200x slower. Smaller blocks also keep scores in cache.
_ATTENTION_BLOCK = 262_144
_GELU_BLOCK = 65536  # elements (256 KiB of float32) per pass of the elementwise GELU

# Abramowitz & Stegun 7.1.26: erf to 1.5e-7 absolute, far below float32 noise here.
# numpy has no erf, and BERT's "gelu" is the exact erf form (the tanh form is off by 1e-3).
_ERF_P = np.float32(0.3275911)
_ERF_A = tuple(
    np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (hidden, 3*hidden), query part pre-scaled by 1/sqrt(head_dim)
    qkv_b: np.ndarray
    attn_out_w: np.ndarray  # (hidden, hidden)
    attn_out_b: np.ndarray
    attn_norm: tuple[np.ndarray, np.ndarray]
    ff_in_w: np.ndarray  # (hidden, intermediate)
    ff_in_b: np.ndarray
    ff_out_w: np.ndarray  # (intermediate, hidden)
    ff_out_b: np.ndarray
    ff_norm: tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class _Model:
    tokenizer: _Tokenizer
    word: np.ndarray  # (vocab, hidden)
    position: np.ndarray  # (max_positions, hidden)
    token_type: np.ndarray  # (hidden,): type 0, the only one a single text uses
    embed_norm: tuple[np.ndarray, np.ndarray]
    layers: tuple[_Layer, ...]
    heads: int
    eps: np.float32


_MODELS: dict[tuple[Path, int], _Model] = {}  # one load per process, directory and length
_LOCK = threading.Lock()


class _Tokenizer:
    """Token ids for the engine: the Python WordPiece (``wordpiece.py``) for a few texts
    it covers, while the Rust tokenizer is not loaded; the Rust tokenizer otherwise,
    loaded on first need. A cold query thus never imports ``tokenizers`` (~65 ms with
    the JSON it parses); an index loads it once for thousands of texts."""

    def __init__(self, path: Path, max_tokens: int, wordpiece: WordPiece | None) -> None:
        self._path = path
        self._max_tokens = max_tokens
        self._wordpiece = wordpiece
        self._rust: Any = None
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str]) -> list[list[int]]:
        wp = self._wordpiece
        if (
            wp is not None
            and self._rust is None
            and len(texts) <= _PYTHON_TEXTS
            and all(wp.covers(t) for t in texts)
        ):
            return [wp.encode(t, self._max_tokens) for t in texts]
        rust = self.rust()
        # One text at a time: as fast as encode_batch here, and it never starts the
        # tokenizer's thread pool (which warns on stderr after a fork).
        return [rust.encode(t).ids for t in texts]

    def rust(self) -> Any:
        """The Rust tokenizer, truncating to ``max_tokens``, no padding (loaded once)."""
        with self._lock:
            if self._rust is None:
                try:
                    from tokenizers import Tokenizer
                except ImportError as exc:
                    raise ModelError(
                        f"cannot import {exc.name}: {exc}", hint="reinstall agentctx"
                    ) from None
                try:
                    tokenizer = Tokenizer.from_file(str(self._path / "tokenizer.json"))
                except Exception as exc:
                    raise ModelError(
                        f"cannot load the embedding model's tokenizer from {self._path}: {exc}",
                        hint=f"reinstall {MODEL_PACKAGE}",
                    ) from None
                # tokenizer.json ships truncation and fixed padding at 128;
                # sentence-transformers truncates at max_seq_length (incl. [CLS]/[SEP])
                # and pads per batch, as we do.
                tokenizer.no_padding()
                tokenizer.enable_truncation(max_length=self._max_tokens)
                self._rust = tokenizer
            return self._rust


def _read_model(path: Path, max_tokens: int, cache_dir: Path | None = None) -> _Model:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        if config.get("hidden_act", "gelu") != "gelu":
            raise ValueError(f"unsupported activation {config['hidden_act']!r}")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError("only absolute position embeddings are supported")
        cache = cache_dir or default_cache_dir()
        wordpiece = WordPiece.load(path / "tokenizer.json", cache)
        tokenizer = _Tokenizer(path, max_tokens, wordpiece)
        if wordpiece is None:
            tokenizer.rust()  # a tokenizer of another shape: fail now if it cannot load
        weights = _mapped_tensors(path / "model.safetensors")
        if weights is None:
            try:
                from safetensors.numpy import load_file
            except ImportError as exc:
                raise ModelError(
                    f"cannot import {exc.name}: {exc}", hint="reinstall agentctx"
                ) from None
            weights = load_file(str(path / "model.safetensors"))
        layout = (  # the file is little-endian, as the model's is
            layout_file(path / "model.safetensors", cache) if sys.byteorder == "little" else None
        )
        return _assemble(config, tokenizer, weights, layout)
    except ModelError:
        raise
    except Exception as exc:
        raise ModelError(
            f"cannot load the embedding model from {path}: {exc}", hint=f"reinstall {MODEL_PACKAGE}"
        ) from None


_SAFETENSORS_DTYPES = {"F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4"}  # little-endian


def _mapped_tensors(file: Path) -> dict[str, np.ndarray] | None:
    """The tensors of a safetensors file as read-only views of the file mapped in memory,
    or None when it is not the plain layout expected (the library then reads it).

    A query embeds a few tokens: of the word-embedding matrix (47 MB of the model's 91)
    it touches a few rows, which mapping reads alone; copying every tensor took 76 ms of a
    cold `pack`. The layers' weights, rearranged, come from a cached layout file.
    """
    try:
        with open(file, "rb") as f:
            (size,) = struct.unpack("<Q", f.read(8))
            if size > 100_000_000:  # a header that big is not one
                return None
            header = json.loads(f.read(size))
        data = np.memmap(file, dtype=np.uint8, mode="r", offset=8 + size)
        out: dict[str, np.ndarray] = {}
        for name, info in header.items():
            if name == "__metadata__":
                continue
            dtype = np.dtype(_SAFETENSORS_DTYPES[info["dtype"]])
            start, end = info["data_offsets"]
            if start % dtype.itemsize or end > len(data):
                return None
            out[name] = data[start:end].view(dtype).reshape(info["shape"])
        return out
    except (OSError, ValueError, KeyError, TypeError, struct.error):
        return None


def _assemble(
    config: dict[str, Any],
    tokenizer: _Tokenizer,
    weights: dict[str, np.ndarray],
    layout: Path | None = None,
) -> _Model:
    """The model in the engine's layout. ``layout``: a file caching the layers' matrices
    (transposed and pre-scaled: 42 MB for MiniLM), mapped when valid, else written."""
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

    def w(name: str) -> np.ndarray:
        return np.ascontiguousarray(weights[prefix + name], dtype=np.float32)

    def norm(name: str) -> tuple[np.ndarray, np.ndarray]:
        return w(f"{name}.weight"), w(f"{name}.bias")

    hidden = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    scale = np.float32(1.0 / math.sqrt(hidden // heads))
    count = int(config["num_hidden_layers"])

    def sources(i: int) -> list[list[tuple[np.ndarray, np.float32 | None]]]:
        """Layer ``i``'s matrices as stored (out, in), with a factor or None; each is
        transposed in the layout: query (scaled), key and value side by side, then the
        three others."""
        p = f"encoder.layer.{i}."
        q, k, v = (w(f"{p}attention.self.{n}.weight") for n in ("query", "key", "value"))
        return [
            [(q, scale), (k, None), (v, None)],
            [(w(f"{p}attention.output.dense.weight"), None)],
            [(w(f"{p}intermediate.dense.weight"), None)],
            [(w(f"{p}output.dense.weight"), None)],
        ]

    matrices = _layer_matrices(count, sources, layout)
    layers = []
    for i in range(count):
        p = f"encoder.layer.{i}."
        q, k, v = (f"{p}attention.self.{n}" for n in ("query", "key", "value"))
        qkv_w, attn_out_w, ff_in_w, ff_out_w = matrices[i]
        layers.append(
            _Layer(
                qkv_w=qkv_w,
                qkv_b=np.concatenate([w(f"{q}.bias") * scale, w(f"{k}.bias"), w(f"{v}.bias")]),
                attn_out_w=attn_out_w,
                attn_out_b=w(f"{p}attention.output.dense.bias"),
                attn_norm=norm(f"{p}attention.output.LayerNorm"),
                ff_in_w=ff_in_w,
                ff_in_b=w(f"{p}intermediate.dense.bias"),
                ff_out_w=ff_out_w,
                ff_out_b=w(f"{p}output.dense.bias"),
                ff_norm=norm(f"{p}output.LayerNorm"),
            )
        )
    return _Model(
        tokenizer=tokenizer,
        word=w("embeddings.word_embeddings.weight"),
        position=w("embeddings.position_embeddings.weight"),
        token_type=w("embeddings.token_type_embeddings.weight")[0].copy(),
        embed_norm=norm("embeddings.LayerNorm"),
        layers=tuple(layers),
        heads=heads,
        eps=np.float32(config.get("layer_norm_eps", 1e-12)),
    )


LAYOUT_VERSION = 1  # of the cached layer matrices; a new layout gets a new file name
_SPOT_CHECKS = 8  # elements per cached matrix compared with the model file at load
_SAMPLE_BYTES = 4096  # of the model file's data, at each of a few places, for its key


def layout_file(model_file: Path, cache_dir: Path) -> Path | None:
    """Where the layer matrices of ``model_file`` are cached.

    Named by what the file holds, not where it is: its size, its safetensors header (the
    tensors' names, types and offsets) and samples of its data, so every virtualenv with
    the same model shares one file (42 MB) and a different model gets its own. The spot
    checks at load compare the cached matrices with the model itself.
    """
    try:
        with open(model_file, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(8)
            header = f.read(min(int.from_bytes(head, "little"), size)) if len(head) == 8 else b""
            digest = hashlib.sha256(f"{size}|{LAYOUT_VERSION}|".encode())
            digest.update(head + header)
            for at in (len(head) + len(header), size // 3, size // 2, size - _SAMPLE_BYTES):
                f.seek(max(at, 0))
                digest.update(f.read(_SAMPLE_BYTES))
    except OSError:
        return None
    return cache_dir / "engine" / f"minilm-layers-{digest.hexdigest()[:20]}.npy"


_Parts = list[tuple[np.ndarray, np.float32 | None]]  # matrices side by side, with factors
_Sources = Callable[[int], list[_Parts]]


def _layer_matrices(count: int, sources: _Sources, layout: Path | None) -> list[list[np.ndarray]]:
    """Each layer's four matrices, transposed to (in, out) and contiguous for BLAS.

    Transposing copies 42 MB (~38 ms of a cold query). With ``layout``, the result is
    kept in one file and later processes map it: no copy, and the pages are shared. A
    file of the wrong size, or whose spot checks disagree with the model, is rebuilt;
    one that cannot be written is simply not kept.
    """
    layers = [sources(i) for i in range(count)]
    shapes = [
        [(parts[0][0].shape[1], sum(m.shape[0] for m, _ in parts)) for parts in layer]
        for layer in layers
    ]
    total = sum(a * b for layer in shapes for a, b in layer)
    if layout is not None and (flat := _mapped_layout(layout, total)) is not None:
        mapped = _split(flat, shapes)
        if _spot_check(mapped, layers):
            mark_used(layout)
            return mapped
    built = [
        [
            np.ascontiguousarray(
                np.concatenate([m.T if f is None else m.T * f for m, f in parts], axis=1)
            )
            for parts in layer
        ]
        for layer in layers
    ]
    if layout is not None:
        _write_layout(layout, built, total)
        prune_siblings(layout, "minilm-layers-*.npy")  # other models', unused for 30 days
    return built


def _split(flat: np.ndarray, shapes: list[list[tuple[int, int]]]) -> list[list[np.ndarray]]:
    out: list[list[np.ndarray]] = []
    at = 0
    for layer in shapes:
        row = []
        for a, b in layer:
            row.append(flat[at : at + a * b].reshape(a, b))
            at += a * b
        out.append(row)
    return out


def _spot_check(mapped: list[list[np.ndarray]], layers: list[list[_Parts]]) -> bool:
    """A few elements of every cached matrix equal the model's (a torn or stale file).

    The places are fixed and spread by a multiplicative hash, read with one fancy index
    per part: numpy's random generator cost a cold query ~17 ms to import, and the checks
    one at a time ~10 ms more.
    """
    picks = np.arange(1, _SPOT_CHECKS + 1, dtype=np.int64)
    salt = 0
    for got_layer, src_layer in zip(mapped, layers, strict=True):
        for got, parts in zip(got_layer, src_layer, strict=True):
            salt += 1
            rows, cols = got.shape
            r = (picks * 2654435761 + salt * 40503) % rows
            c = (picks * 2246822519 + salt * 97) % cols
            seen = got[r, c]
            at = 0  # the cached matrix is the parts' transposes side by side
            for m, f in parts:
                inside = (c >= at) & (c < at + m.shape[0])
                want = m[c[inside] - at, r[inside]]
                if f is not None:
                    want = want * f
                if not np.array_equal(seen[inside], want):
                    return False
                at += m.shape[0]
    return True


def _mapped_layout(path: Path, total: int) -> np.ndarray | None:
    try:
        flat = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError):
        return None
    if flat.dtype != np.float32 or flat.shape != (total,):
        return None
    return flat.view(np.ndarray)  # the mapped buffer, as a plain array


def _write_layout(path: Path, built: list[list[np.ndarray]], total: int) -> None:
    """Write the matrices to ``path`` atomically (temp file, fsync, ``os.replace``)."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".layers.", suffix=".npy", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": (total,)}
            )
            for layer in built:
                for m in layer:
                    f.write(np.ascontiguousarray(m, dtype="<f4").data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError:
        pass  # a read-only or full cache directory: the next process transposes again
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _get_model(max_tokens: int, cache_dir: Path | None = None) -> _Model:
    path = model_dir()
    with _LOCK:
        model = _MODELS.get((path, max_tokens))
        if model is None:
            model = _MODELS[path, max_tokens] = _read_model(path, max_tokens, cache_dir)
        return model


def _layer_norm(x: np.ndarray, params: tuple[np.ndarray, np.ndarray], eps: np.float32) -> None:
    """In place over the last axis."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.square(x).mean(axis=-1, keepdims=True)
    var += eps
    np.sqrt(var, out=var)
    x /= var
    x *= params[0]
    x += params[1]


def _gelu(x: np.ndarray) -> None:
    """Exact (erf) GELU in place, x * (1 + erf(x / sqrt 2)) / 2, in cache-sized blocks.

    The ~20 elementwise passes run twice as fast on blocks that stay in L2 cache.
    """
    flat = x.reshape(-1)
    for start in range(0, flat.size, _GELU_BLOCK):
        block = flat[start : start + _GELU_BLOCK]
        z = block * np.float32(1.0 / math.sqrt(2.0))
        a = np.abs(z)
        t = a * _ERF_P
        t += 1
        np.reciprocal(t, out=t)
        poly = t * _ERF_A[0]
        for coef in _ERF_A[1:]:
            poly += coef
            poly *= t
        np.square(a, out=a)
        np.negative(a, out=a)
        np.exp(a, out=a)
        poly *= a
        np.subtract(1, poly, out=poly)  # erf(|z|)
        np.copysign(poly, z, out=poly)  # erf(z)
        poly += 1
        poly *= 0.5
        block *= poly


def _softmax(scores: np.ndarray) -> None:
    """Softmax over the last axis, in place (attention weights from their scores)."""
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=-1, keepdims=True)


def _layer_rest(model: _Model, layer: _Layer, context: np.ndarray, x: np.ndarray) -> np.ndarray:
    """A layer after its attention, on 2-D (tokens, hidden) arrays: the output projection,
    residual and norm, then the feed-forward block, residual and norm."""
    out = context @ layer.attn_out_w
    out += layer.attn_out_b
    out += x
    _layer_norm(out, layer.attn_norm, model.eps)
    x = out
    inner = x @ layer.ff_in_w
    inner += layer.ff_in_b
    _gelu(inner)
    out = inner @ layer.ff_out_w
    out += layer.ff_out_b
    out += x
    _layer_norm(out, layer.ff_norm, model.eps)
    return out


def _forward(model: _Model, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean-pooled, L2-normalized embeddings for one padded group (rows, length).

    Dense layers run on 2-D (rows*length, hidden) arrays and attention on contiguous
    (rows, heads, length, head_dim) ones: numpy hands those to BLAS, while 3-D or
    strided operands fall back to slower paths (5x to 100x measured).
    """
    rows, length = ids.shape
    hidden = model.word.shape[1]
    heads = model.heads
    head_dim = hidden // heads
    x = model.word[ids.reshape(-1)]  # (rows*length, hidden), a fresh array
    x3 = x.reshape(rows, length, hidden)
    x3 += model.position[:length]
    x += model.token_type
    _layer_norm(x, model.embed_norm, model.eps)
    bias = np.where(mask[:, None, None, :], np.float32(0), _MASKED)  # (rows, 1, 1, length)
    block = max(1, _ATTENTION_BLOCK // (length * head_dim))  # query rows per attention step
    for layer in model.layers:
        qkv = x @ layer.qkv_w
        qkv += layer.qkv_b
        q, k, v = np.ascontiguousarray(
            qkv.reshape(rows, length, 3, heads, head_dim).transpose(2, 0, 3, 1, 4)
        )  # each (rows, heads, length, head_dim)
        k_t = k.transpose(0, 1, 3, 2)
        context = np.empty((rows, length, heads, head_dim), dtype=np.float32)
        for start in range(0, length, block):
            stop = start + block
            scores = q[:, :, start:stop] @ k_t  # (rows, heads, block, length)
            scores += bias
            _softmax(scores)
            context[:, start:stop] = (scores @ v).transpose(0, 2, 1, 3)
        x = _layer_rest(model, layer, context.reshape(-1, hidden), x)
    weights = mask.astype(np.float32)
    pooled = np.matmul(weights[:, None, :], x.reshape(rows, length, hidden))[:, 0, :]
    pooled /= np.maximum(weights.sum(axis=1, keepdims=True), np.float32(1e-9))
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    return pooled


def _forward_packed(model: _Model, seqs: Sequence[Sequence[int]]) -> np.ndarray:
    """``_forward`` for texts of any lengths in one pass, with no padding.

    The dense layers run once over all the texts' tokens, one after another in a 2-D
    (tokens, hidden) array, and attention runs per text on its own slice. A short text
    then costs its own tokens only: next to a long one it no longer pads to its length,
    and it shares the long one's pass over the layer weights (one pass over the ~42 MB
    of weights is what a text of a few tokens costs alone, ~10 ms here).
    """
    lengths = [len(seq) for seq in seqs]
    ends = np.cumsum(lengths)
    starts = ends - np.asarray(lengths)
    hidden = model.word.shape[1]
    heads = model.heads
    head_dim = hidden // heads
    x = model.word[np.concatenate([np.asarray(seq, dtype=np.intp) for seq in seqs])]
    x += np.concatenate([model.position[:n] for n in lengths])
    x += model.token_type
    _layer_norm(x, model.embed_norm, model.eps)
    context = np.empty_like(x)
    for layer in model.layers:
        qkv = x @ layer.qkv_w
        qkv += layer.qkv_b
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            n = b - a
            q, k, v = np.ascontiguousarray(
                qkv[a:b].reshape(n, 3, heads, head_dim).transpose(1, 2, 0, 3)
            )  # each (heads, n, head_dim)
            k_t = k.transpose(0, 2, 1)
            block = max(1, _ATTENTION_BLOCK // (n * head_dim))
            own = context[a:b].reshape(n, heads, head_dim)
            for start in range(0, n, block):
                stop = start + block
                scores = q[:, start:stop] @ k_t  # (heads, block, n)
                _softmax(scores)
                own[start:stop] = (scores @ v).transpose(1, 0, 2)
        x = _layer_rest(model, layer, context, x)
    pooled = np.add.reduceat(x, starts, axis=0) / np.asarray(lengths, dtype=np.float32)[:, None]
    pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), np.float32(1e-12))
    return pooled.astype(np.float32, copy=False)


@functools.cache
def _thread_controller() -> Any:
    """threadpoolctl's handle on numpy's BLAS, or None where threadpoolctl is missing."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def _blas_threads(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    controller = _thread_controller() if threads is not None else None
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=threads, user_api="blas")


def _packed_count(lengths: np.ndarray, tokens: int) -> int:
    """How many of ``lengths`` (longest first) one packed pass takes: while their tokens fit
    ``tokens``, and at least one."""
    fit = int(np.searchsorted(np.cumsum(lengths), tokens, side="right"))
    return max(1, fit)


class NumpyMiniLMEmbedder:
    """Lazy like the torch backend: weights and tokenizer load on the first ``embed_batch``.

    ``threads`` caps numpy's BLAS threads during ``embed_batch`` (None: leave them alone).
    The default of 1 is deliberate: OpenBLAS wakes its worker threads for every matrix
    product, and when another process keeps a core busy each wake-up costs a scheduler
    slice; on a loaded 2-core machine one query took 320 ms with 2 threads, 10 ms with 1.
    """

    model_id = SentenceTransformerEmbedder.model_id  # same model, same vectors
    dim = 384
    max_tokens = SentenceTransformerEmbedder.max_tokens

    def __init__(
        self,
        threads: int | None = 1,
        tokens_per_pass: int = _TOKENS_PER_PASS,
        cache_dir: Path | None = None,
    ) -> None:
        self._threads = threads
        self._tokens_per_pass = tokens_per_pass
        self._cache_dir = cache_dir  # for the layout file; None: the default cache dir
        self._model: _Model | None = None

    def load(self) -> None:
        """Load the model now (once per process; later embedders share it)."""
        if self._model is None:
            self._model = _get_model(self.max_tokens, self._cache_dir)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        self.load()
        assert self._model is not None
        model = self._model
        ids = model.tokenizer.encode(texts)
        lengths = np.array([len(seq) for seq in ids])
        order = np.argsort(-lengths, kind="stable")  # longest first: each group's pad is its head
        with _blas_threads(self._threads):
            start = 0
            while start < len(order):
                length = int(lengths[order[start]])
                group = order[start : start + max(1, self._tokens_per_pass // length)]
                if len(group) * length > _PAD_LIMIT * int(lengths[group].sum()):
                    # texts of very different lengths (a report and its title): packed,
                    # none padded to the longest. Texts of about one length (the chunks of
                    # an index, sorted) stay padded: one attention product for all is faster.
                    count = _packed_count(lengths[order[start:]], self._tokens_per_pass)
                    group = order[start : start + count]
                    out[group] = _forward_packed(model, [ids[i] for i in group])
                else:
                    batch = np.zeros((len(group), length), dtype=np.intp)
                    mask = np.zeros((len(group), length), dtype=bool)
                    for row, index in enumerate(group):
                        batch[row, : lengths[index]] = ids[index]
                        mask[row, : lengths[index]] = True
                    out[group] = _forward(model, batch, mask)
                start += len(group)
        return out
