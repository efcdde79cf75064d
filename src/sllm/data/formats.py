"""Reading and writing instruction files: Alpaca, ShareGPT, chat messages (JSON or JSONL), CSV
and Parquet. Reading never stops at the first bad row: every problem is collected with its file,
line (or item / row) and field, so `sllm data validate` can list them all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sllm.data.examples import ROLES, SHAREGPT_ROLES, TO_SHAREGPT, Example
from sllm.errors import SllmError, UsageError

FORMATS = ("alpaca", "sharegpt", "messages", "csv", "parquet", "seed_tasks")
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a row: where, which field, what."""

    where: str
    field: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return (
            f"{self.where}: field '{self.field}': {self.message}"
            if self.field
            else f"{self.where}: {self.message}"
        )


def raw_rows(path: Path) -> Iterator[tuple[str, Any | None, Problem | None]]:
    """(where, record, problem) for every row of a JSON list, JSONL, CSV or Parquet file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(path)
        for i, row in enumerate(frame.to_dict(orient="records"), start=1):
            yield f"{path}: row {i}", _drop_blank(row), None
        return
    text = path.read_text(encoding="utf-8-sig")
    if suffix in (".csv", ".tsv"):
        import csv

        reader = csv.DictReader(text.splitlines(keepends=True), delimiter="\t" if suffix == ".tsv" else ",")
        line = 1
        for row in reader:
            yield f"{path}:{line + 1}", _drop_blank(dict(row)), None
            line = reader.line_num
        return
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            yield (
                f"{path}:{exc.lineno}",
                None,
                Problem(f"{path}:{exc.lineno}", "", f"invalid JSON: {exc.msg}"),
            )
            return
        for i, item in enumerate(items, start=1):
            yield f"{path}: item {i}", item, None
        return
    for number, line_text in enumerate(text.splitlines(), start=1):
        if not line_text.strip():
            continue
        where = f"{path}:{number}"
        try:
            yield where, json.loads(line_text), None
        except json.JSONDecodeError as exc:
            yield where, None, Problem(where, "", f"invalid JSON: {exc.msg}")


CORE = ("instruction", "input", "output", "messages", "conversations")


def _drop_blank(row: dict[str, Any]) -> dict[str, Any]:
    """A table has a cell for every column: an empty cell of an extra column means "no value"."""
    return {k: v for k, v in row.items() if k in CORE or not (v is None or v == "" or v != v)}


def detect_format(path: Path, first: dict[str, Any] | None) -> str:
    """The layout of a file from its rows' keys (CSV / Parquet rows use the same keys)."""
    keys = set(first or {})
    if "instances" in keys and "instruction" in keys:
        return "seed_tasks"  # Self-Instruct's seed_tasks.jsonl: one task, several instances
    if "conversations" in keys:
        return "sharegpt"
    if "messages" in keys:
        return "messages"
    if "instruction" in keys or "output" in keys:
        return "alpaca"
    raise SllmError(
        f"{path}: cannot tell the format from the fields {sorted(keys)[:8]}; expected Alpaca "
        "(instruction, input, output), ShareGPT (conversations) or chat messages (messages)"
    )


def _text(
    record: dict[str, Any], key: str, where: str, problems: list[Problem], required: bool = True
) -> str:
    value = record.get(key)
    if value is None or (isinstance(value, float) and value != value):  # missing, or NaN from CSV
        if required:
            problems.append(Problem(where, key, "missing"))
        return ""
    if not isinstance(value, str):
        problems.append(Problem(where, key, f"must be a string, got {type(value).__name__}"))
        return str(value)
    return value


def _maybe_json(value: Any) -> Any:
    # CSV and Parquet store a conversation as a JSON string.
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _from_alpaca(record: dict[str, Any], where: str, problems: list[Problem]) -> Example:
    instruction = _text(record, "instruction", where, problems)
    input_text = _text(record, "input", where, problems, required=False)
    output = _text(record, "output", where, problems)
    meta = {k: v for k, v in record.items() if k not in ("instruction", "input", "output")}
    return Example.from_alpaca(instruction, input_text, output, meta, where)


def _from_turns(record: dict[str, Any], where: str, problems: list[Problem], key: str) -> Example:
    turns = _maybe_json(record.get(key))
    if not isinstance(turns, list) or not turns:
        problems.append(Problem(where, key, "missing" if turns is None else "must be a non-empty list"))
        return Example([], {}, where)
    role_key, text_key = ("from", "value") if key == "conversations" else ("role", "content")
    messages = []
    for i, turn in enumerate(turns):
        name = f"{key}[{i}]"
        if not isinstance(turn, dict):
            problems.append(Problem(where, name, "must be an object"))
            continue
        raw_role = str(turn.get(role_key, "")).lower()
        role = SHAREGPT_ROLES.get(raw_role) if key == "conversations" else raw_role
        if role not in ROLES:
            problems.append(Problem(where, f"{name}.{role_key}", f"unknown role {turn.get(role_key)!r}"))
            continue
        messages.append({"role": role, "content": _text(turn, text_key, where, problems)})
    meta = {k: v for k, v in record.items() if k != key}
    if "system" in meta and key == "conversations" and meta["system"]:
        messages.insert(0, {"role": "system", "content": str(meta.pop("system"))})
    return Example(messages, meta, where)


def _from_seed_task(record: dict[str, Any], where: str, problems: list[Problem]) -> list[Example]:
    instruction = _text(record, "instruction", where, problems)
    instances = record.get("instances")
    if not isinstance(instances, list) or not instances:
        problems.append(Problem(where, "instances", "must be a non-empty list"))
        return []
    meta = {k: v for k, v in record.items() if k not in ("instruction", "instances")}
    return [
        Example.from_alpaca(
            instruction,
            _text(inst, "input", where, problems, required=False),
            _text(inst, "output", where, problems),
            dict(meta),
            where,
        )
        for inst in instances
        if isinstance(inst, dict)
    ]


def parse_record(record: Any, fmt: str, where: str, problems: list[Problem]) -> list[Example]:
    """The examples of one row (a seed task holds several); problems found are appended."""
    if not isinstance(record, dict):
        problems.append(Problem(where, "", "expected a JSON object"))
        return []
    if fmt == "alpaca":
        return [_from_alpaca(record, where, problems)]
    if fmt == "seed_tasks":
        return _from_seed_task(record, where, problems)
    return [_from_turns(record, where, problems, "conversations" if fmt == "sharegpt" else "messages")]


def read_examples(path: str | Path, fmt: str = "auto") -> tuple[list[Example], list[Problem], str]:
    """Every parseable example, every problem (with file, line and field) and the format read."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if fmt not in ("auto", *FORMATS):
        raise UsageError(f"unknown format '{fmt}'; choose from auto, {', '.join(FORMATS)}")
    rows = list(raw_rows(path))
    layout = fmt if fmt not in ("auto", "csv", "parquet") else None
    if layout is None:
        first = next((r for _, r, p in rows if p is None and isinstance(r, dict)), None)
        layout = detect_format(path, first)
    examples, problems = [], []
    for where, record, problem in rows:
        if problem is not None:
            problems.append(problem)
            continue
        found: list[Problem] = []
        parsed = parse_record(record, layout, where, found)
        problems += found
        if not any(p.severity == "error" for p in found):
            examples += parsed
    return examples, problems, layout


def load_examples(path: str | Path, fmt: str = "auto") -> tuple[list[Example], str]:
    """Read a file strictly (the first problem is an error naming file, line and field); the
    examples and the layout read."""
    examples, problems, layout = read_examples(path, fmt)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        more = f" (and {len(errors) - 1} more; run sllm data validate)" if len(errors) > 1 else ""
        raise SllmError(f"{errors[0]}{more}")
    if not examples:
        raise SllmError(f"{path}: no examples")
    return examples, layout


def output_format(path: Path, fmt: str) -> str:
    """The layout to write: given, or from the extension (.csv, .parquet), else Alpaca."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise UsageError(f"unknown format '{fmt}'; choose from {', '.join(FORMATS)}")
        return fmt
    return {".csv": "csv", ".parquet": "parquet"}.get(path.suffix.lower(), "alpaca")


def to_record(example: Example, layout: str) -> dict[str, Any]:
    """One example in a layout's fields."""
    if layout in ("alpaca", "seed_tasks"):
        return example.alpaca()
    if layout == "sharegpt":
        turns = [{"from": TO_SHAREGPT[m["role"]], "value": m["content"]} for m in example.messages]
        return {"conversations": turns} | example.meta
    return {"messages": example.messages} | example.meta


def write_examples(examples: list[Example], path: str | Path, fmt: str = "auto") -> str:
    """Write examples (JSONL for .jsonl, a JSON list for .json, CSV, Parquet); return the layout."""
    path = Path(path)
    layout = output_format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout in ("csv", "parquet"):
        import pandas as pd

        single = all(e.single_turn for e in examples)
        rows = [to_record(e, "alpaca" if single else "messages") for e in examples]
        cells = [
            {k: json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else v for k, v in r.items()}
            for r in rows
        ]
        frame = pd.DataFrame(cells)
        if layout == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        return layout
    try:
        records = [to_record(e, layout) for e in examples]
    except ValueError as exc:
        raise SllmError(f"{exc}; write ShareGPT or messages instead") from None
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(records, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    else:
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return layout
