"""The fast lanes' argv scanner, and what each lane accepts on top of it."""

from __future__ import annotations

from pathlib import Path

from agentctx.argscan import scan_args
from agentctx.entry import _quiet_staged_root
from agentctx.fastlane import _parse

VALUES = {"--budget": "budget", "-b": "budget"}
FLAGS = {"--json": "as_json"}


def test_scan_args_plain_forms_only():
    assert scan_args(["q", "-b", "5", "--json"], VALUES, FLAGS) == (
        {"budget": "5", "as_json": True},
        ["q"],
    )
    assert scan_args(["--budget=7", "a", "b"], VALUES, FLAGS) == ({"budget": "7"}, ["a", "b"])
    assert scan_args(["--", "-b", "x"], VALUES, FLAGS) == ({}, ["-b", "x"])  # after --: positional
    assert scan_args(["q", "-b"], VALUES, FLAGS) is None  # value missing
    assert scan_args(["q", "--stats"], VALUES, FLAGS) is None  # unknown: the CLI's
    assert scan_args(["--json=1"], VALUES, FLAGS) is None  # a flag takes no value
    assert scan_args(["-", "--json"], VALUES, FLAGS) == ({"as_json": True}, ["-"])  # stdin


def test_each_lane_on_top_of_it(tmp_path: Path):
    assert _parse(["q", "--diff"], VALUES, FLAGS, diff=True) == {"query": "q", "diff": "HEAD"}
    # git tells a revision from the query, as for the CLI (`why?` names no commit)
    assert _parse(["--diff", "why?"], VALUES, FLAGS, diff=True) == {"query": "why?", "diff": "HEAD"}
    assert _parse(["a", "b"], VALUES, FLAGS) is None  # one query at most
    root = str(tmp_path)
    assert _quiet_staged_root(["index", "--staged", "-q", "--max-embed", "0", root]) == tmp_path
    assert _quiet_staged_root(["index", "--staged", "-q", "--max-embed=-1", root]) is None
    assert _quiet_staged_root(["index", "--staged", "-q", "--batch-size", "x", root]) is None
    assert _quiet_staged_root(["index", "--staged", "-q", root, root]) is None  # one root
    assert _quiet_staged_root(["index", "--staged", root]) is None  # not quiet
