"""Latency of the commands users run: index (cold, no-op, one edit), pack and search.

Everything runs on a scratch copy of the repository (the original is never modified)
with a fresh embedding cache. Index runs and the cold-process pack/search runs are
child processes, as users start them, so their wall time includes interpreter start,
imports and model load; peak RSS comes from each child's ``wait4`` rusage. agentctx's
own modules are compiled to bytecode first, as an installed wheel has them: under
``PYTHONDONTWRITEBYTECODE`` an editable checkout would otherwise compile its sources in
every child (~0.3 s of a cold ``pack`` on two cores), which no installed user pays. The
in-process runs call the pipeline directly with one shared embedder: the cost of a
query once everything is loaded (an editor plugin, a long-lived agent).
"""

from __future__ import annotations

import ast
import compileall
import contextlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import INDEX_DIR_NAME
from ..errors import AgentctxError, NotFoundError
from ..pipeline import NullReporter, Reporter

DEFAULT_QUERIES: tuple[str, ...] = (
    "where is the configuration loaded?",
    "how are errors reported to the user?",
    "what happens when the input is invalid?",
    "where is the main entry point?",
    "how is data saved to disk?",
    "which function computes the total?",
    "how are command line arguments parsed?",
    "where are network requests made?",
    "how is logging set up?",
    "what do the tests cover?",
)

COLD_PROCESS_RUNS = 5  # child processes per cold-process scenario (at most n)
EDIT_MARKER = "# agentctx bench edit"


@dataclass(frozen=True, slots=True)
class LatencyConfig:
    root: Path
    queries: tuple[str, ...] = DEFAULT_QUERIES
    n: int = 50
    budget: int = 8000
    embedder: str = "minilm"
    cold: bool = True  # run the cold-process pack/search scenarios


@dataclass(frozen=True, slots=True)
class ChildRun:
    wall_s: float
    stdout: str
    peak_rss_mb: float


def read_queries(path: Path) -> tuple[str, ...]:
    """One query a line; blank lines and ``#`` comments are skipped."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    queries = tuple(q.strip() for q in lines if q.strip() and not q.lstrip().startswith("#"))
    if not queries:
        raise AgentctxError(f"no queries in {path}", hint="one query a line")
    return queries


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..1) of a non-empty list."""
    data = sorted(values)
    pos = (len(data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(data) - 1)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def package_bytecode() -> bool:
    """Compile agentctx's modules to bytecode where it is missing or stale (as pip does
    when it installs a wheel); whether every module has it now. Children started with
    ``PYTHONDONTWRITEBYTECODE`` read it all the same. Done once a process."""
    global _BYTECODE
    if _BYTECODE is None:
        package = Path(__file__).resolve().parent.parent
        try:
            _BYTECODE = bool(compileall.compile_dir(package, quiet=2, workers=1))
        except OSError:  # a read-only install: whatever pip compiled is what there is
            _BYTECODE = False
    return _BYTECODE


_BYTECODE: bool | None = None


def run_child(args: list[str], env: dict[str, str], cwd: Path) -> ChildRun:
    """Run ``python -m agentctx ARGS``; wall time and peak RSS from ``wait4``.
    The package's bytecode is made first (``package_bytecode``)."""
    package_bytecode()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentctx", *args], env=env, cwd=cwd, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        last = (stderr.strip().splitlines() or ["no output"])[-1]
        raise AgentctxError(f"agentctx {args[0]} failed ({proc.returncode}): {last}")
    # ru_maxrss is KiB on Linux, bytes on macOS.
    rss = usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return ChildRun(wall, stdout, rss)


def run_children(
    commands: list[list[str]], env: dict[str, str], cwd: Path, rep: Reporter
) -> list[ChildRun]:
    """``run_child`` for each command in turn, a progress step each."""
    out: list[ChildRun] = []
    for args in commands:
        out.append(run_child(args, env, cwd))
        rep.advance()
    return out


def process_metrics(runs: list[ChildRun]) -> dict[str, Any]:
    """What a scenario of child processes reports besides its latencies."""
    return {"runs": len(runs), "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1)}


def cycled(queries: list[str], n: int) -> list[str]:
    """``n`` queries, going round ``queries``."""
    return [queries[i % len(queries)] for i in range(n)]


def python_sources(repo: Path) -> Iterator[tuple[Path, str, ast.Module]]:
    """Each parsable Python file of ``repo`` (path order) with its text and syntax tree;
    the index, ``.git`` and symlinks are left out."""
    for path in sorted(repo.rglob("*.py")):
        if INDEX_DIR_NAME in path.parts or ".git" in path.parts or path.is_symlink():
            continue
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (SyntaxError, UnicodeDecodeError, ValueError, OSError):
            continue
        yield path, text, tree


def edit_one_function(repo: Path) -> str:
    """Insert a comment line before the first statement of the longest Python function."""
    best: tuple[int, Path, str, int] | None = None
    for path, text, tree in python_sources(repo):
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
                size = (node.end_lineno or node.lineno) - node.lineno
                if best is None or size > best[0]:
                    best = (size, path, text, node.body[0].lineno)
    if best is None:
        raise AgentctxError(f"no Python function to edit in {repo.name}")
    _, path, text, line = best
    lines = text.split("\n")
    target = lines[line - 1]
    indent = target[: len(target) - len(target.lstrip())]
    lines.insert(line - 1, f"{indent}{EDIT_MARKER}")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path.relative_to(repo).as_posix()


def _scenario(
    name: str,
    times: list[float],
    metrics: dict[str, Any],
    token_usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "key_metrics": metrics,
        "p50_latency": round(percentile(times, 0.5), 4),
        "p95_latency": round(percentile(times, 0.95), 4),
        "token_usage": token_usage,
        "accuracy": None,
    }


def _dir_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def environment(embedder: str, **extra: object) -> dict[str, object]:
    """The machine a report was measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "embedder": embedder,
        "bytecode": package_bytecode(),
        **extra,
    }


def run_latency(config: LatencyConfig, reporter: Reporter | None = None) -> dict[str, Any]:
    """Run every scenario on a scratch copy of ``config.root``; the report as a dict."""
    rep = reporter or NullReporter()
    ignore = shutil.ignore_patterns(INDEX_DIR_NAME)
    with scratch_copy(config.root, config.embedder, "latency", ignore, rep) as (repo, env):
        return _measure(config, repo, env, rep)


@contextlib.contextmanager
def scratch_copy(
    root: Path,
    embedder: str,
    name: str,
    ignore: Callable[[str, list[str]], Iterable[str]],
    rep: Reporter,
) -> Iterator[tuple[Path, dict[str, str]]]:
    """A temporary copy of ``root`` and the environment for agentctx runs on it.

    The original is never touched; the copy gets a fresh embedding cache and the
    benchmark's embedder. Everything is deleted on exit.
    """
    if not root.is_dir():
        raise NotFoundError(f"not a directory: {root}")
    with tempfile.TemporaryDirectory(prefix=f"agentctx-{name}-") as scratch:
        repo = Path(scratch) / root.name
        rep.stage("copy repository")
        shutil.copytree(root, repo, symlinks=True, ignore=ignore)
        env = dict(
            os.environ,
            AGENTCTX_CACHE_DIR=str(Path(scratch) / "cache"),
            AGENTCTX_EMBEDDER=embedder,
        )
        yield repo, env


def _measure(
    config: LatencyConfig, repo: Path, env: dict[str, str], rep: Reporter
) -> dict[str, Any]:
    cwd = repo.parent
    index = ["index", str(repo), "--json", "--quiet"]
    scenarios: list[dict[str, Any]] = []
    rss: list[float] = []

    rep.stage("cold index")
    cold = run_child(index, env, cwd)
    facts = json.loads(cold.stdout)
    rss.append(cold.peak_rss_mb)
    chunks = facts["chunks"]["total"]
    scenarios.append(
        _scenario(
            "cold_index",
            [cold.wall_s],
            {
                "wall_s": round(cold.wall_s, 3),
                "stages_s": facts["seconds"],
                "chunks_per_s": round(chunks / cold.wall_s, 1),
                "peak_rss_mb": round(cold.peak_rss_mb, 1),
            },
        )
    )

    runs = min(config.n, COLD_PROCESS_RUNS)
    rep.stage("no-op re-index", total=runs)
    noop = run_children([index] * runs, env, cwd, rep)
    rss += [r.peak_rss_mb for r in noop]
    scenarios.append(_scenario("noop_reindex", [r.wall_s for r in noop], process_metrics(noop)))

    rep.stage("one-edit re-index")
    edited = edit_one_function(repo)
    edit = run_child([*index, "--no-cache"], env, cwd)
    edit_facts = json.loads(edit.stdout)
    rss.append(edit.peak_rss_mb)
    scenarios.append(
        _scenario(
            "one_edit_reindex",
            [edit.wall_s],
            {
                "file": edited,
                "modified_symbols": len(edit_facts["symbols"]["modified"]),
                "embedded_chunks": edit_facts["chunks"]["embedded"],
                "stages_s": edit_facts["seconds"],
                "peak_rss_mb": round(edit.peak_rss_mb, 1),
            },
        )
    )

    if config.cold:
        scenarios += _cold_process(config, repo, env, cwd, runs, rss, rep)
    scenarios += _in_process(config, repo, rep)
    order = [
        "cold_index",
        "noop_reindex",
        "one_edit_reindex",
        "pack_cold_process",
        "pack_in_process",
        "search_cold_process",
        "search_in_process",
    ]
    scenarios.sort(key=lambda s: order.index(s["name"]))
    return {
        "benchmark_scenarios": scenarios,
        "environment": environment(config.embedder),
        "repository": {
            "name": repo.name,
            "files": facts["files"]["total"],
            "symbols": facts["symbols"]["total"],
            "chunks": chunks,
            "index_bytes": _dir_bytes(repo / INDEX_DIR_NAME),
        },
        "queries": len(config.queries),
        "peak_rss_mb": round(max(rss), 1),
    }


def _cold_process(
    config: LatencyConfig,
    repo: Path,
    env: dict[str, str],
    cwd: Path,
    runs: int,
    rss: list[float],
    rep: Reporter,
) -> list[dict[str, Any]]:
    queries = cycled(config.queries, runs)
    common = ["--repo", str(repo), "--no-refresh"]
    pack_flags = ["--budget", str(config.budget), "--format", "json", *common]
    rep.stage("pack, one process each", total=runs)
    packs = run_children([["pack", q, *pack_flags] for q in queries], env, cwd, rep)
    tokens = [json.loads(r.stdout)["tokens_used"] for r in packs]
    rep.stage("search, one process each", total=runs)
    searches = run_children([["search", q, "--json", *common] for q in queries], env, cwd, rep)
    rss += [r.peak_rss_mb for r in packs + searches]
    return [
        _scenario(
            "pack_cold_process",
            [r.wall_s for r in packs],
            process_metrics(packs),
            {"mean_tokens": round(sum(tokens) / len(tokens), 1), "budget": config.budget},
        ),
        _scenario("search_cold_process", [r.wall_s for r in searches], process_metrics(searches)),
    ]


def _in_process(config: LatencyConfig, repo: Path, rep: Reporter) -> list[dict[str, Any]]:
    from .. import pipeline
    from ..config import load_settings
    from ..embed import get_embedder

    settings = load_settings(repo, {"embedder": config.embedder})
    rep.stage("load embedder")
    start = time.perf_counter()
    embedder = get_embedder(settings.embedder, settings.resolved_cache_dir)
    embedder.embed_batch([config.queries[0]])  # model load is not a query's cost
    load_s = time.perf_counter() - start
    queries = cycled(config.queries, config.n)

    rep.stage("pack, in process", total=config.n)
    pack_times: list[float] = []
    tokens: list[int] = []
    for q in queries:
        t = time.perf_counter()
        result = pipeline.pack(
            settings, q, budget=config.budget, refresh=False, embedder=embedder, stats=False
        )
        pack_times.append(time.perf_counter() - t)
        tokens.append(result.tokens_used)
        rep.advance()
    rep.stage("search, in process", total=config.n)
    search_times: list[float] = []
    for q in queries:
        t = time.perf_counter()
        pipeline.search(settings, q, refresh=False, embedder=embedder)
        search_times.append(time.perf_counter() - t)
        rep.advance()
    metrics = {"runs": config.n, "embedder_load_s": round(load_s, 3)}
    return [
        _scenario(
            "pack_in_process",
            pack_times,
            metrics,
            {"mean_tokens": round(sum(tokens) / len(tokens), 1), "budget": config.budget},
        ),
        _scenario("search_in_process", search_times, dict(metrics)),
    ]
