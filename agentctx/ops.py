"""``pack``, ``pack --diff`` and ``search`` as one call: request in, printed answer out.

Both places that answer without the CLI use it: the watcher's server (model loaded,
index kept fresh) and the executable's direct lane (a cold ``pack`` that skips typer's
start-up). The answer is what the command prints: stdout, the stderr lines, the exit
code and, for an error, its message and hint.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import AgentctxError, NotFoundError, UsageError

if TYPE_CHECKING:
    from .config import Settings
    from .embed import Embedder
    from .pipeline import Reporter


def compute(
    settings: Settings,
    op: str,
    args: dict[str, Any],
    *,
    refresh: bool,
    embedder: Embedder | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """The answer to ``op`` (``pack``, ``pack_diff`` or ``search``) with checked ``args``
    (see ``client.pack_args`` and friends). Errors of the library become answers; any
    other exception propagates."""
    from . import pipeline
    from .render import pack_profile, pack_stdout, render_search, search_profile

    try:
        if op == "search":
            found = pipeline.search(
                settings,
                args["query"],
                min_score=args["min_score"],
                limit=args["n"],
                refresh=refresh,
                embedder=embedder,
                reporter=reporter,
            )
            return answer(
                render_search(args["query"], found.hits, found.latency_ms, as_json=args["as_json"]),
                found.notes,
                profile=search_profile(found),
            )
        run = pipeline.pack_diff if op == "pack_diff" else pipeline.pack
        result = run(settings, **args, refresh=refresh, embedder=embedder, reporter=reporter)
    except AgentctxError as exc:
        return {
            "ok": True,
            "stdout": "",
            "stderr": [],
            "exit": int(exc.exit_code),
            "error": {"message": exc.message, "hint": exc.hint},
        }
    return answer(
        pack_stdout(result, args["fmt"]),
        result.bundle.notes,
        stats=result.stats,
        profile=pack_profile(result, args["budget"]),
    )


def answer(
    stdout: str,
    notes: Any,
    *,
    stats: dict[str, Any] | None = None,
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A successful answer: the notes go to stderr as the CLI prints them."""
    return {
        "ok": True,
        "stdout": stdout,
        "stderr": [f"agentctx: {n}" for n in notes],
        "exit": 0,
        "stats": stats,
        "profile": profile,
    }


def read_query(query: str | None, query_file: Path | None) -> str:
    """The query from the argument, stdin (``-``) or a file; never empty."""
    if query_file is not None:
        if query is not None:
            raise UsageError("give the query either as an argument or with --query-file")
        try:
            text = query_file.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise NotFoundError(f"no such query file: {query_file}") from None
        except OSError as exc:
            raise NotFoundError(f"cannot read {query_file}: {exc.strerror}") from None
    elif query == "-":
        text = sys.stdin.read()
    elif query is None:
        raise UsageError("missing query", hint='agentctx pack "how are retries configured?"')
    else:
        text = query
    if not text.strip():
        raise UsageError("the query is empty")
    return text
