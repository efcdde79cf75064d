"""MT-Bench end to end on CPU: two local candidates answer, the default model judges pairwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.judging.mtbench import TEMPERATURE, build_items, generate_answers, load_questions


def test_answers_follow_fastchat_turns_and_category_temperatures() -> None:
    questions = load_questions(limit=3)  # writing, roleplay, reasoning
    lm = ScriptedLM(lambda prompt, seed: f"answer to: {prompt[:20]}")
    answers = generate_answers(lm, questions, max_new_tokens=16)
    assert len(answers) == 3 and all(len(a) == 2 for a in answers)
    turn_two = lm.requests[3].message_dicts()
    assert [m["role"] for m in turn_two] == ["user", "assistant", "user"]
    assert turn_two[1]["content"] == answers[0][0] and turn_two[2]["content"] == questions[0]["turns"][1]
    temps = [r.config.temperature if r.config.strategy == "sample" else 0.0 for r in lm.requests[:3]]
    assert temps == [TEMPERATURE[q["category"]] for q in questions] == [0.7, 0.7, 0.0]
    items = build_items(questions, {"x": answers, "y": answers}, "pairwise")
    assert len(items) == 6 and [i.turn for i in items[:2]] == [1, 2]
    assert questions[2]["reference"]  # reasoning questions carry GPT-4's reference answer


@pytest.fixture(scope="module")
def lora_adapter(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A second local candidate: the default model with a random (untrained) LoRA adapter."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from sllm.models.default_model import default_model_path

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(default_model_path(), dtype=torch.float32)
    config = LoraConfig(r=4, lora_alpha=32, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    folder = tmp_path_factory.mktemp("lora")
    get_peft_model(model, config).save_pretrained(folder)
    return str(folder)


@pytest.mark.slow
def test_mtbench_pairwise_end_to_end_and_rerun_makes_no_calls(tmp_path: Path, lora_adapter: str) -> None:
    from sllm.models.default_model import default_model_path

    out = tmp_path / "mtb"
    lora = f"smol-lora=hf:{default_model_path()},adapter={lora_adapter}"
    args = [
        "judge", "mtbench", "-m", "smol=default", "-m", lora,
        "--mode", "pairwise", "--judge", "default", "--limit", "4", "--answer-max-new-tokens", "16",
        "--judge-max-new-tokens", "16", "--retries", "1", "-o", str(out), "--json",
    ]  # fmt: skip
    first = run_cli(*args, timeout=1500)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["questions"] == 4
    rows = [json.loads(line) for line in (out / "model_judgment" / "pairwise.jsonl").read_text().splitlines()]
    assert len(rows) == 8  # 4 questions x 2 turns, each judged in both orders
    # Calls: 2 models x 4 questions x 2 turns of answers, then every judging attempt in both orders.
    judged = sum(r["attempts"] + r["attempts_swapped"] for r in rows)
    assert summary["calls"]["computed"] == 2 * 4 * 2 + judged
    assert {r["turn"] for r in rows} == {1, 2}
    assert any(r["judge"].startswith("mt_bench_pair_math") for r in rows)  # reference-guided (reasoning)
    assert any(r["judge"].endswith("multi_turn") for r in rows)
    # The 135M judge often fails the format: retried, then counted as unparsed, never dropped.
    assert summary["n_unparsed"] == sum(r["winner"] is None for r in rows)
    assert any(max(r["attempts"], r.get("attempts_swapped", 0)) == 2 for r in rows)
    answers = [json.loads(line) for line in (out / "model_answer" / "smol.jsonl").read_text().splitlines()]
    assert len(answers) == 4 and all(len(a["choices"][0]["turns"]) == 2 for a in answers)
    again = json.loads(run_cli(*args, timeout=1500).stdout)
    assert again["calls"]["computed"] == 0
    assert again["models"] == summary["models"]


def test_summary_and_table_keep_every_model_when_no_verdict_parsed(capsys) -> None:
    from sllm.cli.judge.mtbench import _print
    from sllm.judging.mtbench import single_scores as _single_scores
    from sllm.judging.run import pairwise_rates

    rows = [{"model": m, "turn": t, "score": None} for m in ("base", "sft") for t in (1, 2)]
    rows.append({"model": "sft", "turn": 1, "score": 7.0})
    scores = _single_scores(rows)
    assert scores == {
        "base": {"score": None, "turn_1": None, "turn_2": None, "graded": 0, "unparsed": 2},
        "sft": {"score": 7.0, "turn_1": 7.0, "turn_2": None, "graded": 1, "unparsed": 2},
    }
    pairs = [{"model_a": "base", "model_b": "sft", "winner": None}] * 3
    assert pairwise_rates(pairs) == {
        m: {"wins": 0, "losses": 0, "ties": 0, "win_rate_adjusted": None, "unparsed": 3}
        for m in ("base", "sft")
    }
    summary = {"mode": "single", "judge_model": "default", "questions": 2, "models": scores,
               "n_unparsed": 4, "calls": {"computed": 5}}  # fmt: skip
    _print(summary)
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if "base" in line or "sft" in line]
    assert len(lines) == 2 and lines[0].split()[1] == "sft" and "—" in lines[1]
    assert "model calls: 5 computed" in out.err and "{" not in out.err
