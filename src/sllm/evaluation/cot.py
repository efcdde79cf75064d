"""Prompt styles: plain, few-shot chain-of-thought, and two-stage zero-shot CoT (Kojima et al., 2022).

Zero-shot CoT asks twice: the prompt ends with "Let's think step by step." and the model writes
its reasoning; then prompt + reasoning + "Therefore, the answer is" asks for the answer alone,
which the task's filters read. lm-evaluation-harness's `gsm8k_cot_zeroshot` is single-stage (it
reads "The answer is N" out of the reasoning); ours is the paper's two-stage method.
"""

from __future__ import annotations

from typing import Any

from sllm.errors import UsageError
from sllm.evaluation.instances import Instance
from sllm.generation.config import make_config
from sllm.models.base import GenerationRequest, GenerationResult
from sllm.tasks.registry import TaskRegistry
from sllm.tasks.spec import AnswerStageSpec, TaskSpec
from sllm.tasks.templates import render

STYLES = ("plain", "cot", "zeroshot-cot")
TRIGGER = " Let's think step by step."


def apply_prompt_style(spec: TaskSpec, style: str | None, registry: TaskRegistry) -> TaskSpec:
    """The task to run for a prompt style: a declared variant, or a derived zero-shot CoT task."""
    if style in (None, "plain"):
        return spec
    if style in spec.variants:
        return registry.tasks[spec.variants[style]]
    if style == "zeroshot-cot" and spec.output_type == "generate_until":
        return zeroshot_cot(spec)
    have = sorted(name for name, t in registry.tasks.items() if style in t.variants)
    raise UsageError(
        f"task {spec.task} has no '{style}' prompt style"
        + (f"; tasks with one: {', '.join(have[:8])}" if have else "")
        + ("" if style == "cot" else "; zeroshot-cot applies to any generation task")
    )


def zeroshot_cot(spec: TaskSpec) -> TaskSpec:
    """Derive the two-stage zero-shot CoT version of a generation task (no exemplars)."""
    return spec.model_copy(
        update={
            "task": f"{spec.task}_zeroshot_cot",
            "doc_to_text": spec.doc_to_text + TRIGGER,
            "fewshot": spec.fewshot.model_copy(update={"num_fewshot": 0}),
            "answer_stage": spec.answer_stage or AnswerStageSpec(),
            "group": [],
        }
    )


def answer_requests(spec: TaskSpec, instances: list[Instance], chat: bool) -> list[GenerationRequest]:
    """Stage-two requests: each sampled reasoning followed by the answer trigger."""
    stage = spec.answer_stage
    assert stage is not None
    settings = {("stop" if k == "until" else k): v for k, v in stage.generation.items()}
    requests = []
    for inst in instances:
        inst.reasoning = [out.text for out in inst.outputs]
        inst.answer_prompts = []
        for request, reasoning in zip(inst.requests, inst.reasoning, strict=True):
            context = {**spec.variables, **inst.doc, "prompt": inst.prompt, "reasoning": reasoning}
            text = render(stage.prompt, context, f"task {spec.task}, document {inst.doc_id}, answer stage")
            inst.answer_prompts.append(text)
            config = make_config(**{"seed": request.config.seed, **settings})
            if chat:
                # A chat model continues the conversation: its reasoning, then the trigger as the user.
                messages = [*request.message_dicts(), {"role": "assistant", "content": reasoning}]
                trigger = text.removeprefix(inst.prompt + reasoning).strip()
                requests.append(
                    GenerationRequest.chat([*messages, {"role": "user", "content": trigger}], config)
                )
            else:
                requests.append(GenerationRequest(prompt=text, config=config))
    return requests


def attach_answers(instances: list[Instance], answers: list[GenerationResult]) -> None:
    """Stage-two outputs become the outputs the filters read; stage one stays as `reasoning`."""
    produced = iter(answers)
    for inst in instances:
        inst.outputs = [next(produced) for _ in inst.requests]


def stage_record(inst: Instance) -> dict[str, Any]:
    """The extra per-sample fields of a two-stage document."""
    if inst.reasoning is None:
        return {}
    return {"reasoning": inst.reasoning, "answer_prompts": inst.answer_prompts}
