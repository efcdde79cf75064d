"""Prompts read from the files people have: instruction data, request logs, plain text.

`read_prompts` takes a JSONL / JSON list / CSV / TSV / Parquet file through the instruction-file
reader (`sllm.data.formats.raw_rows`, which names file and line for every bad row) or a .txt file
(one prompt per line). Which text is the prompt, when no field is named: `prompt` (a request log,
a prompt list), else `question` (judge items), else the user turn(s) of an instruction row (Alpaca
`instruction` + `input` as Alpaca's own prompt joins them; chat `messages` / ShareGPT
`conversations`: the user messages joined by a newline, as `sllm serve` joins them), else `text`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sllm.errors import SllmError

AUTO_FIELDS = ("prompt", "question")
LAYOUT_KEYS = ("messages", "conversations", "instruction")


@dataclass(frozen=True)
class PromptRow:
    """One prompt, where it was read, and the row's time when it has one (request logs)."""

    where: str
    text: str
    time: str | None = None


def read_prompts(path: str | Path, field: str | None = None) -> list[PromptRow]:
    """Every prompt of a file, in order; the first bad row is an error naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise SllmError(f"file not found: {path}")
    if path.suffix.lower() == ".txt" and not field:
        from sllm.textio import iter_lines

        rows = [PromptRow(f"{path}:{n}", t.rstrip("\r\n")) for n, t in iter_lines(path) if t.strip()]
    else:
        rows = _record_prompts(path, field)
    if not rows:
        raise SllmError(f"{path}: no prompts")
    return rows


def _record_prompts(path: Path, field: str | None) -> list[PromptRow]:
    from sllm.data.formats import raw_rows

    rows: list[PromptRow] = []
    pick = field
    for where, record, problem in raw_rows(path):
        if problem is not None:
            raise SllmError(str(problem))
        if not isinstance(record, dict):
            raise SllmError(f"{where}: expected a JSON object")
        if pick is None:
            pick = _choose_field(record, where)
        text = _user_text(record, where) if pick == "@user" else _field_text(record, pick, where)
        stamp = record.get("time")
        rows.append(PromptRow(where, text, str(stamp) if stamp is not None else None))
    return rows


def _choose_field(record: dict[str, Any], where: str) -> str:
    """The field that holds the prompt, from the first row's keys ('@user': an instruction row)."""
    for name in AUTO_FIELDS:
        if isinstance(record.get(name), str):
            return name
    if any(key in record for key in LAYOUT_KEYS):
        return "@user"
    if isinstance(record.get("text"), str):
        return "text"
    raise SllmError(
        f"{where}: cannot tell which field holds the prompt among {sorted(record)[:8]}; expected prompt, "
        "question, instruction (+ input), messages, conversations or text, or pass --field NAME"
    )


def _field_text(record: dict[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if value is None:
        raise SllmError(f"{where}: missing field '{name}'")
    if not isinstance(value, str):
        raise SllmError(f"{where}: field '{name}' must be a string, got {type(value).__name__}")
    return value


def _user_text(record: dict[str, Any], where: str) -> str:
    """The user turn(s) of an Alpaca, chat-messages or ShareGPT row."""
    from sllm.data.formats import detect_format, parse_record

    problems: list = []
    examples = parse_record(record, detect_format(Path(where), record), where, problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise SllmError(str(errors[0]))
    turns = [m["content"] for e in examples[:1] for m in e.messages if m["role"] == "user"]
    if not turns:
        raise SllmError(f"{where}: the row has no user turn")
    return "\n".join(turns)
