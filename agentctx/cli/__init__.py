"""The command line: the only package that imports typer or rich.

Each command lives in its own module and is registered here; commands stay thin
(parse flags, build settings, call the pipeline, render).
"""

from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .bench import bench_app
from .hook import hook_app
from .index import index_command
from .pack import pack_command, search_command
from .watch import watch_command

app = typer.Typer(
    name="agentctx",
    help="Give an LLM or a coding agent exactly the code it needs, and no more.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agentctx {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Index a repository into symbols, then pack the relevant ones into a token budget."""


app.command("index")(index_command)
app.command("pack")(pack_command)
app.command("search")(search_command)
app.command("watch")(watch_command)
app.add_typer(bench_app, name="bench")
app.add_typer(hook_app, name="hook")


def _optional_diff_rev(args: list[str]) -> list[str]:
    """Let ``pack --diff`` take its revision optionally, as the docs promise.

    Typer options cannot have an optional value, so ``--diff`` gets ``HEAD`` inserted
    unless the next word names a revision in the repository (``--repo``/``-C``, else
    the current directory), checked with git as ``git diff`` itself tells a revision
    from a path; otherwise that word is the query.
    """
    if "pack" not in args or "--diff" not in args:
        return args
    out = list(args)
    i = out.index("--diff")
    nxt = out[i + 1] if i + 1 < len(out) else None
    if nxt is None or nxt.startswith("-") or not _is_revision(nxt, _repo_arg(out)):
        out.insert(i + 1, "HEAD")
    return out


def _repo_arg(args: list[str]) -> str | None:
    for j, arg in enumerate(args):
        if arg in ("--repo", "-C") and j + 1 < len(args):
            return args[j + 1]
        if arg.startswith("--repo="):
            return arg.split("=", 1)[1]
    return None


def _is_revision(word: str, repo: str | None) -> bool:
    from pathlib import Path

    from ..gitutil import GitError, resolve_rev

    try:
        resolve_rev(Path(repo or "."), word)
    except GitError:
        return False
    return True


def main() -> None:
    import sys

    app(args=_optional_diff_rev(sys.argv[1:]), prog_name="agentctx")
