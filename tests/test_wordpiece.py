"""The Python WordPiece against the Rust ``tokenizers`` library, on the model's real files."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from agentctx.embed import wordpiece
from agentctx.embed.numpy_minilm import _Tokenizer
from agentctx.embed.sentence import model_dir
from agentctx.embed.wordpiece import WordPiece

UNLIMITED = 1_000_000
CHANGED_SINCE_3_2 = (0x166D, 0x1734, 0x1885, 0x1886)  # categories changed since Unicode 3.2


@pytest.fixture(scope="module")
def tokenizer_json() -> Path:
    return model_dir() / "tokenizer.json"


@pytest.fixture(scope="module")
def rust(tokenizer_json: Path) -> Tokenizer:
    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_padding()
    tok.no_truncation()
    return tok


@pytest.fixture(scope="module")
def wp(tokenizer_json: Path, tmp_path_factory: pytest.TempPathFactory) -> WordPiece:
    loaded = WordPiece.load(tokenizer_json, tmp_path_factory.mktemp("cache"))
    assert loaded is not None
    return loaded


def _same(rust: Tokenizer, wp: WordPiece, texts: list[str]) -> None:
    expected = [e.ids for e in rust.encode_batch(texts)]
    got = [wp.encode(t, UNLIMITED) for t in texts]
    bad = [t for t, a, b in zip(texts, expected, got, strict=True) if a != b]
    assert not bad, bad[:3]


def test_every_covered_code_point_gives_the_rust_ids(rust: Tokenizer, wp: WordPiece) -> None:
    """Each code point the Python side covers, alone, inside a word, doubled and next to
    punctuation: the same ids as the Rust tokenizer (and it covers 232,000 and more)."""
    covered = [chr(o) for o in range(0x110000) if not 0xD800 <= o <= 0xDFFF and wp.covers(chr(o))]
    assert len(covered) > 232_000
    fragments = [f"a{c}b {c} x{c}{c}y ({c}) " for c in covered]
    texts = ["".join(fragments[i : i + 64]) for i in range(0, len(fragments), 64)]
    _same(rust, wp, texts)


def test_changed_characters_are_not_covered(rust: Tokenizer, tokenizer_json: Path) -> None:
    """What Unicode re-categorized since 3.2, a newer emoji and an unassigned code point
    go to the Rust tokenizer, which the engine's tokenizer then loads."""
    wp = WordPiece.load(tokenizer_json, Path(sys.prefix) / "no-such-cache")
    assert wp is not None
    risky = [chr(o) for o in (*CHANGED_SINCE_3_2, 0x1F970, 0x0378)]
    # the four would give other ids (the reason they are not covered)
    assert any(wp.encode(f"x{c}y {c}", UNLIMITED) != rust.encode(f"x{c}y {c}").ids for c in risky)
    engine = _Tokenizer(tokenizer_json.parent, 256, wp)
    for c in risky:
        assert not wp.covers(f"plain text {c}")
        assert engine.encode([f"x{c}y {c}"]) == [rust.encode(f"x{c}y {c}").ids]
    assert engine._rust is not None


TEXTS = [
    "",
    "   ",
    "How are retries configured?",
    "Hello, World!! foo_bar(baz=1) -> None; x.y[0] = {'a': \"b\"} # done...",
    "tabs\tand\r\nnewlines\n\nand\x0bvertical\x0cfeed\x00nul\x7fdel\x1bescape",
    "[CLS] already [SEP] special [MASK][PAD][UNK] tokens and [mask] lower, [[MASK]]",
    "x" * 99 + " " + "y" * 100 + " " + "z" * 101 + " " + "a" * 3000,
    "supercalifragilisticexpialidocious antidisestablishmentarianism unbelievably",
    "Ünïcödé àccents: café naïve résumé Ångström ÉCOLE straße İstanbul ΟΔΟΣ Σίσυφος",
    "中文字符 and 日本語のテキスト 한국어 mixed 漢字abc def",
    "quotes “curly” ‘single’ — dashes – ellipsis… «guillemets» bullet • ¿qué? ¡sí!",
    "nbsp\u00a0here, thin\u2009space, ideographic\u3000space, line\u2028sep, para\u2029sep",
    "soft\u00adhyphen, zero\u200dwidth joiner, bom\ufeff, replacement\ufffdchar",
    "math ∑ ∫ √ ≤ ≥ ≠ ± × ÷ ∞ → ← ⇒ ∀ ∃ ∈ ∉ ∅ ∧ ∨ ¬ ° µ Ω",
    "combining: e\u0301 a\u0308 o\u0302\u0323 n\u0303 plus base-less \u0301start",
    'Traceback (most recent call last):\n  File "/x/y.py", line 3, in <module>\n'
    "    raise ValueError('bad')\nValueError: bad",
]


def test_texts_give_the_rust_ids(rust: Tokenizer, wp: WordPiece, tokenizer_json: Path) -> None:
    """Covered texts give the Rust ids here; the engine's tokenizer gives them for all
    (the soft hyphen, Pd in Unicode 3.2 and Cf since, sends its text to Rust)."""
    covered = [t for t in TEXTS if wp.covers(t)]
    assert len(covered) == len(TEXTS) - 1
    _same(rust, wp, covered)
    for text in TEXTS:
        engine = _Tokenizer(tokenizer_json.parent, UNLIMITED, wp)
        assert engine.encode([text]) == [rust.encode(text).ids]


def test_fixture_files_give_the_rust_ids(rust: Tokenizer, wp: WordPiece) -> None:
    """Every text file of the fixture repositories (code, docs, data), whole."""
    root = Path(__file__).parent.parent / "fixtures"
    texts = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            if wp.covers(text):
                texts.append(text)
    assert len(texts) >= 25
    _same(rust, wp, texts)


def test_long_texts_stop_where_rust_truncates(tokenizer_json: Path, wp: WordPiece) -> None:
    """Past ``max_tokens`` (with [CLS] and [SEP]) the ids are those the truncating Rust
    tokenizer keeps, wherever the cut falls: in a word's pieces, a slice, a special token."""
    root = Path(__file__).parent.parent / "agentctx"
    sources = [p.read_text(encoding="utf-8") for p in sorted(root.glob("*.py"))[:12]]
    long_texts = [
        *sources,
        "word " * 5000,
        "unbelievably " * 300,
        "a" * 10_000 + " tail",
        ("x " * 253) + "[MASK] y",
        "no spaces at all " + "é" * 9000 + " then words",
    ]
    for max_tokens in (16, 128, 256):
        rust = Tokenizer.from_file(str(tokenizer_json))
        rust.no_padding()
        rust.enable_truncation(max_length=max_tokens)
        for text in long_texts:
            assert wp.encode(text, max_tokens) == rust.encode(text).ids


def test_cache_file_is_read_back(tokenizer_json: Path, tmp_path: Path, monkeypatch) -> None:
    """The first load parses the JSON and writes the cache; the next reads only the
    cache (the JSON parser is not called); a damaged cache is made again."""
    first = WordPiece.load(tokenizer_json, tmp_path)
    assert first is not None
    (cache,) = (tmp_path / "tokenizer").iterdir()

    def no_json(*a, **k):
        raise AssertionError("JSON parsed")

    monkeypatch.setattr(json, "loads", no_json)
    again = WordPiece.load(tokenizer_json, tmp_path)
    assert again is not None and again.encode("cache hit", 256) == first.encode("cache hit", 256)
    monkeypatch.undo()
    cache.write_bytes(b"\x00garbage")
    rebuilt = WordPiece.load(tokenizer_json, tmp_path)
    assert rebuilt is not None and rebuilt.encode("cache hit", 256) == first.encode(
        "cache hit", 256
    )
    assert cache.read_bytes() != b"\x00garbage"


def test_cache_files_of_other_tokenizers_are_pruned(tokenizer_json: Path, tmp_path: Path) -> None:
    """Writing the cache removes other tokenizers' files unused for 30 days; reading it
    marks it as used."""
    import os
    import time

    folder = tmp_path / "tokenizer"
    folder.mkdir()
    stale, recent = (folder / f"wordpiece-v1-{n}.bin" for n in ("stale", "recent"))
    for path, days in ((stale, 31), (recent, 29)):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - days * 86400,) * 2)
    assert WordPiece.load(tokenizer_json, tmp_path) is not None
    (cache,) = set(folder.iterdir()) - {recent}
    assert not stale.exists()
    os.utime(cache, (time.time() - 5 * 86400,) * 2)
    assert WordPiece.load(tokenizer_json, tmp_path) is not None
    assert time.time() - cache.stat().st_mtime < 3600


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["normalizer"].update(lowercase=False),
        lambda d: d["normalizer"].update(strip_accents=False),
        lambda d: d.update(pre_tokenizer={"type": "Whitespace"}),
        lambda d: d["model"].update(continuing_subword_prefix="@@"),
        lambda d: d["added_tokens"][0].update(lstrip=True),
        lambda d: d["post_processor"]["single"].pop(),
        lambda d: d.update(model={"type": "BPE"}),
    ],
)
def test_other_shapes_are_not_taken(tokenizer_json: Path, tmp_path: Path, change) -> None:
    doc = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    change(doc)
    other = tmp_path / "tokenizer.json"
    other.write_text(json.dumps(doc), encoding="utf-8")
    assert WordPiece.load(other, tmp_path / "cache") is None


def test_a_cold_query_does_not_import_the_rust_tokenizer(tmp_path: Path) -> None:
    """Embedding one query loads no ``tokenizers``; a batch of chunks does."""
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from agentctx.embed.numpy_minilm import NumpyMiniLMEmbedder\n"
        f"e = NumpyMiniLMEmbedder(cache_dir=Path({str(tmp_path)!r}))\n"
        "e.embed_batch(['how are retries configured?'])\n"
        "print('tokenizers' in sys.modules)\n"
        "e.embed_batch(['def f(): pass'] * 9)\n"
        "print('tokenizers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", "True"]


def test_categories_changed_since_3_2_are_the_four() -> None:
    """The rule's premise on this Python: among code points assigned in 3.2, exactly four
    changed category (if a Python changes more, ``covers`` leaves them out just the same)."""
    old = unicodedata.ucd_3_2_0
    changed = [
        o
        for o in range(0x110000)
        if old.category(chr(o)) not in ("Cn", "Cs")
        and old.category(chr(o)) != unicodedata.category(chr(o))
    ]
    assert set(CHANGED_SINCE_3_2) <= set(changed)
    assert not any(wordpiece._stable(chr(o)) for o in changed)
