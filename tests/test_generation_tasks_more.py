"""SQuAD, XSum (with --chat) and perplexity tasks end to end on the real default model."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.prompting.filters import apply_chain, build_chain

DATA = str(Path(__file__).parent / "fixtures" / "gen_data")


@pytest.mark.slow
def test_squad_v2_and_v1_documents_and_scoring(default_lm):
    record = evaluate(EvalConfig(tasks=["squad_v2", "squad_v1"], data_dir=DATA, track=False), lm=default_lm)
    assert record["results"]["squad_v2"]["n"] == 3 and record["results"]["squad_v1"]["n"] == 2
    unanswerable = record["samples_records"]["squad_v2"][2]
    assert unanswerable["target"] == []
    expected = 1.0 if unanswerable["prediction"] == "" else 0.0
    assert unanswerable["exact,answer"] == expected == unanswerable["f1,answer"]


def test_no_answer_phrases_become_empty():
    chain = build_chain([{"function": "strip"}, {"function": "no_answer_to_empty"}], "t")
    assert apply_chain(chain, [" Unanswerable."]) == "" and apply_chain(chain, [" 1820"]) == "1820"


def test_xsum_through_the_chat_template_gets_real_rouge(default_lm):
    config = EvalConfig(tasks=["xsum"], data_dir=DATA, chat=True, track=False)
    record = evaluate(config, lm=default_lm)
    result = record["results"]["xsum"]
    rows = record["samples_records"]["xsum"]
    assert all(r["raw_outputs"][0] for r in rows)
    # The scores by the reference libraries called directly on the records' summaries: rouge-score
    # (Porter stemming, averaged over documents) and sacrebleu's corpus BLEU.
    import sacrebleu
    from rouge_score import rouge_scorer

    summaries, targets = [r["prediction"] for r in rows], [r["target"] for r in rows]
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    rouge1 = [scorer.score(t, p)["rouge1"].fmeasure for p, t in zip(summaries, targets)]
    assert result["rouge1,summary"] == pytest.approx(sum(rouge1) / len(rouge1))
    assert result["bleu"] == pytest.approx(sacrebleu.corpus_bleu(summaries, [targets]).score)
    assert result["rouge1,summary"] > 0.2  # a real summary, not an empty or off-topic line


def test_perplexity_of_the_bundled_text(default_lm):
    record = evaluate(EvalConfig(tasks=["perplexity"], track=False), lm=default_lm)
    result = record["results"]["perplexity"]
    rows = record["samples_records"]["perplexity"]
    total = sum(r["logprob"] for r in rows)
    n_bytes = sum(len(r["prompt"].encode("utf-8")) for r in rows)
    assert result["bits_per_byte"] == pytest.approx(-total / n_bytes / 0.6931471805599453)
    # Every token of each text is predicted (the first from the prefix token): lm-eval's rolling count.
    assert [r["n_tokens"] for r in rows] == [len(default_lm.encode(r["prompt"])) for r in rows]
    n_words = sum(len(r["prompt"].split()) for r in rows)
    assert result["token_perplexity"] == pytest.approx(math.exp(-total / sum(r["n_tokens"] for r in rows)))
    assert result["word_perplexity"] == pytest.approx(math.exp(-total / n_words))
    from sllm.evaluation.stderr import bootstrap_stderr
    from sllm.metrics.perplexity import perplexities

    def corpus(some):
        return perplexities(
            [r["logprob"] for r in some], [r["n_tokens"] for r in some], [r["prompt"] for r in some]
        )

    # Every metric has a standard error, from the seeded bootstrap over documents.
    assert {k: result[k] for k in result if k.endswith("_stderr")} == bootstrap_stderr(corpus, rows, 1000)
