"""Identifier splitting shared by the lexical index and query parsing, and the lazily
compiled regular expressions of the query path.

Both sides must tokenize the same way, so this lives in one place that every
stage may import.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_PATTERN_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class LazyPattern:
    """``re.compile(pattern, flags)``, done on first use.

    Compiling costs 0.1-16 ms a pattern. Query parsing holds over a hundred, most of
    them for the boilerplate of long bug reports; a one-line question runs about a
    quarter of them, so a cold ``pack`` would spend ~40 ms compiling patterns it
    never runs. The first use binds the compiled pattern's methods onto the instance,
    so later calls cost what a compiled pattern's do.
    """

    search: Callable[..., re.Match[str] | None]
    match: Callable[..., re.Match[str] | None]
    fullmatch: Callable[..., re.Match[str] | None]
    finditer: Callable[..., Iterator[re.Match[str]]]
    findall: Callable[..., list[Any]]
    sub: Callable[..., str]
    subn: Callable[..., tuple[str, int]]
    split: Callable[..., list[Any]]

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags

    def __getattr__(self, name: str) -> Any:
        if name not in _PATTERN_METHODS:
            raise AttributeError(name)
        compiled = re.compile(self.pattern, self.flags)
        for method in _PATTERN_METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"LazyPattern({self.pattern!r}, {self.flags!r})"


# Words too common in issue text and code to carry signal on their own.
# fmt: off
STOP_TERMS = frozenset(
    """
    a an and are as at be been but by can could did do does doesn don for from get got
    has have how i if in into is it its just like may me might my no not now of on one
    or our out should so some such than that the their them then there these they this
    to too up us use used using was way we were what when where which while who why
    will with would you your self cls none true false return def class import the issue
    bug error problem expected actual behavior behaviour work works working version
    please thanks example code
    """.split()  # noqa: SIM905
)
# fmt: on

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|[0-9]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def split_identifier(identifier: str) -> list[str]:
    """``getHTTPResponse_code`` -> ``["get", "http", "response", "code"]``."""
    parts: list[str] = []
    for piece in identifier.split("_"):
        if piece:
            parts.extend(p.lower() for p in _CAMEL.findall(piece))
    return parts


# Each distinct word's terms, computed once: code repeats its identifiers, and splitting
# every occurrence anew was half of a first index's time (sympy: 1.8 of 3.8 s of store).
_EXPANSIONS: dict[str, tuple[str, ...]] = {}
_EXPANSIONS_MAX = 100_000  # distinct words kept, ~12 MB (then it starts over; sympy has 75,000)


def _expansion(word: str) -> tuple[str, ...]:
    """``word`` lowercased, then its identifier parts that differ from it."""
    got = _EXPANSIONS.get(word)
    if got is None:
        lower = word.lower()
        parts = split_identifier(word)
        if len(parts) > 1 or (parts and parts[0] != lower):
            got = (lower, *(p for p in parts if p != lower))
        else:
            got = (lower,)
        if len(_EXPANSIONS) >= _EXPANSIONS_MAX:
            _EXPANSIONS.clear()
        _EXPANSIONS[word] = got
    return got


def terms(text: str) -> Iterator[str]:
    """Lexical terms of ``text``: each identifier in full (lowercased) and its parts."""
    for word in _WORD.findall(text):
        yield from _EXPANSIONS.get(word) or _expansion(word)


def terms_text(texts: Iterable[str], limit: int = 20000) -> str:
    """Space-joined terms of several texts, capped at ``limit`` terms (huge generated code)."""
    out: list[str] = []
    get = _EXPANSIONS.get
    for text in texts:
        for word in _WORD.findall(text):
            out.extend(get(word) or _expansion(word))
            if len(out) >= limit:
                return " ".join(out[:limit])
    return " ".join(out)


# A reference to an issue or a pull request: `#1234`, `(#1234)`, `Fixes #1234`, a link to
# `.../pull/1234` or `.../issues/1234` (GitLab's `.../merge_requests/12`). Two digits at least,
# no leading zero (`#0a0a0a` colours, `#1` list items), not inside a word or an HTML entity.
_REFERENCE = re.compile(
    r"(?<![\w&#/])#([1-9][0-9]{1,6})\b|/(?:pull|issues|merge_requests)/([1-9][0-9]{0,6})\b"
)
REFERENCE_TERM = "ref_{}"  # how the history documents keep a reference: not a message word


def reference_terms(text: str) -> list[str]:
    """``ref_1234`` for each issue or pull request ``text`` refers to, first mention first."""
    found = (a or b for a, b in _REFERENCE.findall(text))
    return [REFERENCE_TERM.format(n) for n in dict.fromkeys(found)]
