"""Git history as a retrieval signal: parsing, file documents, incremental upkeep, ranking."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import git

from agentctx.config import load_settings
from agentctx.history import (
    SWEEPING_COMMIT,
    file_documents,
    message_terms,
    parse_log,
    read_commits,
)
from agentctx.pipeline import build_index, search
from agentctx.rank import rank
from agentctx.retrieve import Candidates, OutlineEntry
from agentctx.store import IndexStore
from agentctx.store.db import history_mark

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _commit(repo: Path, message: str, files: dict[str, str | None]) -> str:
    for rel, text in files.items():
        path = repo / rel
        if text is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


def _func(name: str, body: str = "return 1") -> str:
    return f"def {name}(x):\n    {body}\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """net.py gains retry backoff, is renamed to pkg/client.py; a sweeping reformat."""
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    _commit(root, "Add exponential backoff between retries", {"net.py": _func("send")})
    _commit(
        root,
        "Fix timeout parsing in settings\n\nThe socket timeout was read as a string.",
        {"net.py": _func("send", "return 2"), "conf.py": _func("load")},
    )
    (root / "pkg").mkdir()
    git(root, "mv", "net.py", "pkg/client.py")
    git(root, "commit", "-q", "-m", "Move the client into a package")
    sweep = {f"gen/m{i}.py": _func(f"m{i}") for i in range(SWEEPING_COMMIT + 1)}
    sweep["pkg/client.py"] = _func("send", "return 3")
    _commit(root, "Reformat everything with zebrafmt", sweep)
    return root


def test_parse_log_reads_paths_renames_and_messages(repo: Path):
    commits = read_commits(repo, "HEAD", 100)
    assert [c.message.splitlines()[0] for c in commits] == [
        "Reformat everything with zebrafmt",
        "Move the client into a package",
        "Fix timeout parsing in settings",
        "Add exponential backoff between retries",
    ]
    assert commits[1].renames == (("net.py", "pkg/client.py"),)
    assert commits[1].paths == ("pkg/client.py",)
    assert set(commits[2].paths) == {"net.py", "conf.py"}
    assert "The socket timeout was read as a string." in commits[2].message
    assert len(commits[0].paths) == SWEEPING_COMMIT + 2
    # A message holding separators-looking text and an odd path survive the format.
    out = "\x1eabc\x1fmsg with \x00 nul\x1f\x00\nM\x00a b.py\x00R090\x00o.py\x00n.py\x00"
    (c,) = parse_log(out)
    assert c.paths == ("a b.py", "n.py") and c.renames == (("o.py", "n.py"),)


def test_file_documents_follow_renames_and_skip_sweeping_commits(repo: Path):
    commits = read_commits(repo, "HEAD", 100)
    docs = file_documents(commits)
    client = docs["pkg/client.py"]
    assert {"backoff", "retries", "timeout", "parsing"} <= set(client)  # from net.py's past
    assert "zebrafmt" not in client and "gen/m0.py" not in docs  # the sweep says nothing
    assert client.index("move") < client.index("timeout") < client.index("backoff")  # newest first
    assert "backoff" not in docs["conf.py"] and "timeout" in docs["conf.py"]
    assert "the" not in message_terms("Fix the bug") and "fix" in message_terms("Fix the bug")


def _settings(root: Path, **kw):
    return load_settings(root, {"embedder": "hash", **kw})


def _history(root: Path) -> dict[str, str]:
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        paths = [r[0] for r in store.conn.execute("SELECT path FROM history_paths")]
        return store.history_docs(paths)


def test_index_keeps_history_incrementally(repo: Path):
    report = build_index(_settings(repo))
    assert report.history is not None
    assert report.history["rebuilt"] is True and report.history["commits"] == 4
    docs = _history(repo)
    assert set(docs) == {"pkg/client.py", "conf.py"}  # gen/ only ever swept
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        top = store.history_search(["backoff", "retries"], 5)
    assert top[0][0] == "pkg/client.py"

    again = build_index(_settings(repo))  # nothing new: nothing read
    assert again.history == {**report.history, "commits": 0, "files": 0, "rebuilt": False}

    head = _commit(repo, "Add jitter to the retry delay", {"pkg/client.py": _func("send", "x")})
    step = build_index(_settings(repo))
    assert step.history == {"head": head, "commits": 1, "files": 1, "rebuilt": False}
    client = _history(repo)["pkg/client.py"].split()
    assert client[:2] == ["add", "jitter"] and "backoff" in client  # new terms first

    # History rewritten (amend): the recorded commit is no longer an ancestor -> rebuilt.
    git(repo, "commit", "-q", "--amend", "-m", "Add random spread to the delay")
    rewritten = build_index(_settings(repo))
    assert rewritten.history is not None and rewritten.history["rebuilt"] is True
    client = _history(repo)["pkg/client.py"].split()
    assert "jitter" not in client and "spread" in client

    # A rename among the new commits: rebuilt, so the new name keeps the old one's history.
    git(repo, "mv", "conf.py", "settings.py")
    git(repo, "commit", "-q", "-m", "Rename the configuration module")
    renamed = build_index(_settings(repo))
    assert renamed.history is not None and renamed.history["rebuilt"] is True
    assert "timeout" in _history(repo)["settings.py"].split() and "conf.py" not in _history(repo)
    git(repo, "mv", "settings.py", "conf.py")
    git(repo, "commit", "-q", "-m", "Rename it back")
    build_index(_settings(repo))

    # A file leaving the index is no longer scored; back, it has its history again.
    def timeout_hits() -> list[str]:
        with IndexStore.open(repo / ".agentctx", writer=False) as store:
            return [path for path, _ in store.history_search(["timeout"], 5)]

    assert set(timeout_hits()) == {"conf.py", "pkg/client.py"}
    moved = repo.parent / "conf.py.away"
    (repo / "conf.py").rename(moved)
    build_index(_settings(repo))
    assert timeout_hits() == ["pkg/client.py"]
    moved.rename(repo / "conf.py")
    build_index(_settings(repo))
    assert "conf.py" in timeout_hits()

    off = build_index(_settings(repo, history_commits=0))
    assert off.history == {"head": "", "commits": 0, "files": 0, "rebuilt": False}
    assert _history(repo) == {}


def test_no_history_outside_git_and_none_stored(plain_sample_repo: Path):
    report = build_index(_settings(plain_sample_repo))
    assert report.history == {"head": "", "commits": 0, "files": 0, "rebuilt": False}
    assert _history(plain_sample_repo) == {}
    with IndexStore.open(plain_sample_repo / ".agentctx", writer=False) as store:
        assert store.meta("history_limit") == history_mark(5000)  # the next run needs no git


def test_a_subdirectory_root_gets_its_own_paths_and_a_new_limit_rebuilds(repo: Path):
    sub = repo / "pkg"
    report = build_index(_settings(sub))
    assert report.history is not None and report.history["files"] == 1
    client = _history(sub)["client.py"].split()
    assert set(_history(sub)) == {"client.py"}  # relative to the indexed root
    assert "backoff" in client  # from its days as ../net.py, outside the root
    assert "zebrafmt" not in client  # the sweep is judged on the whole commit
    fewer = build_index(_settings(sub, history_commits=2))  # same HEAD, other limit
    assert fewer.history is not None and fewer.history["rebuilt"] and fewer.history["commits"] == 2
    assert "backoff" not in _history(sub)["client.py"].split()


def test_an_index_from_before_history_is_read_and_upgraded(repo: Path):
    build_index(_settings(repo))
    db = repo / ".agentctx" / "index.db"
    with sqlite3.connect(db) as conn:  # as an index written by an older agentctx
        conn.execute("DROP TABLE history")
        conn.execute("DROP TABLE history_paths")
        conn.execute("DELETE FROM meta WHERE key = 'history_head'")
    hits = search(_settings(repo), "backoff retries", refresh=False).hits  # reader: no tables
    assert hits and all("history" not in h.reasons for h in hits)
    report = build_index(_settings(repo))  # a writer adds them; no re-parse, no re-embed
    assert report.history is not None and report.history["rebuilt"] is True
    assert not report.changed and report.chunks_embedded == 0
    assert "pkg/client.py" in _history(repo)


def test_search_lifts_the_file_whose_history_matches(repo: Path):
    # Neither file's code says "backoff": only pkg/client.py's history does.
    build_index(_settings(repo))
    hits = search(_settings(repo), "backoff between retries", refresh=False).hits
    assert hits[0].path == "pkg/client.py" and "history" in hits[0].reasons


def _entry(cid: int, path: str) -> OutlineEntry:
    return OutlineEntry(
        cid, path, f"f{cid}", f"f{cid}", "function", cid * 10, cid * 10 + 5, None, "[]"
    )


def test_rank_history_lift_is_weighed_by_file_category():
    outline = {1: _entry(1, "src/a.py"), 2: _entry(2, "src/b.py"), 3: _entry(3, "tests/test_b.py")}
    lists = {"lexical": [(1, 5.0), (2, 5.0), (3, 5.0)]}
    plain, _ = rank(Candidates(lists=lists, outline=outline))
    assert plain[0].path == "src/a.py"  # tie broken by path
    lifted, _ = rank(
        Candidates(
            lists=lists,
            outline=outline,
            file_scores={"history": {"src/b.py": 1.0, "tests/test_b.py": 1.0}},
        )
    )
    scores = {h.path: h.score for h in lifted}
    assert lifted[0].path == "src/b.py" and "history" in lifted[0].reasons
    assert scores["src/b.py"] > scores["src/a.py"] > scores["tests/test_b.py"]


def test_read_head_agrees_with_git_without_running_it(repo: Path, tmp_path: Path, monkeypatch):
    from agentctx.githead import read_head

    def rev(where: Path) -> str:
        return git(where, "rev-parse", "HEAD").strip()

    (repo / "pkg" / "deep").mkdir()
    assert read_head(repo) == rev(repo)  # a loose branch ref
    assert read_head(repo / "pkg" / "deep") == rev(repo)  # from a subdirectory
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert read_head(repo) == rev(repo)  # packed
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert read_head(repo) == rev(repo)  # detached
    git(repo, "checkout", "-q", "main")
    linked = tmp_path / "linked"
    git(repo, "worktree", "add", "-q", "-b", "side", str(linked), "HEAD~2")
    assert (linked / ".git").is_file()
    assert read_head(linked) == rev(linked) != rev(repo)  # a linked worktree's own HEAD
    _commit(linked, "On the side branch", {"side.py": _func("side")})
    assert read_head(linked) == rev(linked)  # its loose ref in the common dir
    plain = tmp_path / "plain"
    plain.mkdir()
    assert read_head(plain) == ""  # no repository from here up
    monkeypatch.setenv("GIT_DIR", str(repo / ".git"))
    assert read_head(plain) is None  # git's variables decide: ask git


def test_index_says_what_history_it_read(repo: Path):
    from typer.testing import CliRunner

    from agentctx.cli import app

    first = CliRunner().invoke(app, ["index", str(repo), "--embedder", "hash"])
    assert first.exit_code == 0, first.output
    assert "Git history: 4 commits read into the history of 2 files (ranking)" in first.stdout
    again = CliRunner().invoke(app, ["index", str(repo), "--embedder", "hash"])
    assert again.exit_code == 0 and "Git history" not in again.stdout


def test_reference_terms_are_issues_and_pull_requests_a_text_refers_to():
    from agentctx.textutil import reference_terms

    text = (
        "Fix overflow (#6461), see #12 and https://github.com/o/r/pull/1746 and "
        ".../issues/88#issuecomment-5; not #1, #0a0a0a, &#123; or a#99; #6461 again"
    )
    assert reference_terms(text) == ["ref_6461", "ref_12", "ref_1746", "ref_88"]
    assert message_terms("Keep attrs in where (#6461)")[-1] == "ref_6461"


def test_a_change_the_report_refers_to_lifts_the_files_it_touched(repo: Path):
    """`#6461` in a report: the code files of the commit that says `(#6461)`."""
    from agentctx.query import parse_query
    from agentctx.retrieve import REFERENCE_MAX_FILES, reference_scores

    (repo / "setup.cfg").write_text("[metadata]\nname = net_tools\n")
    _commit(
        repo,
        "Keep attributes when merging (#6461)",
        {"pkg/merge.py": _func("merge"), "tests/test_merge.py": _func("test_merge")},
    )
    wide = {f"pkg/w{i}.py": _func(f"w{i}") for i in range(REFERENCE_MAX_FILES + 1)}
    _commit(repo, "Rename the option everywhere (#77)", wide)
    # A pull request merged with a merge commit: its commits do not say its number.
    git(repo, "checkout", "-q", "-b", "feature")
    _commit(repo, "Cache the parsed settings", {"pkg/cache.py": _func("cached")})
    git(repo, "checkout", "-q", "-")
    _commit(repo, "Unrelated fix on main", {"conf.py": _func("load", "return 5")})
    git(repo, "merge", "-q", "--no-ff", "-m", "Merge pull request #88 from me/feature", "feature")
    build_index(_settings(repo))

    def lifted(text: str) -> dict[str, float]:
        with IndexStore.open(repo / ".agentctx", writer=False) as store:
            return reference_scores(store, parse_query(text), repo)

    assert lifted("Attributes are lost since #6461") == {"pkg/merge.py": 1.0}  # not the test
    assert lifted("see https://github.com/me/net-tools/pull/6461") == {"pkg/merge.py": 1.0}
    assert lifted("see https://github.com/other/netcdf-c/pull/6461") == {}  # another project
    assert lifted("```\n# 6461 #6461\n```") == {}  # in code: a comment, not a reference
    assert lifted("since #77") == {}  # a change of more files than it could mean
    assert lifted("since #4242") == {}  # nothing says it
    assert lifted("Settings are stale since #88") == {"pkg/cache.py": 1.0}  # what it merged
    hits = search(_settings(repo), "Attributes are lost since #6461", refresh=False).hits
    assert hits[0].path == "pkg/merge.py" and "change" in hits[0].reasons


def test_an_index_read_by_an_older_history_version_is_rebuilt(repo: Path):
    build_index(_settings(repo))
    with sqlite3.connect(repo / ".agentctx" / "index.db") as conn:  # as version 1 left it
        conn.execute("UPDATE meta SET value = '5000' WHERE key = 'history_limit'")
    report = build_index(_settings(repo))
    assert report.history is not None and report.history["rebuilt"] is True
    assert not report.changed and report.chunks_embedded == 0
    with IndexStore.open(repo / ".agentctx", writer=False) as store:
        assert store.meta("history_limit") == history_mark(5000)


def test_a_commit_the_report_names_as_the_cause_lifts_the_files_it_changed(tmp_path: Path):
    """A report says `This regressed in <sha>`: the code that commit changed, where it is now."""
    from agentctx.query import parse_query
    from agentctx.retrieve import commit_scores

    root = tmp_path / "shop"
    root.mkdir()
    git(root, "init", "-q")
    (root / "setup.cfg").write_text("[metadata]\nname = shop\n")
    _commit(root, "Start", {"shop/cache.py": _func("cached"), "shop/io.py": _func("read")})
    cause = _commit(
        root,
        "Cache parsed settings",
        {"shop/cache.py": _func("cached", "return 2"), "tests/test_cache.py": _func("test_c")},
    )
    (root / "src").mkdir()
    git(root, "mv", "shop", "src/shop")  # moved since: found by its trailing components
    git(root, "commit", "-q", "-m", "Move the package under src")
    build_index(_settings(root))
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        paths = set(store.file_paths())

    def lifted(text: str) -> dict[str, float]:
        return commit_scores(parse_query(text), paths, root)

    assert lifted(f"Settings are stale\n\nThis regressed in {cause}.") == {
        "src/shop/cache.py": 1.0  # not the test
    }
    # An abbreviation, as reports write it (one with a letter and a digit: all digits reads
    # as a number; the SHA is random, so the shortest such prefix from 8 characters on).
    short = next(
        cause[:n]
        for n in range(8, 41)
        if set(cause[:n]) & set("abcdef") and set(cause[:n]) & set("0123456789")
    )
    assert lifted(f"Bisected to commit {short}, which cached them.") == {"src/shop/cache.py": 1.0}
    assert lifted(f"see https://github.com/me/shop/commit/{cause}") == {"src/shop/cache.py": 1.0}
    assert lifted(f"see https://github.com/other/lib/commit/{cause}") == {}  # another project
    assert lifted(f"INSTALLED VERSIONS\n\ncommit: {cause}") == {}  # the version, not a cause
    assert lifted("This regressed in 0123abcd4567.") == {}  # not a commit here
    # Ranked without the query's vector: a hash embedding of the (random) SHA would add noise.
    from agentctx.rank import rank
    from agentctx.retrieve import retrieve

    report = parse_query(f"Stale values. This regressed in {cause}.")
    with IndexStore.open(root / ".agentctx", writer=False) as store:
        cands = retrieve(store, report, root=root, query_vector=None, dim=0)
    assert cands.file_scores["change"] == {"src/shop/cache.py": 1.0}
    hits, _ = rank(cands)
    assert hits[0].path == "src/shop/cache.py" and "change" in hits[0].reasons
