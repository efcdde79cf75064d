"""Where sllm keeps its files: the home folder (models, cache) and the run store."""

from __future__ import annotations

import os
from pathlib import Path


def sllm_home() -> Path:
    """Return SLLM_HOME (default ~/.cache/sllm), created if missing."""
    home = Path(os.environ.get("SLLM_HOME") or Path.home() / ".cache" / "sllm").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def default_cache_path() -> Path:
    """Return the SQLite file of the model-call cache (SLLM_CACHE overrides)."""
    override = os.environ.get("SLLM_CACHE")
    return Path(override).expanduser() if override else sllm_home() / "cache.sqlite"
