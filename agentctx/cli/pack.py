"""``agentctx pack`` and ``agentctx search``: the query side."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import UsageError
from ..ops import read_query
from ._common import RichReporter, err_console, handle_errors, resolve_root

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
QueryFileOpt = Annotated[
    Path | None, typer.Option("--query-file", "-f", help="Read the query from a file.")
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
    query_file: QueryFileOpt = None,
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
    from ..client import pack_request
    from ..config import load_settings
    from ..render import FORMATS

    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use markdown, xml or json")
    if budget <= 0:
        raise UsageError(f"--budget must be a positive number of tokens, got {budget}")
    _check_min_score(min_score)
    if diff is not None and staged:
        raise UsageError("give either --diff [REV] or --staged, not both")
    by_diff = diff is not None or staged
    if by_diff and query is None and query_file is None:
        text = None
    else:
        text = read_query(query, query_file)
    settings = load_settings(resolve_root(repo))
    op, args = pack_request(text, diff, staged, budget, tokenizer, fmt, min_score)
    _answer(settings, op, args, no_refresh, no_server, stats=stats, profile=profile)


def _check_min_score(value: float | None) -> None:
    """A threshold is a share of the best hit's score: above 1 it keeps nothing, below 0
    (or NaN) it means nothing."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise UsageError(
            f"--min-score must be between 0 and 1 (a share of the best hit's score), got {value}"
        )


@handle_errors
def search_command(
    query: Annotated[str | None, typer.Argument(help="The query; '-' reads stdin.")] = None,
    query_file: QueryFileOpt = None,
    n: Annotated[int, typer.Option("-n", help="How many results.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object on stdout.")] = False,
    min_score: MinScoreOpt = None,
    no_refresh: NoRefreshOpt = False,
    profile: ProfileOpt = False,
    repo: RepoOpt = None,
    no_server: NoServerOpt = False,
) -> None:
    """Show the ranked symbols for a query (score, path:line, symbol) without packing."""
    from ..client import search_args
    from ..config import load_settings

    if n <= 0:
        raise UsageError("-n must be positive")
    _check_min_score(min_score)
    text = read_query(query, query_file)
    settings = load_settings(resolve_root(repo))
    args = search_args(text, n=n, min_score=min_score, as_json=as_json)
    _answer(settings, "search", args, no_refresh, no_server, profile=profile)


def _answer(
    settings: Any, op: str, args: dict[str, Any], no_refresh: bool, no_server: bool, **shown: bool
) -> None:
    """A running `agentctx watch` answers with its model already loaded; else this process,
    with a progress bar. Printed as the executable's direct lane prints it (``ops.answer``)."""
    from ..ops import answer

    reporter = RichReporter(err_console)
    code = answer(
        settings, op, args, refresh=not no_refresh, reporter=reporter, server=not no_server, **shown
    )
    if code:
        raise typer.Exit(code)
