"""``agentctx pack`` and ``agentctx search``: the query side."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError, write_stdout
from ..ops import read_query
from ..progress import print_profile
from ._common import err_console, handle_errors, resolve_root

RepoOpt = Annotated[
    Path | None,
    typer.Option("--repo", "-C", help="Repository root (default: the enclosing git root)."),
]
ProfileOpt = Annotated[
    bool, typer.Option("--profile", help="Print per-stage latency and counts to stderr.")
]
NoRefreshOpt = Annotated[
    bool, typer.Option("--no-refresh", help="Use the index as it is (do not update it).")
]
NoServerOpt = Annotated[
    bool,
    typer.Option("--no-server", help="Work in this process even when `agentctx watch` runs."),
]
MinScoreOpt = Annotated[
    float | None,
    typer.Option(help="Relevance threshold, relative to the best hit (default 0.15)."),
]


@handle_errors
def pack_command(
    query: Annotated[
        str | None, typer.Argument(help="The question or bug report; '-' reads stdin.")
    ] = None,
    query_file: Annotated[
        Path | None, typer.Option("--query-file", "-f", help="Read the query from a file.")
    ] = None,
    budget: Annotated[int, typer.Option("--budget", "-b", help="Token budget.")] = 8000,
    tokenizer: Annotated[
        str, typer.Option(help="Token counting: cl100k_base or o200k_base.")
    ] = "cl100k_base",
    fmt: Annotated[str, typer.Option("--format", help="markdown, xml or json.")] = "markdown",
    min_score: MinScoreOpt = None,
    stats: Annotated[
        bool, typer.Option("--stats", help="Print token and latency statistics to stderr.")
    ] = False,
    no_refresh: NoRefreshOpt = False,
    profile: ProfileOpt = False,
    repo: RepoOpt = None,
    diff: Annotated[
        str | None,
        typer.Option(
            "--diff",
            metavar="[REV]",
            help="Context for the working-tree change against REV (default HEAD): changed "
            "symbols in full, their callers, callees and tests as skeletons.",
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Like --diff, for the staged change (git index).")
    ] = False,
    no_server: NoServerOpt = False,
) -> None:
    """Pack the code relevant to a query into a context bundle that fits a token budget.

    With --diff or --staged the query is optional: the bundle is built around the change.
    """
    from ..config import load_settings
    from ..pipeline import pack, pack_diff
    from ..render import FORMATS, pack_profile, pack_stdout
    from ._common import RichReporter

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use markdown, xml or json")
    if budget <= 0:
        raise UsageError(f"--budget must be a positive number of tokens, got {budget}")
    if diff is not None and staged:
        raise UsageError("give either --diff [REV] or --staged, not both")
    by_diff = diff is not None or staged
    if by_diff and query is None and query_file is None:
        text = None
    else:
        text = read_query(query, query_file)
    settings = load_settings(resolve_root(repo))
    if not no_server:  # a running `agentctx watch` answers with its model already loaded
        from ..client import pack_request
        from ._served import answer

        request = pack_request(text, diff, staged, budget, tokenizer, fmt, min_score)
        if answer(settings, *request, stats=stats, profile=profile):
            return
    with RichReporter(err_console) as reporter:
        common: dict[str, Any] = {
            "budget": budget,
            "tokenizer": tokenizer,
            "fmt": fmt,
            "min_score": min_score,
            "refresh": not no_refresh,
            "reporter": reporter,
        }
        if by_diff:
            result = pack_diff(settings, rev=diff, staged=staged, query=text, **common)
        else:
            assert text is not None
            result = pack(settings, text, **common)
    for note in result.bundle.notes:
        err_console.print(f"agentctx: {note}", markup=False, highlight=False)
    write_stdout(pack_stdout(result, fmt))
    if stats:
        err_console.print_json(json.dumps(result.stats))
    if profile:
        print_profile(pack_profile(result, budget))


@handle_errors
def search_command(
    query: Annotated[str | None, typer.Argument(help="The query; '-' reads stdin.")] = None,
    n: Annotated[int, typer.Option("-n", help="How many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    min_score: MinScoreOpt = None,
    no_refresh: NoRefreshOpt = False,
    profile: ProfileOpt = False,
    repo: RepoOpt = None,
    no_server: NoServerOpt = False,
) -> None:
    """Show the ranked symbols for a query (score, path:line, symbol) without packing."""
    from ..config import load_settings
    from ..pipeline import search
    from ._common import RichReporter

    if n <= 0:
        raise UsageError("-n must be positive")
    text = read_query(query, None)
    settings = load_settings(resolve_root(repo))
    if not no_server:  # a running `agentctx watch` answers with its model already loaded
        from ..client import search_args
        from ._served import answer

        request = search_args(text, n=n, min_score=min_score, as_json=as_json)
        if answer(settings, "search", request, profile=profile):
            return
    with RichReporter(err_console) as reporter:
        result = search(
            settings, text, min_score=min_score, limit=n, refresh=not no_refresh, reporter=reporter
        )
    for note in result.notes:
        err_console.print(f"agentctx: {note}", markup=False, highlight=False)
    from ..render import render_search, search_profile

    if profile:
        print_profile(search_profile(result))

    write_stdout(render_search(text, result.hits, result.latency_ms, as_json=as_json))
