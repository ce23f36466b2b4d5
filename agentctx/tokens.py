"""Exact OpenAI token counts (``cl100k_base``, ``o200k_base``), fully offline.

``pack`` promises that its output fits a token budget, so counts must match what the
model's tokenizer says, not an estimate. The backend is the ``bpe-openai`` wheel: the
Rust ``bpe-openai`` crate (GitHub's rust-gems), which ships both vocabularies inside
the wheel, so no code path downloads anything (plain ``tiktoken`` fetches its files
at run time). Its output is identical to tiktoken's ``encode_ordinary``: text that
looks like a special token (``<|endoftext|>``) is counted as plain text.

The extension module is loaded directly, without running ``bpe_openai/__init__.py``:
that wrapper parses all three vocabularies into Python dicts on import (~0.6 s,
~60 MB) and refuses inputs over 1M characters, none of which counting needs.
Nothing is imported until ``get_tokenizer`` is first called.
"""

from __future__ import annotations

import base64
import gzip
import importlib
import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from .errors import ConfigError

TOKENIZERS = ("cl100k_base", "o200k_base")

_BACKEND_PACKAGE = "bpe_openai"
_BACKEND_MODULE = "bpe_openai._bindings"
_BACKEND_PIN = "bpe-openai==0.1.4"

# Ordinary (non-special) vocabulary size: valid ids are 0 .. n-1. The backend panics or
# crashes on ids outside its table, so ``decode`` checks them first.
_VOCAB_SIZE = {"cl100k_base": 100256, "o200k_base": 199998}


@runtime_checkable
class Tokenizer(Protocol):
    """What the budget needs from a tokenizer: exact counts, and encode/decode to cut text."""

    name: str

    def count(self, text: str) -> int: ...

    def encode(self, text: str) -> list[int]: ...

    def decode(self, ids: list[int]) -> str: ...


def _scrub(text: str) -> str:
    """Replace lone surrogates with U+FFFD, as tiktoken does before encoding."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


class BpeOpenAITokenizer:
    """A ``Tokenizer`` over one ``bpe-openai`` encoding (tiktoken ``encode_ordinary`` semantics)."""

    def __init__(self, name: str, backend: Any) -> None:
        self.name = name
        self._backend = backend
        self._vocab_size = _VOCAB_SIZE[name]
        self._token_bytes: list[bytes] | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BpeOpenAITokenizer({self.name!r})"

    def count(self, text: str) -> int:
        if not text:
            return 0
        try:
            return self._backend.count(text)
        except UnicodeEncodeError:
            return self._backend.count(_scrub(text))

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        try:
            return list(self._backend.encode(text))
        except UnicodeEncodeError:
            return list(self._backend.encode(_scrub(text)))

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; bytes that are not valid UTF-8 become U+FFFD, as in tiktoken."""
        if not ids:
            return ""
        size = self._vocab_size
        for i in ids:
            if not 0 <= i < size:
                raise ValueError(f"token id {i} is not in {self.name} (0..{size - 1})")
        try:
            return self._backend.decode(list(ids))
        except ValueError:  # a multi-byte character split between tokens
            table = self._bytes_table()
            return b"".join(table[i] for i in ids).decode("utf-8", "replace")

    def _bytes_table(self) -> list[bytes]:
        """Id -> bytes, read once from the vocabulary file the wheel ships."""
        with self._lock:
            if self._token_bytes is None:
                table = [b""] * self._vocab_size
                with gzip.open(_package_dir() / "data" / f"{self.name}.tiktoken.gz", "rb") as f:
                    for line in f:
                        if line.strip():
                            token, rank = line.split()
                            table[int(rank)] = base64.b64decode(token)
                self._token_bytes = table
            return self._token_bytes


_cache: dict[str, Tokenizer] = {}
_cache_lock = threading.Lock()


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer called ``name`` (one of ``TOKENIZERS``), built once per process."""
    key = name.strip().lower()
    if key not in TOKENIZERS:
        raise ConfigError(
            f"unknown tokenizer {name!r}; valid tokenizers: {', '.join(TOKENIZERS)}",
            hint="o200k_base for GPT-4o/4.1/o-series models, cl100k_base for GPT-4/3.5",
        )
    with _cache_lock:
        tok = _cache.get(key)
        if tok is None:
            tok = BpeOpenAITokenizer(key, _load_backend().tokenizer_for_encoding(key))
            _cache[key] = tok
        return tok


def truncate_to_tokens(tok: Tokenizer, text: str, max_tokens: int) -> str:
    """Longest prefix of ``text`` whose count is at most ``max_tokens``.

    The cut falls after a newline when at least one whole line fits; otherwise it
    falls inside the first line, on a token boundary. The result's count is checked,
    never assumed: re-tokenizing a prefix can differ from the tokens it was cut from.
    """
    if max_tokens <= 0 or not text:
        return ""
    if tok.count(text) <= max_tokens:
        return text
    ids = tok.encode(text)
    n = min(max_tokens, len(ids))
    head = ""
    while n > 0:
        head = _prefix_of(text, tok.decode(ids[:n]))
        used = tok.count(head)
        if head and used <= max_tokens:
            break
        n -= max(1, used - max_tokens)
        head = ""
    if not head:
        return ""
    cut = head.rfind("\n") + 1
    while cut > 0:
        lines = head[:cut]
        if tok.count(lines) <= max_tokens:
            return lines
        cut = head.rfind("\n", 0, cut - 1) + 1
    return head


def _prefix_of(text: str, decoded: str) -> str:
    """The part of ``decoded`` that is a prefix of ``text`` (drops a split character's U+FFFD)."""
    if text.startswith(decoded):
        return decoded
    stripped = decoded.rstrip("\ufffd")
    if text.startswith(stripped):
        return stripped
    k = 0
    limit = min(len(decoded), len(text))
    while k < limit and decoded[k] == text[k]:
        k += 1
    return decoded[:k]


def _package_dir() -> Path:
    spec = importlib.util.find_spec(_BACKEND_PACKAGE)  # locates without importing it
    if spec is None or not spec.submodule_search_locations:
        raise _missing_backend()
    return Path(next(iter(spec.submodule_search_locations)))


def _load_backend() -> ModuleType:
    """The compiled ``bpe_openai._bindings`` module, loaded without its Python wrapper."""
    module = sys.modules.get(_BACKEND_MODULE)
    if module is not None:
        return module
    spec = importlib.machinery.PathFinder.find_spec(_BACKEND_MODULE, [str(_package_dir())])
    if spec is None or spec.loader is None:
        try:  # an unusual install layout: take the ordinary (slower) import
            return importlib.import_module(_BACKEND_MODULE)
        except ImportError as exc:
            raise _missing_backend() from exc
    module = importlib.util.module_from_spec(spec)
    # Registered under its real name, so a later ``import bpe_openai`` reuses it
    # (a PyO3 extension may be initialised only once per process).
    sys.modules[_BACKEND_MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_BACKEND_MODULE]
        raise
    return module


def _missing_backend() -> ConfigError:
    return ConfigError(
        "the tokenizer backend 'bpe-openai' is not installed",
        hint=f"pip install '{_BACKEND_PIN}' (a dependency of agentctx)",
    )
