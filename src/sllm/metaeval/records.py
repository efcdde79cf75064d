"""Reading judgment and score records: JSON lists or JSONL, dotted field paths, string-repr dicts."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from sllm.errors import SllmError


def read_records(path: str | Path) -> list[tuple[str, dict[str, Any]]]:
    """(where, record) for every object of a JSON list or JSONL file; errors name file and line."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SllmError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
        out = [(f"{path}: item {i}", r) for i, r in enumerate(items, start=1)]
    else:
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    out.append((f"{path}:{number}", json.loads(line)))
                except json.JSONDecodeError as exc:
                    raise SllmError(f"{path}:{number}: invalid JSON: {exc.msg}") from None
    for where, record in out:
        if not isinstance(record, dict):
            raise SllmError(f"{where}: expected a JSON object")
    return out


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
