from pathlib import Path

import pytest

from agentctx.config import load_settings
from agentctx.errors import ConfigError


def test_defaults(tmp_path: Path):
    s = load_settings(tmp_path)
    assert s.max_file_size == 1_000_000
    assert s.embedder == "minilm"
    assert s.index_dir == tmp_path / ".agentctx"


def test_precedence_pyproject_toml_env_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "pyproject.toml").write_text(
        "[tool.agentctx]\nmax-file-size = 10\nbatch_size = 8\nembedder = 'hash'\n"
    )
    assert load_settings(tmp_path).max_file_size == 10
    (tmp_path / ".agentctx.toml").write_text("max_file_size = 20\n")
    s = load_settings(tmp_path)
    assert (s.max_file_size, s.batch_size, s.embedder) == (20, 8, "hash")
    monkeypatch.setenv("AGENTCTX_MAX_FILE_SIZE", "30")
    assert load_settings(tmp_path).max_file_size == 30
    assert load_settings(tmp_path, {"max_file_size": 40}).max_file_size == 40
    assert load_settings(tmp_path, {"max_file_size": None}).max_file_size == 30


def test_bad_values_are_config_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / ".agentctx.toml").write_text("max_file_size = 'big'\n")
    with pytest.raises(ConfigError, match="max_file_size"):
        load_settings(tmp_path)
    (tmp_path / ".agentctx.toml").write_text("no_such_key = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(tmp_path)
    (tmp_path / ".agentctx.toml").write_text("this is = = not toml\n")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_settings(tmp_path)
    (tmp_path / ".agentctx.toml").unlink()
    monkeypatch.setenv("AGENTCTX_CACHE", "maybe")
    with pytest.raises(ConfigError, match="cache"):
        load_settings(tmp_path)
    monkeypatch.setenv("AGENTCTX_CACHE", "off")
    assert load_settings(tmp_path).cache is False
    with pytest.raises(ConfigError, match="positive"):
        load_settings(tmp_path, {"batch_size": 0})
