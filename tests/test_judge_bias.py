"""Measured judge biases: position, length and self-preference, from judgment files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.judging.bias import family, judge_biases, self_preference_gaps
from sllm.judging.items import Item
from sllm.judging.run import Judge
from sllm.judging.spec import get_judge

ANSWERS = [  # (qwen-sft, mistral-sft): mistral's answer is longer on the first four
    ("Paris.", "The capital is Paris."), ("4", "2 + 2 = 4"), ("Blue", "It is blue."),
    ("H2O", "Water is H2O."), ("Tokyo is the capital.", "Tokyo."), ("Seven days.", "7"),
]  # fmt: skip


def _answer(prompt: str, who: str) -> str:
    start, end = f"[The Start of Assistant {who}'s Answer]", f"[The End of Assistant {who}'s Answer]"
    return prompt.split(start)[1].split(end)[0].strip()


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
    (tmp_path / "bad.jsonl").write_text(
        '{"question_id": 1, "model_a": "x", "model_b": "y", "winner": "tie"}\n'
    )
    bad = run_cli("judge", "bias", "-i", str(tmp_path / "bad.jsonl"))
    assert bad.returncode == 1 and "bad.jsonl:1: missing field 'judge_model'" in bad.stderr
