"""`pack --diff` / `pack --staged`: context for the change at hand, on real git repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GIT_ENV, git
from typer.testing import CliRunner

from agentctx.argscan import optional_diff_rev
from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.diffctx import DiffSpec, changed_symbols, collect_changes, parse_hunks
from agentctx.errors import ExitCode, NotFoundError
from agentctx.pipeline import build_index, pack_diff
from agentctx.tokens import get_tokenizer

runner = CliRunner()
PRICING = "src/shop/pricing.py"


@pytest.fixture
def repo(sample_repo: Path) -> Path:
    (sample_repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    git(sample_repo, "add", ".agentctx.toml")
    git(sample_repo, "commit", "-q", "-m", "config")
    build_index(load_settings(sample_repo))
    return sample_repo


def _edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text()
    assert old in text, old
    p.write_text(text.replace(old, new))


def _items(result) -> dict[str, str]:
    return {i.symbol: i.detail for i in result.bundle.items}


# ----------------------------------------------------------------------------- hunks


def test_parse_hunks_new_side_ranges():
    patch = b"\n".join(
        [
            b"diff --git a/src/a.py b/src/a.py",
            b"--- a/src/a.py",
            b"+++ b/src/a.py",
            b"@@ -3 +3 @@ def f():",
            b"@@ -10,2 +10,4 @@",
            b"@@ -20,3 +21,0 @@",  # pure deletion after new line 21
            b"diff --git a/new.py b/new.py",
            b"--- /dev/null",
            b"+++ b/new.py",
            b"@@ -0,0 +1,5 @@",
            b"diff --git a/gone.py b/gone.py",
            b"--- a/gone.py",
            b"+++ /dev/null",
            b"@@ -1,4 +0,0 @@",
            b'--- "a/sp ace/\\303\\251t\\303\\251.py"',
            b'+++ "b/sp ace/\\303\\251t\\303\\251.py"',
            b"@@ -1 +1 @@",
            b"--- a/my file.py\t",  # a name with a space, unquoted: git ends it with a TAB
            b"+++ b/my file.py\t",
            b"@@ -2 +2 @@",
        ]
    )
    assert parse_hunks(patch) == {
        "src/a.py": [(3, 3), (10, 13), (21, 21)],
        "new.py": [(1, 5)],
        "gone.py": [(1, 1)],
        "sp ace/été.py": [(1, 1)],
        "my file.py": [(2, 2)],
    }


# --------------------------------------------------------------------- changed symbols


def test_a_method_edit_packs_the_method_in_full_and_its_test_and_class_as_skeletons(repo: Path):
    _edit(repo, "src/shop/cart.py", "item.sku != sku]", "item.sku.lower() != sku.lower()]")
    result = pack_diff(load_settings(repo), budget=30_000)
    items = _items(result)
    assert items["Cart.remove"] == "full"
    # Generous budget, yet the neighbourhood stays at skeleton level or below.
    assert "test_remove" in items and items["test_remove"] != "full"
    assert "Cart" in items and items["Cart"] != "full"
    assert sum(1 for d in items.values() if d == "full") == 1
    assert result.stats["diff"]["changed_symbols"] == 1
    assert "the working-tree change against HEAD" in result.text.splitlines()[0]
    assert result.tokens_used <= 30_000


def test_callers_keep_the_lines_that_use_the_changed_function(repo: Path):
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 4)")
    result = pack_diff(load_settings(repo), budget=30_000)
    by_symbol = {i.symbol: i for i in result.bundle.items}
    assert by_symbol["tax_for"].detail == "full"
    assert "round(amount * rate, 4)" in by_symbol["tax_for"].text
    total = by_symbol["Cart.total"]
    assert total.detail in ("skeleton", "signature")
    if total.detail == "skeleton":
        assert "tax_for(net)" in total.text  # the call site survives the elision


def test_staged_packs_the_index_version_and_diff_the_working_tree(repo: Path):
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 3)")
    git(repo, "add", PRICING)
    _edit(repo, PRICING, "return round(amount * rate, 3)", "return round(amount * rate, 5)")
    _edit(repo, PRICING, 'return f"{amount:.2f} {currency}"', 'return f"{currency} {amount:.2f}"')
    settings = load_settings(repo)

    staged = pack_diff(settings, staged=True, budget=30_000)
    assert {i.symbol for i in staged.bundle.items if i.detail == "full"} == {"tax_for"}
    assert "rate, 3)" in staged.text and "rate, 5)" not in staged.text

    work = pack_diff(settings, budget=30_000)
    full = {i.symbol for i in work.bundle.items if i.detail == "full"}
    assert full == {"tax_for", "format_price"}
    assert "rate, 5)" in work.text


def test_untracked_files_removed_symbols_and_deleted_files(repo: Path):
    (repo / "src/shop/coupons.py").write_text(
        "def redeem(code: str) -> float:\n    return 5.0 if code else 0.0\n"
    )
    text = (repo / PRICING).read_text()
    cut = text.index("def format_price")
    (repo / PRICING).write_text(text[:cut].rstrip() + "\n")
    (repo / "src/shop/legacy.py").unlink()
    result = pack_diff(load_settings(repo), budget=30_000)
    items = _items(result)
    assert items["redeem"] == "full"
    notes = "\n".join(result.bundle.notes)
    assert "removed by the change: src/shop/pricing.py::format_price" in notes
    assert "deleted: src/shop/legacy.py" in notes
    assert "format_price" not in items


def test_diff_against_an_older_revision(repo: Path):
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 6)")
    git(repo, "commit", "-q", "-am", "more digits")
    settings = load_settings(repo)
    with pytest.raises(NotFoundError, match="nothing to pack"):
        pack_diff(settings)
    result = pack_diff(settings, rev="HEAD~1", budget=8000)
    assert _items(result)["tax_for"] == "full"


def test_a_change_to_the_module_remainder_is_the_module_chunk():
    from agentctx.diffctx import FileChange

    text = "import os\n\nLIMIT = 3\n\n\ndef f():\n    return LIMIT\n"
    ch = FileChange("m.py", "M", text, text.replace("3", "4"), [(3, 3)])
    ctx = changed_symbols([ch], DiffSpec(), max_chars=1200)
    assert [c.qualname for c in ctx.changed] == ["<module>"]
    ch = FileChange("m.py", "M", text, text, [(7, 7)])
    assert [c.qualname for c in changed_symbols([ch], DiffSpec(), max_chars=1200).changed] == ["f"]


@pytest.mark.parametrize("tokenizer", ["cl100k_base", "o200k_base"])
@pytest.mark.parametrize("fmt", ["markdown", "xml"])
def test_diff_bundles_fit_their_budget(repo: Path, tokenizer: str, fmt: str):
    _edit(repo, "src/shop/cart.py", "item.sku != sku]", "item.sku.lower() != sku.lower()]")
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 4)")
    settings = load_settings(repo)
    tok = get_tokenizer(tokenizer)
    for budget in (300, 700, 1500, 4000):
        result = pack_diff(settings, budget=budget, tokenizer=tokenizer, fmt=fmt)
        assert tok.count(result.text) == result.tokens_used <= budget


def test_collect_changes_outside_git_is_not_found(plain_sample_repo: Path):
    with pytest.raises(NotFoundError, match="not inside a git repository"):
        collect_changes(plain_sample_repo, DiffSpec(), max_file_size=1_000_000)


# ------------------------------------------------------------------------------- CLI


def test_cli_diff_with_query_and_json(repo: Path):
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 4)")
    res = runner.invoke(
        app, ["pack", "--diff", "HEAD", "how is tax rounded?", "-C", str(repo), "--format", "json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    symbols = {i["symbol"]: i["detail"] for i in data["items"]}
    assert symbols["tax_for"] == "full"
    assert "how is tax rounded?" in data["query"]


def test_cli_usage_errors(repo: Path):
    res = runner.invoke(app, ["pack", "--diff", "HEAD", "--staged", "-C", str(repo)])
    assert res.exit_code == ExitCode.USAGE
    res = runner.invoke(app, ["pack", "--diff", "no-such-rev", "-C", str(repo)])
    assert res.exit_code == ExitCode.NOT_FOUND
    assert "unknown revision 'no-such-rev'" in res.stderr
    res = runner.invoke(app, ["pack", "--staged", "-C", str(repo)])
    assert res.exit_code == ExitCode.NOT_FOUND and "nothing to pack" in res.stderr
    assert "Traceback" not in res.output


def test_optional_revision_after_diff(repo: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(repo)
    assert optional_diff_rev(["pack", "--diff"]) == ["pack", "--diff", "HEAD"]
    assert optional_diff_rev(["pack", "--diff", "-b", "9"]) == [
        "pack",
        "--diff",
        "HEAD",
        "-b",
        "9",
    ]
    assert optional_diff_rev(["pack", "--diff", "HEAD~0", "q"]) == [
        "pack",
        "--diff",
        "HEAD~0",
        "q",
    ]
    assert optional_diff_rev(["pack", "--diff", "why?"]) == ["pack", "--diff", "HEAD", "why?"]
    assert optional_diff_rev(["search", "--diff"]) == ["search", "--diff"]


def test_real_cli_process_with_a_bare_diff_flag(repo: Path):
    _edit(repo, PRICING, "return round(amount * rate, 2)", "return round(amount * rate, 4)")
    exe = Path(sys.executable).with_name("agentctx")
    out = subprocess.run(
        [str(exe), "pack", "--diff", "--budget", "2000"],
        cwd=repo,
        env={**GIT_ENV, "AGENTCTX_CACHE_DIR": os.environ["AGENTCTX_CACHE_DIR"]},
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("# Context: the working-tree change against HEAD")
    assert "round(amount * rate, 4)" in out.stdout


def test_optional_revision_is_checked_in_the_repo_given(repo: Path, tmp_path: Path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # not a repository: only --repo can tell HEAD~0 is a revision
    assert optional_diff_rev(["pack", "-C", str(repo), "--diff", "HEAD~0", "q"]) == [
        "pack",
        "-C",
        str(repo),
        "--diff",
        "HEAD~0",
        "q",
    ]
    assert optional_diff_rev(["pack", f"--repo={repo}", "--diff", "q"])[-2:] == ["HEAD", "q"]


def test_a_caller_too_short_to_elide_is_shown_whole(tmp_path: Path):
    root = tmp_path / "small"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg/m.py").write_text(
        "def add(a, b):\n    return a + b\n\n\ndef twice(x):\n    return add(x, x)\n"
    )
    (root / ".agentctx.toml").write_text('embedder = "hash"\n')
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    build_index(load_settings(root))
    _edit(root, "pkg/m.py", "return a + b", "return b + a")
    result = pack_diff(load_settings(root), budget=2000)
    by_symbol = {i.symbol: i for i in result.bundle.items}
    assert by_symbol["add"].detail == "full"
    assert by_symbol["twice"].text == "def twice(x):\n    return add(x, x)"


def test_a_file_with_a_byte_order_mark_is_decoded_as_the_indexer_does(tmp_path: Path):
    root = tmp_path / "bom"
    root.mkdir()
    git(root, "init", "-q")
    (root / "m.py").write_bytes(b"\xef\xbb\xbfdef f():\n    return 1\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bom")
    (root / "m.py").write_bytes(b"\xef\xbb\xbfdef f():\n    return 2\n")
    (change,) = collect_changes(root, DiffSpec(), max_file_size=10_000)
    assert change.old_text is not None and change.new_text is not None
    assert not change.old_text.startswith("\ufeff") and not change.new_text.startswith("\ufeff")
    assert change.new_text.startswith("def f():")


def test_a_changed_file_whose_name_is_not_utf8_is_left_out(repo: Path):
    """git names it with bytes that are not UTF-8; the index never holds it (discover skips
    it), and the bundle of the change leaves it out instead of failing (exit 1 before)."""
    raw = os.path.join(os.fsencode(repo), b"caf\xe9.py")
    with open(raw, "wb") as f:
        f.write(b"def cafe():\n    return 2\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "cafe")
    with open(raw, "ab") as f:
        f.write(b"# edited\n")
    _edit(repo, PRICING, "return round(", "return  round(")
    for staged in (False, True):
        if staged:
            git(repo, "add", "-A")
        changes = collect_changes(repo, DiffSpec(staged=staged), max_file_size=1 << 20)
        assert [c.path for c in changes] == [PRICING]
    result = runner.invoke(app, ["pack", "--diff", "HEAD~1", "-b", "2000", "--repo", str(repo)])
    assert result.exit_code == 0, result.stderr
    assert "def cafe" not in result.stdout and "\ufffd" not in result.stdout
    assert PRICING in result.stdout


def test_a_root_below_a_directory_not_named_in_utf8(tmp_path: Path):
    """Only names below the root are left out: a root inside the repository whose own
    directory is not named in UTF-8 keeps its changes, both sides read by git (its
    bytes handed back as they came; every change was dropped, then the read failed)."""
    top = tmp_path / "top"
    top.mkdir()
    git(top, "init", "-q")
    root = Path(os.fsdecode(os.path.join(os.fsencode(top), b"sub\xe9")))
    root.mkdir()
    (root / "a.py").write_text("def alpha():\n    return 1\n")
    git(top, "add", "-A")
    git(top, "commit", "-q", "-m", "a")
    (root / "a.py").write_text("def alpha():\n    return 2\n")
    (changed,) = collect_changes(root, DiffSpec(), max_file_size=1 << 20)
    assert (changed.path, changed.status) == ("a.py", "M")
    assert changed.old_text == "def alpha():\n    return 1\n"
    assert changed.new_text == "def alpha():\n    return 2\n"
