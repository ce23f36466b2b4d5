"""Identifier splitting shared by the lexical index and query parsing, and the lazily
compiled regular expressions of the query path.

Both sides must tokenize the same way, so this lives in one place that every
stage may import.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

_PATTERN_METHODS = ("search", "match", "fullmatch", "finditer", "findall", "sub", "subn", "split")


class _Programs:
    """What ``re`` compiles the lazy patterns into, kept on disk between processes.

    Python keeps a module's bytecode between runs, not its regular expressions: a cold
    ``pack`` of a bug report spent 45-80 ms compiling the query parser's patterns (112 of
    them: 81 ms). ``re.compile`` parses a pattern into a program (a list of integers),
    then hands it, with the flags and groups it found, to ``_sre.compile``; those
    arguments are kept here, in the user cache, in a file named for this interpreter's
    version and regular-expression engine, and read back in ~2 ms. ``_sre`` checks every
    program it is given. A pattern the file lacks, a file that cannot be read or written,
    or an interpreter whose internals differ compiles as ``re.compile`` does.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._file: Path | None = None
        self._saving = False  # registered to save at exit
        self._known: dict[tuple[str, int], tuple[Any, ...]] | None = None
        self._new: dict[tuple[str, int], tuple[Any, ...]] = {}

    def compile(self, pattern: str, flags: int) -> re.Pattern[str]:
        key = (pattern, int(flags))
        with self._lock:
            known = self._load()
            args = known.get(key)
            if args is not None:
                with contextlib.suppress(Exception):  # not this interpreter's: compile
                    return _sre_compile(pattern, args)
            try:
                compiled, args = _compile_program(pattern, key[1])
            except Exception:  # re's internals are not what this was written for
                return re.compile(pattern, flags)
            known[key] = self._new[key] = args
            if not self._saving:
                import atexit

                atexit.register(self.save)
                self._saving = True
            return compiled

    def _load(self) -> dict[tuple[str, int], tuple[Any, ...]]:
        if self._known is None:
            self._known = {}  # (what finding the file compiles, if anything, is not kept)
            self._file = _programs_file()
            if self._file is not None:
                self._known.update(_read_programs(self._file))
                if self._known:
                    from .cachefiles import mark_used

                    mark_used(self._file)
        return self._known

    def save(self) -> None:
        """Add this process's new programs to the file (another may have added others)."""
        with self._lock:
            if not self._new or self._file is None:
                return
            merged = {**_read_programs(self._file), **self._new}
            self._new = {}
        import marshal

        from .cachefiles import write

        write(self._file, marshal.dumps(merged), "programs-*.bin")  # (other Pythons' pruned)


def _sre_compile(pattern: str, args: tuple[Any, ...]) -> re.Pattern[str]:
    import _sre

    return _sre.compile(pattern, *args)  # type: ignore[no-any-return]


def _compile_program(pattern: str, flags: int) -> tuple[re.Pattern[str], tuple[Any, ...]]:
    """``re.compile(pattern, flags)`` as ``re._compiler.compile`` makes it (uncached), and
    the arguments it gave ``_sre.compile``, as plain values ``marshal`` keeps."""
    from re import _compiler, _parser  # type: ignore[attr-defined]

    parsed = _parser.parse(pattern, flags)
    code = [int(op) for op in _compiler._code(parsed, flags)]
    groupindex = {str(name): int(i) for name, i in parsed.state.groupdict.items()}
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    args = (
        int(flags | parsed.state.flags),
        code,
        int(parsed.state.groups - 1),
        groupindex,
        tuple(indexgroup),
    )
    return _sre_compile(pattern, args), args


def _programs_file() -> Path | None:
    import hashlib
    import sys

    try:
        import _sre

        from .config import default_cache_dir

        tag = f"{sys.implementation.cache_tag}|{sys.version}|{_sre.MAGIC}|{_sre.CODESIZE}"
        digest = hashlib.sha256(tag.encode()).hexdigest()[:16]
        return default_cache_dir() / "regex" / f"programs-{digest}.bin"
    except Exception:
        return None


def _read_programs(file: Path) -> dict[tuple[str, int], tuple[Any, ...]]:
    import marshal

    try:
        data = marshal.loads(file.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


_PROGRAMS = _Programs()


class LazyPattern:
    """``re.compile(pattern, flags)``, done on first use.

    Compiling costs 0.1-16 ms a pattern. Query parsing holds over a hundred, most of
    them for the boilerplate of long bug reports; a one-line question runs about a
    quarter of them, so a cold ``pack`` would spend ~40 ms compiling patterns it
    never runs. The first use binds the compiled pattern's methods onto the instance,
    so later calls cost what a compiled pattern's do; what it compiled is kept between
    processes (``_Programs``).
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
        compiled = _PROGRAMS.compile(self.pattern, self.flags)
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


def is_utf8(text: str) -> bool:
    """Whether ``text`` holds no lone surrogate: a file name or argument whose bytes were
    not UTF-8 holds some (PEP 383)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_text(text: str) -> str:
    """``text`` with what UTF-8 cannot hold made U+FFFD, as files are read: the bytes of an
    argument or of stdin that are not UTF-8 arrive as lone surrogates (PEP 383), which the
    tokenizer, SQLite and stdout all refuse."""
    if is_utf8(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")  # the bytes that were undecodable
    except UnicodeEncodeError:  # other lone surrogates (a JSON escape, say)
        data = text.encode("utf-8", "replace")
    return data.decode("utf-8", "replace")


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
