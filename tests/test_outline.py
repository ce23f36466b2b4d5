"""The query-time outline: references decoded only where asked, exactly."""

import json
import random

from agentctx.outline import FileChildren, OutlineEntry, referrers


def _entry(cid: int, path: str, refs: list[str], start: int = 1, end: int = 2) -> OutlineEntry:
    return OutlineEntry(
        cid, path, f"f{cid}", f"f{cid}", "function", start, end, None, json.dumps(refs)
    )


def _naive(entries: list[OutlineEntry], names: set[str]) -> dict[str, list[OutlineEntry]]:
    out: dict[str, list[OutlineEntry]] = {}
    for e in entries:
        for ref in e.refs:
            if ref in names:
                out.setdefault(ref, []).append(e)
    return out


def test_referrers_match_whole_names_only():
    entries = [
        _entry(1, "a.py", ["foo", "bar"]),
        _entry(2, "a.py", ["foobar", "xfoo"]),
        _entry(3, "b.py", []),
        _entry(4, "b.py", ["bar", "foo"]),
    ]
    found = referrers(entries, {"foo"})
    assert [e.id for e in found["foo"]] == [1, 4]
    assert "bar" not in found
    assert referrers(entries, set()) == {}


def test_referrers_decode_what_is_escaped():
    # json.dumps escapes quotes, backslashes and non-ASCII: the raw text no longer holds
    # `"name"`, so such lists are decoded rather than ruled out.
    entries = [
        _entry(1, "a.py", ['say"hi', "plain"]),
        _entry(2, "a.py", ["名前"]),
        _entry(3, "a.py", ["back\\slash"]),
        _entry(4, "a.py", ['x"plain']),  # `\"plain"` must not count as `plain`
    ]
    names = {'say"hi', "名前", "back\\slash", "plain"}
    assert dict(referrers(entries, names)) == _naive(entries, names)
    assert [e.id for e in referrers(entries, {"plain"})["plain"]] == [1]


def test_referrers_equal_a_full_decode_on_random_lists():
    rng = random.Random(7)
    alphabet = ["a", "b", "_", '"', "\\", "é", ",", " ", "1"]
    pool = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(40)]
    entries = [_entry(i, "m.py", rng.sample(pool, rng.randint(0, 6))) for i in range(300)]
    for _ in range(50):
        names = set(rng.sample(pool, rng.randint(1, 5)))
        assert dict(referrers(entries, names)) == _naive(entries, names)


def test_file_children_sorted_per_file_on_demand():
    outline = {
        3: _entry(3, "a.py", [], 10, 12),
        1: _entry(1, "a.py", [], 1, 20),
        2: _entry(2, "a.py", [], 1, 5),
        4: _entry(4, "b.py", [], 4, 4),
    }
    table = FileChildren(outline)
    assert [(a, b) for a, b, _p, _q in table["a.py"]] == [(1, 20), (1, 5), (10, 12)]
    assert "c.py" not in table and table.get("c.py") is None
    assert sorted(table) == ["a.py", "b.py"] and len(table) == 2
    assert table["b.py"] == [(4, 4, None, "f4")]


def test_the_outline_is_read_once_per_index_generation(sample_repo):
    from agentctx.config import load_settings
    from agentctx.pipeline import build_index
    from agentctx.retrieve import load_outline
    from agentctx.store import IndexStore

    settings = load_settings(sample_repo, {"embedder": "hash"})
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        first = load_outline(store)
        assert load_outline(store) is first  # same index, same generation: kept
    cart = sample_repo / "src" / "shop" / "cart.py"
    cart.write_text(cart.read_text() + "\n\ndef added_later():\n    return 1\n")
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        second = load_outline(store)
    assert second is not first
    assert "added_later" in {e.name for e in second.values()}
    assert "added_later" not in {e.name for e in first.values()}
    build_index(settings, rebuild=True)  # a new database: never the kept outline
    with IndexStore.open(settings.index_dir, writer=False) as store:
        third = load_outline(store)
    assert third is not second
    assert {e.name for e in third.values()} == {e.name for e in second.values()}


def test_a_new_process_reads_the_outline_snapshot_only_while_it_is_current(
    sample_repo, monkeypatch
):
    import agentctx.retrieve as retrieve
    from agentctx.config import load_settings
    from agentctx.pipeline import build_index
    from agentctx.store import IndexStore
    from agentctx.store.db import OUTLINE_FILE

    settings = load_settings(sample_repo, {"embedder": "hash"})
    build_index(settings)  # a writer leaves the snapshot for the next process
    snapshot = settings.index_dir / OUTLINE_FILE
    assert snapshot.is_file()

    def fresh_process() -> dict[int, OutlineEntry]:
        monkeypatch.setattr(retrieve, "_last_outline", None)
        with IndexStore.open(settings.index_dir, writer=False) as store:
            return retrieve.load_outline(store)

    with IndexStore.open(settings.index_dir, writer=False) as store:
        truth = {row[0]: OutlineEntry._make(row) for row in store.outline()}
    sql_reads: list[int] = []
    real = IndexStore.outline

    def counted(self):
        sql_reads.append(1)
        return real(self)

    monkeypatch.setattr(IndexStore, "outline", counted)
    assert fresh_process() == truth and not sql_reads  # from the snapshot

    cart = sample_repo / "src" / "shop" / "cart.py"
    cart.write_text(cart.read_text() + "\n\ndef added_later():\n    return 1\n")
    build_index(settings)  # a new generation: the snapshot is rewritten by the writer
    sql_reads.clear()
    now = fresh_process()
    assert not sql_reads and "added_later" in {e.name for e in now.values()}

    stale = snapshot.read_bytes()
    cart.write_text(cart.read_text() + "\n\ndef added_again():\n    return 2\n")
    build_index(settings)
    snapshot.write_bytes(stale)  # of an older generation: never trusted
    assert "added_again" in {e.name for e in fresh_process().values()} and sql_reads
    sql_reads.clear()
    assert "added_again" in {e.name for e in fresh_process().values()} and not sql_reads

    for damaged in (snapshot.read_bytes()[:-7], b"not marshal at all", b""):
        snapshot.write_bytes(damaged)
        sql_reads.clear()
        assert "added_again" in {e.name for e in fresh_process().values()} and sql_reads

    build_index(settings, rebuild=True)  # a new database: the old snapshot went with it
    sql_reads.clear()
    assert {e.name for e in fresh_process().values()} == {e.name for e in now.values()} | {
        "added_again"
    }
    assert not sql_reads  # the rebuild wrote its own
    assert not list(settings.index_dir.glob(".*.tmp"))


def _random_entries(seed: int, n: int = 400) -> list[OutlineEntry]:
    rng = random.Random(seed)
    names = ["run", "Run", "__init__", "visit_If", "_print_Subs", "get", "名前", "a_b"]
    paths = ["pkg/a.py", "pkg/b.py", "src/x/y.py", "t/test_a.py"]
    out = []
    for _i in range(n):
        name = rng.choice(names)
        parent = rng.choice([None, "Run", "Printer"])
        qual = f"{parent}.{name}" if parent else name
        refs = rng.sample([*names, 'q"x', "back\\slash"], rng.randint(0, 4))
        start = rng.randint(1, 500)
        out.append(
            OutlineEntry(
                rng.randint(-(2**62), 2**62),
                rng.choice(paths),
                qual,
                name,
                rng.choice(["function", "method", "class"]),
                start,
                start + rng.randint(0, 40),
                parent,
                json.dumps(refs) if refs or rng.random() < 0.5 else "[]",
            )
        )
    return out


def test_the_outline_columns_read_as_the_entries_they_were_made_of():
    from agentctx.outline import Outline

    entries = _random_entries(3)
    truth = {e.id: e for e in entries}
    outline = Outline.of(entries)
    assert outline == truth and list(outline) == list(truth) and len(outline) == len(truth)
    assert all(outline[e.id] is outline[e.id] for e in entries)  # made once, then kept
    assert 12345 not in outline and outline.get(12345) is None
    assert outline.paths() == list(dict.fromkeys(e.path for e in entries))
    for e in entries[:50]:
        assert outline.path_of(e.id) == e.path
    assert outline.path_of(12345) is None
    paths, ids, codes = outline.path_codes()
    assert [paths[c] for c in codes] == [e.path for e in entries] and list(ids) == list(truth)
    for path in [*paths, "missing.py"]:
        assert outline.entries_of(path) == [e for e in entries if e.path == path]
    for wanted in ({"run"}, {"Run.run", "get"}, {"名前", "missing"}, set()):
        assert outline.named(wanted) == [e for e in entries if e.name in wanted]
        assert outline.named(wanted, qualnames=True) == [
            e for e in entries if e.name in wanted or e.qualname in wanted
        ]
    for at_most in (1, 40, 60):
        many = {n for n in {e.name for e in entries} if sum(e.name == n for e in entries) > at_most}
        assert outline.named({"run", "get", "名前"}, at_most=at_most) == [
            e for e in entries if e.name in {"run", "get", "名前"} and e.name not in many
        ]
    assert outline.names_ending(("Subs", "_If")) == [
        e for e in entries if e.name.endswith(("Subs", "_If"))
    ]
    for wanted in ({"run"}, {'q"x', "back\\slash"}, {"名前", "get", "Run"}):
        assert dict(outline.referrers(wanted)) == _naive(entries, wanted)
    assert Outline.of(outline) is outline


def test_a_snapshot_of_another_shape_is_not_trusted(sample_repo, monkeypatch):
    import marshal

    import agentctx.retrieve as retrieve
    from agentctx.config import load_settings
    from agentctx.pipeline import build_index
    from agentctx.store import IndexStore
    from agentctx.store.db import _OUTLINE_FORMAT, OUTLINE_FILE

    settings = load_settings(sample_repo, {"embedder": "hash"})
    build_index(settings)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        key = store.content_key()
        truth = {row[0]: OutlineEntry._make(row) for row in store.outline()}
        _key, columns = store.snapshot_outline(key)
    stamp = marshal.dumps((_OUTLINE_FORMAT, key)) + b"\n"
    snapshot = settings.index_dir / OUTLINE_FILE
    bad = list(columns)
    bad[10] = bad[10][:-1]  # offsets one short
    for content in ([1, 2, 3], tuple(bad), (*columns, [])):
        snapshot.write_bytes(stamp + marshal.dumps(content))
        monkeypatch.setattr(retrieve, "_last_outline", None)
        with IndexStore.open(settings.index_dir, writer=False) as store:
            assert retrieve.load_outline(store) == truth
