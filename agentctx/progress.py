"""Progress on stderr, shared by the CLI and the executable's direct lane (no typer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)  # a note stays one line


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


def print_profile(profile: Mapping[str, Any]) -> None:
    """A ``render.pack_profile``/``search_profile``: per-stage milliseconds and a few
    counts, on stderr (stdout stays the product)."""
    from rich.table import Table

    latency_ms = profile.get("latency_ms") or {}
    table = Table(title=str(profile.get("title", "profile")), show_edge=False)
    table.add_column("stage")
    table.add_column("ms", justify="right")
    for stage, ms in latency_ms.items():
        table.add_row(stage, f"{ms:.1f}")
    table.add_row("total", f"{sum(latency_ms.values()):.1f}", style="bold")
    err_console.print(table)
    counts = profile.get("counts", [])
    err_console.print("; ".join(f"{k}: {v}" for k, v in counts), markup=False)
