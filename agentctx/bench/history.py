"""Localization on a repository's own history: no labelled data needed.

Each recent commit is a task: its message is the query, the code files it changed are
the gold, and so are the symbols around its changed lines where a file is still as the
commit left it. That measures ranking and packing on any repository a user has (SWE-bench
covers a dozen), so a change can be checked on code it was not tuned on.

It is a proxy, and an optimistic one. The index is of today's code, which already holds
each change (a commit adding ``foo`` is found by ``foo``); commit messages are shorter and
more precise than issue reports. Signals built from the history itself would see the
answer, so they are off: the per-file commit messages (``history``), recency and the
changes of referenced issues (``change``). Compare runs on the same repository and HEAD,
not with SWE-bench numbers.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..categories import file_category
from ..config import load_settings
from ..errors import NotFoundError, UsageError
from ..gitutil import HUNK_HEADER, require_work_tree, root_prefix, run_git, unquote_path
from ..history import read_commits
from ..pipeline import NullReporter, Reporter
from .latency import environment, percentile
from .swebench import GoldSpan, acc_at_k, line_recall, ranked_files_of, score_items

if TYPE_CHECKING:
    from ..config import Settings
    from ..embed import Embedder
    from ..outline import FileChildren
    from ..pipeline import PackResult

# Signals that read the repository's history, where each case's own commit would be found.
LEAKING_SIGNALS: dict[str, float] = {"history": 0.0, "recency": 0.0, "change": 0.0}
KS = (1, 3, 5, 10)


@dataclass(frozen=True, slots=True)
class HistoryBenchConfig:
    root: Path
    commits: int = 200  # newest non-merge commits looked at
    grep: str | None = None  # only commits whose message matches (git log -E --grep)
    max_files: int = 3  # a commit changing more code files than this is not one task
    min_words: int = 4  # shorter messages ("wip", "fix typo") say too little
    embedder: str | None = None  # None: the settings' (the index's)
    budgets: tuple[int, ...] = (4000, 16000)  # bundles packed per case (file recall, tokens)
    tokenizer: str = "cl100k_base"


@dataclass(frozen=True, slots=True)
class HistoryCase:
    sha: str
    query: str
    gold: tuple[str, ...]  # code files the commit changed that the index holds
    # The symbols it changed, in those of its files that are today as it left them (others
    # have moved on: their lines are not the index's), and the lines: (path, number, text).
    spans: tuple[GoldSpan, ...] = ()
    lines: tuple[tuple[str, int, str], ...] = ()


def history_cases(
    root: Path, prefix: str, config: HistoryBenchConfig, indexed: set[str]
) -> tuple[list[HistoryCase], Counter[str]]:
    """The commits that make a task, newest first, and why the others do not (``prefix``:
    ``root`` within its work tree, as git names paths)."""
    skipped: Counter[str] = Counter()
    cases: list[HistoryCase] = []
    for commit in read_commits(root, "HEAD", config.commits, grep=config.grep):
        paths = [p[len(prefix) :] for p in commit.paths if p.startswith(prefix)]
        code = sorted({p for p in paths if file_category(p) == "code" and p in indexed})
        if len(commit.message.split()) < config.min_words:
            skipped["short_message"] += 1
        elif not code:
            skipped["no_code_file"] += 1
        elif len(code) > config.max_files:
            skipped["too_many_files"] += 1
        else:
            cases.append(HistoryCase(commit.sha, commit.message, tuple(code)))
    return cases, skipped


def changed_spans(
    root: Path,
    prefix: str,
    sha: str,
    paths: Sequence[str],
    files: FileChildren,
    dirty: Collection[str] = (),
) -> tuple[tuple[GoldSpan, ...], tuple[tuple[str, int, str], ...]]:
    """The innermost indexed symbol around each non-blank line ``sha`` added or changed (or
    where it removed lines), in those of ``paths`` whose content at HEAD (and in the work
    tree: none of ``dirty``) is the commit's; module-level lines are the module chunk's.
    Also those lines themselves: (path, number, stripped text)."""
    specs = [f"{rev}:{prefix}{p}" for rev in (sha, "HEAD") for p in paths]
    proc = run_git(root, "rev-parse", *specs, check=False)
    blobs = proc.stdout.decode().split()
    if proc.returncode != 0 or len(blobs) != 2 * len(paths):
        return (), ()
    then, now = blobs[: len(paths)], blobs[len(paths) :]
    same = [p for p, a, b in zip(paths, then, now, strict=True) if a == b and p not in dirty]
    if not same:
        return (), ()
    diff = run_git(
        root,
        *("-c", "core.quotepath=off", "show", "-U0", "--no-color", "--no-ext-diff", "--format="),
        sha,
        "--",
        *(prefix + p for p in same),
        check=False,
    ).stdout
    found: dict[tuple[str, int], GoldSpan] = {}
    lines: list[tuple[str, int, str]] = []
    path: str | None = None
    n = 0  # the new-side number of the next added line

    def at(line: int) -> None:
        around = [e for e in files.entries(path or "") if e.start_line <= line <= e.end_line]
        if around and path is not None:
            e = min(around, key=lambda e: (e.end_line - e.start_line, e.id))
            span = GoldSpan(path, e.qualname, e.qualname, ((e.start_line, e.end_line),))
            found.setdefault((path, e.id), span)

    for line in diff.split(b"\n"):
        if line.startswith(b"+++ "):
            name = os.fsdecode(unquote_path(line[4:].removesuffix(b"\t")))
            path = name[2 + len(prefix) :] if name.startswith("b/" + prefix) else None
        elif m := HUNK_HEADER.match(line):
            n = int(m["new"])
            if m["new_n"] == b"0":  # lines removed after line n: what held them
                at(max(n, 1))
        elif line.startswith(b"+"):
            if text := line[1:].decode("utf-8", "replace").strip():  # a blank line is no one's
                at(n)
                if path is not None:
                    lines.append((path, n, text))
            n += 1
    return tuple(found.values()), tuple(lines)


def run_history_bench(
    config: HistoryBenchConfig, reporter: Reporter | None = None
) -> dict[str, Any]:
    """Rank each case's query on the index as it is; the report as a dict."""
    from ..embed import get_embedder
    from ..pipeline import build_index
    from ..retrieve import FileChildren, load_outline
    from ..store import IndexStore

    rep = reporter or NullReporter()
    root = config.root
    require_work_tree(root)
    if config.grep:  # a pattern git rejects would read as no commit at all
        check = run_git(
            root, "log", "-n1", "-E", f"--grep={config.grep}", "--format=%H", check=False
        )
        if check.returncode != 0:
            why = check.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UsageError(f"--grep {config.grep!r}: {why[-1] if why else 'rejected by git'}")
    overrides = {"embedder": config.embedder} if config.embedder else {}
    settings = load_settings(root, overrides)
    if not (settings.index_dir / "index.db").is_file():
        raise NotFoundError(
            f"no index in {settings.index_dir}", hint="run `agentctx index` there first"
        )
    emb = get_embedder(settings.embedder, settings.resolved_cache_dir)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        pending = store.pending_count()
    if pending:  # ranked lexically, they would skew every case
        rep.notice(f"embedding {pending} pending symbols first")
    build_index(settings, reporter=rep, embedder=emb)  # up to date, everything embedded
    with IndexStore.open(settings.index_dir, writer=False) as store:
        indexed = set(store.file_paths())
        files = FileChildren(load_outline(store))
    prefix = root_prefix(root)
    cases, skipped = history_cases(root, prefix, config, indexed)
    dirty = _changed_since_head(root)  # the index holds the work tree's lines
    for i, case in enumerate(cases):
        spans, lines = changed_spans(root, prefix, case.sha, case.gold, files, dirty)
        cases[i] = replace(case, spans=spans, lines=lines)
    rep.stage("history", len(cases))
    records: list[dict[str, Any]] = []
    for case in cases:
        records.append(_measure(case, settings, emb, config))
        rep.advance()
    return {
        "name": "history",
        "repository": root.name,
        "config": {
            "commits": config.commits,
            "grep": config.grep,
            "max_files": config.max_files,
            "min_words": config.min_words,
            "budgets": list(config.budgets),
            "tokenizer": config.tokenizer,
        },
        "signals_off": sorted(LEAKING_SIGNALS),
        "summary": summarize(records, skipped, config.budgets),
        "environment": environment(settings.embedder),
        "cases": records,
    }


def _measure(
    case: HistoryCase, settings: Settings, emb: Embedder, config: HistoryBenchConfig
) -> dict[str, Any]:
    """One case: the ranked files (as `pack` ranks them) and a bundle at each budget."""
    from ..pipeline import pack_many

    t = time.perf_counter()
    packs = pack_many(
        settings,
        case.query,
        config.budgets,
        tokenizer=config.tokenizer,
        refresh=False,
        embedder=emb,
        stats=False,
        weights=LEAKING_SIGNALS,
    )
    ms = (time.perf_counter() - t) * 1000
    hits = next(iter(packs.values())).hits if packs else []
    files = ranked_files_of(h.path for h in hits)
    return {
        "commit": case.sha,
        "subject": case.query.splitlines()[0][:200],
        "gold": list(case.gold),
        "ranks": {g: files.index(g) + 1 if g in files else None for g in case.gold},
        **{f"acc@{k}": acc_at_k(files, case.gold, k) for k in KS},
        "functions": [f"{g.path}::{g.qualname}" for g in case.spans],
        "budgets": {str(b): _scores(p, case) for b, p in packs.items()},
        "pack_ms": round(ms, 1),
    }


def _changed_since_head(root: Path) -> set[str]:
    """Files of ``root`` (relative to it) whose work-tree content differs from HEAD's."""
    proc = run_git(root, "diff", "HEAD", "--name-only", "-z", "--relative", check=False)
    return set(proc.stdout.decode("utf-8", "replace").split("\0")) - {""}


def _scores(packed: PackResult, case: HistoryCase) -> dict[str, Any]:
    """Gold files in the bundle; gold symbols shown whole (None: none known); its tokens."""
    scores = score_items(packed.bundle.items, case.gold, case.spans)
    return {
        "file_recall": scores["file_recall"],
        "func_full": scores["func_full"],
        "line_recall": line_recall(packed.bundle.items, case.lines),
        "tokens": packed.tokens_used,
    }


def summarize(
    records: Sequence[dict[str, Any]], skipped: Counter[str], budgets: Sequence[int] = ()
) -> dict[str, Any]:
    """Acc@k (all gold files in the top k, %), MRR of the best gold file, file recall and
    tokens of the bundles, and the latency of packing them all from one search."""
    n = len(records)
    out: dict[str, Any] = {"cases": n, "skipped": dict(sorted(skipped.items()))}
    if not n:
        return out
    for k in KS:
        out[f"acc@{k}"] = round(100 * sum(r[f"acc@{k}"] for r in records) / n, 1)
    best = [min((v for v in r["ranks"].values() if v), default=None) for r in records]
    out["mrr"] = round(sum(1 / b for b in best if b) / n, 3)
    out["not_found"] = sum(1 for b in best if b is None)
    for b in budgets:
        rows = [r["budgets"][str(b)] for r in records if str(b) in r["budgets"]]
        if rows:
            out[f"file_recall@{b}"] = round(
                100 * sum(x["file_recall"] for x in rows) / len(rows), 1
            )
            out[f"tokens@{b}"] = round(sum(x["tokens"] for x in rows) / len(rows))
        for key in ("func_full", "line_recall"):
            values = [x[key] for x in rows if x.get(key) is not None]
            if values:
                out[f"{key}@{b}"] = round(100 * sum(values) / len(values), 1)
    out["cases_with_functions"] = sum(1 for r in records if r["functions"])
    times = [r["pack_ms"] for r in records]
    out["pack_ms_p50"] = round(percentile(times, 0.5), 1)
    out["pack_ms_p95"] = round(percentile(times, 0.95), 1)
    return out
