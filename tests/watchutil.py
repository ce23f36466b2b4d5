"""Helpers for the watcher and server tests: waiting on conditions, index snapshots."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from agentctx.config import load_settings
from agentctx.pipeline import build_index
from agentctx.store import IndexStore
from agentctx.watch import Update, Watcher

WAIT = 30.0  # generous: a loaded CI machine is slow, a passing test never waits this long


def wait_for(cond: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def manifest(root: Path) -> dict[str, str]:
    """path -> sha256 of every indexed file."""
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return {p: r.sha256 for p, r in store.manifest().items()}


def symbols(root: Path, path: str) -> dict[str, str]:
    """qualname -> text of the chunks of one file."""
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return {c.qualname: c.text for c in store.chunks_in_files([path])}


def snapshot(root: Path) -> dict[str, Any]:
    """What two equal indexes share: files, chunks (ids, hashes), vectors, nothing pending."""
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        conn = store.conn
        return {
            "files": sorted(conn.execute("SELECT path, size, sha256, language FROM files")),
            "chunks": sorted(
                conn.execute("SELECT id, path, qualname, content_hash, embed_hash FROM chunks")
            ),
            "vectors": sorted(conn.execute("SELECT id, embed_hash FROM vectors")),
            "lexical": conn.execute("SELECT COUNT(*) FROM lexical").fetchone()[0],
            "skipped": sorted(conn.execute("SELECT path, reason FROM skipped")),
            "pending": store.pending_count(),
        }


def assert_equals_fresh(root: Path, embedder: str = "hash") -> None:
    """The index under ``root`` is what a from-scratch ``agentctx index`` builds."""
    watched = snapshot(root)
    assert watched["pending"] == 0
    build_index(load_settings(root, {"embedder": embedder}), rebuild=True)
    fresh = snapshot(root)
    for key in fresh:
        assert watched[key] == fresh[key], key


class Recorder:
    """A Reporter that keeps notices and lets a test act at a stage."""

    def __init__(self) -> None:
        self.notices: list[str] = []
        self.on_stage: Callable[[str], None] | None = None

    def stage(self, name: str, total: int | None = None) -> None:
        if self.on_stage is not None:
            self.on_stage(name)

    def advance(self, n: int = 1) -> None:
        pass

    def notice(self, message: str) -> None:
        self.notices.append(message)


@contextlib.contextmanager
def watched(root: Path, **kwargs: Any) -> Iterator[tuple[Watcher, list[Update]]]:
    """A started watcher (hash embedder, short debounce) and the list of its updates."""
    settings = load_settings(root, {"embedder": kwargs.pop("embedder", "hash")})
    kwargs.setdefault("debounce", 0.05)
    kwargs.setdefault("poll_interval", 0.1)
    w = Watcher(settings, **kwargs)
    updates: list[Update] = []
    w.add_listener(updates.append)
    w.start()
    try:
        wait_for(lambda: updates or w.fatal, "the catch-up")
        assert w.fatal is None, w.fatal
        yield w, updates
    finally:
        w.stop()
    assert w.fatal is None, w.fatal
