"""``agentctx bench compare`` and ``pack``/``search --profile`` through the CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agentctx.cli import app
from agentctx.config import load_settings
from agentctx.errors import ExitCode
from agentctx.pipeline import build_index

runner = CliRunner()


def _budget(recall: float, p95: float) -> dict[str, Any]:
    return {
        "n": 10,
        "file_recall": recall,
        "func_full": 0.5,
        "func_any": 0.6,
        "func_full_n": 10,
        "acc@1": 0.4,
        "acc@3": 0.6,
        "acc@5": 0.7,
        "mean_tokens": 3900.0,
        "p50_ms": 200.0,
        "p95_ms": p95,
    }


def _summary(name: str, recall: float = 0.8, p95: float = 500.0) -> dict[str, Any]:
    return {
        name: {
            "name": name,
            "budgets": [4000, 8000],
            "overall": {"4000": _budget(recall, p95), "8000": _budget(recall, p95)},
        }
    }


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return _write(tmp_path / "old.json", _summary("swebench-agentctx-lite"))


def test_no_regression_exits_0_with_a_table(tmp_path: Path, base: Path):
    new = _write(tmp_path / "new.json", _summary("swebench-agentctx-lite", 0.795, 550.0))
    result = runner.invoke(app, ["bench", "compare", str(base), str(new)])
    assert result.exit_code == 0, result.stderr
    assert "file recall" in result.stdout and "p95 pack ms" in result.stdout
    assert "-0.5 pp" in result.stdout and "+10.0%" in result.stdout
    assert result.stderr == ""


def test_regression_exits_8_and_names_the_metric(tmp_path: Path, base: Path):
    new = _write(tmp_path / "new.json", _summary("swebench-agentctx-lite", 0.75, 700.0))
    result = runner.invoke(app, ["bench", "compare", str(base), str(new)])
    assert result.exit_code == ExitCode.REGRESSION == 8
    lines = result.stderr.splitlines()
    assert len(lines) == 4  # two metrics at two budgets
    assert any("file recall" in line and "@4000" in line for line in lines)
    assert any("p95 pack ms" in line for line in lines)
    assert "regression" not in result.stdout


def test_thresholds_are_flags(tmp_path: Path, base: Path):
    new = _write(tmp_path / "new.json", _summary("swebench-agentctx-lite", 0.75, 700.0))
    args = ["bench", "compare", str(base), str(new)]
    loose = runner.invoke(app, [*args, "--max-quality-drop", "0.1", "--max-latency-growth", "0.5"])
    assert loose.exit_code == 0, loose.stderr


def test_single_runs_with_different_names_are_paired(tmp_path: Path, base: Path):
    new = _write(tmp_path / "new.json", _summary("swebench-bm25-file-lite"))
    result = runner.invoke(app, ["bench", "compare", str(base), str(new), "--json"])
    assert result.exit_code == 0, result.stderr
    (run,) = json.loads(result.stdout)["runs"]
    assert (run["old_run"], run["new_run"]) == ("swebench-agentctx-lite", "swebench-bm25-file-lite")


def test_json_shape(tmp_path: Path, base: Path):
    data = _summary("swebench-agentctx-lite", 0.7)
    data["other-run"] = copy.deepcopy(data["swebench-agentctx-lite"])  # only in new: ignored
    new = _write(tmp_path / "new.json", data)
    result = runner.invoke(app, ["bench", "compare", str(base), str(new), "--json"])
    assert result.exit_code == ExitCode.REGRESSION
    out = json.loads(result.stdout)
    assert out["ok"] is False and out["max_quality_drop"] == 0.01
    assert [r["old_run"] for r in out["runs"]] == ["swebench-agentctx-lite"]
    budgets = out["runs"][0]["budgets"]
    assert [b["budget"] for b in budgets] == [4000, 8000]
    recall = next(m for m in budgets[0]["metrics"] if m["metric"] == "file_recall")
    assert recall["regression"] is True and recall["delta"] == pytest.approx(-10.0)
    assert set(recall) == {
        *("metric", "label", "kind", "old", "new", "delta", "regression"),
        *("up", "down", "p_value", "went_up", "went_down"),  # per instance: none found here
    }
    assert (recall["up"], recall["down"], recall["p_value"]) == (None, None, None)
    assert recall["went_up"] == recall["went_down"] == []
    assert out["runs"][0]["paired"] is None and out["alpha"] is None
    assert len(out["regressions"]) == 2 and len(result.stderr.splitlines()) == 2


@pytest.mark.parametrize(
    ("content", "code", "needle"),
    [
        (None, ExitCode.NOT_FOUND, "no such file"),
        ("{not json", ExitCode.USAGE, "not valid JSON"),
        ('{"a": 1}', ExitCode.USAGE, "no benchmark runs"),
        ("[]", ExitCode.USAGE, "no benchmark runs"),
    ],
)
def test_bad_file_is_one_line(tmp_path: Path, base: Path, content, code, needle):
    bad = tmp_path / "bad.json"
    if content is not None:
        bad.write_text(content)
    result = runner.invoke(app, ["bench", "compare", str(base), str(bad)])
    assert result.exit_code == code
    assert needle in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_no_common_run_is_a_usage_error(tmp_path: Path, base: Path):
    two = {**_summary("a"), **_summary("b")}
    new = _write(tmp_path / "new.json", two)
    result = runner.invoke(app, ["bench", "compare", str(base), str(new)])
    assert result.exit_code == ExitCode.USAGE and "no run in common" in result.stderr


RUN = "swebench-agentctx-lite"


def _run_dir(tmp_path: Path, name: str, hits: list[int], recall: list[float]) -> Path:
    """A bench output dir: summary.json plus the run's per-instance JSONL (as bench writes)."""
    out = tmp_path / name
    out.mkdir()
    lines = [
        json.dumps(
            {
                "id": f"repo__x-{i}",
                "acc": {"1": hit, "3": 1, "5": 1},
                "budgets": {"4000": {"file_recall": r}, "8000": {"file_recall": 1.0}},
            }
        )
        for i, (hit, r) in enumerate(zip(hits, recall, strict=True))
    ]
    lines.append('{"id": "repo__x-cut", "acc": {"1"')  # a line an interrupted run cut short
    (out / f"{RUN}.jsonl").write_text("\n".join(lines) + "\n")
    summary = _summary(RUN, sum(recall) / len(recall))
    for budget in summary[RUN]["overall"].values():
        budget["acc@1"] = sum(hits) / len(hits)
    return _write(out / "summary.json", summary)


def test_instance_by_instance_moves_and_p_values(tmp_path: Path):
    n = 40
    old = _run_dir(tmp_path, "old", [1] * 28 + [0] * 12, [1.0] * n)
    # one instance down at Acc@1 (2.5 points, past the 1-point gate), recall: 6 down, none up
    new = _run_dir(tmp_path, "new", [1] * 27 + [0] * 13, [1.0] * 34 + [0.5] * 6)
    result = runner.invoke(app, ["bench", "compare", str(old), str(new), "--json"])
    assert result.exit_code == ExitCode.REGRESSION
    out = json.loads(result.stdout)
    (run,) = out["runs"]
    assert run["paired"] == n  # the cut line is skipped, not an error
    at4k = {m["metric"]: m for m in run["budgets"][0]["metrics"]}
    assert (at4k["acc@1"]["up"], at4k["acc@1"]["down"]) == (0, 1)
    assert at4k["acc@1"]["went_down"] == ["repo__x-27"] and at4k["acc@1"]["went_up"] == []
    assert at4k["acc@1"]["p_value"] == 1.0  # one instance of forty: a coin flip
    assert (at4k["file_recall"]["up"], at4k["file_recall"]["down"]) == (0, 6)
    assert at4k["file_recall"]["p_value"] == pytest.approx(2 / 64)
    assert at4k["p50_ms"]["p_value"] is None  # latency is not paired
    assert any("0 up, 1 down, p=1" in line for line in result.stderr.splitlines())

    table = runner.invoke(app, ["bench", "compare", str(old), str(new)])
    assert "up/down" in table.stdout and "+0 / -6" in table.stdout and "0.0312" in table.stdout
    # which instances moved at Acc@k, once (not per budget)
    assert table.stdout.count("Acc@1: up -; down repo__x-27") == 1

    # --alpha: a drop is a regression only where the paired test says it is unlikely noise
    gated = runner.invoke(app, ["bench", "compare", str(old), str(new), "--alpha", "0.05"])
    assert gated.exit_code == ExitCode.REGRESSION
    flagged = gated.stderr.splitlines()
    assert len(flagged) == 1 and "file recall" in flagged[0] and "@4000" in flagged[0]
    assert "p=0.0312" in flagged[0]
    strict = runner.invoke(app, ["bench", "compare", str(old), str(new), "--alpha", "0.01"])
    assert strict.exit_code == 0, strict.stderr


def test_alpha_needs_the_per_instance_results(tmp_path: Path, base: Path):
    other = _run_dir(tmp_path, "new", [1, 0], [1.0, 1.0])
    result = runner.invoke(app, ["bench", "compare", str(base), str(other), "--alpha", "0.05"])
    assert result.exit_code == ExitCode.USAGE
    assert "per-instance" in result.stderr and "old.jsonl" not in result.stderr
    assert f"{RUN}.jsonl" in result.stderr and result.stderr.count("\n") <= 2
    bad = runner.invoke(app, ["bench", "compare", str(other), str(other), "--alpha", "2"])
    assert bad.exit_code == ExitCode.USAGE and "--alpha" in bad.stderr


@pytest.fixture
def indexed_hash(sample_repo: Path) -> Path:
    (sample_repo / ".agentctx.toml").write_text('embedder = "hash"\n')
    build_index(load_settings(sample_repo))
    return sample_repo


def test_pack_profile_goes_to_stderr(indexed_hash: Path):
    args = ["pack", "how is sales tax computed?", "-C", str(indexed_hash), "--budget", "2000"]
    plain = runner.invoke(app, args)
    profiled = runner.invoke(app, [*args, "--profile"])
    assert plain.exit_code == profiled.exit_code == 0, profiled.stderr
    assert profiled.stdout == plain.stdout
    assert "--profile" not in profiled.stdout and "hits ranked" not in profiled.stdout
    for needle in ("pack profile", "fit", "total", "hits ranked", "tokens used"):
        assert needle in profiled.stderr
    assert "of 2,000" in profiled.stderr


def test_search_profile_goes_to_stderr(indexed_hash: Path):
    args = ["search", "sales tax", "-C", str(indexed_hash)]
    plain = runner.invoke(app, args)
    profiled = runner.invoke(app, [*args, "--profile"])
    assert plain.exit_code == profiled.exit_code == 0, profiled.stderr
    assert profiled.stdout == plain.stdout and plain.stdout.strip()
    assert "search profile" in profiled.stderr and "hits ranked" in profiled.stderr
    assert "search profile" not in plain.stderr
