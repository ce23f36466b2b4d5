"""Watch mode on real git repositories: a watcher thread sees the tree change.

No wall-clock assertions: every test waits (with a generous timeout) for a condition
on the index, then checks that the index equals a from-scratch one.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from watchutil import (
    Recorder,
    assert_equals_fresh,
    manifest,
    snapshot,
    symbols,
    wait_for,
    watched,
)

from agentctx import watch as watch_mod
from agentctx.config import load_settings
from agentctx.discover import IgnoreMatcher, discover
from agentctx.pipeline import build_index
from agentctx.store import IndexStore
from agentctx.watch import Watcher, WatcherRunningError

WATCH = [sys.executable, "-m", "agentctx", "watch"]
NATIVE = {"linux": "inotify", "darwin": "fsevents"}.get(sys.platform, "kqueue")


def _indexed(repo: Path) -> Path:
    """Index ``repo`` first, so the watcher's catch-up has nothing left to do."""
    build_index(load_settings(repo, {"embedder": "hash"}))
    return repo


# ------------------------------------------------------------------ ignore filter
@pytest.mark.parametrize("use_git", [True, False])
def test_ignore_matcher_agrees_with_discover(tmp_path: Path, use_git: bool) -> None:
    from conftest import make_sample_repo

    repo = make_sample_repo(tmp_path, use_git=use_git)
    found = discover(repo)
    listed = {f.path for f in found.files} | {s.path for s in found.skipped}
    matcher = IgnoreMatcher(repo)
    every: list[str] = []
    for d, _dirs, files in os.walk(repo):
        rel = os.path.relpath(d, repo).replace(os.sep, "/")
        every += [f if rel == "." else f"{rel}/{f}" for f in files]
    assert listed and len(every) > len(listed)
    for p in every:
        assert matcher.ignored(p) == (p not in listed), p


def test_ignore_matcher_follows_gitignore_edits(sample_repo: Path) -> None:
    matcher = IgnoreMatcher(sample_repo)
    assert not matcher.ignored("src/shop/cart.py")
    assert matcher.ignored(".git/config") and matcher.ignored(".agentctx/index.db")
    (sample_repo / "src" / ".gitignore").write_text("shop/\n")
    assert matcher.is_ignore_file("src/.gitignore")
    matcher.invalidate()
    assert matcher.ignored("src/shop/cart.py")
    assert matcher.ignored("src/shop", is_dir=True)


# ------------------------------------------------------------------ tree changes
def test_create_modify_delete_rename(sample_repo: Path) -> None:
    with watched(sample_repo) as (w, _updates):
        new = sample_repo / "src" / "shop" / "coupons.py"
        new.write_text("def apply_coupon(total):\n    return total * 0.9\n")
        # (the file may be seen first as created and still empty, then written: wait for both)
        wait_for(
            lambda: "apply_coupon" in symbols(sample_repo, "src/shop/coupons.py"),
            "the created file's symbol",
        )
        assert "src/shop/coupons.py" in manifest(sample_repo)

        new.write_text("def apply_coupon(total):\n    return total * 0.8\n")
        wait_for(
            lambda: "0.8" in symbols(sample_repo, "src/shop/coupons.py").get("apply_coupon", ""),
            "the modified symbol",
        )

        new.rename(sample_repo / "src" / "shop" / "discounts.py")
        wait_for(
            lambda: (
                "src/shop/discounts.py" in (m := manifest(sample_repo))
                and "src/shop/coupons.py" not in m
            ),
            "the rename",
        )

        (sample_repo / "src" / "shop" / "discounts.py").unlink()
        wait_for(lambda: "src/shop/discounts.py" not in manifest(sample_repo), "the deletion")
        assert w.flush(10)
    assert_equals_fresh(sample_repo)


def test_a_flush_with_nothing_pending_leaves_the_debounce_alone(sample_repo: Path) -> None:
    with watched(sample_repo) as (w, _updates):
        assert w.flush(10) and w.flush(10)  # idle: served requests ask, nothing is queued
        assert not w._urgent  # else the next save, and the burst after it, skip the debounce


def test_atomic_save_write_temp_then_rename(sample_repo: Path) -> None:
    cart = sample_repo / "src" / "shop" / "cart.py"
    with watched(sample_repo) as (w, _updates):
        text = cart.read_text() + "\n\ndef saved_atomically():\n    return 1\n"
        tmp = cart.with_name(".cart.py.swp~")  # not ignored: it lives briefly in the tree
        tmp.write_text(text)
        os.replace(tmp, cart)
        wait_for(lambda: "saved_atomically" in symbols(sample_repo, "src/shop/cart.py"), "the save")
        assert w.flush(10)
        assert not any(p.endswith(".swp~") for p in manifest(sample_repo))
    assert_equals_fresh(sample_repo)


def test_file_vanishing_between_event_and_read(sample_repo: Path) -> None:
    rec = Recorder()
    doomed = sample_repo / "src" / "shop" / "doomed.py"

    def delete_before_read(stage: str) -> None:
        if stage == "parse" and doomed.exists():  # discovery listed it; now it goes
            doomed.unlink()

    with watched(_indexed(sample_repo), reporter=rec) as (w, _updates):
        rec.on_stage = delete_before_read
        doomed.write_text("def doomed():\n    pass\n")
        wait_for(lambda: not doomed.exists(), "the file to vanish mid-batch")
        rec.on_stage = None
        (sample_repo / "src" / "shop" / "later.py").write_text("def later():\n    pass\n")
        wait_for(lambda: "src/shop/later.py" in manifest(sample_repo), "the next change")
        assert w.flush(10)
        assert "src/shop/doomed.py" not in manifest(sample_repo)
    assert_equals_fresh(sample_repo)


def test_deleted_and_recreated_directory(sample_repo: Path) -> None:
    shop = sample_repo / "src" / "shop"
    saved = {p.name: p.read_text() for p in shop.iterdir() if p.suffix == ".py"}
    with watched(sample_repo) as (w, _updates):
        shutil.rmtree(shop)
        wait_for(
            lambda: not any(p.startswith("src/shop/") for p in manifest(sample_repo)),
            "the directory's files to leave the index",
        )
        shop.mkdir()
        for name, text in saved.items():
            (shop / name).write_text(text)
        (shop / "extra.py").write_text("def extra():\n    return 2\n")
        wait_for(lambda: "src/shop/extra.py" in manifest(sample_repo), "the recreated directory")
        # the new directory is watched too, not only scanned once
        (shop / "extra.py").write_text("def extra():\n    return 3\n")
        wait_for(
            lambda: "3" in symbols(sample_repo, "src/shop/extra.py").get("extra", ""),
            "an edit inside the recreated directory",
        )
        assert w.flush(10)
    assert_equals_fresh(sample_repo)


def test_checkout_of_2000_files_is_a_few_batches(sample_repo: Path) -> None:
    from conftest import git

    git(sample_repo, "checkout", "-q", "-b", "burst")
    for i in range(2000):
        d = sample_repo / "gen" / f"pkg{i % 25}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"mod{i}.py").write_text(f"def func_{i}(x):\n    return x + {i}\n")
    git(sample_repo, "add", "-A")
    git(sample_repo, "commit", "-q", "-m", "2,000 files")
    git(sample_repo, "checkout", "-q", "main")
    assert not (sample_repo / "gen").exists()

    def generated() -> int:
        return sum(p.startswith("gen/") for p in manifest(sample_repo))

    with watched(_indexed(sample_repo), debounce=0.25) as (w, updates):  # the default
        for branch, expected in (("burst", 2000), ("main", 0)):
            before = w.batches
            git(sample_repo, "checkout", "-q", branch)
            wait_for(lambda n=expected: generated() == n, f"{expected} generated files")
            assert w.flush(20)
            assert 1 <= w.batches - before <= 3, [len(u.paths) for u in updates]
    assert_equals_fresh(sample_repo)


def test_ignored_paths_never_start_a_batch(sample_repo: Path) -> None:
    with watched(_indexed(sample_repo)) as (w, updates):
        seen = len(updates)
        (sample_repo / "build" / "fresh.py").write_text("def built(): pass\n")  # build/ ignored
        (sample_repo / "app2.log").write_text("log\n")  # *.log ignored
        (sample_repo / ".git" / "scratch").write_text("x\n")
        (sample_repo / ".agentctx" / "scratch").write_text("x\n")
        (sample_repo / "node_modules" / "x.js").write_text("1\n")
        sentinel = sample_repo / "sentinel.py"
        sentinel.write_text("def sentinel():\n    pass\n")
        wait_for(lambda: "sentinel.py" in manifest(sample_repo), "the sentinel")
        assert w.flush(10)
        later = updates[seen:]
        assert later and all(u.paths == ("sentinel.py",) for u in later), [u.paths for u in later]


def test_gitignore_edit_reconciles(sample_repo: Path) -> None:
    with watched(_indexed(sample_repo)) as (w, _updates):
        assert "src/shop/legacy.py" in manifest(sample_repo)
        with (sample_repo / ".gitignore").open("a") as fh:
            fh.write("src/shop/legacy.py\n")
        wait_for(lambda: "src/shop/legacy.py" not in manifest(sample_repo), "the new rule")
        assert w.matcher.ignored("src/shop/legacy.py")
        assert w.flush(10)
    assert_equals_fresh(sample_repo)


# ------------------------------------------------------------------ degraded modes
def test_polling_fallback_when_inotify_fails(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def exhausted() -> object:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(watch_mod, "_native_observer", exhausted)
    rec = Recorder()
    with watched(sample_repo, reporter=rec) as (w, _updates):
        assert w.observer_kind == "polling"
        assert "inotify watch limit reached" in (w.observer_note or "")
        assert any("polling" in n for n in rec.notices)
        (sample_repo / "src" / "polled.py").write_text("def polled():\n    pass\n")
        wait_for(lambda: "src/polled.py" in manifest(sample_repo), "the polled change")
        assert w.flush(10)
    assert_equals_fresh(sample_repo)


def test_poll_flag_uses_the_polling_observer(sample_repo: Path) -> None:
    with watched(sample_repo, poll=True) as (w, _updates):
        assert w.observer_kind == "polling" and w.observer_note is None
        (sample_repo / "node_modules" / "skip.js").write_text("1\n")  # never even listed
        assert "node_modules" not in [e.name for e in w._listdir(str(sample_repo))]


def test_another_writer_holding_the_index_delays_the_batch(sample_repo: Path) -> None:
    rec = Recorder()
    with watched(_indexed(sample_repo), reporter=rec, lock_retry=0.1) as (w, _updates):
        with IndexStore.open(sample_repo / ".agentctx", writer=True):
            (sample_repo / "late.py").write_text("def late():\n    pass\n")
            wait_for(lambda: any("locked" in n for n in rec.notices), "the lock notice")
            assert w.fatal is None
        wait_for(lambda: "late.py" in manifest(sample_repo), "the retried batch")
        assert w.flush(10)
    assert_equals_fresh(sample_repo)


def test_second_watcher_on_the_same_root_is_refused(sample_repo: Path) -> None:
    with watched(sample_repo):
        other = Watcher(load_settings(sample_repo, {"embedder": "hash"}))
        with pytest.raises(WatcherRunningError, match="already running"):
            other.start()
    with watched(sample_repo):  # released on stop
        pass


class _SlowHash:
    """The hash embedder, slowly: a stop lands in the middle of embedding."""

    def __init__(self) -> None:
        from agentctx.embed.hashing import HashingEmbedder

        self.inner = HashingEmbedder()
        self.model_id = self.inner.model_id
        self.dim = self.inner.dim
        self.calls = 0

    def embed_batch(self, texts):  # type: ignore[no-untyped-def]
        import time

        self.calls += 1
        time.sleep(0.05)
        return self.inner.embed_batch(texts)


def test_stop_during_embedding_keeps_the_index_consistent(sample_repo: Path) -> None:
    for i in range(40):
        (sample_repo / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    settings = load_settings(sample_repo, {"embedder": "hash", "batch_size": 4, "cache": False})
    emb = _SlowHash()
    w = Watcher(settings, embedder=emb)
    w.start()
    wait_for(lambda: emb.calls >= 2, "embedding to start")
    w.stop()
    assert w.fatal is None
    assert w.stopped_note and "interrupted" in w.stopped_note
    state = snapshot(sample_repo)
    assert state["vectors"] and 0 < state["pending"] < len(state["chunks"])  # kept, resumable
    assert "m0.py" in {f[0] for f in state["files"]}  # symbols committed before embedding
    build_index(load_settings(sample_repo, {"embedder": "hash"}))  # resumes
    assert_equals_fresh(sample_repo)


# ------------------------------------------------------------------ the command
def _reader(stream) -> queue.Queue:  # type: ignore[no-untyped-def]
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _next_event(lines: queue.Queue, kind: str, pred=lambda e: True) -> dict:  # type: ignore[no-untyped-def]
    while True:
        line = lines.get(timeout=30)
        assert line is not None, f"watch exited before a {kind!r} event"
        event = json.loads(line)
        if event["type"] == kind and pred(event):
            return event


@contextlib.contextmanager
def _watch_json(root: Path) -> Iterator[subprocess.Popen[str]]:
    """``agentctx watch --json`` on ``root`` as a child, killed if a test leaves it running."""
    from agentctx.bench.watch import default_sigint

    proc = subprocess.Popen(
        [*WATCH, str(root), "--json", "--embedder", "hash", "--debounce", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_sigint,  # SIGINT works even under `nohup ... &`
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_watch_command_ctrl_c_exits_130_cleanly(sample_repo: Path) -> None:
    with _watch_json(sample_repo) as proc:
        lines = _reader(proc.stdout)
        ready = _next_event(lines, "ready")
        sock = Path(ready["socket"])
        info = sample_repo / ".agentctx" / "watch.json"
        assert ready["observer"] == NATIVE and sock.exists() and info.exists()
        with (sample_repo / "src" / "shop" / "cart.py").open("a") as fh:
            fh.write("\n\ndef added_while_watching():\n    return 1\n")
        update = _next_event(
            lines, "update", lambda e: "src/shop/cart.py" in e["files"]["modified"]
        )
        assert {"path": "src/shop/cart.py", "symbol": "added_while_watching"} in update["symbols"][
            "added"
        ]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)  # not communicate(): the reader thread owns stdout
        err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("agentctx: stopped after")
    assert "Traceback" not in err
    assert not sock.exists() and not info.exists()
    assert_equals_fresh(sample_repo)


def test_watch_json_stops_quietly_when_its_reader_goes_away(sample_repo: Path) -> None:
    """`agentctx watch --json | head -2`: the next event finds stdout closed; the watcher
    stops cleanly with the pipe's exit code (141, as pack), never an internal error."""
    with _watch_json(sample_repo) as proc:
        assert proc.stdout is not None
        for _ in range(2):
            event = json.loads(proc.stdout.readline())
        assert event["type"] == "ready"
        sock = Path(event["socket"])
        proc.stdout.close()  # the reader goes away
        with (sample_repo / "src" / "shop" / "cart.py").open("a") as fh:
            fh.write("\n\ndef added_after_the_reader_left():\n    return 1\n")
        proc.wait(timeout=30)
        err = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 141, err
    assert "internal error" not in err and "Traceback" not in err
    assert "the reader of the JSON lines went away" in err.strip().splitlines()[-1]
    assert not sock.exists() and not (sample_repo / ".agentctx" / "watch.json").exists()
    assert_equals_fresh(sample_repo)


def test_watch_command_second_instance_is_a_one_line_error(sample_repo: Path) -> None:
    from typer.testing import CliRunner

    from agentctx.cli import app

    with watched(sample_repo):
        result = CliRunner().invoke(app, ["watch", str(sample_repo), "--embedder", "hash"])
    assert result.exit_code == 5
    assert result.stderr.startswith("agentctx: error: a watcher is already running")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


def test_watch_command_rejects_a_bad_debounce(sample_repo: Path) -> None:
    from typer.testing import CliRunner

    from agentctx.cli import app

    result = CliRunner().invoke(app, ["watch", str(sample_repo), "--debounce", "0"])
    assert result.exit_code == 2
    assert "--debounce" in result.stderr


def test_ignore_matcher_skips_a_nested_repository_like_discover(sample_repo: Path) -> None:
    matcher = IgnoreMatcher(sample_repo)
    nested = sample_repo / "vendor" / "dep"
    nested.mkdir(parents=True)
    (nested / "lib.py").write_text("X = 1\n")
    assert not matcher.ignored("vendor/dep/lib.py")
    git(nested, "init", "-q")
    matcher.ignored("vendor/dep/.git/HEAD")  # the event git init makes: forget what was known
    assert matcher.ignored("vendor/dep/lib.py")
    assert "vendor/dep/lib.py" not in {f.path for f in discover(sample_repo).files}


def test_events_below_a_root_not_named_in_utf8_are_taken(tmp_path: Path) -> None:
    """Only a name inside the repository that is not UTF-8 is left out (discover skips it):
    a repository below such a directory still has its events taken (all were dropped)."""
    import os

    root = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"r\xe9po")))
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    w = Watcher(load_settings(root, {"embedder": "hash"}))
    odd = os.fsdecode(os.path.join(os.fsencode(root), b"caf\xe9.py"))
    w.observe([str(root / "a.py"), odd, os.fsencode(root / "b.py")], False)
    assert w._queue.paths == {"a.py", "b.py"}
