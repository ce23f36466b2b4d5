"""The argv scanner of the fast lanes (``entry`` for the hook, ``fastlane`` for pack/search),
and the one argv rewrite the CLI and the lanes share (``pack --diff``'s optional revision).

Both answer before the CLI loads, so they read argv themselves, accepting only the
plain forms: known flags, known options with a value (``--opt V`` or ``--opt=V``),
positionals, and ``--`` before positionals. Anything else returns None, and the CLI
then runs and handles it (or reports it) as usual.
"""

from __future__ import annotations

from collections.abc import Mapping


def scan_args(
    args: list[str], values: Mapping[str, str], flags: Mapping[str, str]
) -> tuple[dict[str, str | bool], list[str]] | None:
    """(options by destination, positionals), or None for an unknown option or a
    valued option missing its value. ``values`` and ``flags`` map option spellings
    to destination names; a flag's destination holds True."""
    opts: dict[str, str | bool] = {}
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            positionals.extend(args[i + 1 :])
            break
        name, eq, value = arg.partition("=")
        if arg in flags:
            opts[flags[arg]] = True
        elif name in values:
            if not eq:
                i += 1
                if i >= len(args):
                    return None
                value = args[i]
            opts[values[name]] = value
        elif arg.startswith("-") and arg != "-":  # "-" alone is a positional (stdin)
            return None
        else:
            positionals.append(arg)
        i += 1
    return opts, positionals


def optional_diff_rev(args: list[str]) -> list[str]:
    """Let ``pack --diff`` take its revision optionally, as the docs promise.

    Typer options cannot have an optional value, so ``--diff`` gets ``HEAD`` inserted
    unless the next word names a revision in the repository (``--repo``/``-C``, else
    the current directory), checked with git as ``git diff`` itself tells a revision
    from a path; otherwise that word is the query.
    """
    if "pack" not in args or "--diff" not in args:
        return args
    out = list(args)
    i = out.index("--diff")
    nxt = out[i + 1] if i + 1 < len(out) else None
    if nxt is None or nxt.startswith("-") or not is_revision(nxt, repo_arg(out)):
        out.insert(i + 1, "HEAD")
    return out


def repo_arg(args: list[str]) -> str | None:
    """The ``--repo``/``-C`` value of ``args``, if any."""
    for j, arg in enumerate(args):
        if arg in ("--repo", "-C") and j + 1 < len(args):
            return args[j + 1]
        if arg.startswith("--repo="):
            return arg.split("=", 1)[1]
    return None


def is_revision(word: str, repo: str | None) -> bool:
    """Whether git resolves ``word`` to a commit in ``repo`` (default: this directory)."""
    from pathlib import Path

    from .gitutil import GitError, resolve_rev

    try:
        resolve_rev(Path(repo or "."), word)
    except GitError:
        return False
    return True
