"""Korean tasks: KoBEST, CLIcK and KorNLI prompts on Hangul, run end to end on the real model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sllm.evaluation.instances import build_instances
from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.evaluation.scoring import macro_f1
from sllm.tasks.data import load_task_data
from sllm.tasks.registry import get_registry

DATA = str(Path(__file__).parent / "fixtures" / "korean_data")


def _first(task: str):
    spec = get_registry().tasks[task]
    return build_instances(spec, load_task_data(spec, DATA).docs[:1], [], 0)[0]


def test_kobest_prompts_follow_lm_eval():
    copa = _first("kobest_copa")
    assert copa.prompt == "비가 많이 왔다.  그래서"  # lm-eval's premise + " " + " 그래서"
    assert [r.continuation for r in copa.requests] == [
        " 우산을 썼다.",
        " 선크림을 발랐다.",
    ] and copa.gold == 0
    boolq = _first("kobest_boolq")
    assert boolq.prompt == "서울은 대한민국의 수도이다. 질문: 서울은 대한민국의 수도인가요? 답변: "
    assert boolq.gold == 1 and boolq.choices == ["아니오", "예"]
    wic = _first("kobest_wic")
    assert wic.prompt.endswith("두 문장에서 배가 같은 뜻으로 쓰였나?") and wic.gold == 0
    assert _first("kobest_sentineg").prompt == "문장: 정말 안 좋아요 긍부정:"


def test_click_letters_follow_the_number_of_choices():
    spec = get_registry().tasks["click_economy_kiip"]
    docs = load_task_data(spec, DATA).docs
    second = build_instances(spec, docs, [], 0)[1]
    assert second.prompt.startswith("한글은 세종대왕이 만들었다.\n한글을 만든 사람은?\nA. 세종대왕\n")
    assert second.prompt.endswith("E. 김구\n정답:") and second.choices == ["A", "B", "C", "D", "E"]


@pytest.mark.slow
def test_kobest_and_click_end_to_end(default_lm):
    from sklearn.metrics import f1_score

    tasks = ["kobest", "click_economy_kiip"]
    record = evaluate(EvalConfig(tasks=tasks, data_dir=DATA, track=False), lm=default_lm)
    results = record["results"]
    for task in ("kobest_boolq", "kobest_copa", "kobest_hellaswag", "kobest_sentineg", "kobest_wic"):
        rows = record["samples_records"][task]
        golds = [row["gold"] for row in rows]
        picks = [max(range(len(row["choices"])), key=row["loglikelihoods"].__getitem__) for row in rows]
        # acc and macro F1 by hand (sklearn) from the per-choice log-likelihoods the records keep
        assert [row["acc"] for row in rows] == [float(p == g) for p, g in zip(picks, golds)], task
        assert results[task]["acc"] == pytest.approx(sum(p == g for p, g in zip(picks, golds)) / len(rows))
        assert results[task]["f1_macro"] == pytest.approx(
            f1_score(golds, picks, average="macro", zero_division=0)
        )
    # The Hangul continuations were really scored: the record holds what the model gives directly.
    first = record["samples_records"]["kobest_copa"][0]
    direct = [r.logprob for r in default_lm.loglikelihood(_first("kobest_copa").requests)]
    assert first["loglikelihoods"] == pytest.approx(direct, abs=1e-4)
    assert results["kobest"]["n"] == 10 and results["click_economy_kiip"]["n"] == 2


def test_kornli_bundled_sample_runs(default_lm):
    record = evaluate(EvalConfig(tasks=["kornli"], limit=3, track=False), lm=default_lm)
    assert record["results"]["kornli"]["n"] == 3
    assert record["data_sources"]["kornli"].startswith("bundled sample")


def test_macro_f1_by_hand():
    # class 0: tp 1, fp 1, fn 1 -> 2/4; class 1: tp 1, fp 2, fn 1 -> 2/5; class 2: tp 0 -> 0
    assert macro_f1([0, 0, 1, 1, 2], [0, 1, 1, 0, 1]) == pytest.approx((0.5 + 0.4 + 0.0) / 3)
