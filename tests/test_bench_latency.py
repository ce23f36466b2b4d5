"""``agentctx bench latency`` on the sample repository (hash embedder, few runs)."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path

import pytest
from conftest import assert_brief_scenario
from typer.testing import CliRunner

import agentctx
from agentctx.bench.latency import package_bytecode, percentile
from agentctx.cli import app

BASE = ["bench", "latency", "--embedder", "hash"]
SCENARIOS = [
    "cold_index",
    "noop_reindex",
    "one_edit_reindex",
    "pack_cold_process",
    "pack_in_process",
    "search_cold_process",
    "search_in_process",
]


def test_latency_report(sample_repo: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(sample_repo) for p in sample_repo.rglob("*"))
    queries = tmp_path / "queries.txt"
    queries.write_text("where is the total computed?\n\n# a comment\nhow is stock checked?\n")
    result = CliRunner().invoke(
        app,
        [*BASE, str(sample_repo), "-n", "3", "--queries", str(queries), "--budget", "2000"],
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert set(report) >= {"benchmark_scenarios", "environment", "repository", "peak_rss_mb"}
    scenarios = {s["name"]: s for s in report["benchmark_scenarios"]}
    assert list(scenarios) == SCENARIOS
    for s in scenarios.values():
        assert_brief_scenario(s)
        assert s["accuracy"] is None
    edit = scenarios["one_edit_reindex"]["key_metrics"]
    assert edit["modified_symbols"] == 1
    assert edit["embedded_chunks"] == 1
    for name in ("pack_cold_process", "pack_in_process"):
        usage = scenarios[name]["token_usage"]
        assert usage["budget"] == 2000
        assert 0 < usage["mean_tokens"] <= 2000
    assert scenarios["cold_index"]["token_usage"] is None
    assert scenarios["pack_in_process"]["key_metrics"]["runs"] == 3
    assert report["environment"]["embedder"] == "hash"
    assert report["environment"]["bytecode"] is True
    repo = report["repository"]
    assert repo["files"] > 0 and repo["symbols"] > 0 and repo["chunks"] > 0
    assert repo["index_bytes"] > 0
    assert report["peak_rss_mb"] > 0
    # the original is untouched
    assert not (sample_repo / ".agentctx").exists()
    assert sorted(p.relative_to(sample_repo) for p in sample_repo.rglob("*")) == before


def test_latency_no_cold_writes_out(sample_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "r" / "latency.json"
    result = CliRunner().invoke(
        app,
        [*BASE, str(sample_repo), "-n", "1", "--no-cold", "--out", str(out)],
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    names = [s["name"] for s in json.loads(out.read_text())["benchmark_scenarios"]]
    assert "pack_cold_process" not in names and "search_in_process" in names


def test_latency_bad_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "latency", str(tmp_path / "missing")])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("agentctx: error:")


def test_percentile() -> None:
    assert percentile([3.0], 0.5) == percentile([3.0], 0.95) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.95) == pytest.approx(3.85)


def test_package_bytecode_is_current() -> None:
    """Children time the package as an installed wheel runs it: every module's bytecode
    is there and matches its source (the pyc header's mtime and size), even where
    PYTHONDONTWRITEBYTECODE kept the imports from writing any."""
    assert package_bytecode() is True
    sources = sorted(Path(agentctx.__file__).parent.rglob("*.py"))
    assert len(sources) > 20
    for source in sources:
        pyc = Path(importlib.util.cache_from_source(str(source)))
        header = pyc.read_bytes()[:16]
        assert header[:4] == importlib.util.MAGIC_NUMBER, source
        flags, mtime, size = struct.unpack("<III", header[4:16])
        st = source.stat()
        assert flags == 0 and mtime == int(st.st_mtime) & 0xFFFFFFFF, source
        assert size == st.st_size & 0xFFFFFFFF, source
