"""The README's option table and commands stay true to the CLI."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from agentctx.cli import app

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _flags(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z])\b", text))


def test_index_option_table_matches_help():
    block = README.split("<!-- index-help")[1].split("<!-- /index-help -->")[0]
    help_text = CliRunner().invoke(app, ["index", "--help"], env={"COLUMNS": "200"}).stdout
    documented = _flags(block)
    actual = _flags(help_text) - {"--help", "-h"}
    assert documented == actual


def test_readme_commands_exist():
    makefile = (ROOT / "Makefile").read_text()
    assert "make demo" in README and "make test" in README
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_watch_option_table_matches_help():
    block = README.split("<!-- watch-help")[1].split("<!-- /watch-help -->")[0]
    help_text = CliRunner().invoke(app, ["watch", "--help"], env={"COLUMNS": "200"}).stdout
    assert _flags(block) == _flags(help_text) - {"--help", "-h"}
