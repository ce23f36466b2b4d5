"""The git pre-commit hook: ``agentctx hook install | uninstall | status``.

``install`` adds one clearly delimited block to the repository's ``pre-commit`` hook
(where git looks for it: ``core.hooksPath``, the shared hooks of linked worktrees, a
submodule's own git directory). The block goes right after the shebang line, so an
``exit 0`` at the end of an existing hook cannot skip it, and runs
``agentctx index --staged``: only the staged files are re-indexed, from their staged
content. It never blocks the commit unless installed with ``strict``.

Everything else in the file is kept byte for byte: ``uninstall`` removes exactly what
``install`` added (the block, a newline it had to add, the executable bit it set, or
the whole file when it created it). What it must undo is written in the block itself,
so no state lives anywhere else. Installing twice changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .config import INDEX_DIR_NAME
from .errors import HookError
from .gitutil import RepoLayout, repo_layout
from .store.db import DB_NAME

HOOK_NAME = "pre-commit"
BEGIN = "# >>> agentctx >>>"
END = "# <<< agentctx <<<"
DEFAULT_MAX_EMBED = 64  # chunks the hook embeds itself (torch-free engine); more wait for `index`
NEW_HOOK = b"#!/bin/sh\n"

# What install did that uninstall must undo, recorded as comment lines inside the block.
CREATED = "# agentctx created this file; uninstalling deletes it."
MADE_EXECUTABLE = "# agentctx made this file executable; uninstalling clears that again."
ADDED_NEWLINE = "# agentctx ended the line above with a newline; uninstalling removes it."
_STATE = (CREATED, MADE_EXECUTABLE, ADDED_NEWLINE)

_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"})


@dataclass(frozen=True, slots=True)
class HookResult:
    """What ``install`` or ``uninstall`` did."""

    action: str  # installed | updated | unchanged | removed | deleted | absent
    path: Path  # the hook file git runs
    written: Path  # the file actually changed (the target when ``path`` is a symlink)
    root: str  # the indexed root, relative to the work tree top ("." at the top)
    strict: bool = False
    max_embed: int = DEFAULT_MAX_EMBED
    command: str | None = None  # the agentctx executable the block calls first
    created: bool = False  # the hook file did not exist before
    made_executable: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "action": self.action,
            "path": str(self.path),
            "written": str(self.written),
            "root": self.root,
            "strict": self.strict,
            "max_embed": self.max_embed,
            "command": self.command,
            "created": self.created,
            "made_executable": self.made_executable,
            "notes": self.notes,
        }


@dataclass(frozen=True, slots=True)
class HookStatus:
    """Whether the block is installed where git looks, and how it is set up."""

    path: Path
    exists: bool
    executable: bool
    installed: bool
    root: str | None = None
    strict: bool | None = None
    max_embed: int | None = None
    command: str | None = None
    command_found: bool | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "exists": self.exists,
            "executable": self.executable,
            "installed": self.installed,
            "root": self.root,
            "strict": self.strict,
            "max_embed": self.max_embed,
            "command": self.command,
            "command_found": self.command_found,
        }


# ------------------------------------------------------------------------- the block


def find_executable() -> str | None:
    """Absolute path of the ``agentctx`` executable of this installation, if any.

    The script next to the running interpreter first (a venv or pipx install), then
    the one that started this process, then PATH.
    """
    beside = Path(os.path.abspath(sys.executable)).parent / "agentctx"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "agentctx" and os.access(argv0, os.X_OK):
        return os.path.abspath(argv0)
    found = shutil.which("agentctx")
    return os.path.abspath(found) if found else None


def render_block(
    *,
    root: str,
    command: str | None,
    strict: bool,
    max_embed: int,
    state: tuple[str, ...] = (),
) -> str:
    """The block, newline-terminated. ``root`` is relative to the work tree top,
    where git runs hooks (so one hook serves every worktree of the repository)."""
    flags = "--staged --quiet" + ("" if strict else " --warn-only") + f" --max-embed {max_embed}"
    where = "at $agentctx_cmd or on PATH" if command else "on PATH"
    if strict:
        purpose = "a failure stops the commit (installed with --strict)."
        missing = [
            f'    echo "agentctx: error: agentctx not found {where}" >&2',
            "    exit 1",
        ]
        tail = [
            ") || {",
            "  agentctx_status=$?",
            '  echo "agentctx: the strict agentctx hook stopped this commit; fix the error '
            'above, or commit with --no-verify" >&2',
            '  exit "$agentctx_status"',
            "}",
        ]
    else:
        purpose = "it never stops the commit."
        missing = [
            f'    echo "agentctx: warning: agentctx not found {where}; index not updated '
            '(commit continues)" >&2',
            "    exit 0",
        ]
        tail = [") || :"]
    lines = [
        BEGIN,
        "# Re-indexes the staged files into agentctx's index before each commit;",
        f"# {purpose}",
        "# `agentctx hook uninstall` removes this block (or delete it by hand).",
        *state,
        "(",
        f"  agentctx_cmd={shlex.quote(command or '')}",
        "  agentctx=$agentctx_cmd",
        '  [ -x "$agentctx" ] || agentctx=$(command -v agentctx) || {',
        *missing,
        "  }",
        f'  exec "$agentctx" index {flags} -- {shlex.quote(root)}',
        *tail,
        END,
    ]
    return "".join(line + "\n" for line in lines)


def _find_block(text: str, path: Path) -> tuple[int, int] | None:
    """(start, end) offsets of the block in ``text``, end past its last newline."""
    lines = text.splitlines(keepends=True)
    starts: list[int] = []
    ends: list[int] = []
    offset = 0
    for line in lines:
        stripped = line.rstrip("\r\n")
        if stripped == BEGIN:
            starts.append(offset)
        elif stripped == END:
            ends.append(offset + len(line))
        offset += len(line)
    if not starts and not ends:
        return None
    if len(starts) != 1 or len(ends) != 1 or ends[0] <= starts[0]:
        raise HookError(
            f"the agentctx block in {path} is damaged ({len(starts)} start and "
            f"{len(ends)} end markers)",
            hint=f"delete the lines between {BEGIN!r} and {END!r} by hand, then install again",
        )
    return starts[0], ends[0]


def _block_state(block: str) -> tuple[str, ...]:
    lines = {line.rstrip("\r\n") for line in block.splitlines()}
    return tuple(s for s in _STATE if s in lines)


def _parse_block(block: str) -> dict[str, object]:
    """root, strict, max_embed and command of an installed block (for ``status``)."""
    out: dict[str, object] = {}
    for line in block.splitlines():
        line = line.strip()
        if line.startswith("agentctx_cmd="):
            with contextlib.suppress(ValueError):
                words = shlex.split(line[len("agentctx_cmd=") :])
                out["command"] = words[0] if words and words[0] else None
        elif line.startswith('exec "$agentctx" index'):
            try:
                words = shlex.split(line)
            except ValueError:
                continue
            out["strict"] = "--warn-only" not in words
            if "--max-embed" in words and words.index("--max-embed") + 1 < len(words):
                with contextlib.suppress(ValueError):
                    out["max_embed"] = int(words[words.index("--max-embed") + 1])
            if "--" in words and words.index("--") + 1 < len(words):
                out["root"] = words[words.index("--") + 1]
    return out


def _check_shell(text: str, path: Path) -> None:
    """A block of shell can only go into a shell script (git runs one without a shebang
    with ``sh``)."""
    if "\0" in text:
        raise HookError(
            f"{path} is a binary program, not a script: agentctx cannot add itself to it",
            hint="call `agentctx index --staged --quiet --warn-only` from it yourself",
        )
    if not text.startswith("#!"):
        return
    words = text[2:].split("\n", 1)[0].split()
    interpreter = Path(words[0]).name if words else ""
    if interpreter == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        interpreter = Path(rest[0]).name if rest else ""
    if interpreter not in _SHELLS:
        raise HookError(
            f"{path} is a {interpreter or 'non-shell'} script: agentctx adds itself to "
            "shell hooks only",
            hint="call `agentctx index --staged --quiet --warn-only` from it, or use the "
            "pre-commit framework (hook id agentctx-index)",
        )


# ---------------------------------------------------------------------- operations


def _hook_file(layout: RepoLayout) -> tuple[Path, Path]:
    """(the path git runs, the file to edit): they differ when the hook is a symlink."""
    path = layout.hooks / HOOK_NAME
    return path, Path(os.path.realpath(path)) if path.is_symlink() else path


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HookError(f"cannot read {path}: {exc.strerror}") from None


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically: a temp file beside it, its mode set, then ``os.replace``."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise HookError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise HookError(f"cannot write {path}: {exc.strerror}") from None


def _executable(mode: int) -> bool:
    return bool(mode & stat.S_IXUSR)


def _with_exec(mode: int) -> int:
    """``chmod +x`` within the read bits (who may read it may run it)."""
    return mode | stat.S_IXUSR | ((mode & 0o044) >> 2)


def _root_arg(layout: RepoLayout) -> str:
    return layout.prefix.rstrip("/") or "."


def install(
    root: Path,
    *,
    strict: bool = False,
    max_embed: int = DEFAULT_MAX_EMBED,
    command: str | None = None,
) -> HookResult:
    """Add (or update) the agentctx block in the repository's pre-commit hook.

    ``command`` is the agentctx executable the block calls (default: this one, see
    ``find_executable``); the block falls back to ``agentctx`` on PATH.
    """
    if max_embed < 0:
        raise HookError(f"max_embed must be 0 or more, got {max_embed}")
    layout = repo_layout(root)
    path, target = _hook_file(layout)
    command = command or find_executable()
    data = _read(target)
    notes: list[str] = []
    created = data is None
    found: tuple[int, int] | None = None
    if data is None:
        text, mode, state = NEW_HOOK.decode(), 0o755, (CREATED,)
        start = end = len(text)
        old_mode = None
    else:
        text = data.decode("utf-8", "surrogateescape")
        old_mode = stat.S_IMODE(target.stat().st_mode)
        mode = old_mode
        found = _find_block(text, path)
        if found is not None:
            start, end = found
            state = _block_state(text[start:end])
            before = _parse_block(text[start:end]).get("root")
            if isinstance(before, str) and before != _root_arg(layout):
                notes.append(
                    f"the hook indexed root {before!r} until now; it indexes "
                    f"{_root_arg(layout)!r} instead (one root per repository hook)"
                )
        else:
            _check_shell(text, path)
            state = ()
            if text.startswith("#!"):
                nl = text.find("\n")
                if nl < 0:
                    text += "\n"
                    state = (ADDED_NEWLINE,)
                    nl = len(text) - 1
                start = end = nl + 1
            else:
                start = end = 0  # no shebang: git runs it with sh; the block goes first
        if not _executable(mode):
            mode = _with_exec(mode)
            if MADE_EXECUTABLE not in state:
                state = (*state, MADE_EXECUTABLE)
            notes.append(
                f"{path.name} was not executable (so git skipped it): made it executable, "
                "so its other content runs at each commit too"
            )
    block = render_block(
        root=_root_arg(layout),
        command=command,
        strict=strict,
        max_embed=max_embed,
        state=state,
    )
    new_text = text[:start] + block + text[end:]
    new = new_text.encode("utf-8", "surrogateescape")
    if data is not None and new == data and mode == old_mode:
        action = "unchanged"
    else:  # a block found in the file (not just its marker text somewhere) is updated
        action = "updated" if found is not None else "installed"
    if action != "unchanged":
        _write(target, new, mode)
    if target != path:
        notes.append(f"{path} is a symlink: edited {target}")
    if command is None:
        notes.append("agentctx executable not found: the hook looks for agentctx on PATH")
    if not (root / INDEX_DIR_NAME / DB_NAME).is_file():
        notes.append(
            f"no index under {root} yet: run `agentctx index` once; the hook keeps it fresh"
        )
    return HookResult(
        action=action,
        path=path,
        written=target,
        root=_root_arg(layout),
        strict=strict,
        max_embed=max_embed,
        command=command,
        created=created,
        made_executable=old_mode is not None and not _executable(old_mode),
        notes=notes,
    )


def uninstall(root: Path) -> HookResult:
    """Remove exactly what ``install`` added; the rest of the hook is left byte for byte."""
    layout = repo_layout(root)
    path, target = _hook_file(layout)

    def result(action: str, notes: list[str] | None = None) -> HookResult:
        return HookResult(action, path, target, _root_arg(layout), notes=notes or [])

    data = _read(target)
    text = "" if data is None else data.decode("utf-8", "surrogateescape")
    found = _find_block(text, path) if data is not None else None
    if found is None:
        return result("absent")
    start, end = found
    state = _block_state(text[start:end])
    before, after = text[:start], text[end:]
    if ADDED_NEWLINE in state and before.endswith("\n"):
        before = before[:-1]
    rest = (before + after).encode("utf-8", "surrogateescape")
    if CREATED in state and rest == NEW_HOOK:
        try:
            target.unlink()
        except OSError as exc:
            raise HookError(f"cannot remove {target}: {exc.strerror}") from None
        return result("deleted")
    mode = stat.S_IMODE(target.stat().st_mode)
    if MADE_EXECUTABLE in state:
        mode &= ~0o111
    _write(target, rest, mode)
    kept = [f"kept {path.name}: it has content agentctx did not add"] if CREATED in state else []
    return result("removed", kept)


def status(root: Path) -> HookStatus:
    layout = repo_layout(root)
    path, target = _hook_file(layout)
    data = _read(target)
    if data is None:
        return HookStatus(path=path, exists=False, executable=False, installed=False)
    text = data.decode("utf-8", "surrogateescape")
    executable = _executable(target.stat().st_mode)
    try:
        found = _find_block(text, path)
    except HookError:
        found = None
    if found is None:
        return HookStatus(path=path, exists=True, executable=executable, installed=False)
    info = _parse_block(text[found[0] : found[1]])
    command = info.get("command")
    command = command if isinstance(command, str) else None
    found_command = (command is not None and os.access(command, os.X_OK)) or bool(
        shutil.which("agentctx")
    )
    max_embed = info.get("max_embed")
    root_arg = info.get("root")
    return HookStatus(
        path=path,
        exists=True,
        executable=executable,
        installed=True,
        root=root_arg if isinstance(root_arg, str) else None,
        strict=bool(info.get("strict")),
        max_embed=max_embed if isinstance(max_embed, int) else None,
        command=command,
        command_found=found_command,
    )
