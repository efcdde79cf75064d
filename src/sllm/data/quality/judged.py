"""Rating examples with judge configs whose templates take {instruction}, {input} and {response}
(AlpaGasus, the safety judge): through the judge machinery, so cached and retried."""

from __future__ import annotations

from typing import Any

from sllm.data.examples import Example
from sllm.data.quality.text import triple
from sllm.judging.run import Judge
from sllm.judging.spec import JudgeSpec, get_judge
from sllm.models.base import LM


def conversation(spec: JudgeSpec, example: Example) -> list[dict[str, str]]:
    """The judge's messages for one triple (the triple fenced under ### headings)."""
    instruction, given, response = triple(example)
    user = spec.prompt_template.format(instruction=instruction, input=given or "-", response=response)
    system = [{"role": "system", "content": spec.system_prompt}] if spec.system_prompt else []
    return [*system, {"role": "user", "content": user}]


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
