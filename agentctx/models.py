"""Frozen records passed between pipeline stages.

Stages exchange these and nothing else: no dicts with ad-hoc keys. Each record that
outlives a run carries a stable identity and a content hash (see ``chunk.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

MODULE_SYMBOL = "<module>"
"""Qualified name of the module-level remainder chunk (imports, constants, top-level code)."""


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file discovery decided to index. Nothing has been read yet: only ``stat`` data."""

    path: str  # POSIX path relative to the index root, e.g. "src/auth.py"
    abs_path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file discovery looked at and left out, with the reason (for summaries and --json)."""

    path: str
    reason: str  # "binary" | "too-large" | "symlink-outside-root" | "unreadable" | ... (discover)


@dataclass(frozen=True, slots=True)
class Symbol:
    """One code unit found by the parser: a function, class, method, section of a text file...

    Lines are 1-based and inclusive. ``text`` is the exact source of the unit.
    ``references`` are the identifiers the unit calls or references (sorted, unique),
    used later for graph ranking and skeletons.
    """

    name: str  # short name: "method"
    qualname: str  # "Outer.Inner.method"; MODULE_SYMBOL for the module remainder
    kind: str  # function|method|class|interface|struct|trait|enum|impl|module|namespace|section|...
    start_line: int
    end_line: int
    signature: str = ""  # first line(s) up to the body, e.g. "def f(a, b=1) -> int:"
    docstring: str = ""  # docstring or leading comment, cleaned of comment markers
    references: tuple[str, ...] = ()
    parent: str | None = None  # qualname of the enclosing symbol, if any
    text: str = ""


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """What the parser made of one file."""

    path: str
    language: str  # "python", "typescript", "tsx", ..., or "markdown"/"yaml"/"text" for text files
    symbols: tuple[Symbol, ...]
    has_errors: bool = (
        False  # tree-sitter reported ERROR/MISSING nodes; symbols are what it recovered
    )


@dataclass(frozen=True, slots=True)
class Chunk:
    """The unit that is indexed, embedded and later packed: one symbol of one file.

    ``id`` is a 63-bit integer derived from the chunk's identity (path, qualname,
    occurrence), so the same symbol keeps its id across runs and can be removed from
    and re-added to the vector index on its own. ``content_hash`` covers the symbol's
    own text only: it decides whether the symbol was modified.
    ``embed_hash`` covers the text that is embedded (and the model): it keys the
    embedding cache.
    """

    id: int
    path: str
    language: str
    qualname: str
    name: str
    kind: str
    start_line: int
    end_line: int
    signature: str
    docstring: str
    references: tuple[str, ...]
    parent: str | None
    text: str
    content_hash: str
    embed_text: str
    embed_hash: str = ""
    own_text: str = ""  # text minus nested symbols (what the lexical index sees as the body)
    # The message templates of its own text (``messages.message_templates``): code only.
    messages: tuple[str, ...] = ()


@dataclass(slots=True)
class ChangeSet:
    """Symbol-level difference between the stored index and the tree (mutable while built)."""

    added: list[Chunk] = field(default_factory=list)
    modified: list[Chunk] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class Hit:
    """A ranked retrieval result: one chunk, its fused score and why it was found."""

    id: int
    path: str
    qualname: str
    kind: str
    start_line: int
    end_line: int
    score: float  # fused relevance, normalized so the best hit is 1.0
    reasons: tuple[str, ...] = ()  # which signals found it: dense, lexical, symbol, path, graph...


DETAILS = ("full", "skeleton", "signature", "mention")


@dataclass(frozen=True, slots=True)
class PackItem:
    """One symbol as it appears in a bundle, at one detail level."""

    path: str
    symbol: str
    kind: str
    language: str
    start_line: int
    end_line: int
    detail: str  # one of DETAILS
    score: float
    tokens: int  # tokens of this item's rendered block, in the bundle's tokenizer
    text: str  # the code (full / skeleton / signature) or the one-line mention


@dataclass(frozen=True, slots=True)
class Bundle:
    """What ``pack`` hands over: items grouped by file, and what was left out."""

    query: str
    repo: str
    budget: int
    tokenizer: str
    items: tuple[PackItem, ...]
    left_out: int  # relevant symbols that did not fit
    below_threshold: int  # candidates dropped by the relevance threshold
    notes: tuple[str, ...] = ()  # e.g. "ranked lexically: 120 symbols not embedded yet"
