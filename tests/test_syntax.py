"""Strings and comments per language: what retrieval and compression treat as code."""

from __future__ import annotations

import pytest

from agentctx.syntax import code_only, in_code


@pytest.mark.parametrize(
    ("language", "text", "needle", "expected"),
    [
        ("python", 'def f():\n    """x = g(y)"""\n    return 1\n', "x = g(y)", False),
        ("python", "# x = g(y)\nx = g(y)\n", "x = g(y)", True),  # the second one is code
        ("python", 'msg = "{} rows".format(n)\n', '"{} rows".format(n)', True),
        ("python", "x = h(y)\n", "x = g(y)", False),  # not there at all
        ("javascript", "/* x = g(y) */\nlet z = `x = g(y)`;\n", "x = g(y)", False),
        ("go", "// x = g(y)\nx = g(y)\n", "x = g(y)", True),
        ("ruby", "# x = g(y)\n", "x = g(y)", False),
        ("sql", "-- select x from t\n", "select x from t", False),
        ("markdown", "x = g(y)\n", "x = g(y)", True),  # no comment syntax: all of it counts
    ],
)
def test_in_code_only_where_a_line_is_not_inside_a_string_or_comment(
    language: str, text: str, needle: str, expected: bool
):
    assert in_code(text, needle, code_only(text, language)) is expected


def test_code_only_keeps_offsets_and_line_breaks():
    text = 'a = """one\ntwo"""  # note\nb = 1\n'
    masked = code_only(text, "python")
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")
    assert masked.split("\n")[2] == "b = 1" and "one" not in masked and "note" not in masked
