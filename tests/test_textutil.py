from agentctx.textutil import split_identifier, terms, terms_text


def test_split_identifier_camel_snake_and_acronyms():
    assert split_identifier("getHTTPResponse_code") == ["get", "http", "response", "code"]
    assert split_identifier("ProfileAvatar") == ["profile", "avatar"]
    assert split_identifier("__init__") == ["init"]
    assert split_identifier("parse2json") == ["parse", "2", "json"]


def test_terms_keep_full_identifier_and_parts():
    out = list(terms("def load_settings(rootDir): pass"))
    assert out[:2] == ["def", "load_settings"]
    assert "load" in out and "settings" in out
    assert "rootdir" in out and "root" in out and "dir" in out


def test_terms_text_caps_output():
    assert len(terms_text(["a b c d e"], limit=3).split()) == 3


def _terms_uncached(text: str) -> list[str]:
    """The definition: each word lowercased, then its identifier parts that differ."""
    import re

    out: list[str] = []
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+", text):
        out.append(word.lower())
        parts = split_identifier(word)
        if len(parts) > 1 or (parts and parts[0] != word.lower()):
            out.extend(p for p in parts if p != word.lower())
    return out


def test_terms_are_the_same_from_the_word_cache(monkeypatch):
    import agentctx.textutil as textutil

    text = "getHTTPResponse_code x2y __init__ ID id Id parse2json _ 42 ab_cd_ab HTTP"
    first = list(terms(text))
    assert first == _terms_uncached(text)
    assert list(terms(text)) == first  # now from the cache
    assert terms_text([text, text], limit=7).split() == (first + first)[:7]
    monkeypatch.setattr(textutil, "_EXPANSIONS_MAX", 3)  # the cache starts over when full
    assert list(terms(text + " zzTop")) == _terms_uncached(text + " zzTop")
    assert len(textutil._EXPANSIONS) <= 3
