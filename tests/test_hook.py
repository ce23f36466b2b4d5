"""``agentctx hook``: the real hook run by real ``git commit``s in temporary repositories."""

from __future__ import annotations

import os
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import GIT_ENV, git, make_sample_repo
from typer.testing import CliRunner

from agentctx import hook
from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.errors import ExitCode, HookError
from agentctx.pipeline import UNMATCHED_STAT, build_index
from agentctx.store import IndexStore

PRICING = "src/shop/pricing.py"
USER_HOOK = b'#!/bin/sh\n# the user\'s own hook\necho "user hook ran" >> user-hook.log\nexit 0\n'
runner = CliRunner()
PYCACHE = Path(tempfile.gettempdir()) / f"agentctx-test-pycache-{os.getuid()}"


def commit_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """What a user's `git commit` runs with: no global config, a scratch HOME, hash vectors."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {
        **GIT_ENV,
        "HOME": str(home),
        "AGENTCTX_CACHE_DIR": os.environ["AGENTCTX_CACHE_DIR"],
        "AGENTCTX_EMBEDDER": "hash",
        "PYTHONPYCACHEPREFIX": str(PYCACHE),  # hooks start faster; the tree stays clean
        **extra,
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def commit(repo: Path, env: dict[str, str], message: str = "change") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "commit.gpgsign=false", "commit", "-q", "-m", message],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD").strip()


def symbols(root: Path, path: str) -> set[str]:
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return {c.qualname for c in store.chunks_in_files([path])}


def settings(root: Path):
    return load_settings(root, {"embedder": "hash"})


def add_function(root: Path, path: str, name: str) -> str:
    p = root / path
    original = p.read_text()
    p.write_text(original + f"\n\ndef {name}():\n    return 0\n")
    return original


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    build_index(settings(sample_repo))
    return sample_repo


def break_lock(repo: Path) -> None:
    """A directory where the lock file goes: no writer can open the index."""
    lock = repo / ".agentctx" / "lock"
    lock.unlink(missing_ok=True)
    lock.mkdir()


def hook_file(repo: Path) -> Path:
    return repo / ".git" / "hooks" / "pre-commit"


# ------------------------------------------------------------------- install / uninstall


def test_install_and_uninstall_around_an_existing_hook_byte_for_byte(repo: Path, tmp_path: Path):
    path = hook_file(repo)
    path.write_bytes(USER_HOOK)
    path.chmod(0o750)

    first = runner.invoke(app, ["hook", "install", str(repo)])
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("Added agentctx to ")
    installed = path.read_bytes()
    assert installed.startswith(b"#!/bin/sh\n" + hook.BEGIN.encode() + b"\n")
    assert installed.endswith(USER_HOOK[len(b"#!/bin/sh\n") :])  # the trailing `exit 0` too
    assert stat.S_IMODE(path.stat().st_mode) == 0o750

    again = runner.invoke(app, ["hook", "install", str(repo)])
    assert again.exit_code == 0 and "already installed" in again.stdout
    assert path.read_bytes() == installed

    # The block runs before the user's `exit 0`, and the user's hook still runs.
    env = commit_env(tmp_path)
    add_function(repo, PRICING, "from_commit")
    git(repo, "add", PRICING)
    done = commit(repo, env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "from_commit" in symbols(repo, PRICING)
    assert (repo / "user-hook.log").read_text() == "user hook ran\n"

    gone = runner.invoke(app, ["hook", "uninstall", str(repo)])
    assert gone.exit_code == 0 and "the rest is unchanged" in gone.stdout
    assert path.read_bytes() == USER_HOOK
    assert stat.S_IMODE(path.stat().st_mode) == 0o750
    assert "No agentctx hook" in runner.invoke(app, ["hook", "uninstall", str(repo)]).stdout


def test_created_hook_is_deleted_on_uninstall_unless_the_user_added_to_it(repo: Path):
    path = hook_file(repo)
    result = hook.install(repo)
    assert result.action == "installed" and result.created
    assert path.read_bytes().startswith(b"#!/bin/sh\n# >>> agentctx >>>\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    assert hook.uninstall(repo).action == "deleted" and not path.exists()

    hook.install(repo)
    with path.open("ab") as fh:
        fh.write(b"echo mine\n")
    result = hook.uninstall(repo)
    assert result.action == "removed" and result.notes
    assert path.read_bytes() == b"#!/bin/sh\necho mine\n"


def test_other_options_replace_the_block_and_back(repo: Path):
    path = hook_file(repo)
    path.write_bytes(USER_HOOK)
    path.chmod(0o755)
    hook.install(repo)
    default = path.read_bytes()
    assert hook.install(repo, strict=True, max_embed=8).action == "updated"
    strict = path.read_bytes().decode()
    assert strict.count(hook.BEGIN) == 1 and "--warn-only" not in strict
    assert "--max-embed 8" in strict
    status = hook.status(repo)
    assert status.installed and status.strict and status.max_embed == 8 and status.root == "."
    hook.install(repo)
    assert path.read_bytes() == default
    hook.uninstall(repo)
    assert path.read_bytes() == USER_HOOK


def test_hook_without_exec_bit_or_final_newline(repo: Path):
    path = hook_file(repo)
    path.write_bytes(b"#!/bin/bash")
    path.chmod(0o644)
    result = hook.install(repo)
    assert result.made_executable and any("executable" in n for n in result.notes)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755
    hook.uninstall(repo)
    assert path.read_bytes() == b"#!/bin/bash"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_marker_text_inside_a_line_is_no_block(repo: Path):
    path = hook_file(repo)
    path.write_bytes(f"#!/bin/sh\necho 'see {hook.BEGIN} in the docs'\n".encode())
    assert hook.install(repo).action == "installed"  # a first install, not an update
    assert hook.install(repo).action == "unchanged"


def test_foreign_and_damaged_hooks_are_refused(repo: Path):
    path = hook_file(repo)
    path.write_bytes(b"#!/usr/bin/env python3\nprint('hi')\n")
    result = runner.invoke(app, ["hook", "install", str(repo)])
    assert result.exit_code == ExitCode.CONFIG
    assert "python3 script" in result.stderr and result.stderr.count("\n") == 1
    assert path.read_bytes() == b"#!/usr/bin/env python3\nprint('hi')\n"

    path.write_bytes(f"#!/bin/sh\n{hook.BEGIN}\necho half a block\n".encode())
    with pytest.raises(HookError, match="damaged"):
        hook.install(repo)
    with pytest.raises(HookError, match="damaged"):
        hook.uninstall(repo)


def test_outside_a_git_repository(tmp_path: Path):
    for command in ("install", "uninstall", "status"):
        result = runner.invoke(app, ["hook", command, str(tmp_path)])
        assert result.exit_code == ExitCode.NOT_A_REPOSITORY, command
        assert result.stderr.startswith("agentctx: error: ") and result.stderr.count("\n") == 1
    assert not (tmp_path / ".git").exists()


def test_status_and_json(repo: Path):
    result = runner.invoke(app, ["hook", "status", str(repo)])
    assert result.exit_code == 0 and result.stdout.startswith("Not installed: ")
    installed = runner.invoke(app, ["hook", "install", str(repo), "--json"])
    import json

    data = json.loads(installed.stdout)
    assert data["action"] == "installed" and data["created"] and data["root"] == "."
    assert data["command"] and Path(data["command"]).name == "agentctx"
    status = json.loads(runner.invoke(app, ["hook", "status", str(repo), "--json"]).stdout)
    assert status["installed"] and status["strict"] is False and status["max_embed"] == 64


# ------------------------------------------------------------------------ where git looks


@pytest.mark.parametrize("where", ["absolute", "relative"])
def test_core_hooks_path(repo: Path, tmp_path: Path, where: str):
    hooks = tmp_path / "shared-hooks" if where == "absolute" else repo / "ci" / "hooks"
    git(repo, "config", "core.hooksPath", str(hooks) if where == "absolute" else "ci/hooks")
    result = hook.install(repo)
    assert result.path == hooks / "pre-commit" and result.path.is_file()
    assert not hook_file(repo).exists()

    add_function(repo, PRICING, "via_hooks_path")
    git(repo, "add", PRICING)
    done = commit(repo, commit_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "via_hooks_path" in symbols(repo, PRICING)


def test_linked_worktree_with_its_own_index_and_a_subdirectory_root(repo: Path, tmp_path: Path):
    hook.install(repo)
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree), "-b", "feature")
    root = worktree / "src"
    build_index(settings(root))
    hook.uninstall(repo)
    result = hook.install(root)  # one hook for every worktree: it names the root by prefix
    assert result.path == repo / ".git" / "hooks" / "pre-commit" and result.root == "src"

    add_function(worktree, PRICING, "in_worktree")
    git(worktree, "add", PRICING)
    done = commit(worktree, commit_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "in_worktree" in symbols(root, "shop/pricing.py")
    assert "in_worktree" not in symbols(repo, PRICING)  # the main checkout's index is its own


def test_submodule(tmp_path: Path):
    inner = make_sample_repo(tmp_path, name="inner")
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "-q")
    git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner), "lib")
    git(outer, "commit", "-q", "-m", "add submodule")
    sub = outer / "lib"
    build_index(settings(sub))
    result = hook.install(sub)
    assert result.path == outer / ".git" / "modules" / "lib" / "hooks" / "pre-commit"

    add_function(sub, PRICING, "in_submodule")
    git(sub, "add", PRICING)
    done = commit(sub, commit_env(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "in_submodule" in symbols(sub, PRICING)


# ---------------------------------------------------------------------- what a commit does


def test_commit_indexes_the_staged_version_then_index_takes_the_working_tree(
    repo: Path, tmp_path: Path
):
    hook.install(repo)
    original = add_function(repo, PRICING, "staged_version")
    git(repo, "add", PRICING)
    (repo / PRICING).write_text(original + "\n\ndef unstaged_version():\n    return 1\n")

    done = commit(repo, commit_env(tmp_path))
    assert done.returncode == 0, done.stderr
    indexed = symbols(repo, PRICING)
    assert "staged_version" in indexed and "unstaged_version" not in indexed
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        rec = store.manifest()[PRICING]
        assert (rec.size, rec.mtime_ns) == UNMATCHED_STAT
        assert store.pending_count() == 0  # a few chunks: embedded at commit time

    report = build_index(settings(repo))
    assert report.files_modified == [PRICING]
    indexed = symbols(repo, PRICING)
    assert "unstaged_version" in indexed and "staged_version" not in indexed


def test_commit_with_a_staged_deletion(repo: Path, tmp_path: Path):
    hook.install(repo)
    git(repo, "rm", "-q", PRICING)
    done = commit(repo, commit_env(tmp_path))
    assert done.returncode == 0, done.stderr
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        assert PRICING not in store.manifest()
    assert symbols(repo, PRICING) == set()


def test_partial_commit_indexes_what_is_committed(repo: Path, tmp_path: Path):
    """`git commit PATH` commits from a temporary index (GIT_INDEX_FILE=next-index...)."""
    hook.install(repo)
    add_function(repo, PRICING, "only_this")
    add_function(repo, "src/shop/cart.py", "not_this")
    result = subprocess.run(
        ["git", "commit", "-q", "-m", "partial", "--", PRICING],
        cwd=repo,
        env=commit_env(tmp_path),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "only_this" in symbols(repo, PRICING)
    assert "not_this" not in symbols(repo, "src/shop/cart.py")


def test_warn_only_never_stops_the_commit(repo: Path, tmp_path: Path):
    hook.install(repo)
    break_lock(repo)
    add_function(repo, PRICING, "while_broken")
    git(repo, "add", PRICING)
    before = head(repo)
    done = commit(repo, commit_env(tmp_path))
    assert done.returncode == 0 and head(repo) != before
    assert done.stderr.startswith("agentctx: warning: cannot open the index lock ")
    assert done.stderr.endswith("(commit continues)\n") and done.stderr.count("\n") == 1


def test_strict_stops_the_commit_when_agentctx_fails(repo: Path, tmp_path: Path):
    hook.install(repo, strict=True)
    break_lock(repo)
    add_function(repo, PRICING, "blocked")
    git(repo, "add", PRICING)
    before = head(repo)
    done = commit(repo, commit_env(tmp_path))
    assert done.returncode != 0 and head(repo) == before
    lines = done.stderr.splitlines()
    assert lines[0].startswith("agentctx: error: cannot open the index lock ")
    assert "--no-verify" in lines[1]


def test_missing_executable_is_one_warning(repo: Path, tmp_path: Path):
    hook.install(repo, command=str(tmp_path / "gone" / "agentctx"))
    add_function(repo, PRICING, "no_agentctx")
    git(repo, "add", PRICING)
    done = commit(repo, commit_env(tmp_path, PATH=os.pathsep.join(["/usr/bin", "/bin"])))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("agentctx: warning: agentctx not found at ")
    assert done.stderr.count("\n") == 1


def test_pre_commit_framework_manifest_runs_the_hook_command():
    manifest = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    fields = dict(
        line.strip().lstrip("- ").split(": ", 1)
        for line in manifest.splitlines()
        if ": " in line and not line.lstrip().startswith("#")
    )
    assert fields["id"] == "agentctx-index" and fields["language"] == "python"
    assert fields["pass_filenames"] == "false" and fields["always_run"] == "true"
    assert fields["stages"] == "[pre-commit]"
    block = hook.render_block(root=".", command=None, strict=False, max_embed=64)
    assert f'exec "$agentctx" {fields["entry"].removeprefix("agentctx ")} -- .' in block
