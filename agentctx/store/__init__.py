"""Persistent state under ``.agentctx/``.

- ``index.db`` (SQLite, WAL): the source of truth. File manifest, symbol metadata,
  the lexical index (FTS5 over split identifiers) and the vectors as blobs. Every
  change is one transaction, so a crash never leaves a half-written index and an
  interrupted embedding run keeps every batch it committed.
- ``vectors.faiss``: ``IndexIDMap2(IndexFlatIP)`` over the normalized vectors, a
  derived file written atomically (temp + ``os.replace``) and stamped with the
  database generation it mirrors; when stale or unreadable it is rebuilt from the
  blobs.
"""

from .db import (
    FORMAT_VERSION,
    FileRecord,
    IndexStore,
    OutlineColumns,
    StoredChunk,
    decode_refs,
    outline_columns,
)

__all__ = [
    "FORMAT_VERSION",
    "FileRecord",
    "IndexStore",
    "OutlineColumns",
    "StoredChunk",
    "decode_refs",
    "outline_columns",
]
