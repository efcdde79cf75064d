"""What a judge reads: questions (one or two turns), answers, optional references, from JSONL."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sllm.errors import SllmError
from sllm.metaeval.records import read_records

NEED_REFERENCE = ("math", "reasoning", "coding")  # MT-Bench's categories judged with a reference
KNOWN = {
    "question_id", "turns", "question", "model", "model_a", "model_b", "answer", "answers", "answer_a",
    "answer_b", "answers_a", "answers_b", "reference", "references", "category", "turn",
}  # fmt: skip


def _turns(record: dict[str, Any], single: str, many: str, where: str) -> list[str]:
    if many in record:
        value = record[many]
        if not isinstance(value, list) or not value:
            raise SllmError(f"{where}: field '{many}' must be a non-empty list")
        return [str(v) for v in value]
    if single in record:
        return [str(record[single])]
    raise SllmError(f"{where}: missing field '{single}' (or '{many}')")


@dataclass
class Item:
    """One question with the answer(s) to judge: one model (single) or two (pairwise)."""

    question_id: str
    turns: list[str]
    models: list[str]
    answers: list[list[str]]  # per model, per turn
    references: list[str] | None = None
    category: str = ""
    turn: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_reference(self) -> bool:
        """MT-Bench judges math, reasoning and coding answers against a reference answer."""
        return self.category in NEED_REFERENCE


def load_items(path: str | Path, mode: str) -> list[Item]:
    """Read single (`model`, `answer(s)`) or pairwise (`model_a/_b`, `answer(s)_a/_b`) items."""
    items = []
    for where, record in read_records(path):
        if "question_id" not in record:
            raise SllmError(f"{where}: missing field 'question_id'")
        turns = _turns(record, "question", "turns", where)
        if mode == "single":
            if "model" not in record:
                raise SllmError(f"{where}: missing field 'model'")
            models, answers = [str(record["model"])], [_turns(record, "answer", "answers", where)]
        else:
            for key in ("model_a", "model_b"):
                if key not in record:
                    raise SllmError(f"{where}: missing field '{key}'")
            models = [str(record["model_a"]), str(record["model_b"])]
            answers = [_turns(record, f"answer_{s}", f"answers_{s}", where) for s in ("a", "b")]
        turn = int(record.get("turn", len(turns) if len(turns) > 1 else 1))
        if any(len(a) < turn for a in answers) or len(turns) < turn:
            raise SllmError(f"{where}: turn {turn} asked for, but the record has fewer turns or answers")
        references = None
        if record.get("reference") is not None or record.get("references") is not None:
            references = _turns(record, "reference", "references", where)
        extra = {k: v for k, v in record.items() if k not in KNOWN}
        items.append(
            Item(
                str(record["question_id"]),
                turns,
                models,
                answers,
                references,
                str(record.get("category", "")),
                turn,
                extra,
            )
        )
    if not items:
        raise SllmError(f"{path}: no items to judge")
    return items
