"""Pure: bundle -> markdown | xml | json text.

The item blocks are rendered on their own as well (``item_block``), so the budget
stage can cost each choice; the final text is always re-counted as a whole.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .models import Bundle, Hit, PackItem

FORMATS = ("markdown", "xml", "json")
_FENCE_LANG = {
    "python": "python",
    "javascript": "javascript",
    "typescript": "typescript",
    "tsx": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "csharp": "csharp",
    "ruby": "ruby",
    "markdown": "markdown",
    "yaml": "yaml",
    "toml": "toml",
    "json": "json",
    "shell": "bash",
    "sql": "sql",
    "rst": "rst",
    "ini": "ini",
    "makefile": "makefile",
    "dockerfile": "dockerfile",
    "cmake": "cmake",
}


def _first_line(query: str, limit: int = 160) -> str:
    line = " ".join(query.strip().split())
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def header(bundle: Bundle, fmt: str) -> str:
    files = len({i.path for i in bundle.items})
    counts = f"{len(bundle.items)} symbols from {files} files"
    left = (
        f"left out: {bundle.left_out} relevant symbols that did not fit, "
        f"{bundle.below_threshold} below the relevance threshold"
    )
    if fmt == "xml":
        from xml.sax.saxutils import escape, quoteattr  # (imports ssl: only for xml)

        notes = "".join(f"<note>{escape(n)}</note>\n" for n in bundle.notes)
        return (
            f'<context repository={quoteattr(bundle.repo)} budget="{bundle.budget}" '
            f'tokenizer="{bundle.tokenizer}">\n'
            f"<query>{escape(_first_line(bundle.query, 400))}</query>\n"
            f"<summary>{counts}; {left}</summary>\n{notes}"
        )
    lines = [
        f"# Context: {_first_line(bundle.query)}",
        f"Repository: {bundle.repo} | {counts} | budget {bundle.budget} tokens "
        f"({bundle.tokenizer}) | {left}",
    ]
    lines += [f"Note: {n}" for n in bundle.notes]
    return "\n".join(lines) + "\n"


def file_header(path: str, fmt: str) -> str:
    if fmt == "xml":
        from xml.sax.saxutils import quoteattr

        return f"<file path={quoteattr(path)}>\n"
    return f"\n## {path}\n"


def file_footer(fmt: str) -> str:
    return "</file>\n" if fmt == "xml" else ""


def _fence(text: str) -> str:
    fence = "```"
    while fence in text:
        fence += "`"
    return fence


_OWN_TAGS = ("</symbol", "</mention", "</file", "</context", "]]>")


def _xml_body(text: str) -> str:
    """Code as is (what LLM prompts want), or CDATA when it could close one of our tags."""
    if not any(tag in text for tag in _OWN_TAGS):
        return text
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _title(item: PackItem) -> str:
    lines = f"lines {item.start_line}-{item.end_line}"
    if item.symbol == lines:  # a text-file window is named by its lines already
        return f"{lines} ({item.detail})"
    return f"{item.symbol} ({lines}, {item.detail})"


def item_block(item: PackItem, fmt: str) -> str:
    """One item as it appears in the bundle (without its file's header)."""
    if fmt == "xml":
        from xml.sax.saxutils import quoteattr

        attrs = (
            f'name={quoteattr(item.symbol)} kind="{item.kind}" '
            f'lines="{item.start_line}-{item.end_line}"'
        )
        if item.detail == "mention":
            return f"<mention {attrs}>{_xml_body(item.text)}</mention>\n"
        return f'<symbol {attrs} detail="{item.detail}">\n{_xml_body(item.text)}\n</symbol>\n'
    if item.detail == "mention":
        return f"- `{item.text}`\n"
    fence = _fence(item.text)
    lang = _FENCE_LANG.get(item.language, "")
    return f"\n### {_title(item)}\n{fence}{lang}\n{item.text}\n{fence}\n"


def group_by_file(items: Iterable[PackItem]) -> list[tuple[str, list[PackItem]]]:
    """Files in order of their best item; items within a file in line order."""
    by_file: dict[str, list[PackItem]] = {}
    best: dict[str, float] = {}
    for item in items:
        by_file.setdefault(item.path, []).append(item)
        best[item.path] = max(best.get(item.path, 0.0), item.score)
    order = sorted(by_file, key=lambda p: (-best[p], p))
    return [
        (p, sorted(by_file[p], key=lambda i: (i.detail == "mention", i.start_line, i.symbol)))
        for p in order
    ]


def render_text(bundle: Bundle, fmt: str) -> str:
    """The markdown or xml bundle exactly as printed."""
    parts = [header(bundle, fmt)]
    for path, items in group_by_file(bundle.items):
        parts.append(file_header(path, fmt))
        parts.extend(item_block(i, fmt) for i in items)
        parts.append(file_footer(fmt))
    if fmt == "xml":
        parts.append("</context>\n")
    return "".join(parts)


def render_json(bundle: Bundle, tokens_used: int, stats: dict) -> str:
    """The documented JSON shape; ``items`` are what markdown prints, in that order."""
    items = [
        {
            "path": i.path,
            "symbol": i.symbol,
            "kind": i.kind,
            "language": i.language,
            "start_line": i.start_line,
            "end_line": i.end_line,
            "detail": i.detail,
            "score": round(i.score, 6),
            "tokens": i.tokens,
            "text": i.text,
        }
        for _, file_items in group_by_file(bundle.items)
        for i in file_items
    ]
    return json.dumps(
        {
            "query": bundle.query,
            "budget": bundle.budget,
            "tokenizer": bundle.tokenizer,
            "tokens_used": tokens_used,
            "items": items,
            "stats": stats,
        },
        indent=2,
        ensure_ascii=False,
    )


def render_search(
    query: str, hits: Sequence[Hit], latency_ms: Mapping[str, float], *, as_json: bool
) -> str:
    """Exactly what ``agentctx search`` writes to stdout (local or served by a watcher)."""
    if as_json:
        return (
            json.dumps(
                {
                    "query": query,
                    "results": [
                        {
                            "score": h.score,
                            "path": h.path,
                            "line": h.start_line,
                            "end_line": h.end_line,
                            "symbol": h.qualname,
                            "kind": h.kind,
                            "signals": list(h.reasons),
                        }
                        for h in hits
                    ],
                    "latency_ms": {k: round(v, 1) for k, v in latency_ms.items()},
                },
                indent=2,
            )
            + "\n"
        )
    return "".join(f"{h.score:6.3f}  {h.path}:{h.start_line}  {h.qualname}\n" for h in hits)


# What `pack` and `search` print, shared by the CLI and the watcher that answers for it
# (the two must stay byte for byte the same). ``result`` is a pipeline PackResult or
# SearchResult (not imported: this module stays pure).
def pack_stdout(result: Any, fmt: str) -> str:
    """Exactly what ``agentctx pack`` writes to stdout for ``result``."""
    if fmt == "json":
        return render_json(result.bundle, result.tokens_used, result.stats) + "\n"
    return str(result.text)


def pack_profile(result: Any, budget: int) -> dict[str, Any]:
    """``pack --profile``: per-stage milliseconds and a few counts."""
    details = Counter(i.detail for i in result.bundle.items)
    latency = result.stats.get("latency_ms")
    return {
        "title": "pack profile",
        "latency_ms": latency if isinstance(latency, dict) else {},
        "counts": [
            ["hits ranked", f"{len(result.hits):,}"],
            ["items", ", ".join(f"{d} {n}" for d, n in sorted(details.items())) or "none"],
            ["tokens used", f"{result.tokens_used:,} of {budget:,}"],
        ],
    }


def search_profile(result: Any) -> dict[str, Any]:
    """``search --profile``: per-stage milliseconds and a few counts."""
    return {
        "title": "search profile",
        "latency_ms": dict(result.latency_ms),
        "counts": [
            ["hits ranked", f"{len(result.hits):,}"],
            ["below threshold", f"{result.below_threshold:,}"],
        ],
    }
