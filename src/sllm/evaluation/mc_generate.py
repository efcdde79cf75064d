"""Multiple choice by generation: the model writes the letter of its answer, which is then matched.

The stricter style of Korean leaderboards such as Horangi: no credit for a likely answer the
model does not actually produce. Tasks whose choices are letters already (MMLU, CLIcK) keep
their prompt; for others (HellaSwag, KoBEST) the choices are listed with letters after it.
"""

from __future__ import annotations

import string
from typing import Any

from sllm.evaluation.instances import Instance
from sllm.generation.config import make_config
from sllm.models.base import GenerationRequest
from sllm.prompting.filters import apply_chain, first_choice_letter

LETTERS = string.ascii_uppercase


def to_generation(instances: list[Instance], max_new_tokens: int = 8) -> None:
    """Replace each instance's log-likelihood requests by one greedy generation request."""
    config = make_config(max_new_tokens=max_new_tokens, stop=["\n"])
    for inst in instances:
        letters = list(LETTERS[: len(inst.choices)])
        if inst.choices != letters:
            options = "\n".join(f"{letter}. {choice}" for letter, choice in zip(letters, inst.choices))
            inst.prompt = f"{inst.prompt.rstrip()}\n\n{options}\nAnswer:"
        inst.requests = [GenerationRequest(prompt=inst.prompt, config=config)]  # type: ignore[list-item]


def score_letters(instances: list[Instance]) -> list[dict[str, Any]]:
    """Per-document rows: the raw output, the letter found in it, and acc (1 if it is the gold)."""
    rows = []
    for inst in instances:
        letters = LETTERS[: len(inst.choices)]
        raw = [out.text for out in inst.outputs]
        letter = apply_chain([first_choice_letter(letters=letters)], raw)
        gold = letters[int(inst.gold)]
        rows.append(
            {
                "task": inst.task,
                "doc_id": inst.doc_id,
                "prompt": inst.prompt,
                "target": gold,
                "prediction": letter,
                "raw_outputs": raw,
                "choices": inst.choices,
                "acc": float(letter == gold),
            }
        )
    return rows
