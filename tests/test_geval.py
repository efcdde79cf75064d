"""G-Eval: auto-CoT steps, probability-weighted scores, sampled scores, and the fallback between them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.errors import SllmError
from sllm.judging.geval import form_prompt, get_criterion, geval, probability_scores, released_steps
from sllm.models.base import LM, LoglikelihoodResult

XSUM = Path(__file__).resolve().parents[2] / "shared" / "data" / "xsum" / "XSum-test_first300.jsonl"
ITEMS = [
    {"source": "The council approved a new cycle lane on the high street after a public vote on Monday.",
     "output": "A new cycle lane was approved by the council."},
    {"source": "Heavy rain flooded several roads in the town centre overnight, police said.",
     "output": "Cats are popular pets."},
]  # fmt: skip


class FixedScores(LM):
    """Log-probabilities chosen per score token, to check the weighting exactly."""

    spec = "fixed"

    def __init__(self, logprobs: dict[str, float]) -> None:
        super().__init__()
        self.logprobs = logprobs

    def _iter_loglikelihood(self, requests):  # noqa: ANN001, ANN202
        for i, r in enumerate(requests):
            yield i, LoglikelihoodResult(self.logprobs[r.continuation.strip()], False, 1)


def test_probability_weighted_score_is_the_expectation_over_score_tokens() -> None:
    probs = {"1": 0.05, "2": 0.05, "3": 0.2, "4": 0.5, "5": 0.2}
    lm = FixedScores({k: math.log(v) for k, v in probs.items()})
    [result] = probability_scores(lm, ["form"], [1, 5])
    assert result["score"] == pytest.approx(sum(int(k) * v for k, v in probs.items()))
    assert result["probabilities"]["4"] == pytest.approx(0.5)


def test_sampling_mode_and_auto_fallback_count_unparsed_replies() -> None:
    replies = {0: "4", 1: " 3 - the summary is fine", 2: "Good summary", 3: "5"}
    lm = ScriptedLM(
        lambda prompt, seed: replies[seed] if "Evaluation Form" in prompt else "1. Read it.\n2. Rate it."
    )
    records, summary = geval(lm, get_criterion("summeval_coherence"), ITEMS[:1], mode="auto", n=4)
    assert summary["mode"] == "sampling"  # this backend cannot score continuations
    assert records[0]["score"] == pytest.approx((4 + 3 + 5) / 3) and records[0]["n_unparsed"] == 1
    assert summary["steps"] == "1. Read it.\n2. Rate it."
    assert "Evaluation Steps:\n\n1. Read it.\n2. Rate it." in form_prompt(
        get_criterion("summeval_coherence"), summary["steps"], "s", "o"
    )


def test_korean_criteria_write_korean_steps_and_fill_a_korean_form() -> None:
    criterion = get_criterion("summeval_ko_consistency")
    asked: list[str] = []

    def judge(prompt: str, seed: int | None) -> str:
        asked.append(prompt)
        return (
            "1. 원문을 읽는다.\n2. 요약문의 사실을 원문과 대조한다."
            if "평가 단계:\n" in prompt[-10:]
            else "4"
        )

    item = {
        "source": "서울시는 월요일 새 자전거 도로를 승인했다.",
        "output": "서울시가 자전거 도로를 승인했다.",
    }
    records, summary = geval(ScriptedLM(judge), criterion, [item], mode="sampling", n=2)
    assert summary["steps"].startswith("1. 원문을 읽는다.") and records[0]["score"] == 4.0
    form = asked[-1]
    assert "평가 기준:" in form and "사실 일관성 (1-5)" in form and form.endswith("- 사실 일관성:")
    assert "원문:\n\n서울시는" in form and "Evaluation" not in form
    with pytest.raises(SllmError, match="summeval_ko_consistency has no released prompt"):
        form_prompt(criterion, None, "s", "o")


def test_released_prompt_is_used_verbatim_with_given_steps() -> None:
    criterion = get_criterion("summeval_fluency")
    prompt = form_prompt(criterion, None, "ignored", "A short summary.")
    assert prompt.startswith("You will be given one summary written for a news article.")
    assert "A short summary." in prompt and prompt.endswith("- Fluency (1-3):") and criterion.scale == [1, 3]


@pytest.mark.slow
def test_geval_cli_both_modes_with_the_default_model(tmp_path: Path) -> None:
    if XSUM.is_file():
        rows = [json.loads(line) for line in XSUM.read_text().splitlines()[:2]]
        items = [{"id": r["id"], "source": r["document"][:1200], "output": r["summary"]} for r in rows]
    else:
        items = ITEMS
    path = tmp_path / "items.jsonl"
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    base = ["judge", "geval", "-j", "default", "-i", str(path), "--criteria", "summeval_coherence", "--json"]
    prob = run_cli(*base, "-o", str(tmp_path / "p.jsonl"), "--mode", "probability")
    assert prob.returncode == 0, prob.stderr
    summary = json.loads(prob.stdout)
    assert summary["criteria"][0]["mode"] == "probability" and summary["criteria"][0]["steps"]
    records = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(records) == 2 and all(1.0 <= r["score"] <= 5.0 for r in records)
    assert all(sum(r["probabilities"].values()) == pytest.approx(1.0) for r in records)
    sampled = run_cli(
        *base, "-o", str(tmp_path / "s.jsonl"), "--mode", "sampling", "--n", "3", "--steps", "given"
    )
    assert sampled.returncode == 0, sampled.stderr
    rows = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert all(len(r["samples"]) == 3 and (r["score"] is None or 1 <= r["score"] <= 5) for r in rows)
    given = json.loads(sampled.stdout)["criteria"][0]
    assert given["steps"] == released_steps(get_criterion("summeval_coherence"))
    assert given["steps_from"] == "released prompt" and rows[0]["steps"] == given["steps"]
