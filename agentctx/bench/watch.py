"""Latency of watch mode: one save until the index has it, and answers served by the watcher.

On a scratch copy of the repository, committed as it is (so the diff is the benchmark's
own edit), an ``agentctx watch --json`` child runs while this process:

* saves one edit to the longest Python function ``n`` times and polls the index until
  that symbol's new text is stored *and* embedded (event-to-updated latency; the
  watcher's debounce is part of it);
* runs ``agentctx pack --diff`` as child processes, answered by the watcher from the
  prefetched cache (hit) or computed by it with a new budget (miss), against the same
  command with ``--no-server`` (cold: a fresh process loads the model);
* asks the socket directly (no process start) for the served hit and miss times;
* runs ``agentctx pack QUERY`` served and cold, for comparison.

Only what agentctx would index is copied, with ``.git`` and the index already there, if
any (building it is ``bench latency``'s cold-index scenario, not this one's). The
embedding cache is a fresh temp dir; the original is never modified.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import INDEX_DIR_NAME
from ..errors import AgentctxError
from ..pipeline import NullReporter, Reporter
from ..store.db import DB_NAME
from ..watch import DEFAULT_DEBOUNCE
from .latency import (
    COLD_PROCESS_RUNS,
    DEFAULT_QUERIES,
    ChildRun,
    _scenario,
    cycled,
    environment,
    percentile,
    process_metrics,
    python_sources,
    run_child,
    run_children,
    scratch_copy,
)

EVENT_TIMEOUT = 600.0  # seconds to wait for one watcher event (a first embed can be long)
POLL_S = 0.002  # how often the index is polled for the saved edit


@dataclass(frozen=True, slots=True)
class WatchBenchConfig:
    root: Path
    n: int = 10
    budget: int = 8000
    embedder: str = "minilm"
    queries: tuple[str, ...] = DEFAULT_QUERIES


@dataclass(frozen=True, slots=True)
class _Target:
    path: Path
    rel: str
    qualname: str
    line: int  # 1-based line of the function's first statement
    indent: str


def _find_target(repo: Path) -> _Target:
    """The longest top-level-or-method Python function (its edits stay inside it)."""
    import ast

    best: tuple[int, _Target] | None = None
    for path, source, tree in python_sources(repo):
        for owner in [tree, *(n for n in tree.body if isinstance(n, ast.ClassDef))]:
            prefix = f"{owner.name}." if isinstance(owner, ast.ClassDef) else ""
            for node in owner.body:
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or not node.body:
                    continue
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                    if len(node.body) < 2:
                        continue
                    first = node.body[1]  # after the docstring
                size = (node.end_lineno or node.lineno) - node.lineno
                if best is None or size > best[0]:
                    text = source.split("\n")[first.lineno - 1]
                    best = (
                        size,
                        _Target(
                            path,
                            path.relative_to(repo).as_posix(),
                            prefix + node.name,
                            first.lineno,
                            text[: len(text) - len(text.lstrip())],
                        ),
                    )
    if best is None:
        raise AgentctxError(f"no Python function to edit in {repo.name}")
    return best[1]


def default_sigint() -> None:
    """In a child before it starts: Ctrl-C (SIGINT) stops it. A job started in the
    background by a shell without job control (`cmd &`, `nohup`) inherits SIGINT
    ignored, and the watcher would then never see the Ctrl-C this bench sends it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class _WatchChild:
    """``agentctx watch --json`` as a child process; its events arrive on a queue."""

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        self._err = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agentctx", "watch", str(repo), "--json"],
            env=env,
            cwd=repo.parent,
            stdout=subprocess.PIPE,
            stderr=self._err,
            text=True,
            preexec_fn=default_sigint,  # SIGINT works even for a job started with `&`
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with contextlib.suppress(ValueError):
                self.events.put(json.loads(line))
        self.events.put(None)

    def next(self, kind: str, pred: Any = None, timeout: float = EVENT_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                event = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AgentctxError(f"the watcher sent no {kind!r} event in {timeout:g}s") from None
            if event is None:
                raise AgentctxError(f"the watcher exited: {self.stderr_tail()}")
            if event.get("type") == kind and (pred is None or pred(event)):
                return event

    def stderr_tail(self) -> str:
        self._err.seek(0)
        lines = self._err.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else f"exit {self.proc.poll()}"

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._err.close()
        return self.proc.returncode


def run_watch_bench(config: WatchBenchConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Every scenario on a scratch copy of ``config.root``; the report as a dict."""
    rep = reporter or NullReporter()
    ignore = _copy_filter(config.root)
    with scratch_copy(config.root, config.embedder, "watch", ignore, rep) as (repo, env):
        _snapshot_commit(repo, env)
        return _measure(config, repo, env, rep)


_WATCHER_FILES = frozenset({"watch.sock", "watch.json", "watch.lock"})


def _copy_filter(root: Path) -> Any:
    """copytree's ignore: what agentctx would index, plus .git and the index itself.

    Ignored trees (a virtualenv, node_modules, build output) are neither copied nor
    needed, and a running watcher's socket cannot be copied.
    """
    from ..discover import IgnoreMatcher

    matcher = IgnoreMatcher(root)

    def ignore(directory: str, names: list[str]) -> set[str]:
        rel = os.path.relpath(directory, root).replace(os.sep, "/")
        prefix = "" if rel == "." else rel + "/"
        if prefix.startswith((".git/", INDEX_DIR_NAME + "/")):
            return {n for n in names if n in _WATCHER_FILES or n.startswith(".sock-")}
        skip = set()
        for name in names:
            if name in (".git", INDEX_DIR_NAME):
                continue
            full = os.path.join(directory, name)
            is_dir = os.path.isdir(full) and not os.path.islink(full)
            if matcher.ignored(prefix + name, is_dir):
                skip.add(name)
        return skip

    return ignore


def _snapshot_commit(repo: Path, env: dict[str, str]) -> None:
    """Commit the copy as it is (a repository first, if need be): the diff `pack --diff`
    sees is then the benchmark's own edit, whatever was uncommitted in the original."""
    git_env = dict(
        env,
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@agentctx.invalid",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@agentctx.invalid",
    )

    def git(*args: str) -> bytes:
        proc = subprocess.run(["git", "-C", str(repo), *args], env=git_env, capture_output=True)
        if proc.returncode != 0:
            raise AgentctxError(f"git {args[0]} failed in the scratch copy")
        return proc.stdout

    dotgit = repo / ".git"
    if dotgit.exists() and not dotgit.is_dir():  # a worktree's: its git dir is the original's
        dotgit.unlink()
    if not dotgit.exists():
        git("init", "-q")
    if git("status", "--porcelain"):
        git("add", "-A")
        git("-c", "commit.gpgsign=false", "commit", "-q", "--no-verify", "-m", "bench snapshot")


def _measure(
    config: WatchBenchConfig, repo: Path, env: dict[str, str], rep: Reporter
) -> dict[str, Any]:
    from ..client import try_serve

    cwd = repo.parent
    rep.stage("initial index")
    initial = run_child(["index", str(repo), "--json", "--quiet"], env, cwd)
    facts = json.loads(initial.stdout)
    target = _find_target(repo)
    original = target.path.read_text(encoding="utf-8")

    rep.stage("start the watcher")
    started = time.perf_counter()
    child = _WatchChild(repo, env)
    try:
        ready = child.next("ready")
        ready_s = time.perf_counter() - started
        child.next("prefetch")  # the clean tree's answer: settles the catch-up

        rep.stage("save -> indexed", total=config.n)
        saves, batches = _saves(config, repo, target, original, child, rep)

        served = _served(config, repo, env, cwd, child, rep)
        status = try_serve(repo, "status", {}, 10.0)
    finally:
        code = child.stop()
    scenarios = [
        _scenario(
            "watch_save_to_indexed",
            saves,
            {
                "runs": len(saves),
                "file": target.rel,
                "symbol": target.qualname,
                "debounce_s": DEFAULT_DEBOUNCE,
                "batch_ms_p50": round(percentile(batches, 0.5), 1),
                "observer": ready["observer"],
                "watcher_start_s": round(ready_s, 3),
            },
        ),
        *served,
    ]
    return {
        "benchmark_scenarios": scenarios,
        "environment": environment(config.embedder),
        "repository": {
            "name": repo.name,
            "files": facts["files"]["total"],
            "symbols": facts["symbols"]["total"],
            "chunks": facts["chunks"]["total"],
            "initial_index_s": round(initial.wall_s, 3),
        },
        "watcher": {
            "exit_code": code,
            "cache": None if status is None else status.get("status", {}).get("cache"),
        },
    }


def _saves(
    config: WatchBenchConfig,
    repo: Path,
    target: _Target,
    original: str,
    child: _WatchChild,
    rep: Reporter,
) -> tuple[list[float], list[float]]:
    """Save an edit ``n`` times; seconds until the symbol's new text is stored and embedded."""
    db = sqlite3.connect(f"file:{repo / INDEX_DIR_NAME / DB_NAME}?mode=ro", uri=True)
    lines = original.split("\n")
    times: list[float] = []
    batches: list[float] = []
    try:
        for i in range(config.n):
            marker = f"# agentctx bench save {i} {uuid.uuid4().hex[:8]}"
            edited = [*lines[: target.line - 1], target.indent + marker, *lines[target.line - 1 :]]
            start = time.perf_counter()
            target.path.write_text("\n".join(edited), encoding="utf-8")
            while not _indexed(db, target, marker):
                if time.perf_counter() - start > EVENT_TIMEOUT:
                    raise AgentctxError("the watcher did not index the saved edit")
                time.sleep(POLL_S)
            times.append(time.perf_counter() - start)
            update = child.next("update", lambda e: target.rel in e["files"]["modified"])
            batches.append(float(update["ms"]))
            child.next("prefetch", lambda e, g=update["generation"]: e["generation"] >= g)
            rep.advance()
    finally:
        db.close()
    return times, batches


def _indexed(db: sqlite3.Connection, target: _Target, marker: str) -> bool:
    try:
        row = db.execute(
            "SELECT c.text, v.embed_hash = c.embed_hash FROM chunks c "
            "LEFT JOIN vectors v ON v.id = c.id WHERE c.path = ? AND c.qualname = ?",
            (target.rel, target.qualname),
        ).fetchone()
    except sqlite3.Error:
        return False
    return row is not None and marker in row[0] and bool(row[1])


def _served(
    config: WatchBenchConfig,
    repo: Path,
    env: dict[str, str],
    cwd: Path,
    child: _WatchChild,
    rep: Reporter,
) -> list[dict[str, Any]]:
    """pack --diff and pack QUERY: served by the watcher (hit, miss) vs a cold process."""
    from ..client import settings_fingerprint, try_serve
    from ..config import load_settings
    from ..serve import pack_args, pack_diff_args

    runs = min(config.n, COLD_PROCESS_RUNS)
    common = ["--repo", str(repo)]
    diff = ["pack", *common, "--diff"]
    fp = settings_fingerprint(load_settings(repo, {"embedder": config.embedder}))

    def ask(op: str, args: dict[str, Any]) -> dict[str, Any]:
        response = try_serve(repo, op, args, 60.0, fingerprint=fp)
        if response is None or response["exit"] != 0:
            raise AgentctxError(f"the watcher did not answer {op}")
        return response

    rep.stage("pack --diff, served (prefetched)", total=runs)
    hits = run_children([diff] * runs, env, cwd, rep)
    rep.stage("pack --diff, served (new budget)", total=runs)
    budgets = [config.budget - 1 - i for i in range(runs)]
    misses = run_children([[*diff, "--budget", str(b)] for b in budgets], env, cwd, rep)
    rep.stage("pack --diff, cold process", total=runs)
    cold = run_children([[*diff, "--no-server"]] * runs, env, cwd, rep)
    identical = all(r.stdout == cold[0].stdout for r in hits + cold)

    rep.stage("pack --diff, socket only", total=2 * config.n)
    sock_hit: list[float] = []
    sock_miss: list[float] = []
    for i in range(config.n):
        r = ask("pack_diff", pack_diff_args(rev="HEAD", budget=config.budget))
        if r["cache"] != "hit":
            raise AgentctxError("the prefetched pack --diff was not a cache hit")
        sock_hit.append(r["served_ms"] / 1000)
        r = ask("pack_diff", pack_diff_args(rev="HEAD", budget=config.budget - 100 - i))
        sock_miss.append(r["served_ms"] / 1000)
        rep.advance(2)

    queries = cycled(config.queries, runs)
    rep.stage("pack QUERY, served", total=runs)
    q_served = run_children([["pack", q, *common] for q in queries], env, cwd, rep)
    rep.stage("pack QUERY, cold process", total=runs)
    q_cold = run_children([["pack", q, *common, "--no-server"] for q in queries], env, cwd, rep)
    rep.stage("pack QUERY, socket only", total=config.n)
    q_sock: list[float] = []
    for i in range(config.n):
        q = f"{config.queries[i % len(config.queries)]} ({i})"  # always a miss
        q_sock.append(ask("pack", pack_args(q, budget=config.budget))["served_ms"] / 1000)
        rep.advance()

    def proc(name: str, results: list[ChildRun], **metrics: Any) -> dict[str, Any]:
        return _scenario(
            name,
            [r.wall_s for r in results],
            process_metrics(results) | metrics,
        )

    return [
        proc("pack_diff_served_hit_process", hits, identical_to_cold=identical),
        proc("pack_diff_served_miss_process", misses),
        proc("pack_diff_cold_process", cold),
        _scenario("pack_diff_served_hit_socket", sock_hit, {"runs": len(sock_hit)}),
        _scenario("pack_diff_served_miss_socket", sock_miss, {"runs": len(sock_miss)}),
        proc("pack_query_served_process", q_served),
        proc("pack_query_cold_process", q_cold),
        _scenario("pack_query_served_miss_socket", q_sock, {"runs": len(q_sock)}),
    ]
