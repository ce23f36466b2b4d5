"""Query -> candidate lists from every index: dense, lexical, exact symbol, command-line
option, path, recency, git history, file centroids.

Each list is ranked on its own; ``rank.py`` fuses them. Nothing here prints or reads
settings: the pipeline passes what is needed.
"""

from __future__ import annotations

import gc
import heapq
import keyword
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .categories import file_category
from .discover import console_scripts, normalized_name, project_names
from .history import history_scores
from .messages import matches, tokens
from .models import MODULE_SYMBOL
from .outline import FileChildren, Outline, OutlineEntry
from .query import QuerySignals, module_to_paths
from .recency import recency_scores, stored_recency
from .store import IndexStore
from .syntax import code_only, in_code
from .textutil import STOP_TERMS, split_identifier, terms
from .windows import best_of
from .windows import current as current_windows

if TYPE_CHECKING:
    import numpy as np

    from .store.vectors import VectorIndex

# FTS5 column weights: name, path, signature, doc, body.
LEXICAL_WEIGHTS = (6.0, 3.0, 2.0, 1.0, 1.0)
# An option named in more code chunks than this is too common to point anywhere; one that
# appears in OPTION_MAX_ROWS chunks of any kind is not even looked through.
OPTION_MAX_CHUNKS = 10
OPTION_MAX_ROWS = 500


@dataclass(slots=True)
class Candidates:
    """Ranked lists of (chunk id, raw score), best first, plus file-level signals."""

    lists: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    file_scores: dict[str, dict[str, float]] = field(default_factory=dict)  # signal -> path -> s
    outline: Outline = field(default_factory=lambda: Outline.of(()))
    dense_available: bool = False
    pending: int = 0
    # (caller, callee) chunk ids a trace in the query shows calling each other
    calls: list[tuple[int, int]] = field(default_factory=list)
    _files: FileChildren | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.outline = Outline.of(self.outline)  # an outline of entries made by hand, too

    def files(self) -> FileChildren:
        """The outline by file, grouped once per query for every stage that needs it."""
        if self._files is None:
            self._files = FileChildren(self.outline)
        return self._files


def query_terms(signals: QuerySignals, limit: int = 96) -> list[str]:
    """Lexical terms of the query: strong identifiers first, then the prose. A stop word
    after a dot is an API's name (`xr.where`): kept."""
    out: list[str] = []
    seen: set[str] = set()
    after_dot = {d.rsplit(".", 1)[-1].lower() for d in signals.dotted}
    for term in [*signals.terms(), *terms(signals.clean_text)]:
        t = term.lower()
        if len(t) < 2 or t.isdigit() or t in seen:
            continue
        if t in STOP_TERMS and not (t in after_dot and _code_name(t)):
            continue
        seen.add(t)
        out.append(t)
        if len(out) >= limit:
            break
    return out


# The last outline read, with the index and content it is of: a long-lived process (a
# watcher answering queries) reads it once per change, not once per query. Never mutated.
_last_outline: tuple[tuple[str, tuple[int, str, int]], Outline] | None = None


def load_outline(store: IndexStore) -> Outline:
    """Every chunk's entry (shared: callers must not change it).

    Kept in this process per index and content key; a new process reads the store's
    snapshot (see ``IndexStore.snapshot_outline``): tens of thousands of strings and
    numbers at once, none of them garbage, so the collector is held off meanwhile.
    """
    global _last_outline
    last, key = _last_outline, store.content_key()
    if last is not None and last[0] == (str(store.index_dir), key):
        return last[1]
    enabled = gc.isenabled()
    gc.disable()
    try:
        key, columns = store.snapshot_outline(key)
        outline = Outline(columns)
    finally:
        if enabled:
            gc.enable()
    _last_outline = ((str(store.index_dir), key), outline)
    return outline


CENTROID_FILES = 10  # files the centroid signal lifts
PathsById = Mapping[int, str] | Mapping[int, OutlineEntry]  # chunk id -> its path, or its entry


def _file_rows(ids: np.ndarray, path_of: PathsById) -> tuple[list[str], np.ndarray]:
    """Distinct paths of the chunks (``path_of``: chunk id -> path, or the outline), and
    each vector's row in that list (-1: a chunk not there).

    Looked up with numpy: on sympy (44,582 vectors) the centroid scores took ~40 -> ~30 ms;
    an outline has its chunks' paths as numbers already (Django: ~25 -> ~3 ms).
    """
    import numpy as np

    n = len(path_of)
    if not n:
        return [], np.full(len(ids), -1, dtype=np.int64)
    values = path_of.values()
    if isinstance(path_of, Outline) or not isinstance(next(iter(values)), str):
        paths, keys, codes = Outline.of(path_of).path_codes()  # type: ignore[arg-type]
    else:
        table: dict[str, int] = {}
        codes = np.fromiter((table.setdefault(p, len(table)) for p in values), np.int64, count=n)
        keys = np.fromiter(path_of.keys(), np.int64, count=n)
        paths = list(table)
    order = np.argsort(keys, kind="stable")
    keys, codes = keys[order], codes[order]
    at = np.minimum(np.searchsorted(keys, ids), n - 1)
    return paths, np.where(keys[at] == ids, codes[at], -1)


def file_norms(index: VectorIndex, path_of: PathsById) -> dict[str, float]:
    """Per file, the length of the sum of its chunk vectors: the query-independent half of
    the centroid score, remembered per index generation (~12 ms on 6,400 chunks)."""
    ids, vectors = index.matrix()
    return _norms(vectors, *_file_rows(ids, path_of))


def _norms(vectors: np.ndarray, paths: list[str], rows: np.ndarray) -> dict[str, float]:
    import numpy as np

    kept = np.flatnonzero(rows >= 0)
    if not len(kept):
        return {}
    order = kept[np.argsort(rows[kept], kind="stable")]  # each file's vectors together
    grouped = rows[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    sums = np.add.reduceat(vectors[order], starts, axis=0, dtype=np.float64)
    norms = np.linalg.norm(sums, axis=1).tolist()
    return {paths[row]: norm for row, norm in zip(grouped[starts].tolist(), norms, strict=True)}


def remember_file_norms(store: IndexStore, dim: int, index: VectorIndex | None = None) -> None:
    """For writers after their last write: the norms the next queries need."""
    from .store.vectors import VectorIndex

    vi = index if index is not None else VectorIndex.load(store, dim)[0]
    store.remembered("file_norms", lambda: file_norms(vi, store.chunk_paths()))


def centroid_scores(
    store: IndexStore,
    index: VectorIndex,
    path_of: PathsById,
    query_vector: np.ndarray,
    top: int = CENTROID_FILES,
) -> dict[str, float]:
    """Files whose centroid (the mean of their chunk vectors) is nearest the query.

    Dense hits are single chunks; a file's centroid is its overall topic, so a file that is
    about the report as a whole rises even when no one symbol of it stands out. Cosine to
    the centroid is the sum of the chunks' cosines over the length of their summed vectors
    (remembered per generation), so a query costs one matrix-vector product. Scored by rank
    (1, 1/1.5, 1/2...) over the best ``top`` files: the raw cosines of long, mixed files
    bunch together.
    """
    import numpy as np

    ids, vectors = index.matrix()
    if not len(ids):
        return {}
    paths, rows = _file_rows(ids, path_of)  # shared with the norms when they are computed here
    norms: dict[str, float] = store.remembered("file_norms", lambda: _norms(vectors, paths, rows))
    keep = rows >= 0
    cosines = index.cosines(query_vector)  # the product the dense search made
    sums = np.bincount(rows[keep], weights=cosines[keep], minlength=len(paths))
    scored = [
        (float(sums[i]) / norm, path)
        for i, path in enumerate(paths)
        if (norm := norms.get(path, 0.0)) > 1e-9
    ]
    best = heapq.nlargest(top, scored)
    return {path: 1.0 / (1.0 + 0.5 * rank) for rank, (_, path) in enumerate(best)}


def symbol_candidates(
    signals: QuerySignals,
    outline: Mapping[int, OutlineEntry],
    located: Mapping[str, list[str]] | None = None,
) -> list[tuple[int, float]]:
    """Chunks whose name or qualified name the query mentions (traces count most).

    A trace frame's function is the one in the frame's file when that file is indexed
    (``run.py, line 135, in __init__`` is ``Run.__init__`` of ``run.py``, not every
    constructor); a frame of a file the index lacks names its function anywhere.
    ``located``: ``frame_paths`` of the query, when the caller has it.
    """
    weights: dict[str, float] = {}
    for ident in signals.identifiers:
        _want(weights, ident, 1.0)
    for err in signals.errors:
        _want(weights, err, 1.0)
    scoped: dict[str, dict[str, float]] = {}  # a frame's names -> {its file: weight}
    if located is None and any(frame.path and frame.function for frame in signals.frames):
        located = frame_paths(signals, set(Outline.of(outline).paths()))
    for frame in signals.frames:
        if not frame.function:
            continue
        named = ((frame.function, 2.0), (frame.function.rsplit(".", 1)[-1], 1.5))
        if frame.path and located:
            where = located.get(frame.path)
            if where:
                for name, weight in named:
                    if len(name) > 2:
                        files = scoped.setdefault(name, {})
                        for path in where:
                            files[path] = max(files.get(path, 0.0), weight)
                continue
        for name, weight in named:
            _want(weights, name, weight)
    for dotted in signals.dotted:
        _want_dotted(weights, dotted)
    found = _named_chunks(weights, outline, scoped)
    if signals.frames:  # of names matched alike, the deeper frame's first: nearer the error
        depth: dict[str, int] = {}
        for i, frame in enumerate(signals.frames):  # each trace innermost-last
            if frame.function:
                depth[frame.function] = depth[frame.function.rsplit(".", 1)[-1]] = i
        found.sort(
            key=lambda x: (
                -x[1],
                -max(depth.get(outline[x[0]].qualname, -1), depth.get(outline[x[0]].name, -1)),
                x[0],
            )
        )
    return found


def title_candidates(
    signals: QuerySignals, outline: Mapping[int, OutlineEntry]
) -> list[tuple[int, float]]:
    """Chunks named in the title of a report (its first line, when a body follows)."""
    weights: dict[str, float] = {}
    for name in signals.title:
        if "." in name:
            _want_dotted(weights, name)
        else:
            _want(weights, name, 1.0)
    return _named_chunks(weights, outline)


# A class dispatching on the type of its argument names a method after each type it handles:
# `LatexPrinter._print_Subs`, `NodeVisitor.visit_FunctionDef`, an ANTLR `visitCallExpr`,
# sympy's `_eval_rewrite_as_Piecewise`. A report naming the type (`latex(Subs(...))`) means
# those methods as much as the class itself, but no name or word of theirs matches it.
_TYPE_KINDS = frozenset({"class", "struct", "interface", "trait", "enum", "type"})
DISPATCH_FAMILY = 4  # methods of one class sharing the prefix: a dispatch table, not a name
# A table the query does not name (no word of its class or module: `latex` for LatexPrinter)
# ranks below one it does: `Intersection(...)` alone means every printer's method less.
DISPATCH_UNNAMED = 0.5


def dispatch_candidates(
    signals: QuerySignals,
    named: Iterable[OutlineEntry],
    outline: Mapping[int, OutlineEntry],
    files: FileChildren,
) -> list[tuple[int, float]]:
    """Methods named after a type the query names, in a class that dispatches on types.

    ``named`` are the chunks the query names (the symbol and title lists): its types are
    the project's own, spelled as defined. The method's class must have at least
    ``DISPATCH_FAMILY`` methods of the same prefix (`_print_`, `visit`): a getter
    ``to_dataset`` is no dispatch on ``Dataset``. Tables whose class or module the query
    names come first.
    """
    words = {
        n
        for raw in (*signals.identifiers, *signals.errors, *signals.title, *signals.dotted)
        if len(n := raw.rsplit(".", 1)[-1]) > 2 and n.lower() not in STOP_TERMS
    }
    types = {e.name for e in named if e.kind in _TYPE_KINDS and e.name in words}
    if not types:
        return []
    ends = tuple(types)
    found: list[tuple[OutlineEntry, str]] = []
    for e in Outline.of(outline).names_ending(ends):
        if e.parent is not None:
            for t in types:
                if (pre := _dispatch_prefix(e.name, t)) is not None:
                    found.append((e, pre))
    if not found:
        return []
    size: dict[tuple[str, str | None, str], int] = {}
    for key in {(e.path, e.parent, pre) for e, pre in found}:
        path, parent, pre = key
        size[key] = sum(
            1 for m in files.entries(path) if m.parent == parent and _is_dispatch(m.name, pre)
        )
    said = set(terms(signals.text))
    scored = {
        e.id: 1.0 if _table_words(e) & said else DISPATCH_UNNAMED
        for e, pre in found
        if size[(e.path, e.parent, pre)] >= DISPATCH_FAMILY
    }
    return sorted(scored.items(), key=lambda x: (-x[1], x[0]))


def _table_words(e: OutlineEntry) -> set[str]:
    """Words naming a method's class (``LatexPrinter``: latex, printer) and module (``latex``)."""
    cls = (e.parent or "").rsplit(".", 1)[-1]
    stem = e.path.rsplit("/", 1)[-1].rsplit(".", 1)[0].lower()
    return {w for w in split_identifier(cls) if len(w) > 2} | {cls.lower(), stem}


_CAMEL_VERB = re.compile(r"[a-z][a-z0-9]*")  # `visit` of visitCallExpr, `on` of onClick


def _dispatch_prefix(name: str, type_name: str) -> str | None:
    """``_print_`` of ``_print_Subs`` for ``Subs``; ``visit`` of ``visitCallExpr``; none for
    ``_print_FiniteSet`` and ``Set`` (its prefix would be ``_print_Finite``)."""
    if len(name) <= len(type_name) or not name.endswith(type_name):
        return None
    pre = name[: -len(type_name)]
    if pre.lower().startswith("test"):  # a test is named after what it tests
        return None
    if pre.endswith("_") and pre.strip("_"):
        return pre
    if type_name[0].isupper() and _CAMEL_VERB.fullmatch(pre):
        return pre
    return None


def _is_dispatch(name: str, prefix: str) -> bool:
    rest = name[len(prefix) :]
    return (
        name.startswith(prefix)
        and rest[:1].isalnum()
        and (prefix.endswith("_") or rest[0].isupper())
    )


def option_candidates(
    store: IndexStore, signals: QuerySignals, outline: Mapping[int, OutlineEntry]
) -> list[tuple[int, float]]:
    """Code that names a command-line option the title names: where it is defined,
    handled or explained. ``--collect-only`` counts as written, or quoted without its
    dashes when hyphenated (``"msg-template"``, how some parsers declare options).

    Each option's weight is shared by the chunks that name it; tests, docs and vendored
    code do not count, and an option named in many places points nowhere.
    """
    scores: dict[int, float] = defaultdict(float)
    for option in signals.options:
        name = option[2:]
        hyphenated = "-" in name
        pattern = re.compile(
            rf"(?<![\w-]){re.escape(option)}(?![\w-])"
            + (rf"|[\"']{re.escape(name)}[\"']" if hyphenated else "")
        )
        needle = name if hyphenated else option
        rows = store.phrase_chunks(list(terms(name)), needle, limit=OPTION_MAX_ROWS)
        if len(rows) >= OPTION_MAX_ROWS:
            continue  # everywhere (and the code among them may be cut off)
        ids = [
            cid
            for cid, path, _, text in rows
            if cid in outline and _is_code(path) and pattern.search(text)
        ]
        if len(ids) <= OPTION_MAX_CHUNKS:
            for cid in ids:
                scores[cid] += 1.0 / len(ids)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


# Where a subcommand's code lives: a module of its own under a commands directory
# (`management/commands/migrate.py`, `commands/install.py`), a function named for it
# (`routes_command`, `cmd_routes`, `do_routes`), or a registration that names it
# (`@click.command("routes")`, `add_parser("routes")`, `@app.command()` on `def routes`).
_COMMAND_DIRS = frozenset({"commands", "command", "cmd", "subcommands", "cli"})
_COMMAND_FUNCS = ("{}_command", "{}_cmd", "cmd_{}", "command_{}", "do_{}")
COMMAND_MAX_DEFINITIONS = 5  # more than this many places: the name is too common


def command_candidates(
    store: IndexStore,
    signals: QuerySignals,
    outline: Mapping[int, OutlineEntry],
    programs: Collection[str],
) -> tuple[list[tuple[int, float]], dict[str, float]]:
    """Code that implements a subcommand of the project's own program that a command line
    of the query runs (``$ flask routes`` -> ``routes_command``): chunks (functions and
    registrations), and files (a module of its own, lifted as a file like a named path).

    The program must be the project's: one of its console scripts (``programs``), a
    top-level package run with ``-m``, or a ``*.py`` script (``manage.py``, ``setup.py``:
    the user's entry point into the project). Each command's weight is shared by the
    definitions found for it; tests, docs and vendored code do not count, and a name
    defined in many places points nowhere.
    """
    scores: dict[int, float] = defaultdict(float)
    files: dict[str, float] = defaultdict(float)
    tops: set[str] | None = None  # top-level packages and modules, read when needed
    for program, sub in signals.commands:
        owned = program in programs or program.endswith(".py")
        if not owned:
            if tops is None:
                tops = _top_level_names(outline)
            owned = (program[3:].split(".")[0] if program.startswith("-m ") else program) in tops
        if not owned:
            continue
        modules, chunks = _command_definitions(store, sub, outline)
        count = len(modules) + len(chunks)
        if 0 < count <= COMMAND_MAX_DEFINITIONS:
            for path in modules:
                files[path] += 1.0 / count
            for cid in chunks:
                scores[cid] += 1.0 / count
    return sorted(scores.items(), key=lambda x: (-x[1], x[0])), dict(files)


def _top_level_names(outline: Mapping[int, OutlineEntry]) -> set[str]:
    """``pkg`` for ``pkg/...``, ``src/pkg/...``, ``lib/pkg/...`` and ``pkg.py``."""
    names: set[str] = set()
    for path in Outline.of(outline).paths():
        parts = path.split("/")
        if parts[0] in ("src", "lib") and len(parts) > 2:
            parts = parts[1:]
        names.add(parts[0] if len(parts) > 1 else parts[0].rsplit(".", 1)[0])
    return names


def _command_definitions(
    store: IndexStore, sub: str, outline: Mapping[int, OutlineEntry]
) -> tuple[list[str], list[int]]:
    """The code that implements the subcommand ``sub``: command modules (paths) and the
    chunks of functions named for it or registering it (not inside those modules)."""
    name = sub.replace("-", "_").lower()  # click names `def db_upgrade` "db-upgrade"
    funcs = {f.format(name) for f in _COMMAND_FUNCS}
    tails = {f"{d}/{name}" for d in _COMMAND_DIRS} | {f"{d}/{name}/__init__" for d in _COMMAND_DIRS}
    modules: set[str] = set()
    ids: set[int] = set()
    for e in outline.values():
        if _tail(e.path.lower()) in tails:
            modules.add(e.path)
        elif e.name.lower() in funcs:
            ids.add(e.id)
    registered = re.compile(
        r"\b(?:command|add_parser|add_command|subcommand|group)\s*\(\s*(?:name\s*=\s*)?"
        rf"[\"']{re.escape(sub)}[\"']"  # @click.command("routes"), add_parser("routes")
        r"|@[\w.]*command\(\s*\)\s*\n(?:\s*@.*\n)*\s*(?:async\s+)?def\s+"
        rf"{re.escape(name)}\b"  # @app.command() on def routes
    )
    rows = store.phrase_chunks(list(terms(sub)), sub, limit=OPTION_MAX_ROWS)
    if len(rows) < OPTION_MAX_ROWS:
        ids.update(cid for cid, *_, text in rows if cid in outline and registered.search(text))
    code_modules = sorted(p for p in modules if _is_code(p))
    chunks = sorted(
        cid for cid in ids if outline[cid].path not in modules and _is_code(outline[cid].path)
    )
    return code_modules, chunks


# A quoted line found in more code chunks than this says too little (`return self`).
QUOTED_MAX_CHUNKS = 3
QUOTED_PHRASE_TERMS = 16


def quoted_candidates(
    store: IndexStore, signals: QuerySignals, outline: Mapping[int, OutlineEntry]
) -> list[tuple[int, float]]:
    """Chunks of the project's code that hold a line the report quotes (``method =
    builtin_str(method)``), as code: a docstring's example the reporter copied, or the
    same line in a test, does not count. A line held by at most ``QUOTED_MAX_CHUNKS``
    chunks gives each of them ``1/n``; a chunk sums its lines."""
    scores: dict[int, float] = defaultdict(float)
    code: dict[int, str] = {}  # chunk id -> its text without strings and comments
    for line in signals.quoted:
        # The phrase narrows the search (its first terms: a common word repeated makes a long
        # phrase slow); the exact line decides.
        words = list(terms(line))[:QUOTED_PHRASE_TERMS]
        rows = store.phrase_chunks(words, line, limit=OPTION_MAX_ROWS)
        rows = [r for r in rows if r[0] in outline and _is_code(r[1])]
        if len(rows) > 4 * QUOTED_MAX_CHUNKS:
            continue  # common code, however many of them are strings
        ids = []
        for cid, _, language, text in rows:
            if cid not in code:
                code[cid] = code_only(text, language)
            if in_code(text, line, code[cid]):
                ids.append(cid)
        if 0 < len(ids) <= QUOTED_MAX_CHUNKS:
            for cid in ids:
                scores[cid] += 1.0 / len(ids)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


# A message line whose templates are in more code chunks than this says too little.
MESSAGE_MAX_CHUNKS = 3
MESSAGE_MAX_ROWS = 2000  # templates looked at per line (their anchor is one of its words)


def message_candidates(
    store: IndexStore, signals: QuerySignals, outline: Mapping[int, OutlineEntry]
) -> list[tuple[int, float]]:
    """Chunks of the project's code holding a format string that prints an error or warning
    line of the report (``messages``). A line printed by at most ``MESSAGE_MAX_CHUNKS``
    chunks gives each of them ``1/n``; a chunk sums its lines."""
    scores: dict[int, float] = defaultdict(float)
    for line in signals.messages:
        line_tokens = tokens(line)
        rows = store.message_templates(line_tokens, MESSAGE_MAX_ROWS)
        ids = {
            cid
            for cid, template in rows
            if cid in outline and _is_code(outline[cid].path) and matches(line_tokens, template)
        }
        if 0 < len(ids) <= MESSAGE_MAX_CHUNKS:
            for cid in ids:
                scores[cid] += 1.0 / len(ids)
    return sorted(scores.items(), key=lambda x: (-x[1], x[0]))


ANCHOR_MAX = 8  # links to lines read per query (one git process for all of them)


def anchor_candidates(
    signals: QuerySignals,
    files: FileChildren,
    root: Path,
    indexed: Callable[[str], tuple[int, int] | None] | None = None,
) -> list[tuple[int, float]]:
    """The chunks holding the lines a report links to (``.../blob/<ref>/<path>#L42``).

    The line is read at the linked ref (one ``git cat-file`` for all links) and found in
    today's file, nearest its old number: code moves between the link and the checkout.
    When the ref is not in the repository (a fork's commit, a branch not fetched) the line
    number is taken as it is; when the ref is there but its line is not in today's file (it
    was changed), the link points nowhere. The innermost chunk holding the line counts,
    the module's own chunk only when no symbol does. ``indexed``: a file's (size, mtime_ns)
    when it was indexed; a file changed on disk since (``--no-refresh``) is not read, as its
    lines need not be the index's.
    """
    from .errors import AgentctxError
    from .gitutil import read_blobs

    if not signals.anchors:
        return []
    anchors = [a for a in signals.anchors if files.entries(a[1])][:ANCHOR_MAX]
    if not anchors:
        return []
    specs = [f"{ref}:./{path}" for ref, path, _ in anchors]  # relative to root
    try:
        blobs = read_blobs(root, specs)
    except (AgentctxError, OSError):  # no git, not a repository
        blobs = {}
    now: dict[str, list[str] | None] = {}
    found: dict[int, float] = {}
    for spec, (_, path, line) in zip(specs, anchors, strict=True):
        old = blobs.get(spec)
        target: int | None = line
        if old is not None:
            old_lines = old.decode("utf-8", "replace").splitlines()
            text = old_lines[line - 1].strip() if 0 < line <= len(old_lines) else ""
            if path not in now:
                now[path] = _indexed_lines(root, path, indexed)
            current = now[path]
            if current is None:
                continue
            same = [i + 1 for i, x in enumerate(current) if text and x.strip() == text]
            target = min(same, key=lambda n: (abs(n - line), n)) if same else None
        if target is None:
            continue
        holding = [e for e in files.entries(path) if e.start_line <= target <= e.end_line]
        if holding:
            best = min(
                holding, key=lambda e: (e.name == MODULE_SYMBOL, e.end_line - e.start_line, e.id)
            )
            found[best.id] = 1.0
    return sorted(found.items(), key=lambda x: (-x[1], x[0]))


def _indexed_lines(
    root: Path, path: str, indexed: Callable[[str], tuple[int, int] | None] | None
) -> list[str] | None:
    """The lines of ``path`` on disk, if they are the ones the index holds."""
    try:
        with open(root / path, "rb") as f:
            st = os.fstat(f.fileno())
            if indexed is not None and indexed(path) != (st.st_size, st.st_mtime_ns):
                return None
            return f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return None


REFERENCE_MAX_FILES = 10  # a change touching more code files says little about any one


def _project_check(root: Path) -> Callable[[str], bool]:
    """``is_project(repo)``: a linked repository's name is the project's (its distribution or
    directory name: a fork shares it); "" (no link: a bare `#12`) is. Names read once."""
    names: set[str] | None = None

    def is_project(repo: str) -> bool:
        nonlocal names
        if not repo:
            return True
        if names is None:
            names = project_names(root)
        return normalized_name(repo) in names

    return is_project


def reference_scores(store: IndexStore, signals: QuerySignals, root: Path) -> dict[str, float]:
    """Code files changed by the commits that mention an issue or pull request the report
    refers to (``#6461``: the change that fixed or caused it), from the history documents
    (``ref_6461``, see history.py). A link counts when its repository is the project (its
    distribution or directory name; a fork shares it); a change of more than
    ``REFERENCE_MAX_FILES`` code files, or none, points nowhere."""
    is_project = _project_check(root)
    scores: dict[str, float] = {}
    for repo, term in signals.references:
        if not is_project(repo):
            continue
        paths = store.history_files(term, 4 * REFERENCE_MAX_FILES)
        if len(paths) >= 4 * REFERENCE_MAX_FILES:
            continue  # a reference in so many files' history is no one change
        code = [p for p in paths if _is_code(p)]
        if 0 < len(code) <= REFERENCE_MAX_FILES:
            scores.update(dict.fromkeys(code, 1.0))
    return scores


def commit_scores(signals: QuerySignals, paths: Collection[str], root: Path) -> dict[str, float]:
    """Code files changed by the commits the report names as the cause (``This regressed in
    b473e515``; a merge: what it brought to its first parent). A file renamed since is found
    by its trailing path components (`_pytest/compat.py` is `src/_pytest/compat.py` now).
    Commit links count when their repository is the project, as references do; a commit of
    more than ``REFERENCE_MAX_FILES`` code files points nowhere."""
    from .errors import AgentctxError
    from .gitutil import run_git

    if not signals.commits:
        return {}
    is_project = _project_check(root)
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(path.rsplit("/", 1)[-1], []).append(path)
    scores: dict[str, float] = {}
    for repo, sha in signals.commits:
        if not is_project(repo):
            continue
        try:
            proc = run_git(
                root, "show", "--format=", "--name-only", "--diff-merges=first-parent",
                "-z", f"{sha}^{{commit}}", "--", check=False, timeout=10,
            )  # fmt: skip
        except (AgentctxError, OSError):
            return scores  # no git, not a repository
        if proc.returncode != 0:
            continue  # not a commit of this repository
        changed = [p for p in proc.stdout.decode("utf-8", "replace").split("\0") if p.strip()]
        found = {
            path
            for top in changed
            for path in by_name.get(top.rsplit("/", 1)[-1], ())
            if _is_code(path)
            and _common_tail(path.split("/"), top.strip().split("/")) >= min(2, path.count("/") + 1)
        }
        if 0 < len(found) <= REFERENCE_MAX_FILES:
            scores.update(dict.fromkeys(found, 1.0))
    return scores


def _is_code(path: str) -> bool:
    return file_category(path) == "code"


def _tail(path: str) -> str:
    """``dir/stem`` of a path (``commands/sync`` of ``pkg/commands/sync.py``), or
    ``dir/name/__init__`` for a package's ``__init__``."""
    parts = path.rsplit("/", 3)
    stem = parts[-1].rsplit(".", 1)[0]
    if stem == "__init__" and len(parts) >= 3:
        return f"{parts[-3]}/{parts[-2]}/__init__"
    return f"{parts[-2]}/{stem}" if len(parts) >= 2 else stem


_NEVER_NAMES = frozenset({"self", "cls", "none", "true", "false"})


def _code_name(name: str) -> bool:
    """A stop word that may still name an API when code puts it there (after a dot): not a
    keyword, not a receiver, longer than two letters."""
    return len(name) > 2 and not keyword.iskeyword(name) and name.lower() not in _NEVER_NAMES


def _want(weights: dict[str, float], name: str, weight: float, *, code: bool = False) -> None:
    """``code``: the name is code by its place (after a dot), so an API named like a stop word
    (`xr.where`, `requests.get`) still counts; a keyword or a receiver never does."""
    if not name or len(name) <= 2:
        return
    if name.lower() in STOP_TERMS and not (code and _code_name(name)):
        return
    weights[name] = max(weights.get(name, 0.0), weight)


def _want_dotted(weights: dict[str, float], dotted: str) -> None:
    """``a.B.c`` names ``c``, ``B.c`` (more) and ``a.B.c`` (most). A name defined in too
    many places to point anywhere (`obj.get`) is dropped later (``NAME_MAX_DEFINITIONS``)."""
    parts = dotted.split(".")
    for n in range(1, min(len(parts), 3) + 1):
        _want(weights, ".".join(parts[-n:]), 1.0 + 0.5 * (n - 1), code=True)


# A bare name defined in more places than this is a protocol or a hook (`__init__`, `__repr__`
# in a linter's output), not a pointer: it matches nothing. A qualified name (`Run.__init__`)
# and a trace frame's function (bound to the frame's file) still do.
NAME_MAX_DEFINITIONS = 50


def _named_chunks(
    weights: dict[str, float],
    outline: Mapping[int, OutlineEntry],
    scoped: Mapping[str, Mapping[str, float]] | None = None,
) -> list[tuple[int, float]]:
    scoped = scoped or {}
    if not weights and not scoped:
        return []
    get = weights.get
    names = weights.keys() | scoped.keys() if scoped else weights
    # two set lookups rule most out (sympy: 11 -> 6 ms)
    found = Outline.of(outline).named(names, qualnames=True)
    counts = Counter(e.name for e in found)
    scored: list[tuple[int, float]] = []
    for entry in found:
        bare = get(entry.name, 0.0) if counts[entry.name] <= NAME_MAX_DEFINITIONS else 0.0
        s = max(get(entry.qualname, 0.0), bare * 0.8)
        if scoped:
            if files := scoped.get(entry.qualname):
                s = max(s, files.get(entry.path, 0.0))
            if files := scoped.get(entry.name):
                s = max(s, files.get(entry.path, 0.0) * 0.8)
        if s > 0:
            scored.append((entry.id, s))
    scored.sort(key=lambda x: (-x[1], x[0]))
    return scored


_GENERIC_NAMES = frozenset({"__init__.py", "index.js", "index.ts", "mod.rs", "main.go", "utils.py"})


def _common_tail(a: list[str], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


WHOLE_TAIL, TWO_COMPONENTS = 1.0, 0.9  # how well an indexed path matches a named one


def _tail_match(parts: list[str], named: list[str]) -> float:
    """How well an indexed path (``parts``) matches a path a query names, by their common
    trailing components: all of one ends the other (1.0), two agree (0.9:
    ``/venv/lib/.../site-packages/pkg/mod.py`` -> ``src/pkg/mod.py``), only the file name
    (0.5, 0.2 for names like ``__init__.py`` that many files have), nothing (0)."""
    common = _common_tail(parts, named)
    if common == 0:
        return 0.0
    if common == len(named) or common == len(parts):
        return WHOLE_TAIL
    if common >= 2:
        return TWO_COMPONENTS
    return 0.2 if parts[-1] in _GENERIC_NAMES else 0.5


def frame_files(path: str, paths: Iterable[str]) -> list[str]:
    """Indexed files a trace frame's path means: all of one ends the other, or two trailing
    components agree (``/venv/lib/.../site-packages/pkg/mod.py`` -> ``src/pkg/mod.py``)."""
    want = path.strip("./").split("/")
    return [
        p
        for p in paths
        if p.rsplit("/", 1)[-1] == want[-1] and _tail_match(p.split("/"), want) >= TWO_COMPONENTS
    ]


def frame_paths(signals: QuerySignals, paths: Iterable[str]) -> dict[str, list[str]]:
    """Each frame path of the query -> the indexed files it means (see ``frame_files``):
    one pass over ``paths``, only files named as a frame's are compared."""
    wanted = {frame.path for frame in signals.frames if frame.path}
    if not wanted:
        return {}
    base = {w: w.strip("./").rsplit("/", 1)[-1] for w in wanted}
    names = set(base.values())
    by_name: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        if (name := p.rsplit("/", 1)[-1]) in names:
            by_name[name].append(p)
    return {w: frame_files(w, by_name.get(base[w], ())) for w in wanted}


def trace_calls(
    signals: QuerySignals,
    files: FileChildren,
    located: Mapping[str, list[str]] | None = None,
) -> list[tuple[int, int]]:
    """The calls a trace shows, as (caller, callee) chunk ids.

    A frame is the chunk of its file (see ``frame_files``) whose qualified name is the
    frame's function, else whose name is its last part; of several (two classes'
    ``__init__``), the one holding the frame's line. A frame naming no function, or none of
    the file's, is left out, and so are its calls.
    """
    if not signals.calls:
        return []
    if located is None:
        located = frame_paths(signals, files)
    ids: list[int | None] = []
    for frame in signals.frames:
        found: list[OutlineEntry] = []
        if frame.path and frame.function:
            entries = [e for path in located.get(frame.path, ()) for e in files.entries(path)]
            found = [e for e in entries if e.qualname == frame.function]
            if not found:
                last = frame.function.rsplit(".", 1)[-1]
                found = [e for e in entries if e.name == last and e.kind != "module"]
        if len(found) > 1 and frame.line is not None:
            found = [e for e in found if e.start_line <= frame.line <= e.end_line] or found
        ids.append(found[0].id if len(found) == 1 else None)
    return [
        (a, b)
        for i, j in signals.calls
        if (a := ids[i]) is not None and (b := ids[j]) is not None and a != b
    ]


# A bare file name names a top-level file or code clearly; a nested configuration or doc file
# of that name is an example or a fixture (`pyproject.toml` -> `examples/pyproject.toml`, when
# the reporter means their own): it shares only its file name with what was meant, and scores
# as such a path does (below rank.CLEARLY_NAMED, so it keeps its category's factor).
BARE_NESTED_TEXT = 0.5
UNDEFINED_ATTRIBUTE = 0.25  # a dotted name's module that does not define its next part
TITLE_SCOPE = 0.8  # a module the title opens with (`latex: ...`): named, not clearly (< 0.9)


def path_scores(
    signals: QuerySignals,
    paths: list[str],
    defines: Callable[[str, str], bool] | None = None,
) -> dict[str, float]:
    """Indexed files the query names: by path, by module, by trace frame.

    Paths are compared by their common trailing components, so a frame in
    ``/usr/lib/python3/site-packages/pkg/mod.py`` finds ``src/pkg/mod.py``. A dotted
    name names a module only as far as the module defines what follows it: with
    ``defines(path, name)``, ``utils.safe_encode_list`` (another project's helper)
    lifts ``pkg/utils.py`` only x0.25 unless that file defines ``safe_encode_list``, and
    ``pkg.Error`` lifts ``pkg/__init__.py`` that much when it only re-exports ``Error``.
    """
    wanted: dict[tuple[str, str | None], float] = {}  # (path, name it must define) -> weight

    def want(path: str, weight: float, need: str | None = None) -> None:
        if path.strip("./"):
            wanted[path, need] = max(wanted.get((path, need), 0.0), weight)

    for p in signals.paths:
        want(p, 1.0)
    if signals.scope:  # `latex: ...` -> latex.py (a package's __init__.py is seldom the one)
        want(f"{signals.scope}.py", TITLE_SCOPE)
    for frame in signals.frames:
        if frame.path:
            want(frame.path, 1.2)
    for dotted in signals.dotted:
        parts = dotted.split(".")
        for cand in module_to_paths(dotted):
            if cand.endswith((".py", "/__init__.py")):
                depth = cand.count("/") + 1
                n = cand.removesuffix("/__init__.py").removesuffix(".py").count("/") + 1
                need = parts[n] if n < len(parts) and defines is not None else None
                want(cand, min(1.0, 0.4 + 0.2 * depth), need)
    if not wanted:
        return {}
    queries = [(w.strip("./").split("/"), weight, need) for (w, need), weight in wanted.items()]
    names = {q[-1] for q, _, _ in queries}  # a path shares at least its file name with one
    scripts = set(signals.scripts)  # a bare script name names a file at the root, or none
    out: dict[str, float] = {}
    for path in paths:
        if path.rsplit("/", 1)[-1] not in names:
            continue
        parts = path.split("/")
        best = 0.0
        for qparts, weight, need in queries:
            match = _tail_match(parts, qparts)
            if match == 0 or (len(qparts) == 1 < len(parts) and qparts[0] in scripts):
                continue
            score = match * weight
            if (
                match == WHOLE_TAIL
                and len(qparts) == 1 < len(parts)
                and file_category(path) == "text"
            ):
                score = min(score, BARE_NESTED_TEXT)
            if need is not None and score > best and defines and not defines(path, need):
                score *= UNDEFINED_ATTRIBUTE
            best = max(best, score)
        if best > 0:
            out[path] = best
    return out


# Module-level code may assign under `if`/`try` (`if is_py3: builtin_str = str`): indented too.
_TOP_LEVEL_DEF = (
    r"(?m)^[ \t]*(?:{name}\s*(?::[^=\n]*)?=(?!=)|(?:async[ \t]+)?(?:def|class)[ \t]+{name}\b)"
)


def definer(store: IndexStore, outline: Mapping[int, OutlineEntry]) -> Callable[[str, str], bool]:
    """``defines(path, name)``: the file has a symbol of that name, or its module-level code
    assigns it (``builtin_str = str``). An import does not count: a re-export is not where
    the name lives."""
    names: dict[str, set[str]] = {}
    modules: dict[str, str] = {}
    entries_of = Outline.of(outline).entries_of

    def defines(path: str, name: str) -> bool:
        have = names.get(path)
        if have is None:  # per file asked about: most queries never ask
            have = names[path] = {
                n for e in entries_of(path) for n in (e.name, e.qualname.split(".", 1)[0])
            }
        if name in have:
            return True
        if path not in modules:
            modules[path] = store.module_text(path)
        pattern = _TOP_LEVEL_DEF.format(name=re.escape(name))
        return re.search(pattern, modules[path]) is not None

    return defines


def retrieve(
    store: IndexStore,
    signals: QuerySignals,
    *,
    root: Path,
    query_vector: np.ndarray | Callable[[], np.ndarray] | None,
    dim: int,
    k: int = 300,
) -> Candidates:
    """Every candidate list for one query. ``query_vector`` may be a function that gives
    it: it is asked for last, after every other list."""
    cands = Candidates()
    cands.outline = load_outline(store)
    cands.pending = store.pending_count()
    dense = query_vector is not None and store.vector_count() > 0
    if dense:  # first among the lists (fused in this order), searched last (see below)
        cands.lists["dense"] = []
    qterms = query_terms(signals)
    cands.lists["lexical"] = store.lexical_search(qterms, k, LEXICAL_WEIGHTS)
    located = frame_paths(signals, cands.files()) if signals.frames else {}
    cands.lists["symbol"] = symbol_candidates(signals, cands.outline, located)
    cands.lists["title"] = title_candidates(signals, cands.outline)
    cands.lists["option"] = option_candidates(store, signals, cands.outline)
    cands.lists["quoted"] = quoted_candidates(store, signals, cands.outline)
    cands.lists["message"] = message_candidates(store, signals, cands.outline)
    cands.lists["anchor"] = anchor_candidates(signals, cands.files(), root, store.file_stat)
    named = [cands.outline[cid] for key in ("symbol", "title") for cid, _ in cands.lists[key]]
    cands.calls = trace_calls(signals, cands.files(), located)
    cands.lists["dispatch"] = dispatch_candidates(signals, named, cands.outline, cands.files())
    if signals.commands:
        cands.lists["command"], cands.file_scores["command"] = command_candidates(
            store, signals, cands.outline, console_scripts(root)
        )
    all_paths = sorted(cands.files())
    cands.file_scores["path"] = path_scores(
        signals, all_paths, definer(store, cands.outline) if signals.dotted else None
    )
    recent = stored_recency(store, root)  # what `index` stored, while HEAD has not moved
    cands.file_scores["recency"] = (
        recent if recent is not None else recency_scores(root, set(all_paths))
    )
    cands.file_scores["history"] = history_scores(store, qterms)
    if signals.references or signals.commits:
        cands.file_scores["change"] = {
            **reference_scores(store, signals, root),
            **commit_scores(signals, all_paths, root),
        }
    if dense:  # last: the vector may still be on its way (pipeline.search makes it meanwhile)
        from .store.vectors import VectorIndex

        vector = query_vector() if callable(query_vector) else query_vector
        index, _ = VectorIndex.load(store, dim)
        cands.lists["dense"] = index.search(vector, k)
        wins = current_windows(store, dim)
        if wins is not None:  # long functions score as their best stretch of body
            cands.lists["dense"] = best_of(cands.lists["dense"], wins, vector, k)
        cands.file_scores["centroid"] = centroid_scores(store, index, cands.outline, vector)
        cands.dense_available = True
    return cands


def identifier_terms(signals: QuerySignals) -> set[str]:
    """Lowercased identifiers (and their parts) a skeleton should keep lines for."""
    out: set[str] = set()
    for ident in [*signals.identifiers, *signals.errors]:
        out.add(ident.lower())
    for dotted in signals.dotted:
        out.add(dotted.rsplit(".", 1)[-1].lower())
    for frame in signals.frames:
        if frame.function:
            out.add(frame.function.rsplit(".", 1)[-1].lower())
    return {t for t in out if len(t) > 2 and t not in STOP_TERMS and split_identifier(t)}
