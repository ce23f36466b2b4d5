"""``bench hook``: commit latency with and without the hook, on a scratch clone."""

from __future__ import annotations

from pathlib import Path

from conftest import assert_brief_scenario
from typer.testing import CliRunner

from agentctx.bench.hook import HookBenchConfig, run_hook_bench
from agentctx.cli import app
from agentctx.errors import ExitCode


def test_report_shape_and_the_original_is_untouched(sample_repo: Path):
    head = (sample_repo / ".git" / "HEAD").read_text()
    report = run_hook_bench(HookBenchConfig(root=sample_repo, n=2, embedder="hash"))
    names = [s["name"] for s in report["benchmark_scenarios"]]
    assert names == ["commit_without_hook", "commit_hook_nothing_relevant", "commit_hook_one_file"]
    for s in report["benchmark_scenarios"]:
        assert_brief_scenario(s)
        assert s["key_metrics"]["runs"] == 2
    one = report["benchmark_scenarios"][2]["key_metrics"]
    assert one["staged"].startswith("one function edited in ") and one["pending_after"] == 0
    assert "added_p50_s" in one and "added_p95_s" in one
    assert report["repository"]["symbols"] > 0 and report["environment"]["embedder"] == "hash"
    assert not (sample_repo / ".agentctx").exists()
    assert (sample_repo / ".git" / "HEAD").read_text() == head
    assert not (sample_repo / ".git" / "hooks" / "pre-commit").exists()


def test_cli_outside_git(tmp_path: Path):
    result = CliRunner().invoke(app, ["bench", "hook", str(tmp_path), "-n", "1"])
    assert result.exit_code == ExitCode.NOT_A_REPOSITORY
    assert result.stdout == ""
