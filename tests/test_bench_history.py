"""``bench history``: localization on a repository's own commits (real tree-sitter, SQLite
and FAISS; the model-free ``hash`` embedder, as the index was built with it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import git
from typer.testing import CliRunner

import agentctx.rank
from agentctx.bench.history import LEAKING_SIGNALS, HistoryBenchConfig, run_history_bench
from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.errors import ExitCode
from agentctx.pipeline import build_index

CART = '''class Cart:
    """A shopping cart of line items."""

    def add_item(self, sku, quantity=1):
        self.items.append((sku, quantity))
'''
PRICING = '''def order_total(order):
    """The price of every line of the order."""
    return sum(line.price for line in order.lines)
'''


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q")
    _commit(
        repo,
        {
            "shop/cart.py": CART,
            "shop/pricing.py": PRICING,
            "tests/test_cart.py": "def test_add():\n    assert Cart()\n",
            "README.md": "# Shop\n",
        },
        "Add the shop with a cart and its pricing",
    )
    _commit(
        repo,
        {"shop/pricing.py": PRICING.replace("(order)", "(order, discount=0)", 1)},
        "Apply the discount when computing an order total",
    )
    _commit(repo, {"tests/test_cart.py": "def test_remove():\n    pass\n"}, "Test removing an item")
    _commit(repo, {"shop/pricing.py": PRICING + "\n# todo\n"}, "wip")
    _commit(
        repo,
        {f"shop/ship_{c}.py": f"def ship_{c}():\n    return '{c}'\n" for c in "abcd"},
        "Add four shipping helper modules",
    )
    _commit(
        repo,
        {"shop/cart.py": CART + "\n    def remove_item(self, sku):\n        del self.items[sku]\n"},
        "Remove an item from the cart by its SKU",
    )
    (repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    build_index(load_settings(repo))
    return repo


def test_each_commit_message_ranks_the_code_files_it_changed(shop: Path, monkeypatch):
    seen: list[object] = []
    real_rank = agentctx.rank.rank

    def spy(cands, **kw):
        seen.append(kw.get("weights"))
        return real_rank(cands, **kw)

    monkeypatch.setattr(agentctx.rank, "rank", spy)
    report = run_history_bench(HistoryBenchConfig(root=shop))
    summary = report["summary"]
    assert summary["cases"] == 3
    assert summary["skipped"] == {"no_code_file": 1, "short_message": 1, "too_many_files": 1}
    cases = report["cases"]  # newest first; tests and docs are no gold
    assert [c["gold"] for c in cases] == [
        ["shop/cart.py"],
        ["shop/pricing.py"],
        ["shop/cart.py", "shop/pricing.py"],
    ]
    assert cases[0]["ranks"] == {"shop/cart.py": 1}  # remove, item, cart, sku
    assert cases[1]["ranks"] == {"shop/pricing.py": 1}  # discount, order, total
    for c in cases:
        assert c["acc@1"] <= c["acc@3"] <= c["acc@5"] <= c["acc@10"]
        assert c["acc@1"] == int(all(r == 1 for r in c["ranks"].values()))
    assert summary["acc@1"] == round(100 * sum(c["acc@1"] for c in cases) / 3, 1)
    assert 0 < summary["mrr"] <= 1 and summary["pack_ms_p50"] > 0
    # A bundle per budget: the gold files it shows, and what it cost.
    for c in cases:
        assert set(c["budgets"]) == {"4000", "16000"}
        assert c["budgets"]["4000"]["file_recall"] == 1.0  # a tiny repository fits
        assert 0 < c["budgets"]["4000"]["tokens"] <= 4000
    assert summary["file_recall@4000"] == 100.0 and 0 < summary["tokens@16000"] <= 16000
    # Symbols are gold where a file is today as the commit left it: the newest commit's
    # added method; pricing.py has changed since the discount commit ("wip").
    assert [c["functions"] for c in cases] == [["shop/cart.py::Cart.remove_item"], [], []]
    assert cases[0]["budgets"]["4000"]["func_full"] == 1.0
    assert cases[1]["budgets"]["4000"]["func_full"] is None
    assert cases[0]["budgets"]["4000"]["line_recall"] == 1.0  # both added lines, in full
    assert cases[1]["budgets"]["4000"]["line_recall"] is None
    assert summary["line_recall@4000"] == 100.0
    assert summary["cases_with_functions"] == 1 and summary["func_full@4000"] == 100.0
    # An uncommitted edit moves the lines the index holds: that file's symbols are not gold.
    (shop / "shop" / "cart.py").write_text("# moved\n" + (shop / "shop" / "cart.py").read_text())
    build_index(load_settings(shop))
    again = run_history_bench(HistoryBenchConfig(root=shop, budgets=(4000,)))
    assert [c["functions"] for c in again["cases"]] == [[], [], []]
    assert "func_full@4000" not in again["summary"]
    # Signals read from the history would see each answer: every ranked case runs without.
    assert report["signals_off"] == sorted(LEAKING_SIGNALS)
    assert seen[-3:] == [LEAKING_SIGNALS] * 3
    assert all(LEAKING_SIGNALS[k] == 0.0 for k in ("history", "recency", "change"))


def test_cli_reports_json_and_refuses_without_an_index(shop: Path, tmp_path: Path):
    runner = CliRunner()
    result = runner.invoke(
        app, ["bench", "history", str(shop), "--commits", "2", "--budgets", "2k"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["cases"] == 1  # the newest two: one task, one too big
    assert report["summary"]["skipped"] == {"too_many_files": 1}
    assert report["config"]["commits"] == 2 and report["config"]["budgets"] == [2000]
    assert set(report["cases"][0]["budgets"]) == {"2000"}

    bare = tmp_path / "bare"
    bare.mkdir()
    git(bare, "init", "-q")
    _commit(bare, {"m.py": "def f():\n    return 1\n"}, "Add the first module here")
    result = runner.invoke(app, ["bench", "history", str(bare)])
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stdout == "" and "agentctx index" in result.output
    outside = tmp_path / "plain"
    outside.mkdir()
    result = runner.invoke(app, ["bench", "history", str(outside)])
    assert result.exit_code == ExitCode.NOT_A_REPOSITORY
    # --grep: only the commits whose message matches, counted by --commits
    result = runner.invoke(app, ["bench", "history", str(shop), "--grep", "item|discount"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["config"]["grep"] == "item|discount"
    assert [c["subject"] for c in report["cases"]] == [
        "Remove an item from the cart by its SKU",
        "Apply the discount when computing an order total",
    ]
    assert report["summary"]["skipped"] == {"no_code_file": 1}  # "Test removing an item"
    result = runner.invoke(app, ["bench", "history", str(shop), "--grep", "item", "-n", "1"])
    assert json.loads(result.stdout)["summary"]["cases"] == 1
    for bad in (["--commits", "0"], ["--budgets", "lots"], ["--grep", "(unclosed"]):
        result = runner.invoke(app, ["bench", "history", str(shop), *bad])
        assert result.exit_code == ExitCode.USAGE, bad


def test_symbols_left_pending_are_embedded_before_measuring(shop: Path):
    """More pending symbols than a query embeds would be ranked lexically: the bench embeds
    them first, as `agentctx index` would, and says so."""
    from agentctx.pipeline import EMBED_ON_QUERY_LIMIT
    from agentctx.store import IndexStore

    many = EMBED_ON_QUERY_LIMIT + 16
    (shop / "shop" / "many.py").write_text(
        "".join(f"def add_{i}(a, b):\n    return a + b + {i}\n\n\n" for i in range(many))
    )
    build_index(load_settings(shop), embed=False)
    with IndexStore.open(shop / ".agentctx", writer=False) as store:
        assert store.pending_count() >= many

    class Notices:
        def __init__(self) -> None:
            self.lines: list[str] = []

        def stage(self, name: str, total: int | None = None) -> None: ...

        def advance(self, n: int = 1) -> None: ...

        def notice(self, message: str) -> None:
            self.lines.append(message)

    rep = Notices()
    report = run_history_bench(HistoryBenchConfig(root=shop, budgets=(4000,)), rep)
    with IndexStore.open(shop / ".agentctx", writer=False) as store:
        assert store.pending_count() == 0
    assert any(line.startswith("embedding ") and "pending" in line for line in rep.lines)
    assert report["summary"]["cases"] == 3


def test_line_recall_counts_the_lines_an_item_shows():
    from agentctx.bench.history import line_recall
    from agentctx.models import PackItem

    def item(detail: str, text: str) -> PackItem:
        return PackItem("m.py", "f", "function", "python", 10, 20, detail, 1.0, 9, text)

    body = "def f(x):\n    y = x + 1\n    ...\n    return y\n"
    lines = [("m.py", 11, "y = x + 1"), ("m.py", 15, "z = y * 2"), ("m.py", 19, "return y")]
    assert line_recall([item("skeleton", body)], lines) == pytest.approx(2 / 3)
    assert line_recall([item("signature", "def f(x):")], lines) == 0.0
    assert line_recall([], lines) == 0.0
    # The same text elsewhere in the file is not this line.
    far = PackItem("m.py", "g", "function", "python", 40, 45, "full", 1.0, 9, body)
    assert line_recall([far], lines) == 0.0
    assert line_recall([item("full", body)], []) is None


def test_changed_lines_of_a_file_whose_name_git_quotes(tmp_path: Path):
    from agentctx.bench.history import changed_spans
    from agentctx.retrieve import FileChildren, load_outline
    from agentctx.store import IndexStore

    repo = tmp_path / "odd"
    repo.mkdir()
    git(repo, "init", "-q")
    name = 'shop/say "hi".py'  # git writes `+++ "b/shop/say \"hi\".py"`
    _commit(repo, {name: "def hello():\n    return 1\n"}, "Add a greeting")
    _commit(repo, {name: "def hello():\n    return 'hi'\n"}, "Greet with words")
    (repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    build_index(load_settings(repo))
    sha = git(repo, "rev-parse", "HEAD").strip()
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        files = FileChildren(load_outline(store))
    spans, lines = changed_spans(repo, "", sha, [name], files)
    assert [(s.path, s.qualname) for s in spans] == [(name, "hello")]
    assert lines == ((name, 2, "return 'hi'"),)
