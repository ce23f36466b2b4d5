"""``agentctx bench watch`` on the sample repository (hash embedder, one run each)."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import assert_brief_scenario
from typer.testing import CliRunner

from agentctx.cli import app

SCENARIOS = [
    "watch_save_to_indexed",
    "pack_diff_served_hit_process",
    "pack_diff_served_miss_process",
    "pack_diff_cold_process",
    "pack_diff_served_hit_socket",
    "pack_diff_served_miss_socket",
    "pack_query_served_process",
    "pack_query_cold_process",
    "pack_query_served_miss_socket",
]


def test_watch_report(sample_repo: Path, tmp_path: Path) -> None:
    before = sorted(p.relative_to(sample_repo) for p in sample_repo.rglob("*"))
    out = tmp_path / "watch.json"
    args = ["bench", "watch", str(sample_repo), "-n", "1", "--embedder", "hash", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)
    report = json.loads(out.read_text())
    scenarios = {s["name"]: s for s in report["benchmark_scenarios"]}
    assert list(scenarios) == SCENARIOS
    for s in scenarios.values():
        assert_brief_scenario(s)
    save = scenarios["watch_save_to_indexed"]["key_metrics"]
    assert save["observer"] != "polling" and save["file"].endswith(".py")
    assert scenarios["pack_diff_served_hit_process"]["key_metrics"]["identical_to_cold"]
    assert report["watcher"]["exit_code"] == 130
    assert report["watcher"]["cache"]["hits"] >= 2  # the process and the socket hit
    # the original is untouched
    assert not (sample_repo / ".agentctx").exists()
    assert sorted(p.relative_to(sample_repo) for p in sample_repo.rglob("*")) == before
