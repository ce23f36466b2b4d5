"""What the git hook adds to ``git commit``: p50/p95 commit latency with and without it.

Everything runs on a scratch clone (``git clone --local``, so HEAD as committed) with
a fresh embedding cache and its index built once by ``agentctx index`` before any
timing. Three scenarios, ``n`` commits each after one untimed warm-up:

- ``commit_without_hook``: a staged change to a file agentctx ignores (listed in the
  clone's ``.agentctxignore``), no hook;
- ``commit_hook_nothing_relevant``: the same change, with the hook installed;
- ``commit_hook_one_file``: one function edited in one source file, with the hook
  (its symbols re-indexed from the staged blob, and embedded at commit time).

Every commit is a ``git`` child process, as a user runs it, so the times include
git itself, the interpreter start of the hook's ``agentctx`` and its imports (with
bytecode cached, as an installed package has it).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import AgentctxError
from ..githead import GIT_PATH_VARS
from ..pipeline import NullReporter, Reporter
from .latency import _scenario, edit_one_function, environment, percentile, run_child

IGNORED_DIR = "agentctx-bench-ignored"  # listed in the clone's .agentctxignore
_GIT_ENV_DROP = (*GIT_PATH_VARS, "GIT_PREFIX")


@dataclass(frozen=True, slots=True)
class HookBenchConfig:
    root: Path
    n: int = 10
    embedder: str = "minilm"
    max_embed: int = 64  # the hook's --max-embed


def _git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        raise AgentctxError(f"git {args[0]} failed in the scratch clone: {last}")
    return proc


def _timed_commit(repo: Path, env: dict[str, str], message: str) -> float:
    start = time.perf_counter()
    proc = _git(repo, env, "commit", "-q", "-m", message)
    wall = time.perf_counter() - start
    if "agentctx:" in proc.stderr:  # the hook warned: the timing would not be the hook's
        raise AgentctxError(f"the hook reported a problem: {proc.stderr.strip().splitlines()[0]}")
    return wall


def run_hook_bench(config: HookBenchConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Run the three scenarios on a scratch clone of ``config.root``; the report as a dict."""
    from ..gitutil import repo_layout

    rep = reporter or NullReporter()
    layout = repo_layout(config.root)  # NotARepositoryError outside a work tree
    with tempfile.TemporaryDirectory(prefix="agentctx-hook-bench-") as scratch:
        clone = Path(scratch) / layout.top.name
        env = {k: v for k, v in os.environ.items() if k not in _GIT_ENV_DROP}
        env.update(
            GIT_CONFIG_GLOBAL=os.devnull,  # no user hooks, signing or templates
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="agentctx bench",
            GIT_AUTHOR_EMAIL="bench@agentctx.invalid",
            GIT_COMMITTER_NAME="agentctx bench",
            GIT_COMMITTER_EMAIL="bench@agentctx.invalid",
            AGENTCTX_CACHE_DIR=str(Path(scratch) / "cache"),
            AGENTCTX_EMBEDDER=config.embedder,
            PYTHONPYCACHEPREFIX=str(Path(scratch) / "pycache"),  # bytecode, as installed
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        rep.stage("clone repository")
        _git(Path(scratch), env, "clone", "--local", "--quiet", str(layout.top), str(clone))
        _git(clone, env, "config", "core.hooksPath", ".git/hooks")
        root = clone / layout.prefix if layout.prefix else clone
        return _measure(config, clone, root, env, rep)


def _measure(
    config: HookBenchConfig, clone: Path, root: Path, env: dict[str, str], rep: Reporter
) -> dict[str, Any]:
    from .. import hook

    ignore = root / ".agentctxignore"
    before = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    ignore.write_text(
        before + ("" if not before or before.endswith("\n") else "\n") + f"/{IGNORED_DIR}/\n",
        encoding="utf-8",
    )
    _git(clone, env, "add", "--", str(ignore))
    _git(clone, env, "commit", "-q", "-m", "agentctx bench: ignore the scratch directory")

    rep.stage("index the clone")
    facts = json.loads(run_child(["index", str(root), "--quiet", "--json"], env, root).stdout)
    note = root / IGNORED_DIR / "note.txt"
    note.parent.mkdir(exist_ok=True)
    counter = iter(range(1_000_000))

    def irrelevant() -> None:
        note.write_text(f"scratch change {next(counter)}\n", encoding="utf-8")
        _git(clone, env, "add", "--", str(note))

    edited: list[str] = []

    def one_function() -> None:
        edited.append(edit_one_function(root))
        _git(clone, env, "add", "--", str(root / edited[-1]))

    def timed(name: str, change: Any) -> list[float]:
        rep.stage(name, total=config.n + 1)
        times: list[float] = []
        for i in range(config.n + 1):
            change()
            wall = _timed_commit(clone, env, f"agentctx bench: {name} {i}")
            if i:  # the first commit warms the page cache and is not counted
                times.append(wall)
            rep.advance()
        return times

    plain = timed("commit without the hook", irrelevant)
    result = hook.install(root, max_embed=config.max_embed)
    if result.command is None:
        raise AgentctxError("no agentctx executable for the hook to run")
    nothing = timed("commit, hook, nothing relevant staged", irrelevant)
    one = timed("commit, hook, one function edited", one_function)
    after = json.loads(
        run_child(["index", str(root), "--quiet", "--json", "--no-embed"], env, root).stdout
    )

    base50, base95 = percentile(plain, 0.5), percentile(plain, 0.95)

    def added(times: list[float]) -> dict[str, float]:
        return {
            "added_p50_s": round(percentile(times, 0.5) - base50, 4),
            "added_p95_s": round(percentile(times, 0.95) - base95, 4),
        }

    return {
        "benchmark_scenarios": [
            _scenario(
                "commit_without_hook",
                plain,
                {"runs": config.n, "staged": f"one file agentctx ignores ({IGNORED_DIR}/)"},
            ),
            _scenario(
                "commit_hook_nothing_relevant",
                nothing,
                {"runs": config.n, "staged": "the same ignored file", **added(nothing)},
            ),
            _scenario(
                "commit_hook_one_file",
                one,
                {
                    "runs": config.n,
                    "staged": f"one function edited in {edited[-1]}",
                    "pending_after": after["chunks"]["pending"],
                    **added(one),
                },
            ),
        ],
        "environment": environment(
            config.embedder,
            git=_git(clone, env, "--version").stdout.strip(),
            hook=str(result.path.relative_to(clone)),
            max_embed=config.max_embed,
        ),
        "repository": {
            "name": clone.name,
            "root": root.relative_to(clone).as_posix() or ".",
            "files": facts["files"]["total"],
            "symbols": facts["symbols"]["total"],
            "chunks": facts["chunks"]["total"],
        },
    }
