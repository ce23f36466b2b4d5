"""Errors the library raises; ``cli`` turns them into one stderr line and an exit code.

Each class carries a user-facing ``message`` and an optional ``hint``. Exit codes are
named here so scripts can rely on them (documented in the README).
"""

from __future__ import annotations

import os
import sys
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # unexpected internal error (a bug): still one line, never a traceback
    USAGE = 2  # bad flags or arguments (typer/click also use 2)
    NOT_FOUND = 3  # path, root or file that does not exist
    CONFIG = 4  # invalid configuration file or environment value
    INDEX = 5  # index missing, corrupt beyond repair, or locked
    MODEL = 6  # embedding model cannot be loaded (offline package missing...)
    BUDGET = 7  # token budget too small (used by pack)
    REGRESSION = 8  # bench compare found a quality or latency regression
    NOT_A_REPOSITORY = 9  # a git work tree is needed (hook, index --staged) and there is none
    INTERRUPTED = 130
    PIPE_CLOSED = 141  # the reader of stdout went away (`| head`): 128 + SIGPIPE, silently


class AgentctxError(Exception):
    """Base class: a problem the user can act on."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(AgentctxError):
    exit_code = ExitCode.USAGE


class NotFoundError(AgentctxError):
    exit_code = ExitCode.NOT_FOUND


class NotARepositoryError(NotFoundError):
    """The command needs a git work tree (``hook``, ``index --staged``)."""

    exit_code = ExitCode.NOT_A_REPOSITORY


class ConfigError(AgentctxError):
    exit_code = ExitCode.CONFIG


class HookError(ConfigError):
    """The git hook cannot be installed or removed as asked (a foreign or damaged hook)."""


class IndexStateError(AgentctxError):
    """The on-disk index cannot be used (and could not be rebuilt)."""

    exit_code = ExitCode.INDEX


class IndexReadOnlyError(IndexStateError):
    """The index can be read but not written here (permissions, read-only file system)."""


class LockedError(IndexStateError):
    """Another agentctx process is writing the index."""


class ModelError(AgentctxError):
    exit_code = ExitCode.MODEL


class BudgetError(AgentctxError):
    exit_code = ExitCode.BUDGET


def print_line(message: str, hint: str | None = None) -> None:
    """``agentctx: MESSAGE (HINT)`` on stderr as one line: no markup, no wrapping, so
    scripts can grep it (the CLI's errors, the fast lane's, --warn-only warnings)."""
    line = f"agentctx: {message}"
    if hint:
        line += f" ({hint})"
    print(" ".join(line.split()), file=sys.stderr)


def report(exc: BaseException) -> int:
    """Print the one line the CLI prints for ``exc`` and return its exit code: a library
    error as itself, Ctrl-C as "interrupted", anything else as an internal error (raised
    again instead when ``AGENTCTX_DEBUG`` asks for its traceback)."""
    if isinstance(exc, AgentctxError):
        print_line(f"error: {exc.message}", exc.hint)
        return int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        print_line("interrupted", None)
        return int(ExitCode.INTERRUPTED)
    if os.environ.get("AGENTCTX_DEBUG"):
        raise exc
    print_line(
        f"internal error: {type(exc).__name__}: {exc}",
        "this is a bug; rerun with AGENTCTX_DEBUG=1 for the traceback",
    )
    return int(ExitCode.ERROR)


def write_stdout(text: str) -> None:
    """Write the product to stdout. A reader that went away (`agentctx pack ... | head`)
    ends the run quietly with ``PIPE_CLOSED``, as a process killed by SIGPIPE would."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
        raise SystemExit(int(ExitCode.PIPE_CLOSED)) from None


def silence_stdout() -> None:
    """After a reader closed stdout: Python flushes it again at exit, so point it
    somewhere that cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
