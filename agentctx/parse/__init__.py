"""Parse stage: source text -> :class:`~agentctx.models.ParsedFile` of symbols.

``LANGUAGES`` is the one extension -> language table of the project. Code languages
go through tree-sitter (:mod:`.code`, grammars imported on first use); everything else
is split into sections or line windows (:mod:`.text`). :func:`parse_file` never raises
on bad input, so one odd file cannot stop indexing a repository.
"""

from __future__ import annotations

import posixpath
import re

from agentctx.models import ParsedFile
from agentctx.parse.code import CODE_LANGUAGES, parse_code
from agentctx.parse.text import chunk_text

__all__ = [
    "CODE_LANGUAGES",
    "FILENAMES",
    "LANGUAGES",
    "PARSER_VERSION",
    "PLAIN_CODE_LANGUAGES",
    "language_for",
    "parse_file",
]

PARSER_VERSION = 2  # 2: @overload stubs join the definition they overload
"""Bumped whenever the output of :func:`parse_file` changes; the store re-parses on change."""

LANGUAGES: dict[str, str] = {
    # code, parsed with tree-sitter
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".rake": "ruby",
    ".gemspec": "ruby",
    # code without a grammar here: chunked as text, but named for the bundle (and ranked as
    # code: see PLAIN_CODE_LANGUAGES)
    ".pyx": "cython",
    ".pxd": "cython",
    ".pxi": "cython",
    ".kt": "kotlin",
    ".kts": "kotlin",
    ".swift": "swift",
    ".php": "php",
    ".scala": "scala",
    ".lua": "lua",
    ".r": "r",
    ".jl": "julia",
    ".dart": "dart",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".clj": "clojure",
    ".pl": "perl",
    ".pm": "perl",
    ".vue": "vue",
    ".svelte": "svelte",
    ".proto": "proto",
    ".graphql": "graphql",
    ".gql": "graphql",
    ".tf": "terraform",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "css",
    ".sass": "css",
    ".less": "css",
    ".xml": "xml",
    ".svg": "xml",
    # text
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdx": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".text": "text",
    ".adoc": "text",
    ".yml": "yaml",
    ".yaml": "yaml",
    ".toml": "toml",
    ".json": "json",
    ".jsonc": "json",
    ".json5": "json",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
    ".properties": "ini",
    ".env": "ini",
    ".sh": "shell",
    ".bash": "shell",
    ".zsh": "shell",
    ".fish": "shell",
    ".ps1": "powershell",
    ".bat": "batch",
    ".cmd": "batch",
    ".sql": "sql",
    ".csv": "csv",
    ".tsv": "csv",
    ".mk": "makefile",
    ".cmake": "cmake",
    ".dockerfile": "dockerfile",
}

# Programming languages of the table above that have no grammar here: their files are
# chunked as text, yet they are a project's code, not its docs or configuration, so ranking
# counts them as code (markup, stylesheets and schemas stay text).
PLAIN_CODE_LANGUAGES: frozenset[str] = frozenset(
    {
        *("cython", "kotlin", "swift", "php", "scala", "lua", "r", "julia", "dart"),
        *("elixir", "erlang", "haskell", "ocaml", "clojure", "perl", "groovy"),
        *("vue", "svelte"),
    }
)

FILENAMES: dict[str, str] = {
    "Dockerfile": "dockerfile",
    "Containerfile": "dockerfile",
    "Makefile": "makefile",
    "makefile": "makefile",
    "GNUmakefile": "makefile",
    "CMakeLists.txt": "cmake",
    "Gemfile": "ruby",
    "Rakefile": "ruby",
    "Vagrantfile": "ruby",
    "Jenkinsfile": "groovy",
    "Justfile": "makefile",
    "justfile": "makefile",
    ".bashrc": "shell",
    ".zshrc": "shell",
    ".profile": "shell",
    ".gitignore": "text",
    ".dockerignore": "text",
    ".editorconfig": "ini",
    "requirements.txt": "text",
    "go.mod": "text",
    "go.sum": "text",
    "Cargo.lock": "toml",
    "Pipfile": "toml",
    "LICENSE": "text",
    "README": "text",
}


def language_for(path: str) -> str:
    """Language of ``path`` by well-known file name, then extension; ``"text"`` otherwise.

    Discovery has already left out binary files, so anything unknown is still worth
    indexing as plain text.
    """
    base = posixpath.basename(path.replace("\\", "/"))
    if base in FILENAMES:
        return FILENAMES[base]
    if base.startswith(("Dockerfile.", "Containerfile.")):
        return "dockerfile"
    _, ext = posixpath.splitext(base)
    return LANGUAGES.get(ext.lower(), "text")


# A ".h" file with any of these is C++, whatever the table says (C grammar chokes on it).
_CPP_HINT = re.compile(
    r"^\s*(?:namespace\s+\w+|template\s*<|class\s+\w+[^;{]*\{|(?:public|private|protected)\s*:)"
    r"|\bstd::",
    re.MULTILINE,
)


def parse_file(path: str, text: str, language: str | None = None) -> ParsedFile:
    """Symbols of one file; never raises on bad input.

    Syntax errors give ``has_errors=True`` with what tree-sitter recovered. Should the
    code parser fail on a file anyway (a grammar bug, a missing grammar), the file is
    chunked as text so that it still gets indexed.
    """
    lang = language or language_for(path)
    text = text.replace("\r\n", "\n")
    if lang == "c" and path.endswith(".h") and _CPP_HINT.search(text):
        lang = "cpp"
    if lang in CODE_LANGUAGES:
        try:
            return parse_code(path, text, lang)
        except Exception:  # one bad file (or grammar bug) must not stop an index run
            return ParsedFile(path, lang, chunk_text(text, "text"), has_errors=True)
    return ParsedFile(path, lang, chunk_text(text, lang))
