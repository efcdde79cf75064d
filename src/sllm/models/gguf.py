"""`gguf:` specs: llama-cpp-python when installed, else transformers on a dequantised copy."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from sllm.errors import SllmError, UsageError
from sllm.models.base import LM


def load_gguf(target: str, options: dict[str, Any]) -> LM:
    """Open a GGUF file with llama.cpp (option engine=llamacpp|hf|auto, default auto)."""
    path = Path(target).expanduser()
    if not path.is_file():
        raise SllmError(f"GGUF file not found: {target}")
    options = dict(options)
    engine = options.pop("engine", "auto")
    if engine not in ("auto", "llamacpp", "hf"):
        raise UsageError(f"gguf option engine must be auto, llamacpp or hf, not '{engine}'")
    has_llamacpp = importlib.util.find_spec("llama_cpp") is not None
    if engine == "llamacpp" or (engine == "auto" and has_llamacpp):
        if not has_llamacpp:
            raise SllmError("engine=llamacpp needs llama-cpp-python: pip install 'sllm[llamacpp]'")
        from sllm.models.llamacpp import LlamaCppLM

        return LlamaCppLM(str(path), options)
    from sllm.models.gguf_convert import ensure_converted
    from sllm.models.hf import HFLM

    return HFLM(str(ensure_converted(path)), options)
