"""pack and search end to end on the sample repository.

Budget and format tests use the model-free ``hash`` embedder (deterministic across
machines, so golden files stay stable); the relevance tests use the real model.
"""

from __future__ import annotations

import difflib
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctx import pipeline
from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.embed import get_embedder
from agentctx.errors import BudgetError, ExitCode
from agentctx.pipeline import build_index, pack, search
from agentctx.store import IndexStore
from agentctx.tokens import get_tokenizer

GOLDEN = Path(__file__).parent / "golden"
runner = CliRunner()


def _hash_settings(root: Path):
    return load_settings(root, {"embedder": "hash"})


@pytest.fixture
def indexed_hash(sample_repo: Path) -> Path:
    (sample_repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    build_index(load_settings(sample_repo))
    return sample_repo


@pytest.fixture(scope="module")
def minilm():
    return get_embedder("minilm")


@pytest.fixture(scope="module")
def indexed_real(tmp_path_factory, minilm):
    from conftest import make_sample_repo

    root = make_sample_repo(tmp_path_factory.mktemp("real"))
    build_index(load_settings(root), embedder=minilm)
    return root


@pytest.mark.model
@pytest.mark.parametrize(
    ("question", "path", "symbol"),
    [
        ("how is sales tax computed?", "src/shop/pricing.py", "tax_for"),
        ("format a price for display", "src/shop/pricing.py", "format_price"),
        # The LineItem dataclass (a product line with its SKU) ties with Cart.remove
        # here: within 2% since tests rank lower (the test calling remove used to lift it).
        pytest.param(
            "remove a product from the cart by SKU",
            "src/shop/cart.py",
            "Cart.remove",
            marks=pytest.mark.top2,
        ),
        ("reserve stock in the inventory", "src/inventory/stock.go", "Stock.Reserve"),
        ("submit the checkout form", "src/web/checkout.ts", "CheckoutForm.submit"),
        (
            'Traceback (most recent call last):\n  File "src/shop/cart.py", line 37, in total\n'
            "TypeError: unsupported operand type(s) for *: 'NoneType' and 'float'",
            "src/shop/cart.py",
            "Cart.total",
        ),
    ],
)
def test_known_questions_put_the_symbol_first_and_in_full(
    indexed_real: Path, minilm, question: str, path: str, symbol: str, request
):
    settings = load_settings(indexed_real)
    found = search(settings, question, refresh=False, embedder=minilm)
    top = 2 if request.node.get_closest_marker("top2") else 1
    assert (path, symbol) in [(h.path, h.qualname) for h in found.hits[:top]]
    result = pack(settings, question, budget=2000, refresh=False, embedder=minilm)
    full = [(i.path, i.symbol) for i in result.bundle.items if i.detail == "full"]
    assert (path, symbol) in full
    assert result.tokens_used <= 2000


@pytest.mark.parametrize("tokenizer", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("fmt", ["markdown", "xml"])
def test_output_never_exceeds_the_budget(indexed_hash: Path, tokenizer: str, fmt: str):
    tok = get_tokenizer(tokenizer)
    settings = load_settings(indexed_hash)
    queries = ["cart total with tax", "`Stock.Reserve` fails", "README usage", "x"]
    for budget in [120, 150, 200, 260, 333, 400, 512, 700, 1000, 1500, 2222, 4000, 9000]:
        for q in queries:
            try:
                result = pack(
                    settings, q, budget=budget, tokenizer=tokenizer, fmt=fmt, refresh=False
                )
            except BudgetError:
                assert budget < 200
                continue
            assert tok.count(result.text) == result.tokens_used <= budget, (budget, q)
            assert result.text.startswith("# Context" if fmt == "markdown" else "<context")


def test_bigger_budgets_show_more(indexed_hash: Path):
    settings = load_settings(indexed_hash)
    small = pack(settings, "cart total with tax", budget=400, refresh=False)
    large = pack(settings, "cart total with tax", budget=4000, refresh=False)
    assert large.tokens_used > small.tokens_used
    assert len(large.bundle.items) > len(small.bundle.items)
    assert large.bundle.left_out <= small.bundle.left_out


def test_tiny_budget_is_a_budget_error(indexed_hash: Path):
    result = runner.invoke(app, ["pack", "cart", "--budget", "20", "--repo", str(indexed_hash)])
    assert result.exit_code == ExitCode.BUDGET
    assert result.stdout == ""
    assert "too small" in result.stderr and result.stderr.count("\n") == 1


def _check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("AGENTCTX_UPDATE_GOLDEN"):
        path.write_text(text)
    expected = path.read_text()
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), text.splitlines(True), f"golden/{name}", "actual"
            )
        )
        pytest.fail(
            f"output differs from golden file (AGENTCTX_UPDATE_GOLDEN=1 to accept):\n{diff}"
        )


@pytest.mark.parametrize(("fmt", "ext"), [("markdown", "md"), ("xml", "xml"), ("json", "json")])
def test_formats_golden(indexed_hash: Path, fmt: str, ext: str):
    result = runner.invoke(
        app,
        [
            "pack",
            "how does Cart.total apply tax_for?",
            "--budget",
            "700",
            "--format",
            fmt,
            "--repo",
            str(indexed_hash),
            "--no-refresh",
        ],
    )
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    if fmt == "json":
        data = json.loads(out)
        data["stats"].pop("latency_ms")  # timings vary run to run
        out = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    _check_golden(f"pack_sample.{ext}", out.replace(indexed_hash.name, "sample_repo"))


def test_json_shape_and_agreement_with_markdown(indexed_hash: Path):
    args = [
        "pack",
        "cart total with tax",
        "--budget",
        "900",
        "--repo",
        str(indexed_hash),
        "--no-refresh",
    ]
    md = runner.invoke(app, args)
    js = runner.invoke(app, [*args, "--format", "json"])
    assert md.exit_code == js.exit_code == 0
    data = json.loads(js.stdout)
    assert set(data) == {"query", "budget", "tokenizer", "tokens_used", "items", "stats"}
    assert data["tokens_used"] == get_tokenizer("cl100k_base").count(md.stdout) <= 900
    item_keys = {
        "path",
        "symbol",
        "kind",
        "language",
        "start_line",
        "end_line",
        "detail",
        "score",
        "tokens",
        "text",
    }
    assert data["items"] and all(set(i) == item_keys for i in data["items"])
    assert {i["detail"] for i in data["items"]} <= {"full", "skeleton", "signature", "mention"}
    for item in data["items"]:
        if item["detail"] == "mention":
            assert item["text"] in md.stdout
        else:
            assert item["text"] in md.stdout
            assert (
                f"### {item['symbol']} (lines {item['start_line']}-{item['end_line']}" in md.stdout
            )
    opt = data["stats"]["context_optimization"]
    assert opt["optimized_context_size"] == data["tokens_used"]
    assert opt["original_context_size"] > 0
    names = [t["technique"] for t in opt["optimization_techniques"]]
    assert names == ["code_summarization", "selective_context_inclusion"]
    assert set(data["stats"]["latency_ms"]) >= {
        "load",
        "embed_query",
        "retrieve",
        "rank",
        "fit",
        "render",
    }


def test_stdout_holds_only_the_bundle_and_stats_go_to_stderr(indexed_hash: Path):
    result = runner.invoke(
        app, ["pack", "cart", "--budget", "500", "--stats", "--repo", str(indexed_hash)]
    )
    assert result.exit_code == 0
    assert result.stdout.startswith("# Context: cart")
    assert "context_optimization" not in result.stdout
    assert "context_optimization" in result.stderr


def test_query_from_stdin_and_file(indexed_hash: Path, tmp_path: Path):
    via_stdin = runner.invoke(
        app,
        ["pack", "-", "--budget", "500", "--repo", str(indexed_hash), "--no-refresh"],
        input="apply_discount is wrong\n",
    )
    qfile = tmp_path / "issue.txt"
    qfile.write_text("apply_discount is wrong\n")
    via_file = runner.invoke(
        app,
        [
            "pack",
            "--query-file",
            str(qfile),
            "--budget",
            "500",
            "--repo",
            str(indexed_hash),
            "--no-refresh",
        ],
    )
    assert via_stdin.exit_code == via_file.exit_code == 0
    assert via_stdin.stdout == via_file.stdout
    assert "apply_discount" in via_stdin.stdout
    empty = runner.invoke(app, ["pack", "-", "--repo", str(indexed_hash)], input="  \n")
    assert empty.exit_code == ExitCode.USAGE and "empty" in empty.stderr
    missing = runner.invoke(app, ["pack", "--query-file", str(tmp_path / "nope")])
    assert missing.exit_code == ExitCode.NOT_FOUND
    # search reads a query file the same way
    repo = ["--repo", str(indexed_hash), "--no-refresh", "--json"]
    searched = [
        runner.invoke(app, ["search", *argv, *repo], input=stdin)
        for argv, stdin in ((["-"], "apply_discount is wrong\n"), (["-f", str(qfile)], None))
    ]
    assert searched[0].exit_code == searched[1].exit_code == 0, searched[1].stderr
    found = [json.loads(r.stdout)["results"] for r in searched]
    assert found[0] == found[1] and found[0][0]["symbol"].endswith("apply_discount")
    missing = runner.invoke(app, ["search", "-f", str(tmp_path / "nope"), *repo])
    assert missing.exit_code == ExitCode.NOT_FOUND


def test_pack_in_a_fresh_repository_indexes_lexically_and_says_so(sample_repo: Path, monkeypatch):
    """More chunks than a query embeds itself, none in the embedding cache: ranked
    lexically, and said once."""
    monkeypatch.setattr(pipeline, "EMBED_ON_QUERY_LIMIT", 4)
    monkeypatch.setenv("AGENTCTX_EMBEDDER", "hash")
    result = runner.invoke(
        app, ["pack", "apply_discount", "--budget", "600", "--repo", str(sample_repo)]
    )
    assert result.exit_code == 0, result.stderr
    assert "apply_discount" in result.stdout
    assert "not embedded yet" in result.stderr and "ranked lexically" in result.stderr
    assert result.stderr.count("not embedded yet") == 1  # one note, no notice beside it
    assert "left pending" not in result.stderr
    assert (sample_repo / ".agentctx" / "index.db").exists()


def test_pack_takes_what_the_embedding_cache_has(sample_repo: Path, tmp_path: Path, monkeypatch):
    """A second clone, a branch switched back or an index rebuilt: more chunks pending
    than a query embeds, all of them in the embedding cache, are all filled from it (no
    model), and the answer is the one the first index gives."""
    monkeypatch.setattr(pipeline, "EMBED_ON_QUERY_LIMIT", 4)
    monkeypatch.setenv("AGENTCTX_EMBEDDER", "hash")
    build_index(load_settings(sample_repo))
    clone = tmp_path / "clone"
    shutil.copytree(sample_repo, clone, symlinks=True, ignore=shutil.ignore_patterns(".agentctx"))
    argv = ["pack", "apply_discount", "--budget", "600", "--format", "json"]
    first = runner.invoke(app, [*argv, "--repo", str(sample_repo)])
    second = runner.invoke(app, [*argv, "--repo", str(clone)])
    assert second.exit_code == 0, second.stderr
    assert "not embedded" not in second.stderr
    with IndexStore.open(clone / ".agentctx", writer=False) as store:
        assert store.pending_count() == 0 and store.vector_count() > 4
    items = [
        [(i["path"], i["symbol"]) for i in json.loads(r.stdout)["items"]] for r in (first, second)
    ]
    assert items[0] == items[1]


def test_the_cache_lookup_stops_after_more_misses_than_a_query_embeds(indexed_hash: Path):
    """A fresh clone's first pack does not look up thousands of chunks the cache has never
    seen: it stops a page after more than ``max_misses`` have missed."""
    from agentctx.embed.cache import EmbeddingCache

    settings = load_settings(indexed_hash)
    with IndexStore.open(settings.index_dir, writer=True) as store:
        store.conn.execute("DELETE FROM vectors")
        store.conn.commit()
        pending = len(store.pending_hashes(limit=1_000_000))
        looked = []
        original = EmbeddingCache.get_many

        def counting(self, hashes):
            hashes = list(hashes)
            looked.extend(hashes)
            return original(self, [])  # a cache that has nothing

        EmbeddingCache.get_many = counting
        try:
            emb = get_embedder("hash")
            report = pipeline.IndexReport(root="x")
            filled = pipeline._fill_from_cache(store, emb, settings, report, 3, page=2)
        finally:
            EmbeddingCache.get_many = original
    assert filled == [] and pending > 10
    assert len(looked) == 4  # two pages: 2 misses, then 4 > 3


def test_search_text_and_json(indexed_hash: Path):
    text = runner.invoke(app, ["search", "apply_discount", "-n", "3", "--repo", str(indexed_hash)])
    assert text.exit_code == 0
    lines = text.stdout.splitlines()
    assert len(lines) == 3 and lines[0].split()[1:] == ["src/shop/pricing.py:9", "apply_discount"]
    js = runner.invoke(app, ["search", "apply_discount", "--json", "--repo", str(indexed_hash)])
    data = json.loads(js.stdout)
    assert data["results"][0]["symbol"] == "apply_discount"
    assert {"score", "path", "line", "symbol", "kind", "signals"} <= set(data["results"][0])


def test_bad_format_and_tokenizer(indexed_hash: Path):
    bad = runner.invoke(app, ["pack", "x", "--format", "html", "--repo", str(indexed_hash)])
    assert bad.exit_code == ExitCode.USAGE
    tok = runner.invoke(app, ["pack", "x", "--tokenizer", "gpt2", "--repo", str(indexed_hash)])
    assert tok.exit_code == ExitCode.CONFIG and "cl100k_base" in tok.stderr


def test_xml_keeps_code_raw_unless_it_could_close_a_tag():
    from agentctx.models import PackItem
    from agentctx.render import item_block

    item = PackItem(
        "a.py",
        "f",
        "function",
        "python",
        1,
        2,
        "full",
        1.0,
        0,
        "def f() -> int:\n    return 1 < 2 & 3",
    )
    assert "def f() -> int:\n    return 1 < 2 & 3" in item_block(item, "xml")
    tricky = PackItem("a.py", "g", "function", "python", 1, 1, "full", 1.0, 0, 's = "</symbol>]]>"')
    block = item_block(tricky, "xml")
    assert block.startswith("<symbol") and "<![CDATA[" in block
    import xml.etree.ElementTree as ET

    assert ET.fromstring(block).text.strip() == 's = "</symbol>]]>"'


def _fit(hits, chunks, *, budget: int, **extra):
    """``fit`` of synthetic hits, no skeleton children, no keep terms."""
    from agentctx.budget import fit

    return fit(
        query="q",
        repo="r",
        hits=hits,
        chunks=chunks,
        children=lambda c: [],
        keep_terms=set(),
        tok=get_tokenizer("cl100k_base"),
        budget=budget,
        fmt="markdown",
        below_threshold=0,
        **extra,
    )


def test_module_chunk_does_not_hide_the_rest_of_its_file():
    """A <module> item spans 1..N but shows only the remainder: later symbols still pack."""
    from agentctx.chunk import chunk_file
    from agentctx.models import Hit
    from agentctx.parse import parse_file

    source = "import os\n\n\ndef alpha():\n    return os.sep\n\n\ndef beta():\n    return 2\n"
    chunks = {c.id: c for c in chunk_file(parse_file("m.py", source))}
    order = sorted(chunks.values(), key=lambda c: c.start_line)  # <module> first
    hits = [
        Hit(c.id, c.path, c.qualname, c.kind, c.start_line, c.end_line, 1.0 - 0.1 * n)
        for n, c in enumerate(order)
    ]
    fitted = _fit(hits, chunks, budget=2000)
    shown = {(i.symbol, i.detail) for i in fitted.bundle.items}
    assert {("<module>", "full"), ("alpha", "full"), ("beta", "full")} <= shown


def test_budget_left_at_the_end_shows_the_head_of_a_file_shown_in_full():
    """What a file imports and defines comes with its code in full when the budget has
    room left (last, so trimmed first); a tight budget keeps it for code."""
    from agentctx.chunk import chunk_file
    from agentctx.models import MODULE_SYMBOL, Hit
    from agentctx.parse import parse_file

    imports = "".join(f"from pkg.mod{n} import helper_{n}\n" for n in range(60))
    body = "".join(f"    total += helper_{n}(x)\n" for n in range(30))
    source = f"{imports}\n\ndef alpha(x):\n    total = 0\n{body}    return total\n"
    chunks = {c.id: c for c in chunk_file(parse_file("m.py", source))}
    by_name = {c.qualname: c for c in chunks.values()}
    alpha, head = by_name["alpha"], by_name[MODULE_SYMBOL]
    hits = [Hit(alpha.id, "m.py", "alpha", alpha.kind, alpha.start_line, alpha.end_line, 1.0)]

    def shown(budget: int) -> dict[str, str]:
        fitted = _fit(
            hits,
            {alpha.id: alpha},
            budget=budget,
            heads=lambda paths: {"m.py": head} if "m.py" in paths else {},
        )
        assert fitted.tokens_used <= budget
        if MODULE_SYMBOL in {i.symbol for i in fitted.bundle.items}:
            assert "from pkg.mod59 import helper_59" in fitted.text
            assert fitted.text.index("import helper_29") < fitted.text.index("def alpha")
        return {i.symbol: i.detail for i in fitted.bundle.items}

    assert shown(4000) == {"alpha": "full", MODULE_SYMBOL: "full"}
    assert shown(1000) == {"alpha": "full"}  # no room for both


def test_the_best_file_in_full_gets_its_head_before_other_items_are_upgraded():
    """Room for the head of the first file in full or for upgrading a later item, not both:
    the head (a fix there often needs its imports) goes first."""
    from agentctx.chunk import chunk_file
    from agentctx.models import MODULE_SYMBOL, Hit
    from agentctx.parse import parse_file

    a_src = "import os\nimport sys\n\n\ndef alpha():\n    return os.sep + sys.platform\n"
    b_src = "def beta(x):\n" + "".join(f"    x += {n}\n" for n in range(80)) + "    return x\n"
    a = {c.qualname: c for c in chunk_file(parse_file("a.py", a_src))}
    (beta,) = chunk_file(parse_file("b.py", b_src))
    alpha, head = a["alpha"], a[MODULE_SYMBOL]
    fill = [  # full items that take most of the budget
        chunk_file(parse_file(f"f{n}.py", f"def gamma_{n}(y):\n{body}    return y\n"))[0]
        for n in range(8)
        for body in ["".join(f"    y *= {k}\n" for k in range(40))]
    ]
    chunks = {alpha.id: alpha, beta.id: beta, **{c.id: c for c in fill}}
    hits = [
        Hit(alpha.id, "a.py", "alpha", alpha.kind, alpha.start_line, alpha.end_line, 1.0),
        *(
            Hit(c.id, c.path, c.qualname, c.kind, 1, c.end_line, 0.9 - n / 100)
            for n, c in enumerate(fill)
        ),
        Hit(beta.id, "b.py", "beta", beta.kind, beta.start_line, beta.end_line, 0.2),
    ]

    def details(budget: int, with_heads: bool) -> dict[str, str]:
        fitted = _fit(
            hits,
            chunks,
            budget=budget,
            heads=(lambda paths: {"a.py": head} if "a.py" in paths else {}) if with_heads else None,
        )
        assert fitted.tokens_used <= budget
        return {i.symbol: i.detail for i in fitted.bundle.items}

    # the smallest budget at which beta (below the full floor) is upgraded to full
    budget = next(b for b in range(1000, 8000, 2) if details(b, False).get("beta") == "full")
    shown = details(budget, True)
    assert shown[MODULE_SYMBOL] == "full" and shown["alpha"] == "full"
    assert shown["beta"] != "full"


def test_mentions_take_about_a_dozen_lines_whatever_the_budget(monkeypatch):
    """Past the signatures, one-line mentions of other files fill at most MENTION_ROOM
    tokens: at 4k that is all the rest (as before), at 16k what is left goes to code."""
    import agentctx.budget as budget_stage
    from agentctx.chunk import chunk_file
    from agentctx.models import Hit
    from agentctx.parse import parse_file

    chunks, hits = {}, []
    for n in range(1500):
        source = f"def helper_{n}(value, other=None):\n    return value + {n}\n"
        (c,) = chunk_file(parse_file(f"pkg/m{n}.py", source))
        chunks[c.id] = c
        hits.append(Hit(c.id, c.path, c.qualname, c.kind, 1, 2, 0.2 - n * 1e-5))

    def mentions(budget: int) -> tuple[int, int]:
        fitted = _fit(hits, chunks, budget=budget)
        assert fitted.tokens_used <= budget
        items = fitted.bundle.items
        return (
            sum(i.tokens for i in items if i.detail == "mention"),
            sum(i.detail == "full" for i in items),
        )

    small, large = mentions(4000), mentions(16000)
    assert 0 < large[0] <= budget_stage.MENTION_ROOM and small[0] > 0
    monkeypatch.setattr(budget_stage, "MENTION_ROOM", 10**9)  # mentions up to the end
    assert mentions(4000) == small
    unbounded = mentions(16000)
    assert unbounded[0] > 2 * large[0] and unbounded[1] < large[1]


def test_a_class_in_full_does_not_repeat_its_methods_in_the_bundle():
    """A method ranked above its class stays an item in full; the class shows it as a
    signature. A method that was only a skeleton is absorbed: the class shows it whole."""
    from agentctx.chunk import chunk_file
    from agentctx.models import Hit
    from agentctx.parse import parse_file

    body = "".join(f"        total += {n} * x\n" for n in range(12))
    source = (
        "class Cart:\n"
        '    """A cart."""\n\n'
        "    def total(self, x):\n"
        "        total = 0\n" + body + "        return total\n\n"
        "    def count(self, x):\n"
        "        n = 0\n" + body.replace("total", "n") + "        return n\n"
    )
    chunks = {c.id: c for c in chunk_file(parse_file("cart.py", source))}
    by_name = {c.qualname: c for c in chunks.values()}
    ranked = [("Cart.total", 1.0), ("Cart.count", 0.2), ("Cart", 0.9)]
    hits = [
        Hit(c.id, c.path, c.qualname, c.kind, c.start_line, c.end_line, score)
        for c, score in ((by_name[q], s) for q, s in ranked)
    ]
    fitted = _fit(hits, chunks, budget=2000)
    shown = {i.symbol: i.detail for i in fitted.bundle.items}
    assert shown == {"Cart.total": "full", "Cart": "full"}  # count: inside Cart, whole
    assert fitted.text.count("total += 11 * x") == 1  # total's body once, in its own item
    assert fitted.text.count("n += 11 * x") == 1  # count's body once, inside Cart
    cart = next(i for i in fitted.bundle.items if i.symbol == "Cart")
    assert "    def total(self, x):\n        ...\n" in cart.text


def _big_class(methods: str):
    """Chunks of a module holding ``class Big`` (its ``methods``) and ``top()``, and hits
    ranking ``top`` first and ``Big`` below the full floor (a skeleton at best)."""
    from agentctx.chunk import chunk_file
    from agentctx.models import Hit
    from agentctx.parse import parse_file

    source = 'class Big:\n    """Many methods."""\n\n' + methods + "def top():\n    return 1\n"
    chunks = {c.id: c for c in chunk_file(parse_file("big.py", source))}
    by_name = {c.qualname: c for c in chunks.values()}
    hits = [
        Hit(c.id, c.path, c.qualname, c.kind, c.start_line, c.end_line, score)
        for c, score in ((by_name["top"], 1.0), (by_name["Big"], 0.2))
    ]
    return chunks, hits


def test_a_skeleton_bigger_than_its_share_of_the_budget_drops_to_its_signature():
    """The outline of a big class is no summary at a small budget: it becomes its
    signature, and the tokens go to code in full. A bigger budget shows the skeleton."""
    from agentctx.budget import SKELETON_MAX_SHARE, SKELETON_MIN_CAP

    body = "".join(f"        value = value * {k} + other[{k}]\n" for k in range(20))
    methods = "".join(
        f"    def method_{n}(self, value, other=None):\n{body}        return value\n\n"
        for n in range(20)
    )
    chunks, hits = _big_class(methods)
    small = {i.symbol: i for i in _fit(hits, chunks, budget=3000).bundle.items}
    large = {i.symbol: i for i in _fit(hits, chunks, budget=10000).bundle.items}
    assert large["Big"].detail == "skeleton"  # too big in full for either budget
    assert "def method_19(self, value, other=None):" in large["Big"].text
    cap = max(SKELETON_MAX_SHARE * 3000, SKELETON_MIN_CAP)
    assert cap < large["Big"].tokens < SKELETON_MAX_SHARE * 9000
    assert small["Big"].detail == "signature"
    assert "method_" not in small["Big"].text
    assert small["top"].detail == large["top"].detail == "full"


def test_a_method_shown_whole_at_a_small_budget_is_still_whole_beside_its_class_skeleton():
    """A class ranked above its method is a skeleton at a bigger budget (a signature at a
    smaller one); the skeleton shows only the method's first line, so a method good enough
    to be shown whole is still shown whole. One below the full floor stays inside it."""
    from agentctx.models import Hit

    body = "".join(f"        value = value * {k} + other[{k}]\n" for k in range(20))
    methods = "".join(
        f"    def method_{n}(self, value, other=None):\n{body}        return value\n\n"
        for n in range(20)
    )
    chunks, hits = _big_class(methods)
    by_name = {c.qualname: c for c in chunks.values()}
    big = by_name["Big"]
    hits[1] = Hit(big.id, big.path, big.qualname, big.kind, big.start_line, big.end_line, 0.9)
    for name, score in (("Big.method_3", 0.5), ("Big.method_7", 0.1)):
        c = by_name[name]
        hits.append(Hit(c.id, c.path, c.qualname, c.kind, c.start_line, c.end_line, score))
    small = {i.symbol: i.detail for i in _fit(hits, chunks, budget=3000).bundle.items}
    large = {i.symbol: i.detail for i in _fit(hits, chunks, budget=10000).bundle.items}
    assert small["Big"] == "signature" and large["Big"] == "skeleton"
    assert small["Big.method_3"] == large["Big.method_3"] == "full"
    assert "Big.method_7" not in large  # its first line is in the skeleton


def test_a_skeleton_surely_over_its_cap_is_not_rendered_and_the_bundle_is_the_same(
    monkeypatch: pytest.MonkeyPatch,
):
    """The first lines of a class's methods alone may exceed a skeleton's cap: the budget
    stage then passes the skeleton without rendering it, and chooses what it chose before."""
    import agentctx.budget as budget_mod

    methods = "".join(
        f"    def method_{n}(self, value, other=None, *, scale=1.0):\n        return value\n\n"
        for n in range(60)
    )
    chunks, hits = _big_class(methods)
    big = chunks[hits[1].id]
    kids = [(c.start_line, c.end_line) for c in chunks.values() if c.parent == "Big"]
    rendered: list[str] = []
    real = budget_mod.render_skeleton

    def spy(chunk, **kw):
        rendered.append(chunk.qualname)
        return real(chunk, **kw)

    monkeypatch.setattr(budget_mod, "render_skeleton", spy)

    def bundle(budget: int) -> list[tuple[str, str, int]]:
        fitted = budget_mod.fit(
            query="q",
            repo="r",
            hits=hits,
            chunks=chunks,
            children=lambda c: kids if c.id == big.id else [],
            keep_terms=set(),
            tok=get_tokenizer("cl100k_base"),
            budget=budget,
            fmt="markdown",
            below_threshold=0,
        )
        return [(i.symbol, i.detail, i.tokens) for i in fitted.bundle.items]

    assert budget_mod.skeleton_floor(big, kids) > 0.05 * 3000
    small = bundle(3000)
    assert "Big" not in rendered and ("Big", "signature") in {(s, d) for s, d, _ in small}
    monkeypatch.setattr(budget_mod, "skeleton_floor", lambda chunk, children: 0)
    assert bundle(3000) == small and rendered == ["Big"]  # rendered, then too big: the same


def test_a_report_filed_from_the_projects_template_is_searched_without_it(indexed_hash: Path):
    """Checklist lines of the project's issue template say nothing about this report."""
    settings = _hash_settings(indexed_hash)
    checklist = "- [x] format the legacy price for display before the checkout\n"
    report = "Cart total is wrong\n" + checklist + "The discount is applied after tax_for.\n"
    alone = "Cart total is wrong\nThe discount is applied after tax_for.\n"

    def ranked(query: str) -> list[tuple[int, float]]:
        return [(h.id, h.score) for h in search(settings, query, refresh=False).hits]

    assert ranked(report) != ranked(alone)  # the checklist's words move the ranking
    template = indexed_hash / ".github" / "ISSUE_TEMPLATE" / "bug.md"
    template.parent.mkdir(parents=True)
    template.write_text("- [ ] Format the legacy price for display before the checkout.\n")
    assert ranked(report) == ranked(alone)


def test_a_budget_that_is_not_positive_is_a_usage_error(indexed_hash: Path):
    for value in ("0", "-5"):
        result = runner.invoke(app, ["pack", "q", "--budget", value, "-C", str(indexed_hash)])
        assert result.exit_code == ExitCode.USAGE, result.output
        assert "--budget must be a positive number" in result.stderr


@pytest.fixture
def read_only_index_dir(indexed_hash: Path):
    """The sample repository's .agentctx/ made unwritable (chattr +i as root, else chmod)."""
    import shutil
    import subprocess

    index_dir = indexed_hash / ".agentctx"
    undo: list[str] = []
    if os.geteuid() == 0 and shutil.which("chattr"):
        if subprocess.run(["chattr", "+i", str(index_dir)], capture_output=True).returncode == 0:
            undo = ["chattr", "-i", str(index_dir)]
    elif os.geteuid() != 0:
        index_dir.chmod(0o555)
    probe = index_dir / "probe"
    try:
        probe.touch()
    except OSError:
        pass
    else:
        probe.unlink()
        if undo:
            subprocess.run(undo, check=True)
        pytest.skip("cannot make a directory read-only here")
    yield indexed_hash
    if undo:
        subprocess.run(undo, check=True)
    else:
        index_dir.chmod(0o755)


def test_pack_on_a_read_only_index_answers_from_it_and_never_deletes_it(read_only_index_dir):
    root = read_only_index_dir
    before = (root / ".agentctx" / "index.db").read_bytes()
    (root / "src/shop/pricing.py").write_text("def changed():\n    return 2\n")
    result = runner.invoke(app, ["pack", "sales tax", "-b", "800", "-C", str(root)])
    assert result.exit_code == 0, result.output
    assert "tax_for" in result.stdout  # the index as it was: the edit could not be recorded
    assert "the index cannot be updated here" in result.stderr
    assert result.stderr.count("\n") == 1
    result = runner.invoke(app, ["index", str(root)])
    assert result.exit_code == ExitCode.INDEX
    assert "cannot use the index" in result.stderr and "Traceback" not in result.output
    assert (root / ".agentctx" / "index.db").read_bytes() == before


def test_pack_many_gives_what_pack_gives_at_each_budget(indexed_hash: Path):
    from agentctx.pipeline import pack_many

    settings = load_settings(indexed_hash)
    many = pack_many(settings, "cart total with tax", [20, 600, 2500], refresh=False)
    assert sorted(many) == [600, 2500]  # 20 cannot hold the header: left out, not raised
    for budget, result in many.items():
        single = pack(settings, "cart total with tax", budget=budget, refresh=False)
        assert result.text == single.text and result.tokens_used == single.tokens_used
    with pytest.raises(BudgetError):
        pack_many(settings, "cart total with tax", [20], refresh=False)


def test_token_accounting_only_when_asked(indexed_hash: Path, monkeypatch):
    """A plain pack skips the accounting (it reads every file the bundle touches);
    `--stats` and `--format json` have it. The bundle is the same either way."""
    import agentctx.pipeline as pipeline

    settings = load_settings(indexed_hash)
    q = "cart total with tax"
    plain = pack(settings, q, budget=1500, refresh=False, stats=False)
    full = pack(settings, q, budget=1500, refresh=False)
    assert plain.text == full.text and plain.tokens_used == full.tokens_used
    assert "context_optimization" not in plain.stats and "context_optimization" in full.stats
    assert plain.stats["items"] == full.stats["items"]

    asked: list[bool] = []
    real = pipeline.pack

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        asked.append(kwargs["stats"])
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "pack", spy)
    runner = CliRunner()
    for extra, expected in (([], False), (["--stats"], True), (["--format", "json"], True)):
        args = ["pack", q, "-C", str(indexed_hash), "--no-refresh", "--no-server", *extra]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.stderr
        assert asked[-1] is expected, extra
    assert "context_optimization" in json.loads(result.stdout)["stats"]


def test_no_refresh_still_says_which_symbols_are_not_embedded(indexed_hash: Path):
    (indexed_hash / "src" / "shop" / "extra.py").write_text("def refund(order):\n    return 0\n")
    build_index(load_settings(indexed_hash), embed=False)
    found = search(load_settings(indexed_hash), "refund an order", refresh=False)
    assert any("not embedded yet" in n for n in found.notes)
