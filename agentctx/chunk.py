"""Symbols -> chunks: stable ids, content hashes and the compact text that gets embedded."""

from __future__ import annotations

import hashlib
import re

from .messages import message_templates
from .models import MODULE_SYMBOL, Chunk, ParsedFile, Symbol
from .parse import CODE_LANGUAGES
from .textutil import split_identifier

ID_MASK = (1 << 63) - 1
CHUNK_VERSION = 2  # bump when own text, hashes or embedded text are built differently
# The module chunk stands in for elided symbols with markers that name their line range;
# a line shift must not count as a modification of the module chunk.
_LINE_RANGE = re.compile(r"\(lines? \d+(?:-\d+)?\)")


def chunk_id(path: str, qualname: str, occurrence: int) -> int:
    """63-bit id from the chunk's identity, stable across runs (FAISS ids are int64)."""
    key = f"{path}\0{qualname}\0{occurrence}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") & ID_MASK
    return value or 1


def own_texts(symbols: tuple[Symbol, ...] | list[Symbol]) -> list[str]:
    """Each symbol's *own* text: its lines with nested symbols elided to ``... name``.

    A class's own text is its header, docstring, fields and the names of its methods;
    its methods are chunks of their own. Editing one method body therefore modifies
    (and re-embeds) that method only, not the class around it, while adding or
    renaming a method does change the class. The module chunk's text is already the
    file's remainder (its line-range markers are dropped so line shifts don't count).
    """
    out: list[str] = []
    for i, sym in enumerate(symbols):
        if sym.qualname == MODULE_SYMBOL:
            out.append(_LINE_RANGE.sub("", sym.text))
            continue
        children: list[Symbol] = []  # direct children only: they cover grandchildren
        for other in symbols[i + 1 :]:
            if other.start_line > sym.end_line:
                break
            if other.qualname == MODULE_SYMBOL or other.end_line > sym.end_line:
                continue
            if (other.start_line, other.end_line) == (sym.start_line, sym.end_line):
                continue
            if children and other.end_line <= children[-1].end_line:
                continue
            children.append(other)
        if not children:
            out.append(sym.text)
            continue
        lines = sym.text.split("\n")
        kept: list[str] = []
        cursor = sym.start_line
        for child in children:
            start = max(child.start_line, cursor)
            kept.extend(lines[cursor - sym.start_line : start - sym.start_line])
            indent = lines[start - sym.start_line][: -len(lines[start - sym.start_line].lstrip())]
            kept.append(f"{indent}... {child.name}")
            cursor = max(cursor, child.end_line + 1)
        kept.extend(lines[cursor - sym.start_line :])
        out.append("\n".join(kept))
    return out


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def embed_text_for(
    path: str,
    qualname: str,
    kind: str,
    signature: str,
    docstring: str,
    text: str,
    max_chars: int = 1200,
) -> str:
    """The compact text a symbol is embedded as: what it is, where, and how it starts.

    Path, qualified name (also split into words, which a general-purpose model
    understands better than ``snake_case``), signature, docstring, then the head of
    the body. Capped at ``max_chars`` (~256 MiniLM tokens of code); the model's own
    256-token truncation is the hard limit.
    """
    pieces = embed_pieces(path, qualname, kind, signature, docstring)
    share = body_share(pieces, max_chars)
    if share:  # (windows.window_texts starts where this stops)
        pieces.append("\n".join(body_lines(signature, docstring, text))[:share])
    return "\n".join(pieces)[:max_chars]


def embed_pieces(path: str, qualname: str, kind: str, signature: str, docstring: str) -> list[str]:
    """The embedded text's lines before the body: header, signature, docstring (its first
    600 characters)."""
    pieces = [embed_header(path, qualname, kind)]
    if signature:
        pieces.append(signature.strip())
    if docstring:
        pieces.append(docstring.strip()[:600])
    return pieces


def body_share(pieces: list[str], max_chars: int) -> int:
    """How many characters of the body (``body_lines`` joined) follow ``pieces`` in the
    embedded text: none when fewer than 40 are left."""
    budget = max_chars - sum(len(p) + 1 for p in pieces)
    return budget if budget > 40 else 0


def embed_header(path: str, qualname: str, kind: str) -> str:
    """What a symbol is and where: the first line of its embedded text."""
    words = (
        ""
        if qualname == MODULE_SYMBOL
        else " ".join(w for part in qualname.split(".") for w in split_identifier(part))
    )
    header = f"{path} :: {qualname} ({kind})"
    if words and words != qualname.lower():
        header += f" - {words}"
    return header


def body_lines(signature: str, docstring: str, text: str) -> list[str]:
    """The stripped, non-blank lines of ``text`` after its signature (and decorators) and
    docstring, which the embedded text has already."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if signature:
        head = signature.strip()[:20]
        for n, line in enumerate(lines[:8]):
            if line.startswith(head):
                lines = lines[n + 1 :]
                break
    if docstring:
        lines = _drop_docstring_literal(lines)
    return lines


_QUOTES = ('"""', "'''", 'r"""', "r'''", 'b"""', 'u"""')


def _drop_docstring_literal(lines: list[str]) -> list[str]:
    """Drop a leading triple-quoted docstring (already in the text once, cleaned)."""
    if not lines or not lines[0].startswith(_QUOTES):
        return lines
    quote = lines[0].lstrip("rbuRBU")[:3]
    first = lines[0].lstrip("rbuRBU")[3:]
    if quote in first:
        return lines[1:]
    for n, line in enumerate(lines[1:], start=1):
        if quote in line:
            return lines[n + 1 :]
    return lines


def embed_hash(embed_text: str) -> str:
    """Key of the embedding cache (combined with the model id by the caller)."""
    return _sha(embed_text)


def chunk_file(parsed: ParsedFile, max_chars: int = 1200) -> list[Chunk]:
    """One chunk per symbol; duplicate qualnames in a file get occurrence indexes."""
    seen: dict[str, int] = {}
    chunks: list[Chunk] = []
    owns = own_texts(parsed.symbols)
    for symbol, own in zip(parsed.symbols, owns, strict=True):
        occurrence = seen.get(symbol.qualname, 0)
        seen[symbol.qualname] = occurrence + 1
        etext = embed_text_for(
            parsed.path,
            symbol.qualname,
            symbol.kind,
            symbol.signature,
            symbol.docstring,
            own,
            max_chars,
        )
        chunks.append(
            Chunk(
                id=chunk_id(parsed.path, symbol.qualname, occurrence),
                path=parsed.path,
                language=parsed.language,
                qualname=symbol.qualname,
                name=symbol.name,
                kind=symbol.kind,
                start_line=symbol.start_line,
                end_line=symbol.end_line,
                signature=symbol.signature,
                docstring=symbol.docstring,
                references=symbol.references,
                parent=symbol.parent,
                text=symbol.text,
                content_hash=_sha(own),
                embed_text=etext,
                embed_hash=embed_hash(etext),
                own_text=own,
                messages=message_templates(own) if parsed.language in CODE_LANGUAGES else (),
            )
        )
    return chunks
