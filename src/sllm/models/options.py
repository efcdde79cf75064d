"""Typed backend options parsed from the `,key=value` tail of a model spec."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from sllm.config_errors import validation_message
from sllm.errors import UsageError, unknown_name
from sllm.redact import redact_spec

T = TypeVar("T", bound=BaseModel)


class BackendOptions(BaseModel):
    """Base of every backend's options: unknown keys are errors, never silently ignored."""

    model_config = ConfigDict(extra="forbid")


def parse_options(cls: type[T], options: dict[str, Any], spec: str) -> T:
    """Validate spec options into `cls`, naming the bad option in one line."""
    spec = redact_spec(spec)  # messages name the spec, never its credentials
    for key in options:
        if key not in cls.model_fields:
            raise unknown_name(f"option for '{spec}'", key, cls.model_fields)
    try:
        return cls(**options)
    except ValidationError as exc:
        message = validation_message(exc, source=f"model spec '{spec}'", label=lambda f: f"option {f}")
        raise UsageError(message) from None
