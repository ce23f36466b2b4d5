"""Message templates: the string literals a program prints its errors and warnings from.

A report's error line (``TypeError: write() argument must be str, not bytes``, pytest's
``E   Right contains more items, first extra item: 52``) was printed by a format string in
the project's code (``"write() argument must be str, not {}"``, ``"%s contains %d more
items, first extra item: %s"``). The chunk stage keeps each chunk's single-line string
literals of a few words, with their placeholders (``%s``, ``{}``, ``{name!r}``, ``${x}``,
``#{x}``, ``%v``) marked; retrieval matches a report's error lines against them: every
literal run of the template, in order, word for word.

Pure text functions: no index, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Bump when what ``message_templates`` keeps changes: it is part of the chunk recipe, so
# every file is re-parsed (not re-embedded) once.
MESSAGES_VERSION = 1
# A template needs this many words of two letters or more besides its placeholders:
# `"%s: %s"` or `"invalid value"` would match any line.
TEMPLATE_MIN_WORDS = 4
TEMPLATE_MAX_CHARS = 300  # longer: data (a regex, a table row), never a printed message
# What marks a placeholder in a stored template (never in a line of text).
HOLE = "\x1f"

# A string literal on one line: double, single or back quotes, escapes kept. A triple-quoted
# string (a docstring) is matched first so that its quotes start nothing; it is skipped.
_STRING = re.compile(
    r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|`(?:[^`\\\n]|\\.)*`'
)
# Placeholders of printf (`%s`, `%(name)r`, `%-10.2f`, Go's `%v`), str.format and f-strings
# (`{}`, `{0}`, `{name!r:>10}`), Rust (`{:?}`), JavaScript (`${x}`) and Ruby (`#{x}`).
_PLACEHOLDER = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:hh|h|ll|l|L|z|j|t|q)?"
    r"[diouxXeEfFgGcrsavTtpqwb]"
    r"|[$#]?\{[^{}]*\}"
)
# Words, numbers and single punctuation marks: what a template's runs are compared by.
_TOKEN = re.compile(r"[^\W\d]\w*|\d+|[^\w\s]")


def tokens(text: str) -> list[str]:
    """``text`` as the tokens templates are matched by (case kept: a message is printed as
    written)."""
    return _TOKEN.findall(text)


def _words(runs: Iterable[list[str]]) -> list[str]:
    return [t for run in runs for t in run if len(t) > 1 and not t[0].isdigit() and t[0] != "_"]


def message_templates(code: str) -> tuple[str, ...]:
    """The single-line string literals of ``code`` that read as a message: at least
    ``TEMPLATE_MIN_WORDS`` words besides placeholders. Each is returned with its
    placeholders replaced by ``HOLE``, in order of first appearance."""
    out: dict[str, None] = {}
    for m in _STRING.finditer(code):
        literal = m.group(0)
        if literal[:3] in ('"""', "'''"):
            continue
        body = literal[1:-1]
        if len(body) > TEMPLATE_MAX_CHARS or HOLE in body:
            continue
        parts = _PLACEHOLDER.split(body)
        if len(_words(tokens(p) for p in parts)) < TEMPLATE_MIN_WORDS:
            continue
        out.setdefault(HOLE.join(p.strip() for p in parts), None)
    return tuple(out)


def anchor(template: str) -> str:
    """The template's longest word: a line it printed holds that word as a token, so
    looking templates up by a line's tokens finds every one that can match."""
    words = _words(tokens(p) for p in template.split(HOLE))
    return max(words, key=len) if words else ""


def matches(line_tokens: list[str], template: str) -> bool:
    """Whether the line holds the template's literal runs, each word for word and in order
    (placeholders stand for anything, even nothing)."""
    pos = 0
    for part in template.split(HOLE):
        run = tokens(part)
        if not run:
            continue
        pos = _find(line_tokens, run, pos)
        if pos < 0:
            return False
    return True


def _find(seq: list[str], run: list[str], start: int) -> int:
    """The index just past the first occurrence of ``run`` in ``seq`` from ``start``; -1."""
    n = len(run)
    first = run[0]
    for i in range(start, len(seq) - n + 1):
        if seq[i] == first and seq[i : i + n] == run:
            return i + n
    return -1
