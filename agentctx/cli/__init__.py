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


def main() -> None:
    """Run the CLI. A usage error (unknown option, bad value, missing argument) is one
    line on stderr, like every other error, instead of click's usage block and panel."""
    import sys

    try:  # typer (as pinned) carries its own copy of click
        from typer._click import exceptions as cx
    except ImportError:  # pragma: no cover - a typer that uses click itself
        from click import exceptions as cx

    from ..argscan import optional_diff_rev
    from ..errors import ExitCode, print_line

    try:
        rv = app(args=optional_diff_rev(sys.argv[1:]), prog_name="agentctx", standalone_mode=False)
    except cx.NoArgsIsHelpError as exc:  # the help is already printed
        sys.exit(exc.exit_code)
    except cx.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else "agentctx"
        print_line(f"error: {exc.format_message()}", f"see '{where} -h'")
        sys.exit(int(ExitCode.USAGE))
    except cx.ClickException as exc:
        print_line(f"error: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_line("aborted")
        sys.exit(int(ExitCode.ERROR))
    # Not standalone: a command's `typer.Exit(code)` comes back as its code.
    sys.exit(rv if isinstance(rv, int) else 0)
