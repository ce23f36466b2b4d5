"""Pure scoring and fusion: candidate lists -> one ranked list of hits.

Each list (dense cosine, lexical BM25, exact symbol matches) is min-max normalized
and blended with a reciprocal-rank term, so a clear winner in one list keeps its
margin (pure RRF flattens it) while lists with incomparable raw scores still add up
sensibly. File-level signals (the query names the file, the file changed recently,
its past commit messages match the query) lift the chunks of that file; a one-hop
graph expansion lifts the callers and callees of the best hits in proportion to
their scores. The result is normalized so
the best hit scores 1.0, and a relative threshold drops the tail.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Collection, Mapping, Sequence

from .categories import file_category, is_code
from .models import Hit
from .outline import FileChildren, Outline, OutlineEntry
from .retrieve import Candidates

RRF_K = 60
SCORE_SHARE = 0.55  # share of each list's contribution from its normalized score (rest: rank)
DEFAULT_WEIGHTS: dict[str, float] = {
    "dense": 1.0,
    "lexical": 1.0,
    "symbol": 1.0,
    "title": 0.3,  # symbols the title of a report names (what is broken), again
    "option": 1.0,  # code naming a command-line option the title names
    "command": 1.0,  # code implementing a subcommand of the project's program a query runs
    "command_module": 0.8,  # ... in a module of its own: lifted as a file, like a named path
    "quoted": 1.0,  # code holding a line the report quotes
    "message": 1.0,  # code holding the format string of an error line the report shows
    "anchor": 1.0,  # code holding a line the report links to (`blob/<ref>/<path>#L42`)
    "dispatch": 1.0,  # methods named after a type the query names (`_print_Subs`, `visit_If`)
    "path": 0.8,
    "recency": 0.2,
    "history": 0.2,  # files whose past commit messages match the query
    "centroid": 0.1,  # files whose mean chunk vector is nearest the query
    "change": 0.5,  # files an issue, pull request or commit the report names changed
    "graph": 0.3,  # share of a seed's own score passed to its callees/callers
}
DEFAULT_MIN_SCORE = 0.15
# Bug reports and questions are about the code itself: tests, docs and examples rank
# below it, other text files (docs, configuration, changelogs) and vendored copies of
# other projects further still, unless the query names such a file clearly (see
# CLEARLY_NAMED; the path lift applies either way). Measured on the dev SWE-bench set
# (see benchmarks/).
CATEGORY_FACTORS: dict[str, float] = {"code": 1.0, "test": 0.4, "text": 0.3, "vendor": 0.5}
# A file the query names keeps its full weight whatever its kind only when named clearly
# (path score >= 0.9): all the query wrote matches its path, or two trailing components do.
# A path that shares only its file name with it (the reporter's own `.../pisys/conftest.py`
# against `doc/en/conftest.py`, also in a trace frame) or a short dotted name (`pytest.skip`
# -> `bench/skip.py`) says too little to override its kind. Vendored copies keep their
# factor even then: a trace through one shows where an error passed; the project fixes its
# own code.
CLEARLY_NAMED = 0.9


def category_factor(path: str) -> float:
    """The factor of ``path``'s kind. A vendored file that is not code (the bundled
    library's changelog, README, THANKS) is both someone else's and not code: both apply."""
    cat = file_category(path)
    factor = CATEGORY_FACTORS[cat]
    if cat == "vendor" and not is_code(path):
        factor *= CATEGORY_FACTORS["text"]
    return factor


def _disambiguate(named: Mapping[str, float]) -> dict[str, float]:
    """Files that match a named path equally well (same name, same score) share it.

    ``pyproject.toml`` in a query lifts every ``pyproject.toml`` of the repository
    alike; with five of them, each is a fifth as likely to be the one meant.
    """
    groups: dict[tuple[str, float], list[str]] = defaultdict(list)
    for path, score in named.items():
        groups[(path.rsplit("/", 1)[-1], round(score, 6))].append(path)
    return {
        path: score / len(groups[(path.rsplit("/", 1)[-1], round(score, 6))]) ** 0.5
        for path, score in named.items()
    }


def fuse(
    lists: Mapping[str, list[tuple[int, float]]], weights: Mapping[str, float]
) -> tuple[dict[int, float], dict[int, set[str]]]:
    """Weighted sum over lists of ``SCORE_SHARE * minmax(score) + rest * rrf(rank)``."""
    scores: dict[int, float] = defaultdict(float)
    reasons: dict[int, set[str]] = defaultdict(set)
    for name, ranked in lists.items():
        if not ranked:
            continue
        w = weights.get(name, 1.0)
        hi = max(s for _, s in ranked)
        lo = min(s for _, s in ranked)
        span = hi - lo
        for rank, (cid, s) in enumerate(ranked):
            norm = (s - lo) / span if span > 0 else 1.0
            rrf = (RRF_K + 1) / (RRF_K + rank + 1)
            scores[cid] += w * (SCORE_SHARE * norm + (1 - SCORE_SHARE) * rrf)
            reasons[cid].add(name)
    return dict(scores), dict(reasons)


def _file_lift(
    signal: str,
    file_scores: Mapping[str, float],
    outline: Outline,
    fused: dict[int, float],
    reasons: dict[int, set[str]],
    weight: float,
) -> None:
    """Chunks of a file the query points at: the file's best chunks gain the most.

    Read off the outline's columns: a lift reaches every chunk of hundreds of files (the
    recently changed, those whose history matches), far more entries than a query reads."""
    ids, starts = outline.ids, outline.start_lines
    for path, s in file_scores.items():
        rows = outline.rows_of(path)  # best first, then those with no score in line order
        scored = sorted(
            (r for r in rows if fused.get(ids[r])), key=lambda r: (-fused[ids[r]], starts[r])
        )
        rest = sorted((r for r in rows if not fused.get(ids[r])), key=starts.__getitem__)
        for i, r in enumerate(scored + rest):
            cid = ids[r]
            fused[cid] = fused.get(cid, 0.0) + weight * s / (1 + 0.25 * i)
            reasons.setdefault(cid, set()).add(signal)


GRAPH_MAX_TARGETS = 3  # a name more symbols bear is no link of a seed's (`get`, `__init__`)


def _graph(
    fused: dict[int, float],
    outline: Mapping[int, OutlineEntry],
    seeds: int = 8,
    calls: Collection[tuple[int, int]] = (),
) -> list[tuple[int, float]]:
    """Callees and callers of the top hits (names resolved when unambiguous enough).

    Seeds are the best hits scoring at least half the best; a neighbour's gain is its
    strongest link plus a fifth of the others, so many weak links never outweigh a
    direct match. ``calls`` are (caller, callee) pairs a trace in the query shows: a
    seed's callee there is as sure a link as a callee whose name is unique, however
    common its name (``ContinuousBase._setup`` among a dozen ``_setup``).
    """
    top = heapq.nsmallest(seeds, fused.items(), key=lambda x: (-x[1], x[0]))
    if not top:
        return []
    top = [(cid, s) for cid, s in top if s >= 0.5 * top[0][1]]
    # Only the names the seeds call and are called by: one pass, no full name tables.
    called = {ref for cid, _ in top if cid in outline for ref in outline[cid].refs}
    named = {outline[cid].name for cid, _ in top if cid in outline}
    whole = Outline.of(outline)
    by_name: dict[str, list[int]] = defaultdict(list)
    for e in whole.named(called, at_most=GRAPH_MAX_TARGETS):
        by_name[e.name].append(e.id)
    callers = {name: [e.id for e in users] for name, users in whole.referrers(named).items()}
    links: dict[int, list[float]] = defaultdict(list)
    for cid, score in top:
        seed = outline.get(cid)
        if seed is None:
            continue
        linked = set()
        for ref in seed.refs:
            targets = by_name.get(ref, [])
            if 0 < len(targets) <= GRAPH_MAX_TARGETS:
                for t in targets:
                    if t != cid:
                        links[t].append(score / len(targets))
                        linked.add(t)
        for caller, callee in calls:  # the same call is one link, however it is known
            if caller == cid and callee not in linked and callee in outline:
                links[callee].append(score)
                linked.add(callee)
        users = callers.get(seed.name, [])
        if 0 < len(users) <= 20 and len(seed.name) > 3:
            for u in users:
                if u != cid:
                    links[u].append(0.5 * score / len(users) ** 0.5)
    gained = {t: max(v) + 0.2 * (sum(v) - max(v)) for t, v in links.items()}
    return sorted(gained.items(), key=lambda x: (-x[1], x[0]))


def rank(
    cands: Candidates,
    *,
    weights: Mapping[str, float] | None = None,
    min_score: float = DEFAULT_MIN_SCORE,
    limit: int = 400,
) -> tuple[list[Hit], int]:
    """Fused, normalized, thresholded hits (best first) and how many fell below."""
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    fused, reasons = fuse(cands.lists, w)
    named = _disambiguate(cands.file_scores.get("path", {}))
    exempt = {p for p, s in named.items() if s >= CLEARLY_NAMED and file_category(p) != "vendor"}
    factors: dict[str, float] = {}

    def factor(path: str) -> float:
        if path in exempt:
            return 1.0
        if (f := factors.get(path)) is None:
            f = factors[path] = category_factor(path)
        return f

    path_of = cands.outline.path_of
    for cid in fused:
        path = path_of(cid)
        if path is not None:
            fused[cid] *= factor(path)
    # A test's history ("fix test_x") or topic is weighed like the test itself.
    history, centroid = (
        {path: s * factor(path) for path, s in cands.file_scores.get(signal, {}).items()}
        for signal in ("history", "centroid")
    )
    for signal, scores, weight in (
        ("path", named, w["path"]),
        ("command", cands.file_scores.get("command"), w["command_module"]),
        ("recency", cands.file_scores.get("recency"), w["recency"]),
        ("history", history, w["history"]),
        ("centroid", centroid, w["centroid"]),
        ("change", cands.file_scores.get("change"), w["change"]),
    ):
        if scores:
            _file_lift(signal, scores, cands.outline, fused, reasons, weight)
    for cid, gained in _graph(fused, cands.outline, calls=cands.calls):
        fused[cid] = fused.get(cid, 0.0) + w["graph"] * gained
        reasons.setdefault(cid, set()).add("graph")
    if not fused:
        return [], 0
    best = max(fused.values())
    scored = [(cid, s / best) for cid, s in fused.items() if cid in cands.outline]
    kept = sorted(
        ((cid, s) for cid, s in scored if s >= min_score),
        key=lambda x: (-x[1], cands.outline[x[0]].path, cands.outline[x[0]].start_line),
    )[:limit]
    below = len(scored) - len(kept)
    hits = []
    for cid, s in kept:
        e = cands.outline[cid]
        hits.append(
            Hit(
                cid,
                e.path,
                e.qualname,
                e.kind,
                e.start_line,
                e.end_line,
                round(s, 6),
                tuple(sorted(reasons.get(cid, ()))),
            ),
        )
    return hits, below


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def helpers_first(hits: Sequence[Hit], files: FileChildren) -> list[Hit]:
    """``hits`` in the order the budget stage takes them: the best hit, then its helpers,
    then the rest by rank. A helper is a hit the best one calls that its own file defines
    under a private name (``_x``) no other symbol there has (``polyval`` ->
    ``_ensure_numeric``): code only its callers run, which a fix there often needs read or
    changed, too. Public names a function refers to are the file's API (a CLI command's
    option decorators, other commands): moved ahead, they took a small budget from the
    next files when the best hit was the wrong one.

    Scores are left alone (a helper still needs its own to be shown in full), and so is
    the ranking: all helpers are in the best hit's file. See benchmarks/retrieval-log.md
    (row 34).
    """
    if len(hits) < 2:
        return list(hits)
    best = hits[0]
    entries = [e for e in files.entries(best.path) if e.kind != "module"]
    seed = next((e for e in entries if e.id == best.id), None)
    if seed is None or not seed.refs:
        return list(hits)
    count = Counter(e.name for e in entries)
    called = set(seed.refs)
    helpers = {
        e.id
        for e in entries
        if e.name in called and count[e.name] == 1 and e.id != best.id and _private(e.name)
    }
    if not helpers:
        return list(hits)
    rest = hits[1:]
    return [best, *(h for h in rest if h.id in helpers), *(h for h in rest if h.id not in helpers)]
