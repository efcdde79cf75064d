"""Shared fixtures: the real default model (loaded once), and per-test cache and run stores."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own call cache and run store; model conversions stay shared."""
    monkeypatch.setenv("SLLM_CACHE", str(tmp_path / "cache.sqlite"))
    monkeypatch.setenv("SLLM_RUNS_DIR", str(tmp_path / "sllm-runs"))
    monkeypatch.delenv("SLLM_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("SLLM_DATA_DIR", raising=False)
    monkeypatch.delenv("SLLM_SMOKE", raising=False)  # full-size runs unless a test asks for smoke
    # Tests never reach the hub: built-in tasks fall back to their bundled samples.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def default_lm():
    """The real default model (SmolLM2-135M-Instruct), uncached, loaded once per session."""
    from sllm.models.spec import load_model

    return load_model("default")
