"""The `registry:` backend: a registered adapter on its base model, or a full registered model.

The only place `models` reaches into `tracking`: resolving NAME@REF needs the MLflow model
registry client (`sllm.tracking.registry`), never the run tracking.
"""

from __future__ import annotations

from typing import Any

from sllm.models.folders import model_folder
from sllm.tracking.registry import resolve


def load_registered(target: str, options: dict[str, Any]) -> Any:
    """Load NAME@REF from the model registry through the hf backend."""
    from sllm.models.hf import HFLM

    found = resolve(target)
    if found.description["kind"] == "adapter":
        base = model_folder(found.description["base_model"])
        return HFLM(str(base), {**options, "adapter": str(found.folder)})
    return HFLM(str(found.folder), options)
