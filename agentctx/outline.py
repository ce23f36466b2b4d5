"""The query-time outline: every chunk of the index as retrieval and ranking see it (where
it is, what it is named, what it refers to; no text).

A query needs the whole outline (a name the report mentions may be anywhere) but reads
the entries of only a few hundred chunks. So the outline is kept as columns, the form the
store's snapshot holds, and an entry is made when it is asked for. What a query looks up
over all chunks (chunks by name, a file's chunks, the chunks that refer to a name, each
chunk's file) runs over the columns. On Django (40,000 chunks) a query's outline cost
~160 ms as entries, plus ~130 ms of scans over them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from itertools import compress
from operator import methodcaller, or_
from typing import TYPE_CHECKING, NamedTuple

from .store import OutlineColumns, decode_refs, outline_columns

if TYPE_CHECKING:
    import numpy as np


class OutlineEntry(NamedTuple):
    """One chunk as retrieval and ranking see it: where it is, no text.

    Holds the references as the index stores them, a JSON list: ``refs`` decodes them,
    and the outline finds the chunks that name given symbols without decoding the rest.
    """

    id: int
    path: str
    qualname: str
    name: str
    kind: str
    start_line: int
    end_line: int
    parent: str | None
    stored_refs: str = "[]"

    @property
    def refs(self) -> tuple[str, ...]:
        """The names this chunk refers to (calls, attributes, bases)."""
        return decode_refs(self.stored_refs)


class Outline(Mapping[int, OutlineEntry]):
    """Chunk id -> its entry, over the columns of the outline; entries are made on demand
    and kept. Never changed once made (shared by every query of a process)."""

    __slots__ = (
        "_codes",
        "_ends",
        "_groups",
        "_ids",
        "_kinds",
        "_made",
        "_names",
        "_odd",
        "_offsets",
        "_parents",
        "_paths",
        "_quals",
        "_refs",
        "_row",
        "_starts",
    )

    def __init__(self, columns: OutlineColumns) -> None:
        (
            self._ids,
            self._paths,
            self._codes,
            self._quals,
            self._names,
            self._kinds,
            self._starts,
            self._ends,
            self._parents,
            self._refs,
            self._offsets,
            self._odd,
        ) = columns
        self._row = dict(zip(self._ids, range(len(self._ids)), strict=True))
        self._made: dict[int, OutlineEntry] = {}
        self._groups: dict[str, list[int]] | None = None

    @classmethod
    def of(cls, entries: Mapping[int, OutlineEntry] | Iterable[OutlineEntry]) -> Outline:
        """The outline of given entries (in their order); an outline is returned as it is."""
        if isinstance(entries, Outline):
            return entries
        values = entries.values() if isinstance(entries, Mapping) else entries
        return cls(outline_columns(values))

    # ------------------------------------------------------------------ mapping
    def __getitem__(self, cid: int) -> OutlineEntry:
        return self.at(self._row[cid])

    def __contains__(self, cid: object) -> bool:
        return cid in self._row

    def __iter__(self) -> Iterator[int]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def at(self, row: int) -> OutlineEntry:
        """The entry of the chunk in ``row`` (outline order)."""
        entry = self._made.get(row)
        if entry is None:
            entry = self._made[row] = OutlineEntry(
                self._ids[row],
                self._paths[self._codes[row]],
                self._quals[row],
                self._names[row],
                self._kinds[row],
                self._starts[row],
                self._ends[row],
                self._parents[row],
                self._refs[self._offsets[row] : self._offsets[row + 1] - 1],
            )
        return entry

    def path_of(self, cid: int) -> str | None:
        """The chunk's path (None: no such chunk), without making its entry."""
        row = self._row.get(cid)
        return None if row is None else self._paths[self._codes[row]]

    def _entries(self, rows: Iterable[int]) -> list[OutlineEntry]:
        at = self.at
        return [at(row) for row in rows]

    # ------------------------------------------------------------------ lookups
    def paths(self) -> list[str]:
        """The distinct paths, in the order their first chunks come."""
        return self._paths

    def path_codes(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(distinct paths, every chunk's id, the index of its path among them)."""
        import numpy as np

        return (
            self._paths,
            np.fromiter(self._ids, np.int64, count=len(self._ids)),
            np.fromiter(self._codes, np.int64, count=len(self._codes)),
        )

    @property
    def ids(self) -> Sequence[int]:
        """Each row's chunk id (outline order)."""
        return self._ids

    @property
    def start_lines(self) -> Sequence[int]:
        """Each row's first line."""
        return self._starts

    def rows_of(self, path: str) -> Sequence[int]:
        """The rows of the file's chunks, in outline order (none for a path without chunks)."""
        if self._groups is None:
            import numpy as np

            codes = np.fromiter(self._codes, np.int64, count=len(self._codes))
            order = np.argsort(codes, kind="stable")  # each file's rows together, in order
            bounds = np.searchsorted(codes[order], np.arange(len(self._paths) + 1)).tolist()
            rows = order.tolist()
            self._groups = {
                path: rows[bounds[i] : bounds[i + 1]] for i, path in enumerate(self._paths)
            }
        return self._groups.get(path, ())

    def entries_of(self, path: str) -> list[OutlineEntry]:
        """The file's entries in outline order (none for a path without chunks)."""
        return self._entries(self.rows_of(path))

    def named(
        self, names: Collection[str], *, qualnames: bool = False, at_most: int | None = None
    ) -> list[OutlineEntry]:
        """Entries whose name (or, with ``qualnames``, qualified name) is one of ``names``,
        in outline order. A scan in C (map, compress): a query asks a few times, each
        ~2 ms on 40,000 chunks, less than building a table of names would take.

        ``at_most``: only names that at most that many entries bear (the others are not
        made: Django has ~3,000 ``__init__``)."""
        wanted = names if isinstance(names, (set, frozenset)) else set(names)
        hit: Iterator[bool] = map(wanted.__contains__, self._names)
        if qualnames:
            hit = map(or_, hit, map(wanted.__contains__, self._quals))
        rows: Iterable[int] = compress(range(len(self._names)), hit)
        if at_most is not None:
            assert not qualnames, "at_most counts names"
            found = list(rows)
            count = Counter(map(self._names.__getitem__, found))
            rows = (r for r in found if count[self._names[r]] <= at_most)
        return self._entries(rows)

    def names_ending(self, ends: tuple[str, ...]) -> list[OutlineEntry]:
        """Entries whose name ends with one of ``ends``, in outline order."""
        hit = map(methodcaller("endswith", ends), self._names)
        return self._entries(compress(range(len(self._names)), hit))

    def referrers(self, names: Collection[str]) -> dict[str, list[OutlineEntry]]:
        """Per name of ``names``, the entries whose references include it, in order.

        Exact: a list without escapes holds each name as ``"name"`` between real quotes,
        so one search of all the lists' text finds the chunks that may refer to one; those,
        and the few lists with escapes, are decoded and checked.
        """
        out: dict[str, list[OutlineEntry]] = defaultdict(list)
        wanted = set(names)
        if not wanted:
            return out
        pattern = re.compile('"(?:' + "|".join(re.escape(n) for n in sorted(wanted)) + ')"')
        offsets = self._offsets
        rows = {bisect_right(offsets, m.start()) - 1 for m in pattern.finditer(self._refs)}
        rows.update(self._odd)
        for row in sorted(rows):
            e = self.at(row)
            for ref in e.refs:
                if ref in wanted:
                    out[ref].append(e)
        return out


def referrers(
    entries: Outline | Iterable[OutlineEntry], names: Collection[str]
) -> dict[str, list[OutlineEntry]]:
    """Per name of ``names``, the entries whose references include it, in order."""
    return Outline.of(entries).referrers(names)


class FileChildren(Mapping[str, list[tuple[int, int, "str | None", str]]]):
    """Per file, its symbols' (start, end, parent, qualname) in line order: what the
    budget stage needs to elide a hit's children.

    A file's list is sorted when first asked for: a bundle shows a few dozen files of a
    repository that may have thousands.
    """

    def __init__(self, outline: Mapping[int, OutlineEntry]) -> None:
        self._outline = Outline.of(outline)
        self._sorted: dict[str, list[tuple[int, int, str | None, str]]] = {}

    def entries(self, path: str) -> list[OutlineEntry]:
        """The file's entries in outline order (none for a path without symbols)."""
        return self._outline.entries_of(path)

    def __getitem__(self, path: str) -> list[tuple[int, int, str | None, str]]:
        done = self._sorted.get(path)
        if done is None:
            entries = self._outline.entries_of(path)
            if not entries:
                raise KeyError(path)  # no symbol of the outline is there
            done = self._sorted[path] = [
                (e.start_line, e.end_line, e.parent, e.qualname)
                for e in sorted(entries, key=lambda e: (e.start_line, -e.end_line, e.id))
            ]
        return done

    def __contains__(self, path: object) -> bool:
        return bool(self._outline.rows_of(path))  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._outline.paths())

    def __len__(self) -> int:
        return len(self._outline.paths())
