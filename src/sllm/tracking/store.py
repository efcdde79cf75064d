"""Where runs are recorded: SLLM_TRACKING_URI, MLFLOW_TRACKING_URI, or SQLite under ./sllm-runs."""

from __future__ import annotations

import logging
import os
from pathlib import Path

_configured: str | None = None


def runs_dir() -> Path:
    """Folder of the default store: SLLM_RUNS_DIR, else ./sllm-runs."""
    return Path(os.environ.get("SLLM_RUNS_DIR") or "sllm-runs").expanduser().resolve()


def default_uri() -> str:
    """The embedded store: SQLite under runs_dir()."""
    return f"sqlite:///{runs_dir() / 'mlflow.db'}"


def tracking_uri() -> str:
    """The tracking store in force (the SQLite default needs no server)."""
    return os.environ.get("SLLM_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI") or default_uri()


def artifact_root() -> str | None:
    """Artifact folder for experiments we create in the default store (never ./mlruns)."""
    # mlflow.set_tracking_uri() exports MLFLOW_TRACKING_URI, so compare URIs, not variables.
    if tracking_uri() != default_uri():
        return None  # another store decides where artifacts go
    return (runs_dir() / "artifacts").as_uri()


def configure() -> str:
    """Point mlflow's tracking and registry clients at our store; return its URI."""
    global _configured
    uri = tracking_uri()
    if _configured == uri:
        return uri
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    # MLflow and alembic log every schema migration of a new SQLite store at INFO on stderr;
    # mlflow sets its logger up on import, so this must come after the import.
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)

    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _configured = uri
    return uri
