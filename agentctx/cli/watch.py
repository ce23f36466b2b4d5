"""``agentctx watch``: keep the index current while you work, and serve pack/search."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import AgentctxError, ExitCode, UsageError, silence_stdout
from ._common import err_console, handle_errors, human_seconds, plural, resolve_root

if TYPE_CHECKING:
    from rich.text import Text

    from ..serve import Server
    from ..watch import Update, Watcher

_STAGES = {
    "discover": "scanning",
    "parse": "parsing",
    "store": "writing",
    "load model": "loading the model",
    "embed": "embedding",
}


class _Output:
    """Update lines and notices on stderr; with ``--json``, one object a line on stdout."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json
        self._lock = threading.Lock()
        self.closed = threading.Event()  # the reader of the JSON lines went away

    def line(self, text: str) -> None:
        with self._lock:
            err_console.print(text, markup=False, highlight=False, soft_wrap=True)

    def event(self, obj: dict[str, Any]) -> None:
        if not self.as_json or self.closed.is_set():
            return
        with self._lock:
            try:
                sys.stdout.write(json.dumps(obj) + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `agentctx watch --json | head`: stop, as pack does
                silence_stdout()
                self.closed.set()

    # pipeline Reporter (the watcher's own stage tracking feeds the status line)
    def stage(self, name: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def notice(self, message: str) -> None:
        self.line(f"agentctx: {message}")


def _update_line(update: Update) -> str | None:
    from .index import summary_lines

    r = update.report
    clock = time.strftime("%H:%M:%S", time.localtime(update.finished))
    if update.number == 0:
        return (
            f"{clock}  watching {r.root}: {plural(r.files_total, 'file')}, "
            f"{plural(r.symbols_total, 'symbol')} ({human_seconds(update.ms / 1000)})"
        )
    if not r.changed:
        return None
    return f"{clock}  {summary_lines(r)[0]}"


def _status_text(watcher: Watcher, server: Server | None) -> Text:
    """One line: what runs now, the last update, what waits, how the cache does."""
    from rich.text import Text

    st = watcher.status()
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{st['observer']}", style="bold")  # 80 columns hold it all
    stage = st["stage"]
    if stage is not None:
        name, total, done = stage
        label = _STAGES.get(name, name)
        text.append(f" · {label}" + (f" {done:,}/{total:,}" if total else ""), style="yellow")
    elif st["state"] != "idle":
        text.append(f" · {st['state']}", style="yellow")
    last = st["last_update"]
    if last is not None:
        text.append(
            f" · last {last['time'][11:19]}: {plural(last['files'], 'file')} "
            f"in {last['ms']:,.0f} ms"
        )
    text.append(f" · pending {st['pending']:,} · queue {st['queue']:,}")
    if server is not None:
        c = server.cache.stats()
        text.append(f" · cache {c['hits']}/{c['hits'] + c['misses']} hits")
    return text


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@handle_errors
def watch_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Repository root (default: the enclosing git or indexed root)."),
    ] = None,
    poll: Annotated[
        bool,
        typer.Option("--poll", help="Poll the tree instead of using file events (network disks)."),
    ] = False,
    debounce: Annotated[
        float,
        typer.Option(help="Seconds of quiet before an update starts (bursts become one update)."),
    ] = 0.25,
    no_serve: Annotated[
        bool,
        typer.Option("--no-serve", help="Do not answer pack/search through .agentctx/watch.sock."),
    ] = False,
    no_prefetch: Annotated[
        bool,
        typer.Option("--no-prefetch", help="Do not pre-compute `pack --diff` after each update."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="One JSON object per event on stdout (ready, update, prefetch)."
        ),
    ] = False,
    embedder: Annotated[
        str | None,
        typer.Option(help="Embedding backend: minilm (default), minilm-torch, minilm-numpy, hash."),
    ] = None,
) -> None:
    """Keep the index current on every save; serve pack and search while running.

    Catches up first, then follows file events: ignored paths never count, a burst
    (a checkout, a formatter) becomes one update. pack and search in this repository
    are answered by the watcher, with the model already loaded, and `pack --diff` is
    prepared after each update. Ctrl-C stops it cleanly (exit 130).
    """
    from ..config import load_settings
    from ..serve import Server
    from ..watch import DEFAULT_MAX_DELAY, Watcher

    if debounce <= 0 or debounce > 60:
        raise UsageError("--debounce must be between 0 and 60 seconds")
    settings = load_settings(resolve_root(path), {"embedder": embedder})
    out = _Output(as_json)
    watcher = Watcher(
        settings,
        reporter=out,
        debounce=debounce,
        max_delay=max(DEFAULT_MAX_DELAY, 4 * debounce),
        poll=poll,
    )
    server = None if no_serve else Server(watcher, prefetch=not no_prefetch, on_prefetch=out.event)

    def on_update(update: Update) -> None:
        out.event(update.as_dict())
        line = _update_line(update)
        if line is not None:
            out.line(line)
        if update.number == 0:
            out.event(
                {
                    "type": "ready",
                    "root": str(settings.root),
                    "pid": os.getpid(),
                    "observer": watcher.observer_kind,
                    "socket": None if server is None else server.socket_path,
                    "generation": update.generation,
                }
            )

    watcher.add_listener(on_update)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    interrupted = False
    try:
        watcher.claim()
        if server is not None:
            try:
                server.start()
            except AgentctxError as exc:
                out.notice(f"not serving pack/search: {exc.message}")
                server = None
        watcher.start()
        _run(watcher, server, out.closed)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        try:
            if server is not None:
                server.close()
            watcher.stop()
        finally:
            signal.signal(signal.SIGTERM, previous)
    if watcher.fatal is not None:
        raise watcher.fatal
    if interrupted or out.closed.is_set():
        done = f"stopped after {plural(max(0, watcher.batches - 1), 'update')}"
        if out.closed.is_set():
            done += " (the reader of the JSON lines went away)"
        line = f"agentctx: {done}; {watcher.stopped_note or 'the index is up to date'}"
        print(line, file=sys.stderr)
        code = ExitCode.INTERRUPTED if interrupted else ExitCode.PIPE_CLOSED
        raise typer.Exit(int(code))


def _run(watcher: Watcher, server: Server | None, closed: threading.Event) -> None:
    """Block until Ctrl-C, a fatal error or a closed stdout, refreshing the status line."""
    from rich.live import Live

    if not err_console.is_terminal:
        while not watcher.wait(0.5) and not closed.is_set():
            pass
        return
    with Live(
        _status_text(watcher, server),
        console=err_console,
        refresh_per_second=4,
        transient=True,
        redirect_stdout=False,
        redirect_stderr=False,
    ) as live:
        while not watcher.wait(0.25) and not closed.is_set():
            live.update(_status_text(watcher, server))
