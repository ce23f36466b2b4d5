"""Watch mode: the index follows every save.

One watchdog observer covers the tree (inotify, FSEvents...; a polling observer when
the native one is unavailable or out of watches). Events pass through the same ignore
rules as discovery, so ``.git/``, ``.agentctx/`` and ignored paths never start work.
Relevant paths are debounced into batches: a batch starts after a quiet period, or
after a maximum delay under continuous churn, and events that arrive while it runs form
the next one. A ``git checkout`` that rewrites 2,000 files is one or two batches.

A batch is an ordinary ``pipeline.build_index`` with the embedder kept loaded across
batches. Discovery is stat-based (tens of ms on an 80k-line repository), so every
batch reconciles the whole tree with the index: a lost or coalesced event, a file
that vanished before it was read, an editor's write-temp-then-rename save or a
deleted and recreated directory all end in the index a fresh ``agentctx index``
would build.

The watcher never prints: progress goes to a ``Reporter``, finished batches to
listeners (the CLI's status line, the local server's prefetch).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .discover import IgnoreMatcher
from .embed import Embedder, get_embedder
from .errors import AgentctxError, IndexStateError, LockedError
from .pipeline import IndexReport, Interrupted, NullReporter, Reporter, build_index
from .store import IndexStore
from .store.db import DB_NAME
from .textutil import is_utf8

if TYPE_CHECKING:
    import numpy as np
    from watchdog.observers.api import BaseObserver

DEFAULT_DEBOUNCE = 0.25  # seconds of quiet before a batch starts
DEFAULT_MAX_DELAY = 2.0  # under continuous churn, a batch starts at the latest after this
DEFAULT_POLL_INTERVAL = 1.0  # seconds between scans of the polling observer
LOCK_RETRY = 1.0  # seconds between tries while another writer holds the index
BATCH_LOCK_TIMEOUT = 0.5  # how long one batch waits for that writer before retrying later

# Events inside the git directory that change what `pack --diff` answers (a commit,
# a checkout, staging) without touching a file of the tree.
_GIT_STATE = ("HEAD", "index", "packed-refs")
WATCH_LOCK = "watch.lock"  # under .agentctx/: held by the one watcher of a root


class WatcherRunningError(LockedError):
    """Another ``agentctx watch`` already follows this repository."""


def claim_root(index_dir: Path) -> int:
    """Take the one-watcher-per-root lock (an ``flock`` the kernel drops with its holder)."""
    import fcntl

    try:
        index_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(index_dir / WATCH_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise IndexStateError(f"cannot create {index_dir}: {exc.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.read(fd, 32).decode(errors="replace").strip()
        os.close(fd)
        raise WatcherRunningError(
            f"a watcher is already running for {index_dir.parent}"
            + (f" (pid {pid})" if pid.isdigit() else ""),
            hint="stop it first; pack and search are already served by it",
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def release_root(fd: int) -> None:
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
    with contextlib.suppress(OSError):
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Update:
    """One finished batch (number 0 is the catch-up at start)."""

    number: int
    paths: tuple[str, ...]  # the distinct relevant paths whose events formed it (sorted)
    report: IndexReport
    generation: int
    finished: float  # time.time()
    ms: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": "update",
            "batch": self.number,
            "initial": self.number == 0,
            "time": _iso(self.finished),
            "ms": round(self.ms, 1),
            "event_paths": len(self.paths),
            "generation": self.generation,
            **self.report.as_dict(),
        }


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


class SharedEmbedder:
    """One loaded embedder used by the batch thread and the server's request threads.

    Model calls are serialized by a lock; the model (and its numpy or torch engine)
    stays loaded for the life of the watcher.
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self._lock = threading.Lock()

    def prepare(self, total: int) -> None:
        with self._lock:
            prepare = getattr(self.inner, "prepare", None)
            load = getattr(self.inner, "load", None)
            if callable(prepare):
                prepare(total)
            elif callable(load):
                load()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            return self.inner.embed_batch(texts)


class _Stopping(KeyboardInterrupt):
    """Raised inside a batch when the watcher stops: ``build_index`` treats it as Ctrl-C."""


class _BatchReporter:
    """Forwards a batch's progress, and ends the batch at its next step once stopping."""

    def __init__(self, outer: Reporter, stopping: threading.Event) -> None:
        self.outer = outer
        self.stopping = stopping

    def stage(self, name: str, total: int | None = None) -> None:
        if self.stopping.is_set() and name in ("parse", "embed"):
            raise _Stopping
        self.outer.stage(name, total)

    def advance(self, n: int = 1) -> None:
        self.outer.advance(n)
        if self.stopping.is_set():
            raise _Stopping  # parse: nothing is written yet; embed: finished vectors stay

    def notice(self, message: str) -> None:
        self.outer.notice(message)


def _native_observer() -> BaseObserver:
    """The platform's event observer (inotify on Linux); a seam for tests."""
    from watchdog.observers import Observer

    return Observer()


def _observer_name(observer: object) -> str:
    name = type(observer).__name__
    for key, label in (
        ("Inotify", "inotify"),
        ("FSEvents", "fsevents"),
        ("Kqueue", "kqueue"),
        ("Windows", "windows"),
        ("Polling", "polling"),
    ):
        if key in name:
            return label
    return name


@dataclass(slots=True)
class _Queue:
    """Paths waiting for the next batch, and when their events came (monotonic)."""

    paths: set[str] = field(default_factory=set)
    first: float | None = None
    last: float = 0.0
    seq: int = 0  # relevant events seen so far
    git_dirty: bool = False  # git state changed: the prefetched diff may be stale


class Watcher:
    """Keeps ``settings.root``'s index current while running.

    ``start()`` starts the observer and a batch thread whose first batch catches up
    with whatever changed while nobody watched; ``stop()`` ends both, interrupting a
    running batch at its next safe step (nothing half-written: parse results commit in
    one transaction, vectors batch by batch). ``flush()`` waits until every event seen
    so far is in the index, which is what the server does before answering.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        reporter: Reporter | None = None,
        debounce: float = DEFAULT_DEBOUNCE,
        max_delay: float = DEFAULT_MAX_DELAY,
        poll: bool = False,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        lock_retry: float = LOCK_RETRY,
    ) -> None:
        self.settings = settings
        self.root = settings.root
        inner = embedder or get_embedder(settings.embedder, settings.resolved_cache_dir)
        self.embedder = inner if isinstance(inner, SharedEmbedder) else SharedEmbedder(inner)
        self.reporter = reporter or NullReporter()
        self.debounce = debounce
        self.max_delay = max(max_delay, debounce)
        self.poll = poll
        self.poll_interval = poll_interval
        self.lock_retry = lock_retry
        self.matcher = IgnoreMatcher(settings.root)
        # Held by a batch and by a server answer: they never overlap (one loaded model,
        # and an answer labelled with a generation really is that generation's).
        self.work_lock = threading.RLock()
        self.observer_kind = ""
        self.observer_note: str | None = None  # why the native observer is not used
        self.batches = 0  # finished batches, catch-up included
        self.last_update: Update | None = None
        self.stage: tuple[str, int | None, int] | None = None  # running batch: name, total, done
        self.fatal: BaseException | None = None  # an unexpected error ended the batch thread
        self.stopped_note: str | None = None  # what a stop left undone, for the CLI
        self._listeners: list[Callable[[Update], None]] = []
        self._idle_hooks: list[Callable[[], None]] = []
        self._queue = _Queue()
        self._cond = threading.Condition()
        self._done_seq = -1  # events up to this seq are in the index (-1: catch-up pending)
        self._busy = False
        self._retry_at: float | None = None
        self._urgent = False  # a request is waiting: skip the debounce
        self._locked_notice = False
        self._stopping = threading.Event()
        self._finished = threading.Event()
        self._observer: BaseObserver | None = None
        self._thread: threading.Thread | None = None
        self._claim: int | None = None
        # Commits and checkouts show in .git/ when it is a directory under the root; a
        # linked worktree's git directory lies outside the watched tree.
        self._git_in_tree = (settings.root / ".git").is_dir()

    # ----------------------------------------------------------------- lifecycle
    def add_listener(self, fn: Callable[[Update], None]) -> None:
        """``fn(update)`` runs in the batch thread after each batch."""
        self._listeners.append(fn)

    def add_idle_hook(self, fn: Callable[[], None]) -> None:
        """``fn()`` runs in the batch thread, holding the work lock, when a batch left
        nothing pending or git state changed (prefetch goes here)."""
        self._idle_hooks.append(fn)

    def claim(self) -> None:
        """Become the root's one watcher (WatcherRunningError if another one is)."""
        if self._claim is None:
            self._claim = claim_root(self.settings.index_dir)

    def start(self) -> None:
        """Claim the root, start the observer, then the batch thread (catch-up first)."""
        self.claim()
        assert self._claim is not None
        try:
            self._observer = self._start_observer()
        except BaseException:
            release_root(self._claim)
            self._claim = None
            raise
        self._thread = threading.Thread(target=self._run, name="agentctx-watch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop watching; a running batch ends at its next safe step, a queued one is dropped."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._observer is not None:
            with contextlib.suppress(Exception):
                self._observer.stop()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._observer is not None:
            with contextlib.suppress(Exception):
                self._observer.join(timeout=2.0)
        if self._claim is not None and (self._thread is None or not self._thread.is_alive()):
            release_root(self._claim)
            self._claim = None
        with self._cond:
            left = len(self._queue.paths)
        if left and self.stopped_note is None:
            self.stopped_note = (
                f"{left} changed path{'s' if left != 1 else ''} not indexed yet "
                "(the next `agentctx index` or `pack` picks them up)"
            )

    def wait(self, timeout: float | None = None) -> bool:
        """True once the batch thread has ended (stopped, or a fatal error)."""
        return self._finished.wait(timeout)

    def __enter__(self) -> Watcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --------------------------------------------------------------- observing
    def _start_observer(self) -> BaseObserver:
        from watchdog.observers.polling import PollingObserverVFS

        handler = _Handler(self)
        if not self.poll:
            observer: BaseObserver | None = None
            try:
                observer = _native_observer()
                if _observer_name(observer) == "polling":
                    raise OSError("no native file-event API on this system")
                observer.schedule(handler, str(self.root), recursive=True)
                observer.start()
            except OSError as exc:
                reason = exc.strerror or str(exc)
                self.observer_note = f"file events unavailable ({reason}); polling instead"
                self.reporter.notice(
                    f"{self.observer_note} every {self.poll_interval:g}s "
                    "(raise fs.inotify.max_user_watches to get events)"
                )
                if observer is not None:
                    with contextlib.suppress(Exception):
                        observer.stop()
            else:
                self.observer_kind = _observer_name(observer)
                return observer
        polling = PollingObserverVFS(os.lstat, self._listdir, polling_interval=self.poll_interval)  # type: ignore[arg-type]
        polling.schedule(handler, str(self.root), recursive=True)
        polling.start()
        self.observer_kind = "polling"
        return polling

    def _listdir(self, path: str) -> list[os.DirEntry[str]]:
        """The polling observer's scandir: never enters ignored directories, .git or .agentctx."""
        rel = self._rel(path)
        prefix = "" if not rel else rel + "/"
        with os.scandir(path) as it:
            entries = list(it)
        out = []
        for e in entries:
            with contextlib.suppress(OSError):
                if e.is_dir(follow_symlinks=False) and self.matcher.ignored(prefix + e.name, True):
                    continue
            out.append(e)
        return out

    def _rel(self, path: str | bytes) -> str | None:
        """Root-relative POSIX path; '' for the root; None outside it."""
        p = os.fsdecode(path)
        root = str(self.root)
        if p == root:
            return ""
        if not p.startswith(root + os.sep):
            return None
        rel = p[len(root) + 1 :]
        # a name below the root that is not UTF-8 is never indexed (discover skips it); the
        # root's own name may be anything
        if not is_utf8(rel):
            return None
        return rel.replace(os.sep, "/")

    def observe(self, paths: Sequence[str | bytes], is_dir: bool) -> None:
        """Take in one file-system event's paths (the observer calls this)."""
        relevant: list[str] = []
        git_state = False
        for raw in paths:
            if not raw:
                continue
            rel = self._rel(raw)
            if rel is None:
                continue
            if rel == "" or rel == ".agentctx" or rel.startswith(".agentctx/"):
                continue
            if rel == ".git" or rel.startswith(".git/"):
                if rel == ".git/info/exclude":  # the rules changed: reconcile
                    self.matcher.invalidate()
                    relevant.append(rel)
                else:
                    git_state |= self._git_in_tree and (
                        rel[5:] in _GIT_STATE or rel.startswith(".git/refs/heads/")
                    )
                continue
            if self.matcher.is_ignore_file(rel):
                self.matcher.invalidate()
                relevant.append(rel)
            elif not self.matcher.ignored(rel, is_dir):
                relevant.append(rel)
        if not relevant and not git_state:
            return
        now = time.monotonic()
        with self._cond:
            q = self._queue
            if relevant:
                q.paths.update(relevant)
                q.seq += 1
            q.git_dirty |= git_state
            if q.first is None:
                q.first = now
            q.last = now
            self._cond.notify_all()

    # ------------------------------------------------------------------- status
    def status(self) -> dict[str, Any]:
        with self._cond:
            pending = len(self._queue.paths)
            busy = self._busy
            retry = self._retry_at is not None
        queued = 0
        if self._observer is not None:
            with contextlib.suppress(Exception):
                queued = self._observer.event_queue.qsize()
        last = self.last_update
        if busy:
            state = "catching up" if last is None else "updating"
        elif retry:
            state = "waiting for another writer"
        else:
            state = "starting" if last is None else "idle"
        return {
            "root": str(self.root),
            "observer": self.observer_kind,
            "observer_note": self.observer_note,
            "state": state,
            "stage": self.stage,
            "pending": pending,
            "queue": queued,
            "batches": self.batches,
            "last_update": None
            if last is None
            else {
                "batch": last.number,
                "time": _iso(last.finished),
                "ms": round(last.ms, 1),
                "files": len(last.report.files_added)
                + len(last.report.files_modified)
                + len(last.report.files_removed),
                "symbols": len(last.report.symbols_added)
                + len(last.report.symbols_modified)
                + len(last.report.symbols_removed),
                "generation": last.generation,
            },
            "embedder": self.embedder.model_id,
        }

    def flush(self, timeout: float) -> bool:
        """Wait until every relevant event seen so far is in the index (False: timed out).

        A batch waiting out its debounce starts at once.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._queue.seq
            # Queued events not yet taken start now. (Set with an empty queue, it would
            # make a later save, and the burst after it, skip the debounce.)
            if self._queue.paths or self._queue.git_dirty:
                self._urgent = True
                self._cond.notify_all()
            while self._done_seq < target:
                if self._finished.is_set():
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    # ----------------------------------------------------------------- batches
    def _due_in(self) -> float | None:
        """Seconds until the queued batch should start (0: now); None when nothing is queued."""
        q = self._queue
        if not q.paths and not q.git_dirty and self._retry_at is None:
            return None
        now = time.monotonic()
        if self._retry_at is not None:
            return max(0.0, self._retry_at - now)
        if self._urgent:
            return 0.0
        first = q.first if q.first is not None else now
        due = min(q.last + self.debounce, first + self.max_delay)
        return max(0.0, due - now)

    def _run(self) -> None:
        try:
            self._batch((), number=0, target=0)
            self._idle()
            while not self._stopping.is_set():
                with self._cond:
                    while not self._stopping.is_set():
                        due = self._due_in()
                        if due == 0.0:
                            break
                        self._cond.wait(due)
                    if self._stopping.is_set():
                        break
                    q = self._queue
                    paths = tuple(sorted(q.paths))
                    git_only = not paths and self._retry_at is None
                    target = q.seq
                    self._queue = _Queue(seq=q.seq)
                    self._retry_at = None
                    self._urgent = False
                # A commit or checkout changes no file we were told about, yet the hook
                # may have indexed staged blobs: a reconcile puts the working tree back.
                self._batch(paths, number=self.batches, target=target, quiet=git_only)
                self._idle()
        except BaseException as exc:  # the catch-up failed, or a bug: the CLI reports it
            self.fatal = exc
        finally:
            self._finished.set()
            with self._cond:
                self._cond.notify_all()

    def _batch(
        self, paths: tuple[str, ...], *, number: int, target: int, quiet: bool = False
    ) -> None:
        """One ``build_index``; ``quiet``: not reported unless it changed something."""
        with self.work_lock:
            with self._cond:
                self._busy = True
            started = time.perf_counter()
            report: IndexReport | None = None
            handled = True  # events up to ``target`` are dealt with (indexed or given up on)
            try:
                report = build_index(
                    replace(self.settings, lock_timeout=BATCH_LOCK_TIMEOUT),
                    reporter=_BatchReporter(_StageTracker(self), self._stopping),
                    embedder=self.embedder,
                )
            except LockedError:
                handled = False
                self._requeue(paths)
            except Interrupted as exc:  # stopped while embedding: finished vectors are kept
                handled = False
                self.stopped_note = exc.message
            except _Stopping:
                handled = False
                if self.stage is not None and self.stage[0] in ("discover", "parse"):
                    self.stopped_note = "stopped before the running update was written"
                else:  # between the parse commit and the first vector
                    self.stopped_note = (
                        "stopped before embedding: symbols are indexed, vectors pending "
                        "(the next `agentctx index` adds them)"
                    )
            except AgentctxError as exc:
                if number == 0:
                    raise  # the catch-up cannot be done (model missing...): nothing will work
                self.reporter.notice(f"update failed: {exc.message}; retrying on the next change")
            finally:
                self.stage = None
                update = None
                if report is not None and not (quiet and not report.changed):
                    self._locked_notice = False
                    update = Update(
                        number=number,
                        paths=paths,
                        report=report,
                        generation=self.generation(),
                        finished=time.time(),
                        ms=(time.perf_counter() - started) * 1000,
                    )
                    self.batches += 1
                    self.last_update = update
                with self._cond:
                    self._busy = False
                    if handled:
                        self._done_seq = max(self._done_seq, target)
                    self._cond.notify_all()
        if update is None:
            return
        for fn in self._listeners:
            fn(update)

    def _requeue(self, paths: tuple[str, ...]) -> None:
        """Another writer holds the index: keep the batch and try again shortly."""
        if not self._locked_notice:
            self._locked_notice = True
            self.reporter.notice("index locked by another agentctx process; retrying")
        with self._cond:
            self._queue.paths.update(paths)
            self._retry_at = time.monotonic() + self.lock_retry

    def _idle(self) -> None:
        """After a batch: run the idle hooks unless more work is already queued."""
        if not self._idle_hooks or self._stopping.is_set():
            return
        with self._cond:
            if self._queue.paths or self._retry_at is not None:
                return
        with self.work_lock:
            for fn in self._idle_hooks:
                fn()

    def generation(self) -> int:
        """The index's generation now (-1 when there is no index yet)."""
        if not (self.settings.index_dir / DB_NAME).exists():
            return -1
        try:
            with IndexStore.open(self.settings.index_dir, writer=False) as store:
                return store.generation()
        except AgentctxError:
            return -1


class _StageTracker:
    """Records the running batch's stage for the status line, then forwards to the reporter."""

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def stage(self, name: str, total: int | None = None) -> None:
        self.watcher.stage = (name, total, 0)
        self.watcher.reporter.stage(name, total)

    def advance(self, n: int = 1) -> None:
        cur = self.watcher.stage
        if cur is not None:
            self.watcher.stage = (cur[0], cur[1], cur[2] + n)
        self.watcher.reporter.advance(n)

    def notice(self, message: str) -> None:
        self.watcher.reporter.notice(message)


class _Handler:
    """watchdog's handler interface (``dispatch``), reduced to paths and a directory flag."""

    _SKIP = frozenset({"opened", "closed_no_write"})

    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def dispatch(self, event: Any) -> None:
        kind = event.event_type
        if kind in self._SKIP or (kind == "modified" and event.is_directory):
            return
        self.watcher.observe((event.src_path, event.dest_path), event.is_directory)
