"""Detail levels of one chunk for ``pack``: full, skeleton, signature, mention.

Pure and parser-free: indentation, bracket counting and each language's comment and
docstring conventions are enough to show code compactly, and the same rules work on
any language, including those without a grammar. A skeleton is what a senior engineer
would paste to explain a unit: decorators and the full signature, the docstring,
class-level declarations, the signatures of nested methods, and the lines that
mention what the query asks about, with the blocks they sit in. Everything left out
becomes one marker line (``...``, ``// ...`` or ``# ...``) at its indentation.

Output is deterministic, keeps the original line order, and is never longer than
the full text (the full text is returned instead).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from .models import MODULE_SYMBOL, Chunk
from .syntax import (
    C_LIKE,
    C_MASK,
    DASH_COMMENTS,
    END_BLOCKS,
    HASH_COMMENTS,
    blank_out,
    literal_mask,
)
from .textutil import terms

LINE_CAP = 300  # a kept line longer than this is cut, with " ..."
DOC_MAX_LINES = 12  # a docstring or leading comment up to this long is kept whole
DOC_LINE_CAP = 100  # the docstring line a signature adds
_SCAN = 40  # the most lines a multi-line header may span
_CONT = 8  # the most continuation lines kept with a declaration or a matching line
_ATTACHED = 3  # comment lines right above a kept declaration that stay with it

_STRUCTURED = frozenset({"yaml", "toml", "json", "ini", "xml", "html", "css", "terraform"})
# Kinds whose body is declarations (fields, methods), not statements.
_CLASS_KINDS = frozenset(
    {
        "class", "interface", "struct", "trait", "enum", "impl", "module", "namespace", "type",
        "object", "record", "protocol", "extension", "union",
    }
)  # fmt: skip
_SELF_NAMES = frozenset({"self", "cls", "this", "&self", "&mut self", "mut self"})


_PY_HEADER_TOKENS = re.compile(r"[()\[\]{}]|:(?!=)")
_BRACE_HEADER_TOKENS = re.compile(r"[()\[\]{;]|=>")
_PY_STRING_START = re.compile(r"""[rRuUbBfF]{0,2}(\"\"\"|'''|"|')""")
_DOC_MARKS = re.compile(r"""^(?:/\*+!?|\*+/?|//[/!]?|#+!?|--+|[rRuUbBfF]{0,2}(?:\"\"\"|'''))""")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")
_END_CLOSER = re.compile(r"end\b")
_LINE_BREAKS = re.compile(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+")
_LIFETIME = re.compile(r"'[A-Za-z_]\w*\b(?!')")


@dataclass(frozen=True, slots=True)
class _Lang:
    family: str  # python | brace | end | text
    marker: str  # the elision marker, without indentation
    comment: str  # line-comment token, for a docstring line in a signature
    mask: re.Pattern[str] | None
    opens: str  # brackets whose depth makes the next line a continuation
    closes: str


def _lang(language: str) -> _Lang:
    mask = literal_mask(language)
    if language == "python":
        return _Lang("python", "...", "#", mask, "([{", ")]}")
    if language in C_LIKE:
        return _Lang("brace", "// ...", "//", mask, "([", ")]")
    family = "end" if language in END_BLOCKS else "text"
    if language in HASH_COMMENTS:
        return _Lang(family, "# ...", "#", mask, "([", ")]")
    if language in DASH_COMMENTS:
        return _Lang(family, "-- ...", "--", mask, "([", ")]")
    return _Lang("text", "...", "", None, "([", ")]")


def _bracket_nets(lines: list[str], opens: str, closes: str) -> list[int]:
    """Per line, opening minus closing brackets. Spelled out per bracket kind: a
    skeleton of a large class (thousands of lines) spent most of its time counting."""
    if opens == "([{" and closes == ")]}":
        return [
            c.count("(") + c.count("[") + c.count("{") - c.count(")") - c.count("]") - c.count("}")
            for c in lines
        ]
    if opens == "([" and closes == ")]":
        return [c.count("(") + c.count("[") - c.count(")") - c.count("]") for c in lines]
    return [sum(c.count(o) for o in opens) - sum(c.count(x) for x in closes) for c in lines]


def _is_closer(stripped: str, family: str) -> bool:
    """Does a line (stripped) close a block: ``}`` or an ``end``?"""
    if family == "brace":
        return stripped.startswith("}")
    if family == "end":
        return bool(_END_CLOSER.match(stripped))
    return False


class _Src:
    """The chunk's lines with what the heuristics need: indentation, code without
    strings and comments, and bracket depth at the start of each line."""

    def __init__(self, text: str, lang: _Lang, limit: int | None = None) -> None:
        norm = text.replace("\r\n", "\n")
        if norm.endswith("\n"):
            norm = norm[:-1]
        self.lang = lang
        self.raw = norm.split("\n") if text else []  # every line, also past ``limit``
        self.lines = self.raw
        if limit is not None and len(self.raw) > limit:  # analyse the first lines only
            self.lines = self.raw[:limit]
            norm = "\n".join(self.lines)
        if lang.mask is not None and self.lines:
            masked = lang.mask.sub(blank_out, norm)
            self.code = masked.split("\n")
        else:
            self.code = self.lines
        self.indent: list[int] = []
        for line in self.lines:
            stripped = line.lstrip()
            ws = line[: len(line) - len(stripped)]
            self.indent.append(len(ws.expandtabs(4)) if stripped else -1)
        self.depth: list[int] = [0]  # bracket depth before each line (and after the last)
        depth = 0
        for net in _bracket_nets(self.code, lang.opens, lang.closes):
            depth = max(0, depth + net)
            self.depth.append(depth)
        self._parent: list[int] | None = None
        self._closers: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self.lines)

    def blank(self, i: int) -> bool:
        return self.indent[i] < 0

    def comment(self, i: int) -> bool:
        """A line holding only a comment (or string content, for Python)."""
        return self.indent[i] >= 0 and not self.code[i].strip() and self.lang.mask is not None

    def stripped(self, i: int) -> str:
        return self.lines[i].strip()

    def ws(self, i: int) -> str:
        return _ws(self.lines[i])

    def statement_end(self, i: int, stop: int) -> int:
        """Last line of the statement starting at ``i`` (brackets left open continue it)."""
        end = i
        while end + 1 < stop and self.depth[end + 1] > 0 and end - i < _CONT:
            end += 1
        return end

    def statement_start(self, i: int, lo: int) -> int:
        start = i
        while start > lo and self.depth[start] > 0 and i - start < _CONT:
            start -= 1
        return start

    def closer(self, i: int) -> bool:
        return _is_closer(self.stripped(i), self.lang.family)

    def opener(self, i: int) -> bool:
        """Does line ``i`` open a block that a closer line ends?"""
        if self.lang.family == "brace":
            code = self.code[i]
            return code.count("{") > code.count("}")
        return self.lang.family == "end"

    def parent(self, i: int) -> int:
        """The nearest code line above ``i`` that is indented less (its block header), or -1."""
        if self._parent is None:
            parents = [-1] * len(self.lines)
            stack: list[int] = []
            for j, level in enumerate(self.indent):
                if level < 0:
                    continue
                while stack and self.indent[stack[-1]] >= level:
                    stack.pop()
                parents[j] = stack[-1] if stack else -1
                if not self.comment(j):
                    stack.append(j)
            self._parent = parents
        return self._parent[i]

    def closer_of(self, h: int, stop: int) -> int:
        """The line closing the block opened on line ``h`` (same indentation), or -1."""
        if h not in self._closers:
            found = -1
            for j in range(h + 1, stop):
                if self.indent[j] >= 0 and self.indent[j] <= self.indent[h]:
                    found = j if self.closer(j) else -1
                    break
            self._closers[h] = found
        return self._closers[h]

    def decorator(self, i: int) -> bool:
        s = self.stripped(i)
        family = self.lang.family
        if family == "python":
            return s.startswith("@")
        if family == "brace":
            return (
                (s.startswith("@") and not s.startswith("@interface"))
                or s.startswith(("#[", "#!["))
                or (s.startswith("[") and self.lang.mask is C_MASK and s.endswith("]"))
            )
        return False


@dataclass(frozen=True, slots=True)
class _Head:
    """Where the parts of a definition's head are (indices, inclusive; -1 when absent)."""

    lead: tuple[int, int]  # leading comment block
    header: tuple[int, int]  # decorators + signature lines
    doc: tuple[int, int]  # docstring (Python) right after the signature
    body: int  # first line after all of these


_NONE = (-1, -2)


def _header_end(src: _Src, s: int, stop: int) -> int:
    """Last line of the signature starting at ``s``: up to the body opener."""
    family = src.lang.family
    limit = min(stop, s + _SCAN)
    if family == "python":
        depth = 0
        for i in range(s, limit):
            for m in _PY_HEADER_TOKENS.finditer(src.code[i]):
                tok = m.group()
                if tok in "([{":
                    depth += 1
                elif tok in ")]}":
                    depth = max(0, depth - 1)
                elif depth == 0:
                    return i
        return s
    if family == "brace":
        depth = 0
        for i in range(s, limit):
            code = src.code[i]
            for m in _BRACE_HEADER_TOKENS.finditer(code):
                tok = m.group()
                if tok in "([":
                    depth += 1
                elif tok in ")]":
                    depth = max(0, depth - 1)
                elif depth == 0:
                    if tok == "=>":  # an arrow with an expression body ends here
                        rest = code[m.end() :].strip()
                        if rest and not rest.startswith("{"):
                            return i
                        continue
                    return i
        return s
    return src.statement_end(s, stop)


def _head(src: _Src, a: int, b: int, *, signature: bool = True) -> _Head:
    """Split lines ``[a, b)`` into leading comments, header and docstring."""
    i = a
    while i < b and src.comment(i) and not _py_string_start(src, i):
        i += 1
    lead = (a, i - 1) if i > a else _NONE
    if not signature:
        if i < b and _py_string_start(src, i):
            doc = (i, _py_string_end(src, i, b))
            return _Head(lead, _NONE, doc, doc[1] + 1)
        return _Head(lead, _NONE, _NONE, i)
    hs = i
    while i < b and (src.decorator(i) or (i > hs and src.comment(i))):
        i = src.statement_end(i, b) + 1
    if i >= b:
        return _Head(lead, (hs, b - 1) if hs < b else _NONE, _NONE, b)
    he = _header_end(src, i, b)
    doc = _NONE
    if src.lang.family == "python":
        k = he + 1
        while k < b and src.blank(k):
            k += 1
        if k < b and _py_string_start(src, k):
            doc = (k, _py_string_end(src, k, b))
    return _Head(lead, (hs, he), doc, max(he, doc[1]) + 1)


def _py_string_start(src: _Src, i: int) -> bool:
    return src.lang.family == "python" and bool(_PY_STRING_START.match(src.stripped(i)))


def _py_string_end(src: _Src, k: int, stop: int) -> int:
    s = src.stripped(k)
    m = _PY_STRING_START.match(s)
    if m is None:
        return k
    quote = m.group(1)
    if len(quote) == 1 or quote in s[m.end() :]:
        return k
    for j in range(k + 1, stop):
        if quote in src.lines[j]:
            return j
    return stop - 1


def _doc_keep(src: _Src, span: tuple[int, int], keep: list[bool]) -> None:
    """Keep a docstring or comment block: whole if short, else its first paragraph."""
    a, b = span
    if b < a:
        return
    if b - a + 1 <= DOC_MAX_LINES:
        _mark(keep, a, b)
        return
    p = a
    while p + 1 < b and p - a + 1 < DOC_MAX_LINES and _DOC_MARKS.sub("", src.stripped(p + 1)):
        p += 1
    _mark(keep, a, p)
    last = src.stripped(b)
    if src.lang.family == "python" or last.endswith("*/"):
        keep[b] = True  # the closing quotes or comment end


def _mark(keep: list[bool], a: int, b: int) -> None:
    for i in range(max(a, 0), min(b, len(keep) - 1) + 1):
        keep[i] = True


def _cap(line: str) -> str:
    return line if len(line) <= LINE_CAP else line[:LINE_CAP] + " ..."


def _children(
    chunk: Chunk, lo: int, n: int, children: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(children):
        ca, cb = a - chunk.start_line, min(b - chunk.start_line, n - 1)
        if lo <= ca <= cb and (not out or ca > out[-1][1]):
            out.append((ca, cb))
    return out


def skeleton_lines(
    chunk: Chunk,
    *,
    keep_terms: Collection[str] = (),
    children: Sequence[tuple[int, int]] = (),
) -> list[tuple[int | None, str]]:
    """The skeleton as ``(original line number, or None for a marker, text)`` pairs.

    When the skeleton would not be shorter than the full text, every line is returned
    with its number (the full text).
    """
    lines = _skeleton(chunk, keep_terms, children)
    if lines is None:
        src = _Src(chunk.text, _lang(chunk.language))
        return [(chunk.start_line + i, line) for i, line in enumerate(src.lines)]
    return lines


def _skeleton(
    chunk: Chunk, keep_terms: Collection[str], children: Sequence[tuple[int, int]]
) -> list[tuple[int | None, str]] | None:
    lang = _lang(chunk.language)
    src = _Src(chunk.text, lang)
    n = len(src)
    if n == 0:
        return None
    keep = [False] * n
    has_header = chunk.qualname != MODULE_SYMBOL
    head = _head(src, 0, n, signature=has_header)
    _doc_keep(src, head.lead, keep)
    _mark(keep, *head.header)
    _doc_keep(src, head.doc, keep)
    bs = head.body

    # The closer of the chunk's own block: `}` or `end` on the last line.
    stop = n
    last = _block_closer(src, bs - 1, n - 1)
    if last is not None and has_header:
        keep[last] = True
        stop = last

    kids = _children(chunk, bs, stop, children)
    in_child = [False] * n
    for ca, cb in kids:
        for i in range(ca, cb + 1):
            in_child[i] = True
        kid = _head(src, ca, cb + 1)
        _mark(keep, *kid.header)
        _attach_comments(src, kid.header[0], bs, keep)
        closer = _block_closer(src, kid.header[1], cb)
        if closer is not None:
            keep[closer] = True

    class_like = chunk.kind in _CLASS_KINDS or not has_header
    if class_like or (lang.family == "text" and chunk.language in _STRUCTURED):
        _keep_declarations(src, bs, stop, keep, in_child)
    if chunk.language == "markdown":
        fenced = False
        for i in range(bs, stop):
            line = src.stripped(i)
            if line.startswith(("```", "~~~")):
                fenced = not fenced
            elif line.startswith("#") and not fenced:
                keep[i] = True

    wanted = {t.lower() for t in keep_terms}
    # A line's terms are lowercased pieces of it: a term in no line's lowercase text is in
    # no line's terms, and only lines holding one are split into terms.
    lows = [src.lines[i].lower() for i in range(bs, stop)] if wanted else []
    present = [t for t in wanted if any(t in low for low in lows)] if wanted else []
    if present:
        base = src.indent[head.header[0]] if head.header[0] >= 0 else -1
        for i, low in zip(range(bs, stop), lows, strict=True):
            if (
                src.indent[i] >= 0
                and not keep[i]
                and any(t in low for t in present)
                and not wanted.isdisjoint(terms(src.lines[i]))
            ):
                _keep_with_context(src, i, bs, stop, base, keep)

    breaks = {cb + 1 for _, cb in kids}  # a child's body is elided on its own
    out = _emit(src, keep, chunk.start_line, lang.marker, breaks)
    if sum(len(t) + 1 for _, t in out) >= sum(len(t) + 1 for t in src.lines):
        return None
    return out


def _block_closer(src: _Src, after: int, last: int) -> int | None:
    """The line closing a block whose lines end at ``last`` (`}` or `end`, trailing blank
    lines skipped), when it comes after line ``after`` (the end of the block's header)."""
    end = last
    while end > after and src.blank(end):
        end -= 1
    return end if end > after and src.closer(end) else None


def _attach_comments(src: _Src, i: int, lo: int, keep: list[bool]) -> None:
    """Keep a short comment block right above line ``i`` (a declaration's doc)."""
    j = i - 1
    while j >= lo and src.comment(j) and not keep[j] and i - j <= _ATTACHED + 1:
        j -= 1
    if j >= lo and src.comment(j):  # the block is longer than _ATTACHED: leave it out
        return
    for k in range(j + 1, i):
        keep[k] = True


def _keep_declarations(
    src: _Src, bs: int, stop: int, keep: list[bool], in_child: list[bool]
) -> None:
    """Class-level lines: those at the body's own indentation, outside nested methods."""
    level = next((src.indent[i] for i in range(bs, stop) if not src.blank(i)), -1)
    if level < 0:
        return
    i = bs
    while i < stop:
        if src.indent[i] == level and not in_child[i] and not src.comment(i):
            end = src.statement_end(i, stop)
            while end > i and in_child[end]:
                end -= 1
            _mark(keep, i, end)
            _attach_comments(src, i, bs, keep)
            i = end + 1
        else:
            i += 1


def _keep_with_context(src: _Src, i: int, bs: int, stop: int, base: int, keep: list[bool]) -> None:
    """Keep line ``i``'s statement and the header lines of the blocks around it."""
    start = src.statement_start(i, bs)
    end = src.statement_end(start, stop)
    _mark(keep, start, max(end, i))
    if src.opener(start) and src.lang.family == "brace":
        close = src.closer_of(start, stop)
        if close >= 0:
            keep[close] = True
    level = src.indent[start]
    j = src.parent(start)
    while j >= bs and level > max(base, 0):
        s = src.statement_start(j, bs)
        _mark(keep, s, j)
        level = src.indent[s]
        if src.opener(s) or src.opener(j):
            close = src.closer_of(s, stop)
            if close >= 0:
                keep[close] = True
        j = src.parent(s)


def _emit(
    src: _Src, keep: list[bool], first: int, marker: str, breaks: Collection[int] = ()
) -> list[tuple[int | None, str]]:
    """Kept lines in order; each run of left-out lines becomes one marker line.

    A run also ends at each index in ``breaks`` (where a nested child ends) and where
    the code dedents below the run's first line, so one marker never stands for code
    at several levels.
    """
    out: list[tuple[int | None, str]] = []
    n = len(keep)
    i = 0
    while i < n:
        if keep[i]:
            out.append((first + i, _cap(src.lines[i])))
            i += 1
            continue
        j = i
        level = -1
        while j < n and not keep[j] and (j == i or j not in breaks):
            if src.indent[j] >= 0 and not src.comment(j):
                if level < 0:
                    level = src.indent[j]
                elif src.indent[j] < level:  # the code leaves the block: a marker each
                    break
            j += 1
        code = [k for k in range(i, j) if not src.blank(k)]
        if not code:  # blank lines only: one stays between kept lines
            if i > 0 and j < n:
                out.append((first + i, src.lines[i]))
        else:
            line = src.ws(code[0]) + marker
            if sum(len(src.lines[k]) + 1 for k in range(i, j)) <= len(line) + 1:
                out.extend((first + k, _cap(src.lines[k])) for k in range(i, j))
            else:
                out.append((None, line))
                trailing = code[-1] + 1
                if trailing < j and j < n:  # keep one blank line before what follows
                    out.append((first + trailing, src.lines[trailing]))
        i = j
    return out


def render_full(chunk: Chunk) -> str:
    """The chunk's source, as is."""
    return chunk.text


def render_full_except(chunk: Chunk, shown: Sequence[tuple[int, int]]) -> str:
    """The chunk's source with the nested symbols at ``shown`` (absolute line ranges,
    the methods of a class the bundle shows as items of their own) as their signature
    and a marker, as a skeleton shows a child: in full, nothing is shown twice."""
    src = _Src(chunk.text, _lang(chunk.language))
    n = len(src)
    keep = [True] * n
    breaks: set[int] = set()
    for a, b in shown:
        ca, cb = a - chunk.start_line, min(b - chunk.start_line, n - 1)
        if ca <= 0 or ca > cb:
            continue  # not strictly inside: nothing to elide
        for i in range(ca, cb + 1):
            keep[i] = False
        head = _head(src, ca, cb + 1)
        _mark(keep, *head.lead)
        _mark(keep, *head.header)
        closer = _block_closer(src, head.header[1], cb)
        if closer is not None:
            keep[closer] = True
        breaks.add(cb + 1)
    if all(keep):
        return chunk.text
    lines = _emit(src, keep, chunk.start_line, src.lang.marker, breaks)
    # Kept lines as they are (a skeleton caps long ones; this is the full text).
    text = "\n".join(t if k is None else src.lines[k - chunk.start_line] for k, t in lines)
    return text + "\n" if chunk.text.endswith("\n") else text


def render_skeleton(
    chunk: Chunk,
    *,
    keep_terms: Collection[str] = (),
    children: Sequence[tuple[int, int]] = (),
) -> str:
    """Signature, docstring, declarations, nested signatures and matching lines.

    ``children`` are the absolute line ranges of nested symbols (methods of a class)
    to show as signatures only; ``keep_terms`` are lowercased query identifiers whose
    lines are kept with their enclosing block headers.
    """
    lines = _skeleton(chunk, keep_terms, children)
    if lines is None:
        return chunk.text
    text = "\n".join(t for _, t in lines)
    if chunk.text.endswith("\n"):
        text += "\n"
    return _shorter(text, chunk.text)


# A signature needs a chunk's head (decorators, header, docstring) and its last lines only:
# the head of a long chunk is read from its first lines, and from all of them only when
# it reaches past those. A class of thousands of lines is then not analysed whole.
SIGNATURE_HEAD_LINES = (64, 256)


_LETTERS = re.compile(r"[^\W\d_]+")
_PY_CHILD_HEAD = ("def ", "async def ", "class ", "@")


def skeleton_floor(chunk: Chunk, children: Sequence[tuple[int, int]]) -> int:
    """A number of tokens that ``render_skeleton(chunk, children=children)`` in a bundle
    takes at least, under a tokenizer that splits runs of letters from other characters
    before merging (cl100k_base, o200k_base: every run of letters is a token or more).

    A skeleton keeps the first line of each direct child (a method's decorator or ``def``
    line), so the runs of letters of those lines (as kept: capped) are a floor, for Python
    chunks; 0 otherwise. The budget stage skips rendering a skeleton whose floor is already
    over what it may take: the skeleton of a class of thousands of lines.
    """
    if chunk.language != "python" or not children:
        return 0
    lines = chunk.text.split("\n")
    count, last = 0, -1
    for a, b in sorted(children):
        at = a - chunk.start_line
        if at <= 0 or at >= len(lines) or at <= last:
            continue  # on the chunk's own first line, outside it, or nested in a child
        last = b - chunk.start_line
        if lines[at].lstrip().startswith(_PY_CHILD_HEAD):
            count += len(_LETTERS.findall(_cap(lines[at])))  # as the skeleton shows it
    return count


def render_signature(chunk: Chunk) -> str:
    """Decorators and signature, the docstring's first line, and a marker for the body."""
    lang = _lang(chunk.language)
    module = chunk.qualname == MODULE_SYMBOL
    for limit in (*SIGNATURE_HEAD_LINES, None):
        src = _Src(chunk.text, lang, limit)
        head = _head(src, 0, len(src), signature=not module)
        if len(src.lines) == len(src.raw) or head.body + _SCAN < len(src.lines):
            break  # the whole chunk, or a head that ends well before the lines read
    raw = src.raw
    n = len(raw)
    if n == 0:
        return chunk.text
    out: list[str] = []
    if module:
        first = next((i for i in range(n) if raw[i].strip()), -1)
        if first < 0:
            return chunk.text
        out.append(_cap(raw[first]))
        rest = first + 1
        if first == head.doc[0]:  # a module docstring: its first line only
            rest = head.doc[1] + 1
            if head.doc[1] > first:
                out[-1] = _cap(raw[first].rstrip())
        if any(raw[i].strip() for i in range(rest, n)):
            out.append(lang.marker)
    else:
        hs, he = head.header
        doc = _first_doc_line(chunk.docstring or _doc_text(src, head))
        if hs < 0:
            return _shorter("\n".join(_cap(line) for line in raw), chunk.text)
        header = [_cap(raw[i]) for i in range(hs, he + 1)]
        last = n - 1
        while last > he and not raw[last].strip():
            last -= 1
        closer = last if last > he and _is_closer(raw[last].strip(), lang.family) else -1
        stop = closer if closer >= 0 else n
        first_body = next((i for i in range(he + 1, stop) if raw[i].strip()), -1)
        last_body = next((i for i in range(stop - 1, he, -1) if raw[i].strip()), -1)
        body_ws = _ws(raw[first_body]) if first_body >= 0 else _ws(raw[hs]) + "    "
        if lang.family == "python":
            out.extend(header)
            if doc:
                out.append(f'{body_ws}"""{doc}"""')
            if first_body >= 0 and (not doc or last_body > max(head.doc[1], he)):
                out.append(body_ws + lang.marker)
        else:
            if doc and lang.comment:
                out.append(f"{_ws(raw[hs])}{lang.comment} {doc}")
            out.extend(header)
            if first_body >= 0:
                out.append(body_ws + lang.marker)
            if closer >= 0:
                out.append(_cap(raw[closer]))
    return _shorter("\n".join(out), chunk.text)


def _ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _shorter(text: str, full: str) -> str:
    return text if len(text) < len(full) else full


def _doc_text(src: _Src, head: _Head) -> str:
    """The docstring (or leading comment) as written in the text, markers removed."""
    a, b = head.doc if head.doc[0] >= 0 else head.lead
    lines = [_DOC_MARKS.sub("", src.stripped(i)).strip() for i in range(max(a, 0), b + 1)]
    return "\n".join(line.strip("\"'").strip() for line in lines)


def _first_doc_line(docstring: str) -> str:
    for line in docstring.strip().split("\n"):
        line = line.strip().replace('"""', "'''")
        if line:
            if len(line) > DOC_LINE_CAP:
                line = line[: DOC_LINE_CAP - 3].rsplit(" ", 1)[0] + "..."
            return line
    return ""


def render_mention(chunk: Chunk) -> str:
    """One line: ``path:line  qualname(args)``, e.g. ``src/auth.py:12  Auth.login(user, token)``."""
    line = f"{chunk.path}:{chunk.start_line}  {chunk.qualname}{_args(chunk)}"
    return _LINE_BREAKS.sub(" ", line)


def _args(chunk: Chunk) -> str:
    sig = chunk.signature
    if not sig or chunk.qualname == MODULE_SYMBOL:
        return ""
    if chunk.language == "rust":
        sig = _LIFETIME.sub("", sig)  # 'a is not a quote
    at = -1
    if chunk.name:
        m = re.search(re.escape(chunk.name) + r"\s*(?:<[^()]*>|\[[^()]*\])?\s*\(", sig)
        if m is not None:
            at = m.end() - 1
        else:
            pos = sig.find(chunk.name)
            at = sig.find("(", pos + len(chunk.name)) if pos >= 0 else -1
    if at < 0:
        if chunk.kind not in ("function", "method", "macro"):
            return ""
        at = sig.find("(")
        if at < 0:
            return ""
    params = _split_params(sig, at)
    if params is None:
        return ""
    names = [name for p in params if (name := _param_name(p, chunk.language))]
    text = f"({', '.join(names)})"
    return text if len(text) <= 120 else text[:115] + ", ...)"


def _split_params(sig: str, at: int) -> list[str] | None:
    """The top-level comma-separated pieces between ``sig[at] == "("`` and its ``)``."""
    depth = 0
    parts: list[str] = []
    cur: list[str] = []
    quote = ""
    for ch in sig[at:]:
        if quote:
            cur.append(ch)
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([{<":
            depth += 1
            if depth == 1:
                continue
        elif ch in ")]}>":
            if ch == ">" and cur and cur[-1] in "-=":  # "->" and "=>" are not brackets
                cur.append(ch)
                continue
            depth -= 1
            if depth == 0:
                parts.append("".join(cur))
                return [p.strip() for p in parts if p.strip()]
        elif ch == "," and depth == 1:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    return None


def _param_name(param: str, language: str) -> str:
    p = _LIFETIME.sub("", param).strip()
    if p in _SELF_NAMES or p.startswith(("self:", "self ", "this:")):
        return ""
    prefix = ""
    for star in ("**", "*", "...", "&"):
        if p.startswith(star):
            prefix, p = star, p[len(star) :].lstrip()
            break
    left = re.split(r"(?<![=!<>])=(?![=>])", p, maxsplit=1)[0]
    if language not in ("go", "ruby") and ":" in left and "::" not in left:
        left = left.split(":", 1)[0]
    elif language == "ruby" and left.endswith(":"):
        left = left[:-1]
    left = " ".join(left.split())
    if left.startswith(("{", "[")):  # a destructured parameter: shown as written
        if len(left) > 40:
            left = left[0] + "..." + ("}" if left[0] == "{" else "]")
        return prefix + left
    if left == "void":
        return ""
    idents = [
        w
        for w in _IDENT.findall(left)
        if w not in ("mut", "ref", "out", "in", "const", "final", "readonly", "params")
        and w not in ("public", "private", "protected", "override", "var", "val", "let")
    ]
    if not idents:
        return ""
    if language in ("go", "ruby", "python", "javascript", "typescript", "tsx", "rust"):
        name = idents[0]
    else:
        name = idents[-1]
    if name in ("self", "this", "cls"):
        return ""
    if language == "go" and re.match(re.escape(name) + r"\s*\.\.\.", p):
        prefix = "..."
    return prefix + name
