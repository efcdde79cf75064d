"""`track_run`: one MLflow run per sllm command, with params, metrics, artifacts and dataset inputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sllm import __version__
from sllm.tracking.store import artifact_root, configure

# MLflow rejects param values over 6000 characters; long values (prompts, task lists) are cut
# here, and the full value belongs in an artifact.
MAX_PARAM = 6000


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested dicts with dotted keys and stringify the values."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            flat[name] = text[:MAX_PARAM]
    return flat


class RunRecorder:
    """Logging calls for one run; every method is a no-op when tracking is disabled."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id

    def log_params(self, params: dict[str, Any]) -> None:
        """Log (nested) params."""
        if self.run_id:
            import mlflow

            mlflow.log_params(flatten(params))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Log numeric metrics, optionally at a step."""
        if self.run_id and metrics:
            import mlflow

            safe = {k.replace(",", "_"): float(v) for k, v in metrics.items()}
            mlflow.log_metrics(safe, step=step)

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags."""
        if self.run_id:
            import mlflow

            mlflow.set_tags({k: str(v) for k, v in tags.items()})

    def log_dict(self, value: Any, artifact_file: str) -> None:
        """Store a JSON artifact."""
        if self.run_id:
            import mlflow

            mlflow.log_dict(value, artifact_file)

    def log_text(self, text: str, artifact_file: str) -> None:
        """Store a text artifact."""
        if self.run_id:
            import mlflow

            mlflow.log_text(text, artifact_file)

    def log_artifact(self, path: str | Path) -> None:
        """Copy a file into the run's artifacts."""
        if self.run_id:
            import mlflow

            mlflow.log_artifact(str(path))

    def log_dataset(
        self,
        name: str,
        digest: str,
        source: str,
        n_rows: int,
        schema: dict[str, str] | None = None,
        context: str = "training",
    ) -> None:
        """Record a dataset input (name, digest, source, rows) and a `dataset.NAME.digest` param."""
        if not self.run_id:
            return
        import mlflow
        from mlflow.data.code_dataset_source import CodeDatasetSource
        from mlflow.data.meta_dataset import MetaDataset

        dataset = MetaDataset(CodeDatasetSource({"uri": source}), name=name, digest=digest)
        tags = {"n_rows": str(n_rows), "source": source[:500]}
        if schema:
            tags["schema"] = json.dumps(schema)[:500]
        mlflow.log_input(dataset, context=context, tags=tags)
        mlflow.log_param(f"dataset.{name}.digest", digest)


@contextmanager
def track_run(
    name: str,
    *,
    experiment: str = "sllm",
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    enabled: bool = True,
) -> Iterator[RunRecorder]:
    """Start an MLflow run (FINISHED on success, FAILED when an exception escapes)."""
    if not enabled:
        yield RunRecorder(None)
        return
    configure()
    import mlflow

    if mlflow.get_experiment_by_name(experiment) is None:
        mlflow.create_experiment(experiment, artifact_location=artifact_root())
    mlflow.set_experiment(experiment)
    all_tags = {"sllm.version": __version__, "sllm.command": name, **(tags or {})}
    with mlflow.start_run(run_name=name, tags={k: str(v) for k, v in all_tags.items()}) as run:
        recorder = RunRecorder(run.info.run_id)
        if params:
            recorder.log_params(params)
        try:
            yield recorder
        except BaseException:
            mlflow.end_run(status="FAILED")
            raise
