"""The essential index behaviours with the real MiniLM model, real FAISS, real processes.

These run the CLI as users do (``python -m agentctx``), so each pays the model load
(~5 s here); the sample repository is kept small (~40 chunks) to stay quick.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from probes import noop_probe

from agentctx.embed import get_embedder
from agentctx.store import IndexStore
from agentctx.store.vectors import VectorIndex

pytestmark = pytest.mark.model


def agentctx(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentctx", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def minilm():
    return get_embedder("minilm")


def test_real_index_edit_noop_and_semantic_search(sample_repo: Path, minilm):
    first = agentctx("index", "--json", cwd=sample_repo)
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    total = data["chunks"]["total"]
    assert data["created"] and data["chunks"]["embedded"] == total
    assert {"python", "typescript", "go", "markdown"} <= set(data["symbols"]["by_language"])
    assert data["files"]["skipped"] == {"binary": 1, "symlink-outside-root": 1}
    assert data["files"]["decode_errors"] == ["docs/notes.txt"]
    assert data["files"]["parse_errors"] == ["src/shop/legacy.py"]
    added = {(s["path"], s["symbol"]) for s in data["symbols"]["added"]}
    assert {
        ("src/shop/legacy.py", "legacy_total"),
        ("src/shop/legacy.py", "legacy_round"),
        ("src/inventory/stock.go", "Stock.Reserve"),
        ("src/web/checkout.ts", "CheckoutForm.submit"),
    } <= added
    assert data["embedder"].startswith("all-MiniLM-L6-v2")

    # The vectors are the real model's: a plain-English question finds the right method.
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        vi, rebuilt = VectorIndex.load(store, 384)
        assert not rebuilt and vi.ntotal == total
        names = dict(store.conn.execute("SELECT id, qualname FROM chunks").fetchall())
    query = minilm.embed_batch(["put another product into the shopping cart"])[0]
    assert np.isclose(np.linalg.norm(query), 1.0, atol=1e-4)
    top = [names[i] for i, _ in vi.search(query, 3)]
    assert "Cart.add_item" in top, top

    # A no-op re-run opens no source file and imports no engine: not torch, not even numpy.
    probe = noop_probe(sample_repo)
    assert probe["reads"] == [] and probe["read"] == 0 and not probe["changed"]
    assert not probe["torch"] and not probe["st"] and not probe["numpy"]

    # Editing one function re-embeds exactly that symbol.
    pricing = sample_repo / "src/shop/pricing.py"
    pricing.write_text(pricing.read_text().replace("return round(", "return  round(", 1))
    edit = agentctx("index", "--json", "--no-cache", cwd=sample_repo)
    assert edit.returncode == 0, edit.stderr
    data = json.loads(edit.stdout)
    assert data["files"]["modified"] == ["src/shop/pricing.py"]
    assert data["symbols"]["modified"] == [{"path": "src/shop/pricing.py", "symbol": "tax_for"}]
    assert data["symbols"]["added"] == data["symbols"]["removed"] == []
    assert data["chunks"]["embedded"] == 1 and data["chunks"]["from_cache"] == 0
    assert 0 < data["bytes_embedded"] < data["bytes_full_refresh"]


def test_progress_and_errors_never_reach_stdout(sample_repo: Path):
    result = agentctx("index", "--quiet", cwd=sample_repo)
    assert result.returncode == 0 and result.stdout == ""
    bad = agentctx("index", "does-not-exist", cwd=sample_repo)
    assert bad.returncode == 3 and bad.stdout == ""
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr


def test_a_line_under_the_title_moves_the_real_query_vector_less_with_the_title_s_own(minilm):
    from agentctx.pipeline import query_vector
    from agentctx.query import parse_query

    title = "Adding the same product to the cart twice keeps one line"
    body = "Calling `Cart.add_item` twice with one product leaves a single line with quantity 1."
    plain = parse_query(f"{title}\n\n{body}\n")
    edited = parse_query(f"{title}\nSorry in advance if this has been asked before.\n\n{body}\n")
    assert plain.title_text == edited.title_text == title
    whole = minilm.embed_batch([plain.clean_text, edited.clean_text])
    mixed = [query_vector(minilm, q, q.text) for q in (plain, edited)]
    assert float(mixed[0] @ mixed[1]) > float(whole[0] @ whole[1])
