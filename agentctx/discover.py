"""Discovery: index root -> the files worth indexing, decided from ``stat`` data alone.

Selection follows git: every file git would track or show as untracked is kept, every
file ``git status`` would hide is dropped; below every ignore file, a short built-in list
(``DEFAULT_IGNORES``: translation catalogs, vector images) leaves out what is never worth
embedding.
Rules come from ``.gitignore`` files at any depth, ``<git common dir>/info/exclude`` and
``.agentctxignore`` files (same syntax and nesting, ranked above every gitignore so a
``!pattern`` there can un-ignore). The user's global excludes file is deliberately not
read, so results do not depend on who runs the tool.

Patterns are compiled by pathspec's ``GitIgnoreSpecPattern`` (the pattern class behind
``pathspec.GitIgnoreSpec``), never fnmatch. Matching follows git's walk rather than
pathspec's whole-path check: every entry is tested on its own path only (directories
with a trailing ``/``), excluded directories are pruned and never entered, and the
highest-ranked ignore file with a matching pattern decides, its last match winning.
That is what makes ``*.txt`` + ``docs/*`` + ``!docs/keep/`` keep ``docs/keep/a.txt``
ignored, as git does, where a whole-path check would re-include it.

``discover()`` never opens a file, so a no-op run costs one ``scandir`` per directory
and one ``stat`` per file. Content checks (binary, encoding) happen in
``read_source()``, which the pipeline calls only for files whose stat changed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from agentctx.errors import NotFoundError
from agentctx.models import SkippedFile, SourceFile
from agentctx.textutil import is_utf8, valid_text

__all__ = [
    "AGENTCTXIGNORE",
    "BINARY_SNIFF_BYTES",
    "DEFAULT_IGNORES",
    "DEFAULT_MAX_FILE_SIZE",
    "GITIGNORE",
    "SKIP_BINARY",
    "SKIP_BROKEN_SYMLINK",
    "SKIP_NAME_NOT_UTF8",
    "SKIP_NESTED_REPO",
    "SKIP_NOT_REGULAR",
    "SKIP_SYMLINK_DIR",
    "SKIP_SYMLINK_OUTSIDE_ROOT",
    "SKIP_TOO_LARGE",
    "SKIP_UNREADABLE",
    "SKIP_VANISHED",
    "Discovery",
    "IgnoreMatcher",
    "SourceText",
    "decode_source",
    "discover",
    "ensure_excluded",
    "find_root",
    "git_common_dir",
    "git_dir",
    "is_binary",
    "read_source",
]

GITIGNORE = ".gitignore"
AGENTCTXIGNORE = ".agentctxignore"
DEFAULT_MAX_FILE_SIZE = 1_000_000
BINARY_SNIFF_BYTES = 8192
"""Like git, a NUL byte in the first 8 KiB marks a file as binary."""

# Never listed or entered, wherever they appear: git's own directory (or the ``.git``
# file of a worktree or submodule) and agentctx's index.
_ALWAYS_SKIPPED = frozenset({".git", ".agentctx"})

# Left out by default, in gitignore syntax, ranked below every ignore file: a ``!*.po`` in
# ``.agentctxignore`` (or a ``.gitignore``) indexes them again. Text that is not written to
# be read: translation catalogs repeat a project's messages once per language (Sphinx: 107
# catalogs, 29% of its chunks; Django ships over a thousand) and the code holds the messages
# themselves; vector images are drawing instructions (matplotlib keeps hundreds of SVG and
# EPS test baselines, each hundreds to thousands of lines).
DEFAULT_IGNORES = ("*.po", "*.pot", "*.svg", "*.eps")

# SkippedFile.reason values.
SKIP_TOO_LARGE = "too-large"
SKIP_SYMLINK_OUTSIDE_ROOT = "symlink-outside-root"
SKIP_SYMLINK_DIR = "symlink-dir"  # directory symlinks are never followed (no cycles)
SKIP_BROKEN_SYMLINK = "broken-symlink"
SKIP_NOT_REGULAR = "not-regular"  # fifo, socket, device
SKIP_UNREADABLE = "unreadable"  # stat/scandir/open failed (permissions, I/O error)
SKIP_BINARY = "binary"  # read_source only
SKIP_VANISHED = "vanished"  # read_source only: deleted between discover and read
SKIP_NESTED_REPO = "nested-git-repository"  # a repository inside the indexed one (git skips it)
# A name whose bytes are not UTF-8 (Python hands them over as lone surrogates): the index,
# the bundle and JSON hold UTF-8 only. Recorded with U+FFFD in place of those bytes.
SKIP_NAME_NOT_UTF8 = "name-not-utf-8"


# ---------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Discovery:
    """What ``discover()`` found: files to index, files left out, ignore files read."""

    files: tuple[SourceFile, ...]  # sorted by path
    skipped: tuple[SkippedFile, ...]  # sorted by (path, reason)
    ignore_files: tuple[str, ...]  # sorted; root-relative POSIX paths, absolute if outside root
    # What lets the next discovery of the same tree skip the walk (see TreeStamp); None
    # when the tree had something a stamp cannot vouch for, or changed during the walk.
    stamp: TreeStamp | None = None


@dataclass(frozen=True, slots=True)
class TreeStamp:
    """A walk's result with what it depended on, so that the next discovery of the tree
    can tell, from ``stat`` data alone, that a walk would find the same (git's untracked
    cache rests on the same fact): adding, removing or renaming an entry changes its
    directory's mtime, and the ignore rules come from files whose stat changes with
    their content.

    Checking it stats every directory walked, every ignore file (or the places one could
    appear above the root) and every file; Django 3.1 (3,102 directories, 5,133 files):
    ~25 ms against ~200 ms for the walk, which runs every ignore rule on every entry.
    Only taken when nothing walked was modified in the last ``RACY_NS`` (a change in the
    same clock tick as the walk could leave an mtime as it was) and no symlink or
    unreadable entry was met (a symlink's target changes no stat of the tree).
    """

    key: tuple[str, int, tuple[str, ...], str]  # root, max size, extra ignore names, top
    dirs: tuple[tuple[str, int], ...]  # (absolute directory, mtime_ns): every one walked
    watched: tuple[tuple[str, int, int], ...]  # (absolute path, size, mtime_ns); -1: absent
    files: tuple[str, ...]  # the files found (root-relative), sorted
    skipped: tuple[tuple[str, str], ...]  # (path, reason): too large or not regular only
    ignore_files: tuple[str, ...]

    def dumps(self) -> bytes:
        return marshal.dumps((_STAMP_FORMAT, *(getattr(self, f) for f in _STAMP_FIELDS)))

    @classmethod
    def loads(cls, data: bytes) -> TreeStamp | None:
        """The stamp ``dumps`` wrote; None for anything else (damaged, another format)."""
        try:
            value = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        if not (isinstance(value, tuple) and len(value) == len(_STAMP_FIELDS) + 1):
            return None
        if value[0] != _STAMP_FORMAT or not all(isinstance(v, tuple) for v in value[1:]):
            return None
        return cls(*value[1:])


_STAMP_FORMAT = 1
_STAMP_FIELDS = ("key", "dirs", "watched", "files", "skipped", "ignore_files")
# An mtime this close to the walk's start may not have moved for a change made during it
# (coarse clocks and filesystems): nothing that recent is vouched for.
RACY_NS = 2_000_000_000
# Skip reasons a stamp can vouch for: a stat of the path re-checks the first two, and a
# nested repository's own directory (walked, for its `.git`) is in the stamp. The others
# involve symlink targets or permissions.
_STAMPED_SKIPS = frozenset({SKIP_TOO_LARGE, SKIP_NOT_REGULAR, SKIP_NESTED_REPO})


@dataclass(frozen=True, slots=True)
class SourceText:
    """The content of one text file, read once: bytes for hashing, text for parsing.

    ``sha256`` is over the raw bytes. ``text`` is UTF-8 with any BOM removed; line endings
    are left as they are. ``decode_errors`` is True when the bytes were not valid UTF-8
    and undecodable bytes became U+FFFD.
    """

    data: bytes
    text: str
    sha256: str
    decode_errors: bool


# ---------------------------------------------------------------------------
# Ignore rules

_DIR_MARK = "(?P<ps_d>/)"
_DIR_MARK_OPT = "(?:(?P<ps_d>/)|$)"


def _own_path_regex(regex: str, line: str) -> str:
    """Turn a pathspec gitignore regex into one that matches an entry's own path only.

    pathspec's regexes also match everything below a matching directory (they stop at
    the ``ps_d`` slash), which is right for whole-path checks but not for a walk that
    tests each directory itself: there, a match through an ancestor must not count.
    Input paths are the entry's path, with a trailing ``/`` for directories.
    """
    if regex.endswith(_DIR_MARK) and line.rstrip().endswith("/**/"):
        # "a/**/": directories strictly inside a (pathspec compiles it like "a/").
        return regex[: -len(_DIR_MARK)] + r"/.+/\Z"
    if regex.endswith(_DIR_MARK_OPT):  # "foo", "a/b", "*.py": file or directory
        return regex[: -len(_DIR_MARK_OPT)] + r"/?\Z"
    if regex.endswith(_DIR_MARK):  # "foo/", "**/", "*/": directories only
        return regex[: -len(_DIR_MARK)] + r"/\Z"
    if regex.endswith("/"):  # "foo/**": everything inside foo, not foo itself
        return regex + r".+\Z"
    # "**" or "*" (".") match everything; anything else is a shape this pathspec
    # version did not produce when this was written: keep its whole-path meaning.
    return regex.replace("(?P<ps_d>", "(?:")


class _IgnoreList:
    """One compiled ignore file and the directory its patterns are relative to.

    A path relative to the index root becomes relative to the ignore file by dropping
    ``strip`` leading characters (files below the root) or prepending ``prepend``
    (files in an ancestor of the root, e.g. the worktree top when the root is a subdir).
    """

    __slots__ = ("_any", "_rules", "prepend", "source", "strip")

    def __init__(self, source: str, patterns: list[tuple[str, bool]], strip: int, prepend: str):
        self.source = source
        self.strip = strip
        self.prepend = prepend
        flags = re.DOTALL
        # One alternation answers "does anything match?" for the common no-match case.
        self._any: Callable[[str], re.Match[str] | None] | None = (
            re.compile("|".join(f"(?:{rx})" for rx, _ in patterns), flags).search
            if patterns
            else None
        )
        # Last pattern wins: keep them in reverse so the first hit decides.
        self._rules: tuple[tuple[Callable[[str], re.Match[str] | None], bool], ...] = tuple(
            (re.compile(rx, flags).search, include) for rx, include in reversed(patterns)
        )

    def decide(self, path: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a ``!`` pattern, None: no pattern matched."""
        if self._any is None:
            return None
        rel = self.prepend + path[self.strip :]
        if is_dir:
            rel += "/"
        if self._any(rel) is None:
            return None
        for search, include in self._rules:
            if search(rel) is not None:
                return include
        return None  # pragma: no cover - _any matched, so some rule does


def _compile_patterns(text: str) -> list[tuple[str, bool]]:
    """Compile gitignore lines once; invalid patterns are dropped, as git drops them."""
    # Imported here: a query (which finds the root and reads templates) never needs it.
    from pathspec.patterns.gitignore import GitIgnorePatternError
    from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

    out: list[tuple[str, bool]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            pattern = GitIgnoreSpecPattern(line)
            if pattern.include is None or pattern.regex is None:
                continue
            regex = _own_path_regex(pattern.regex.pattern, line)
            re.compile(regex)
        except (GitIgnorePatternError, ValueError, re.error):
            continue
        out.append((regex, bool(pattern.include)))
    return out


def _read_ignore_file(path: str) -> str | None:
    """Text of an ignore file, or None if it cannot be read (treated as absent)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return data.decode("utf-8", errors="surrogateescape")


@functools.cache
def _defaults() -> _IgnoreList:
    return _IgnoreList("(defaults)", _compile_patterns("\n".join(DEFAULT_IGNORES)), 0, "")


def _load(path: str, source: str, strip: int, prepend: str) -> _IgnoreList | None:
    text = _read_ignore_file(path)
    if text is None:
        return None
    return _IgnoreList(source, _compile_patterns(text), strip, prepend)


# ---------------------------------------------------------------------------
# Git plumbing (no git subprocess: discovery must not depend on git being installed)


def _worktree_top(start: Path) -> Path | None:
    """The nearest directory at or above ``start`` that holds ``.git`` (dir or file)."""
    for d in (start, *start.parents):
        if os.path.lexists(d / ".git"):
            return d
    return None


def _gitdir_of(top: Path) -> Path | None:
    dotgit = top / ".git"
    if dotgit.is_dir():
        return dotgit
    try:
        first = dotgit.read_text(encoding="utf-8", errors="replace").splitlines()[0]
    except (OSError, IndexError):
        return None
    if not first.startswith("gitdir:"):
        return None
    target = Path(first[len("gitdir:") :].strip())
    if not target.is_absolute():
        target = top / target
    target = Path(os.path.normpath(target))
    return target if target.is_dir() else None


def git_dir(root: Path) -> Path | None:
    """The git directory of the repository whose worktree holds ``root``, or None.

    Handles ``.git`` as a directory and as a file (``gitdir: <path>``, used by linked
    worktrees and submodules). For a linked worktree this is the per-worktree directory
    (``.git/worktrees/<name>``); shared files such as ``info/exclude`` live in
    ``git_common_dir()``.
    """
    top = _worktree_top(Path(os.path.abspath(root)))
    return _gitdir_of(top) if top is not None else None


def git_common_dir(root: Path) -> Path | None:
    """The directory holding the repository-wide files (``info/exclude``, ``hooks``).

    Equal to ``git_dir()`` except in linked worktrees, whose git dir names the common
    dir in its ``commondir`` file.
    """
    gd = git_dir(root)
    if gd is None:
        return None
    commondir = gd / "commondir"
    if not commondir.is_file():  # stat first: a no-op run should open nothing needlessly
        return gd
    try:
        common = commondir.read_text(encoding="utf-8").strip()
    except OSError:
        return gd
    if not common:
        return gd
    path = Path(common)
    if not path.is_absolute():
        path = gd / path
    path = Path(os.path.normpath(path))
    return path if path.is_dir() else gd


def find_root(start: Path) -> Path:
    """The index root: the nearest directory at or above ``start`` holding ``.agentctx/``
    or ``.git`` (directory or file); ``start`` itself (absolute) when there is none."""
    start = Path(os.path.abspath(start))
    if not start.is_dir():
        start = start.parent
    for d in (start, *start.parents):
        if (d / ".agentctx").is_dir() or os.path.lexists(d / ".git"):
            return d
    return start


# Where projects keep the templates their issues (and pull requests) are filed from:
# GitHub's and GitLab's conventions, file or directory, any case.
_TEMPLATE_DIRS = ("", ".github", "docs", ".gitlab")
_TEMPLATE_NAME = re.compile(r"(issue|pull_request|merge_request)_templates?(\.\w+)?", re.I)
TEMPLATE_MAX_BYTES = 64 * 1024  # per file; a template is a page, not a document
TEMPLATE_MAX_FILES = 32


def issue_templates(root: Path) -> str:
    """The text of the project's issue and pull-request templates (empty when none).

    ``ISSUE_TEMPLATE.md`` or an ``ISSUE_TEMPLATE/`` directory (Markdown or issue-form
    YAML) at the root, under ``.github/``, ``docs/`` or ``.gitlab/`` (``issue_templates/``),
    and the same for pull and merge requests. A few stats per query; unreadable or
    oversized files are passed over.
    """
    found: list[Path] = []
    for sub in _TEMPLATE_DIRS:
        try:
            with os.scandir(root / sub if sub else root) as it:
                entries = sorted((e for e in it if _TEMPLATE_NAME.fullmatch(e.name)), key=_name)
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_file():
                    found.append(Path(entry.path))
                elif entry.is_dir(follow_symlinks=False):
                    with os.scandir(entry.path) as inner:
                        found.extend(Path(e.path) for e in sorted(inner, key=_name) if e.is_file())
            except OSError:
                continue
    texts: list[str] = []
    for path in found[:TEMPLATE_MAX_FILES]:
        try:
            if path.stat().st_size <= TEMPLATE_MAX_BYTES:
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
    return "\n".join(texts)


# Console scripts a project declares: `flask = "flask.cli:main"` under pyproject's
# [project.scripts] (or poetry's), `pylint = pylint:run_pylint` under setup.cfg's
# console_scripts, `"pytest=pytest:console_main"` in setup.py.
_ENTRY_POINT = re.compile(
    r"""^\s*["']?([A-Za-z_][\w.-]*)["']?\s*=\s*["']?[A-Za-z_][\w.]*:[A-Za-z_][\w.]*["']?\s*$"""
)
_QUOTED_ENTRY_POINT = re.compile(
    r"""["']\s*([A-Za-z_][\w.-]*)\s*=\s*[A-Za-z_][\w.]*:[A-Za-z_][\w.]*\s*["']"""
)
_TOML_SCRIPTS = re.compile(r"\[(?:project\.(?:gui-)?scripts|tool\.poetry\.scripts)\]")
_CFG_SCRIPTS = re.compile(r"(?:console|gui)_scripts\s*=")
PACKAGING_MAX_BYTES = 256 * 1024


def _packaging_files(root: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of ``pyproject.toml``, ``setup.cfg`` and ``setup.py`` at ``root``; an
    unreadable or oversized one is passed over."""
    for name in ("pyproject.toml", "setup.cfg", "setup.py"):
        try:
            path = root / name
            if path.stat().st_size > PACKAGING_MAX_BYTES:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        yield name, text


def console_scripts(root: Path) -> set[str]:
    """Names of the programs the project at ``root`` installs (empty when none are found).

    Read as text: the entries of ``pyproject.toml``'s script tables, the lines under
    ``console_scripts``/``gui_scripts`` in ``setup.cfg``, and ``"name = module:function"``
    strings in ``setup.py``. Unreadable or oversized files are passed over.
    """
    names: set[str] = set()
    for name, text in _packaging_files(root):
        if name == "setup.py":
            names.update(_QUOTED_ENTRY_POINT.findall(text))
            continue
        inside = False
        for line in text.splitlines():
            if name == "pyproject.toml":
                if line.lstrip().startswith("["):
                    inside = bool(_TOML_SCRIPTS.match(line.strip()))
                    continue
            else:
                if _CFG_SCRIPTS.match(line.strip()):
                    inside = True
                    line = line.split("=", 1)[1]
                elif line.strip() and not line[:1].isspace():
                    inside = False
            m = _ENTRY_POINT.match(line) if inside else None
            if m:
                names.add(m.group(1))
    return names


# `name = "pkg"` under `[project]`/`[tool.poetry]`/`[metadata]`, `name="pkg"` in setup.py.
_TOML_NAME_TABLE = re.compile(r"\[(?:project|tool\.poetry|metadata)\]")
_NAME_LINE = re.compile(r"""^\s*name\s*=\s*["']?([A-Za-z0-9][\w.-]*)["']?\s*$""")
_SETUP_NAME = re.compile(r"""\bname\s*=\s*["']([A-Za-z0-9][\w.-]*)["']""")


def project_names(root: Path) -> set[str]:
    """Names the project at ``root`` goes by, normalized (lowercase, ``-`` for ``_`` and
    ``.``): its distribution name from ``pyproject.toml``, ``setup.cfg`` or ``setup.py``
    (read as text, like ``console_scripts``), and the directory's own name."""
    names = {root.resolve().name}
    for name, text in _packaging_files(root):
        if name == "setup.py":
            names.update(_SETUP_NAME.findall(text)[:1])
            continue
        inside = False
        for line in text.splitlines():
            if line.lstrip().startswith("["):
                inside = bool(_TOML_NAME_TABLE.match(line.strip()))
                continue
            m = _NAME_LINE.match(line) if inside else None
            if m:
                names.add(m.group(1))
    return {normalized_name(n) for n in names if n}


def normalized_name(name: str) -> str:
    """A project or repository name as compared: lowercase, ``_`` and ``.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def ensure_excluded(root: Path, entry: str = ".agentctx/") -> bool:
    """Make git ignore ``entry`` through ``info/exclude`` (never touches ``.gitignore``).

    Returns True when the exclude file now lists ``entry`` (added or already there),
    False when ``root`` is not in a git repository. The file is rewritten atomically.
    """
    common = git_common_dir(root)
    if common is None:
        return False
    info = common / "info"
    exclude = info / "exclude"
    try:
        existing = exclude.read_bytes()
    except FileNotFoundError:
        existing = b""
    wanted = {entry.strip(), entry.strip().rstrip("/")}
    lines = existing.decode("utf-8", errors="surrogateescape").splitlines()
    if any(line.strip() in wanted for line in lines):
        return True
    info.mkdir(parents=True, exist_ok=True)
    if existing and not existing.endswith(b"\n"):
        existing += b"\n"
    new = existing + entry.encode("utf-8") + b"\n"
    try:
        mode = stat.S_IMODE(exclude.stat().st_mode)
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=".exclude.", dir=info)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(new)
        os.chmod(tmp, mode)
        os.replace(tmp, exclude)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return True


def _base_files(root: Path, top: Path | None) -> list[tuple[Path, str]]:
    """The ignore files that may apply above the walk, present or not, with the prefix
    their patterns see before a root-relative path: ``info/exclude`` and the gitignores
    between the worktree top (``_worktree_top(root)``) and the root (when the root is a
    subdirectory of a repository), shallowest first."""
    if top is None:
        return []
    out: list[tuple[Path, str]] = []
    common = git_common_dir(root)
    if common is not None:
        rel_root = os.path.relpath(root, top).replace(os.sep, "/")
        out.append((common / "info" / "exclude", "" if rel_root == "." else rel_root + "/"))
    ancestors = [d for d in (root, *root.parents) if d != root and _is_within(d, top)]
    for d in reversed(ancestors):
        out.append((d / GITIGNORE, os.path.relpath(root, d).replace(os.sep, "/") + "/"))
    return out


def _base_lists(files: list[tuple[Path, str]], root_real: str) -> list[_IgnoreList]:
    """Rules that apply above the walk: those of ``_base_files`` that can be read."""
    lists: list[_IgnoreList] = []
    for path, prepend in files:
        loaded = _load(str(path), _display(path, root_real), 0, prepend)
        if loaded is not None:
            lists.append(loaded)
    return lists


def _is_within(path: Path, top: Path) -> bool:
    return path == top or top in path.parents


def _display(path: Path, root_real: str) -> str:
    """Root-relative POSIX path for files under the root, absolute otherwise."""
    p = os.path.realpath(path)
    if p.startswith(root_real + os.sep):
        return p[len(root_real) + 1 :].replace(os.sep, "/")
    return Path(p).as_posix()


# ---------------------------------------------------------------------------
# The walk


def discover(
    root: Path,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    extra_ignore_files: tuple[str, ...] = (AGENTCTXIGNORE,),
    previous: TreeStamp | None = None,
) -> Discovery:
    """List the files under ``root`` that git would consider, plus why others were left out.

    Reads ignore files and ``stat`` data only, never file contents. Ignored paths are
    dropped silently; files left out for other reasons are returned in ``skipped``.
    ``extra_ignore_files`` name further per-directory ignore files (later names rank
    higher); all of them rank above every gitignore rule.

    ``previous``: the stamp of an earlier discovery of the tree; when its stat data still
    holds, its result is returned (fresh stats of its files) without a walk.
    """
    root = Path(os.path.abspath(root))
    if not root.is_dir():
        raise NotFoundError(
            f"Root directory not found: {root}",
            hint="Pass an existing directory (or run inside one).",
        )
    top = _worktree_top(root)
    key = (str(root), max_file_size, tuple(extra_ignore_files), str(top))
    if previous is not None and previous.key == key:
        unchanged = _unchanged(root, previous, max_file_size)
        if unchanged is not None:
            return unchanged
    started = time.time_ns()
    root_real = os.path.realpath(root)
    # Stat data for the stamp is read before what it vouches for: a change after the read
    # moves it, whatever the clocks (a file server's may lag the walk's).
    base_files = _base_files(root, top)
    watched = [(str(p), *_stat_key(str(p))) for p, _ in base_files]
    base = _base_lists(base_files, root_real)
    # Inside a repository, another repository (a submodule, a checkout of a dependency)
    # is not part of it: git lists neither its files nor them as untracked. A plain
    # directory holding several repositories is indexed through.
    skip_nested = top is not None
    dirs: list[tuple[str, int]] = []  # every directory walked, for the stamp
    stampable = True

    files: list[SourceFile] = []
    skipped: list[SkippedFile] = []
    ignore_files = [lst.source for lst in base]

    # Stack of (dir, root-relative prefix with trailing "/", git chain, extra chain, the
    # dir's mtime read before its listing). Chains are tuples in increasing precedence;
    # the decision walks them backwards.
    Stack = list[tuple[Path, str, tuple[_IgnoreList, ...], tuple[_IgnoreList, ...], int]]
    stack: Stack = [(root, "", (), (), os.stat(root).st_mtime_ns)]
    extra_names = tuple(extra_ignore_files)

    while stack:
        dir_path, prefix, git_chain, extra_chain, mtime = stack.pop()
        abs_dir = str(dir_path)
        dirs.append((abs_dir, mtime))
        try:
            with os.scandir(abs_dir) as it:
                entries = list(it)
        except OSError:
            if prefix:
                skipped.append(SkippedFile(prefix.rstrip("/"), SKIP_UNREADABLE))
            continue

        names = {e.name for e in entries}
        if prefix and skip_nested and ".git" in names:
            skipped.append(SkippedFile(prefix.rstrip("/"), SKIP_NESTED_REPO))
            continue
        for name in (GITIGNORE, *extra_names):
            if name in names:
                here = os.path.join(abs_dir, name)
                watched.append((here, *_stat_key(here)))
        git_chain, extra_chain, chain, loaded = _dir_chains(
            abs_dir, prefix, git_chain, extra_chain, extra_names, base, names
        )
        ignore_files.extend(loaded)

        for entry in entries:
            name = entry.name
            if name in _ALWAYS_SKIPPED:
                continue
            path = prefix + name
            if not is_utf8(name):
                skipped.append(SkippedFile(valid_text(path), SKIP_NAME_NOT_UTF8))
                stampable = False  # (a stamp records its paths as UTF-8 text)
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = not is_link and entry.is_dir(follow_symlinks=False)
            except OSError:
                stampable = False  # left out for an error no stat of the tree records
                continue
            if chain and _ignored(chain, path, is_dir):
                continue
            if is_dir:
                try:
                    mtime = entry.stat(follow_symlinks=False).st_mtime_ns
                except OSError:
                    stampable, mtime = False, -1
                stack.append((_child(dir_path, name), path + "/", git_chain, extra_chain, mtime))
                continue
            try:
                if is_link:
                    stampable = False
                    reason, st = _check_symlink(entry.path, root_real)
                    if reason is not None:
                        skipped.append(SkippedFile(path, reason))
                        continue
                else:
                    st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # vanished between scandir and stat
            except OSError:
                skipped.append(SkippedFile(path, SKIP_UNREADABLE))
                continue
            assert st is not None
            if not stat.S_ISREG(st.st_mode):
                skipped.append(SkippedFile(path, SKIP_NOT_REGULAR))
                continue
            if st.st_size > max_file_size:
                skipped.append(SkippedFile(path, SKIP_TOO_LARGE))
                continue
            files.append(SourceFile(path, _child(dir_path, name), st.st_size, st.st_mtime_ns))

    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: (s.path, s.reason))
    ignored_by = tuple(sorted(set(ignore_files)))
    stamp = None
    if stampable and all(s.reason in _STAMPED_SKIPS for s in skipped):
        stamp = _take_stamp(key, started, dirs, watched, files, skipped, ignored_by)
    return Discovery(tuple(files), tuple(skipped), ignored_by, stamp)


def _stat_key(path: str) -> tuple[int, int]:
    """(size, mtime_ns) of a path (not followed if a symlink); (-1, -1) when absent."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return -1, -1
    return st.st_size, st.st_mtime_ns


def _take_stamp(
    key: tuple[str, int, tuple[str, ...], str],
    started: int,
    dirs: list[tuple[str, int]],
    watched: list[tuple[str, int, int]],
    files: list[SourceFile],
    skipped: list[SkippedFile],
    ignore_files: tuple[str, ...],
) -> TreeStamp | None:
    """The stamp of a walk that began at ``started``, from the stat data read before each
    thing it vouches for; None when any of it is too recent to vouch for."""
    recent = started - RACY_NS
    if any(mtime >= recent for _, mtime in dirs) or any(m >= recent for *_, m in watched):
        return None
    return TreeStamp(
        key,
        tuple(dirs),
        tuple(dict.fromkeys(watched)),
        tuple(f.path for f in files),
        tuple((s.path, s.reason) for s in skipped),
        ignore_files,
    )


def _unchanged(root: Path, stamp: TreeStamp, max_file_size: int) -> Discovery | None:
    """The stamp's discovery, with its files' current stats, if a walk would find the same
    (None: walk again)."""
    try:
        for path, mtime in stamp.dirs:
            if os.stat(path).st_mtime_ns != mtime:
                return None
    except OSError:
        return None
    for path, size, mtime in stamp.watched:
        if _stat_key(path) != (size, mtime):
            return None
    files: list[SourceFile] = []
    base = str(root) + os.sep
    folders: dict[str, Path] = {"": root}  # each file's Path made as the walk makes it

    def folder(rel: str) -> Path:
        made = folders.get(rel)
        if made is None:
            parent, _, name = rel.rpartition("/")
            made = folders[rel] = _child(folder(parent), name)
        return made

    try:
        for rel in stamp.files:
            st = os.lstat(base + rel)
            if not stat.S_ISREG(st.st_mode) or st.st_size > max_file_size:
                return None
            parent, _, name = rel.rpartition("/")
            files.append(SourceFile(rel, _child(folder(parent), name), st.st_size, st.st_mtime_ns))
        for rel, reason in stamp.skipped:
            st = os.lstat(base + rel)
            regular = stat.S_ISREG(st.st_mode)
            if reason == SKIP_NOT_REGULAR and regular:
                return None
            if reason == SKIP_TOO_LARGE and not (regular and st.st_size > max_file_size):
                return None
    except OSError:
        return None
    skipped = tuple(SkippedFile(rel, reason) for rel, reason in stamp.skipped)
    return Discovery(tuple(files), skipped, stamp.ignore_files, stamp)


def _child_fallback(parent: Path, name: str) -> Path:
    return parent / name


# Path(...) re-parses the whole string, which was half the cost of a no-op walk; the
# private child constructor (CPython 3.11-3.13) skips that. Any other version: the slash.
_child: Callable[[Path, str], Path] = getattr(Path, "_make_child_relpath", _child_fallback)


def _dir_chains(
    abs_dir: str,
    prefix: str,
    git_chain: tuple[_IgnoreList, ...],
    extra_chain: tuple[_IgnoreList, ...],
    extra_names: Iterable[str],
    base: Sequence[_IgnoreList],
    names: Collection[str] | None = None,
) -> tuple[tuple[_IgnoreList, ...], tuple[_IgnoreList, ...], tuple[_IgnoreList, ...], list[str]]:
    """The chains for the entries of directory ``prefix``, its own ignore files added
    (only those among ``names``, its listing, when given): (gitignores, extra ignore
    files, the ranked chain, the sources loaded). Shared by the walk and IgnoreMatcher.
    """
    strip = len(prefix)
    loaded: list[str] = []
    for name, extra in ((GITIGNORE, False), *((n, True) for n in extra_names)):
        if names is not None and name not in names:
            continue
        lst = _load(os.path.join(abs_dir, name), prefix + name, strip, "")
        if lst is None:
            continue
        loaded.append(lst.source)
        if extra:
            extra_chain = (*extra_chain, lst)
        else:
            git_chain = (*git_chain, lst)
    # Highest precedence first: extras deepest-first, gitignores deepest-first, base, then
    # the built-in defaults.
    chain = (*reversed(extra_chain), *reversed(git_chain), *reversed(base), _defaults())
    return git_chain, extra_chain, chain, loaded


def _ignored(chain: Iterable[_IgnoreList], path: str, is_dir: bool) -> bool:
    for lst in chain:
        verdict = lst.decide(path, is_dir)
        if verdict is not None:
            return verdict
    return False


class IgnoreMatcher:
    """``discover()``'s ignore decision for one path at a time (file-watcher events).

    Same rules, ranking and pruning as the walk: a path is ignored when it or any of
    its directories is. The chain of ignore files of each directory is loaded once and
    cached; call ``invalidate()`` when an ignore file changes.
    """

    def __init__(self, root: Path, *, extra_ignore_files: tuple[str, ...] = (AGENTCTXIGNORE,)):
        self.root = Path(os.path.abspath(root))
        self._extra_names = tuple(extra_ignore_files)
        self._chains: dict[str, tuple[tuple[_IgnoreList, ...], ...]] = {}
        self._base: list[_IgnoreList] | None = None
        self._skip_nested = _worktree_top(self.root) is not None
        self._nested: dict[str, bool] = {}  # directory prefix -> holds its own repository

    def invalidate(self) -> None:
        """Forget every loaded ignore file (one was created, edited or deleted)."""
        self._chains.clear()
        self._base = None
        self._nested.clear()

    def is_ignore_file(self, path: str) -> bool:
        """True for paths whose change alters the rules (``.gitignore``, ``.agentctxignore``)."""
        name = path.rsplit("/", 1)[-1]
        return name == GITIGNORE or name in self._extra_names

    def ignored(self, path: str, is_dir: bool = False) -> bool:
        """Would ``discover()`` leave out ``path`` (root-relative, POSIX) by its rules?"""
        parts = [p for p in path.split("/") if p]
        if ".git" in parts[1:]:  # a repository may have appeared (or gone) in that directory
            self._nested.pop("".join(p + "/" for p in parts[: parts.index(".git")]), None)
        if not parts or any(p in _ALWAYS_SKIPPED for p in parts):
            return bool(parts)
        prefix = ""
        for i, name in enumerate(parts):
            if prefix and self._skip_nested and self._is_nested_repo(prefix):
                return True  # inside a repository nested in the indexed one
            chain = self._chain(prefix)[2]
            entry = prefix + name
            if chain and _ignored(chain, entry, is_dir if i == len(parts) - 1 else True):
                return True
            prefix = entry + "/"
        return False

    def _is_nested_repo(self, prefix: str) -> bool:
        nested = self._nested.get(prefix)
        if nested is None:
            nested = os.path.lexists(os.path.join(self.root, prefix, ".git"))
            self._nested[prefix] = nested
        return nested

    def _chain(self, prefix: str) -> tuple[tuple[_IgnoreList, ...], ...]:
        """(git chain, extra chain, ranked chain) for the entries of directory ``prefix``."""
        cached = self._chains.get(prefix)
        if cached is not None:
            return cached
        if self._base is None:
            self._base = _base_lists(
                _base_files(self.root, _worktree_top(self.root)), os.path.realpath(self.root)
            )
        if prefix:
            parent = prefix[: prefix.rstrip("/").rfind("/") + 1]
            git_chain, extra_chain, _ = self._chain(parent)
        else:
            git_chain, extra_chain = (), ()
        abs_dir = os.path.join(self.root, prefix)
        result = _dir_chains(
            abs_dir, prefix, git_chain, extra_chain, self._extra_names, self._base
        )[:3]
        self._chains[prefix] = result
        return result


def _check_symlink(abs_path: str, root_real: str) -> tuple[str | None, os.stat_result | None]:
    """Follow a symlink only to a regular file inside the root; otherwise give the reason."""
    try:
        st = os.stat(abs_path)
    except FileNotFoundError:
        return SKIP_BROKEN_SYMLINK, None
    except OSError as exc:  # ELOOP (a cycle) reads as broken; permissions as unreadable
        if isinstance(exc, PermissionError):
            return SKIP_UNREADABLE, None
        return SKIP_BROKEN_SYMLINK, None
    target = os.path.realpath(abs_path)
    if not target.startswith(root_real + os.sep):
        return SKIP_SYMLINK_OUTSIDE_ROOT, None
    if stat.S_ISDIR(st.st_mode):
        return SKIP_SYMLINK_DIR, None
    return None, st


# ---------------------------------------------------------------------------
# Content


def is_binary(data: bytes) -> bool:
    """True when the first 8 KiB hold a NUL byte (git's own heuristic)."""
    return b"\x00" in data[:BINARY_SNIFF_BYTES]


def read_source(f: SourceFile, *, max_file_size: int | None = None) -> SourceText | str:
    """Read a discovered file once and decode it; never raises for file problems.

    Returns ``SourceText`` for a text file, or the skip reason as a string (a
    ``SKIP_*`` value, ready for ``SkippedFile(f.path, reason)`` or a counter):
    ``"binary"``, ``"vanished"`` (deleted since discovery), ``"unreadable"``
    (permissions, now a directory, I/O error) or ``"too-large"`` (grew past
    ``max_file_size`` since discovery; only checked when given).
    """
    try:
        with open(f.abs_path, "rb") as fh:
            data = fh.read() if max_file_size is None else fh.read(max_file_size + 1)
    except FileNotFoundError:
        return SKIP_VANISHED
    except OSError:
        return SKIP_UNREADABLE
    if max_file_size is not None and len(data) > max_file_size:
        return SKIP_TOO_LARGE
    return decode_source(data)


def decode_source(data: bytes) -> SourceText | str:
    """``read_source()``'s checks on bytes from elsewhere (a staged blob): ``SourceText``,
    or ``"binary"``."""
    if is_binary(data):
        return SKIP_BINARY
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
        decode_errors = False
    except UnicodeDecodeError:
        text = data.decode("utf-8-sig", errors="replace")
        decode_errors = True
    return SourceText(data, text, digest, decode_errors)
