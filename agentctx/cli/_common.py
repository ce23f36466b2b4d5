"""What every command shares: the stderr console, error reporting, progress, formatting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from ..errors import NotFoundError, report

# Shared with the executable's direct lane, which runs without typer.
from ..progress import RichReporter as RichReporter
from ..progress import err_console as err_console
from ..progress import make_progress as make_progress

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """The library raises, the CLI reports: one stderr line and a named exit code.

    Set ``AGENTCTX_DEBUG=1`` to get the traceback of an unexpected error.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise typer.Exit(report(exc)) from None

    return wrapper  # type: ignore[return-value]


def resolve_root(path: Path | None) -> Path:
    """An explicit PATH is the root; otherwise the nearest enclosing indexed/git root."""
    from ..discover import find_root

    if path is None:
        return find_root(Path.cwd()).resolve()
    if not path.exists():
        raise NotFoundError(f"no such directory: {path}")
    if not path.is_dir():
        raise NotFoundError(f"not a directory: {path}", hint="pass the repository root")
    return path.resolve()


def human_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def plural(n: int, word: str, plural_word: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural_word or word + 's')}"
