"""Fitting a ranked list into a token budget, exactly.

Each hit can be shown at one of four detail levels (full, skeleton, signature,
mention). A tiered greedy pass in rank order spends most of the budget on the best
hits in full, then skeletons (each at most a small share of the budget: a bigger one
summarises nothing), then signatures, then one-line mentions that point at files not
shown otherwise (a second mention of a shown file says little); the rendered
bundle is then counted as a whole and trimmed from the tail until it fits, so the
printed text never exceeds the budget whatever the tokenizer does at boundaries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from .compress import (
    render_full,
    render_full_except,
    render_mention,
    render_signature,
    render_skeleton,
    skeleton_floor,
)
from .errors import BudgetError
from .models import DETAILS, MODULE_SYMBOL, Bundle, Chunk, Hit, PackItem
from .render import file_footer, file_header, header, item_block, render_text
from .tokens import Tokenizer

# Tier rules (tuned with `agentctx bench`): score floors and budget shares per level.
FULL_MIN_SCORE = 0.25
FULL_MAX_SHARE = 0.35  # one full item may take at most this share of the budget
FULL_CEILING = 0.80  # full items stop once this share of the budget is used
SKELETON_CEILING = 0.92
# A skeleton is a summary: one bigger than this share of the budget (the outline of a
# class of thousands of lines) summarises nothing and crowds out code shown in full, so
# it drops to its signature. Small budgets still allow a skeleton of a few methods.
SKELETON_MAX_SHARE = 0.05
SKELETON_MIN_CAP = 150  # tokens
SIGNATURE_CEILING = 0.94  # the rest: one-line mentions of files not shown otherwise
# ... but no more than about a dozen of them (the room they have at 4k): past that, what a
# bigger budget leaves goes to the heads of the files shown in full.
MENTION_ROOM = 320  # tokens


@dataclass(frozen=True, slots=True)
class Fitted:
    bundle: Bundle
    text: str  # the rendered markdown/xml, exactly what fits
    tokens_used: int
    full_tokens: dict[tuple[str, str, int], int]  # item key -> tokens in full (if accounted)


def _key(item: PackItem) -> tuple[str, str, int]:
    return (item.path, item.symbol, item.start_line)


class _Costs:
    def __init__(self, tok: Tokenizer, fmt: str) -> None:
        self.tok = tok
        self.fmt = fmt

    def item(self, item: PackItem) -> PackItem:
        return replace(item, tokens=self.tok.count(item_block(item, self.fmt)))

    def file(self, path: str) -> int:
        return self.tok.count(file_header(path, self.fmt) + file_footer(self.fmt))


def fit(
    *,
    query: str,
    repo: str,
    hits: Sequence[Hit],
    chunks: Mapping[int, Chunk],
    children: Callable[[Chunk], Sequence[tuple[int, int]]],
    keep_terms: set[str],
    tok: Tokenizer,
    budget: int,
    fmt: str,
    below_threshold: int,
    notes: Sequence[str] = (),
    max_detail: Mapping[int, str] | None = None,
    account: bool = True,
    heads: Callable[[Sequence[str]], Mapping[str, Chunk]] | None = None,
) -> Fitted:
    """Choose items and detail levels for ``hits`` so the rendered text fits ``budget``.

    ``max_detail`` caps some hits (by id) at a detail level: ``pack --diff`` shows
    the code around a change as skeletons however much budget is left. ``account``:
    also count what each item would take in full (``full_tokens``, for statistics).
    ``heads``: reads files' module chunks (imports, constants, a line per other symbol),
    shown whole beside their file's code in full with the budget left at the end.
    """
    caps = max_detail or {}
    render_fmt = "xml" if fmt == "xml" else "markdown"
    costs = _Costs(tok, render_fmt)
    empty = Bundle(query, repo, budget, tok.name, (), len(hits), below_threshold, tuple(notes))
    worst = replace(empty, left_out=10 * (len(hits) + below_threshold + 10))
    head = tok.count(header(worst, render_fmt)) + 8  # digits of the final counts vary
    if render_fmt == "xml":
        head += tok.count("</context>\n")
    if head > budget:
        raise BudgetError(
            f"budget of {budget} tokens is too small for even the bundle header ({head} tokens)",
            hint=f"use --budget {max(head * 4, 500)} or more",
        )
    avail = budget - head
    skeleton_cap = max(SKELETON_MAX_SHARE * avail, SKELETON_MIN_CAP)
    mention_ceiling = min(1.0, SIGNATURE_CEILING + MENTION_ROOM / avail)
    used = 0
    chosen: list[PackItem] = []
    sources: list[Chunk] = []  # the chunk behind each chosen item
    spans: dict[str, list[tuple[int, int]]] = {}  # code already shown, per file
    outlined: dict[str, list[tuple[int, int]]] = {}  # of it, skeletons: bodies not shown
    left_out = 0
    dropped: set[int] = set()  # hits counted in left_out
    for hit in hits:
        chunk = chunks.get(hit.id)
        if chunk is None:
            continue
        start, end = chunk.start_line, chunk.end_line
        within = [(a, b) for a, b in spans.get(hit.path, []) if a <= start and end <= b]
        # Inside a bigger item: already visible, unless that is a skeleton, which shows
        # its methods' first lines only; a method good enough to be shown whole still is.
        only_full = bool(within) and all(r in outlined.get(hit.path, ()) for r in within)
        if within and not only_full:
            continue
        file_cost = 0 if hit.path in spans else costs.file(hit.path)
        base = _item(chunk, "mention", hit.score, "")
        pick: PackItem | None = None
        for detail, ceiling, floor in (
            ("full", FULL_CEILING, FULL_MIN_SCORE),
            ("skeleton", SKELETON_CEILING, 0.0),
            ("signature", SIGNATURE_CEILING, 0.0),
            ("mention", mention_ceiling, 0.0),
        ):
            if hit.score < floor or DETAILS.index(detail) < DETAILS.index(caps.get(hit.id, "full")):
                continue
            if only_full and detail != "full":
                break  # its skeleton already shows this much of it
            if detail == "mention" and hit.path in spans:
                continue  # a mention's job is to point at a file the bundle does not show
            if used + file_cost >= ceiling * avail:
                continue  # no text fits under this tier's ceiling: do not render one
            kids = children(chunk) if detail == "skeleton" else ()
            if kids:
                least = skeleton_floor(chunk, kids)
                if least > skeleton_cap or used + file_cost + least > ceiling * avail:
                    continue  # its methods' first lines alone are more than it may take
            text = _text(chunk, detail, keep_terms, kids)
            shown = detail
            if detail == "skeleton" and text == chunk.text:
                if caps.get(hit.id) != "skeleton":
                    continue  # nothing to elide: it would be the full text under another name
                shown = "full"  # capped at skeleton, but short enough to be whole at that cost
            cand = costs.item(replace(base, detail=shown, text=text))
            cost = cand.tokens + file_cost
            if detail == "full" and cand.tokens > FULL_MAX_SHARE * avail:
                continue
            if detail == "skeleton" and cand.tokens > skeleton_cap:
                continue
            if used + cost <= ceiling * avail:
                pick = cand
                break
        if pick is None:
            if not only_full:  # else its skeleton shows its first line
                left_out += 1
                dropped.add(hit.id)
            continue
        if pick.detail == "full":
            # Chosen as a whole, shown without repeats: the methods of a class already
            # in the bundle in full appear in it as signatures, the others it absorbs.
            # (The choice itself counts the whole text, as it would be without them.)
            text, absorbed = _full(chunk, chosen)
            if text is not chunk.text:
                pick = costs.item(replace(pick, text=text))
            for i in reversed(absorbed):
                used -= chosen.pop(i).tokens
                sources.pop(i)
        chosen.append(pick)
        sources.append(chunk)
        used += pick.tokens + file_cost
        # The module chunk spans the whole file but shows only its remainder (other
        # symbols appear in it as one-line markers): it hides nothing below it.
        if pick.detail in ("full", "skeleton") and chunk.qualname != MODULE_SYMBOL:
            spans.setdefault(hit.path, []).append((chunk.start_line, chunk.end_line))
            if pick.detail == "skeleton":
                outlined.setdefault(hit.path, []).append((chunk.start_line, chunk.end_line))
        else:
            spans.setdefault(hit.path, [])

    # A file shown in full gets its head (what it imports and defines, where its other
    # symbols are) whole when budget is left, after the hits: last in, so the first trimmed.
    # The first such file gets it before the upgrades below, the others after them (a fix
    # in the best file often needs its imports).
    shown = {c.id for c in sources}

    def add_heads(paths: list[str]) -> None:
        nonlocal used, left_out
        read = heads(paths) if heads is not None and paths and used < avail else {}
        for path in paths:
            head = read.get(path)
            if head is None or head.id in shown or used >= avail:
                continue
            if caps.get(head.id, "full") != "full":
                continue
            if used + _least_tokens(head.text) > avail:
                continue  # surely too big: not rendered, not counted
            item = costs.item(_item(head, "full", 0.0, render_full(head)))
            if item.tokens <= FULL_MAX_SHARE * avail and used + item.tokens <= avail:
                chosen.append(item)
                sources.append(head)
                shown.add(head.id)
                used += item.tokens
                left_out -= head.id in dropped

    add_heads([i.path for i in chosen if i.detail == "full"][:1])

    # Budget left over (the tiers keep reserves, the threshold cuts the list): upgrade
    # the best-ranked items to full while they fit, unless that would repeat code
    # already shown by another item inside them.
    for n, (item, chunk) in enumerate(zip(chosen, sources, strict=True)):
        if item.detail == "full" or used >= avail or caps.get(chunk.id, "full") != "full":
            continue
        if _inside(chunk, chosen):
            continue
        text = render_full(chunk)
        least = _least_tokens(text)  # the item takes at least this much: a cheap refusal
        if least > FULL_MAX_SHARE * avail or used + least - item.tokens > avail:
            continue
        full = costs.item(replace(item, detail="full", text=text))
        if full.tokens <= FULL_MAX_SHARE * avail and used + full.tokens - item.tokens <= avail:
            used += full.tokens - item.tokens
            chosen[n] = full

    # Budget still left: the other files shown in full get their heads, in the order of
    # their first item in full.
    add_heads(list(dict.fromkeys(i.path for i in chosen if i.detail == "full")))

    # Verify on the real text; trim from the tail (lowest ranked) until it fits.
    while True:
        bundle = replace(empty, items=tuple(chosen), left_out=left_out)
        text = render_text(bundle, render_fmt)
        tokens_used = tok.count(text)
        if tokens_used <= budget or not chosen:
            break
        chosen.pop()
        sources.pop()
        left_out += 1
    if tokens_used > budget:  # the header alone (already checked, but be exact)
        raise BudgetError(f"budget of {budget} tokens is too small for the bundle header")
    full_tokens = {
        _key(i): i.tokens
        if i.detail == "full"
        else costs.item(replace(i, detail="full", text=render_full(c))).tokens
        for i, c in zip(chosen, sources, strict=True)
        if account
    }
    return Fitted(bundle, text, tokens_used, full_tokens)


def _item(chunk: Chunk, detail: str, score: float, text: str) -> PackItem:
    """``chunk`` as a bundle item (its tokens counted later, by ``_Costs.item``)."""
    return PackItem(
        chunk.path,
        chunk.qualname,
        chunk.kind,
        chunk.language,
        chunk.start_line,
        chunk.end_line,
        detail,
        score,
        0,
        text,
    )


def _least_tokens(text: str) -> int:
    """A floor on the tokens of ``text`` under cl100k_base and o200k_base: their
    pre-tokenizers never put two whitespace-separated words in one piece."""
    return len(text.split())


def _full(chunk: Chunk, chosen: Sequence[PackItem]) -> tuple[str, list[int]]:
    """``chunk`` in full next to the items already ``chosen``, and those it absorbs.

    Nothing is shown twice: chosen items inside it (a class's methods) that are in full
    stay items of their own and appear in it as their signature; the others (skeletons,
    signatures) are absorbed, as it shows them whole. A module chunk shows only its
    remainder (other symbols are one-line markers in it), so nothing is inside it.
    """
    inner = _inside(chunk, chosen)
    if not inner:
        return chunk.text, []
    full = [(chosen[i].start_line, chosen[i].end_line) for i in inner if chosen[i].detail == "full"]
    shown = [r for r in full if not any(o != r and o[0] <= r[0] and r[1] <= o[1] for o in full)]
    absorbed = [i for i in inner if chosen[i].detail != "full"]
    return (render_full_except(chunk, shown) if shown else render_full(chunk)), absorbed


def _inside(chunk: Chunk, chosen: Sequence[PackItem]) -> list[int]:
    """Indexes of the chosen items inside ``chunk`` (a class's methods). A module chunk
    shows only its remainder (other symbols are one-line markers in it): none."""
    if chunk.qualname == MODULE_SYMBOL:
        return []
    return [
        i
        for i, o in enumerate(chosen)
        if o.path == chunk.path
        and (o.start_line, o.end_line) != (chunk.start_line, chunk.end_line)
        and chunk.start_line <= o.start_line
        and o.end_line <= chunk.end_line
    ]


def _text(chunk: Chunk, detail: str, keep_terms: set[str], kids: Sequence[tuple[int, int]]) -> str:
    """``chunk`` at ``detail``; ``kids``: its children's line ranges (for a skeleton)."""
    if detail == "full":
        return render_full(chunk)
    if detail == "skeleton":
        return render_skeleton(chunk, keep_terms=keep_terms, children=kids)
    if detail == "signature":
        return render_signature(chunk)
    return render_mention(chunk)
