"""Reading judgment and score records: JSON lists or JSONL, dotted field paths, string-repr dicts."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.textio import read_json_records


def read_records(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) for every object of a JSON list or JSONL file (see textio.read_json_records)."""
    return read_json_records(path)


def field_value(record: dict[str, Any], path: str, where: str) -> Any:
    """`scores.coherence` reads record['scores']['coherence']; a dict stored as its Python or
    JSON string (UniEval writes `predict_scores` that way) is parsed first."""
    value: Any = record
    for part in path.split("."):
        if isinstance(value, str) and value.lstrip().startswith("{"):
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise SllmError(f"{where}: field '{path}': cannot parse {value[:40]!r}") from None
        if not isinstance(value, dict) or part not in value:
            raise SllmError(f"{where}: missing field '{path}'")
        value = value[part]
    return value


def number(record: dict[str, Any], path: str, where: str) -> float | None:
    """A numeric field; None when the value is null (an unparsed judgment)."""
    value = field_value(record, path, where)
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SllmError(f"{where}: field '{path}' is not a number: {value!r}") from None
