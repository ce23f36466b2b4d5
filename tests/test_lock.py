"""One writer at a time, between processes; readers see the last committed state."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from agentctx.config import load_settings
from agentctx.errors import ExitCode
from agentctx.pipeline import build_index
from agentctx.store import IndexStore

# Takes the writer lock, says so, then sleeps until killed. With "fork", a child
# inherits the lock and the process that took it exits at once.
HOLDER = r"""
import os, sys, time
from pathlib import Path
from agentctx.store import IndexStore
store = IndexStore.open(Path(sys.argv[1]), writer=True)
if sys.argv[2] == "fork":
    child = os.fork()
    if child:
        print(os.getpid(), child, flush=True)
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # let the parent's caller see end-of-file
        os.dup2(null, fd)
else:
    print(os.getpid(), flush=True)
time.sleep(120)
"""

READER = r"""
import json, sys
from pathlib import Path
from agentctx.config import load_settings
from agentctx.pipeline import search
from agentctx.store import IndexStore
root = Path(sys.argv[1])
with IndexStore.open(root / ".agentctx", writer=False) as store:
    files, symbols, _ = store.counts()
    chunks = store.chunk_count()
settings = load_settings(root, {"embedder": "hash", "lock_timeout": 0.2})
found = search(settings, "tax_for", refresh=True)
print(json.dumps({"files": files, "symbols": symbols, "chunks": chunks,
                  "hits": [h.qualname for h in found.hits[:3]], "notes": found.notes}))
"""


def _settings(root: Path):
    return load_settings(root, {"embedder": "hash"})


def _index(root: Path, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "agentctx", "index", str(root), "--embedder", "hash", *flags],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def indexed(sample_repo: Path) -> Path:
    build_index(_settings(sample_repo))
    return sample_repo


def test_second_writer_fails_naming_the_holder_then_gets_the_lock_once_it_dies(indexed: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(indexed / ".agentctx"), "hold"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert int(holder.stdout.readline()) == holder.pid  # it holds the lock now

        blocked = _index(indexed, "--lock-timeout", "0.3")
        assert blocked.returncode == ExitCode.INDEX
        assert blocked.stdout == "" and blocked.stderr.count("\n") == 1
        assert f"another agentctx process (pid {holder.pid}, for " in blocked.stderr
        assert "waited 0.3s" in blocked.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

    # No stale lock: the kernel dropped it with the process.
    after = _index(indexed, "--lock-timeout", "0.1")
    assert after.returncode == 0, after.stderr
    assert after.stdout.startswith("Index up to date")


def test_lock_kept_by_a_child_of_a_dead_holder_is_explained(indexed: Path):
    parent = subprocess.run(
        [sys.executable, "-c", HOLDER, str(indexed / ".agentctx"), "fork"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    dead, child = (int(x) for x in parent.stdout.split())
    try:
        blocked = _index(indexed, "--lock-timeout", "0.2")
        assert blocked.returncode == ExitCode.INDEX
        assert f"pid {dead} took the lock" in blocked.stderr
        assert "has exited, but a process it started still holds it" in blocked.stderr
    finally:
        os.kill(child, signal.SIGKILL)
    for _ in range(200):  # the child is not ours to wait for: poll until it is gone
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert _index(indexed, "--lock-timeout", "5").returncode == 0


def test_reader_sees_the_last_committed_state_while_a_writer_is_mid_transaction(indexed: Path):
    with IndexStore.open(indexed / ".agentctx", writer=False) as store:
        files, symbols, _ = store.counts()
        chunks = store.chunk_count()
    with IndexStore.open(indexed / ".agentctx", writer=True) as writer:
        writer.conn.execute("BEGIN IMMEDIATE")
        writer.conn.execute("DELETE FROM lexical")
        writer.conn.execute("DELETE FROM chunks")
        writer.conn.execute("DELETE FROM files")
        out = subprocess.run(
            [sys.executable, "-c", READER, str(indexed)],
            capture_output=True,
            text=True,
            check=True,
        )
        seen = json.loads(out.stdout)
        assert (seen["files"], seen["symbols"], seen["chunks"]) == (files, symbols, chunks)
        assert seen["hits"][0] == "tax_for"  # searchable as before, from the committed state
        assert any("being updated by another process" in n for n in seen["notes"])
        writer.conn.rollback()
