"""Files agentctx derives into the user cache dir, beside the embedding cache: the numpy
engine's layer layout (``engine/``), the query parser's compiled regular expressions
(``regex/``) and the query tokenizer's vocabulary (``tokenizer/``).

Each is named by what it was made from (a model's contents, an interpreter's version, a
tokenizer file's hash), so virtualenvs share one and a new model or Python gets its own.
Readers mark the file they use (at most once a day); a writer removes the siblings of the
file it wrote that no process has used for ``KEEP_DAYS``: another Python's programs,
another model's layout.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

KEEP_DAYS = 30  # a cache file no process has used for this long is removed
_DAY = 86400


def mark_used(path: Path) -> None:
    """Note that ``path`` is in use (its mtime, at most once a day), so pruning keeps it."""
    with contextlib.suppress(OSError):
        if time.time() - path.stat().st_mtime > _DAY:
            os.utime(path)


def write(path: Path, data: bytes, siblings: str) -> None:
    """Write ``path`` atomically (or not at all: a read-only or full cache costs the next
    process a recomputation only), then prune its ``siblings`` (a glob)."""
    from .store.db import write_derived

    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_derived(path, data)
    prune_siblings(path, siblings)


def prune_siblings(keep: Path, pattern: str, days: float = KEEP_DAYS) -> None:
    """Remove the files beside ``keep`` that match ``pattern`` (a glob) and that no
    process has used for ``days``; ``keep`` itself stays."""
    cutoff = time.time() - days * _DAY
    with contextlib.suppress(OSError):
        for old in keep.parent.glob(pattern):
            with contextlib.suppress(OSError):
                if old != keep and old.stat().st_mtime < cutoff:
                    old.unlink()
