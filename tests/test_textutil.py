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
