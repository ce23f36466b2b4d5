"""The query path on a repository indexed already: what each `pack` pays, stage by stage.

Usage: python benchmarks/query_path.py REPO_DIR [--reports dev.jsonl | --queries FILE]
           [-n 20] [--cold 5] [--budget 8000] [--overlap] [--out results.json]

Unlike `agentctx bench latency` (which builds a scratch copy's index with a fresh embedding
cache: ~20 minutes on a 40,000-chunk repository here), this reads the index REPO_DIR has, so
large repositories can be measured in minutes. Nothing is written but what `pack` itself
writes (its derived files under `.agentctx/`).

- discovery: the tree walk, and the same discovery from the last walk's stamp (p50 of
  alternating runs);
- in-process packs: each query with the outline dropped first, as a new process starts
  (total and per stage, p50/p95), on the index as it is (no refresh);
- cold packs: `python -m agentctx pack` in a new process per query (wall time, p50/p95),
  the refresh included, as a user runs it;
- with `--overlap`: in-process packs with the query's vector made on its own thread beside
  the other lists (as `pack` does) and before them, both for each query (paired).

Queries: `--reports` takes the problem statements of a SWE-bench JSONL file (long bug
reports; any repository's serve as load), `--queries` one query a line; default: the
built-in questions of `bench latency`. Percentiles, child processes and the machine's
description are `bench latency`'s own.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from agentctx.bench.latency import (
    DEFAULT_QUERIES,
    cycled,
    environment,
    percentile,
    read_queries,
    run_child,
)
from agentctx.config import load_settings


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5), 1),
        "p95": round(percentile(values, 0.95), 1),
        "n": len(values),
    }


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
        "stages_p50_ms": {k: round(percentile(v, 0.5), 1) for k, v in stages.items()},
    }


def overlap(root: Path, queries: list[str], budget: int) -> dict[str, object]:
    """In-process packs with the query's vector made beside the other lists (as `pack`
    does) and before them, paired: both for each query, in alternating order."""
    from agentctx import pipeline, retrieve
    from agentctx.embed import get_embedder

    settings = load_settings(root, {})
    emb = get_embedder(settings.embedder, settings.resolved_cache_dir)
    pipeline.pack(settings, queries[0], budget=budget, refresh=False, embedder=emb, stats=False)
    times: dict[bool, list[float]] = {True: [], False: []}
    try:
        for i, query in enumerate(queries):
            for threaded in (True, False) if i % 2 == 0 else (False, True):
                pipeline.QUERY_VECTOR_THREAD = threaded
                retrieve._last_outline = None
                t = time.perf_counter()
                pipeline.pack(
                    settings, query, budget=budget, refresh=False, embedder=emb, stats=False
                )
                times[threaded].append((time.perf_counter() - t) * 1000)
    finally:
        pipeline.QUERY_VECTOR_THREAD = True
    diffs = [a - b for a, b in zip(times[True], times[False], strict=True)]
    return {
        "beside_ms": _summary(times[True]),
        "before_ms": _summary(times[False]),
        "paired_difference_ms": {
            "p50": round(percentile(diffs, 0.5), 1),
            "mean": round(sum(diffs) / len(diffs), 1),
        },
        "faster_beside": sum(d < 0 for d in diffs),
        "n": len(diffs),
    }


def cold(root: Path, queries: list[str], budget: int) -> dict[str, object]:
    env = dict(os.environ)
    runs = [run_child(["pack", q, "--budget", str(budget)], env, root) for q in queries]
    return {
        "wall_ms": _summary([r.wall_s * 1000 for r in runs]),
        "peak_rss_mb": round(max(r.peak_rss_mb for r in runs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("repo", type=Path)
    parser.add_argument("--reports", type=Path, help="SWE-bench JSONL: its problem statements")
    parser.add_argument("--queries", type=Path, help="one query a line")
    parser.add_argument("-n", type=int, default=20, help="in-process queries")
    parser.add_argument("--cold", type=int, default=5, help="one-process-per-query packs")
    parser.add_argument("--budget", type=int, default=8000)
    parser.add_argument(
        "--overlap", action="store_true", help="also: the query vector beside vs before, paired"
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    root = args.repo.resolve()
    if not (root / ".agentctx" / "index.db").is_file():
        raise SystemExit(f"{root}: no index (run `agentctx index` there first)")
    if args.reports:
        with args.reports.open(encoding="utf-8") as f:
            queries = [json.loads(line)["problem_statement"] for line in f if line.strip()]
    elif args.queries:
        queries = list(read_queries(args.queries))
    else:
        queries = list(DEFAULT_QUERIES)
    report = {
        "repository": root.name,
        "queries": "reports" if args.reports else "lines" if args.queries else "built-in",
        "budget": args.budget,
        "environment": environment(load_settings(root, {}).embedder),
        "discovery": discovery(root),
        "in_process": in_process(root, cycled(queries, args.n), args.budget),
        "overlap": overlap(root, cycled(queries, args.n), args.budget) if args.overlap else None,
        "cold": cold(root, cycled(queries, args.cold), args.budget) if args.cold else None,
    }
    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
        print(args.out)
    else:
        print(text)


if __name__ == "__main__":
    main()
