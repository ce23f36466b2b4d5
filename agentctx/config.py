"""Settings: one ``load_settings()`` with a documented precedence.

defaults < ``[tool.agentctx]`` in pyproject.toml < ``.agentctx.toml`` < ``AGENTCTX_*`` env < flags.

Stages never read settings on their own: the pipeline passes them what they need.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from .errors import ConfigError

INDEX_DIR_NAME = ".agentctx"
CONFIG_FILE_NAME = ".agentctx.toml"
ENV_PREFIX = "AGENTCTX_"


def default_cache_dir() -> Path:
    """The user cache dir (embedding cache shared by every repository of this user)."""
    env = os.environ.get("AGENTCTX_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("agentctx", appauthor=False))


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a run may be configured with. Field names are the config keys."""

    root: Path
    max_file_size: int = 1_000_000  # bytes; larger files are skipped
    embedder: str = "minilm"  # registry name of the embedding backend
    batch_size: int = 64  # chunks per embedding batch (one progress step, one commit)
    embed_max_chars: int = 1200  # cap on embedded text; the model truncates at 256 tokens
    cache: bool = True  # use the user-level embedding cache (diskcache)
    cache_dir: Path | None = None  # None: platform user cache dir
    lock_timeout: float = 30.0  # seconds to wait for another writer
    history_commits: int = 5000  # newest git commits read into file histories (0: none)

    @property
    def index_dir(self) -> Path:
        return self.root / INDEX_DIR_NAME

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else default_cache_dir()


_FIELD_TYPES: dict[str, type] = {
    "max_file_size": int,
    "embedder": str,
    "batch_size": int,
    "embed_max_chars": int,
    "cache": bool,
    "cache_dir": Path,
    "lock_timeout": float,
    "history_commits": int,
}


_ZERO_ALLOWED = frozenset({"history_commits"})  # 0 turns the feature off


def _coerce(key: str, value: Any, source: str) -> Any:
    kind = _FIELD_TYPES.get(key)
    if kind is None:
        known = ", ".join(sorted(_FIELD_TYPES))
        raise ConfigError(f"unknown setting {key!r} in {source}", hint=f"known settings: {known}")
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if kind is Path:
            return Path(str(value)).expanduser()
        if kind is int and isinstance(value, bool):
            raise ValueError(value)
        result = (
            int(value.replace("_", "")) if kind is int and isinstance(value, str) else kind(value)
        )
    except (TypeError, ValueError):
        raise ConfigError(
            f"invalid value {value!r} for {key!r} in {source}", hint=f"expected {kind.__name__}"
        ) from None
    if kind in (int, float) and (result < 0 if key in _ZERO_ALLOWED else result <= 0):
        qualifier = "0 or more" if key in _ZERO_ALLOWED else "positive"
        raise ConfigError(f"{key!r} must be {qualifier} in {source}, got {value!r}")
    return result


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot parse {path.name}: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def load_settings(root: Path, overrides: dict[str, Any] | None = None) -> Settings:
    """Build settings for ``root``; ``overrides`` are flags (None values are ignored)."""
    values: dict[str, Any] = {}
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        section = _read_toml(pyproject).get("tool", {}).get("agentctx", {})
        for key, value in section.items():
            values[key.replace("-", "_")] = _coerce(key.replace("-", "_"), value, "pyproject.toml")
    own = root / CONFIG_FILE_NAME
    if own.is_file():
        for key, value in _read_toml(own).items():
            values[key.replace("-", "_")] = _coerce(key.replace("-", "_"), value, CONFIG_FILE_NAME)
    for key in _FIELD_TYPES:
        env = os.environ.get(ENV_PREFIX + key.upper())
        if env is not None and env != "":
            values[key] = _coerce(key, env, f"${ENV_PREFIX}{key.upper()}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"--{key.replace('_', '-')}")
    settings = Settings(root=root)
    known = {f.name for f in fields(Settings)}
    return replace(settings, **{k: v for k, v in values.items() if k in known})
