"""Symbols -> chunks: stable ids, content hashes and the compact text that gets embedded."""

from __future__ import annotations

import hashlib
import re

from .models import MODULE_SYMBOL, Chunk, ParsedFile, Symbol
from .textutil import split_identifier

ID_MASK = (1 << 63) - 1
# The module chunk stands in for elided symbols with markers that name their line range;
# a line shift must not count as a modification of the module chunk.
_LINE_RANGE = re.compile(r"\(lines? \d+(?:-\d+)?\)")


def chunk_id(path: str, qualname: str, occurrence: int) -> int:
    """63-bit id from the chunk's identity, stable across runs (FAISS ids are int64)."""
    key = f"{path}\0{qualname}\0{occurrence}".encode()
    value = int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") & ID_MASK
    return value or 1


def own_texts(symbols: tuple[Symbol, ...] | list[Symbol]) -> list[str]:
    """Each symbol's *own* text: its lines minus the lines of symbols nested in it.

    A class's own text is its header, docstring and fields; its methods are chunks of
    their own. Editing one method therefore modifies (and re-embeds) that method only,
    not the class around it. The module chunk's text is already the file's remainder.
    """
    out: list[str] = []
    for i, sym in enumerate(symbols):
        if sym.qualname == MODULE_SYMBOL:
            out.append(_LINE_RANGE.sub("", sym.text))
            continue
        nested: list[tuple[int, int]] = []
        for other in symbols[i + 1 :]:
            if other.start_line > sym.end_line:
                break
            if other.qualname == MODULE_SYMBOL:
                continue
            if (other.start_line, other.end_line) != (sym.start_line, sym.end_line) and (
                other.end_line <= sym.end_line
            ):
                nested.append((other.start_line, other.end_line))
        if not nested:
            out.append(sym.text)
            continue
        lines = sym.text.split("\n")
        kept: list[str] = []
        elided = False
        for offset, line in enumerate(lines):
            lineno = sym.start_line + offset
            if any(a <= lineno <= b for a, b in nested):
                if not elided:
                    kept.append("...")
                elided = True
                continue
            elided = False
            kept.append(line)
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
    words = " ".join(w for part in qualname.split(".") for w in split_identifier(part))
    header = f"{path} :: {qualname} ({kind})"
    if words and words != qualname.lower():
        header += f" - {words}"
    pieces = [header]
    if signature:
        pieces.append(signature.strip())
    if docstring:
        pieces.append(docstring.strip()[:600])
    budget = max_chars - sum(len(p) + 1 for p in pieces)
    if budget > 40:
        body = text
        if signature and body.lstrip().startswith(signature.strip()[:20]):
            # The signature is already there: start the head after the first line.
            body = body.split("\n", 1)[1] if "\n" in body else ""
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        pieces.append("\n".join(lines)[:budget])
    return "\n".join(pieces)[:max_chars]


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
            )
        )
    return chunks
