"""Rating examples with judge configs whose templates take {instruction}, {input} and {response}
(AlpaGasus, the safety judge): through the judge machinery, so cached and retried."""

from __future__ import annotations

from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.text import triple
from sllm.judging.run import Judge, render
from sllm.judging.spec import JudgeSpec, get_judge
from sllm.models.base import LM


def conversation(spec: JudgeSpec, example: Example) -> list[dict[str, str]]:
    """The judge's messages for one triple: the response fenced by a nonce tag, control tokens
    broken, as every judge prompt (judging.run.render)."""
    instruction, given, response = triple(example)
    fields = {"instruction": instruction, "input": given or "-", "response": response}
    return render(spec, fields, where=f"example {example.where}")


def rate_examples(
    examples: list[Example],
    lm: LM,
    judges: dict[str, str],
    retries: int = 2,
    progress: bool = False,
    max_new_tokens: int | None = None,
) -> list[dict[str, Any]]:
    """Per example: each dimension's score (None when unparsed), the judge's reply and attempts."""
    scored: list[dict[str, Any]] = [{} for _ in examples]
    for dim, name in judges.items():
        spec = get_judge(name)
        judge = Judge(lm, spec, retries, max_new_tokens=max_new_tokens)
        conversations = [conversation(spec, e) for e in examples]
        verdicts = judge.ask(conversations, [[triple(e)[2]] for e in examples], progress)
        for row, verdict in zip(scored, verdicts, strict=True):
            row[dim] = {
                "score": verdict.value,
                "explanation": verdict.replies[-1],
                "attempts": len(verdict.replies),
            }
    return scored
