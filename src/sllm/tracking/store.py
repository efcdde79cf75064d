"""Where runs are recorded: SLLM_TRACKING_URI, MLFLOW_TRACKING_URI, or SQLite under ./sllm-runs."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from sllm.errors import SllmError

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
    _open_store(uri)
    _configured = uri
    return uri


@contextlib.contextmanager
def store_lock(uri: str | None = None) -> Iterator[None]:
    """Serialise schema and experiment creation between processes (SQLite stores only)."""
    uri = uri or tracking_uri()
    if not uri.startswith("sqlite:///"):
        yield  # a tracking server serialises its own writes
        return
    from filelock import FileLock

    with FileLock(uri.removeprefix("sqlite:///") + ".lock", timeout=120):
        yield


def _open_store(uri: str) -> None:
    """Make the store ready: a new SQLite store gets its schema once, a server must answer."""
    if uri.startswith(("http://", "https://")):
        _check_reachable(uri)
        return
    if not uri.startswith("sqlite:///"):
        return
    from mlflow.tracking import MlflowClient

    # MLflow creates a new database's tables (and runs its migrations) the first time each
    # client opens it; two processes doing that at once crash one of them with "table ...
    # already exists". Opening both stores under a file lock does it once; MLflow then reuses
    # the opened stores for the rest of the process.
    with store_lock(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)
        client.search_registered_models(max_results=1)


def _check_reachable(uri: str, timeout: float = 3.0) -> None:
    """Fail at once with one line when nothing listens at the server's address.

    MLflow's own client retries a refused connection for minutes before giving up.
    """
    import socket
    import urllib.parse
    import urllib.request

    parts = urllib.parse.urlsplit(uri)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return  # reached through a proxy: only MLflow's client can tell
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as exc:
        raise SllmError(f"cannot reach the tracking server {uri}: {exc.strerror or exc}") from None


def ensure_experiment(name: str) -> str:
    """The id of experiment `name`, created if missing (once, even by two runs at once)."""
    import mlflow
    from mlflow.exceptions import MlflowException

    with store_lock():
        found = mlflow.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        try:
            return mlflow.create_experiment(name, artifact_location=artifact_root())
        except MlflowException:  # another client of a shared server created it meanwhile
            found = mlflow.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id
