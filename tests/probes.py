"""Helpers that observe agentctx from outside the process under test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOOP_PROBE = r"""
import builtins, io, json, os, sys
from pathlib import Path
root = Path(sys.argv[1]).resolve()
index_dir = root / ".agentctx"
real_open, real_io_open, real_os_open = builtins.open, io.open, os.open
reads = []
def guard(path):
    p = Path(os.fsdecode(path)) if isinstance(path, (str, bytes, os.PathLike)) else None
    if p is not None:
        p = (Path.cwd() / p) if not p.is_absolute() else p
        config = (".gitignore", ".agentctxignore", "exclude", "pyproject.toml", ".agentctx.toml")
        inside = root in p.parents and index_dir not in p.parents and p != index_dir
        inside = inside and (root / ".git") not in p.parents  # git's own files (HEAD) are fine
        if inside and p.name not in config:
            reads.append(str(p))
def g_open(file, *a, **k):
    guard(file); return real_open(file, *a, **k)
def g_os_open(path, *a, **k):
    guard(path); return real_os_open(path, *a, **k)
builtins.open = g_open; io.open = g_open; os.open = g_os_open
from agentctx.config import load_settings
from agentctx.pipeline import build_index
r = build_index(load_settings(root))
print(json.dumps({"reads": reads, "torch": "torch" in sys.modules,
                  "st": "sentence_transformers" in sys.modules, "numpy": "numpy" in sys.modules,
                  "faiss": "faiss" in sys.modules, "read": r.files_read, "changed": r.changed}))
"""


def noop_probe(root: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", NOOP_PROBE, str(root)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


STAGED_PROBE = (
    NOOP_PROBE.split("from agentctx.config import load_settings")[0]
    + r"""
from agentctx.entry import main
sys.argv = ["agentctx", "index", "--staged", "--quiet", str(root)]
main()  # the entry point's fast lane: nothing relevant staged means no CLI at all
cli, typer = "agentctx.cli" in sys.modules, "typer" in sys.modules
from agentctx.config import load_settings
from agentctx.pipeline import build_index
r = build_index(load_settings(root), staged=True)
print(json.dumps({"reads": reads, "torch": "torch" in sys.modules,
                  "st": "sentence_transformers" in sys.modules, "faiss": "faiss" in sys.modules,
                  "cli": cli, "typer": typer, "staged": r.staged, "changed": r.changed}))
"""
)


def staged_probe(root: Path) -> dict:
    """``index --staged`` (entry point, then pipeline) in a child, watching opens and imports."""
    out = subprocess.run(
        [sys.executable, "-c", STAGED_PROBE, str(root)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])
