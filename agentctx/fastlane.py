"""A fast lane for ``pack`` and ``search``: a running ``agentctx watch``, else this process.

Loading the CLI costs ~0.2 s before any work starts (typer builds a pydantic adapter for
every option); a watcher answers a prefetched ``pack --diff`` in ~15 ms. So the
executable first tries this: it understands the usual forms of the two commands (a
query, ``-`` for stdin or ``-f FILE``, ``--diff``/``--staged``, the budget, format,
tokenizer, threshold, ``--stats``, ``--profile``, ``--no-refresh``, ``--no-server``,
``-C``), asks the watcher, and prints its answer; when no watcher answers, it runs the
command itself (``ops.compute``, what the watcher runs) with the same progress, notes,
output, errors and exit codes as the CLI. Anything else (``--help``, a bad value, a
configuration error...) returns None before stdin is read: the CLI then runs and does
everything as usual.
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
    "--query-file": "query_file",
    "-f": "query_file",
}
_PACK_FLAGS = {
    "--no-refresh": "no_refresh",
    "--staged": "staged",
    "--no-server": "no_server",
    "--stats": "stats",
    "--profile": "profile",
}
_SEARCH_VALUES = {
    "-n": "n",
    "--min-score": "min_score",
    "--repo": "repo",
    "-C": "repo",
    "--query-file": "query_file",
    "-f": "query_file",
}
_SEARCH_FLAGS = {
    "--no-refresh": "no_refresh",
    "--json": "as_json",
    "--no-server": "no_server",
    "--profile": "profile",
}
_FORMATS = ("markdown", "xml", "json")


def _parse(
    args: list[str], values: dict[str, str], flags: dict[str, str], *, diff: bool = False
) -> dict[str, Any] | None:
    """Options and at most one positional query; None for anything unusual."""
    from .argscan import optional_diff_rev, scan_args

    if diff:  # `--diff [REV]`: git tells a revision from the query, as for the CLI
        args = optional_diff_rev(["pack", *args])[1:]
        values = {**values, "--diff": "diff"}
    scanned = scan_args(args, values, flags)
    if scanned is None or len(scanned[1]) > 1:
        return None
    out: dict[str, Any] = dict(scanned[0])
    if scanned[1]:
        out["query"] = scanned[1][0]
    return out


def _request(argv: list[str]) -> dict[str, Any] | None:
    """The checked options of a plain ``pack`` or ``search`` (the query not read yet:
    it may come from stdin, which only the one that answers may consume)."""
    if not argv or argv[0] not in ("pack", "search"):
        return None
    command = argv[0]
    if command == "pack":
        opts = _parse(argv[1:], _PACK_VALUES, _PACK_FLAGS, diff=True)
    else:
        opts = _parse(argv[1:], _SEARCH_VALUES, _SEARCH_FLAGS)
    if opts is None:
        return None
    query, query_file = opts.get("query"), opts.get("query_file")
    if query is not None and query != "-" and not query.strip():
        return None  # the CLI says it is empty
    if query is not None and query_file is not None:
        return None  # the CLI says: one or the other
    try:
        opts["min_score"] = None if "min_score" not in opts else float(opts["min_score"])
        if opts["min_score"] is not None and not 0.0 <= opts["min_score"] <= 1.0:
            return None  # the CLI says what a threshold may be
        if command == "search":
            opts["n"] = int(opts.get("n", 20))
            if (query is None and query_file is None) or opts["n"] <= 0:
                return None
            return {**opts, "command": command}
        opts["budget"] = int(opts.get("budget", 8000))
    except ValueError:
        return None
    opts.setdefault("fmt", "markdown")
    opts.setdefault("tokenizer", "cl100k_base")
    diff, staged = opts.get("diff"), bool(opts.get("staged"))
    if opts["budget"] <= 0 or opts["fmt"] not in _FORMATS or (diff and staged):
        return None
    if not (diff or staged) and query is None and query_file is None:
        return None
    return {**opts, "command": command}


def _op(opts: dict[str, Any], text: str | None) -> tuple[str, dict[str, Any]]:
    """The request (op, checked arguments) for the query ``text``."""
    from .client import pack_request, search_args  # socket: only for pack and search

    if opts["command"] == "search":
        assert text is not None
        args = search_args(
            text, n=opts["n"], min_score=opts["min_score"], as_json="as_json" in opts
        )
        return "search", args
    return pack_request(
        text,
        opts.get("diff"),
        bool(opts.get("staged")),
        opts["budget"],
        opts["tokenizer"],
        opts["fmt"],
        opts["min_score"],
    )


def serve_argv(argv: list[str]) -> int | None:
    """Answer ``agentctx ARGV`` through a running watcher: the exit code, or None."""
    return _answer(argv, direct=False)


def run_argv(argv: list[str]) -> int | None:
    """Answer ``agentctx ARGV`` through a running watcher, else in this process without
    the CLI: the exit code, or None when the CLI must run."""
    return _answer(argv, direct=True)


def _answer(argv: list[str], *, direct: bool) -> int | None:
    opts = _request(argv)
    if opts is None:
        return None
    try:
        from .config import load_settings
        from .discover import find_root

        repo = opts.get("repo")
        if repo is not None:
            root = Path(repo)
            if not root.is_dir():
                return None
        else:
            root = find_root(Path.cwd())
        settings = load_settings(root.resolve())
    except Exception:  # a configuration error...: the CLI reports it properly
        return None
    if not direct and (opts.get("query") == "-" or opts.get("query_file") is not None):
        return None  # stdin is read once: by whoever can also answer without the watcher
    from .errors import report
    from .ops import answer, print_answer, read_query, served

    text = opts.get("query")
    if text == "-" or opts.get("query_file") is not None:
        try:  # from here on this lane answers, errors included
            text = read_query(text, None if text == "-" else Path(opts["query_file"]))
        except (Exception, KeyboardInterrupt) as exc:
            return report(exc)
    op, args = _op(opts, text)
    shown = {"stats": "stats" in opts, "profile": "profile" in opts}
    if not direct:
        response = None if opts.get("no_server") else served(settings, op, args)
        return None if response is None else print_answer(response, **shown)
    try:
        return answer(
            settings,
            op,
            args,
            refresh="no_refresh" not in opts,
            reporter=_reporter(),
            server=not opts.get("no_server"),
            **shown,
        )
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc)


class _Lines:
    """Progress where stderr is not a terminal: Rich would draw no bar, so it is not
    even imported (~40 ms); notices are the same lines."""

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def notice(self, message: str) -> None:
        print(f"agentctx: {message}", file=sys.stderr, flush=True)


def _reporter() -> Any:
    """The CLI's progress bar on a terminal, plain notice lines otherwise."""
    if sys.stderr.isatty():
        from .progress import RichReporter, err_console

        return RichReporter(err_console)
    return _Lines()
