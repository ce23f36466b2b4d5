"""``pack``, ``pack --diff`` and ``search`` as one call: request in, printed answer out.

``compute`` is what the watcher's server runs (model loaded, index kept fresh);
``answer`` is what the commands run, in the CLI and in the executable's direct lane (a
cold ``pack`` that skips typer's start-up): a running watcher's answer, else ``compute``
here, printed by ``print_answer``. An answer is what the command prints: stdout, the
stderr lines, the exit code and, for an error, its message and hint.
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
    stats: bool = True,
) -> dict[str, Any]:
    """The answer to ``op`` (``pack``, ``pack_diff`` or ``search``) with checked ``args``
    (see ``client.pack_args`` and friends). Errors of the library become answers; any
    other exception propagates. ``stats`` False leaves out a bundle's token accounting
    (read and counted from the files it touches): the answer is for this caller only,
    who shows neither ``--stats`` nor JSON. A watcher's answers, kept for any later
    request, always have it."""
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
            return _ok(
                render_search(args["query"], found.hits, found.latency_ms, as_json=args["as_json"]),
                found.notes,
                profile=search_profile(found),
            )
        run = pipeline.pack_diff if op == "pack_diff" else pipeline.pack
        result = run(
            settings, **args, refresh=refresh, embedder=embedder, reporter=reporter, stats=stats
        )
    except AgentctxError as exc:
        return {
            "ok": True,
            "stdout": "",
            "stderr": [],
            "exit": int(exc.exit_code),
            "error": {"message": exc.message, "hint": exc.hint},
        }
    return _ok(
        pack_stdout(result, args["fmt"]),
        result.bundle.notes,
        stats=result.stats,
        profile=pack_profile(result, args["budget"]),
    )


def served(settings: Settings, op: str, args: dict[str, Any]) -> dict[str, Any] | None:
    """A running watcher's answer, or None (no watcher, other settings, any failure)."""
    from .client import settings_fingerprint, try_serve

    try:
        return try_serve(settings.root, op, args, fingerprint=settings_fingerprint(settings))
    except Exception:  # the command then does the work itself
        return None


def answer(
    settings: Settings,
    op: str,
    args: dict[str, Any],
    *,
    refresh: bool,
    reporter: Any,
    server: bool = True,
    stats: bool = False,
    profile: bool = False,
) -> int:
    """Answer through a running watcher (unless ``server`` is False), else compute here
    with ``reporter`` (a context manager) showing progress; print it as the CLI prints
    it and return the exit code."""
    response = served(settings, op, args) if server else None
    if response is None:
        accounted = stats or args.get("fmt") == "json"  # the JSON bundle carries the stats
        with reporter:
            response = compute(
                settings, op, args, refresh=refresh, reporter=reporter, stats=accounted
            )
    return print_answer(response, stats=stats, profile=profile)


def print_answer(response: dict[str, Any], *, stats: bool = False, profile: bool = False) -> int:
    """Print an answer: its notes, then the output or the error line, then ``--stats``
    and ``--profile`` on stderr; return its exit code."""
    from .errors import print_line, write_stdout

    for line in response["stderr"]:
        print(line, file=sys.stderr)
    code = int(response["exit"])
    if code != 0:
        error = response.get("error")
        error = error if isinstance(error, dict) else {}
        print_line(f"error: {error.get('message') or 'the watcher failed'}", error.get("hint"))
        return code
    write_stdout(response["stdout"])
    if stats and isinstance(response.get("stats"), dict):
        import json

        from .progress import err_console

        err_console.print_json(json.dumps(response["stats"]))
    if profile and isinstance(response.get("profile"), dict):
        from .progress import print_profile

        print_profile(response["profile"])
    return code


def _ok(
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
