"""RAG metrics with a judge: exact scores from a scripted judge, undetermined items, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import ScriptedLM, run_cli

from sllm.judging.rag import RagItem, RagJudge, average_precision, yes_no

ITEM = RagItem(
    question="Where is the Eiffel Tower and when was it built?",
    answer="The Eiffel Tower is in Paris. It was built in 1889. It is made of gold.",
    contexts=[
        "The Eiffel Tower stands in Paris, France.",
        "Bananas are yellow.",
        "Construction finished in 1889.",
    ],
    reference="The Eiffel Tower is in Paris. It was completed in 1889. It is 330 metres tall.",
)


def judge(prompt: str, seed: int | None) -> str:
    if prompt.endswith("Claims:\n1."):
        return " The Eiffel Tower is in Paris.\n2. It was built in 1889.\n3. It is made of gold."
    if "Can the statement be inferred" in prompt:
        return "No." if "gold" in prompt.split("Statement:")[1] else "Yes, it is stated."
    if prompt.endswith("Questions:\n1."):
        return (
            " Where is the Eiffel Tower?\n2. When was the Eiffel Tower built?\n3. What is the tower made of?"
        )
    if "Noncommittal:" in prompt:
        return "No"
    if "Was this context useful" in prompt:
        return "yes" if "Bananas" not in prompt else "no"
    if "Can this sentence be attributed" in prompt:
        return "no" if "330" in prompt.split("Sentence:")[1] else "yes"
    return "?"


def test_scores_follow_the_definitions() -> None:
    from sentence_transformers.util import cos_sim

    from sllm.embeddings import load_encoder

    rag = RagJudge(ScriptedLM(judge))
    faith = rag.faithfulness([ITEM])[0]
    assert faith["claims"] == [
        "The Eiffel Tower is in Paris.",
        "It was built in 1889.",
        "It is made of gold.",
    ]
    assert faith["faithfulness"] == pytest.approx(2 / 3)
    assert rag.context_precision([ITEM])[0]["context_precision"] == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert rag.context_recall([ITEM])[0]["context_recall"] == pytest.approx(2 / 3)
    relevant = rag.answer_relevancy([ITEM])[0]
    questions = relevant["generated_questions"]
    assert questions == [
        "Where is the Eiffel Tower?",
        "When was the Eiffel Tower built?",
        "What is the tower made of?",
    ]
    # The mean cosine between the question and each generated one, with the encoder called directly.
    vectors = load_encoder().encode([ITEM.question, *questions], convert_to_tensor=True)
    expected = float(cos_sim(vectors[0:1], vectors[1:]).mean())
    assert relevant["noncommittal"] is False
    assert relevant["answer_relevancy"] == pytest.approx(expected, abs=1e-5)


def test_noncommittal_answers_score_zero_and_undecided_items_are_undetermined() -> None:
    vague = RagJudge(ScriptedLM(lambda p, s: "Yes" if "Noncommittal:" in p else judge(p, s)))
    assert vague.answer_relevancy([ITEM])[0]["answer_relevancy"] == 0.0
    silent = RagJudge(
        ScriptedLM(lambda p, s: "I cannot tell." if "useful" in p or "attributed" in p else judge(p, s))
    )
    assert silent.context_precision([ITEM])[0]["context_precision"] is None
    assert silent.context_recall([ITEM])[0]["context_recall"] is None
    no_claims = RagJudge(ScriptedLM(lambda p, s: "" if p.endswith("Claims:\n1.") else judge(p, s)))
    assert no_claims.faithfulness([ITEM])[0]["faithfulness"] is None


def test_helpers() -> None:
    assert yes_no("Yes.") is True and yes_no("no, it is not") is False and yes_no("아니요") is False
    assert yes_no("maybe") is None
    assert average_precision([False, True, True]) == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert average_precision([False, False]) == 0.0 and average_precision([True, None]) is None


@pytest.mark.slow  # the default model judges every claim, context and sentence, twice
def test_rag_cli_with_the_default_model_reports_undetermined(tmp_path: Path, default_lm) -> None:
    path = tmp_path / "rag.jsonl"
    row = {
        "question": ITEM.question,
        "answer": ITEM.answer,
        "contexts": ITEM.contexts,
        "reference": ITEM.reference,
    }
    path.write_text(json.dumps(row) + "\n")
    result = run_cli("judge", "rag", "-j", "default", "-i", str(path), "-o", str(tmp_path / "out.jsonl"),
                     "--max-new-tokens", "48", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    summary = payload["metrics"]
    shown = run_cli("runs", "show", payload["run_id"], "--json")  # the run is tracked in MLflow
    assert shown.returncode == 0 and "judge rag" in shown.stdout
    # The CLI's record and summary are what the library gives, called directly with the same judge.
    record = json.loads((tmp_path / "out.jsonl").read_text())
    direct = RagJudge(default_lm, max_new_tokens=48)
    assert list(summary) == ["faithfulness", "answer_relevancy", "context_precision", "context_recall"]
    for name, values in summary.items():
        expected = getattr(direct, name)([ITEM])[0]
        score = expected.pop(name)
        assert {key: record[key] for key in expected} == expected, name  # claims, verdicts, questions
        assert record[name] == (None if score is None else pytest.approx(score, abs=1e-5)), name
        determined = score is not None
        assert (values["n"], values["undetermined"]) == (int(determined), int(not determined)), name
        assert values["mean"] == (pytest.approx(score, abs=1e-5) if determined else None), name
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "answer": "a", "contexts": "not a list"}) + "\n")
    failed = run_cli("judge", "rag", "-i", str(bad), "-o", str(tmp_path / "x.jsonl"))
    assert failed.returncode == 1 and "bad.jsonl:1: field 'contexts' must be a list" in failed.stderr


KO_ITEM = RagItem(
    question="에펠탑은 어디에 있고 언제 지어졌나요?",
    answer="에펠탑은 파리에 있습니다. 1889년에 완공되었습니다. 금으로 만들어졌습니다.",
    contexts=["에펠탑은 프랑스 파리에 있다.", "바나나는 노랗다.", "공사는 1889년에 끝났다."],
    reference="에펠탑은 파리에 있다. 1889년에 완공되었다. 높이는 330미터이다.",
)


def korean_judge(prompt: str, seed: int | None) -> str:
    assert "Answer yes or no" not in prompt and "Claims:" not in prompt  # asked in Korean
    if prompt.endswith("주장:\n1."):
        return " 에펠탑은 파리에 있다.\n2. 1889년에 완공되었다.\n3. 금으로 만들어졌다."
    if "진술을 추론할 수" in prompt:
        return "아니요" if "금으로" in prompt.split("진술:")[1] else "예, 그렇습니다."
    if "유용했습니까" in prompt:
        return "아니요" if "바나나" in prompt.split("[문맥]")[1] else "네"
    if "문맥에서 나온 것" in prompt:
        return "아니요" if "330" in prompt.split("문장:")[1] else "예"
    return "?"


def test_korean_items_are_asked_in_korean_and_read_korean_verdicts() -> None:
    rag = RagJudge(ScriptedLM(korean_judge))
    faith = rag.faithfulness([KO_ITEM])[0]
    assert faith["claims"][2] == "금으로 만들어졌다." and faith["faithfulness"] == pytest.approx(2 / 3)
    assert rag.context_precision([KO_ITEM])[0]["context_precision"] == pytest.approx((1 + 2 / 3) / 2)
    assert rag.context_recall([KO_ITEM])[0]["context_recall"] == pytest.approx(2 / 3)
