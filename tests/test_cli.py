"""The CLI through typer's CliRunner: exit codes, stdout and stderr asserted separately."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agentctx import __version__
from agentctx.cli import app
from agentctx.errors import ExitCode

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_help_and_version():
    result = invoke("--help")
    assert result.exit_code == 0
    assert "index" in result.stdout
    assert invoke("--version").stdout.strip() == f"agentctx {__version__}"
    result = invoke("index", "--help")
    assert result.exit_code == 0 and "--json" in result.stdout and "--no-embed" in result.stdout


def test_index_summary_then_noop_then_edit(sample_repo: Path):
    first = invoke("index", str(sample_repo), "--embedder", "hash")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.startswith("Indexed ")
    assert "python" in first.stdout and "typescript" in first.stdout and "go" in first.stdout
    assert "Undecodable bytes replaced in 1 file: docs/notes.txt" in first.stdout
    assert "Skipped: 1 binary" in first.stdout

    again = invoke("index", str(sample_repo), "--embedder", "hash")
    assert again.exit_code == 0
    assert again.stdout.startswith("Index up to date: ")
    assert "nothing changed" in again.stdout

    pricing = sample_repo / "src/shop/pricing.py"
    pricing.write_text(pricing.read_text().replace("return round(", "return  round(", 1))
    edit = invoke("index", str(sample_repo), "--embedder", "hash")
    assert edit.exit_code == 0
    line = edit.stdout.splitlines()[0]
    assert line.startswith("1 file changed: ~1 modified (tax_for),")
    assert "re-embedded 1 of " in line


def test_index_json_shape(sample_repo: Path):
    result = invoke("index", str(sample_repo), "--embedder", "hash", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)  # stdout is exactly one JSON object
    assert set(data) >= {
        "files",
        "symbols",
        "chunks",
        "bytes_embedded",
        "bytes_full_refresh",
        "seconds",
    }
    assert set(data["seconds"]) >= {"discover", "parse", "embed", "store", "total"}
    assert data["chunks"]["embedded"] == data["chunks"]["total"] > 0
    assert data["bytes_embedded"] == data["bytes_full_refresh"] > 0
    assert {"path": "src/shop/cart.py", "symbol": "Cart.add_item"} in data["symbols"]["added"]
    assert data["files"]["skipped"]["binary"] == 1


def test_missing_path_is_one_line_error_with_exit_code(tmp_path: Path):
    result = invoke("index", str(tmp_path / "nope"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no such directory" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_config_is_config_error(sample_repo: Path):
    (sample_repo / ".agentctx.toml").write_text("batch_size = -3\n")
    result = invoke("index", str(sample_repo))
    assert result.exit_code == ExitCode.CONFIG
    assert result.stderr.startswith("agentctx: error: 'batch_size' must be positive")


def test_unknown_embedder_is_config_error(sample_repo: Path):
    result = invoke("index", str(sample_repo), "--embedder", "nope")
    assert result.exit_code == ExitCode.CONFIG
    assert "unknown embedder 'nope'" in result.stderr and "hash" in result.stderr


def test_locked_index_exit_code(sample_repo: Path):
    from agentctx.store import IndexStore

    with IndexStore.open(sample_repo / ".agentctx", writer=True):
        result = invoke("index", str(sample_repo), "--embedder", "hash", "--lock-timeout", "0.2")
    assert result.exit_code == ExitCode.INDEX
    assert "another agentctx process" in result.stderr


@pytest.mark.parametrize("flag", ["--profile"])
def test_profile_goes_to_stderr(sample_repo: Path, flag: str):
    result = invoke("index", str(sample_repo), "--embedder", "hash", "--quiet", flag)
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "discover" in result.stderr and "embed" in result.stderr


def test_internal_errors_are_one_line(sample_repo: Path, monkeypatch: pytest.MonkeyPatch):
    import agentctx.pipeline

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(agentctx.pipeline, "build_index", boom)
    monkeypatch.delenv("AGENTCTX_DEBUG", raising=False)
    result = invoke("index", str(sample_repo))
    assert result.exit_code == ExitCode.ERROR
    assert "internal error: RuntimeError: kaboom" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("argv", "needle", "where"),
    [
        (["pack", "x", "--budget", "abc"], "Invalid value for '--budget'", "agentctx pack -h"),
        (["index", "--no-such-flag"], "No such option: --no-such-flag", "agentctx index -h"),
        (["no-such-command"], "No such command 'no-such-command'", "agentctx -h"),
        (["bench", "compare"], "Missing argument 'old'", "agentctx bench compare -h"),
    ],
)
def test_usage_errors_are_one_line(
    argv: list[str], needle: str, where: str, monkeypatch: pytest.MonkeyPatch, capsys
):
    """Through the real entry point (not CliRunner): click's usage block and error panel
    become one `agentctx: error: ...` line, exit 2, nothing on stdout."""
    from agentctx.cli import main

    monkeypatch.setattr("sys.argv", ["agentctx", *argv])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("agentctx: error: ") and needle in err and f"(see '{where}')" in err


def test_entry_point_exit_codes(sample_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    """Help and version exit 0; a command's own exit code comes through unchanged."""
    from agentctx.cli import main

    for argv, code in ((["-h"], 0), (["--version"], 0), (["pack", "x", "-C", "/nonexistent"], 3)):
        monkeypatch.setattr("sys.argv", ["agentctx", *argv])
        with pytest.raises(SystemExit) as exited:
            main()
        assert exited.value.code == code, argv
    out, err = capsys.readouterr()
    assert f"agentctx {__version__}" in out and "Usage" in out
    assert err.count("\n") == 1 and "/nonexistent" in err


def test_query_bytes_that_are_not_utf8_become_replacement_characters(sample_repo: Path):
    """Undecodable bytes of an argument or of stdin (lone surrogates to Python) are read as
    U+FFFD, as a file's are: the tokenizer, SQLite and stdout refused them (exit 1)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    root = str(sample_repo).encode()
    run = [sys.executable.encode(), b"-m", b"agentctx"]
    subprocess.run([*run, b"index", root, b"--quiet"], env=env, check=True)
    bad = b"caf\xe9 total \xff"
    shown = "caf\ufffd total \ufffd"
    for args, stdin in (
        ([b"pack", bad, b"-b", b"800"], None),
        ([b"pack", b"-", b"-b", b"800"], bad),
        ([b"search", bad, b"--json"], None),
    ):
        proc = subprocess.run([*run, *args, b"-C", root], input=stdin, env=env, capture_output=True)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout.decode("utf-8")  # strict: nothing but UTF-8 on stdout
        if args[0] == b"search":
            assert json.loads(out)["query"] == shown
        else:
            assert out.startswith(f"# Context: {shown}\n")


@pytest.mark.parametrize("value", ["5", "-0.1", "nan", "1.5"])
@pytest.mark.parametrize("command", ["pack", "search"])
def test_min_score_outside_0_to_1_is_a_usage_error(sample_repo: Path, command: str, value: str):
    """A threshold relative to the best hit: above 1 it kept nothing and exited 0 with an
    empty answer; below 0 or NaN it meant nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    argv = [sys.executable, "-m", "agentctx", command, "retries", "--min-score", value]
    proc = subprocess.run([*argv, "-C", str(sample_repo)], env=env, capture_output=True, text=True)
    assert proc.returncode == ExitCode.USAGE and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--min-score must be between 0 and 1" in proc.stderr
    ok = subprocess.run(
        [*argv[:-1], "1", "-C", str(sample_repo)], env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stderr


def test_a_repository_under_a_directory_not_named_in_utf8(tmp_path: Path):
    """faiss takes a path as UTF-8 only: a repository below a directory named in another
    encoding could not save its vectors (internal error). Its summary's JSON is UTF-8."""
    import os
    import subprocess
    import sys

    root = os.path.join(os.fsencode(tmp_path), b"r\xe9po")
    os.mkdir(root)
    with open(os.path.join(root, b"alpha.py"), "w") as f:
        f.write("def alpha():\n    return 1\n")
    env = {**os.environ, "AGENTCTX_EMBEDDER": "hash"}
    run = [sys.executable, "-m", "agentctx"]
    index = subprocess.run([*run, "index", "--json"], cwd=root, env=env, capture_output=True)
    assert index.returncode == 0, index.stderr
    assert json.loads(index.stdout.decode("utf-8"))["root"].endswith("r\ufffdpo")
    assert os.path.exists(os.path.join(root, b".agentctx", b"vectors.faiss"))
    found = subprocess.run(
        [*run, "search", "alpha", "--json"], cwd=root, env=env, capture_output=True
    )
    assert found.returncode == 0, found.stderr
    assert json.loads(found.stdout)["results"][0]["symbol"] == "alpha"
