"""The local server of ``agentctx watch``: ``pack`` and ``search`` without a model load.

A Unix domain socket ``.agentctx/watch.sock`` (mode 0600, bound in a private directory
and moved into place, so it is never reachable by others even for an instant) and
``.agentctx/watch.json`` (pid, socket path, settings fingerprint; written atomically,
removed on exit) let ``agentctx pack``/``search`` hand their work to the watcher,
whose embedder is already loaded. A root whose socket path would exceed the AF_UNIX
limit gets one under the temp dir, named by uid and a hash of the root.

Protocol: one JSON line each way per connection. A request is ``{"protocol": 1,
"op": "pack"|"pack_diff"|"search"|"status", "args": {...}, "fingerprint": ...}``; a
response ``{"ok": true, "stdout": str, "stderr": [lines], "exit": int, "cache":
"hit"|"miss", "served_ms": float, ...}``, with ``"error": {"message", "hint"}`` when
the answer is an error the CLI reports as its own. ``"ok": false`` means "do it
yourself" (other settings, malformed request, internal failure).

Before answering, the server flushes the watcher's pending events, so an answer never
misses a save the watcher has seen. Answers are cached (``ResponseCache``) under the
index generation, HEAD and, for ``pack_diff``, a digest of the diff, and after each
update the default ``pack --diff`` answer is computed ahead of the request (prefetch).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from .client import (
    DEFAULT_TIMEOUT,
    INFO_NAME,
    PROTOCOL,
    SOCKET_NAME,
    pack_args,
    pack_diff_args,
    read_line,
    search_args,
    settings_fingerprint,
)
from .discover import git_dir
from .errors import IndexStateError
from .ops import compute
from .watch import Watcher

BUSY_NOTE = "the index is being updated; answered from the current index"
_SUN_PATH_MAX = 100  # bytes; the AF_UNIX limit is 104 (macOS) or 108 (Linux) with the NUL
_STAGING_EXTRA = 8  # bound first as <dir>/.sock-XXXXXXXX/s, 6 bytes longer


PREFETCH_ARGS = pack_diff_args()  # what a plain `agentctx pack --diff` asks for

_BUILDERS: dict[str, Callable[..., dict[str, Any]]] = {  # canonical args from a request's
    "pack": pack_args,
    "pack_diff": pack_diff_args,
    "search": search_args,
}


# ------------------------------------------------------------------------ output
# ------------------------------------------------------------------------- cache
class ResponseCache:
    """The response tier of the caches: finished answers, least recently used first out.

    Keys carry everything an answer depends on (request, index generation, HEAD, diff
    digest), so entries never need invalidating: a change makes new keys, and old
    entries age out.
    """

    def __init__(self, maxsize: int = 64) -> None:
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> dict[str, Any] | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def put(self, key: Hashable, value: dict[str, Any]) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {
                "hits": self.hits,
                "misses": self.misses,
                "size": len(self._data),
                "maxsize": self.maxsize,
            }


# ------------------------------------------------------------------------ server
def socket_path_for(root: Path) -> str:
    """``.agentctx/watch.sock``, or a per-user temp path when that is too long for AF_UNIX."""
    path = str(root / ".agentctx" / SOCKET_NAME)
    if len(os.fsencode(path)) + _STAGING_EXTRA <= _SUN_PATH_MAX:
        return path
    digest = hashlib.sha256(os.fsencode(str(root))).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"agentctx-{os.getuid()}", f"{digest}.sock")


def _private_dir(path: str) -> None:
    """Create ``path`` (0700) or check that the existing one is ours and private."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise IndexStateError(f"{path} is not a private directory of this user")


class Server:
    """Answers ``pack``/``search`` requests with the watcher's loaded embedder.

    ``start()`` binds the socket and writes ``watch.json``; ``close()`` removes both.
    ``handle()`` is the whole protocol on decoded messages (tests call it directly).
    """

    def __init__(
        self,
        watcher: Watcher,
        *,
        prefetch: bool = True,
        cache_size: int = 64,
        wait: float = 2.0,
        on_prefetch: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.watcher = watcher
        self.settings = watcher.settings
        self.root = watcher.root
        self.fingerprint = settings_fingerprint(self.settings)
        self.cache = ResponseCache(cache_size)
        self.wait = wait  # longest wait for a running batch before answering from the index
        self.prefetched = 0
        self.on_prefetch = on_prefetch
        self.socket_path = socket_path_for(self.root)
        self.info_path = self.settings.index_dir / INFO_NAME
        self._git = git_dir(self.root) is not None
        self._sock: socket.socket | None = None
        self._sock_ino: int | None = None
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        if prefetch and self._git:  # `pack --diff` needs git
            watcher.add_idle_hook(self.prefetch)

    # ------------------------------------------------------------- lifecycle
    def start(self) -> None:
        self.settings.index_dir.mkdir(parents=True, exist_ok=True)
        self._sock = self._bind()
        self._write_info()
        self._thread = threading.Thread(
            target=self._accept_loop, name="agentctx-serve", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(2.0)  # the accept loop wakes every 0.2 s
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        with contextlib.suppress(OSError):
            if self._sock_ino is not None and os.lstat(self.socket_path).st_ino == self._sock_ino:
                os.unlink(self.socket_path)
        with contextlib.suppress(OSError, ValueError):
            if json.loads(self.info_path.read_text()).get("pid") == os.getpid():
                self.info_path.unlink()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _bind(self) -> socket.socket:
        """Bind in a fresh private directory, chmod 0600, then move into place."""
        final = self.socket_path
        parent = os.path.dirname(final)
        if parent != str(self.settings.index_dir):
            _private_dir(parent)
        staging = tempfile.mkdtemp(prefix=".sock-", dir=parent)  # mode 0700
        tmp = os.path.join(staging, "s")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(tmp)
            os.chmod(tmp, 0o600)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(final)  # a dead watcher's socket (we hold the watch lock)
            os.rename(tmp, final)
            sock.listen(16)
            sock.settimeout(0.2)
        except OSError as exc:
            sock.close()
            raise IndexStateError(f"cannot create the watcher's socket: {exc.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                os.rmdir(staging)
        self._sock_ino = os.lstat(final).st_ino
        return sock

    def _write_info(self) -> None:
        from . import __version__

        info = {
            "protocol": PROTOCOL,
            "pid": os.getpid(),
            "socket": self.socket_path,
            "root": str(self.root),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "fingerprint": self.fingerprint,
            "embedder": self.watcher.embedder.model_id,
            "version": __version__,
        }
        fd, tmp = tempfile.mkstemp(prefix=".watch.", suffix=".json", dir=self.info_path.parent)
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(info, fh, indent=2)
                fh.write("\n")
            os.replace(tmp, self.info_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return  # closed
            threading.Thread(target=self._serve_conn, args=(conn,), daemon=True).start()

    def _serve_conn(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.settimeout(30.0)
                if not _peer_is_us(conn):
                    return
                try:
                    data = read_line(conn)
                except ValueError:  # too large
                    return
                try:
                    message = json.loads(data)
                except ValueError:
                    message = None
                response = (
                    self.handle(message)
                    if isinstance(message, dict)
                    else {"ok": False, "reason": "malformed request"}
                )
                conn.sendall(json.dumps(response).encode() + b"\n")
            except OSError:
                return  # the client went away

    # -------------------------------------------------------------- protocol
    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """One request -> one response (never raises)."""
        started = time.perf_counter()
        try:
            response = self._handle(message)
        except Exception as exc:  # a bug must not take the watcher down: the CLI falls back
            response = {"ok": False, "reason": f"internal error: {type(exc).__name__}: {exc}"}
        response["served_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return response

    def _handle(self, message: dict[str, Any]) -> dict[str, Any]:
        if message.get("protocol") != PROTOCOL:
            return {"ok": False, "reason": "protocol mismatch"}
        fp = message.get("fingerprint")
        if fp is not None and fp != self.fingerprint:
            return {"ok": False, "reason": "the watcher runs with other settings"}
        op = message.get("op")
        if op == "status":
            status = self.status()
            return {
                "ok": True,
                "stdout": json.dumps(status, indent=2) + "\n",
                "stderr": [],
                "exit": 0,
                "status": status,
                "cache": "none",
            }
        builder = _BUILDERS.get(op) if isinstance(op, str) else None
        raw = message.get("args")
        if builder is None or not isinstance(raw, dict):
            return {"ok": False, "reason": f"unknown request {op!r}"}
        try:
            args = builder(**raw)
        except (KeyError, TypeError, ValueError) as exc:
            return {"ok": False, "reason": f"bad arguments: {exc}"}
        try:
            timeout = float(message.get("timeout") or DEFAULT_TIMEOUT)
        except (TypeError, ValueError):
            timeout = DEFAULT_TIMEOUT
        wait = max(0.0, min(self.wait, timeout / 3))
        deadline = time.monotonic() + wait
        fresh = self.watcher.flush(wait)
        locked = fresh and self.watcher.work_lock.acquire(
            timeout=max(0.0, deadline - time.monotonic())
        )
        try:
            if not locked:
                if self.watcher.generation() < 0:
                    return {"ok": False, "reason": "no index yet"}
                response = self._compute(op, args)
                response["stderr"] = [*response["stderr"], f"agentctx: {BUSY_NOTE}"]
                return {**response, "cache": "miss"}
            key = self._key(op, args)
            cached = self.cache.get(key) if key is not None else None
            if cached is not None:
                return {**cached, "cache": "hit"}
            response = self._compute(op, args)
            if key is not None:
                self.cache.put(key, response)
            return {**response, "cache": "miss"}
        finally:
            if locked:
                self.watcher.work_lock.release()

    def _compute(self, op: str, args: dict[str, Any]) -> dict[str, Any]:
        return compute(self.settings, op, args, refresh=False, embedder=self.watcher.embedder)

    def _key(self, op: str, args: dict[str, Any]) -> Hashable | None:
        """Everything the answer depends on besides code: None means "do not cache"."""
        generation = self.watcher.generation()
        if generation < 0:
            return None
        head = diff = ""
        if self._git:
            from .githead import read_head
            from .gitutil import GitError, run_git

            try:
                head = read_head(self.root)  # from .git's files: no git run per request
                if head is None:
                    proc = run_git(self.root, "rev-parse", "-q", "--verify", "HEAD", check=False)
                    head = proc.stdout.decode().strip()
                if op == "pack_diff":
                    diff = _diff_digest(self.root, args["rev"], args["staged"])
            except GitError:
                return None
        return (op, json.dumps(args, sort_keys=True), generation, head, diff)

    # --------------------------------------------------------------- prefetch
    def prefetch(self) -> None:
        """Compute the default ``pack --diff`` answer now (runs in the watcher's thread)."""
        if not self._git:
            return
        started = time.perf_counter()
        try:
            key = self._key("pack_diff", PREFETCH_ARGS)
            if key is None or key in self.cache:
                return
            response = self._compute("pack_diff", PREFETCH_ARGS)
        except Exception as exc:  # never take the watcher down for an optimization
            self.watcher.reporter.notice(f"prefetch failed: {type(exc).__name__}: {exc}")
            return
        self.cache.put(key, response)
        self.prefetched += 1
        if self.on_prefetch is not None:
            self.on_prefetch(
                {
                    "type": "prefetch",
                    "op": "pack_diff",
                    "exit": response["exit"],
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                    "generation": key[2] if isinstance(key, tuple) else None,
                }
            )

    def status(self) -> dict[str, Any]:
        return {
            **self.watcher.status(),
            "pid": os.getpid(),
            "socket": self.socket_path,
            "cache": {**self.cache.stats(), "prefetched": self.prefetched},
        }


def _diff_digest(root: Path, rev: str | None, staged: bool) -> str:
    """A digest of the change ``pack_diff`` would describe (patch and untracked files)."""
    from .gitutil import run_git

    h = hashlib.sha256()
    args = ["diff", "--no-ext-diff", "--no-color", "--no-renames", "--binary", "-U0"]
    args += ["--cached"] if staged else [rev or "HEAD"]
    proc = run_git(root, *args, "--", ".", check=False)
    h.update(proc.stdout + b"\0" + proc.stderr + b"\0")
    if not staged:
        others = run_git(
            root, "ls-files", "--others", "--exclude-standard", "-z", "--", ".", check=False
        )
        h.update(others.stdout)
    return h.hexdigest()


def _peer_is_us(conn: socket.socket) -> bool:
    """Linux: the connecting process runs as this user (the socket mode says so too)."""
    if not sys.platform.startswith("linux") or not hasattr(socket, "SO_PEERCRED"):
        return True
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()
