"""Windows of long functions: texts, the derived file, the dense list's best-of, and the
real index (MiniLM, FAISS) keeping them current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import git

from agentctx import windows
from agentctx.chunk import embed_text_for
from agentctx.config import load_settings
from agentctx.embed import get_embedder
from agentctx.pipeline import query_vector
from agentctx.query import parse_query
from agentctx.retrieve import retrieve
from agentctx.store import IndexStore
from agentctx.store.vectors import VectorIndex

STEPS = "\n".join(f"    value_{i} = compute_step_{i}(data, option_{i})" for i in range(60))
LONG = f'''def long_function(data, options):
    """Process data in many steps."""
{STEPS}
    if value_59 is None:
        raise ValueError("the frobnicator refused to calibrate the widget")
    return value_59
'''
SIGNATURE = "def long_function(data, options):"
DOC = "Process data in many steps."


def texts(path: str = "pkg/mod.py", kind: str = "function", text: str = LONG) -> list[str]:
    return windows.window_texts(path, "long_function", kind, SIGNATURE, DOC, text)


def test_window_texts_go_on_where_the_chunks_own_text_stops():
    own = embed_text_for("pkg/mod.py", "long_function", "function", SIGNATURE, DOC, LONG)
    wins = texts()
    assert 1 <= len(wins) <= windows.MAX_WINDOWS
    head = "pkg/mod.py :: long_function (function) - long function\n" + SIGNATURE
    for w in wins:
        assert w.startswith(head + "\n") and len(w) <= 1200
    # together, the chunk's text and its windows read the whole body once, in order
    body = own.split(DOC + "\n", 1)[1] + "".join(w[len(head) + 1 :] for w in wins)
    assert body.replace("\n", "") == "".join(
        line.strip() for line in LONG.splitlines()[2:] if line.strip()
    )
    assert "frobnicator" in wins[-1] and "frobnicator" not in own


def test_window_texts_only_for_long_functions_of_code():
    short = 'def f(x):\n    """Add one."""\n    return x + 1\n'
    assert windows.window_texts("pkg/mod.py", "f", "function", "def f(x):", "Add one.", short) == []
    assert texts(kind="class") == []
    assert texts(path="tests/test_mod.py") == []  # tests, docs and examples rank below code
    assert texts(path="docs/guide.md") == []
    huge = LONG.replace("return value_59", "\n".join(["    x = 1"] * 2000))
    assert len(texts(text=huge)) == windows.MAX_WINDOWS


class _Store:  # what the file functions use of an IndexStore
    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir


def test_windows_file_round_trip_and_damage(tmp_path: Path):
    store = _Store(tmp_path)
    rows = [(7, "a" * 64, np.full(4, 0.5, dtype=np.float32)), (9, "b" * 64, np.ones(4))]
    stamp = windows.Stamp((1, "x", 3, "model"), missing=2, total=4)
    windows.write(store, stamp, rows, 4, {7: ("e7", "c7"), 8: ("e8", "c8")})  # type: ignore[arg-type]
    assert windows.read_stamp(store) == stamp  # type: ignore[arg-type]
    got = windows.read(store, 4)  # type: ignore[arg-type]
    assert got is not None and got.stamp == stamp
    assert got.ids.tolist() == [7, 9] and got.hashes == ["a" * 64, "b" * 64]
    assert got.sources == {7: ("e7", "c7"), 8: ("e8", "c8")}  # 8: a chunk with no window
    assert np.allclose(got.vectors, [[0.5] * 4, [1.0] * 4])
    assert windows.read(store, 8) is None  # vectors of another model's dimension
    quick = windows.read(store, 4, vectors_only=True)  # type: ignore[arg-type]
    assert quick is not None and quick.ids.tolist() == [7, 9] and quick.hashes == []
    path = tmp_path / windows.WINDOWS_FILE
    data = path.read_bytes()
    for damaged in (data[:-3], data[:20], b"garbage" + data, b""):
        path.write_bytes(damaged)
        assert windows.read(store, 4) is None  # type: ignore[arg-type]
        assert windows.read(store, 4, vectors_only=True) is None  # type: ignore[arg-type]
    windows.write(store, stamp, [], 4)  # type: ignore[arg-type]
    empty = windows.read(store, 4)  # type: ignore[arg-type]
    assert empty is not None and len(empty.ids) == 0


class _PlanStore:  # the two queries plan() makes
    def __init__(self, candidates, texts):
        self.candidates, self.texts = candidates, texts

    def window_candidates(self, kinds):
        return self.candidates

    def window_sources(self, ids):
        return [self.texts[cid] for cid in ids]


def test_plan_keeps_unchanged_chunks_and_cuts_the_rest_again():
    vec = np.zeros((3, 2), dtype=np.float32)
    old = windows.Windows(
        windows.Stamp((), 1),
        np.array([1, 2, 3], dtype=np.int64),
        ["h1", "h2", "h3"],
        vec,
        {1: ("e1", "c1"), 3: ("e3", "c3")},  # chunk 2's windows were still waiting
    )
    long_source = ("pkg/mod.py", "long_function", "function", SIGNATURE, DOC, LONG)
    store = _PlanStore(
        [(1, "e1", "c1"), (3, "e3", "c3-edited"), (4, "e4", "c4")],  # 2 is gone
        {3: (3, *long_source), 4: (4, *long_source)},
    )
    sources, kept, fresh = windows.plan(store, old)  # type: ignore[arg-type]
    assert [(cid, h) for cid, h, _ in kept] == [(1, "h1")]  # not 2 (gone), not 3 (edited)
    assert {w.chunk for w in fresh} == {3, 4} and len(fresh) == 2 * len(texts())
    assert sources == {1: ("e1", "c1"), 3: ("e3", "c3-edited"), 4: ("e4", "c4")}


def test_best_of_takes_each_chunks_best_vector_exactly():
    q = np.array([1.0, 0.0], dtype=np.float32)
    wins = windows.Windows(
        windows.Stamp((), 0),
        np.array([3, 3, 5, 8], dtype=np.int64),
        ["h1", "h2", "h3", "h4"],
        np.array([[0.2, 0.9], [0.95, 0.1], [0.1, 0.9], [0.75, 0.3]], dtype=np.float32),
        {},
    )
    heads = [(1, 0.9), (2, 0.8), (3, 0.7)]  # the top 3 by the chunks' own vectors
    got = windows.best_of(heads, wins, q, 3)
    # chunk 3 by its best window; chunk 8 (no head in the top 3) by its window, which
    # beats chunk 2; chunk 5's window is below the third head: it cannot come in
    assert got == [(3, pytest.approx(0.95)), (1, 0.9), (2, 0.8)]
    assert windows.best_of(heads, wins, q, 4)[3] == (8, pytest.approx(0.75))
    # No window above its chunk: the heads as they came, ties in their order.
    tied = [(9, 0.99), (4, 0.99), (2, 0.98)]
    assert windows.best_of(tied, wins, q, 3) == tied
    empty = windows.Windows(
        windows.Stamp((), 0), np.zeros(0, np.int64), [], np.zeros((0, 2), np.float32), {}
    )
    assert windows.best_of(heads, empty, q, 3) == heads


def agentctx(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentctx", *args], cwd=cwd, capture_output=True, text=True
    )


def dense_list(repo: Path, query: str) -> list[tuple[str, float]]:
    settings = load_settings(repo, {})
    emb = get_embedder("minilm", settings.resolved_cache_dir)
    signals = parse_query(query, "")
    vec = query_vector(emb, signals, query)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        cands = retrieve(store, signals, root=repo, query_vector=vec, dim=emb.dim)
    return [(cands.outline[cid].qualname, s) for cid, s in cands.lists["dense"]]


def head_cosine(repo: Path, query: str, qualname: str) -> float:
    settings = load_settings(repo, {})
    emb = get_embedder("minilm", settings.resolved_cache_dir)
    vec = query_vector(emb, parse_query(query, ""), query)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        index, _ = VectorIndex.load(store, emb.dim)
        ids, vectors = index.matrix()
        (cid,) = [
            r[0]
            for r in store.conn.execute("SELECT id FROM chunks WHERE qualname = ?", (qualname,))
        ]
        return float(vectors[list(ids).index(cid)] @ vec)


@pytest.mark.model
def test_real_index_keeps_windows_current(tmp_path: Path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "mod.py").write_text(LONG + "\n\ndef short_function(x):\n    return x + 1\n")
    (repo / "pkg" / "other.py").write_text("def helper():\n    return 2\n")
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")

    first = agentctx("index", "--json", cwd=repo)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)["windows"]
    assert report["total"] == len(texts()) == report["embedded"] and report["pending"] == 0

    # The report's words are in the function's last lines: in no vector but a window's.
    query = "calibrating the widget fails"
    dense = dense_list(repo, query)
    assert dense[0][0] == "long_function"
    assert dense[0][1] > head_cosine(repo, query, "long_function") + 0.1

    # Another file changes: the windows are re-stamped, none embedded again.
    (repo / "pkg" / "other.py").write_text("def helper():\n    return 3\n")
    again = json.loads(agentctx("index", "--json", cwd=repo).stdout)["windows"]
    assert again == {"total": report["total"], "embedded": 0, "from_cache": 0, "pending": 0}
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        assert windows.current(store, 384) is not None

    # The function's last line changes: it is cut again, and only its last window is new.
    assert len(texts()) >= 2
    source = (repo / "pkg" / "mod.py").read_text()
    (repo / "pkg" / "mod.py").write_text(source.replace("the widget", "the gadget"))
    edited = json.loads(agentctx("index", "--json", cwd=repo).stdout)["windows"]
    assert edited == {"total": report["total"], "embedded": 1, "from_cache": 0, "pending": 0}

    # A damaged file is no window at all (the chunks' own vectors rank), then rebuilt
    # from the embedding cache by the next run that writes the index.
    (repo / ".agentctx" / windows.WINDOWS_FILE).write_bytes(b"agentctx-windows\n\x05")
    windows._last = None  # as a new process finds it (this one keeps what it read)
    assert dense_list(repo, query)[0][0] != "long_function"
    (repo / "pkg" / "other.py").write_text("def helper():\n    return 4\n")
    packed = agentctx("pack", query, "--budget", "2000", cwd=repo)  # refreshes the index
    assert packed.returncode == 0, packed.stderr
    assert dense_list(repo, query)[0][0] == "long_function"
