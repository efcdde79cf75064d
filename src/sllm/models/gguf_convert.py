"""Turn a GGUF file into a plain safetensors folder once, so later loads take 0.2 s, not 35 s.

transformers dequantises GGUF on every load and marks the result as quantized (it can then be
neither saved nor trained); we detach the quantizer, save float32 safetensors with the
tokenizer and chat template under SLLM_HOME/models/, and load that folder from then on.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from sllm.errors import SllmError
from sllm.paths import sllm_home

MARKER = "sllm-converted.json"


def converted_folder(gguf_path: Path) -> Path:
    """Return the folder the conversion of this GGUF file lives in (name, size and mtime keyed)."""
    stat = gguf_path.stat()
    ident = f"{gguf_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]
    return sllm_home() / "models" / f"{gguf_path.stem}-{digest}"


def ensure_converted(gguf_path: str | Path) -> Path:
    """Convert the GGUF file to safetensors unless already done; return the folder."""
    source = Path(gguf_path).expanduser()
    if not source.is_file():
        raise SllmError(f"GGUF file not found: {source}")
    target = converted_folder(source)
    if (target / MARKER).is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if (target / MARKER).is_file():  # another process converted it while we waited
            return target
        _convert(source, target)
    return target


def _convert(source: Path, target: Path) -> None:
    import torch
    from rich.console import Console
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sllm.models.hf import quiet_transformers

    quiet_transformers()

    Console(stderr=True).print(
        f"[dim]sllm: converting {source.name} to safetensors once (≈30 s) → {target}[/dim]"
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(source.parent), gguf_file=source.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(source.parent), gguf_file=source.name, dtype=torch.float32
        )
    except Exception as exc:  # transformers raises many types for unsupported GGUF files
        raise SllmError(f"cannot load GGUF file {source}: {exc}") from exc
    # transformers 5 refuses to save a model that carries a GGUF quantizer: detach it.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(str(staging), safe_serialization=True)
    tokenizer.save_pretrained(str(staging))
    (staging / MARKER).write_text(json.dumps({"source": str(source), "dtype": "float32"}))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
