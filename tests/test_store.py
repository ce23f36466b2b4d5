"""The store on real SQLite and real FAISS: atomic state, versioning, repair, locking."""

import multiprocessing
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from agentctx.chunk import chunk_file
from agentctx.errors import IndexStateError, LockedError
from agentctx.models import ParsedFile, Symbol
from agentctx.store import FORMAT_VERSION, FileRecord, IndexStore
from agentctx.store.vectors import FAISS_NAME, VectorIndex


def _chunks(path: str = "a.py", names: tuple[str, ...] = ("alpha", "beta")):
    syms = tuple(
        Symbol(
            n,
            n,
            "function",
            i * 3 + 1,
            i * 3 + 2,
            f"def {n}():",
            "",
            (),
            None,
            f"def {n}():\n    return {i}",
        )
        for i, n in enumerate(names)
    )
    return chunk_file(ParsedFile(path, "python", syms))


def _add_file(store: IndexStore, chunks, size: int) -> None:
    """One write: file ``a.py`` (``size`` bytes) and its ``chunks``, nothing removed."""
    store.apply(
        files=[FileRecord("a.py", size, 1, "h", "python")],
        removed_paths=[],
        upserts=chunks,
        deletes=[],
        keep_vectors=set(),
    )


def _unit(rows: int, dim: int = 8, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(rows, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_create_apply_pending_and_vectors(tmp_path: Path):
    idx = tmp_path / ".agentctx"
    chunks = _chunks()
    with IndexStore.open(idx, writer=True) as store:
        assert store.meta("format_version") == str(FORMAT_VERSION)
        _add_file(store, chunks, size=10)
        assert store.pending_count() == 2
        vec = _unit(1)[0]
        store.put_vectors([(chunks[0].id, chunks[0].embed_hash, vec.tobytes())])
        assert [p[0] for p in store.pending()] == [chunks[1].id]
        assert store.counts() == (1, 2, {"python": 2})
        # Lexical rows exist and match split identifiers.
        hits = store.conn.execute("SELECT rowid FROM lexical WHERE lexical MATCH 'beta'").fetchall()
        assert hits == [(chunks[1].id,)]
    # Reopen as a reader: everything persisted.
    with IndexStore.open(idx, writer=False) as store:
        assert store.vector_count() == 1
        assert set(store.manifest()) == {"a.py"}


def test_removing_a_file_removes_chunks_vectors_and_lexical(tmp_path: Path):
    chunks = _chunks()
    with IndexStore.open(tmp_path, writer=True) as store:
        _add_file(store, chunks, size=1)
        store.put_vectors([(c.id, c.embed_hash, _unit(1)[0].tobytes()) for c in chunks])
        store.apply(files=[], removed_paths=["a.py"], upserts=[], deletes=[], keep_vectors=set())
        assert store.chunk_count() == 0 and store.vector_count() == 0
        assert store.conn.execute("SELECT COUNT(*) FROM lexical").fetchone()[0] == 0
        assert store.manifest() == {}


def test_reader_without_index_is_a_clear_error(tmp_path: Path):
    with pytest.raises(IndexStateError, match="no index"):
        IndexStore.open(tmp_path / ".agentctx", writer=False)


def test_foreign_version_is_rebuilt_with_notice(tmp_path: Path):
    with IndexStore.open(tmp_path, writer=True) as store:
        store.apply(
            files=[FileRecord("a.py", 1, 1, "h", "python")],
            removed_paths=[],
            upserts=_chunks(),
            deletes=[],
            keep_vectors=set(),
        )
        store.set_meta({"format_version": 999})
    with pytest.raises(IndexStateError, match="v999"):
        IndexStore.open(tmp_path, writer=False)
    with IndexStore.open(tmp_path, writer=True) as store:
        assert any("v999" in n and "rebuilding" in n for n in store.notices)
        assert store.chunk_count() == 0
        assert store.meta("format_version") == str(FORMAT_VERSION)


def test_corrupt_database_is_rebuilt(tmp_path: Path):
    (tmp_path / "index.db").write_bytes(b"this is not a sqlite database at all" * 100)
    with IndexStore.open(tmp_path, writer=True) as store:
        assert any("corrupt" in n for n in store.notices)
        assert store.chunk_count() == 0
    conn = sqlite3.connect(tmp_path / "index.db")
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def _hold_lock(path: str, ready, release) -> None:
    with IndexStore.open(Path(path), writer=True):
        ready.set()
        release.wait(10)


def test_second_writer_waits_then_fails_with_locked_error(tmp_path: Path):
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_hold_lock, args=(str(tmp_path), ready, release))
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(LockedError, match="another agentctx process"):
            IndexStore.open(tmp_path, writer=True, lock_timeout=0.3)
        # Readers are never blocked by a writer.
        with IndexStore.open(tmp_path, writer=False) as reader:
            assert reader.chunk_count() == 0
    finally:
        release.set()
        proc.join(10)
    # The lock dies with its holder: a new writer gets in at once.
    with IndexStore.open(tmp_path, writer=True, lock_timeout=0.3):
        pass


def _same_hits(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> bool:
    """Same ids in the same order, scores equal to float32 rounding."""
    return [i for i, _ in a] == [i for i, _ in b] and all(
        abs(x - y) < 1e-6 for (_, x), (_, y) in zip(a, b, strict=True)
    )


def test_saved_flat_index_is_answered_without_faiss_as_faiss_answers(tmp_path: Path):
    """``MappedFlat`` reads FAISS's own file: same top-k as FAISS (ties in stored order),
    the vectors and ids mapped; anything but that exact layout is left to FAISS."""
    import faiss

    from agentctx.store.vectors import MappedFlat

    dim, n = 16, 500
    vecs = _unit(n, dim, seed=3)
    vecs[7] = vecs[3]  # a tie: identical chunks embed identically
    ids = np.random.default_rng(4).integers(1, 2**62, n)
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    index.add_with_ids(vecs, ids)
    path = tmp_path / "v.faiss"
    faiss.write_index(index, str(path))
    flat = MappedFlat.open(path, dim)
    assert flat is not None and flat.ntotal == n and not flat.vectors.flags.owndata
    assert np.array_equal(flat.vectors, vecs) and np.array_equal(flat.ids, ids)
    for q in [*_unit(20, dim, seed=5), vecs[3]]:
        for k in (1, 10, n, n + 5):
            want_s, want_i = index.search(q[None, :], min(k, n))
            got_s, got_i = flat.search(q[None, :], min(k, n))
            # FAISS's scores, best first; each id with its own score (ties in any order).
            assert np.allclose(got_s, want_s, atol=1e-6)
            true = dict(zip(ids.tolist(), (vecs @ q).tolist(), strict=True))
            assert np.allclose([true[i] for i in got_i[0].tolist()], got_s[0], atol=1e-6)
            assert len(set(got_i[0].tolist())) == len(got_i[0])
            cut = want_s[0][-1] + 1e-6  # clear of the last place's ties: the same ids
            clear = [
                {i for i, x in zip(found[0].tolist(), sc[0].tolist(), strict=True) if x > cut}
                for found, sc in ((got_i, got_s), (want_i, want_s))
            ]
            assert clear[0] == clear[1]
    _, tied = flat.search(vecs[3][None, :], 2)
    assert tied[0].tolist() == [ids[7], ids[3]]  # equal scores: last stored first
    # Every cosine, as the centroid signal reads them: the last search's product, reused
    # for the same query only; a FAISS-read index gives the same numbers.
    from agentctx.store.vectors import VectorIndex

    q = _unit(1, dim, seed=9)[0]
    mapped, read = VectorIndex(flat, dim, mapped=True), VectorIndex(index, dim)
    mapped.search(q, 5)
    assert mapped.cosines(q) is flat.product(q) and np.allclose(mapped.cosines(q), vecs @ q)
    assert np.allclose(mapped.cosines(vecs[0]), vecs @ vecs[0])  # another query: computed
    assert np.allclose(read.cosines(q), mapped.cosines(q), atol=1e-6)

    assert MappedFlat.open(path, dim + 1) is None  # another model's dimension
    data = path.read_bytes()
    for bad in (data[:-8], data + b"\0", b"garbage", data.replace(b"IxFI", b"IxF2", 1)):
        path.write_bytes(bad)
        assert MappedFlat.open(path, dim) is None
    l2 = faiss.IndexIDMap2(faiss.IndexFlatL2(dim))  # not inner product
    l2.add_with_ids(vecs, ids)
    faiss.write_index(l2, str(path))
    assert MappedFlat.open(path, dim) is None


def _three_vectors(store: IndexStore) -> tuple[list, np.ndarray, VectorIndex]:
    """Three chunks with unit vectors written to ``store``, and their vector index."""
    chunks = _chunks(names=("a1", "a2", "a3"))
    vecs = _unit(3)
    store.apply(files=[], removed_paths=[], upserts=chunks, deletes=[], keep_vectors=set())
    store.put_vectors([(c.id, c.embed_hash, vecs[i].tobytes()) for i, c in enumerate(chunks)])
    return chunks, vecs, VectorIndex.from_store(store, 8)


def test_faiss_roundtrip_generation_and_rebuild(tmp_path: Path):
    with IndexStore.open(tmp_path, writer=True) as store:
        chunks, vecs, vi = _three_vectors(store)
        assert vi.ntotal == 3
        top = vi.search(vecs[1], 1)
        assert top[0][0] == chunks[1].id and top[0][1] == pytest.approx(1.0, abs=1e-5)
        vi.save(store)
        loaded, rebuilt = VectorIndex.load(store, 8)
        assert not rebuilt and loaded.ntotal == 3
        # A query's index maps the file: the same answers, and read-only (FAISS would
        # abort the process on a resize, so it is refused before that).
        assert loaded.mapped and _same_hits(loaded.search(vecs[2], 3), vi.search(vecs[2], 3))
        assert np.array_equal(loaded.matrix()[1], vi.matrix()[1])
        assert np.array_equal(loaded.matrix()[0], vi.matrix()[0])
        with pytest.raises(RuntimeError, match="read-only"):
            loaded.remove([chunks[1].id])
        with pytest.raises(RuntimeError, match="read-only"):
            loaded.add([chunks[1].id], vecs[1:2])
        with pytest.raises(RuntimeError, match="read-only"):
            loaded.save(store)
        # Single chunks can be removed and re-added by id (a writer's own index).
        vi.remove([chunks[1].id])
        assert chunks[1].id not in {i for i, _ in vi.search(vecs[1], 3)}
        before = loaded.search(vecs[1], 3)
        vi.save(store)  # replaces the file under the mapped index: it still answers
        assert loaded.search(vecs[1], 3) == before and loaded.ntotal == 3
        vi.add([chunks[1].id], vecs[1:2])
        assert vi.search(vecs[1], 1)[0][0] == chunks[1].id
        vi.save(store)
        # A database change makes the file stale: load rebuilds from the blobs.
        store.apply(
            files=[], removed_paths=[], upserts=[], deletes=[chunks[0].id], keep_vectors=set()
        )
        loaded, rebuilt = VectorIndex.load(store, 8)
        assert rebuilt and loaded.ntotal == 2
        loaded.save(store)
    # A corrupt faiss file is rebuilt, never a crash.
    (tmp_path / FAISS_NAME).write_bytes(b"garbage")
    with IndexStore.open(tmp_path, writer=False) as store:
        loaded, rebuilt = VectorIndex.load(store, 8)
        assert rebuilt and loaded.ntotal == 2


def _fresh_counts(store: IndexStore) -> tuple[int, int, int]:
    """(pending, vectors, files) counted from the tables, past any remembered value."""
    pending = store.conn.execute(f"SELECT COUNT(*) {store._PENDING}").fetchone()[0]
    vectors = store.conn.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
    files = store.conn.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    return pending, vectors, files


def _counted(store: IndexStore) -> tuple[int, int, int]:
    return store.pending_count(), store.vector_count(), store.counts()[0]


def test_remembered_counts_follow_every_write(tmp_path: Path):
    """Counts are remembered under the generation; each kind of write changes them."""
    idx = tmp_path / ".agentctx"
    chunks = _chunks(names=("alpha", "beta", "gamma"))
    record = FileRecord("a.py", 10, 1, "h", "python")
    vectors = [(c.id, c.embed_hash, v.tobytes()) for c, v in zip(chunks, _unit(3), strict=True)]
    with IndexStore.open(idx, writer=True) as store:
        steps = [
            lambda: store.apply(
                files=[record], removed_paths=[], upserts=chunks, deletes=[], keep_vectors=set()
            ),
            lambda: store.put_vectors(vectors[:2]),
            lambda: store.apply(
                files=[], removed_paths=[], upserts=[], deletes=[chunks[0].id], keep_vectors=set()
            ),
            store.drop_vectors,
            lambda: store.apply(
                files=[], removed_paths=["a.py"], upserts=[], deletes=[], keep_vectors=set()
            ),
        ]
        seen = []
        for step in steps:
            assert _counted(store) == _fresh_counts(store)  # remembered before the write
            step()
            assert _counted(store) == _fresh_counts(store)
            seen.append(_counted(store))
        assert seen == [(3, 0, 1), (1, 2, 1), (1, 1, 1), (2, 0, 1), (0, 0, 0)]


def test_queries_read_remembered_counts_until_the_generation_moves(tmp_path: Path):
    idx = tmp_path / ".agentctx"
    chunks = _chunks()
    with IndexStore.open(idx, writer=True) as store:
        _add_file(store, chunks, size=10)
        store.remember_counts()
        gen = store.meta("generation")
        assert store.meta("remembered:pending") == f'["{gen}", 2]'
    with IndexStore.open(idx, writer=False) as reader:
        assert reader.pending_count() == 2
    # A remembered value is what a query answers while the generation stands (a value
    # planted here proves it is read, not recounted)...
    with IndexStore.open(idx, writer=True) as store:
        store.set_meta({"remembered:pending": f'["{gen}", 7]'})
    with IndexStore.open(idx, writer=False) as reader:
        assert reader.pending_count() == 7
    # ...and is ignored once a write has moved it; a reader counts but never writes.
    with IndexStore.open(idx, writer=True) as store:
        store.put_vectors([(chunks[0].id, chunks[0].embed_hash, _unit(1)[0].tobytes())])
    with IndexStore.open(idx, writer=False) as reader:
        assert reader.pending_count() == 1
        assert reader.meta("remembered:pending") == f'["{gen}", 7]'
    with IndexStore.open(idx, writer=True) as store:
        store.set_meta({"remembered:pending": "not json"})
        assert store.pending_count() == 1  # unreadable: counted again and rewritten
        assert store.meta("remembered:pending") == f'["{store.generation()}", 1]'


def test_centroid_lifts_the_file_about_the_query_as_a_whole(tmp_path: Path):
    """Cosine to each file's mean vector, over real FAISS; norms remembered per generation."""
    from agentctx.retrieve import centroid_scores, file_norms, remember_file_norms

    dim = 8
    q = np.zeros(dim, dtype=np.float32)
    q[0] = 1.0

    def unit(*xs: float) -> np.ndarray:
        v = np.asarray(xs + (0.0,) * (dim - len(xs)), dtype=np.float32)
        return v / np.linalg.norm(v)

    # spread.py: three chunks, each partly about the query, all alike (a coherent topic).
    # spike.py: one chunk nearly the query, two about other things entirely.
    spread = _chunks("spread.py", ("s1", "s2", "s3"))
    spike = _chunks("spike.py", ("p1", "p2", "p3"))
    vectors = {
        spread[0].id: unit(0.8, 0.6),
        spread[1].id: unit(0.8, 0.6),
        spread[2].id: unit(0.8, 0.5, 0.1),
        spike[0].id: unit(0.95, 0.3),
        spike[1].id: unit(0, 0, 1),
        spike[2].id: unit(0, 0, 0, 1),
    }
    with IndexStore.open(tmp_path, writer=True) as store:
        store.apply(
            files=[], removed_paths=[], upserts=spread + spike, deletes=[], keep_vectors=set()
        )
        by_id = {c.id: c for c in spread + spike}
        store.put_vectors([(i, by_id[i].embed_hash, v.tobytes()) for i, v in vectors.items()])
        index = VectorIndex.from_store(store, dim)
        assert index.search(q, 1)[0][0] == spike[0].id  # the best single chunk is spike's
        path_of = store.chunk_paths()
        norms = file_norms(index, path_of)
        expected = np.linalg.norm(sum(vectors[c.id] for c in spread))
        assert norms["spread.py"] == pytest.approx(float(expected), rel=1e-5)
        scores = centroid_scores(store, index, path_of, q)
        assert scores == {"spread.py": 1.0, "spike.py": pytest.approx(1 / 1.5)}
        assert store.is_remembered("file_norms")  # a writer stores what it computed
        # A write moves the generation: the norms are computed again, not misread.
        store.apply(
            files=[], removed_paths=[], upserts=[], deletes=[spread[0].id], keep_vectors=set()
        )
        assert not store.is_remembered("file_norms")
        VectorIndex.from_store(store, dim).save(store)
    with IndexStore.open(tmp_path, writer=False) as reader:  # computes, never stores
        index, _ = VectorIndex.load(reader, dim)
        scores = centroid_scores(reader, index, reader.chunk_paths(), q)
        assert scores == {"spread.py": 1.0, "spike.py": pytest.approx(1 / 1.5)}
        assert not reader.is_remembered("file_norms")
    with IndexStore.open(tmp_path, writer=True) as store:
        remember_file_norms(store, dim)  # what `index` does after its last write
        assert store.is_remembered("file_norms")


def test_refs_read_back_exactly_as_json_wrote_them():
    import json

    from agentctx.store.db import decode_refs

    for refs in ([], ["a"], ["self.x", "b_c", "D"], ['q"uote', "back\\slash"], ["é", "x, y"]):
        assert decode_refs(json.dumps(refs)) == tuple(refs)


def test_a_writer_carries_a_remembered_value_over_only_from_its_own_generation(tmp_path: Path):
    with IndexStore.open(tmp_path, writer=True) as store:
        store.apply(files=[], removed_paths=[], upserts=_chunks(), deletes=[], keep_vectors=set())
        assert store.remembered("norms", lambda: {"a.py": 1.5}) == {"a.py": 1.5}
        before = store.meta("generation")
        store.apply(files=[], removed_paths=[], upserts=[], deletes=[], keep_vectors=set())
        assert not store.is_remembered("norms")
        assert not store.carry_over("norms", str(int(before) - 1))  # not what was stored
        assert store.carry_over("norms", before)
        assert store.is_remembered("norms") and store.recall("norms") == {"a.py": 1.5}
    with IndexStore.open(tmp_path, writer=False) as reader:
        assert not reader.carry_over("norms", reader.meta("generation"))  # writers only


def test_faiss_file_under_a_directory_not_named_in_utf8(tmp_path: Path, monkeypatch):
    """faiss takes a path as UTF-8 only; the file is written and read through Python's
    file objects there (the same bytes), and faiss answers as from a plain path."""
    import os

    from agentctx.store import vectors

    odd = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"r\xe9po")))
    odd.mkdir()
    with IndexStore.open(odd, writer=True) as store:
        _, vecs, vi = _three_vectors(store)
        vi.save(store)
        monkeypatch.setattr(vectors.MappedFlat, "open", classmethod(lambda cls, p, d: None))
        loaded, rebuilt = VectorIndex.load(store, 8)  # by faiss, from the file
        assert not rebuilt and loaded.ntotal == 3 and not loaded.mapped
        assert _same_hits(loaded.search(vecs[2], 3), vi.search(vecs[2], 3))
    plain = tmp_path / "plain"
    plain.mkdir()
    with IndexStore.open(plain, writer=True) as store:
        _three_vectors(store)[2].save(store)
    assert (odd / FAISS_NAME).read_bytes() == (plain / FAISS_NAME).read_bytes()
