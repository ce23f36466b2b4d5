import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from agentctx.textutil import LazyPattern, split_identifier, terms, terms_text


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


def test_lazy_pattern_matches_as_the_compiled_one() -> None:
    source, flags = r"(?P<k>\w+)\s*=\s*(\d+)", re.I
    lazy, real = LazyPattern(source, flags), re.compile(source, flags)
    text = "a = 1, B=22; c =x"
    assert lazy.search(text).group("k") == real.search(text).group("k") == "a"
    assert lazy.match("b=2").span() == real.match("b=2").span()
    assert lazy.fullmatch("b=2 ") is None and real.fullmatch("b=2 ") is None
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.findall(text) == real.findall(text) == [("a", "1"), ("B", "22")]
    assert lazy.sub(r"\g<k>", text) == real.sub(r"\g<k>", text)
    assert lazy.subn("-", text) == real.subn("-", text)
    assert lazy.split(text) == real.split(text)
    assert (lazy.pattern, lazy.flags) == (source, flags)


def test_lazy_pattern_compiles_on_first_use_only() -> None:
    lazy = LazyPattern(r"x+")
    assert "search" not in vars(lazy)  # nothing compiled yet
    assert lazy.match("xx").group() == "xx"
    bound = vars(lazy)["search"]  # every method now bound to one compiled pattern
    assert bound.__self__ is vars(lazy)["sub"].__self__
    assert lazy.search is bound
    with pytest.raises(AttributeError):
        lazy.scanner  # noqa: B018 - not a method it stands in for
    with pytest.raises(re.error):
        LazyPattern(r"(").search("x")  # a bad pattern fails where it is used


def test_query_patterns_are_not_compiled_by_import() -> None:
    # A fresh interpreter: importing the parser compiles none of its patterns, and a
    # one-line question compiles only some of them.
    code = (
        "import agentctx.query as q\n"
        "from agentctx.textutil import LazyPattern\n"
        "ps = [v for v in vars(q).values() if isinstance(v, LazyPattern)]\n"
        "before = sum('search' in vars(p) for p in ps)\n"
        "q.parse_query('how are retries configured?')\n"
        "after = sum('search' in vars(p) for p in ps)\n"
        "print(len(ps), before, after)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    total, before, after = map(int, out.stdout.split())
    assert total > 100
    assert before == 0
    assert 0 < after < total / 2


def test_every_query_pattern_compiles() -> None:
    # Compiled on first use, a bad pattern would fail only on the report that reaches it.
    import agentctx.query as q

    patterns = [v for v in vars(q).values() if isinstance(v, LazyPattern)]
    assert len(patterns) > 100
    for p in patterns:
        re.compile(p.pattern, p.flags)


def _query_patterns() -> list[LazyPattern]:
    import agentctx.query as q

    return [v for v in vars(q).values() if isinstance(v, LazyPattern)]


def test_programs_kept_on_disk_give_the_patterns_re_compiles(tmp_path, monkeypatch) -> None:
    """Every query pattern, compiled, kept, read back by another cache and rebuilt from
    the file alone, is the pattern ``re.compile`` makes: same attributes, same matches."""
    from agentctx import textutil

    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path))
    first = textutil._Programs()
    patterns = [(p.pattern, p.flags) for p in _query_patterns()]
    for source, flags in patterns:
        first.compile(source, flags)
    first.save()
    (kept,) = (tmp_path / "regex").iterdir()

    second = textutil._Programs()
    monkeypatch.setattr(textutil, "_compile_program", None)  # a miss would fail: none may
    lines = [
        *(Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8").splitlines(),
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.11/site-packages/pkg/mod.py", line 12, in <module>',
        "TypeError: unsupported operand type(s) for +: 'int' and 'str'",
        "- Python version: 3.9.7",
        "Hi all, thanks for the great library!",
        ">>> xr.where(cond, x, y, keep_attrs=True)",
    ]
    for source, flags in patterns:
        got, want = second.compile(source, flags), re.compile(source, flags)
        assert (got.pattern, got.flags, got.groups, got.groupindex) == (
            want.pattern,
            want.flags,
            want.groups,
            want.groupindex,
        )
        for line in lines:
            a, b = got.search(line), want.search(line)
            assert (a and (a.span(), a.groups())) == (b and (b.span(), b.groups())), source
    assert not second._new and kept.stat().st_size > 10_000


def test_a_damaged_or_foreign_program_file_compiles_as_before(tmp_path, monkeypatch) -> None:
    import marshal

    from agentctx import textutil

    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path))
    file = textutil._programs_file()
    assert file is not None and file.parent == tmp_path / "regex"
    file.parent.mkdir()
    file.write_bytes(b"\x00not marshal data")
    programs = textutil._Programs()
    assert programs.compile(r"(?P<k>\w+)=(\d+)", 0).match("a=1").group("k") == "a"
    programs.save()  # rewritten whole
    assert list(marshal.loads(file.read_bytes())) == [(r"(?P<k>\w+)=(\d+)", 0)]

    # a program _sre refuses (another interpreter's, or a torn write): compiled again
    file.write_bytes(marshal.dumps({(r"a+", 0): (0, [1, 2, 3], 0, {}, ())}))
    assert textutil._Programs().compile(r"a+", 0).match("aaa").group() == "aaa"
    with pytest.raises(re.error):
        textutil._Programs().compile(r"(", 0)  # a bad pattern still fails where it is used


def test_program_files_of_other_interpreters_are_pruned(tmp_path, monkeypatch) -> None:
    """Saving removes the files of other interpreters that none has used for 30 days;
    reading marks this one's file as used."""
    import os
    import time

    from agentctx import textutil

    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path))
    file = textutil._programs_file()
    assert file is not None
    file.parent.mkdir()
    stale, recent = (file.parent / f"programs-{n}.bin" for n in ("stale", "recent"))
    for path, days in ((stale, 31), (recent, 29)):
        path.write_bytes(b"x")
        os.utime(path, (time.time() - days * 86400,) * 2)
    programs = textutil._Programs()
    programs.compile(r"b+", 0)
    programs.save()
    assert file.exists() and not stale.exists() and recent.exists()
    os.utime(file, (time.time() - 5 * 86400,) * 2)
    textutil._Programs().compile(r"b+", 0)
    assert time.time() - file.stat().st_mtime < 3600  # marked as in use


def test_a_new_process_parses_a_report_from_the_kept_programs(tmp_path) -> None:
    # The first process compiles and keeps what it used; the second compiles none of it
    # (it counts what it would compile) and parses the same.
    code = (
        "import json, agentctx.textutil as t\n"
        "compiled = []\n"
        "make = t._compile_program\n"
        "def spy(pattern, flags):\n"
        "    compiled.append(pattern)\n"
        "    return make(pattern, flags)\n"
        "t._compile_program = spy\n"
        "from agentctx.query import parse_query\n"
        "q = parse_query('Retries ignored\\nTraceback (most recent call last):\\n'\n"
        "    '  File \"/x/pkg/adapters.py\", line 5, in send\\nValueError: boom\\n')\n"
        "print(json.dumps([q.title, [f.path for f in q.frames], q.errors, len(compiled)]))\n"
    )
    env = {**os.environ, "AGENTCTX_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr + runs[1].stderr
    first, second = (json.loads(r.stdout) for r in runs)
    assert first[:3] == second[:3] and first[1] == ["/x/pkg/adapters.py"]
    assert first[3] > 20 and second[3] == 0  # compiled once, then read back
    assert len(list((tmp_path / "regex").iterdir())) == 1


def test_valid_text_mends_what_utf8_cannot_hold():
    from agentctx.textutil import valid_text

    assert valid_text("plain ünïcode ✓") == "plain ünïcode ✓"
    undecodable = b"caf\xe9 \xff".decode("utf-8", "surrogateescape")  # as argv arrives
    assert valid_text(undecodable) == "caf\ufffd \ufffd"
    assert valid_text("lone \ud800 surrogate") == "lone ? surrogate"
    for text in (undecodable, "x\udfff"):
        valid_text(text).encode("utf-8")  # strict
