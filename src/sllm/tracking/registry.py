"""The model registry on MLflow: a trained adapter or model is logged to its run as the `model`
artifact and registered as a version; `resolve` turns `NAME@latest` (or `@VERSION`, `@ALIAS`)
into a local folder with its `sllm_model.json` description. The `registry:` model backend that
loads it lives in `sllm.models.registered`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm.errors import SllmError

MODEL_FILE = "sllm_model.json"


def log_model(folder: Path) -> None:
    """Log a saved adapter / model folder to the active run as the `model` artifact."""
    import mlflow

    mlflow.log_artifacts(str(folder), artifact_path="model")


def register(name: str, run_id: str, description: dict[str, Any]) -> str:
    """Register the run's `model` artifact as a new version of NAME; returns "NAME@VERSION"."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from sllm.tracking.store import configure

    configure()
    tags = {
        "sllm.kind": description["kind"],
        "sllm.base_model": description["base_model"],
        **{f"sllm.data_digest.{k}": v[:16] for k, v in description["data_digests"].items()},
    }
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    # the run's artifact folder itself (MLflow 3's register_model wants a "logged model" instead)
    source = mlflow.get_run(run_id).info.artifact_uri.rstrip("/") + "/model"
    version = client.create_model_version(name, source=source, run_id=run_id, tags=tags)
    return f"{name}@{version.version}"


@dataclass
class Registered:
    """A resolved registry version: its local folder and its description."""

    name: str
    version: str
    folder: Path
    description: dict[str, Any]


def resolve_version(target: str) -> str:
    """The version number NAME@REF points at now (no download): what a server watches."""
    return str(_find_version(target).version)


def _find_version(target: str) -> Any:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from sllm.tracking.store import configure

    configure()
    name, _, ref = target.partition("@")
    ref = ref or "latest"
    client = MlflowClient()
    try:
        if ref == "latest":
            versions = client.search_model_versions(f"name = '{name}'")
            if not versions:
                raise SllmError(f"registry: no model named '{name}' (sllm train ... --register {name})")
            return max(versions, key=lambda v: int(v.version))
        if ref.isdigit():
            return client.get_model_version(name, ref)
        return client.get_model_version_by_alias(name, ref)
    except MlflowException as exc:
        raise SllmError(f"registry: cannot find '{target}': {exc.message}") from None


def resolve(target: str) -> Registered:
    """NAME@latest | NAME@VERSION | NAME@ALIAS (NAME alone means latest) -> a local folder."""
    from mlflow.artifacts import download_artifacts

    from sllm.paths import sllm_home

    name = target.partition("@")[0]
    version = _find_version(target)
    # keyed by run: two stores (or a re-created store) may both have a version 1 of NAME
    local = sllm_home() / "registry" / str(version.run_id)
    if not (local / MODEL_FILE).is_file():
        local.mkdir(parents=True, exist_ok=True)
        download_artifacts(artifact_uri=version.source, dst_path=str(local))
        nested = local / "model"
        if nested.is_dir() and not (local / MODEL_FILE).is_file():
            local = nested
    if not (local / MODEL_FILE).is_file():
        local = local / "model"
    description = json.loads((local / MODEL_FILE).read_text(encoding="utf-8"))
    return Registered(name, str(version.version), local, description)
