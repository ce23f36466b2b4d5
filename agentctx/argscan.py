"""The argv scanner of the fast lanes (``entry`` for the hook, ``fastlane`` for a watcher).

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
