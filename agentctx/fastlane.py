"""A fast lane for ``pack`` and ``search`` when ``agentctx watch`` can answer.

Loading the CLI (typer, rich, the pipeline) costs ~0.2 s before any work starts; a
watcher answers a prefetched ``pack --diff`` in ~15 ms. So the executable first tries
this: it understands the plain forms of the two commands, asks the watcher, and prints
its answer. Anything it does not understand (``--stats``, ``--profile``, a query from
stdin or a file, ``--diff REV``, ``--help``, a bad value...), and any watcher that
cannot answer, returns None: the CLI then runs and does everything as usual.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_PACK_VALUES = {
    "--budget": "budget",
    "-b": "budget",
    "--tokenizer": "tokenizer",
    "--format": "fmt",
    "--min-score": "min_score",
    "--repo": "repo",
    "-C": "repo",
}
_PACK_FLAGS = {"--no-refresh": "no_refresh", "--staged": "staged"}
_SEARCH_VALUES = {"-n": "n", "--min-score": "min_score", "--repo": "repo", "-C": "repo"}
_SEARCH_FLAGS = {"--no-refresh": "no_refresh", "--json": "as_json"}
_FORMATS = ("markdown", "xml", "json")


def _parse(
    args: list[str], values: dict[str, str], flags: dict[str, str], *, diff: bool = False
) -> dict[str, Any] | None:
    """Options and at most one positional query; None for anything unusual."""
    from .argscan import scan_args

    if diff:  # `--diff` alone means HEAD; `--diff WORD` is a revision or the query:
        for i, arg in enumerate(args):  # the CLI asks git which
            if arg == "--diff" and i + 1 < len(args) and not args[i + 1].startswith("-"):
                return None
        flags = {**flags, "--diff": "diff"}
    scanned = scan_args(args, values, flags)
    if scanned is None or len(scanned[1]) > 1:
        return None
    out: dict[str, Any] = dict(scanned[0])
    if out.get("diff"):
        out["diff"] = "HEAD"
    if scanned[1]:
        out["query"] = scanned[1][0]
    return out


def _request(argv: list[str]) -> tuple[str, dict[str, Any], str | None] | None:
    if not argv or argv[0] not in ("pack", "search"):
        return None
    from .client import pack_request, search_args  # socket: only for pack and search

    if argv[0] == "pack":
        opts = _parse(argv[1:], _PACK_VALUES, _PACK_FLAGS, diff=True)
    else:
        opts = _parse(argv[1:], _SEARCH_VALUES, _SEARCH_FLAGS)
    if opts is None:
        return None
    query = opts.get("query")
    if query is not None and (query == "-" or not query.strip()):
        return None
    try:
        min_score = None if "min_score" not in opts else float(opts["min_score"])
        if argv[0] == "search":
            n = int(opts.get("n", 20))
            if query is None or n <= 0:
                return None
            args = search_args(query, n=n, min_score=min_score, as_json="as_json" in opts)
            return "search", args, opts.get("repo")
        budget = int(opts.get("budget", 8000))
    except ValueError:
        return None
    fmt = opts.get("fmt", "markdown")
    tokenizer = opts.get("tokenizer", "cl100k_base")
    diff, staged = opts.get("diff"), bool(opts.get("staged"))
    if budget <= 0 or fmt not in _FORMATS or (diff and staged):
        return None
    if not (diff or staged) and query is None:
        return None
    op, args = pack_request(query, diff, staged, budget, tokenizer, fmt, min_score)
    return op, args, opts.get("repo")


def serve_argv(argv: list[str]) -> int | None:
    """Answer ``agentctx ARGV`` through a running watcher: the exit code, or None."""
    request = _request(argv)
    if request is None:
        return None
    op, args, repo = request
    try:
        from .client import settings_fingerprint, try_serve
        from .config import load_settings
        from .discover import find_root

        if repo is not None:
            root = Path(repo)
            if not root.is_dir():
                return None
        else:
            root = find_root(Path.cwd())
        settings = load_settings(root.resolve())
        response = try_serve(settings.root, op, args, fingerprint=settings_fingerprint(settings))
    except Exception:  # a configuration error...: the CLI reports it properly
        return None
    if response is None:
        return None
    for line in response["stderr"]:
        print(line, file=sys.stderr)
    code = int(response["exit"])
    if code != 0:
        from .errors import print_line

        error = response.get("error")
        error = error if isinstance(error, dict) else {}
        print_line(f"error: {error.get('message') or 'the watcher failed'}", error.get("hint"))
        return code
    sys.stdout.write(response["stdout"])
    sys.stdout.flush()
    return 0
