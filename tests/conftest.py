"""Shared fixtures: fresh copies of ``fixtures/sample_repo`` as a git repo or a plain dir.

The committed fixture stores its ignore files as ``dot-gitignore`` (a real ``.gitignore``
there would hide fixture files from agentctx's own repository) and holds no ignored
files or symlinks; ``make_sample_repo`` adds them to each copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

SAMPLE_REPO = Path(__file__).resolve().parent.parent / "fixtures" / "sample_repo"

# Renamed in each copy: stored name -> real name.
DOT_FILES = {"dot-gitignore": ".gitignore", "dot-agentctxignore": ".agentctxignore"}

# Created in each copy; every one is ignored by the copy's .gitignore files.
IGNORED_FILES = {
    "build/out.py": "def built():\n    return 1\n",
    "build/lib/deep.py": "X = 1\n",
    "app.log": "started\n",
    "docs/debug.log": "debug\n",
    "generated.py": "GENERATED = True\n",
    "node_modules/left-pad/index.js": "module.exports = (s) => s;\n",
    "src/junk.tmp": "junk\n",
    "src/shop/cache.tmp": "cache\n",
    "src/scratch.py": "def scratch():\n    pass\n",
    "src/shop/old.bak": "old\n",
}

OUTSIDE_LINK = "src/outside_link.py"  # -> a file outside the repo copy
INSIDE_LINK = "docs/config_link.yaml"  # -> ../config.yaml

# What discover() lists in a fresh copy: git's view minus OUTSIDE_LINK (skipped).
SAMPLE_FILES = frozenset(
    {
        ".gitignore",
        "README.md",
        "assets/logo.bin",
        "config.yaml",
        "docs/config_link.yaml",
        "docs/notes.txt",
        "src/.gitignore",
        "src/inventory/stock.go",
        "src/keep.tmp",
        "src/shop/__init__.py",
        "src/shop/cart.py",
        "src/shop/legacy.py",
        "src/shop/pricing.py",
        "src/web/checkout.ts",
        "tests/test_cart.py",
    }
)

# Git without the user's or the system's configuration (no global excludes, hooks, signing).
GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@t",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@t",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` with a clean configuration; return stdout."""
    settings = (
        "user.name=t",
        "user.email=t@t",
        "commit.gpgsign=false",
        "init.defaultBranch=main",
        "core.quotePath=false",
    )
    config = [arg for setting in settings for arg in ("-c", setting)]
    out = subprocess.run(
        ["git", *config, *args],
        cwd=repo,
        env=GIT_ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout


def git_visible_files(repo: Path) -> set[str]:
    """Files git would track or show as untracked: ``ls-files --cached --others``."""
    out = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return {p for p in out.split("\0") if p}


def make_sample_repo(tmp_path: Path, *, use_git: bool = True, name: str = "sample_repo") -> Path:
    """A fresh copy of the sample repository under ``tmp_path``, ready to index.

    Adds the ignored files, a symlink leaving the root and one staying inside; with
    ``use_git`` it is a real repository with everything visible committed.
    """
    if use_git and shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / name
    shutil.copytree(SAMPLE_REPO, repo, symlinks=True)
    for stored, real in DOT_FILES.items():
        for p in sorted(repo.rglob(stored)):
            p.rename(p.with_name(real))
    for rel, text in IGNORED_FILES.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    outside = tmp_path / f"{name}-outside" / "secret.py"
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_text("API_KEY = 'not for the index'\n")
    (repo / OUTSIDE_LINK).symlink_to(outside)
    (repo / INSIDE_LINK).symlink_to(Path("..") / "config.yaml")
    if use_git:
        git(repo, "init", "-q")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "initial")
    return repo


def age_tree(root: Path, seconds: float = 60) -> None:
    """Every mtime under ``root`` (itself, directories, files, symlinks themselves) set
    ``seconds`` into the past: a tree nobody has touched lately."""
    past = time.time() - seconds
    for p in [root, *root.rglob("*")]:
        os.utime(p, (past, past), follow_symlinks=False)


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """The sample repository as a committed git repository."""
    return make_sample_repo(tmp_path)


@pytest.fixture
def plain_sample_repo(tmp_path: Path) -> Path:
    """The same tree without git (no ``.git``): only the ignore files found apply."""
    return make_sample_repo(tmp_path, use_git=False)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Each test gets its own user-level embedding cache (never the developer's real one)."""
    monkeypatch.setenv("AGENTCTX_CACHE_DIR", str(tmp_path_factory.mktemp("agentctx-cache")))
    for var in (
        "AGENTCTX_EMBEDDER",
        "AGENTCTX_MAX_FILE_SIZE",
        "AGENTCTX_BATCH_SIZE",
        "AGENTCTX_CACHE",
        "AGENTCTX_EMBED_MAX_CHARS",
        "AGENTCTX_LOCK_TIMEOUT",
    ):
        monkeypatch.delenv(var, raising=False)


BRIEF_SCENARIO_KEYS = {
    "name",
    "key_metrics",
    "p50_latency",
    "p95_latency",
    "token_usage",
    "accuracy",
}


def assert_brief_scenario(scenario: dict) -> None:
    """One ``benchmark_scenarios`` entry in the product brief's shape, with sane latencies."""
    assert set(scenario) == BRIEF_SCENARIO_KEYS
    assert 0 < scenario["p50_latency"] <= scenario["p95_latency"], scenario["name"]
