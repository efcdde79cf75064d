"""Preference pairs for DPO and reward models: JSONL / JSON / CSV / Parquet rows with `prompt`
(or Alpaca's `instruction` + `input`), `chosen` and `rejected` -- strings, or message lists as
TRL's conversational preference format. Errors name the file, line and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sllm.data.examples import Example
from sllm.errors import SllmError


def _answer(value: Any, where: str, key: str) -> str:
    if isinstance(value, list):  # conversational: the last assistant message
        answers = [
            m.get("content", "") for m in value if isinstance(m, dict) and m.get("role") == "assistant"
        ]
        value = answers[-1] if answers else None
    if not isinstance(value, str) or not value.strip():
        raise SllmError(f"{where}: field '{key}': missing or empty")
    return value


def _prompt(record: dict[str, Any], where: str) -> list[dict[str, str]]:
    if "prompt" in record:
        value = record["prompt"]
        if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
            return [{"role": m["role"], "content": m["content"]} for m in value]
        if isinstance(value, str) and value.strip():
            return [{"role": "user", "content": value}]
        raise SllmError(f"{where}: field 'prompt': missing or empty")
    instruction = record.get("instruction")
    if not isinstance(instruction, str) or not instruction.strip():
        raise SllmError(f"{where}: field 'prompt': missing (or give 'instruction' and 'input')")
    given = record.get("input") or ""
    return [{"role": "user", "content": f"{instruction}\n\n{given}" if given.strip() else instruction}]


def load_pairs(path: str | Path) -> list[Example]:
    """Every preference pair of a file as an example (prompt + chosen answer, `rejected` kept as a
    field, so digests and splits treat pairs like any rows); the first bad row is an error."""
    from sllm.data.formats import raw_rows

    path = Path(path)
    if not path.is_file():
        raise SllmError(f"preference file not found: {path}")
    pairs = []
    for where, record, problem in raw_rows(path):
        if problem is not None:
            raise SllmError(str(problem))
        if not isinstance(record, dict):
            raise SllmError(f"{where}: expected an object with prompt, chosen, rejected")
        chosen = {"role": "assistant", "content": _answer(record.get("chosen"), where, "chosen")}
        rejected = _answer(record.get("rejected"), where, "rejected")
        pairs.append(Example([*_prompt(record, where), chosen], {"rejected": rejected}, where))
    if not pairs:
        raise SllmError(f"{path}: no preference pairs")
    return pairs


def pairs_dataset(pairs: list[Example]) -> Any:
    """A `datasets.Dataset` in TRL's conversational preference format."""
    from datasets import Dataset

    return Dataset.from_list(
        [
            {
                "prompt": p.messages[:-1],
                "chosen": [p.messages[-1]],
                "rejected": [{"role": "assistant", "content": p.meta["rejected"]}],
            }
            for p in pairs
        ]
    )
