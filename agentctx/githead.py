"""HEAD's commit from git's files, for no-op checks that must not pay for a git run.

Kept apart from ``gitutil`` (subprocess, dataclasses) so that a no-op ``index`` imports
nothing but ``os`` and ``pathlib`` to learn that HEAD has not moved.
"""

from __future__ import annotations

import os
from pathlib import Path

# git's variables that relocate the repository: when set, only git knows where it is.
GIT_PATH_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
)

_SHA = frozenset("0123456789abcdef")


def read_head(root: Path) -> str | None:
    """HEAD's commit read from the files git keeps it in, without running git.

    For cheap "did HEAD move?" checks. "" when no ``.git`` is found from ``root`` up
    (not a repository). None whenever the layout is not the plain one (git's path
    variables set, a ``.git`` file that is not ``gitdir:``, an unborn branch, a ref
    found neither loose nor packed, as with reftable): the caller then asks git.
    """
    if any(os.environ.get(var) for var in GIT_PATH_VARS):
        return None
    try:
        here = root.resolve()
        for top in (here, *here.parents):
            dot = top / ".git"
            if dot.is_dir():
                git_dir = dot
                break
            if dot.is_file():
                text = dot.read_text(encoding="utf-8").strip()
                if not text.startswith("gitdir:"):
                    return None
                git_dir = (top / text[len("gitdir:") :].strip()).resolve()
                break
        else:
            return ""
        head = (git_dir / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head if len(head) == 40 and set(head) <= _SHA else None
        ref = head[len("ref: ") :].strip()
        common = git_dir
        if (git_dir / "commondir").is_file():
            common = (
                git_dir / (git_dir / "commondir").read_text(encoding="utf-8").strip()
            ).resolve()
        for base in dict.fromkeys((git_dir, common)):
            loose = base / ref
            if loose.is_file():
                sha = loose.read_text(encoding="utf-8").strip()
                return sha if len(sha) == 40 and set(sha) <= _SHA else None
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="utf-8").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and len(sha) == 40 and set(sha) <= _SHA:
                    return sha
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return None
