"""The ``agentctx`` executable: a fast lane for the git hook, then the CLI.

Loading the CLI (typer, rich, pydantic) costs ~0.15 s before any work starts. The
pre-commit hook runs ``agentctx index --staged --quiet`` at every commit, and most
commits stage nothing agentctx indexes (or nothing under its root): that answer
needs git and the ignore rules only. So a quiet ``index --staged`` first asks
:func:`agentctx.staged.select_staged`; only when something relevant is staged, or
anything is unusual (a flag it does not know, an error), does the CLI start and
do everything, reporting as it always does.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

# Options of `index` the fast lane understands; anything else goes to the CLI.
_FLAGS = {f: f for f in ("--staged", "--quiet", "-q", "--warn-only", "--no-embed", "--no-cache")}
_VALUED = {
    "--max-embed": int,
    "--lock-timeout": float,
    "--embedder": str,
    "--max-file-size": int,
    "--batch-size": int,
}


def _quiet_staged_root(args: list[str]) -> Path | None:
    """The root of a quiet ``index --staged`` run, or None when the CLI must handle it."""
    from .argscan import scan_args

    if not args or args[0] != "index":
        return None
    scanned = scan_args(args[1:], {name: name for name in _VALUED}, _FLAGS)
    if scanned is None:
        return None
    opts, paths = scanned
    for name, kind in _VALUED.items():
        if name in opts:
            try:
                number = kind(opts[name])
            except ValueError:
                return None
            if kind is not str and number < 0:
                return None
    if "--staged" not in opts or not opts.keys() & {"--quiet", "-q"} or len(paths) > 1:
        return None
    if paths:
        root = Path(paths[0])
        return root.resolve() if root.is_dir() else None
    from .discover import find_root

    return find_root(Path.cwd()).resolve()


def nothing_relevant_staged(args: list[str]) -> bool:
    """True when ``args`` ask for a quiet ``index --staged`` that has nothing to do."""
    root = _quiet_staged_root(args)
    if root is None:
        return False
    try:
        from .config import load_settings
        from .staged import select_staged

        load_settings(root)  # a broken configuration is the CLI's to report
        return not select_staged(root).relevant
    except Exception:  # whatever it is, the CLI reports it properly
        return False


def main() -> None:
    if sys.argv[1:2] != ["watch"]:
        # A one-shot run allocates a lot (an outline row per chunk, parse trees) and
        # frees it at exit: the collector's young-generation passes over it are waste
        # (cold `pack` on sympy's 44,582 chunks 1.28 -> 1.18 s median). A long-lived
        # watcher keeps the defaults.
        gc.set_threshold(100_000, 50, 100)
    if nothing_relevant_staged(sys.argv[1:]):
        return
    from .fastlane import run_argv  # pack/search: a running `agentctx watch`, else no typer

    code = run_argv(sys.argv[1:])
    if code is not None:
        sys.exit(code)
    from .cli import main as cli_main

    cli_main()
