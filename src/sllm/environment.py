"""What a run ran on: package versions, Python, platform, CPU and GPU, the git commit of the cwd.

Written into results.json and onto every tracked run, so a number can be traced to the stack
that produced it (lm-evaluation-harness records the same in `add_env_info`). Collected without
importing torch: a command that never loaded it does not pay seconds for a version string.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from sllm import __version__

#: distributions whose versions change numbers: the model stack, the metrics, the tracking store
PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "accelerate",
    "peft",
    "trl",
    "datasets",
    "safetensors",
    "gguf",
    "numpy",
    "sacrebleu",
    "rouge-score",
    "kiwipiepy",
    "sentence-transformers",
    "openai",
    "mlflow",
    "lm-eval",
    "vllm",
    "llama-cpp-python",
)


def environment() -> dict[str, Any]:
    """The environment of this process (packages not installed are left out)."""
    return {
        "sllm": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "gpus": gpu_names(),
        "cuda": cuda_version(),
        "packages": package_versions(),
        **git_state(Path.cwd()),
    }


def environment_tags(env: dict[str, Any]) -> dict[str, str]:
    """The environment as flat MLflow tags: `sllm.env.python`, `sllm.env.torch`, ..."""
    tags = {f"sllm.env.{k}": v for k, v in env.items() if k not in ("packages", "gpus", "sllm")}
    tags["sllm.env.gpus"] = ", ".join(env["gpus"])
    tags |= {f"sllm.env.{name}": version for name, version in env["packages"].items()}
    return {k: str(v) for k, v in tags.items() if v not in (None, "")}


@lru_cache(maxsize=1)
def package_versions() -> dict[str, str]:
    """Installed versions of the packages in PACKAGES, by distribution name."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


@lru_cache(maxsize=1)
def cpu_name() -> str:
    """The CPU model (Linux: /proc/cpuinfo's `model name`), else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """CUDA devices by name: from torch when this process already imported it, else nvidia-smi."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            return []
        except Exception:  # noqa: BLE001 - a broken driver must not cost the record
            return []
    return _nvidia_smi_names()


def cuda_version() -> str | None:
    """The CUDA version torch was built with, when this process imported torch (else None)."""
    torch = sys.modules.get("torch")
    return getattr(getattr(torch, "version", None), "cuda", None)


@lru_cache(maxsize=1)
def _nvidia_smi_names() -> list[str]:
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


@lru_cache(maxsize=8)
def git_state(folder: Path) -> dict[str, Any]:
    """`git_commit`: the commit checked out in the repository holding `folder` (None outside one,
    or without git); `git_dirty`: whether tracked files differ from it."""
    if shutil.which("git") is None:
        return {"git_commit": None, "git_dirty": None}

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit, "git_dirty": dirty}
