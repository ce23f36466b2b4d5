"""Git plumbing shared by the hook (`index --staged`), `pack --diff` and watch.

Everything goes through the ``git`` executable with ``-z`` output where paths are
involved (no quoting surprises). Paths handed back are relative to ``root`` (the
indexed directory), which may be a subdirectory of the work tree; paths outside it
are dropped. Discovery itself never needs git; only these features do.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import AgentctxError, ExitCode, NotFoundError

EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"  # `git hash-object -t tree /dev/null`


class GitError(AgentctxError):
    """git is missing, the directory is not a repository, or a git command failed."""

    exit_code = ExitCode.NOT_FOUND


def run_git(
    root: Path, *args: str, input: bytes | None = None, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    """``git -C root args...`` with bytes out; raises GitError when ``check`` and it fails."""
    env = dict(os.environ)
    env.setdefault("GIT_OPTIONAL_LOCKS", "0")  # a read must never take index.lock from a commit
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


def work_tree(root: Path) -> Path:
    """The top of the work tree containing ``root``; NotFoundError outside a repository."""
    proc = run_git(root, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise NotFoundError(
            f"{root} is not inside a git repository", hint="run `git init` or pass a repository"
        )
    return Path(os.fsdecode(proc.stdout.rstrip(b"\n")))


def root_prefix(root: Path) -> str:
    """``root`` relative to its work tree, with a trailing slash ('' at the top)."""
    proc = run_git(root, "rev-parse", "--show-prefix", check=False)
    if proc.returncode != 0:
        raise NotFoundError(
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


@dataclass(frozen=True, slots=True)
class Change:
    """One path changed between two sides of a diff (paths relative to the root)."""

    status: str  # A added, M modified, D deleted, T type change (renames are split into D+A)
    path: str


def _relative(paths: Iterable[str], prefix: str) -> Iterable[tuple[str, str]]:
    """(path relative to the work tree, path relative to the root) for paths under root."""
    for p in paths:
        if p.startswith(prefix):
            yield p, p[len(prefix) :]


def changed_paths(root: Path, *args: str) -> list[Change]:
    """``git diff --name-status -z --no-renames ARGS`` limited to ``root``, sorted by path.

    ``args`` select the sides: ``("--cached", "HEAD")`` for the staged change,
    ``("HEAD",)`` for the working tree against HEAD, ``(rev,)`` for the working tree
    against a revision.
    """
    prefix = root_prefix(root)
    out = run_git(
        root, "diff", "--name-status", "-z", "--no-renames", "--no-ext-diff", *args, "--", "."
    ).stdout
    fields = out.split(b"\0")
    changes: list[Change] = []
    for i in range(0, len(fields) - 1, 2):
        status = fields[i].decode()[:1]
        full = os.fsdecode(fields[i + 1])
        for _top, rel in _relative([full], prefix):
            changes.append(Change(status, rel))
    return sorted(changes, key=lambda c: c.path)


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
    proc = run_git(root, "cat-file", "--batch", input="".join(s + "\n" for s in specs).encode())
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
