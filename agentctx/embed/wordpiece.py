"""BERT's WordPiece tokenizer in Python: the ids the Rust ``tokenizers`` library gives, for
the query path.

A cold ``pack`` or ``search`` embeds one text, the query. The Rust tokenizer cost it
~65 ms before the first id (importing ``tokenizers`` ~18 ms, ``Tokenizer.from_file``
parsing the 700 KB ``tokenizer.json`` ~47 ms); this one reads its vocabulary from a cache
file made from that JSON once (~5 ms) and tokenizes a query in a few ms. Indexing, which
tokenizes thousands of texts, keeps the Rust tokenizer.

What it implements is what MiniLM's ``tokenizer.json`` declares, and it says so only for
such a file (``load`` returns None for any other shape): the ``BertNormalizer`` (control
characters and U+FFFD dropped, whitespace made spaces, CJK ideographs spaced apart, NFD with
non-spacing marks dropped, then lowercase one character at a time), the
``BertPreTokenizer`` (split at whitespace, each punctuation character a word of its own),
``WordPiece`` (greedy longest match, ``##`` for the rest of a word, ``[UNK]`` for a word it
cannot cover or longer than 100 characters), special tokens found in the raw text first,
``[CLS] ... [SEP]`` around, and truncation to ``max_tokens`` ids.

The Rust side classifies characters with its own Unicode tables, of another version than
Python's ``unicodedata``. ``covers`` says whether a text is safe to tokenize here: every
character ASCII, or one whose general category is the same in Unicode 3.2
(``unicodedata.ucd_3_2_0``) and in this Python's database. Of the 232,689 code points
assigned in 3.2, 4 changed category since (U+166D, U+1734, U+1885, U+1886), and exactly
those gave other ids; a test compares every covered code point with the Rust tokenizer.
A text with any other character (an emoji newer than 3.2, say) goes to the Rust tokenizer.
"""

from __future__ import annotations

import hashlib
import marshal
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..cachefiles import mark_used, write

FORMAT = 1  # of the cache file; a new format gets a new file name
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# cleaned ASCII text: a run of word characters, or one punctuation character
_ASCII_WORDS = re.compile(r"[^ !-/:-@\[-`{-~]+|[!-/:-@\[-`{-~]")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ASCII_SPACE = re.compile(r"[\t\n\r]")
_SLICE = 4096  # characters normalized at a time (cut after whitespace): queries stop early
_SPACE = " "
_DROP = ""


def _is_cjk(o: int) -> bool:
    """The ranges BERT's normalizer pads with spaces (CJK Unified Ideographs and others)."""
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x20000 <= o <= 0x2A6DF
        or 0x2A700 <= o <= 0x2B73F
        or 0x2B740 <= o <= 0x2B81F
        or 0x2B920 <= o <= 0x2CEAF
        or 0xF900 <= o <= 0xFAFF
        or 0x2F800 <= o <= 0x2FA1F
    )


_STABLE: dict[str, bool] = {}


def _stable(c: str) -> bool:
    """Whether ``c``'s general category is the same in Unicode 3.2 and in this Python."""
    known = _STABLE.get(c)
    if known is None:
        old = unicodedata.ucd_3_2_0.category(c)
        known = _STABLE[c] = old != "Cn" and old != "Cs" and old == unicodedata.category(c)
    return known


def _clean(c: str) -> str:
    """One character after the normalizer's first two steps: dropped, a space, spaced
    apart (a CJK ideograph) or itself."""
    if c in "\t\n\r":
        return _SPACE
    o = ord(c)
    if o == 0 or o == 0xFFFD:
        return _DROP
    category = unicodedata.category(c)
    if category[0] == "C":  # Cc, Cf, Co (Cn and Cs are never covered)
        return _DROP
    if category == "Zs" or category == "Zl" or category == "Zp":  # White_Space, not C*
        return _SPACE
    if _is_cjk(o):
        return f" {c} "
    return c


class WordPiece:
    """The tokenizer of a ``tokenizer.json`` of BERT's shape (see the module's doc)."""

    def __init__(
        self,
        words: list[str],
        special: dict[str, int],
        unk: str,
        cls: str,
        sep: str,
        max_chars: int,
    ) -> None:
        self._vocab = dict(zip(words, range(len(words)), strict=True))
        self._special = special
        longest_first = sorted(special, key=len, reverse=True)
        self._special_re = re.compile("|".join(re.escape(t) for t in longest_first))
        self._unk = self._vocab[unk]
        self._cls = self._vocab[cls]
        self._sep = self._vocab[sep]
        self._max_chars = max_chars

    @classmethod
    def load(cls, tokenizer_json: Path, cache_dir: Path) -> WordPiece | None:
        """The tokenizer ``tokenizer_json`` declares, if it is of the shape implemented
        here; None otherwise, or when the file cannot be read. The vocabulary comes from
        a cache file named by the JSON's hash (made from the JSON the first time)."""
        try:
            data = tokenizer_json.read_bytes()
        except OSError:
            return None
        key = hashlib.blake2b(data, digest_size=12).hexdigest()
        cache = cache_dir / "tokenizer" / f"wordpiece-v{FORMAT}-{key}.bin"
        spec = _read_spec(cache)
        if spec is not None:
            mark_used(cache)
        else:
            spec = _spec_of(data)
            if spec is None:
                return None
            write(cache, marshal.dumps(spec), "wordpiece-*.bin")  # (other tokenizers' pruned)
        words, special, unk, cls_token, sep, max_chars = spec
        try:
            return cls(words, special, unk, cls_token, sep, max_chars)
        except (KeyError, ValueError, TypeError):
            return None

    def covers(self, text: str) -> bool:
        """Whether this gives the Rust tokenizer's ids for ``text`` (see the module's doc)."""
        return text.isascii() or all(c.isascii() or _stable(c) for c in set(text))

    def encode(self, text: str, max_tokens: int) -> list[int]:
        """``[CLS]``, the ids of ``text`` (at most ``max_tokens - 2``), ``[SEP]``."""
        limit = max(0, max_tokens - 2)
        ids: list[int] = []
        pos = 0
        for m in self._special_re.finditer(text):
            self._encode_plain(text[pos : m.start()], ids, limit)
            if len(ids) < limit:
                ids.append(self._special[m.group()])
            pos = m.end()
        self._encode_plain(text[pos:], ids, limit)
        return [self._cls, *ids[:limit], self._sep]

    def _encode_plain(self, text: str, ids: list[int], limit: int) -> None:
        for part in _slices(text):
            if len(ids) >= limit:
                return
            for word in _words(part):
                self._pieces(word, ids)
                if len(ids) >= limit:
                    return

    def _pieces(self, word: str, ids: list[int]) -> None:
        """WordPiece: the longest prefix in the vocabulary, then ``##`` + the longest
        prefix of the rest, and so on; ``[UNK]`` alone if any rest has none."""
        n = len(word)
        if n > self._max_chars:
            ids.append(self._unk)
            return
        vocab = self._vocab
        found: list[int] = []
        start = 0
        while start < n:
            end = n
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                got = vocab.get(piece)
                if got is not None:
                    found.append(got)
                    break
                end -= 1
            else:
                ids.append(self._unk)
                return
            start = end
        ids.extend(found)


def _slices(text: str) -> Iterator[str]:
    """``text`` in pieces of about ``_SLICE`` characters, each cut just after an ASCII
    whitespace character (a word boundary the normalizer cannot move)."""
    start = 0
    n = len(text)
    while n - start > _SLICE:
        cut = max(text.rfind(c, start, start + _SLICE) for c in " \n\t\r")
        if cut < start:  # no whitespace in the slice: look further
            found = [i for i in (text.find(c, start + _SLICE) for c in " \n\t\r") if i >= 0]
            if not found:
                break
            cut = min(found)
        yield text[start : cut + 1]
        start = cut + 1
    yield text[start:]


def _words(text: str) -> list[str]:
    """The normalized, pre-tokenized words of ``text`` (no special tokens in it)."""
    if text.isascii():
        text = _ASCII_SPACE.sub(" ", _ASCII_CONTROL.sub("", text)).lower()
        return _ASCII_WORDS.findall(text)
    text = "".join(c if c.isascii() and c.isprintable() else _clean(c) for c in text)
    text = unicodedata.normalize("NFD", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    # one character at a time, as the Rust side does: no final-sigma rule
    text = text.lower() if "\u03a3" not in text else "".join(c.lower() for c in text)
    words: list[str] = []
    for chunk in text.split(" "):
        start = 0
        for i, c in enumerate(chunk):
            if c in _ASCII_PUNCT or (not c.isascii() and unicodedata.category(c)[0] == "P"):
                if i > start:
                    words.append(chunk[start:i])
                words.append(c)
                start = i + 1
        if start < len(chunk):
            words.append(chunk[start:])
    return words


def _read_spec(cache: Path) -> tuple[Any, ...] | None:
    try:
        spec = marshal.loads(cache.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if not (isinstance(spec, tuple) and len(spec) == 6 and isinstance(spec[0], list)):
        return None
    return spec


def _spec_of(data: bytes) -> tuple[Any, ...] | None:
    """What the tokenizer needs from a ``tokenizer.json`` of BERT's shape, or None."""
    import json

    try:
        doc = json.loads(data)
        model = doc["model"]
        normalizer = doc["normalizer"]
        lowercase = normalizer.get("lowercase") is True
        strip = normalizer.get("strip_accents")
        shape_ok = (
            model.get("type") == "WordPiece"
            and model.get("continuing_subword_prefix") == "##"
            and normalizer.get("type") == "BertNormalizer"
            and normalizer.get("clean_text") is True
            and normalizer.get("handle_chinese_chars") is True
            and lowercase
            and strip in (None, True)
            and doc.get("pre_tokenizer") == {"type": "BertPreTokenizer"}
        )
        if not shape_ok:
            return None
        vocab: dict[str, int] = model["vocab"]
        words = [""] * len(vocab)
        for word, i in vocab.items():
            words[i] = word
        if len(set(words)) != len(words):  # ids not 0..n-1, each once
            return None
        special: dict[str, int] = {}
        for token in doc.get("added_tokens", []):
            plain = not any(token.get(k) for k in ("single_word", "lstrip", "rstrip", "normalized"))
            if not (token.get("special") and plain and vocab.get(token["content"]) == token["id"]):
                return None
            special[token["content"]] = token["id"]
        cls_token, sep = _frame(doc.get("post_processor"), vocab)
        max_chars = int(model.get("max_input_chars_per_word", 100))
        return (words, special, model["unk_token"], cls_token, sep, max_chars)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def _frame(post: Any, vocab: dict[str, int]) -> tuple[str, str]:
    """The tokens the post-processor puts before and after a single text: BERT's
    ``[CLS] $A [SEP]``, as a template or as ``BertProcessing``; else ValueError."""
    if post.get("type") == "BertProcessing":
        (cls_token, cls_id), (sep, sep_id) = post["cls"], post["sep"]
    elif post.get("type") == "TemplateProcessing":
        first, middle, last = post["single"]
        if middle != {"Sequence": {"id": "A", "type_id": 0}}:
            raise ValueError("not [CLS] $A [SEP]")
        cls_token, sep = first["SpecialToken"]["id"], last["SpecialToken"]["id"]
        (cls_id,), (sep_id,) = (post["special_tokens"][t]["ids"] for t in (cls_token, sep))
        if first["SpecialToken"]["type_id"] or last["SpecialToken"]["type_id"]:
            raise ValueError("type ids other than 0")
    else:
        raise ValueError("another post-processor")
    if vocab.get(cls_token) != cls_id or vocab.get(sep) != sep_id:
        raise ValueError("special ids not the vocabulary's")
    return cls_token, sep
