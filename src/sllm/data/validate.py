"""`sllm data validate`: schema, empty fields, roles, duplicates, token lengths, language mix, and
that every row renders through the target model's chat template."""

from __future__ import annotations

import statistics
from typing import Any

from sllm.data.examples import Example
from sllm.data.formats import Problem
from sllm.errors import SllmError


def _field(example: Example, layout: str, index: int) -> str:
    """The name a user sees in their file for the index-th message."""
    if example.instruction is not None:
        role = example.messages[index]["role"]
        return {"system": "system", "user": "instruction", "assistant": "output"}[role]
    key, text = ("conversations", "value") if layout == "sharegpt" else ("messages", "content")
    return f"{key}[{index}].{text}"


def check_example(example: Example, layout: str) -> list[Problem]:
    """Empty contents and role order of one example."""
    problems = []
    for i, message in enumerate(example.messages):
        if not message["content"].strip():
            what = "is empty" if not message["content"] else "is only whitespace"
            problems.append(Problem(example.where, _field(example, layout, i), what))
    roles = [m["role"] for m in example.turns]
    offset = len(example.messages) - len(roles)
    for i, role in enumerate(roles):
        expected = "user" if i % 2 == 0 else "assistant"
        if role != expected:
            name = "role" if layout != "sharegpt" else "from"
            key = "conversations" if layout == "sharegpt" else "messages"
            problems.append(
                Problem(example.where, f"{key}[{i + offset}].{name}", f"expected {expected}, got {role}")
            )
            break
    if roles and roles[-1] != "assistant":
        problems.append(Problem(example.where, "", "the conversation does not end with an assistant turn"))
    return problems


def duplicates(examples: list[Example]) -> list[Problem]:
    """Exact duplicates (same messages), each pointing at its first occurrence."""
    import json

    first: dict[str, str] = {}
    found = []
    for e in examples:
        key = json.dumps(e.messages, sort_keys=True, ensure_ascii=False)
        if key in first:
            found.append(Problem(e.where, "", f"exact duplicate of {first[key]}", "warning"))
        else:
            first[key] = e.where
    return found


def load_tokenizer(spec: str) -> Any:
    """The tokenizer of a model spec (default, hf:PATH, or a local folder), without the weights."""
    from transformers import AutoTokenizer

    from sllm.models.spec import parse_spec

    parsed = parse_spec(spec)
    if parsed.backend == "default":
        from sllm.models.default_model import default_model_path

        return AutoTokenizer.from_pretrained(str(default_model_path()))
    if parsed.backend in ("hf", "vllm"):
        return AutoTokenizer.from_pretrained(parsed.target)
    raise SllmError(f"cannot read a tokenizer from '{spec}': pass default or hf:PATH to --model")


def _summary(values: list[int]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "mean": statistics.fmean(ordered),
        "p50": ordered[len(ordered) // 2],
        "p95": ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
        "max": ordered[-1],
    }


def template_lengths(
    examples: list[Example], tokenizer: Any, max_length: int | None
) -> tuple[dict[str, Any], list[Problem]]:
    """Prompt and total token counts through the chat template; rows that do not render."""
    prompt_lengths, total_lengths, problems = [], [], []
    for e in examples:
        try:
            total = tokenizer.apply_chat_template(e.messages, tokenize=True)
            prompt = tokenizer.apply_chat_template(e.messages[:-1], tokenize=True, add_generation_prompt=True)
        except Exception as exc:  # any template error: jinja, missing template, unsupported role
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            problems.append(Problem(e.where, "", f"does not render through the chat template: {message}"))
            continue
        # transformers 5 returns a BatchEncoding (a mapping, not a dict); older versions a list
        total = total if isinstance(total, list) else total["input_ids"]
        prompt = prompt if isinstance(prompt, list) else prompt["input_ids"]
        total_lengths.append(len(total))
        prompt_lengths.append(len(prompt))
        if max_length is not None and len(total) > max_length:
            problems.append(
                Problem(e.where, "", f"{len(total)} tokens, over --max-length {max_length}", "warning")
            )
    stats = {"prompt": _summary(prompt_lengths), "total": _summary(total_lengths)}
    stats["over_max_length"] = sum(1 for n in total_lengths if max_length is not None and n > max_length)
    return stats, problems


def language_mix(examples: list[Example]) -> dict[str, int]:
    """Rows by share of Hangul among letters: korean (> 50%), mixed (10-50%), other."""
    from sllm.prompting.retrieval import hangul_ratio

    mix = {"korean": 0, "mixed": 0, "other": 0}
    for e in examples:
        ratio = hangul_ratio([e.text()])
        mix["korean" if ratio > 0.5 else "mixed" if ratio >= 0.1 else "other"] += 1
    return mix
