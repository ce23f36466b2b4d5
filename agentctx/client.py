"""Ask a running ``agentctx watch`` to answer, instead of loading the model here.

Imported by every ``pack`` and ``search`` before anything heavy, so it uses the
standard library only (socket, json). ``try_serve`` returns the watcher's response, or
None whenever the watcher cannot be used (none running, a dead pid, a stale or foreign
socket, other settings, a timeout, a malformed answer); the caller then does the work
itself, as it would without a watcher.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import stat
import time
from pathlib import Path
from typing import Any

from .textutil import valid_text  # the standard library only

INFO_NAME = "watch.json"  # under .agentctx/: pid, socket path, settings fingerprint
SOCKET_NAME = "watch.sock"
PROTOCOL = 1
MAX_MESSAGE = 64 * 1024 * 1024  # bytes of one JSON line, either way
DEFAULT_TIMEOUT = 15.0  # seconds for a whole request (the server bounds its own waits)

log = logging.getLogger("agentctx.client")
_TIMED_OUT: set[str] = set()  # sockets that timed out in this process: not asked twice
# Requests a watcher turned down in this process (no index yet, an error...): the
# executable's fast lane and then the CLI would otherwise each ask, and each wait.
_DECLINED: set[tuple[str, str]] = set()


def pack_args(
    query: str,
    *,
    budget: int = 8000,
    tokenizer: str = "cl100k_base",
    fmt: str = "markdown",
    min_score: float | None = None,
) -> dict[str, Any]:
    """The canonical arguments of a ``pack`` request (the cache key is built from them)."""
    return {
        "query": valid_text(str(query)),
        "budget": int(budget),
        "tokenizer": str(tokenizer),
        "fmt": str(fmt),
        "min_score": None if min_score is None else float(min_score),
    }


def pack_diff_args(
    *,
    rev: str | None = None,
    staged: bool = False,
    query: str | None = None,
    budget: int = 8000,
    tokenizer: str = "cl100k_base",
    fmt: str = "markdown",
    min_score: float | None = None,
) -> dict[str, Any]:
    """The canonical arguments of a ``pack --diff``/``--staged`` request.

    ``rev`` None and ``"HEAD"`` mean the same change, so both give one cache key.
    """
    return {
        "rev": None if staged else str(rev or "HEAD"),
        "staged": bool(staged),
        "query": None if query is None else valid_text(str(query)),
        "budget": int(budget),
        "tokenizer": str(tokenizer),
        "fmt": str(fmt),
        "min_score": None if min_score is None else float(min_score),
    }


def search_args(
    query: str, *, n: int = 20, min_score: float | None = None, as_json: bool = False
) -> dict[str, Any]:
    return {
        "query": valid_text(str(query)),
        "n": int(n),
        "min_score": None if min_score is None else float(min_score),
        "as_json": bool(as_json),
    }


def settings_fingerprint(settings: Any) -> str:
    """What must match between a client and a watcher for an answer to be the same.

    Covers the agentctx version and the settings that change answers (root, embedder,
    chunking, file size limit); not those that only change how indexing runs.
    """
    from . import __version__

    parts = [
        __version__,
        str(settings.root),
        str(settings.embedder),
        str(settings.embed_max_chars),
        str(settings.max_file_size),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def read_info(index_dir: Path) -> dict[str, Any] | None:
    """The running watcher's ``watch.json`` when it is ours and its process lives."""
    path = index_dir / INFO_NAME
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid() or not stat.S_ISREG(st.st_mode) or st.st_size > 65536:
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            info = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    if not isinstance(info, dict) or info.get("protocol") != PROTOCOL:
        return None
    pid = info.get("pid")
    if not isinstance(pid, int) or not pid_alive(pid):
        return None
    return info


def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's: not our watcher
        return False
    return True


def socket_is_private(path: str) -> bool:
    """A socket we own that nobody else may connect to (mode 0600 or stricter)."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode) and st.st_uid == os.getuid() and not (st.st_mode & 0o077)


def read_line(sock: socket.socket, deadline: float | None = None) -> bytes:
    """One JSON line from ``sock`` (or what came before the peer closed), both ways of
    the protocol; ValueError past MAX_MESSAGE. With ``deadline`` (monotonic), each
    read waits only for what is left of it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if deadline is not None:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
        data = sock.recv(1 << 20)
        if not data:
            break
        chunks.append(data)
        size += len(data)
        if data.endswith(b"\n"):
            break
        if size > MAX_MESSAGE:
            raise ValueError("message too large")
    return b"".join(chunks)


def request(sock_path: str, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Send one JSON line, read one back (raises OSError/ValueError on any problem)."""
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(min(1.0, timeout))
        sock.connect(sock_path)
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        sock.sendall(json.dumps(message).encode() + b"\n")
        data = read_line(sock, deadline)
    response = json.loads(data)
    if not isinstance(response, dict):
        raise ValueError("response is not an object")
    return response


def try_serve(
    root: Path,
    op: str,
    args: dict[str, Any],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    fingerprint: str | None = None,
) -> dict[str, Any] | None:
    """The watcher's response to ``op`` with ``args``, or None to do the work locally."""
    info = read_info(root / ".agentctx")
    if info is None:
        return None
    if fingerprint is not None and info.get("fingerprint") != fingerprint:
        log.debug("watcher not used: it runs with other settings")
        return None
    sock_path = info.get("socket")
    if not isinstance(sock_path, str) or not socket_is_private(sock_path):
        log.debug("watcher not used: its socket is missing or not private")
        return None
    asked = (sock_path, json.dumps([op, args], sort_keys=True, default=str))
    if sock_path in _TIMED_OUT or asked in _DECLINED:
        return None
    message = {
        "protocol": PROTOCOL,
        "op": op,
        "args": args,
        "fingerprint": fingerprint,
        "timeout": timeout,
    }
    try:
        response = request(sock_path, message, timeout)
    except TimeoutError:
        _TIMED_OUT.add(sock_path)
        log.debug("watcher not used: no answer in %gs", timeout)
        return None
    except (OSError, ValueError) as exc:
        _DECLINED.add(asked)
        log.debug("watcher not used: %s", exc)
        return None
    if response.get("ok") is not True or not _well_formed(response):
        _DECLINED.add(asked)
        log.debug("watcher not used: %s", response.get("reason", "malformed response"))
        return None
    return response


def _well_formed(response: dict[str, Any]) -> bool:
    return (
        isinstance(response.get("stdout"), str)
        and isinstance(response.get("stderr"), list)
        and all(isinstance(line, str) for line in response["stderr"])
        and isinstance(response.get("exit"), int)
    )


def pack_request(
    text: str | None,
    diff: str | None,
    staged: bool,
    budget: int,
    tokenizer: str,
    fmt: str,
    min_score: float | None,
) -> tuple[str, dict[str, Any]]:
    """The request for a ``pack`` call (``pack_diff`` with --diff/--staged)."""
    if diff is not None or staged:
        args = pack_diff_args(
            rev=diff,
            staged=staged,
            query=text,
            budget=budget,
            tokenizer=tokenizer,
            fmt=fmt,
            min_score=min_score,
        )
        return "pack_diff", args
    assert text is not None
    return "pack", pack_args(text, budget=budget, tokenizer=tokenizer, fmt=fmt, min_score=min_score)
