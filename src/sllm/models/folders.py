"""The local transformers folder behind a model spec: what training, export and merging load."""

from __future__ import annotations

from pathlib import Path

from sllm.errors import SllmError


def model_folder(spec: str) -> Path:
    """The local transformers folder a model spec names (default, hf:PATH, a folder, a .gguf)."""
    from sllm.models.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed.backend == "default":
        from sllm.models.default_model import default_model_path

        return default_model_path()
    if parsed.backend == "registry":
        from sllm.tracking.registry import resolve

        return Path(resolve(parsed.target).folder)
    if parsed.backend == "gguf":
        from sllm.models.gguf_convert import ensure_converted

        return ensure_converted(Path(parsed.target))
    if parsed.backend != "hf":
        raise SllmError(f"cannot train '{spec}': training needs a local model (default, hf:PATH)")
    path = Path(parsed.target).expanduser()
    if not path.is_dir():
        raise SllmError(f"model folder not found: {path} (the hub is not reachable; pass a local folder)")
    return path
