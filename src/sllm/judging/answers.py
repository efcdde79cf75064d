"""Per-model answer files and question files in the layouts users already have, as judge items.

Answer records, any of:
- FastChat / MT-Bench / arena-bench-v1: `question_id`, `model_id`, `choices[0].turns`
- Arena-Hard v0.1: `uid`, `model`, `messages` (assistant `content` a string or {"answer": ...})
- alpaca_eval model outputs: `instruction`, `output`, `generator` (the instruction is the id)
- sllm's own: `question_id`, `model`, `answer` or `answers` (optional `question` / `turns`)
Question records: `question_id` or `uid`, and `turns`, `question` or `prompt`; optional `category`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from sllm.errors import SllmError, UsageError
from sllm.judging.items import Item
from sllm.metaeval.records import read_records


@dataclass
class AnswerSet:
    """One model's answers (turns per question id) and the question texts its file carries."""

    model: str
    answers: dict[str, list[str]] = field(default_factory=dict)
    questions: dict[str, list[str]] = field(default_factory=dict)


def _content(value: Any) -> str:
    return str(value.get("answer", "")) if isinstance(value, dict) else str(value)


def _answer(record: dict[str, Any], where: str) -> tuple[str, str, list[str], list[str] | None]:
    """(question id, model, answer turns, question turns or None) of one answer record."""
    if "choices" in record:
        try:
            turns = [str(t) for t in record["choices"][0]["turns"]]
        except (KeyError, IndexError, TypeError):
            raise SllmError(f"{where}: field 'choices' must hold choices[0].turns") from None
        return str(record.get("question_id")), str(record.get("model_id", record.get("model"))), turns, None
    if "messages" in record:
        messages = record["messages"]
        asked = [_content(m["content"]) for m in messages if m.get("role") == "user"]
        said = [_content(m["content"]) for m in messages if m.get("role") == "assistant"]
        if not said:
            raise SllmError(f"{where}: 'messages' has no assistant turn")
        return str(record.get("uid", record.get("question_id"))), str(record.get("model")), said, asked
    if "output" in record and "instruction" in record:
        instruction = str(record["instruction"])
        return instruction, str(record.get("generator")), [str(record["output"])], [instruction]
    if "answer" in record or "answers" in record:
        if "question_id" not in record:
            raise SllmError(f"{where}: missing field 'question_id'")
        many = record.get("answers")
        turns = [str(a) for a in many] if isinstance(many, list) else [str(record.get("answer"))]
        asked = record.get("turns") or ([record["question"]] if "question" in record else None)
        return str(record["question_id"]), str(record.get("model")), turns, asked
    raise SllmError(
        f"{where}: not an answer record (expected choices[0].turns, messages, instruction+output, "
        "or question_id+answer)"
    )


def load_answers(path: str | Path, name: str | None = None) -> AnswerSet:
    """Read one model's answer file; `name` overrides the model name the records carry."""
    found = AnswerSet(name or "")
    for where, record in read_records(path):
        qid, model, turns, asked = _answer(record, where)
        if not name:
            if model in ("None", ""):
                raise SllmError(f"{where}: no model name in the record; pass NAME=FILE")
            if found.model and model != found.model:
                raise SllmError(f"{where}: model '{model}' differs from '{found.model}' earlier in the file")
            found.model = model
        found.answers[qid] = turns
        if asked:
            found.questions[qid] = [str(a) for a in asked]
    if not found.answers:
        raise SllmError(f"{path}: no answers")
    return found


def load_question_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """question id -> {turns, category} from FastChat, Arena-Hard or simple question files."""
    out = {}
    for where, record in read_records(path):
        qid = record.get("question_id", record.get("uid"))
        if qid is None:
            raise SllmError(f"{where}: missing field 'question_id' (or 'uid')")
        if "turns" in record:
            turns = [t["content"] if isinstance(t, dict) else t for t in record["turns"]]
        elif "question" in record or "prompt" in record:
            turns = [record.get("question", record.get("prompt"))]
        else:
            raise SllmError(f"{where}: missing field 'turns' (or 'question' / 'prompt')")
        out[str(qid)] = {"turns": [str(t) for t in turns], "category": str(record.get("category", ""))}
    return out


def model_pairs(models: list[str], baseline: str | None) -> list[tuple[str, str]]:
    """Every model against the baseline (the baseline in position A of the record), or all pairs."""
    if baseline is None:
        return list(combinations(models, 2))
    if baseline not in models:
        raise UsageError(f"baseline '{baseline}' is not among the answer files' models: {', '.join(models)}")
    return [(baseline, m) for m in models if m != baseline]


def pair_items(
    sets: list[AnswerSet],
    pairs: list[tuple[str, str]],
    questions: dict[str, dict[str, Any]] | None = None,
    references: AnswerSet | None = None,
) -> tuple[list[Item], dict[str, int]]:
    """Pairwise items for every question both models answered (each turn up to two); and per
    model the number of questions it lacks."""
    by_model = {s.model: s for s in sets}
    known: dict[str, dict[str, Any]] = dict(questions or {})
    for s in sets:
        for qid, turns in s.questions.items():
            known.setdefault(qid, {"turns": turns, "category": ""})
    missing = {m: sum(qid not in s.answers for qid in known) for m, s in by_model.items()}
    items = []
    for qid, question in known.items():
        for a, b in pairs:
            first, second = by_model[a].answers.get(qid), by_model[b].answers.get(qid)
            if first is None or second is None:
                continue
            turns = min(len(question["turns"]), len(first), len(second), 2)
            refs = references.answers.get(qid) if references else None
            for turn in range(1, turns + 1):
                items.append(
                    Item(qid, question["turns"], [a, b], [first, second], refs, question["category"], turn)
                )
    if not items:
        raise SllmError("no question was answered by both models of any pair (check question ids)")
    return items, missing
