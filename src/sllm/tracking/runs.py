"""`track_run`: one MLflow run per sllm command, with params, metrics, artifacts and dataset inputs.

Tracking never turns finished work into a traceback: a store that cannot be reached or refuses
a value costs one warning line naming what was not recorded (`guard.py`), and names MLflow
would reject are mapped onto its alphabet, the original kept as a `sllm.name.KEY` tag.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sllm import __version__
from sllm.environment import environment, environment_tags
from sllm.errors import warn
from sllm.redact import redact_field, redact_text, redact_tree
from sllm.tracking.clock import take_command_start
from sllm.tracking.guard import Failures, guarded, reason
from sllm.tracking.names import KeyBook, mlflow_key
from sllm.tracking.store import configure, ensure_experiment

# MLflow rejects param values over 6000 characters; long values (prompts, task lists) are cut
# here, and the full value belongs in an artifact.
MAX_PARAM = 6000
T = TypeVar("T")


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested dicts with dotted keys and stringify the values."""
    flat: dict[str, str] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            # Safety net: no credential (spec key, URL userinfo, env key) reaches the store.
            flat[name] = redact_field(name, text)[:MAX_PARAM]
    return flat


class RunRecorder:
    """Logging calls for one run; every method is a no-op when tracking is disabled, and a
    failing one is noted (see `failures`) instead of raising."""

    def __init__(self, run_id: str | None) -> None:
        self.run_id = run_id
        self.failures = Failures()
        self.keys = {"metric": KeyBook(), "param": KeyBook(), "tag": KeyBook(), "dataset": KeyBook()}

    @guarded("params")
    def log_params(self, params: dict[str, Any]) -> None:
        """Log (nested) params; a name logged again with another value gets its own key."""
        if self.run_id:
            import mlflow

            mlflow.log_params({self.keys["param"].key(k, (k, v)): v for k, v in flatten(params).items()})

    @guarded("metrics")
    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Log numeric metrics, optionally at a step."""
        if self.run_id and metrics:
            import mlflow

            safe = {self.keys["metric"].key(k): float(v) for k, v in metrics.items()}
            mlflow.log_metrics(safe, step=step)

    @guarded("tags")
    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags."""
        if self.run_id:
            import mlflow

            mlflow.set_tags(
                {self.keys["tag"].key(k): redact_field(k, str(v))[:8000] for k, v in tags.items()}
            )

    @guarded("artifact {0}")
    def log_dict(self, value: Any, artifact_file: str) -> None:
        """Store a JSON artifact."""
        if self.run_id:
            import mlflow

            mlflow.log_dict(redact_tree(value), artifact_file)

    @guarded("artifact {0}")
    def log_text(self, text: str, artifact_file: str) -> None:
        """Store a text artifact."""
        if self.run_id:
            import mlflow

            mlflow.log_text(redact_text(text), artifact_file)

    @guarded("artifact {0}")
    def log_artifact(self, path: str | Path) -> None:
        """Copy a file into the run's artifacts."""
        if self.run_id:
            import mlflow

            mlflow.log_artifact(str(path))

    @guarded("dataset {0}")
    def log_dataset(
        self,
        name: str,
        digest: str,
        source: str,
        n_rows: int,
        schema: dict[str, str] | None = None,
        context: str = "training",
    ) -> None:
        """Record a dataset input (name, digest, source, rows) and a `dataset.NAME.digest` param
        (a second, different dataset of the same name: `dataset.NAME_2.digest`)."""
        if not self.run_id:
            return
        import mlflow
        from mlflow.data.code_dataset_source import CodeDatasetSource
        from mlflow.data.meta_dataset import MetaDataset

        source = redact_text(source)  # a hub or bucket URL may carry a token
        dataset = MetaDataset(CodeDatasetSource({"uri": source}), name=name, digest=digest)
        tags = {"n_rows": str(n_rows), "source": source[:500]}
        if schema:
            tags["schema"] = json.dumps(schema)[:500]
        mlflow.log_input(dataset, context=context, tags=tags)
        mlflow.log_param(f"dataset.{self.keys['dataset'].key(name, (name, digest, source))}.digest", digest)

    @guarded(lambda what, action: what)
    def attempt(self, what: str, action: Callable[[], T]) -> T | None:
        """Run another tracking action (log a model, register it) under the same guard: on
        failure the warning names `what`, and None comes back."""
        return action() if self.run_id else None

    def end(self, status: str) -> None:
        """End the run with `status`; warn once about anything that was not recorded."""
        if self.run_id:
            renamed = {
                k: v for kind in ("metric", "param", "tag") for k, v in self.keys[kind].renamed().items()
            }
            datasets = self.keys["dataset"].renamed().items()
            renamed |= {f"dataset.{k}.digest": f"dataset.{v}.digest" for k, v in datasets}
            if renamed:
                self._record_names(renamed)
            if self.failures.broken:  # the store failed: ending would wait minutes on it again
                self.failures.note("end status")
                _forget_active_run(self.run_id)
            else:
                self._end(status)
            message = self.failures.message(self.run_id)
            if message:
                warn(message)

    @guarded("original names")
    def _record_names(self, renamed: dict[str, str]) -> None:
        import mlflow

        mlflow.set_tags({mlflow_key(f"sllm.name.{k}"): v[:8000] for k, v in renamed.items()})

    @guarded("end status")
    def _end(self, status: str) -> None:
        import mlflow

        mlflow.end_run(status=status)


@contextmanager
def track_run(
    name: str,
    *,
    experiment: str = "sllm",
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    enabled: bool = True,
) -> Iterator[RunRecorder]:
    """Record the work inside as one MLflow run: FINISHED, or FAILED when an exception escapes
    (KILLED on Ctrl-C). The run starts when the sllm command started, so its duration covers
    the work; a store that fails never fails the work (one warning line instead). Every run
    carries the environment: `sllm.env.*` tags and an `environment.json` artifact."""
    if not enabled:
        yield RunRecorder(None)
        return
    env = environment()
    all_tags = {"sllm.version": __version__, "sllm.command": name, **environment_tags(env), **(tags or {})}
    recorder = _start(name, experiment, {k: redact_field(k, str(v)) for k, v in all_tags.items()})
    recorder.log_dict(env, "environment.json")  # the whole record; the tags are for search
    if params:
        recorder.log_params(params)
    status = "FAILED"
    try:
        yield recorder
        status = "FINISHED"
    except KeyboardInterrupt:
        status = "KILLED"
        raise
    finally:
        recorder.end(status)


def _start(name: str, experiment: str, tags: dict[str, str]) -> RunRecorder:
    """Open the run (back-dated to the command's start); on any failure, a recorder that records nothing."""
    started = take_command_start()
    try:
        configure()
        import mlflow
        from mlflow.tracking import MlflowClient
        from mlflow.tracking.context.registry import resolve_tags

        experiment_id = ensure_experiment(experiment)
        mlflow.set_experiment(experiment_id=experiment_id)
        parent = mlflow.active_run()
        if parent is not None:
            tags = {**tags, "mlflow.parentRunId": parent.info.run_id}
        # mlflow.start_run cannot set a start time: create the run, then make it the active one.
        run = MlflowClient().create_run(
            experiment_id, start_time=int(started * 1000), tags=resolve_tags(tags), run_name=name
        )
        mlflow.start_run(run_id=run.info.run_id, nested=parent is not None)
    except Exception as exc:  # noqa: BLE001 - the work goes on without its record
        warn(f"tracking failed ({reason(exc)}): the {name} run was not recorded; the results are kept")
        return RunRecorder(None)
    return RunRecorder(run.info.run_id)


def _forget_active_run(run_id: str) -> None:
    """Drop our run from MLflow's active-run stack without calling the store (which failed)."""
    from mlflow.tracking import fluent

    stack = fluent._active_run_stack.get()
    stack[:] = [run for run in stack if run.info.run_id != run_id]
