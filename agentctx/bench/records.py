"""Per-instance results files (JSONL, one record a line), shared by runs and comparisons.

Light on purpose: ``bench compare`` reads them without importing the pipeline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def read_records(path: Path) -> dict[str, dict[str, Any]]:
    """Records of a results file by instance id (the last line of an id wins)."""
    out: dict[str, dict[str, Any]] = {}
    if not path.is_file():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short by an interrupted run
        if isinstance(rec, dict) and "id" in rec:
            out[str(rec["id"])] = rec
    return out
