"""The model interface, its backends (imported lazily) and the call cache."""

from sllm.models.base import (
    LM,
    GenerationRequest,
    GenerationResult,
    LoglikelihoodRequest,
    LoglikelihoodResult,
    RollingRequest,
    RollingResult,
)
from sllm.models.spec import load_model, open_model, parse_spec, register_backend

__all__ = [
    "LM",
    "GenerationRequest",
    "GenerationResult",
    "LoglikelihoodRequest",
    "LoglikelihoodResult",
    "RollingRequest",
    "RollingResult",
    "load_model",
    "open_model",
    "parse_spec",
    "register_backend",
]
