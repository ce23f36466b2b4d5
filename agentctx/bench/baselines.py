"""Lexical baselines for the SWE-bench harness: BM25 over whole files or over chunks.

``bm25-file`` is the retrieval of the SWE-bench paper (Jimenez et al., 2024): rank
every file by BM25 against the issue text and paste whole files, best first, until
the token budget is spent. ``bm25-symbol`` ranks the index's chunks instead and
packs them in full. Both read only what agentctx indexed (its discovery rules), so
the three methods see the same files.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..models import MODULE_SYMBOL, PackItem
from ..store import IndexStore
from ..textutil import terms
from ..tokens import Tokenizer

K1 = 1.2
B = 0.75
FILE_SYMBOL = "<file>"  # PackItem.symbol of a whole file (kind "file")


class BM25:
    """Okapi BM25 (k1=1.2, b=0.75) with Lucene's non-negative idf.

    Query terms count as often as they occur in the query, as in Pyserini's
    bag-of-words queries (the SWE-bench paper's retriever).
    """

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = K1, b: float = B) -> None:
        self.k1 = k1
        self.b = b
        self.n = len(docs)
        self.lengths = [len(d) for d in docs]
        self.avgdl = (sum(self.lengths) / self.n) if self.n else 1.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                self.postings.setdefault(term, []).append((i, tf))
        self.idf = {
            t: math.log(1.0 + (self.n - len(p) + 0.5) / (len(p) + 0.5))
            for t, p in self.postings.items()
        }

    def scores(self, query_terms: Sequence[str]) -> dict[int, float]:
        """Document index -> score, for documents sharing at least one term."""
        out: dict[int, float] = {}
        avgdl = self.avgdl or 1.0
        for term, qtf in Counter(query_terms).items():
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf[term]
            for doc, tf in postings:
                norm = self.k1 * (1.0 - self.b + self.b * self.lengths[doc] / avgdl)
                out[doc] = out.get(doc, 0.0) + qtf * idf * tf * (self.k1 + 1.0) / (tf + norm)
        return out

    def rank(self, query_terms: Sequence[str]) -> list[tuple[int, float]]:
        """(document index, score) with a positive score, best first; ties by index."""
        scored = [(d, s) for d, s in self.scores(query_terms).items() if s > 0]
        scored.sort(key=lambda ds: (-ds[1], ds[0]))
        return scored


@dataclass(frozen=True, slots=True)
class BaselineAnswer:
    """What a baseline packed for one budget, shaped like ``pack``'s result."""

    items: tuple[PackItem, ...]
    text: str
    tokens_used: int
    ranked_files: list[str]  # distinct files in rank order


@dataclass(frozen=True, slots=True)
class _Doc:
    path: str
    symbol: str
    kind: str
    language: str
    start_line: int
    end_line: int
    text: str
    block: str  # the rendered text that is packed and counted
    search: str  # the text BM25 indexes


def _body(text: str) -> str:
    return text if text.endswith("\n") or not text else text + "\n"


def file_block(path: str, text: str) -> str:
    """How bm25-file shows a file (the SWE-bench prompt's wrapper, without line numbers)."""
    return f"[start of {path}]\n{_body(text)}[end of {path}]\n"


def chunk_block(path: str, qualname: str, start: int, end: int, text: str) -> str:
    """How bm25-symbol shows a chunk."""
    return f"[{path}:{start}-{end} {qualname}]\n{_body(text)}"


class _Baseline:
    """A BM25 ranking over ``docs`` and a greedy packer in rank order."""

    def __init__(self, docs: list[_Doc]) -> None:
        self.docs = docs
        self.bm25 = BM25([list(terms(d.search)) for d in docs])
        self._costs: dict[tuple[str, int], int] = {}

    @classmethod
    def build(cls, root: Path, store: IndexStore) -> _Baseline:
        raise NotImplementedError

    def _cost(self, tok: Tokenizer, i: int) -> int:
        key = (tok.name, i)
        cost = self._costs.get(key)
        if cost is None:
            cost = self._costs[key] = tok.count(self.docs[i].block)
        return cost

    def prepare(self, tok: Tokenizer) -> None:
        """Count every document once up front (index time), not during the first query."""
        for i in range(len(self.docs)):
            self._cost(tok, i)

    def _skip(self, doc: _Doc, chosen: list[_Doc]) -> bool:
        return False

    def answer(self, query: str, budget: int, tok: Tokenizer) -> BaselineAnswer:
        ranking = self.bm25.rank(list(terms(query)))
        ranked_files = list(dict.fromkeys(self.docs[i].path for i, _ in ranking))
        used = 0
        chosen: list[tuple[int, float, int]] = []  # (doc, score, tokens)
        picked: list[_Doc] = []
        for i, score in ranking:
            if used >= budget:
                break
            doc = self.docs[i]
            if self._skip(doc, picked):
                continue
            cost = self._cost(tok, i)
            if used + cost > budget:
                continue  # does not fit: a smaller one further down may
            chosen.append((i, score, cost))
            picked.append(doc)
            used += cost
        # Counted block by block; verify on the whole text and trim from the tail.
        while True:
            text = "".join(self.docs[i].block for i, _, _ in chosen)
            tokens_used = tok.count(text)
            if tokens_used <= budget or not chosen:
                break
            chosen.pop()
        top = ranking[0][1] if ranking else 1.0
        items = tuple(
            PackItem(
                path=self.docs[i].path,
                symbol=self.docs[i].symbol,
                kind=self.docs[i].kind,
                language=self.docs[i].language,
                start_line=self.docs[i].start_line,
                end_line=self.docs[i].end_line,
                detail="full",
                score=score / top if top else 0.0,
                tokens=cost,
                text=self.docs[i].text,
            )
            for i, score, cost in chosen
        )
        return BaselineAnswer(items, text, tokens_used, ranked_files)


class FileBaseline(_Baseline):
    """Whole files ranked by BM25 and pasted whole (the SWE-bench paper's method).

    A file's document is its path and its contents, as in SWE-bench's retrieval.
    """

    @classmethod
    def build(cls, root: Path, store: IndexStore) -> FileBaseline:
        docs: list[_Doc] = []
        for path, rec in sorted(store.manifest().items()):
            try:
                text = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            lines = max(1, text.count("\n") + (not text.endswith("\n")))
            block = file_block(path, text)
            search = f"{path}\n{text}"  # SWE-bench's "file_name_and_contents" document
            docs.append(
                _Doc(path, FILE_SYMBOL, "file", rec.language, 1, lines, text, block, search)
            )
        return cls(docs)


class SymbolBaseline(_Baseline):
    """The index's chunks ranked by BM25 over their source text, packed in full."""

    @classmethod
    def build(cls, root: Path, store: IndexStore) -> SymbolBaseline:
        docs = [
            _Doc(
                c.path,
                c.qualname,
                c.kind,
                c.language,
                c.start_line,
                c.end_line,
                c.text,
                chunk_block(c.path, c.qualname, c.start_line, c.end_line, c.text),
                c.text,
            )
            for c in store.chunks_in_files(store.file_paths())
        ]
        return cls(docs)

    def _skip(self, doc: _Doc, chosen: list[_Doc]) -> bool:
        """A chunk already shown inside a packed class or function is not packed twice."""
        return any(
            c.path == doc.path
            and c.symbol != MODULE_SYMBOL  # the module chunk is the file's remainder only
            and c.start_line <= doc.start_line
            and doc.end_line <= c.end_line
            for c in chosen
        )


BASELINES: dict[str, type[_Baseline]] = {"bm25-file": FileBaseline, "bm25-symbol": SymbolBaseline}


def build_baseline(method: str, root: Path, store: IndexStore) -> _Baseline:
    """The baseline called ``method`` over the index of ``root``."""
    return BASELINES[method].build(root, store)
