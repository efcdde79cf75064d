"""Generation tasks: GSM8K answer extraction (strict and flexible), prompts, end-to-end scoring."""

from __future__ import annotations

import pytest

from sllm.evaluation.generative import build_generation_instances, score_generation
from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.models.base import GenerationResult
from sllm.prompting.filters import INVALID, apply_chain, build_chain
from sllm.tasks.data import load_task_data
from sllm.tasks.registry import get_registry

STRICT = [{"function": "regex", "pattern": "#### (\\-?[0-9\\.\\,]+)"}, {"function": "take_first"}]
FLEXIBLE = [
    {"function": "regex", "pattern": "(-?[$0-9.,]{2,})|(-?[0-9]+)", "group_select": -1},
    {"function": "take_first"},
]


@pytest.mark.parametrize(
    "text, strict, flexible",
    [
        ("Janet sells 16 - 3 - 4 = 9 eggs.\n#### 18", "18", "18"),
        ("So the total is 1,234 dollars.\n#### 1,234", "1,234", "1,234"),
        ("The answer is 42.", INVALID, "42."),
        ("It costs $1,234 in total.", INVALID, "$1,234"),
        ("#### 7\nQuestion: next one has 99 apples", "7", "99"),
        ("no digits here", INVALID, INVALID),
    ],
)
def test_gsm8k_extraction(text, strict, flexible):
    assert apply_chain(build_chain(STRICT, "t"), [text]) == strict
    assert apply_chain(build_chain(FLEXIBLE, "t"), [text]) == flexible


def test_last_number_and_majority_vote():
    chain = build_chain([{"function": "last_number"}, {"function": "majority_vote"}], "t")
    assert apply_chain(chain, ["so 12.", "I get $1,200", "answer 12", "12"]) == "12"


def _scripted(task: str, texts: list[str]):
    spec = get_registry().tasks[task]
    data = load_task_data(spec)
    instances = build_generation_instances(spec, data.docs[: len(texts)], data.fewshot_docs, 0)
    for inst, text in zip(instances, texts):
        inst.outputs = [GenerationResult(text=text, n_tokens=5, finish_reason="stop")]
    return spec, instances


def test_gsm8k_scoring_reports_strict_and_flexible():
    spec, instances = _scripted("gsm8k", ["Some work.\n#### 18", "The answer is 3.", "#### 70000"])
    rows, keys = score_generation(spec, instances)
    assert keys == ["exact_match,strict-match", "exact_match,flexible-extract"]
    assert [r["exact_match,strict-match"] for r in rows] == [1.0, 0.0, 1.0]
    assert [r["exact_match,flexible-extract"] for r in rows] == [1.0, 1.0, 1.0]


def test_gsm8k_prompt_is_lm_eval_layout():
    spec = get_registry().tasks["gsm8k"]
    data = load_task_data(spec)
    instance = build_generation_instances(spec, data.docs[:1], data.fewshot_docs, 1)[0]
    shot = data.fewshot_docs[0]
    question = data.docs[0]["question"]
    exemplar = f"Question: {shot['question']}\nAnswer: {shot['answer']}"
    assert instance.prompt == f"{exemplar}\n\nQuestion: {question}\nAnswer:"
    assert instance.requests[0].config.stop == ("Question:", "</s>", "<|im_end|>")


def test_gsm8k_cot_uses_the_fixed_exemplars():
    spec = get_registry().tasks["gsm8k_cot"]
    data = load_task_data(spec)
    instance = build_generation_instances(spec, data.docs[:1], spec.fewshot.samples, 8)[0]
    assert instance.prompt.startswith("Q: There are 15 trees in the grove.")
    assert instance.prompt.count("The answer is") == 8 and instance.prompt.endswith("\nA:")
    assert instance.gold == data.docs[0]["answer"].split("####")[-1].strip()


@pytest.mark.slow
def test_gsm8k_end_to_end_with_the_default_model(default_lm):
    record = evaluate(EvalConfig(tasks=["gsm8k"], limit=2, num_fewshot=1, track=False), lm=default_lm)
    result = record["results"]["gsm8k"]
    assert result["n"] == 2
    assert {"exact_match,strict-match", "exact_match,flexible-extract"} <= set(result)
    row = record["samples_records"]["gsm8k"][0]
    assert row["raw_outputs"] and "Question:" not in row["raw_outputs"][0]
