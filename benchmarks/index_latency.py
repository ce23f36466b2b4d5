"""Thin wrapper over ``agentctx bench latency`` (kept for old command lines).

Usage: python benchmarks/index_latency.py REPO_DIR [--runs 5] [--out results.json]

The measurements (cold first index, no-op and one-edit re-index, pack and search,
peak RSS, index size, all on a scratch copy with a fresh embedding cache) live in
``agentctx.bench.latency``; ``--runs`` is passed on as ``-n``.
"""

from __future__ import annotations

import argparse
import sys

from agentctx.cli import app


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("repo")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args()
    argv = ["bench", "latency", args.repo, "-n", str(args.runs)]
    if args.out:
        argv += ["--out", args.out]
    sys.exit(app(argv, prog_name="agentctx"))


if __name__ == "__main__":
    main()
