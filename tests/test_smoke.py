"""SLLM_SMOKE=1 shrinks runs at the places that already apply limits, and changes nothing when unset."""

from __future__ import annotations

import pytest

from sllm import smoke


@pytest.fixture
def smoke_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLLM_SMOKE", "1")


@pytest.mark.parametrize("value", ["", "0"])
def test_switch_off_leaves_limits_alone(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SLLM_SMOKE", value)
    assert not smoke.enabled()
    assert [smoke.cap(v, 2) for v in (None, -1, 1, 50)] == [None, -1, 1, 50]
    assert smoke.head([1, 2, 3], 1) == [1, 2, 3]


def test_switch_on_caps_limits(smoke_on: None) -> None:
    """Unlimited (None, or <= 0 as max_steps=-1) becomes the cap; smaller limits stay."""
    assert smoke.enabled()
    assert [smoke.cap(v, 2) for v in (None, -1, 0, 1, 50)] == [2, 2, 2, 1, 2]
    assert smoke.head([1, 2, 3], 2) == [1, 2]


def test_generation_stops_after_a_few_tokens(smoke_on: None) -> None:
    from sllm.generation.config import GenerationConfig, make_config, preset

    assert GenerationConfig().max_new_tokens == smoke.NEW_TOKENS
    assert make_config(max_new_tokens=1024).max_new_tokens == smoke.NEW_TOKENS
    assert make_config(max_new_tokens=3).max_new_tokens == 3
    assert preset("nucleus").max_new_tokens == smoke.NEW_TOKENS


def test_generation_default_without_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    from sllm.generation.config import GenerationConfig

    monkeypatch.delenv("SLLM_SMOKE", raising=False)
    assert GenerationConfig().max_new_tokens == 256


def test_groups_keep_their_first_tasks(smoke_on: None) -> None:
    from sllm.tasks.registry import get_registry

    registry = get_registry()
    names = [s.task for s in registry.resolve(["hellaswag", "mmlu"])]
    assert names == ["hellaswag", *registry.groups["mmlu"][: smoke.GROUP_TASKS]]


def test_training_runs_two_steps_of_one_row(smoke_on: None) -> None:
    from sllm.train.common import training_arguments
    from sllm.train.config import TrainConfig

    args = training_arguments(TrainConfig(data="train.jsonl", max_steps=200, batch_size=4), has_eval=False)
    assert (args["max_steps"], args["per_device_train_batch_size"]) == (smoke.STEPS, smoke.BATCH)
    args = training_arguments(TrainConfig(data="train.jsonl"), has_eval=False)  # epochs: max_steps -1
    assert args["max_steps"] == smoke.STEPS


def test_judge_takes_one_item_and_asks_once(smoke_on: None) -> None:
    from helpers import ScriptedLM

    from sllm.judging import get_judge
    from sllm.judging.items import Item
    from sllm.judging.run import Judge

    lm = ScriptedLM(lambda text, seed: "I cannot decide.")
    items = [Item(str(i), [f"question {i}"], ["m"], [[f"answer {i}"]]) for i in range(3)]
    rows = Judge(lm, get_judge("mt_bench_single_v1"), retries=2).single(items)
    assert [(r["question_id"], r["status"], r["attempts"]) for r in rows] == [("0", "unparsed", 1)]
    assert len(lm.requests) == 1
