"""``index --staged``: only the staged files, from their staged blobs (no commit involved)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import git, make_sample_repo
from probes import staged_probe
from typer.testing import CliRunner

from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.entry import nothing_relevant_staged
from agentctx.errors import ExitCode, UsageError
from agentctx.pipeline import UNMATCHED_STAT, build_index, search
from agentctx.store import IndexStore

PRICING = "src/shop/pricing.py"


def _settings(root: Path, **kw):
    return replace(load_settings(root, {"embedder": "hash"}), **kw)


def _symbols(root: Path, path: str) -> set[str]:
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return {c.qualname for c in store.chunks_in_files([path])}


def _manifest(root: Path):
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return store.manifest()


def _append(root: Path, path: str, text: str) -> str:
    p = root / path
    original = p.read_text()
    p.write_text(original + text)
    return original


@pytest.fixture
def indexed(sample_repo: Path) -> Path:
    build_index(_settings(sample_repo))
    return sample_repo


def test_staged_version_is_indexed_and_a_plain_run_then_takes_the_working_tree(indexed: Path):
    original = _append(indexed, PRICING, "\n\ndef staged_fn():\n    return 1\n")
    git(indexed, "add", PRICING)
    (indexed / PRICING).write_text(original + "\n\ndef worktree_fn():\n    return 2\n")
    before = _manifest(indexed)

    report = build_index(_settings(indexed), staged=True)
    assert report.files_modified == [PRICING] and report.files_read == 1
    assert [s.symbol for s in report.symbols_added] == ["staged_fn"]
    symbols = _symbols(indexed, PRICING)
    assert "staged_fn" in symbols and "worktree_fn" not in symbols
    after = _manifest(indexed)
    assert (after[PRICING].size, after[PRICING].mtime_ns) == UNMATCHED_STAT
    assert {p: r for p, r in after.items() if p != PRICING} == {
        p: r for p, r in before.items() if p != PRICING
    }  # nothing else was touched

    plain = build_index(_settings(indexed))
    assert plain.files_read == 1 and plain.files_modified == [PRICING]
    assert [s.symbol for s in plain.symbols_added] == ["worktree_fn"]
    assert [s.symbol for s in plain.symbols_removed] == ["staged_fn"]


def test_staged_equal_to_working_tree_keeps_its_stat(indexed: Path):
    _append(indexed, PRICING, "\n\ndef both():\n    return 3\n")
    git(indexed, "add", PRICING)
    report = build_index(_settings(indexed), staged=True)
    assert [s.symbol for s in report.symbols_added] == ["both"]
    st = (indexed / PRICING).stat()
    rec = _manifest(indexed)[PRICING]
    assert (rec.size, rec.mtime_ns) == (st.st_size, st.st_mtime_ns)
    again = build_index(_settings(indexed))
    assert again.files_read == 0 and not again.changed


def test_staged_deletion_removes_the_file(indexed: Path):
    git(indexed, "rm", "-q", PRICING)
    report = build_index(_settings(indexed), staged=True)
    assert report.files_removed == [PRICING]
    assert "tax_for" in {s.symbol for s in report.symbols_removed}
    assert PRICING not in _manifest(indexed)


def test_staged_binary_and_too_large_files_leave_the_index(indexed: Path):
    (indexed / PRICING).write_bytes(b"\x00binary now\n")
    cart = "src/shop/cart.py"
    (indexed / cart).write_text("x = 1\n" * 200)
    git(indexed, "add", PRICING, cart)
    report = build_index(_settings(indexed, max_file_size=500), staged=True)
    assert sorted(report.files_removed) == sorted([PRICING, cart])
    assert report.skipped == {"binary": 1, "too-large": 1}
    manifest = _manifest(indexed)
    assert PRICING not in manifest and cart not in manifest


def test_nothing_relevant_staged_returns_before_opening_anything(indexed: Path):
    (indexed / ".agentctxignore").write_text("notes/\n")
    (indexed / "notes").mkdir()
    (indexed / "notes/todo.py").write_text("def later():\n    pass\n")
    git(indexed, "add", "notes/todo.py")
    report = build_index(_settings(indexed), staged=True)
    assert report.staged == {
        "no_index": False,
        "paths": 1,
        "relevant": 0,
        "ignored": 1,
        "deferred": 0,
    }
    assert not report.changed and report.embedder == ""  # no embedder was even made
    assert nothing_relevant_staged(["index", "--staged", "--quiet", str(indexed)])
    assert not nothing_relevant_staged(["index", "--staged", str(indexed)])  # not quiet


def test_nothing_relevant_staged_imports_no_model_and_opens_no_source(indexed: Path):
    (indexed / ".agentctxignore").write_text("docs/\n")
    (indexed / "docs/notes.txt").write_text("changed notes\n")
    git(indexed, "add", "docs/notes.txt")
    probe = staged_probe(indexed)
    assert probe["reads"] == [] and probe["staged"]["relevant"] == 0
    assert not (probe["torch"] or probe["st"] or probe["faiss"])
    assert not probe["cli"] and not probe["typer"]  # the entry point's fast lane


def test_root_in_a_subdirectory_sees_only_its_own_staged_files(sample_repo: Path):
    root = sample_repo / "src"
    build_index(_settings(root))
    _append(sample_repo, "tests/test_cart.py", "\n\ndef test_outside():\n    pass\n")
    git(sample_repo, "add", "tests/test_cart.py")
    assert build_index(_settings(root), staged=True).staged["paths"] == 0
    _append(sample_repo, PRICING, "\n\ndef inside():\n    return 4\n")
    git(sample_repo, "add", PRICING)
    report = build_index(_settings(root), staged=True)
    assert report.files_modified == ["shop/pricing.py"]
    assert "inside" in _symbols(root, "shop/pricing.py")


def test_first_commit_without_head(tmp_path: Path):
    repo = make_sample_repo(tmp_path, use_git=False)
    git(repo, "init", "-q")
    build_index(_settings(repo))
    _append(repo, PRICING, "\n\ndef before_head():\n    return 5\n")
    git(repo, "add", PRICING)
    report = build_index(_settings(repo), staged=True)
    assert report.staged["paths"] == 1 and report.files_modified == [PRICING]


def test_no_index_yet_creates_nothing(sample_repo: Path):
    _append(sample_repo, PRICING, "\n\ndef early():\n    pass\n")
    git(sample_repo, "add", PRICING)
    report = build_index(_settings(sample_repo), staged=True)
    assert report.staged["no_index"] is True
    assert not (sample_repo / ".agentctx").exists()
    result = CliRunner().invoke(app, ["index", "--staged", str(sample_repo)])
    assert result.exit_code == 0 and result.stdout.startswith("No index under ")


def test_staged_and_rebuild_do_not_mix(indexed: Path):
    with pytest.raises(UsageError):
        build_index(_settings(indexed), staged=True, rebuild=True)


def test_other_embedder_keeps_the_stored_vectors(indexed: Path):
    class Other:
        model_id = "other-v1"
        dim = 8

        def embed_batch(self, texts):  # pragma: no cover - must not be called
            raise AssertionError("embedded with the wrong model")

    with IndexStore.open(indexed / ".agentctx", writer=False) as store:
        vectors = store.vector_count()
    _append(indexed, PRICING, "\n\ndef other():\n    pass\n")
    git(indexed, "add", PRICING)
    report = build_index(_settings(indexed), staged=True, embedder=Other())
    assert any("embedded with" in n for n in report.notices)
    assert report.chunks_pending > 0
    with IndexStore.open(indexed / ".agentctx", writer=False) as store:
        assert store.meta("embedder") != "other-v1"
        assert store.vector_count() >= vectors - 2  # only the changed chunks lost theirs


def test_max_embed_leaves_vectors_pending_and_they_rank_lexically(indexed: Path):
    (indexed / PRICING).write_text(
        (indexed / PRICING).read_text().replace("def tax_for(", "def levy_tariff_for(")
        + "\n\ndef one():\n    return 1\n\n\ndef two():\n    return 2\n"
    )
    git(indexed, "add", PRICING)
    report = build_index(_settings(indexed), staged=True, max_embed=1)
    assert report.chunks_embedded == 0 and report.chunks_pending >= 3
    assert [n for n in report.notices if "chunks left pending embedding (more than 1)" in n]
    quiet = build_index(_settings(indexed), staged=True, max_embed=0)
    assert quiet.notices == [] and quiet.chunks_pending == report.chunks_pending

    with IndexStore.open(indexed / ".agentctx", writer=False) as store:
        pending = {cid for cid, _, _ in store.pending()}
        from agentctx.store.vectors import VectorIndex

        vi, _ = VectorIndex.load(store, 256)
        in_faiss = set(vi.matrix()[0].tolist())
    assert pending and not pending & in_faiss  # no stale vector can come back

    found = search(_settings(indexed), "levy_tariff_for", refresh=False)
    hit = next(h for h in found.hits if h.qualname == "levy_tariff_for")
    assert "dense" not in hit.reasons and "lexical" in hit.reasons

    embedded = build_index(_settings(indexed), staged=True, max_embed=64)
    assert embedded.chunks_pending == 0  # nothing staged changed; the pending ones fit


def test_cli_staged_json_and_summary(indexed: Path):
    runner = CliRunner()
    _append(indexed, PRICING, "\n\ndef cli_fn():\n    pass\n")
    git(indexed, "add", PRICING)
    result = runner.invoke(app, ["index", str(indexed), "--staged", "--embedder", "hash"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Staged: 1 file changed: +1 symbol (cli_fn)")
    again = runner.invoke(app, ["index", str(indexed), "--staged", "--json", "--embedder", "hash"])
    data = json.loads(again.stdout)
    assert data["staged"]["relevant"] == 1  # already indexed by the run before:
    assert data["files"]["read"] == 0 and not data["files"]["modified"]
    third = runner.invoke(app, ["index", str(indexed), "--staged", "--embedder", "hash"])
    assert third.stdout.startswith("Staged files already indexed (1 path); index unchanged")
    git(indexed, "reset", "-q")
    quiet = runner.invoke(app, ["index", str(indexed), "--staged"])
    assert quiet.exit_code == 0 and quiet.stdout.startswith("Nothing staged;")


def test_cli_outside_git_is_its_own_exit_code(tmp_path: Path):
    result = CliRunner().invoke(app, ["index", str(tmp_path), "--staged"])
    assert result.exit_code == ExitCode.NOT_A_REPOSITORY
    assert result.stderr.count("\n") == 1 and "not inside a git work tree" in result.stderr
    warned = CliRunner().invoke(app, ["index", str(tmp_path), "--staged", "--warn-only"])
    assert warned.exit_code == 0 and warned.stdout == ""
    assert warned.stderr.startswith("agentctx: warning: ")
    assert warned.stderr.rstrip("\n").endswith("(commit continues)")
    assert warned.stderr.count("\n") == 1


def test_relative_git_index_file_from_a_hook_environment(sample_repo: Path):
    """git runs hooks with GIT_INDEX_FILE=.git/index (relative to the work tree top)."""
    root = sample_repo / "src"
    build_index(_settings(root))
    _append(sample_repo, PRICING, "\n\ndef from_hook():\n    pass\n")
    git(sample_repo, "add", PRICING)
    code = (
        "import sys; from pathlib import Path; from agentctx.staged import select_staged; "
        "print([e.path for e in select_staged(Path(sys.argv[1])).relevant])"
    )
    env = {**os.environ, "GIT_INDEX_FILE": ".git/index"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)],
        cwd=sample_repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "['shop/pricing.py']"
