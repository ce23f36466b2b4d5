"""Chunking of non-code files: Markdown and reStructuredText by heading, the rest by lines.

Chunks partition the file: every line lands in exactly one chunk, so nothing a file
says is lost to retrieval. Sections that are too long are cut into windows that keep
the heading's qualified name (the chunker adds an occurrence index).
"""

from __future__ import annotations

import re

from agentctx.models import Symbol

WINDOW = 60  # preferred lines per window
MIN_WINDOW = 30  # earliest cut
MAX_WINDOW = 90  # a section or file up to this many lines stays one chunk

_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_LIST_ITEM = re.compile(r"^ {0,3}([-+*]|\d+[.)])\s")
_RST_ADORN = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
_CODE_SPAN = re.compile(r"`+([A-Za-z_][\w.:]*?)(?:\(\))?`+")


def chunk_text(text: str, language: str) -> tuple[Symbol, ...]:
    """Split a text file into ``section`` symbols covering all of its lines."""
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    if not any(line.strip() for line in lines):
        return ()
    if language == "markdown":
        headings = _markdown_headings(lines)
    elif language == "rst":
        headings = _rst_headings(lines)
    else:
        headings = []
    refs = language in ("markdown", "rst")
    if not headings:
        return tuple(_window_symbol(lines, a, b, refs) for a, b in _windows(lines, 0, len(lines)))

    symbols: list[Symbol] = []
    first = headings[0][0]
    if any(line.strip() for line in lines[:first]):
        symbols.extend(_window_symbol(lines, a, b, refs) for a, b in _windows(lines, 0, first))
    else:
        headings[0] = (0, *headings[0][1:])  # blank preamble joins the first section
    stack: list[tuple[int, str]] = []
    for i, (start, level, title, heading_row) in enumerate(headings):
        end = headings[i + 1][0] if i + 1 < len(headings) else len(lines)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        qualname = " > ".join(t for _, t in stack)
        signature = " ".join(lines[heading_row].split())
        for a, b in _windows(lines, start, end):
            body = lines[a:b]
            symbols.append(
                Symbol(
                    name=title,
                    qualname=qualname,
                    kind="section",
                    start_line=a + 1,
                    end_line=b,
                    signature=signature,
                    references=_references(body) if refs else (),
                    text="\n".join(body),
                )
            )
    return tuple(symbols)


def _window_symbol(lines: list[str], a: int, b: int, refs: bool) -> Symbol:
    label = f"lines {a + 1}-{b}"
    body = lines[a:b]
    return Symbol(
        name=label,
        qualname=label,
        kind="section",
        start_line=a + 1,
        end_line=b,
        references=_references(body) if refs else (),
        text="\n".join(body),
    )


def _windows(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """Cut rows ``[start, end)`` into windows of about WINDOW lines at good breaks."""
    out: list[tuple[int, int]] = []
    while end - start > MAX_WINDOW:
        cut = _best_cut(lines, start + MIN_WINDOW, start + MAX_WINDOW, start + WINDOW)
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def _best_cut(lines: list[str], lo: int, hi: int, target: int) -> int:
    """Row that starts the next window: after a blank line, else at an unindented line."""
    best: tuple[int, int, int] | None = None
    for row in range(lo, hi + 1):
        prev_blank = not lines[row - 1].strip()
        line = lines[row]
        if prev_blank and line.strip():
            tier = 0
        elif line.strip() and not line[0].isspace():
            tier = 1
        else:
            tier = 2
        key = (tier, abs(row - target), row)
        if best is None or key < best:
            best = key
    return best[2] if best else target


def _markdown_headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """(section start row, level, title, heading row) of ATX and setext headings."""
    headings: list[tuple[int, int, str, int]] = []
    fence = ""
    row = 0
    if lines and lines[0].strip() == "---":  # YAML front matter belongs to the preamble
        for i in range(1, len(lines)):
            if lines[i].strip() in ("---", "..."):
                row = i + 1
                break
    body_start = row
    while row < len(lines):
        line = lines[row]
        fence_match = _FENCE.match(line)
        if fence:
            if (
                fence_match
                and fence_match.group(1)[0] == fence[0]
                and len(fence_match.group(1)) >= len(fence)
            ):
                fence = ""
        elif fence_match:
            fence = fence_match.group(1)
        elif match := _ATX.match(line):
            headings.append((row, len(match.group(1)), (match.group(2) or "").strip(), row))
        elif (
            row + 1 < len(lines)
            and line.strip()
            and (row == body_start or not lines[row - 1].strip())
            and not _LIST_ITEM.match(line)
            and not line.startswith(("    ", "\t", ">", "|"))
            and (setext := _SETEXT.match(lines[row + 1]))
        ):
            level = 1 if setext.group(1)[0] == "=" else 2
            headings.append((row, level, line.strip(), row))
            row += 1
        row += 1
    return [(s, lvl, title or "(untitled)", h) for s, lvl, title, h in headings]


def _rst_headings(lines: list[str]) -> list[tuple[int, int, str, int]]:
    """reStructuredText titles (underlined, optionally overlined); levels by first use."""
    styles: list[tuple[str, bool]] = []
    headings: list[tuple[int, int, str, int]] = []
    row = 0
    while row + 1 < len(lines):
        title = lines[row].rstrip()
        under = lines[row + 1].rstrip()
        if (
            title.strip()
            and not title[0].isspace()
            and not _RST_ADORN.match(title)
            and _RST_ADORN.match(under)
            and len(under) >= len(title)
        ):
            over = row > 0 and lines[row - 1].rstrip() == under
            style = (under[0], over)
            if style not in styles:
                styles.append(style)
            start = row - 1 if over else row
            if not headings or start > headings[-1][0]:
                headings.append((start, styles.index(style) + 1, title.strip(), row))
            row += 2
            continue
        row += 1
    return headings


def _references(body: list[str]) -> tuple[str, ...]:
    """Identifiers in inline code (`parse_file`, ``Foo.bar()``): links docs to code."""
    names = set()
    for line in body:
        if "`" in line:
            for match in _CODE_SPAN.finditer(line):
                names.add(re.split(r"\.|::", match.group(1))[-1])
    names.discard("")
    return tuple(sorted(names))
