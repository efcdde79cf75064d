"""SQuAD, XSum (with --chat) and perplexity tasks end to end on the real default model."""

from __future__ import annotations

from pathlib import Path

import pytest

from sllm.evaluation.pipeline import EvalConfig, evaluate
from sllm.prompting.filters import apply_chain, build_chain

DATA = str(Path(__file__).parent / "fixtures" / "gen_data")


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
    assert result["rouge1,summary"] > 0.2 and result["bleu"] > 0.0
    assert result["bleu_stderr"] > 0.0 and result["rouge1,summary_stderr"] > 0.0
    assert all(r["raw_outputs"][0] for r in record["samples_records"]["xsum"])


def test_perplexity_of_the_bundled_text(default_lm):
    record = evaluate(EvalConfig(tasks=["perplexity"], track=False), lm=default_lm)
    result = record["results"]["perplexity"]
    rows = record["samples_records"]["perplexity"]
    total = sum(r["logprob"] for r in rows)
    n_bytes = sum(len(r["prompt"].encode("utf-8")) for r in rows)
    assert result["bits_per_byte"] == pytest.approx(-total / n_bytes / 0.6931471805599453)
    assert 1.0 < result["token_perplexity"] < 100.0
    from sllm.evaluation.stderr import bootstrap_stderr
    from sllm.metrics.perplexity import perplexities

    def corpus(some):
        return perplexities(
            [r["logprob"] for r in some], [r["n_tokens"] for r in some], [r["prompt"] for r in some]
        )

    # Every metric has a standard error, from the seeded bootstrap over documents.
    assert {k: result[k] for k in result if k.endswith("_stderr")} == bootstrap_stderr(corpus, rows, 1000)
