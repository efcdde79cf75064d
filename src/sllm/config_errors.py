"""Config files and their errors: a pydantic ValidationError as the one line a user reads.

Every typed config (decoding settings, model-spec options, task and judge YAML, training and
evaluation configs) reports its first problem the same way: `[SOURCE: ]NAME: message, got VALUE`,
where SOURCE is the file the values came from (or what they belong to, e.g. a model spec) and
NAME is `field 'a.b'`, or whatever the caller calls a field (a flag such as `--limit`).
pydantic is not imported here: the CLI reads this module on every start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sllm.errors import SllmError

_MAX_SHOWN = 60  # characters of a bad value quoted in the message


def field_label(field: str) -> str:
    """The default name of a field in a message: `field 'a.b'`."""
    return f"field '{field}'"


def validation_message(
    exc: Any,
    source: str | Path | None = None,
    label: Callable[[str], str] = field_label,
) -> str:
    """The first problem of a pydantic ValidationError as `[SOURCE: ]NAME: message, got VALUE`."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "config"
    if first["type"] == "missing":
        message = "missing required field"
    else:
        message = first["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        # an unknown key's value says nothing about the problem; a bad value's does
        if "input" in first and _scalar(first["input"]) and first["type"] != "extra_forbidden":
            message += f", got {_shown(first['input'])}"
    where = f"{source}: " if source is not None else ""
    return f"{where}{label(field)}: {message}"


def _scalar(value: Any) -> bool:
    # a whole mapping (a model-level check, an unknown nested key) would flood the line
    return value is None or isinstance(value, str | int | float | bool)


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping of settings in a YAML config file (errors name the file, and the line)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise SllmError(f"config file not found: {path}")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise SllmError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise SllmError(f"{path}: expected a mapping of settings")
    return values
