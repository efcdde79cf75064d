"""Read runs back for `sllm runs list|show` (the same store `mlflow ui` reads)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sllm.errors import SllmError
from sllm.tracking.store import configure, tracking_uri


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat()


def list_runs(experiment: str | None = None, max_results: int = 50) -> list[dict[str, Any]]:
    """Newest runs first: id, name, status, start time, duration, metrics, command."""
    configure()
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    experiments = client.search_experiments()
    if experiment is not None:
        experiments = [e for e in experiments if e.name == experiment]
    if not experiments:
        return []
    runs = client.search_runs(
        [e.experiment_id for e in experiments],
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )
    return [_summary(run) for run in runs]


def _summary(run: Any) -> dict[str, Any]:
    info = run.info
    duration = (info.end_time - info.start_time) / 1000 if info.end_time and info.start_time else None
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": _iso(info.start_time),
        "duration_s": duration,
        "metrics": dict(run.data.metrics),
        "params": len(run.data.params),
        "command": run.data.tags.get("sllm.command"),
    }


def get_run(run_id: str) -> dict[str, Any]:
    """One run in full: params, metrics, tags, artifacts and dataset inputs with digests."""
    configure()
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    run_id = resolve_run_id(run_id, client)
    try:
        run = client.get_run(run_id)
    except MlflowException:
        raise SllmError(f"no run {run_id} in {tracking_uri()}") from None
    datasets = [
        {
            "name": d.dataset.name,
            "digest": d.dataset.digest,
            "source": d.dataset.source,
            "tags": {t.key: t.value for t in d.tags},
        }
        for d in (run.inputs.dataset_inputs if run.inputs else [])
    ]
    return {
        **_summary(run),
        "params": dict(run.data.params),
        "tags": dict(run.data.tags),
        "artifacts": [a.path for a in client.list_artifacts(run_id)],
        "datasets": datasets,
    }


def resolve_run_id(prefix: str, client: Any = None) -> str:
    """The full id of the one run whose id starts with `prefix` (as `runs list` shows them)."""
    if len(prefix) == 32:
        return prefix
    if not prefix:
        raise SllmError("give a run id (or a unique prefix of one)")
    configure()
    if client is None:
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments()]
    matches: list[str] = []
    token = None
    while experiments:
        # MLflow's filter language has no prefix match on run ids; a page holds 1,000 runs.
        page = client.search_runs(experiments, max_results=1000, page_token=token)
        matches += [r.info.run_id for r in page if r.info.run_id.startswith(prefix)]
        token = page.token
        if not token:
            break
    if not matches:
        raise SllmError(f"no run id starts with '{prefix}' in {tracking_uri()}")
    if len(matches) > 1:
        shown = ", ".join(m[:12] for m in matches[:5])
        raise SllmError(
            f"run id prefix '{prefix}' matches {len(matches)} runs ({shown}); give more characters"
        )
    return matches[0]


def dataset_source(source: str) -> str:
    """A dataset source as MLflow stores it (a JSON blob) reduced to its path or URL."""
    import json

    try:
        value = json.loads(source)
    except (TypeError, ValueError):
        return str(source)
    if isinstance(value, dict):
        return str(value.get("uri") or value.get("url") or value.get("path") or value)
    return str(value)
