"""What kind of file a path is: code, tests/docs/examples, other text, or vendored.

Ranking scales each kind differently and retrieval counts some signals in code only;
both classify paths the same way, from the path alone.
"""

from __future__ import annotations

from .parse import CODE_LANGUAGES, PLAIN_CODE_LANGUAGES, language_for

_SECONDARY_DIRS = frozenset(
    {
        *("test", "tests", "testing"),
        *("doc", "docs", "tutorial", "tutorials"),
        *("example", "examples", "gallery", "galleries", "demo", "demos"),
        *("benchmarks", "bench", "asv_bench"),
    }
)
# Inside a Python package these are the library's own test support, shipped to its users
# (django/test/client.py, numpy/testing, sympy/testing/runtests.py, xarray/testing): code.
# Only a top-level one (pytest's testing/, a repository's test/) holds the project's tests.
_TOP_LEVEL_ONLY = frozenset({"test", "testing"})
_VENDOR_DIRS = frozenset(
    {
        *("vendor", "vendored", "_vendor", "third_party", "thirdparty"),
        *("external", "externals", "extern", "cextern"),  # astropy: extern/ply, cextern/wcslib
    }
)


def is_secondary(path: str) -> bool:
    """Tests, documentation and examples (by directory or file name)."""
    parts = path.lower().split("/")
    name = parts[-1]
    python = name.endswith((".py", ".pyi"))
    for depth, part in enumerate(parts[:-1]):
        if part in _SECONDARY_DIRS and not (depth and python and part in _TOP_LEVEL_ONLY):
            return True
    if name.startswith("test_") or name == "tests.py":  # tests.py: a Django app's tests
        return True
    if name.endswith(
        ("_test.py", "_test.go", ".test.ts", ".test.js", ".spec.ts", ".spec.js", "conftest.py")
    ):
        return True
    return name.endswith((".md", ".rst", ".txt")) and "/" in path


def is_vendored(path: str) -> bool:
    """A copy of another project: ``vendor/``, ``third_party/``, ``pkg/packages/`` ..."""
    parts = path.lower().split("/")[:-1]
    if any(p in _VENDOR_DIRS for p in parts):
        return True
    return "packages" in parts[1:]  # pkg/packages/urllib3 (not a top-level packages/ dir)


def is_code(path: str) -> bool:
    """Whether ``path`` is in a programming language (parsed, or chunked as text: Kotlin,
    Cython, PHP...), not docs, configuration or markup."""
    language = language_for(path)
    return language in CODE_LANGUAGES or language in PLAIN_CODE_LANGUAGES


def file_category(path: str) -> str:
    """code, test (tests, docs and examples in code), text (not code) or vendor."""
    if is_vendored(path):
        return "vendor"
    if not is_code(path):
        return "text"
    return "test" if is_secondary(path) else "code"
