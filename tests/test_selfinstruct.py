"""Self-Instruct: the five steps with a scripted generator (exact decisions), Korean filtering,
checkpoint and resume, and the CLI with the real default model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

SEED0 = (
    "Is there anything I can eat for a breakfast that doesn't include eggs, yet includes protein, "
    "and has roughly 700-1000 calories?"
)
# What the scripted generator "writes" after "9." for each prompt, keyed by the prompt's seed
# (batch * 1000 + position in the batch with --seed 0).
GENERATED = {
    0: " Suggest three names for a bakery that sells gluten-free bread.\n"
    "10. Draw a picture of a sunset over the ocean.\n"
    "11. Is there anything I can eat for breakfast that doesn't include eggs, yet includes protein, "
    "and has roughly 700-1000 calories?\n"
    "12. Hi there",
    1: " Classify the sentiment of the following movie review as positive or negative.\n"
    "10. Suggest three names for a bakery selling gluten-free bread.",
    1000: " Translate the given English sentence into French.\n"
    "10. Summarize the following news article in one sentence.",
    1001: " Give me a recipe for a vegan chocolate cake.\n"
    "10. Explain the difference between weather and climate to a child.",
}
INSTANCES = {
    "Suggest three names for a bakery that sells gluten-free bread.": "Output: Crumb Free, Oat Oven",
    "Classify the sentiment of the following movie review as positive or negative.": (
        " Positive\nReview: A wonderful, moving film.\nClass label: Negative\nReview: A dull, overlong mess."
    ),
    "Translate the given English sentence into French.": (
        "Example 1\nSentence: Good morning.\nOutput: Bonjour.\n"
        "Example 2\nSentence: Thank you.\nOutput: Merci."
    ),
    "Summarize the following news article in one sentence.": (
        "Article: The city opened a new library on Monday with 20,000 books.\n"
        "Output: A new library with 20,000 books opened on Monday."
    ),
    "Give me a recipe for a vegan chocolate cake.": "Output: Mix flour, cocoa, sugar, oil and water; bake.",
    "Explain the difference between weather and climate to a child.": (
        "Output: Explain the difference between weather and climate to a child."
    ),
}


def generator(text: str, seed: int | None) -> str:
    """The scripted model: continues task lists, answers the classification question, writes instances."""
    if text.startswith(("Come up with a series of tasks", "다양한 작업을")):
        return GENERATED_KO[seed] if text.startswith("다양한") else GENERATED[seed]
    if text.endswith(("Is it classification?", "분류 작업인가요?")):
        task = text.rsplit("\n", 2)[-2]
        return " Yes" if "sentiment" in task or "감정" in task else " No"
    task = re.findall(r"(?:Task|작업): (.*)\n", text)[-1]
    return INSTANCES.get(task) or INSTANCES_KO[task]


def run_pipeline(lm, work: Path, **settings):  # noqa: ANN001, ANN003, ANN201
    from sllm.data.selfinstruct.pipeline import SelfInstruct, SelfInstructConfig

    config = SelfInstructConfig(**{"n": 5, "batch_size": 2, **settings})
    run = SelfInstruct(lm, config, work)
    return run, run.run()


def test_scripted_pipeline_decisions_and_rows(tmp_path: Path) -> None:
    lm = ScriptedLM(generator)
    run, summary = run_pipeline(lm, tmp_path / "work")
    decisions = [
        json.loads(line) for line in (tmp_path / "work" / "decisions.jsonl").read_text().splitlines()
    ]
    got = [(d["batch"], d["instruction"][:40], d["kept"], (d["reason"] or "")[:32]) for d in decisions]
    assert got == [
        (0, "Suggest three names for a bakery that se", True, ""),
        (0, "Draw a picture of a sunset over the ocea", False, "blacklisted keyword 'picture'"),
        (0, "Is there anything I can eat for breakfas", False, "ROUGE-L 0.98 with: Is there anyt"),
        (0, "Hi there", False, "length 2 words (allowed 4-150)"),
        (0, "Classify the sentiment of the following ", True, ""),
        (0, "Suggest three names for a bakery selling", False, "ROUGE-L 0.86 with: Suggest three"),
        (1, "Translate the given English sentence int", True, ""),
        (1, "Summarize the following news article in ", True, ""),
        (1, "Give me a recipe for a vegan chocolate c", True, ""),
        (1, "Explain the difference between weather a", False, "no valid instance ({'output repe"),
    ]
    assert summary["kept_instructions"] == 5 and summary["batches"] == 2 and summary["rows"] == 7
    assert summary["decisions"] == {"kept": 5, "blacklist": 1, "rouge_l": 2, "length": 1, "no_instance": 1}

    # step 1-2: 8 in-context tasks, 6 human + 2 machine-made once the pool has some
    generation = [r.prompt for r in lm.requests if r.prompt.startswith("Come up with a series")]
    assert len(generation) == 4 and all(p.endswith("\n9.") for p in generation)
    assert all(p.count("\n") == 9 for p in generation)
    machine_in_batch1 = [
        sum(t in p for t in ("Suggest three names for a bakery that", "Classify the sentiment of the"))
        for p in generation[2:]
    ]
    assert machine_in_batch1 == [2, 2]
    assert all(r.config.strategy == "sample" and r.config.seed is not None for r in lm.requests[:2])

    # step 3-4: the classification task got the output-first prompt (ending at "Class label:")
    rows = run.examples("scripted", "fp")
    clf = [e for e in rows if e.meta["provenance"]["is_classification"]]
    assert [(e.input, e.alpaca()["output"]) for e in clf] == [
        ("A wonderful, moving film.", "Positive"),
        ("A dull, overlong mess.", "Negative"),
    ]
    assert any(r.prompt.endswith("Class label:") for r in lm.requests)
    translate = [e for e in rows if e.instruction.startswith("Translate")]
    assert [(e.input, e.alpaca()["output"]) for e in translate] == [
        ("Good morning.", "Bonjour."),
        ("Thank you.", "Merci."),
    ]
    origin = rows[0].meta["provenance"]
    assert origin["generator"] == "scripted" and origin["step"] == 0 and origin["source"] == "self-instruct"
    assert len(origin["prompt_digest"]) == 16 and origin["seed"] == 0


def test_resume_after_interruption_does_not_regenerate(tmp_path: Path) -> None:
    from sllm.data.selfinstruct.pipeline import SelfInstruct, SelfInstructConfig
    from sllm.errors import SllmError

    def crashing(text: str, seed: int | None) -> str:
        if "Translate the given English" in text and "Class label" not in text and "Task: Translate" in text:
            raise KeyboardInterrupt  # killed while writing batch 1's instances
        return generator(text, seed)

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(ScriptedLM(crashing), tmp_path / "work")
    state = json.loads((tmp_path / "work" / "state.json").read_text())
    assert state["batches_done"] == 1

    resumed = ScriptedLM(generator)
    run, summary = run_pipeline(resumed, tmp_path / "work")
    generation = [r.config.seed for r in resumed.requests if r.prompt.startswith("Come up with a series")]
    assert generation == [1000, 1001]  # batch 0 was not asked again
    fresh, fresh_summary = run_pipeline(ScriptedLM(generator), tmp_path / "fresh")
    assert summary == fresh_summary
    assert [e.alpaca() for e in run.examples("s", "f")] == [e.alpaca() for e in fresh.examples("s", "f")]

    with pytest.raises(
        SllmError, match="holds a Self-Instruct run with other settings; use another --work-dir"
    ):
        SelfInstruct(ScriptedLM(generator), SelfInstructConfig(n=5, batch_size=3), tmp_path / "work")


KO_SEED0 = "달걀을 쓰지 않으면서 단백질이 풍부한 아침 식사 메뉴를 추천해 주세요."
GENERATED_KO = {
    0: " 회의록을 읽고 결정된 사항과 담당자를 정리하세요.\n"
    "10. 달걀을 쓰지 않으면서 단백질이 풍부한 아침 메뉴를 추천해 주세요.\n"
    "11. 고양이 그림을 그려 주세요.\n"
    "12. 회사 근처에서 점심으로 먹을 만한 한식 메뉴 세 가지를 알려 주세요.",
}
INSTANCES_KO = {
    "회의록을 읽고 결정된 사항과 담당자를 정리하세요.": "회의록: 김 대리 보고서.\n출력: 보고서 - 김 대리",
    "회사 근처에서 점심으로 먹을 만한 한식 메뉴 세 가지를 알려 주세요.": "출력: 비빔밥, 김치찌개, 불고기",
}


def test_korean_seed_pool_filters_planted_near_duplicates(tmp_path: Path) -> None:
    run, summary = run_pipeline(ScriptedLM(generator), tmp_path / "ko", seeds="ko", n=2, batch_size=1)
    decisions = [json.loads(line) for line in (tmp_path / "ko" / "decisions.jsonl").read_text().splitlines()]
    assert [(d["kept"], (d["reason"] or "")[:24]) for d in decisions] == [
        (True, ""),
        (False, f"ROUGE-L 0.97 with: {KO_SEED0[:5]}"),
        (False, "blacklisted keyword '그림'"),
        (True, ""),
    ]
    assert summary["language"] == "ko" and summary["kept_instructions"] == 2
    assert [e.alpaca()["output"] for e in run.examples("s", "f")] == [
        "보고서 - 김 대리",
        "비빔밥, 김치찌개, 불고기",
    ]


def test_korean_rouge_uses_morphemes_where_rouge_score_sees_nothing() -> None:
    from rouge_score import rouge_scorer

    from sllm.data.selfinstruct.filters import RougeFilter

    a, b = "다음 문장을 영어로 번역하세요.", "다음 문장의 감정을 분류하세요."
    plain = rouge_scorer.RougeScorer(["rougeL"]).score(a, b)["rougeL"].fmeasure
    assert plain == 0.0  # rouge-score's tokenizer deletes Hangul: every Korean pair looks unrelated
    # By hand on kiwi's morphemes: a = 다음 문장 을 영어 로 번역 하 세요,
    # b = 다음 문장 의 감정 을 분류 하 세요; their longest common subsequence
    # 다음 문장 을 하 세요 is 5 of 8 tokens each: F = 5/8.
    assert RougeFilter([a]).closest(b) == (pytest.approx(5 / 8), a)
    # ... 번역 하 어 주 세요 (10 tokens) holds all 8 of a's: P = 8/10, R = 1, F = 2PR / (P + R) = 8/9.
    assert RougeFilter([a]).closest("다음 문장을 영어로 번역해 주세요.")[0] == pytest.approx(8 / 9)


@pytest.mark.slow
def test_selfinstruct_cli_default_model(tmp_path: Path) -> None:
    out = tmp_path / "machine.jsonl"
    args = ["data", "selfinstruct", "--n", "2", "--batch-size", "1", "--max-new-tokens", "64",
            "--instance-max-new-tokens", "48", "--work-dir", str(tmp_path / "work"),
            "--output", str(out)]  # fmt: skip
    result = run_cli(*args, "--json", timeout=1200)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["kept_instructions"] >= 2 and report["calls"]["computed"] > 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == report["rows"] and {"instruction", "input", "output"} <= set(rows[0])
    assert rows[0]["provenance"]["generator"] == "default"
    assert len(report["output_digest"]) == 64 and report["cost_usd"] == 0.0
    again = json.loads(run_cli(*args, "--json", timeout=600).stdout)
    assert again["calls"]["computed"] == 0 and again["output_digest"] == report["output_digest"]
