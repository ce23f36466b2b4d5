"""What every command shares: the stderr console, error reporting, progress, formatting."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import typer
from rich.console import Console

from ..errors import AgentctxError, ExitCode, NotFoundError, print_line

err_console = Console(stderr=True, highlight=False, soft_wrap=True)  # a note stays one line
F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(func: F) -> F:
    """The library raises, the CLI reports: one stderr line and a named exit code.

    Set ``AGENTCTX_DEBUG=1`` to get the traceback of an unexpected error.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AgentctxError as exc:
            print_line(f"error: {exc.message}", exc.hint)
            raise typer.Exit(int(exc.exit_code)) from None
        except KeyboardInterrupt:
            print_line("interrupted", None)
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("AGENTCTX_DEBUG"):
                raise
            print_line(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug; rerun with AGENTCTX_DEBUG=1 for the traceback",
            )
            raise typer.Exit(int(ExitCode.ERROR)) from None

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


def make_progress(console: Console, *, enabled: bool = True) -> Any:
    """The one progress-bar layout of every command (silent when not a terminal)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not (enabled and console.is_terminal),
    )


class RichReporter:
    """Pipeline progress as a Rich progress bar on stderr (silent when not a terminal)."""

    _LABELS: ClassVar[dict[str, str]] = {
        "discover": "Scanning files",
        "parse": "Parsing",
        "store": "Writing index",
        "embed": "Embedding symbols",
        "load model": "Loading the embedding model",
    }

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self.console = console
        self.enabled = enabled and console.is_terminal
        self._progress = make_progress(console, enabled=self.enabled)
        self._task: Any = None

    def __enter__(self) -> RichReporter:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(None, None, None)

    def stage(self, name: str, total: int | None = None) -> None:
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(self._LABELS.get(name, name), total=total)

    def advance(self, n: int = 1) -> None:
        if self._task is not None:
            self._progress.advance(self._task, n)

    def notice(self, message: str) -> None:
        self.console.print(f"agentctx: {message}", markup=False, highlight=False, soft_wrap=True)


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
