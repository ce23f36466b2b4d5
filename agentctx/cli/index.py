"""``agentctx index``: build or refresh the index of a repository."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ..errors import AgentctxError, print_line
from ..pipeline import IndexReport, SymbolRef
from ._common import err_console, handle_errors, human_seconds, plural, resolve_root

STAGED_LOCK_TIMEOUT = 5.0  # a commit waits this long for another writer, unless told otherwise


@handle_errors
def index_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="Repository root (default: the enclosing git or indexed root)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the run's facts as one JSON object.")
    ] = False,
    no_embed: Annotated[
        bool,
        typer.Option(
            "--no-embed",
            help="Update symbols and the lexical index only; leave vectors pending.",
        ),
    ] = False,
    rebuild: Annotated[
        bool, typer.Option("--rebuild", help="Discard the index and build it from scratch.")
    ] = False,
    embedder: Annotated[
        str | None,
        typer.Option(help="Embedding backend: minilm (default), minilm-torch, minilm-numpy, hash."),
    ] = None,
    max_file_size: Annotated[
        int | None, typer.Option(help="Skip files larger than this many bytes (default 1000000).")
    ] = None,
    batch_size: Annotated[
        int | None, typer.Option(help="Chunks per embedding batch (default 64).")
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Do not use the user-level embedding cache.")
    ] = False,
    lock_timeout: Annotated[
        float | None,
        typer.Option(help="Seconds to wait for another writer (default 30; 5 with --staged)."),
    ] = None,
    staged: Annotated[
        bool,
        typer.Option(
            "--staged",
            help="Re-index only the files staged in git, from their staged content "
            "(what the pre-commit hook runs).",
        ),
    ] = False,
    max_embed: Annotated[
        int | None,
        typer.Option(
            "--max-embed",
            metavar="N",
            min=0,
            help="Embed pending chunks only if at most N are pending (torch-free engine); "
            "otherwise leave them to the next index or pack.",
        ),
    ] = None,
    warn_only: Annotated[
        bool,
        typer.Option(
            "--warn-only",
            help="Report any failure as one warning line on stderr and exit 0 (for git hooks).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress and no summary (errors only).")
    ] = False,
    profile: Annotated[
        bool, typer.Option("--profile", help="Print per-stage times and counts to stderr.")
    ] = False,
) -> None:
    """Build or refresh the index under .agentctx/ (only what changed, down to the symbol)."""
    from ..config import load_settings
    from ..pipeline import build_index
    from ._common import RichReporter

    try:
        root = resolve_root(path)
        if staged and lock_timeout is None:
            lock_timeout = STAGED_LOCK_TIMEOUT
        settings = load_settings(
            root,
            {
                "embedder": embedder,
                "max_file_size": max_file_size,
                "batch_size": batch_size,
                "cache": False if no_cache else None,
                "lock_timeout": lock_timeout,
            },
        )
        with RichReporter(err_console, enabled=not (quiet or as_json)) as reporter:
            report = build_index(
                settings,
                reporter=reporter,
                embed=not no_embed,
                rebuild=rebuild,
                staged=staged,
                max_embed=max_embed,
            )
    except AgentctxError as exc:
        if not warn_only:
            raise
        _warn(exc.message)
        return
    except Exception as exc:
        if not warn_only or os.environ.get("AGENTCTX_DEBUG"):
            raise
        _warn(f"internal error: {type(exc).__name__}: {exc}")
        return
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2, sort_keys=False))
    elif not quiet:
        for line in summary_lines(report):
            typer.echo(line)
    if profile:
        print_profile(report)


def _warn(message: str) -> None:
    """--warn-only: one line, and the commit (or script) goes on."""
    print_line(f"warning: {message}", "commit continues")


def _names(refs: list[SymbolRef], limit: int = 3) -> str:
    names = [r.symbol for r in refs[:limit]]
    more = len(refs) - limit
    return ", ".join(names) + (f", +{more} more" if more > 0 else "")


def summary_lines(r: IndexReport) -> list[str]:
    """The human summary: one main line, then facts worth knowing (skips, pending...)."""
    took = human_seconds(r.seconds.get("total", 0.0))
    langs = ", ".join(f"{lang} {n:,}" for lang, n in r.languages.items())
    lines: list[str] = []
    if r.staged is not None and not r.changed:
        lines.append(_staged_unchanged_line(r, took))
    elif r.created:
        lines.append(
            f"Indexed {plural(r.files_total, 'file')}, {plural(r.symbols_total, 'symbol')}"
            + (f" ({langs})" if langs else "")
            + f" in {took}"
        )
    elif not r.changed:
        line = (
            f"Index up to date: {plural(r.files_total, 'file')}, "
            f"{plural(r.symbols_total, 'symbol')}; nothing changed ({took})"
        )
        if r.chunks_embedded or r.chunks_from_cache:
            line += f"; embedded {r.chunks_embedded + r.chunks_from_cache:,} pending chunks"
        lines.append(line)
    else:
        n_files = len(r.files_added) + len(r.files_modified) + len(r.files_removed)
        detail = []
        if r.files_added:
            detail.append(f"{len(r.files_added)} added")
        if r.files_removed:
            detail.append(f"{len(r.files_removed)} removed")
        head = plural(n_files, "file") + " changed"
        if detail:
            head += f" ({', '.join(detail)})"
        parts = []
        if r.symbols_added:
            parts.append(f"+{plural(len(r.symbols_added), 'symbol')} ({_names(r.symbols_added)})")
        if r.symbols_modified:
            parts.append(f"~{len(r.symbols_modified)} modified ({_names(r.symbols_modified)})")
        if r.symbols_removed:
            parts.append(f"-{len(r.symbols_removed)} removed ({_names(r.symbols_removed)})")
        parts.append(f"{r.symbols_unchanged:,} unchanged")
        share = 100.0 * r.chunks_embedded / r.chunks_total if r.chunks_total else 0.0
        line = (
            f"{head}: {', '.join(parts)}; "
            f"re-embedded {r.chunks_embedded:,} of {r.chunks_total:,} ({share:.2f}%)"
        )
        if r.chunks_from_cache:
            line += f", {r.chunks_from_cache:,} from cache"
        lines.append(("Staged: " if r.staged is not None else "") + line + f" in {took}")
    if r.chunks_pending:
        lines.append(
            f"{plural(r.chunks_pending, 'chunk')} pending embedding "
            "(ranked lexically until `agentctx index` embeds them)"
        )
    if r.windows_embedded or r.windows_from_cache:  # (see windows.py)
        cached = f" ({r.windows_from_cache:,} from cache)" if r.windows_from_cache else ""
        lines.append(
            f"Long functions: {plural(r.windows_embedded + r.windows_from_cache, 'window')} "
            f"of their bodies{cached}"
        )
    if r.windows_pending:
        lines.append(
            f"{plural(r.windows_pending, 'window')} of long functions pending "
            "(`agentctx index` embeds them)"
        )
    if r.history and r.history.get("files"):
        lines.append(
            f"Git history: {plural(int(r.history['commits']), 'commit')} read into the history "
            f"of {plural(int(r.history['files']), 'file')} (ranking)"
        )
    if r.decode_errors:
        shown = ", ".join(r.decode_errors[:5]) + (" ..." if len(r.decode_errors) > 5 else "")
        lines.append(
            f"Undecodable bytes replaced in {plural(len(r.decode_errors), 'file')}: {shown}"
        )
    if r.parse_errors and (r.created or r.changed):
        shown = ", ".join(r.parse_errors[:5]) + (" ..." if len(r.parse_errors) > 5 else "")
        lines.append(f"Syntax errors (partially parsed): {shown}")
    if r.skipped and (r.created or r.changed):
        lines.append("Skipped: " + ", ".join(f"{n} {reason}" for reason, n in r.skipped.items()))
    return lines


def _staged_unchanged_line(r: IndexReport, took: str) -> str:
    st = r.staged or {}
    paths, relevant = int(st.get("paths", 0)), int(st.get("relevant", 0))
    if st.get("no_index"):
        return (
            f"No index under {r.root} yet: staged files not indexed "
            "(run `agentctx index` once; the hook then keeps it fresh)"
        )
    if not paths:
        return f"Nothing staged; index unchanged ({took})"
    if not relevant:
        why = []
        if st.get("ignored"):
            why.append(f"{st['ignored']} ignored")
        if st.get("deferred"):
            why.append(f"{st['deferred']} symlinks or submodules, left to `agentctx index`")
        return (
            f"Nothing relevant staged ({plural(paths, 'path')}: {', '.join(why)}); "
            f"index unchanged ({took})"
        )
    return f"Staged files already indexed ({plural(relevant, 'path')}); index unchanged ({took})"


def print_profile(r: IndexReport) -> None:
    from rich.table import Table

    table = Table(title="agentctx index --profile", show_edge=False)
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, secs in r.seconds.items():
        table.add_row(stage, f"{secs:.3f}")
    err_console.print(table)
    err_console.print(
        f"files: {r.files_total:,} total, {r.files_read:,} read; "
        f"chunks: {r.chunks_total:,} total, {r.chunks_embedded:,} embedded, "
        f"{r.chunks_from_cache:,} cache hits, {r.chunks_pending:,} pending",
        markup=False,
    )
