"""Pure ranking: fusion keeps margins, file lifts, graph lift bounds, secondary files."""

import json

import pytest

from agentctx.categories import file_category, is_secondary
from agentctx.query import parse_query
from agentctx.rank import fuse, rank
from agentctx.retrieve import (
    Candidates,
    OutlineEntry,
    query_terms,
    symbol_candidates,
    title_candidates,
    trace_calls,
)


def _entry(cid: int, path: str, name: str, refs: tuple[str, ...] = ()) -> OutlineEntry:
    return OutlineEntry(
        cid, path, name, name, "function", cid * 10, cid * 10 + 5, None, json.dumps(list(refs))
    )


def test_fusion_keeps_a_clear_winner_first():
    lists = {"dense": [(1, 0.9), (2, 0.5), (3, 0.49)], "lexical": [(1, 9.0), (3, 3.0), (2, 2.9)]}
    scores, reasons = fuse(lists, {"dense": 1.0, "lexical": 1.0})
    assert max(scores, key=scores.get) == 1
    assert reasons[1] == {"dense", "lexical"}


def test_is_secondary():
    assert is_secondary("tests/test_x.py") and is_secondary("src/pkg/test_x.py")
    assert is_secondary("docs/usage.rst") and is_secondary("pkg/x_test.go")
    assert is_secondary("web/app.spec.ts") and is_secondary("testing/conftest.py")
    assert not is_secondary("src/pkg/models.py") and not is_secondary("README.md")
    assert not is_secondary("src/contest.py") and not is_secondary("app/contests.py")
    assert is_secondary("shop/tests.py") and not is_secondary("pkg/reporter_for_tests.py")
    assert is_secondary("galleries/tutorials/pyplot.py") and is_secondary("asv_bench/io.py")
    # a package's own test support is code; the project's test directories are not
    assert not is_secondary("django/test/client.py") and not is_secondary("pkg/testing/x.py")
    assert is_secondary("test/helpers.py") and is_secondary("testing/python/approx.py")
    assert is_secondary("django/test/test_client.py") and is_secondary("pkg/tests/helpers.py")
    assert is_secondary("src/test/java/AppTest.java") and is_secondary("web/test/app.js")


def test_file_categories():
    assert file_category("astropy/extern/ply/yacc.py") == "vendor"
    assert file_category("cextern/wcslib/C/wcs.c") == "vendor"
    assert file_category("requests/packages/urllib3/util.py") == "vendor"
    assert file_category("lib/matplotlib/tests/test_axes.py") == "test"
    assert file_category("docs/conf.toml") == "text" and file_category("pkg/io.py") == "code"
    # code in a language without a grammar here (chunked as text) is still code
    assert file_category("sklearn/tree/_tree.pyx") == "code"
    assert file_category("sklearn/tree/_tree.pxd") == "code"
    assert file_category("app/src/main/kotlin/Users.kt") == "code"
    assert file_category("src/test/kotlin/UsersTest.kt") == "test"
    assert file_category("web/index.html") == "text" and file_category("api.proto") == "text"
    assert file_category("vendor/lib/x.php") == "vendor"


def test_plain_code_ranks_above_docs_it_ties_with():
    """A Kotlin file and the README that describes it, matched alike: the code first (both
    were text before, and ranked by chance)."""
    outline = {
        1: _entry(1, "README.md", "Users"),
        2: _entry(2, "app/src/main/kotlin/Users.kt", "Users"),
    }
    hits, _ = rank(Candidates(lists={"lexical": [(1, 5.0), (2, 5.0)]}, outline=outline))
    assert [h.id for h in hits] == [2, 1]


def test_tests_rank_below_code_unless_the_query_names_them():
    outline = {
        1: _entry(1, "src/app.py", "login"),
        2: _entry(2, "tests/test_app.py", "test_login"),
        3: _entry(3, "src/other.py", "other"),
    }
    lists = {"lexical": [(2, 5.0), (1, 4.9), (3, 1.0)]}
    hits, _ = rank(Candidates(lists=lists, outline=outline))
    assert hits[0].id == 1 and 2 in {h.id for h in hits}  # the test, matched best, below
    named = Candidates(
        lists=lists, outline=outline, file_scores={"path": {"tests/test_app.py": 1.0}}
    )
    hits, _ = rank(named)
    assert hits[0].id == 2 and "path" in hits[0].reasons


def test_only_a_clearly_named_test_file_outranks_code_and_vendored_code_never_does():
    outline = {
        1: _entry(1, "src/app.py", "login"),
        2: _entry(2, "tests/test_app.py", "test_login"),
        3: _entry(3, "src/pkg/packages/urllib3/response.py", "stream"),
        4: _entry(4, "src/other.py", "other"),
    }
    lists = {"lexical": [(2, 5.0), (3, 5.0), (1, 4.9), (4, 1.0)]}

    def top(path_scores: dict[str, float]) -> list[int]:
        hits, _ = rank(Candidates(lists=lists, outline=outline, file_scores={"path": path_scores}))
        return [h.id for h in hits]

    # By its path (1.0) a test is what the query is about; by a shared file name (0.5: the
    # reporter's own test_app.py) it is not, and the path lift alone does not beat the code.
    assert top({"tests/test_app.py": 1.0})[0] == 2
    assert top({"tests/test_app.py": 0.5})[0] == 1
    # A trace frame through a vendored copy (1.2) lifts it, but the project's code stays first.
    assert top({"src/pkg/packages/urllib3/response.py": 1.2, "src/app.py": 1.2})[0] == 1


def test_graph_lift_never_beats_a_direct_two_list_match():
    outline = {
        1: _entry(1, "a.py", "target"),
        2: _entry(2, "a.py", "caller", refs=("helper",)),
        3: _entry(3, "b.py", "helper"),
    }
    lists = {"dense": [(1, 0.8), (2, 0.79), (3, 0.3)], "lexical": [(1, 5.0), (2, 4.9), (3, 1.0)]}
    hits, _ = rank(Candidates(lists=lists, outline=outline), min_score=0.0)
    assert hits[0].id == 1
    assert "graph" in next(h for h in hits if h.id == 3).reasons


def test_threshold_counts_what_it_drops():
    outline = {i: _entry(i, f"m{i}.py", f"f{i}") for i in range(1, 6)}
    lists = {"lexical": [(i, 10.0 / i**2) for i in range(1, 6)]}
    hits, below = rank(Candidates(lists=lists, outline=outline), min_score=0.5)
    assert len(hits) + below == 5 and below > 0
    assert all(h.score >= 0.5 for h in hits) and hits[0].score == 1.0


def test_the_symbol_a_title_names_ranks_above_one_the_body_names():
    outline = {
        1: _entry(1, "pkg/dataset.py", "to_stacked_array"),
        2: _entry(2, "pkg/dataarray.py", "to_unstacked_dataset"),
        3: _entry(3, "pkg/merge.py", "merge"),
    }
    report = parse_query(
        "to_unstacked_dataset broken for single-dim variables\n\n"
        "```python\nstacked = data.to_stacked_array('y')\n"
        "unstacked = stacked.to_unstacked_dataset('y')\n```"
    )
    assert [cid for cid, _ in title_candidates(report, outline)] == [2]
    lists = {
        "dense": [(1, 0.74), (2, 0.72), (3, 0.5)],
        "lexical": [(1, 60.0), (2, 59.0), (3, 10.0)],
        "symbol": symbol_candidates(report, outline),
    }
    assert {cid for cid, _ in lists["symbol"]} == {1, 2}  # the body names both alike
    hits, _ = rank(Candidates(lists=lists, outline=outline), weights={"title": 0.0})
    assert hits[0].id == 1
    lists["title"] = title_candidates(report, outline)
    hits, _ = rank(Candidates(lists=lists, outline=outline))
    assert hits[0].id == 2 and "title" in hits[0].reasons


def _method(cid: int, path: str, cls: str, name: str) -> OutlineEntry:
    qualname = f"{cls}.{name}"
    return OutlineEntry(cid, path, qualname, name, "method", cid * 10, cid * 10 + 5, cls, "[]")


def test_a_trace_frame_names_the_function_of_its_own_file():
    outline = {
        1: _method(1, "pkg/lint/run.py", "Run", "__init__"),
        2: _method(2, "pkg/pyreverse/main.py", "Run", "__init__"),
        3: _entry(3, "pkg/config/init.py", "_config_initialization"),
    }
    report = parse_query(
        "Traceback printed for an unknown option\n\n```\nTraceback (most recent call last):\n"
        '  File "/home/u/src/pkg/pkg/lint/run.py", line 135, in __init__\n'
        "    args = _config_initialization(\n"
        '  File "/home/u/src/pkg/pkg/config/init.py", line 85, in _config_initialization\n'
        "    raise ValueError\nValueError\n```"
    )
    assert {cid for cid, _ in symbol_candidates(report, outline)} == {1, 3}
    # a frame of a file the index lacks (another package's) names the function anywhere
    elsewhere = parse_query(
        'Traceback (most recent call last):\n  File "/usr/lib/other/app.py", line 3, in __init__\n'
        "    x()\nValueError"
    )
    assert {cid for cid, _ in symbol_candidates(elsewhere, outline)} == {1, 2}


SETUP_TRACE = """Color mapping fails with boolean data

```
Traceback (most recent call last):
  File "~/code/pkg/pkg/_core/plot.py", line 1252, in Plotter._setup_scales
    self._scales[var] = scale._setup(var_df[var], prop)
  File "~/code/pkg/pkg/_core/scales.py", line 351, in ContinuousBase._setup
    b = forward(vmax) - forward(vmin)
TypeError: numpy boolean subtract, the `-` operator, is not supported
```
"""


def test_a_trace_links_a_frame_to_the_function_it_calls_however_common_its_name():
    outline = {
        1: _method(1, "pkg/_core/plot.py", "Plotter", "_setup_scales"),
        2: _method(2, "pkg/_core/scales.py", "ContinuousBase", "_setup"),
        3: _method(3, "pkg/_core/scales.py", "Nominal", "_setup"),
        4: _method(4, "pkg/_core/scales.py", "Temporal", "_setup"),
        5: _method(5, "pkg/_core/other.py", "Boolean", "_setup"),
    }
    outline[1] = outline[1]._replace(stored_refs=json.dumps(["_setup"]))
    report = parse_query(SETUP_TRACE)
    cands = Candidates(lists={"lexical": [(1, 5.0)]}, outline=outline)
    cands.calls = trace_calls(report, cands.files())
    assert cands.calls == [(1, 2)]
    hits, _ = rank(cands)
    # four `_setup`s: the name alone links to none; the trace says which one was called
    assert [h.id for h in hits] == [1, 2] and hits[1].reasons == ("graph",)
    cands.calls = []
    assert [h.id for h in rank(cands)[0]] == [1]
    # a frame whose function its file does not define, or a file the index lacks: no call
    moved = {**outline, 2: outline[2]._replace(qualname="Other.run", name="run")}
    moved.pop(3), moved.pop(4)
    assert trace_calls(report, Candidates(outline=moved).files()) == []


def test_of_frames_named_alike_the_deeper_one_comes_first():
    outline = {
        1: _method(1, "pkg/_core/plot.py", "Plotter", "_setup_scales"),
        2: _method(2, "pkg/_core/scales.py", "ContinuousBase", "_setup"),
    }
    found = symbol_candidates(parse_query(SETUP_TRACE), outline)
    assert [cid for cid, _ in found] == [2, 1] and found[0][1] == found[1][1]


def test_an_api_named_like_a_stop_word_counts_after_a_dot():
    outline = {
        1: _entry(1, "pkg/core/computation.py", "where"),
        2: _method(2, "pkg/core/common.py", "DataWithCoords", "where"),
        3: _entry(3, "pkg/api.py", "get"),
    }
    report = parse_query("`xr.where(cond, x, y, keep_attrs=True)` drops the attributes")
    found = symbol_candidates(report, outline)
    assert [cid for cid, _ in found] == [1, 2]  # the function above the method of that name
    assert "where" in query_terms(report)  # a lexical term too
    # in prose, the same words are no names
    prose = parse_query("where do I get the attributes?")
    assert symbol_candidates(prose, outline) == [] and "where" not in query_terms(prose)
    # a keyword or a receiver after a dot is never one
    assert symbol_candidates(parse_query("`obj.self` and `x.None` in `y.import`"), outline) == []


def test_a_bare_name_defined_in_many_places_points_nowhere():
    from agentctx.retrieve import NAME_MAX_DEFINITIONS

    many = NAME_MAX_DEFINITIONS + 1
    outline = {i: _method(i, f"pkg/m{i}.py", f"C{i}", "__init__") for i in range(1, many + 1)}
    outline[100] = _entry(100, "pkg/expand.py", "expand_modules")
    report = parse_query(
        "`--recursive=y` ignores `ignore-paths`\n\n"
        "W0201: Attribute 'ok' defined outside `__init__`; see `expand_modules` and `C1.__init__`"
    )
    # the qualified name still counts; the bare one, defined 51 times, does not
    assert {cid for cid, _ in symbol_candidates(report, outline)} == {1, 100}
    fewer = {i: e for i, e in outline.items() if i <= NAME_MAX_DEFINITIONS or i == 100}
    assert len({cid for cid, _ in symbol_candidates(report, fewer)}) == NAME_MAX_DEFINITIONS + 1


def test_centroid_lift_decides_a_near_tie():
    outline = {
        1: _entry(1, "src/a.py", "alpha"),
        2: _entry(2, "src/b.py", "beta"),
    }
    # Dense and lexical disagree: a tie (broken by path) that the topic of a file decides.
    lists = {"dense": [(1, 0.9), (2, 0.5)], "lexical": [(2, 9.0), (1, 5.0)]}
    hits, _ = rank(Candidates(lists=lists, outline=outline))
    assert [h.id for h in hits][:2] == [1, 2] and hits[1].score == 1.0
    topic = {"src/b.py": 1.0, "src/a.py": 1 / 1.5}
    hits, _ = rank(Candidates(lists=lists, outline=outline, file_scores={"centroid": topic}))
    assert [h.id for h in hits][:2] == [2, 1] and "centroid" in hits[0].reasons


def test_a_dotted_name_names_the_module_that_defines_what_follows():
    from agentctx.retrieve import UNDEFINED_ATTRIBUTE, definer, path_scores

    outline = {
        1: _entry(1, "pkg/utils.py", "to_native"),
        2: _entry(2, "pkg/exceptions.py", "ConnectionError"),
        3: _entry(3, "pkg/compat.py", "<module>"),
        4: _entry(4, "pkg/io/parser.py", "parse"),
    }
    modules = {
        "pkg/__init__.py": "from .exceptions import ConnectionError\n",
        "pkg/compat.py": "import sys\nif sys.version_info[0] == 3:\n    builtin_str = str\n",
    }

    class Store:  # the one thing `definer` reads from the index
        def module_text(self, path: str) -> str:
            return modules.get(path, "")

    defines = definer(Store(), outline)  # type: ignore[arg-type]
    paths = [*sorted({e.path for e in outline.values()}), "pkg/__init__.py"]

    def scores(query: str) -> dict[str, float]:
        return path_scores(parse_query(query), paths, defines)

    # Another project's `utils.safe_encode_list` is not pkg/utils.py's...
    weak = scores("fails in `utils.safe_encode_list`")["pkg/utils.py"]
    assert weak == pytest.approx(0.6 * UNDEFINED_ATTRIBUTE)
    assert scores("fails in `utils.to_native`")["pkg/utils.py"] == pytest.approx(0.6)
    # ...a re-export is not where a name lives, an assignment (even under `if`) is...
    assert scores("`pkg.ConnectionError` escapes")["pkg/__init__.py"] < 0.6
    assert scores("`pkg.compat.builtin_str` breaks")["pkg/compat.py"] == pytest.approx(0.8)
    assert scores("`pkg.compat.text_type` breaks")["pkg/compat.py"] < 0.8
    # ...and a dotted name that is the module itself needs nothing.
    assert scores("`pkg.io.parser` is slow")["pkg/io/parser.py"] == 1.0
    # Without `defines`, every module match stands (as before).
    plain = path_scores(parse_query("fails in `utils.safe_encode_list`"), paths)
    assert plain["pkg/utils.py"] == pytest.approx(0.6)


def test_a_bare_file_name_names_a_top_level_or_code_file_clearly_not_a_nested_example():
    from agentctx.query import parse_query
    from agentctx.rank import CLEARLY_NAMED
    from agentctx.retrieve import path_scores

    paths = ["pyproject.toml", "examples/pyproject.toml", "pkg/lint/run.py", "docs/setup.cfg"]

    def scores(query: str) -> dict[str, float]:
        return path_scores(parse_query(query), paths)

    bare = scores("my `pyproject.toml` sets ignore-paths and `run.py` ignores it; see setup.cfg")
    assert bare["pyproject.toml"] >= CLEARLY_NAMED  # the project's own, at the top
    assert bare["pkg/lint/run.py"] >= CLEARLY_NAMED  # code: its name is enough
    # The reporter's configuration is not the project's example or doc of that name: it is
    # lifted, but not so far that it escapes its category.
    assert 0 < bare["examples/pyproject.toml"] < CLEARLY_NAMED
    assert 0 < bare["docs/setup.cfg"] < CLEARLY_NAMED
    # Named by its path, the example is meant.
    assert scores("see examples/pyproject.toml")["examples/pyproject.toml"] >= CLEARLY_NAMED


def test_a_script_run_by_a_bare_name_is_the_reporters_or_at_the_root():
    from agentctx.query import parse_query
    from agentctx.rank import CLEARLY_NAMED
    from agentctx.retrieve import path_scores

    paths = ["manage.py", "pkg/lint/run.py", "tests/proj/manage.py"]

    def scores(query: str) -> dict[str, float]:
        return path_scores(parse_query(query), paths)

    ran = scores("Retries fail\n```\n$ python run.py\n$ python3 -u manage.py migrate\n```\n")
    assert "pkg/lint/run.py" not in ran and "tests/proj/manage.py" not in ran
    assert ran["manage.py"] >= CLEARLY_NAMED  # the project's own, at the root
    # named otherwise too ("the bug is in run.py"), or by its path, the file is meant
    assert scores("Retries fail\n$ python run.py\nThe bug is in run.py.")["pkg/lint/run.py"] > 0
    assert scores("Retries fail\n$ python pkg/lint/run.py\n")["pkg/lint/run.py"] >= CLEARLY_NAMED


def test_a_vendored_file_that_is_not_code_is_both_someone_elses_and_not_code():
    from agentctx.rank import CATEGORY_FACTORS, category_factor

    text, vendor = CATEGORY_FACTORS["text"], CATEGORY_FACTORS["vendor"]
    assert category_factor("cextern/wcslib/CHANGES") == pytest.approx(text * vendor)
    assert category_factor("cextern/wcslib/C/wcsfix.h") == vendor
    assert category_factor("docs/changes.rst") == text
    assert category_factor("src/app.py") == 1.0
    # The bundled library's changelog matches many words of a report; the project's own
    # changelog and the vendored code both rank above it now.
    outline = {
        1: _entry(1, "cextern/lib/CHANGES", "Changes"),
        2: _entry(2, "CHANGES.rst", "Changes"),
        3: _entry(3, "cextern/lib/C/fix.c", "fix"),
    }
    lists = {"lexical": [(1, 9.0), (2, 5.0), (3, 4.0)]}
    hits, _ = rank(Candidates(lists=lists, outline=outline), min_score=0.0)
    assert [h.id for h in hits][-1] == 1


def test_the_budget_stage_takes_the_best_hits_helpers_right_after_it():
    from agentctx.models import Hit
    from agentctx.rank import helpers_first
    from agentctx.retrieve import FileChildren

    outline = {
        e.id: e
        for e in (
            _entry(1, "pkg/poly.py", "polyval", ("_ensure_numeric", "_coerce", "_zeros", "degree")),
            _entry(2, "pkg/poly.py", "_ensure_numeric"),
            _entry(3, "pkg/poly.py", "_coerce"),  # two of them in this file: no clear helper
            _entry(4, "pkg/poly.py", "_coerce"),
            _entry(5, "pkg/other.py", "_zeros"),  # another file's
            _entry(6, "pkg/dates.py", "to_numeric"),
            _entry(7, "pkg/poly.py", "degree"),  # public: the file's API, not a helper
        )
    }

    def hit(cid: int, score: float) -> Hit:
        e = outline[cid]
        return Hit(cid, e.path, e.qualname, e.kind, e.start_line, e.end_line, score, ("dense",))

    hits = [hit(1, 1.0), hit(6, 0.9), hit(5, 0.8), hit(3, 0.7), hit(7, 0.6), hit(2, 0.3)]
    order = helpers_first(hits, FileChildren(outline))
    assert [h.id for h in order] == [1, 2, 6, 5, 3, 7]
    assert order[1].score == 0.3  # moved, not re-scored: the tiers still see its own score
    # Nothing to move: a best hit that calls nothing of its file, or a single hit.
    assert helpers_first(hits[1:], FileChildren(outline)) == hits[1:]
    assert helpers_first(hits[:1], FileChildren(outline)) == hits[:1]


def test_the_module_a_title_opens_with_is_named_below_a_clear_path():
    from agentctx.rank import CLEARLY_NAMED
    from agentctx.retrieve import TITLE_SCOPE, path_scores

    paths = ["pkg/printing/latex.py", "pkg/printing/str.py", "pkg/parsing/latex/__init__.py"]
    scores = path_scores(parse_query("latex: add interval delimiters\nbody"), paths)
    assert scores == {"pkg/printing/latex.py": TITLE_SCOPE}
    assert TITLE_SCOPE < CLEARLY_NAMED  # named, not clearly: a test file keeps its factor
    assert path_scores(parse_query("Add interval delimiters\nbody"), paths) == {}
