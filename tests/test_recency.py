"""The recency signal: what git says changed, stored by `index` and read by queries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import git

import agentctx.recency as recency_mod
import agentctx.retrieve as retrieve_mod
from agentctx.config import load_settings
from agentctx.pipeline import build_index, search
from agentctx.recency import recency_scores, stored_recency
from agentctx.store import IndexStore

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    for i in range(3):
        _write(root, f"app/m{i}.py", f"def f{i}():\n    return {i}\n")
    _write(root, "top.py", "def top():\n    return 0\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    _write(root, "app/m1.py", "def f1():\n    return 11\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "second")
    return root


def test_scores_cover_edits_untracked_odd_names_and_recent_commits(repo: Path):
    _write(repo, "app/m0.py", "def f0():\n    return 'edited'\n")  # unstaged edit
    _write(repo, "app/new dir/n.py", "def n():\n    return 1\n")  # untracked, in a new dir
    paths = {"app/m0.py", "app/m1.py", "app/m2.py", "app/new dir/n.py", "top.py"}
    scores = recency_scores(repo, paths)
    assert scores["app/m0.py"] == scores["app/new dir/n.py"] == 1.0
    assert scores["app/m1.py"] == 0.5  # the last commit
    assert 0 < scores["top.py"] < 0.5 and scores["app/m2.py"] == scores["top.py"]  # one older
    # From a subdirectory root, paths are relative to it and the rest is left out.
    sub = recency_scores(repo / "app", {"m0.py", "m1.py", "m2.py", "new dir/n.py"})
    assert sub == {
        "m0.py": 1.0,
        "new dir/n.py": 1.0,
        "m1.py": 0.5,
        "m2.py": scores["app/m2.py"],
    }


def test_a_sweeping_commit_or_working_tree_counts_for_nothing(repo: Path, monkeypatch):
    monkeypatch.setattr(recency_mod, "SWEEPING_CHANGE", 3)
    paths = {"app/m0.py", "app/m1.py", "app/m2.py", "top.py"}
    # The first commit (4 files: an import of the tree) is left out; the second is not.
    assert recency_scores(repo, paths) == {"app/m1.py": 0.5}
    for i in range(3):  # a formatter run over everything, uncommitted: 4 files changed
        _write(repo, f"app/m{i}.py", f"def f{i}():\n    return {i!r}  # fmt\n")
    _write(repo, "top.py", "def top():\n    return 0  # fmt\n")
    assert recency_scores(repo, paths) == {"app/m1.py": 0.5}
    git(repo, "checkout", "-q", "--", ".")
    _write(repo, "top.py", "def top():\n    return 1\n")  # one real edit counts again
    assert recency_scores(repo, paths) == {"top.py": 1.0, "app/m1.py": 0.5}
    for i in range(5):  # untracked files that are not indexed (a virtualenv) do not hide it
        _write(repo, f"venv/lib/x{i}.py", "x = 1\n")
    assert recency_scores(repo, paths) == {"top.py": 1.0, "app/m1.py": 0.5}
    monkeypatch.undo()
    # At the real limit: everything untracked after `git init`, the import of a tree, and a
    # shallow clone, whose only commit shows every file as changed.
    full = repo.parent / "full"
    many = {f"pkg/f{i}.py": f"x = {i}\n" for i in range(recency_mod.SWEEPING_CHANGE + 1)}
    full.mkdir()
    git(full, "init", "-q")
    for rel, text in many.items():
        _write(full, rel, text)
    assert recency_scores(full, set(many)) == {}
    git(full, "add", "-A")
    git(full, "commit", "-q", "-m", "import")
    assert recency_scores(full, set(many)) == {}
    _write(full, "pkg/f0.py", "x = 'fixed'\n")
    git(full, "commit", "-q", "-am", "fix f0")
    assert recency_scores(full, set(many)) == {"pkg/f0.py": 0.5}
    shallow = repo.parent / "shallow"
    git(repo.parent, "clone", "-q", "--depth", "1", f"file://{full}", str(shallow))
    assert recency_scores(shallow, set(many)) == {}


def test_scores_stored_by_another_version_are_recomputed(repo: Path, monkeypatch):
    settings = load_settings(repo, {"embedder": "hash"})
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        stored = stored_recency(store, repo)
    assert stored is not None and stored["app/m1.py"] == 0.5
    monkeypatch.setattr(recency_mod, "RECENCY_VERSION", recency_mod.RECENCY_VERSION + 1)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert stored_recency(store, repo) is None  # a query computes them live
    build_index(settings)  # and the next index run stores them under the new key
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert stored_recency(store, repo) == stored


def test_index_stores_them_and_queries_run_no_git_until_head_moves(repo: Path, monkeypatch):
    settings = load_settings(repo, {"embedder": "hash"})
    _write(repo, "app/m2.py", "def f2():\n    return 'edited'\n")
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        stored = stored_recency(store, repo)
    assert stored is not None and stored["app/m2.py"] == 1.0 and stored["app/m1.py"] == 0.5

    def no_git(*_a, **_k):
        raise AssertionError("recency computed at query time")

    monkeypatch.setattr(retrieve_mod, "recency_scores", no_git)
    hits = search(settings, "f2 edited", refresh=False).hits
    assert "recency" in next(h for h in hits if h.path == "app/m2.py").reasons

    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "third")  # HEAD moved, no index run yet: computed live
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert stored_recency(store, repo) is None
    with pytest.raises(AssertionError, match="computed at query time"):
        search(settings, "f2 edited", refresh=False)
    monkeypatch.undo()
    build_index(settings)  # stored again for the new HEAD
    with IndexStore.open(settings.index_dir, writer=False) as store:
        stored = stored_recency(store, repo)
    assert stored is not None and stored["app/m2.py"] == 0.5  # now in the last commit
    monkeypatch.setattr(recency_mod, "recency_scores", no_git)
    build_index(settings)  # a no-op: the key matches, nothing recomputed (no_git not called)


def test_outside_git_nothing_is_stored_and_queries_need_no_git(plain_sample_repo: Path):
    settings = load_settings(plain_sample_repo, {"embedder": "hash"})
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert stored_recency(store, plain_sample_repo) == {}
