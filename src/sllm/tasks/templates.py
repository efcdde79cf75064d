"""Jinja2 rendering of prompt templates and expressions, sandboxed (task files may be shared)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sllm.errors import SllmError

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


@lru_cache(maxsize=512)
def _template(source: str) -> Any:
    return _ENV.from_string(source)


@lru_cache(maxsize=512)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


def render(source: str, doc: dict[str, Any], where: str) -> str:
    """Render a template with the document's fields; errors name the task and template."""
    try:
        return _template(source).render(**doc)
    except TemplateError as exc:
        raise SllmError(f"{where}: cannot render {source!r}: {exc}") from None


def evaluate(source: str, doc: dict[str, Any], where: str) -> Any:
    """Evaluate a Jinja expression (e.g. `choices`, `answer`, `["A", "B"]`) on a document."""
    try:
        return _expression(source)(**doc)
    except TemplateError as exc:
        raise SllmError(f"{where}: cannot evaluate {source!r}: {exc}") from None
