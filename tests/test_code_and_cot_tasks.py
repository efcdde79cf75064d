"""HumanEval through the eval pipeline; two-stage zero-shot CoT; self-consistency; --gen-kwargs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.execution import sandbox_status
from sllm.tasks.data import SAMPLES

needs_sandbox = pytest.mark.skipif(sandbox_status() is not None, reason=str(sandbox_status()))
PROBLEMS = [json.loads(x) for x in (SAMPLES / "humaneval" / "HumanEval.jsonl").read_text().splitlines()]


def _config(tasks: list[str], **kw) -> EvalConfig:
    return EvalConfig(model="scripted", tasks=tasks, track=False, use_cache=False, **kw)


@needs_sandbox
def test_humaneval_canonical_completions_score_one_and_records_keep_execution() -> None:
    canonical = {p["prompt"]: p["canonical_solution"] for p in PROBLEMS}
    record = evaluate(_config(["humaneval"]), lm=ScriptedLM(lambda prompt, seed: canonical[prompt]))
    assert record["results"]["humaneval"]["pass@1"] == 1.0
    row = record["samples_records"]["humaneval"][0]
    assert row["prompt"] == PROBLEMS[0]["prompt"]
    assert row["execution"][0]["status"] == "passed"

    record = evaluate(_config(["humaneval"]), lm=ScriptedLM(lambda prompt, seed: "    return None\n"))
    assert record["results"]["humaneval"]["pass@1"] == 0.0
    assert record["samples_records"]["humaneval"][0]["execution"][0]["status"] == "failed"


@needs_sandbox
def test_humaneval_pass_at_k_over_repeats() -> None:
    canonical = {p["prompt"]: p["canonical_solution"] for p in PROBLEMS}
    # Seeds 1234..1237: only the first two samples of each problem are right (n=4, c=2).
    lm = ScriptedLM(lambda prompt, seed: canonical[prompt] if seed < 1236 else "    return None\n")
    config = _config(["humaneval_64"], limit=2, gen_kwargs={"repeats": 4})
    record = evaluate(config, lm=lm)
    result = record["results"]["humaneval_64"]
    assert result["pass@1"] == pytest.approx(0.5)  # c/n
    assert "pass@10" not in result  # k larger than the number of samples is not reported
    assert len(lm.requests) == 8 and {r.config.seed for r in lm.requests} == {1234, 1235, 1236, 1237}


def test_two_stage_zeroshot_cot_reads_the_answer_stage() -> None:
    def reply(prompt: str, seed: int | None) -> str:
        if prompt.endswith("Therefore, the answer (arabic numerals) is"):
            return " 18 dollars.\nQ: ignored"
        return " She sells 16 - 3 - 4 = 9 eggs, 9 * 2 = 18. Also 7 cats."

    lm = ScriptedLM(reply)
    record = evaluate(_config(["gsm8k"], limit=2, prompt_style="zeroshot-cot"), lm=lm)
    result = record["results"]["gsm8k_zeroshot_cot"]
    row = record["samples_records"]["gsm8k_zeroshot_cot"][0]
    assert row["prompt"].startswith("Q: Janet") and row["prompt"].endswith("A: Let's think step by step.")
    assert row["reasoning"] == [reply(row["prompt"], None)]
    assert row["answer_prompts"][0] == row["prompt"] + row["reasoning"][0] + (
        "\nTherefore, the answer (arabic numerals) is"
    )
    assert row["prediction,first-number"] == "18"
    assert result["exact_match,first-number"] == 0.5  # the first problem's answer is 18, the second's 3
    assert len(lm.requests) == 4  # two stages for two documents


def test_prompt_style_picks_variants_and_rejects_unknown() -> None:
    lm = ScriptedLM(lambda prompt, seed: "The answer is 18.")
    record = evaluate(_config(["gsm8k"], limit=1, prompt_style="cot"), lm=lm)
    assert list(record["results"]) == ["gsm8k_cot"]
    assert record["samples_records"]["gsm8k_cot"][0]["prompt"].startswith("Q: There are 15 trees")
    from sllm.errors import UsageError

    with pytest.raises(UsageError, match="hellaswag has no 'cot' prompt style; tasks with one: gsm8k"):
        evaluate(_config(["hellaswag"], limit=1, prompt_style="cot"), lm=lm)


def test_self_consistency_majority_vote() -> None:
    answers = {1234: "The answer is 5.", 1235: "The answer is 18.", 1236: "The answer is 18."}
    lm = ScriptedLM(lambda prompt, seed: answers[seed])
    record = evaluate(_config(["gsm8k_cot_self_consistency"], limit=1, gen_kwargs={"repeats": 3}), lm=lm)
    result = record["results"]["gsm8k_cot_self_consistency"]
    assert result["exact_match,score-first"] == 0.0
    assert result["exact_match,majority-vote"] == 1.0
    assert all(r.config.strategy == "sample" and r.config.temperature == 0.2 for r in lm.requests)


def test_gen_kwargs_errors_name_the_key() -> None:
    result = run_cli("eval", "--tasks", "gsm8k", "--gen-kwargs", "max_tokens=5", "--no-track")
    assert result.returncode == 2
    assert "unknown generation setting 'max_tokens'; did you mean max_new_tokens?" in result.stderr


@pytest.mark.slow
@needs_sandbox
def test_humaneval_cli_with_default_model(tmp_path: Path) -> None:
    result = run_cli(
        "eval", "--tasks", "humaneval", "--limit", "2", "--gen-kwargs", "max_new_tokens=48",
        "--no-track", "--json", "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    rows = [json.loads(x) for x in open(summary["samples"], encoding="utf-8")]
    assert [r["doc_id"] for r in rows] == [0, 1]
    statuses = [r["execution"][0]["status"] for r in rows]
    assert set(statuses) <= {"passed", "failed", "timeout"}
    # pass@1 with one sample per problem is the share of problems whose sample passed its tests
    assert summary["results"]["humaneval"]["pass@1"] == statuses.count("passed") / 2
    assert rows[0]["raw_outputs"][0] and "\ndef " not in rows[0]["raw_outputs"][0]
