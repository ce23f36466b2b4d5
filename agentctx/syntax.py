"""Which parts of a chunk's text are code: string literals and comments per language.

Shared by retrieval (a line a report quotes counts only where the project's code holds
it, not an example in a docstring) and compression (signatures and skeletons read code,
not strings). Pure, no state, and parser-free like compression: a regular expression per
comment and string convention covers every language, with or without a grammar.
"""

from __future__ import annotations

import re

# Block openers are brace-delimited here; their elision marker is a line comment.
C_LIKE = frozenset(
    {
        "c", "cpp", "java", "javascript", "typescript", "tsx", "go", "rust", "csharp",
        "kotlin", "swift", "scala", "dart", "php", "groovy", "proto",
    }
)  # fmt: skip
SINGLE_QUOTE_STRINGS = frozenset({"javascript", "typescript", "tsx", "php", "dart", "groovy"})
END_BLOCKS = frozenset({"ruby", "lua", "elixir", "julia"})  # blocks close with `end`
HASH_COMMENTS = frozenset(
    {
        "ruby", "shell", "yaml", "toml", "ini", "perl", "r", "elixir", "julia", "makefile",
        "dockerfile", "terraform", "powershell", "cmake", "graphql",
    }
)  # fmt: skip
DASH_COMMENTS = frozenset({"lua", "sql", "haskell"})

PY_MASK = re.compile(
    r"""[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?(?:\"\"\"|\Z)|'''[\s\S]*?(?:'''|\Z)"""
    r"""|"(?:\\.|[^"\\\n])*(?:"|$)|'(?:\\.|[^'\\\n])*(?:'|$))|\#[^\n]*""",
    re.MULTILINE,
)
C_MASK = re.compile(
    r"""//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*(?:"|$)|`(?:\\.|[^`\\])*(?:`|\Z)"""
    r"""|'(?:\\.[^'\n]{0,8}|[^\\'\n])'""",
    re.MULTILINE,
)
JS_MASK = re.compile(
    r"""//[^\n]*|/\*[\s\S]*?(?:\*/|\Z)|"(?:\\.|[^"\\\n])*(?:"|$)|`(?:\\.|[^`\\])*(?:`|\Z)"""
    r"""|'(?:\\.|[^'\\\n])*(?:'|$)""",
    re.MULTILINE,
)
HASH_MASK = re.compile(
    r"""\#[^\n]*|"(?:\\.|[^"\\\n])*(?:"|$)|'(?:\\.|[^'\\\n])*(?:'|$)""", re.MULTILINE
)
DASH_MASK = re.compile(
    r"""--[^\n]*|"(?:\\.|[^"\\\n])*(?:"|$)|'(?:\\.|[^'\\\n])*(?:'|$)""", re.MULTILINE
)
_NOT_NEWLINE = re.compile(r"[^\n]")
_WORD = re.compile(r"[A-Za-z_]")


def literal_mask(language: str) -> re.Pattern[str] | None:
    """The pattern of a language's string literals and comments (None: plain text)."""
    if language == "python":
        return PY_MASK
    if language in C_LIKE:
        return JS_MASK if language in SINGLE_QUOTE_STRINGS else C_MASK
    if language in HASH_COMMENTS:
        return HASH_MASK
    if language in DASH_COMMENTS:
        return DASH_MASK
    return None


def blank_out(m: re.Match[str]) -> str:
    """A string or comment as spaces, its line breaks kept."""
    text = m.group()
    return _NOT_NEWLINE.sub(" ", text) if "\n" in text else " " * len(text)


def code_only(text: str, language: str) -> str:
    """``text`` with its strings and comments as spaces: same length, same offsets."""
    mask = literal_mask(language)
    return mask.sub(blank_out, text) if mask is not None else text


def in_code(text: str, needle: str, code: str) -> bool:
    """Does some occurrence of ``needle`` in ``text`` hold code, a word outside strings and
    comments? ``code`` is ``code_only(text, ...)``. An example line in a docstring or a
    commented-out line does not; ``"{} rows".format(n)`` does (``.format``)."""
    i = text.find(needle)
    while i >= 0:
        if _WORD.search(code, i, i + len(needle)):
            return True
        i = text.find(needle, i + 1)
    return False
