"""build_index end to end on the sample repository: real tree-sitter, real SQLite and FAISS.

The fast tests use the model-free ``hash`` embedder; ``test_index_real.py`` repeats the
essential ones with the real MiniLM model.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from probes import noop_probe

from agentctx.config import load_settings
from agentctx.embed.hashing import HashingEmbedder
from agentctx.pipeline import Interrupted, build_index
from agentctx.store import IndexStore
from agentctx.store.vectors import VectorIndex


def _settings(root: Path, **kw):
    return load_settings(root, {"embedder": "hash", **kw})


def _index_files(root: Path, files: dict[str, str]) -> None:
    """Write ``files`` (relative path -> text) under ``root`` and index them."""
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    build_index(_settings(root))


def _list_names(root: Path, candidates, query: str) -> set[str]:
    """Qualified names of the chunks one candidate list of ``retrieve`` gives for ``query``."""
    from agentctx.query import parse_query
    from agentctx.retrieve import load_outline

    with IndexStore.open(root / ".agentctx", writer=False) as store:
        outline = load_outline(store)
        hits = candidates(store, parse_query(query), outline)
    return {outline[cid].qualname for cid, _ in hits}


def _retrieved(root: Path, signals):
    """Every candidate list ``retrieve`` gives for ``signals`` on ``root``'s index (no
    query vector)."""
    from agentctx.retrieve import retrieve

    with IndexStore.open(root / ".agentctx", writer=False) as store:
        return retrieve(store, signals, root=root, query_vector=None, dim=0)


def _names(refs) -> set[str]:
    return {r.symbol for r in refs}


def test_first_build_indexes_every_language_and_skips_what_it_must(sample_repo: Path):
    report = build_index(_settings(sample_repo))
    assert report.created
    assert report.files_total > 5
    assert {"python", "typescript", "go"} <= set(report.languages)
    assert "Cart.add_item" in _names(report.symbols_added)
    assert report.chunks_embedded == report.chunks_total > report.symbols_total
    assert report.chunks_pending == 0
    assert report.skipped.get("binary") == 1
    assert report.skipped.get("symlink-outside-root") == 1
    assert "docs/notes.txt" in report.decode_errors
    assert "src/shop/legacy.py" in report.parse_errors
    # Nothing ignored made it in.
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        paths = set(store.manifest())
        vi, rebuilt = VectorIndex.load(store, HashingEmbedder().dim)
        assert not rebuilt and vi.ntotal == report.chunks_total
    assert not any(p.startswith(("build/", "node_modules/")) or p.endswith(".log") for p in paths)
    assert "generated.py" not in paths
    exclude = (sample_repo / ".git" / "info" / "exclude").read_text()
    assert ".agentctx/" in exclude.splitlines()


def test_noop_rerun_reads_nothing_and_embeds_nothing(sample_repo: Path):
    build_index(_settings(sample_repo))
    report = build_index(_settings(sample_repo))
    assert not report.created and not report.changed
    assert report.files_read == 0
    assert report.chunks_embedded == report.chunks_from_cache == 0
    assert report.files_unchanged == report.files_total


def test_one_edit_reembeds_exactly_that_symbol(sample_repo: Path):
    build_index(_settings(sample_repo))
    pricing = sample_repo / "src/shop/pricing.py"
    text = pricing.read_text()
    pricing.write_text(text.replace("return round(", "return  round(", 1))
    report = build_index(_settings(sample_repo, cache=False))
    assert report.files_modified == ["src/shop/pricing.py"]
    assert len(report.symbols_modified) == 1
    assert report.symbols_added == report.symbols_removed == []
    assert report.chunks_embedded == 1
    assert report.symbols_unchanged >= 1


def test_add_and_delete_files_and_symbols(sample_repo: Path):
    build_index(_settings(sample_repo))
    (sample_repo / "src/shop/coupons.py").write_text(
        "def apply_coupon(total, code):\n    return total\n"
    )
    cart = sample_repo / "src/shop/cart.py"
    cart.write_text(cart.read_text() + "\n\ndef empty_cart():\n    return Cart()\n")
    victim = sample_repo / "src/shop/legacy.py"
    victim.unlink()
    report = build_index(_settings(sample_repo))
    assert report.files_added == ["src/shop/coupons.py"]
    assert report.files_removed == ["src/shop/legacy.py"]
    assert report.files_modified == ["src/shop/cart.py"]
    assert {"apply_coupon", "empty_cart"} <= _names(report.symbols_added)
    assert all(r.path == "src/shop/legacy.py" for r in report.symbols_removed)
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        assert "src/shop/legacy.py" not in store.manifest()
        rows = store.conn.execute("SELECT COUNT(*) FROM chunks WHERE path LIKE '%legacy%'")
        assert rows.fetchone()[0] == 0
        vi, _ = VectorIndex.load(store, HashingEmbedder().dim)
        assert vi.ntotal == store.chunk_count()


def test_touch_without_change_reads_but_does_not_reparse(sample_repo: Path):
    build_index(_settings(sample_repo))
    target = sample_repo / "src/shop/cart.py"
    os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 10**9))
    report = build_index(_settings(sample_repo))
    assert report.files_read == 1 and report.files_touched == 1
    assert not report.changed and report.chunks_embedded == 0
    assert build_index(_settings(sample_repo)).files_read == 0


def test_reverting_an_edit_is_served_from_the_embedding_cache(sample_repo: Path, tmp_path: Path):
    cache = tmp_path / "cache"
    build_index(_settings(sample_repo, cache_dir=cache))
    pricing = sample_repo / "src/shop/pricing.py"
    original = pricing.read_text()
    pricing.write_text(original.replace("return round(", "return  round(", 1))
    assert build_index(_settings(sample_repo, cache_dir=cache)).chunks_embedded == 1
    pricing.write_text(original)  # back to the first branch
    report = build_index(_settings(sample_repo, cache_dir=cache))
    assert report.chunks_embedded == 0 and report.chunks_from_cache == 1
    # A brand-new checkout of the same content embeds nothing either.
    other = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(sample_repo), str(other)], check=True)
    report = build_index(_settings(other, cache_dir=cache))
    assert report.chunks_embedded == 0 and report.chunks_from_cache == report.chunks_total


class _FlakyEmbedder(HashingEmbedder):
    """Real hashing vectors, but a Ctrl-C after ``allowed`` batches."""

    def __init__(self, allowed: int) -> None:
        super().__init__()
        self.allowed = allowed
        self.calls = 0

    def embed_batch(self, texts):
        self.calls += 1
        if self.calls > self.allowed:
            raise KeyboardInterrupt
        return super().embed_batch(texts)


def test_interrupted_embedding_keeps_finished_batches_and_resumes(sample_repo: Path):
    settings = _settings(sample_repo, batch_size=4, cache=False)
    with pytest.raises(Interrupted, match="interrupted"):
        build_index(settings, embedder=_FlakyEmbedder(allowed=2))
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        assert store.vector_count() == 8
        total = store.chunk_count()
        assert store.pending_count() == total - 8
        # Lexical index is complete even though vectors are not.
        assert store.conn.execute("SELECT COUNT(*) FROM lexical").fetchone()[0] == total
    report = build_index(settings, embedder=_FlakyEmbedder(allowed=10**6))
    assert report.chunks_embedded == total - 8
    assert report.chunks_pending == 0 and not report.changed


def test_interrupted_windows_keep_every_chunk_vector_then_resume(sample_repo: Path):
    steps = "\n".join(f"    step_{i} = apply_discount(cart, rule_{i}, rate_{i})" for i in range(40))
    (sample_repo / "src/shop/long.py").write_text(f"def settle(cart):\n{steps}\n    return cart\n")
    settings = _settings(sample_repo, cache=False)
    first = build_index(settings)
    assert first.windows_total > 0 and first.windows_embedded == first.windows_total
    (sample_repo / ".agentctx" / "windows.bin").unlink()  # (as if made by an older version)
    with pytest.raises(Interrupted, match="windows of long functions"):
        build_index(settings, embedder=_FlakyEmbedder(allowed=0))  # only windows to embed
    assert not (sample_repo / ".agentctx" / "windows.bin").exists()
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        assert store.pending_count() == 0
    report = build_index(settings)
    assert report.windows_embedded == report.windows_total == first.windows_total
    assert build_index(settings).windows_embedded == 0  # current: read its stamp, no more


def test_no_embed_leaves_vectors_pending_then_embeds(sample_repo: Path):
    report = build_index(_settings(sample_repo), embed=False)
    assert report.chunks_embedded == 0 and report.chunks_pending == report.chunks_total
    report = build_index(_settings(sample_repo))
    assert report.chunks_embedded == report.chunks_total and report.chunks_pending == 0


def test_corrupt_index_is_rebuilt_with_a_notice(sample_repo: Path):
    build_index(_settings(sample_repo))
    (sample_repo / ".agentctx" / "index.db").write_bytes(b"\x00garbage" * 1000)
    for leftover in ("index.db-wal", "index.db-shm"):
        (sample_repo / ".agentctx" / leftover).unlink(missing_ok=True)
    report = build_index(_settings(sample_repo))
    assert any("corrupt" in n for n in report.notices)
    assert report.created and report.files_total > 5
    # Rebuilt from scratch, the vectors come back from the user-level cache.
    assert report.chunks_embedded == 0 and report.chunks_from_cache == report.chunks_total


def test_a_foreign_sqlite_file_is_rebuilt_not_taken_for_a_read_only_index(sample_repo: Path):
    import sqlite3

    (sample_repo / ".agentctx").mkdir()
    with sqlite3.connect(sample_repo / ".agentctx" / "index.db") as conn:
        conn.execute("CREATE TABLE other (a)")  # a database, but not an index: no `meta`
    report = build_index(_settings(sample_repo))
    assert any("corrupt (no such table: meta)" in n for n in report.notices)
    assert report.created and report.files_total > 5


def test_changing_the_embedder_recomputes_vectors(sample_repo: Path):
    build_index(_settings(sample_repo))

    class Other(HashingEmbedder):
        model_id = "other-v1"

    report = build_index(_settings(sample_repo), embedder=Other(dim=64))
    assert any("embedder changed" in n for n in report.notices)
    assert report.chunks_embedded == report.chunks_total
    with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
        vi, _ = VectorIndex.load(store, 64)
        assert vi.ntotal == report.chunks_total
        assert np.allclose(np.linalg.norm(vi.matrix()[1], axis=1), 1.0)


def test_noop_rerun_opens_no_source_file_and_imports_no_model(sample_repo: Path):
    (sample_repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    subprocess.run(["git", "-C", str(sample_repo), "add", "-A"], check=True)
    build_index(load_settings(sample_repo))
    probe = noop_probe(sample_repo)
    assert probe == {
        "reads": [],
        "torch": False,
        "st": False,
        "numpy": False,
        "faiss": False,
        "read": 0,
        "changed": False,
    }


def test_recipe_change_reparses_everything_once(sample_repo: Path, monkeypatch):
    import agentctx.pipeline as pipeline

    build_index(_settings(sample_repo))
    monkeypatch.setattr(pipeline, "CHUNK_VERSION", 999)
    report = build_index(_settings(sample_repo))
    assert any("re-parsing every file" in n for n in report.notices)
    assert report.files_read > 5 and not report.changed
    assert report.chunks_embedded == 0  # same texts: vectors are kept
    again = build_index(_settings(sample_repo))
    assert again.files_read == 0 and not again.notices


QUERY_PROBE = r"""
import json, sys
from pathlib import Path
from agentctx.config import load_settings
from agentctx.pipeline import pack
from agentctx.store import IndexStore
root = Path(sys.argv[1])
result = pack(load_settings(root), "sum of the numbers", budget=2000)
with IndexStore.open(root / ".agentctx", writer=False) as store:
    pending = store.pending_count()
print(json.dumps({"torch": "torch" in sys.modules, "pending": pending,
                  "notes": list(result.bundle.notes)}))
"""


@pytest.mark.model
@pytest.mark.parametrize(("functions", "embedded"), [(20, True), (80, False)])
def test_pack_embeds_a_few_pending_symbols_without_torch_and_leaves_many_to_index(
    sample_repo: Path, functions: int, embedded: bool
):
    import json
    import sys

    build_index(load_settings(sample_repo), embedder=HashingEmbedder(), embed=False)
    (sample_repo / "src" / "many.py").write_text(
        "".join(f"def add_{i}(a, b):\n    return a + b + {i}\n\n\n" for i in range(functions))
    )
    out = subprocess.run(
        [sys.executable, "-c", QUERY_PROBE, str(sample_repo)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ,
    )
    facts = json.loads(out.stdout)
    assert facts["torch"] is False  # the small numpy engine, or no embedding at all
    if embedded:
        assert facts["pending"] == 0
    else:
        assert facts["pending"] > 64
        assert any("ranked lexically" in n for n in facts["notes"])


def test_a_query_reads_the_saved_vectors_without_importing_faiss(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
):
    """The saved flat index is read with numpy (faiss costs ~45 ms to import); the
    answer is the one a process that loads faiss gives."""
    import json
    import sys

    (sample_repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    build_index(load_settings(sample_repo))
    probe = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from agentctx.config import load_settings\n"
        "from agentctx.pipeline import search\n"
        "found = search(load_settings(Path(sys.argv[1])), 'sum of the numbers', refresh=False)\n"
        "print(json.dumps({'faiss': 'faiss' in sys.modules,\n"
        "                  'pathspec': 'pathspec' in sys.modules,\n"
        "                  'hits': [[h.id, round(h.score, 5)] for h in found.hits]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, str(sample_repo)], capture_output=True, text=True, check=True
    )
    facts = json.loads(out.stdout.strip().splitlines()[-1])
    assert facts["faiss"] is False and facts["hits"]
    assert facts["pathspec"] is False  # ignore rules are for indexing, not for queries
    from agentctx.pipeline import search
    from agentctx.store.vectors import MappedFlat

    # The same search through FAISS's own reader of the file.
    monkeypatch.setattr(MappedFlat, "open", classmethod(lambda cls, path, dim: None))
    via_faiss = search(load_settings(sample_repo), "sum of the numbers", refresh=False)
    assert "faiss" in sys.modules
    # The same hits and scores; exact ties (common with the hash embedder) in any order.
    assert sorted([h.id, round(h.score, 5)] for h in via_faiss.hits) == sorted(facts["hits"])


def test_a_run_that_changes_no_vector_keeps_the_faiss_file_current(sample_repo: Path):
    settings = load_settings(sample_repo)
    build_index(settings, embedder=HashingEmbedder())
    (sample_repo / "src" / "blob.py").write_bytes(b"\x00\x01binary")  # recorded as a skip
    (sample_repo / "src" / "shop" / "cart.py").touch()  # new mtime, same bytes
    report = build_index(settings, embedder=HashingEmbedder())
    assert report.files_touched == 1 and not report.chunks_embedded
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert store.meta("faiss_generation") == str(store.generation())


def test_file_norms_are_kept_current_and_carried_over_when_no_vector_changes(sample_repo: Path):
    """What the centroid signal reads: computed by `index`, carried when vectors stay."""
    from agentctx.retrieve import file_norms

    def current() -> tuple[dict[str, float] | None, dict[str, float]]:
        with IndexStore.open(sample_repo / ".agentctx", writer=False) as store:
            vi, _ = VectorIndex.load(store, HashingEmbedder().dim)
            return store.recall("file_norms"), file_norms(vi, store.chunk_paths())

    first = build_index(_settings(sample_repo))
    assert "centroids" in first.seconds
    remembered, fresh = current()
    assert remembered == pytest.approx(fresh) and "src/shop/cart.py" in remembered
    # Lines move, no embedded text changes: the norms are carried, not recomputed.
    cart = sample_repo / "src/shop/cart.py"
    cart.write_text("\n\n" + cart.read_text())
    moved = build_index(_settings(sample_repo))
    assert moved.changed and not moved.chunks_embedded and "centroids" not in moved.seconds
    remembered, fresh = current()
    assert remembered == pytest.approx(fresh)
    cart_norm = remembered["src/shop/cart.py"]
    # A new function brings a vector: they are computed again.
    cart.write_text(cart.read_text() + "\n\ndef discount_for(total):\n    return total * 0.1\n")
    added = build_index(_settings(sample_repo))
    assert added.chunks_embedded and "centroids" in added.seconds
    remembered, fresh = current()
    assert remembered == pytest.approx(fresh)
    assert remembered["src/shop/cart.py"] != pytest.approx(cart_norm)


def test_an_option_the_title_names_points_at_the_code_that_defines_it(tmp_path: Path):
    """`--dry-run` in a report's title: the parser that declares it, not its tests."""
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import OPTION_MAX_CHUNKS, load_outline, option_candidates, retrieve

    files = {
        "cli.py": (
            "import argparse\n\n\ndef build_parser():\n    parser = argparse.ArgumentParser()\n"
            '    parser.add_argument("--dry-run", action="store_true")\n'
            '    parser.add_argument("--verbose", action="store_true")\n    return parser\n'
        ),
        "options.py": 'OPTIONS = [("log-format", {"default": "text"})]\n',
        "upload.py": (
            'def upload_files(files, remote):\n    """Copy files to the remote, skipping '
            'what is there.\n\n    Files already uploaded are skipped."""\n'
            "    for name in files:\n        remote.put(name)\n"
        ),
        "tests/test_cli.py": (
            'def test_dry_run():\n    assert build_parser().parse_args(["--dry-run"]).dry_run\n'
        ),
    }
    # --verbose is everywhere: too common to point anywhere.
    for i in range(OPTION_MAX_CHUNKS):
        files[f"tools/t{i}.py"] = f'def tool{i}(argv):\n    return "--verbose" in argv\n'
    _index_files(tmp_path, files)

    report = parse_query(
        "--dry-run still uploads files with --verbose\n\n"
        "Uploading files to the remote with the dry run option copies every file."
    )
    assert report.options == ("--dry-run", "--verbose")
    with IndexStore.open(tmp_path / ".agentctx", writer=False) as store:
        found = option_candidates(store, report, load_outline(store))
        cands = retrieve(store, report, root=tmp_path, query_vector=None, dim=0)
        named = option_candidates(store, parse_query("Is --log-format ignored?"), cands.outline)
    paths = {cands.outline[cid].path for cid, _ in found}
    assert paths == {"cli.py"}  # not the test; --verbose is in 11 files
    assert {cands.outline[cid].path for cid, _ in named} == {"options.py"}  # "log-format"
    assert cands.lists["option"] == found
    without, _ = rank(cands, weights={"option": 0.0})
    assert without[0].path == "upload.py"  # the body's words alone point at the uploader
    hits, _ = rank(cands)
    assert hits[0].path == "cli.py" and "option" in hits[0].reasons


def test_a_subcommand_of_the_projects_program_points_at_the_code_that_implements_it(
    tmp_path: Path,
):
    """`$ shop export` in a report: the command the user ran, where the project defines it."""
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import (
        COMMAND_MAX_DEFINITIONS,
        command_candidates,
        load_outline,
    )

    files = {
        "pyproject.toml": '[project]\nname = "shop"\n\n[project.scripts]\nshop = "shop.cli:main"\n',
        "shop/__init__.py": "",
        "shop/cli.py": (
            "import argparse\nimport click\n\n\n@click.group()\ndef main():\n    pass\n\n\n"
            '@main.command("export")\n@click.option("--format")\ndef export_orders(format):\n'
            "    return write_rows(load(), format)\n\n\n"
            "def import_command(path):\n    return read_rows(path)\n\n\n"
            "def build_parser():\n    parser = argparse.ArgumentParser()\n"
            "    sub = parser.add_subparsers()\n"
            '    sub.add_parser("prune", help="drop old carts")\n    return parser\n'
        ),
        "shop/commands/sync.py": (
            "class Command:\n    def handle(self, *args):\n        return pull_prices()\n"
        ),
        "shop/export.py": (
            'def export_csv(orders, header=True):\n    """Orders as CSV rows, with a header '
            'line first."""\n    rows = [",".join(o) for o in orders]\n'
            '    return (["sku,qty"] if header else []) + rows\n'
        ),
        "tests/test_cli.py": (
            '@main.command("export")\ndef export_for_tests():\n    pass\n\n\n'
            "def test_export_command():\n    assert export_orders\n"
        ),
    }
    # "run" is defined everywhere: too common to point anywhere.
    for i in range(COMMAND_MAX_DEFINITIONS + 1):
        files[f"shop/plugins/p{i}.py"] = f'@main.command("run")\ndef run{i}():\n    pass\n'
    _index_files(tmp_path, files)

    report = parse_query(
        "Exported orders lose the CSV header\n\nThe csv rows have no header line:\n\n"
        "```\n$ shop export --format csv > orders.csv\n```\n"
    )
    assert report.commands == (("shop", "export"),)

    def found(query: str) -> set[str]:
        """Qualified names of the chunks found, paths of the modules."""
        with IndexStore.open(tmp_path / ".agentctx", writer=False) as store:
            outline = load_outline(store)
            hits, files = command_candidates(store, parse_query(query), outline, {"shop"})
        return {outline[cid].qualname for cid, _ in hits} | set(files)

    assert found("$ shop export") == {"export_orders"}  # not the test's registration
    assert found("$ shop import data.json") == {"import_command"}
    assert found("```sh\npython -m shop prune --days 3\n```") == {"build_parser"}
    assert found("$ python manage.py sync") == {"shop/commands/sync.py"}  # its own module
    assert found("$ shop frobnicate") == set()  # no such command
    assert found("$ git export") == set()  # not the project's program
    assert found("$ shop run") == set()  # defined in more places than it could mean
    assert found("$ shop --verbose run export") == {"export_orders"}  # `run`: the option's
    cands = _retrieved(tmp_path, report)
    assert [cands.outline[cid].qualname for cid, _ in cands.lists["command"]] == ["export_orders"]
    assert cands.file_scores["command"] == {}
    without, _ = rank(cands, weights={"command": 0.0})
    assert without[0].path == "shop/export.py"  # the report's words alone
    hits, _ = rank(cands)
    assert hits[0].qualname == "export_orders" and "command" in hits[0].reasons
    # A command module is lifted as a file, with the weight of a named path.
    sync = parse_query("Orders lose their header\n\n```\n$ python manage.py sync\n```\n")
    cands = _retrieved(tmp_path, sync)
    assert cands.file_scores["command"] == {"shop/commands/sync.py": 1.0}
    hits, _ = rank(cands)
    assert hits[0].path == "shop/commands/sync.py" and "command" in hits[0].reasons
    hits, _ = rank(cands, weights={"command_module": 0.0})
    assert hits[0].path == "shop/export.py"  # the words of the report alone


def test_a_line_the_report_quotes_points_at_the_code_that_holds_it(tmp_path: Path):
    """`method = native(method)` pasted into a report: the function that runs it,
    not a docstring's example, a test, or a line every module has."""
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import QUOTED_MAX_CHUNKS, quoted_candidates

    files = {
        "shop/sessions.py": (
            "def send_order(order, method):\n    method = native(method)\n"
            "    return transport(order, method)\n"
        ),
        "shop/utils.py": (
            "def method_name(method):\n"
            '    """The method as a string, for the order transport.\n\n'
            "    Example::\n\n        method = native(method)\n"  # an example, not code
            '        total = order_total(order)\n    """\n'
            "    # total = order_total(order)  (commented out)\n    return method.upper()\n"
        ),
        "shop/pricing.py": (
            "def order_total(order):\n    total = order_total_cents(order) / 100\n"
            "    return total\n"
        ),
        "tests/test_sessions.py": (
            "def test_send():\n    method = native(method)\n    assert send_order(1, method)\n"
        ),
    }
    # A line in more chunks than QUOTED_MAX_CHUNKS points nowhere.
    for i in range(QUOTED_MAX_CHUNKS + 1):
        files[f"shop/m{i}.py"] = f"def step{i}(self):\n    result = self.run_step(self.items)\n"
    _index_files(tmp_path, files)

    def found(query: str) -> set[str]:
        return _list_names(tmp_path, quoted_candidates, query)

    assert found("```\nmethod = native(method)\n```") == {"send_order"}
    assert found("See\n\n    total = order_total(order)\n") == set()  # docstring, comment
    assert found("```\nresult = self.run_step(self.items)\n```") == set()  # everywhere
    assert found("```\nreturn transport(order, methods)\n```") == set()  # not word for word

    report = parse_query(
        "Order method sent as bytes\n\nThe utils convert the method to a string:\n\n"
        "```\nmethod = native(method)\n```\n"
    )
    cands = _retrieved(tmp_path, report)
    assert [cands.outline[cid].qualname for cid, _ in cands.lists["quoted"]] == ["send_order"]
    without, _ = rank(cands, weights={"quoted": 0.0})
    assert without[0].path == "shop/utils.py"  # the report's words alone: utils, method
    hits, _ = rank(cands)
    assert hits[0].qualname == "send_order" and "quoted" in hits[0].reasons


def test_an_error_line_of_the_report_points_at_the_format_string_that_printed_it(
    tmp_path: Path,
):
    """`E   Right contains more items, first extra item: 52`: the function whose format
    string prints it, not a test asserting the message, a docstring, or a message printed
    from everywhere; the templates follow the code when it changes."""
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import MESSAGE_MAX_CHUNKS, message_candidates

    files = {
        "shop/compare.py": (
            "def compare_lists(left, right):\n"
            "    if len(right) > len(left):\n"
            "        side, extra = 'Right', right[len(left)]\n"
            '        return ["%s contains %d more items, first extra item: %s"\n'
            "                % (side, len(right) - len(left), extra)]\n    return []\n"
        ),
        "shop/report.py": (
            "def explain_items(left, right):\n"
            '    """Say which side contains more items, first extra item and all."""\n'
            "    return compare_lists(left, right)\n"
        ),
        "tests/test_compare.py": (
            "def test_more_items():\n"
            "    expected = 'Right contains 1 more items, first extra item: 1'\n"
            "    assert compare_lists([], [1]) == [expected]\n"
        ),
    }
    # A message every step prints points nowhere.
    for i in range(MESSAGE_MAX_CHUNKS + 1):
        files[f"shop/step{i}.py"] = (
            f"def step{i}(order):\n    log('could not reach the payment server for %s' % order)\n"
        )
    _index_files(tmp_path, files)

    def found(query: str) -> set[str]:
        return _list_names(tmp_path, message_candidates, query)

    assert found("E   Right contains more items, first extra item: 52") == {"compare_lists"}
    assert found("E   Right contains more entries, first extra item: 52") == set()
    assert found("Right contains more items, first extra item: 52") == set()  # no message line
    assert found("E   ConnectionError: could not reach the payment server for 12") == set()

    report = parse_query(
        "Confusing comparison of byte strings\n\n```\n>       assert b'' == b'42'\n"
        "E       AssertionError: assert b'' == b'42'\n"
        "E         Right contains more items, first extra item: 52\n```\n"
        "52 is the ordinal of 4: explain the items as bytes.\n"
    )
    cands = _retrieved(tmp_path, report)
    assert [cands.outline[cid].qualname for cid, _ in cands.lists["message"]] == ["compare_lists"]
    without, _ = rank(cands, weights={"message": 0.0})
    assert without[0].qualname != "compare_lists"
    hits, _ = rank(cands)
    assert hits[0].qualname == "compare_lists" and "message" in hits[0].reasons

    # The message changes: the old template is gone with the code that held it.
    (tmp_path / "shop/compare.py").write_text(
        "def compare_lists(left, right):\n"
        '    return ["%s has %d more entries, first extra entry: %s" % ("Right", 1, right[0])]\n'
    )
    build_index(_settings(tmp_path))
    assert found("E   Right contains more items, first extra item: 52") == set()
    assert found("E   Right has 1 more entries, first extra entry: 52") == {"compare_lists"}


def test_message_templates_are_read_from_every_language_s_format_strings(tmp_path: Path):
    """Go's `%v`, Rust's `{:?}`, JavaScript's `${x}`, Ruby's `#{x}`, Java's `%s`: the function
    holding the format string is found from the line it printed, in each language."""
    from agentctx.retrieve import message_candidates

    _index_files(
        tmp_path,
        {
            "stock/stock.go": (
                'package stock\n\nimport "fmt"\n\n'
                "func Reserve(sku string, n int) error {\n"
                '\treturn fmt.Errorf("not enough stock for %v: have %d, want %d", sku, 0, n)\n}\n'
            ),
            "cart/src/lib.rs": (
                "pub fn total(lines: &[u32]) -> u32 {\n"
                "    lines.iter().fold(0, |a, b| a.checked_add(*b).unwrap_or_else(|| "
                'panic!("order total overflowed at line {:?} of the cart", b)))\n}\n'
            ),
            "web/checkout.js": (
                "export function pay(method) {\n"
                "  throw new Error(`unknown payment method ${method} for this order`);\n}\n"
            ),
            "app/models/order.rb": (
                "class Order\n  def ship(carrier)\n"
                '    raise ArgumentError, "cannot ship with #{carrier} before payment"\n'
                "  end\nend\n"
            ),
            "src/main/java/shop/Cart.java": (
                "package shop;\n\npublic class Cart {\n  public void close(String id) {\n"
                '    throw new IllegalStateException(String.format("cart %s is already closed '
                'for checkout", id));\n  }\n}\n'
            ),
        },
    )
    names = {
        "E   error: not enough stock for ABC-1: have 0, want 3": {"Reserve"},
        "thread 'main' panicked at 'order total overflowed at line 7 of the cart'": {"total"},
        "Uncaught Error: unknown payment method bitcoin for this order": {"pay"},
        "ArgumentError: cannot ship with DHL before payment": {"Order.ship"},
        'Exception in thread "main" java.lang.IllegalStateException: cart 42 is already '
        "closed for checkout": {"Cart.close"},
    }
    for line, expected in names.items():
        assert _list_names(tmp_path, message_candidates, line) == expected, line


def test_a_type_the_report_names_points_at_the_methods_that_dispatch_on_it(tmp_path: Path):
    """`latex(Order(...))`: the printer's `_print_Order` (and a visitor's `visitOrder`), not
    a getter that happens to end in the name, a pair of methods, or a test named after it."""
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import _dispatch_prefix

    kinds = ("Order", "Cart", "Item", "Discount", "LineItem")
    _index_files(
        tmp_path,
        {
            "shop/models.py": "".join(f"class {k}:\n    size = 1\n\n" for k in kinds),
            "shop/printing.py": "class LatexPrinter:\n"
            + "".join(f"    def _print_{k}(self, e):\n        return '{k}'\n" for k in kinds)
            + "\n\ndef latex(expr):\n    return LatexPrinter().doprint(expr)\n",
            "shop/walk.py": "class Walker:\n"
            + "".join(f"    def visit{k}(self, node):\n        return node\n" for k in kinds),
            "shop/dump.py": "class Dumper:\n"  # two methods: a pair, not a table
            + "".join(f"    def dump_{k}(self, e):\n        return e\n" for k in kinds[:2])
            + "\n    def to_Order(self):\n        return self\n",
            "tests/test_printing.py": "class TestLatex:\n"
            + "".join(f"    def test_{k}(self):\n        assert latex({k}())\n" for k in kinds),
        },
    )
    report = parse_query(
        "latex(Order(...)) drops the discount\n\n```\n>>> latex(Order(items))\n'Order'\n```\n"
    )
    cands = _retrieved(tmp_path, report)
    dispatch = [(cands.outline[cid].qualname, s) for cid, s in cands.lists["dispatch"]]
    # The printer the query names (`latex`) first; a table it does not name, less.
    assert dispatch == [("LatexPrinter._print_Order", 1.0), ("Walker.visitOrder", 0.5)]

    def position(weights: dict[str, float]) -> int:
        hits, _ = rank(cands, weights=weights, min_score=0.0)
        return [h.qualname for h in hits].index("LatexPrinter._print_Order")

    assert position({}) < position({"dispatch": 0.0})
    hits, _ = rank(cands, min_score=0.0)
    assert "dispatch" in next(h for h in hits if h.qualname == "Walker.visitOrder").reasons
    # `Item` is not the `LineItem` of `_print_LineItem` or `visitLineItem`.
    assert _dispatch_prefix("_print_Subs", "Subs") == "_print_"
    assert _dispatch_prefix("visitCallExpr", "CallExpr") == "visit"
    for name, type_name in [
        ("_print_FiniteSet", "Set"),  # not `_print_Finite` + Set
        ("visitLineItem", "Item"),
        ("test_Subs", "Subs"),
        ("to_dataset", "Dataset"),
        ("Subs", "Subs"),
    ]:
        assert _dispatch_prefix(name, type_name) is None, name
    cands = _retrieved(tmp_path, parse_query("latex(Item(1))"))
    dispatch = [(cands.outline[cid].qualname, s) for cid, s in cands.lists["dispatch"]]
    assert dispatch == [("LatexPrinter._print_Item", 1.0), ("Walker.visitItem", 0.5)]
    # A word that is no type of the project, or a lowercase spelling, dispatches nothing.
    for text in ("latex(order) is wrong", "print_Order(x) is wrong"):
        cands = _retrieved(tmp_path, parse_query(text))
        assert cands.lists["dispatch"] == [], text


def test_a_line_the_report_links_to_points_at_the_code_that_holds_it_today(tmp_path: Path):
    """`.../blob/<ref>/shop/coding.py#L6`: the line at that ref, found where it is now."""
    from conftest import git

    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import FileChildren, anchor_candidates, load_outline

    coding = (
        "def encode(data):\n    return bytes(data)\n\n\n"
        "def decode(data, unsigned):\n    if data.kind == 'i' and unsigned:\n"
        "        return data.view('u1')\n    return data\n"
    )
    _index_files(tmp_path, {"shop/coding.py": coding, "shop/orders.py": "def total():\n"})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "first")
    old = git(tmp_path, "rev-parse", "HEAD").strip()
    # Code moves: a function above it pushes `decode` down five lines.
    moved = "def pad(data):\n    '''Pad data.'''\n    return data\n\n\n" + coding
    _index_files(tmp_path, {"shop/coding.py": moved})
    assert moved.splitlines()[5 + 5] == "    if data.kind == 'i' and unsigned:"

    def found(url: str) -> list[str]:
        with IndexStore.open(tmp_path / ".agentctx", writer=False) as store:
            outline = load_outline(store)
            hits = anchor_candidates(parse_query(f"see {url}"), FileChildren(outline), tmp_path)
        return [outline[cid].qualname for cid, _ in hits]

    link = "https://github.com/o/shop/blob/{}/shop/coding.py#L{}"
    assert found(link.format(old, 6)) == ["decode"]  # line 6 then, line 11 now
    assert found(link.format(old, 2)) == ["encode"]
    assert found(link.format("0123abc", 2)) == ["pad"]  # unknown ref: the number as it is
    assert found(link.format(old, 99)) == []  # no such line then
    assert found("https://github.com/o/shop/blob/main/shop/missing.py#L1") == []  # not indexed
    # Without git the number is taken as it is.
    with IndexStore.open(tmp_path / ".agentctx", writer=False) as store:
        outline = load_outline(store)
        no_git = anchor_candidates(
            parse_query(link.format(old, 2)), FileChildren(outline), tmp_path / "shop" / "nowhere"
        )
    assert [outline[cid].qualname for cid, _ in no_git] == ["pad"]
    # A file changed on disk since it was indexed (`--no-refresh`): its lines are not the
    # index's, so the link is not placed with them.
    with IndexStore.open(tmp_path / ".agentctx", writer=False) as store:
        outline = load_outline(store)
        query = parse_query(link.format(old, 6))
        fresh = anchor_candidates(query, FileChildren(outline), tmp_path, store.file_stat)
        assert [outline[cid].qualname for cid, _ in fresh] == ["decode"]
        (tmp_path / "shop" / "coding.py").write_text("# moved\n" * 40 + moved)
        assert anchor_candidates(query, FileChildren(outline), tmp_path, store.file_stat) == []
    (tmp_path / "shop" / "coding.py").write_text(moved)
    _index_files(tmp_path, {"shop/coding.py": moved})

    report = parse_query(
        "Decoding orders is wrong\n\nThe order total decoding data is "
        f"[here]({link.format(old, 6)}).\n"
    )
    cands = _retrieved(tmp_path, report)
    assert [cands.outline[cid].qualname for cid, _ in cands.lists["anchor"]] == ["decode"]
    hits, _ = rank(cands)
    assert hits[0].qualname == "decode" and "anchor" in hits[0].reasons
    without, _ = rank(cands, weights={"anchor": 0.0})
    assert without[0].qualname != "decode"  # the words alone: `data` is everywhere


def test_the_dense_query_adds_the_title_s_own_vector_to_the_text_s():
    from agentctx.pipeline import TITLE_VECTOR_WEIGHT, query_vector
    from agentctx.query import parse_query

    emb = HashingEmbedder()
    one = parse_query("how are retries configured?")
    assert np.allclose(query_vector(emb, one, one.text), emb.embed_batch([one.clean_text])[0])

    report = parse_query("Retries are ignored\nThe adapter never retries a read that timed out.\n")
    vec = query_vector(emb, report, report.text)
    whole, title = emb.embed_batch([report.clean_text, report.title_text])
    mixed = whole + TITLE_VECTOR_WEIGHT * title
    assert np.isclose(np.linalg.norm(vec), 1.0, atol=1e-5)
    assert np.allclose(vec, mixed / np.linalg.norm(mixed), atol=1e-6)
    assert float(vec @ title) > float(whole @ title)  # pulled towards what the title says


class _WhereEmbedder(HashingEmbedder):
    """Hashing vectors; notes the thread of each call, and fails queries when told to."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.fail: Exception | None = None

    def embed_batch(self, texts):
        import threading

        self.threads.append(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail
        return super().embed_batch(texts)


@pytest.mark.parametrize("threaded", [True, False])
def test_search_makes_the_query_vector_beside_the_other_lists_with_the_same_hits(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch, threaded: bool
):
    import threading

    from agentctx import pipeline
    from agentctx.pipeline import query_vector, search
    from agentctx.query import parse_query
    from agentctx.rank import rank
    from agentctx.retrieve import retrieve

    monkeypatch.setattr(pipeline, "QUERY_VECTOR_THREAD", threaded)
    settings = _settings(sample_repo)
    emb = _WhereEmbedder()
    build_index(settings, embedder=emb)
    emb.threads.clear()
    query = "Cart total ignores the discount\nThe total of a cart is computed without discount."
    found = search(settings, query, refresh=False, embedder=emb)
    # made once, on a thread of its own (or, switched off, in this one)
    here = threading.current_thread().name
    assert emb.threads == ["agentctx-query-vector" if threaded else here]
    assert any("dense" in h.reasons for h in found.hits)
    assert {"parse", "load", "embed_query", "retrieve", "rank"} <= set(found.latency_ms)

    signals = parse_query(query)  # the same query, its vector made first, in this thread
    with IndexStore.open(settings.index_dir, writer=False) as store:
        vec = query_vector(emb, signals, query)
        cands = retrieve(store, signals, root=sample_repo, query_vector=vec, dim=emb.dim)
    hits, _ = rank(cands)
    assert [(h.id, h.score, h.reasons) for h in hits] == [
        (h.id, h.score, h.reasons) for h in found.hits
    ]


def test_a_query_vector_that_cannot_be_made_fails_the_search_and_leaves_no_thread(
    sample_repo: Path,
):
    import threading

    from agentctx.errors import ModelError
    from agentctx.pipeline import search

    settings = _settings(sample_repo)
    emb = _WhereEmbedder()
    build_index(settings, embedder=emb)
    emb.fail = ModelError("model files are damaged")
    with pytest.raises(ModelError, match="damaged"):
        search(settings, "cart total", refresh=False, embedder=emb)
    assert not any(t.name == "agentctx-query-vector" for t in threading.enumerate())


def test_an_index_of_another_model_is_searched_lexically_without_embedding_the_query(
    sample_repo: Path,
):
    from agentctx.pipeline import search

    settings = _settings(sample_repo)
    build_index(settings)

    class Other(_WhereEmbedder):
        model_id = "other-v1"

    emb = Other()
    found = search(settings, "cart total", refresh=False, embedder=emb)
    assert emb.threads == []  # the vector would be of no use: never made
    assert any("ranked lexically" in n for n in found.notes)
    assert found.hits and not any("dense" in h.reasons for h in found.hits)


def test_a_refresh_of_a_settled_tree_skips_the_walk_and_still_sees_changes(
    sample_repo: Path, monkeypatch
):
    from conftest import INSIDE_LINK, OUTSIDE_LINK, age_tree

    import agentctx.discover as discover_module
    from agentctx.store.db import TREE_FILE

    for link in (INSIDE_LINK, OUTSIDE_LINK):
        (sample_repo / link).unlink()  # a symlink's target is no stat of the tree: no stamp

    fast: list[bool] = []
    real = discover_module._unchanged

    def counted(*args, **kwargs):
        result = real(*args, **kwargs)
        fast.append(result is not None)
        return result

    monkeypatch.setattr(discover_module, "_unchanged", counted)
    settings = _settings(sample_repo)
    stamp = settings.index_dir / TREE_FILE
    build_index(settings)
    assert not stamp.exists()  # the tree was written just now: nothing to vouch for
    age_tree(sample_repo)
    build_index(settings)
    assert stamp.is_file() and fast == []  # walked, and left a stamp
    report = build_index(settings)
    assert fast == [True] and not report.changed and report.files_unchanged == report.files_total
    (sample_repo / "src/shop/coupons.py").write_text("def apply_coupon(total):\n    return 1\n")
    report = build_index(settings)
    assert fast == [True, False] and report.files_added == ["src/shop/coupons.py"]
    age_tree(sample_repo)
    build_index(settings)  # walks (every mtime moved) and stamps the tree as it is now
    pricing = sample_repo / "src/shop/pricing.py"
    pricing.write_text(pricing.read_text() + "\n\ndef later():\n    return 2\n")
    report = build_index(settings)  # an edit moves no directory: the stamp holds
    assert fast[-1] is True and report.files_modified == ["src/shop/pricing.py"]
    stamp.write_bytes(b"damaged")
    assert not build_index(settings).changed  # never trusted: walked
    build_index(settings, rebuild=True)
    with IndexStore.open(settings.index_dir, writer=False) as store:
        assert "src/shop/coupons.py" in store.manifest()
