"""``agentctx hook``: keep the index fresh from git's pre-commit hook."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ._common import err_console, handle_errors, resolve_root

hook_app = typer.Typer(
    help="Keep the index fresh at each commit with a git pre-commit hook.",
    no_args_is_help=True,
)

PathArg = Annotated[
    Path | None,
    typer.Argument(help="Indexed root (default: the enclosing git or indexed root)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")]


def _shown(path: Path) -> str:
    """A path relative to the current directory when it is below it, else absolute."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _notes(notes: list[str]) -> None:
    for note in notes:
        err_console.print(f"agentctx: {note}", markup=False, highlight=False, soft_wrap=True)


@hook_app.command("install")
@handle_errors
def install_command(
    path: PathArg = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Stop the commit when agentctx fails (default: warn and go on)."
        ),
    ] = False,
    max_embed: Annotated[
        int,
        typer.Option(
            "--max-embed",
            metavar="N",
            min=0,
            help="Embed at commit time only if at most N chunks are pending; "
            "more are left to the next index or pack.",
        ),
    ] = 64,
    as_json: JsonOpt = False,
) -> None:
    """Add `agentctx index --staged` to .git/hooks/pre-commit (an existing hook is kept).

    Each commit then re-indexes only the staged files, from their staged content.
    The block goes right after the shebang line, between `# >>> agentctx >>>`
    and `# <<< agentctx <<<`; core.hooksPath, worktrees and submodules are
    honoured. Installing again changes nothing; `hook uninstall` removes it.
    """
    from ..hook import install

    result = install(resolve_root(path), strict=strict, max_embed=max_embed)
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        where = _shown(result.path)
        mode = "strict: a failure stops the commit" if strict else "a failure never stops it"
        if result.action == "unchanged":
            typer.echo(f"agentctx hook already installed in {where} (nothing changed)")
        elif result.action == "updated":
            typer.echo(f"Updated the agentctx hook in {where} ({mode})")
        elif result.created:
            typer.echo(f"Created {where}: each commit re-indexes the staged files ({mode})")
        else:
            typer.echo(
                f"Added agentctx to {where}, before the existing hook's own commands: each "
                f"commit re-indexes the staged files ({mode})"
            )
    _notes(result.notes)


@hook_app.command("uninstall")
@handle_errors
def uninstall_command(path: PathArg = None, as_json: JsonOpt = False) -> None:
    """Remove exactly what `hook install` added; any other hook content stays byte for byte."""
    from ..hook import uninstall

    result = uninstall(resolve_root(path))
    if as_json:
        typer.echo(json.dumps(result.as_dict(), indent=2))
    else:
        where = _shown(result.path)
        typer.echo(
            {
                "absent": f"No agentctx hook in {where} (nothing to do)",
                "deleted": f"Deleted {where} (agentctx had created it)",
                "removed": f"Removed the agentctx block from {where}; the rest is unchanged",
            }[result.action]
        )
    _notes(result.notes)


@hook_app.command("status")
@handle_errors
def status_command(path: PathArg = None, as_json: JsonOpt = False) -> None:
    """Say whether the hook is installed where git looks for it, and how it is set up."""
    from ..hook import status

    st = status(resolve_root(path))
    if as_json:
        typer.echo(json.dumps(st.as_dict(), indent=2))
        return
    where = _shown(st.path)
    if not st.installed:
        what = "exists without agentctx" if st.exists else "does not exist"
        typer.echo(f"Not installed: {where} {what} (`agentctx hook install` adds it)")
        return
    mode = "strict" if st.strict else "warn-only"
    typer.echo(
        f"Installed in {where}: indexes root {st.root!r} at each commit ({mode}, "
        f"max-embed {st.max_embed}) with {st.command or 'agentctx on PATH'}"
    )
    if not st.executable:
        _notes([f"{where} is not executable: git skips it (`agentctx hook install` fixes it)"])
    if not st.command_found:
        _notes(["agentctx executable not found: commits are not indexed"])
