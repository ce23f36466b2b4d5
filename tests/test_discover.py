"""Discovery: git's file selection, pruning, skips, content reading and git plumbing.

The strongest checks compare ``discover()`` with ``git ls-files --cached --others
--exclude-standard`` on the sample repository and on generated trees.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import random
import shutil
import time
from pathlib import Path

import pytest
from conftest import (
    INSIDE_LINK,
    OUTSIDE_LINK,
    SAMPLE_FILES,
    age_tree,
    git,
    git_visible_files,
    make_sample_repo,
)

from agentctx.discover import (
    AGENTCTXIGNORE,
    SKIP_NAME_NOT_UTF8,
    Discovery,
    IgnoreMatcher,
    SourceText,
    _compile_patterns,
    discover,
    ensure_excluded,
    find_root,
    git_common_dir,
    git_dir,
    is_binary,
    issue_templates,
    read_source,
)
from agentctx.errors import NotFoundError
from agentctx.models import SourceFile

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def paths(d: Discovery) -> set[str]:
    return {f.path for f in d.files}


def reasons(d: Discovery) -> dict[str, str]:
    return {s.path: s.reason for s in d.skipped}


def write(root: Path, rel: str, text: str = "x\n") -> Path:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def source(d: Discovery, rel: str) -> SourceFile:
    return next(f for f in d.files if f.path == rel)


# --- the sample repository -------------------------------------------------------------


def test_sample_repo_selection(sample_repo: Path) -> None:
    d = discover(sample_repo)
    assert paths(d) == SAMPLE_FILES
    assert reasons(d) == {OUTSIDE_LINK: "symlink-outside-root"}
    assert d.ignore_files == (".git/info/exclude", ".gitignore", "src/.gitignore")


def test_sample_repo_matches_git_ls_files(sample_repo: Path) -> None:
    d = discover(sample_repo)
    assert paths(d) == git_visible_files(sample_repo) - set(reasons(d))
    # And the only thing git sees that we left out is the symlink leaving the root.
    assert git_visible_files(sample_repo) - paths(d) == {OUTSIDE_LINK}


def test_results_are_sorted_and_stat_only(sample_repo: Path) -> None:
    d = discover(sample_repo)
    assert [f.path for f in d.files] == sorted(f.path for f in d.files)
    cart = source(d, "src/shop/cart.py")
    st = (sample_repo / "src/shop/cart.py").stat()
    assert (cart.size, cart.mtime_ns) == (st.st_size, st.st_mtime_ns)
    assert cart.abs_path == sample_repo / "src/shop/cart.py"
    assert cart.abs_path.is_absolute()


def test_plain_directory_behaves_like_the_git_repo(plain_sample_repo: Path) -> None:
    d = discover(plain_sample_repo)
    assert paths(d) == SAMPLE_FILES
    assert reasons(d) == {OUTSIDE_LINK: "symlink-outside-root"}
    assert d.ignore_files == (".gitignore", "src/.gitignore")
    assert git_dir(plain_sample_repo) is None


# --- ignore rules ------------------------------------------------------------------------


def test_root_patterns_apply_at_every_depth_unless_anchored(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, "src/shop/generated.py")  # "/generated.py" is anchored to the root
    write(root, "src/shop/trace.log")  # "*.log" is not
    d = paths(discover(root))
    assert "src/shop/generated.py" in d
    assert "generated.py" not in d
    assert not {"app.log", "docs/debug.log", "src/shop/trace.log"} & d


def test_nested_gitignore_is_relative_to_its_directory(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, "src/shop/scratch.py")  # "/scratch.py" in src/.gitignore means src/scratch.py
    write(root, "src/old.bak")  # "shop/*.bak" in src/.gitignore means src/shop/*.bak
    write(root, "junk.tmp")  # "*.tmp" lives in src/.gitignore: not above it
    d = paths(discover(root))
    assert {"src/shop/scratch.py", "src/old.bak", "junk.tmp", "src/keep.tmp"} <= d
    assert not {"src/scratch.py", "src/shop/old.bak", "src/junk.tmp", "src/shop/cache.tmp"} & d


def test_negation_and_deeper_files_override(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, "src/shop/keep.tmp")  # "!keep.tmp" is unanchored: any depth below src
    write(root, "src/shop/.gitignore", "!cache.tmp\n")  # deeper file wins over src/.gitignore
    write(root, "tests/.gitignore", "test_*.py\n!test_cart.py\n")  # last match wins
    write(root, "tests/test_other.py")
    d = paths(discover(root))
    assert {"src/shop/keep.tmp", "src/shop/cache.tmp", "tests/test_cart.py"} <= d
    assert "tests/test_other.py" not in d


def test_directory_only_patterns_match_directories_only(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, "src/web/build")  # a FILE named build: "build/" does not match it
    write(root, "docs/build/page.md")  # a directory named build, at depth: matches
    d = paths(discover(root))
    assert "src/web/build" in d
    assert "docs/build/page.md" not in d


def test_files_inside_an_excluded_directory_cannot_be_reincluded(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    gi = root / ".gitignore"
    gi.write_text(gi.read_text() + "!build/out.py\n!node_modules/left-pad/index.js\n")
    write(root, "build/.gitignore", "!*\n")  # never read: build/ is never entered
    d = discover(root)
    assert not any(p.startswith(("build/", "node_modules/")) for p in paths(d))
    assert "build/.gitignore" not in d.ignore_files


def test_excluded_directories_are_never_scanned(
    plain_sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scanned: list[str] = []
    real_scandir = os.scandir

    def spy(path):  # type: ignore[no-untyped-def]
        scanned.append(os.path.relpath(os.fspath(path), plain_sample_repo))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", spy)
    discover(plain_sample_repo)
    assert "src" in scanned and "src/shop" in scanned
    assert not any(s.split(os.sep)[0] in {"build", "node_modules"} for s in scanned)


def test_reincluded_directory_is_entered(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, ".gitignore", "/*\n!/src/\n!/.gitignore\n*.txt\ndocs/*\n!docs/keep/\n")
    write(root, "src/notes.txt")
    write(root, "src/docs/keep/a.txt")  # "*.txt" matches it directly: stays ignored
    write(root, "src/docs/keep/a.md")
    d = paths(discover(root))
    assert "src/shop/cart.py" in d and ".gitignore" in d
    assert "README.md" not in d and "src/notes.txt" not in d
    assert "src/docs/keep/a.md" in d
    assert "src/docs/keep/a.txt" not in d


@needs_git
def test_git_info_exclude_is_respected(sample_repo: Path) -> None:
    write(sample_repo, "secret_notes.md")
    write(sample_repo, "src/shop/secret_notes.md")
    write(sample_repo, "src/only_here.txt")
    exclude = sample_repo / ".git/info/exclude"
    exclude.write_text(exclude.read_text() + "secret_notes.md\n/src/only_here.txt\n")
    d = discover(sample_repo)
    assert not {"secret_notes.md", "src/shop/secret_notes.md", "src/only_here.txt"} & paths(d)
    assert paths(d) == git_visible_files(sample_repo) - {OUTSIDE_LINK}


@needs_git
def test_gitignore_outranks_info_exclude(sample_repo: Path) -> None:
    write(sample_repo, "notes.md")
    (sample_repo / ".git/info/exclude").write_text("notes.md\n")
    gi = sample_repo / ".gitignore"
    gi.write_text(gi.read_text() + "!notes.md\n")
    assert "notes.md" in paths(discover(sample_repo))
    assert "notes.md" in git_visible_files(sample_repo)


def test_agentctxignore_ignores_and_unignores(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, AGENTCTXIGNORE, "docs/\n*.md\n!build/\n")
    write(root, "src/" + AGENTCTXIGNORE, "!junk.tmp\nweb/\n")
    d = discover(root)
    got = paths(d)
    assert not any(p.startswith(("docs/", "src/web/")) for p in got)
    assert "README.md" not in got
    assert {"src/junk.tmp", "build/out.py", "build/lib/deep.py"} <= got  # un-ignored
    assert "src/shop/cache.tmp" not in got  # still gitignored
    assert {AGENTCTXIGNORE, "src/" + AGENTCTXIGNORE} <= set(d.ignore_files)
    # Turned off: back to git's view (plus the ignore files themselves, which git shows).
    plain = paths(discover(root, extra_ignore_files=()))
    assert plain == SAMPLE_FILES | {AGENTCTXIGNORE, "src/" + AGENTCTXIGNORE}


def test_catalogs_and_images_are_left_out_unless_an_ignore_file_wants_them(
    plain_sample_repo: Path,
) -> None:
    root = plain_sample_repo
    left_out = {"app/locale/de/LC_MESSAGES/app.po", "app/locale/app.pot", "docs/logo.svg"}
    for rel in (*left_out, "app/po.py", "app/svg.py"):
        write(root, rel)
    got = paths(discover(root))
    assert {"app/po.py", "app/svg.py"} <= got
    assert not left_out & got
    matcher = IgnoreMatcher(root)  # the watcher decides alike
    assert matcher.ignored("app/locale/de/LC_MESSAGES/app.po")
    assert not matcher.ignored("app/po.py")
    # Any ignore file outranks the defaults: the catalogs come back, the template does not.
    write(root, AGENTCTXIGNORE, "!*.po\n")
    got = paths(discover(root))
    assert "app/locale/de/LC_MESSAGES/app.po" in got and "app/locale/app.pot" not in got
    assert not IgnoreMatcher(root).ignored("app/locale/de/LC_MESSAGES/app.po")


def test_agentctxignore_cannot_reach_into_a_pruned_directory(plain_sample_repo: Path) -> None:
    write(plain_sample_repo, AGENTCTXIGNORE, "!node_modules/left-pad/index.js\n")
    assert "node_modules/left-pad/index.js" not in paths(discover(plain_sample_repo))


def test_git_and_agentctx_directories_are_always_skipped(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    write(root, ".agentctx/index.db", "db")
    write(root, "src/.agentctx/state.json", "{}")
    write(root, "vendor/lib/.git/HEAD", "ref: refs/heads/main\n")
    write(root, "vendor/lib/.git/config", "[core]\n")
    write(root, "vendor/wt/.git", "gitdir: /nowhere\n")  # worktree-style .git file
    write(root, "vendor/lib/code.py")
    got = paths(discover(root))
    assert "vendor/lib/code.py" in got
    assert not any(".agentctx" in p.split("/") or ".git" in p.split("/") for p in got)


def test_unparseable_patterns_and_odd_ignore_files_do_not_crash(plain_sample_repo: Path) -> None:
    root = plain_sample_repo
    (root / ".gitignore").write_bytes(
        b"\xef\xbb\xbf*.log\r\nbad[z-a]\n/\n\n# comment\n\\#hash\n\xff\xfe\n"
    )
    write(root, "#hash")
    write(root, "x.log")
    got = paths(discover(root))
    assert "x.log" not in got and "#hash" not in got
    assert "README.md" in got


@needs_git
@pytest.mark.parametrize(
    "ignores",
    [
        {".gitignore": "*.txt\ndocs/*\n!docs/keep/\n"},
        {".gitignore": "a/**/\n"},
        {".gitignore": "a/**\n!a/keep\n"},
        {".gitignore": "foo/\n", "a/.gitignore": "!foo/\n"},
        {".gitignore": "*/\n!b/\n"},
        {".gitignore": "**/\n"},
        {".gitignore": "/*\n!/a\n", "a/.gitignore": "*.py\n!y.py\n"},
        {".gitignore": "[ab]\n?.txt\n\\!keep\nx.txt \n"},
        {".gitignore": "a/**/b\n**/docs/**\n!**/docs/keep/**\n"},
        {".gitignore": "*\n!*/\n!*.py\n"},
    ],
)
def test_tricky_patterns_match_git(tmp_path: Path, ignores: dict[str, str]) -> None:
    root = tmp_path / "t"
    for rel in (
        "x.txt", "y.py", "!keep", "a/x.txt", "a/y.py", "a/keep", "a/b/x.txt", "a/b/c/y.py",
        "a/foo/y.py", "b/y.py", "b/a/x.txt", "docs/keep/a.txt", "docs/keep/a.md", "docs/x.md",
        "c/docs/keep/z.py", "c/docs/z.py", "foo/bar.py", "a.txt", "ab",
    ):  # fmt: skip
        write(root, rel)
    for rel, text in ignores.items():
        write(root, rel, text)
    git(root, "init", "-q")
    assert paths(discover(root)) == git_visible_files(root)


@needs_git
def test_random_trees_and_patterns_match_git(tmp_path: Path) -> None:
    """A seeded fuzz: random trees, random nested .gitignore files, git as the oracle."""
    names = ["a", "b", "foo", "x.txt", "y.py", "keep", "docs", "build", "c.log"]
    patterns = [
        "*.txt", "foo", "foo/", "/foo", "a/b", "a/*", "docs/*", "!docs/keep/", "!keep",
        "**/b", "a/**", "a/**/b", "*/", "**/", "!*.py", "*", "!a/", "build/", "!/b",
        "keep/", "!x.txt", "b/*.py", "/*", "!foo/", "a/**/", "*/**", "!**/keep/**", "[ab]",
        "?", "x.*", "!b/y.py", "/a/b/", "a/b/**", "docs/**/keep", "**/a/**", "!build/c.log",
        "foo/*/", "!*/", "**/*.log", "/a/**/x.txt",
    ]  # fmt: skip
    rng = random.Random(20240611)

    def grow(d: Path, depth: int) -> None:
        for _ in range(rng.randint(1, 4)):
            p = d / rng.choice(names)
            if p.exists():
                continue
            if depth < 3 and rng.random() < 0.5:
                p.mkdir()
                grow(p, depth + 1)
            else:
                p.write_text("x")

    for i in range(40):
        root = tmp_path / f"t{i}"
        root.mkdir()
        grow(root, 0)
        dirs = [root, *(p for p in sorted(root.rglob("*")) if p.is_dir())]
        for d in rng.sample(dirs, min(len(dirs), rng.randint(1, 3))):
            lines = rng.sample(patterns, rng.randint(1, 4))
            (d / ".gitignore").write_text("\n".join(lines) + "\n")
        git(root, "init", "-q")
        assert paths(discover(root)) == git_visible_files(root), f"tree t{i}"


def test_pathspec_regex_shapes_are_recognised() -> None:
    """Guards the pathspec pin: every pattern shape must translate without the fallback."""
    lines = ["foo", "foo/", "/foo", "a/b", "*.py", "a/**", "a/**/", "**/x", "a/**/b", "*/", "**/"]
    compiled = _compile_patterns("\n".join(lines))
    assert len(compiled) == len(lines)
    for rx, _include in compiled:
        assert "ps_d" not in rx and rx.endswith(r"\Z"), rx
    assert _compile_patterns("*") == [(".", True)]


# --- root below the top of a repository ------------------------------------------------


@needs_git
def test_root_inside_a_repository_applies_the_parents_rules(sample_repo: Path) -> None:
    write(sample_repo, "src/trace.log")  # root .gitignore "*.log"
    write(sample_repo, "src/only_here.txt")
    write(sample_repo, "src/also_here.txt")
    (sample_repo / ".git/info/exclude").write_text("/src/only_here.txt\n")
    write(sample_repo, "src/web/extra.ts")
    write(sample_repo, "src/web/.gitignore", "/extra.ts\n")
    d = discover(sample_repo / "src")
    got = paths(d)
    assert "also_here.txt" in got and "keep.tmp" in got and "shop/cart.py" in got
    assert not {"trace.log", "only_here.txt", "junk.tmp", "web/extra.ts"} & got
    expected = git_visible_files(sample_repo / "src") - {"outside_link.py"}
    assert got == expected
    assert ".gitignore" in d.ignore_files  # src/.gitignore, relative to the root
    assert any(p.endswith("/.git/info/exclude") for p in d.ignore_files)


# --- skips ------------------------------------------------------------------------------


def test_too_large_files_are_skipped_by_stat(plain_sample_repo: Path) -> None:
    d = discover(plain_sample_repo, max_file_size=200)
    big = {p for p, r in reasons(d).items() if r == "too-large"}
    assert "src/shop/cart.py" in big and "src/shop/cart.py" not in paths(d)
    assert "config.yaml" in paths(d)  # small enough
    assert all(f.size <= 200 for f in d.files)


def test_symlinks(plain_sample_repo: Path, tmp_path: Path) -> None:
    root = plain_sample_repo
    (root / "docs/broken.md").symlink_to("does-not-exist.md")
    (root / "src/shop_alias").symlink_to("shop", target_is_directory=True)
    (root / "outside_dir").symlink_to(tmp_path, target_is_directory=True)
    (root / "loop_a").symlink_to("loop_b")
    (root / "loop_b").symlink_to("loop_a")
    (root / "escape.py").symlink_to("src/../../" + root.name + "-outside/secret.py")
    d = discover(root)
    assert reasons(d) == {
        OUTSIDE_LINK: "symlink-outside-root",
        "escape.py": "symlink-outside-root",
        "outside_dir": "symlink-outside-root",
        "docs/broken.md": "broken-symlink",
        "loop_a": "broken-symlink",
        "loop_b": "broken-symlink",
        "src/shop_alias": "symlink-dir",
    }
    inside = source(d, INSIDE_LINK)  # followed: stat of the target
    assert inside.size == (root / "config.yaml").stat().st_size
    text = read_source(inside)
    assert isinstance(text, SourceText)
    assert text.text == (root / "config.yaml").read_text()
    assert not any(p.startswith("src/shop_alias/") for p in paths(d))


def test_ignored_symlinks_are_not_reported(plain_sample_repo: Path) -> None:
    write(plain_sample_repo, AGENTCTXIGNORE, "outside_link.py\n")
    assert OUTSIDE_LINK not in reasons(discover(plain_sample_repo))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no fifos here")
def test_special_files_are_skipped_without_opening_them(plain_sample_repo: Path) -> None:
    os.mkfifo(plain_sample_repo / "pipe")
    d = discover(plain_sample_repo)  # would hang if the fifo were opened
    assert reasons(d)["pipe"] == "not-regular"


def test_unreadable_directory_is_reported(
    plain_sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = str(plain_sample_repo / "src" / "web")
    real_scandir = os.scandir

    def scandir(path):  # type: ignore[no-untyped-def]
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    d = discover(plain_sample_repo)
    assert reasons(d)["src/web"] == "unreadable"
    assert "src/shop/cart.py" in paths(d)


def test_missing_root_raises_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        discover(tmp_path / "nope")
    write(tmp_path, "file.txt")
    with pytest.raises(NotFoundError):
        discover(tmp_path / "file.txt")


def test_discover_reads_only_ignore_files(
    sample_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []
    real_open = builtins.open

    def spy(file, *a, **k):  # type: ignore[no-untyped-def]
        opened.append(os.fspath(file))
        return real_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    discover(sample_repo)
    names = {Path(p).name for p in opened}
    assert names <= {".gitignore", ".agentctxignore", "exclude", "commondir", ".git"}, opened


# --- reading ----------------------------------------------------------------------------


def test_binary_is_decided_by_read_source(sample_repo: Path) -> None:
    d = discover(sample_repo)
    logo = source(d, "assets/logo.bin")  # discover() cannot know: it reads nothing
    assert read_source(logo) == "binary"
    assert is_binary(b"abc\x00def")
    assert not is_binary(b"plain text")
    assert not is_binary(b"a" * 8192 + b"\x00")  # beyond the sniffed window


def test_text_is_decoded_and_hashed(sample_repo: Path) -> None:
    cart = source(discover(sample_repo), "src/shop/cart.py")
    text = read_source(cart)
    assert isinstance(text, SourceText)
    raw = (sample_repo / "src/shop/cart.py").read_bytes()
    assert text.data == raw and text.text == raw.decode()
    assert text.sha256 == hashlib.sha256(raw).hexdigest()
    assert not text.decode_errors


def test_invalid_utf8_is_replaced_not_fatal(sample_repo: Path) -> None:
    notes = source(discover(sample_repo), "docs/notes.txt")
    text = read_source(notes)
    assert isinstance(text, SourceText)
    assert text.decode_errors
    assert "caf\ufffd" in text.text
    assert text.sha256 == hashlib.sha256(text.data).hexdigest()


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    p = tmp_path / "bom.py"
    p.write_bytes(b"\xef\xbb\xbfx = 1\n")
    text = read_source(source(discover(tmp_path), "bom.py"))
    assert isinstance(text, SourceText)
    assert text.text == "x = 1\n" and not text.decode_errors
    assert text.data.startswith(b"\xef\xbb\xbf")  # hash covers the bytes on disk


def test_read_source_never_raises(plain_sample_repo: Path) -> None:
    d = discover(plain_sample_repo)
    cart = source(d, "src/shop/cart.py")
    pricing = source(d, "src/shop/pricing.py")
    assert read_source(cart, max_file_size=10) == "too-large"  # grew since discovery
    (plain_sample_repo / "src/shop/cart.py").unlink()
    assert read_source(cart) == "vanished"
    (plain_sample_repo / "src/shop/pricing.py").unlink()
    (plain_sample_repo / "src/shop/pricing.py").mkdir()
    assert read_source(pricing) == "unreadable"


# --- git plumbing -----------------------------------------------------------------------


@needs_git
def test_git_dir_and_worktrees(sample_repo: Path, tmp_path: Path) -> None:
    assert git_dir(sample_repo) == sample_repo / ".git"
    assert git_dir(sample_repo / "src/shop") == sample_repo / ".git"
    assert git_common_dir(sample_repo) == sample_repo / ".git"
    wt = tmp_path / "wt"
    git(sample_repo, "worktree", "add", "-q", str(wt))
    assert (wt / ".git").is_file()
    assert git_dir(wt) == sample_repo / ".git" / "worktrees" / "wt"
    assert git_common_dir(wt) == sample_repo / ".git"
    assert find_root(wt / "src") == wt
    # info/exclude of the common dir applies to the worktree.
    write(wt, "wt_only.md")
    (sample_repo / ".git/info/exclude").write_text("wt_only.md\n")
    d = discover(wt)
    assert "wt_only.md" not in paths(d)
    assert paths(d) == git_visible_files(wt) - set(reasons(d))
    assert ensure_excluded(wt)
    assert (sample_repo / ".git/info/exclude").read_text() == "wt_only.md\n.agentctx/\n"


def test_git_dir_handles_relative_and_bad_gitdir_files(tmp_path: Path) -> None:
    real = tmp_path / "store" / "modules" / "sub"
    real.mkdir(parents=True)
    sub = tmp_path / "super" / "sub"
    sub.mkdir(parents=True)
    (sub / ".git").write_text("gitdir: ../../store/modules/sub\n")
    assert git_dir(sub) == real
    assert git_common_dir(sub) == real  # no commondir file: a submodule
    (sub / ".git").write_text("not a gitdir line\n")
    assert git_dir(sub) is None
    assert not ensure_excluded(sub)


@needs_git
def test_ensure_excluded_is_idempotent_and_atomic(sample_repo: Path) -> None:
    info = sample_repo / ".git/info"
    shutil.rmtree(info)
    assert ensure_excluded(sample_repo)
    assert ensure_excluded(sample_repo)
    assert (info / "exclude").read_text() == ".agentctx/\n"
    (info / "exclude").write_text("# mine\n*.swp")  # no trailing newline
    assert ensure_excluded(sample_repo, ".cache/")
    assert ensure_excluded(sample_repo, ".cache/")
    assert (info / "exclude").read_text() == "# mine\n*.swp\n.cache/\n"
    assert sorted(p.name for p in info.iterdir()) == ["exclude"]  # no temp files left
    write(sample_repo, ".cache/x.py")
    assert "x.py" not in git(sample_repo, "status", "--porcelain", "--untracked-files=all")


def test_ensure_excluded_outside_git(plain_sample_repo: Path) -> None:
    assert ensure_excluded(plain_sample_repo) is False
    assert not (plain_sample_repo / ".git").exists()


def test_find_root(tmp_path: Path) -> None:
    plain = tmp_path / "plain" / "deep"
    plain.mkdir(parents=True)
    if git_dir(plain) is not None:
        pytest.skip("tmp_path lives inside a git repository")
    assert find_root(plain) == plain
    (tmp_path / "plain" / ".agentctx").mkdir()
    assert find_root(plain) == tmp_path / "plain"
    write(plain, "f.py")
    assert find_root(plain / "f.py") == tmp_path / "plain"  # a file starts at its directory
    (plain / ".git").mkdir()
    assert find_root(plain) == plain  # nearest marker wins


# --- speed ------------------------------------------------------------------------------


def test_noop_walk_of_two_thousand_files_is_fast(tmp_path: Path) -> None:
    root = tmp_path / "big"
    for i in range(2000):
        write(root, f"pkg{i % 40}/sub{i % 7}/m{i}.py", "")
    write(root, ".gitignore", "*.pyc\n__pycache__/\n/dist/\nbuild/\n!keep.pyc\n")
    write(root, "pkg1/.gitignore", "*.tmp\n")
    discover(root)  # warm the OS cache
    start = time.perf_counter()
    d = discover(root)
    elapsed = time.perf_counter() - start
    assert len(d.files) == 2002
    assert elapsed < 1.0  # typically ~20 ms; generous for slow CI machines


def test_make_sample_repo_is_reusable(tmp_path: Path) -> None:
    a = make_sample_repo(tmp_path, use_git=False, name="a")
    b = make_sample_repo(tmp_path, use_git=False, name="b")
    assert paths(discover(a)) == paths(discover(b)) == SAMPLE_FILES


def test_a_repository_inside_the_repository_is_skipped_as_git_does(sample_repo: Path):
    nested = sample_repo / "vendor" / "dep"
    nested.mkdir(parents=True)
    (nested / "lib.py").write_text("def dep():\n    return 1\n")
    git(nested, "init", "-q")
    found = discover(sample_repo)
    paths = {f.path for f in found.files}
    assert "vendor/dep/lib.py" not in paths
    assert ("vendor/dep", "nested-git-repository") in {(s.path, s.reason) for s in found.skipped}
    # git shows the nested repository as one entry, never its files
    assert {p for p in git_visible_files(sample_repo) if p.startswith("vendor/")} == {"vendor/dep/"}


def test_a_plain_directory_of_repositories_is_indexed_through(tmp_path: Path):
    for name in ("one", "two"):
        repo = tmp_path / "work" / name
        repo.mkdir(parents=True)
        (repo / "m.py").write_text("X = 1\n")
        git(repo, "init", "-q")
    found = discover(tmp_path / "work")
    assert {f.path for f in found.files} == {"one/m.py", "two/m.py"}


def test_issue_templates_are_found_where_forges_keep_them(tmp_path: Path):
    assert issue_templates(tmp_path) == ""
    files = {
        ".github/ISSUE_TEMPLATE/bug_report.md": "bug checklist",
        ".github/ISSUE_TEMPLATE/feature.yml": "feature form",
        ".github/pull_request_template.md": "pr checklist",
        "docs/ISSUE_TEMPLATE.md": "docs template",
        ".gitlab/issue_templates/Bug.md": "gitlab bug",
        "ISSUE_TEMPLATE": "root template",
        "src/issue_template.md": "not a template location",
        ".github/CONTRIBUTING.md": "not a template",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / ".github/ISSUE_TEMPLATE/huge.md").write_text("x " * 40_000)  # over the cap
    found = issue_templates(tmp_path)
    for text in ("bug checklist", "feature form", "pr checklist", "docs template", "gitlab bug"):
        assert text in found
    assert "root template" in found
    assert "not a template" not in found and "x x x" not in found


def test_console_scripts_are_read_from_packaging_files(tmp_path: Path):
    from agentctx.discover import console_scripts

    assert console_scripts(tmp_path) == set()
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[project.scripts]\nflask = "flask.cli:main"\n'
        '"x-tool" = "x.tool:run"\n\n[tool.pytest.ini_options]\n'
        'filterwarnings = "error:x:DeprecationWarning"\n'
        '[tool.poetry.scripts]\npoet = "x.poet:main"\n'
    )
    (tmp_path / "setup.cfg").write_text(
        "[options.entry_points]\nconsole_scripts =\n    pylint = pylint:run_pylint\n"
        "    symilar = pylint:run_symilar\npytest11 =\n    plug = x.plug\n"
        "[tool:pytest]\nfilterwarnings =\n    ignore:Using a:DeprecationWarning\n"
    )
    (tmp_path / "setup.py").write_text(
        'setup(entry_points={"console_scripts": ["py.test=pytest:console_main"]})\n'
    )
    assert console_scripts(tmp_path) == {"flask", "x-tool", "poet", "pylint", "symilar", "py.test"}


def test_project_names_come_from_packaging_files_and_the_directory(tmp_path: Path):
    from agentctx.discover import normalized_name, project_names

    root = tmp_path / "My.Repo"
    root.mkdir()
    assert project_names(root) == {"my-repo"}
    (root / "pyproject.toml").write_text(
        '[build-system]\nname = "not-this"\n\n[project]\nname = "Net_Tools"\nversion = "1"\n'
    )
    (root / "setup.cfg").write_text("[metadata]\nname = net.tools.cfg\n[options]\nname = x\n")
    (root / "setup.py").write_text('setup(\n    name="from-setup",\n)\n')
    assert project_names(root) == {"my-repo", "net-tools", "net-tools-cfg", "from-setup"}
    assert normalized_name("Flask_SQLAlchemy.ext") == "flask-sqlalchemy-ext"


# --- the stamp: a tree discovered again without a walk -------------------------------


def _settled(repo: Path) -> Path:
    """``repo`` without its symlinks, every mtime a minute old: a tree nobody touched
    lately (a stamp vouches for nothing modified in the last RACY_NS)."""
    for link in (INSIDE_LINK, OUTSIDE_LINK):
        (repo / link).unlink()
    age_tree(repo)
    return repo


def _same(a: Discovery, b: Discovery) -> bool:
    return (a.files, a.skipped, a.ignore_files) == (b.files, b.skipped, b.ignore_files)


def test_a_settled_tree_is_discovered_again_from_its_stamp(sample_repo: Path) -> None:
    from agentctx.discover import TreeStamp

    root = _settled(sample_repo)
    first = discover(root, max_file_size=400)
    assert first.stamp is not None and "too-large" in reasons(first).values()
    assert TreeStamp.loads(first.stamp.dumps()) == first.stamp
    assert TreeStamp.loads(b"damaged") is None and TreeStamp.loads(first.stamp.dumps()[:-3]) is None
    again = discover(root, max_file_size=400, previous=first.stamp)
    assert again.stamp is first.stamp and _same(again, first)  # no walk, the same answer
    assert [f.abs_path.parts for f in again.files] == [f.abs_path.parts for f in first.files]
    config = root / "config.yaml"  # a file's content is no discovery's business...
    config.write_text("a: 1\n")
    again = discover(root, max_file_size=400, previous=first.stamp)
    assert again.stamp is first.stamp  # ... but its stat is read afresh
    assert source(again, "config.yaml").size == 5 != source(first, "config.yaml").size
    assert _same(again, discover(root, max_file_size=400))
    # another setting or root is another stamp
    assert discover(root, previous=first.stamp).stamp is not first.stamp


def _edit_add(root: Path) -> None:
    write(root, "src/shop/new_module.py")


def _edit_remove(root: Path) -> None:
    (root / "config.yaml").unlink()


def _edit_rename(root: Path) -> None:
    (root / "config.yaml").rename(root / "settings.yaml")


def _edit_new_directory(root: Path) -> None:
    write(root, "src/fresh/mod.py")


def _edit_gitignore(root: Path) -> None:
    gi = root / ".gitignore"
    gi.write_text(gi.read_text() + "config.yaml\n")


def _edit_new_agentctxignore(root: Path) -> None:
    write(root, f"src/shop/{AGENTCTXIGNORE}", "cart.py\n")


def _edit_info_exclude(root: Path) -> None:
    (root / ".git/info/exclude").write_text("config.yaml\n")


def _edit_grow_past_the_limit(root: Path) -> None:
    (root / "config.yaml").write_text("x" * 500)


def _edit_shrink_below_the_limit(root: Path) -> None:
    (root / "src/shop/cart.py").write_text("x = 1\n")


def _edit_replace_a_file_by_a_directory(root: Path) -> None:
    (root / "config.yaml").unlink()
    write(root, "config.yaml/inner.py")


@needs_git
@pytest.mark.parametrize(
    "edit",
    [
        _edit_add,
        _edit_remove,
        _edit_rename,
        _edit_new_directory,
        _edit_gitignore,
        _edit_new_agentctxignore,
        _edit_info_exclude,
        _edit_grow_past_the_limit,
        _edit_shrink_below_the_limit,
        _edit_replace_a_file_by_a_directory,
    ],
)
def test_what_a_walk_would_see_differently_is_never_taken_from_the_stamp(
    sample_repo: Path, edit
) -> None:
    root = _settled(sample_repo)
    first = discover(root, max_file_size=400)
    assert first.stamp is not None
    edit(root)
    walked = discover(root, max_file_size=400)
    assert not _same(walked, first)  # the edit matters to discovery
    got = discover(root, max_file_size=400, previous=first.stamp)
    assert got.stamp is not first.stamp and _same(got, walked)


@needs_git
def test_rules_above_the_root_are_watched_too(sample_repo: Path) -> None:
    root = _settled(sample_repo) / "src"
    first = discover(root)
    assert first.stamp is not None and "shop/cart.py" in paths(first)
    (sample_repo / ".gitignore").write_text("src/shop/cart.py\n")  # the parent's rules
    got = discover(root, previous=first.stamp)
    assert got.stamp is not first.stamp and "shop/cart.py" not in paths(got)
    assert _same(got, discover(root))


def test_no_stamp_for_what_it_cannot_vouch_for(plain_sample_repo: Path) -> None:
    age_tree(plain_sample_repo)
    assert discover(plain_sample_repo).stamp is None  # a symlink's target has no stat here
    root = _settled(make_sample_repo(plain_sample_repo.parent, use_git=False, name="other"))
    assert discover(root).stamp is not None
    write(root, "docs/late.md")  # a directory modified just now
    assert discover(root).stamp is None


def test_a_name_that_is_not_utf8_is_skipped_and_said(tmp_path: Path) -> None:
    """A file or directory whose name's bytes are not UTF-8 arrives with lone surrogates,
    which the index, the bundle and JSON cannot hold: it is left out with its own reason,
    recorded with U+FFFD, and the rest is indexed (it crashed ``index`` before)."""
    import os

    (tmp_path / "ok.py").write_text("def ok():\n    return 1\n")
    os.mkdir(os.path.join(os.fsencode(tmp_path), b"d\xe9"))
    with open(os.path.join(os.fsencode(tmp_path), b"d\xe9", b"inner.py"), "wb") as f:
        f.write(b"x = 1\n")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.py"), "wb") as f:
        f.write(b"def cafe():\n    return 2\n")
    d = discover(tmp_path)
    assert [f.path for f in d.files] == ["ok.py"]
    assert sorted((s.path, s.reason) for s in d.skipped) == [
        ("caf\ufffd.py", SKIP_NAME_NOT_UTF8),
        ("d\ufffd", SKIP_NAME_NOT_UTF8),
    ]
    assert d.stamp is None  # a stamp keeps paths as text: the next run walks again
