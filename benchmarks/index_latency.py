"""Measure `agentctx index` on a real repository: cold first index, no-op, one edit, size.

Usage: python benchmarks/index_latency.py REPO_DIR [--runs 5] [--out results.json]

Works on a scratch copy of REPO_DIR (the original is never modified) with a fresh
embedding cache, runs the CLI as users do (one process per run) and prints a JSON
report. The one-edit run inserts a comment line into the body of the largest Python
function it finds, then re-indexes with the cache disabled.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_index(repo: Path, env: dict[str, str], *extra: str) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "agentctx", "index", str(repo), "--json", *extra],
        env=env, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"agentctx index failed ({proc.returncode}): {proc.stderr.strip()}")
    return wall, json.loads(proc.stdout)


def edit_one_function(repo: Path) -> str:
    """Insert a comment as the first body line of the longest Python function."""
    import ast

    best: tuple[int, Path, int] | None = None
    for path in sorted(repo.rglob("*.py")):
        if ".agentctx" in path.parts:
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.body:
                size = (node.end_lineno or node.lineno) - node.lineno
                if best is None or size > best[0]:
                    best = (size, path, node.body[0].lineno)
    if best is None:
        raise SystemExit("no Python function to edit")
    _, path, line = best
    lines = path.read_text(encoding="utf-8").split("\n")
    indent = lines[line - 1][: len(lines[line - 1]) - len(lines[line - 1].lstrip())]
    lines.insert(line - 1, f"{indent}# benchmark edit")
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path.relative_to(repo))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentctx-bench-") as scratch:
        repo = Path(scratch) / "repo"
        shutil.copytree(args.repo, repo, symlinks=True,
                        ignore=shutil.ignore_patterns(".agentctx"))
        env = dict(os.environ, AGENTCTX_CACHE_DIR=str(Path(scratch) / "cache"))
        lines = sum(
            p.read_bytes().count(b"\n") for p in repo.rglob("*.py") if p.is_file()
        )
        cold_wall, cold = run_index(repo, env)
        noop = [run_index(repo, env)[0] for _ in range(args.runs)]
        edited = edit_one_function(repo)
        edit_wall, edit = run_index(repo, env, "--no-cache")
        size = sum(f.stat().st_size for f in (repo / ".agentctx").iterdir() if f.is_file())
    chunks = cold["chunks"]["total"]
    report = {
        "repo": args.repo.name,
        "python_lines": lines,
        "files": cold["files"]["total"],
        "symbols": cold["symbols"]["total"],
        "chunks": chunks,
        "first_index_s": round(cold_wall, 2),
        "first_index_stages_s": cold["seconds"],
        "chunks_per_s": round(chunks / cold_wall, 1),
        "noop_s": {"p50": round(statistics.median(noop), 3), "max": round(max(noop), 3)},
        "one_edit": {
            "file": edited,
            "wall_s": round(edit_wall, 2),
            "stages_s": edit["seconds"],
            "modified": edit["symbols"]["modified"],
            "embedded": edit["chunks"]["embedded"],
        },
        "index_bytes": size,
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
