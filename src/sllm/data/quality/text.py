"""The parts of an example a filter looks at."""

from __future__ import annotations

from sllm.data.examples import Example


def prompt_text(example: Example) -> str:
    """What the user asks: instruction and input, or every turn before the last answer."""
    if example.single_turn:
        return example.turns[0]["content"]
    turns = (
        example.turns[:-1] if example.turns and example.turns[-1]["role"] == "assistant" else example.turns
    )
    return "\n".join(f"{m['role']}: {m['content']}" for m in turns)


def response_text(example: Example) -> str:
    """The answer being trained on: the last assistant turn."""
    answers = [m["content"] for m in example.turns if m["role"] == "assistant"]
    return answers[-1] if answers else ""


def triple(example: Example) -> tuple[str, str, str]:
    """instruction, input, response (multi-turn: the conversation so far as the instruction)."""
    if example.single_turn and example.instruction is not None:
        return example.instruction, example.input or "", response_text(example)
    return prompt_text(example), "", response_text(example)
