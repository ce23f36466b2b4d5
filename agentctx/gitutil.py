"""Git plumbing shared by the hook (`index --staged`), `pack --diff` and watch.

Everything goes through the ``git`` executable with ``-z`` output where paths are
involved (no quoting surprises). Paths handed back are relative to ``root`` (the
indexed directory), which may be a subdirectory of the work tree; paths outside it
are dropped. Discovery itself never needs git; only these features do.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import AgentctxError, ExitCode, NotARepositoryError
from .githead import GIT_PATH_VARS as _PATH_VARS
from .textutil import is_utf8

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # `git hash-object -t tree /dev/null`
# A hunk header of `git diff`/`git show` output (bytes): each side's first line and count
# (a count left out is 1). ``HUNK_HEADER_TEXT``: the same for a patch held as text.
HUNK_HEADER = re.compile(
    rb"^@@ -(?P<old>\d+)(?:,(?P<old_n>\d+))? \+(?P<new>\d+)(?:,(?P<new_n>\d+))? @@"
)
HUNK_HEADER_TEXT = re.compile(HUNK_HEADER.pattern.decode())


_OCTAL = re.compile(rb"\\([0-7]{3})")
_ESCAPES = {b"n": b"\n", b"t": b"\t", b'"': b'"', b"\\": b"\\", b"a": b"\a", b"b": b"\b"}


def unquote_path(raw: bytes) -> bytes:
    """Undo git's C-style quoting of a path in patch headers (``"a\\tb.py"``); an
    unquoted path is returned as it is."""
    if not (raw.startswith(b'"') and raw.endswith(b'"')):
        return raw
    body = raw[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        c = body[i : i + 1]
        if c == b"\\" and i + 1 < len(body):
            m = _OCTAL.match(body, i)
            if m:
                out.append(int(m.group(1), 8))
                i += 4
                continue
            out += _ESCAPES.get(body[i + 1 : i + 2], body[i + 1 : i + 2])
            i += 2
            continue
        out += c
        i += 1
    return bytes(out)


class GitError(AgentctxError):
    """git is missing, the directory is not a repository, or a git command failed."""

    exit_code = ExitCode.NOT_FOUND


def run_git(
    root: Path, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``git -C root args...`` with bytes out; raises GitError when ``check`` and it fails."""
    env = _git_env()
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), *args],
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"`git {' '.join(args[:2])}` took more than {timeout:g}s") from None
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]} failed: {err[-1] if err else f'exit {proc.returncode}'}")
    return proc


def _git_env() -> dict[str, str]:
    """The environment for git children, keeping the meaning git's own variables had here.

    git runs hooks with a relative ``GIT_INDEX_FILE`` (``.git/index``) and, in linked
    worktrees and submodules, with ``GIT_DIR`` but no ``GIT_WORK_TREE`` (the work tree
    is then the current directory). Under ``git -C root`` both would point elsewhere,
    so relative paths are made absolute and the implied work tree is named.
    """
    env = dict(os.environ)
    env.setdefault("GIT_OPTIONAL_LOCKS", "0")  # a read must never take index.lock from a commit
    if not any(env.get(var) for var in _PATH_VARS):
        return env
    try:
        cwd = os.getcwd()
    except OSError:
        return env
    for var in _PATH_VARS:
        value = env.get(var)
        if value and not os.path.isabs(value):
            env[var] = os.path.join(cwd, value)
    if env.get("GIT_DIR") and not env.get("GIT_WORK_TREE"):
        top = _implied_work_tree(env["GIT_DIR"], env.get("GIT_INDEX_FILE", ""), cwd)
        if top is not None:
            env["GIT_WORK_TREE"] = top
    return env


@functools.lru_cache(maxsize=8)
def _implied_work_tree(git_dir: str, index_file: str, cwd: str) -> str | None:
    """The work tree git itself would use from ``cwd`` with ``GIT_DIR`` set (None: bare)."""
    env = dict(os.environ, GIT_DIR=git_dir, GIT_OPTIONAL_LOCKS="0")
    if index_file:
        env["GIT_INDEX_FILE"] = index_file
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=cwd,
            capture_output=True,
            timeout=30,
            check=False,
            env=env,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    top = os.fsdecode(proc.stdout.rstrip(b"\n"))
    return top if proc.returncode == 0 and top else None


def root_prefix(root: Path) -> str:
    """``root`` relative to its work tree, with a trailing slash ('' at the top)."""
    proc = run_git(root, "rev-parse", "--show-prefix", check=False)
    if proc.returncode != 0:
        raise NotARepositoryError(
            f"{root} is not inside a git repository", hint="run `git init` or pass a repository"
        )
    return os.fsdecode(proc.stdout.rstrip(b"\n"))


def has_head(root: Path) -> bool:
    return run_git(root, "rev-parse", "--verify", "-q", "HEAD", check=False).returncode == 0


def resolve_rev(root: Path, rev: str) -> str:
    """The commit ``rev`` names; GitError with the rev in the message otherwise."""
    proc = run_git(root, "rev-parse", "--verify", "-q", f"{rev}^{{commit}}", check=False)
    if proc.returncode != 0:
        raise GitError(f"unknown revision {rev!r}", hint="name a commit, branch or tag")
    return proc.stdout.decode().strip()


def read_blobs(root: Path, specs: Sequence[str]) -> dict[str, bytes | None]:
    """Contents of ``specs`` (``:path`` for the staged blob, ``REV:path``...) in one process.

    A spec that names nothing maps to None. Paths in specs are relative to the work
    tree top (use ``root_prefix``).
    """
    if not specs:
        return {}
    for s in specs:
        if "\n" in s:
            raise GitError(f"cannot read a path containing a newline: {s!r}")
    # paths were decoded with os.fsdecode: encoded back the same way, a name that is not
    # UTF-8 (the root's directories may have one) names its own bytes again
    names = "".join(s + "\n" for s in specs).encode("utf-8", "surrogateescape")
    proc = run_git(root, "cat-file", "--batch", input=names)
    data = proc.stdout
    out: dict[str, bytes | None] = {}
    pos = 0
    for spec in specs:
        nl = data.index(b"\n", pos)
        header = data[pos:nl].split(b" ")
        pos = nl + 1
        if len(header) != 3 or header[1] == b"missing" or header[-1] == b"missing":
            out[spec] = None
            continue
        size = int(header[2])
        out[spec] = data[pos : pos + size] if header[1] == b"blob" else None
        pos += size + 1  # content, then a newline
    return out


@dataclass(frozen=True, slots=True)
class StagedEntry:
    """One path the next commit changes (``git diff-index --cached``), relative to the root."""

    status: str  # A added, M modified, D deleted, T type change (renames are split into D+A)
    path: str
    mode: str  # the staged mode: 100644/100755 file, 120000 symlink, 160000 submodule
    blob: str  # the staged object id (all zeros for a deletion)

    @property
    def is_file(self) -> bool:
        return self.status != "D" and self.mode in ("100644", "100755")


def staged_entries(root: Path) -> list[StagedEntry]:
    """What a commit made now would change under ``root``, sorted by path.

    The index (``GIT_INDEX_FILE`` when set: a commit's hook sees what is being
    committed) against HEAD, or against the empty tree before the first commit. One
    git process in the usual case; plumbing, so no user diff configuration applies.
    """
    args = ("diff-index", "--cached", "--raw", "-z", "--no-abbrev", "--relative")
    proc = run_git(root, *args, "HEAD", "--", check=False)
    if proc.returncode != 0:
        if not has_head(root):
            require_work_tree(root)
            proc = run_git(root, *args, EMPTY_TREE, "--", check=False)
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(f"git diff-index failed: {err[-1] if err else proc.returncode}")
    fields = proc.stdout.split(b"\0")
    entries: list[StagedEntry] = []
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode("ascii", "replace").lstrip(":").split()
        if len(meta) < 5:
            continue
        _old_mode, new_mode, _old_blob, new_blob, status = meta[:5]
        path = os.fsdecode(fields[i + 1])
        if is_utf8(path):  # a name that is not UTF-8 is never indexed (discover skips it)
            entries.append(StagedEntry(status[:1], path, new_mode, new_blob))
    return sorted(entries, key=lambda e: e.path)


@dataclass(frozen=True, slots=True)
class RepoLayout:
    """Where ``root`` sits in its repository, as git sees it."""

    top: Path  # the top of the work tree holding root
    prefix: str  # root relative to top, with a trailing slash ('' at the top)
    hooks: Path  # where git runs hooks from: core.hooksPath, else <common git dir>/hooks


def require_work_tree(root: Path) -> None:
    """NotARepositoryError unless ``root`` is inside a git work tree."""
    proc = run_git(root, "rev-parse", "--is-inside-work-tree", check=False)
    if proc.returncode != 0 or proc.stdout.strip() != b"true":
        raise NotARepositoryError(
            f"{root} is not inside a git work tree",
            hint="run it in a git repository (`git init` makes one)",
        )


def repo_layout(root: Path) -> RepoLayout:
    """Work tree top, root prefix and hooks directory in one git call.

    ``git rev-parse --git-path hooks`` honours ``core.hooksPath`` (absolute, relative
    to the work tree top, or ``~/``), resolves to the shared hooks of linked worktrees
    and to a submodule's own git directory.
    """
    proc = run_git(
        root,
        "rev-parse",
        "--path-format=absolute",
        "--show-toplevel",
        "--show-prefix",
        "--git-path",
        "hooks",
        check=False,
    )
    lines = os.fsdecode(proc.stdout).split("\n")
    if proc.returncode != 0 or len(lines) < 3:
        require_work_tree(root)
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git rev-parse failed: {err[-1] if err else proc.returncode}")
    return RepoLayout(Path(lines[0]), lines[1], Path(lines[2]))


def blob_sizes(root: Path, specs: Sequence[str]) -> dict[str, int | None]:
    """Sizes of the blobs ``specs`` name (None: not a blob), without reading them."""
    if not specs:
        return {}
    for s in specs:
        if "\n" in s:
            raise GitError(f"cannot read a path containing a newline: {s!r}")
    proc = run_git(
        root, "cat-file", "--batch-check", input="".join(s + "\n" for s in specs).encode()
    )
    lines = proc.stdout.split(b"\n")
    out: dict[str, int | None] = {}
    for spec, line in zip(specs, lines, strict=False):
        header = line.split(b" ")
        out[spec] = int(header[2]) if len(header) == 3 and header[1] == b"blob" else None
    return out
