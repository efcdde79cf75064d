"""Measured judge biases: position, length and self-preference, from judgment files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.judging.bias import family, judge_biases, self_preference_gaps, self_preference_risk
from sllm.judging.bias_readers import read_judgments
from sllm.judging.fence import unfence
from sllm.judging.items import Item
from sllm.judging.run import Judge
from sllm.judging.spec import get_judge

FIXTURES = Path(__file__).parent / "fixtures" / "leaderboards"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

ANSWERS = [  # (qwen-sft, mistral-sft): mistral's answer is longer on the first four
    ("Paris.", "The capital is Paris."), ("4", "2 + 2 = 4"), ("Blue", "It is blue."),
    ("H2O", "Water is H2O."), ("Tokyo is the capital.", "Tokyo."), ("Seven days.", "7"),
]  # fmt: skip


def _answer(prompt: str, who: str) -> str:
    start, end = f"[The Start of Assistant {who}'s Answer]", f"[The End of Assistant {who}'s Answer]"
    return unfence(prompt.split(start)[1].split(end)[0]).strip()


def _judged(spec: str, reply) -> list[dict]:  # noqa: ANN001
    lm = ScriptedLM(reply)
    lm.spec = spec
    items = [
        Item(f"q{k}", [f"question {k}"], ["qwen-sft", "mistral-sft"], [[a], [b]])
        for k, (a, b) in enumerate(ANSWERS)
    ]
    return Judge(lm, get_judge("mt_bench_pair_v2")).pairwise(items)


def _prefers_qwen(prompt: str, seed: int | None) -> str:
    qwen = {a for a, _ in ANSWERS}
    return "[[A]]" if _answer(prompt, "A") in qwen else "[[B]]"


def _prefers_longer(prompt: str, seed: int | None) -> str:
    return "[[A]]" if len(_answer(prompt, "A")) > len(_answer(prompt, "B")) else "[[B]]"


def test_self_preference_gap_of_a_same_family_judge_on_the_same_pairs() -> None:
    assert family("openai:Qwen2.5-72B-Instruct@http://127.0.0.1:8000/v1") == "qwen" == family("qwen-sft")
    rows = _judged("openai:qwen2.5-72b@http://127.0.0.1:8000/v1", _prefers_qwen)
    rows += _judged("hf:./llama-3-8b-judge", _prefers_longer)
    gaps = self_preference_gaps(rows)
    assert len(gaps) == 1
    gap = gaps[0]
    assert (gap["model"], gap["n_pairs"], gap["neutral_judges"]) == ("qwen-sft", 6, ["hf:./llama-3-8b-judge"])
    assert gap["score_same_family"] == 1.0 and gap["score_neutral"] == pytest.approx(2 / 6)
    assert gap["gap"] == pytest.approx(4 / 6) and gap["standard_error"] == pytest.approx(0.2108, abs=1e-4)


def test_position_and_length_bias_per_judge() -> None:
    first = judge_biases(_judged("hf:./always-a", lambda prompt, seed: "[[A]]"))
    assert first["position_consistency"] == 0.0 and first["first_position_share"] == 1.0
    assert first["longer_answer_share"] is None  # every verdict became a tie: nothing decisive
    longer = judge_biases(_judged("hf:./length-judge", _prefers_longer))
    assert longer["position_consistency"] == 1.0 and longer["first_position_share"] is None
    assert longer["longer_answer_share"] == 1.0


def test_bias_command_reads_several_judgment_files(tmp_path: Path) -> None:
    paths = []
    for name, spec, reply in (("q", "openai:qwen2.5-72b@http://127.0.0.1:8000/v1", _prefers_qwen),
                              ("l", "hf:./llama-3-8b-judge", _prefers_longer)):  # fmt: skip
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in _judged(spec, reply)))
        paths += ["-i", str(path)]
    shown = run_cli("judge", "bias", *paths)
    assert shown.returncode == 0, shown.stderr
    assert "self-preference" in shown.stdout and "+0.667" in shown.stdout
    report = json.loads(run_cli("judge", "bias", *paths, "--json").stdout)
    assert report["judges"]["hf:./llama-3-8b-judge"]["longer_answer_share"] == 1.0
    (tmp_path / "bad.jsonl").write_text('{"question_id": 1, "model_a": "x", "model_b": "y"}\n')
    bad = run_cli("judge", "bias", "-i", str(tmp_path / "bad.jsonl"))
    assert (
        bad.returncode == 1 and "bad.jsonl:1: missing field 'winner' (not a pairwise judgment)" in bad.stderr
    )


def test_families_from_a_maintained_table() -> None:
    # alpaca_eval annotators are read without their config words: the judge is GPT-4 Turbo.
    assert family("weighted_alpaca_eval_gpt4_turbo") == "gpt-4"
    assert family("alpaca_eval_cot_gpt4_turbo_fn") == "gpt-4"
    assert family("alpaca_eval_llama3_70b_fn") == "llama"
    assert family("chatgpt_fn") == "gpt-3.5"
    names = {
        "gpt4": "gpt-4", "gpt4_1106_preview": "gpt-4", "gpt-4o-mini": "gpt-4", "gpt-4.1": "gpt-4",
        "gpt-3.5-turbo-1106": "gpt-3.5", "text_davinci_003": "gpt-3.5", "o3-mini": "openai-o",
        "claude-2.1": "claude", "Mixtral-8x7B-Instruct-v0.1": "mixtral",
        "OpenHermes-2.5-Mistral-7B": "mistral",
        "Qwen-14B-Chat": "qwen", "gemma-7b-it": "gemma", "solar-10.7b-instruct": "solar",
        "EXAONE-3.5-7.8B-Instruct": "exaone", "hf:HuggingFaceTB/SmolLM2-135M-Instruct": "smollm",
        "alpaca-7b": "llama", "vicuna-13b-v1.5": "llama", "Llama-2-70b-chat": "llama", "phi-2": "phi",
        "NullModel": None, "gpt4all-j": None,
    }  # fmt: skip
    assert {n: family(n) for n in names} == names
    assert self_preference_risk("weighted_alpaca_eval_gpt4_turbo", ["alpaca-7b", "gpt4_1106_preview"]) == [
        "gpt4_1106_preview"
    ]
    assert self_preference_risk("hf:./my-judge", ["qwen-sft", "llama-sft"], judge_family="qwen") == [
        "qwen-sft"
    ]


def test_length_effect_within_pairs_holds_quality_fixed() -> None:
    # m1 always beats m2, and m1's answer is the longer on 3 of 4 questions: the longer answer
    # wins 75% of verdicts, yet within the pair winning does not depend on length.
    rows = [{"model_a": "m1", "model_b": "m2", "winner": "model_a", "len_a": a, "len_b": b}
            for a, b in ((90, 10), (80, 20), (70, 30), (10, 90))]  # fmt: skip
    quality = judge_biases(rows)
    assert quality["longer_answer_share"] == 0.75 and quality["length_effect"] == 0.0
    # Here the longer answer always wins, whoever wrote it: a pure length effect of +1.
    rows = [{"model_a": "m1", "model_b": "m2", "winner": w, "len_a": a, "len_b": b}
            for w, a, b in (("model_a", 90, 10), ("model_b", 10, 90), ("model_a", 50, 40))]  # fmt: skip
    assert judge_biases(rows)["length_effect"] == 1.0 and judge_biases(rows)["n_length_effect"] == 3


def test_bias_reads_alpaca_eval_arena_hard_and_mt_bench_files() -> None:
    alpaca = FIXTURES / "alpaca_eval" / "alpaca-7b" / "weighted_alpaca_eval_gpt4_turbo" / "annotations.json"
    rows, report = read_judgments(
        [alpaca, FIXTURES / "arena_hard_judgments.jsonl", FIXTURES / "mt_bench_pair.jsonl"]
    )
    judges = {r["judge_model"] for r in rows}
    assert judges == {"weighted_alpaca_eval_gpt4_turbo", "gpt-4-1106-preview", "gpt-4/pair-v2"}
    assert (report.read, report.used, dict(report.dropped)) == (35, 34, {"unparsed verdicts or grades": 1})
    arena = [r for r in rows if r["judge_model"] == "gpt-4-1106-preview"]
    # Record 1: tie, then the model shown first wins: inconsistent (a tie). Record 2: the baseline both times.
    assert [(r["verdict"], r["verdict_swapped"], r["consistent"], r["winner"]) for r in arena] == [
        ("C", "A", False, "tie"), ("A", "B", True, "model_a")
    ]  # fmt: skip
    mt = [r for r in rows if r["judge_model"] == "gpt-4/pair-v2" and r["winner"] is not None]
    assert [(r["verdict"], r["verdict_swapped"], r["consistent"]) for r in mt] == [
        ("A", "B", True),
        ("A", "A", False),
    ]
    biases = judge_biases(mt)
    assert biases["position_consistency"] == 0.5 and biases["first_position_share"] == 1.0
    alpaca_rows = [r for r in rows if r["judge_model"] == "weighted_alpaca_eval_gpt4_turbo"]
    assert len(alpaca_rows) == 30 and judge_biases(alpaca_rows)["position_consistency"] is None


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data not present")
def test_bias_command_on_the_shared_alpaca_eval_and_arena_bench_judgments() -> None:
    results = SHARED / "alpaca_eval" / "results"
    files = sorted(results.glob("*/weighted_alpaca_eval_gpt4_turbo/annotations.json"))
    grades = sorted((SHARED / "arena_hard" / "arena-bench-v1" / "model_judgment").glob("*.jsonl"))
    args = [a for f in files + grades for a in ("-i", str(f))]
    shown = run_cli("judge", "bias", *args, "--judge-name", "gpt-4", env={"COLUMNS": "200"})
    assert shown.returncode == 0, shown.stderr
    assert "judge biases" in shown.stdout and "weighted_alpaca_eval_gpt4_turbo" in shown.stdout
    report = json.loads(run_cli("judge", "bias", *args, "--judge-name", "gpt-4", "--json").stdout)
    alpaca = report["judges"]["weighted_alpaca_eval_gpt4_turbo"]
    assert alpaca["n"] == 805 + 804 + 802 and alpaca["n_unparsed"] == 0
    assert report["judges"]["gpt-4"]["n"] == 298  # arena-bench grades: every question both models have
    unpaired = "grades with no other model's grade on the same question and turn"
    assert report["read"]["dropped"] == {"unparsed verdicts or grades": 2, unpaired: 2}
    # The baseline (GPT-4 Turbo) is both longer and better: the longer answer wins 95% of verdicts;
    # within each model pair the length effect is far smaller.
    assert alpaca["longer_answer_share"] == pytest.approx(2285 / 2400)
    assert alpaca["length_effect"] == pytest.approx(0.1629, abs=1e-4)
    assert report["judges"]["gpt-4"]["longer_answer_share"] == pytest.approx(101 / 234)
