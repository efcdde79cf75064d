"""Export a transformers model folder to OpenVINO IR once, into the sllm cache.

The exporter is optimum-intel's (`optimum-cli export openvino --task text-generation-with-past`):
it writes the stateful decoder OpenVINO GenAI expects (KV cache as internal state, `beam_idx`)
plus tokenizer models. optimum-intel 2.2 pins transformers < 5.6, which our own pin (5.23)
excludes, so the export runs in a separate virtual environment under SLLM_HOME/envs/, created
on first use from PyPI (≈ 1.6 GB, a few minutes, once per machine) -- the runtime itself
(`openvino`, `openvino-genai`) needs only numpy and lives in sllm's own environment. Point
SLLM_OV_EXPORT_PYTHON at an interpreter that already has optimum-intel to skip the creation.

The IR is keyed by the weights' digest, the weight format and the OpenVINO version, like the
GGUF conversion (`gguf_convert.py`): a changed model or runtime converts again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

from sllm.errors import SllmError, UsageError
from sllm.paths import sllm_home

MARKER = "sllm-openvino.json"
ENV_VAR = "SLLM_OV_EXPORT_PYTHON"
WEIGHT_FORMATS = {"float32": "fp32", "float16": "fp16", "int8": "int8"}
# What the exporter needs, pinned to versions that resolve together beside a CPU torch (measured);
# torchvision, which optimum-intel lists, is left out: it is for vision models and its PyPI
# build does not load against the CPU torch.
EXPORT_PACKAGES = (
    "torch==2.13.0", "transformers==5.5.4", "optimum==2.3.0", "nncf==3.4.0",
    "huggingface-hub<1.22", "requests", "setuptools",
)  # fmt: skip
OPTIMUM_INTEL = "optimum-intel==2.2.0"


def openvino_version() -> str:
    """The installed OpenVINO runtime's version, or a clear error naming the extra."""
    try:
        import openvino
    except ImportError:
        raise UsageError("the ov: backend needs OpenVINO: pip install 'sllm[openvino]'") from None
    return openvino.__version__.split("-")[0]


def ensure_exported(source: Path, dtype: str) -> Path:
    """The OpenVINO IR folder of a model folder in this weight format, exported if missing."""
    from sllm.models.fingerprint import folder_digest

    if dtype not in WEIGHT_FORMATS:
        raise UsageError(f"ov: dtype must be one of {', '.join(WEIGHT_FORMATS)}, got '{dtype}'")
    version = openvino_version()
    digest = folder_digest(source)[:12]
    target = sllm_home() / "openvino" / f"{source.name}-{digest}-{WEIGHT_FORMATS[dtype]}-ov{version}"
    if (target / MARKER).is_file():
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / MARKER).is_file():  # another process may have exported it meanwhile
            _export(source, target, WEIGHT_FORMATS[dtype], version)
    return target


def _export(source: Path, target: Path, weight_format: str, version: str) -> None:
    from rich.console import Console

    python = export_python(version)
    Console(stderr=True).print(
        f"[dim]sllm: exporting {source.name} to OpenVINO ({weight_format}) once (≈30 s) → {target}[/dim]"
    )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    cli = Path(python).parent / "optimum-cli"
    command = [str(cli), "export", "openvino", "--model", str(source), "--task", "text-generation-with-past",
               "--weight-format", weight_format, str(staging)]  # fmt: skip
    if weight_format == "int8":
        command[-1:-1] = ["--sym"]  # symmetric per-channel int8: the runtime's fastest kernels
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if done.returncode or not (staging / "openvino_model.xml").is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SllmError(f"OpenVINO export of {source} failed: {' | '.join(tail)}")
    import json

    (staging / MARKER).write_text(json.dumps({"source": str(source), "weight_format": weight_format,
                                              "openvino": version}))  # fmt: skip
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def export_python(version: str) -> str:
    """An interpreter with optimum-intel: SLLM_OV_EXPORT_PYTHON, or a venv created once."""
    given = os.environ.get(ENV_VAR)
    if given:
        if not Path(given).is_file():
            raise UsageError(f"{ENV_VAR}={given} is not a file")
        return given
    home = sllm_home() / "envs" / f"openvino-export-{version}"
    python = home / "bin" / "python"
    if (home / "ready").is_file():
        return str(python)
    from filelock import FileLock
    from rich.console import Console

    home.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(home) + ".lock"):
        if (home / "ready").is_file():
            return str(python)
        Console(stderr=True).print(
            f"[dim]sllm: creating the OpenVINO export environment once (≈1.6 GB, minutes) → {home}[/dim]"
        )
        shutil.rmtree(home, ignore_errors=True)
        venv.EnvBuilder(with_pip=True).create(home)
        runtime = (f"openvino=={version}", f"openvino-tokenizers~={version}")
        _pip(python, [*EXPORT_PACKAGES, *runtime])
        _pip(python, ["--no-deps", OPTIMUM_INTEL])
        (home / "ready").write_text(sys.version)
    return str(python)


def _pip(python: Path, arguments: list[str]) -> None:
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *arguments], capture_output=True, text=True
    )
    if done.returncode:
        tail = done.stderr.strip().splitlines()[-3:]
        raise SllmError(f"could not create the OpenVINO export environment: {' | '.join(tail)}")
