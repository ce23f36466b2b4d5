"""The query path on a repository indexed already: what each `pack` pays, stage by stage.

Usage: python benchmarks/query_path.py REPO_DIR [--reports dev.jsonl | --queries FILE]
           [-n 20] [--cold 5] [--budget 8000] [--out results.json]

Unlike `agentctx bench latency` (which builds a scratch copy's index with a fresh embedding
cache: ~20 minutes on a 40,000-chunk repository here), this reads the index REPO_DIR has, so
large repositories can be measured in minutes. Nothing is written but what `pack` itself
writes (its derived files under `.agentctx/`).

- discovery: the tree walk, and the same discovery from the last walk's stamp (p50 of
  alternating runs);
- in-process packs: each query with the outline dropped first, as a new process starts
  (total and per stage, p50/p95), on the index as it is (no refresh);
- cold packs: `python -m agentctx pack` in a new process per query (wall time, p50/p95),
  the refresh included, as a user runs it.

Queries: `--reports` takes the problem statements of a SWE-bench JSONL file (long bug
reports; any repository's serve as load), `--queries` one query a line; default: a few
built-in one-line questions.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    "where are retries configured?",
    "how is the configuration file parsed and validated?",
    "what happens when a request times out?",
    "how are command-line options registered?",
    "where is the cache invalidated?",
]


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 1), "p95": _p(values, 0.95), "n": len(values)}


def discovery(root: Path, reps: int = 7) -> dict[str, object]:
    from agentctx.discover import discover

    first = discover(root)
    walk, stamp = [], []
    for _ in range(reps):
        t = time.perf_counter()
        discover(root)
        walk.append((time.perf_counter() - t) * 1000)
        if getattr(first, "stamp", None) is not None:
            t = time.perf_counter()
            discover(root, previous=first.stamp)
            stamp.append((time.perf_counter() - t) * 1000)
    return {
        "files": len(first.files),
        "directories": len(first.stamp.dirs) if getattr(first, "stamp", None) else None,
        "walk_ms": _summary(walk),
        "stamp_ms": _summary(stamp) if stamp else None,
    }


def in_process(root: Path, queries: list[str], budget: int) -> dict[str, object]:
    from agentctx import pipeline, retrieve
    from agentctx.config import load_settings
    from agentctx.embed import get_embedder

    settings = load_settings(root, {})
    emb = get_embedder(settings.embedder, settings.resolved_cache_dir)
    pipeline.pack(settings, queries[0], budget=budget, refresh=False, embedder=emb, stats=False)
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for query in queries:
        retrieve._last_outline = None  # as a new process reads it
        t = time.perf_counter()
        result = pipeline.pack(
            settings, query, budget=budget, refresh=False, embedder=emb, stats=False
        )
        totals.append((time.perf_counter() - t) * 1000)
        for stage, ms in result.stats["latency_ms"].items():
            stages.setdefault(stage, []).append(ms)
    return {
        "pack_ms": _summary(totals),
        "stages_p50_ms": {k: round(statistics.median(v), 1) for k, v in stages.items()},
    }


def cold(root: Path, queries: list[str], budget: int) -> dict[str, object]:
    walls: list[float] = []
    for query in queries:
        t = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "agentctx", "pack", query, "--budget", str(budget)],
            cwd=root,
            capture_output=True,
            check=False,
        )
        walls.append((time.perf_counter() - t) * 1000)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr.decode("utf-8", "replace").strip()[-500:])
    return {"wall_ms": _summary(walls)}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--reports", type=Path, help="SWE-bench JSONL: its problem statements")
    parser.add_argument("--queries", type=Path, help="one query a line")
    parser.add_argument("-n", type=int, default=20, help="in-process queries")
    parser.add_argument("--cold", type=int, default=5, help="one-process-per-query packs")
    parser.add_argument("--budget", type=int, default=8000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    root = args.repo.resolve()
    if not (root / ".agentctx" / "index.db").is_file():
        raise SystemExit(f"{root}: no index (run `agentctx index` there first)")
    if args.reports:
        with args.reports.open(encoding="utf-8") as f:
            queries = [json.loads(line)["problem_statement"] for line in f if line.strip()]
    elif args.queries:
        queries = [q for q in args.queries.read_text(encoding="utf-8").splitlines() if q.strip()]
    else:
        queries = QUESTIONS
    report = {
        "repository": root.name,
        "queries": "reports" if args.reports else "lines" if args.queries else "built-in",
        "budget": args.budget,
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "discovery": discovery(root),
        "in_process": in_process(root, (queries * args.n)[: args.n], args.budget),
        "cold": cold(root, (queries * args.cold)[: args.cold], args.budget) if args.cold else None,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
